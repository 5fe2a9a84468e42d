//! The SQLite state, in real database files, across restarts: the server is dropped and built
//! again on the same file (a new connection, a new CA object with the same certificate and
//! key), the client machine goes on where it was.

mod common;

use cmp_core::crypto::PrivateKeyExt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use cmp_core::asn1::{CrlReason, FailureBit, PkiBody, PkiFailureInfo, PkiMessage, PkiStatus};
use cmp_core::crypto::PrivateKey;
use cmp_core::protection::{MacSettings, protect_with_mac};
use cmp_core::server::{
    Authenticator, Issuer, StoreError, TransactionRecord, TransactionState, TransactionStore,
};
use cmp_core::transaction::{Enrollment, EnrollmentKind, Revocation, Step, Transaction};
use cmp_server::store::{CertificateStore, StoredCertificate};
use cmp_server::{BuiltinCa, CmpServer, Error, IssuancePolicy, SqliteOptions, SqliteStore};
use common::*;

/// (Re)starts `pki`'s server on the database in `dir`: a new store and a new CA object with
/// the same certificate and key; the old ones are dropped.
fn start_on(pki: Pki, dir: &Path) -> (Pki, Arc<SqliteStore>) {
    start_with(pki, dir, SqliteOptions::default())
}

/// [`start_on`] with these store options.
fn start_with(pki: Pki, dir: &Path, options: SqliteOptions) -> (Pki, Arc<SqliteStore>) {
    let store = Arc::new(SqliteStore::open_in(dir, options).expect("open"));
    store.bind_ca(pki.ca.ca_cert().der()).expect("the same CA");
    let ca = Arc::new(
        BuiltinCa::new(
            pki.ca.ca_cert().clone(),
            Vec::new(),
            pki.ca.key().clone(),
            pki.primitives.clone(),
            IssuancePolicy::default(),
        )
        .expect("CA")
        .with_store(store.clone()),
    );
    let server = CmpServer::new(
        pki.server.config().clone(),
        ca.clone(),
        store.clone(),
        Some(ca.key().clone()),
    );
    (Pki { server, ca, ..pki }, store)
}

fn remac(pki: &Pki, der: &[u8], change: impl FnOnce(&mut PkiMessage)) -> Vec<u8> {
    let mut msg = decode(der);
    change(&mut msg);
    protect_with_mac(
        &mut msg,
        SECRET,
        &MacSettings::pbm_default(),
        pki.primitives.as_ref(),
    )
    .expect("protect");
    msg.to_der().expect("der")
}

fn error_of(der: &[u8]) -> (PkiStatus, PkiFailureInfo, String) {
    let PkiBody::Error(e) = decode(der).body else {
        panic!("an error message, got {}", decode(der).body.name())
    };
    let info = e.pki_status_info;
    let text = info.text().unwrap_or_default();
    (info.status, info.fail_info.expect("failInfo"), text)
}

/// Starts an ir and returns the transaction, its request and the server's ip.
fn ir(pki: &Pki, key: &dyn PrivateKey) -> (Enrollment, Vec<u8>, Vec<u8>) {
    let (tx, ir) = ir_request(pki, key);
    let ip = pki.send(&ir);
    (tx, ir, ip)
}

/// Starts an ir: the transaction and its request, not sent.
fn ir_request(pki: &Pki, key: &dyn PrivateKey) -> (Enrollment, Vec<u8>) {
    let mut tx =
        Enrollment::new(Arc::new(pki.mac_client()), request(EnrollmentKind::Ir, key)).expect("tx");
    let ir = signed_first_request(&mut tx, key);
    (tx, ir)
}

/// An unfinished transaction (a certificate awaiting certConf) that takes a place in the table.
fn unfinished(id: u8) -> TransactionRecord {
    TransactionRecord {
        transaction_id: vec![id; 16],
        version: 1,
        state: TransactionState::AwaitingConfirmation {
            cert_req_id: 0,
            certificate: vec![0x30, 0x00],
        },
        authenticator: Authenticator::Reference(b"ref".to_vec()),
        last_request: vec![1],
        last_response: vec![2],
        response_nonce: vec![3],
        expires_at: now() + Duration::from_secs(60),
    }
}

/// A request the transaction table has no room for is refused before the issuer is asked:
/// no certificate was issued, none stored.
#[test]
fn a_request_refused_for_a_full_table_has_issued_nothing() {
    let dir = cmp_tests::tools::temp_dir("sqlite-full-issues-nothing");
    let options = SqliteOptions {
        max_transactions: 2,
        ..SqliteOptions::default()
    };
    let (pki, store) = start_with(Pki::new(|_| {}), &dir, options);
    for id in [1, 2] {
        store.save(unfinished(id), None, now()).expect("room");
    }
    let key = new_key();
    let (_tx, _ir, answer) = ir(&pki, key.as_ref());
    assert_eq!(
        error_of(&answer),
        (
            PkiStatus::REJECTION,
            PkiFailureInfo::from_bits([FailureBit::SystemUnavail]),
            "the transaction table is full (2 transactions)".to_owned()
        )
    );
    assert_eq!(store.list(10).expect("list"), Vec::new(), "nothing issued");
    // With room again (a transaction finished), the same client is served.
    let mut closed = unfinished(1);
    closed.version = 2;
    closed.state = TransactionState::Closed;
    store.save(closed, Some(1), now()).expect("close");
    let (_tx, _ir, ip) = ir(&pki, key.as_ref());
    assert_eq!(decode(&ip).body.name(), "ip");
    assert_eq!(store.list(10).expect("list").len(), 1);
}

/// Two different requests on one transactionID, both loaded before either is saved: the
/// reservation settles the race before the issuer is asked, so the loser has issued nothing.
#[test]
fn the_loser_of_a_race_for_a_transaction_id_has_issued_nothing() {
    use cmp_core::server::{Exchange, ServerStep};
    use cmp_core::transport::PeerInfo;
    let dir = cmp_tests::tools::temp_dir("sqlite-race-issues-nothing");
    let (pki, store) = start_on(Pki::new(|_| {}), &dir);
    let key = new_key();
    let (_tx, first) = ir_request(&pki, key.as_ref());
    let second = remac(&pki, &first, |m| {
        m.header.sender_nonce = Some(vec![5u8; 16].into())
    });
    let tid = decode(&first).header.transaction_id.expect("tid").to_vec();
    let config = pki.server.config().clone();
    let mut a = Exchange::new(config.clone(), first, PeerInfo::default());
    let mut b = Exchange::new(config, second, PeerInfo::default());
    for ex in [&mut a, &mut b] {
        let ServerStep::Load { transaction_id } = ex.start(now()).expect("start") else {
            panic!("load first")
        };
        assert_eq!(transaction_id, tid);
    }
    let mut reservations = Vec::new();
    for ex in [&mut a, &mut b] {
        let loaded = store.load(&tid, now());
        assert_eq!(loaded, Ok(None), "neither is saved yet");
        let ServerStep::Save { record, expected } = ex.on_loaded(loaded).expect("checked") else {
            panic!("the reservation before the issuer")
        };
        assert_eq!(
            (&record.state, expected),
            (&TransactionState::Reserved, None)
        );
        reservations.push(record);
    }
    let [ra, rb] = <[TransactionRecord; 2]>::try_from(reservations).expect("two");
    let step = a.on_saved(store.save(ra, None, now())).expect("reserved");
    assert!(matches!(step, ServerStep::Issue(_)), "{step:?}");
    let ServerStep::Respond(lost) = b.on_saved(store.save(rb, None, now())).expect("lost") else {
        panic!("the loser is answered at once")
    };
    assert_eq!(
        error_of(&lost),
        (
            PkiStatus::REJECTION,
            PkiFailureInfo::from_bits([FailureBit::TransactionIdInUse]),
            "the transaction was changed by another request".to_owned()
        )
    );
    assert_eq!(store.list(10).expect("list"), Vec::new());
}

#[test]
fn a_restarted_server_answers_the_cert_conf_and_retransmissions_identically() {
    let dir = cmp_tests::tools::temp_dir("sqlite-restart-certconf");
    let (pki, _) = start_on(Pki::new(|_| {}), &dir);
    let key = new_key();
    let (mut tx, ir, ip) = ir(&pki, key.as_ref());
    let tid = decode(&ir).header.transaction_id.expect("tid").to_vec();

    let (pki, store) = start_on(pki, &dir);
    // The ir, sent again after the restart: the stored ip, byte for byte.
    assert_eq!(pki.send(&ir), ip);
    let record = store.load(&tid, now()).expect("load").expect("record");
    assert!(matches!(
        record.state,
        TransactionState::AwaitingConfirmation { .. }
    ));
    let Step::Stage { .. } = tx.on_response(&ip, now()).expect("ip") else {
        panic!("stage")
    };
    let Step::Send(cert_conf) = tx.on_staged(now()).expect("staged") else {
        panic!("certConf")
    };
    let pki_conf = pki.send(&cert_conf);
    let Step::Done(enrolled) = tx.on_response(&pki_conf, now()).expect("pkiConf") else {
        panic!("done")
    };
    assert!(key.matches_public_key(enrolled.certificate.subject_public_key_info()));

    let (pki, store) = start_on(pki, &dir);
    assert_eq!(pki.send(&cert_conf), pki_conf, "the stored pkiConf");
    assert_eq!(
        store
            .load(&tid, now())
            .expect("load")
            .expect("record")
            .state,
        TransactionState::Closed
    );
    // The certificate is in the database, and the restarted CA knows it.
    let listed = store.list(10).expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].certificate, enrolled.certificate.der());
    assert_eq!(listed[0].subject, "CN=Test Device 42,O=cmp-rs server tests");
    let found = cmp_tests::run::block_on(pki.ca.certificate(&listed[0].serial)).expect("lookup");
    assert_eq!(
        found.map(|r| r.certificate),
        Some(enrolled.certificate.der().to_vec())
    );
}

#[test]
fn another_request_on_an_open_transaction_id_after_a_restart_is_transaction_id_in_use() {
    let dir = cmp_tests::tools::temp_dir("sqlite-tid-in-use");
    let (pki, _) = start_on(Pki::new(|_| {}), &dir);
    let key = new_key();
    let (_tx, ir, _ip) = ir(&pki, key.as_ref());
    let (pki, _) = start_on(pki, &dir);
    let replayed = remac(&pki, &ir, |m| {
        m.header.sender_nonce = Some(vec![5u8; 16].into())
    });
    assert_eq!(
        error_of(&pki.send(&replayed)),
        (
            PkiStatus::REJECTION,
            PkiFailureInfo::from_bits([FailureBit::TransactionIdInUse]),
            "the transactionID is in use by another transaction".to_owned()
        )
    );
}

#[test]
fn a_revocation_survives_a_restart() {
    let dir = cmp_tests::tools::temp_dir("sqlite-revocation");
    let (pki, _) = start_on(Pki::new(|_| {}), &dir);
    let key = new_key();
    let cert = pki.issue("CN=Revoked Device", key.as_ref());
    let mut tx = Revocation::new(
        Arc::new(pki.client(signature_credentials(&cert))),
        cert.clone(),
        Some(CrlReason::KeyCompromise),
    )
    .expect("rr");
    let keys = ClientKeys {
        protection: Some(key.as_ref()),
        pop: None,
    };
    let (result, _) = drive(&pki, &mut tx, keys, |r| r);
    assert_eq!(result.expect("revoked"), PkiStatus::ACCEPTED);

    let (pki, store) = start_on(pki, &dir);
    let serial = store.list(10).expect("list")[0].serial.clone();
    let stored = store.get(&serial).expect("get").expect("the certificate");
    let revocation = stored.revocation.expect("revoked");
    assert_eq!(revocation.reason, Some(CrlReason::KeyCompromise));
    assert_eq!(revocation.revoked_at, now());
    // The revoked certificate authenticates nothing after the restart either.
    let mut tx = Revocation::new(
        Arc::new(pki.client(signature_credentials(&cert))),
        cert.clone(),
        None,
    )
    .expect("rr");
    let (result, _) = drive(&pki, &mut tx, keys, |r| r);
    assert_refused(
        result.expect_err("refused"),
        "error",
        FailureBit::CertRevoked,
        "the request is signed with a revoked certificate",
    );
}

fn certificate(serial: u8) -> StoredCertificate {
    StoredCertificate {
        serial: vec![0x40, serial],
        certificate: vec![0x30, serial],
        subject: format!("CN=d{serial}"),
        not_after: now() + Duration::from_secs(3600),
        issued_at: now(),
        revocation: None,
    }
}

#[test]
fn serials_are_unique_by_the_database_and_the_tables_are_bounded() {
    let dir = cmp_tests::tools::temp_dir("sqlite-bounds");
    let options = SqliteOptions {
        max_transactions: 2,
        max_certificates: 2,
        ..SqliteOptions::default()
    };
    let store = SqliteStore::open_in(&dir, options.clone()).expect("open");
    assert_eq!(store.schema_version().expect("version"), 2);
    assert_eq!(SqliteStore::latest_schema_version(), 2);
    store.insert(&certificate(1)).expect("first");
    assert!(matches!(
        store.insert(&certificate(1)),
        Err(Error::SerialTaken)
    ));
    store.insert(&certificate(2)).expect("second");
    assert!(matches!(
        store.insert(&certificate(3)),
        Err(Error::StoreFull { max: 2 })
    ));
    assert!(matches!(
        store.revoke(&[0x40, 9], None, now()),
        Err(Error::UnknownSerial)
    ));
    store.revoke(&[0x40, 1], None, now()).expect("revoke");
    assert!(matches!(
        store.revoke(&[0x40, 1], None, now()),
        Err(Error::AlreadyRevoked)
    ));

    let record = |id: u8, version: u64, expires_at: SystemTime| TransactionRecord {
        transaction_id: vec![id],
        version,
        state: TransactionState::Closed,
        authenticator: Authenticator::Reference(b"ref".to_vec()),
        last_request: vec![1],
        last_response: vec![2],
        response_nonce: vec![3],
        expires_at,
    };
    let t0 = now();
    let later = t0 + Duration::from_secs(60);
    store.save(record(1, 1, later), None, t0).expect("new");
    assert_eq!(
        store.save(record(1, 1, later), None, t0),
        Err(StoreError::Conflict)
    );
    assert_eq!(
        store.save(record(1, 2, later), Some(7), t0),
        Err(StoreError::Conflict)
    );
    store.save(record(1, 2, later), Some(1), t0).expect("cas");
    // An unfinished transaction: a certificate awaiting certConf.
    let open = |id: u8, expires_at: SystemTime| TransactionRecord {
        state: TransactionState::AwaitingConfirmation {
            cert_req_id: 0,
            certificate: vec![0x30, 0x00],
        },
        ..record(id, 1, expires_at)
    };
    store.save(open(2, later), None, t0).expect("second");
    // Full of a closed and an open transaction: the closed one makes room …
    store
        .save(open(3, later), None, t0)
        .expect("room from the closed one");
    assert_eq!(store.load(&[1], t0).expect("load"), None, "evicted");
    // … and with only unfinished ones left, a new one is refused.
    assert_eq!(
        store.save(record(4, 1, later), None, t0),
        Err(StoreError::Full { max: 2 })
    );
    drop(store);
    // Reopened: the counts come from the database, expired records make room.
    let store = SqliteStore::open_in(&dir, options).expect("reopen");
    assert_eq!(
        store.save(record(4, 1, later), None, t0),
        Err(StoreError::Full { max: 2 })
    );
    assert_eq!(store.load(&[2], later).expect("load"), None, "expired");
    store
        .save(record(4, 1, later + Duration::from_secs(60)), None, later)
        .expect("room after expiry");
    assert_eq!(
        store.load(&[3], t0).expect("load").map(|r| r.version),
        None,
        "dropped to make room"
    );
    assert!(matches!(
        store.insert(&certificate(3)),
        Err(Error::StoreFull { max: 2 })
    ));
}

#[test]
fn the_state_belongs_to_one_ca() {
    let dir = cmp_tests::tools::temp_dir("sqlite-bind-ca");
    let store = SqliteStore::open_in(&dir, SqliteOptions::default()).expect("open");
    store.bind_ca(b"ca one").expect("first");
    store.bind_ca(b"ca one").expect("the same");
    let err = store.bind_ca(b"ca two").expect_err("another CA");
    assert_eq!(
        err.to_string(),
        format!(
            "{} holds the certificates of another CA: start with that CA's --ca-cert/--ca-key, or use another --state-dir",
            dir.join(cmp_server::store::DB_FILE).display()
        )
    );
}

#[test]
fn a_server_restarted_before_every_message_answers_the_poll_reqs_and_the_cert_conf() {
    let dir = cmp_tests::tools::temp_dir("sqlite-restart-poll");
    let (mut pki, _) = start_on(
        Pki::new(|c| {
            c.test.poll_count = 2;
            c.test.check_after = 1;
        }),
        &dir,
    );
    let key = new_key();
    let mut tx = Enrollment::new(
        Arc::new(pki.mac_client()),
        request(EnrollmentKind::Ir, key.as_ref()),
    )
    .expect("tx");
    let mut log = Vec::new();
    let mut step = tx.start(now()).expect("start");
    let enrolled = loop {
        assert!(log.len() < 8, "bounded");
        step = match step {
            Step::Sign { alg, data, .. } => {
                let sig = cmp_tests::run::block_on(key.sign(alg, &data)).expect("sign");
                tx.on_signature(sig, now()).expect("signature")
            }
            Step::Send(req) => {
                pki = start_on(pki, &dir).0;
                let resp = pki.send(&req);
                log.push((req, resp.clone()));
                tx.on_response(&resp, now()).expect("response")
            }
            Step::Stage { .. } => tx.on_staged(now()).expect("staged"),
            Step::Wait(_) => tx.on_wait_elapsed(now()).expect("waited"),
            Step::Done(enrolled) => break enrolled,
        };
    };
    assert_eq!(
        flow(&log),
        ["ir→ip", "pollReq→pollRep", "pollReq→ip", "certConf→pkiconf"]
    );
    assert!(key.matches_public_key(enrolled.certificate.subject_public_key_info()));
    let (_, store) = start_on(pki, &dir);
    assert_eq!(
        store.list(10).expect("list")[0].certificate,
        enrolled.certificate.der()
    );
}

#[test]
fn migrations_upgrade_an_older_database_with_its_data_and_refuse_a_newer_one() {
    let dir = cmp_tests::tools::temp_dir("sqlite-migrations");
    let path = dir.join(cmp_server::store::DB_FILE);
    drop(SqliteStore::open_in(&dir, SqliteOptions::default()).expect("create"));
    let expires_ms = (now() + Duration::from_secs(60))
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as i64;
    {
        // Back to what the first release wrote (schema version 1), with a transaction in it.
        let conn = rusqlite::Connection::open(&path).expect("open");
        conn.execute_batch(
            "ALTER TABLE transactions DROP COLUMN kind;
             ALTER TABLE transactions DROP COLUMN polls_left;
             ALTER TABLE transactions DROP COLUMN implicit;
             PRAGMA user_version = 1;",
        )
        .expect("downgrade");
        conn.execute(
            "INSERT INTO transactions (transaction_id, version, state, cert_req_id, \
             certificate, auth_kind, auth_value, last_request, last_response, response_nonce, \
             expires_at) VALUES (x'01', 3, 1, NULL, NULL, 0, x'726566', x'01', x'02', x'03', ?1)",
            [expires_ms],
        )
        .expect("a v1 row");
    }
    let store = SqliteStore::open_in(&dir, SqliteOptions::default()).expect("migrates");
    assert_eq!(store.schema_version().expect("version"), 2);
    let old = store.load(&[1], now()).expect("load").expect("kept");
    assert_eq!(
        (old.version, old.state, old.authenticator),
        (
            3,
            TransactionState::Closed,
            Authenticator::Reference(b"ref".to_vec())
        )
    );
    let polling = TransactionRecord {
        transaction_id: vec![2],
        version: 1,
        state: TransactionState::Polling {
            kind: EnrollmentKind::Kur,
            cert_req_id: 0,
            certificate: vec![0x30],
            polls_left: 3,
            implicit: true,
        },
        authenticator: Authenticator::Unauthenticated,
        last_request: vec![1],
        last_response: vec![2],
        response_nonce: vec![3],
        expires_at: now() + Duration::from_secs(60),
    };
    store
        .save(polling.clone(), None, now())
        .expect("new columns");
    assert_eq!(store.load(&[2], now()).expect("load"), Some(polling));
    drop(store);
    {
        let conn = rusqlite::Connection::open(&path).expect("open");
        conn.execute_batch("PRAGMA user_version = 99;")
            .expect("from the future");
    }
    let err = SqliteStore::open_in(&dir, SqliteOptions::default()).expect_err("too new");
    assert_eq!(
        err.to_string(),
        "the database has schema version 99; this cmp-server knows up to 2"
    );
}

/// A reservation (made before a certificate is issued) holds its transactionID and a place
/// in the table without being written: the response's save writes the record, and after a
/// restart an unanswered reservation is gone.
#[test]
fn a_reservation_holds_a_place_in_memory_until_the_response_is_saved() {
    let dir = cmp_tests::tools::temp_dir("sqlite-reservation");
    let options = SqliteOptions {
        max_transactions: 3,
        ..SqliteOptions::default()
    };
    let store = SqliteStore::open_in(&dir, options.clone()).expect("open");
    let reserved = |id: u8| TransactionRecord {
        state: TransactionState::Reserved,
        last_request: Vec::new(),
        last_response: Vec::new(),
        response_nonce: Vec::new(),
        ..unfinished(id)
    };
    store.save(reserved(1), None, now()).expect("reserved");
    assert_eq!(store.load(&[1; 16], now()), Ok(Some(reserved(1))));
    assert_eq!(
        store.save(reserved(1), None, now()),
        Err(StoreError::Conflict),
        "the ID is taken"
    );
    store.save(unfinished(2), None, now()).expect("a record");
    assert_eq!(
        store.save(reserved(2), None, now()),
        Err(StoreError::Conflict),
        "a record holds the ID"
    );
    store
        .save(reserved(3), None, now())
        .expect("the third place");
    assert_eq!(
        store.save(unfinished(4), None, now()),
        Err(StoreError::Full { max: 3 })
    );
    // The response replaces the reservation (only the reserved version may).
    let mut answered = unfinished(1);
    answered.version = 2;
    assert_eq!(
        store.save(answered.clone(), Some(7), now()),
        Err(StoreError::Conflict)
    );
    store
        .save(answered.clone(), Some(1), now())
        .expect("answered");
    assert_eq!(store.load(&[1; 16], now()), Ok(Some(answered.clone())));
    drop(store);
    let store = SqliteStore::open_in(&dir, options).expect("reopen");
    assert_eq!(store.load(&[1; 16], now()), Ok(Some(answered)), "written");
    assert_eq!(store.load(&[3; 16], now()), Ok(None), "never written");
    store
        .save(unfinished(4), None, now())
        .expect("its place is free");
    // Expired reservations give their place back.
    assert_eq!(
        store.save(reserved(5), None, now()),
        Err(StoreError::Full { max: 3 })
    );
    let mut short = reserved(6);
    short.expires_at = now() + Duration::from_secs(1);
    drop(store);
    let store = SqliteStore::open_in(
        &dir,
        SqliteOptions {
            max_transactions: 4,
            ..SqliteOptions::default()
        },
    )
    .expect("reopen");
    store.save(short, None, now()).expect("a short reservation");
    assert_eq!(
        store.save(reserved(7), None, now()),
        Err(StoreError::Full { max: 4 })
    );
    store
        .save(reserved(7), None, now() + Duration::from_secs(2))
        .expect("the expired reservation made room");
}

#[test]
fn an_open_transactions_record_is_kept_in_memory_as_committed() {
    let dir = cmp_tests::tools::temp_dir("sqlite-open-kept");
    let store = SqliteStore::open_in(&dir, SqliteOptions::default()).expect("open");
    store.save(unfinished(1), None, now()).expect("saved");
    // Changed behind the store's back: the open transaction's next message is answered from
    // the record the store committed, without reading the database.
    let other = rusqlite::Connection::open(dir.join(cmp_server::store::DB_FILE)).expect("db");
    other
        .execute(
            "UPDATE transactions SET last_response = x'09' WHERE transaction_id = ?1",
            [vec![1u8; 16]],
        )
        .expect("update");
    assert_eq!(store.load(&[1; 16], now()), Ok(Some(unfinished(1))));
    // A stale version still loses, and changes nothing.
    let mut closed = unfinished(1);
    closed.version = 2;
    closed.state = TransactionState::Closed;
    assert_eq!(
        store.save(closed.clone(), Some(5), now()),
        Err(StoreError::Conflict)
    );
    assert_eq!(store.load(&[1; 16], now()), Ok(Some(unfinished(1))));
    // Once closed, the record is the database's again.
    store.save(closed.clone(), Some(1), now()).expect("closed");
    assert_eq!(store.load(&[1; 16], now()), Ok(Some(closed.clone())));
    // An open record that expired is not found, in memory or in the database.
    let mut short = unfinished(2);
    short.expires_at = now() + Duration::from_secs(1);
    store.save(short.clone(), None, now()).expect("saved");
    assert_eq!(store.load(&[2; 16], now()), Ok(Some(short)));
    assert_eq!(
        store.load(&[2; 16], now() + Duration::from_secs(2)),
        Ok(None)
    );
    // After a restart the records come from the database.
    drop(store);
    let store = SqliteStore::open_in(&dir, SqliteOptions::default()).expect("reopen");
    assert_eq!(store.load(&[1; 16], now()), Ok(Some(closed)));
}
