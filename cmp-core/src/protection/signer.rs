//! Finding the certificate that signed a message.

use std::time::SystemTime;

use rasn_pkix::GeneralName;

use super::verify_signature;
use crate::asn1::{CmpCertificate, PkiMessage, ReceivedMessage, is_null_dn};
use crate::crypto::{CertPathVerifier, PathPolicy, Primitives};
use crate::names::{format_name, names_equal};
use crate::{CryptoError, ProtectionError};

/// The first candidate that can have signed `msg`: its subject matches the sender (unless the
/// sender is the NULL-DN or not a directoryName) and its subjectKeyIdentifier matches
/// senderKID (when both are present). Candidates are tried in order: pass extraCerts first
/// (RFC 9810 §5.1.1: the signer's certificate should be the first of them), then untrusted
/// and trusted certificates.
pub fn find_signer<'a>(
    msg: &PkiMessage,
    candidates: impl IntoIterator<Item = &'a CmpCertificate>,
) -> Option<&'a CmpCertificate> {
    let sender = match &msg.header.sender {
        GeneralName::DirectoryName(name) if !is_null_dn(&msg.header.sender) => Some(name),
        _ => None,
    };
    let kid = msg.header.sender_kid.as_deref();
    candidates.into_iter().find(|cert| {
        let name_ok = sender.is_none_or(|s| names_equal(s, cert.subject()));
        let kid_ok = match (kid, cert.subject_key_identifier()) {
            (Some(kid), Some(ski)) => kid == ski.as_slice(),
            _ => true,
        };
        name_ok && kid_ok
    })
}

/// Where [`verify_signer`] looks for the signer and what it trusts.
#[derive(Debug, Clone, Copy)]
pub struct SignerTrust<'a> {
    /// Certificates that may help build the path (besides the message's extraCerts).
    pub untrusted: &'a [CmpCertificate],
    /// Trust anchors; a signer that is one of them needs no path.
    pub anchors: &'a [CmpCertificate],
    /// Accept a signer whose keyUsage lacks digitalSignature.
    pub ignore_keyusage: bool,
}

/// Why [`verify_signer`] did not accept a signed message.
#[derive(Debug)]
pub enum SignerError<'a> {
    /// No candidate matches the sender and senderKID.
    NoSigner,
    /// The signer's keyUsage does not allow digitalSignature (subject as RFC 4514).
    KeyUsage(String),
    /// The signature does not verify with the signer's key.
    Signature(ProtectionError),
    /// The signature verifies but the signer does not chain to the anchors.
    Path {
        /// The signer, for a caller that tries other anchors (3GPP first contact).
        signer: &'a CmpCertificate,
        /// The intermediates that were offered (extraCerts and untrusted, without the signer).
        intermediates: Vec<CmpCertificate>,
        /// Why the path does not validate.
        error: CryptoError,
    },
}

/// Checks a signature-protected message as RFC 9810 §5.1.3.3 asks: finds the signer among
/// the extraCerts, `untrusted` and `anchors` ([`find_signer`]), requires digitalSignature in
/// its keyUsage, verifies the signature, and validates the signer's path to `anchors` at
/// `now` (a signer that is itself an anchor is accepted as is). Returns the signer.
///
/// The client's response checks and `cmp-agent inspect` both use this, so they accept and
/// refuse the same messages.
pub fn verify_signer<'a>(
    rcv: &'a ReceivedMessage,
    trust: SignerTrust<'a>,
    primitives: &dyn Primitives,
    paths: &dyn CertPathVerifier,
    now: SystemTime,
) -> Result<&'a CmpCertificate, SignerError<'a>> {
    let msg = rcv.message();
    let extra = msg.extra_certs.as_deref().unwrap_or_default();
    let signer = find_signer(
        msg,
        extra.iter().chain(trust.untrusted).chain(trust.anchors),
    )
    .ok_or(SignerError::NoSigner)?;
    if !trust.ignore_keyusage && signer.allows_digital_signature() == Some(false) {
        return Err(SignerError::KeyUsage(format_name(signer.subject())));
    }
    verify_signature(rcv, signer, primitives).map_err(SignerError::Signature)?;
    if trust.anchors.iter().any(|t| t.der() == signer.der()) {
        return Ok(signer);
    }
    let intermediates: Vec<CmpCertificate> = extra
        .iter()
        .chain(trust.untrusted)
        .filter(|c| c.der() != signer.der())
        .cloned()
        .collect();
    let chained = if trust.anchors.is_empty() {
        Err(CryptoError::Path("no trust anchors are configured".into()))
    } else {
        paths.verify_path(
            signer,
            &intermediates,
            trust.anchors,
            now,
            &PathPolicy::default(),
        )
    };
    match chained {
        Ok(()) => Ok(signer),
        Err(error) => Err(SignerError::Path {
            signer,
            intermediates,
            error,
        }),
    }
}
