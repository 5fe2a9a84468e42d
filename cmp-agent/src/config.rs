//! The agent's configuration (figment): one TOML file (`--config FILE`, else the file named by
//! `CMP_AGENT_CONFIG`), then `CMP_AGENT_*` environment variables (`__` separates nested keys),
//! then the command-line flags, each layer over the one before.
//!
//! What it holds so far is the plugin composition:
//!
//! ```toml
//! key_backend = "test-software"   # --key-backend NAME, CMP_AGENT_KEY_BACKEND
//!
//! [[plugin]]                      # --plugin PATH (flags add to the list)
//! path = "/usr/lib/cmp/libcmp_plugin_test_keys.so"
//! ```
//!
//! Unknown keys, in the file or as `CMP_AGENT_*` variables, are errors that name the key and
//! where it came from. `cmp-agent config check` prints the effective configuration.

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use figment::value::Value;

/// The environment variable naming the configuration file.
pub(crate) const CONFIG_VAR: &str = "CMP_AGENT_CONFIG";

/// The prefix of the agent's environment variables.
const ENV_PREFIX: &str = "CMP_AGENT_";

/// The key backend when nothing chooses one.
pub(crate) const DEFAULT_KEY_BACKEND: &str = "software";

/// The configuration as the file and the environment give it.
#[derive(Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AgentConfig {
    /// Dynamic plugins to load, in order: `[[plugin]] path = "…"`.
    #[serde(default)]
    pub(crate) plugin: Vec<PluginEntry>,
    /// The key backend for key files and generated keys.
    pub(crate) key_backend: Option<String>,
}

/// One `[[plugin]]`.
#[derive(Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PluginEntry {
    /// The shared library (relative paths are taken from the working directory).
    pub(crate) path: PathBuf,
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

/// The loaded configuration, with the layers it came from.
#[derive(Debug)]
pub(crate) struct Loaded {
    /// The values.
    pub(crate) config: AgentConfig,
    /// The file read, if any.
    pub(crate) file: Option<PathBuf>,
    figment: Figment,
}

/// Reads the file (`--config`, else `CMP_AGENT_CONFIG`) and the environment.
pub(crate) fn load(flag: Option<&Path>) -> Result<Loaded, ConfigError> {
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
    let figment = figment.merge(Env::prefixed(ENV_PREFIX).ignore(&["config"]).split("__"));
    let config = figment.extract().map_err(|e| invalid(&e))?;
    Ok(Loaded {
        config,
        file,
        figment,
    })
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

impl Loaded {
    /// Where the value of `key` came from: the file, or the environment variable.
    fn source_of(&self, key: &str) -> Option<String> {
        let meta = self.figment.find_metadata(key)?;
        Some(source(Some(meta), &[key.to_owned()]))
    }

    /// The value of `key` in the file or the environment, if either sets it.
    fn value_of(&self, key: &str) -> Option<Value> {
        self.figment.find_value(key).ok()
    }
}

/// A TOML basic string.
fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
}

/// The effective configuration as `config check` prints it: TOML, each value followed by
/// where it came from. `flag_plugins` are the `--plugin` flags, loaded after the file's.
pub(crate) fn render(loaded: &Loaded, flag_plugins: &[PathBuf]) -> String {
    let mut out = String::new();
    out.push_str(&match &loaded.file {
        Some(f) => format!("# configuration file: {}\n", f.display()),
        None => "# no configuration file\n".to_owned(),
    });
    let backend = loaded.config.key_backend.as_deref();
    let source = match backend {
        Some(_) if loaded.value_of("key_backend").is_some() => loaded
            .source_of("key_backend")
            .unwrap_or_else(|| "configuration".into()),
        _ => "default".into(),
    };
    out.push_str(&format!(
        "key_backend = {}  # {source}\n",
        quoted(backend.unwrap_or(DEFAULT_KEY_BACKEND))
    ));
    let file_source = loaded
        .source_of("plugin")
        .unwrap_or_else(|| "configuration".into());
    let plugins = loaded
        .config
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
    out
}
