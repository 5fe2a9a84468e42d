//! CMP over HTTP with peers nobody here wrote: our client against the `openssl cmp -port`
//! mock (plain, and HTTPS through a socat TLS front), and the `openssl cmp` client against our
//! server half, relaying to the mock.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use cmp_core::asn1::ReceivedMessage;
use cmp_core::protection::{MacLimits, verify_mac};
use cmp_core::transport::{PeerInfo, Responder, Transport};
use cmp_tests::fixtures;
use cmp_tests::openssl_mock::{MockProtection, Server, free_port, openssl_mock, start};
use cmp_transport_http::{
    HttpServer, HttpTransport, TlsClientSettings, TlsServerSettings, read_pem_certificates,
    read_pem_private_key,
};

const SECRET: &[u8] = b"cmp-test-secret-1234";

use fixtures::{pki, tls};

fn plain_client(url: &str) -> HttpTransport {
    HttpTransport::builder(url)
        .no_proxy()
        .message_timeout(Duration::from_secs(10))
        .build()
        .expect("transport")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_exchanges_with_the_openssl_mock() {
    let mock = openssl_mock(MockProtection::Pbm, &[]);
    let t = plain_client(&format!("http://127.0.0.1:{}/pkix/", mock.port));
    let provider = cmp_crypto::default_provider();
    // The replayed certConf's recipNonce cannot match the mock's fresh ip, so the mock answers
    // it with an error message: still a protected CMP answer on a second exchange.
    for (request, expected) in [
        ("pbm-ir/01-ir.der", "ip"),
        ("pbm-ir/03-certConf.der", "error"),
    ] {
        let req = ReceivedMessage::decode(&fixtures::read(request)).expect("fixture");
        let bytes = t
            .exchange(req.der(), None)
            .await
            .unwrap_or_else(|e| panic!("{request}: {e}\n{}", mock.log()));
        let rsp = ReceivedMessage::decode(&bytes).expect("the mock answers a PKIMessage");
        assert_eq!(rsp.message().body.name(), expected, "{request}");
        assert_eq!(
            rsp.message().header.transaction_id,
            req.message().header.transaction_id
        );
        verify_mac(
            &rsp,
            SECRET,
            &MacLimits::default(),
            provider.primitives.as_ref(),
        )
        .expect("the mock's PBM protection verifies");
    }
}

fn socat_front(backend_port: u16) -> Server {
    let cert = tls("server.pem").display().to_string();
    let key = tls("server-key.pem").display().to_string();
    let args = vec![
        format!(
            "OPENSSL-LISTEN:{{port}},bind=127.0.0.1,reuseaddr,fork,cert={cert},key={key},verify=0"
        ),
        format!("TCP:127.0.0.1:{backend_port}"),
    ];
    start("socat", &args, None)
}

fn tls_client(url: &str, trust: &str, name: Option<&str>) -> HttpTransport {
    let mut settings = TlsClientSettings::trusting(&tls(trust)).expect("trust anchors");
    settings.server_name = name.map(str::to_owned);
    HttpTransport::builder(url)
        .no_proxy()
        .message_timeout(Duration::from_secs(10))
        .tls(settings)
        .build()
        .expect("transport")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_through_a_tls_front_that_is_not_ours() {
    let mock = openssl_mock(MockProtection::Pbm, &[]);
    let front = socat_front(mock.port);
    let url = format!("https://127.0.0.1:{}/pkix/", front.port);
    let ir = fixtures::read("pbm-ir/01-ir.der");
    let rsp = tls_client(&url, "ca.pem", None)
        .exchange(&ir, None)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}\n{}", front.log(), mock.log()));
    assert_eq!(
        ReceivedMessage::decode(&rsp)
            .expect("PKIMessage")
            .message()
            .body
            .name(),
        "ip"
    );

    let target = format!("127.0.0.1:{}", front.port);
    let err = tls_client(&url, "other-ca.pem", None)
        .exchange(&ir, None)
        .await
        .expect_err("untrusted");
    assert_eq!(
        err.to_string(),
        format!(
            "TLS with {target} failed: the server certificate is not trusted (unknown issuer; check the TLS trust anchors)"
        )
    );
    let err = tls_client(&url, "ca.pem", Some("wrong.example"))
        .exchange(&ir, None)
        .await
        .expect_err("wrong name");
    assert_eq!(
        err.to_string(),
        format!(
            "TLS with {target} failed: the server certificate is not valid for this host name (check the URL or the expected TLS name)"
        )
    );
}

/// Forwards every request to another CMP server through our client half.
#[derive(Debug)]
struct Relay(HttpTransport);

#[async_trait::async_trait]
impl Responder for Relay {
    async fn respond(&self, request: Vec<u8>, _peer: &PeerInfo) -> Vec<u8> {
        self.0.exchange(&request, None).await.unwrap_or_default()
    }
}

/// Runs our server half (HTTP or HTTPS) relaying to `mock`, in a thread with its own runtime.
fn relay_server(mock_port: u16, tls_on: bool) -> (u16, tokio::sync::oneshot::Sender<()>) {
    let port = free_port();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
                .await
                .expect("bind");
            let mut builder = HttpServer::builder();
            if tls_on {
                builder = builder.tls(TlsServerSettings {
                    chain: read_pem_certificates(&tls("server.pem")).expect("cert"),
                    key: read_pem_private_key(&tls("server-key.pem")).expect("key"),
                    client_trusted: Vec::new(),
                    client_required: false,
                });
            }
            let server = builder.build().expect("server");
            let relay: Arc<dyn Responder> = Arc::new(Relay(plain_client(&format!(
                "http://127.0.0.1:{mock_port}/pkix/"
            ))));
            let _ = ready_tx.send(());
            let _ = server
                .serve(listener, relay, async {
                    let _ = stop_rx.await;
                })
                .await;
        });
    });
    ready_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("server up");
    (port, stop_tx)
}

fn openssl_ir(port: u16, tls_args: &[String], certout: &std::path::Path) -> std::process::Output {
    let mut cmd = Command::new("openssl");
    cmp_tests::process::without_proxies(&mut cmd);
    cmd.args(["cmp", "-config", "", "-batch", "-cmd", "ir"])
        .args(["-server", &format!("127.0.0.1:{port}"), "-path", "pkix/"])
        .args([
            "-ref",
            "client-ref-1234",
            "-secret",
            "pass:cmp-test-secret-1234",
        ])
        .args(["-recipient", "/CN=CMP Test CA/O=cmp-rs test PKI"])
        .args([
            "-newkey",
            &pki("new-key.pem"),
            "-subject",
            "/CN=CMP Test Device/O=cmp-rs test PKI",
        ])
        .arg("-certout")
        .arg(certout)
        .args(tls_args);
    cmd.output()
        .expect("openssl is needed: apt-get install -y openssl")
}

#[test]
fn the_openssl_client_enrolls_through_our_server_half() {
    let mock = openssl_mock(MockProtection::Pbm, &[]);
    let dir = cmp_tests::tools::temp_dir("relay");
    let expected = std::fs::read_to_string(pki("new-cert.pem")).expect("cert");

    let (port, _stop) = relay_server(mock.port, false);
    let certout = dir.join("http.pem");
    let out = openssl_ir(port, &[], &certout);
    assert!(
        out.status.success(),
        "openssl cmp over our HTTP server failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        mock.log()
    );
    assert_eq!(
        std::fs::read_to_string(&certout).expect("certout"),
        expected
    );

    let (tls_port, _stop_tls) = relay_server(mock.port, true);
    let certout = dir.join("https.pem");
    let tls_args = vec![
        "-tls_used".to_owned(),
        "-tls_trusted".to_owned(),
        tls("ca.pem").display().to_string(),
        "-tls_host".to_owned(),
        "localhost".to_owned(),
    ];
    let out = openssl_ir(tls_port, &tls_args, &certout);
    assert!(
        out.status.success(),
        "openssl cmp over our HTTPS server failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        mock.log()
    );
    assert_eq!(
        std::fs::read_to_string(&certout).expect("certout"),
        expected
    );
}
