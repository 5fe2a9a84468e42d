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

/// Why a client transaction failed. [`ClientError::exit_code`] maps each kind to the
/// documented exit code of the agent.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// A response failed one of our checks; its content is not trusted or reported as the
    /// server's answer.
    #[error("the response failed a check: {0}")]
    Response(#[from] ResponseError),
    /// The server refused (an authenticated rejection or error message).
    #[error("server rejected the request: {0}")]
    Refused(Box<ServerRefusal>),
    /// We refused the issued certificate and told the server so with certConf.
    #[error(
        "the issued certificate was refused ({reason}); certConf reported incorrectData to the server"
    )]
    CertificateRefused {
        /// Why.
        reason: String,
    },
    /// The transport failed.
    #[error(transparent)]
    Transport(#[from] crate::transport::TransportError),
    /// The whole transaction took longer than allowed.
    #[error("the transaction did not complete within {seconds} s (total timeout)")]
    TotalTimeout {
        /// The limit.
        seconds: u64,
    },
    /// A local failure: keys, signing, encoding.
    #[error("{0}")]
    Local(String),
}

impl ClientError {
    /// The agent's exit code: 1 local failure, 3 transport or timeout, 4 a response failed
    /// our checks (or we refused the certificate), 5 the server refused.
    pub fn exit_code(&self) -> u8 {
        match self {
            ClientError::Local(_) => 1,
            ClientError::Transport(_) | ClientError::TotalTimeout { .. } => 3,
            ClientError::Response(_) | ClientError::CertificateRefused { .. } => 4,
            ClientError::Refused(_) => 5,
        }
    }
}

impl From<Error> for ClientError {
    fn from(e: Error) -> Self {
        ClientError::Local(e.to_string())
    }
}

impl From<crate::storage::StorageError> for ClientError {
    fn from(e: crate::storage::StorageError) -> Self {
        ClientError::Local(e.to_string())
    }
}

impl From<CryptoError> for ClientError {
    fn from(e: CryptoError) -> Self {
        ClientError::Local(e.to_string())
    }
}

/// What the server said when it refused: status with failInfo, or an error message.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerRefusal {
    /// The body that carried it (`ip`, `error`, `rp`, …).
    pub body: &'static str,
    /// The status.
    pub status: crate::asn1::PkiStatusInfo,
    /// errorCode of an error message.
    pub error_code: Option<i64>,
    /// errorDetails of an error message.
    pub details: Option<String>,
    /// The pvno of the response (the version the server speaks, for an unsupportedVersion
    /// retry).
    pub pvno: i64,
}

impl ServerRefusal {
    /// The refusal an error message (`error` body) carries.
    pub(crate) fn from_error_msg(e: &crate::asn1::ErrorMsgContent, pvno: i64) -> Self {
        ServerRefusal {
            body: "error",
            status: e.pki_status_info.clone(),
            error_code: e.error_code.as_ref().and_then(|c| i64::try_from(c).ok()),
            details: e.error_details.as_ref().map(|d| d.join("; ")),
            pvno,
        }
    }

    /// The refusal a status of a `body` (`ip`, `rp`, …) carries.
    pub(crate) fn from_status(
        body: &'static str,
        status: &crate::asn1::PkiStatusInfo,
        pvno: i64,
    ) -> Self {
        ServerRefusal {
            body,
            status: status.clone(),
            error_code: None,
            details: None,
            pvno,
        }
    }

    /// Whether failInfo names `bit`.
    pub fn has(&self, bit: crate::asn1::FailureBit) -> bool {
        self.status
            .fail_info
            .as_ref()
            .is_some_and(|f| f.contains(bit))
    }
}

impl std::fmt::Display for ServerRefusal {
    /// `rejection (badPOP, badRequest) "text"`, then errorCode and details if any.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.status.status)?;
        if let Some(fi) = &self.status.fail_info {
            if !fi.is_empty() {
                write!(f, " ({fi})")?;
            }
        }
        if let Some(text) = self.status.text() {
            write!(f, " {text:?}")?;
        }
        if let Some(code) = self.error_code {
            write!(f, ", error code {code}")?;
        }
        if let Some(d) = &self.details {
            write!(f, ", details {d:?}")?;
        }
        if self.body == "error" {
            f.write_str(" (error message)")?;
        }
        Ok(())
    }
}

/// Why a response failed our checks (in the order they run: sender, protection, pvno,
/// transactionID, recipNonce, body type, content).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResponseError {
    /// Not a well-formed PKIMessage.
    #[error("malformed response: {0}")]
    Malformed(DecodeError),
    /// The sender is not who we expect.
    #[error("unexpected sender {actual:?}, expected {expected:?}")]
    Sender {
        /// Who we expected.
        expected: String,
        /// Who it was.
        actual: String,
    },
    /// The response carries no protection (and is not an error we may accept unprotected).
    #[error("the response is not protected")]
    Unprotected,
    /// An unprotected error message, refused without `unprotected-errors`; its content is not
    /// reported as the server's answer.
    #[error(
        "the server sent an unprotected error message (accept it with unprotected-errors, which weakens security)"
    )]
    UnprotectedError,
    /// MAC protection, but we have no shared secret.
    #[error("the response is MAC-protected, but no shared secret is configured")]
    NoSecret,
    /// Signature protection, but nothing to check it against.
    #[error("the response is signed, but no trust anchors or server certificate are configured")]
    NoTrust,
    /// A signed response whose sender is not a directoryName, or is the NULL-DN: no
    /// certificate can be matched to it.
    #[error(
        "the response is signed, but its sender {0:?} is not a name (a directoryName other than the NULL-DN)"
    )]
    SenderNotNamed(String),
    /// The certificates matching the sender and senderKID are outside their validity.
    #[error(
        "the certificate matching the sender, {subject}, is not valid now (valid from {not_before} to {not_after})"
    )]
    SignerNotValidNow {
        /// Its subject.
        subject: String,
        /// Its notBefore.
        not_before: String,
        /// Its notAfter.
        not_after: String,
    },
    /// No certificate matches the sender and senderKID.
    #[error(
        "no certificate in extraCerts, untrusted or trusted matches the sender {sender:?} and senderKID {sender_kid}"
    )]
    NoSigner {
        /// The response's sender.
        sender: String,
        /// The response's senderKID (hex, or `absent`).
        sender_kid: String,
    },
    /// The signer's keyUsage forbids signing.
    #[error("the signer certificate {0} does not allow digitalSignature (keyUsage)")]
    SignerKeyUsage(String),
    /// The signer does not chain to the trust anchors.
    #[error("the signer certificate {subject} is not trusted: {reason}")]
    UntrustedSigner {
        /// The signer.
        subject: String,
        /// Why.
        reason: String,
    },
    /// The protection does not verify.
    #[error("invalid protection: {0}")]
    Protection(ProtectionError),
    /// pvno is neither 2 nor 3.
    #[error("unsupported pvno {0} (2 or 3 expected)")]
    Pvno(i64),
    /// The body is not what this step of the transaction expects.
    #[error("unexpected {actual} response, expected {expected}")]
    Body {
        /// What we expected.
        expected: String,
        /// What came.
        actual: &'static str,
    },
    /// transactionID differs from ours.
    #[error("transactionID {actual} does not match ours ({expected})")]
    TransactionId {
        /// Ours (hex).
        expected: String,
        /// Theirs (hex, or `absent`).
        actual: String,
    },
    /// recipNonce is not our senderNonce.
    #[error("recipNonce {actual} does not match our senderNonce ({expected})")]
    RecipNonce {
        /// Ours (hex).
        expected: String,
        /// Theirs (hex, or `absent`).
        actual: String,
    },
    /// The content is inconsistent (wrong certReqId, missing certificate, …).
    #[error("{0}")]
    Content(String),
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
    /// The key cannot do this: an optional capability (decryption, key agreement) its
    /// backend lacks, or one its kind of key has not.
    #[error("this {key} key cannot {capability}: {reason}")]
    NotCapable {
        /// What was asked: `decrypt`, `agree on a key`.
        capability: &'static str,
        /// The kind of key (`ec:P-256`, …).
        key: String,
        /// Why not.
        reason: String,
    },
    /// What was asked for is left out of this build: a cargo feature adds it (e.g. Ed25519
    /// keys without cmp-crypto's `ed25519`). Unlike [`CryptoError::UnsupportedAlgorithm`], a
    /// rebuild answers it.
    #[error("{what}: not in this build ({crate_name} feature `{feature}`)")]
    NotInBuild {
        /// What was asked for (`Ed25519 keys`).
        what: String,
        /// The crate whose feature adds it (`cmp-crypto`).
        crate_name: &'static str,
        /// The cargo feature (`ed25519`).
        feature: &'static str,
    },
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
    /// The message is not DER in a way only its re-encoding shows, and that DER re-encoding
    /// would itself be refused (see the DER policy of
    /// [`ReceivedMessage`](crate::asn1::ReceivedMessage)).
    #[error("the message is not DER, and {reason}")]
    NotDer {
        /// Why the re-encoding is refused, with the error located in the re-encoding.
        reason: String,
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
