//! Every SQL statement of the SQLite store, and the migrations.
//!
//! The schema's version is SQLite's `PRAGMA user_version`: migration *n* (1-based) takes the
//! database from version *n − 1* to *n*, in one transaction with the version bump, so a crash
//! during a migration leaves the previous version. Times are milliseconds since the Unix
//! epoch; serials, transactionIDs and DER are BLOBs.

/// The migrations, in order; never edit one that was released, append a new one.
pub(super) const MIGRATIONS: &[&str] = &[
    // 1: transactions, issued certificates, revocations, and which CA the state belongs to.
    "CREATE TABLE meta (
        key TEXT PRIMARY KEY NOT NULL,
        value BLOB NOT NULL
    ) STRICT;
    CREATE TABLE transactions (
        transaction_id BLOB PRIMARY KEY NOT NULL,
        version INTEGER NOT NULL,
        state INTEGER NOT NULL,
        cert_req_id INTEGER,
        certificate BLOB,
        auth_kind INTEGER NOT NULL,
        auth_value BLOB NOT NULL,
        last_request BLOB NOT NULL,
        last_response BLOB NOT NULL,
        response_nonce BLOB NOT NULL,
        expires_at INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX transactions_expiry ON transactions (expires_at);
    CREATE TABLE certificates (
        serial BLOB NOT NULL UNIQUE,
        certificate BLOB NOT NULL,
        subject TEXT NOT NULL,
        not_after INTEGER NOT NULL,
        issued_at INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE revocations (
        serial BLOB PRIMARY KEY NOT NULL REFERENCES certificates (serial),
        revoked_at INTEGER NOT NULL,
        reason INTEGER
    ) STRICT;",
    // 2: delayed delivery (a transaction polling for a certificate held back).
    "ALTER TABLE transactions ADD COLUMN kind INTEGER;
    ALTER TABLE transactions ADD COLUMN polls_left INTEGER;
    ALTER TABLE transactions ADD COLUMN implicit INTEGER;",
];

/// Session settings of every connection (the journal mode is the database's; the rest is the
/// connection's). `synchronous` is set separately from the options.
pub(super) const PRAGMAS: &str = "PRAGMA journal_mode = WAL;
    PRAGMA foreign_keys = ON;";

pub(super) const META_GET: &str = "SELECT value FROM meta WHERE key = ?1";
pub(super) const META_SET: &str = "INSERT INTO meta (key, value) VALUES (?1, ?2)";

pub(super) const TX_LOAD: &str = "SELECT transaction_id, version, state, cert_req_id, certificate, \
    auth_kind, auth_value, last_request, last_response, response_nonce, expires_at, kind, \
    polls_left, implicit FROM transactions WHERE transaction_id = ?1 AND expires_at > ?2";
/// Whether a live record holds the transactionID ?1 at ?2.
pub(super) const TX_LIVE: &str =
    "SELECT 1 FROM transactions WHERE transaction_id = ?1 AND expires_at > ?2";
pub(super) const TX_COUNT: &str = "SELECT COUNT(*) FROM transactions";
pub(super) const TX_DELETE_EXPIRED: &str = "DELETE FROM transactions WHERE expires_at <= ?1";
/// Makes room: the ?1 closed transactions (state 1) that expire first.
pub(super) const TX_EVICT_CLOSED: &str = "DELETE FROM transactions WHERE rowid IN \
    (SELECT rowid FROM transactions WHERE state = 1 ORDER BY expires_at LIMIT ?1)";
pub(super) const TX_DELETE_EXPIRED_ONE: &str =
    "DELETE FROM transactions WHERE transaction_id = ?1 AND expires_at <= ?2";
/// Insert a new record; a live one with the same ID makes it change nothing (a lost race).
pub(super) const TX_INSERT: &str = "INSERT INTO transactions (transaction_id, version, state, \
    cert_req_id, certificate, auth_kind, auth_value, last_request, last_response, \
    response_nonce, expires_at, kind, polls_left, implicit) \
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) \
    ON CONFLICT (transaction_id) DO NOTHING";
/// The compare-and-swap: only the live record of the expected version (?15) is replaced.
pub(super) const TX_UPDATE: &str = "UPDATE transactions SET version = ?2, state = ?3, \
    cert_req_id = ?4, certificate = ?5, auth_kind = ?6, auth_value = ?7, last_request = ?8, \
    last_response = ?9, response_nonce = ?10, expires_at = ?11, kind = ?12, polls_left = ?13, \
    implicit = ?14 WHERE transaction_id = ?1 AND version = ?15 AND expires_at > ?16";

pub(super) const CERT_COUNT: &str = "SELECT COUNT(*) FROM certificates";
/// Fails with a UNIQUE constraint violation when the serial is taken.
pub(super) const CERT_INSERT: &str = "INSERT INTO certificates (serial, certificate, subject, \
    not_after, issued_at) VALUES (?1, ?2, ?3, ?4, ?5)";
pub(super) const CERT_GET: &str = "SELECT c.serial, c.certificate, c.subject, c.not_after, \
    c.issued_at, r.revoked_at, r.reason FROM certificates c \
    LEFT JOIN revocations r ON r.serial = c.serial WHERE c.serial = ?1";
pub(super) const CERT_LIST: &str = "SELECT c.serial, c.certificate, c.subject, c.not_after, \
    c.issued_at, r.revoked_at, r.reason FROM certificates c \
    LEFT JOIN revocations r ON r.serial = c.serial ORDER BY c.rowid LIMIT ?1";
/// The revoked certificates, in the order of their revocation.
pub(super) const CERT_REVOKED: &str = "SELECT c.serial, c.certificate, c.subject, c.not_after, \
    c.issued_at, r.revoked_at, r.reason FROM revocations r \
    JOIN certificates c ON r.serial = c.serial ORDER BY r.revoked_at, r.rowid LIMIT ?1";
pub(super) const CERT_EXISTS: &str = "SELECT 1 FROM certificates WHERE serial = ?1";
/// A second revocation of the same serial changes nothing.
pub(super) const REVOKE: &str = "INSERT INTO revocations (serial, revoked_at, reason) \
    VALUES (?1, ?2, ?3) ON CONFLICT (serial) DO NOTHING";
