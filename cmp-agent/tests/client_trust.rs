//! `cmp-agent` against the OpenSSL mock where it used to fail or was looser than `openssl cmp`:
//! the subject of a request without `--subject`, `--unprotected-errors` with a rejection,
//! revocation checking with `--crls`, and the mode of saved messages.

mod cli;

use std::path::{Path, PathBuf};

use cli::{SUBJECT, agent, certout, ok, pbm, run, stderr, url};
use cmp_core::asn1::{CertTemplate, ReceivedMessage, oid};
use cmp_core::names::format_name;
use cmp_tests::openssl_ca::OpensslCa;
use cmp_tests::openssl_mock::{MockProtection, Server, openssl_mock};
use cmp_tests::{fixtures, tools};

use fixtures::pki;

/// The options for a request signed with the vendor certificate, trusting the test CA.
fn signed(mock: &Server) -> Vec<String> {
    [
        "--server",
        &url(mock),
        "--cert",
        &pki("vendor-cert.pem"),
        "--key",
        &pki("vendor-key.pem"),
        "--trusted",
        &pki("ca-cert.pem"),
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

/// The certificate template of the first request saved in `dir` (`--reqout`).
fn sent_template(dir: &Path, file: &str) -> CertTemplate {
    let der = std::fs::read(dir.join(file)).expect("saved request");
    let msg = ReceivedMessage::decode(&der)
        .expect("decodes")
        .into_message();
    msg.body.cert_req().expect("a CertReqMessages body")[0]
        .cert_req
        .cert_template
        .clone()
}

fn subject_of(t: &CertTemplate) -> String {
    format_name(t.subject.as_ref().expect("a subject in the template"))
}

#[test]
fn without_subject_the_reference_certificates_is_taken() {
    let mock = openssl_mock(MockProtection::Signature, &[]);
    let dir = tools::temp_dir("agent-cr-subject");
    let req = dir.join("req");
    let (out, out_s) = certout(&dir, "cert.pem");
    // cr signed with --cert: its subject (the mock refused a template without one: badPOP
    // "popo missing subject").
    let o = run(
        "cr",
        &signed(&mock),
        &[
            "--newkey",
            &pki("new-key.pem"),
            "--certout",
            &out_s,
            "--reqout",
            req.to_str().expect("utf8"),
        ],
    );
    ok(&o, "cr without --subject", &mock);
    assert!(out.exists());
    assert_eq!(
        subject_of(&sent_template(&req, "01-cr.der")),
        "O=cmp-rs test PKI,CN=CMP Test Vendor Device"
    );
    // --oldcert comes before --cert.
    let req2 = dir.join("req2");
    let o = run(
        "ir",
        &signed(&mock),
        &[
            "--newkey",
            &pki("new-key.pem"),
            "--oldcert",
            &pki("new-cert.pem"),
            "--reqout",
            req2.to_str().expect("utf8"),
        ],
    );
    ok(&o, "ir with --oldcert", &mock);
    assert_eq!(
        subject_of(&sent_template(&req2, "01-ir.der")),
        "O=cmp-rs test PKI,CN=CMP Test Device"
    );
}

#[test]
fn a_request_with_no_subject_source_is_a_usage_error_before_anything_happens() {
    let mock = openssl_mock(MockProtection::Pbm, &[]);
    let dir = tools::temp_dir("agent-no-subject");
    let key = dir.join("new.key");
    let o = run(
        "ir",
        &pbm(&mock),
        &[
            "--newkey",
            "gen:ec:P-256",
            "--newkeyout",
            key.to_str().expect("utf8"),
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        "cmp-agent: ir needs a subject: give --subject, --sans, or a reference certificate (--oldcert or --cert) whose subject is taken\n"
    );
    assert!(!key.exists(), "no key was generated");
    assert!(
        !mock.log().contains("received"),
        "no request reached the mock: {}",
        mock.log()
    );
}

#[test]
fn sans_alone_ask_for_the_null_dn_with_a_critical_san() {
    let mock = openssl_mock(MockProtection::Signature, &[]);
    let dir = tools::temp_dir("agent-sans-only");
    let req = dir.join("req");
    let o = run(
        "ir",
        &signed(&mock),
        &[
            "--newkey",
            &pki("new-key.pem"),
            "--sans",
            "device.example,192.0.2.7",
            "--reqout",
            req.to_str().expect("utf8"),
        ],
    );
    ok(&o, "ir with --sans only", &mock);
    let t = sent_template(&req, "01-ir.der");
    assert_eq!(subject_of(&t), "", "the NULL-DN");
    let san = t
        .extensions
        .as_ref()
        .and_then(|e| e.iter().find(|x| x.extn_id == *oid::CE_SUBJECT_ALT_NAME))
        .expect("subjectAltName");
    assert!(san.critical, "critical with an empty subject");
    // With a subject it stays non-critical.
    let req2 = dir.join("req2");
    let o = run(
        "ir",
        &signed(&mock),
        &[
            "--newkey",
            &pki("new-key.pem"),
            "--subject",
            SUBJECT,
            "--sans",
            "device.example",
            "--reqout",
            req2.to_str().expect("utf8"),
        ],
    );
    ok(&o, "ir with subject and sans", &mock);
    let t = sent_template(&req2, "01-ir.der");
    let san = t
        .extensions
        .as_ref()
        .and_then(|e| e.iter().find(|x| x.extn_id == *oid::CE_SUBJECT_ALT_NAME))
        .expect("subjectAltName");
    assert!(!san.critical);
}

const REQUEST: [&str; 4] = ["--newkey", "", "--subject", SUBJECT];

fn request_args() -> Vec<String> {
    let key = pki("new-key.pem");
    REQUEST
        .iter()
        .map(|a| {
            if a.is_empty() {
                key.clone()
            } else {
                (*a).to_owned()
            }
        })
        .collect()
}

fn ir(mock: &Server, extra: &[&str]) -> std::process::Output {
    let mut args = pbm(mock);
    args.extend(request_args());
    let mut all: Vec<&str> = vec!["ir"];
    all.extend(args.iter().map(String::as_str));
    all.extend_from_slice(extra);
    agent(&all)
}

#[test]
fn unprotected_errors_accepts_an_unprotected_rejection_as_openssl_does() {
    // The mock answers an unprotected ip with status rejection (badPOP).
    let mock = openssl_mock(
        MockProtection::Pbm,
        &["-send_unprot_err", "-pkistatus", "2", "-failure", "9"],
    );
    let o = ir(&mock, &[]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        "cmp-agent: the response failed a check: the response is not protected\n"
    );
    let o = ir(&mock, &["--unprotected-errors"]);
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        "cmp-agent: warning: accepting a certificate response with status rejection although its protection failed (it is not protected), as --unprotected-errors allows\n\
         cmp-agent: server rejected the request: rejection (badPOP)\n"
    );
}

#[test]
fn a_positive_unprotected_answer_is_refused_even_with_the_option() {
    let mock = openssl_mock(MockProtection::Pbm, &["-send_unprotected"]);
    let o = ir(&mock, &["--unprotected-errors"]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        "cmp-agent: the response failed a check: the response is not protected\n"
    );
}

#[test]
fn an_error_under_another_secret_is_reported_with_the_option() {
    // The mock knows another secret: it refuses our request with an error message MACed with
    // its secret, which we cannot verify.
    let mock = cmp_tests::openssl_mock::start(
        "openssl",
        &[
            "cmp",
            "-config",
            "",
            "-port",
            "{port}",
            "-rsp_cert",
            &pki("new-cert.pem"),
            "-srv_ref",
            "server-ref-5678",
            "-srv_secret",
            "pass:another-secret-5678",
        ]
        .map(str::to_owned),
        Some("ACCEPT"),
    );
    let o = ir(&mock, &[]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        "cmp-agent: the response failed a check: invalid protection: the MAC does not verify (wrong shared secret, or the message was altered)\n"
    );
    let o = ir(&mock, &["--unprotected-errors"]);
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    let err = stderr(&o);
    let (warning, refusal) = err.split_once('\n').expect("two lines");
    assert_eq!(
        warning,
        "cmp-agent: warning: accepting an error message although its protection failed (invalid protection: the MAC does not verify (wrong shared secret, or the message was altered)), as --unprotected-errors allows"
    );
    assert_eq!(
        refusal,
        "cmp-agent: server rejected the request: rejection (badRequest) \"wrong pbm value\", error code 486539419, details \"CMP routines; wrong pbm value\" (error message)\n"
    );
}

#[test]
fn crl_checking_of_the_cmp_signer() {
    let mock = openssl_mock(MockProtection::Signature, &[]);
    let ca = OpensslCa::test_ca("agent-crl-signer");
    let clean = ca.crl("clean", None);
    ca.revoke(&PathBuf::from(pki("server-cert.pem")), "keyCompromise");
    let revoked = ca.crl("revoked", None);
    let run_with = |extra: &[&str]| {
        let mut args = signed(&mock);
        args.extend(request_args());
        let mut all: Vec<&str> = vec!["ir"];
        all.extend(args.iter().map(String::as_str));
        all.extend_from_slice(extra);
        agent(&all)
    };
    let o = run_with(&["--crls", clean.to_str().expect("utf8"), "--crl-check"]);
    ok(&o, "a current CRL that does not list the signer", &mock);
    let o = run_with(&["--crls", revoked.to_str().expect("utf8"), "--crl-check"]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        "cmp-agent: the response failed a check: the signer certificate O=cmp-rs test PKI,CN=CMP Test Server is not trusted: certificate path does not validate: the certificate O=cmp-rs test PKI,CN=CMP Test Server (serial 4097) is revoked (listed in the CRL of O=cmp-rs test PKI,CN=CMP Test CA)\n"
    );
    // The options go together.
    let o = run_with(&["--crl-check"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "cmp-agent: --crl-check and --crl-check-all need --crls FILE (the CRLs to check against)\n"
    );
    let o = run_with(&["--crls", clean.to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "cmp-agent: --crls is used only with --crl-check or --crl-check-all\n"
    );
    let not_a_crl = pki("ca-cert.pem");
    let o = run_with(&["--crls", &not_a_crl, "--crl-check-all"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        format!("cmp-agent: --crls {not_a_crl}: no CRL in the file\n")
    );
}

#[test]
fn crl_checking_of_the_tls_server() {
    let mock = openssl_mock(MockProtection::Pbm, &[]);
    let tls = |f: &str| fixtures::tls(f).display().to_string();
    let front = cli::socat_tls_front(&mock);
    let ca = OpensslCa::from_files(
        "agent-crl-tls",
        &fixtures::tls("ca.pem"),
        &fixtures::tls("ca-key.pem"),
    );
    let clean = ca.crl("clean", None);
    ca.revoke(&fixtures::tls("server.pem"), "keyCompromise");
    let revoked = ca.crl("revoked", None);
    let mut args = pbm(&mock);
    args[1] = format!("https://127.0.0.1:{}/pkix/", front.port);
    args.extend(request_args());
    args.extend(["--tls-trusted".to_owned(), tls("ca.pem")]);
    let with = |crl: &Path| {
        let mut all: Vec<&str> = vec!["ir"];
        all.extend(args.iter().map(String::as_str));
        all.extend(["--crls", crl.to_str().expect("utf8"), "--crl-check"]);
        agent(&all)
    };
    ok(&with(&clean), "https with a clean CRL", &mock);
    let o = with(&revoked);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        format!(
            "cmp-agent: TLS with 127.0.0.1:{} failed: the server certificate is revoked (listed in a CRL given) (TLS options: --tls-trusted, --tls-system-roots, --tls-host)\n",
            front.port
        )
    );
}

#[cfg(unix)]
#[test]
fn saved_messages_are_readable_by_the_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let mock = openssl_mock(MockProtection::Pbm, &[]);
    let dir = tools::temp_dir("agent-msg-mode");
    let (req, rsp) = (dir.join("req"), dir.join("rsp"));
    let o = ir(
        &mock,
        &[
            "--reqout",
            req.to_str().expect("utf8"),
            "--rspout",
            rsp.to_str().expect("utf8"),
        ],
    );
    ok(&o, "ir", &mock);
    for (d, names) in [
        (&req, ["01-ir.der", "02-certConf.der"]),
        (&rsp, ["01-ip.der", "02-pkiconf.der"]),
    ] {
        for n in names {
            let mode = std::fs::metadata(d.join(n)).expect(n).permissions().mode();
            assert_eq!(
                mode & 0o777,
                0o600,
                "{n}: PBM MACs allow guessing the secret"
            );
        }
    }
}
