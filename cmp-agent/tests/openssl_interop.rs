//! `cmp-agent` against the `openssl cmp -port` mock server: a peer nobody here wrote. Each
//! scenario asserts the exit code, and for failures the one sentence on standard error.

use std::process::Command;

mod cli;

use cli::{RECIPIENT, SUBJECT, agent, certout, ok, pbm, run, stderr, url};
use cmp_tests::fronts::{self, Relay, serve_in_background, tls_server_settings};
use cmp_tests::openssl_mock::{MockProtection, Server, openssl_mock, start};
use cmp_tests::{fixtures, tools};

use fixtures::pki;

#[test]
fn ir_with_pbm_enrolls_and_writes_the_certificate() {
    let mock = openssl_mock(MockProtection::Pbm, &[]);
    let dir = tools::temp_dir("agent-ir");
    let (out, out_s) = certout(&dir, "cert.pem");
    let reqout = dir.join("req").display().to_string();
    let o = run(
        "ir",
        &pbm(&mock),
        &[
            "--newkey",
            &pki("new-key.pem"),
            "--subject",
            SUBJECT,
            "--certout",
            &out_s,
            "--reqout",
            &reqout,
        ],
    );
    ok(&o, "ir", &mock);
    assert_eq!(
        std::fs::read_to_string(&out).expect("certout"),
        std::fs::read_to_string(pki("new-cert.pem")).expect("pem")
    );
    let names: Vec<String> = std::fs::read_dir(dir.join("req"))
        .expect("reqout")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(names, ["01-ir.der", "02-certConf.der"]);
}

#[test]
fn ir_with_a_generated_key_saves_the_key_first() {
    // The mock returns its fixed certificate, which is not for a fresh key: our client must
    // refuse it with certConf — and the new key must still have been saved.
    let mock = openssl_mock(MockProtection::Pbm, &[]);
    let dir = tools::temp_dir("agent-gen");
    let key = dir.join("new.key");
    let (out, out_s) = certout(&dir, "cert.pem");
    let key_s = key.display().to_string();
    let o = run(
        "ir",
        &pbm(&mock),
        &[
            "--newkey",
            "gen:ec:P-256",
            "--newkeyout",
            &key_s,
            "--subject",
            SUBJECT,
            "--certout",
            &out_s,
        ],
    );
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        "cmp-agent: the issued certificate was refused (its public key is not ours); certConf reported incorrectData to the server\n"
    );
    assert!(!out.exists(), "--certout is written only on success");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&key)
            .expect("key saved")
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
}

#[test]
fn ir_signed_with_the_vendor_certificate_3gpp_style() {
    let mock = openssl_mock(MockProtection::Signature, &[]);
    let dir = tools::temp_dir("agent-sig");
    let (out, out_s) = certout(&dir, "cert.pem");
    let o = agent(&[
        "ir",
        "--server",
        &url(&mock),
        "--cert",
        &pki("vendor-cert.pem"),
        "--key",
        &pki("vendor-key.pem"),
        "--trusted",
        &pki("ca-cert.pem"),
        "--recipient",
        RECIPIENT,
        "--newkey",
        &pki("new-key.pem"),
        "--subject",
        SUBJECT,
        "--certout",
        &out_s,
    ]);
    ok(&o, "signed ir", &mock);
    assert!(out.exists());
    // Trusting the wrong anchor: the response's signer is not trusted.
    let o = agent(&[
        "ir",
        "--server",
        &url(&mock),
        "--cert",
        &pki("vendor-cert.pem"),
        "--key",
        &pki("vendor-key.pem"),
        "--trusted",
        &pki("vendor-cert.pem"),
        "--newkey",
        &pki("new-key.pem"),
        "--subject",
        SUBJECT,
    ]);
    assert_eq!(o.status.code(), Some(4));
    assert_eq!(
        stderr(&o),
        "cmp-agent: the response failed a check: the signer certificate O=cmp-rs test PKI,CN=CMP Test Server is not trusted: certificate path does not validate: no trust anchor or intermediate issued it (unknown issuer)\n"
    );
}

#[test]
fn cr_kur_p10cr_rr_and_genm() {
    let mock = openssl_mock(MockProtection::Signature, &[]);
    let sig = |cmd: &str, extra: &[&str]| {
        let mut args = vec![
            cmd.to_owned(),
            "--server".into(),
            url(&mock),
            "--cert".into(),
            pki("vendor-cert.pem"),
            "--key".into(),
            pki("vendor-key.pem"),
            "--trusted".into(),
            pki("ca-cert.pem"),
        ];
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        agent(&args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    ok(
        &sig(
            "cr",
            &["--newkey", &pki("new-key.pem"), "--subject", SUBJECT],
        ),
        "cr",
        &mock,
    );
    ok(
        &sig("p10cr", &["--csr", &pki("new.csr.pem")]),
        "p10cr",
        &mock,
    );
    // Options a command would ignore are refused (exit 2).
    let o = sig(
        "p10cr",
        &["--csr", &pki("new.csr.pem"), "--subject", SUBJECT],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        "cmp-agent: --subject does not apply to p10cr: the key, subject and extensions come from --csr\n"
    );
    let o = sig(
        "cr",
        &[
            "--newkey",
            &pki("new-key.pem"),
            "--csr",
            &pki("new.csr.pem"),
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        "cmp-agent: --csr is for p10cr; cr builds its request from --newkey, --subject, --sans and --days\n"
    );
    // kur and rr: the 3.0 mock accepts only its own -rsp_cert as the old certificate, signed
    // by that certificate's key.
    let as_new = |cmd: &str, extra: &[&str]| {
        let mut args = vec![
            cmd.to_owned(),
            "--server".into(),
            url(&mock),
            "--cert".into(),
            pki("new-cert.pem"),
            "--key".into(),
            pki("new-key.pem"),
            "--trusted".into(),
            pki("ca-cert.pem"),
        ];
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        agent(&args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    ok(
        &as_new("kur", &["--newkey", &pki("new-key.pem")]),
        "kur",
        &mock,
    );
    let o = as_new("rr", &["--revreason", "1"]);
    ok(&o, "rr", &mock);
    assert!(
        String::from_utf8_lossy(&o.stdout)
            .starts_with("revoked: O=cmp-rs test PKI,CN=CMP Test Device")
    );
    let o = sig("genm", &["--infotype", "signKeyPairTypes"]);
    ok(&o, "genm", &mock);
}

#[test]
fn polling_and_implicit_confirmation() {
    let mock = openssl_mock(
        MockProtection::Pbm,
        &["-poll_count", "2", "-check_after", "1"],
    );
    let dir = tools::temp_dir("agent-poll");
    let rspout = dir.join("rsp").display().to_string();
    let o = run(
        "ir",
        &pbm(&mock),
        &[
            "--newkey",
            &pki("new-key.pem"),
            "--subject",
            SUBJECT,
            "--rspout",
            &rspout,
        ],
    );
    ok(&o, "polling", &mock);
    let mut names: Vec<String> = std::fs::read_dir(dir.join("rsp"))
        .expect("rspout")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    // ir → ip (waiting) → pollReq → pollRep → pollReq → ip → certConf → pkiconf, as the
    // openssl client sees it too (tests/fixtures/openssl/poll).
    assert_eq!(
        names,
        ["01-ip.der", "02-pollRep.der", "03-ip.der", "04-pkiconf.der"]
    );

    let mock = openssl_mock(MockProtection::Pbm, &["-grant_implicitconf"]);
    let o = run(
        "ir",
        &pbm(&mock),
        &[
            "--newkey",
            &pki("new-key.pem"),
            "--subject",
            SUBJECT,
            "--implicit-confirm",
        ],
    );
    ok(&o, "implicit confirm", &mock);
    assert!(String::from_utf8_lossy(&o.stdout).contains("implicitly confirmed"));
}

#[test]
fn server_errors_and_rejections_exit_5() {
    let mock = openssl_mock(
        MockProtection::Pbm,
        &[
            "-pkistatus",
            "2",
            "-failure",
            "9",
            "-statusstring",
            "POP check failed",
        ],
    );
    let o = run(
        "ir",
        &pbm(&mock),
        &["--newkey", &pki("new-key.pem"), "--subject", SUBJECT],
    );
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        "cmp-agent: server rejected the request: rejection (badPOP) \"POP check failed\"\n"
    );

    let mock = openssl_mock(MockProtection::Pbm, &["-send_error"]);
    let o = run(
        "ir",
        &pbm(&mock),
        &["--newkey", &pki("new-key.pem"), "--subject", SUBJECT],
    );
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.starts_with("cmp-agent: server rejected the request: rejection (badRequest)"),
        "{e}"
    );
    assert!(e.ends_with(" (error message)\n"), "{e}");
}

#[test]
fn unprotected_errors_only_with_the_quirk() {
    let mock = openssl_mock(MockProtection::Pbm, &["-send_error", "-send_unprotected"]);
    let o = run(
        "ir",
        &pbm(&mock),
        &["--newkey", &pki("new-key.pem"), "--subject", SUBJECT],
    );
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        "cmp-agent: the response failed a check: the server sent an unprotected error message (--unprotected-errors accepts it, which weakens security)\n"
    );
    let o = run(
        "ir",
        &pbm(&mock),
        &[
            "--newkey",
            &pki("new-key.pem"),
            "--subject",
            SUBJECT,
            "--unprotected-errors",
        ],
    );
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
}

#[test]
fn a_wrong_secret_and_an_unreachable_server() {
    let mock = openssl_mock(MockProtection::Pbm, &[]);
    let mut args = pbm(&mock);
    args[3] = "pass:wrong-secret".into();
    let o = run(
        "ir",
        &args,
        &["--newkey", &pki("new-key.pem"), "--subject", SUBJECT],
    );
    // The mock answers with an error message protected by its secret, which we cannot verify.
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        "cmp-agent: the response failed a check: invalid protection: the MAC does not verify (wrong shared secret, or the message was altered)\n"
    );
    // A MAC-protected answer when we gave no secret.
    let o = agent(&[
        "ir",
        "--server",
        &url(&mock),
        "--cert",
        &pki("vendor-cert.pem"),
        "--key",
        &pki("vendor-key.pem"),
        "--trusted",
        &pki("ca-cert.pem"),
        "--newkey",
        &pki("new-key.pem"),
        "--subject",
        SUBJECT,
    ]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        "cmp-agent: the response failed a check: the response is MAC-protected, but no shared secret is configured (give --secret)\n"
    );
    // An unreachable server; a certificate left unconfirmed by an earlier run is not
    // claimed as this run's.
    let dir = tools::temp_dir("agent-unreachable");
    let (out, out_s) = certout(&dir, "cert.pem");
    std::fs::write(format!("{out_s}.unconfirmed"), "earlier run").expect("leftover");
    let (_refusing, port) = cmp_tests::openssl_mock::refusing_port();
    let o = agent(&[
        "ir",
        "--server",
        &format!("http://127.0.0.1:{port}/"),
        "--secret",
        "pass:x",
        "--ref",
        "r",
        "--newkey",
        &pki("new-key.pem"),
        "--subject",
        SUBJECT,
        "--certout",
        &out_s,
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let text = stderr(&o);
    assert!(
        text.starts_with(&format!("cmp-agent: cannot connect to 127.0.0.1:{port}: "))
            && text.ends_with(")\n")
            && !text.contains("unconfirmed"),
        "{text}"
    );
    assert!(!out.exists());
}

#[test]
fn proxy_from_the_environment_and_no_proxy() {
    let mock = openssl_mock(MockProtection::Pbm, &[]);
    let (_refusing, dead_proxy) = cmp_tests::openssl_mock::refusing_port();
    let ir = |extra: &[&str]| {
        let mut args = vec!["ir".to_owned()];
        args.extend(pbm(&mock));
        args.extend(
            [
                "--newkey",
                &pki("new-key.pem"),
                "--subject",
                SUBJECT,
                "--msg-timeout",
                "5",
            ]
            .iter()
            .chain(extra)
            .map(|s| (*s).to_owned()),
        );
        cmp_tests::process::without_proxies(&mut Command::new(env!("CARGO_BIN_EXE_cmp-agent")))
            .args(&args)
            .env("http_proxy", format!("http://127.0.0.1:{dead_proxy}"))
            .output()
            .expect("agent")
    };
    // http_proxy is used by default...
    let o = ir(&[]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).starts_with(&format!(
            "cmp-agent: cannot connect to 127.0.0.1:{dead_proxy}: "
        )),
        "{}",
        stderr(&o)
    );
    // ...and --no-proxy LIST (without --proxy) exempts the hosts it names.
    ok(
        &ir(&["--no-proxy", "ca.example,127.0.0.1"]),
        "ir with --no-proxy",
        &mock,
    );
    ok(&ir(&["--no-proxy", "*"]), "ir with --no-proxy *", &mock);
    let other = ir(&["--no-proxy", "ca.example"]);
    assert_eq!(other.status.code(), Some(3), "{}", stderr(&other));
    assert_eq!(stderr(&other), stderr(&o), "still through the proxy");
}

#[test]
fn cr_with_an_rsa_key() {
    // A certificate for a fresh RSA key, issued by the test CA, for the mock to return.
    let dir = tools::temp_dir("agent-rsa");
    let key = dir.join("rsa.pem");
    let csr = dir.join("rsa.csr");
    let cert = dir.join("rsa-cert.pem");
    let ossl = |args: &[&str]| {
        let o = Command::new("openssl")
            .args(args)
            .output()
            .expect("openssl");
        assert!(
            o.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    let (k, c, r) = (
        key.display().to_string(),
        csr.display().to_string(),
        cert.display().to_string(),
    );
    ossl(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
        "-out",
        &k,
    ]);
    ossl(&[
        "req",
        "-new",
        "-key",
        &k,
        "-subj",
        "/CN=RSA Device/O=cmp-rs test PKI",
        "-out",
        &c,
    ]);
    ossl(&[
        "x509",
        "-req",
        "-in",
        &c,
        "-CA",
        &pki("ca-cert.pem"),
        "-CAkey",
        &pki("ca-key.pem"),
        "-set_serial",
        "77",
        "-days",
        "2",
        "-out",
        &r,
    ]);
    let mock = start_mock_with_cert(&r);
    let out = dir.join("issued.pem").display().to_string();
    let o = run(
        "cr",
        &pbm(&mock),
        &[
            "--newkey",
            &k,
            "--subject",
            "/CN=RSA Device/O=cmp-rs test PKI",
            "--certout",
            &out,
        ],
    );
    ok(&o, "cr with RSA", &mock);
    assert_eq!(
        std::fs::read(&out).expect("issued"),
        std::fs::read(&cert).expect("cert")
    );
}

fn start_mock_with_cert(cert: &str) -> Server {
    let args: Vec<String> = [
        "cmp",
        "-config",
        "",
        "-port",
        "{port}",
        "-rsp_cert",
        cert,
        "-srv_ref",
        "server-ref-5678",
        "-srv_secret",
        "pass:cmp-test-secret-1234",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    start("openssl", &args, Some("ACCEPT"))
}

/// Our TCP server half relaying to the mock over HTTP, on its own runtime thread.
fn tcp_front(mock_port: u16, tls: bool) -> u16 {
    use std::sync::Arc;
    serve_in_background(move |listener| async move {
        let relay = Relay::to(&format!("http://127.0.0.1:{mock_port}/pkix/"));
        let mut builder = cmp_transport_tcp::TcpServer::builder();
        if tls {
            let settings = tls_server_settings(false);
            builder = builder.tls(Arc::new(settings.server_config().expect("tls config")));
        }
        let _ = builder
            .build()
            .serve(listener, Arc::new(relay), std::future::pending())
            .await;
    })
}

#[test]
fn tcp_and_tcps_server_urls() {
    let mock = openssl_mock(MockProtection::Pbm, &[]);
    let port = tcp_front(mock.port, false);
    let mut args = pbm(&mock);
    args[1] = format!("tcp://127.0.0.1:{port}");
    let o = run(
        "ir",
        &args,
        &["--newkey", &pki("new-key.pem"), "--subject", SUBJECT],
    );
    ok(&o, "ir over tcp://", &mock);
    let tls_port = tcp_front(mock.port, true);
    args[1] = format!("tcps://127.0.0.1:{tls_port}");
    let ca = fixtures::openssl_dir()
        .join("../tls/ca.pem")
        .display()
        .to_string();
    let o = run(
        "ir",
        &args,
        &[
            "--newkey",
            &pki("new-key.pem"),
            "--subject",
            SUBJECT,
            "--tls-trusted",
            &ca,
        ],
    );
    ok(&o, "ir over tcps://", &mock);
    let o = run(
        "ir",
        &args,
        &["--newkey", &pki("new-key.pem"), "--subject", SUBJECT],
    );
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        format!(
            "cmp-agent: tcps://127.0.0.1:{tls_port} needs --tls-trusted (trust anchors for the server's TLS certificate) or --tls-system-roots\n"
        )
    );
}

#[test]
fn https_through_socat() {
    let mock = openssl_mock(MockProtection::Pbm, &[]);
    let tls = |f: &str| fixtures::tls(f).display().to_string();
    let front = cli::socat_tls_front(&mock);
    let mut args = pbm(&mock);
    args[1] = format!("https://127.0.0.1:{}/pkix/", front.port);
    let o = run(
        "ir",
        &args,
        &[
            "--newkey",
            &pki("new-key.pem"),
            "--subject",
            SUBJECT,
            "--tls-trusted",
            &tls("ca.pem"),
        ],
    );
    ok(&o, "https", &mock);
    let o = run(
        "ir",
        &args,
        &[
            "--newkey",
            &pki("new-key.pem"),
            "--subject",
            SUBJECT,
            "--tls-trusted",
            &tls("other-ca.pem"),
        ],
    );
    assert_eq!(o.status.code(), Some(3));
    let target = args[1]
        .trim_start_matches("https://")
        .split('/')
        .next()
        .expect("authority");
    assert_eq!(
        stderr(&o),
        format!(
            "cmp-agent: TLS with {target} failed: the server certificate is not trusted (unknown issuer; check the TLS trust anchors) (TLS options: --tls-trusted, --tls-system-roots, --tls-host)\n"
        )
    );
}

#[test]
fn first_contact_bootstraps_trust_from_the_ip_only_when_asked() {
    let mock = openssl_mock(
        MockProtection::Signature,
        &["-rsp_extracerts", &pki("ca-cert.pem")],
    );
    let dir = tools::temp_dir("agent-3gpp");
    let root = dir.join("operator-root.pem");
    let root_s = root.display().to_string();
    let base = [
        "ir",
        "--server",
        &url(&mock),
        "--cert",
        &pki("vendor-cert.pem"),
        "--key",
        &pki("vendor-key.pem"),
        "--newkey",
        &pki("new-key.pem"),
        "--subject",
        SUBJECT,
    ];
    // Without the option (and without --trusted) the signed ip cannot be trusted.
    let o = agent(&base);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        "cmp-agent: the response failed a check: the response is signed, but no trust anchors or server certificate are configured (give --trusted or --srvcert)\n"
    );
    let mut with = base.to_vec();
    with.extend(["--bootstrap-trust-from-ip", "--cacertsout", &root_s]);
    let o = agent(&with);
    ok(&o, "3GPP bootstrap", &mock);
    assert_eq!(
        std::fs::read_to_string(&root).expect("pinned root"),
        std::fs::read_to_string(pki("ca-cert.pem")).expect("ca")
    );
    assert!(
        String::from_utf8_lossy(&o.stdout)
            .contains("trust bootstrapped from the ip: root O=cmp-rs test PKI,CN=CMP Test CA")
    );
}

/// Serves an in-memory CA script over HTTP on its own runtime thread.
fn scripted_ca(scripts: Vec<cmp_tests::mock_ca::Script>) -> u16 {
    scripted_ca_with(scripts, false)
}

/// As [`scripted_ca`]; with `tls`, over HTTPS requiring a client certificate from the TLS
/// test CA.
fn scripted_ca_with(scripts: Vec<cmp_tests::mock_ca::Script>, tls: bool) -> u16 {
    use cmp_core::transport::{PeerInfo, Responder};
    use std::sync::Arc;
    #[derive(Debug)]
    struct Ca(cmp_tests::mock_ca::MockCa);
    #[async_trait::async_trait]
    impl Responder for Ca {
        async fn respond(&self, request: Vec<u8>, _peer: &PeerInfo) -> Vec<u8> {
            self.0.answer(&request)
        }
    }
    let ca = Arc::new(Ca(cmp_tests::mock_ca::MockCa::new(scripts)));
    if tls {
        return fronts::https(ca, true);
    }
    serve_in_background(move |listener| async move {
        let server = cmp_transport_http::HttpServer::builder()
            .build()
            .expect("server");
        let _ = server.serve(listener, ca, std::future::pending()).await;
    })
}

#[test]
fn a_certificate_whose_confirmation_fails_is_kept_unconfirmed() {
    use cmp_core::asn1::{
        CertOrEncCert, CertRepMessage, CertResponse, CertifiedKeyPair, ErrorMsgContent, FailureBit,
        PkiBody, PkiStatusInfo,
    };
    use cmp_tests::mock_ca::{Answer, new_cert};
    let ip = || {
        Answer::body(PkiBody::Ip(CertRepMessage {
            ca_pubs: None,
            response: vec![CertResponse {
                cert_req_id: rasn::types::Integer::from(0),
                status: PkiStatusInfo::accepted(),
                certified_key_pair: Some(CertifiedKeyPair {
                    cert_or_enc_cert: CertOrEncCert::Certificate(new_cert()),
                    private_key: None,
                    publication_info: None,
                }),
                rsp_info: None,
            }],
        }))
    };
    let port = scripted_ca(vec![
        Box::new(move |_| ip()),
        Box::new(|_| {
            Answer::body(PkiBody::Error(ErrorMsgContent {
                pki_status_info: PkiStatusInfo::rejection([FailureBit::SystemFailure], None),
                error_code: None,
                error_details: None,
            }))
        }),
    ]);
    let dir = tools::temp_dir("agent-unconfirmed");
    let out = dir.join("device.pem");
    let out_s = out.display().to_string();
    let o = agent(&[
        "ir",
        "--server",
        &format!("http://127.0.0.1:{port}/"),
        "--secret",
        "pass:cmp-test-secret-1234",
        "--ref",
        "client-ref-1234",
        "--newkey",
        &pki("new-key.pem"),
        "--subject",
        SUBJECT,
        "--certout",
        &out_s,
    ]);
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        format!(
            "cmp-agent: server rejected the request: rejection (systemFailure) (error message) (the issued certificate was kept, unconfirmed, in {out_s}.unconfirmed)\n"
        )
    );
    assert!(!out.exists(), "--certout only on success");
    assert!(dir.join("device.pem.unconfirmed").exists());
    assert!(!dir.join("device.pem.staged").exists());
}

#[test]
fn genm_contents_from_a_scripted_ca() {
    use cmp_core::asn1::{InfoTypeAndValue, InfoValue, PkiBody, RootCaKeyUpdateContent};
    use cmp_tests::mock_ca::{Answer, ca_cert, new_cert};
    let genp = |v: InfoValue| {
        let itav = InfoTypeAndValue::from_value(&v).expect("itav");
        move |_: &cmp_core::asn1::PkiMessage| Answer::body(PkiBody::Genp(vec![itav.clone()]))
    };
    let port = scripted_ca(vec![
        Box::new(genp(InfoValue::CaCerts(Some(vec![ca_cert(), new_cert()])))),
        Box::new(genp(InfoValue::RootCaKeyUpdate(Some(
            RootCaKeyUpdateContent {
                new_with_new: new_cert(),
                new_with_old: None,
                old_with_new: None,
            },
        )))),
        // caCerts whose value is an INTEGER, not a SEQUENCE OF certificates.
        Box::new(|_: &cmp_core::asn1::PkiMessage| {
            Answer::body(PkiBody::Genp(vec![InfoTypeAndValue {
                info_type: cmp_core::asn1::oid::IT_CA_CERTS.to_owned(),
                info_value: Some(rasn::types::Any::new(vec![0x02, 0x01, 0x05])),
            }]))
        }),
    ]);
    let dir = tools::temp_dir("agent-genm");
    let cacerts = dir.join("ca.pem");
    let base = [
        "genm",
        "--server",
        &format!("http://127.0.0.1:{port}/"),
        "--secret",
        "pass:cmp-test-secret-1234",
        "--ref",
        "client-ref-1234",
    ];
    let mut args = base.to_vec();
    let cacerts_s = cacerts.display().to_string();
    args.extend(["--infotype", "caCerts", "--cacertsout", &cacerts_s]);
    let o = agent(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(&cacerts)
            .expect("cacerts")
            .matches("BEGIN CERTIFICATE")
            .count(),
        2
    );
    let mut args = base.to_vec();
    let old = pki("ca-cert.pem");
    args.extend(["--infotype", "rootCaCert", "--oldwithold", &old]);
    let o = agent(&args);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        "cmp-agent: the response failed a check: rootCaKeyUpdate does not verify: newWithNew (O=cmp-rs test PKI,CN=CMP Test Device) is not self-signed\n"
    );
    // A value that does not decode is a failed check, not a line on stdout.
    let mut args = base.to_vec();
    args.extend(["--infotype", "caCerts"]);
    let o = agent(&args);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        "cmp-agent: the response failed a check: infoValue of caCerts: expected SEQUENCE, found INTEGER\n"
    );
}

#[test]
fn https_with_a_client_certificate_whose_key_is_encrypted() {
    use cmp_core::asn1::{InfoTypeAndValue, InfoValue, PkiBody};
    use cmp_tests::mock_ca::{Answer, ca_cert};
    let itav =
        InfoTypeAndValue::from_value(&InfoValue::CaCerts(Some(vec![ca_cert()]))).expect("itav");
    let port = scripted_ca_with(
        vec![Box::new(move |_| {
            Answer::body(PkiBody::Genp(vec![itav.clone()]))
        })],
        true,
    );
    let tls = |f: &str| fixtures::tls(f).display().to_string();
    let dir = tools::temp_dir("agent-tlskey");
    let enc = dir.join("client-enc.pem").display().to_string();
    let o = Command::new("openssl")
        .args([
            "pkcs8",
            "-topk8",
            "-in",
            &tls("client-key.pem"),
            "-passout",
            "pass:s3cret",
            "-out",
            &enc,
        ])
        .output()
        .expect("openssl");
    assert!(o.status.success());
    let url = format!("https://127.0.0.1:{port}/");
    let base = [
        "genm",
        "--server",
        &url,
        "--secret",
        "pass:cmp-test-secret-1234",
        "--ref",
        "client-ref-1234",
        "--tls-trusted",
        &tls("ca.pem"),
        "--tls-host",
        "localhost",
        "--tls-cert",
        &tls("client.pem"),
        "--tls-key",
        &enc,
    ];
    let mut args = base.to_vec();
    args.extend(["--tls-keypass", "pass:s3cret"]);
    let o = agent(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("caCerts: 1 certificate(s)"));
    // Without the password the key cannot be read.
    let o = agent(&base);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o)
            .contains("the key is encrypted (ENCRYPTED PRIVATE KEY) and no password was given"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn keys_in_a_pkcs11_token() {
    // A fresh SoftHSM2 token (SOFTHSM2_CONF is passed to the child processes only), with the
    // test keys imported: the agent signs the POP and the protection inside the token.
    let module = tools::softhsm_module();
    let module = module.display();
    let dir = tools::temp_dir("agent-pkcs11");
    let (conf, pin) = cmp_tests::tools::softhsm_config(&dir);
    let hsm = |args: &[&str]| {
        let o = Command::new("softhsm2-util")
            .args(args)
            .env("SOFTHSM2_CONF", &conf)
            .output()
            .expect("softhsm2-util");
        assert!(
            o.status.success(),
            "softhsm2-util {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    hsm(&[
        "--init-token",
        "--free",
        "--label",
        "agent",
        "--so-pin",
        "0000",
        "--pin",
        "1234",
    ]);
    hsm(&[
        "--import",
        &pki("new-key.pem"),
        "--token",
        "agent",
        "--label",
        "device",
        "--id",
        "01",
        "--pin",
        "1234",
    ]);
    hsm(&[
        "--import",
        &pki("vendor-key.pem"),
        "--token",
        "agent",
        "--label",
        "vendor",
        "--id",
        "02",
        "--pin",
        "1234",
    ]);
    let uri = |object: &str| {
        format!(
            "pkcs11:token=agent;object={object}?module-path={module}&pin-source=file:{}",
            pin.display()
        )
    };

    let mock = openssl_mock(MockProtection::Signature, &[]);
    let out = dir.join("cert.pem").display().to_string();
    let o = cmp_tests::process::without_proxies(&mut Command::new(env!("CARGO_BIN_EXE_cmp-agent")))
        .args([
            "ir",
            "--server",
            &url(&mock),
            "--cert",
            &pki("vendor-cert.pem"),
            "--key",
            &uri("vendor"),
            "--trusted",
            &pki("ca-cert.pem"),
            "--newkey",
            &uri("device"),
            "--subject",
            SUBJECT,
            "--certout",
            &out,
        ])
        .env("SOFTHSM2_CONF", &conf)
        .output()
        .expect("agent");
    ok(&o, "ir with token keys", &mock);
    assert_eq!(
        std::fs::read_to_string(&out).expect("cert"),
        std::fs::read_to_string(pki("new-cert.pem")).expect("pem")
    );
    // gen:ALG with a pkcs11: --newkeyout generates the key inside the token, under the
    // URI's label, before the request leaves. The mock's fixed certificate is not for it, so
    // the agent refuses it; the key stays in the token and is found again by its label.
    let agent_with = |newkey: &str, newkeyout: Option<&str>| {
        let mut args = vec![
            "ir",
            "--server",
            &url(&mock),
            "--cert",
            &pki("vendor-cert.pem"),
            "--trusted",
            &pki("ca-cert.pem"),
            "--subject",
            SUBJECT,
        ]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
        args.extend([
            "--key".into(),
            uri("vendor"),
            "--newkey".into(),
            newkey.into(),
        ]);
        if let Some(out) = newkeyout {
            args.extend(["--newkeyout".into(), out.into()]);
        }
        cmp_tests::process::without_proxies(&mut Command::new(env!("CARGO_BIN_EXE_cmp-agent")))
            .args(&args)
            .env("SOFTHSM2_CONF", &conf)
            .output()
            .expect("agent")
    };
    let refused = "cmp-agent: the issued certificate was refused (its public key is not ours); certConf reported incorrectData to the server\n";
    let o = agent_with("gen:ec:P-256", Some(&uri("fresh")));
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert_eq!(stderr(&o), refused);
    let o = agent_with(&uri("fresh"), None);
    assert_eq!(
        o.status.code(),
        Some(4),
        "the key is in the token: {}",
        stderr(&o)
    );
    assert_eq!(stderr(&o), refused);
    // A label is never taken twice, and the URI must name one.
    let o = agent_with("gen:ec:P-256", Some(&uri("fresh")));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        "cmp-agent: --newkeyout: pkcs11 backend: token \"agent\" already holds a key labelled \"fresh\"; choose another label or remove that key first\n"
    );
    let o = agent_with(
        "gen:ec:P-256",
        Some(&uri("x").replace("object=x", "id=%07")),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        "cmp-agent: --newkeyout pkcs11:URI needs object=LABEL to name the new key\n"
    );

    // A wrong PIN is a local failure (exit 1) that says so.
    std::fs::write(&pin, "9999\n").expect("pin");
    let o = agent_with(&uri("device"), None);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        "cmp-agent: --key: pkcs11 backend: login to token \"agent\": the PIN is incorrect (CKR_PIN_INCORRECT)\n"
    );
}

#[test]
fn genm_crl_status_list_and_verbose_output() {
    use cmp_core::asn1::{InfoTypeAndValue, InfoValue, PkiBody};
    use cmp_tests::mock_ca::Answer;
    use std::sync::{Arc, Mutex};
    let seen: Arc<Mutex<Vec<InfoValue>>> = Arc::default();
    let seen2 = Arc::clone(&seen);
    let crls =
        InfoTypeAndValue::from_value(&InfoValue::Crls(Some(vec![cmp_tests::samples::crl()])))
            .expect("itav");
    let port = scripted_ca(vec![Box::new(move |req: &cmp_core::asn1::PkiMessage| {
        if let PkiBody::Genm(itavs) = &req.body {
            seen2
                .lock()
                .expect("lock")
                .extend(itavs.iter().map(|i| i.value().expect("typed")));
        }
        Answer::body(PkiBody::Genp(vec![crls.clone()]))
    })]);
    let dir = tools::temp_dir("agent-crl");
    let crlout = dir.join("crl.pem").display().to_string();
    let o = agent(&[
        "genm",
        "--server",
        &format!("http://127.0.0.1:{port}/"),
        "--secret",
        "pass:cmp-test-secret-1234",
        "--ref",
        "client-ref-1234",
        "--infotype",
        "crlStatusList",
        "--crlcert",
        &pki("new-cert.pem"),
        "--crlout",
        &crlout,
        "-v",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.starts_with("cmp-agent: sent genm ("), "{e}");
    assert!(e.contains("cmp-agent: received genp ("), "{e}");
    let asked = seen.lock().expect("lock").clone();
    let [InfoValue::CrlStatusList(list)] = asked.as_slice() else {
        panic!("{asked:?}")
    };
    let cmp_core::asn1::CrlSource::Issuer(names) = &list[0].source else {
        panic!("issuer source")
    };
    assert_eq!(
        names[0],
        rasn_pkix::GeneralName::DirectoryName(cmp_tests::mock_ca::ca_cert().subject().clone())
    );
    let written = std::fs::read_to_string(&crlout).expect("crl written");
    assert!(written.starts_with("-----BEGIN X509 CRL-----"));
    let o = agent(&[
        "genm",
        "--server",
        &format!("http://127.0.0.1:{port}/"),
        "--secret",
        "pass:x",
        "--ref",
        "r",
        "--infotype",
        "crlStatusList",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "cmp-agent: --infotype crlStatusList needs --crlcert FILE (whose issuer's CRL is wanted)\n"
    );
}

#[test]
fn genm_cert_req_template() {
    use cmp_core::asn1::{
        AttributeTypeAndValue, CertReqTemplateContent, CertTemplate, ControlValue,
        InfoTypeAndValue, InfoValue, PkiBody,
    };
    use cmp_tests::mock_ca::Answer;
    let template = CertReqTemplateContent {
        cert_template: CertTemplate {
            subject: Some(cmp_core::names::parse_name("O=Example").expect("dn")),
            ..CertTemplate::default()
        },
        key_spec: Some(vec![
            AttributeTypeAndValue::from_control(&ControlValue::RsaKeyLen(
                rasn::types::Integer::from(3072),
            ))
            .expect("control"),
        ]),
    };
    let itav =
        InfoTypeAndValue::from_value(&InfoValue::CertReqTemplate(Some(template))).expect("itav");
    let port = scripted_ca(vec![Box::new(move |_| {
        Answer::body(PkiBody::Genp(vec![itav.clone()]))
    })]);
    let o = agent(&[
        "genm",
        "--server",
        &format!("http://127.0.0.1:{port}/"),
        "--secret",
        "pass:cmp-test-secret-1234",
        "--ref",
        "client-ref-1234",
        "--infotype",
        "certReqTemplate",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "certReqTemplate: subject O=Example, RSA key of 3072 bits\n"
    );
}
