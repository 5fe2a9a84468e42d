//! A key backend plugin in Rust (`test-plugins/software-keys`: the software backend behind
//! `export_key_backend!`), built with cargo, loaded with the host adapter and used through the
//! ordinary `KeyProvider`/`PrivateKey` traits: keys generated and loaded in the plugin sign,
//! and the signatures verify; the capabilities it lacks, and its panics, give exact errors.

mod support;

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use cmp_core::crypto::{
    DecryptionAlgorithm, DigestAlgorithm, KeyLocator, KeyProvider, KeySpec, PrivateKey,
    SignatureAlgorithm,
};
use cmp_core::error::CryptoError;
use cmp_crypto::software::read_key_file;
use cmp_plugin::{Plugin, PluginError, PluginKind, PluginStatus};
use cmp_tests::fixtures;

fn lib() -> &'static PathBuf {
    static LIB: OnceLock<PathBuf> = OnceLock::new();
    LIB.get_or_init(|| support::cargo_build("cmp-plugin-test-keys"))
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
        .block_on(f)
}

fn verify(key: &dyn PrivateKey, alg: SignatureAlgorithm, message: &[u8], signature: &[u8]) {
    cmp_crypto::default_provider()
        .primitives
        .verify_signature(key.public_key(), alg, message, signature)
        .expect("the plugin's signature verifies");
}

#[test]
fn generated_keys_sign_through_the_plugin_and_verify() {
    let plugin = Plugin::load(lib()).expect("load");
    assert_eq!(plugin.name(), "test-software");
    assert_eq!(plugin.version(), "0.1.0");
    assert_eq!(plugin.kind(), PluginKind::KeyBackend);
    let keys = plugin.key_backend("").expect("create");
    assert_eq!(KeyProvider::name(&keys), "test-software");
    block_on(async {
        for (spec, alg) in [
            (KeySpec::EcP256, SignatureAlgorithm::EcdsaSha256),
            (KeySpec::EcP384, SignatureAlgorithm::EcdsaSha384),
            (KeySpec::Ed25519, SignatureAlgorithm::Ed25519),
        ] {
            let provider: &dyn KeyProvider = &keys;
            let key = provider.generate(spec).await.expect("generate");
            assert_eq!(key.spec(), spec);
            let sig = key.sign(alg, b"to be signed").await.expect("sign");
            verify(key.as_ref(), alg, b"to be signed", &sig);
            // A signature over other bytes does not verify: the check above can fail.
            let err = cmp_crypto::default_provider()
                .primitives
                .verify_signature(key.public_key(), alg, b"other bytes", &sig)
                .expect_err("wrong message");
            assert_eq!(err, CryptoError::BadSignature);
        }
    });
}

#[test]
fn a_loaded_key_is_the_same_key_and_signs() {
    let plugin = Plugin::load(lib()).expect("load");
    let keys = plugin.key_backend("").expect("create");
    let pem_path = fixtures::openssl_dir().join("pki/new-key.pem");
    let reference = read_key_file(&pem_path, None).expect("fixture key");
    let pem = std::fs::read(&pem_path).expect("read");
    block_on(async {
        let key = keys
            .load_key(&KeyLocator::Encoded {
                data: pem.into(),
                password: None,
            })
            .await
            .expect("load");
        assert_eq!(key.public_key(), reference.public_key());
        let sig = key
            .sign(SignatureAlgorithm::EcdsaSha256, b"message")
            .await
            .expect("sign");
        verify(&key, SignatureAlgorithm::EcdsaSha256, b"message", &sig);
        // The adapter checks the algorithm against the key before it asks the plugin …
        let e = key
            .sign(SignatureAlgorithm::Ed25519, b"message")
            .await
            .expect_err("an EC key");
        assert!(matches!(e, CryptoError::KeyMismatch(_)), "{e:?}");
        // … and the plugin checks it too.
        let e = key
            .sign_raw(SignatureAlgorithm::Ed25519, b"message")
            .await
            .expect_err("an EC key");
        let PluginError::Status {
            function: "sign",
            status: PluginStatus::InvalidArgument,
            ..
        } = e
        else {
            panic!("{e:?}")
        };
    });
}

#[test]
fn capabilities_the_plugin_lacks_and_errors_it_reports_are_exact() {
    let plugin = Plugin::load(lib()).expect("load");
    let path = lib().clone();
    let keys = plugin.key_backend("").expect("create");
    block_on(async {
        let key = keys.generate_key(KeySpec::EcP256).await.expect("generate");
        // The exported keys carry the trait's optional capabilities: an EC key cannot
        // decrypt (an unsupported status; through the trait, "not capable") …
        let e = key
            .decrypt("rsaes-oaep-sha256", b"x")
            .await
            .expect_err("EC keys do not decrypt");
        let PluginError::Status {
            status: PluginStatus::Unsupported,
            ref message,
            ..
        } = e
        else {
            panic!("{e:?}")
        };
        assert_eq!(
            message,
            "this ec:P-256 key cannot decrypt: only RSA keys decrypt"
        );
        let e = PrivateKey::decrypt(
            &key,
            DecryptionAlgorithm::RsaesOaep(DigestAlgorithm::Sha256),
            b"x",
        )
        .await
        .expect_err("EC keys do not decrypt");
        assert!(
            matches!(
                e,
                CryptoError::NotCapable {
                    capability: "decrypt",
                    ..
                }
            ),
            "{e}"
        );
        // … but agrees on keys: the plugin's key and a software key derive the same secret.
        let peer = cmp_crypto::software::SoftwareKeys
            .generate(KeySpec::EcP256)
            .await
            .expect("generate");
        let ours = PrivateKey::key_agreement(&key, peer.public_key())
            .await
            .expect("ECDH in the plugin");
        let theirs = peer.key_agreement(key.public_key()).await.expect("ECDH");
        assert_eq!(*ours, *theirs);
        let e = key
            .key_agreement("x25519-kyber", peer.public_key())
            .await
            .expect_err("unknown algorithm");
        assert!(
            matches!(
                e,
                PluginError::Status {
                    status: PluginStatus::Unsupported,
                    ..
                }
            ),
            "{e:?}"
        );
        // The software backend opens no URIs: an unsupported status, and through the trait an
        // unsupported algorithm.
        let e = keys
            .load_key(&KeyLocator::Uri("pkcs11:object=x".into()))
            .await
            .expect_err("no URIs");
        assert_eq!(
            e,
            PluginError::Status {
                path: path.clone(),
                function: "load",
                status: PluginStatus::Unsupported,
                message: "unsupported algorithm: the software backend cannot open \"pkcs11:object=x\"; use the pkcs11 backend for pkcs11: URIs".into(),
            }
        );
        let e = KeyProvider::load(&keys, &KeyLocator::Uri("pkcs11:object=x".into()))
            .await
            .expect_err("no URIs");
        assert!(matches!(e, CryptoError::UnsupportedAlgorithm(_)), "{e:?}");
    });
    let e = plugin.key_backend("refuse").expect_err("refused");
    assert_eq!(
        e,
        PluginError::Status {
            path: path.clone(),
            function: "create",
            status: PluginStatus::Error,
            message: "the settings say refuse".into(),
        }
    );
    let e = plugin.transport("").expect_err("a key backend");
    assert_eq!(
        e.to_string(),
        format!(
            "plugin {} is a key backend plugin, not a transport plugin",
            path.display()
        )
    );
}

#[test]
fn a_load_that_never_finishes_is_bounded_by_the_timeout() {
    let plugin = Plugin::load(lib()).expect("load");
    let keys = plugin
        .key_backend("")
        .expect("create")
        .timeout(Duration::from_millis(300));
    let start = Instant::now();
    let e = block_on(keys.load_key(&KeyLocator::Uri("software:hang".into()))).expect_err("hangs");
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    let PluginError::CallbackNeverCalled {
        path,
        function: "load",
        millis,
    } = &e
    else {
        panic!("{e:?}")
    };
    assert_eq!(path, lib());
    assert!((250..=300).contains(millis), "{millis}");
    // Through the trait: a backend error with the same sentence.
    let e = block_on(KeyProvider::load(
        &keys,
        &KeyLocator::Uri("software:hang".into()),
    ))
    .expect_err("hangs");
    let CryptoError::Backend { backend, reason } = e else {
        panic!("{e:?}")
    };
    assert_eq!(backend, "test-software");
    assert!(
        reason.starts_with(&format!(
            "plugin {} did not complete load within ",
            lib().display()
        )),
        "{reason}"
    );
    // Slow is not misbehaviour: nothing is reported.
    assert_eq!(plugin.anomalies(), []);
}

#[test]
fn panics_in_the_plugin_are_caught_at_the_boundary() {
    let plugin = Plugin::load(lib()).expect("load");
    let path = lib().clone();
    let keys = Arc::new(plugin.key_backend("").expect("create"));
    block_on(async {
        // In a synchronous entry (load) …
        let e = keys
            .load_key(&KeyLocator::Uri("software:panic".into()))
            .await
            .expect_err("panics");
        assert_eq!(
            e,
            PluginError::Panicked {
                path: path.clone(),
                function: "load",
                message: "load was told to panic".into(),
            }
        );
        assert_eq!(
            e.to_string(),
            format!(
                "plugin {} panicked in load: load was told to panic",
                path.display()
            )
        );
        // … and in an async task on the plugin's runtime (sign).
        let key = keys
            .load_key(&KeyLocator::Uri("software:panic-on-sign".into()))
            .await
            .expect("load");
        let e = key
            .sign_raw(SignatureAlgorithm::EcdsaSha256, b"m")
            .await
            .expect_err("panics");
        assert_eq!(
            e,
            PluginError::Panicked {
                path: path.clone(),
                function: "sign",
                message: "sign was told to panic".into(),
            }
        );
        // The plugin still works afterwards.
        let key = keys.generate_key(KeySpec::EcP256).await.expect("generate");
        let sig = key
            .sign_raw(SignatureAlgorithm::EcdsaSha256, b"m")
            .await
            .expect("sign");
        verify(&key, SignatureAlgorithm::EcdsaSha256, b"m", &sig);
    });
    assert_eq!(plugin.anomalies(), []);
}
