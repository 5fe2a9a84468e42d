//! PKCS#11 URIs (RFC 7512): `pkcs11:token=dev;object=device-key?pin-source=file:/run/pin`.

use std::fmt;
use std::path::PathBuf;

use cmp_core::CryptoError;

/// The parts of a PKCS#11 URI this backend uses.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Pkcs11Uri {
    /// `token`: the token label.
    pub token: Option<String>,
    /// `object`: the key label.
    pub object: Option<String>,
    /// `id`: the key's CKA_ID.
    pub id: Option<Vec<u8>>,
    /// `module-path`: the PKCS#11 library.
    pub module_path: Option<PathBuf>,
    /// `pin-source`: where the PIN is (`file:/path` or a plain path, or `env:VAR`).
    pub pin_source: Option<String>,
}

impl fmt::Debug for Pkcs11Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_string())
    }
}

/// The error for `uri`, quoted without any `pin-value` (a PIN never reaches a log).
fn invalid(uri: &str, why: impl fmt::Display) -> CryptoError {
    let shown = match uri.split_once('?') {
        Some((path, query)) => {
            let query: Vec<&str> = query
                .split('&')
                .map(|a| {
                    if a.starts_with("pin-value=") {
                        "pin-value=…"
                    } else {
                        a
                    }
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => uri.to_owned(),
    };
    CryptoError::InvalidKey(format!("PKCS#11 URI {shown:?}: {why}"))
}

fn percent_decode(uri: &str, s: &str) -> Result<Vec<u8>, CryptoError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .ok_or_else(|| invalid(uri, "a % escape is cut short"))?;
            out.push(
                u8::from_str_radix(hex, 16)
                    .map_err(|_| invalid(uri, format!("%{hex} is not a hex escape")))?,
            );
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Ok(out)
}

fn percent_encode(bytes: &[u8], all: bool) -> String {
    bytes
        .iter()
        .map(|b| {
            if !all && (b.is_ascii_alphanumeric() || b"-._~/".contains(b)) {
                char::from(*b).to_string()
            } else {
                format!("%{b:02x}")
            }
        })
        .collect()
}

impl std::str::FromStr for Pkcs11Uri {
    type Err = CryptoError;

    fn from_str(uri: &str) -> Result<Self, CryptoError> {
        let rest = uri
            .strip_prefix("pkcs11:")
            .ok_or_else(|| invalid(uri, "does not start with pkcs11:"))?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let text = |v: &str| -> Result<String, CryptoError> {
            String::from_utf8(percent_decode(uri, v)?).map_err(|_| invalid(uri, "not UTF-8"))
        };
        let mut out = Pkcs11Uri::default();
        for attr in path.split(';').filter(|a| !a.is_empty()) {
            let (k, v) = attr
                .split_once('=')
                .ok_or_else(|| invalid(uri, format!("{attr:?} is not NAME=value")))?;
            match k {
                "token" => out.token = Some(text(v)?),
                "object" => out.object = Some(text(v)?),
                "id" => out.id = Some(percent_decode(uri, v)?),
                // The key pair is found by its private key whatever the type names.
                "type" if matches!(v, "private" | "public" | "cert") => {}
                "type" => {
                    return Err(invalid(
                        uri,
                        format!("type={v}: this backend uses key pairs (type=private)"),
                    ));
                }
                // Other standard attributes narrow the search; they are accepted and unused.
                "manufacturer"
                | "model"
                | "serial"
                | "library-manufacturer"
                | "library-description"
                | "library-version"
                | "slot-description"
                | "slot-manufacturer"
                | "slot-id" => {}
                other => return Err(invalid(uri, format!("unknown attribute {other:?}"))),
            }
        }
        for attr in query.split('&').filter(|a| !a.is_empty()) {
            let (k, v) = attr
                .split_once('=')
                .ok_or_else(|| invalid(uri, format!("{attr:?} is not NAME=value")))?;
            match k {
                "module-path" => out.module_path = Some(PathBuf::from(text(v)?)),
                "pin-source" => out.pin_source = Some(text(v)?),
                "pin-value" => {
                    return Err(invalid(
                        uri,
                        "a PIN in clear (pin-value) is refused: use pin-source=file:PATH, \
                         pin-source=env:VAR or the PKCS11_PIN environment variable",
                    ));
                }
                "module-name" => {}
                other => return Err(invalid(uri, format!("unknown query attribute {other:?}"))),
            }
        }
        Ok(out)
    }
}

impl fmt::Display for Pkcs11Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("pkcs11:")?;
        let mut path = Vec::new();
        if let Some(t) = &self.token {
            path.push(format!("token={}", percent_encode(t.as_bytes(), false)));
        }
        if let Some(o) = &self.object {
            path.push(format!("object={}", percent_encode(o.as_bytes(), false)));
        }
        if let Some(id) = &self.id {
            path.push(format!("id={}", percent_encode(id, true)));
        }
        path.push("type=private".into());
        f.write_str(&path.join(";"))?;
        let mut query = Vec::new();
        if let Some(m) = &self.module_path {
            query.push(format!(
                "module-path={}",
                percent_encode(m.to_string_lossy().as_bytes(), false)
            ));
        }
        if let Some(p) = &self.pin_source {
            query.push(format!(
                "pin-source={}",
                percent_encode(p.as_bytes(), false)
            ));
        }
        if !query.is_empty() {
            write!(f, "?{}", query.join("&"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        let u: Pkcs11Uri = "pkcs11:token=my%20dev;object=device-key;id=%01%ff;type=private?pin-source=file:/run/pin&module-path=/usr/lib/softhsm/libsofthsm2.so"
            .parse()
            .expect("parses");
        assert_eq!(u.token.as_deref(), Some("my dev"));
        assert_eq!(u.object.as_deref(), Some("device-key"));
        assert_eq!(u.id.as_deref(), Some(&[1u8, 0xff][..]));
        assert_eq!(u.pin_source.as_deref(), Some("file:/run/pin"));
        let again: Pkcs11Uri = u.to_string().parse().expect("reparses");
        assert_eq!(again, u);
    }

    #[test]
    fn refuses_a_pin_in_clear_and_unknown_attributes() {
        let e = "pkcs11:token=a?pin-value=1234"
            .parse::<Pkcs11Uri>()
            .expect_err("clear PIN");
        assert_eq!(
            e.to_string(),
            "invalid key: PKCS#11 URI \"pkcs11:token=a?pin-value=…\": a PIN in clear (pin-value) is refused: use pin-source=file:PATH, pin-source=env:VAR or the PKCS11_PIN environment variable"
        );
        let e = "pkcs11:token=a;type=secret-key"
            .parse::<Pkcs11Uri>()
            .expect_err("secret key");
        assert_eq!(
            e.to_string(),
            "invalid key: PKCS#11 URI \"pkcs11:token=a;type=secret-key\": type=secret-key: this backend uses key pairs (type=private)"
        );
        let e = "pkcs11:tokn=a".parse::<Pkcs11Uri>().expect_err("typo");
        assert_eq!(
            e.to_string(),
            "invalid key: PKCS#11 URI \"pkcs11:tokn=a\": unknown attribute \"tokn\""
        );
    }
}
