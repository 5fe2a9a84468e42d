//! TLS against a peer nobody here wrote: `openssl s_server`, which reports what the client
//! offered and what was negotiated. Every build completes the handshake with it; a build
//! without the `tls-extra-algorithms` feature (the minimal device agent's: `cargo test -p
//! cmp-transport-http --no-default-features --test tls_groups`) offers neither X25519 nor
//! ChaCha20-Poly1305, and fails cleanly with a server that has X25519 only.

use std::io::Read;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use cmp_core::transport::{Transport, TransportError};
use cmp_transport_http::{HttpTransport, TlsClientSettings};

fn tls_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/tls")
}

/// `openssl s_server` on 127.0.0.1 with `groups`. It answers nothing (its standard input stays
/// open and empty) and prints the handshake and what it received.
struct SServer {
    child: Child,
    _stdin: ChildStdin,
    port: u16,
}

impl SServer {
    fn start(groups: &str) -> SServer {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let dir = tls_dir();
        let mut child = Command::new("openssl")
            .args(["s_server", "-groups", groups])
            .arg("-accept")
            .arg(format!("127.0.0.1:{port}"))
            .arg("-cert")
            .arg(dir.join("server.pem"))
            .arg("-key")
            .arg(dir.join("server-key.pem"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("openssl s_server (apt-get install openssl)");
        let stdin = child.stdin.take().expect("stdin");
        // Its port answers once it listens; s_server serves this probe and goes on.
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "openssl s_server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        SServer {
            child,
            _stdin: stdin,
            port,
        }
    }

    /// Everything it printed, once stopped.
    fn output(mut self) -> String {
        let _ = self.child.kill();
        let mut out = String::new();
        if let Some(mut stdout) = self.child.stdout.take() {
            let _ = stdout.read_to_string(&mut out);
        }
        let _ = self.child.wait();
        out
    }
}

/// A POST to the server: it never answers, so a completed handshake ends in the message
/// timeout, a failed one in a TLS error.
async fn post(port: u16) -> TransportError {
    let settings = TlsClientSettings::trusting(&tls_dir().join("ca.pem")).expect("trust");
    HttpTransport::builder(&format!("https://127.0.0.1:{port}/pkix/"))
        .no_proxy()
        .message_timeout(Duration::from_secs(2))
        .tls(settings)
        .build()
        .expect("client")
        .exchange(&[0x30, 0x00], None)
        .await
        .expect_err("s_server does not answer")
}

/// The line of s_server's report that starts with `label`.
fn line<'a>(report: &'a str, label: &str) -> &'a str {
    report
        .lines()
        .find(|l| l.starts_with(label))
        .unwrap_or_else(|| panic!("no {label:?} in s_server's report:\n{report}"))
}

#[tokio::test]
async fn the_handshake_with_openssl_completes_and_carries_the_request() {
    let server = SServer::start("X25519:P-256:P-384");
    let err = post(server.port).await;
    assert!(matches!(err, TransportError::Timeout { .. }), "{err}");
    let report = server.output();
    assert!(line(&report, "CIPHER is ").contains("GCM"), "{report}");
    assert!(report.contains("POST /pkix/ HTTP/1.1"), "{report}");
    let groups = line(&report, "Supported groups:");
    let ciphers = line(&report, "Shared ciphers:");
    if cfg!(feature = "tls-extra-algorithms") {
        assert!(groups.contains("x25519"), "{groups}");
        assert!(ciphers.contains("CHACHA20"), "{ciphers}");
    } else {
        assert_eq!(groups, "Supported groups: secp256r1:secp384r1");
        assert!(!ciphers.contains("CHACHA20"), "{ciphers}");
    }
}

#[tokio::test]
async fn a_server_with_x25519_only_is_refused_without_the_extra_algorithms() {
    let server = SServer::start("X25519");
    let err = post(server.port).await;
    if cfg!(feature = "tls-extra-algorithms") {
        assert!(matches!(err, TransportError::Timeout { .. }), "{err}");
    } else {
        assert!(matches!(err, TransportError::Tls { .. }), "{err}");
        assert!(
            err.to_string().ends_with(
                "failed: received fatal alert: HandshakeFailure: the server shares no algorithm \
                 with this build, which offers TLS's mandatory ones only (ECDHE P-256/P-384, \
                 AES-GCM, ECDSA and RSA; the server may want X25519, ChaCha20-Poly1305 or \
                 Ed25519: cmp-transport-http feature `tls-extra-algorithms`)"
            ),
            "{err}"
        );
    }
}
