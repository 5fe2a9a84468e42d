//! The library API: a whole cmp-server started in the test's process (as the agent's `demo`
//! runs it) on loopback, with SQLite in a temporary directory, enrolled against over HTTP and
//! TCP by the client driver, then shut down gracefully.

use std::sync::Arc;
use std::time::Duration;

use cmp_core::ClientError;
use cmp_core::builder::CertTemplateBuilder;
use cmp_core::client::{Driver, Keys, Sleep};
use cmp_core::crypto::PrivateKeyExt;
use cmp_core::crypto::{KeySpec, PrivateKey};
use cmp_core::names::parse_name;
use cmp_core::protection::MacSettings;
use cmp_core::transaction::{
    Credentials, Enrollment, EnrollmentKind, EnrollmentRequest, PopoMethod, TransactionConfig,
};
use cmp_core::transport::Transport;
use cmp_crypto::software::SoftwareKey;
use cmp_server::store::CertificateStore;
use cmp_server::{Error, Server, SqliteOptions, SqliteStore};
use cmp_transport_http::HttpTransport;
use cmp_transport_tcp::TcpTransport;
use rasn_pkix::GeneralName;
use zeroize::Zeroizing;

struct TokioSleep;

impl Sleep for TokioSleep {
    fn sleep(
        &self,
        d: Duration,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        Box::pin(tokio::time::sleep(d))
    }
}

const REF: &[u8] = b"in-process-ref";
const SECRET: &[u8] = b"in-process-secret-1234";

async fn enroll(
    server: &Server,
    transport: &dyn Transport,
    cn: &str,
) -> Result<cmp_core::transaction::Enrolled, ClientError> {
    let key = SoftwareKey::generate(KeySpec::EcP256).expect("key");
    let subject = parse_name(&format!("CN={cn}")).expect("dn");
    let p = cmp_crypto::default_provider();
    let mut config = TransactionConfig::new(
        p.primitives,
        p.paths,
        Credentials::Mac {
            secret: SECRET.to_vec().into(),
            reference: REF.to_vec(),
            settings: MacSettings::pbm_default(),
        },
    );
    config.sender = GeneralName::DirectoryName(subject.clone());
    config.trust.trusted = server.ca_certificates().to_vec();
    let request = EnrollmentRequest {
        kind: EnrollmentKind::Ir,
        template: CertTemplateBuilder::new().subject(subject).build(),
        public_key: Some(key.public_key_info().expect("spki")),
        popo: PopoMethod::Signature(key.spec().default_signature_algorithm()),
        controls: None,
        csr: None,
    };
    let mut tx = Enrollment::new(Arc::new(config), request)?;
    let sleep = TokioSleep;
    Driver::new(transport, &sleep)
        .total_timeout(Some(Duration::from_secs(60)))
        .run(
            &mut tx,
            Keys {
                protection: None,
                new_key: Some(&key),
            },
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_in_the_process_enrolls_over_http_and_tcp_and_shuts_down() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::builder()
        .listen("http://127.0.0.1:0/pkix/")
        .listen("tcp://127.0.0.1:0")
        .secret(REF, Zeroizing::new(SECRET.to_vec()))
        .state_dir(dir.path())
        .start()
        .await
        .expect("started");
    assert_eq!(server.urls().len(), 2);
    let http_url = server.url("http").expect("http").to_owned();
    let tcp_url = server.url("tcp").expect("tcp").to_owned();
    assert!(http_url.starts_with("http://127.0.0.1:") && http_url.ends_with("/pkix/"));
    assert!(!http_url.contains(":0/"), "the real port: {http_url}");
    assert!(tcp_url.starts_with("tcp://127.0.0.1:") && !tcp_url.ends_with(":0"));
    assert_eq!(server.ca_certificates().len(), 1);

    let http = HttpTransport::builder(&http_url).build().expect("http");
    let tcp = TcpTransport::builder(&tcp_url).build().expect("tcp");
    let a = enroll(&server, &http, "over http").await.expect("http ir");
    let b = enroll(&server, &tcp, "over tcp").await.expect("tcp ir");
    for (e, cn) in [(&a, "over http"), (&b, "over tcp")] {
        assert_eq!(
            cmp_core::names::format_name(e.certificate.subject()),
            format!("CN={cn}")
        );
        assert_eq!(
            e.certificate.issuer(),
            server.ca_certificates()[0].subject()
        );
    }
    server.shutdown().await.expect("drained");

    // Stopped: nothing accepts any more.
    let port = http_url
        .trim_start_matches("http://127.0.0.1:")
        .trim_end_matches("/pkix/");
    assert!(
        tokio::net::TcpStream::connect(format!("127.0.0.1:{port}"))
            .await
            .is_err(),
        "the listener is closed after shutdown"
    );
    // Both certificates were committed to the state directory.
    let store = SqliteStore::open_in(dir.path(), SqliteOptions::default()).expect("open");
    assert_eq!(store.list(10).expect("list").len(), 2);
}

#[tokio::test]
async fn start_refuses_a_bad_setup_and_binds_nothing() {
    let e = Server::builder().start().await.expect_err("no listener");
    assert!(matches!(e, Error::NoListener), "{e}");
    let e = Server::builder()
        .listen("udp://127.0.0.1:0")
        .start()
        .await
        .expect_err("scheme");
    assert!(
        matches!(&e, Error::Listen { url, .. } if url == "udp://127.0.0.1:0"),
        "{e}"
    );
    let e = Server::builder()
        .listen("https://127.0.0.1:0/")
        .start()
        .await
        .expect_err("tls");
    assert!(matches!(e, Error::Tls { .. }), "{e}");
    // The second address is taken by the first listener of another server: nothing starts.
    let first = Server::builder()
        .listen("tcp://127.0.0.1:0")
        .start()
        .await
        .expect("started");
    let taken = first.url("tcp").expect("tcp").to_owned();
    let e = Server::builder()
        .listen("tcp://127.0.0.1:0")
        .listen(taken.clone())
        .start()
        .await
        .expect_err("address in use");
    assert!(
        matches!(&e, Error::Listen { url, .. } if *url == taken),
        "{e}"
    );
    first.shutdown().await.expect("drained");
}
