//! The real `openssl cmp` client against the `cmp-server` binary on 127.0.0.1: ir with PBM
//! (the issued certificate carries the client's key and subject), then cr, kur and rr signed
//! with the issued certificates, p10cr with PBM, an ir signed with a vendor certificate (its
//! root given with `--trusted`), and genm caCerts. A missing openssl fails the test.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

/// The server process, killed (by its handle) when the test ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn openssl(dir: &Path, args: &[&str]) -> Output {
    // `openssl cmp` honours http_proxy: the test's clients go to 127.0.0.1 directly.
    cmp_tests::process::without_proxies(&mut Command::new("openssl"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl is needed for this test: install it (apt-get install openssl)")
}

fn ok(out: &Output, what: &str) -> String {
    let log = String::from_utf8_lossy(&out.stderr).into_owned() + &stdout(out);
    assert!(out.status.success(), "{what} failed: {log}");
    log
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn openssl_cmp_ir_cr_p10cr_kur_rr_genm() {
    let dir = cmp_tests::tools::temp_dir("server-openssl-cmp");
    let mut child = Command::new(env!("CARGO_BIN_EXE_cmp-server"))
        .args([
            "--listen",
            "http://127.0.0.1:0/pkix/",
            "--secret",
            "pass:openssl-test-secret",
            "--ref",
            "4711",
            "--ca-subject",
            "CN=cmp-server Interop CA",
            "--trusted",
            &cmp_tests::fixtures::pki("ca-cert.pem"),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("cmp-server starts");
    let out = child.stdout.take().expect("stdout");
    let server = Server(child);
    let mut line = String::new();
    BufReader::new(out).read_line(&mut line).expect("a line");
    let url = line
        .trim_end()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("expected `listening on URL`, got {line:?}"))
        .to_owned();
    let authority = url
        .strip_prefix("http://")
        .and_then(|r| r.strip_suffix("/pkix/"))
        .expect("http://127.0.0.1:PORT/pkix/");
    assert!(authority.starts_with("127.0.0.1:") && !authority.ends_with(":0"));
    let common = [
        "-server",
        authority,
        "-path",
        "pkix/",
        "-total_timeout",
        "30",
    ];

    for key in ["key.pem", "key2.pem", "key3.pem"] {
        ok(
            &openssl(
                &dir,
                &[
                    "genpkey",
                    "-algorithm",
                    "EC",
                    "-pkeyopt",
                    "ec_paramgen_curve:P-256",
                    "-out",
                    key,
                ],
            ),
            "genpkey",
        );
    }

    // ir with PBM: the certificate is for the client's key and subject.
    let ir = [
        "cmp",
        "-cmd",
        "ir",
        "-secret",
        "pass:openssl-test-secret",
        "-ref",
        "4711",
        "-newkey",
        "key.pem",
        "-subject",
        "/CN=openssl client/O=cmp-rs interop",
        "-certout",
        "cert.pem",
        "-extracertsout",
        "ca.pem",
    ];
    let log = ok(
        &openssl(&dir, &[&ir[..], &common[..]].concat()),
        "openssl cmp -cmd ir",
    );
    assert!(
        log.contains("received IP") && log.contains("received PKICONF"),
        "{log}"
    );
    let subject = stdout(&openssl(
        &dir,
        &["x509", "-in", "cert.pem", "-noout", "-subject", "-issuer"],
    ));
    assert_eq!(
        subject,
        "subject=CN = openssl client, O = cmp-rs interop\nissuer=CN = cmp-server Interop CA\n"
    );
    let cert_key = stdout(&openssl(
        &dir,
        &["x509", "-in", "cert.pem", "-noout", "-pubkey"],
    ));
    let client_key = stdout(&openssl(&dir, &["pkey", "-in", "key.pem", "-pubout"]));
    assert_eq!(cert_key, client_key);
    assert!(cert_key.starts_with("-----BEGIN PUBLIC KEY-----"));
    let verified = openssl(
        &dir,
        &["verify", "-x509_strict", "-CAfile", "ca.pem", "cert.pem"],
    );
    assert_eq!(ok(&verified, "verify"), "cert.pem: OK\n");

    // cr signed with the certificate (the response is signed by the CA), and p10cr with PBM.
    let cr = [
        "cmp",
        "-cmd",
        "cr",
        "-cert",
        "cert.pem",
        "-key",
        "key.pem",
        "-trusted",
        "ca.pem",
        "-newkey",
        "key2.pem",
        "-subject",
        "/CN=cr client",
        "-certout",
        "cr.pem",
    ];
    let log = ok(
        &openssl(&dir, &[&cr[..], &common[..]].concat()),
        "openssl cmp -cmd cr",
    );
    assert!(
        log.contains("received CP") && log.contains("received PKICONF"),
        "{log}"
    );
    let csr = [
        "req",
        "-new",
        "-key",
        "key2.pem",
        "-subj",
        "/CN=p10 client",
        "-out",
        "p10.csr",
    ];
    ok(&openssl(&dir, &csr), "openssl req");
    let p10cr = [
        "cmp",
        "-cmd",
        "p10cr",
        "-secret",
        "pass:openssl-test-secret",
        "-ref",
        "4711",
        "-csr",
        "p10.csr",
        "-certout",
        "p10.pem",
    ];
    let log = ok(
        &openssl(&dir, &[&p10cr[..], &common[..]].concat()),
        "openssl cmp -cmd p10cr",
    );
    assert!(
        log.contains("received CP") && log.contains("received PKICONF"),
        "{log}"
    );
    let subjects = stdout(&openssl(
        &dir,
        &["x509", "-in", "cr.pem", "-noout", "-subject"],
    )) + &stdout(&openssl(
        &dir,
        &["x509", "-in", "p10.pem", "-noout", "-subject"],
    ));
    assert_eq!(
        subjects,
        "subject=CN = cr client\nsubject=CN = p10 client\n"
    );

    // kur signed with the certificate (the response is signed by the CA).
    let kur = [
        "cmp",
        "-cmd",
        "kur",
        "-oldcert",
        "cert.pem",
        "-cert",
        "cert.pem",
        "-key",
        "key.pem",
        "-newkey",
        "key2.pem",
        "-trusted",
        "ca.pem",
        "-certout",
        "cert2.pem",
    ];
    let log = ok(
        &openssl(&dir, &[&kur[..], &common[..]].concat()),
        "openssl cmp -cmd kur",
    );
    assert!(log.contains("received KUP"), "{log}");
    let cert2_key = stdout(&openssl(
        &dir,
        &["x509", "-in", "cert2.pem", "-noout", "-pubkey"],
    ));
    assert_eq!(
        cert2_key,
        stdout(&openssl(&dir, &["pkey", "-in", "key2.pem", "-pubout"]))
    );

    // rr by the holder.
    let rr = [
        "cmp",
        "-cmd",
        "rr",
        "-oldcert",
        "cert2.pem",
        "-cert",
        "cert2.pem",
        "-key",
        "key2.pem",
        "-trusted",
        "ca.pem",
    ];
    let log = ok(
        &openssl(&dir, &[&rr[..], &common[..]].concat()),
        "openssl cmp -cmd rr",
    );
    assert!(
        log.contains("revocation accepted (PKIStatus=accepted)"),
        "{log}"
    );
    // Again: refused, the signer's certificate is revoked.
    let again = openssl(&dir, &[&rr[..], &common[..]].concat());
    assert!(!again.status.success());
    let log = String::from_utf8_lossy(&again.stderr).into_owned() + &stdout(&again);
    assert!(
        log.contains(
            "PKIStatus: rejection; PKIFailureInfo: certRevoked; StatusString: \"the request is signed with a revoked certificate\""
        ),
        "{log}"
    );

    // ir signed with a vendor certificate whose root the server was given with --trusted.
    let vendor_cert = cmp_tests::fixtures::pki("vendor-cert.pem");
    let vendor_key = cmp_tests::fixtures::pki("vendor-key.pem");
    let ir = [
        "cmp",
        "-cmd",
        "ir",
        "-cert",
        &vendor_cert,
        "-key",
        &vendor_key,
        "-trusted",
        "ca.pem",
        "-newkey",
        "key3.pem",
        "-subject",
        "/CN=vendor device/O=cmp-rs interop",
        "-certout",
        "cert3.pem",
    ];
    let log = ok(
        &openssl(&dir, &[&ir[..], &common[..]].concat()),
        "openssl cmp -cmd ir (signed)",
    );
    assert!(
        log.contains("received IP") && log.contains("received PKICONF"),
        "{log}"
    );
    let subject = stdout(&openssl(
        &dir,
        &["x509", "-in", "cert3.pem", "-noout", "-subject"],
    ));
    assert_eq!(subject, "subject=CN = vendor device, O = cmp-rs interop\n");

    // genm caCerts with PBM.
    let genm = [
        "cmp",
        "-cmd",
        "genm",
        "-secret",
        "pass:openssl-test-secret",
        "-ref",
        "4711",
        "-infotype",
        "caCerts",
    ];
    let log = ok(
        &openssl(&dir, &[&genm[..], &common[..]].concat()),
        "openssl cmp -cmd genm",
    );
    assert!(
        log.contains("genp contains ITAV of type: id-it-caCerts"),
        "{log}"
    );
    drop(server);
}
