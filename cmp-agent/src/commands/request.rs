//! Building the certificate request from the options.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cmp_core::asn1::{
    AttributeTypeAndValue, CertId, CmpCertificate, ControlValue, Pkcs10Request, oid,
};
use cmp_core::builder::CertTemplateBuilder;
use cmp_core::crypto::{PrivateKey, PrivateKeyExt};
use cmp_core::transaction::{EnrollmentKind, EnrollmentRequest, PopoMethod};
use rasn::types::{Ia5String, OctetString};
use rasn_pkix::{Extension, GeneralName, Name, Time};

use super::AgentError;
use crate::client_cli::EnrollArgs;

pub(crate) fn kind_name(kind: EnrollmentKind) -> &'static str {
    match kind {
        EnrollmentKind::Ir => "ir",
        EnrollmentKind::Cr => "cr",
        EnrollmentKind::Kur => "kur",
        EnrollmentKind::Ccr => "ccr",
        EnrollmentKind::P10cr => "p10cr",
    }
}

/// The subjectAltName extension for `--sans`: DNS names, IP addresses, `email:…`, `URI:…`;
/// `critical` when the subject is empty (RFC 5280 §4.2.1.6).
fn sans_extension(list: &str, critical: bool) -> Result<Extension, AgentError> {
    let mut names = Vec::new();
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let ia5 = |s: &str| {
            Ia5String::try_from(s.to_owned())
                .map_err(|_| AgentError::usage(format!("--sans: {s:?} is not ASCII")))
        };
        let name = if let Some(e) = item.strip_prefix("email:") {
            GeneralName::Rfc822Name(ia5(e)?)
        } else if let Some(u) = item.strip_prefix("URI:") {
            GeneralName::Uri(ia5(u)?)
        } else if let Ok(ip) = item.parse::<std::net::IpAddr>() {
            let bytes = match ip {
                std::net::IpAddr::V4(v4) => v4.octets().to_vec(),
                std::net::IpAddr::V6(v6) => v6.octets().to_vec(),
            };
            GeneralName::IpAddress(OctetString::from(bytes))
        } else {
            GeneralName::DnsName(ia5(item.strip_prefix("DNS:").unwrap_or(item))?)
        };
        names.push(name);
    }
    let der = rasn::der::encode(&names).map_err(|e| AgentError::local(format!("--sans: {e}")))?;
    Ok(Extension {
        extn_id: oid::CE_SUBJECT_ALT_NAME.to_owned(),
        critical,
        extn_value: OctetString::from(der),
    })
}

fn not_after(days: u32) -> Result<Time, AgentError> {
    let secs = SystemTime::now()
        .checked_add(Duration::from_secs(u64::from(days) * 86_400))
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .ok_or_else(|| AgentError::usage("--days is too large"))?
        .as_secs();
    let t = chrono::DateTime::from_timestamp(i64::try_from(secs).unwrap_or(i64::MAX), 0)
        .ok_or_else(|| AgentError::usage("--days is too large"))?;
    Ok(Time::General(t.fixed_offset()))
}

/// The request for `kind` from the options.
pub(crate) fn enrollment_request(
    kind: EnrollmentKind,
    args: &EnrollArgs,
    subject: Option<Name>,
    new_key: Option<&dyn PrivateKey>,
    old_cert: Option<&CmpCertificate>,
    csr: Option<Pkcs10Request>,
    popo: PopoMethod,
) -> Result<EnrollmentRequest, AgentError> {
    let mut t = CertTemplateBuilder::new();
    // kur carries the old subject and SANs over unless told otherwise.
    let subject = subject.or_else(|| {
        (kind == EnrollmentKind::Kur)
            .then(|| old_cert.map(|c| c.subject().clone()))
            .flatten()
    });
    let empty_subject = subject
        .as_ref()
        .is_none_or(|Name::RdnSequence(rdns)| rdns.is_empty());
    if let Some(s) = subject {
        t = t.subject(s);
    }
    if let Some(days) = args.days {
        t = t.validity(None, Some(not_after(days)?));
    }
    match (&args.sans, kind, old_cert) {
        (Some(list), _, _) => t = t.extension(sans_extension(list, empty_subject)?),
        (None, EnrollmentKind::Kur, Some(old)) => {
            if let Some(ext) = old.extension(oid::CE_SUBJECT_ALT_NAME) {
                t = t.extension(ext.clone());
            }
        }
        _ => {}
    }
    let controls = match (kind, old_cert) {
        (EnrollmentKind::Kur, Some(old)) => Some(vec![
            AttributeTypeAndValue::from_control(&ControlValue::OldCertId(CertId {
                issuer: GeneralName::DirectoryName(old.issuer().clone()),
                serial_number: old.serial_number().clone(),
            }))
            .map_err(|e| AgentError::local(e.to_string()))?,
        ]),
        _ => None,
    };
    Ok(EnrollmentRequest {
        kind,
        template: t.build(),
        public_key: new_key
            .map(|k| k.public_key_info())
            .transpose()
            .map_err(|e| AgentError::local(format!("the new key: {e}")))?,
        popo,
        controls,
        csr,
    })
}
