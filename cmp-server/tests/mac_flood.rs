//! A flood of maximal-iteration MAC requests (PBMAC1, 1 000 000 PBKDF2 iterations, the highest
//! the server accepts) from many HTTP connections, while signature-protected clients enroll:
//! the signed clients all complete, the MAC requests beyond the derivation pool's queue get
//! `systemUnavail`, and the ones admitted `badMessageCheck` (the flood does not know the
//! secret). The latencies are printed (run with `--nocapture`); only behaviour is asserted.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use cmp_core::asn1::{CmpCertificate, FailureBit, PkiBody, PkiFailureInfo, PkiMessage};
use cmp_core::builder::{CertTemplateBuilder, PkiHeaderBuilder};
use cmp_core::client::{Blocking, Driver, Keys, Sleep};
use cmp_core::crypto::PrivateKeyExt;
use cmp_core::crypto::{KeySpec, PrivateKey, SignatureAlgorithm};
use cmp_core::names::parse_name;
use cmp_core::protection::MacSettings;
use cmp_core::transaction::{
    Credentials, Enrollment, EnrollmentKind, EnrollmentRequest, PopoMethod, TransactionConfig,
};
use cmp_core::transport::Transport;
use cmp_crypto::software::SoftwareKey;
use cmp_server::{DerivationPool, Server};
use cmp_transport_http::HttpTransport;
use rasn_pkix::GeneralName;
use zeroize::Zeroizing;

const FLOOD_CONNECTIONS: usize = 16;
const SIGNED_CLIENTS: usize = 4;
const SIGNED_ENROLLMENTS_EACH: usize = 8;

struct TokioSleep;

impl Sleep for TokioSleep {
    fn sleep(
        &self,
        d: Duration,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        Box::pin(tokio::time::sleep(d))
    }
}

struct TokioBlocking;

impl Blocking for TokioBlocking {
    fn run(
        &self,
        job: Box<dyn FnOnce() + Send>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        Box::pin(async move {
            let _ = tokio::task::spawn_blocking(job).await;
        })
    }
}

fn fixture_cert(name: &str) -> CmpCertificate {
    CmpCertificate::from_der(&cmp_tests::fixtures::read(&format!("pki/{name}"))).expect("cert")
}

/// A genm MAC-protected with the highest accepted PBMAC1 iteration count and a MAC the
/// sender cannot have computed (it does not know the secret).
fn flood_request(n: u64) -> Vec<u8> {
    let settings = MacSettings::Pbmac1 {
        prf: cmp_core::crypto::DigestAlgorithm::Sha256,
        mac: cmp_core::crypto::DigestAlgorithm::Sha256,
        iterations: 1_000_000,
        salt_len: 16,
        key_len: 32,
    };
    let mut tid = [0u8; 16];
    tid[..8].copy_from_slice(&n.to_be_bytes());
    let header = PkiHeaderBuilder::new()
        .sender_name(parse_name("CN=flood").expect("dn"))
        .transaction_id(tid.to_vec())
        .sender_nonce(vec![7u8; 16])
        .sender_kid(b"flood-ref".to_vec())
        .protection_alg(settings.algorithm_identifier(&[9u8; 16]).expect("alg"))
        .build();
    let mut msg = PkiMessage::new(header, PkiBody::Genm(Vec::new()));
    msg.protection = Some(rasn::types::BitString::from_vec(vec![0u8; 32]));
    msg.to_der().expect("der")
}

fn fail_info(response: &[u8]) -> Option<PkiFailureInfo> {
    let msg = cmp_core::asn1::ReceivedMessage::decode(response)
        .ok()?
        .into_message();
    match msg.body {
        PkiBody::Error(e) => e.pki_status_info.fail_info,
        _ => None,
    }
}

async fn signed_enroll(
    url: &str,
    roots: &[CmpCertificate],
    vendor: &CmpCertificate,
    vendor_key: &dyn PrivateKey,
) -> Duration {
    let transport = HttpTransport::builder(url).build().expect("http");
    let key = SoftwareKey::generate(KeySpec::EcP256).expect("key");
    let p = cmp_crypto::default_provider();
    let mut config = TransactionConfig::new(
        p.primitives,
        p.paths,
        Credentials::Signature {
            cert: vendor.clone(),
            chain: Vec::new(),
            alg: SignatureAlgorithm::EcdsaSha256,
        },
    );
    config.sender = GeneralName::DirectoryName(vendor.subject().clone());
    config.recipient = GeneralName::DirectoryName(roots[0].subject().clone());
    config.trust.trusted = roots.to_vec();
    let request = EnrollmentRequest {
        kind: EnrollmentKind::Ir,
        template: CertTemplateBuilder::new()
            .subject(parse_name("CN=signed device").expect("dn"))
            .build(),
        public_key: Some(key.public_key_info().expect("spki")),
        popo: PopoMethod::Signature(SignatureAlgorithm::EcdsaSha256),
        controls: None,
        csr: None,
    };
    let mut tx = Enrollment::new(Arc::new(config), request).expect("tx");
    let (sleep, blocking) = (TokioSleep, TokioBlocking);
    let start = Instant::now();
    Driver::new(&transport, &sleep)
        .blocking(&blocking)
        .total_timeout(Some(Duration::from_secs(120)))
        .run(
            &mut tx,
            Keys {
                protection: Some(vendor_key),
                new_key: Some(&key),
            },
        )
        .await
        .expect("a signed client is answered");
    start.elapsed()
}

/// Runs the signed clients to their end; their latencies, sorted.
async fn signed_phase(
    url: &str,
    roots: &[CmpCertificate],
    vendor: &CmpCertificate,
    vendor_key: &Arc<dyn PrivateKey>,
) -> Vec<Duration> {
    let mut signed = tokio::task::JoinSet::new();
    for _ in 0..SIGNED_CLIENTS {
        let (url, roots, vendor, vendor_key) = (
            url.to_owned(),
            roots.to_vec(),
            vendor.clone(),
            vendor_key.clone(),
        );
        signed.spawn(async move {
            let mut latencies = Vec::new();
            for _ in 0..SIGNED_ENROLLMENTS_EACH {
                latencies.push(signed_enroll(&url, &roots, &vendor, vendor_key.as_ref()).await);
            }
            latencies
        });
    }
    let mut latencies = Vec::new();
    while let Some(l) = signed.join_next().await {
        latencies.extend(l.expect("a signed client"));
    }
    assert_eq!(latencies.len(), SIGNED_CLIENTS * SIGNED_ENROLLMENTS_EACH);
    latencies.sort();
    latencies
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mac_flood_leaves_signed_clients_served_and_overflow_gets_system_unavail() {
    let server = Server::builder()
        .listen("http://127.0.0.1:0/pkix/")
        .secret("flood-ref", Zeroizing::new(b"the real secret".to_vec()))
        .trusted([fixture_cert("ca-cert.der")])
        .derivation_pool(DerivationPool::new(1, 2))
        .start()
        .await
        .expect("started");
    let url = server.url("http").expect("http").to_owned();
    let roots = server.ca_certificates().to_vec();

    let vendor = fixture_cert("vendor-cert.der");
    let vendor_key: Arc<dyn PrivateKey> = Arc::new(
        cmp_crypto::software::read_key_file(
            &cmp_tests::fixtures::openssl_dir().join("pki/vendor-key.pem"),
            None,
        )
        .expect("key"),
    );
    // The same clients without a flood, for comparison.
    let quiet = signed_phase(&url, &roots, &vendor, &vendor_key).await;

    let stop = Arc::new(AtomicBool::new(false));
    let mut flood = tokio::task::JoinSet::new();
    for c in 0..FLOOD_CONNECTIONS {
        let (url, stop) = (url.clone(), stop.clone());
        flood.spawn(async move {
            let transport = HttpTransport::builder(&url).build().expect("http");
            let (mut unavail, mut bad_check, mut unavail_latency) = (0usize, 0usize, Vec::new());
            let mut n = (c as u64) << 32;
            while !stop.load(Ordering::SeqCst) {
                n += 1;
                let sent = Instant::now();
                let response = transport
                    .exchange(&flood_request(n), None)
                    .await
                    .expect("the server answers every flood request");
                let bits = fail_info(&response).expect("an error message");
                if bits == PkiFailureInfo::from_bits([FailureBit::SystemUnavail]) {
                    unavail += 1;
                    unavail_latency.push(sent.elapsed());
                } else if bits == PkiFailureInfo::from_bits([FailureBit::BadMessageCheck]) {
                    bad_check += 1;
                } else {
                    panic!("unexpected failInfo {bits:?}");
                }
                transport.end_transaction();
            }
            (unavail, bad_check, unavail_latency)
        });
    }
    // Let the pool fill up.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let latencies = signed_phase(&url, &roots, &vendor, &vendor_key).await;
    stop.store(true, Ordering::SeqCst);
    let (mut unavail, mut bad_check, mut unavail_latency) = (0, 0, Vec::new());
    while let Some(r) = flood.join_next().await {
        let (u, b, l) = r.expect("a flood connection");
        unavail += u;
        bad_check += b;
        unavail_latency.extend(l);
    }
    server.shutdown().await.expect("drained");

    assert!(
        unavail > 0,
        "the requests beyond the queue get systemUnavail"
    );
    assert!(
        bad_check > 0,
        "the admitted ones are derived and fail the MAC check"
    );
    unavail_latency.sort();
    println!(
        "signed enrollments (ir + certConf) without a flood: n={} p50={:?} p99={:?}",
        quiet.len(),
        percentile(&quiet, 0.50),
        percentile(&quiet, 0.99),
    );
    println!(
        "signed enrollments (ir + certConf) under the MAC flood: n={} p50={:?} p99={:?} max={:?}",
        latencies.len(),
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        latencies[latencies.len() - 1]
    );
    println!(
        "flood: {unavail} systemUnavail (p50={:?} p99={:?}), {bad_check} badMessageCheck after a full derivation",
        percentile(&unavail_latency, 0.50),
        percentile(&unavail_latency, 0.99),
    );
}
