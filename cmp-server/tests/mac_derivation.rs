//! MAC key derivation as a step: the server machine hands it out ([`ServerStep::DeriveMacKey`])
//! and the client machine announces it ([`Transaction::mac_key_needed`]) instead of deriving
//! inline; a full derivation pool is `systemUnavail` at once; one derivation per request from
//! the server machine, one per transaction from the client machine — and from `CmpServer`,
//! which keeps a transaction's key, one per transaction too.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use cmp_core::asn1::{FailureBit, PkiBody, PkiFailureInfo, PkiStatus};
use cmp_core::crypto::{DigestAlgorithm, Primitives, SignatureAlgorithm};
use cmp_core::protection::{MacKeyDerivation, MacSettings};
use cmp_core::server::{DerivationError, Exchange, MacDerivation, ServerStep, TransactionStore};
use cmp_core::transaction::{Credentials, Enrollment, EnrollmentKind, Step, Transaction};
use cmp_core::transport::PeerInfo;
use cmp_crypto::software::SoftwarePrimitives;
use cmp_server::DerivationPool;
use common::*;

/// Software primitives that count PBKDF2 runs and may hold each one until released.
#[derive(Debug, Default)]
struct Counting {
    pbkdf2: AtomicUsize,
    gate: Mutex<Option<std::sync::mpsc::Receiver<()>>>,
}

impl Primitives for Counting {
    fn digest(&self, alg: DigestAlgorithm, data: &[u8]) -> Result<Vec<u8>, cmp_core::CryptoError> {
        SoftwarePrimitives.digest(alg, data)
    }
    fn hmac(
        &self,
        alg: DigestAlgorithm,
        key: &[u8],
        data: &[u8],
    ) -> Result<Vec<u8>, cmp_core::CryptoError> {
        SoftwarePrimitives.hmac(alg, key, data)
    }
    fn pbkdf2_hmac(
        &self,
        prf: DigestAlgorithm,
        password: &[u8],
        salt: &[u8],
        iterations: u32,
        out: &mut [u8],
    ) -> Result<(), cmp_core::CryptoError> {
        self.pbkdf2.fetch_add(1, Ordering::SeqCst);
        if let Some(gate) = self.gate.lock().expect("lock").as_ref() {
            let _ = gate.recv();
        }
        SoftwarePrimitives.pbkdf2_hmac(prf, password, salt, iterations, out)
    }
    fn fill_random(&self, out: &mut [u8]) -> Result<(), cmp_core::CryptoError> {
        SoftwarePrimitives.fill_random(out)
    }
    fn verify_signature(
        &self,
        spki: &[u8],
        alg: SignatureAlgorithm,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), cmp_core::CryptoError> {
        SoftwarePrimitives.verify_signature(spki, alg, message, signature)
    }
}

fn pbmac1(secret: &[u8]) -> Credentials {
    Credentials::Mac {
        secret: secret.to_vec().into(),
        reference: REFERENCE.to_vec(),
        settings: MacSettings::pbmac1_default(),
    }
}

/// Runs one request through the server machine in step mode; returns the response and how
/// many keys it asked for. `derive` answers each DeriveMacKey.
fn serve(
    pki: &Pki,
    request: Vec<u8>,
    mut derive: impl FnMut(MacKeyDerivation) -> Result<cmp_core::protection::MacKey, DerivationError>,
) -> (Vec<u8>, usize) {
    let mut exchange = Exchange::new(pki.server.config().clone(), request, PeerInfo::default());
    let mut step = exchange.start(now()).expect("start");
    let mut derivations = 0;
    for _ in 0..16 {
        step = match step {
            ServerStep::Respond(bytes) => return (bytes, derivations),
            ServerStep::DeriveMacKey(d) => {
                derivations += 1;
                exchange.on_mac_key(derive(d)).expect("key")
            }
            ServerStep::Load { transaction_id } => exchange
                .on_loaded(pki.store.load(&transaction_id, now()))
                .expect("loaded"),
            ServerStep::Save { record, expected } => exchange
                .on_saved(pki.store.save(record, expected, now()))
                .expect("saved"),
            ServerStep::Issue(req) => {
                let issued = cmp_tests::run::block_on(cmp_core::server::Issuer::issue(
                    pki.ca.as_ref(),
                    &req,
                ));
                exchange.on_issued(issued).expect("issued")
            }
            ServerStep::Sign { alg, data } => {
                let sig = cmp_tests::run::block_on(pki.ca.key().sign(alg, &data)).expect("sign");
                exchange.on_signature(sig).expect("signed")
            }
            other => panic!("unexpected step {other:?}"),
        };
    }
    panic!("the exchange did not end")
}

fn step_mode() -> Pki {
    Pki::new(|c| c.mac_derivation = MacDerivation::Step)
}

#[test]
fn one_derivation_per_request_on_the_server_and_one_per_transaction_on_the_client() {
    let pki = step_mode();
    let counting = Arc::new(Counting::default());
    let mut config = pki.client(pbmac1(SECRET));
    config.primitives = counting.clone();
    let key = new_key();
    let mut tx =
        Enrollment::new(Arc::new(config), request(EnrollmentKind::Ir, key.as_ref())).expect("tx");

    // The client announces its own key before start, and derives nothing inline.
    let own = tx.mac_key_needed(None).expect("our key is needed");
    assert_eq!(own.iterations(), 10_000);
    tx.on_mac_key(own.derive().expect("derived"));
    assert_eq!(counting.pbkdf2.load(Ordering::SeqCst), 1);
    assert!(tx.mac_key_needed(None).is_none(), "the key is at hand");
    let ir = signed_first_request(&mut tx, &*key);
    assert_eq!(
        counting.pbkdf2.load(Ordering::SeqCst),
        1,
        "no inline derivation"
    );

    // The server hands the derivation out, once, with the client's parameters.
    let mut asked = Vec::new();
    let (ip, n) = serve(&pki, ir, |d| {
        asked.push(d.iterations());
        d.derive().map_err(DerivationError::Failed)
    });
    assert_eq!((n, asked), (1, vec![10_000]));

    // The ip is protected with the request's parameters: the client's key serves it.
    assert!(tx.mac_key_needed(Some(&ip)).is_none());
    let Step::Stage { .. } = tx.on_response(&ip, now()).expect("ip") else {
        panic!("stage")
    };
    let Step::Send(cert_conf) = tx.on_staged(now()).expect("staged") else {
        panic!("certConf")
    };
    let (pki_conf, n) = serve(&pki, cert_conf, |d| {
        d.derive().map_err(DerivationError::Failed)
    });
    assert_eq!(n, 1);
    assert!(tx.mac_key_needed(Some(&pki_conf)).is_none());
    let Step::Done(_) = tx.on_response(&pki_conf, now()).expect("pkiConf") else {
        panic!("done")
    };
    assert_eq!(
        counting.pbkdf2.load(Ordering::SeqCst),
        1,
        "one derivation for the whole transaction on the client"
    );
}

#[test]
fn a_response_with_other_parameters_is_announced_before_on_response() {
    // An inline server (fresh key from the client's parameters) — but the client is given a
    // response whose salt it has not seen: it asks for that key.
    let pki = Pki::new(|_| {});
    let mut config = pki.client(pbmac1(SECRET));
    let counting = Arc::new(Counting::default());
    config.primitives = counting.clone();
    let key = new_key();
    let mut tx =
        Enrollment::new(Arc::new(config), request(EnrollmentKind::Ir, key.as_ref())).expect("tx");
    // Nobody asked: the client derived inline (the fallback).
    let ir = signed_first_request(&mut tx, &*key);
    assert_eq!(counting.pbkdf2.load(Ordering::SeqCst), 1);
    let ip = pki.send(&ir);
    // Re-protect the ip with a fresh salt: the client's key does not serve it.
    let mut msg = decode(&ip);
    cmp_core::protection::protect_with_mac(
        &mut msg,
        SECRET,
        &MacSettings::pbmac1_default(),
        pki.primitives.as_ref(),
    )
    .expect("protect");
    let ip = msg.to_der().expect("der");
    let d = tx.mac_key_needed(Some(&ip)).expect("the response's key");
    tx.on_mac_key(d.derive().expect("derived"));
    let before = counting.pbkdf2.load(Ordering::SeqCst);
    let Step::Stage { .. } = tx.on_response(&ip, now()).expect("ip") else {
        panic!("stage")
    };
    assert_eq!(
        counting.pbkdf2.load(Ordering::SeqCst),
        before,
        "no inline derivation"
    );
}

fn error_of(der: &[u8]) -> (PkiStatus, PkiFailureInfo, String) {
    let PkiBody::Error(e) = decode(der).body else {
        panic!("an error message, got {}", decode(der).body.name())
    };
    (
        e.pki_status_info.status,
        e.pki_status_info.fail_info.clone().expect("failInfo"),
        e.pki_status_info.text().expect("text"),
    )
}

/// An ir protected with `credentials` (derived inline by the client).
fn mac_ir(pki: &Pki, credentials: Credentials) -> Vec<u8> {
    let key = new_key();
    let config = pki.client(credentials);
    let mut tx =
        Enrollment::new(Arc::new(config), request(EnrollmentKind::Ir, key.as_ref())).expect("tx");
    signed_first_request(&mut tx, &*key)
}

#[test]
fn a_busy_pool_is_system_unavail_and_nothing_is_stored() {
    let pki = step_mode();
    let ir = mac_ir(&pki, pbmac1(SECRET));
    let (response, n) = serve(&pki, ir.clone(), |_| Err(DerivationError::Busy));
    assert_eq!(n, 1);
    assert_eq!(
        error_of(&response),
        (
            PkiStatus::REJECTION,
            PkiFailureInfo::from_bits([FailureBit::SystemUnavail]),
            "the server is busy deriving MAC keys; try again later".into()
        )
    );
    // The request may come again: its transactionID is not taken.
    let tid = decode(&ir).header.transaction_id.expect("tid");
    assert!(pki.store.load(&tid, now()).expect("load").is_none());
    let (again, _) = serve(&pki, ir, |d| d.derive().map_err(DerivationError::Failed));
    assert!(matches!(decode(&again).body, PkiBody::Ip(_)));
}

#[test]
fn a_wrong_secret_is_found_after_the_derivation() {
    let pki = step_mode();
    let ir = mac_ir(&pki, pbmac1(b"not the secret"));
    let (response, n) = serve(&pki, ir, |d| d.derive().map_err(DerivationError::Failed));
    assert_eq!(n, 1);
    assert_eq!(
        error_of(&response),
        (
            PkiStatus::REJECTION,
            PkiFailureInfo::from_bits([FailureBit::BadMessageCheck]),
            "the MAC does not verify (wrong shared secret, or the message was altered)".into()
        )
    );
}

#[test]
fn iterations_beyond_the_limit_are_refused_without_a_derivation() {
    let pki = step_mode();
    let ir = mac_ir(
        &pki,
        Credentials::Mac {
            secret: SECRET.to_vec().into(),
            reference: REFERENCE.to_vec(),
            settings: MacSettings::Pbmac1 {
                prf: DigestAlgorithm::Sha256,
                mac: DigestAlgorithm::Sha256,
                iterations: 1_000_001,
                salt_len: 16,
                key_len: 32,
            },
        },
    );
    let (response, n) = serve(&pki, ir, |_| panic!("no derivation may be asked for"));
    assert_eq!(n, 0);
    assert_eq!(
        error_of(&response),
        (
            PkiStatus::REJECTION,
            PkiFailureInfo::from_bits([FailureBit::BadMessageCheck]),
            "PBMAC1 iteration count 1000001 is outside the accepted range 1000..=1000000".into()
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pool_refuses_at_once_beyond_its_threads_and_queue_counted_in_work() {
    let counting = Arc::new(Counting::default());
    let (release, gate) = std::sync::mpsc::channel();
    *counting.gate.lock().expect("lock") = Some(gate);
    let primitives = counting.clone() as Arc<dyn Primitives>;
    // The most expensive derivation accepted by default: a whole place in the queue.
    let maximal = || {
        MacKeyDerivation::for_settings(
            &MacSettings::Pbmac1 {
                prf: DigestAlgorithm::Sha256,
                mac: DigestAlgorithm::Sha256,
                iterations: 1_000_000,
                salt_len: 16,
                key_len: 32,
            },
            SECRET,
            primitives.clone(),
        )
        .expect("derivation")
    };
    // OpenSSL's default PBM: a thousandth of a place.
    let cheap =
        MacKeyDerivation::for_settings(&MacSettings::pbm_default(), SECRET, primitives.clone())
            .expect("derivation");
    let pool = DerivationPool::new(1, 1);
    let (a, b) = (pool.clone(), pool.clone());
    let first = maximal();
    let running = tokio::spawn(async move { a.derive(first).await });
    // Wait until it runs on the pool thread (held at the gate).
    while counting.pbkdf2.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    // A cheap one is admitted and waits for the thread …
    let queued = tokio::spawn(async move { b.derive(cheap).await });
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    // … but the second place is no longer whole: a maximal one is refused without waiting.
    assert_eq!(
        pool.derive(maximal()).await.map(|_| ()),
        Err(DerivationError::Busy)
    );
    release.send(()).expect("release");
    assert!(running.await.expect("joined").is_ok());
    assert!(queued.await.expect("joined").is_ok());
    // Room again.
    release.send(()).expect("release");
    assert!(pool.derive(maximal()).await.is_ok());
    assert_eq!(counting.pbkdf2.load(Ordering::SeqCst), 2);
}

#[test]
fn the_server_derives_a_transactions_key_once_and_still_checks_every_mac() {
    // The server's derivations are counted; the client's are not (its own primitives).
    let counting = Arc::new(Counting::default());
    let server_primitives = counting.clone();
    let pki = Pki::new(move |c| {
        c.mac_derivation = MacDerivation::Step;
        c.primitives = server_primitives;
    });
    let key = new_key();
    let mut tx = Enrollment::new(
        Arc::new(pki.client(pbmac1(SECRET))),
        request(EnrollmentKind::Ir, key.as_ref()),
    )
    .expect("tx");
    let ir = signed_first_request(&mut tx, &*key);
    let ip = pki.send(&ir);
    assert!(matches!(decode(&ip).body, PkiBody::Ip(_)));
    assert_eq!(counting.pbkdf2.load(Ordering::SeqCst), 1);
    let Step::Stage { .. } = tx.on_response(&ip, now()).expect("ip") else {
        panic!("stage")
    };
    let Step::Send(cert_conf) = tx.on_staged(now()).expect("staged") else {
        panic!("certConf")
    };

    // The certConf has the ir's parameters: the kept key serves it — and its MAC is still
    // checked: an altered protection is refused without a second derivation.
    let mut altered = cert_conf.clone();
    let last = altered.len() - 1;
    altered[last] ^= 0x01;
    assert_eq!(
        error_of(&pki.send(&altered)),
        (
            PkiStatus::REJECTION,
            PkiFailureInfo::from_bits([FailureBit::BadMessageCheck]),
            "the MAC does not verify (wrong shared secret, or the message was altered)".into()
        )
    );
    let pki_conf = pki.send(&cert_conf);
    assert!(matches!(decode(&pki_conf).body, PkiBody::Pkiconf(_)));
    assert_eq!(
        counting.pbkdf2.load(Ordering::SeqCst),
        1,
        "one derivation for the whole transaction on the server"
    );
    let Step::Done(_) = tx.on_response(&pki_conf, now()).expect("pkiConf") else {
        panic!("done")
    };
}
