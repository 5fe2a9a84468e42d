//! Re-bootstrap after every anchor expired (a fast clock: `CMP_AGENT_CLOCK_OFFSET`): the
//! device was offline past its root's end while its CA moved to a new root it never saw. With
//! a new `trusted` file from the operator, that file's valid certificates replace the
//! anchors; with a vendor credential, the device enrolls again with it (ir) and pins the root
//! the ip brought. Either way it ends with a certificate from the new CA and the new root as
//! its only anchor.

mod daemon_rig;

use std::path::Path;

use cmp_tests::openssl_ca::self_signed_root as root;
use daemon_rig::*;

const G1: &str = "/CN=Rebootstrap Root G1";
const G2: &str = "/CN=Rebootstrap Root G2";
/// Past G1's end (120 s after its making), within cmp-server's 5-minute messageTime skew.
const LATER: [(&str, &str); 1] = [("CMP_AGENT_CLOCK_OFFSET", "240")];

fn pki(name: &str) -> String {
    format!(
        "{}/../tests/fixtures/openssl/pki/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// G1 (ends in 120 s), G2 (30 days), and cmp-server with G1 as its CA (`extra` options).
fn roots_and_first_ca(dir: &Path, extra: &[&str]) -> Server {
    short_root(dir, "g1.key", "g1.pem", G1, 120);
    root(dir, "g2.key", "g2.pem", G2, "30");
    let d1 = dir.join("ca1");
    std::fs::create_dir_all(&d1).expect("ca1");
    let (g1, g1_key) = (p(dir, "g1.pem"), p(dir, "g1.key"));
    let mut args = vec!["--ca-cert", g1.as_str(), "--ca-key", g1_key.as_str()];
    args.extend(extra);
    Server::start_with(&d1, &["http://127.0.0.1:0/pkix/"], &args)
}

/// The CA moved to G2 (a new CA, its own state).
fn second_ca(dir: &Path, extra: &[&str]) -> Server {
    let d2 = dir.join("ca2");
    std::fs::create_dir_all(&d2).expect("ca2");
    let (g2, g2_key) = (p(dir, "g2.pem"), p(dir, "g2.key"));
    let mut args = vec!["--ca-cert", g2.as_str(), "--ca-key", g2_key.as_str()];
    args.extend(extra);
    Server::start_with(&d2, &["http://127.0.0.1:0/pkix/"], &args)
}

/// The configuration with `servers` replaced and `trusted` set.
fn point(cfg: &Path, from: &str, to: &str, trusted: &str) {
    let text = std::fs::read_to_string(cfg).expect("config");
    let mut text = text.replace(from, to);
    if let Some(at) = text.find("trusted = ") {
        text.truncate(at);
    }
    text.push_str(&format!("trusted = {trusted:?}\n"));
    std::fs::write(cfg, text).expect("config");
}

fn anchors(cfg: &Path, env: &[(&str, &str)]) -> (Vec<String>, serde_json::Value) {
    let out = agent(cfg, &["status", "--format", "json"], env);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let st: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let names = st["trust"]["anchors"]
        .as_array()
        .expect("anchors")
        .iter()
        .map(|a| a["subject"].as_str().expect("subject").to_owned())
        .collect();
    (names, st)
}

fn enrolled_with_g1(dir: &Path, cfg: &Path) {
    let out = agent(cfg, &["run", "--once"], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(anchors(cfg, &[]).0, ["CN=Rebootstrap Root G1"]);
    assert_clean_install(dir);
}

#[test]
fn a_new_trusted_file_re_bootstraps_a_device_whose_anchors_expired() {
    let dir = temp("rebootstrap-trusted");
    let ca1 = roots_and_first_ca(&dir, &[]);
    let cfg = config(&dir, &ca1.urls, "100s", "trust_refresh = \"1h\"");
    point(&cfg, "", "", &p(&dir, "g1.pem"));
    enrolled_with_g1(&dir, &cfg);
    // Offline past G1's end; the CA is now under G2, and the operator puts G2 in `trusted`.
    let ca2 = second_ca(&dir, &[]);
    point(&cfg, &ca1.urls[0], &ca2.urls[0], &p(&dir, "g2.pem"));
    let out = agent(&cfg, &["run", "--once"], &LATER);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(
        log.contains("re-bootstrap: every trust anchor had expired; the configured trusted files bring CN=Rebootstrap Root G2 (valid until "),
        "{log}"
    );
    assert!(log.contains("router: re-enroll at"), "{log}");
    let certs = ca2.certs();
    assert_eq!(certs.len(), 1, "{certs:?}");
    let serial = assert_clean_install(&dir);
    assert!(certs[0].starts_with(&serial), "{certs:?}");
    let (names, st) = anchors(&cfg, &LATER);
    assert_eq!(names, ["CN=Rebootstrap Root G2"], "{st}");
    assert_eq!(st["trust"]["problem"], serde_json::Value::Null, "{st}");
}

#[test]
fn the_vendor_credential_re_bootstraps_a_device_whose_anchors_expired() {
    let dir = temp("rebootstrap-vendor");
    let vendor_root = pki("ca-cert.pem");
    let ca1 = roots_and_first_ca(&dir, &["--trusted", &vendor_root]);
    let cfg = config(&dir, &ca1.urls, "100s", "trust_refresh = \"1h\"");
    let text = std::fs::read_to_string(&cfg).expect("config").replace(
        &format!("secret = \"{SECRET}\"\nref = \"{REF}\"\n"),
        &format!(
            "vendor_cert = {:?}\nvendor_key = {:?}\n",
            pki("vendor-cert.pem"),
            pki("vendor-key.pem")
        ),
    );
    assert!(text.contains("vendor_cert"), "{text}");
    std::fs::write(&cfg, text).expect("config");
    point(&cfg, "", "", &p(&dir, "g1.pem"));
    enrolled_with_g1(&dir, &cfg);
    // Offline past G1's end; the CA is now under G2 (its CMP signer certified by G2, sent
    // with G2 in extraCerts), and `trusted` still names G1 only.
    leaf(
        &dir,
        "signer.key",
        "/CN=Rebootstrap CMP Signer",
        "g2.pem",
        "g2.key",
        "signer.pem",
    );
    let chain = format!(
        "{}{}",
        std::fs::read_to_string(dir.join("signer.pem")).expect("signer"),
        std::fs::read_to_string(dir.join("g2.pem")).expect("g2")
    );
    std::fs::write(dir.join("signer-chain.pem"), chain).expect("chain");
    let (signer, signer_key) = (p(&dir, "signer-chain.pem"), p(&dir, "signer.key"));
    let ca2 = second_ca(
        &dir,
        &[
            "--trusted",
            &vendor_root,
            "--cert",
            &signer,
            "--key",
            &signer_key,
        ],
    );
    point(&cfg, &ca1.urls[0], &ca2.urls[0], &p(&dir, "g1.pem"));
    let out = agent(&cfg, &["run", "--once"], &LATER);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(
        log.contains("re-bootstrap: every trust anchor has expired; the certificates with a vendor credential enroll again with it (ir), the CA's root taken from the ip (3GPP TS 33.310 first contact)"),
        "{log}"
    );
    assert!(
        log.contains("re-bootstrap: the root CN=Rebootstrap Root G2 (valid until ")
            && log.contains(") from the ip is the trust anchor now"),
        "{log}"
    );
    let certs = ca2.certs();
    assert_eq!(certs.len(), 1, "{certs:?}");
    let serial = assert_clean_install(&dir);
    assert!(certs[0].starts_with(&serial), "{certs:?}");
    let (names, st) = anchors(&cfg, &LATER);
    assert_eq!(names, ["CN=Rebootstrap Root G2"], "{st}");
    // The next pass (a trust refresh signed by the new certificate) trusts the pinned root.
    let out = agent(&cfg, &["run", "--once"], &LATER);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(!log.contains("re-bootstrap"), "{log}");
}
