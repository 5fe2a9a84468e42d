//! The file-drop example plugin (`examples/file-transport`), built with cargo and loaded with
//! the host adapter: a real enrollment (ir with PBM, certConf) through it against the OpenSSL
//! mock CA (`openssl cmp -port`), a courier thread carrying the files to the mock over HTTP;
//! and its timeout and settings errors.

mod support;

use cmp_core::crypto::PrivateKeyExt;
use cmp_tests::courier::courier;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use cmp_core::client::{Driver, Keys, Sleep};
use cmp_core::crypto::SignatureAlgorithm;
use cmp_core::names::parse_name;
use cmp_core::protection::MacSettings;
use cmp_core::transaction::{
    Credentials, Enrollment, EnrollmentKind, EnrollmentRequest, PopoMethod, TransactionConfig,
};
use cmp_crypto::software::read_key_file;
use cmp_plugin::{Plugin, PluginError, PluginStatus};
use cmp_tests::fixtures;
use cmp_tests::mock_ca::{ca_cert, new_cert};
use cmp_tests::openssl_mock::{MockProtection, openssl_mock};
use rasn_pkix::GeneralName;

const SUBJECT: &str = "/CN=CMP Test Device/O=cmp-rs test PKI";

fn lib() -> &'static PathBuf {
    static LIB: OnceLock<PathBuf> = OnceLock::new();
    LIB.get_or_init(|| support::cargo_build("cmp-example-file-transport"))
}

struct TokioSleep;

impl Sleep for TokioSleep {
    fn sleep(&self, d: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(tokio::time::sleep(d))
    }
}

fn config() -> Arc<TransactionConfig> {
    let p = cmp_crypto::default_provider();
    let mut c = TransactionConfig::new(
        p.primitives,
        p.paths,
        Credentials::Mac {
            secret: b"cmp-test-secret-1234".to_vec().into(),
            reference: b"client-ref-1234".to_vec(),
            settings: MacSettings::pbm_default(),
        },
    );
    c.sender = GeneralName::DirectoryName(parse_name(SUBJECT).expect("dn"));
    c.recipient = GeneralName::DirectoryName(ca_cert().subject().clone());
    Arc::new(c)
}

fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ir_with_pbm_through_the_file_drop_plugin_enrolls_at_the_openssl_mock() {
    let plugin = Plugin::load(lib()).expect("load the file transport");
    assert_eq!(plugin.name(), "file");
    let mock = openssl_mock(MockProtection::Pbm, &[]);
    let spool = support::temp_dir("spool");
    let transport = plugin
        .transport(&format!("file://{}", spool.display()))
        .expect("create");

    let stop = Arc::new(AtomicBool::new(false));
    let courier = {
        let (dir, stop) = (spool.clone(), Arc::clone(&stop));
        let url = format!("http://127.0.0.1:{}/pkix/", mock.port);
        std::thread::spawn(move || courier(dir, url, stop))
    };

    let key = read_key_file(&fixtures::openssl_dir().join("pki/new-key.pem"), None).expect("key");
    let request = EnrollmentRequest {
        kind: EnrollmentKind::Ir,
        template: cmp_core::builder::CertTemplateBuilder::new()
            .subject(parse_name(SUBJECT).expect("dn"))
            .build(),
        public_key: Some(key.public_key_info().expect("the key\'s public key")),
        popo: PopoMethod::Signature(SignatureAlgorithm::EcdsaSha256),
        controls: None,
        csr: None,
    };
    let mut tx = Enrollment::new(config(), request).expect("transaction");
    let sleep = TokioSleep;
    let mut sent = Vec::new();
    let result = {
        let mut driver = Driver::new(&transport, &sleep)
            .total_timeout(Some(Duration::from_secs(30)))
            .on_message(|dir, der| {
                if dir == cmp_core::client::Direction::Sent {
                    sent.push(der.to_vec());
                }
            });
        driver
            .run(
                &mut tx,
                Keys {
                    protection: None,
                    new_key: Some(&key),
                },
            )
            .await
    };
    stop.store(true, Ordering::Relaxed);
    let carried = courier.join().expect("the courier");
    let enrolled = result.unwrap_or_else(|e| panic!("enrollment failed: {e}\n{}", mock.log()));

    // The mock's certificate, confirmed with certConf.
    assert_eq!(enrolled.certificate.der(), new_cert().der());
    assert!(enrolled.confirmed);
    assert!(!enrolled.implicitly_confirmed);
    // Two messages (ir, certConf) went through files named by transactionID and sequence.
    assert_eq!(sent.len(), 2);
    let tid = cmp_core::asn1::ReceivedMessage::decode(&sent[0])
        .expect("ir")
        .message()
        .header
        .transaction_id
        .clone()
        .expect("transactionID");
    let pid = std::process::id();
    assert_eq!(
        carried,
        [
            format!("{}-{pid}-1", hex::encode(&tid)),
            format!("{}-{pid}-2", hex::encode(&tid)),
        ]
    );
    // Every file was taken: the spool is empty.
    assert_eq!(files(&spool), Vec::<String>::new());
    assert_eq!(plugin.anomalies(), []);
}

#[test]
fn without_a_courier_the_exchange_times_out_and_withdraws_its_request() {
    let plugin = Plugin::load(lib()).expect("load");
    let spool = support::temp_dir("no-courier");
    let t = plugin
        .transport(&format!("file://{}", spool.display()))
        .expect("create");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let start = Instant::now();
    let e = rt
        .block_on(t.exchange_raw(
            b"not a PKIMessage",
            Some(start + Duration::from_millis(400)),
        ))
        .expect_err("no courier");
    assert!(start.elapsed() < Duration::from_secs(2));
    let PluginError::Status {
        path,
        function: "exchange",
        status: PluginStatus::Timeout,
        message,
    } = &e
    else {
        panic!("{e:?}")
    };
    assert_eq!(path, lib());
    let rsp = spool.join(format!(
        "no-transaction-id-{}-1.rsp.der",
        std::process::id()
    ));
    assert!(
        message.starts_with(&format!("waiting for {} timed out after 0.", rsp.display())),
        "{message}"
    );
    assert_eq!(files(&spool), Vec::<String>::new());
}

#[test]
fn settings_that_are_not_a_file_url_are_refused() {
    let plugin = Plugin::load(lib()).expect("load");
    for (url, reason) in [
        (
            "http://ca.example/pkix/".to_owned(),
            "a file transport URL starts with file://",
        ),
        (
            "file://relative/dir".to_owned(),
            "the directory must be absolute: file:///DIR",
        ),
        (
            format!("file://{}/missing", std::env::temp_dir().display()),
            "the directory does not exist",
        ),
    ] {
        let e = plugin.transport(&url).expect_err("refused");
        assert_eq!(
            e,
            PluginError::Status {
                path: lib().clone(),
                function: "create",
                status: PluginStatus::Error,
                message: format!("invalid server URL {url:?}: {reason}"),
            }
        );
    }
}
