//! The agent's configuration (figment): one TOML file (`--config FILE`, else the file named by
//! `CMP_AGENT_CONFIG`), then `CMP_AGENT_*` environment variables (`__` separates nested keys),
//! then the command-line flags, each layer over the one before.
//!
//! **Every option of the client commands has a key and a variable, by one rule:** an option
//! `--tls-NAME` is the key `NAME` in the `[tls]` section, every other option `--NAME` is the
//! top-level key `NAME`; `-` becomes `_`; the variable is `CMP_AGENT_` and the key path in
//! capitals, sections joined by `__`:
//!
//! ```toml
//! server = "http://ca.example:8080/pkix/"   # --server, CMP_AGENT_SERVER
//! msg_timeout = 30                          # --msg-timeout, CMP_AGENT_MSG_TIMEOUT
//! crls = ["a.crl", "b.crl"]                 # --crls (repeatable), CMP_AGENT_CRLS
//! implicit_confirm = true                   # a flag: true sets it
//! key_backend = "test-software"             # --key-backend, CMP_AGENT_KEY_BACKEND
//!
//! [tls]
//! trusted = "/etc/cmp/tls-roots.pem"        # --tls-trusted, CMP_AGENT_TLS__TRUSTED
//!
//! [[plugin]]                                # --plugin PATH (flags add to the list)
//! path = "/usr/lib/cmp/libcmp_plugin_test_keys.so"
//! ```
//!
//! A key applies to the commands that have its option (`newkey` to the enrollments, `infotype`
//! to genm, …). `--config` has no key (`CMP_AGENT_CONFIG` names the file; the daemon's test knobs
//! `CMP_AGENT_FAILPOINT` and `CMP_AGENT_CLOCK_OFFSET` are not keys either). Unknown keys, in the
//! file or as `CMP_AGENT_*` variables, and values the option would refuse are errors that name
//! the key and where it came from; a secret's value never appears in one.
//! `cmp-agent config check` prints the effective configuration, secrets masked.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use figment::Figment;
use figment::providers::{Env, Format, Toml};
use figment::value::Value;

/// The environment variable naming the configuration file.
pub(crate) const CONFIG_VAR: &str = "CMP_AGENT_CONFIG";

/// The prefix of the agent's environment variables.
const ENV_PREFIX: &str = "CMP_AGENT_";

/// The key backend when nothing chooses one.
pub(crate) const DEFAULT_KEY_BACKEND: &str = "software";

/// The commands whose options have configuration keys.
pub(crate) const CLIENT_COMMANDS: &[&str] = &["ir", "cr", "kur", "ccr", "p10cr", "rr", "genm"];

/// The one section the rule makes.
const TLS: &str = "tls";

/// One `[[plugin]]`.
#[derive(Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PluginEntry {
    /// The shared library (relative paths are taken from the working directory).
    pub(crate) path: PathBuf,
}

/// The `[[plugin]]` entries of the configuration (its other keys are checked elsewhere).
#[derive(serde::Deserialize)]
struct Plugins {
    #[serde(default)]
    plugin: Vec<PluginEntry>,
}

/// Why the configuration cannot be had.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConfigError {
    /// The file named does not exist.
    #[error("configuration file {path} ({origin}): no such file")]
    NoFile {
        /// The file.
        path: PathBuf,
        /// `--config` or `CMP_AGENT_CONFIG`.
        origin: &'static str,
    },
    /// A key is unknown or of the wrong type, or the TOML is malformed.
    #[error("configuration: {place}: {problem}")]
    Invalid {
        /// The file, or `environment variable CMP_AGENT_…`.
        place: String,
        /// What is wrong, with the key.
        problem: String,
    },
}

/// An option of the client commands and its configuration key.
#[derive(Clone, Debug)]
pub(crate) struct OptionKey {
    /// The long option, without `--`.
    pub(crate) long: String,
    /// The section (`tls`), or `None` for a top-level key.
    pub(crate) section: Option<&'static str>,
    /// The key in its section.
    pub(crate) key: String,
    /// The commands that have it.
    pub(crate) commands: Vec<String>,
    /// clap's definition (for its value parser).
    arg: clap::Arg,
}

impl OptionKey {
    /// The key path: `msg_timeout`, `tls.trusted`.
    pub(crate) fn path(&self) -> String {
        match self.section {
            Some(s) => format!("{s}.{}", self.key),
            None => self.key.clone(),
        }
    }

    /// The environment variable: `CMP_AGENT_TLS__TRUSTED`.
    #[cfg(test)]
    pub(crate) fn variable(&self) -> String {
        let parts: Vec<String> = self.path().split('.').map(str::to_owned).collect();
        env_var(&parts)
    }

    /// A flag (no value): `true` sets it.
    pub(crate) fn is_flag(&self) -> bool {
        !self.arg.get_action().takes_values()
    }

    /// Repeatable: the key takes a list.
    pub(crate) fn is_list(&self) -> bool {
        matches!(self.arg.get_action(), clap::ArgAction::Append)
    }

    /// A secret source (`pass:`, `env:`, `file:`): masked, never echoed.
    pub(crate) fn is_secret(&self) -> bool {
        self.arg
            .get_value_names()
            .is_some_and(|v| v.iter().any(|n| n.as_str() == "SRC"))
    }

    fn id(&self) -> &str {
        self.arg.get_id().as_str()
    }
}

/// The section and key of `--long` by the rule.
pub(crate) fn key_of(long: &str) -> (Option<&'static str>, String) {
    match long.strip_prefix("tls-") {
        Some(rest) => (Some(TLS), rest.replace('-', "_")),
        None => (None, long.replace('-', "_")),
    }
}

/// Every option of the client commands, once, in the order clap lists them.
pub(crate) fn option_keys() -> Vec<OptionKey> {
    option_keys_of(&<crate::cli::Cli as clap::CommandFactory>::command())
}

/// Every option of the client commands of `cli` (the agent's command line), once, in the
/// order clap lists them. (The subcommands' options are added when they are first needed:
/// this builds them all, on a copy.)
pub(crate) fn option_keys_of(cli: &clap::Command) -> Vec<OptionKey> {
    let mut cli = cli.clone();
    cli.build();
    let mut out: Vec<OptionKey> = Vec::new();
    for name in CLIENT_COMMANDS {
        let Some(cmd) = cli.find_subcommand(name) else {
            continue;
        };
        for arg in cmd.get_arguments() {
            let Some(long) = arg.get_long() else { continue };
            if arg.is_global_set() || matches!(long, "help" | "version") {
                continue;
            }
            if let Some(o) = out.iter_mut().find(|o| o.long == long) {
                o.commands.push((*name).to_owned());
                continue;
            }
            let (section, key) = key_of(long);
            out.push(OptionKey {
                long: long.to_owned(),
                section,
                key,
                commands: vec![(*name).to_owned()],
                arg: arg.clone(),
            });
        }
    }
    out
}

/// The loaded configuration, with the layers it came from.
#[derive(Debug)]
pub(crate) struct Loaded {
    /// The `[[plugin]]` entries.
    pub(crate) plugin: Vec<PluginEntry>,
    /// The file read, if any.
    pub(crate) file: Option<PathBuf>,
    figment: Figment,
    options: Vec<OptionKey>,
}

/// Reads the file (`--config`, else `CMP_AGENT_CONFIG`) and the environment, and checks every
/// key and value.
#[cfg(any(test, feature = "daemon"))]
pub(crate) fn load(flag: Option<&Path>) -> Result<Loaded, ConfigError> {
    load_for(flag, &<crate::cli::Cli as clap::CommandFactory>::command())
}

/// `load`, with the command line's definition already built (building clap's command is a
/// measurable share of a one-shot run on a device).
pub(crate) fn load_for(flag: Option<&Path>, cli: &clap::Command) -> Result<Loaded, ConfigError> {
    let (file, origin) = match flag {
        Some(p) => (Some(p.to_path_buf()), "--config"),
        None => (std::env::var_os(CONFIG_VAR).map(PathBuf::from), CONFIG_VAR),
    };
    let mut figment = Figment::new();
    if let Some(path) = &file {
        if !path.is_file() {
            return Err(ConfigError::NoFile {
                path: path.clone(),
                origin,
            });
        }
        figment = figment.merge(Toml::file_exact(path));
    }
    let figment = figment.merge(
        Env::prefixed(ENV_PREFIX)
            .ignore(&["config", "failpoint", "clock_offset"])
            .split("__"),
    );
    let top: figment::value::Dict = figment.extract().map_err(|e| invalid(&e))?;
    let plugins: Plugins = figment.extract().map_err(|e| invalid(&e))?;
    // What the keys are checked against: every client command's options, built only when
    // the file or the environment sets something.
    let options = if top.is_empty() {
        Vec::new()
    } else {
        option_keys_of(cli)
    };
    let loaded = Loaded {
        plugin: plugins.plugin,
        file,
        figment,
        options,
    };
    loaded.check(&top)?;
    Ok(loaded)
}

/// The variable that sets `path` (`["tls", "trusted"]` → `CMP_AGENT_TLS__TRUSTED`).
fn env_var(path: &[String]) -> String {
    let keys: Vec<String> = path.iter().map(|k| k.to_ascii_uppercase()).collect();
    format!("{ENV_PREFIX}{}", keys.join("__"))
}

/// Where a value came from: the file, or the environment variable that set `path`.
fn source(meta: Option<&figment::Metadata>, path: &[String]) -> String {
    match meta {
        Some(m) => match &m.source {
            Some(figment::Source::File(p)) => p.display().to_string(),
            _ if m.name.contains("environment") => {
                format!("environment variable {}", env_var(path))
            }
            _ => m.name.to_string(),
        },
        None => "configuration".to_owned(),
    }
}

/// The first error, as one line: its source, the key, what is wrong. (A TOML syntax error
/// keeps its first line, with the position, and its last, the reason.)
fn invalid(e: &figment::Error) -> ConfigError {
    // figment quotes the expected names twice (``a` or `b``).
    let what = e.kind.to_string().replace("``", "`");
    let mut lines = what.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or_default().to_owned();
    let what = match lines.next_back() {
        Some(last) if !first.is_empty() => format!("{first}: {last}"),
        _ => first,
    };
    let problem = if e.path.is_empty() {
        what
    } else {
        format!("key {}: {what}", e.path.join("."))
    };
    ConfigError::Invalid {
        place: source(e.metadata.as_ref(), &e.path),
        problem,
    }
}

/// A whole number as text (figment keeps small numbers as unsigned, negative ones signed).
fn whole(n: figment::value::Num) -> Option<String> {
    n.to_i128()
        .map(|i| i.to_string())
        .or_else(|| n.to_u128().map(|u| u.to_string()))
}

/// A value as the option's argument(s); `Err` says what was expected.
fn as_args(opt: &OptionKey, value: &Value) -> Result<Vec<String>, String> {
    let scalar = |v: &Value| match v {
        Value::String(_, s) => Ok(s.clone()),
        Value::Num(_, n) => whole(*n).ok_or_else(|| "expected a whole number".to_owned()),
        Value::Bool(..) => Err("expected a value, found a boolean".to_owned()),
        _ => Err("expected a value".to_owned()),
    };
    if opt.is_flag() {
        return match value {
            Value::Bool(_, b) => Ok(if *b { vec![String::new()] } else { Vec::new() }),
            _ => Err("expected true or false".to_owned()),
        };
    }
    match value {
        Value::Array(_, items) if opt.is_list() => items.iter().map(scalar).collect(),
        Value::Array(..) => Err("expected one value, found a list".to_owned()),
        v => scalar(v).map(|s| vec![s]),
    }
}

impl Loaded {
    /// Where the value of `path` (dotted) came from: the file, or the environment variable.
    fn source_of(&self, path: &str) -> String {
        let parts: Vec<String> = path.split('.').map(str::to_owned).collect();
        source(self.figment.find_metadata(path), &parts)
    }

    /// The value of `path` (dotted) in the file or the environment, if either sets it.
    fn value_of(&self, path: &str) -> Option<Value> {
        self.figment.find_value(path).ok()
    }

    fn error(&self, path: &str, problem: String) -> ConfigError {
        ConfigError::Invalid {
            place: self.source_of(path),
            problem: format!("key {path}: {problem}"),
        }
    }

    /// Refuses unknown keys and values the options would refuse.
    fn check(&self, top: &figment::value::Dict) -> Result<(), ConfigError> {
        let known: BTreeSet<String> = self.options.iter().map(OptionKey::path).collect();
        let mut paths = Vec::new();
        for (k, v) in top {
            match (k.as_str(), v) {
                // The daemon's sections, checked as a whole below.
                ("plugin" | "daemon" | "certificate", _) => {}
                (TLS, Value::Dict(_, d)) => paths.extend(d.keys().map(|s| format!("{TLS}.{s}"))),
                _ => paths.push(k.clone()),
            }
        }
        for path in paths {
            if !known.contains(&path) {
                return Err(self.error(
                    &path,
                    "unknown key (the README's option table lists the keys)".to_owned(),
                ));
            }
        }
        for opt in &self.options {
            self.args_of(opt)?;
        }
        #[cfg(feature = "daemon")]
        self.daemon_file()?;
        #[cfg(not(feature = "daemon"))]
        for section in ["daemon", "certificate"] {
            if top.contains_key(section) {
                return Err(self.error(
                    section,
                    "this agent was built without the daemon (cargo feature `daemon`)".to_owned(),
                ));
            }
        }
        Ok(())
    }

    /// The daemon's `[daemon]` section and `[[certificate]]` tables (unknown keys refused).
    #[cfg(feature = "daemon")]
    pub(crate) fn daemon_file(&self) -> Result<crate::daemon::settings::DaemonFile, ConfigError> {
        self.figment.extract().map_err(|e| invalid(&e))
    }

    /// The arguments the configuration gives `opt` (`--long VALUE` …), checked with the
    /// option's own parser; empty when it does not set it.
    fn args_of(&self, opt: &OptionKey) -> Result<Vec<OsString>, ConfigError> {
        let path = opt.path();
        let Some(value) = self.value_of(&path) else {
            return Ok(Vec::new());
        };
        let values = as_args(opt, &value).map_err(|p| self.error(&path, p))?;
        let mut out = Vec::new();
        for v in values {
            out.push(OsString::from(format!("--{}", opt.long)));
            if opt.is_flag() {
                continue;
            }
            // The option's own parser, on a command that has only this option.
            let alone = clap::Command::new("cmp-agent")
                .no_binary_name(true)
                .arg(opt.arg.clone().required(false));
            let long = format!("--{}", opt.long);
            if let Err(e) = alone.try_get_matches_from([long.as_str(), v.as_str()]) {
                let problem = if opt.is_secret() {
                    "not a secret source (give pass:TEXT, env:VAR or file:PATH)".to_owned()
                } else {
                    let text = e.to_string();
                    let line = text.lines().next().unwrap_or_default();
                    line.strip_prefix("error: ").unwrap_or(line).to_owned()
                };
                return Err(self.error(&path, problem));
            }
            out.push(OsString::from(v));
        }
        Ok(out)
    }

    /// The arguments to add to the command line of `command`: every option the configuration
    /// sets that `given` (the command line's matches of that command) did not set.
    pub(crate) fn extra_args(
        &self,
        command: &str,
        given: &clap::ArgMatches,
    ) -> Result<Vec<OsString>, ConfigError> {
        let mut out = Vec::new();
        for opt in self
            .options
            .iter()
            .filter(|o| o.commands.iter().any(|c| c == command))
        {
            let on_the_command_line = given.try_contains_id(opt.id()).unwrap_or(false)
                && given.value_source(opt.id()) == Some(ValueSource::CommandLine);
            if !on_the_command_line {
                out.extend(self.args_of(opt)?);
            }
        }
        Ok(out)
    }
}

/// A TOML basic string.
fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
}

/// A secret source as `config check` shows it: where it comes from, never its text.
fn masked(source: &str) -> String {
    match source.split_once(':') {
        Some(("env" | "file", _)) => format!("<hidden, from {source}>"),
        Some(("pass", _)) => "<hidden, pass:…>".to_owned(),
        _ => "<hidden>".to_owned(),
    }
}

/// A value as TOML, secrets masked.
fn render_value(opt: &OptionKey, value: &Value) -> String {
    let text = |v: &Value| match v {
        Value::String(_, s) if opt.is_secret() => quoted(&masked(s)),
        Value::String(_, s) => quoted(s),
        Value::Num(_, n) => whole(*n).unwrap_or_else(|| "?".into()),
        Value::Bool(_, b) => b.to_string(),
        _ => "?".to_owned(),
    };
    match value {
        Value::Array(_, items) => {
            let items: Vec<String> = items.iter().map(text).collect();
            format!("[{}]", items.join(", "))
        }
        v => text(v),
    }
}

/// The effective configuration as `config check` prints it: TOML, each value followed by
/// where it came from, secrets masked. `flag_plugins` are the `--plugin` flags, loaded after
/// the file's.
pub(crate) fn render(loaded: &Loaded, flag_plugins: &[PathBuf]) -> String {
    let mut out = String::new();
    out.push_str(&match &loaded.file {
        Some(f) => format!("# configuration file: {}\n", f.display()),
        None => "# no configuration file\n".to_owned(),
    });
    let mut tls = String::new();
    // A configuration that sets nothing was not checked against the options: list them now.
    let every_option;
    let options = if loaded.options.is_empty() {
        every_option = option_keys();
        &every_option
    } else {
        &loaded.options
    };
    for opt in options {
        let path = opt.path();
        let line = match loaded.value_of(&path) {
            Some(v) => format!(
                "{} = {}  # {}\n",
                opt.key,
                render_value(opt, &v),
                loaded.source_of(&path)
            ),
            None if path == "key_backend" => {
                format!("key_backend = {}  # default\n", quoted(DEFAULT_KEY_BACKEND))
            }
            None => continue,
        };
        match opt.section {
            Some(_) => tls.push_str(&line),
            None => out.push_str(&line),
        }
    }
    if !tls.is_empty() {
        out.push_str(&format!("\n[{TLS}]\n{tls}"));
    }
    let file_source = loaded.source_of("plugin");
    let plugins = loaded
        .plugin
        .iter()
        .map(|p| (&p.path, file_source.clone()))
        .chain(flag_plugins.iter().map(|p| (p, "--plugin".to_owned())));
    for (path, source) in plugins {
        out.push_str(&format!(
            "\n[[plugin]]\npath = {}  # {source}\n",
            quoted(&path.display().to_string())
        ));
    }
    out.push_str(&render_daemon(loaded));
    out
}

/// The daemon's part of `config check`: the `[daemon]` keys that are set, with their source,
/// and the certificates by name (their secrets are not shown).
fn render_daemon(loaded: &Loaded) -> String {
    let mut out = String::new();
    if let Some(Value::Dict(_, d)) = loaded.value_of("daemon") {
        out.push_str("\n[daemon]\n");
        for (k, v) in &d {
            let path = format!("daemon.{k}");
            let text = match v {
                Value::String(_, s) => quoted(s),
                Value::Num(_, n) => whole(*n).unwrap_or_else(|| "?".into()),
                Value::Bool(_, b) => b.to_string(),
                Value::Array(_, items) => {
                    let items: Vec<String> = items
                        .iter()
                        .map(|i| match i {
                            Value::String(_, s) => quoted(s),
                            _ => "?".into(),
                        })
                        .collect();
                    format!("[{}]", items.join(", "))
                }
                _ => "?".into(),
            };
            out.push_str(&format!("{k} = {text}  # {}\n", loaded.source_of(&path)));
        }
    }
    #[cfg(feature = "daemon")]
    if let Ok(file) = loaded.daemon_file() {
        for c in &file.certificate {
            out.push_str(&format!(
                "\n[[certificate]]\nname = {}  # {}\n",
                quoted(&c.name),
                loaded.source_of("certificate")
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests;
