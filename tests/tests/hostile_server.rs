//! The `cmp-agent` binary against a scripted malicious server on 127.0.0.1 (HTTP and TCP).
//! Each case asserts the exact error, that the agent ended within 10 s with a peak RSS under
//! 64 MiB (measured from outside by GNU time), and that nothing was written: no certificate,
//! chain or caPubs file — the agent runs in an empty directory that must stay empty.
//!
//! The checks themselves are unit-tested against the in-memory mock in `response_checks.rs`;
//! this suite proves the whole binary holds — bounded in time and memory — when the network
//! sends them, and covers what only a socket can send (stalls, lying lengths).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use cmp_core::asn1::{
    CmpCertificate, PkiBody, PkiMessage, PkiStatus, PkiStatusInfo, PollRep, ReceivedMessage,
};
use cmp_core::protection::MacSettings;
use cmp_tests::enroll_rig::{ip_granted, pki_cert, pki_key, pkiconf, rep, script};
use cmp_tests::fixtures::pki;
use cmp_tests::hostile_server::{HostileServer, Protocol, Wire, http_response, tcp_frame};
use cmp_tests::mock_ca::{Answer, MockCa, ca_cert, new_cert};
use cmp_tests::openssl_ca::{OpensslCa, read_pem_cert};
use cmp_tests::process::{Measured, measured, workspace_binary};
use rasn::types::Integer;

const SUBJECT: &str = "/CN=CMP Test Device/O=cmp-rs test PKI";
const RECIPIENT: &str = "/CN=CMP Test CA/O=cmp-rs test PKI";
const CHECK: &str = "cmp-agent: the response failed a check: ";
const BAD_MAC: &str =
    "invalid protection: the MAC does not verify (wrong shared secret, or the message was altered)";
/// The bound of every case.
const MAX_SECS: u64 = 10;
/// 64 MiB, in KiB.
const MAX_RSS_KIB: u64 = 64 * 1024;
/// The outputs the agent is asked to write; none may appear on failure.
const OUTPUTS: [(&str, &str); 4] = [
    ("--certout", "cert.pem"),
    ("--chainout", "chain.pem"),
    ("--cacertsout", "cacerts.pem"),
    ("--extracertsout", "extracerts.pem"),
];
/// Long enough for any stall to outlast the agent's --msg-timeout.
const STALL: Duration = Duration::from_secs(20);

fn agent() -> &'static Path {
    static AGENT: OnceLock<PathBuf> = OnceLock::new();
    AGENT.get_or_init(|| workspace_binary("cmp-agent", "cmp-agent"))
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| (*x).to_owned()).collect()
}

/// One `cmp-agent ir` (PBM, the fixture key) against `server` in a fresh empty directory,
/// with `extra` options; asserts the bounds and returns the run and its directory.
fn ir(label: &str, server: &HostileServer, extra: &[String]) -> (Measured, PathBuf) {
    let dir = cmp_tests::tools::temp_dir(&format!("hostile-{label}"));
    let mut args = s(&[
        "ir",
        "--server",
        &server.url(),
        "--secret",
        "pass:cmp-test-secret-1234",
        "--ref",
        "client-ref-1234",
        "--recipient",
        RECIPIENT,
        "--newkey",
        &pki("new-key.pem"),
        "--subject",
        SUBJECT,
        "--msg-timeout",
        "5",
    ]);
    for (option, file) in OUTPUTS {
        args.extend(s(&[option, file]));
    }
    args.extend_from_slice(extra);
    let run = measured(agent(), &args, &dir);
    assert!(
        run.elapsed < Duration::from_secs(MAX_SECS),
        "{label}: took {:?}: {}",
        run.elapsed,
        run.stderr
    );
    assert!(
        run.peak_rss_kib < MAX_RSS_KIB,
        "{label}: peak RSS {} KiB",
        run.peak_rss_kib
    );
    (run, dir)
}

/// Runs a case that must fail: exit `code`, standard error `expected` (or, for `Prefix`, a
/// line starting so), and an empty directory.
fn refused(label: &str, server: &HostileServer, extra: &[String], code: i32, expected: Expect) {
    refused_leaving(label, server, extra, code, expected, &[]);
}

/// The files the agent keeps when the transaction fails after it accepted the certificate
/// and sent certConf: the certificate, marked unconfirmed (the CA may count it as issued),
/// and why — never `--certout` itself.
const UNCONFIRMED: [&str; 2] = ["cert.pem.unconfirmed", "cert.pem.unconfirmed.why"];

/// Like [`refused`], the directory then holding exactly `left`.
fn refused_leaving(
    label: &str,
    server: &HostileServer,
    extra: &[String],
    code: i32,
    expected: Expect,
    left: &[&str],
) {
    let (run, dir) = ir(label, server, extra);
    assert_eq!(run.code, Some(code), "{label}: {}", run.stderr);
    match expected {
        Expect::Exact(e) => assert_eq!(run.stderr, format!("{e}\n"), "{label}"),
        Expect::Prefix(p) => assert!(
            run.stderr.starts_with(&p) && run.stderr.lines().count() == 1,
            "{label}: expected {p:?}…, got {:?}",
            run.stderr
        ),
    }
    let mut wrote: Vec<String> = std::fs::read_dir(&dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    wrote.sort();
    assert_eq!(wrote, left, "{label}: the files the agent wrote");
    if left.contains(&UNCONFIRMED[0]) {
        assert_eq!(
            std::fs::read(dir.join(UNCONFIRMED[0])).expect("unconfirmed"),
            std::fs::read(pki("new-cert.pem")).expect("pem"),
            "{label}"
        );
    }
    eprintln!(
        "{label}: {:?}, peak RSS {} KiB: {}",
        run.elapsed,
        run.peak_rss_kib,
        run.stderr.trim_end()
    );
}

enum Expect {
    Exact(String),
    Prefix(String),
}

const BOTH: [Protocol; 2] = [Protocol::Http, Protocol::Tcp];

fn tls_free(p: Protocol) -> &'static str {
    match p {
        Protocol::Http => "http",
        Protocol::Tcp => "tcp",
    }
}

#[test]
fn an_honest_exchange_through_the_rig_enrolls_within_the_bounds() {
    for p in BOTH {
        let server = HostileServer::mock(p, vec![script(|_| ip_granted()), script(|_| pkiconf())]);
        let (run, dir) = ir(&format!("honest-{}", tls_free(p)), &server, &[]);
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        assert_eq!(
            std::fs::read(dir.join("cert.pem")).expect("certout"),
            std::fs::read(pki("new-cert.pem")).expect("pem")
        );
        assert_eq!(server.requests(), 2, "ir, certConf");
        eprintln!("honest {p:?}: {:?}, {} KiB", run.elapsed, run.peak_rss_kib);
    }
}

#[test]
fn a_valid_mac_does_not_excuse_a_wrong_transaction_id_nonce_body_type_or_pvno() {
    for p in BOTH {
        let t = tls_free(p);
        let server = HostileServer::mock(
            p,
            vec![script(|_| {
                ip_granted().tweak(|m| m.header.transaction_id = Some(vec![7; 16].into()))
            })],
        );
        refused(
            &format!("tid-{t}"),
            &server,
            &[],
            4,
            Expect::Prefix(format!(
                "{CHECK}transactionID 07070707070707070707070707070707 does not match ours ("
            )),
        );
        let server = HostileServer::mock(
            p,
            vec![script(|_| {
                ip_granted().tweak(|m| m.header.recip_nonce = Some(vec![8; 16].into()))
            })],
        );
        refused(
            &format!("nonce-{t}"),
            &server,
            &[],
            4,
            Expect::Prefix(format!(
                "{CHECK}recipNonce 08080808080808080808080808080808 does not match our senderNonce ("
            )),
        );
        let server = HostileServer::mock(
            p,
            vec![script(|_| {
                Answer::body(PkiBody::Cp(rep(
                    0,
                    PkiStatusInfo::accepted(),
                    Some(new_cert()),
                )))
            })],
        );
        refused(
            &format!("body-{t}"),
            &server,
            &[],
            4,
            Expect::Exact(format!("{CHECK}unexpected cp response, expected ip")),
        );
        let server = HostileServer::mock(
            p,
            vec![script(|_| ip_granted().tweak(|m| m.header.pvno = 5))],
        );
        refused(
            &format!("pvno-{t}"),
            &server,
            &[],
            4,
            Expect::Exact(format!("{CHECK}unsupported pvno 5 (2 or 3 expected)")),
        );
    }
}

/// A handler answering with a [`MockCa`] and keeping every response it sent.
fn recording(
    scripts: Vec<cmp_tests::mock_ca::Script>,
) -> (HostileServer, Arc<Mutex<Vec<Vec<u8>>>>) {
    let ca = MockCa::new(scripts);
    let sent = Arc::new(Mutex::new(Vec::new()));
    let keep = Arc::clone(&sent);
    let server = HostileServer::start(
        Protocol::Http,
        Box::new(move |req| {
            let der = ca.answer(req);
            keep.lock().expect("lock").push(der.clone());
            Wire::Message(der)
        }),
    );
    (server, sent)
}

#[test]
fn a_replayed_response_is_refused_within_and_across_transactions() {
    // Within: the certConf is answered with the ip again.
    let (first, sent) = recording(vec![script(|_| ip_granted())]);
    let replayed = Arc::clone(&sent);
    let mut n = 0;
    let ca = MockCa::new(vec![script(|_| ip_granted())]);
    let server = HostileServer::start(
        Protocol::Http,
        Box::new(move |req| {
            n += 1;
            if n == 1 {
                let der = ca.answer(req);
                replayed.lock().expect("lock").push(der.clone());
                Wire::Message(der)
            } else {
                Wire::Message(replayed.lock().expect("lock")[0].clone())
            }
        }),
    );
    refused_leaving(
        "replay-within",
        &server,
        &[],
        4,
        Expect::Prefix(format!("{CHECK}recipNonce ")),
        &UNCONFIRMED,
    );
    assert_eq!(server.requests(), 2);
    drop(first);

    // Across: an honest transaction's ip, replayed to the next one.
    let (honest, sent2) = recording(vec![script(|_| ip_granted()), script(|_| pkiconf())]);
    let (run, _) = ir("replay-source", &honest, &[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let old_ip = sent2.lock().expect("lock")[0].clone();
    let server = HostileServer::start(
        Protocol::Http,
        Box::new(move |_| Wire::Message(old_ip.clone())),
    );
    refused(
        "replay-across",
        &server,
        &[],
        4,
        Expect::Prefix(format!("{CHECK}transactionID ")),
    );
    drop(sent);
}

/// Decodes a response, changes it, and encodes it again without touching its protection.
fn altered(der: &[u8], f: impl FnOnce(&mut PkiMessage)) -> Vec<u8> {
    let mut m = ReceivedMessage::decode(der)
        .expect("the mock's DER")
        .into_message();
    f(&mut m);
    m.to_der().expect("encode")
}

#[test]
fn a_pbm_iteration_count_of_2_pow_31_is_refused_before_any_work() {
    for p in BOTH {
        let ca = MockCa::new(vec![script(|_| ip_granted())]);
        let server = HostileServer::start(
            p,
            Box::new(move |req| {
                let der = ca.answer(req);
                Wire::Message(altered(&der, |m| {
                    let settings = MacSettings::PasswordBasedMac {
                        owf: cmp_core::crypto::DigestAlgorithm::Sha256,
                        mac: cmp_core::crypto::DigestAlgorithm::Sha1,
                        iterations: 1 << 31,
                        salt_len: 16,
                    };
                    m.header.protection_alg =
                        Some(settings.algorithm_identifier(&[1; 16]).expect("alg id"));
                }))
            }),
        );
        refused(
            &format!("pbm-2-31-{}", tls_free(p)),
            &server,
            &[],
            4,
            Expect::Exact(format!(
                "{CHECK}invalid protection: PasswordBasedMac iteration count 2147483648 is outside the accepted range 100..=100000"
            )),
        );
    }
}

/// The offset of the `[1]` caPubs tag of an ip whose caPubs hold `cert` alone.
fn ca_pubs_tag(der: &[u8], cert: &[u8]) -> usize {
    let at = der
        .windows(cert.len())
        .position(|w| w == cert)
        .expect("the certificate in caPubs");
    // [1] 82 LL LL, SEQUENCE 82 LL LL, then the certificate.
    let tag = at - 8;
    assert_eq!(
        (der[tag], der[tag + 4]),
        (0xA1, 0x30),
        "caPubs [1] SEQUENCE"
    );
    tag
}

#[test]
fn a_mac_over_a_re_encoding_instead_of_the_sent_bytes_does_not_verify() {
    // caPubs written primitive (0x81): the decoder accepts it (its DER re-encoding decodes to
    // the same message), and the MAC was computed over that DER re-encoding, not over what was
    // sent.
    for p in BOTH {
        let ca = MockCa::new(vec![script(|_| {
            let mut rep = rep(0, PkiStatusInfo::accepted(), Some(new_cert()));
            rep.ca_pubs = Some(vec![ca_cert()]);
            Answer::body(PkiBody::Ip(rep))
        })]);
        let server = HostileServer::start(
            p,
            Box::new(move |req| {
                let mut der = ca.answer(req);
                let tag = ca_pubs_tag(&der, ca_cert().der());
                der[tag] = 0x81;
                let received = ReceivedMessage::decode(&der).expect("accepted, not DER");
                assert!(!received.roundtrips());
                Wire::Message(der)
            }),
        );
        refused(
            &format!("mac-reencoding-{}", tls_free(p)),
            &server,
            &[],
            4,
            Expect::Exact(format!("{CHECK}{BAD_MAC}")),
        );
    }
}

fn trusted_ca() -> Vec<String> {
    s(&["--trusted", &pki("ca-cert.pem")])
}

#[test]
fn a_signer_that_chains_to_the_anchors_but_is_not_the_named_sender_is_refused() {
    // Signed by the vendor certificate (issued by the trusted CA), the header naming the
    // server.
    let server = HostileServer::mock(
        Protocol::Http,
        vec![script(|_| {
            ip_granted()
                .signed_by(pki_key("vendor"), pki_cert("vendor"))
                .tweak(|m| {
                    m.header.sender =
                        rasn_pkix::GeneralName::DirectoryName(pki_cert("server").subject().clone())
                })
        })],
    );
    let vendor_kid = hex::encode(pki_cert("vendor").subject_key_identifier().expect("ski"));
    refused(
        "other-sender",
        &server,
        &trusted_ca(),
        4,
        Expect::Exact(format!(
            "{CHECK}no certificate in extraCerts, untrusted or trusted matches the sender \"O=cmp-rs test PKI,CN=CMP Test Server\" and senderKID {vendor_kid}"
        )),
    );
}

#[test]
fn a_certificate_for_another_key_is_refused_with_certconf() {
    for p in BOTH {
        let server = HostileServer::mock(
            p,
            vec![
                script(|_| {
                    Answer::body(PkiBody::Ip(rep(
                        0,
                        PkiStatusInfo::accepted(),
                        Some(pki_cert("server")),
                    )))
                }),
                script(|m| {
                    let PkiBody::CertConf(c) = &m.body else {
                        panic!("a certConf")
                    };
                    assert_eq!(c.len(), 1);
                    pkiconf()
                }),
            ],
        );
        refused(
            &format!("other-key-{}", tls_free(p)),
            &server,
            &[],
            4,
            Expect::Exact(
                "cmp-agent: the issued certificate was refused (its public key is not ours); certConf reported incorrectData to the server".into(),
            ),
        );
        assert_eq!(server.requests(), 2, "ir, certConf");
    }
}

/// A root of its own ("impostor": the test CA's name, another key) and a server certificate
/// under it.
struct Impostor {
    root: CmpCertificate,
    server: CmpCertificate,
    server_key: Arc<dyn cmp_core::crypto::PrivateKey>,
}

fn impostor() -> &'static Impostor {
    static IMPOSTOR: OnceLock<Impostor> = OnceLock::new();
    IMPOSTOR.get_or_init(|| {
        let ca = OpensslCa::impostor("hostile-impostor");
        let key = ca.new_key("server");
        let cert = ca.issue(
            "server",
            &key,
            "/CN=CMP Test Server/O=cmp-rs test PKI",
            "ee",
            None,
        );
        Impostor {
            root: read_pem_cert(&ca.dir().join("ca-cert.pem")),
            server: read_pem_cert(&cert),
            server_key: Arc::new(
                cmp_crypto::software::read_key_file(&key, None).expect("impostor key"),
            ),
        }
    })
}

fn ip_with_ca_pubs(ca_pubs: Vec<CmpCertificate>) -> Answer {
    let mut r = rep(0, PkiStatusInfo::accepted(), Some(new_cert()));
    r.ca_pubs = Some(ca_pubs);
    Answer::body(PkiBody::Ip(r))
}

#[test]
fn ca_pubs_are_written_only_from_an_authenticated_response_and_never_become_anchors() {
    // Signed by a certificate chaining to --trusted: written.
    let server = HostileServer::mock(
        Protocol::Http,
        vec![
            script(|_| {
                ip_with_ca_pubs(vec![ca_cert()]).signed_by(pki_key("server"), pki_cert("server"))
            }),
            script(|_| pkiconf().signed_by(pki_key("server"), pki_cert("server"))),
        ],
    );
    let (run, dir) = ir("capubs-signed", &server, &trusted_ca());
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(
        std::fs::read_to_string(dir.join("cacerts.pem")).expect("cacertsout"),
        std::fs::read_to_string(pki("ca-cert.pem")).expect("pem")
    );

    // MAC-protected: written.
    let server = HostileServer::mock(
        Protocol::Http,
        vec![
            script(|_| ip_with_ca_pubs(vec![ca_cert()])),
            script(|_| pkiconf()),
        ],
    );
    let (run, dir) = ir("capubs-mac", &server, &[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(
        std::fs::read_to_string(dir.join("cacerts.pem")).expect("cacertsout"),
        std::fs::read_to_string(pki("ca-cert.pem")).expect("pem")
    );

    // Signed by a certificate under a root that only caPubs (and extraCerts) offer: refused,
    // nothing written.
    let i = impostor();
    let server = HostileServer::mock(
        Protocol::Http,
        vec![script(|_| {
            let i = impostor();
            let root = i.root.clone();
            ip_with_ca_pubs(vec![i.root.clone()])
                .signed_by(Arc::clone(&i.server_key), i.server.clone())
                .tweak(move |m| m.extra_certs.get_or_insert_with(Vec::new).push(root))
        })],
    );
    refused(
        "capubs-self-signed",
        &server,
        &trusted_ca(),
        4,
        Expect::Prefix(format!(
            "{CHECK}the signer certificate O=cmp-rs test PKI,CN=CMP Test Server is not trusted: "
        )),
    );

    // A MAC-protected ip's caPubs do not make the impostor a trust anchor for the pkiConf.
    let server = HostileServer::mock(
        Protocol::Http,
        vec![
            script(|_| ip_with_ca_pubs(vec![impostor().root.clone()])),
            script(|_| {
                let i = impostor();
                pkiconf().signed_by(Arc::clone(&i.server_key), i.server.clone())
            }),
        ],
    );
    refused_leaving(
        "capubs-mac-then-impostor",
        &server,
        &trusted_ca(),
        4,
        Expect::Prefix(format!(
            "{CHECK}the signer certificate O=cmp-rs test PKI,CN=CMP Test Server is not trusted: "
        )),
        &UNCONFIRMED,
    );
    let _ = i;
}

#[test]
fn ten_thousand_extra_certs_are_refused_by_size() {
    for p in BOTH {
        let server = HostileServer::mock(
            p,
            vec![script(|_| {
                ip_granted().tweak(|m| m.extra_certs = Some(vec![new_cert(); 10_000]))
            })],
        );
        let expected = match p {
            Protocol::Http => Expect::Exact(
                "cmp-agent: the response is larger than the limit of 1048576 bytes".into(),
            ),
            Protocol::Tcp => Expect::Prefix("cmp-agent: framing error: a frame of ".into()),
        };
        refused(
            &format!("extracerts-{}", tls_free(p)),
            &server,
            &[],
            3,
            expected,
        );
    }
}

/// Wraps `inner` (a whole message) into a `nested` message `depth` times, reusing `header`.
fn nest(header: &[u8], inner: Vec<u8>, depth: usize) -> Vec<u8> {
    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let n = content.len();
        if n < 0x80 {
            out.push(n as u8);
        } else {
            let bytes = n.to_be_bytes();
            let skip = bytes.iter().take_while(|b| **b == 0).count();
            out.push(0x80 | (bytes.len() - skip) as u8);
            out.extend_from_slice(&bytes[skip..]);
        }
        out.extend_from_slice(content);
        out
    }
    let mut msg = inner;
    for _ in 0..depth {
        let body = tlv(0xB4, &tlv(0x30, &msg));
        let mut content = header.to_vec();
        content.extend(body);
        msg = tlv(0x30, &content);
    }
    msg
}

#[test]
fn deeply_nested_messages_are_refused_by_the_framing_pass() {
    for p in BOTH {
        let ca = MockCa::new(vec![script(|_| ip_granted())]);
        let server = HostileServer::start(
            p,
            Box::new(move |req| {
                let der = ca.answer(req);
                let header = ReceivedMessage::decode(&der)
                    .expect("DER")
                    .header_der()
                    .to_vec();
                Wire::Message(nest(&header, der, 200))
            }),
        );
        refused(
            &format!("nested-{}", tls_free(p)),
            &server,
            &[],
            4,
            Expect::Exact(format!(
                "{CHECK}malformed response: malformed DER at byte 5394: values are nested deeper than 64 levels"
            )),
        );
    }
}

fn poll_rep(check_after: u64) -> Answer {
    Answer::body(PkiBody::PollRep(vec![PollRep {
        cert_req_id: Integer::from(0),
        check_after: Integer::from(check_after),
        reason: None,
    }]))
}

/// A server answering the ir with "waiting" and every pollReq with a pollRep.
fn endless_polling(p: Protocol, check_after: u64) -> HostileServer {
    HostileServer::start(
        p,
        Box::new(move |req| {
            let first = ReceivedMessage::decode(req)
                .map(|m| m.message().body.name() == "ir")
                .unwrap_or(false);
            let ca = MockCa::new(vec![script(move |_| {
                if first {
                    Answer::body(PkiBody::Ip(rep(
                        0,
                        PkiStatusInfo::with_status(PkiStatus::WAITING),
                        None,
                    )))
                } else {
                    poll_rep(check_after)
                }
            })]);
            Wire::Message(ca.answer(req))
        }),
    )
}

#[test]
fn endless_polling_ends_at_the_poll_limit_or_the_total_timeout() {
    for p in BOTH {
        let t = tls_free(p);
        let server = endless_polling(p, 0);
        refused(
            &format!("poll-0-{t}"),
            &server,
            &[],
            4,
            Expect::Exact(format!(
                "{CHECK}the server still asks to wait after 100 polls"
            )),
        );
        assert_eq!(server.requests(), 101, "ir and 100 pollReq");
        // 2^40 s: clamped to --max-poll-wait by the engine; with a total timeout the agent
        // gives up at once instead of sleeping past it.
        let server = endless_polling(p, 1 << 40);
        refused(
            &format!("poll-2-40-{t}"),
            &server,
            &s(&["--total-timeout", "5"]),
            3,
            Expect::Exact(
                "cmp-agent: the transaction did not complete within 5 s (total timeout)".into(),
            ),
        );
        assert_eq!(server.requests(), 2, "ir and one pollReq");
    }
}

/// What part of the honest answer a stalling server sends.
type Cut = fn(Vec<u8>) -> Vec<u8>;

#[test]
fn a_server_that_stalls_after_the_headers_or_mid_body_is_timed_out() {
    // The honest ip of the rig, cut short.
    let ip_bytes = |req: &[u8]| MockCa::new(vec![script(|_| ip_granted())]).answer(req);
    let stalls: [(&str, Protocol, Cut); 4] = [
        ("http-headers", Protocol::Http, |der| {
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/pkixcmp\r\nContent-Length: {}\r\n\r\n",
                der.len()
            )
            .into_bytes()
        }),
        ("http-mid-body", Protocol::Http, |der| {
            let mut full = http_response(&der);
            full.truncate(full.len() - der.len() / 2);
            full
        }),
        ("tcp-frame-header", Protocol::Tcp, |der| {
            tcp_frame(5, &der)[..7].to_vec()
        }),
        ("tcp-mid-body", Protocol::Tcp, |der| {
            let full = tcp_frame(5, &der);
            full[..full.len() - der.len() / 2].to_vec()
        }),
    ];
    for (label, p, cut) in stalls {
        let server = HostileServer::start(
            p,
            Box::new(move |req| Wire::Raw {
                bytes: cut(ip_bytes(req)),
                hold: STALL,
            }),
        );
        let url = server.url();
        refused(
            &format!("stall-{label}"),
            &server,
            &[],
            3,
            Expect::Exact(format!(
                "cmp-agent: the exchange with {url} timed out after 5 s"
            )),
        );
    }
}

#[test]
fn a_length_of_4_gb_is_refused_before_any_buffer_grows() {
    let tcp = HostileServer::start(
        Protocol::Tcp,
        Box::new(|_| Wire::Raw {
            bytes: vec![0xFF, 0xFF, 0xFF, 0xFF, 10, 0, 5],
            hold: STALL,
        }),
    );
    refused(
        "tcp-4gb",
        &tcp,
        &[],
        3,
        Expect::Exact(
            "cmp-agent: framing error: a frame of 4294967295 bytes exceeds the limit of 1048576 bytes"
                .into(),
        ),
    );
    let http = HostileServer::start(
        Protocol::Http,
        Box::new(|_| {
            Wire::Raw {
            bytes: b"HTTP/1.1 200 OK\r\nContent-Type: application/pkixcmp\r\nContent-Length: 4294967296\r\n\r\n0"
                .to_vec(),
            hold: STALL,
        }
        }),
    );
    refused(
        "http-4gb",
        &http,
        &[],
        3,
        Expect::Exact("cmp-agent: the response is larger than the limit of 1048576 bytes".into()),
    );
}
