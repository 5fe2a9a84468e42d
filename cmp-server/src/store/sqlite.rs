//! [`SqliteStore`]: transactions, issued certificates and revocations in one SQLite file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use cmp_core::asn1::CrlReason;
use cmp_core::server::{
    Authenticator, StoreError, TransactionRecord, TransactionState, TransactionStore,
};
use cmp_core::transaction::EnrollmentKind;
use rusqlite::{Connection, OptionalExtension, params};

use super::sql;
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

#[derive(Debug)]
struct Inner {
    conn: Connection,
    /// Rows in `transactions` (expired ones included until they are dropped).
    transactions: usize,
    /// Rows in `certificates`.
    certificates: usize,
    /// Transactions reserved before their certificate is issued
    /// ([`TransactionState::Reserved`]), by transactionID: kept here, not written (see
    /// [`SqliteStore`]).
    reserved: HashMap<Vec<u8>, TransactionRecord>,
}

/// Transactions (with their last request and response), issued certificates (serials unique
/// by a `UNIQUE` constraint) and revocations in one SQLite database in WAL mode.
///
/// Every change is committed before the call returns. One server process per database (the
/// counts that bound the tables are kept in memory); other processes — the operator's `certs`
/// commands — may read and revoke beside it. One connection, behind a mutex: the
/// calls block, so [`is_blocking`](CertificateStore::is_blocking) is true and the server calls
/// them on tokio's blocking pool.
///
/// A reservation ([`TransactionState::Reserved`], saved before a certificate is issued) is kept
/// in memory, not written: it takes the transactionID and a place in the table (it counts
/// against `max_transactions` and expires like a record), and the response's save writes the
/// record. This relies on the same one-process rule as the counts; a crash drops the
/// reservations, and the transactionIDs are free again (a certificate issued just before the
/// crash stays in the database, undelivered). A store shared by several servers writes them. Opening applies the pending migrations (`PRAGMA
/// user_version` counts them).
#[derive(Debug)]
pub struct SqliteStore {
    path: PathBuf,
    options: SqliteOptions,
    inner: Mutex<Inner>,
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

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
            || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
}

impl SqliteStore {
    /// Opens (creating it if needed) the database `path` and migrates it.
    pub fn open(path: &Path, options: SqliteOptions) -> Result<Self, Error> {
        let conn = Connection::open(path)
            .map_err(|e| Error::Database(format!("{}: {e}", path.display())))?;
        Self::with_connection(conn, path.to_path_buf(), options)
    }

    /// Opens the database [`DB_FILE`] in the state directory `dir` (created if missing).
    pub fn open_in(dir: &Path, options: SqliteOptions) -> Result<Self, Error> {
        std::fs::create_dir_all(dir).map_err(|e| Error::StateDir {
            path: dir.display().to_string(),
            message: e.to_string(),
        })?;
        Self::open(&dir.join(DB_FILE), options)
    }

    fn with_connection(
        mut conn: Connection,
        path: PathBuf,
        options: SqliteOptions,
    ) -> Result<Self, Error> {
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
        migrate(&mut conn)?;
        let transactions = count(&conn, sql::TX_COUNT)?;
        let certificates = count(&conn, sql::CERT_COUNT)?;
        Ok(SqliteStore {
            path,
            options,
            inner: Mutex::new(Inner {
                conn,
                transactions,
                certificates,
                reserved: HashMap::new(),
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version (`PRAGMA user_version`): the number of migrations applied.
    pub fn schema_version(&self) -> Result<u32, Error> {
        user_version(&self.lock().conn)
    }

    /// The number of migrations this build knows (and applies at open).
    pub fn latest_schema_version() -> u32 {
        u32::try_from(sql::MIGRATIONS.len()).unwrap_or(u32::MAX)
    }

    /// Binds the state to the CA certificate `ca_der`: the first call records it, later ones
    /// (after a restart) fail with [`Error::StateMismatch`] if it is another certificate —
    /// the certificates in the state were issued by that CA.
    pub fn bind_ca(&self, ca_der: &[u8]) -> Result<(), Error> {
        let inner = self.lock();
        let stored: Option<Vec<u8>> = inner
            .conn
            .query_row(sql::META_GET, ["ca_certificate"], |r| r.get(0))
            .optional()
            .map_err(db)?;
        match stored {
            Some(der) if der == ca_der => Ok(()),
            Some(_) => Err(Error::StateMismatch {
                path: self.path.display().to_string(),
            }),
            None => {
                inner
                    .conn
                    .execute(sql::META_SET, params!["ca_certificate", ca_der])
                    .map_err(db)?;
                Ok(())
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic inside a call leaves at most an uncommitted SQLite transaction, which is
        // rolled back when its handle is dropped: the connection stays consistent.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
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

impl TransactionStore for SqliteStore {
    fn load(
        &self,
        transaction_id: &[u8],
        now: SystemTime,
    ) -> Result<Option<TransactionRecord>, StoreError> {
        let at = now;
        let now = millis(now).map_err(backend)?;
        let inner = self.lock();
        if let Some(r) = inner.reserved.get(transaction_id) {
            if r.expires_at > at {
                return Ok(Some(r.clone()));
            }
        }
        let mut stmt = inner
            .conn
            .prepare_cached(sql::TX_LOAD)
            .map_err(|e| backend(db(e)))?;
        stmt.query_row(params![transaction_id, now], decode)
            .optional()
            .map_err(|e| backend(db(e)))?
            .transpose()
    }

    fn save(
        &self,
        record: TransactionRecord,
        expected: Option<u64>,
        now: SystemTime,
    ) -> Result<(), StoreError> {
        let at = now;
        let now = millis(now).map_err(backend)?;
        let mut guard = self.lock();
        let inner = &mut *guard;
        let reservation = inner
            .reserved
            .get(&record.transaction_id)
            .filter(|r| r.expires_at > at)
            .map(|r| r.version);
        let reserving = record.state == TransactionState::Reserved;
        match (expected, reservation) {
            (Some(v), Some(r)) if v == r => {
                if reserving {
                    inner.reserved.insert(record.transaction_id.clone(), record);
                    return Ok(());
                }
                // The reservation held the place: the record replaces it.
                inner.reserved.remove(&record.transaction_id);
                insert_row(inner, &record, now)
            }
            (_, Some(_)) => Err(StoreError::Conflict),
            (None, None) if reserving => {
                let taken = inner
                    .conn
                    .prepare_cached(sql::TX_LIVE)
                    .and_then(|mut s| s.exists(params![record.transaction_id, now]))
                    .map_err(|e| backend(db(e)))?;
                if taken {
                    return Err(StoreError::Conflict);
                }
                make_room(inner, self.options.max_transactions, now, at)?;
                inner.reserved.insert(record.transaction_id.clone(), record);
                Ok(())
            }
            (None, None) => {
                make_room(inner, self.options.max_transactions, now, at)?;
                insert_row(inner, &record, now)
            }
            (Some(expected), None) => update_row(inner, &record, expected, now),
        }
    }

    fn is_blocking(&self) -> bool {
        true
    }
}

/// Makes room for one more transaction (a record or a reservation): expired reservations and
/// records are dropped, then the closed records that expire first (a batch of 1/64 of the
/// table); [`StoreError::Full`] when every place is held by an unfinished transaction.
fn make_room(inner: &mut Inner, max: usize, now: i64, at: SystemTime) -> Result<(), StoreError> {
    if inner.transactions + inner.reserved.len() < max {
        return Ok(());
    }
    inner.reserved.retain(|_, r| r.expires_at > at);
    if inner.transactions + inner.reserved.len() < max {
        return Ok(());
    }
    let sqlerr = |e| backend(db(e));
    let held = inner.transactions;
    let reserved = inner.reserved.len();
    let tx = inner.conn.transaction().map_err(sqlerr)?;
    let mut removed = tx
        .prepare_cached(sql::TX_DELETE_EXPIRED)
        .and_then(|mut s| s.execute([now]))
        .map_err(sqlerr)?;
    if held - removed.min(held) + reserved >= max {
        let batch = i64::try_from(max / 64 + 1).unwrap_or(i64::MAX);
        removed += tx
            .prepare_cached(sql::TX_EVICT_CLOSED)
            .and_then(|mut s| s.execute([batch]))
            .map_err(sqlerr)?;
    }
    tx.commit().map_err(sqlerr)?;
    inner.transactions = held - removed.min(held);
    if inner.transactions + reserved >= max {
        return Err(StoreError::Full { max });
    }
    Ok(())
}

/// Writes a new record (an expired one with the same transactionID is replaced); a live one
/// with the same ID is a [`StoreError::Conflict`].
fn insert_row(inner: &mut Inner, record: &TransactionRecord, now: i64) -> Result<(), StoreError> {
    let sqlerr = |e| backend(db(e));
    let expires = millis(record.expires_at).map_err(backend)?;
    let version = i64::try_from(record.version)
        .map_err(|_| StoreError::Backend("the version exceeds 2^63".into()))?;
    let e = encode(record)?;
    let tx = inner.conn.transaction().map_err(sqlerr)?;
    let removed = tx
        .prepare_cached(sql::TX_DELETE_EXPIRED_ONE)
        .and_then(|mut s| s.execute(params![record.transaction_id, now]))
        .map_err(sqlerr)?;
    let inserted = tx
        .prepare_cached(sql::TX_INSERT)
        .and_then(|mut s| s.execute(&*columns(record, &e, &version, &expires)))
        .map_err(sqlerr)?;
    if inserted == 0 {
        return Err(StoreError::Conflict);
    }
    tx.commit().map_err(sqlerr)?;
    inner.transactions = inner.transactions - removed.min(inner.transactions) + 1;
    Ok(())
}

/// The 14 columns of a transaction row, in the order `TX_INSERT` and `TX_UPDATE` bind them
/// (the update then binds the expected version and the time).
fn columns<'a>(
    record: &'a TransactionRecord,
    e: &'a Encoded<'a>,
    version: &'a i64,
    expires: &'a i64,
) -> Vec<&'a dyn rusqlite::ToSql> {
    vec![
        &record.transaction_id,
        version,
        &e.state,
        &e.cert_req_id,
        &e.certificate,
        &e.auth_kind,
        &e.auth_value,
        &record.last_request,
        &record.last_response,
        &record.response_nonce,
        expires,
        &e.kind,
        &e.polls_left,
        &e.implicit,
    ]
}

/// The compare-and-swap of a stored record: replaced only if its version is `expected`.
fn update_row(
    inner: &mut Inner,
    record: &TransactionRecord,
    expected: u64,
    now: i64,
) -> Result<(), StoreError> {
    let sqlerr = |e| backend(db(e));
    let expires = millis(record.expires_at).map_err(backend)?;
    let version = i64::try_from(record.version)
        .map_err(|_| StoreError::Backend("the version exceeds 2^63".into()))?;
    let expected = i64::try_from(expected)
        .map_err(|_| StoreError::Backend("the version exceeds 2^63".into()))?;
    let e = encode(record)?;
    let updated = inner
        .conn
        .prepare_cached(sql::TX_UPDATE)
        .and_then(|mut s| {
            let mut values = columns(record, &e, &version, &expires);
            values.extend([&expected as &dyn rusqlite::ToSql, &now]);
            s.execute(&*values)
        })
        .map_err(sqlerr)?;
    if updated == 0 {
        return Err(StoreError::Conflict);
    }
    Ok(())
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
        let not_after = millis(certificate.not_after)?;
        let issued_at = millis(certificate.issued_at)?;
        let mut inner = self.lock();
        if inner.certificates >= self.options.max_certificates {
            return Err(Error::StoreFull {
                max: self.options.max_certificates,
            });
        }
        let mut stmt = inner.conn.prepare_cached(sql::CERT_INSERT).map_err(db)?;
        let result = stmt.execute(params![
            certificate.serial,
            certificate.certificate,
            certificate.subject,
            not_after,
            issued_at,
        ]);
        drop(stmt);
        match result {
            Ok(_) => {
                inner.certificates += 1;
                Ok(())
            }
            Err(e) if is_unique_violation(&e) => Err(Error::SerialTaken),
            Err(e) => Err(db(e)),
        }
    }

    fn get(&self, serial: &[u8]) -> Result<Option<StoredCertificate>, Error> {
        let inner = self.lock();
        let mut stmt = inner.conn.prepare_cached(sql::CERT_GET).map_err(db)?;
        stmt.query_row([serial], stored).optional().map_err(db)
    }

    fn revoke(
        &self,
        serial: &[u8],
        reason: Option<CrlReason>,
        at: SystemTime,
    ) -> Result<(), Error> {
        let at = millis(at)?;
        let mut inner = self.lock();
        let tx = inner.conn.transaction().map_err(db)?;
        let exists = tx
            .prepare_cached(sql::CERT_EXISTS)
            .map_err(db)?
            .query_row([serial], |_| Ok(()))
            .optional()
            .map_err(db)?
            .is_some();
        if !exists {
            return Err(Error::UnknownSerial);
        }
        let reason = reason.map(|r| r as i64);
        let inserted = tx
            .prepare_cached(sql::REVOKE)
            .map_err(db)?
            .execute(params![serial, at, reason])
            .map_err(db)?;
        if inserted == 0 {
            return Err(Error::AlreadyRevoked);
        }
        tx.commit().map_err(db)
    }

    fn revoked(&self, max: usize) -> Result<Vec<StoredCertificate>, Error> {
        let inner = self.lock();
        let mut stmt = inner.conn.prepare(sql::CERT_REVOKED).map_err(db)?;
        let limit = i64::try_from(max).unwrap_or(i64::MAX);
        let rows = stmt.query_map([limit], stored).map_err(db)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(db)
    }

    fn list(&self, max: usize) -> Result<Vec<StoredCertificate>, Error> {
        let inner = self.lock();
        let mut stmt = inner.conn.prepare(sql::CERT_LIST).map_err(db)?;
        let limit = i64::try_from(max).unwrap_or(i64::MAX);
        let rows = stmt.query_map([limit], stored).map_err(db)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(db)
    }

    fn is_blocking(&self) -> bool {
        true
    }
}
