//! The transaction table contract: [`TransactionStore`], and [`MemoryStore`], bounded and with
//! expiry.
//!
//! # Why steps and a synchronous trait
//!
//! The engine never calls the store: it hands out [`ServerStep::Load`](super::ServerStep::Load)
//! and [`ServerStep::Save`](super::ServerStep::Save), and the driver calls the store and feeds
//! the result back. The engine stays free of IO (a database is IO), and the trait stays
//! synchronous and small: an embedded database such as SQLite answers on a blocking thread the
//! driver chooses, and an async database client implements the same two operations in its
//! driver. Races between requests on one transactionID are settled by the store, not by
//! locks around the engine: [`TransactionStore::save`] is a compare-and-swap on
//! [`TransactionRecord::version`] (`INSERT … ON CONFLICT DO NOTHING` / `UPDATE … WHERE version
//! = ?` in SQL), and the loser of a race is answered `transactionIdInUse`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use super::error::StoreError;
use crate::transaction::EnrollmentKind;

/// Who authenticated a transaction's first request; later messages of the transaction must be
/// protected with the same credential.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Authenticator {
    /// A MAC with the secret of this reference (senderKID).
    Reference(Vec<u8>),
    /// A signature by this certificate (DER).
    Certificate(Vec<u8>),
    /// An unprotected request the configuration accepted.
    Unauthenticated,
}

/// Where a transaction stands.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransactionState {
    /// A certificate was issued; the server waits for certConf.
    AwaitingConfirmation {
        /// The certReqId of the response.
        cert_req_id: i64,
        /// The issued certificate (DER), whose hash certConf must carry.
        certificate: Vec<u8>,
    },
    /// A certificate was issued and is held back (delayed delivery, the `poll_count` test
    /// knob): the client polls, and the last poll gets the certificate response.
    Polling {
        /// The request type (ip, cp, kup or ccp answers it).
        kind: EnrollmentKind,
        /// The certReqId of the response.
        cert_req_id: i64,
        /// The issued certificate (DER).
        certificate: Vec<u8>,
        /// pollReqs still answered with pollRep; the next one after them gets the
        /// certificate.
        polls_left: u32,
        /// Whether implicit confirmation is granted.
        implicit: bool,
    },
    /// The transaction is over; its ID stays reserved until the record expires.
    Closed,
    /// The request passed its checks and its certificate (or revocation) is being made. The
    /// record is saved before the issuer is asked, so that a request the table has no room
    /// for, or that lost a race for its transactionID, has issued (and stored) nothing; the
    /// response is then saved over it. It counts as an unfinished transaction.
    Reserved,
}

/// One transaction, as the store keeps it.
///
/// Every field is bytes, integers or a time, so that a database row holds it directly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransactionRecord {
    /// The transactionID.
    pub transaction_id: Vec<u8>,
    /// Incremented by every save; the compare-and-swap token.
    pub version: u64,
    /// Where it stands.
    pub state: TransactionState,
    /// Who authenticated it.
    pub authenticator: Authenticator,
    /// The last request, byte for byte: an identical retransmission gets `last_response`.
    pub last_request: Vec<u8>,
    /// The response to `last_request`, byte for byte.
    pub last_response: Vec<u8>,
    /// The senderNonce of `last_response`: the recipNonce the next request must carry.
    pub response_nonce: Vec<u8>,
    /// After this the record may be dropped (and the transactionID reused).
    pub expires_at: SystemTime,
}

/// The open (and recently closed) transactions of a server.
///
/// Implementations must bound their size and drop expired records.
pub trait TransactionStore: Send + Sync + std::fmt::Debug {
    /// The record of `transaction_id`, unless there is none or it expired before `now`.
    fn load(
        &self,
        transaction_id: &[u8],
        now: SystemTime,
    ) -> Result<Option<TransactionRecord>, StoreError>;

    /// Saves `record` if the stored version is still `expected` (`None`: no live record may
    /// exist), else fails with [`StoreError::Conflict`]. A new record beyond the store's
    /// capacity fails with [`StoreError::Full`] only when, after the expired records are
    /// dropped, every record left is an unfinished transaction: closed ones (kept to answer a
    /// retransmitted certConf and to refuse a reused transactionID) make room, the oldest
    /// first, so that the capacity bounds the transactions in flight, not the throughput.
    fn save(
        &self,
        record: TransactionRecord,
        expected: Option<u64>,
        now: SystemTime,
    ) -> Result<(), StoreError>;

    /// Whether [`load`](TransactionStore::load) and [`save`](TransactionStore::save) may block
    /// on IO (a database file): a driver then calls them on a blocking thread, never on an
    /// async worker. `false` by default (an in-memory store answers at once).
    fn is_blocking(&self) -> bool {
        false
    }
}

/// An in-memory [`TransactionStore`] with a maximum number of records; expired records are
/// dropped when met and when room is needed.
#[derive(Debug)]
pub struct MemoryStore {
    max_records: usize,
    records: Mutex<HashMap<Vec<u8>, TransactionRecord>>,
}

impl MemoryStore {
    /// A store for at most `max_records` transactions.
    pub fn new(max_records: usize) -> Self {
        MemoryStore {
            max_records,
            records: Mutex::new(HashMap::new()),
        }
    }

    /// How many records are held (expired ones included until they are dropped).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no record is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Vec<u8>, TransactionRecord>> {
        // A panic while holding the lock leaves a consistent map (every change is one insert
        // or remove), so a poisoned lock is still usable.
        self.records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Default for MemoryStore {
    /// 10 000 transactions.
    fn default() -> Self {
        MemoryStore::new(10_000)
    }
}

fn live(record: &TransactionRecord, now: SystemTime) -> bool {
    record.expires_at > now
}

impl TransactionStore for MemoryStore {
    fn load(
        &self,
        transaction_id: &[u8],
        now: SystemTime,
    ) -> Result<Option<TransactionRecord>, StoreError> {
        let mut records = self.lock();
        match records.get(transaction_id) {
            Some(r) if live(r, now) => Ok(Some(r.clone())),
            Some(_) => {
                records.remove(transaction_id);
                Ok(None)
            }
            None => Ok(None),
        }
    }

    fn save(
        &self,
        record: TransactionRecord,
        expected: Option<u64>,
        now: SystemTime,
    ) -> Result<(), StoreError> {
        let mut records = self.lock();
        let current = records
            .get(&record.transaction_id)
            .filter(|r| live(r, now))
            .map(|r| r.version);
        if current != expected {
            return Err(StoreError::Conflict);
        }
        if current.is_none() && records.len() >= self.max_records {
            records.retain(|_, r| live(r, now));
            if records.len() >= self.max_records {
                let oldest_closed = records
                    .iter()
                    .filter(|(_, r)| r.state == TransactionState::Closed)
                    .min_by_key(|(_, r)| r.expires_at)
                    .map(|(id, _)| id.clone());
                match oldest_closed {
                    Some(id) => {
                        records.remove(&id);
                    }
                    None => {
                        return Err(StoreError::Full {
                            max: self.max_records,
                        });
                    }
                }
            }
        }
        records.insert(record.transaction_id.clone(), record);
        Ok(())
    }
}

/// How long a record lives after its last save, unless the configuration says otherwise.
pub const DEFAULT_TRANSACTION_TTL: Duration = Duration::from_secs(600);

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: u8, version: u64, expires_at: SystemTime) -> TransactionRecord {
        TransactionRecord {
            transaction_id: vec![id],
            version,
            state: TransactionState::Closed,
            authenticator: Authenticator::Unauthenticated,
            last_request: vec![1],
            last_response: vec![2],
            response_nonce: vec![3],
            expires_at,
        }
    }

    /// An unfinished transaction: a certificate awaiting certConf.
    fn open(id: u8, expires_at: SystemTime) -> TransactionRecord {
        TransactionRecord {
            state: TransactionState::AwaitingConfirmation {
                cert_req_id: 0,
                certificate: vec![0x30, 0x00],
            },
            ..record(id, 1, expires_at)
        }
    }

    #[test]
    fn save_is_compare_and_swap_bounded_and_expiring() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let later = t0 + Duration::from_secs(60);
        let store = MemoryStore::new(2);
        store.save(record(1, 1, later), None, t0).expect("new");
        assert_eq!(
            store.save(record(1, 1, later), None, t0),
            Err(StoreError::Conflict)
        );
        assert_eq!(
            store.save(record(1, 2, later), Some(7), t0),
            Err(StoreError::Conflict)
        );
        store
            .save(record(1, 2, later), Some(1), t0)
            .expect("update");
        store.save(open(2, later), None, t0).expect("second");
        // Full of one closed and one open transaction: the closed one makes room …
        store
            .save(open(3, later), None, t0)
            .expect("room from a closed one");
        assert_eq!(store.load(&[1], t0).expect("load"), None);
        // … and with only unfinished ones left, a new one is refused.
        assert_eq!(
            store.save(record(4, 1, later), None, t0),
            Err(StoreError::Full { max: 2 })
        );
        assert_eq!(
            store.load(&[2], t0).expect("load").map(|r| r.version),
            Some(1)
        );
        // After expiry the records are gone and room is made.
        assert_eq!(store.load(&[2], later).expect("load"), None);
        assert_eq!(store.load(&[3], later).expect("load"), None);
        store
            .save(record(5, 1, later + Duration::from_secs(60)), None, later)
            .expect("room after expiry");
        assert_eq!(store.len(), 1);
    }
}
