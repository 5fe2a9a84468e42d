//! The daemon's configuration: the `[daemon]` section and the `[[certificate]]` tables of the
//! agent's TOML file (CMP_AGENT_DAEMON__* variables override the section's keys).

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// When to renew: a share of the certificate's lifetime, or a fixed time before it ends.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum RenewBefore {
    /// Renew when less than this share (0 < p < 1) of the lifetime remains.
    Fraction(f64),
    /// Renew when less than this remains.
    Remaining(Duration),
}

impl RenewBefore {
    /// `"33%"`, or a duration (`"30d"`, `"12h"`, `"90s"`, …).
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        if let Some(p) = text.trim().strip_suffix('%') {
            let v: f64 = p
                .trim()
                .parse()
                .map_err(|_| format!("{text:?}: expected a percentage such as \"33%\""))?;
            if !(v > 0.0 && v < 100.0) {
                return Err(format!(
                    "{text:?}: the percentage must be above 0 and below 100"
                ));
            }
            return Ok(RenewBefore::Fraction(v / 100.0));
        }
        parse_duration(text).map(RenewBefore::Remaining)
    }

    /// How long before `not_after` renewal is due, for a certificate valid `lifetime`.
    pub(crate) fn lead(self, lifetime: Duration) -> Duration {
        match self {
            RenewBefore::Fraction(f) => lifetime.mul_f64(f),
            RenewBefore::Remaining(d) => d.min(lifetime),
        }
    }
}

/// A duration: a whole number followed by `s`, `m`, `h` or `d` (a bare number is seconds).
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (num, unit) = match t.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => t.split_at(i),
        None => (t, "s"),
    };
    let n: u64 = num.parse().map_err(|_| {
        format!("{text:?}: expected a duration such as \"90s\", \"15m\", \"12h\" or \"30d\"")
    })?;
    let mult = match unit.trim() {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        other => {
            return Err(format!(
                "{text:?}: unknown unit {other:?} (use s, m, h or d)"
            ));
        }
    };
    n.checked_mul(mult)
        .filter(|&s| s <= 100 * 365 * 86_400)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{text:?}: longer than 100 years"))
}

/// A daily time window, in UTC: `"02:00-04:30"` (it may pass midnight: `"23:00-01:00"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Window {
    /// Start, seconds after midnight UTC.
    pub(crate) start: u32,
    /// End, seconds after midnight UTC.
    pub(crate) end: u32,
}

impl Window {
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let bad = || format!("{text:?}: expected a daily window in UTC such as \"02:00-04:00\"");
        let hm = |s: &str| -> Result<u32, String> {
            let (h, m) = s.trim().split_once(':').ok_or_else(bad)?;
            let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
            if h > 23 || m > 59 {
                return Err(bad());
            }
            Ok(h * 3600 + m * 60)
        };
        let (a, b) = text.split_once('-').ok_or_else(bad)?;
        let w = Window {
            start: hm(a)?,
            end: hm(b)?,
        };
        if w.start == w.end {
            return Err(format!("{text:?}: the window is empty"));
        }
        Ok(w)
    }

    /// The window's length in seconds.
    pub(crate) fn len(self) -> u32 {
        (self.end + 86_400 - self.start) % 86_400
    }

    /// The first time at or after `t` (Unix seconds) inside the window.
    pub(crate) fn next_open(self, t: i64) -> i64 {
        let day = t.div_euclid(86_400) * 86_400;
        let sec = u32::try_from(t.rem_euclid(86_400)).unwrap_or(0);
        let inside = (sec + 86_400 - self.start) % 86_400 < self.len();
        if inside {
            return t;
        }
        let start = day + i64::from(self.start);
        if start >= t { start } else { start + 86_400 }
    }
}

/// The `[daemon]` section as written.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DaemonSection {
    pub(crate) state_dir: Option<PathBuf>,
    #[serde(default)]
    pub(crate) servers: Vec<String>,
    pub(crate) renew_before: Option<String>,
    pub(crate) jitter: Option<String>,
    pub(crate) window: Option<String>,
    pub(crate) retry_min: Option<String>,
    pub(crate) retry_max: Option<String>,
    pub(crate) check_interval: Option<String>,
    pub(crate) msg_timeout: Option<u64>,
    pub(crate) total_timeout: Option<u64>,
    #[serde(default)]
    pub(crate) hook: Vec<String>,
    pub(crate) hook_timeout: Option<String>,
    pub(crate) stop_timeout: Option<String>,
    pub(crate) trust_refresh: Option<String>,
    #[serde(default)]
    pub(crate) crl_refresh: bool,
    pub(crate) clock_from_ca: Option<String>,
}

/// One `[[certificate]]` as written.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CertificateSection {
    pub(crate) name: String,
    pub(crate) subject: Option<String>,
    pub(crate) sans: Option<String>,
    pub(crate) key_type: Option<String>,
    /// `pkcs11:token=…` (module and PIN as for `--key`: `module-path`/`PKCS11_MODULE`,
    /// `pin-source`/`PKCS11_PIN`): every new key is generated in this token.
    pub(crate) key_store: Option<String>,
    pub(crate) days: Option<u32>,
    pub(crate) validity: Option<String>,
    pub(crate) secret: Option<String>,
    #[serde(rename = "ref")]
    pub(crate) reference: Option<String>,
    pub(crate) vendor_cert: Option<PathBuf>,
    pub(crate) vendor_key: Option<String>,
    pub(crate) trusted: Option<PathBuf>,
    pub(crate) srvcert: Option<PathBuf>,
    pub(crate) recipient: Option<String>,
    #[serde(default)]
    pub(crate) implicit_confirm: bool,
    #[serde(default)]
    pub(crate) pbmac1: bool,
}

/// The file's daemon parts.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct DaemonFile {
    #[serde(default)]
    pub(crate) daemon: DaemonSection,
    #[serde(default)]
    pub(crate) certificate: Vec<CertificateSection>,
}

/// One certificate to keep valid, checked.
#[derive(Clone, Debug)]
pub(crate) struct CertificateConfig {
    pub(crate) section: CertificateSection,
    pub(crate) name: cmp_core::storage::IdentityName,
    pub(crate) key_type: String,
    /// The token new keys are generated in (a `pkcs11:` URI without `object`/`id`), or
    /// `None` for software keys in the state directory.
    pub(crate) key_store: Option<String>,
    /// The requested validity (`validity`, else `days`), if any.
    pub(crate) validity: Option<Duration>,
}

/// The daemon's configuration, checked.
#[derive(Clone, Debug)]
pub(crate) struct DaemonConfig {
    pub(crate) state_dir: PathBuf,
    pub(crate) servers: Vec<String>,
    pub(crate) renew_before: RenewBefore,
    pub(crate) jitter: Duration,
    pub(crate) window: Option<Window>,
    pub(crate) retry_min: Duration,
    pub(crate) retry_max: Duration,
    pub(crate) check_interval: Duration,
    pub(crate) msg_timeout: u64,
    pub(crate) total_timeout: u64,
    pub(crate) hook: Vec<String>,
    pub(crate) hook_timeout: Duration,
    pub(crate) stop_timeout: Duration,
    /// How often the CA certificates and a root update are asked for (also before each
    /// renewal).
    pub(crate) trust_refresh: Duration,
    /// Whether each trust refresh also asks for the CRLs (genm crlStatusList) of the anchors
    /// and of the installed chains' CAs, kept in the store and checked against the CA's
    /// signer (as `--crls` with `--crl-check`).
    pub(crate) crl_refresh: bool,
    /// When the system clock is not sane, take the CA's authenticated messageTime if it is
    /// no later than the build time plus this (off when `None`).
    pub(crate) clock_from_ca: Option<Duration>,
    pub(crate) certificates: Vec<CertificateConfig>,
}

/// Checks a `key_store`: a `pkcs11:` URI naming a token, not a key (the daemon names each
/// new key itself).
fn check_key_store(uri: &str) -> Result<String, String> {
    let Some(rest) = uri.strip_prefix("pkcs11:") else {
        return Err(format!(
            "{uri:?} is not a key store (give pkcs11:token=LABEL?module-path=…&pin-source=file:…)"
        ));
    };
    let path = rest.split('?').next().unwrap_or_default();
    let attrs: Vec<&str> = path
        .split(';')
        .map(|a| a.split('=').next().unwrap_or_default())
        .collect();
    if attrs.iter().any(|a| *a == "object" || *a == "id") {
        return Err(
            "name the token only (token=…): the daemon labels each new key itself (NAME-TIME)"
                .into(),
        );
    }
    if !attrs.contains(&"token") {
        return Err("the pkcs11: URI must name the token (token=LABEL)".into());
    }
    Ok(uri.to_owned())
}

/// The default state directory (systemd's StateDirectory=cmp-agent).
pub(crate) const DEFAULT_STATE_DIR: &str = "/var/lib/cmp-agent";

/// The most certificates one daemon keeps.
const MAX_CERTIFICATES: usize = 256;

fn dur(key: &str, v: &Option<String>, default: Duration) -> Result<Duration, String> {
    match v {
        None => Ok(default),
        Some(t) => parse_duration(t).map_err(|e| format!("key daemon.{key}: {e}")),
    }
}

impl DaemonConfig {
    /// Checks the sections; `state_dir` (a flag) overrides the key. Errors name the key.
    pub(crate) fn from_file(file: DaemonFile, state_dir: Option<PathBuf>) -> Result<Self, String> {
        let d = file.daemon;
        let renew_before = match &d.renew_before {
            None => RenewBefore::Fraction(0.33),
            Some(t) => {
                RenewBefore::parse(t).map_err(|e| format!("key daemon.renew_before: {e}"))?
            }
        };
        let window = d
            .window
            .as_deref()
            .map(Window::parse)
            .transpose()
            .map_err(|e| format!("key daemon.window: {e}"))?;
        let retry_min = dur("retry_min", &d.retry_min, Duration::from_secs(30))?;
        let retry_max = dur("retry_max", &d.retry_max, Duration::from_secs(6 * 3600))?;
        if retry_min.is_zero() || retry_max < retry_min {
            return Err("key daemon.retry_max: must be at least daemon.retry_min (above 0)".into());
        }
        for s in &d.servers {
            if !s.contains("://") {
                return Err(format!(
                    "key daemon.servers: {s:?} is not a URL (http://…, tcp://…)"
                ));
            }
        }
        if file.certificate.len() > MAX_CERTIFICATES {
            return Err(format!(
                "key certificate: more than {MAX_CERTIFICATES} certificates"
            ));
        }
        let mut certificates = Vec::new();
        for (i, c) in file.certificate.into_iter().enumerate() {
            let at = |k: &str| format!("key certificate[{i}].{k}");
            let name = cmp_core::storage::IdentityName::new(&c.name)
                .map_err(|e| format!("{}: {e}", at("name")))?;
            if certificates
                .iter()
                .any(|o: &CertificateConfig| o.name == name)
            {
                return Err(format!("{}: {name} is configured twice", at("name")));
            }
            let mac = c.secret.is_some() || c.reference.is_some();
            if mac && (c.secret.is_none() || c.reference.is_none()) {
                return Err(format!("{}: secret and ref go together", at("secret")));
            }
            if let Some(src) = &c.secret {
                // Never echo the value: it may be the secret itself, written without `pass:`.
                if src.parse::<crate::secret::SecretSource>().is_err() {
                    return Err(format!(
                        "{}: not a secret source (give pass:TEXT, env:VAR or file:PATH)",
                        at("secret")
                    ));
                }
            }
            if c.vendor_cert.is_some() != c.vendor_key.is_some() {
                return Err(format!(
                    "{}: vendor_cert and vendor_key go together",
                    at("vendor_cert")
                ));
            }
            if !mac && c.vendor_cert.is_none() {
                return Err(format!(
                    "{}: give the first enrollment's credential: secret and ref (PBM), or vendor_cert and vendor_key",
                    at("secret")
                ));
            }
            if c.subject.is_none() && c.sans.is_none() {
                return Err(format!("{}: give subject or sans", at("subject")));
            }
            let validity = match (&c.validity, c.days) {
                (Some(v), _) => {
                    Some(parse_duration(v).map_err(|e| format!("{}: {e}", at("validity")))?)
                }
                (None, Some(days)) => Some(Duration::from_secs(u64::from(days) * 86_400)),
                (None, None) => None,
            };
            let key_store = c
                .key_store
                .as_deref()
                .map(check_key_store)
                .transpose()
                .map_err(|e| format!("{}: {e}", at("key_store")))?;
            certificates.push(CertificateConfig {
                key_store,
                key_type: c.key_type.clone().unwrap_or_else(|| "ec:P-256".into()),
                name,
                validity,
                section: c,
            });
        }
        Ok(DaemonConfig {
            state_dir: state_dir
                .or(d.state_dir)
                .unwrap_or_else(|| PathBuf::from(DEFAULT_STATE_DIR)),
            servers: d.servers,
            renew_before,
            jitter: dur("jitter", &d.jitter, Duration::from_secs(0))?,
            window,
            retry_min,
            retry_max,
            check_interval: dur(
                "check_interval",
                &d.check_interval,
                Duration::from_secs(3600),
            )?
            .max(Duration::from_secs(1)),
            msg_timeout: d.msg_timeout.unwrap_or(60).max(1),
            total_timeout: d.total_timeout.unwrap_or(600),
            hook: d.hook,
            hook_timeout: dur("hook_timeout", &d.hook_timeout, Duration::from_secs(60))?,
            stop_timeout: dur("stop_timeout", &d.stop_timeout, Duration::from_secs(20))?,
            trust_refresh: dur(
                "trust_refresh",
                &d.trust_refresh,
                Duration::from_secs(86_400),
            )?
            .max(Duration::from_secs(1)),
            crl_refresh: d.crl_refresh,
            clock_from_ca: d
                .clock_from_ca
                .as_deref()
                .map(parse_duration)
                .transpose()
                .map_err(|e| format!("key daemon.clock_from_ca: {e}"))?,
            certificates,
        })
    }

    /// Whether there is anything to run.
    pub(crate) fn check_runnable(&self) -> Result<(), String> {
        if self.servers.is_empty() {
            return Err("key daemon.servers: give at least one CA URL".into());
        }
        if self.certificates.is_empty() {
            return Err("no [[certificate]] is configured".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_thresholds() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("2d"), Ok(Duration::from_secs(172_800)));
        assert_eq!(
            parse_duration("3w"),
            Err("\"3w\": unknown unit \"w\" (use s, m, h or d)".into())
        );
        assert_eq!(RenewBefore::parse("33%"), Ok(RenewBefore::Fraction(0.33)));
        assert_eq!(
            RenewBefore::parse("100%"),
            Err("\"100%\": the percentage must be above 0 and below 100".into())
        );
        let year = Duration::from_secs(365 * 86_400);
        assert_eq!(RenewBefore::Fraction(0.5).lead(year), year / 2);
        assert_eq!(
            RenewBefore::Remaining(Duration::from_secs(10)).lead(year),
            Duration::from_secs(10)
        );
    }

    #[test]
    fn a_key_store_names_a_token_and_no_key() {
        let ok = "pkcs11:token=dev?module-path=/m.so&pin-source=file:/p";
        assert_eq!(check_key_store(ok), Ok(ok.to_owned()));
        assert_eq!(
            check_key_store("pkcs11:token=dev;id=%01"),
            Err(
                "name the token only (token=…): the daemon labels each new key itself (NAME-TIME)"
                    .into()
            )
        );
        assert_eq!(
            check_key_store("pkcs11:manufacturer=x?pin-source=file:/p"),
            Err("the pkcs11: URI must name the token (token=LABEL)".into())
        );
        assert_eq!(
            check_key_store("file:/keys"),
            Err("\"file:/keys\" is not a key store (give pkcs11:token=LABEL?module-path=…&pin-source=file:…)".into())
        );
    }

    #[test]
    fn windows() {
        let w = Window::parse("02:00-04:00").expect("window");
        assert_eq!((w.start, w.end, w.len()), (7200, 14_400, 7200));
        let day = 20_000 * 86_400;
        assert_eq!(w.next_open(day + 3 * 3600), day + 3 * 3600);
        assert_eq!(w.next_open(day + 3600), day + 7200);
        assert_eq!(w.next_open(day + 5 * 3600), day + 86_400 + 7200);
        let night = Window::parse("23:00-01:00").expect("window");
        assert_eq!(night.next_open(day + 30), day + 30);
        assert_eq!(night.next_open(day + 12 * 3600), day + 23 * 3600);
        assert!(Window::parse("25:00-01:00").is_err());
        assert_eq!(
            Window::parse("01:00-01:00"),
            Err("\"01:00-01:00\": the window is empty".into())
        );
    }
}
