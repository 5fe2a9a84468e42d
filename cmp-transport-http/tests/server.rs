//! The server half: our client against it over HTTP and HTTPS (with client certificates),
//! and clients that misbehave: wrong method, path, type, size, slow headers, slow bodies,
//! too many connections; graceful shutdown.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cmp_core::transport::{PeerInfo, Responder, Transport, TransportError};
use cmp_transport_http::{
    ClientIdentity, HttpServer, HttpTransport, TlsClientSettings, TlsServerSettings,
    read_pem_certificates, read_pem_private_key,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// Answers every request with its bytes reversed, and remembers who asked.
#[derive(Debug, Default)]
struct Reverse {
    peers: Mutex<Vec<PeerInfo>>,
}

#[async_trait::async_trait]
impl Responder for Reverse {
    async fn respond(&self, mut request: Vec<u8>, peer: &PeerInfo) -> Vec<u8> {
        self.peers.lock().expect("lock").push(peer.clone());
        request.reverse();
        request
    }
}

fn tls_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/tls")
}

struct Running {
    addr: std::net::SocketAddr,
    url: String,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    responder: Arc<Reverse>,
}

async fn start(server: HttpServer, scheme: &str) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let responder = Arc::new(Reverse::default());
    let (tx, rx) = oneshot::channel::<()>();
    let r: Arc<dyn Responder> = responder.clone();
    let task = tokio::spawn(async move {
        server
            .serve(listener, r, async {
                let _ = rx.await;
            })
            .await
    });
    Running {
        addr,
        url: format!("{scheme}://{addr}/pkix/"),
        stop: Some(tx),
        task,
        responder,
    }
}

fn client(url: &str) -> HttpTransport {
    HttpTransport::builder(url)
        .no_proxy()
        .message_timeout(Duration::from_secs(5))
        .build()
        .expect("transport")
}

#[tokio::test]
async fn our_client_and_server_talk_http() {
    let s = start(
        HttpServer::builder()
            .path("/pkix/")
            .build()
            .expect("server"),
        "http",
    )
    .await;
    let t = client(&s.url);
    for _ in 0..3 {
        assert_eq!(
            t.exchange(&[1, 2, 3], None).await.expect("exchange"),
            vec![3, 2, 1]
        );
    }
    let peers = s.responder.peers.lock().expect("lock").clone();
    assert_eq!(peers.len(), 3);
    assert_eq!(peers[0].path.as_deref(), Some("/pkix/"));
    assert!(peers[0].addr.is_some_and(|a| a.ip().is_loopback()));
}

async fn raw(addr: std::net::SocketAddr, request: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(request).await.expect("write");
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn requests_that_are_not_cmp_get_the_right_status() {
    let s = start(
        HttpServer::builder()
            .path("/pkix/")
            .max_request_size(100)
            .build()
            .expect("server"),
        "http",
    )
    .await;
    let get = raw(
        s.addr,
        b"GET /pkix/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(get.starts_with("HTTP/1.1 405"), "{get}");
    assert!(get.to_ascii_lowercase().contains("allow: post"), "{get}");
    let path = raw(s.addr, b"POST /other HTTP/1.1\r\nHost: x\r\nContent-Type: application/pkixcmp\r\nContent-Length: 2\r\nConnection: close\r\n\r\n\x30\x00").await;
    assert!(path.starts_with("HTTP/1.1 404"), "{path}");
    let ctype = raw(s.addr, b"POST /pkix/ HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi").await;
    assert!(ctype.starts_with("HTTP/1.1 415"), "{ctype}");
    let big = raw(s.addr, b"POST /pkix/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/pkixcmp\r\nContent-Length: 4000000000\r\nConnection: close\r\n\r\n").await;
    assert!(big.starts_with("HTTP/1.1 413"), "{big}");
    let mut chunked = b"POST /pkix/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/pkixcmp\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".to_vec();
    for _ in 0..10 {
        chunked.extend_from_slice(b"20\r\n");
        chunked.extend_from_slice(&[0u8; 32]);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let streamed = raw(s.addr, &chunked).await;
    assert!(streamed.starts_with("HTTP/1.1 413"), "{streamed}");
}

#[tokio::test]
async fn a_client_sending_headers_one_byte_per_second_is_cut_off() {
    let s = start(
        HttpServer::builder()
            .header_read_timeout(Duration::from_secs(1))
            .build()
            .expect("server"),
        "http",
    )
    .await;
    let mut conn = TcpStream::connect(s.addr).await.expect("connect");
    let start = Instant::now();
    let head = b"POST /pkix/ HTTP/1.1\r\nHost: slow\r\n";
    let mut closed = false;
    for b in head {
        if conn.write_all(&[*b]).await.is_err() {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
        if start.elapsed() > Duration::from_secs(6) {
            break;
        }
    }
    if !closed {
        let mut buf = [0u8; 256];
        let n = tokio::time::timeout(Duration::from_secs(3), conn.read(&mut buf))
            .await
            .expect("the server answers or closes in bounded time")
            .unwrap_or(0);
        let text = String::from_utf8_lossy(&buf[..n]);
        assert!(n == 0 || text.starts_with("HTTP/1.1 408"), "{text}");
    }
    assert!(
        start.elapsed() < Duration::from_secs(6),
        "cut off after {:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn a_body_that_trickles_gets_408() {
    let s = start(
        HttpServer::builder()
            .body_read_timeout(Duration::from_millis(500))
            .build()
            .expect("server"),
        "http",
    )
    .await;
    let mut conn = TcpStream::connect(s.addr).await.expect("connect");
    conn.write_all(b"POST /pkix/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/pkixcmp\r\nContent-Length: 100\r\n\r\n\x30")
        .await
        .expect("write");
    let mut buf = [0u8; 256];
    let n = tokio::time::timeout(Duration::from_secs(3), conn.read(&mut buf))
        .await
        .expect("answered in bounded time")
        .expect("read");
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 408"));
}

#[tokio::test]
async fn the_connection_limit_queues_further_clients() {
    let s = start(
        HttpServer::builder()
            .max_connections(1)
            .build()
            .expect("server"),
        "http",
    )
    .await;
    let first = client(&s.url);
    assert_eq!(
        first.exchange(&[1, 2], None).await.expect("first"),
        vec![2, 1]
    );
    // `first` keeps its connection alive: a second client must wait for it.
    let second = client(&s.url);
    let waited =
        tokio::time::timeout(Duration::from_millis(400), second.exchange(&[3, 4], None)).await;
    assert!(
        waited.is_err(),
        "the second connection was served while the first was open"
    );
    drop(first);
    let served = tokio::time::timeout(Duration::from_secs(3), second.exchange(&[3, 4], None))
        .await
        .expect("served once the first connection closed");
    assert_eq!(served.expect("second"), vec![4, 3]);
}

#[tokio::test]
async fn shutdown_stops_the_server() {
    let mut s = start(HttpServer::builder().build().expect("server"), "http").await;
    assert!(client(&s.url).exchange(&[9], None).await.is_ok());
    let _ = s.stop.take().expect("stop").send(());
    let result = tokio::time::timeout(Duration::from_secs(5), s.task).await;
    assert!(
        matches!(result, Ok(Ok(Ok(())))),
        "serve returned: {result:?}"
    );
    let err = client(&s.url)
        .exchange(&[9], None)
        .await
        .expect_err("stopped");
    assert!(matches!(err, TransportError::Connect { .. }), "{err}");
}

fn tls_server(client_auth: bool) -> HttpServer {
    let dir = tls_dir();
    HttpServer::builder()
        .tls(TlsServerSettings {
            chain: read_pem_certificates(&dir.join("server.pem")).expect("server cert"),
            key: read_pem_private_key(&dir.join("server-key.pem")).expect("server key"),
            client_trusted: if client_auth {
                read_pem_certificates(&dir.join("ca.pem")).expect("ca")
            } else {
                Vec::new()
            },
            client_required: client_auth,
        })
        .build()
        .expect("tls server")
}

fn tls_client(
    url: &str,
    trust: &str,
    identity: bool,
    name: Option<&str>,
) -> Result<HttpTransport, TransportError> {
    let dir = tls_dir();
    let mut settings = TlsClientSettings::trusting(&dir.join(trust)).expect("trust");
    settings.server_name = name.map(str::to_owned);
    if identity {
        settings.identity = Some(ClientIdentity::Pem {
            chain: read_pem_certificates(&dir.join("client.pem")).expect("client cert"),
            key: read_pem_private_key(&dir.join("client-key.pem")).expect("client key"),
        });
    }
    HttpTransport::builder(url)
        .no_proxy()
        .message_timeout(Duration::from_secs(5))
        .tls(settings)
        .build()
}

#[tokio::test]
async fn https_with_a_client_certificate() {
    let s = start(tls_server(true), "https").await;
    let t = tls_client(&s.url, "ca.pem", true, None).expect("client");
    assert_eq!(t.exchange(&[5, 6], None).await.expect("https"), vec![6, 5]);
    let peers = s.responder.peers.lock().expect("lock").clone();
    let client_der =
        read_pem_certificates(&tls_dir().join("client.pem")).expect("cert")[0].to_vec();
    assert_eq!(
        peers[0].tls_client_certificate.as_deref(),
        Some(client_der.as_slice())
    );
    // Without a client certificate the handshake fails.
    let anonymous = tls_client(&s.url, "ca.pem", false, None).expect("client");
    assert!(anonymous.exchange(&[5], None).await.is_err());
}

#[tokio::test]
async fn https_server_checks_fail_with_a_message_that_says_so() {
    let s = start(tls_server(false), "https").await;
    let untrusted = tls_client(&s.url, "other-ca.pem", false, None).expect("client");
    let err = untrusted.exchange(&[1], None).await.expect_err("untrusted");
    let target = s
        .url
        .trim_start_matches("https://")
        .trim_end_matches("/pkix/")
        .to_owned();
    assert_eq!(
        err.to_string(),
        format!(
            "TLS with {target} failed: the server certificate is not trusted (unknown issuer; check the TLS trust anchors)"
        )
    );
    let wrong_name = tls_client(&s.url, "ca.pem", false, Some("ca.example.org")).expect("client");
    let err = wrong_name
        .exchange(&[1], None)
        .await
        .expect_err("wrong name");
    assert_eq!(
        err.to_string(),
        format!(
            "TLS with {target} failed: the server certificate is not valid for this host name (check the URL or the expected TLS name)"
        )
    );
    // By name instead of IP works too (the certificate has DNS:localhost).
    let by_name = tls_client(&s.url, "ca.pem", false, Some("localhost")).expect("client");
    assert_eq!(
        by_name.exchange(&[1, 2], None).await.expect("ok"),
        vec![2, 1]
    );
}

#[tokio::test]
async fn the_system_trust_store_is_only_used_when_asked_and_does_not_trust_our_test_ca() {
    let s = start(tls_server(false), "https").await;
    // Without anchors and without asking for the system store there is no TLS client.
    let none = HttpTransport::builder(&s.url)
        .no_proxy()
        .tls(TlsClientSettings::default())
        .build()
        .err()
        .map(|e| e.to_string());
    assert_eq!(
        none,
        Some(format!(
            "TLS with {} failed: TLS settings: no trust anchors for the server certificate",
            s.addr
        ))
    );
    let settings = TlsClientSettings::default()
        .with_system_roots()
        .expect("the system trust store (apt-get install -y ca-certificates)");
    assert!(!settings.trusted.is_empty());
    let t = HttpTransport::builder(&s.url)
        .no_proxy()
        .tls(settings)
        .build()
        .expect("client");
    let err = t
        .exchange(&[1], None)
        .await
        .expect_err("the test CA is not a system root");
    assert_eq!(
        err.to_string(),
        format!(
            "TLS with {} failed: the server certificate is not trusted (unknown issuer; check the TLS trust anchors)",
            s.addr
        )
    );
}

#[tokio::test]
async fn the_connection_lasts_one_transaction() {
    let s = start(HttpServer::builder().build().expect("server"), "http").await;
    let t = HttpTransport::builder(&s.url)
        .no_proxy()
        .build()
        .expect("transport");
    let ports = |r: &Reverse| -> Vec<u16> {
        r.peers
            .lock()
            .expect("lock")
            .iter()
            .map(|p| p.addr.expect("peer address").port())
            .collect()
    };
    t.exchange(b"ir", None).await.expect("first");
    t.exchange(b"certConf", None).await.expect("second");
    t.end_transaction();
    t.exchange(b"genm", None).await.expect("next transaction");
    let p = ports(&s.responder);
    assert_eq!(p[0], p[1], "one connection within a transaction");
    assert_ne!(p[1], p[2], "a new one for the next transaction");
    // Without keep-alive every message has its own connection.
    let t = HttpTransport::builder(&s.url)
        .no_proxy()
        .keep_alive(false)
        .build()
        .expect("transport");
    t.exchange(b"ir", None).await.expect("first");
    t.exchange(b"certConf", None).await.expect("second");
    let p = ports(&s.responder);
    assert_ne!(p[3], p[4]);
}
