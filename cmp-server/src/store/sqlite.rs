//! [`SqliteStore`]: transactions, issued certificates and revocations in one SQLite file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use cmp_core::asn1::CrlReason;
use cmp_core::server::{
    Authenticator, StoreError, TransactionRecord, TransactionState, TransactionStore,
};
use cmp_core::transaction::EnrollmentKind;
use rusqlite::{Connection, OptionalExtension, params};

use super::sql;
use super::writer::{self, CertificateRow, Failure, Memory, Op, Queue, Shared, TransactionRow};
use super::{CertificateStore, RevocationRecord, StoredCertificate};
use crate::error::Error;

/// The database file's name inside a state directory.
pub const DB_FILE: &str = "cmp-server.sqlite";

/// How hard SQLite pushes a commit to the disk (`PRAGMA synchronous`), in WAL mode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Synchronous {
    /// `NORMAL` (default): a commit is in the write-ahead log when it returns, so it survives
    /// a crash or `kill -9` of the process; the log is synced to the disk at checkpoints, so
    /// a power loss or OS crash may lose the last commits (never corrupt the database).
    #[default]
    Normal,
    /// `FULL`: every commit also waits for an `fsync` of the log, so it survives a power
    /// loss too; each commit then costs a disk sync (from tens of microseconds on a
    /// battery-backed controller to several milliseconds on a plain disk).
    Full,
}

impl Synchronous {
    fn pragma(self) -> &'static str {
        match self {
            Synchronous::Normal => "NORMAL",
            Synchronous::Full => "FULL",
        }
    }
}

/// Settings of a [`SqliteStore`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SqliteOptions {
    /// How commits reach the disk.
    pub synchronous: Synchronous,
    /// The most transactions kept (open, or closed and not yet expired). When a new one
    /// finds the table full, the expired ones are dropped, then the closed ones that expire
    /// first make room (a batch of 1/64 of the table); only when every record is an
    /// unfinished transaction is the new one refused (`systemUnavail`). So this bounds the
    /// transactions in flight, not the throughput. Default 10 000.
    pub max_transactions: usize,
    /// The most certificates kept; issuing beyond that is refused. Default 1 000 000.
    pub max_certificates: usize,
    /// How long a statement waits for a lock held by another connection (an operator's
    /// `certs revoke` while the server runs). Default 5 s.
    pub busy_timeout: Duration,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            synchronous: Synchronous::Normal,
            max_transactions: 10_000,
            max_certificates: 1_000_000,
            busy_timeout: Duration::from_secs(5),
        }
    }
}

/// Transactions (with their last request and response), issued certificates (serials unique
/// by a `UNIQUE` constraint) and revocations in one SQLite database in WAL mode.
///
/// Every change is committed before the call returns. One server process per database (the
/// counts that bound the tables are kept in memory); other processes — the operator's `certs`
/// commands — may read and revoke beside it.
///
/// Two connections. Writes go to one writer thread that owns the writing connection and
/// commits the writes that queued up while it was busy in one SQLite transaction (group
/// commit, at most 256 per commit, each in its own savepoint, so one write's failure is its
/// caller's alone); a caller is answered after the `COMMIT` that holds its write. The queue
/// holds at most 1024 writes. Reads use the other connection (WAL: readers never wait for the
/// writer) and see every write that was answered. The synchronous trait methods block their
/// thread ([`is_blocking`](CertificateStore::is_blocking) is true); the server uses the
/// [`QueuedStore`] methods instead, which await the writer without holding a thread and read
/// on the caller's thread.
///
/// A reservation ([`TransactionState::Reserved`], saved before a certificate is issued) is kept
/// in memory, not written: it takes the transactionID and a place in the table (it counts
/// against `max_transactions` and expires like a record), and the response's save writes the
/// record. This relies on the same one-process rule as the counts; a crash drops the
/// reservations, and the transactionIDs are free again (a certificate issued just before the
/// crash stays in the database, undelivered). A store shared by several servers writes them.
///
/// The committed records of open transactions (waiting for a certConf or a pollReq; at most
/// 1 024) are also kept in memory, so the transaction's next message is answered without
/// reading the database; the same one-process rule applies, and after a restart they are read
/// from the database.
///
/// Opening applies the pending migrations (`PRAGMA user_version` counts them).
#[derive(Debug)]
pub struct SqliteStore {
    path: PathBuf,
    /// The reading connection (and `bind_ca`'s one write at start).
    reads: Mutex<Connection>,
    shared: Arc<Shared>,
    /// `None` only while dropping.
    queue: Option<Queue>,
    writer: Option<std::thread::JoinHandle<()>>,
}

fn db(e: rusqlite::Error) -> Error {
    Error::Database(e.to_string())
}

fn backend(e: Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// Milliseconds since the epoch.
fn millis(t: SystemTime) -> Result<i64, Error> {
    let d = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_err(|_| Error::Database("a time before 1970".into()))?;
    i64::try_from(d.as_millis())
        .map_err(|_| Error::Database("a time beyond year 292 million".into()))
}

fn from_millis(ms: i64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

fn count(conn: &Connection, query: &str) -> Result<usize, Error> {
    let n: i64 = conn.query_row(query, [], |r| r.get(0)).map_err(db)?;
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

/// A connection to `path` with the store's settings.
fn connect(path: &Path, options: &SqliteOptions) -> Result<Connection, Error> {
    let conn =
        Connection::open(path).map_err(|e| Error::Database(format!("{}: {e}", path.display())))?;
    conn.busy_timeout(options.busy_timeout).map_err(db)?;
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
        .map_err(db)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Error::Database(format!(
            "{}: the database refuses WAL mode (journal_mode is {mode})",
            path.display()
        )));
    }
    conn.execute_batch(sql::PRAGMAS).map_err(db)?;
    conn.pragma_update(None, "synchronous", options.synchronous.pragma())
        .map_err(db)?;
    Ok(conn)
}

/// The writer's counters ([`SqliteStore::write_stats`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriteStats {
    /// Writes queued and not yet answered.
    pub waiting: usize,
    /// SQLite transactions committed.
    pub commits: u64,
    /// The writes they held (writes that failed are not counted).
    pub committed: u64,
}

/// What a caller's save of a transaction record comes to.
enum SavePlan {
    /// Done in memory (a reservation).
    Done,
    /// A reservation that needs room in the table first: the write that makes it, then the
    /// reservation.
    Reserve(Op, TransactionRecord),
    /// A write for the writer.
    Write(Op),
}

impl SqliteStore {
    /// Opens (creating it if needed) the database `path` and migrates it.
    pub fn open(path: &Path, options: SqliteOptions) -> Result<Self, Error> {
        let mut conn = connect(path, &options)?;
        migrate(&mut conn)?;
        let memory = Memory {
            transactions: count(&conn, sql::TX_COUNT)?,
            certificates: count(&conn, sql::CERT_COUNT)?,
            reserved: HashMap::new(),
            open: HashMap::new(),
        };
        let reads = connect(path, &options)?;
        let shared = Arc::new(Shared {
            memory: Mutex::new(memory),
            max_transactions: options.max_transactions,
            max_certificates: options.max_certificates,
            waiting: AtomicUsize::new(0),
            commits: AtomicU64::new(0),
            committed: AtomicU64::new(0),
        });
        let (sender, jobs) = std::sync::mpsc::sync_channel(writer::QUEUE);
        let for_writer = shared.clone();
        let for_queue = shared.clone();
        let writer = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || writer::run(conn, for_writer, jobs))
            .map_err(|e| Error::Database(format!("starting the store's writer: {e}")))?;
        Ok(SqliteStore {
            path: path.to_path_buf(),
            reads: Mutex::new(reads),
            shared,
            queue: Some(Queue {
                sender,
                shared: for_queue,
            }),
            writer: Some(writer),
        })
    }

    /// Opens the database [`DB_FILE`] in the state directory `dir` (created if missing).
    pub fn open_in(dir: &Path, options: SqliteOptions) -> Result<Self, Error> {
        std::fs::create_dir_all(dir).map_err(|e| Error::StateDir {
            path: dir.display().to_string(),
            message: e.to_string(),
        })?;
        Self::open(&dir.join(DB_FILE), options)
    }

    /// How the writer has been committing, since the store was opened.
    pub fn write_stats(&self) -> WriteStats {
        WriteStats {
            waiting: self.shared.waiting.load(Ordering::Relaxed),
            commits: self.shared.commits.load(Ordering::Relaxed),
            committed: self.shared.committed.load(Ordering::Relaxed),
        }
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version (`PRAGMA user_version`): the number of migrations applied.
    pub fn schema_version(&self) -> Result<u32, Error> {
        user_version(&self.reads())
    }

    /// The number of migrations this build knows (and applies at open).
    pub fn latest_schema_version() -> u32 {
        u32::try_from(sql::MIGRATIONS.len()).unwrap_or(u32::MAX)
    }

    /// Binds the state to the CA certificate `ca_der`: the first call records it, later ones
    /// (after a restart) fail with [`Error::StateMismatch`] if it is another certificate —
    /// the certificates in the state were issued by that CA.
    pub fn bind_ca(&self, ca_der: &[u8]) -> Result<(), Error> {
        let conn = self.reads();
        let stored: Option<Vec<u8>> = conn
            .query_row(sql::META_GET, ["ca_certificate"], |r| r.get(0))
            .optional()
            .map_err(db)?;
        match stored {
            Some(der) if der == ca_der => Ok(()),
            Some(_) => Err(Error::StateMismatch {
                path: self.path.display().to_string(),
            }),
            None => {
                // The one write outside the writer: at start, before any other.
                conn.execute(sql::META_SET, params!["ca_certificate", ca_der])
                    .map_err(db)?;
                Ok(())
            }
        }
    }

    fn reads(&self) -> MutexGuard<'_, Connection> {
        // A panic inside a read leaves no transaction open on this connection.
        self.reads.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn queue(&self) -> Result<&Queue, Failure> {
        self.queue
            .as_ref()
            .ok_or_else(|| Failure::Store(Error::Database("the store is closing".into())))
    }

    /// The live transaction record (or reservation) with this ID.
    fn load_now(
        &self,
        transaction_id: &[u8],
        at: SystemTime,
    ) -> Result<Option<TransactionRecord>, StoreError> {
        let now = millis(at).map_err(backend)?;
        {
            let memory = self.shared.memory();
            let kept = memory
                .reserved
                .get(transaction_id)
                .or_else(|| memory.open.get(transaction_id));
            if let Some(r) = kept.filter(|r| r.expires_at > at) {
                return Ok(Some(r.clone()));
            }
        }
        let conn = self.reads();
        let mut stmt = conn
            .prepare_cached(sql::TX_LOAD)
            .map_err(|e| backend(db(e)))?;
        stmt.query_row(params![transaction_id, now], decode)
            .optional()
            .map_err(|e| backend(db(e)))?
            .transpose()
    }

    /// Decides what saving `record` takes: a change of the reservations (done here), or a
    /// write for the writer.
    fn plan_save(
        &self,
        record: TransactionRecord,
        expected: Option<u64>,
        at: SystemTime,
    ) -> Result<SavePlan, StoreError> {
        let now = millis(at).map_err(backend)?;
        let reserving = record.state == TransactionState::Reserved;
        let reservation = {
            let mut memory = self.shared.memory();
            let reservation = memory
                .reserved
                .get(&record.transaction_id)
                .filter(|r| r.expires_at > at)
                .map(|r| r.version);
            if reserving && expected.is_some() && expected == reservation {
                memory
                    .reserved
                    .insert(record.transaction_id.clone(), record);
                return Ok(SavePlan::Done);
            }
            reservation
        };
        match (expected, reservation) {
            (Some(v), Some(r)) if v == r => {
                // The reservation held the place: the record replaces it once committed.
                let row = row(&record)?;
                Ok(SavePlan::Write(Op::InsertTransaction {
                    record,
                    row,
                    now,
                    at,
                    make_room: false,
                    unreserve: Some(r),
                }))
            }
            (_, Some(_)) => Err(StoreError::Conflict),
            (None, None) if reserving => {
                let taken = self
                    .reads()
                    .prepare_cached(sql::TX_LIVE)
                    .and_then(|mut s| s.exists(params![record.transaction_id, now]))
                    .map_err(|e| backend(db(e)))?;
                if taken {
                    return Err(StoreError::Conflict);
                }
                if self.reserve(&record, at)? {
                    return Ok(SavePlan::Done);
                }
                Ok(SavePlan::Reserve(Op::MakeRoom { now, at }, record))
            }
            (None, None) => {
                let row = row(&record)?;
                Ok(SavePlan::Write(Op::InsertTransaction {
                    record,
                    row,
                    now,
                    at,
                    make_room: true,
                    unreserve: None,
                }))
            }
            (Some(expected), None) => {
                let expected = i64::try_from(expected)
                    .map_err(|_| StoreError::Backend("the version exceeds 2^63".into()))?;
                let row = row(&record)?;
                Ok(SavePlan::Write(Op::UpdateTransaction {
                    record,
                    row,
                    expected,
                    now,
                }))
            }
        }
    }

    /// Takes a place for the reservation `record` if the table has room: `Ok(false)` when
    /// the writer must make room first, a conflict when another reservation holds the ID.
    fn reserve(&self, record: &TransactionRecord, at: SystemTime) -> Result<bool, StoreError> {
        let mut memory = self.shared.memory();
        if memory
            .reserved
            .get(&record.transaction_id)
            .is_some_and(|r| r.expires_at > at)
        {
            return Err(StoreError::Conflict);
        }
        if memory.transactions + memory.reserved.len() >= self.shared.max_transactions {
            memory.reserved.retain(|_, r| r.expires_at > at);
            if memory.transactions + memory.reserved.len() >= self.shared.max_transactions {
                return Ok(false);
            }
        }
        memory
            .reserved
            .insert(record.transaction_id.clone(), record.clone());
        Ok(true)
    }

    /// After the writer made room: the reservation, or `Full` if others took the room.
    fn reserve_after_room(
        &self,
        record: TransactionRecord,
        at: SystemTime,
    ) -> Result<(), StoreError> {
        if self.reserve(&record, at)? {
            Ok(())
        } else {
            Err(StoreError::Full {
                max: self.shared.max_transactions,
            })
        }
    }

    fn certificate_op(certificate: &StoredCertificate) -> Result<Op, Error> {
        Ok(Op::InsertCertificate(CertificateRow {
            serial: certificate.serial.clone(),
            certificate: certificate.certificate.clone(),
            subject: certificate.subject.clone(),
            not_after: millis(certificate.not_after)?,
            issued_at: millis(certificate.issued_at)?,
        }))
    }

    fn revoke_op(serial: &[u8], reason: Option<CrlReason>, at: SystemTime) -> Result<Op, Error> {
        Ok(Op::Revoke {
            serial: serial.to_vec(),
            at: millis(at)?,
            reason: reason.map(|r| r as i64),
        })
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        // The writer ends when its queue has no sender left; every queued write is answered
        // first (a caller holds the store while it waits).
        self.queue = None;
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

/// A store that queues its writes to its own writer thread and whose reads do not wait for
/// writes ([`SqliteStore`]): the server awaits the writes without holding a thread, and
/// reads on the async worker thread.
#[async_trait::async_trait]
pub trait QueuedStore: Send + Sync + std::fmt::Debug {
    /// [`TransactionStore::load`], on the caller's thread.
    fn load_transaction(
        &self,
        transaction_id: &[u8],
        now: SystemTime,
    ) -> Result<Option<TransactionRecord>, StoreError>;

    /// [`TransactionStore::save`], awaited.
    async fn save_transaction(
        &self,
        record: TransactionRecord,
        expected: Option<u64>,
        now: SystemTime,
    ) -> Result<(), StoreError>;

    /// [`CertificateStore::insert`], awaited.
    async fn insert_certificate(&self, certificate: StoredCertificate) -> Result<(), Error>;

    /// [`CertificateStore::get`], on the caller's thread.
    fn get_certificate(&self, serial: &[u8]) -> Result<Option<StoredCertificate>, Error>;

    /// [`CertificateStore::revoke`], awaited.
    async fn revoke_certificate(
        &self,
        serial: Vec<u8>,
        reason: Option<CrlReason>,
        at: SystemTime,
    ) -> Result<(), Error>;
}

#[async_trait::async_trait]
impl QueuedStore for SqliteStore {
    fn load_transaction(
        &self,
        transaction_id: &[u8],
        now: SystemTime,
    ) -> Result<Option<TransactionRecord>, StoreError> {
        self.load_now(transaction_id, now)
    }

    async fn save_transaction(
        &self,
        record: TransactionRecord,
        expected: Option<u64>,
        now: SystemTime,
    ) -> Result<(), StoreError> {
        match self.plan_save(record, expected, now)? {
            SavePlan::Done => Ok(()),
            SavePlan::Write(op) => Ok(self.queue()?.write(op).await?),
            SavePlan::Reserve(room, record) => {
                self.queue()?.write(room).await?;
                self.reserve_after_room(record, now)
            }
        }
    }

    async fn insert_certificate(&self, certificate: StoredCertificate) -> Result<(), Error> {
        let op = Self::certificate_op(&certificate)?;
        Ok(self.queue()?.write(op).await?)
    }

    fn get_certificate(&self, serial: &[u8]) -> Result<Option<StoredCertificate>, Error> {
        let conn = self.reads();
        let mut stmt = conn.prepare_cached(sql::CERT_GET).map_err(db)?;
        stmt.query_row([serial], stored).optional().map_err(db)
    }

    async fn revoke_certificate(
        &self,
        serial: Vec<u8>,
        reason: Option<CrlReason>,
        at: SystemTime,
    ) -> Result<(), Error> {
        let op = Self::revoke_op(&serial, reason, at)?;
        Ok(self.queue()?.write(op).await?)
    }
}

fn user_version(conn: &Connection) -> Result<u32, Error> {
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(db)
}

fn migrate(conn: &mut Connection) -> Result<(), Error> {
    let current = user_version(conn)?;
    let known = SqliteStore::latest_schema_version();
    if current > known {
        return Err(Error::SchemaTooNew {
            found: current,
            known,
        });
    }
    for (n, migration) in sql::MIGRATIONS.iter().enumerate().skip(current as usize) {
        let version = u32::try_from(n + 1).unwrap_or(u32::MAX);
        let tx = conn.transaction().map_err(db)?;
        tx.execute_batch(migration)
            .map_err(|e| Error::Database(format!("migration {version}: {e}")))?;
        tx.pragma_update(None, "user_version", version)
            .map_err(db)?;
        tx.commit().map_err(db)?;
    }
    Ok(())
}

/// A transaction record's state columns.
struct Encoded<'a> {
    state: i64,
    cert_req_id: Option<i64>,
    certificate: Option<&'a [u8]>,
    auth_kind: i64,
    auth_value: &'a [u8],
    /// Polling: the request type, the polls left, implicit confirmation.
    kind: Option<i64>,
    polls_left: Option<i64>,
    implicit: Option<i64>,
}

fn kind_code(kind: EnrollmentKind) -> i64 {
    match kind {
        EnrollmentKind::Ir => 0,
        EnrollmentKind::Cr => 1,
        EnrollmentKind::Kur => 2,
        EnrollmentKind::Ccr => 3,
        EnrollmentKind::P10cr => 4,
    }
}

fn kind_of(code: i64) -> Option<EnrollmentKind> {
    Some(match code {
        0 => EnrollmentKind::Ir,
        1 => EnrollmentKind::Cr,
        2 => EnrollmentKind::Kur,
        3 => EnrollmentKind::Ccr,
        4 => EnrollmentKind::P10cr,
        _ => return None,
    })
}

fn encode(record: &TransactionRecord) -> Result<Encoded<'_>, StoreError> {
    let (mut kind, mut polls, mut implicit_col) = (None, None, None);
    let (state, id, cert) = match &record.state {
        TransactionState::AwaitingConfirmation {
            cert_req_id,
            certificate,
        } => (0, Some(*cert_req_id), Some(certificate.as_slice())),
        TransactionState::Closed => (1, None, None),
        TransactionState::Reserved => (3, None, None),
        TransactionState::Polling {
            kind: k,
            cert_req_id,
            certificate,
            polls_left,
            implicit,
        } => {
            kind = Some(kind_code(*k));
            polls = Some(i64::from(*polls_left));
            implicit_col = Some(i64::from(*implicit));
            (2, Some(*cert_req_id), Some(certificate.as_slice()))
        }
        other => {
            return Err(StoreError::Backend(format!(
                "this store cannot keep the state {other:?}"
            )));
        }
    };
    let (kind_auth, value): (i64, &[u8]) = match &record.authenticator {
        Authenticator::Reference(r) => (0, r),
        Authenticator::Certificate(c) => (1, c),
        Authenticator::Unauthenticated => (2, &[]),
        other => {
            return Err(StoreError::Backend(format!(
                "this store cannot keep the authenticator {other:?}"
            )));
        }
    };
    Ok(Encoded {
        state,
        cert_req_id: id,
        certificate: cert,
        auth_kind: kind_auth,
        auth_value: value,
        kind,
        polls_left: polls,
        implicit: implicit_col,
    })
}

fn decode(row: &rusqlite::Row<'_>) -> rusqlite::Result<Result<TransactionRecord, StoreError>> {
    let state: i64 = row.get(2)?;
    let cert_req_id: Option<i64> = row.get(3)?;
    let certificate: Option<Vec<u8>> = row.get(4)?;
    let auth_kind: i64 = row.get(5)?;
    let auth_value: Vec<u8> = row.get(6)?;
    let version: i64 = row.get(1)?;
    let kind: Option<i64> = row.get(11)?;
    let polls_left: Option<i64> = row.get(12)?;
    let implicit: Option<i64> = row.get(13)?;
    let state = match (state, cert_req_id, certificate) {
        (0, Some(cert_req_id), Some(certificate)) => TransactionState::AwaitingConfirmation {
            cert_req_id,
            certificate,
        },
        (1, _, _) => TransactionState::Closed,
        (3, _, _) => TransactionState::Reserved,
        (2, Some(cert_req_id), Some(certificate)) => {
            match (
                kind.and_then(kind_of),
                polls_left.and_then(|p| u32::try_from(p).ok()),
            ) {
                (Some(kind), Some(polls_left)) => TransactionState::Polling {
                    kind,
                    cert_req_id,
                    certificate,
                    polls_left,
                    implicit: implicit == Some(1),
                },
                _ => {
                    return Ok(Err(StoreError::Backend(
                        "a polling transaction without its request type or poll count".into(),
                    )));
                }
            }
        }
        (s, _, _) => {
            return Ok(Err(StoreError::Backend(format!(
                "a stored transaction has the unknown state {s}"
            ))));
        }
    };
    let authenticator = match auth_kind {
        0 => Authenticator::Reference(auth_value),
        1 => Authenticator::Certificate(auth_value),
        2 => Authenticator::Unauthenticated,
        k => {
            return Ok(Err(StoreError::Backend(format!(
                "a stored transaction has the unknown authenticator kind {k}"
            ))));
        }
    };
    Ok(Ok(TransactionRecord {
        transaction_id: row.get(0)?,
        version: u64::try_from(version).unwrap_or(0),
        state,
        authenticator,
        last_request: row.get(7)?,
        last_response: row.get(8)?,
        response_nonce: row.get(9)?,
        expires_at: from_millis(row.get(10)?),
    }))
}

/// The owned columns of `record` for the writer.
fn row(record: &TransactionRecord) -> Result<TransactionRow, StoreError> {
    let e = encode(record)?;
    Ok(TransactionRow {
        version: i64::try_from(record.version)
            .map_err(|_| StoreError::Backend("the version exceeds 2^63".into()))?,
        expires: millis(record.expires_at).map_err(backend)?,
        state: e.state,
        cert_req_id: e.cert_req_id,
        certificate: e.certificate.map(<[u8]>::to_vec),
        auth_kind: e.auth_kind,
        auth_value: e.auth_value.to_vec(),
        kind: e.kind,
        polls_left: e.polls_left,
        implicit: e.implicit,
    })
}

impl TransactionStore for SqliteStore {
    fn load(
        &self,
        transaction_id: &[u8],
        now: SystemTime,
    ) -> Result<Option<TransactionRecord>, StoreError> {
        self.load_now(transaction_id, now)
    }

    fn save(
        &self,
        record: TransactionRecord,
        expected: Option<u64>,
        now: SystemTime,
    ) -> Result<(), StoreError> {
        match self.plan_save(record, expected, now)? {
            SavePlan::Done => Ok(()),
            SavePlan::Write(op) => Ok(self.queue()?.write_blocking(op)?),
            SavePlan::Reserve(room, record) => {
                self.queue()?.write_blocking(room)?;
                self.reserve_after_room(record, now)
            }
        }
    }

    fn is_blocking(&self) -> bool {
        true
    }
}

fn stored(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredCertificate> {
    let revoked_at: Option<i64> = row.get(5)?;
    let reason: Option<i64> = row.get(6)?;
    Ok(StoredCertificate {
        serial: row.get(0)?,
        certificate: row.get(1)?,
        subject: row.get(2)?,
        not_after: from_millis(row.get(3)?),
        issued_at: from_millis(row.get(4)?),
        revocation: revoked_at.map(|at| RevocationRecord {
            revoked_at: from_millis(at),
            reason: reason
                .and_then(|r| u8::try_from(r).ok())
                .and_then(CrlReason::from_code),
        }),
    })
}

impl CertificateStore for SqliteStore {
    fn insert(&self, certificate: &StoredCertificate) -> Result<(), Error> {
        let op = Self::certificate_op(certificate)?;
        Ok(self.queue()?.write_blocking(op)?)
    }

    fn get(&self, serial: &[u8]) -> Result<Option<StoredCertificate>, Error> {
        self.get_certificate(serial)
    }

    fn revoke(
        &self,
        serial: &[u8],
        reason: Option<CrlReason>,
        at: SystemTime,
    ) -> Result<(), Error> {
        let op = Self::revoke_op(serial, reason, at)?;
        Ok(self.queue()?.write_blocking(op)?)
    }

    fn revoked(&self, max: usize) -> Result<Vec<StoredCertificate>, Error> {
        let conn = self.reads();
        let mut stmt = conn.prepare_cached(sql::CERT_REVOKED).map_err(db)?;
        let limit = i64::try_from(max).unwrap_or(i64::MAX);
        let rows = stmt.query_map([limit], stored).map_err(db)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(db)
    }

    fn list(&self, max: usize) -> Result<Vec<StoredCertificate>, Error> {
        let conn = self.reads();
        let mut stmt = conn.prepare_cached(sql::CERT_LIST).map_err(db)?;
        let limit = i64::try_from(max).unwrap_or(i64::MAX);
        let rows = stmt.query_map([limit], stored).map_err(db)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(db)
    }

    fn is_blocking(&self) -> bool {
        true
    }

    fn queued(self: Arc<Self>) -> Option<Arc<dyn QueuedStore>> {
        Some(self)
    }
}
