//! The async driver: runs a sans-IO [`Transaction`] over a [`Transport`], signing with the
//! keys it is given, sleeping through polling waits, and bounding the whole transaction.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use std::sync::{Arc, Mutex};

use crate::asn1::{FailureBit, PVNO_CMP2000, PVNO_CMP2021};
use crate::clock::{Clock, SystemClock};
use crate::crypto::PrivateKey;
use crate::error::ClientError;
use crate::protection::{MacKey, MacKeyDerivation};
use crate::storage::{Credential, IdentityName, Storage, StoredKey};
use crate::transaction::{SignPurpose, Step, Transaction, TransactionConfig};
use crate::transport::Transport;

/// Sleeping, provided by the application's runtime (the core has no timer of its own).
pub trait Sleep: Send + Sync {
    /// A future that completes after `duration`.
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>>;
}

/// Runs blocking work — a MAC key derivation: PBM's iterated hash or PBMAC1's PBKDF2, up to
/// about a second of CPU — where blocking is fine, provided by the application's runtime
/// (the core has no threads of its own). With tokio, bounded by a semaphore:
///
/// ```text
/// struct TokioBlocking(Arc<tokio::sync::Semaphore>);
/// impl Blocking for TokioBlocking {
///     fn run(&self, job: Box<dyn FnOnce() + Send>) -> Pin<Box<dyn Future<Output = ()> + Send>> {
///         let permits = self.0.clone();
///         Box::pin(async move {
///             let Ok(_permit) = permits.acquire_owned().await else { return };
///             let _ = tokio::task::spawn_blocking(job).await;
///         })
///     }
/// }
/// ```
pub trait Blocking: Send + Sync {
    /// Runs `job` to its end on a thread where it may block; the future completes once it
    /// has run (a job that never ran is reported as a local error).
    fn run(&self, job: Box<dyn FnOnce() + Send>) -> Pin<Box<dyn Future<Output = ()> + Send>>;
}

/// [`Blocking`] work run **inline**, inside the driver's future: the derivation blocks the
/// thread that polls it. The driver's default — right for a one-shot command on a runtime of
/// its own, wrong for a server or a daemon with other work on the same executor (give it a
/// blocking pool with [`Driver::blocking`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct InlineBlocking;

impl Blocking for InlineBlocking {
    fn run(&self, job: Box<dyn FnOnce() + Send>) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(async move { job() })
    }
}

/// The most MAC keys the driver derives before one call of a transaction (ours and the
/// response's).
const MAX_DERIVATIONS_PER_CALL: usize = 4;

/// Which way a message went, for [`Driver::on_message`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// We sent it.
    Sent,
    /// We received it.
    Received,
}

/// The keys a transaction may ask to sign with.
#[derive(Clone, Copy, Default)]
pub struct Keys<'a> {
    /// The key protecting our messages (signature credentials).
    pub protection: Option<&'a dyn PrivateKey>,
    /// The new key (proof of possession).
    pub new_key: Option<&'a dyn PrivateKey>,
}

/// How often a transaction is tried again after the failures RFC 9810 names as transient.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// How many times to back off after `systemUnavail` (default 2: three tries in all).
    pub max_backoffs: u32,
    /// The first back-off; it doubles each time (default 1 s).
    pub first_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_backoffs: 2,
            first_backoff: Duration::from_secs(1),
        }
    }
}

/// A callback that sees every message.
type MessageHook<'a> = Box<dyn FnMut(Direction, &[u8]) + Send + 'a>;

/// A callback that sees every warning.
type WarningHook<'a> = Box<dyn FnMut(&str) + Send + 'a>;

/// Where the driver keeps an issued certificate: the store, the identity, and the key that
/// goes with the certificate.
struct StorageTarget<'a> {
    store: &'a dyn Storage,
    name: IdentityName,
    key: Option<StoredKey>,
}

/// Runs transactions.
pub struct Driver<'a> {
    transport: &'a dyn Transport,
    sleep: &'a dyn Sleep,
    total_timeout: Option<Duration>,
    on_message: Option<MessageHook<'a>>,
    on_warning: Option<WarningHook<'a>>,
    clock: &'a dyn Clock,
    storage: Option<StorageTarget<'a>>,
    blocking: &'a dyn Blocking,
}

impl<'a> Driver<'a> {
    /// A driver over `transport`, sleeping with `sleep`.
    pub fn new(transport: &'a dyn Transport, sleep: &'a dyn Sleep) -> Self {
        Driver {
            transport,
            sleep,
            total_timeout: None,
            on_message: None,
            on_warning: None,
            clock: &SystemClock,
            storage: None,
            blocking: &InlineBlocking,
        }
    }

    /// Derives MAC keys with `blocking` (default [`InlineBlocking`]: in the driver's future).
    /// The driver asks the transaction for every key it needs
    /// ([`Transaction::mac_key_needed`]) before the call that would derive it inline.
    pub fn blocking(mut self, blocking: &'a dyn Blocking) -> Self {
        self.blocking = blocking;
        self
    }

    /// Keeps issued certificates in `storage` as the identity `name`, with `key` (the new
    /// key, as the store is to keep it; `None` when it keeps none): staged before certConf is
    /// sent, committed when the transaction succeeds, marked unconfirmed when it fails after
    /// staging.
    pub fn storage(
        mut self,
        storage: &'a dyn Storage,
        name: IdentityName,
        key: Option<StoredKey>,
    ) -> Self {
        self.storage = Some(StorageTarget {
            store: storage,
            name,
            key,
        });
        self
    }

    /// Bounds the whole transaction, polling waits included.
    pub fn total_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.total_timeout = timeout;
        self
    }

    /// Sees every message sent and received (for `--reqout`/`--rspout`).
    pub fn on_message(mut self, f: impl FnMut(Direction, &[u8]) + Send + 'a) -> Self {
        self.on_message = Some(Box::new(f));
        self
    }

    /// Takes the time from `clock` (default: the system's clocks): the wall-clock time handed
    /// to the transaction, and the monotonic time for the total timeout.
    pub fn clock(mut self, clock: &'a dyn Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Sees every warning of a transaction ([`Transaction::take_warnings`]): a response
    /// accepted although its protection failed, under `unprotected_errors`. An application
    /// should show them to the operator.
    pub fn on_warning(mut self, f: impl FnMut(&str) + Send + 'a) -> Self {
        self.on_warning = Some(Box::new(f));
        self
    }

    /// Runs a new transaction made by `make` until it succeeds or fails for good, following
    /// the retry rules of RFC 9810: `transactionIdInUse` → once more with a new transaction
    /// (a new transactionID); `systemUnavail` → back off (doubling) and try again, as `policy`
    /// allows; `unsupportedVersion` → once more with the pvno the server's answer carries.
    pub async fn run_with_retries<T, F>(
        &mut self,
        config: &TransactionConfig,
        mut make: F,
        keys: Keys<'_>,
        policy: RetryPolicy,
    ) -> Result<T::Output, ClientError>
    where
        T: Transaction,
        F: FnMut(Arc<TransactionConfig>) -> Result<T, ClientError>,
    {
        let mut config = config.clone();
        let (mut tid_retried, mut version_retried, mut backoffs) = (false, false, 0u32);
        loop {
            let mut tx = make(Arc::new(config.clone()))?;
            let refusal = match self.run(&mut tx, keys).await {
                Err(ClientError::Refused(r)) => r,
                other => return other,
            };
            if refusal.has(FailureBit::TransactionIdInUse) && !tid_retried {
                tid_retried = true;
            } else if refusal.has(FailureBit::SystemUnavail) && backoffs < policy.max_backoffs {
                let wait = policy.first_backoff.saturating_mul(1 << backoffs.min(16));
                backoffs += 1;
                self.sleep.sleep(wait).await;
            } else if refusal.has(FailureBit::UnsupportedVersion)
                && !version_retried
                && refusal.pvno != config.pvno
                && (refusal.pvno == PVNO_CMP2000 || refusal.pvno == PVNO_CMP2021)
            {
                version_retried = true;
                config.pvno = refusal.pvno;
            } else {
                return Err(ClientError::Refused(refusal));
            }
        }
    }

    /// Drives `tx` to its end.
    ///
    /// With [`Driver::storage`], the new certificate is staged before certConf is sent,
    /// committed on success and marked unconfirmed on a failure after staging; with implicit
    /// confirmation (no certConf) it is installed at once ([`Storage::install`]).
    ///
    /// Cancellation-safe: dropping the future never leaves a half-written file (storage
    /// writes are atomic); at worst a staged certificate remains, which
    /// [`Storage::load`] reports as pending.
    pub async fn run<T: Transaction>(
        &mut self,
        tx: &mut T,
        keys: Keys<'_>,
    ) -> Result<T::Output, ClientError> {
        let mut staged = false;
        let result = self.run_inner(tx, keys, &mut staged).await;
        self.transport.end_transaction();
        if staged {
            if let Some(t) = &self.storage {
                match &result {
                    Ok(_) => t.store.commit(&t.name).await?,
                    Err(e) => {
                        // Keep the transaction's own failure in view: it is why the
                        // certificate had to be marked unconfirmed.
                        if let Err(storage) =
                            t.store.mark_unconfirmed(&t.name, &e.to_string()).await
                        {
                            return Err(ClientError::Local(format!(
                                "{storage}; the transaction had failed: {e}"
                            )));
                        }
                    }
                }
            }
        }
        result
    }

    /// The transaction loop; sets `staged` once a certificate was staged.
    async fn run_inner<T: Transaction>(
        &mut self,
        tx: &mut T,
        keys: Keys<'_>,
        staged: &mut bool,
    ) -> Result<T::Output, ClientError> {
        let clock = self.clock;
        let blocking = self.blocking;
        let start = clock.instant();
        let deadline = self.total_timeout.map(|t| start + t);
        let timeout_error = || ClientError::TotalTimeout {
            seconds: self.total_timeout.map_or(0, |t| t.as_secs()),
        };
        feed_mac_keys(blocking, tx, None).await?;
        let mut step = tx.start(clock.now())?;
        // Every step makes progress; bound the loop anyway.
        for _ in 0..100_000 {
            if deadline.is_some_and(|d| clock.instant() >= d) {
                return Err(timeout_error());
            }
            step = match step {
                Step::Done(out) => return Ok(out),
                Step::Sign { purpose, alg, data } => {
                    let (key, missing) = match purpose {
                        SignPurpose::Protection => (
                            keys.protection,
                            "no protection key was given to sign the request",
                        ),
                        SignPurpose::ProofOfPossession => (
                            keys.new_key,
                            "no new key was given for the proof of possession",
                        ),
                    };
                    let key = key.ok_or_else(|| ClientError::Local(missing.into()))?;
                    let signature = key.sign(alg, &data).await?;
                    feed_mac_keys(blocking, tx, None).await?;
                    tx.on_signature(signature, clock.now())?
                }
                Step::Send(request) => {
                    if let Some(f) = self.on_message.as_mut() {
                        f(Direction::Sent, &request);
                    }
                    let response = self.transport.exchange(&request, deadline).await?;
                    if let Some(f) = self.on_message.as_mut() {
                        f(Direction::Received, &response);
                    }
                    feed_mac_keys(blocking, tx, Some(&response)).await?;
                    let next = tx.on_response(&response, clock.now());
                    if let Some(f) = self.on_warning.as_mut() {
                        for w in tx.take_warnings() {
                            f(&w);
                        }
                    }
                    next?
                }
                Step::Stage { certificate, chain } => {
                    // What follows decides how the certificate is written: when nothing
                    // does (implicit confirmation) it is installed at once; before a
                    // certConf it is staged first — and when anything fails on the way, it
                    // is staged too, so that it is kept (as unconfirmed).
                    let next = match feed_mac_keys(blocking, tx, None).await {
                        Ok(()) => tx.on_staged(clock.now()),
                        Err(e) => Err(e),
                    };
                    if let Some(t) = &self.storage {
                        let credential = Credential {
                            key: t.key.clone(),
                            certificate: certificate.der().to_vec(),
                            // extraCerts, without the certificate itself.
                            chain: chain
                                .iter()
                                .filter(|c| c.der() != certificate.der())
                                .map(|c| c.der().to_vec())
                                .collect(),
                        };
                        if matches!(next, Ok(Step::Done(_))) {
                            t.store.install(&t.name, &credential).await?;
                        } else {
                            t.store.stage(&t.name, &credential).await?;
                            *staged = true;
                        }
                    }
                    next?
                }
                Step::Wait(wait) => {
                    if let Some(d) = deadline {
                        if clock.instant() + wait > d {
                            return Err(timeout_error());
                        }
                    }
                    self.sleep.sleep(wait).await;
                    feed_mac_keys(blocking, tx, None).await?;
                    tx.on_wait_elapsed(clock.now())?
                }
            };
        }
        Err(ClientError::Local("the transaction did not end".into()))
    }
}

/// Derives the keys `tx` needs before its next call (with `response`: before `on_response`)
/// with `blocking`, and hands them over.
async fn feed_mac_keys<T: Transaction>(
    blocking: &dyn Blocking,
    tx: &mut T,
    response: Option<&[u8]>,
) -> Result<(), ClientError> {
    for _ in 0..MAX_DERIVATIONS_PER_CALL {
        let Some(derivation) = tx.mac_key_needed(response) else {
            return Ok(());
        };
        tx.on_mac_key(derive(blocking, derivation).await?);
    }
    Ok(())
}

/// One derivation on `blocking`.
async fn derive(
    blocking: &dyn Blocking,
    derivation: MacKeyDerivation,
) -> Result<MacKey, ClientError> {
    let slot: Arc<Mutex<Option<Result<MacKey, crate::error::ProtectionError>>>> =
        Arc::new(Mutex::new(None));
    let out = slot.clone();
    blocking
        .run(Box::new(move || {
            let key = derivation.derive();
            if let Ok(mut s) = out.lock() {
                *s = Some(key);
            }
        }))
        .await;
    let result = slot.lock().ok().and_then(|mut s| s.take());
    match result {
        Some(Ok(key)) => Ok(key),
        Some(Err(e)) => Err(ClientError::Local(format!("deriving a MAC key: {e}"))),
        None => Err(ClientError::Local(
            "the blocking pool did not run the MAC key derivation".into(),
        )),
    }
}
