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
    cmd.current_dir(dir)
        .args(args)
        .env_remove("http_proxy")
        .env_remove("HTTP_PROXY");
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
            "key key_backnd: unknown field: found `key_backnd`, expected `plugin` or `key_backend`",
        ),
        (
            "key_backend = 3\n",
            "key key_backend: invalid type: found signed int `3`, expected a string",
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
            "cmp-agent: configuration: environment variable CMP_AGENT_KEYBACKEND: key keybackend: unknown field: found `keybackend`, expected `plugin` or `key_backend`\n"
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
