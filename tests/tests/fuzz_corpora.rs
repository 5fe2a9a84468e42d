//! The fuzz targets' corpora replayed as ordinary tests: every committed seed and regression
//! input goes through the same function the fuzz target calls (`cmp_tests::fuzz_harness`),
//! whose property checks panic on a violation. The seeds are built by the rule of
//! `fuzz/seed.sh`: every `openssl cmp` message, each scenario's responses (client) and requests
//! (server) concatenated, the regression inputs of `tests/fixtures/fuzz/<target>/`, and the 27
//! body samples. Then a few seeds are checked to reach as deep as the harness promises.

use std::path::{Path, PathBuf};

use cmp_core::asn1::{PkiBody, ReceivedMessage};
use cmp_tests::fixtures;
use cmp_tests::fuzz_harness::{self, Answering, ClientKind, ClientOutcome};

fn scenario_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(fixtures::openssl_dir())
        .expect("fixtures")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir() && !p.ends_with("pki"))
        .collect();
    dirs.sort();
    dirs
}

/// A scenario's messages of one direction (odd NN: requests, even NN: responses) concatenated.
fn scenario_half(dir: &Path, requests: bool) -> Vec<u8> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("scenario")
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let nn = name.get(..2).and_then(|n| n.parse::<u32>().ok());
            p.extension().is_some_and(|e| e == "der")
                && nn.is_some_and(|n| (n % 2 == 1) == requests)
        })
        .collect();
    files.sort();
    files
        .iter()
        .flat_map(|f| std::fs::read(f).expect("fixture"))
        .collect()
}

fn regressions(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/fuzz")
        .join(target);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| {
            let p = e.path();
            (
                p.display().to_string(),
                std::fs::read(&p).expect("regression input"),
            )
        })
        .collect();
    out.sort();
    out
}

/// Every seed of `target`, named.
fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = fixtures::openssl_messages()
        .into_iter()
        .map(|(p, _)| (p.display().to_string(), std::fs::read(&p).expect("fixture")))
        .collect();
    for dir in scenario_dirs() {
        match target {
            "client" => out.push((
                format!("{} responses", dir.display()),
                scenario_half(&dir, false),
            )),
            "server" => out.push((
                format!("{} requests", dir.display()),
                scenario_half(&dir, true),
            )),
            _ => {}
        }
    }
    for msg in cmp_tests::samples::all_messages() {
        out.push((
            format!("sample {}", msg.body.name()),
            msg.to_der().expect("sample"),
        ));
    }
    out.extend(regressions(target));
    out
}

fn replay(target: &str, check: fn(&[u8])) -> usize {
    let seeds = seeds(target);
    for (name, data) in &seeds {
        let outcome = std::panic::catch_unwind(|| check(data));
        assert!(outcome.is_ok(), "{target}: {name} breaks a property");
    }
    seeds.len()
}

#[test]
fn the_decode_corpus_keeps_its_properties() {
    // 38 openssl messages, 27 samples and the regression inputs.
    assert_eq!(
        replay("decode", fuzz_harness::decode),
        38 + 27 + regressions("decode").len()
    );
    // What each regression input gives (the exact errors are asserted where they are built,
    // in cmp-core/tests/der_policy.rs).
    let outcome = |name: &str| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/fuzz/decode")
            .join(name);
        match ReceivedMessage::decode(&std::fs::read(&path).expect("regression input")) {
            Ok(m) => format!("decodes, roundtrips: {}", m.roundtrips()),
            Err(e) => e.to_string(),
        }
    };
    assert_eq!(
        outcome("decode-reencode-1.der"),
        "malformed DER at byte 11: header: sender: GeneralName [8] registeredID is primitive in \
         DER (0x88), found 0xA8"
    );
    // A certConf whose hashAlg [0] is primitive and hides parameters that are not DER.
    assert_eq!(
        outcome("not-der-hidden-by-primitive-tag.der"),
        "the message is not DER, and its DER re-encoding does not decode (malformed DER at byte \
         346: a value claims 5 bytes but only 1 remain)"
    );
    // The same hashAlg without parameters: not DER, but its re-encoding is sound.
    assert_eq!(
        outcome("not-der-consistent.der"),
        "decodes, roundtrips: false"
    );
}

#[test]
fn the_client_corpus_keeps_its_properties() {
    // ... and the 11 scenarios' responses.
    assert_eq!(
        replay("client", fuzz_harness::client),
        38 + 11 + 27 + regressions("client").len()
    );
}

#[test]
fn the_server_corpus_keeps_its_properties() {
    // ... and the 11 scenarios' requests.
    assert_eq!(
        replay("server", fuzz_harness::server),
        38 + 11 + 27 + regressions("server").len()
    );
}

fn scenario(name: &str) -> PathBuf {
    fixtures::openssl_dir().join(name)
}

/// The protected mode reaches what it promises: the openssl responses of an ir, re-wrapped,
/// enroll; the same bytes raw fail the protection check (openssl's secret and nonces).
#[test]
fn the_client_harness_reaches_enrollment_and_polling() {
    let ir = scenario_half(&scenario("pbm-ir"), false);
    let outcome = fuzz_harness::run_client(ClientKind::Ir, Answering::Protected, &ir);
    let ClientOutcome::Succeeded(Some(cert)) = outcome else {
        panic!("the protected ir did not enroll: {outcome:?}")
    };
    assert_eq!(cert.der(), fixtures::read("pki/new-cert.der"));

    // ip waiting, pollRep, ip, pkiconf.
    let poll = scenario_half(&scenario("poll"), false);
    assert!(matches!(
        fuzz_harness::run_client(ClientKind::Ir, Answering::Protected, &poll),
        ClientOutcome::Succeeded(Some(_))
    ));
    let p10 = scenario_half(&scenario("p10cr"), false);
    assert!(matches!(
        fuzz_harness::run_client(ClientKind::P10cr, Answering::Protected, &p10),
        ClientOutcome::Succeeded(Some(_))
    ));
    let rr = scenario_half(&scenario("rr"), false);
    assert_eq!(
        fuzz_harness::run_client(ClientKind::Rr, Answering::Protected, &rr),
        ClientOutcome::Succeeded(None)
    );

    let ClientOutcome::Failed(raw) = fuzz_harness::run_client(ClientKind::Ir, Answering::Raw, &ir)
    else {
        panic!("raw openssl bytes must fail")
    };
    // openssl MACed them with the test secret, so only the transactionID gives them away.
    assert_eq!(
        raw,
        "the response failed a check: transactionID b50d34df9cdb6b31f74b7e43c4e77029 does not \
         match ours (910a2dec89025cc1beeb8da1658eec67)"
    );
}

/// Re-protected, the openssl requests of an ir get an ip and then a pkiConf from the engine.
#[test]
fn the_server_harness_reaches_issuing_and_confirmation() {
    let requests = scenario_half(&scenario("pbm-ir"), true);
    let bodies = |reprotect| -> Vec<String> {
        fuzz_harness::run_server(&requests, reprotect)
            .iter()
            .map(|r| {
                let msg = ReceivedMessage::decode(r)
                    .expect("a response")
                    .into_message();
                match msg.body {
                    PkiBody::Error(e) => format!("error {}", e.pki_status_info),
                    other => other.name().to_owned(),
                }
            })
            .collect()
    };
    assert_eq!(bodies(true), ["ip", "pkiconf"]);
    // Raw: openssl MACed the ir with the test secret, so it is served; its certConf answers the
    // openssl mock's senderNonce, not ours.
    assert_eq!(
        bodies(false),
        [
            "ip",
            "error rejection: badRecipientNonce — \"recipNonce is not the senderNonce of this \
             server's last response\""
        ]
    );
}
