//! Text of the body content, certificates and ITAVs.

use super::writer::Out;
use crate::inspect::content::{
    AtvValue, AtvView, CaKeyUpdateView, CertConfView, CertReqView, CertRequests, CertResponseView,
    CertResponses, Content, CrlView, ErrorView, ItavValue, ItavView, P10View, PollRepView,
    PollReqView, RevDetailsView, RpView, RrView, TemplateView,
};
use crate::inspect::values::{AlgView, CertView, ExtView, StatusView};

/// The lines for the body content.
pub(super) fn content(out: &mut Out, c: &Content) {
    match c {
        Content::CertRequests(r) => cert_requests(out, r),
        Content::CertResponses(r) => cert_responses(out, r),
        Content::P10cr(p) => p10cr(out, p),
        Content::CertConf(c) => cert_conf(out, c),
        Content::PollReq(p) => poll_req(out, p),
        Content::PollRep(p) => poll_rep(out, p),
        Content::Rr(r) => rr(out, r),
        Content::Rp(r) => rp(out, r),
        Content::General(g) => itavs(out, &g.itavs),
        Content::Error(e) => error(out, e),
        Content::Empty(_) => {}
    }
}

/// `Certificate N:` blocks.
pub(super) fn certs(out: &mut Out, certs: &[CertView]) {
    for (i, c) in certs.iter().enumerate() {
        out.line(format_args!("Certificate {i}:"));
        out.nest(|out| cert(out, c));
    }
}

fn cert(out: &mut Out, c: &CertView) {
    out.field("subject", &c.subject);
    out.field("issuer", &c.issuer);
    out.field("serial", c.serial.text());
}

/// One line (and nested lines) per ITAV.
pub(super) fn itavs(out: &mut Out, itavs: &[ItavView]) {
    for itav in itavs {
        let label = itav.info_type.text();
        match &itav.value {
            None => out.line(label),
            Some(v) => {
                out.line(format_args!("{label}:"));
                out.nest(|out| itav_value(out, v));
            }
        }
    }
}

fn itav_value(out: &mut Out, v: &ItavValue) {
    match v {
        ItavValue::Certificates(c) => certs(out, c),
        ItavValue::Certificate(c) => cert(out, c),
        ItavValue::Algorithms(a) => a.iter().for_each(|a| out.line(a.text())),
        ItavValue::Algorithm(a) => out.line(a.text()),
        ItavValue::Oids(o) => o.iter().for_each(|o| out.line(o.text())),
        ItavValue::Texts(t) => t.iter().for_each(|t| out.line(format_args!("{t:?}"))),
        ItavValue::Time(t) => out.line(t),
        ItavValue::CaKeyUpdate(u) => ca_key_update(out, u),
        ItavValue::CertReqTemplate(t) => {
            out.line("certTemplate:");
            out.nest(|out| template(out, &t.template));
            if let Some(spec) = &t.key_spec {
                out.line("keySpec:");
                out.nest(|out| atvs(out, spec));
            }
        }
        ItavValue::Crls(c) => crls(out, c),
        ItavValue::Messages(m) => out.field("messages", m.join(", ")),
        ItavValue::Encrypted {} => out.line("(encrypted)"),
        ItavValue::Der(h) => out.field("DER", h.hex()),
        ItavValue::Error(e) => out.field("cannot decode", e),
    }
}

fn ca_key_update(out: &mut Out, u: &CaKeyUpdateView) {
    let parts = [
        ("newWithNew", Some(&u.new_with_new)),
        ("newWithOld", u.new_with_old.as_ref()),
        ("oldWithNew", u.old_with_new.as_ref()),
    ];
    for (label, c) in parts {
        if let Some(c) = c {
            out.line(format_args!("{label}:"));
            out.nest(|out| cert(out, c));
        }
    }
}

fn crls(out: &mut Out, crls: &[CrlView]) {
    for (i, c) in crls.iter().enumerate() {
        out.line(format_args!("CRL {i}:"));
        out.nest(|out| {
            out.field("issuer", &c.issuer);
            out.field("thisUpdate", &c.this_update);
            out.opt("nextUpdate", c.next_update.as_ref());
            out.field("revoked", c.revoked);
        });
    }
}

fn cert_requests(out: &mut Out, r: &CertRequests) {
    for (i, req) in r.requests.iter().enumerate() {
        out.line(format_args!("CertReqMsg {i}:"));
        out.nest(|out| cert_request(out, req));
    }
}

fn cert_request(out: &mut Out, r: &CertReqView) {
    out.field("certReqId", &r.cert_req_id);
    out.line("certTemplate:");
    out.nest(|out| template(out, &r.template));
    if let Some(c) = &r.controls {
        out.line("controls:");
        out.nest(|out| atvs(out, c));
    }
    match &r.popo {
        Some(p) => {
            let mut text = p.kind.to_owned();
            if let Some(alg) = &p.algorithm {
                text = format!("{text}, {}", alg.text());
            }
            if let Some(detail) = &p.detail {
                text = format!("{text}, {detail}");
            }
            out.field("popo", text);
        }
        None => out.field("popo", "absent"),
    }
    if let Some(r) = &r.reg_info {
        out.line("regInfo:");
        out.nest(|out| atvs(out, r));
    }
}

fn template(out: &mut Out, t: &TemplateView) {
    out.opt("version", t.version.as_ref());
    out.opt("serialNumber", t.serial_number.as_ref().map(|s| s.text()));
    out.opt("signingAlg", t.signing_alg.as_ref().map(AlgView::text));
    out.opt("issuer", t.issuer.as_ref());
    out.opt("notBefore", t.not_before.as_ref());
    out.opt("notAfter", t.not_after.as_ref());
    out.opt("subject", t.subject.as_ref());
    out.opt("publicKey", t.public_key.as_ref().map(AlgView::text));
    if let Some(exts) = &t.extensions {
        extensions(out, exts);
    }
}

fn extensions(out: &mut Out, exts: &[ExtView]) {
    out.line("extensions:");
    out.nest(|out| exts.iter().for_each(|e| out.line(e.text())));
}

fn atvs(out: &mut Out, atvs: &[AtvView]) {
    for a in atvs {
        let label = a
            .r#type
            .name
            .map_or_else(|| a.r#type.oid.clone(), str::to_owned);
        let value = match &a.value {
            AtvValue::CertId(id) => format!("issuer {}, serial {}", id.issuer, id.serial.text()),
            AtvValue::Text(t) => format!("{t:?}"),
            AtvValue::Alg(alg) => alg.text(),
            AtvValue::Int(n) => n.to_string(),
            AtvValue::Der(h) => format!("DER {}", h.hex()),
            AtvValue::Error { error } => format!("cannot decode: {error}"),
        };
        out.field(&label, value);
    }
}

fn cert_responses(out: &mut Out, r: &CertResponses) {
    if let Some(ca) = &r.ca_pubs {
        out.line("caPubs:");
        out.nest(|out| certs(out, ca));
    }
    for (i, resp) in r.responses.iter().enumerate() {
        out.line(format_args!("CertResponse {i}:"));
        out.nest(|out| cert_response(out, resp));
    }
}

fn cert_response(out: &mut Out, r: &CertResponseView) {
    out.field("certReqId", &r.cert_req_id);
    status(out, &r.status);
    if let Some(c) = &r.certificate {
        out.line("certificate:");
        out.nest(|out| cert(out, c));
    }
    if r.encrypted_cert {
        out.field("certificate", "(encrypted)");
    }
    if r.private_key {
        out.field("privateKey", "(encrypted, centrally generated)");
    }
}

fn status(out: &mut Out, s: &StatusView) {
    out.field("status", &s.display);
}

fn p10cr(out: &mut Out, p: &P10View) {
    out.field("subject", &p.subject);
    out.field("publicKey", p.public_key.text());
    out.field("signatureAlg", p.signature_alg.text());
    if !p.attributes.is_empty() {
        let names: Vec<String> = p.attributes.iter().map(|a| a.text()).collect();
        out.field("attributes", names.join(", "));
    }
    if let Some(exts) = &p.extensions {
        extensions(out, exts);
    }
}

fn cert_conf(out: &mut Out, c: &CertConfView) {
    if c.cert_status.is_empty() {
        out.line("(no CertStatus: all certificates rejected)");
    }
    for (i, s) in c.cert_status.iter().enumerate() {
        out.line(format_args!("CertStatus {i}:"));
        out.nest(|out| {
            out.field("certReqId", &s.cert_req_id);
            out.field("certHash", s.cert_hash.hex());
            match &s.display {
                Some(d) => out.field("status", d),
                None => out.field("status", "absent (means accepted)"),
            }
            out.opt("hashAlg", s.hash_alg.as_ref().map(AlgView::text));
        });
    }
}

fn poll_req(out: &mut Out, p: &PollReqView) {
    for r in &p.requests {
        out.field("certReqId", &r.cert_req_id);
    }
}

fn poll_rep(out: &mut Out, p: &PollRepView) {
    for (i, r) in p.responses.iter().enumerate() {
        out.line(format_args!("PollRep {i}:"));
        out.nest(|out| {
            out.field("certReqId", &r.cert_req_id);
            out.field("checkAfter", format_args!("{} s", r.check_after));
            out.opt("reason", r.reason.as_ref().map(|t| format!("{t:?}")));
        });
    }
}

fn rr(out: &mut Out, r: &RrView) {
    for (i, d) in r.requests.iter().enumerate() {
        out.line(format_args!("RevDetails {i}:"));
        out.nest(|out| rev_details(out, d));
    }
}

fn rev_details(out: &mut Out, d: &RevDetailsView) {
    out.opt("issuer", d.issuer.as_ref());
    out.opt("serial", d.serial.as_ref().map(|s| s.text()));
    if let Some(code) = d.reason_code {
        let reason = d.reason.unwrap_or("unknown reason");
        out.field("reasonCode", format_args!("{reason} ({code})"));
    }
    if let Some(exts) = &d.crl_entry_details {
        out.line("crlEntryDetails:");
        out.nest(|out| exts.iter().for_each(|e| out.line(e.text())));
    }
}

fn rp(out: &mut Out, r: &RpView) {
    for s in &r.statuses {
        status(out, s);
    }
    if let Some(ids) = &r.rev_certs {
        out.line("revCerts:");
        out.nest(|out| {
            for id in ids {
                out.line(format_args!(
                    "issuer {}, serial {}",
                    id.issuer,
                    id.serial.text()
                ));
            }
        });
    }
    if let Some(c) = &r.crls {
        out.line("crls:");
        out.nest(|out| crls(out, c));
    }
}

fn error(out: &mut Out, e: &ErrorView) {
    status(out, &e.status);
    out.opt("errorCode", e.error_code.as_ref());
    out.opt(
        "errorDetails",
        e.error_details.as_ref().map(|t| format!("{t:?}")),
    );
}
