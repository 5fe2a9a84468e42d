//! The TOML configuration file of `cmp-server --config FILE`.
//!
//! **Every serving option has a key, by the agent's rule:** an option `--tls-NAME` is the key
//! `NAME` in the `[tls]` section, every other option `--NAME` is the top-level key `NAME`;
//! `-` becomes `_`. A flag is `true`; a repeatable option takes an array. Options on the
//! command line win over the file (repeatable ones add to it). Many clients' secrets and
//! policies go in `[[client]]` entries:
//!
//! ```toml
//! listen = ["http://127.0.0.1:8080/pkix/", "tcp://127.0.0.1:1829"]
//! state_dir = "/var/lib/cmp-server"
//! validity = 86400                       # --validity
//! grant_implicit_confirm = true          # a flag
//!
//! [tls]
//! cert = "/etc/cmp/tls.pem"              # --tls-cert
//! key = "/etc/cmp/tls.key"               # --tls-key
//!
//! [[client]]                             # a MAC client
//! ref = "device-17"                      # its senderKID
//! secret = "env:DEVICE_17_SECRET"        # pass:TEXT, env:VAR or file:PATH
//! subjects = ["CN=device-17,O=Example"]  # `*` matches any run of characters
//! sans = ["DNS:device-17.example.com"]
//! key_types = ["ec:P-256"]
//! max_validity = 3600                    # seconds
//!
//! [[client]]                             # signing clients, by their certificate's subject
//! signer = "CN=* Vendor Device,O=Vendor"
//! subjects = ["CN=*,O=Operator"]
//! # cert = "/etc/cmp/ra.pem"             # or: exactly this certificate
//! ```
//!
//! Relative paths are taken from the working directory. Unknown keys are errors that name the
//! key; a secret's value never appears in an error.

use std::path::{Path, PathBuf};
use std::time::Duration;

use cmp_core::crypto::KeySpec;
use toml::Value;
use zeroize::Zeroizing;

use crate::client_policy::{ClientMatch, ClientPolicy};
use crate::error::Error;
use crate::files::{read_certs, read_secret};

/// How a command-line option takes its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptionKind {
    /// A flag without a value (`--grant-implicit-confirm`): `true` or `false` in the file.
    Switch,
    /// One value (`--state-dir DIR`).
    Value,
    /// A repeatable option (`--listen URL`…): an array (or one value) in the file.
    Values,
}

/// One `[[client]]` entry.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientEntry {
    /// The reference (senderKID) of a MAC client.
    #[serde(rename = "ref")]
    pub reference: Option<String>,
    /// The secret source of `ref`: `pass:TEXT`, `env:VAR` or `file:PATH`.
    pub secret: Option<String>,
    /// A signing client: exactly this certificate (PEM or DER file).
    pub cert: Option<PathBuf>,
    /// Signing clients whose certificate subject matches this pattern.
    pub signer: Option<String>,
    /// The subjects the client may request (patterns).
    #[serde(default)]
    pub subjects: Vec<String>,
    /// The subjectAltNames it may request (`DNS:…`, `IP:…`, `email:…`, `URI:…` patterns).
    #[serde(default)]
    pub sans: Vec<String>,
    /// The key types it may certify (`ec:P-256`, `rsa:2048`, …).
    #[serde(default)]
    pub key_types: Vec<String>,
    /// The longest validity it gets, in seconds.
    pub max_validity: Option<u64>,
}

/// A shared secret and the reference it goes with.
pub type Secret = (Vec<u8>, Zeroizing<Vec<u8>>);

impl ClientEntry {
    /// The policy of the entry, and its secret when it is a MAC client. `n` numbers the entry
    /// in errors (from 1).
    pub fn resolve(&self, n: usize) -> Result<(ClientPolicy, Option<Secret>), String> {
        let who = format!("[[client]] #{n}");
        let (client, secret) = match (&self.reference, &self.cert, &self.signer) {
            (Some(r), None, None) => {
                let src = self
                    .secret
                    .as_deref()
                    .ok_or_else(|| format!("{who}: ref {r} needs a secret"))?;
                let secret = read_secret(src).map_err(|e| format!("{who} (ref {r}): {e}"))?;
                (
                    ClientMatch::Reference(r.as_bytes().to_vec()),
                    Some((r.as_bytes().to_vec(), secret)),
                )
            }
            (None, Some(cert), None) => {
                let certs = read_certs(cert).map_err(|e| format!("{who}: {e}"))?;
                (ClientMatch::Certificate(certs[0].der().to_vec()), None)
            }
            (None, None, Some(pattern)) => (ClientMatch::SignerSubject(pattern.clone()), None),
            _ => {
                return Err(format!(
                    "{who}: give exactly one of ref (with secret), cert or signer"
                ));
            }
        };
        if self.secret.is_some() && self.reference.is_none() {
            return Err(format!("{who}: a secret goes with a ref"));
        }
        let mut policy = ClientPolicy::new(client);
        policy.subjects = self.subjects.clone();
        policy.sans = self.sans.clone();
        for s in &self.sans {
            let known = ["DNS:", "IP:", "email:", "URI:"]
                .iter()
                .any(|t| s.starts_with(t));
            if !known {
                return Err(format!(
                    "{who}: sans entry {s}: give DNS:…, IP:…, email:… or URI:…"
                ));
            }
        }
        policy.key_types = self
            .key_types
            .iter()
            .map(|k| {
                k.parse::<KeySpec>()
                    .map_err(|e| format!("{who}: key_types entry {k}: {e}"))
            })
            .collect::<Result<_, _>>()?;
        policy.max_validity = match self.max_validity {
            Some(0) => return Err(format!("{who}: max_validity must be at least 1 second")),
            m => m.map(Duration::from_secs),
        };
        Ok((policy, secret))
    }
}

/// What a configuration file says: the options as command-line arguments (to go before the
/// real ones), and the `[[client]]` entries.
#[derive(Debug, Default)]
pub struct ConfigFile {
    /// `--name value` arguments for every key.
    pub args: Vec<String>,
    /// The `[[client]]` entries.
    pub clients: Vec<ClientEntry>,
}

/// The most `[[client]]` entries a file may hold.
pub const MAX_CLIENTS: usize = 100_000;

/// Reads `path`; `kind` tells how the option `--NAME` takes its value (`None`: there is no
/// such option).
pub fn load(path: &Path, kind: impl Fn(&str) -> Option<OptionKind>) -> Result<ConfigFile, Error> {
    let err = |message: String| Error::Config {
        path: path.display().to_string(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| err(e.to_string()))?;
    let mut out = ConfigFile::default();
    for (key, value) in &table {
        match key.as_str() {
            "client" => {
                let entries = value
                    .as_array()
                    .ok_or_else(|| err("client: write [[client]] entries".into()))?;
                if entries.len() > MAX_CLIENTS {
                    return Err(err(format!("more than {MAX_CLIENTS} [[client]] entries")));
                }
                for (i, e) in entries.iter().enumerate() {
                    let entry: ClientEntry = e
                        .clone()
                        .try_into()
                        .map_err(|e: toml::de::Error| err(format!("[[client]] #{}: {e}", i + 1)))?;
                    out.clients.push(entry);
                }
            }
            "tls" => {
                let section = value
                    .as_table()
                    .ok_or_else(|| err("tls: write a [tls] section".into()))?;
                for (k, v) in section {
                    push(&mut out.args, &format!("tls.{k}"), k, "tls-", v, &kind).map_err(err)?;
                }
            }
            "config" => {
                return Err(err(
                    "config: a configuration file cannot name another".into()
                ));
            }
            k => push(&mut out.args, k, k, "", value, &kind).map_err(err)?,
        }
    }
    Ok(out)
}

/// The arguments of `key` (named `name` in its section): the option `--{prefix}{name}` with
/// `_` → `-`.
fn push(
    args: &mut Vec<String>,
    key: &str,
    name: &str,
    prefix: &str,
    value: &Value,
    kind: &impl Fn(&str) -> Option<OptionKind>,
) -> Result<(), String> {
    if name.contains('-') {
        return Err(format!("{key}: keys are written with _ (not -)"));
    }
    let long = format!("{prefix}{}", name.replace('_', "-"));
    let Some(k) = kind(&long) else {
        return Err(format!("{key}: no such key (there is no option --{long})"));
    };
    let scalar = |v: &Value| -> Result<String, String> {
        match v {
            Value::String(s) => Ok(s.clone()),
            Value::Integer(i) => Ok(i.to_string()),
            Value::Float(f) => Ok(f.to_string()),
            _ => Err(format!("{key}: give a string or a number")),
        }
    };
    match (k, value) {
        (OptionKind::Switch, Value::Boolean(true)) => args.push(format!("--{long}")),
        (OptionKind::Switch, Value::Boolean(false)) => {}
        (OptionKind::Switch, _) => return Err(format!("{key}: a flag is true or false")),
        (OptionKind::Values, Value::Array(items)) => {
            for item in items {
                args.push(format!("--{long}"));
                args.push(scalar(item)?);
            }
        }
        (OptionKind::Value | OptionKind::Values, v) => {
            args.push(format!("--{long}"));
            args.push(scalar(v)?);
        }
    }
    Ok(())
}
