//! The TLS client key may come from any key backend: `--tls-key pkcs11:…` keeps the device's
//! TLS key in a SoftHSM2 token, and the handshake is signed there. The server is our HTTPS
//! server half requiring a client certificate from the TLS test CA, relaying to the OpenSSL
//! mock.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

mod cli;

use cli::{RECIPIENT, stderr};
use cmp_tests::fronts::{self, Relay};
use cmp_tests::openssl_mock::{MockProtection, openssl_mock};
use cmp_tests::process::without_proxies;
use cmp_tests::{fixtures, tools};

/// An HTTPS front requiring a client certificate from `tests/fixtures/tls/ca.pem`, relaying
/// to the mock on `mock_port`; returns its port.
fn https_front_requiring_client_certs(mock_port: u16) -> u16 {
    let relay = Relay::to(&format!("http://127.0.0.1:{mock_port}/pkix/"));
    fronts::https(Arc::new(relay), true)
}

/// A fresh SoftHSM2 token `agent` in `dir` holding `key_pem` under the label `tls`; returns
/// the token's configuration file and the key's URI (PIN from a file).
fn token_with(dir: &Path, key_pem: &Path) -> (std::path::PathBuf, String) {
    let module = cmp_tests::tools::softhsm_module();
    let (conf, pin) = cmp_tests::tools::softhsm_config(dir);
    for args in [
        vec![
            "--init-token",
            "--free",
            "--label",
            "agent",
            "--so-pin",
            "0000",
            "--pin",
            "1234",
        ],
        vec![
            "--import",
            key_pem.to_str().expect("utf-8"),
            "--token",
            "agent",
            "--label",
            "tls",
            "--id",
            "01",
            "--pin",
            "1234",
        ],
    ] {
        let o = Command::new("softhsm2-util")
            .args(&args)
            .env("SOFTHSM2_CONF", &conf)
            .output()
            .expect("softhsm2-util (apt-get install -y softhsm2)");
        assert!(
            o.status.success(),
            "softhsm2-util {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let uri = format!(
        "pkcs11:token=agent;object=tls?module-path={}&pin-source=file:{}",
        module.display(),
        pin.display()
    );
    (conf, uri)
}

#[test]
fn the_tls_client_key_is_used_inside_a_pkcs11_token() {
    let mock = openssl_mock(MockProtection::Pbm, &[]);
    let port = https_front_requiring_client_certs(mock.port);
    let dir = tools::temp_dir("agent-tls-token");
    let (conf, uri) = token_with(&dir, &fixtures::tls("client-key.pem"));
    let server = format!("https://127.0.0.1:{port}/pkix/");
    let ca = fixtures::tls("ca.pem").display().to_string();
    let client = fixtures::tls("client.pem").display().to_string();
    let genm = |extra: &[&str]| {
        let mut args = vec![
            "genm",
            "--server",
            &server,
            "--secret",
            "pass:cmp-test-secret-1234",
            "--ref",
            "client-ref-1234",
            "--recipient",
            RECIPIENT,
            "--tls-trusted",
            &ca,
            "--msg-timeout",
            "20",
        ];
        args.extend_from_slice(extra);
        without_proxies(&mut Command::new(env!("CARGO_BIN_EXE_cmp-agent")))
            .args(&args)
            .env("SOFTHSM2_CONF", &conf)
            .output()
            .expect("cmp-agent")
    };

    // The handshake is signed in the token; the genm goes through.
    let o = genm(&["--tls-cert", &client, "--tls-key", &uri]);
    assert!(
        o.status.success(),
        "exit {:?}: {}\n{}",
        o.status.code(),
        stderr(&o),
        mock.log()
    );

    // Without a client certificate the server ends the handshake: a transport failure.
    let o = genm(&[]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));

    // A token key that is not the certificate's: the server refuses the handshake signature.
    let (conf_other, other) =
        token_with(&dir.join("other"), Path::new(&fixtures::pki("new-key.pem")));
    let o = without_proxies(&mut Command::new(env!("CARGO_BIN_EXE_cmp-agent")))
        .args([
            "genm",
            "--server",
            &server,
            "--secret",
            "pass:cmp-test-secret-1234",
            "--ref",
            "client-ref-1234",
            "--recipient",
            RECIPIENT,
            "--tls-trusted",
            &ca,
            "--tls-cert",
            &client,
            "--tls-key",
            &other,
        ])
        .env("SOFTHSM2_CONF", &conf_other)
        .output()
        .expect("cmp-agent");
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
}
