//! Finding the certificate that signed a message.

use rasn_pkix::GeneralName;

use crate::asn1::{CmpCertificate, PkiMessage, is_null_dn};
use crate::names::names_equal;

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
