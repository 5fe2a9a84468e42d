//! CMP over TCP with a peer nobody here wrote: no third-party TCP peer is installable, so our
//! TCP server half relays every request through our HTTP client to the `openssl cmp -port`
//! mock, and our TCP client talks to it — the mock verifies and answers what crossed TCP.

use std::sync::Arc;
use std::time::Duration;

use cmp_core::asn1::ReceivedMessage;
use cmp_core::protection::{MacLimits, verify_mac};
use cmp_core::transport::{PeerInfo, Responder, Transport};
use cmp_tests::fixtures;
use cmp_tests::openssl_mock::{MockProtection, openssl_mock};
use cmp_transport_http::HttpTransport;
use cmp_transport_tcp::{Framing, TcpServer, TcpTransport};

#[derive(Debug)]
struct Relay(HttpTransport);

#[async_trait::async_trait]
impl Responder for Relay {
    async fn respond(&self, request: Vec<u8>, _peer: &PeerInfo) -> Vec<u8> {
        self.0.exchange(&request, None).await.unwrap_or_default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_tcp_client_and_server_carry_real_cmp_to_the_openssl_mock() {
    let mock = openssl_mock(MockProtection::Pbm, &[]);
    let relay: Arc<dyn Responder> = Arc::new(Relay(
        HttpTransport::builder(&format!("http://127.0.0.1:{}/pkix/", mock.port))
            .no_proxy()
            .build()
            .expect("http"),
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        TcpServer::builder()
            .poll_after(Duration::from_secs(5))
            .build()
            .serve(listener, relay, std::future::pending())
            .await
    });
    let provider = cmp_crypto::default_provider();
    for framing in [Framing::V10, Framing::Rfc2510] {
        let t = TcpTransport::builder(&format!("tcp://{addr}"))
            .framing(framing)
            .message_timeout(Duration::from_secs(10))
            .build()
            .expect("tcp");
        let ir = ReceivedMessage::decode(&fixtures::read("pbm-ir/01-ir.der")).expect("fixture");
        let rsp = t
            .exchange(ir.der(), None)
            .await
            .unwrap_or_else(|e| panic!("{framing:?}: {e}\n{}", mock.log()));
        let rsp = ReceivedMessage::decode(&rsp).expect("a PKIMessage came back over TCP");
        assert_eq!(rsp.message().body.name(), "ip", "{framing:?}");
        assert_eq!(
            rsp.message().header.transaction_id,
            ir.message().header.transaction_id
        );
        verify_mac(
            &rsp,
            b"cmp-test-secret-1234",
            &MacLimits::default(),
            provider.primitives.as_ref(),
        )
        .expect("the mock's protection survived the TCP transfer");
    }
}
