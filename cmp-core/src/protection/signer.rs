//! Finding the certificate that signed a message, the way OpenSSL's `cmp_vfy.c` does: every
//! candidate that can have signed it is tried, not just the first.

use std::time::SystemTime;

use rasn_pkix::{GeneralName, Name};

use super::verify_signature;
use crate::asn1::{CmpCertificate, PkiMessage, ReceivedMessage, is_null_dn};
use crate::crypto::{CertPathVerifier, CertPathVerifierExt, PathPolicy, Primitives};
use crate::names::{format_name, names_equal};
use crate::{CryptoError, ProtectionError};

/// The sender name a signature-protected message must carry: a directoryName other than the
/// NULL-DN (RFC 9810 §5.1.1: the sender of a signed message is named by its certificate's
/// subject).
pub fn signed_sender(msg: &PkiMessage) -> Option<&Name> {
    match &msg.header.sender {
        GeneralName::DirectoryName(name) if !is_null_dn(&msg.header.sender) => Some(name),
        _ => None,
    }
}

/// Whether `cert` can have signed `msg` by name and key identifier: its subject equals the
/// sender (a directoryName, not the NULL-DN), and, when the message carries a senderKID, it
/// carries an equal subjectKeyIdentifier.
pub fn matches_sender(msg: &PkiMessage, cert: &CmpCertificate) -> bool {
    let Some(sender) = signed_sender(msg) else {
        return false;
    };
    let kid_ok = match msg.header.sender_kid.as_deref() {
        Some(kid) => cert
            .subject_key_identifier()
            .is_some_and(|ski| ski.as_slice() == kid),
        None => true,
    };
    kid_ok && names_equal(sender, cert.subject())
}

/// Every candidate that can have signed `msg` ([`matches_sender`]) and is valid at `now`, in
/// the order given, without duplicates. Pass extraCerts first (RFC 9810 §5.1.1: the signer's
/// certificate should be the first of them), then untrusted and trusted certificates.
pub fn find_signers<'a>(
    msg: &PkiMessage,
    candidates: impl IntoIterator<Item = &'a CmpCertificate>,
    now: SystemTime,
) -> Vec<&'a CmpCertificate> {
    let mut found: Vec<&'a CmpCertificate> = Vec::new();
    for cert in candidates {
        if matches_sender(msg, cert)
            && cert.is_valid_at(now)
            && !found.iter().any(|f| f.der() == cert.der())
        {
            found.push(cert);
        }
    }
    found
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
    /// What the signer's path must satisfy (revocation checking with CRLs).
    pub policy: &'a PathPolicy,
    /// A certificate that already verified an earlier message of the same transaction
    /// (OpenSSL's `validatedSrvCert`): tried first, and accepted without building its path
    /// again when the sender matches and the signature verifies.
    pub validated: Option<&'a CmpCertificate>,
}

/// Why [`verify_signer`] did not accept a signed message.
#[derive(Debug)]
pub enum SignerError<'a> {
    /// Signature protection needs a sender that is a directoryName other than the NULL-DN.
    SenderNotNamed,
    /// No candidate matches the sender and senderKID.
    NoSigner,
    /// The only candidates matching the sender and senderKID are outside their validity.
    NotValidNow {
        /// The first such candidate's subject (RFC 4514).
        subject: String,
        /// Its notBefore (seconds since 1970).
        not_before: i64,
        /// Its notAfter (seconds since 1970).
        not_after: i64,
    },
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

impl SignerError<'_> {
    /// How far a candidate got: a signature that verified on a signer without a valid path
    /// says more than a keyUsage refusal, which says more than a bad signature.
    fn rank(&self) -> u8 {
        match self {
            SignerError::SenderNotNamed
            | SignerError::NoSigner
            | SignerError::NotValidNow { .. } => 0,
            SignerError::Signature(_) => 1,
            SignerError::KeyUsage(_) => 2,
            SignerError::Path { .. } => 3,
        }
    }
}

/// Checks a signature-protected message as RFC 9810 §5.1.3.3 asks, in the manner of OpenSSL's
/// `cmp_vfy.c`: the sender must be a name; a certificate validated earlier in the transaction
/// is tried first; then every candidate among the extraCerts, `untrusted` and `anchors` that
/// matches the sender and senderKID and is valid now ([`find_signers`]) is tried in turn —
/// digitalSignature in its keyUsage, the signature, and its path to `anchors` at `now` under
/// the policy (a signer that is itself an anchor is accepted as is). Returns the first
/// candidate that passes; when none does, the failure of the candidate that got furthest.
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
    if signed_sender(msg).is_none() {
        return Err(SignerError::SenderNotNamed);
    }
    if let Some(known) = trust.validated {
        if matches_sender(msg, known) && verify_signature(rcv, known, primitives).is_ok() {
            return Ok(known);
        }
    }
    let extra = msg.extra_certs.as_deref().unwrap_or_default();
    let all = || extra.iter().chain(trust.untrusted).chain(trust.anchors);
    let candidates = find_signers(msg, all(), now);
    if candidates.is_empty() {
        if let Some(c) = all().find(|c| matches_sender(msg, c)) {
            return Err(SignerError::NotValidNow {
                subject: format_name(c.subject()),
                not_before: c.not_before_unix(),
                not_after: c.not_after_unix(),
            });
        }
    }
    let mut best: Option<SignerError<'a>> = None;
    for signer in candidates {
        let err = match try_signer(rcv, signer, extra, trust, primitives, paths, now) {
            Ok(()) => return Ok(signer),
            Err(e) => e,
        };
        if best.as_ref().is_none_or(|b| err.rank() > b.rank()) {
            best = Some(err);
        }
    }
    Err(best.unwrap_or(SignerError::NoSigner))
}

fn try_signer<'a>(
    rcv: &ReceivedMessage,
    signer: &'a CmpCertificate,
    extra: &[CmpCertificate],
    trust: SignerTrust<'_>,
    primitives: &dyn Primitives,
    paths: &dyn CertPathVerifier,
    now: SystemTime,
) -> Result<(), SignerError<'a>> {
    if !trust.ignore_keyusage && signer.allows_digital_signature() == Some(false) {
        return Err(SignerError::KeyUsage(format_name(signer.subject())));
    }
    verify_signature(rcv, signer, primitives).map_err(SignerError::Signature)?;
    if trust.anchors.iter().any(|t| t.der() == signer.der()) {
        return Ok(());
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
        paths.verify_certificates(signer, &intermediates, trust.anchors, now, trust.policy)
    };
    chained.map_err(|error| SignerError::Path {
        signer,
        intermediates,
        error,
    })
}
