//! TLS follows the chosen crypto: with `--key-backend aws-lc` the agent's rustls runs on
//! aws-lc-rs, otherwise on *ring*. Seen from outside, in the ClientHello the agent sends:
//! aws-lc-rs offers the X25519MLKEM768 hybrid key exchange, *ring* has no ML-KEM.
#![cfg(feature = "aws-lc")]

use std::io::Read;
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::Duration;

use cmp_tests::process::without_proxies;

/// The TLS `supported_groups` code of X25519MLKEM768.
const X25519MLKEM768: u16 = 0x11EC;
/// The code of X25519.
const X25519: u16 = 0x001D;

/// Runs `cmp-agent genm` against a listener on 127.0.0.1 that reads the ClientHello and
/// closes; returns the groups it offers.
fn offered_groups(key_backend: Option<&str>) -> Vec<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = format!("https://127.0.0.1:{port}/pkix/");
    let trusted = cmp_tests::fixtures::tls("ca.pem").display().to_string();
    let mut args = vec![
        "genm",
        "--server",
        &server,
        "--tls-trusted",
        &trusted,
        "--secret",
        "pass:cmp-test-secret-1234",
        "--ref",
        "client-ref-1234",
        "--recipient",
        "/CN=CMP Test CA",
        "--msg-timeout",
        "10",
    ];
    if let Some(b) = key_backend {
        args.extend(["--key-backend", b]);
    }
    let mut child = without_proxies(&mut Command::new(env!("CARGO_BIN_EXE_cmp-agent")))
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run cmp-agent");
    let (mut sock, _) = listener.accept().expect("the agent connects");
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut record = vec![0u8; 5];
    sock.read_exact(&mut record).expect("TLS record header");
    assert_eq!(record[0], 22, "a handshake record: {record:02x?}");
    let len = usize::from(u16::from_be_bytes([record[3], record[4]]));
    let mut body = vec![0u8; len];
    sock.read_exact(&mut body).expect("the ClientHello");
    drop(sock);
    let status = child.wait().expect("wait");
    assert!(!status.success(), "the handshake cannot succeed");
    supported_groups(&body)
}

/// The `supported_groups` extension of a ClientHello handshake message.
fn supported_groups(hs: &[u8]) -> Vec<u16> {
    assert_eq!(hs[0], 1, "a ClientHello");
    let mut at = 4 + 2 + 32; // header, legacy_version, random
    at += 1 + usize::from(hs[at]); // legacy_session_id
    at += 2 + usize::from(u16::from_be_bytes([hs[at], hs[at + 1]])); // cipher_suites
    at += 1 + usize::from(hs[at]); // legacy_compression_methods
    let end = at + 2 + usize::from(u16::from_be_bytes([hs[at], hs[at + 1]]));
    at += 2;
    while at + 4 <= end {
        let kind = u16::from_be_bytes([hs[at], hs[at + 1]]);
        let len = usize::from(u16::from_be_bytes([hs[at + 2], hs[at + 3]]));
        let data = &hs[at + 4..at + 4 + len];
        if kind == 0x000A {
            return data[2..]
                .chunks(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
        }
        at += 4 + len;
    }
    panic!("no supported_groups extension");
}

#[test]
fn tls_runs_on_aws_lc_when_the_key_backend_is_aws_lc() {
    let groups = offered_groups(Some("aws-lc"));
    assert!(
        groups.contains(&X25519MLKEM768),
        "aws-lc-rs offers X25519MLKEM768: {groups:04x?}"
    );
}

#[test]
fn tls_runs_on_ring_by_default() {
    let groups = offered_groups(None);
    assert!(groups.contains(&X25519), "{groups:04x?}");
    assert!(
        !groups.contains(&X25519MLKEM768),
        "ring has no ML-KEM: {groups:04x?}"
    );
    let groups = offered_groups(Some("software"));
    assert!(!groups.contains(&X25519MLKEM768), "{groups:04x?}");
}
