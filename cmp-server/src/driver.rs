//! [`CmpServer`]: runs the engine's steps against an issuer, a transaction store and the
//! response key.

use std::sync::Arc;
use std::time::SystemTime;

use cmp_core::crypto::PrivateKey;
use cmp_core::protection::MacKeyDerivation;
use cmp_core::server::{
    Exchange, Issuer, Requester, ServerConfig, ServerError, ServerStep, StoreError,
    TransactionStore,
};
use cmp_core::transport::{PeerInfo, Responder};

use cmp_core::asn1::CmpCertificate;
use cmp_core::names::format_name;

use crate::audit::Done;
use crate::derive_pool::DerivationPool;
use crate::mac_cache::{MacKeyCache, cache_key};
use crate::store::{QueuedStore, off_worker, serial_hex};

/// The content octets of a DER INTEGER.
fn integer_octets(i: &rasn::types::Integer) -> Vec<u8> {
    rasn::der::encode(i)
        .ok()
        .and_then(|der| {
            cmp_core::der::Reader::new(&der, 0)
                .read()
                .ok()
                .map(|t| t.value.to_vec())
        })
        .unwrap_or_default()
}

/// The most steps one exchange may take (a request needs at most six).
pub const MAX_STEPS: usize = 16;

/// A CMP server: the engine's configuration, the issuer, the transaction store and the key of
/// the response signer.
#[derive(Debug, Clone)]
pub struct CmpServer {
    config: Arc<ServerConfig>,
    issuer: Arc<dyn Issuer>,
    store: Arc<dyn TransactionStore>,
    /// The same store, when it queues its writes ([`CmpServer::with_queued_store`]).
    queued: Option<Arc<dyn QueuedStore>>,
    signing_key: Option<Arc<dyn PrivateKey>>,
    derivations: DerivationPool,
    /// The MAC keys of recent transactions: a certConf costs no second derivation.
    mac_keys: Arc<MacKeyCache>,
}

impl CmpServer {
    /// A server. `signing_key` is the key of `config.signer` (needed when one is configured).
    /// MAC keys handed out as [`ServerStep::DeriveMacKey`] (with
    /// [`MacDerivation::Step`](cmp_core::server::MacDerivation::Step)) are derived on a
    /// default [`DerivationPool`]; see [`CmpServer::with_derivation_pool`].
    pub fn new(
        config: Arc<ServerConfig>,
        issuer: Arc<dyn Issuer>,
        store: Arc<dyn TransactionStore>,
        signing_key: Option<Arc<dyn PrivateKey>>,
    ) -> Self {
        CmpServer {
            config,
            issuer,
            store,
            queued: None,
            signing_key,
            derivations: DerivationPool::default(),
            mac_keys: Arc::new(MacKeyCache::default()),
        }
    }

    /// The same server reaching its transaction store through `queued` — the same store
    /// (e.g. the [`SqliteStore`](crate::SqliteStore) given to [`CmpServer::new`]) — to await
    /// its writes without holding a blocking thread and read on the async worker.
    pub fn with_queued_store(mut self, queued: Arc<dyn QueuedStore>) -> Self {
        self.queued = Some(queued);
        self
    }

    /// The same server deriving MAC keys on `pool`.
    pub fn with_derivation_pool(mut self, pool: DerivationPool) -> Self {
        self.derivations = pool;
        self
    }

    /// Where MAC keys are derived.
    pub fn derivation_pool(&self) -> &DerivationPool {
        &self.derivations
    }

    /// The engine's configuration.
    pub fn config(&self) -> &Arc<ServerConfig> {
        &self.config
    }

    /// The response to `request` at `now`: runs the exchange's steps until it responds.
    /// Every decision is logged as an audit line (`tracing`, target `audit`).
    pub async fn respond_at(&self, request: Vec<u8>, now: SystemTime, peer: &PeerInfo) -> Vec<u8> {
        let mut exchange = Exchange::new(self.config.clone(), request, peer.clone());
        let mut done = Done::default();
        let response = match self.run(&mut exchange, now, &mut done).await {
            Ok(bytes) => bytes,
            Err(e) => {
                tracing::warn!(target: "audit", error = %e, "the exchange failed: systemFailure");
                exchange.failure_response(&e)
            }
        };
        crate::audit::log(&exchange, peer, &done, &response);
        response
    }

    async fn run(
        &self,
        exchange: &mut Exchange,
        now: SystemTime,
        done: &mut Done,
    ) -> Result<Vec<u8>, ServerError> {
        let mut step = exchange.start(now)?;
        for _ in 0..MAX_STEPS {
            step = match step {
                ServerStep::Respond(bytes) => return Ok(bytes),
                ServerStep::Load { transaction_id } => {
                    let loaded = match &self.queued {
                        Some(queued) => queued.load_transaction(&transaction_id, now),
                        None => {
                            let store = self.store.clone();
                            off_worker(store.is_blocking(), move || {
                                store.load(&transaction_id, now)
                            })
                            .await
                            .unwrap_or_else(|e| Err(StoreError::Backend(e.to_string())))
                        }
                    };
                    exchange.on_loaded(loaded)?
                }
                ServerStep::Save { record, expected } => {
                    let saved = match &self.queued {
                        Some(queued) => queued.save_transaction(record, expected, now).await,
                        None => {
                            let store = self.store.clone();
                            off_worker(store.is_blocking(), move || {
                                store.save(record, expected, now)
                            })
                            .await
                            .unwrap_or_else(|e| Err(StoreError::Backend(e.to_string())))
                        }
                    };
                    exchange.on_saved(saved)?
                }
                ServerStep::DeriveMacKey(derivation) => {
                    self.mac_key(exchange, derivation, now).await?
                }
                ServerStep::LookupCertificate { serial } => {
                    exchange.on_certificate(self.issuer.certificate(&serial).await)?
                }
                ServerStep::Issue(request) => {
                    let issued = self.issuer.issue(&request).await;
                    if let Ok(i) = &issued {
                        done.issued = CmpCertificate::from_der(&i.certificate).ok().map(|c| {
                            (
                                serial_hex(&integer_octets(c.serial_number())),
                                format_name(c.subject()),
                            )
                        });
                    }
                    exchange.on_issued(issued)?
                }
                ServerStep::Revoke { serial, reason } => {
                    let revoked = self.issuer.revoke(&serial, reason, now).await;
                    if revoked.is_ok() {
                        done.revoked = Some(serial_hex(&serial));
                    }
                    exchange.on_revoked(revoked)?
                }
                ServerStep::CurrentCrl => exchange.on_crl(self.issuer.crl(now).await)?,
                ServerStep::Sign { alg, data } => {
                    let key = self.signing_key.as_ref().ok_or_else(|| {
                        ServerError::Config("a response signer without its key".into())
                    })?;
                    let signature = key
                        .sign(alg, &data)
                        .await
                        .map_err(|e| ServerError::Build(format!("signing the response: {e}")))?;
                    exchange.on_signature(signature)?
                }
                other => {
                    return Err(ServerError::Build(format!(
                        "the driver does not know the step {other:?}"
                    )));
                }
            };
        }
        Err(ServerError::Build(format!(
            "the exchange took more than {MAX_STEPS} steps"
        )))
    }
}

impl CmpServer {
    /// The MAC key the exchange asked for: from the cache when a request of the same
    /// senderKID with the same `protectionAlg` (salt included) passed its MAC check lately,
    /// else derived on the pool — and kept once it checked this request's MAC.
    async fn mac_key(
        &self,
        exchange: &mut Exchange,
        derivation: MacKeyDerivation,
        now: SystemTime,
    ) -> Result<ServerStep, ServerError> {
        let reference = exchange
            .request()
            .and_then(|m| m.header.sender_kid.as_deref())
            .map(<[u8]>::to_vec);
        let alg = rasn::der::encode(derivation.algorithm_identifier()).ok();
        let key = match (&reference, alg) {
            (Some(reference), Some(alg)) => Some(cache_key(reference, &alg)),
            _ => None,
        };
        if let Some(cached) = key.as_deref().and_then(|k| self.mac_keys.get(k, now)) {
            return exchange.on_mac_key(Ok(cached));
        }
        let derived = self.derivations.derive(derivation).await;
        let kept = derived.as_ref().ok().cloned();
        let step = exchange.on_mac_key(derived)?;
        if let (Some(key), Some(mac_key), Some(Requester::Reference(r))) =
            (key, kept, exchange.authenticated())
        {
            // Only a key that checked a MAC of this senderKID is kept.
            if reference.as_deref() == Some(r.as_slice()) {
                self.mac_keys.insert(key, mac_key, now);
            }
        }
        Ok(step)
    }
}

#[async_trait::async_trait]
impl Responder for CmpServer {
    async fn respond(&self, request: Vec<u8>, peer: &PeerInfo) -> Vec<u8> {
        self.respond_at(request, SystemTime::now(), peer).await
    }
}
