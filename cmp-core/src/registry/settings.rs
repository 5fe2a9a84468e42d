//! The settings a factory builds a plugin from: a small tree of text, integers, booleans,
//! lists and tables. The agent passes a plugin's section as it is; the plugin's factory reads
//! it (and refuses keys it does not know), so a section stays unparsed until its plugin reads it.

use std::collections::BTreeMap;
use std::fmt;

use std::sync::Arc;

use zeroize::Zeroizing;

use super::RegistryError;
use crate::crypto::PrivateKey;

/// One setting's value.
#[derive(Clone)]
#[non_exhaustive]
pub enum SettingValue {
    /// A string (also paths, URLs and secret sources such as `env:VAR`).
    Text(String),
    /// An integer.
    Integer(i64),
    /// A boolean.
    Bool(bool),
    /// A list of values.
    List(Vec<SettingValue>),
    /// A nested section.
    Table(Settings),
    /// A secret (a password, a shared secret): wiped when dropped, never printed.
    Secret(Zeroizing<Vec<u8>>),
    /// A key the application loaded from its key backend for the plugin — for example the
    /// TLS client key kept in a PKCS#11 token. Only in-process plugins can be given one; two
    /// are equal when they are the same key object.
    Key(Arc<dyn PrivateKey>),
}

impl PartialEq for SettingValue {
    fn eq(&self, other: &Self) -> bool {
        use SettingValue::*;
        match (self, other) {
            (Text(a), Text(b)) => a == b,
            (Integer(a), Integer(b)) => a == b,
            (Bool(a), Bool(b)) => a == b,
            (List(a), List(b)) => a == b,
            (Table(a), Table(b)) => a == b,
            (Secret(a), Secret(b)) => a == b,
            (Key(a), Key(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl Eq for SettingValue {}

impl fmt::Debug for SettingValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SettingValue::Text(t) => f.debug_tuple("Text").field(t).finish(),
            SettingValue::Integer(i) => f.debug_tuple("Integer").field(i).finish(),
            SettingValue::Bool(b) => f.debug_tuple("Bool").field(b).finish(),
            SettingValue::List(l) => f.debug_tuple("List").field(l).finish(),
            SettingValue::Table(t) => f.debug_tuple("Table").field(t).finish(),
            SettingValue::Secret(_) => f.write_str("Secret(<hidden>)"),
            SettingValue::Key(k) => f.debug_tuple("Key").field(&k.spec()).finish(),
        }
    }
}

impl SettingValue {
    /// What kind of value it is, for error messages (`text`, `an integer`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            SettingValue::Text(_) => "text",
            SettingValue::Integer(_) => "an integer",
            SettingValue::Bool(_) => "a boolean",
            SettingValue::List(_) => "a list",
            SettingValue::Table(_) => "a table",
            SettingValue::Secret(_) => "a secret",
            SettingValue::Key(_) => "a key",
        }
    }
}

impl From<&str> for SettingValue {
    fn from(v: &str) -> Self {
        SettingValue::Text(v.to_owned())
    }
}

impl From<String> for SettingValue {
    fn from(v: String) -> Self {
        SettingValue::Text(v)
    }
}

impl From<i64> for SettingValue {
    fn from(v: i64) -> Self {
        SettingValue::Integer(v)
    }
}

impl From<bool> for SettingValue {
    fn from(v: bool) -> Self {
        SettingValue::Bool(v)
    }
}

impl From<Settings> for SettingValue {
    fn from(v: Settings) -> Self {
        SettingValue::Table(v)
    }
}

impl<T: Into<SettingValue>> From<Vec<T>> for SettingValue {
    fn from(v: Vec<T>) -> Self {
        SettingValue::List(v.into_iter().map(Into::into).collect())
    }
}

/// A plugin's settings: keys (sorted) to values.
///
/// ```
/// use cmp_core::registry::Settings;
/// let s = Settings::new()
///     .with("message_timeout", 30i64)
///     .with("tls", Settings::new().with("trusted", "/etc/cmp/tls-roots.pem"));
/// assert_eq!(s.integer("message_timeout")?, Some(30));
/// let tls = s.table("tls")?.expect("a [tls] section");
/// assert_eq!(tls.text("trusted")?, Some("/etc/cmp/tls-roots.pem"));
/// assert_eq!(tls.flag("system_roots")?, false);
/// # Ok::<(), cmp_core::registry::RegistryError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Settings {
    values: BTreeMap<String, SettingValue>,
}

impl Settings {
    /// No settings.
    pub fn new() -> Self {
        Settings::default()
    }

    /// These settings with `key` set to `value`.
    pub fn with(mut self, key: &str, value: impl Into<SettingValue>) -> Self {
        self.insert(key, value);
        self
    }

    /// Sets `key` to `value`, replacing what was there.
    pub fn insert(&mut self, key: &str, value: impl Into<SettingValue>) {
        self.values.insert(key.to_owned(), value.into());
    }

    /// The value of `key`, if set.
    pub fn get(&self, key: &str) -> Option<&SettingValue> {
        self.values.get(key)
    }

    /// The keys that are set, sorted.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    /// Whether no key is set.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Refuses a key not among `known` ([`RegistryError::UnknownSetting`]), so a typo fails
    /// loudly instead of being ignored.
    pub fn check_known(&self, plugin: &str, known: &[&str]) -> Result<(), RegistryError> {
        match self.keys().find(|k| !known.contains(k)) {
            Some(key) => Err(RegistryError::UnknownSetting {
                plugin: plugin.to_owned(),
                key: key.to_owned(),
                known: known.join(", "),
            }),
            None => Ok(()),
        }
    }

    fn wrong_type(key: &str, expected: &'static str, found: &SettingValue) -> RegistryError {
        RegistryError::SettingType {
            key: key.to_owned(),
            expected,
            found: found.kind(),
        }
    }

    /// The text of `key`; `None` when not set, an error when it is not text.
    pub fn text(&self, key: &str) -> Result<Option<&str>, RegistryError> {
        match self.get(key) {
            None => Ok(None),
            Some(SettingValue::Text(t)) => Ok(Some(t)),
            Some(other) => Err(Self::wrong_type(key, "text", other)),
        }
    }

    /// The integer of `key`; `None` when not set, an error when it is not an integer.
    pub fn integer(&self, key: &str) -> Result<Option<i64>, RegistryError> {
        match self.get(key) {
            None => Ok(None),
            Some(SettingValue::Integer(i)) => Ok(Some(*i)),
            Some(other) => Err(Self::wrong_type(key, "an integer", other)),
        }
    }

    /// The boolean of `key`; `false` when not set, an error when it is not a boolean.
    pub fn flag(&self, key: &str) -> Result<bool, RegistryError> {
        match self.get(key) {
            None => Ok(false),
            Some(SettingValue::Bool(b)) => Ok(*b),
            Some(other) => Err(Self::wrong_type(key, "a boolean", other)),
        }
    }

    /// The texts of `key`, a list of text (a single text counts as a list of one); empty when
    /// not set.
    pub fn texts(&self, key: &str) -> Result<Vec<&str>, RegistryError> {
        match self.get(key) {
            None => Ok(Vec::new()),
            Some(SettingValue::Text(t)) => Ok(vec![t.as_str()]),
            Some(SettingValue::List(items)) => items
                .iter()
                .map(|v| match v {
                    SettingValue::Text(t) => Ok(t.as_str()),
                    other => Err(Self::wrong_type(key, "a list of text", other)),
                })
                .collect(),
            Some(other) => Err(Self::wrong_type(key, "a list of text", other)),
        }
    }

    /// The secret of `key`; `None` when not set, an error when it is not a secret.
    pub fn secret(&self, key: &str) -> Result<Option<&[u8]>, RegistryError> {
        match self.get(key) {
            None => Ok(None),
            Some(SettingValue::Secret(s)) => Ok(Some(s.as_slice())),
            Some(other) => Err(Self::wrong_type(key, "a secret", other)),
        }
    }

    /// The key object of `key` (see [`SettingValue::Key`]); `None` when not set, an error
    /// when it is something else.
    pub fn key(&self, key: &str) -> Result<Option<&Arc<dyn PrivateKey>>, RegistryError> {
        match self.get(key) {
            None => Ok(None),
            Some(SettingValue::Key(k)) => Ok(Some(k)),
            Some(other) => Err(Self::wrong_type(key, "a key", other)),
        }
    }

    /// The nested section `key`; `None` when not set, an error when it is not a table.
    pub fn table(&self, key: &str) -> Result<Option<&Settings>, RegistryError> {
        match self.get(key) {
            None => Ok(None),
            Some(SettingValue::Table(t)) => Ok(Some(t)),
            Some(other) => Err(Self::wrong_type(key, "a table", other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_reads_and_their_errors() {
        let s = Settings::new()
            .with("name", "x")
            .with("n", 3i64)
            .with("on", true)
            .with("crls", vec!["a.pem", "b.pem"]);
        assert_eq!(s.text("name"), Ok(Some("x")));
        assert_eq!(s.integer("n"), Ok(Some(3)));
        assert_eq!(s.flag("on"), Ok(true));
        assert_eq!(s.flag("off"), Ok(false));
        assert_eq!(s.texts("crls"), Ok(vec!["a.pem", "b.pem"]));
        assert_eq!(s.texts("name"), Ok(vec!["x"]));
        assert_eq!(
            s.text("n").map_err(|e| e.to_string()),
            Err("setting n: expected text, found an integer".to_owned())
        );
        assert_eq!(
            s.check_known("http", &["name", "n", "on"])
                .map_err(|e| e.to_string()),
            Err("http: unknown setting crls (known: name, n, on)".to_owned())
        );
        assert_eq!(s.check_known("http", &["name", "n", "on", "crls"]), Ok(()));
        let s = Settings::new().with("keypass", SettingValue::Secret(b"s3cret".to_vec().into()));
        assert_eq!(s.secret("keypass"), Ok(Some(&b"s3cret"[..])));
        assert_eq!(
            format!("{s:?}"),
            "Settings { values: {\"keypass\": Secret(<hidden>)} }"
        );
    }
}
