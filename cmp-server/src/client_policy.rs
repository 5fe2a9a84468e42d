//! Per-client issuance policy: which reference (MAC clients) or client certificate (signing
//! clients) may request which subjects, subjectAltNames, key types and validity.

use std::time::Duration;

use cmp_core::asn1::{CmpCertificate, FailureBit};
use cmp_core::crypto::KeySpec;
use cmp_core::names::{format_general_name, format_name};
use cmp_core::server::{IssuerError, Requester};
use rasn_pkix::{GeneralNames, Name};

/// Who a [`ClientPolicy`] is for.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientMatch {
    /// MAC-protected requests with this reference (senderKID).
    Reference(Vec<u8>),
    /// Requests signed with exactly this certificate (DER).
    Certificate(Vec<u8>),
    /// Requests signed with a certificate whose subject (as `openssl` prints it with
    /// `-nameopt RFC2253`-like order, e.g. `CN=dev 1,O=Example`) matches this pattern (`*`
    /// matches any run of characters).
    SignerSubject(String),
}

/// What one client may request. A list left empty allows anything of its kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientPolicy {
    /// Whose requests this governs.
    pub client: ClientMatch,
    /// Subject patterns (`*` matches any run of characters), compared with the requested
    /// subject as [`format_name`] prints it; a request without a subject passes.
    pub subjects: Vec<String>,
    /// subjectAltName patterns as OpenSSL writes them: `DNS:*.example.com`, `IP:192.0.2.7`,
    /// `email:*@example.com`, `URI:https://*`; every requested name must match one.
    pub sans: Vec<String>,
    /// The key types allowed (`ec:P-256`, `rsa:2048`, …).
    pub key_types: Vec<KeySpec>,
    /// The longest validity granted (a longer or open request is cut to it).
    pub max_validity: Option<Duration>,
}

impl ClientPolicy {
    /// A policy for `client` that allows anything.
    pub fn new(client: ClientMatch) -> Self {
        ClientPolicy {
            client,
            subjects: Vec::new(),
            sans: Vec::new(),
            key_types: Vec::new(),
            max_validity: None,
        }
    }

    /// Whether this policy governs `requester`.
    pub fn governs(&self, requester: &Requester) -> bool {
        match (&self.client, requester) {
            (ClientMatch::Reference(r), Requester::Reference(q)) => r == q,
            (ClientMatch::Certificate(c), Requester::Certificate(q)) => c == q,
            (ClientMatch::SignerSubject(p), Requester::Certificate(q)) => {
                CmpCertificate::from_der(q).is_ok_and(|c| glob(p, &format_name(c.subject())))
            }
            _ => false,
        }
    }

    /// Checks a request's subject, subjectAltNames and key type: `notAuthorized` for a name
    /// the client may not have, `badCertTemplate` for a key type it may not use.
    pub(crate) fn check(
        &self,
        subject: &Name,
        sans: Option<&GeneralNames>,
        key: KeySpec,
    ) -> Result<(), IssuerError> {
        let Name::RdnSequence(rdns) = subject;
        if !self.subjects.is_empty() && !rdns.is_empty() {
            let s = format_name(subject);
            if !self.subjects.iter().any(|p| glob(p, &s)) {
                return Err(IssuerError::Refused {
                    fail_info: FailureBit::NotAuthorized,
                    reason: format!("this client may not request the subject {s}"),
                });
            }
        }
        if !self.sans.is_empty() {
            for name in sans.into_iter().flatten() {
                let n = format_general_name(name);
                if !self.sans.iter().any(|p| glob(p, &n)) {
                    return Err(IssuerError::Refused {
                        fail_info: FailureBit::NotAuthorized,
                        reason: format!("this client may not request the subjectAltName {n}"),
                    });
                }
            }
        }
        if !self.key_types.is_empty() && !self.key_types.contains(&key) {
            let allowed: Vec<String> = self.key_types.iter().map(ToString::to_string).collect();
            return Err(IssuerError::Refused {
                fail_info: FailureBit::BadCertTemplate,
                reason: format!(
                    "this client may not certify keys of type {key} (allowed: {})",
                    allowed.join(", ")
                ),
            });
        }
        Ok(())
    }
}

/// Whether `text` matches `pattern`, where `*` matches any run of characters (also none)
/// and everything else itself, case-sensitively. At worst the product of the lengths (no
/// exponential backtracking); names are bounded by the decode limits.
pub(crate) fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn globs() {
        assert!(glob("CN=dev-*,O=Example", "CN=dev-42,O=Example"));
        assert!(glob("*", ""));
        assert!(glob("DNS:*.example.com", "DNS:a.b.example.com"));
        assert!(!glob("DNS:*.example.com", "DNS:example.com"));
        assert!(!glob("CN=dev-*,O=Example", "CN=dev-42,O=Example,C=DE"));
        assert!(glob("a*b*c", "aXXbYYc"));
        assert!(!glob("a*b*c", "aXXbYY"));
        assert!(glob(&"*a".repeat(20), &"a".repeat(40)));
    }
}
