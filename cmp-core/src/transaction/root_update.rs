//! Checking a `rootCaKeyUpdate` answer (RFC 9483 §4.3.2) before its new root is believed.

use std::time::SystemTime;

use crate::asn1::{CmpCertificate, RootCaKeyUpdateContent, format_unix};
use crate::crypto::Primitives;
use crate::error::ResponseError;
use crate::names::format_name;

/// Verifies a root CA key update and returns the new root (newWithNew).
///
/// newWithNew must be self-signed; newWithOld must certify the same key and verify with the
/// old root's key — the old root being `old_root` (`oldWithOld`, the one asked about) or else
/// one of `anchors`; oldWithNew, when present, must certify the old root's key and verify with
/// the new key. Each of the three certificates must be valid at `now`: a link that expired
/// or is not valid yet is refused, naming the link and its validity (a device that was
/// offline past the old root's end needs a new bootstrap).
pub fn verify_root_ca_key_update(
    update: &RootCaKeyUpdateContent,
    old_root: Option<&CmpCertificate>,
    anchors: &[CmpCertificate],
    primitives: &dyn Primitives,
    now: SystemTime,
) -> Result<CmpCertificate, ResponseError> {
    let bad =
        |why: String| ResponseError::Content(format!("rootCaKeyUpdate does not verify: {why}"));
    let links = [
        ("newWithNew", Some(&update.new_with_new)),
        ("newWithOld", update.new_with_old.as_ref()),
        ("oldWithNew", update.old_with_new.as_ref()),
    ];
    for (name, cert) in links {
        if let Some(c) = cert.filter(|c| !c.is_valid_at(now)) {
            let nb = c.not_before_unix();
            let when = if crate::asn1::unix_now(now) < nb {
                "is not valid yet"
            } else {
                "has expired"
            };
            return Err(bad(format!(
                "{name} ({}) {when}: it is valid from {} to {}",
                format_name(c.subject()),
                format_unix(nb),
                format_unix(c.not_after_unix())
            )));
        }
    }
    let new = &update.new_with_new;
    if !new.is_signed_by(new.subject_public_key_info(), primitives) || !new.is_self_issued() {
        return Err(bad(format!(
            "newWithNew ({}) is not self-signed",
            format_name(new.subject())
        )));
    }
    let new_with_old = update.new_with_old.as_ref().ok_or_else(|| {
        bad("newWithOld is missing, so the new root cannot be linked to the old one".into())
    })?;
    if new_with_old.subject_public_key_info() != new.subject_public_key_info() {
        return Err(bad(
            "newWithOld certifies a different key than newWithNew".into()
        ));
    }
    let candidates: Vec<&CmpCertificate> = match old_root {
        Some(r) => vec![r],
        None => anchors.iter().collect(),
    };
    let old = candidates
        .into_iter()
        .find(|old| new_with_old.is_signed_by(old.subject_public_key_info(), primitives))
        .ok_or_else(|| {
            bad(match old_root {
                Some(r) => format!(
                    "newWithOld is not signed by the old root {}",
                    format_name(r.subject())
                ),
                None => "newWithOld is not signed by any trust anchor".into(),
            })
        })?;
    if let Some(old_with_new) = &update.old_with_new {
        if old_with_new.subject_public_key_info() != old.subject_public_key_info()
            || !old_with_new.is_signed_by(new.subject_public_key_info(), primitives)
        {
            return Err(bad(
                "oldWithNew does not certify the old root's key with the new key".into(),
            ));
        }
    }
    Ok(new.clone())
}
