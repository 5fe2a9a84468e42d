//! The `cmp-server` binary against a malicious client on 127.0.0.1: slow-loris connections on
//! the HTTP and TCP listeners, floods of new transactions (valid and badly protected), a
//! certConf for a transaction the server never saw, and a TCP length of 4 GB. Each case asserts the exact answer (the
//! failInfo, or how the connection is closed), that an honest enrollment is still served, and
//! that the server's peak RSS (VmHWM) stays under 64 MiB.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

use cmp_core::asn1::{PkiBody, PkiMessage, ReceivedMessage, null_dn};
use cmp_core::builder::PkiHeaderBuilder;
use cmp_core::crypto::PrivateKey;
use cmp_core::protection::{MacSettings, protect_with_mac};
use cmp_core::transaction::{Enrollment, EnrollmentRequest, Step, Transaction};
use cmp_tests::enroll_rig::{config, new_key, request};
use cmp_tests::hostile_server::tcp_frame;
use cmp_tests::mock_ca::SECRET;
use cmp_tests::process::{without_proxies, workspace_binary};
use cmp_tests::run::block_on;

/// 64 MiB, in KiB.
const MAX_RSS_KIB: u64 = 64 * 1024;

fn server_binary() -> &'static Path {
    static BIN: OnceLock<std::path::PathBuf> = OnceLock::new();
    BIN.get_or_init(|| workspace_binary("cmp-server", "cmp-server"))
}

/// A running `cmp-server` (HTTP and TCP on 127.0.0.1), killed when dropped.
struct Server {
    child: Child,
    http: u16,
    tcp: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts the server with the rig's shared secret and `extra` options.
    fn start(extra: &[&str]) -> Server {
        let secret = format!("pass:{}", String::from_utf8_lossy(SECRET));
        let mut cmd = Command::new(server_binary());
        without_proxies(&mut cmd);
        let mut child = cmd
            .args(["--listen", "http://127.0.0.1:0/pkix/"])
            .args(["--listen", "tcp://127.0.0.1:0"])
            .args(["--secret", &secret, "--ref", "client-ref-1234"])
            .args(["--log-level", "error"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("cmp-server starts");
        let mut out = BufReader::new(child.stdout.take().expect("stdout"));
        let mut port = |prefix: &str| {
            let mut line = String::new();
            out.read_line(&mut line).expect("a line");
            line.trim_end()
                .strip_prefix(&format!("listening on {prefix}127.0.0.1:"))
                .unwrap_or_else(|| panic!("expected `listening on {prefix}…`, got {line:?}"))
                .trim_end_matches("/pkix/")
                .parse::<u16>()
                .expect("a port")
        };
        let http = port("http://");
        let tcp = port("tcp://");
        Server { child, http, tcp }
    }

    /// The server's peak RSS so far, in KiB (VmHWM of /proc/PID/status).
    fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("/proc/PID/status of the server");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM")
    }

    fn assert_bounded(&self, label: &str) {
        let kib = self.peak_rss_kib();
        eprintln!("{label}: server peak RSS {kib} KiB");
        assert!(kib < MAX_RSS_KIB, "{label}: server peak RSS {kib} KiB");
    }

    /// POSTs `der` over HTTP; the response body.
    fn post(&self, der: &[u8]) -> Vec<u8> {
        let mut s = TcpStream::connect(("127.0.0.1", self.http)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let mut req = format!(
            "POST /pkix/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/pkixcmp\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            der.len()
        )
        .into_bytes();
        req.extend_from_slice(der);
        s.write_all(&req).expect("send");
        let mut resp = Vec::new();
        s.read_to_end(&mut resp).expect("read");
        let split = resp
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a header")
            + 4;
        let head = String::from_utf8_lossy(&resp[..split]).into_owned();
        assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
        resp[split..].to_vec()
    }

    /// Sends `der` in a TCP pkiReq frame; the pkiRep's value.
    fn exchange_tcp(&self, der: &[u8]) -> Vec<u8> {
        let mut s = TcpStream::connect(("127.0.0.1", self.tcp)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        s.write_all(&tcp_frame(0, der)).expect("send");
        let mut len = [0u8; 4];
        s.read_exact(&mut len).expect("length");
        let mut rest = vec![0u8; u32::from_be_bytes(len) as usize];
        s.read_exact(&mut rest).expect("frame");
        assert_eq!(rest[..3], [10, 0, 5], "a v10 pkiRep");
        rest[3..].to_vec()
    }
}

/// The first request (after the POP signature) of an ir of the rig's key, with `tweak`
/// changing the request; and the transaction, to go on with.
fn first_ir(tweak: impl FnOnce(&mut EnrollmentRequest)) -> (Enrollment, Vec<u8>) {
    let key = new_key();
    let mut req = request(&key);
    tweak(&mut req);
    // The recipient NULL-DN: the server's CA is generated at its start.
    let mut tx = Enrollment::new(config(|c| c.recipient = null_dn()), req).expect("transaction");
    let now = SystemTime::now();
    let mut step = tx.start(now).expect("start");
    loop {
        step = match step {
            Step::Sign { alg, data, .. } => {
                let sig = block_on(key.sign(alg, &data)).expect("sign");
                tx.on_signature(sig, now).expect("signature")
            }
            Step::Send(bytes) => return (tx, bytes),
            _ => panic!("the ir is sent first"),
        };
    }
}

/// The status (`PKIStatusInfo` as text) of a response: an error message's or the first
/// certificate response's.
fn status(der: &[u8]) -> String {
    let m = ReceivedMessage::decode(der)
        .expect("the server's DER")
        .into_message();
    match &m.body {
        PkiBody::Error(e) => format!("error: {}", e.pki_status_info),
        PkiBody::Ip(r) | PkiBody::Cp(r) | PkiBody::Kup(r) => format!(
            "{}: {}",
            m.body.name(),
            r.response.first().expect("a response").status
        ),
        other => other.name().to_owned(),
    }
}

/// An honest ir over HTTP gets its certificate.
fn honest_ir_is_served(server: &Server, label: &str) {
    let start = Instant::now();
    let (_, ir) = first_ir(|_| {});
    let answer = server.post(&ir);
    assert_eq!(status(&answer), "ip: accepted", "{label}");
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{label}: the honest ir took {:?}",
        start.elapsed()
    );
}

#[test]
fn a_tcp_length_of_4_gb_is_answered_with_an_error_frame_and_closed() {
    let server = Server::start(&[]);
    let mut s = TcpStream::connect(("127.0.0.1", server.tcp)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    s.write_all(&[0xFF, 0xFF, 0xFF, 0xFF, 10, 0, 0])
        .expect("send");
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).expect("closed after the answer");
    let text = "a frame of 4294967295 bytes exceeds the limit of 1048576 bytes";
    // errorMsgRep (6), closing flag; generalClientError 0x0200, no data, the text.
    let mut value = vec![0x02, 0x00, 0x00, 0x00];
    value.extend_from_slice(text.as_bytes());
    let mut expected = tcp_frame(6, &value);
    expected[5] = 1;
    assert_eq!(
        String::from_utf8_lossy(&answer),
        String::from_utf8_lossy(&expected)
    );
    assert_eq!(answer, expected);
    honest_ir_is_served(&server, "4gb");
    server.assert_bounded("4gb");
}

#[test]
fn a_cert_conf_for_an_unknown_transaction_is_refused() {
    let server = Server::start(&[]);
    let p = cmp_crypto::default_provider();
    let mut nonce = [0u8; 16];
    p.primitives.fill_random(&mut nonce).expect("random");
    let header = PkiHeaderBuilder::new()
        .sender_name(cmp_core::names::parse_name("/CN=CMP Test Device").expect("dn"))
        .recipient_name(cmp_core::names::parse_name("/CN=cmp-server CA").expect("dn"))
        .transaction_id(vec![0x42; 16])
        .sender_nonce(nonce)
        .sender_kid(b"client-ref-1234".to_vec())
        .build();
    let mut msg = PkiMessage::new(
        header,
        PkiBody::CertConf(cmp_core::builder::cert_conf(vec![0; 32], 0, None, None)),
    );
    protect_with_mac(
        &mut msg,
        SECRET,
        &MacSettings::pbm_default(),
        p.primitives.as_ref(),
    )
    .expect("protect");
    let der = msg.to_der().expect("encode");
    for answer in [server.post(&der), server.exchange_tcp(&der)] {
        assert_eq!(
            status(&answer),
            "error: rejection: badRequest — \"certConf for a transaction this server does not know (or has forgotten)\""
        );
    }
    honest_ir_is_served(&server, "unknown certConf");
    server.assert_bounded("unknown certConf");
}

#[test]
fn floods_of_new_transactions_are_bounded() {
    // A small table: valid irs left unconfirmed fill it, then systemUnavail.
    let server = Server::start(&["--max-transactions", "50"]);
    for i in 0..50 {
        let (_, ir) = first_ir(|_| {});
        assert_eq!(status(&server.post(&ir)), "ip: accepted", "ir {i}");
    }
    let (_, ir) = first_ir(|_| {});
    assert_eq!(
        status(&server.post(&ir)),
        "error: rejection: systemUnavail — \"the transaction table is full (50 transactions)\""
    );
    server.assert_bounded("full table");

    // Requests that fail their protection take no room: 1000 of them, then an honest ir.
    let server = Server::start(&["--max-transactions", "5"]);
    let p = cmp_crypto::default_provider();
    let (_, ir) = first_ir(|_| {});
    let mut bad = ReceivedMessage::decode(&ir).expect("DER").into_message();
    protect_with_mac(
        &mut bad,
        b"not-the-secret",
        &MacSettings::pbm_default(),
        p.primitives.as_ref(),
    )
    .expect("protect");
    let bad = bad.to_der().expect("encode");
    let start = Instant::now();
    for i in 0..1000 {
        assert_eq!(
            status(&server.post(&bad)),
            "error: rejection: badMessageCheck — \"the MAC does not verify (wrong shared secret, or the message was altered)\"",
            "bad ir {i}"
        );
    }
    eprintln!("1000 badly protected irs in {:?}", start.elapsed());
    honest_ir_is_served(&server, "after 1000 bad irs");
    server.assert_bounded("1000 bad irs");

    // A flood at the default limit's scale: 2000 valid irs never confirmed.
    let server = Server::start(&[]);
    let start = Instant::now();
    for _ in 0..2000 {
        let (_, ir) = first_ir(|_| {});
        assert_eq!(status(&server.post(&ir)), "ip: accepted");
    }
    eprintln!("2000 unconfirmed irs in {:?}", start.elapsed());
    server.assert_bounded("2000 unconfirmed irs");
}

/// Opens a connection and sends `prefix`, then one byte of `trickle` every `every`, until the
/// server closes it; returns what the server sent and when it closed (from the first byte).
fn slow_loris(port: u16, prefix: &[u8], trickle: &[u8], every: Duration) -> (Vec<u8>, Duration) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(every)).expect("timeout");
    let start = Instant::now();
    s.write_all(prefix).expect("prefix");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    for byte in trickle.iter().cycle() {
        match s.read(&mut buf) {
            Ok(0) => return (got, start.elapsed()),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => return (got, start.elapsed()),
        }
        if s.write_all(&[*byte]).is_err() {
            return (got, start.elapsed());
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "a slow-loris connection is still open after a minute"
        );
    }
    unreachable!("the trickle cycles")
}

#[test]
fn slow_loris_connections_are_closed_and_others_still_served() {
    let server = Server::start(&[]);
    let (http, tcp) = (server.http, server.tcp);
    let every = Duration::from_millis(500);
    // Many at once on each listener (fewer than the 256 connections each may hold).
    let mut handles = Vec::new();
    for _ in 0..5 {
        handles.push(std::thread::spawn(move || {
            (
                "http headers",
                slow_loris(http, b"POST /pkix/ HTTP/1.1\r\n", b"X-Slow: a\r\n", every),
            )
        }));
        handles.push(std::thread::spawn(move || {
            let head = b"POST /pkix/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/pkixcmp\r\n\
                         Content-Length: 100000\r\n\r\n";
            ("http body", slow_loris(http, head, &[0x30], every))
        }));
        handles.push(std::thread::spawn(move || {
            (
                "tcp frame",
                slow_loris(tcp, &[0, 0, 1, 0, 10, 0, 0], &[0x30], every),
            )
        }));
    }
    std::thread::sleep(Duration::from_secs(1));
    // The honest client is served meanwhile, over both listeners.
    honest_ir_is_served(&server, "during slow-loris");
    let (_, ir) = first_ir(|_| {});
    assert_eq!(status(&server.exchange_tcp(&ir)), "ip: accepted");
    for h in handles {
        let (what, (got, after)) = h.join().expect("slow-loris thread");
        let text = String::from_utf8_lossy(&got).into_owned();
        match what {
            // hyper's header read timeout (10 s): closed without an answer.
            "http headers" => {
                assert!(got.is_empty(), "{what}: {text}");
                assert!(after < Duration::from_secs(15), "{what}: {after:?}");
            }
            // The body read timeout (30 s): 408.
            "http body" => {
                assert!(
                    text.starts_with("HTTP/1.1 408 Request Timeout\r\n")
                        && text.ends_with("the request body arrived too slowly\n"),
                    "{what}: {text}"
                );
                assert!(after < Duration::from_secs(40), "{what}: {after:?}");
            }
            // The idle timeout (30 s) ends a frame that does not complete: closed silently.
            _ => {
                assert!(got.is_empty(), "{what}: {text}");
                assert!(after < Duration::from_secs(40), "{what}: {after:?}");
            }
        }
    }
    server.assert_bounded("slow-loris");
}

#[test]
fn an_unknown_critical_extension_in_the_template_is_refused() {
    let server = Server::start(&[]);
    let (_, ir) = first_ir(|r| {
        r.template.extensions = Some(
            vec![rasn_pkix::Extension {
                extn_id: rasn::types::ObjectIdentifier::new(vec![1, 3, 6, 1, 4, 1, 99999, 1])
                    .expect("oid"),
                critical: true,
                extn_value: vec![0x05, 0x00].into(),
            }]
            .into(),
        );
    });
    for answer in [server.post(&ir), server.exchange_tcp(&ir)] {
        assert_eq!(
            status(&answer),
            "ip: rejection: badCertTemplate — \"the template asks for the critical extension \
             1.3.6.1.4.1.99999.1, which this CA does not support\""
        );
    }
    // The same extension, not critical, is ignored: the certificate is issued.
    let (_, ir) = first_ir(|r| {
        r.template.extensions = Some(
            vec![rasn_pkix::Extension {
                extn_id: rasn::types::ObjectIdentifier::new(vec![1, 3, 6, 1, 4, 1, 99999, 1])
                    .expect("oid"),
                critical: false,
                extn_value: vec![0x05, 0x00].into(),
            }]
            .into(),
        );
    });
    assert_eq!(status(&server.post(&ir)), "ip: accepted");
    server.assert_bounded("critical extension");
}
