//! The generation-directory store on real files: installs, crashes at every step, listing,
//! metadata, transactions, trust, links and modes.

use std::os::unix::fs::PermissionsExt;

use cmp_tests::mock_ca::{ca_cert, new_cert};
use cmp_tests::run::block_on;

use super::*;

fn id(name: &str) -> IdentityName {
    IdentityName::new(name).expect("a name")
}

/// A credential with a software key `key`, a certificate and a chain.
fn cred(key: &[u8], cert: &[u8]) -> Credential {
    Credential {
        key: Some(StoredKey::Pkcs8(Zeroizing::new(key.to_vec()))),
        certificate: cert.to_vec(),
        chain: vec![ca_cert().der().to_vec()],
    }
}

/// The old and the new credential of an install (different keys and certificates).
fn old_and_new() -> (Credential, Credential) {
    (
        cred(b"old key", ca_cert().der()),
        cred(b"new key", new_cert().der()),
    )
}

/// The entries of `dir`, sorted, links shown as `name -> target`.
fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .expect("list")
        .flatten()
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            match fs::read_link(e.path()) {
                Ok(t) => format!("{name} -> {}", t.display()),
                Err(_) => name,
            }
        })
        .collect();
    v.sort();
    v
}

/// What another program reading `NAME/current/` sees: the key, certificate and chain
/// through the `current` link.
fn seen_through_current(dir: &Path) -> Credential {
    let c = dir.join("current");
    let one = |f: &str, label: &str| {
        let mut v = read_pem(&c.join(f), &[label]).expect("read").expect(f);
        assert_eq!(v.len(), 1, "{f}");
        v.remove(0)
    };
    Credential {
        key: Some(StoredKey::Pkcs8(Zeroizing::new(one(
            "key.pem",
            "PRIVATE KEY",
        )))),
        certificate: one("cert.pem", "CERTIFICATE"),
        chain: read_pem(&c.join("chain.pem"), &["CERTIFICATE"])
            .expect("read")
            .expect("chain"),
    }
}

fn install(s: &FileStore, name: &IdentityName, c: &Credential) -> Result<(), StorageError> {
    block_on(s.stage(name, c))?;
    block_on(s.commit(name))
}

#[test]
fn an_install_stages_then_switches_and_keeps_the_previous_generation() {
    let root = tempfile::tempdir().expect("dir");
    let s = FileStore::new(root.path());
    let dev = id("device");
    let (old, new) = old_and_new();
    assert_eq!(block_on(s.load(&dev)), Ok(None));

    block_on(s.stage(&dev, &old)).expect("stage");
    let r = block_on(s.load(&dev)).expect("load").expect("a record");
    assert_eq!(r.current, None);
    assert_eq!(
        r.staged,
        Some(Staged {
            credential: old.clone(),
            state: StagedState::Pending
        })
    );
    block_on(s.commit(&dev)).expect("commit");
    let dir = root.path().join("device");
    assert_eq!(entries(&dir), ["current -> gen-000001", "gen-000001"]);
    assert_eq!(
        entries(&dir.join("gen-000001")),
        ["cert.pem", "chain.pem", "key.pem"]
    );
    let r = block_on(s.load(&dev)).expect("load").expect("a record");
    assert_eq!((r.current, r.staged), (Some(old.clone()), None));
    assert_eq!(seen_through_current(&dir), old);

    install(&s, &dev, &new).expect("second install");
    assert_eq!(
        entries(&dir),
        [
            "current -> gen-000002",
            "gen-000001",
            "gen-000002",
            "previous -> gen-000001"
        ]
    );
    assert_eq!(seen_through_current(&dir), new);
    install(&s, &dev, &old).expect("third install");
    assert_eq!(
        entries(&dir),
        [
            "current -> gen-000003",
            "gen-000002",
            "gen-000003",
            "previous -> gen-000002"
        ],
        "the generation before the previous one is pruned"
    );
    assert_eq!(
        block_on(s.commit(&dev)),
        Err(StorageError::NothingStaged {
            name: "device".into()
        })
    );
}

/// Every step of an install, in order, and whether the new credential is current once the
/// process died right after it.
const STEPS: &[(&str, bool)] = &[
    ("generation written", false),
    ("generation in place", false),
    ("staged linked", false),
    ("previous linked", false),
    ("current switched", true),
    ("staged removed", true),
];

#[test]
fn a_crash_at_any_step_of_an_install_leaves_the_old_or_the_new_credential() {
    let (old, new) = old_and_new();
    let dev = id("device");
    for &(step, switched) in STEPS {
        let root = tempfile::tempdir().expect("dir");
        let dir = root.path().join("device");
        install(&FileStore::new(root.path()), &dev, &old).expect("the old credential");

        let mut crashing = FileStore::new(root.path());
        crashing.crash_after = Some(step);
        assert_eq!(
            install(&crashing, &dev, &new),
            Err(StorageError::Other(format!(
                "simulated crash after: {step}"
            ))),
            "{step}"
        );

        // The process is gone; a new one opens the store over what is on disk.
        let s = FileStore::new(root.path());
        let r = block_on(s.load(&dev)).expect("load").expect("a record");
        let expected = if switched { &new } else { &old };
        assert_eq!(r.current.as_ref(), Some(expected), "{step}");
        assert_eq!(&seen_through_current(&dir), expected, "{step}");
        // Staged and pending until the switch; after it, nothing is staged.
        let staged_new = matches!(step, "staged linked" | "previous linked");
        assert_eq!(
            r.staged,
            staged_new.then(|| Staged {
                credential: new.clone(),
                state: StagedState::Pending
            }),
            "{step}"
        );
        if staged_new {
            // The agent commits what it had staged (the server had confirmed).
            block_on(s.commit(&dev)).expect("commit after the restart");
        }

        // The next install cleans up whatever the crash left.
        let third = cred(b"third key", ca_cert().der());
        install(&s, &dev, &third).expect("next install");
        assert_eq!(seen_through_current(&dir), third, "{step}");
        let left = entries(&dir);
        assert_eq!(left.len(), 4, "{step}: {left:?}");
        assert!(left[0].starts_with("current -> gen-"), "{step}: {left:?}");
        assert!(left[3].starts_with("previous -> gen-"), "{step}: {left:?}");
    }
}

#[test]
fn a_generation_torn_while_being_written_is_never_seen_and_is_pruned() {
    let root = tempfile::tempdir().expect("dir");
    let s = FileStore::new(root.path());
    let dev = id("device");
    let (old, new) = old_and_new();
    install(&s, &dev, &old).expect("install");
    // A crash while writing the files of the next generation: only the key got there.
    let dir = root.path().join("device");
    let torn = dir.join(".gen-000002.tmp");
    fs::create_dir(&torn).expect("tmp");
    fs::write(torn.join("key.pem"), "-----BEGIN PRIVATE KEY-----\n").expect("half a key");
    let r = block_on(s.load(&dev)).expect("load").expect("record");
    assert_eq!((r.current, r.staged), (Some(old.clone()), None));
    install(&s, &dev, &new).expect("install");
    assert_eq!(
        entries(&dir),
        [
            "current -> gen-000003",
            "gen-000001",
            "gen-000003",
            "previous -> gen-000001"
        ]
    );
}

#[test]
fn unconfirmed_pending_and_discarded() {
    let root = tempfile::tempdir().expect("dir");
    let s = FileStore::new(root.path());
    let dev = id("device");
    let (old, new) = old_and_new();
    install(&s, &dev, &old).expect("install");
    assert_eq!(
        block_on(s.mark_unconfirmed(&dev, "x")),
        Err(StorageError::NothingStaged {
            name: "device".into()
        })
    );
    block_on(s.stage(&dev, &new)).expect("stage");
    block_on(s.mark_unconfirmed(&dev, "pkiConf never came")).expect("mark");
    let r = block_on(s.load(&dev)).expect("load").expect("record");
    assert_eq!(r.current.as_ref(), Some(&old));
    assert_eq!(
        r.staged.map(|s| s.state),
        Some(StagedState::Unconfirmed("pkiConf never came".into()))
    );
    // A new stage is pending: the reason belonged to the generation before.
    block_on(s.stage(&dev, &new)).expect("stage again");
    let r = block_on(s.load(&dev)).expect("load").expect("record");
    assert_eq!(r.staged.map(|s| s.state), Some(StagedState::Pending));
    block_on(s.discard_staged(&dev)).expect("discard");
    let r = block_on(s.load(&dev)).expect("load").expect("record");
    assert_eq!((r.current, r.staged), (Some(old), None));
    assert_eq!(
        entries(&root.path().join("device")),
        ["current -> gen-000001", "gen-000001"]
    );
}

#[test]
fn keys_by_locator_or_none() {
    let root = tempfile::tempdir().expect("dir");
    let s = FileStore::new(root.path());
    let by_uri = Credential {
        key: Some(StoredKey::Locator(
            "pkcs11:token=t;object=device-2026".into(),
        )),
        certificate: new_cert().der().to_vec(),
        chain: Vec::new(),
    };
    install(&s, &id("hsm"), &by_uri).expect("install");
    let none = Credential {
        key: None,
        ..by_uri.clone()
    };
    install(&s, &id("p10"), &none).expect("install");
    let load = |n: &str| {
        block_on(s.load(&id(n)))
            .expect("load")
            .and_then(|r| r.current)
    };
    assert_eq!(load("hsm"), Some(by_uri));
    assert_eq!(load("p10"), Some(none));
    assert_eq!(
        entries(&root.path().join("hsm").join("gen-000001")),
        ["cert.pem", "chain.pem", "key.uri"]
    );
}

#[test]
fn listing_the_identities() {
    let root = tempfile::tempdir().expect("dir");
    let s = FileStore::new(root.path().join("not-yet"));
    assert_eq!(block_on(s.list()), Ok(vec![]));
    let s = FileStore::new(root.path());
    let (old, _) = old_and_new();
    for n in ["web", "device", "a.b_c-1"] {
        install(&s, &id(n), &old).expect("install");
    }
    block_on(s.save_metadata(&id("planned"), &Metadata::default())).expect("metadata");
    block_on(s.save_trust(&TrustStore::default())).expect("trust");
    fs::create_dir(root.path().join(".hidden")).expect("hidden");
    fs::write(root.path().join("stray-file"), "x").expect("file");
    let names: Vec<String> = block_on(s.list())
        .expect("list")
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(names, ["a.b_c-1", "device", "planned", "web"]);
}

#[test]
fn metadata_and_transaction_round_trips() {
    let root = tempfile::tempdir().expect("dir");
    let s = FileStore::new(root.path());
    let dev = id("device");
    let m = Metadata {
        next_action: Some("renew".into()),
        next_action_at: Some(2_000_000_000),
        failures: 3,
        last_error: Some("transport: connection refused".into()),
    };
    block_on(s.save_metadata(&dev, &m)).expect("save");
    let tx = TransactionBlob {
        version: 1,
        bytes: vec![0, 1, 2, 0xff],
    };
    block_on(s.save_transaction(&dev, Some(&tx))).expect("save");
    let dir = root.path().join("device");
    let mode = |f: &str| {
        fs::metadata(dir.join(f))
            .expect("meta")
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("transaction.bin"), 0o600);
    assert_eq!(
        fs::read(dir.join("transaction.bin")).expect("read"),
        b"CMPTXN\x00\x00\x00\x01\x00\x01\x02\xff"
    );
    let r = block_on(FileStore::new(root.path()).load(&dev))
        .expect("load")
        .expect("record");
    assert_eq!(
        (r.current, r.metadata, r.transaction),
        (None, m.clone(), Some(tx))
    );
    block_on(s.save_transaction(&dev, None)).expect("clear");
    block_on(s.save_transaction(&dev, None)).expect("clearing twice is fine");
    let r = block_on(s.load(&dev)).expect("load").expect("record");
    assert_eq!((r.metadata, r.transaction), (m, None));

    fs::write(dir.join("transaction.bin"), b"CMPTX").expect("damage");
    assert_eq!(
        block_on(s.load(&dev)),
        Err(StorageError::Corrupt {
            path: dir.join("transaction.bin").display().to_string(),
            reason: "not a saved transaction".into()
        })
    );
}

#[test]
fn trust_anchors_and_crls_round_trip_in_generations() {
    let root = tempfile::tempdir().expect("dir");
    let s = FileStore::new(root.path());
    assert_eq!(block_on(s.trust()), Ok(TrustStore::default()));
    let t1 = TrustStore {
        anchors: vec![ca_cert().der().to_vec()],
        crls: vec![b"a CRL".to_vec(), b"another".to_vec()],
    };
    block_on(s.save_trust(&t1)).expect("save");
    let t2 = TrustStore {
        anchors: vec![ca_cert().der().to_vec(), new_cert().der().to_vec()],
        crls: Vec::new(),
    };
    block_on(s.save_trust(&t2)).expect("save");
    assert_eq!(block_on(FileStore::new(root.path()).trust()), Ok(t2));
    assert_eq!(
        entries(&root.path().join("trust")),
        [
            "current -> gen-000002",
            "gen-000001",
            "gen-000002",
            "previous -> gen-000001"
        ]
    );
}

#[test]
fn modes_and_links() {
    let root = tempfile::tempdir().expect("dir");
    let s = FileStore::new(root.path());
    let dev = id("device");
    let (old, _) = old_and_new();
    install(&s, &dev, &old).expect("install");
    let dir = root.path().join("device");
    let mode = |p: &Path| fs::metadata(p).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode(&dir.join("current/key.pem")), 0o600);
    assert_eq!(mode(&dir.join("current/cert.pem")), 0o644);
    assert_eq!(mode(&dir.join("current/chain.pem")), 0o644);
    let link = fs::symlink_metadata(dir.join("current")).expect("link");
    assert!(link.file_type().is_symlink());

    // A link that leaves the identity's directory is refused, not followed.
    fs::remove_file(dir.join("current")).expect("rm");
    std::os::unix::fs::symlink("../../etc", dir.join("current")).expect("plant");
    assert_eq!(
        block_on(s.load(&dev)),
        Err(StorageError::Corrupt {
            path: dir.join("current").display().to_string(),
            reason: "names ../../etc, not a generation".into()
        })
    );
    fs::remove_file(dir.join("current")).expect("rm");
    std::os::unix::fs::symlink("gen-000009", dir.join("current")).expect("plant");
    assert_eq!(
        block_on(s.load(&dev)),
        Err(StorageError::Corrupt {
            path: dir.join("current").display().to_string(),
            reason: "names gen-000009, which does not exist".into()
        })
    );
}

#[test]
fn file_io_runs_on_the_blocking_pool_inside_a_runtime() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let here = std::thread::current().id();
    let there = rt
        .block_on(blocking(|| Ok(std::thread::current().id())))
        .expect("ran");
    assert_ne!(here, there, "inside a runtime: another thread");
    let inline = block_on(blocking(|| Ok(std::thread::current().id()))).expect("ran");
    assert_eq!(here, inline, "outside a runtime: the caller's thread");
}

/// The environment variable that turns [`installs_until_killed`] into the victim of
/// [`sigkill_at_random_moments_never_mixes_generations`]: the store directory.
const VICTIM_DIR: &str = "CMP_STORE_TEST_VICTIM_DIR";

/// Install number `i`: key, certificate and chain that belong together (the certificate by
/// the parity of `i`, the key and the chain by `i`).
fn numbered(i: u32) -> Credential {
    let cert = if i % 2 == 0 { ca_cert() } else { new_cert() };
    Credential {
        key: Some(StoredKey::Pkcs8(Zeroizing::new(
            format!("key {i}").into_bytes(),
        ))),
        certificate: cert.der().to_vec(),
        chain: vec![format!("chain {i}").into_bytes()],
    }
}

/// The victim: installs numbered credentials in a loop until killed. Runs only when the
/// crash test starts it (ignored otherwise).
#[test]
#[ignore = "started by sigkill_at_random_moments_never_mixes_generations"]
fn installs_until_killed() {
    let dir = std::env::var_os(VICTIM_DIR).expect("started by the crash test");
    let s = FileStore::new(PathBuf::from(dir));
    let dev = id("device");
    let start = block_on(s.load(&dev))
        .ok()
        .flatten()
        .and_then(|r| r.current)
        .map_or(1, |c| {
            let key = match c.key {
                Some(StoredKey::Pkcs8(k)) => String::from_utf8_lossy(&k).into_owned(),
                _ => String::new(),
            };
            key.trim_start_matches("key ").parse::<u32>().unwrap_or(0) + 1
        });
    for i in start.. {
        install(&s, &dev, &numbered(i)).expect("install");
    }
}

#[test]
fn sigkill_at_random_moments_never_mixes_generations() {
    let root = tempfile::tempdir().expect("dir");
    let dir = root.path().join("device");
    let exe = std::env::current_exe().expect("the test binary");
    let mut installed_at_least = 0;
    for round in 0..12u64 {
        let mut child = std::process::Command::new(&exe)
            .args([
                "--ignored",
                "--exact",
                "store::files::tests::installs_until_killed",
                "--nocapture",
            ])
            .env(VICTIM_DIR, root.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start the victim");
        // Let it run through a number of installs, then SIGKILL it at an arbitrary moment.
        std::thread::sleep(std::time::Duration::from_millis(150 + 37 * round));
        child.kill().expect("SIGKILL");
        let status = child.wait().expect("wait");
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(9),
            "round {round}: the victim was killed, not finished"
        );

        let s = FileStore::new(root.path());
        let current = block_on(s.load(&id("device")))
            .expect("the store opens after the crash")
            .and_then(|r| r.current);
        let Some(current) = current else {
            // Killed before its first install was complete (a slow start): nothing shows.
            assert_eq!(
                installed_at_least, 0,
                "round {round}: the credential vanished"
            );
            continue;
        };
        let Some(StoredKey::Pkcs8(k)) = &current.key else {
            panic!("round {round}: no key")
        };
        let i: u32 = String::from_utf8_lossy(k)
            .trim_start_matches("key ")
            .parse()
            .expect("a numbered key");
        assert_eq!(current, numbered(i), "round {round}: one generation, whole");
        assert_eq!(seen_through_current(&dir), numbered(i), "round {round}");
        assert!(i >= installed_at_least, "round {round}: went back to {i}");
        installed_at_least = i;
    }
    assert!(
        installed_at_least > 12,
        "the victim installed {installed_at_least}"
    );
}
