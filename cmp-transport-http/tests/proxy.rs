//! Going through an HTTP proxy: absolute-form requests for http, CONNECT tunnels for https.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cmp_core::transport::Transport;
use cmp_transport_http::{HttpTransport, ProxySettings};
use tokio::io::{AsyncReadExt, AsyncWriteExt, copy_bidirectional};
use tokio::net::{TcpListener, TcpStream};

/// A minimal forwarding proxy that records the first line of every request it sees.
async fn proxy(seen: Arc<Mutex<Vec<String>>>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let seen = Arc::clone(&seen);
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut b = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && head.len() < 8192 {
                    if client.read(&mut b).await.unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(b[0]);
                }
                let text = String::from_utf8_lossy(&head).into_owned();
                let first = text.lines().next().unwrap_or_default().to_owned();
                seen.lock().expect("lock").push(first.clone());
                let mut parts = first.split_whitespace();
                let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
                if method == "CONNECT" {
                    let Ok(mut upstream) = TcpStream::connect(target).await else {
                        return;
                    };
                    let _ = client
                        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                        .await;
                    let _ = copy_bidirectional(&mut client, &mut upstream).await;
                } else {
                    // Absolute form: http://host:port/path → forward with the head as is.
                    let hostport = target
                        .trim_start_matches("http://")
                        .split('/')
                        .next()
                        .unwrap_or("")
                        .to_owned();
                    let Ok(mut upstream) = TcpStream::connect(hostport).await else {
                        return;
                    };
                    let _ = upstream.write_all(&head).await;
                    let _ = copy_bidirectional(&mut client, &mut upstream).await;
                }
            });
        }
    });
    port
}

/// A CMP "server" that answers every POST with pkiconf bytes.
async fn origin() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let mut got = Vec::new();
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    let n = s.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    got.extend_from_slice(&buf[..n]);
                }
                let _ = s
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/pkixcmp\r\nContent-Length: 4\r\nConnection: close\r\n\r\n\xB3\x02\x05\x00")
                    .await;
            });
        }
    });
    port
}

#[tokio::test]
async fn plain_http_goes_through_the_proxy_in_absolute_form() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let proxy_port = proxy(Arc::clone(&seen)).await;
    let origin_port = origin().await;
    let url = format!("http://127.0.0.1:{origin_port}/pkix/");
    let t = HttpTransport::builder(&url)
        .proxy(ProxySettings::new(&format!("http://127.0.0.1:{proxy_port}"), "").expect("proxy"))
        .message_timeout(Duration::from_secs(5))
        .build()
        .expect("transport");
    assert_eq!(
        t.exchange(&[0x30, 0x00], None)
            .await
            .expect("through proxy"),
        vec![0xB3, 0x02, 0x05, 0x00]
    );
    assert_eq!(
        seen.lock().expect("lock").clone(),
        vec![format!(
            "POST http://127.0.0.1:{origin_port}/pkix/ HTTP/1.1"
        )]
    );
}

#[tokio::test]
async fn no_proxy_bypasses_it() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let proxy_port = proxy(Arc::clone(&seen)).await;
    let origin_port = origin().await;
    let t = HttpTransport::builder(&format!("http://127.0.0.1:{origin_port}/"))
        .proxy(
            ProxySettings::new(&format!("http://127.0.0.1:{proxy_port}"), "127.0.0.1")
                .expect("proxy"),
        )
        .build()
        .expect("transport");
    assert!(t.exchange(&[0x30, 0x00], None).await.is_ok());
    assert!(seen.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn https_goes_through_a_connect_tunnel() {
    use cmp_transport_http::{
        HttpServer, TlsClientSettings, TlsServerSettings, read_pem_certificates,
        read_pem_private_key,
    };
    let tls = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/tls");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let origin_port = listener.local_addr().expect("addr").port();
    #[derive(Debug)]
    struct Fixed;
    #[async_trait::async_trait]
    impl cmp_core::transport::Responder for Fixed {
        async fn respond(&self, _r: Vec<u8>, _p: &cmp_core::transport::PeerInfo) -> Vec<u8> {
            vec![0xB3, 0x02, 0x05, 0x00]
        }
    }
    let server = HttpServer::builder()
        .tls(TlsServerSettings {
            chain: read_pem_certificates(&tls.join("server.pem")).expect("cert"),
            key: read_pem_private_key(&tls.join("server-key.pem")).expect("key"),
            client_trusted: vec![],
            client_required: false,
        })
        .build()
        .expect("server");
    tokio::spawn(async move {
        server
            .serve(listener, Arc::new(Fixed), std::future::pending())
            .await
    });

    let seen = Arc::new(Mutex::new(Vec::new()));
    let proxy_port = proxy(Arc::clone(&seen)).await;
    let t = HttpTransport::builder(&format!("https://127.0.0.1:{origin_port}/pkix/"))
        .proxy(ProxySettings::new(&format!("http://127.0.0.1:{proxy_port}"), "").expect("proxy"))
        .tls(TlsClientSettings::trusting(&tls.join("ca.pem")).expect("trust"))
        .message_timeout(Duration::from_secs(5))
        .build()
        .expect("transport");
    assert_eq!(
        t.exchange(&[0x30, 0x00], None).await.expect("tunnel"),
        vec![0xB3, 0x02, 0x05, 0x00]
    );
    assert_eq!(
        seen.lock().expect("lock").clone(),
        vec![format!("CONNECT 127.0.0.1:{origin_port} HTTP/1.1")]
    );
}
