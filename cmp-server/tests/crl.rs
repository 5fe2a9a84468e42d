//! CRLs: a revocation (rr, signed by the holder) shows up in the CRL the CA signs and serves
//! over HTTP GET at the URL its certificates carry; `openssl crl -verify` accepts the
//! signature, and `openssl verify -crl_check` refuses the revoked certificate and accepts the
//! other.

use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use cmp_core::asn1::{CmpCertificate, CrlReason};
use cmp_core::builder::CertTemplateBuilder;
use cmp_core::client::{Driver, Keys, Sleep};
use cmp_core::crypto::PrivateKeyExt;
use cmp_core::crypto::{KeySpec, PrivateKey, SignatureAlgorithm};
use cmp_core::names::parse_name;
use cmp_core::protection::MacSettings;
use cmp_core::transaction::{
    Credentials, Enrollment, EnrollmentKind, EnrollmentRequest, PopoMethod, Revocation,
    TransactionConfig,
};
use cmp_crypto::software::SoftwareKey;
use cmp_server::Server;
use cmp_server::files::pem;
use cmp_transport_http::HttpTransport;
use rasn_pkix::GeneralName;
use zeroize::Zeroizing;

struct TokioSleep;

impl Sleep for TokioSleep {
    fn sleep(
        &self,
        d: Duration,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        Box::pin(tokio::time::sleep(d))
    }
}

fn config(server: &Server, credentials: Credentials, sender: &CmpCertificate) -> TransactionConfig {
    let p = cmp_crypto::default_provider();
    let mut c = TransactionConfig::new(p.primitives, p.paths, credentials);
    c.sender = GeneralName::DirectoryName(sender.subject().clone());
    c.recipient = GeneralName::DirectoryName(server.ca_certificates()[0].subject().clone());
    c.trust.trusted = server.ca_certificates().to_vec();
    c
}

async fn enroll(server: &Server, cn: &str) -> (CmpCertificate, SoftwareKey) {
    let transport = HttpTransport::builder(server.url("http").expect("http"))
        .build()
        .expect("http");
    let key = SoftwareKey::generate(KeySpec::EcP256).expect("key");
    let subject = parse_name(&format!("CN={cn}")).expect("dn");
    let p = cmp_crypto::default_provider();
    let mut c = TransactionConfig::new(
        p.primitives,
        p.paths,
        Credentials::Mac {
            secret: b"crl-test-secret".to_vec().into(),
            reference: b"crl-ref".to_vec(),
            settings: MacSettings::pbm_default(),
        },
    );
    c.sender = GeneralName::DirectoryName(subject.clone());
    c.trust.trusted = server.ca_certificates().to_vec();
    let request = EnrollmentRequest {
        kind: EnrollmentKind::Ir,
        template: CertTemplateBuilder::new().subject(subject).build(),
        public_key: Some(key.public_key_info().expect("spki")),
        popo: PopoMethod::Signature(SignatureAlgorithm::EcdsaSha256),
        controls: None,
        csr: None,
    };
    let mut tx = Enrollment::new(Arc::new(c), request).expect("tx");
    let sleep = TokioSleep;
    let enrolled = Driver::new(&transport, &sleep)
        .run(
            &mut tx,
            Keys {
                protection: None,
                new_key: Some(&key),
            },
        )
        .await
        .expect("enrolled");
    (enrolled.certificate, key)
}

async fn revoke(server: &Server, cert: &CmpCertificate, key: &dyn PrivateKey) {
    let transport = HttpTransport::builder(server.url("http").expect("http"))
        .build()
        .expect("http");
    let c = config(
        server,
        Credentials::Signature {
            cert: cert.clone(),
            chain: Vec::new(),
            alg: SignatureAlgorithm::EcdsaSha256,
        },
        cert,
    );
    let mut tx =
        Revocation::new(Arc::new(c), cert.clone(), Some(CrlReason::KeyCompromise)).expect("tx");
    let sleep = TokioSleep;
    Driver::new(&transport, &sleep)
        .run(
            &mut tx,
            Keys {
                protection: Some(key),
                new_key: None,
            },
        )
        .await
        .expect("revoked");
}

/// A plain HTTP/1.1 request; the status line and the body.
async fn http(url: &str, method: &str) -> (String, Vec<u8>) {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (authority, path) = rest.split_once('/').expect("a path");
    let url = url.to_owned();
    let (authority, path, method) = (authority.to_owned(), format!("/{path}"), method.to_owned());
    tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(&authority).expect("connect");
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
        )
        .expect("write");
        let mut all = Vec::new();
        s.read_to_end(&mut all).expect("read");
        let split = all
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or_else(|| panic!("an HTTP response from {url}"));
        let head = String::from_utf8_lossy(&all[..split]).to_string();
        (
            head.lines().next().unwrap_or_default().to_owned(),
            all[split + 4..].to_vec(),
        )
    })
    .await
    .expect("joined")
}

fn openssl(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl runs (scripts/test.sh installs it)");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_certificate_is_in_the_signed_crl_served_at_its_distribution_point() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::builder()
        .listen("http://127.0.0.1:0/pkix/")
        .crl_listen("http://127.0.0.1:0/crl/ca.crl")
        .secret("crl-ref", Zeroizing::new(b"crl-test-secret".to_vec()))
        .state_dir(dir.path())
        .start()
        .await
        .expect("started");
    let crl_url = server.crl_url().expect("a CRL URL").to_owned();
    assert!(crl_url.starts_with("http://127.0.0.1:") && crl_url.ends_with("/crl/ca.crl"));
    let (a, a_key) = enroll(&server, "to be revoked").await;
    let (b, _) = enroll(&server, "stays valid").await;
    let d = dir.path();
    std::fs::write(
        d.join("ca.pem"),
        pem("CERTIFICATE", server.ca_certificates()[0].der()),
    )
    .expect("write");
    std::fs::write(d.join("a.pem"), pem("CERTIFICATE", a.der())).expect("write");
    std::fs::write(d.join("b.pem"), pem("CERTIFICATE", b.der())).expect("write");

    // The certificates name the CRL's URL.
    let (ok, text) = openssl(
        d,
        &[
            "x509",
            "-in",
            "a.pem",
            "-noout",
            "-ext",
            "crlDistributionPoints",
        ],
    );
    assert!(ok && text.contains(&format!("URI:{crl_url}")), "{text}");
    let (ok, text) = openssl(d, &["verify", "-x509_strict", "-CAfile", "ca.pem", "a.pem"]);
    assert!(ok, "{text}");

    // Before the revocation: an empty CRL, both certificates pass -crl_check.
    let (status, before) = http(&crl_url, "GET").await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    std::fs::write(d.join("before.der"), &before).expect("write");
    let (ok, text) = openssl(
        d,
        &[
            "crl",
            "-inform",
            "DER",
            "-in",
            "before.der",
            "-out",
            "before.pem",
        ],
    );
    assert!(ok, "{text}");
    let (ok, text) = openssl(
        d,
        &[
            "verify",
            "-crl_check",
            "-CAfile",
            "ca.pem",
            "-CRLfile",
            "before.pem",
            "a.pem",
        ],
    );
    assert!(ok && text.contains("a.pem: OK"), "{text}");

    revoke(&server, &a, &a_key).await;

    // At once (the revocation rebuilds the CRL), signed by the CA.
    let (status, der) = http(&crl_url, "GET").await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    std::fs::write(d.join("crl.der"), &der).expect("write");
    let (ok, text) = openssl(
        d,
        &[
            "crl", "-inform", "DER", "-in", "crl.der", "-CAfile", "ca.pem", "-noout",
        ],
    );
    assert!(ok && text.contains("verify OK"), "{text}");
    let (ok, text) = openssl(
        d,
        &["crl", "-inform", "DER", "-in", "crl.der", "-noout", "-text"],
    );
    let serial_der = rasn::der::encode(a.serial_number()).expect("der");
    let serial_tlv = cmp_core::der::Reader::new(&serial_der, 0)
        .read()
        .expect("tlv");
    let serial = cmp_server::store::serial_hex(serial_tlv.value);
    assert!(ok, "{text}");
    assert!(
        text.contains(&format!("Serial Number: {serial}")),
        "{serial} in {text}"
    );
    assert!(text.contains("Key Compromise"), "{text}");
    assert!(text.contains("X509v3 CRL Number"), "{text}");
    let (ok, text) = openssl(
        d,
        &["crl", "-inform", "DER", "-in", "crl.der", "-out", "crl.pem"],
    );
    assert!(ok, "{text}");
    let (ok, text) = openssl(
        d,
        &[
            "verify",
            "-crl_check",
            "-CAfile",
            "ca.pem",
            "-CRLfile",
            "crl.pem",
            "a.pem",
        ],
    );
    assert!(!ok && text.contains("certificate revoked"), "{text}");
    let (ok, text) = openssl(
        d,
        &[
            "verify",
            "-crl_check",
            "-x509_strict",
            "-CAfile",
            "ca.pem",
            "-CRLfile",
            "crl.pem",
            "b.pem",
        ],
    );
    assert!(ok && text.contains("b.pem: OK"), "{text}");

    // Only GET (and HEAD) at the path.
    assert_eq!(
        http(&crl_url, "POST").await.0,
        "HTTP/1.1 405 Method Not Allowed"
    );
    let other = crl_url.replace("/crl/ca.crl", "/other");
    assert_eq!(http(&other, "GET").await.0, "HTTP/1.1 404 Not Found");
    let (status, body) = http(&crl_url, "HEAD").await;
    assert_eq!((status.as_str(), body.len()), ("HTTP/1.1 200 OK", 0));
    server.shutdown().await.expect("drained");
}
