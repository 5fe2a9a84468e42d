//! The errors of `cmp-core`.

use std::fmt;

/// Everything that can go wrong in `cmp-core`.
///
/// Messages are written for the person who has to act on them: they say what was wrong and,
/// for input, where.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Received bytes are not a well-formed CMP message.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// A value could not be encoded (for example an empty `SEQUENCE SIZE (1..MAX)`).
    #[error("cannot encode {what}: {reason}")]
    Encode {
        /// What was being encoded.
        what: &'static str,
        /// Why it failed.
        reason: String,
    },
    /// A crypto operation failed.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// A message's protection could not be computed or did not verify.
    #[error(transparent)]
    Protection(#[from] ProtectionError),
    /// A message or value was built with content the protocol does not allow.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// What was wrong.
        what: &'static str,
        /// Why.
        reason: String,
    },
}

/// Why a crypto operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// The algorithm (or its parameters) is not supported by this backend.
    #[error("unsupported algorithm: {0}")]
    UnsupportedAlgorithm(String),
    /// A key could not be parsed or used.
    #[error("invalid key: {0}")]
    InvalidKey(String),
    /// The key cannot make or check this kind of signature.
    #[error("the key does not fit the algorithm: {0}")]
    KeyMismatch(String),
    /// The signature does not verify.
    #[error("the signature does not verify")]
    BadSignature,
    /// A certificate path does not validate.
    #[error("certificate path does not validate: {0}")]
    Path(String),
    /// The backend failed (token error, random generator failure, …).
    #[error("{backend} backend: {reason}")]
    Backend {
        /// Which backend.
        backend: String,
        /// What went wrong.
        reason: String,
    },
}

/// Why a message's protection could not be computed or checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtectionError {
    /// The message carries no protection (or no protectionAlg).
    #[error("the message is not protected")]
    Unprotected,
    /// protectionAlg is present but the protection bits are not, or the reverse.
    #[error("protectionAlg and protection must be present together")]
    Inconsistent,
    /// The protection algorithm is not supported.
    #[error("unsupported protection algorithm {0}")]
    UnsupportedAlgorithm(String),
    /// The parameters of the protection algorithm are malformed.
    #[error("malformed {alg} parameters: {reason}")]
    BadParameters {
        /// Which algorithm.
        alg: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The iteration count is outside the accepted range (refused before any work is done).
    #[error("{alg} iteration count {count} is outside the accepted range {min}..={max}")]
    IterationCount {
        /// Which algorithm.
        alg: &'static str,
        /// What the message asked for.
        count: i128,
        /// Lowest accepted.
        min: u32,
        /// Highest accepted.
        max: u32,
    },
    /// MAC-based protection needs a shared secret, signature protection a certificate.
    #[error("the message is {actual}-protected, but {expected}")]
    WrongKind {
        /// What the message uses.
        actual: &'static str,
        /// What the caller had.
        expected: &'static str,
    },
    /// The MAC does not match: wrong secret, or the message was changed.
    #[error("the MAC does not verify (wrong shared secret, or the message was altered)")]
    BadMac,
    /// The signature does not verify with the signer's key.
    #[error("the signature does not verify with the key of {signer}")]
    BadSignature {
        /// The signer's subject.
        signer: String,
    },
    /// A crypto primitive failed.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

/// Why received bytes could not be decoded; the `Display` form names the place.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input is empty.
    #[error("the input is empty")]
    Empty,
    /// The input is larger than the configured limit.
    #[error("the message is {size} bytes, more than the limit of {max} bytes")]
    TooLarge {
        /// Size of the input.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The TLV framing is broken (truncated, indefinite length, too deep).
    #[error("malformed DER at byte {offset}: {what}")]
    Framing {
        /// Byte offset of the value whose framing is wrong.
        offset: usize,
        /// What is wrong.
        what: String,
    },
    /// Bytes follow the end of the message.
    #[error("{count} byte(s) of trailing data after the message")]
    TrailingData {
        /// How many bytes follow.
        count: usize,
    },
    /// A field does not have the type or value the syntax requires.
    #[error("{path}: {what}")]
    Field {
        /// Where, e.g. `body ip: response[0]: certReqId`.
        path: String,
        /// What, e.g. `expected INTEGER, found OCTET STRING`.
        what: String,
    },
}

impl DecodeError {
    pub(crate) fn framing(offset: usize, what: impl Into<String>) -> Self {
        DecodeError::Framing {
            offset,
            what: what.into(),
        }
    }

    /// Turns a rasn decode error into a located [`DecodeError`]; `section` names the part of
    /// the message that was being decoded (`header`, `body ip`, …).
    pub(crate) fn from_rasn(section: &str, err: &rasn::error::DecodeError) -> Self {
        use rasn::error::DecodeErrorKind;
        let mut path = String::from(section);
        let mut cur = err;
        while let DecodeErrorKind::FieldError { name, nested } = &*cur.kind {
            let field = name.rsplit('.').next().unwrap_or(name);
            if !field.chars().all(|c| c.is_ascii_digit()) {
                path.push_str(": ");
                path.push_str(&asn1_field_name(field));
            }
            cur = nested;
        }
        DecodeError::Field {
            path,
            what: describe_rasn_kind(&cur.kind),
        }
    }
}

/// The ASN.1 spelling of a Rust field name (`cert_req_id` → `certReqId`).
pub(crate) fn asn1_field_name(rust: &str) -> String {
    match rust {
        "transaction_id" => return "transactionID".into(),
        "sender_kid" => return "senderKID".into(),
        "recip_kid" => return "recipKID".into(),
        "pki_status_info" => return "pKIStatusInfo".into(),
        "issuer_uid" => return "issuerUID".into(),
        "subject_uid" => return "subjectUID".into(),
        "public_key_mac" => return "publicKeyMAC".into(),
        "popo" => return "popo".into(),
        _ => {}
    }
    let mut out = String::with_capacity(rust.len());
    let mut upper = false;
    for c in rust.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn describe_rasn_kind(kind: &rasn::error::DecodeErrorKind) -> String {
    use rasn::error::{BerDecodeErrorKind, CodecDecodeError, DecodeErrorKind};
    match kind {
        DecodeErrorKind::CodecSpecific { inner } => match inner {
            CodecDecodeError::Ber(BerDecodeErrorKind::MismatchedTag { expected, actual }) => {
                format!(
                    "expected {}, found {}",
                    TagName(*expected),
                    TagName(*actual)
                )
            }
            other => other.to_string(),
        },
        DecodeErrorKind::NoValidChoice { name } => {
            format!("the tag found is none of the alternatives of {name}")
        }
        DecodeErrorKind::ChoiceIndexNotFound { .. } => {
            "none of the allowed alternatives matches the tag found".into()
        }
        DecodeErrorKind::Eof | DecodeErrorKind::Incomplete { .. } => {
            "the value ends before a required field".into()
        }
        other => other.to_string(),
    }
}

/// Human name of a rasn tag: `INTEGER`, `SEQUENCE`, `[3]`.
pub(crate) struct TagName(pub(crate) rasn::types::Tag);

impl fmt::Display for TagName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use rasn::types::Class;
        let tag = self.0;
        match tag.class {
            Class::Universal => {
                let name = match tag.value {
                    0 => "end of contents",
                    1 => "BOOLEAN",
                    2 => "INTEGER",
                    3 => "BIT STRING",
                    4 => "OCTET STRING",
                    5 => "NULL",
                    6 => "OBJECT IDENTIFIER",
                    10 => "ENUMERATED",
                    12 => "UTF8String",
                    16 => "SEQUENCE",
                    17 => "SET",
                    19 => "PrintableString",
                    20 => "TeletexString",
                    22 => "IA5String",
                    23 => "UTCTime",
                    24 => "GeneralizedTime",
                    30 => "BMPString",
                    n => return write!(f, "universal tag {n}"),
                };
                f.write_str(name)
            }
            Class::Context => write!(f, "[{}]", tag.value),
            Class::Application => write!(f, "[APPLICATION {}]", tag.value),
            Class::Private => write!(f, "[PRIVATE {}]", tag.value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_follow_asn1_spelling() {
        assert_eq!(asn1_field_name("cert_req_id"), "certReqId");
        assert_eq!(asn1_field_name("transaction_id"), "transactionID");
        assert_eq!(asn1_field_name("pvno"), "pvno");
        assert_eq!(asn1_field_name("ca_pubs"), "caPubs");
    }
}
