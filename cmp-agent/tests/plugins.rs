//! Dynamic plugins in the shipped `cmp-agent` binary: the file-drop transport
//! (`examples/file-transport`, built with cargo into the tests' target directory) loaded with
//! `--plugin` carries a real enrollment to the OpenSSL mock (`openssl cmp -port`), a courier
//! thread moving the `.req.der`/`.rsp.der` files over HTTP; a key backend plugin chosen with
//! `--key-backend`; `cmp-agent plugins` listing them; and the loading errors.

mod cli;

use cmp_tests::courier::courier;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use cli::{RECIPIENT, SUBJECT, agent, cargo_build, ok, stderr, url};
use cmp_tests::fixtures::pki;
use cmp_tests::openssl_mock::{MockProtection, openssl_mock};
use cmp_tests::tools;

fn file_transport() -> &'static PathBuf {
    static LIB: OnceLock<PathBuf> = OnceLock::new();
    LIB.get_or_init(|| cargo_build("cmp-example-file-transport"))
}

fn key_plugin() -> &'static PathBuf {
    static LIB: OnceLock<PathBuf> = OnceLock::new();
    LIB.get_or_init(|| cargo_build("cmp-plugin-test-keys"))
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

const PBM: [&str; 6] = [
    "--secret",
    "pass:cmp-test-secret-1234",
    "--ref",
    "client-ref-1234",
    "--recipient",
    RECIPIENT,
];

#[test]
fn ir_through_the_file_drop_plugin_enrolls_at_the_openssl_mock() {
    let lib = file_transport();
    let mock = openssl_mock(MockProtection::Pbm, &[]);
    let dir = tools::temp_dir("agent-plugin-file");
    let spool = dir.join("spool");
    std::fs::create_dir(&spool).expect("spool");
    let certout = dir.join("cert.pem");
    let reqout = dir.join("req");

    let stop = Arc::new(AtomicBool::new(false));
    let courier = {
        let (spool, stop, url) = (spool.clone(), Arc::clone(&stop), url(&mock));
        std::thread::spawn(move || courier(spool, url, stop))
    };
    let server = format!("file://{}", spool.display());
    let mut args = vec!["--plugin", lib.to_str().expect("UTF-8 path"), "ir"];
    args.extend(["--server", &server]);
    args.extend(PBM);
    let (newkey, certout_s, reqout_s) = (pki("new-key.pem"), s(&certout), s(&reqout));
    args.extend([
        "--newkey",
        &newkey,
        "--subject",
        SUBJECT,
        "--certout",
        &certout_s,
        "--reqout",
        &reqout_s,
    ]);
    let child =
        cmp_tests::process::without_proxies(&mut Command::new(env!("CARGO_BIN_EXE_cmp-agent")))
            .args(&args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run cmp-agent");
    let pid = child.id();
    let o = child.wait_with_output().expect("cmp-agent ends");
    stop.store(true, Ordering::Relaxed);
    let carried = courier.join().expect("the courier");

    ok(&o, "ir through the file plugin", &mock);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "enrolled: O=cmp-rs test PKI,CN=CMP Test Device (serial 12289, issuer O=cmp-rs test PKI,CN=CMP Test CA)\n"
    );
    assert_eq!(
        std::fs::read_to_string(&certout).expect("certout"),
        std::fs::read_to_string(pki("new-cert.pem")).expect("pem")
    );
    // ir and certConf went as files named by transactionID, the agent's pid and sequence.
    let ir = std::fs::read(reqout.join("01-ir.der")).expect("the ir sent");
    let tid = cmp_core::asn1::ReceivedMessage::decode(&ir)
        .expect("ir")
        .message()
        .header
        .transaction_id
        .clone()
        .expect("transactionID");
    let tid = hex::encode(&tid);
    assert_eq!(
        carried,
        [format!("{tid}-{pid}-1"), format!("{tid}-{pid}-2")]
    );
    assert_eq!(files(&spool), Vec::<String>::new());
}

#[test]
fn ir_with_a_key_from_a_key_backend_plugin() {
    let lib = key_plugin();
    let mock = openssl_mock(MockProtection::Pbm, &[]);
    let dir = tools::temp_dir("agent-plugin-keys");
    let certout = dir.join("cert.pem");
    let server = url(&mock);
    let (newkey, certout_s) = (pki("new-key.pem"), s(&certout));
    let mut args = vec!["ir", "--plugin", lib.to_str().expect("UTF-8 path")];
    args.extend(["--server", &server, "--key-backend", "test-software"]);
    args.extend(PBM);
    args.extend([
        "--newkey",
        &newkey,
        "--subject",
        SUBJECT,
        "--certout",
        &certout_s,
    ]);
    let o = agent(&args);
    ok(&o, "ir with the key plugin", &mock);
    assert_eq!(
        std::fs::read_to_string(&certout).expect("certout"),
        std::fs::read_to_string(pki("new-cert.pem")).expect("pem")
    );
}

fn exit_and_stderr(o: &Output) -> (Option<i32>, String) {
    (o.status.code(), stderr(o))
}

#[test]
fn plugins_lists_the_builtins_and_the_loaded_plugins() {
    let (t, k) = (s(file_transport()), s(key_plugin()));
    let v = env!("CARGO_PKG_VERSION");
    let aws_lc = if cfg!(feature = "aws-lc") {
        format!("aws-lc         key backend  {v}  built in\n")
    } else {
        String::new()
    };
    let o = agent(&["plugins", "--plugin", &t, "--plugin", &k]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        format!(
            "http           transport    {v}  built in\n\
             tcp            transport    {v}  built in\n\
             file           transport    0.1.0  {t}\n\
             software       key backend  {v}  built in\n\
             pkcs11         key backend  {v}  built in\n\
             {aws_lc}\
             test-software  key backend  0.1.0  {k}\n\
             files          storage      {v}  built in\n"
        )
    );
    // --plugin goes before or after the command; JSON Lines name the schemes.
    let o = agent(&["--plugin", &t, "plugins", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let file_line = out
        .lines()
        .find(|l| l.contains("\"file\""))
        .expect("the file plugin");
    assert_eq!(
        file_line,
        format!(
            "{{\"name\":\"file\",\"kind\":\"transport\",\"version\":\"0.1.0\",\"origin\":{},\"schemes\":[\"file\"]}}",
            serde_json::to_string(&t).expect("json")
        )
    );
    assert_eq!(
        out.lines().count(),
        if cfg!(feature = "aws-lc") { 7 } else { 6 }
    );
}

#[test]
fn a_missing_library_is_one_line_naming_it() {
    let dir = tools::temp_dir("agent-plugin-missing");
    let missing = s(&dir.join("libnothing.so"));
    let o = agent(&["plugins", "--plugin", &missing]);
    assert_eq!(
        exit_and_stderr(&o),
        (
            Some(2),
            format!("cmp-agent: cannot load plugin {missing}: no such file\n")
        )
    );
    assert_eq!(String::from_utf8_lossy(&o.stdout), "");
}

#[test]
fn a_library_that_is_not_a_plugin_is_one_line_naming_it() {
    let dir = tools::temp_dir("agent-plugin-not");
    // A real shared library, without the entry symbol.
    let src = dir.join("plain.c");
    std::fs::write(&src, "int plain_answer(void) { return 42; }\n").expect("write");
    let lib = dir.join("libplain.so");
    let cc = Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(&lib)
        .arg(&src)
        .output()
        .unwrap_or_else(|e| panic!("cannot run cc (a C compiler is required): {e}"));
    assert!(
        cc.status.success(),
        "{}",
        String::from_utf8_lossy(&cc.stderr)
    );
    let lib_s = s(&lib);
    let o = agent(&["ir", "--plugin", &lib_s, "--server", "http://127.0.0.1:1/"]);
    assert_eq!(
        exit_and_stderr(&o),
        (
            Some(2),
            format!(
                "cmp-agent: {lib_s} is not a CMP plugin: it exports no symbol cmp_plugin_entry_v1\n"
            )
        )
    );
    // Not a shared library at all.
    let text = dir.join("notes.so");
    std::fs::write(&text, "these are notes, not a library\n".repeat(8)).expect("write");
    let text_s = s(&text);
    let o = agent(&["plugins", "--plugin", &text_s]);
    assert_eq!(
        exit_and_stderr(&o),
        (
            Some(2),
            format!("cmp-agent: cannot load plugin {text_s}: invalid ELF header\n")
        )
    );
}

#[test]
fn a_plugin_whose_name_is_taken_is_refused() {
    let t = s(file_transport());
    let o = agent(&["plugins", "--plugin", &t, "--plugin", &t]);
    assert_eq!(
        exit_and_stderr(&o),
        (
            Some(2),
            format!(
                "cmp-agent: plugin {t}: a transport plugin named \"file\" is already registered\n"
            )
        )
    );
}

#[test]
fn unknown_key_backends_and_url_schemes_say_what_there_is() {
    let mut args = vec![
        "ir",
        "--server",
        "http://127.0.0.1:1/",
        "--key-backend",
        "hsm",
    ];
    args.extend(PBM);
    args.extend([
        "--newkey",
        "gen:ec:P-256",
        "--newkeyout",
        "/nonexistent/k.pem",
        "--subject",
        SUBJECT,
    ]);
    let o = agent(&args);
    let available = if cfg!(feature = "aws-lc") {
        "software, pkcs11, aws-lc"
    } else {
        "software, pkcs11"
    };
    assert_eq!(
        exit_and_stderr(&o),
        (
            Some(2),
            format!(
                "cmp-agent: --key-backend: no key backend plugin named \"hsm\" (available: {available})\n"
            )
        )
    );
    let mut args = vec!["genm", "--server", "file:///tmp"];
    args.extend(PBM);
    let o = agent(&args);
    assert_eq!(
        exit_and_stderr(&o),
        (
            Some(2),
            "cmp-agent: no transport serves \"file:///tmp\" (URL schemes served: http, https, tcp, tcps)\n"
                .to_owned()
        )
    );
}

/// The aws-lc key backend (feature `aws-lc`), chosen with `--key-backend aws-lc`: it loads
/// the key and signs the proof of possession; a key it generates is saved first.
#[cfg(feature = "aws-lc")]
#[test]
fn ir_with_the_aws_lc_key_backend() {
    let mock = openssl_mock(MockProtection::Pbm, &[]);
    let dir = tools::temp_dir("agent-aws-lc");
    let certout = dir.join("cert.pem");
    let server = url(&mock);
    let (newkey, certout_s) = (pki("new-key.pem"), s(&certout));
    let mut args = vec!["ir", "--server", &server, "--key-backend", "aws-lc"];
    args.extend(PBM);
    args.extend([
        "--newkey",
        &newkey,
        "--subject",
        SUBJECT,
        "--certout",
        &certout_s,
    ]);
    let o = agent(&args);
    ok(&o, "ir with aws-lc", &mock);
    assert_eq!(
        std::fs::read_to_string(&certout).expect("certout"),
        std::fs::read_to_string(pki("new-cert.pem")).expect("pem")
    );

    // A generated key is saved before the request leaves; the mock's fixed certificate is
    // then refused, as it is not for that key.
    let key = dir.join("new.key");
    let key_s = s(&key);
    let mut args = vec!["ir", "--server", &server, "--key-backend", "aws-lc"];
    args.extend(PBM);
    args.extend([
        "--newkey",
        "gen:ec:P-384",
        "--newkeyout",
        &key_s,
        "--subject",
        SUBJECT,
    ]);
    let o = agent(&args);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    let saved = std::fs::read_to_string(&key).expect("the key was saved");
    assert!(
        saved.starts_with("-----BEGIN PRIVATE KEY-----\n"),
        "{saved}"
    );
}
