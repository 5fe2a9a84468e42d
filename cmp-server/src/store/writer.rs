//! The [`SqliteStore`](super::SqliteStore)'s writer: one thread that owns the writing
//! connection and commits the writes queued while it was busy in one SQLite transaction
//! (group commit).
//!
//! Each write runs inside its own `SAVEPOINT`, so a write that fails (a taken serial, a lost
//! compare-and-swap) is rolled back alone and its caller alone gets the error; the others of
//! the batch are committed. A caller is answered only after the `COMMIT` that holds its write
//! (or with the error that kept it out): durability is that of a commit per write. When the
//! `COMMIT` itself fails, every write of the batch fails with that error.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use cmp_core::server::{StoreError, TransactionRecord, TransactionState};
use rusqlite::{Connection, params};

use super::sql;
use crate::error::Error;

/// The most writes waiting for the writer; a caller beyond it waits for room (an async
/// caller on the blocking pool, never on a worker thread). About 4 KiB each.
pub(super) const QUEUE: usize = 1024;
/// The most writes committed in one SQLite transaction.
pub(super) const MAX_BATCH: usize = 256;
/// The most open transactions (waiting for a certConf or a pollReq) whose committed record is
/// also kept in memory, about 4 KiB each.
pub(super) const MAX_OPEN_KEPT: usize = 1024;

/// What the in-memory side of the store knows: the row counts that bound the tables and the
/// reservations (see [`SqliteStore`](super::SqliteStore)). The counts change only after a
/// `COMMIT`.
#[derive(Debug, Default)]
pub(super) struct Memory {
    /// Rows in `transactions` (expired ones included until they are dropped).
    pub(super) transactions: usize,
    /// Rows in `certificates`.
    pub(super) certificates: usize,
    /// Transactions reserved before their certificate is issued, by transactionID.
    pub(super) reserved: HashMap<Vec<u8>, TransactionRecord>,
    /// The committed records of open transactions (waiting for a certConf or a pollReq), by
    /// transactionID, at most [`MAX_OPEN_KEPT`]: the next message of the transaction is
    /// answered without reading the database. Changed only after the `COMMIT` that holds the
    /// record, in the same lock as the counts; a record that is not kept is read from the
    /// database.
    pub(super) open: HashMap<Vec<u8>, TransactionRecord>,
}

impl Memory {
    /// Keeps `record`, just committed, if its transaction is open (and there is room), and
    /// forgets the transaction's earlier record otherwise.
    fn committed(&mut self, record: TransactionRecord) {
        let open = matches!(
            record.state,
            TransactionState::AwaitingConfirmation { .. } | TransactionState::Polling { .. }
        );
        if !open {
            self.open.remove(&record.transaction_id);
            return;
        }
        if self.open.len() >= MAX_OPEN_KEPT && !self.open.contains_key(&record.transaction_id) {
            // Full: the record that expires first makes room (an expired one, if any); asked
            // for again, it is read from the database. (No clock here: the store is told the
            // time by its callers.)
            let first = self
                .open
                .iter()
                .min_by_key(|(_, r)| r.expires_at)
                .map(|(id, _)| id.clone());
            if let Some(first) = first {
                self.open.remove(&first);
            }
        }
        self.open.insert(record.transaction_id.clone(), record);
    }
}

/// The shared state of the store's callers and its writer.
#[derive(Debug)]
pub(super) struct Shared {
    pub(super) memory: Mutex<Memory>,
    pub(super) max_transactions: usize,
    pub(super) max_certificates: usize,
    /// Writes queued and not yet answered.
    pub(super) waiting: AtomicUsize,
    /// `COMMIT`s that succeeded.
    pub(super) commits: AtomicU64,
    /// Writes they held.
    pub(super) committed: AtomicU64,
}

impl Shared {
    pub(super) fn memory(&self) -> MutexGuard<'_, Memory> {
        // Every change is a count update or a map insert/remove: never half done.
        self.memory.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A certificate row, its times in milliseconds.
#[derive(Debug)]
pub(super) struct CertificateRow {
    pub(super) serial: Vec<u8>,
    pub(super) certificate: Vec<u8>,
    pub(super) subject: String,
    pub(super) not_after: i64,
    pub(super) issued_at: i64,
}

/// One write.
#[derive(Debug)]
pub(super) enum Op {
    /// A newly issued certificate.
    InsertCertificate(CertificateRow),
    /// A revocation (milliseconds, the CRLReason code).
    Revoke {
        serial: Vec<u8>,
        at: i64,
        reason: Option<i64>,
    },
    /// A new transaction record; `make_room` first when it takes a new place, and the
    /// reservation of this version dropped after the commit when it replaces one.
    InsertTransaction {
        record: TransactionRecord,
        row: TransactionRow,
        now: i64,
        at: SystemTime,
        make_room: bool,
        unreserve: Option<u64>,
    },
    /// The compare-and-swap of a stored record.
    UpdateTransaction {
        record: TransactionRecord,
        row: TransactionRow,
        expected: i64,
        now: i64,
    },
    /// Room for a reservation.
    MakeRoom { now: i64, at: SystemTime },
}

/// A transaction record's columns that are not in the record as such.
#[derive(Debug)]
pub(super) struct TransactionRow {
    pub(super) version: i64,
    pub(super) expires: i64,
    pub(super) state: i64,
    pub(super) cert_req_id: Option<i64>,
    pub(super) certificate: Option<Vec<u8>>,
    pub(super) auth_kind: i64,
    pub(super) auth_value: Vec<u8>,
    pub(super) kind: Option<i64>,
    pub(super) polls_left: Option<i64>,
    pub(super) implicit: Option<i64>,
}

impl TransactionRow {
    /// The 14 columns, in the order `TX_INSERT` and `TX_UPDATE` bind them.
    fn columns<'a>(&'a self, record: &'a TransactionRecord) -> Vec<&'a dyn rusqlite::ToSql> {
        vec![
            &record.transaction_id,
            &self.version,
            &self.state,
            &self.cert_req_id,
            &self.certificate,
            &self.auth_kind,
            &self.auth_value,
            &record.last_request,
            &record.last_response,
            &record.response_nonce,
            &self.expires,
            &self.kind,
            &self.polls_left,
            &self.implicit,
        ]
    }
}

/// Why a write failed.
#[derive(Debug)]
pub(super) enum Failure {
    /// A transaction write lost its race ([`StoreError::Conflict`]).
    Conflict,
    /// The transaction table is full.
    TransactionsFull { max: usize },
    /// Anything else, as the certificate store reports it.
    Store(Error),
}

impl From<Failure> for StoreError {
    fn from(f: Failure) -> Self {
        match f {
            Failure::Conflict => StoreError::Conflict,
            Failure::TransactionsFull { max } => StoreError::Full { max },
            Failure::Store(e) => StoreError::Backend(e.to_string()),
        }
    }
}

impl From<Failure> for Error {
    fn from(f: Failure) -> Self {
        match f {
            Failure::Store(e) => e,
            other => Error::Database(StoreError::from(other).to_string()),
        }
    }
}

fn db(e: rusqlite::Error) -> Failure {
    Failure::Store(Error::Database(e.to_string()))
}

/// Where a caller waits for its write.
#[derive(Debug)]
pub(super) enum Reply {
    /// A thread, blocked.
    Blocking(std::sync::mpsc::SyncSender<Result<(), Failure>>),
    /// A task, awaiting.
    Async(tokio::sync::oneshot::Sender<Result<(), Failure>>),
}

impl Reply {
    fn send(self, shared: &Shared, result: Result<(), Failure>) {
        shared.waiting.fetch_sub(1, Ordering::Relaxed);
        // A caller that went away (a cancelled task) needs no answer; its write stands.
        match self {
            Reply::Blocking(s) => drop(s.send(result)),
            Reply::Async(s) => drop(s.send(result)),
        }
    }
}

/// A write and where its caller waits.
#[derive(Debug)]
pub(super) struct Job {
    pub(super) op: Op,
    pub(super) reply: Reply,
}

/// The sending side, for callers.
#[derive(Debug, Clone)]
pub(super) struct Queue {
    pub(super) sender: SyncSender<Job>,
    pub(super) shared: Arc<Shared>,
}

fn stopped() -> Failure {
    Failure::Store(Error::Database("the store's writer has stopped".into()))
}

impl Queue {
    /// A write counted in `waiting` that never reached the writer (it has stopped): uncounted,
    /// and the error its caller gets.
    fn not_queued(&self) -> Failure {
        self.shared.waiting.fetch_sub(1, Ordering::Relaxed);
        stopped()
    }

    /// Queues `op` and blocks this thread until it is committed or refused.
    pub(super) fn write_blocking(&self, op: Op) -> Result<(), Failure> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.shared.waiting.fetch_add(1, Ordering::Relaxed);
        self.sender
            .send(Job {
                op,
                reply: Reply::Blocking(tx),
            })
            .map_err(|_| self.not_queued())?;
        rx.recv().unwrap_or_else(|_| Err(stopped()))
    }

    /// Queues `op` and waits, without holding a thread, until it is committed or refused.
    /// A full queue is waited for on the blocking pool.
    pub(super) async fn write(&self, op: Op) -> Result<(), Failure> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job = Job {
            op,
            reply: Reply::Async(tx),
        };
        self.shared.waiting.fetch_add(1, Ordering::Relaxed);
        match self.sender.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Disconnected(_)) => return Err(self.not_queued()),
            Err(TrySendError::Full(job)) => {
                let sender = self.sender.clone();
                let sent = super::off_worker(true, move || sender.send(job).is_ok()).await;
                match sent {
                    Ok(true) => {}
                    Ok(false) => return Err(self.not_queued()),
                    Err(e) => {
                        self.shared.waiting.fetch_sub(1, Ordering::Relaxed);
                        return Err(Failure::Store(e));
                    }
                }
            }
        }
        rx.await.unwrap_or_else(|_| Err(stopped()))
    }
}

/// The writer thread's loop: takes the first waiting write, then every other one waiting (at
/// most [`MAX_BATCH`]), commits them together, answers, and again, until every sender is gone.
pub(super) fn run(conn: Connection, shared: Arc<Shared>, jobs: Receiver<Job>) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        commit(&conn, &shared, batch);
    }
}

/// What a committed write changes in memory.
#[derive(Debug, Default)]
struct Effect {
    transactions: isize,
    certificates: isize,
    unreserve: Option<(Vec<u8>, u64)>,
    /// The transaction record written.
    record: Option<TransactionRecord>,
}

/// The counts of the batch so far, not yet committed.
#[derive(Debug, Default)]
struct Pending {
    transactions: isize,
    certificates: isize,
}

fn plus(base: usize, delta: isize) -> usize {
    base.saturating_add_signed(delta)
}

fn execute(conn: &Connection, statement: &str) -> Result<(), rusqlite::Error> {
    conn.prepare_cached(statement)?.execute([]).map(drop)
}

/// One batch in one SQLite transaction, each write in a savepoint.
fn commit(conn: &Connection, shared: &Shared, batch: Vec<Job>) {
    if let Err(e) = execute(conn, "BEGIN IMMEDIATE") {
        let message = e.to_string();
        for job in batch {
            job.reply.send(
                shared,
                Err(Failure::Store(Error::Database(message.clone()))),
            );
        }
        return;
    }
    let mut pending = Pending::default();
    let mut done: Vec<(Reply, Result<Effect, Failure>)> = Vec::with_capacity(batch.len());
    let mut aborted: Option<String> = None;
    for job in batch {
        if let Some(message) = &aborted {
            let failure = Failure::Store(Error::Database(message.clone()));
            done.push((job.reply, Err(failure)));
            continue;
        }
        let result = execute(conn, "SAVEPOINT item")
            .map_err(db)
            .and_then(|()| apply(conn, shared, &pending, job.op));
        let result = match result {
            Ok(effect) => match execute(conn, "RELEASE item") {
                Ok(()) => {
                    pending.transactions += effect.transactions;
                    pending.certificates += effect.certificates;
                    Ok(effect)
                }
                Err(e) => Err(db(e)),
            },
            Err(failure) => Err(failure),
        };
        if result.is_err() && !conn.is_autocommit() {
            let undone =
                execute(conn, "ROLLBACK TO item").and_then(|()| execute(conn, "RELEASE item"));
            if let Err(e) = undone {
                aborted = Some(format!("rolling back a failed write: {e}"));
            }
        }
        if conn.is_autocommit() && aborted.is_none() {
            // SQLite rolled the whole transaction back (an IO error, a full disk): the writes
            // before this one are gone too.
            aborted = Some("the database rolled the batch back".into());
        }
        done.push((job.reply, result));
    }
    let committed = match aborted {
        Some(message) => Err(message),
        None => execute(conn, "COMMIT").map_err(|e| e.to_string()),
    };
    match committed {
        Ok(()) => {
            let mut memory = shared.memory();
            memory.transactions = plus(memory.transactions, pending.transactions);
            memory.certificates = plus(memory.certificates, pending.certificates);
            for (_, result) in &mut done {
                let Ok(effect) = result else { continue };
                if let Some((id, version)) = &effect.unreserve {
                    if memory.reserved.get(id).map(|r| r.version) == Some(*version) {
                        memory.reserved.remove(id);
                    }
                }
                if let Some(record) = effect.record.take() {
                    memory.committed(record);
                }
            }
            drop(memory);
            shared.commits.fetch_add(1, Ordering::Relaxed);
            let held = done.iter().filter(|(_, r)| r.is_ok()).count();
            shared
                .committed
                .fetch_add(u64::try_from(held).unwrap_or(u64::MAX), Ordering::Relaxed);
            for (reply, result) in done {
                reply.send(shared, result.map(drop));
            }
        }
        Err(message) => {
            if !conn.is_autocommit() {
                // Nothing of the batch may stay half-committed for the next one.
                let _ = execute(conn, "ROLLBACK");
            }
            for (reply, result) in done {
                reply.send(
                    shared,
                    match result {
                        Ok(_) => Err(Failure::Store(Error::Database(format!(
                            "the write was not committed: {message}"
                        )))),
                        Err(f) => Err(f),
                    },
                );
            }
        }
    }
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
            || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
}

/// One write, inside the batch's transaction.
fn apply(conn: &Connection, shared: &Shared, pending: &Pending, op: Op) -> Result<Effect, Failure> {
    match op {
        Op::InsertCertificate(row) => {
            let held = plus(shared.memory().certificates, pending.certificates);
            if held >= shared.max_certificates {
                return Err(Failure::Store(Error::StoreFull {
                    max: shared.max_certificates,
                }));
            }
            let inserted = conn.prepare_cached(sql::CERT_INSERT).and_then(|mut s| {
                s.execute(params![
                    row.serial,
                    row.certificate,
                    row.subject,
                    row.not_after,
                    row.issued_at
                ])
            });
            match inserted {
                Ok(_) => Ok(Effect {
                    certificates: 1,
                    ..Effect::default()
                }),
                Err(e) if is_unique_violation(&e) => Err(Failure::Store(Error::SerialTaken)),
                Err(e) => Err(db(e)),
            }
        }
        Op::Revoke { serial, at, reason } => {
            let exists = conn
                .prepare_cached(sql::CERT_EXISTS)
                .and_then(|mut s| s.exists([&serial]))
                .map_err(db)?;
            if !exists {
                return Err(Failure::Store(Error::UnknownSerial));
            }
            let inserted = conn
                .prepare_cached(sql::REVOKE)
                .and_then(|mut s| s.execute(params![serial, at, reason]))
                .map_err(db)?;
            if inserted == 0 {
                return Err(Failure::Store(Error::AlreadyRevoked));
            }
            Ok(Effect::default())
        }
        Op::InsertTransaction {
            record,
            row,
            now,
            at,
            make_room: room,
            unreserve,
        } => {
            let mut effect = Effect::default();
            if room {
                effect.transactions = make_room(conn, shared, pending, now, at)?;
            }
            let removed = conn
                .prepare_cached(sql::TX_DELETE_EXPIRED_ONE)
                .and_then(|mut s| s.execute(params![record.transaction_id, now]))
                .map_err(db)?;
            let inserted = conn
                .prepare_cached(sql::TX_INSERT)
                .and_then(|mut s| s.execute(&*row.columns(&record)))
                .map_err(db)?;
            if inserted == 0 {
                return Err(Failure::Conflict);
            }
            effect.transactions += 1 - isize::try_from(removed).unwrap_or(isize::MAX);
            effect.unreserve = unreserve.map(|v| (record.transaction_id.clone(), v));
            effect.record = Some(record);
            Ok(effect)
        }
        Op::UpdateTransaction {
            record,
            row,
            expected,
            now,
        } => {
            let updated = conn
                .prepare_cached(sql::TX_UPDATE)
                .and_then(|mut s| {
                    let mut values = row.columns(&record);
                    values.extend([&expected as &dyn rusqlite::ToSql, &now]);
                    s.execute(&*values)
                })
                .map_err(db)?;
            if updated == 0 {
                return Err(Failure::Conflict);
            }
            Ok(Effect {
                record: Some(record),
                ..Effect::default()
            })
        }
        Op::MakeRoom { now, at } => Ok(Effect {
            transactions: make_room(conn, shared, pending, now, at)?,
            ..Effect::default()
        }),
    }
}

/// Makes room for one more transaction (a record or a reservation): expired reservations and
/// records are dropped, then the closed records that expire first (a batch of 1/64 of the
/// table); [`Failure::TransactionsFull`] when every place is held by an unfinished
/// transaction. Returns the change of the row count.
fn make_room(
    conn: &Connection,
    shared: &Shared,
    pending: &Pending,
    now: i64,
    at: SystemTime,
) -> Result<isize, Failure> {
    let max = shared.max_transactions;
    let (held, reserved) = {
        let mut memory = shared.memory();
        let held = plus(memory.transactions, pending.transactions);
        if held + memory.reserved.len() < max {
            return Ok(0);
        }
        memory.reserved.retain(|_, r| r.expires_at > at);
        (held, memory.reserved.len())
    };
    if held + reserved < max {
        return Ok(0);
    }
    let mut removed = conn
        .prepare_cached(sql::TX_DELETE_EXPIRED)
        .and_then(|mut s| s.execute([now]))
        .map_err(db)?;
    if held - removed.min(held) + reserved >= max {
        let batch = i64::try_from(max / 64 + 1).unwrap_or(i64::MAX);
        removed += conn
            .prepare_cached(sql::TX_EVICT_CLOSED)
            .and_then(|mut s| s.execute([batch]))
            .map_err(db)?;
    }
    if held - removed.min(held) + reserved >= max {
        return Err(Failure::TransactionsFull { max });
    }
    Ok(-isize::try_from(removed.min(held)).unwrap_or(isize::MAX))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use cmp_core::server::Authenticator;

    use super::*;

    fn open_record(id: u16, expires_in: u64) -> TransactionRecord {
        TransactionRecord {
            transaction_id: id.to_be_bytes().to_vec(),
            version: 1,
            state: TransactionState::AwaitingConfirmation {
                cert_req_id: 0,
                certificate: vec![0x30, 0x00],
            },
            authenticator: Authenticator::Reference(b"ref".to_vec()),
            last_request: vec![1],
            last_response: vec![2],
            response_nonce: vec![3],
            expires_at: SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + expires_in),
        }
    }

    /// Full, the table gives up the record that expires first; a closed transaction leaves it.
    #[test]
    fn the_open_records_kept_are_bounded_and_the_first_to_expire_makes_room() {
        let mut memory = Memory::default();
        for id in 0..u16::try_from(MAX_OPEN_KEPT).expect("small") {
            // Record 7 expires first.
            memory.committed(open_record(id, if id == 7 { 10 } else { 100 }));
        }
        assert_eq!(memory.open.len(), MAX_OPEN_KEPT);
        memory.committed(open_record(5000, 100));
        assert_eq!(memory.open.len(), MAX_OPEN_KEPT);
        assert!(!memory.open.contains_key(7u16.to_be_bytes().as_slice()));
        assert!(memory.open.contains_key(5000u16.to_be_bytes().as_slice()));
        // A new version of a kept record replaces it without evicting another.
        let mut again = open_record(8, 200);
        again.version = 2;
        memory.committed(again);
        assert_eq!(memory.open.len(), MAX_OPEN_KEPT);
        assert_eq!(memory.open[8u16.to_be_bytes().as_slice()].version, 2);
        // Closed, it is no longer kept.
        let mut closed = open_record(8, 200);
        closed.state = TransactionState::Closed;
        memory.committed(closed);
        assert_eq!(memory.open.len(), MAX_OPEN_KEPT - 1);
    }
}
