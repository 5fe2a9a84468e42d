//! `Enrollment::save_state` and `Enrollment::resume` in memory, against the scripted mock
//! CA of `cmp_tests`: a transaction saved before each send, dropped (the crash) and rebuilt
//! from its saved bytes continues to the end; the misuses are refused with their exact error.

use cmp_core::ClientError;
use cmp_core::crypto::PrivateKey;
use cmp_core::transaction::{
    Enrollment, EnrollmentKind, Phase, Step, Transaction, TransactionState,
};
use cmp_tests::enroll_rig::{config, ip_granted, new_key, pkiconf, request, script};
use cmp_tests::mock_ca::MockCa;
use cmp_tests::run::block_on;

const KEY: &str = "/state/keys/dev.pending.pem";
const CA: &str = "http://127.0.0.1:1/pkix/";

/// Drives `tx` from `step` until the next send; returns the request.
fn until_send(
    tx: &mut Enrollment,
    mut step: Step<cmp_core::transaction::Enrolled>,
    key: &dyn PrivateKey,
) -> Vec<u8> {
    loop {
        step = match step {
            Step::Send(bytes) => return bytes,
            Step::Sign { alg, data, .. } => {
                let sig = block_on(key.sign(alg, &data)).expect("sign");
                tx.on_signature(sig, std::time::SystemTime::now())
                    .expect("signature")
            }
            Step::Stage { .. } => tx.on_staged(std::time::SystemTime::now()).expect("staged"),
            other => panic!("unexpected step {other:?}"),
        };
    }
}

/// Saves, "crashes" (drops everything but the bytes) and resumes.
fn crash(tx: Enrollment, sent: &[u8], key: &dyn PrivateKey) -> (Enrollment, TransactionState) {
    let bytes = tx.save_state(sent, KEY, CA).expect("saved").to_bytes();
    drop(tx);
    let state = TransactionState::from_bytes(&bytes).expect("read back");
    assert_eq!((state.key.as_str(), state.ca.as_str()), (KEY, CA));
    assert_eq!(state.request, sent);
    let tx = Enrollment::resume(config(|_| {}), request(key), &state).expect("resumed");
    (tx, state)
}

#[test]
fn resumed_after_the_request_and_after_certconf_the_transaction_completes() {
    let key = new_key();
    let ca = MockCa::new(vec![
        script(|_| ip_granted()),
        script(|_| ip_granted()),
        script(|_| pkiconf()),
        script(|_| pkiconf()),
    ]);
    let now = std::time::SystemTime::now;
    let mut tx = Enrollment::new(config(|_| {}), request(&key)).expect("transaction");
    let start = tx.start(now()).expect("start");
    let ir = until_send(&mut tx, start, &key);
    let tid = tx.transaction_id().to_vec();
    // Saved before the send; the CA answers the ir; the agent crashes before reading it.
    let _lost = ca.answer(&ir);
    let (mut tx, state) = crash(tx, &ir, &key);
    assert_eq!(
        (state.phase.clone(), state.kind),
        (Phase::Requested, EnrollmentKind::Ir)
    );
    assert_eq!(state.transaction_id, tid);
    assert_eq!(tx.transaction_id(), tid.as_slice());
    // The identical bytes again: the answer is checked against the saved nonce.
    let next = tx
        .on_response(&ca.answer(&state.request), now())
        .expect("ip accepted");
    assert!(matches!(next, Step::Stage { .. }), "{next:?}");
    let cert_conf = until_send(&mut tx, next, &key);
    // Saved before certConf; crash after sending it.
    let _lost = ca.answer(&cert_conf);
    let (mut tx, state) = crash(tx, &cert_conf, &key);
    let Phase::Confirming { certificate } = &state.phase else {
        panic!("{:?}", state.phase)
    };
    assert_eq!(certificate, cmp_tests::mock_ca::new_cert().der());
    match tx
        .on_response(&ca.answer(&state.request), now())
        .expect("pkiConf")
    {
        Step::Done(enrolled) => assert_eq!(enrolled.certificate.der(), certificate.as_slice()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn misuses_are_refused() {
    let key = new_key();
    let tx = Enrollment::new(config(|_| {}), request(&key)).expect("transaction");
    let local = |e: ClientError| match e {
        ClientError::Local(m) => m,
        other => panic!("{other:?}"),
    };
    // Not started: nothing to resume with.
    assert_eq!(
        local(tx.save_state(b"x", KEY, CA).expect_err("not waiting")),
        "the transaction is not waiting for a response it could resume with"
    );
    let mut tx = tx;
    let start = tx.start(std::time::SystemTime::now()).expect("start");
    let ir = until_send(&mut tx, start, &key);
    let mut state = tx.save_state(&ir, KEY, CA).expect("saved");
    state.kind = EnrollmentKind::Kur;
    assert_eq!(
        local(Enrollment::resume(config(|_| {}), request(&key), &state).expect_err("kind")),
        "the saved transaction is Kur, the request Ir: not the same kind"
    );
    // A response to another transaction is refused after a resume too.
    state.kind = EnrollmentKind::Ir;
    state.transaction_id = vec![9; 16];
    let mut tx = Enrollment::resume(config(|_| {}), request(&key), &state).expect("resumed");
    let ca = MockCa::new(vec![script(|_| ip_granted())]);
    let err = tx
        .on_response(&ca.answer(&ir), std::time::SystemTime::now())
        .expect_err("another transactionID");
    assert!(err.to_string().contains("transactionID"), "{err}");
}
