//! The configuration (figment): a TOML file (`--config FILE` or `CMP_AGENT_CONFIG`), then
//! `CMP_AGENT_*` variables, then flags. `config check` prints the effective values and where
//! each came from; a key backend plugin named in the file is loaded and chosen for a real
//! enrollment at the OpenSSL mock; every error names the key and its source, on one line.

mod cli;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use cli::{RECIPIENT, SUBJECT, cargo_build, ok, stderr, url};
use cmp_tests::fixtures::pki;
use cmp_tests::openssl_mock::{MockProtection, openssl_mock};
use cmp_tests::tools;

fn key_plugin() -> &'static PathBuf {
    static LIB: OnceLock<PathBuf> = OnceLock::new();
    LIB.get_or_init(|| cargo_build("cmp-plugin-test-keys"))
}

/// Runs the agent in `dir` with exactly the `CMP_AGENT_*` variables given.
fn agent_env(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cmp-agent"));
    cmp_tests::process::without_proxies(&mut cmd)
        .current_dir(dir)
        .args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("CMP_AGENT_") {
            cmd.env_remove(k);
        }
    }
    cmd.envs(env.iter().copied());
    cmd.output().expect("run cmp-agent")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p.display().to_string()
}

#[test]
fn config_check_prints_the_effective_values_and_their_sources() {
    let dir = tools::temp_dir("agent-config-check");
    let lib = key_plugin().display().to_string();
    let o = agent_env(&dir, &[], &["config", "check"]);
    assert_eq!((o.status.code(), stderr(&o)), (Some(0), String::new()));
    assert_eq!(
        stdout(&o),
        "# no configuration file\nkey_backend = \"software\"  # default\n"
    );

    let file = write(
        &dir,
        "agent.toml",
        &format!("key_backend = \"test-software\"\n\n[[plugin]]\npath = \"{lib}\"\n"),
    );
    let o = agent_env(&dir, &[], &["--config", &file, "config", "check"]);
    assert_eq!((o.status.code(), stderr(&o)), (Some(0), String::new()));
    assert_eq!(
        stdout(&o),
        format!(
            "# configuration file: {file}\n\
             key_backend = \"test-software\"  # {file}\n\
             \n[[plugin]]\npath = \"{lib}\"  # {file}\n"
        )
    );

    // CMP_AGENT_CONFIG names the file; a variable overrides it; --plugin adds to its list.
    let o = agent_env(
        &dir,
        &[
            ("CMP_AGENT_CONFIG", &file),
            ("CMP_AGENT_KEY_BACKEND", "software"),
        ],
        &["config", "check", "--plugin", &lib],
    );
    assert_eq!(
        (o.status.code(), stderr(&o)),
        (
            Some(2),
            format!(
                "cmp-agent: plugin {lib}: a key backend plugin named \"test-software\" is already registered\n"
            )
        )
    );
    let transport = cargo_build("cmp-example-file-transport")
        .display()
        .to_string();
    let o = agent_env(
        &dir,
        &[
            ("CMP_AGENT_CONFIG", &file),
            ("CMP_AGENT_KEY_BACKEND", "software"),
        ],
        &["config", "check", "--plugin", &transport],
    );
    assert_eq!((o.status.code(), stderr(&o)), (Some(0), String::new()));
    assert_eq!(
        stdout(&o),
        format!(
            "# configuration file: {file}\n\
             key_backend = \"software\"  # environment variable CMP_AGENT_KEY_BACKEND\n\
             \n[[plugin]]\npath = \"{lib}\"  # {file}\n\
             \n[[plugin]]\npath = \"{transport}\"  # --plugin\n"
        )
    );
}

#[test]
fn ir_with_the_key_backend_plugin_the_configuration_names() {
    let mock = openssl_mock(MockProtection::Pbm, &[]);
    let dir = tools::temp_dir("agent-config-ir");
    let lib = key_plugin().display().to_string();
    let file = write(
        &dir,
        "agent.toml",
        &format!("key_backend = \"test-software\"\n\n[[plugin]]\npath = \"{lib}\"\n"),
    );
    let certout = dir.join("cert.pem").display().to_string();
    let server = url(&mock);
    let newkey = pki("new-key.pem");
    let ir = |env: &[(&str, &str)], extra: &[&str]| {
        let mut args = vec!["--config", &file, "ir", "--server", &server];
        args.extend([
            "--secret",
            "pass:cmp-test-secret-1234",
            "--ref",
            "client-ref-1234",
            "--recipient",
            RECIPIENT,
            "--newkey",
            &newkey,
            "--subject",
            SUBJECT,
            "--certout",
            &certout,
        ]);
        args.extend_from_slice(extra);
        agent_env(&dir, env, &args)
    };
    // The plugin is loaded from the file and is the key backend: the enrollment works.
    let o = ir(&[], &[]);
    ok(&o, "ir with the configured key backend", &mock);
    assert_eq!(
        std::fs::read_to_string(&certout).expect("certout"),
        std::fs::read_to_string(pki("new-cert.pem")).expect("pem")
    );
    // The environment overrides the file, a flag overrides both.
    let o = ir(&[("CMP_AGENT_KEY_BACKEND", "hsm")], &[]);
    assert_eq!(
        (o.status.code(), stderr(&o)),
        (
            Some(2),
            "cmp-agent: --key-backend: no key backend plugin named \"hsm\" (available: software, pkcs11, test-software)\n"
                .replace(", test-software", &aws_lc_then(", test-software"))
        )
    );
    let o = ir(
        &[("CMP_AGENT_KEY_BACKEND", "hsm")],
        &["--key-backend", "software"],
    );
    ok(&o, "ir with --key-backend over the environment", &mock);
}

/// `aws-lc, ` before `rest` when the agent has the aws-lc backend.
fn aws_lc_then(rest: &str) -> String {
    if cfg!(feature = "aws-lc") {
        format!(", aws-lc{rest}")
    } else {
        rest.to_owned()
    }
}

#[test]
fn configuration_errors_name_the_key_and_its_source() {
    let dir = tools::temp_dir("agent-config-errors");
    let cases = [
        (
            "key_backnd = \"x\"\n",
            "key key_backnd: unknown key (the README's option table lists the keys)",
        ),
        (
            "tls_trusted = \"roots.pem\"\n",
            "key tls_trusted: unknown key (the README's option table lists the keys)",
        ),
        (
            "[tls]\ntrust = \"roots.pem\"\n",
            "key tls.trust: unknown key (the README's option table lists the keys)",
        ),
        (
            "msg_timeout = \"soon\"\n",
            "key msg_timeout: invalid value 'soon' for '--msg-timeout <S>': invalid digit found in string",
        ),
        (
            "msg_timeout = 0\n",
            "key msg_timeout: invalid value '0' for '--msg-timeout <S>': 0 is not in 1..18446744073709551615",
        ),
        (
            "implicit_confirm = \"yes\"\n",
            "key implicit_confirm: expected true or false",
        ),
        (
            "server = [\"http://a\", \"http://b\"]\n",
            "key server: expected one value, found a list",
        ),
        (
            "secret = \"cmp-test-secret-1234\"\n",
            "key secret: not a secret source (give pass:TEXT, env:VAR or file:PATH)",
        ),
        (
            "[[plugin]]\npath = \"/a.so\"\nname = \"a\"\n",
            "key plugin.0.name: unknown field: found `name`, expected `path`",
        ),
        (
            "key_backend = \"a\n",
            "TOML parse error at line 1, column 17: invalid basic string",
        ),
    ];
    for (i, (text, problem)) in cases.iter().enumerate() {
        let file = write(&dir, &format!("{i}.toml"), text);
        let o = agent_env(&dir, &[], &["--config", &file, "plugins"]);
        assert_eq!(
            (o.status.code(), stderr(&o), stdout(&o)),
            (
                Some(2),
                format!("cmp-agent: configuration: {file}: {problem}\n"),
                String::new()
            ),
            "{text}"
        );
    }
    let o = agent_env(&dir, &[("CMP_AGENT_KEYBACKEND", "x")], &["config", "check"]);
    assert_eq!(
        (o.status.code(), stderr(&o)),
        (
            Some(2),
            "cmp-agent: configuration: environment variable CMP_AGENT_KEYBACKEND: key keybackend: unknown key (the README's option table lists the keys)\n"
                .to_owned()
        )
    );
    let missing = dir.join("missing.toml").display().to_string();
    let o = agent_env(&dir, &[], &["--config", &missing, "config", "check"]);
    assert_eq!(
        (o.status.code(), stderr(&o)),
        (
            Some(2),
            format!("cmp-agent: configuration file {missing} (--config): no such file\n")
        )
    );
    let o = agent_env(
        &dir,
        &[("CMP_AGENT_CONFIG", &missing)],
        &["config", "check"],
    );
    assert_eq!(
        (o.status.code(), stderr(&o)),
        (
            Some(2),
            format!("cmp-agent: configuration file {missing} (CMP_AGENT_CONFIG): no such file\n")
        )
    );
}

#[test]
fn more_configuration_errors_name_the_variable() {
    let dir = tools::temp_dir("agent-config-env-errors");
    let cases = [
        (
            "CMP_AGENT_TLS__TRUST",
            "x",
            "environment variable CMP_AGENT_TLS__TRUST: key tls.trust: unknown key (the README's option table lists the keys)",
        ),
        (
            "CMP_AGENT_MSG_TIMEOUT",
            "soon",
            "environment variable CMP_AGENT_MSG_TIMEOUT: key msg_timeout: invalid value 'soon' for '--msg-timeout <S>': invalid digit found in string",
        ),
        (
            "CMP_AGENT_TLS__KEYPASS",
            "hunter2",
            "environment variable CMP_AGENT_TLS__KEYPASS: key tls.keypass: not a secret source (give pass:TEXT, env:VAR or file:PATH)",
        ),
    ];
    for (var, value, problem) in cases {
        let o = agent_env(&dir, &[(var, value)], &["config", "check"]);
        assert_eq!(
            (o.status.code(), stderr(&o), stdout(&o)),
            (
                Some(2),
                format!("cmp-agent: configuration: {problem}\n"),
                String::new()
            ),
            "{var}"
        );
    }
}

#[test]
fn config_check_masks_secrets_and_names_every_source() {
    let dir = tools::temp_dir("agent-config-secrets");
    let file = write(
        &dir,
        "agent.toml",
        "server = \"http://127.0.0.1:1/pkix/\"\n\
         secret = \"pass:cmp-test-secret-1234\"\n\
         keypass = \"file:/run/keypass\"\n\
         crls = [\"a.crl\", \"b.crl\"]\n\
         implicit_confirm = true\n\
         msg_timeout = 30\n\
         [tls]\n\
         trusted = \"roots.pem\"\n",
    );
    let o = agent_env(
        &dir,
        &[
            ("CMP_AGENT_TLS__KEYPASS", "env:TLS_PW"),
            ("CMP_AGENT_MSG_TIMEOUT", "45"),
        ],
        &["--config", &file, "config", "check"],
    );
    assert_eq!((o.status.code(), stderr(&o)), (Some(0), String::new()));
    let out = stdout(&o);
    assert!(!out.contains("cmp-test-secret-1234"), "{out}");
    assert_eq!(
        out,
        format!(
            "# configuration file: {file}\n\
             server = \"http://127.0.0.1:1/pkix/\"  # {file}\n\
             msg_timeout = 45  # environment variable CMP_AGENT_MSG_TIMEOUT\n\
             secret = \"<hidden, pass:…>\"  # {file}\n\
             keypass = \"<hidden, from file:/run/keypass>\"  # {file}\n\
             key_backend = \"software\"  # default\n\
             crls = [\"a.crl\", \"b.crl\"]  # {file}\n\
             implicit_confirm = true  # {file}\n\
             \n[tls]\n\
             trusted = \"roots.pem\"  # {file}\n\
             keypass = \"<hidden, from env:TLS_PW>\"  # environment variable CMP_AGENT_TLS__KEYPASS\n"
        )
    );
}

#[test]
fn ir_from_a_configuration_file_alone() {
    let mock = openssl_mock(MockProtection::Pbm, &[]);
    let dir = tools::temp_dir("agent-config-alone");
    let certout = dir.join("cert.pem").display().to_string();
    let file = write(
        &dir,
        "agent.toml",
        &format!(
            "server = \"{server}\"\n\
             secret = \"env:CMP_TEST_SECRET\"\n\
             ref = \"client-ref-1234\"\n\
             recipient = \"{RECIPIENT}\"\n\
             newkey = \"{newkey}\"\n\
             subject = \"{SUBJECT}\"\n\
             certout = \"{certout}\"\n\
             reqout = \"sent\"\n\
             msg_timeout = 20\n",
            server = url(&mock),
            newkey = pki("new-key.pem"),
        ),
    );
    let secret = ("CMP_TEST_SECRET", "cmp-test-secret-1234");
    let o = agent_env(&dir, &[secret], &["--config", &file, "ir"]);
    ok(&o, "ir from the configuration file alone", &mock);
    assert_eq!(
        std::fs::read_to_string(&certout).expect("certout"),
        std::fs::read_to_string(pki("new-cert.pem")).expect("pem")
    );
    let mut sent: Vec<String> = std::fs::read_dir(dir.join("sent"))
        .expect("reqout")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    sent.sort();
    assert_eq!(sent, ["01-ir.der", "02-certConf.der"]);

    // A variable overrides the file, a flag overrides both.
    let by_env = dir.join("by-env.pem").display().to_string();
    let o = agent_env(
        &dir,
        &[secret, ("CMP_AGENT_CERTOUT", &by_env)],
        &["--config", &file, "ir"],
    );
    ok(&o, "ir with --certout from the environment", &mock);
    assert!(Path::new(&by_env).is_file());
    let other = dir.join("other.pem").display().to_string();
    let o = agent_env(
        &dir,
        &[secret, ("CMP_AGENT_CERTOUT", "/nonexistent/never.pem")],
        &["--config", &file, "ir", "--certout", &other],
    );
    ok(&o, "ir with a flag over the environment", &mock);
    assert!(Path::new(&other).is_file());
}
