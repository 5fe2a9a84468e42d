//! One client of the load: its transport, its credentials, and one enrollment at a time, run
//! to the end as a correct client runs it.

use cmp_core::crypto::PrivateKeyExt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cmp_core::ClientError;
use cmp_core::asn1::CmpCertificate;
use cmp_core::builder::CertTemplateBuilder;
use cmp_core::client::{Driver, Keys, Sleep};
use cmp_core::crypto::{KeySpec, PrivateKey};
use cmp_core::names::parse_name;
use cmp_core::transaction::{
    Credentials, Enrollment, EnrollmentKind, EnrollmentRequest, PopoMethod, TransactionConfig,
};
use cmp_core::transport::Transport;
use cmp_crypto::software::SoftwareKey;
use rasn_pkix::GeneralName;

use crate::stats::Outcome;

/// Sleeping on tokio (polling waits).
#[derive(Debug)]
pub(crate) struct TokioSleep;

impl Sleep for TokioSleep {
    fn sleep(
        &self,
        d: Duration,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        Box::pin(tokio::time::sleep(d))
    }
}

/// What every client shares.
pub(crate) struct Plan {
    /// How requests are protected.
    pub(crate) credentials: Credentials,
    /// The key of signature credentials.
    pub(crate) protection_key: Option<Arc<dyn PrivateKey>>,
    /// Trust anchors for signed responses.
    pub(crate) trusted: Vec<CmpCertificate>,
    /// Ask for implicit confirmation.
    pub(crate) implicit_confirm: bool,
    /// Bounds one whole enrollment.
    pub(crate) timeout: Duration,
}

/// Enrolls a fresh EC P-256 key for `CN=cmp-load-<n>` over `transport`; returns how it ended
/// and how long it took.
pub(crate) async fn enroll_one(
    plan: &Plan,
    transport: &dyn Transport,
    n: u64,
) -> (Outcome, Duration) {
    let start = Instant::now();
    let outcome = match enroll(plan, transport, n).await {
        Ok(()) => Outcome::Accepted,
        Err(ClientError::CertificateRefused { .. } | ClientError::Refused(_)) => Outcome::Rejected,
        Err(e) => Outcome::Failed(e.to_string()),
    };
    (outcome, start.elapsed())
}

async fn enroll(plan: &Plan, transport: &dyn Transport, n: u64) -> Result<(), ClientError> {
    let key = SoftwareKey::generate(KeySpec::EcP256)?;
    let subject = parse_name(&format!("/CN=cmp-load-{n}/O=cmp-rs load"))
        .map_err(|e| ClientError::Local(e.to_string()))?;
    let provider = cmp_crypto::default_provider();
    let mut config = TransactionConfig::new(
        provider.primitives,
        provider.paths,
        plan.credentials.clone(),
    );
    if let Credentials::Mac { .. } = &plan.credentials {
        config.sender = GeneralName::DirectoryName(subject.clone());
    } else if let Credentials::Signature { cert, .. } = &plan.credentials {
        config.sender = GeneralName::DirectoryName(cert.subject().clone());
    }
    config.trust.trusted = plan.trusted.clone();
    config.implicit_confirm = plan.implicit_confirm;
    let request = EnrollmentRequest {
        kind: EnrollmentKind::Ir,
        template: CertTemplateBuilder::new().subject(subject).build(),
        public_key: Some(key.public_key_info().expect("the key\'s public key")),
        popo: PopoMethod::Signature(key.spec().default_signature_algorithm()),
        controls: None,
        csr: None,
    };
    let mut tx = Enrollment::new(Arc::new(config), request)?;
    // The transaction's MAC key (PBM with OpenSSL's 500 iterations: a few dozen microseconds,
    // once per transaction) is derived inline, on the client's task: a load generator has no
    // other work for the thread to keep responsive, and a hop to the blocking pool and back
    // cost more CPU than the derivation (measured with scripts/bench-server.sh).
    let sleep = TokioSleep;
    let mut driver = Driver::new(transport, &sleep).total_timeout(Some(plan.timeout));
    driver
        .run(
            &mut tx,
            Keys {
                protection: plan.protection_key.as_deref(),
                new_key: Some(&key),
            },
        )
        .await
        .map(|_| ())
}
