//! Secret sources, as `openssl` names them: `pass:TEXT`, `env:VAR`, `file:PATH` — one parser
//! for every binary of the workspace (agent, server, load generator).
//!
//! A secret never has to appear on a command line or in a config file in clear: `env:` and
//! `file:` read it from the environment or from a file (the first line, without its line
//! ending, as openssl does).

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use zeroize::Zeroizing;

/// Where a secret comes from.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// `pass:TEXT`: the secret itself.
    Pass(Zeroizing<String>),
    /// `env:VAR`: an environment variable.
    Env(String),
    /// `file:PATH`: the first line of a file.
    File(PathBuf),
}

impl fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretSource::Pass(_) => f.write_str("pass:<hidden>"),
            SecretSource::Env(v) => write!(f, "env:{v}"),
            SecretSource::File(p) => write!(f, "file:{}", p.display()),
        }
    }
}

/// Why a secret could not be had.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    /// Not `pass:`, `env:` or `file:`.
    #[error("a secret is given as pass:TEXT, env:VAR or file:PATH, not {0:?}")]
    Syntax(String),
    /// The variable is not set (or not UTF-8).
    #[error("env:{0}: the environment variable {0} is not set")]
    EnvUnset(String),
    /// The file cannot be read.
    #[error("file:{path}: {reason}")]
    File {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The secret is empty.
    #[error("the secret from {0} is empty")]
    Empty(String),
}

impl FromStr for SecretSource {
    type Err = SecretError;

    fn from_str(s: &str) -> Result<Self, SecretError> {
        if let Some(v) = s.strip_prefix("pass:") {
            Ok(SecretSource::Pass(Zeroizing::new(v.to_owned())))
        } else if let Some(v) = s.strip_prefix("env:") {
            Ok(SecretSource::Env(v.to_owned()))
        } else if let Some(v) = s.strip_prefix("file:") {
            Ok(SecretSource::File(PathBuf::from(v)))
        } else {
            // Never echo what might be the secret itself.
            Err(SecretError::Syntax(
                s.split_once(':')
                    .map_or("<no prefix>", |(p, _)| p)
                    .to_owned()
                    + ":…",
            ))
        }
    }
}

impl SecretSource {
    /// The secret's bytes.
    pub fn read(&self) -> Result<Zeroizing<Vec<u8>>, SecretError> {
        let secret = match self {
            SecretSource::Pass(p) => Zeroizing::new(p.as_bytes().to_vec()),
            SecretSource::Env(var) => Zeroizing::new(
                std::env::var(var)
                    .map_err(|_| SecretError::EnvUnset(var.clone()))?
                    .into_bytes(),
            ),
            SecretSource::File(path) => {
                let data = Zeroizing::new(std::fs::read(path).map_err(|e| SecretError::File {
                    path: path.display().to_string(),
                    reason: e.to_string(),
                })?);
                let line = data.split(|b| *b == b'\n').next().unwrap_or_default();
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                Zeroizing::new(line.to_vec())
            }
        };
        if secret.is_empty() {
            return Err(SecretError::Empty(format!("{self:?}")));
        }
        Ok(secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_parse_and_read() {
        let pass: SecretSource = "pass:abc".parse().expect("pass");
        assert_eq!(pass.read().expect("read").as_slice(), b"abc");
        assert_eq!(format!("{pass:?}"), "pass:<hidden>");

        let dir = std::env::temp_dir().join(format!("cmp-crypto-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("secret.txt");
        std::fs::write(&file, "s3cret\r\nsecond line\n").expect("write");
        let src: SecretSource = format!("file:{}", file.display()).parse().expect("file");
        assert_eq!(src.read().expect("read").as_slice(), b"s3cret");
        let _ = std::fs::remove_dir_all(dir);

        let unset: SecretSource = "env:CMP_AGENT_SURELY_UNSET_VAR".parse().expect("env");
        assert_eq!(
            unset.read().expect_err("unset").to_string(),
            "env:CMP_AGENT_SURELY_UNSET_VAR: the environment variable CMP_AGENT_SURELY_UNSET_VAR is not set"
        );
        assert_eq!(
            "hunter2"
                .parse::<SecretSource>()
                .expect_err("syntax")
                .to_string(),
            "a secret is given as pass:TEXT, env:VAR or file:PATH, not \"<no prefix>:…\""
        );
    }
}
