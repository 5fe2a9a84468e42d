//! Servers in front of a CA for the agent's tests: our HTTP(S) server half (and any
//! [`Responder`]) on a free loopback port, on a thread with its own runtime, and a responder
//! that relays each request to a CA over HTTP (e.g. to `openssl cmp -port`, which speaks plain
//! HTTP only).

use std::future::Future;
use std::sync::Arc;

use cmp_core::transport::{PeerInfo, Responder, Transport};

use crate::fixtures;

/// Relays each request to a CA over HTTP; a failed exchange answers nothing (the client sees
/// an empty response).
#[derive(Debug)]
pub struct Relay(cmp_transport_http::HttpTransport);

impl Relay {
    /// A relay to the CA at `url` (`http://127.0.0.1:PORT/pkix/`), without proxies.
    pub fn to(url: &str) -> Self {
        Relay(
            cmp_transport_http::HttpTransport::builder(url)
                .no_proxy()
                .build()
                .expect("an http:// URL"),
        )
    }
}

#[async_trait::async_trait]
impl Responder for Relay {
    async fn respond(&self, request: Vec<u8>, _peer: &PeerInfo) -> Vec<u8> {
        self.0.exchange(&request, None).await.unwrap_or_default()
    }
}

/// Runs `serve` on a listener bound to a free loopback port, on a thread with its own runtime;
/// returns the port once it is bound. The server lives as long as the test process.
pub fn serve_in_background<F, Fut>(serve: F) -> u16
where
    F: FnOnce(tokio::net::TcpListener) -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("rt");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            tx.send(listener.local_addr().expect("addr").port())
                .expect("send");
            serve(listener).await;
        });
    });
    rx.recv().expect("port")
}

/// The TLS test server identity (`tests/fixtures/tls`); with `client_required`, clients must
/// present a certificate from the TLS test CA.
pub fn tls_server_settings(client_required: bool) -> cmp_transport_http::TlsServerSettings {
    use fixtures::tls;
    cmp_transport_http::TlsServerSettings {
        chain: cmp_transport_http::read_pem_certificates(&tls("server.pem")).expect("cert"),
        key: cmp_transport_http::read_pem_private_key(&tls("server-key.pem")).expect("key"),
        client_trusted: if client_required {
            cmp_transport_http::read_pem_certificates(&tls("ca.pem")).expect("ca")
        } else {
            Vec::new()
        },
        client_required,
    }
}

/// Our HTTPS server half with the TLS test identity serving `responder` (with
/// `client_required`, only to clients with a certificate from the TLS test CA); returns its
/// port.
pub fn https(responder: Arc<dyn Responder>, client_required: bool) -> u16 {
    serve_in_background(move |listener| async move {
        let server = cmp_transport_http::HttpServer::builder()
            .tls(tls_server_settings(client_required))
            .build()
            .expect("server");
        let _ = server
            .serve(listener, responder, std::future::pending())
            .await;
    })
}
