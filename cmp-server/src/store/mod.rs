//! Where the server keeps its state: the [`CertificateStore`] of the built-in CA (issued
//! certificates, serial uniqueness, revocations) beside cmp-core's
//! [`TransactionStore`](cmp_core::server::TransactionStore), in memory ([`MemoryCertificates`],
//! [`MemoryStore`](cmp_core::server::MemoryStore)) or in one SQLite file ([`SqliteStore`],
//! both traits).
//!
//! The traits are synchronous: a store that does IO says so ([`CertificateStore::is_blocking`],
//! [`TransactionStore::is_blocking`](cmp_core::server::TransactionStore::is_blocking)), and the
//! driver and the CA then call it on tokio's blocking pool, never on an async worker thread.

mod sql;
mod sqlite;
mod writer;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use cmp_core::asn1::CrlReason;

pub use sqlite::{DB_FILE, QueuedStore, SqliteOptions, SqliteStore, Synchronous, WriteStats};

use crate::error::Error;

/// A revocation as recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RevocationRecord {
    /// When the certificate was revoked.
    pub revoked_at: SystemTime,
    /// The reason given, if any.
    pub reason: Option<CrlReason>,
}

/// A certificate the CA issued, as the store keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCertificate {
    /// The serial number (DER INTEGER content octets); unique in the store.
    pub serial: Vec<u8>,
    /// The certificate (DER).
    pub certificate: Vec<u8>,
    /// Its subject, as text (for operators).
    pub subject: String,
    /// The end of its validity.
    pub not_after: SystemTime,
    /// When it was issued.
    pub issued_at: SystemTime,
    /// Its revocation, if it was revoked.
    pub revocation: Option<RevocationRecord>,
}

fn utc(t: SystemTime) -> String {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_secs()).ok())
        .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
        .map_or_else(
            || "?".to_owned(),
            |t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        )
}

/// The serial as `openssl x509 -serial` prints it: upper-case hex, no separators.
pub fn serial_hex(serial: &[u8]) -> String {
    hex::encode_upper(serial)
}

impl StoredCertificate {
    /// One line for operators: `SERIAL valid|revoked not_after=… subject=…`, and for a
    /// revoked certificate ` revoked_at=… reason=N` (the CRLReason code) before the subject.
    pub fn summary(&self) -> String {
        let status = match &self.revocation {
            None => "valid".to_owned(),
            Some(r) => format!(
                "revoked revoked_at={} reason={}",
                utc(r.revoked_at),
                r.reason
                    .map_or_else(|| "-".to_owned(), |r| (r as u8).to_string())
            ),
        };
        format!(
            "{} {status} not_after={} subject={}",
            serial_hex(&self.serial),
            utc(self.not_after),
            self.subject
        )
    }
}

/// The issued and revoked certificates of a CA.
///
/// Durability: when [`insert`](CertificateStore::insert) or
/// [`revoke`](CertificateStore::revoke) returns `Ok`, the change is committed (a durable
/// store keeps it across a crash of the process).
pub trait CertificateStore: Send + Sync + std::fmt::Debug {
    /// Records a newly issued certificate (its `revocation` is ignored). A serial already in
    /// the store fails with [`Error::SerialTaken`]; a full store with
    /// [`Error::StoreFull`].
    fn insert(&self, certificate: &StoredCertificate) -> Result<(), Error>;

    /// The certificate with `serial`.
    fn get(&self, serial: &[u8]) -> Result<Option<StoredCertificate>, Error>;

    /// Records the revocation of the certificate with `serial`: [`Error::UnknownSerial`] when
    /// there is none, [`Error::AlreadyRevoked`] when it is revoked.
    fn revoke(&self, serial: &[u8], reason: Option<CrlReason>, at: SystemTime)
    -> Result<(), Error>;

    /// At most `max` certificates, in the order they were issued.
    fn list(&self, max: usize) -> Result<Vec<StoredCertificate>, Error>;

    /// At most `max` revoked certificates, in the order of their revocation (what a CRL
    /// lists).
    fn revoked(&self, max: usize) -> Result<Vec<StoredCertificate>, Error> {
        let mut all: Vec<StoredCertificate> = self
            .list(usize::MAX)?
            .into_iter()
            .filter(|c| c.revocation.is_some())
            .collect();
        all.sort_by_key(|c| c.revocation.map(|r| r.revoked_at));
        all.truncate(max);
        Ok(all)
    }

    /// Whether the calls may block on IO (the caller then runs them on a blocking thread).
    fn is_blocking(&self) -> bool {
        false
    }

    /// The same store as a [`QueuedStore`], when it is one: the CA then awaits its writes
    /// without holding a thread and reads on the async worker.
    fn queued(self: Arc<Self>) -> Option<Arc<dyn QueuedStore>> {
        None
    }
}

/// The serials in the order of issue, and the certificates by serial.
type Certificates = (Vec<Vec<u8>>, HashMap<Vec<u8>, StoredCertificate>);

/// Issued certificates in memory, at most a given number.
#[derive(Debug)]
pub struct MemoryCertificates {
    max: usize,
    certificates: Mutex<Certificates>,
}

impl MemoryCertificates {
    /// A store for at most `max` certificates.
    pub fn new(max: usize) -> Self {
        MemoryCertificates {
            max,
            certificates: Mutex::new((Vec::new(), HashMap::new())),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Certificates> {
        // Every change is one insert (order and map together) or one field update.
        self.certificates
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl CertificateStore for MemoryCertificates {
    fn insert(&self, certificate: &StoredCertificate) -> Result<(), Error> {
        let mut guard = self.lock();
        let (order, map) = &mut *guard;
        if map.contains_key(&certificate.serial) {
            return Err(Error::SerialTaken);
        }
        if map.len() >= self.max {
            return Err(Error::StoreFull { max: self.max });
        }
        let mut record = certificate.clone();
        record.revocation = None;
        order.push(record.serial.clone());
        map.insert(record.serial.clone(), record);
        Ok(())
    }

    fn get(&self, serial: &[u8]) -> Result<Option<StoredCertificate>, Error> {
        Ok(self.lock().1.get(serial).cloned())
    }

    fn revoke(
        &self,
        serial: &[u8],
        reason: Option<CrlReason>,
        at: SystemTime,
    ) -> Result<(), Error> {
        let mut guard = self.lock();
        let entry = guard.1.get_mut(serial).ok_or(Error::UnknownSerial)?;
        if entry.revocation.is_some() {
            return Err(Error::AlreadyRevoked);
        }
        entry.revocation = Some(RevocationRecord {
            revoked_at: at,
            reason,
        });
        Ok(())
    }

    fn list(&self, max: usize) -> Result<Vec<StoredCertificate>, Error> {
        let guard = self.lock();
        Ok(guard
            .0
            .iter()
            .take(max)
            .filter_map(|s| guard.1.get(s).cloned())
            .collect())
    }
}

/// Runs `f` on tokio's blocking pool when `blocking` and a runtime is there; else here.
pub(crate) async fn off_worker<T: Send + 'static>(
    blocking: bool,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Error> {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) if blocking => handle
            .spawn_blocking(f)
            .await
            .map_err(|e| Error::Database(format!("the store's blocking task failed: {e}"))),
        _ => Ok(f()),
    }
}
