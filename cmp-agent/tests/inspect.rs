//! `cmp-agent inspect`, run as a process over the OpenSSL fixtures
//! (`tests/fixtures/openssl`), their PEM and base64 forms, and malformed input.
//!
//! Expected values come from the bytes (an independent DER walker in `support::der`), from
//! the fixture file names, or from the test PKI that the fixture generator fixes (names,
//! serials), never from output the agent produced itself.

// Each test target uses a different part of the shared helpers.
#[allow(dead_code)]
mod support;

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::Value;
use support::der::{self, raw_message};
use support::{Fixture, TempDir, fixture, fixtures, run, run_with_stdin};

/// The body names by context tag, as RFC 9810 spells them.
const BODY_NAMES: [&str; 27] = [
    "ir", "ip", "cr", "cp", "p10cr", "popdecc", "popdecr", "kur", "kup", "krr", "krp", "rr", "rp",
    "ccr", "ccp", "ckuann", "cann", "rann", "crlann", "pkiconf", "nested", "genm", "genp", "error",
    "certConf", "pollReq", "pollRep",
];

/// The subject of `pki/new-cert` (the enrolled certificate), in RFC 4514 order.
const NEW_DN: &str = "O=cmp-rs test PKI,CN=CMP Test Device";

/// The JSON lines of a successful `inspect --format json` over `files`.
fn json_lines(files: &[&std::path::Path]) -> Vec<Value> {
    let mut args = vec!["inspect".as_ref(), "--format".as_ref(), "json".as_ref()];
    args.extend(files.iter().map(|f| f.as_os_str()));
    let r = run(args);
    assert_eq!(r.code, 0, "stderr: {}", r.stderr);
    assert_eq!(r.stderr, "");
    let lines: Vec<Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(lines.len(), files.len(), "one line per file: {}", r.stdout);
    lines
}

fn json_of(f: &Fixture) -> Value {
    json_lines(&[&f.path]).remove(0)
}

fn text_of(f: &Fixture) -> String {
    let r = run(["inspect".as_ref(), f.path.as_os_str()]);
    assert_eq!((r.code, r.stderr.as_str()), (0, ""), "{}", f.path.display());
    r.stdout
}

fn is_hex_or_null(v: &Value) -> bool {
    v.is_null()
        || v.as_str().is_some_and(|s| {
            s.len() % 2 == 0
                && s.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
}

/// `YYYY-MM-DDTHH:MM:SSZ`.
fn is_rfc3339_utc(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 20
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

fn hex_or_null(v: &Option<String>) -> Value {
    v.clone().map_or(Value::Null, Value::String)
}

#[test]
fn every_fixture_inspects_as_json_with_the_raw_values() {
    let all = fixtures();
    let paths: Vec<&std::path::Path> = all.iter().map(|f| f.path.as_path()).collect();
    for (f, j) in all.iter().zip(json_lines(&paths)) {
        let name = f.path.display().to_string();
        let raw = raw_message(&f.der());
        assert_eq!(j["file"], name.as_str());
        assert_eq!(j["body"], f.body.as_str(), "{name}");
        assert_eq!(j["body"], BODY_NAMES[usize::from(raw.body_tag)], "{name}");
        assert_eq!(j["pvno"].as_i64(), Some(raw.pvno), "{name}");
        assert!(
            j["sender"].is_string() && j["recipient"].is_string(),
            "{name}"
        );
        for (key, want) in [
            ("transactionID", &raw.transaction_id),
            ("senderNonce", &raw.sender_nonce),
            ("recipNonce", &raw.recip_nonce),
            ("senderKID", &raw.sender_kid),
            ("recipKID", &raw.recip_kid),
        ] {
            assert!(is_hex_or_null(&j[key]), "{name}: {key} = {}", j[key]);
            assert_eq!(j[key], hex_or_null(want), "{name}: {key}");
        }
        assert_eq!(
            j["protectionAlg"],
            hex_or_null(&raw.protection_alg),
            "{name}"
        );
        let time = j["messageTime"].as_str().unwrap_or_default();
        assert!(is_rfc3339_utc(time), "{name}: messageTime {time:?}");
        assert!(
            j["freeText"].is_null() || j["freeText"].is_array(),
            "{name}"
        );
        assert!(j["generalInfo"].is_null() || j["generalInfo"].is_array());
        assert!(j["content"].is_object(), "{name}");
        assert_eq!(j["protection"], "unchecked", "{name}");
        assert_eq!(
            j["protectionBits"].as_u64(),
            raw.protection_bits.map(|b| b as u64)
        );
        assert_eq!(j["roundtrip"], true, "{name}");
        match &raw.extra_cert_serials {
            None => assert!(j["extraCerts"].is_null(), "{name}"),
            Some(serials) => {
                let certs = j["extraCerts"].as_array().expect("extraCerts array");
                assert_eq!(certs.len(), serials.len(), "{name}");
                for (c, serial) in certs.iter().zip(serials) {
                    assert!(c["subject"].is_string() && c["issuer"].is_string());
                    assert_eq!(c["serial"], serial.as_str(), "{name}");
                }
            }
        }
    }
}

#[test]
fn every_fixture_inspects_as_text() {
    for f in fixtures() {
        let text = text_of(&f);
        let name = f.path.display();
        assert!(text.starts_with(&format!("File: {name}\n")), "{text}");
        assert!(
            text.contains(&format!("\n    Body: {}\n", f.body)),
            "{text}"
        );
        assert!(text.contains("pvno:            2 (cmp2000)"), "{text}");
        assert!(text.contains("Roundtrip:       yes"), "{text}");
    }
}

#[test]
fn transaction_ids_and_nonces_chain_within_each_scenario() {
    let mut scenarios: BTreeMap<String, Vec<(u32, Value)>> = BTreeMap::new();
    for f in fixtures() {
        let j = json_of(&f);
        scenarios
            .entry(f.scenario.clone())
            .or_default()
            .push((f.nn, j));
    }
    for (scenario, msgs) in &scenarios {
        let tid = &msgs[0].1["transactionID"];
        assert!(tid.is_string(), "{scenario}");
        assert!(
            msgs[0].1["recipNonce"].is_null(),
            "{scenario}: first request"
        );
        for pair in msgs.windows(2) {
            let ((nn_a, a), (nn_b, b)) = (&pair[0], &pair[1]);
            assert_eq!(&b["transactionID"], tid, "{scenario} {nn_b}");
            if nn_b % 2 == 0 {
                assert_eq!(nn_a + 1, *nn_b);
                assert_eq!(b["recipNonce"], a["senderNonce"], "{scenario} {nn_b}");
            }
        }
    }
}

/// `data` as PEM with `label`, 64 columns, optional header lines and CRLF.
fn pem(data: &[u8], label: &str, headers: &[&str], eol: &str) -> Vec<u8> {
    let b64 = B64.encode(data);
    let mut out = format!("-----BEGIN {label}-----{eol}");
    for h in headers {
        out.push_str(&format!("{h}{eol}"));
    }
    if !headers.is_empty() {
        out.push_str(eol);
    }
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).expect("ascii"));
        out.push_str(eol);
    }
    out.push_str(&format!("-----END {label}-----{eol}"));
    out.into_bytes()
}

/// `data` as base64 broken into 76-column lines, with a space in each line.
fn spaced_base64(data: &[u8]) -> Vec<u8> {
    let b64 = B64.encode(data);
    let mut out = String::from("\n");
    for chunk in b64.as_bytes().chunks(76) {
        let (a, b) = chunk.split_at(chunk.len() / 2);
        out.push_str(&format!(
            "  {} {}\n",
            std::str::from_utf8(a).expect("ascii"),
            std::str::from_utf8(b).expect("ascii")
        ));
    }
    out.into_bytes()
}

/// A file-name suffix and how to encode a fixture for it.
type Variant = (&'static str, fn(&[u8]) -> Vec<u8>);

fn without_file(mut v: Value) -> Value {
    v.as_object_mut().expect("object").remove("file");
    v
}

#[test]
fn pem_and_base64_give_the_same_json_as_der() {
    let dir = TempDir::new("formats");
    let all = fixtures();
    let der_paths: Vec<&std::path::Path> = all.iter().map(|f| f.path.as_path()).collect();
    let want: Vec<Value> = json_lines(&der_paths)
        .into_iter()
        .map(without_file)
        .collect();
    let variants: [Variant; 3] = [
        ("pkimessage.pem", |d| pem(d, "PKIMESSAGE", &[], "\n")),
        ("cmp.pem", |d| {
            pem(d, "CMP MESSAGE", &["Comment: saved by a test"], "\r\n")
        }),
        ("b64", spaced_base64),
    ];
    for (suffix, encode) in variants {
        let paths: Vec<_> = all
            .iter()
            .enumerate()
            .map(|(i, f)| dir.write(&format!("{i:02}-{}.{suffix}", f.body), &encode(&f.der())))
            .collect();
        let refs: Vec<&std::path::Path> = paths.iter().map(|p| p.as_path()).collect();
        for ((got, want), path) in json_lines(&refs).into_iter().zip(&want).zip(&paths) {
            assert_eq!(got["file"], path.display().to_string().as_str());
            assert_eq!(&without_file(got), want, "{}", path.display());
        }
    }
}

#[test]
fn standard_input_is_read_for_dash() {
    let f = fixture("pbm-ir", "02-ip.der");
    let want = without_file(json_of(&f));
    for input in [f.der(), spaced_base64(&f.der())] {
        let r = run_with_stdin(["inspect", "--format", "json", "-"], &input);
        assert_eq!((r.code, r.stderr.as_str()), (0, ""));
        let got: Value = serde_json::from_str(r.stdout.trim_end()).expect("json");
        assert_eq!(got["file"], "<stdin>");
        assert_eq!(without_file(got), want);
    }
}

#[test]
fn certificate_responses_show_status_and_certificate() {
    let j = json_of(&fixture("rejection", "02-ip.der"));
    let r = &j["content"]["responses"][0];
    assert_eq!(r["certReqId"], 0);
    assert_eq!(r["status"], "rejection");
    assert_eq!(r["failInfo"], serde_json::json!(["badPOP"]));
    assert_eq!(r["statusString"], "rejected by test mock");
    assert!(r["certificate"].is_null());
    let text = text_of(&fixture("rejection", "02-ip.der"));
    assert!(
        text.contains("rejection") && text.contains("badPOP"),
        "{text}"
    );
    assert!(
        text.contains("status:          rejection: badPOP — \"rejected by test mock\""),
        "{text}"
    );

    let new_cert = std::fs::read(support::fixture_dir().join("pki/new-cert.der")).expect("pki");
    let new_serial = {
        let tbs = der::children(
            &new_cert,
            der::children(&new_cert, der::tlv(&new_cert, 0))[0],
        );
        hex::encode(der::value(&new_cert, tbs[1]))
    };
    let j = json_of(&fixture("pbm-ir", "02-ip.der"));
    let content = &j["content"];
    assert_eq!(content["caPubs"][0]["serial"], "01");
    let r = &content["responses"][0];
    assert_eq!(
        (&r["status"], &r["statusString"]),
        (&"accepted".into(), &Value::Null)
    );
    assert_eq!(r["failInfo"], serde_json::json!([]));
    assert_eq!(r["certificate"]["subject"], NEW_DN);
    assert_eq!(r["certificate"]["serial"], new_serial.as_str());

    let j = json_of(&fixture("p10cr", "02-cp.der"));
    assert_eq!(j["content"]["responses"][0]["certReqId"], -1);
}

#[test]
fn requests_show_template_controls_and_popo() {
    let j = json_of(&fixture("kur", "01-kur.der"));
    let req = &j["content"]["requests"][0];
    assert_eq!(req["certReqId"], 0);
    assert_eq!(req["template"]["subject"], NEW_DN);
    assert_eq!(req["template"]["publicKey"]["name"], "ecPublicKey");
    assert_eq!(req["template"]["publicKey"]["parameters"], "prime256v1");
    assert_eq!(req["controls"][0]["name"], "oldCertID");
    assert_eq!(req["controls"][0]["oid"], "1.3.6.1.5.5.7.5.1.5");
    assert_eq!(req["controls"][0]["value"]["serial"], "3001");
    assert_eq!(req["popo"]["kind"], "signature");
    assert!(text_of(&fixture("kur", "01-kur.der")).contains("oldCertID:       issuer "));

    let j = json_of(&fixture("p10cr", "01-p10cr.der"));
    assert_eq!(j["content"]["subject"], NEW_DN);
    assert_eq!(j["content"]["publicKey"]["name"], "ecPublicKey");

    let text = text_of(&fixture("pbm-ir", "01-ir.der"));
    assert!(text.contains("(\"client-ref-1234\")"), "{text}");
    assert!(
        text.contains("PasswordBasedMac (1.2.840.113533.7.66.13)"),
        "{text}"
    );
}

#[test]
fn polling_shows_check_after() {
    let j = json_of(&fixture("poll", "04-pollRep.der"));
    let r = &j["content"]["responses"][0];
    assert_eq!((&r["certReqId"], &r["checkAfter"]), (&0.into(), &1.into()));
    assert!(r["reason"].is_null());
    let text = text_of(&fixture("poll", "04-pollRep.der"));
    assert!(text.contains("checkAfter:      1 s"), "{text}");
    let j = json_of(&fixture("poll", "03-pollReq.der"));
    assert_eq!(j["content"]["requests"][0]["certReqId"], 0);
    let j = json_of(&fixture("poll", "02-ip.der"));
    assert_eq!(j["content"]["responses"][0]["status"], "waiting");
}

#[test]
fn error_messages_show_status_code_and_details() {
    let f = fixture("error", "02-error.der");
    let c = json_of(&f)["content"].clone();
    assert_eq!(c["status"], "rejection");
    assert_eq!(c["failInfo"], serde_json::json!(["badRequest"]));
    assert_eq!(c["statusString"], "error processing message");
    assert!(
        c["errorCode"].is_i64() && c["errorDetails"].is_string(),
        "{c}"
    );
    assert!(text_of(&f).contains("badRequest"));
}

#[test]
fn revocation_shows_the_certificate_and_reason() {
    let j = json_of(&fixture("rr", "01-rr.der"));
    let r = &j["content"]["requests"][0];
    assert_eq!(r["serial"], "3001");
    assert_eq!(
        (&r["reason"], &r["reasonCode"]),
        (&"keyCompromise".into(), &1.into())
    );
    assert!(text_of(&fixture("rr", "01-rr.der")).contains("reasonCode:      keyCompromise (1)"));
    let j = json_of(&fixture("rr", "02-rp.der"));
    assert_eq!(j["content"]["statuses"][0]["status"], "accepted");
    assert_eq!(j["content"]["revCerts"][0]["serial"], "3001");
}

#[test]
fn general_info_certconf_genm_and_pkiconf() {
    for file in ["01-ir.der", "02-ip.der"] {
        let j = json_of(&fixture("implicit-confirm", file));
        assert_eq!(j["generalInfo"][0]["name"], "implicitConfirm");
        assert_eq!(j["generalInfo"][0]["oid"], "1.3.6.1.5.5.7.4.13");
        assert!(j["generalInfo"][0]["value"].is_null());
    }
    let text = text_of(&fixture("implicit-confirm", "02-ip.der"));
    assert!(
        text.contains("implicitConfirm (1.3.6.1.5.5.7.4.13)"),
        "{text}"
    );

    let f = fixture("cr", "03-certConf.der");
    let der = f.der();
    let body = der::children(&der, der::tlv(&der, 0))[1];
    let status = der::children(&der, der::tlv(&der, body.value))[0];
    let hash = hex::encode(der::value(&der, der::children(&der, status)[0]));
    let s = &json_of(&f)["content"]["certStatus"][0];
    assert_eq!(s["certHash"], hash.as_str());
    assert_eq!(
        (&s["certReqId"], &s["status"]),
        (&0.into(), &"accepted".into())
    );
    assert!(s["hashAlg"].is_null());

    let j = json_of(&fixture("genm", "01-genm.der"));
    assert_eq!(j["content"]["itavs"][0]["name"], "signKeyPairTypes");
    assert!(j["content"]["itavs"][0]["value"].is_null());
    let j = json_of(&fixture("cr", "04-pkiconf.der"));
    assert_eq!(j["content"], serde_json::json!({}));
}
