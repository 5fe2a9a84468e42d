//! genp answers of the `cmp-server` binary: certReqTemplate, rootCaKeyUpdate (from
//! --newwithnew/--newwithold/--oldwithnew), caCerts and crlStatusList (with the CRL the CA
//! signs), asked by the real `openssl cmp` client (OpenSSL 3.0 names certReqTemplate,
//! rootCaKeyUpdate and caCerts) and by our agent (rootCaCert with its old root, verified;
//! crlStatusList); and responses to signed requests signed with --cert/--key.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use cmp_core::asn1::{InfoValue, PkiBody, ReceivedMessage, oid};
use cmp_core::names::format_name;
use cmp_server::files::read_certs;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn run(dir: &Path, program: &Path, args: &[&str]) -> Output {
    cmp_tests::process::without_proxies(&mut Command::new(program))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{} runs: {e}", program.display()))
}

fn openssl(dir: &Path, args: &[&str]) -> String {
    let out = run(dir, Path::new("openssl"), args);
    let log =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "openssl {args:?} failed: {log}");
    log
}

/// The agent binary, built (or found up to date) in this target directory.
fn agent() -> PathBuf {
    let dir = std::env::current_exe()
        .expect("test binary")
        .parent()
        .and_then(Path::parent)
        .expect("target/debug")
        .to_path_buf();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "-q", "-p", "cmp-agent"])
        .status()
        .expect("cargo runs");
    assert!(status.success(), "cargo build -p cmp-agent");
    dir.join("cmp-agent")
}

fn start(dir: &Path, extra: &[&str]) -> (Server, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cmp-server"))
        .current_dir(dir)
        .args([
            "--listen",
            "http://127.0.0.1:0/pkix/",
            "--crl-listen",
            "http://127.0.0.1:0/crl",
            "--secret",
            "pass:genp-secret",
            "--ref",
            "genp-ref",
            "--ca-subject",
            "CN=cmp-server Genp CA",
            "--trusted",
            &cmp_tests::fixtures::pki("ca-cert.pem"),
            "--log-level",
            "warn",
        ])
        .args(extra)
        .stdout(Stdio::piped())
        .spawn()
        .expect("cmp-server starts");
    let out = child.stdout.take().expect("stdout");
    let server = Server(child);
    let mut lines = BufReader::new(out).lines();
    let mut next = |prefix: &str| {
        let line = lines.next().expect("a line").expect("utf-8");
        line.strip_prefix(prefix)
            .unwrap_or_else(|| panic!("expected `{prefix}URL`, got {line:?}"))
            .to_owned()
    };
    let url = next("listening on ");
    let crl = next("serving the CRL at ");
    (server, url, crl)
}

/// An old root, a new root with the same name, and the two cross certificates.
fn root_update(dir: &Path) {
    std::fs::write(
        dir.join("ca.ext"),
        "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign,digitalSignature\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n",
    )
    .expect("ext");
    for (key, cert) in [("old.key", "oldwithold.pem"), ("new.key", "newwithnew.pem")] {
        cmp_tests::openssl_ca::self_signed_root(dir, key, cert, "/CN=Genp Test Root", "30");
    }
    for (key, ca, cakey, out) in [
        ("new.key", "oldwithold.pem", "old.key", "newwithold.pem"),
        ("old.key", "newwithnew.pem", "new.key", "oldwithnew.pem"),
    ] {
        openssl(
            dir,
            &[
                "req",
                "-new",
                "-key",
                key,
                "-subj",
                "/CN=Genp Test Root",
                "-out",
                "x.csr",
            ],
        );
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                "x.csr",
                "-CA",
                ca,
                "-CAkey",
                cakey,
                "-set_serial",
                "7",
                "-days",
                "30",
                "-extfile",
                "ca.ext",
                "-out",
                out,
            ],
        );
    }
}

fn genp_of(path: &Path) -> Vec<InfoValue> {
    let der = std::fs::read(path).expect("rspout");
    let msg = ReceivedMessage::decode(&der).expect("genp").into_message();
    let PkiBody::Genp(itavs) = msg.body else {
        panic!("a genp, got {}", msg.body.name())
    };
    itavs.iter().map(|i| i.value().expect("value")).collect()
}

#[test]
fn openssl_and_the_agent_get_templates_root_updates_and_crls() {
    let dir = cmp_tests::tools::temp_dir("server-genp");
    root_update(&dir);
    let (_server, url, crl_url) = start(
        &dir,
        &[
            "--newwithnew",
            "newwithnew.pem",
            "--newwithold",
            "newwithold.pem",
            "--oldwithnew",
            "oldwithnew.pem",
            "--template-subject",
            "CN=Device,O=Genp",
            "--template-key-type",
            "ec:P-256",
        ],
    );
    let authority = url
        .strip_prefix("http://")
        .and_then(|r| r.strip_suffix("/pkix/"))
        .expect("http://127.0.0.1:PORT/pkix/");
    let mac = [
        "-secret",
        "pass:genp-secret",
        "-ref",
        "genp-ref",
        "-server",
        authority,
        "-path",
        "pkix/",
    ];

    // openssl cmp: certReqTemplate.
    let log = openssl(
        &dir,
        &[
            &[
                "cmp",
                "-cmd",
                "genm",
                "-infotype",
                "certReqTemplate",
                "-rspout",
                "t.der",
            ][..],
            &mac[..],
        ]
        .concat(),
    );
    assert!(
        log.contains("genp contains ITAV of type: id-it-certReqTemplate"),
        "{log}"
    );
    let [InfoValue::CertReqTemplate(Some(t))] = &genp_of(&dir.join("t.der"))[..] else {
        panic!("a certReqTemplate with a value")
    };
    assert_eq!(
        format_name(t.cert_template.subject.as_ref().expect("subject")),
        "CN=Device,O=Genp"
    );
    let spec = t.key_spec.as_ref().expect("keySpec");
    assert_eq!(spec.len(), 1);
    assert_eq!(*spec[0].r#type, *oid::REG_CTRL_ALG_ID);

    // openssl cmp (3.0 asks with the type rootCaKeyUpdate): the configured update.
    let log = openssl(
        &dir,
        &[
            &[
                "cmp",
                "-cmd",
                "genm",
                "-infotype",
                "rootCaKeyUpdate",
                "-rspout",
                "r.der",
            ][..],
            &mac[..],
        ]
        .concat(),
    );
    assert!(
        log.contains("genp contains ITAV of type: id-it-rootCaKeyUpdate"),
        "{log}"
    );
    let [InfoValue::RootCaKeyUpdate(Some(u))] = &genp_of(&dir.join("r.der"))[..] else {
        panic!("a rootCaKeyUpdate with a value")
    };
    let nwn = read_certs(&dir.join("newwithnew.pem"))
        .expect("cert")
        .remove(0);
    assert_eq!(u.new_with_new.der(), nwn.der());
    assert!(u.new_with_old.is_some() && u.old_with_new.is_some());

    // openssl cmp: caCerts.
    let log = openssl(
        &dir,
        &[
            &["cmp", "-cmd", "genm", "-infotype", "caCerts"][..],
            &mac[..],
        ]
        .concat(),
    );
    assert!(
        log.contains("genp contains ITAV of type: id-it-caCerts"),
        "{log}"
    );

    // Our agent: rootCaCert with the old root, the update verified against it.
    let agent = agent();
    let agent_mac = [
        "--server",
        url.as_str(),
        "--secret",
        "pass:genp-secret",
        "--ref",
        "genp-ref",
    ];
    let out = run(
        &dir,
        &agent,
        &[
            &[
                "genm",
                "--infotype",
                "rootCaCert",
                "--oldwithold",
                "oldwithold.pem",
                "--newwithnew",
                "got-root.pem",
            ][..],
            &agent_mac[..],
        ]
        .concat(),
    );
    assert!(
        out.status.success(),
        "agent genm rootCaCert: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        read_certs(&dir.join("got-root.pem")).expect("root")[0].der(),
        nwn.der()
    );
    // A root the update is not for: no update (the agent reports none).
    let out = run(
        &dir,
        &agent,
        &[
            &[
                "genm",
                "--infotype",
                "rootCaCert",
                "--oldwithold",
                "newwithnew.pem",
                "--newwithnew",
                "none.pem",
            ][..],
            &agent_mac[..],
        ]
        .concat(),
    );
    assert!(
        !dir.join("none.pem").exists(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // Our agent: crlStatusList for the CA's CRL (a certificate it issued names the issuer).
    let out = run(
        &dir,
        &agent,
        &[
            &[
                "ir",
                "--newkey",
                "gen:ec:P-256",
                "--subject",
                "/CN=genp leaf",
                "--certout",
                "leaf.pem",
                "--newkeyout",
                "leaf.key",
                "--extracertsout",
                "ca.pem",
            ][..],
            &agent_mac[..],
        ]
        .concat(),
    );
    assert!(
        out.status.success(),
        "agent ir: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(
        &dir,
        &agent,
        &[
            &[
                "genm",
                "--infotype",
                "crlStatusList",
                "--crlcert",
                "leaf.pem",
                "--crlout",
                "got.crl",
            ][..],
            &agent_mac[..],
        ]
        .concat(),
    );
    assert!(
        out.status.success(),
        "agent genm crlStatusList: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = openssl(
        &dir,
        &["crl", "-in", "got.crl", "-CAfile", "ca.pem", "-noout"],
    );
    assert!(log.contains("verify OK"), "{log}");
    // The same CRL the distribution point serves (same issuer), and with it as --oldcrl
    // there is nothing newer.
    assert!(crl_url.ends_with("/crl"));
    let out = run(
        &dir,
        &agent,
        &[
            &[
                "genm",
                "--infotype",
                "crlStatusList",
                "--crlcert",
                "leaf.pem",
                "--oldcrl",
                "got.crl",
                "--crlout",
                "newer.crl",
            ][..],
            &agent_mac[..],
        ]
        .concat(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !dir.join("newer.crl").exists(),
        "nothing newer than the CRL we have"
    );
}

#[test]
fn responses_to_signed_requests_are_signed_with_cert_and_key() {
    let dir = cmp_tests::tools::temp_dir("server-genp-signer");
    openssl(
        &dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "signer.key",
            "-out",
            "signer.pem",
            "-subj",
            "/CN=Genp Response Signer",
            "-days",
            "30",
            "-addext",
            "keyUsage=critical,digitalSignature",
        ],
    );
    let (_server, url, _) = start(&dir, &["--cert", "signer.pem", "--key", "signer.key"]);
    let authority = url
        .strip_prefix("http://")
        .and_then(|r| r.strip_suffix("/pkix/"))
        .expect("authority");
    // A request signed with the vendor certificate; the response must be signed with the
    // pinned signer.
    let log = openssl(
        &dir,
        &[
            "cmp",
            "-cmd",
            "genm",
            "-infotype",
            "caCerts",
            "-server",
            authority,
            "-path",
            "pkix/",
            "-cert",
            &cmp_tests::fixtures::pki("vendor-cert.pem"),
            "-key",
            &cmp_tests::fixtures::pki("vendor-key.pem"),
            "-srvcert",
            "signer.pem",
            "-rspout",
            "s.der",
        ],
    );
    assert!(
        log.contains("genp contains ITAV of type: id-it-caCerts"),
        "{log}"
    );
    let der = std::fs::read(dir.join("s.der")).expect("rspout");
    let msg = ReceivedMessage::decode(&der).expect("genp").into_message();
    assert_eq!(
        cmp_core::names::format_general_name(&msg.header.sender),
        "CN=Genp Response Signer"
    );
}
