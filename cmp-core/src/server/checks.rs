//! The header checks of a request: protection, recipient, pvno, messageTime, senderNonce.

use std::time::{Duration, SystemTime};

use rasn_pkix::GeneralName;

use super::config::{MacDerivation, ServerConfig};
use crate::asn1::{
    CmpCertificate, FailureBit, PVNO_CMP2000, PVNO_CMP2021, PkiHeader, ReceivedMessage,
    format_unix, is_null_dn,
};
use crate::crypto::PathPolicy;
use crate::error::ProtectionError;
use crate::names::{format_name, names_equal};
use crate::protection::{
    MacKey, MacKeyDerivation, ProtectionAlg, SignerError, SignerTrust, verify_signer,
};

/// Why a request is refused: the failInfo bit the client gets and the reason, which goes into
/// the response's text and the audit log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The failInfo bit.
    pub fail_info: FailureBit,
    /// Why, in words.
    pub reason: String,
}

impl Refusal {
    /// A refusal with `fail_info` and `reason`.
    pub fn new(fail_info: FailureBit, reason: impl Into<String>) -> Self {
        Refusal {
            fail_info,
            reason: reason.into(),
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.fail_info, self.reason)
    }
}

/// How a request was authenticated.
#[derive(Clone)]
pub(crate) enum Auth {
    /// A MAC with the secret of `reference`; responses are protected with the same key.
    Mac { reference: Vec<u8>, key: MacKey },
    /// A signature by `signer`, which chains to the client anchors.
    Signature { signer: Box<CmpCertificate> },
    /// Unprotected, and the configuration accepts that.
    Unprotected,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::Mac { .. } => f.write_str("Mac"),
            Auth::Signature { signer } => write!(f, "Signature({})", format_name(signer.subject())),
            Auth::Unprotected => f.write_str("Unprotected"),
        }
    }
}

/// What the protection check found.
#[derive(Debug)]
pub(crate) enum Protection {
    /// The request is authenticated (or accepted unprotected).
    Checked(Auth),
    /// A MAC whose key is to be derived (a [`MacDerivation::Step`]) before it is checked.
    Derive {
        reference: Vec<u8>,
        derivation: MacKeyDerivation,
    },
}

/// Checks a request's MAC with the derived `key` of `reference`.
pub(crate) fn check_mac(
    rcv: &ReceivedMessage,
    reference: Vec<u8>,
    key: MacKey,
) -> Result<Auth, Refusal> {
    key.verify(rcv).map_err(protection_refusal)?;
    Ok(Auth::Mac { reference, key })
}

pub(crate) fn protection_refusal(e: ProtectionError) -> Refusal {
    match e {
        ProtectionError::UnsupportedAlgorithm(_) => Refusal::new(FailureBit::BadAlg, e.to_string()),
        other => Refusal::new(FailureBit::BadMessageCheck, other.to_string()),
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Checks the protection: a MAC with the secret of senderKID within the MAC limits (or the
/// derivation of its key, to be done first), or a signature by a certificate that chains to
/// the client anchors (or the CA) and whose subject is the sender.
pub(crate) fn check_protection(
    config: &ServerConfig,
    rcv: &ReceivedMessage,
    now: SystemTime,
) -> Result<Protection, Refusal> {
    let msg = rcv.message();
    let Some(alg_id) = &msg.header.protection_alg else {
        if msg.protection.is_some() {
            return Err(protection_refusal(ProtectionError::Inconsistent));
        }
        return if config.accept_unprotected {
            Ok(Protection::Checked(Auth::Unprotected))
        } else {
            Err(Refusal::new(
                FailureBit::BadMessageCheck,
                "the request is not protected",
            ))
        };
    };
    let alg = ProtectionAlg::parse(alg_id, &config.mac_limits).map_err(protection_refusal)?;
    let primitives = config.primitives.as_ref();
    if let ProtectionAlg::Signature(_) = alg {
        let anchors: Vec<CmpCertificate> = config
            .client_anchors
            .iter()
            .chain(&config.ca_certs)
            .cloned()
            .collect();
        let policy = PathPolicy::default();
        let trust = SignerTrust {
            untrusted: &config.untrusted,
            anchors: &anchors,
            ignore_keyusage: false,
            policy: &policy,
            validated: None,
        };
        let signer = match verify_signer(rcv, trust, primitives, config.paths.as_ref(), now) {
            Ok(signer) => signer.clone(),
            Err(SignerError::SenderNotNamed) => {
                return Err(Refusal::new(
                    FailureBit::BadMessageCheck,
                    "the request is signed, but its sender is not a name (a directoryName other than the NULL-DN)",
                ));
            }
            Err(SignerError::NotValidNow {
                subject,
                not_before,
                not_after,
            }) => {
                return Err(Refusal::new(
                    FailureBit::SignerNotTrusted,
                    format!(
                        "the signer {subject} is not valid now (valid from {} to {})",
                        format_unix(not_before),
                        format_unix(not_after)
                    ),
                ));
            }
            Err(SignerError::NoSigner) => {
                return Err(Refusal::new(
                    FailureBit::BadMessageCheck,
                    format!(
                        "no certificate in extraCerts matches the sender and senderKID {}",
                        msg.header
                            .sender_kid
                            .as_deref()
                            .map_or_else(|| "absent".to_owned(), hex)
                    ),
                ));
            }
            Err(SignerError::KeyUsage(subject)) => {
                return Err(Refusal::new(
                    FailureBit::BadMessageCheck,
                    format!("the signer {subject} does not allow digitalSignature (keyUsage)"),
                ));
            }
            Err(SignerError::Signature(e)) => return Err(protection_refusal(e)),
            Err(SignerError::Path { signer, error, .. }) => {
                return Err(Refusal::new(
                    FailureBit::SignerNotTrusted,
                    format!(
                        "the signer {} is not trusted: {error}",
                        format_name(signer.subject())
                    ),
                ));
            }
        };
        // verify_signer only accepts a signer whose subject is the sender's name.
        return Ok(Protection::Checked(Auth::Signature {
            signer: Box::new(signer),
        }));
    }
    let Some(reference) = msg.header.sender_kid.as_deref() else {
        return Err(Refusal::new(
            FailureBit::BadMessageCheck,
            "the request is MAC-protected but carries no senderKID",
        ));
    };
    let Some(secret) = config.secrets.get(reference) else {
        return Err(Refusal::new(
            FailureBit::BadMessageCheck,
            "the senderKID names no known shared secret",
        ));
    };
    // No work for a MAC that is not there.
    if msg.protection.is_none() {
        return Err(protection_refusal(ProtectionError::Inconsistent));
    }
    let derivation = MacKeyDerivation::new(
        alg_id,
        &config.mac_limits,
        secret,
        config.primitives.clone(),
    )
    .map_err(protection_refusal)?;
    match config.mac_derivation {
        MacDerivation::Step => Ok(Protection::Derive {
            reference: reference.to_vec(),
            derivation,
        }),
        _ => {
            let key = derivation.derive().map_err(protection_refusal)?;
            check_mac(rcv, reference.to_vec(), key).map(Protection::Checked)
        }
    }
}

/// The recipient must be the NULL-DN, our name, the name of one of our certificates, or, for
/// a signed request, the issuer of the signer's certificate (what OpenSSL's client sends by
/// default when it signs with `-cert`, e.g. a vendor CA in a 3GPP-style ir).
pub(crate) fn check_recipient(
    config: &ServerConfig,
    header: &PkiHeader,
    auth: &Auth,
) -> Result<(), Refusal> {
    if is_null_dn(&header.recipient) {
        return Ok(());
    }
    let ours = match &header.recipient {
        GeneralName::DirectoryName(n) => {
            names_equal(n, &config.name)
                || config.ca_certs.iter().any(|c| names_equal(n, c.subject()))
                || config
                    .signer
                    .as_ref()
                    .is_some_and(|s| names_equal(n, s.cert.subject()))
                || matches!(auth, Auth::Signature { signer } if names_equal(n, signer.issuer()))
        }
        _ => false,
    };
    if ours {
        Ok(())
    } else {
        Err(Refusal::new(
            FailureBit::WrongAuthority,
            format!(
                "the request is addressed to {}, not to this CA",
                crate::names::format_general_name(&header.recipient)
            ),
        ))
    }
}

/// pvno 2 or 3.
pub(crate) fn check_pvno(header: &PkiHeader) -> Result<(), Refusal> {
    if header.pvno == PVNO_CMP2000 || header.pvno == PVNO_CMP2021 {
        Ok(())
    } else {
        Err(Refusal::new(
            FailureBit::UnsupportedVersion,
            format!("pvno {} is not supported (2 or 3)", header.pvno),
        ))
    }
}

/// The seconds since the Unix epoch of a GeneralizedTime, if after the epoch.
pub(crate) fn system_time(t: &chrono::DateTime<chrono::FixedOffset>) -> Option<SystemTime> {
    let secs = u64::try_from(t.timestamp()).ok()?;
    SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(secs))
}

/// messageTime, when present, within the configured skew of `now`.
pub(crate) fn check_message_time(
    config: &ServerConfig,
    header: &PkiHeader,
    now: SystemTime,
) -> Result<(), Refusal> {
    let (Some(skew), Some(time)) = (config.max_time_skew, &header.message_time) else {
        return Ok(());
    };
    let within = system_time(time).is_some_and(|t| {
        let distance = t
            .duration_since(now)
            .or_else(|_| now.duration_since(t))
            .unwrap_or(Duration::MAX);
        distance <= skew
    });
    if within {
        Ok(())
    } else {
        Err(Refusal::new(
            FailureBit::BadTime,
            format!(
                "messageTime {} is more than {} s away from the server's time",
                time.format("%Y-%m-%d %H:%M:%SZ"),
                skew.as_secs()
            ),
        ))
    }
}

/// The shortest senderNonce accepted (RFC 9483 §3.1: 128 bits).
pub(crate) const MIN_NONCE_LEN: usize = 16;

/// senderNonce present and at least 128 bits.
pub(crate) fn check_sender_nonce(header: &PkiHeader) -> Result<(), Refusal> {
    match header.sender_nonce.as_deref() {
        Some(n) if n.len() >= MIN_NONCE_LEN => Ok(()),
        Some(n) => Err(Refusal::new(
            FailureBit::BadSenderNonce,
            format!(
                "senderNonce has {} bytes, fewer than {MIN_NONCE_LEN}",
                n.len()
            ),
        )),
        None => Err(Refusal::new(
            FailureBit::BadSenderNonce,
            "senderNonce is missing",
        )),
    }
}
