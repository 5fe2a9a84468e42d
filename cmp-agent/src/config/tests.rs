//! The rule option ↔ key ↔ variable, checked against clap's definition and the README.

use clap::CommandFactory;

use super::*;

/// The commands without configuration keys (not one-shot client operations), each named so
/// that a new command has to be placed on one side or the other.
const WITHOUT_KEYS: &[&str] = &["inspect", "plugins", "config", "run", "status", "demo"];

/// The README row of an option.
fn readme_row(o: &OptionKey) -> String {
    let key = match o.section {
        Some(s) => format!("[{s}] {}", o.key),
        None => o.key.clone(),
    };
    format!("| `--{}` | `{key}` | `{}` |", o.long, o.variable())
}

#[test]
fn every_command_is_placed() {
    let cli = crate::cli::Cli::command();
    for sub in cli.get_subcommands() {
        let name = sub.get_name();
        assert!(
            CLIENT_COMMANDS.contains(&name) != WITHOUT_KEYS.contains(&name),
            "{name}: with configuration keys (CLIENT_COMMANDS) or without (WITHOUT_KEYS)?"
        );
    }
}

#[test]
fn every_option_has_a_key_a_variable_and_a_readme_row() {
    let options = option_keys();
    // Built: the subcommands' options are added when they are first needed.
    let mut cli = crate::cli::Cli::command();
    cli.build();
    // Every long option of every client command, straight from clap.
    let mut from_clap = BTreeSet::new();
    for name in CLIENT_COMMANDS {
        let cmd = cli.find_subcommand(name).expect("a client command");
        for a in cmd.get_arguments() {
            if let (Some(long), false) = (a.get_long(), a.is_global_set()) {
                if long != "help" {
                    from_clap.insert(long.to_owned());
                }
            }
        }
    }
    let ours: BTreeSet<String> = options.iter().map(|o| o.long.clone()).collect();
    assert_eq!(ours, from_clap);
    assert!(ours.len() > 50, "{}", ours.len());

    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README");
    let missing: Vec<String> = options
        .iter()
        .map(readme_row)
        .filter(|row| !readme.lines().any(|l| l.starts_with(row.as_str())))
        .collect();
    assert!(
        missing.is_empty(),
        "rows missing from the README's option table:\n{}",
        missing.join("\n")
    );
}

#[test]
fn the_rule() {
    let by_long = |l: &str| {
        option_keys()
            .into_iter()
            .find(|o| o.long == l)
            .unwrap_or_else(|| panic!("--{l}"))
    };
    let t = by_long("tls-trusted");
    assert_eq!(
        (
            t.path(),
            t.variable(),
            t.is_flag(),
            t.is_list(),
            t.is_secret()
        ),
        (
            "tls.trusted".to_owned(),
            "CMP_AGENT_TLS__TRUSTED".to_owned(),
            false,
            false,
            false
        )
    );
    let m = by_long("msg-timeout");
    assert_eq!(
        (m.path(), m.variable()),
        ("msg_timeout".to_owned(), "CMP_AGENT_MSG_TIMEOUT".to_owned())
    );
    assert!(by_long("implicit-confirm").is_flag());
    assert!(by_long("crls").is_list());
    let secrets: Vec<String> = option_keys()
        .into_iter()
        .filter(OptionKey::is_secret)
        .map(|o| o.path())
        .collect();
    assert_eq!(secrets, ["secret", "keypass", "tls.keypass", "newkeypass"]);
    // Keys never take the names the loader gives other meanings.
    for o in option_keys() {
        assert!(
            !["plugin", "config", TLS].contains(&o.path().as_str()),
            "--{}",
            o.long
        );
        assert_eq!(
            o.section.is_some(),
            o.long.starts_with("tls-"),
            "--{}",
            o.long
        );
    }
    assert_eq!(
        [
            masked("pass:s3cret"),
            masked("env:PW"),
            masked("file:/run/pw"),
            masked("x")
        ],
        [
            "<hidden, pass:…>",
            "<hidden, from env:PW>",
            "<hidden, from file:/run/pw>",
            "<hidden>"
        ]
    );
}

#[cfg(not(feature = "daemon"))]
#[test]
fn daemon_sections_are_refused_without_the_daemon() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let file = dir.path().join("agent.toml");
    std::fs::write(&file, "[daemon]\nstate_dir = \"/var/lib/cmp-agent\"\n").expect("written");
    let e = load(Some(&file)).expect_err("refused");
    assert_eq!(
        e.to_string(),
        format!(
            "configuration: {}: key daemon: this agent was built without the daemon (cargo \
             feature `daemon`)",
            file.display()
        )
    );
}
