//! Certificate path validation with rustls-webpki.
//!
//! Know its limits: webpki validates *end-entity* certificates (a CA certificate cannot be
//! the end of the path), does no policy processing, supports no directoryName name
//! constraints, and does not look at the end entity's keyUsage — the CMP code checks the
//! digitalSignature bit of a protection signer itself.
//!
//! Revocation ([`PathPolicy::revocation`]) is checked against the policy's CRLs only (no
//! fetching from distribution points, no OCSP): a certificate that must be checked needs a CRL
//! from its issuer that is current (before its nextUpdate), verifies with the issuer's key and
//! does not list it. Delta CRLs and indirect CRLs are not supported.

use std::time::SystemTime;

use cmp_core::CryptoError;
use cmp_core::asn1::CmpCertificate;
use cmp_core::crypto::{CertPathVerifier, PathPolicy, RevocationCheck};
use cmp_core::names::{format_name, names_equal};
use rustls_pki_types::{CertificateDer, UnixTime};
use webpki::{
    CertRevocationList, EndEntityCert, ExtendedKeyUsageValidator, KeyPurposeIdIter,
    OwnedCertRevocationList, RevocationCheckDepth, RevocationOptionsBuilder,
};

/// The certificate signatures a path may carry: all of webpki's with *ring*.
#[cfg(feature = "ed25519")]
const VERIFICATION_ALGS: &[&dyn rustls_pki_types::SignatureVerificationAlgorithm] =
    webpki::ALL_VERIFICATION_ALGS;

/// The certificate signatures a path may carry: webpki's with *ring* but Ed25519, which a
/// build without the `ed25519` feature does not verify (its code stays out of the binary).
#[cfg(not(feature = "ed25519"))]
const VERIFICATION_ALGS: &[&dyn rustls_pki_types::SignatureVerificationAlgorithm] = {
    use webpki::ring as a;
    &[
        a::ECDSA_P256_SHA256,
        a::ECDSA_P256_SHA384,
        a::ECDSA_P384_SHA256,
        a::ECDSA_P384_SHA384,
        a::RSA_PKCS1_2048_8192_SHA256,
        a::RSA_PKCS1_2048_8192_SHA384,
        a::RSA_PKCS1_2048_8192_SHA512,
        a::RSA_PKCS1_2048_8192_SHA256_ABSENT_PARAMS,
        a::RSA_PKCS1_2048_8192_SHA384_ABSENT_PARAMS,
        a::RSA_PKCS1_2048_8192_SHA512_ABSENT_PARAMS,
        a::RSA_PKCS1_3072_8192_SHA384,
        a::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
        a::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
        a::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
    ]
};

/// rustls-webpki as a [`CertPathVerifier`].
#[derive(Clone, Copy, Debug, Default)]
pub struct WebPkiPaths;

/// "Any EKU" or "this EKU, if the certificate restricts its EKUs at all".
struct EkuPolicy(Option<Vec<u8>>);

impl ExtendedKeyUsageValidator for EkuPolicy {
    fn validate(&self, iter: KeyPurposeIdIter<'_, '_>) -> Result<(), webpki::Error> {
        let Some(required) = &self.0 else {
            // Still reject a malformed EKU extension.
            for id in iter {
                id?;
            }
            return Ok(());
        };
        let wanted = webpki::KeyPurposeId::new(required);
        for id in iter {
            if id? == wanted {
                return Ok(());
            }
        }
        // The context variant needs a `'static` KeyUsage, which a run-time OID cannot give.
        #[allow(deprecated)]
        Err(webpki::Error::RequiredEkuNotFound)
    }
}

impl CertPathVerifier for WebPkiPaths {
    fn verify_path(
        &self,
        end_entity: &[u8],
        intermediates: &[&[u8]],
        anchors: &[&[u8]],
        now: SystemTime,
        policy: &PathPolicy,
    ) -> Result<(), CryptoError> {
        let anchor_ders: Vec<CertificateDer<'_>> =
            anchors.iter().map(|c| CertificateDer::from(*c)).collect();
        let mut trust = Vec::with_capacity(anchors.len());
        for der in &anchor_ders {
            trust.push(
                webpki::anchor_from_trusted_cert(der)
                    .map_err(|e| CryptoError::Path(format!("unusable trust anchor: {e}")))?,
            );
        }
        let inter: Vec<CertificateDer<'_>> = intermediates
            .iter()
            .map(|c| CertificateDer::from(*c))
            .collect();
        let ee_der = CertificateDer::from(end_entity);
        let ee = EndEntityCert::try_from(&ee_der)
            .map_err(|e| CryptoError::Path(format!("unusable certificate: {e}")))?;
        let since = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_err(|_| CryptoError::Path("the clock is before 1970".into()))?;
        let eku = EkuPolicy(policy.required_eku.clone());
        let crls = parse_crls(policy)?;
        let crl_refs: Vec<&CertRevocationList<'_>> = crls.iter().collect();
        let depth = match policy.revocation {
            RevocationCheck::None => None,
            RevocationCheck::EndEntity => Some(RevocationCheckDepth::EndEntity),
            RevocationCheck::All => Some(RevocationCheckDepth::Chain),
        };
        let revocation = match depth {
            None => None,
            Some(depth) => Some(
                RevocationOptionsBuilder::new(&crl_refs)
                    .map_err(|_| {
                        CryptoError::Path(
                            "revocation checking is on, but no CRLs were given".into(),
                        )
                    })?
                    .with_depth(depth)
                    .with_status_policy(webpki::UnknownStatusPolicy::Deny)
                    .with_expiration_policy(webpki::ExpirationPolicy::Enforce)
                    .build(),
            ),
        };
        ee.verify_for_usage(
            VERIFICATION_ALGS,
            &trust,
            &inter,
            UnixTime::since_unix_epoch(since),
            eku,
            revocation,
            None,
        )
        .map(|_| ())
        .map_err(|e| {
            // Decoded only to name the certificates in the sentence; one that does not
            // decode was already refused above by webpki.
            let path: Vec<CmpCertificate> = std::iter::once(end_entity)
                .chain(intermediates.iter().copied())
                .filter_map(|der| CmpCertificate::from_der(der).ok())
                .collect();
            let path: Vec<&CmpCertificate> = path.iter().collect();
            CryptoError::Path(describe(&e, &path, policy))
        })
    }
}

/// The policy's CRLs, parsed; one that is not a CRL is an error naming its position.
fn parse_crls(policy: &PathPolicy) -> Result<Vec<CertRevocationList<'static>>, CryptoError> {
    if policy.revocation == RevocationCheck::None {
        return Ok(Vec::new());
    }
    policy
        .crls
        .iter()
        .enumerate()
        .map(|(i, der)| {
            OwnedCertRevocationList::from_der(der)
                .map(CertRevocationList::from)
                .map_err(|e| CryptoError::Path(format!("CRL {} is unusable: {e:?}", i + 1)))
        })
        .collect()
}

/// The policy's CRLs decoded with our ASN.1 types (for explaining a failure).
fn decoded_crls(policy: &PathPolicy) -> Vec<rasn_pkix::CertificateList> {
    policy
        .crls
        .iter()
        .filter_map(|der| rasn::der::decode(der).ok())
        .collect()
}

fn crl_time(t: &rasn_pkix::Time) -> String {
    match t {
        rasn_pkix::Time::Utc(t) => t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        rasn_pkix::Time::General(t) => t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
    }
}

/// Which certificate of `path` a revocation failure is about, and what exactly is wrong.
fn describe_revocation(e: &webpki::Error, path: &[&CmpCertificate], policy: &PathPolicy) -> String {
    use webpki::Error::*;
    let crls = decoded_crls(policy);
    let checked: &[&CmpCertificate] = match policy.revocation {
        RevocationCheck::All => path,
        _ => &path[..path.len().min(1)],
    };
    let from_issuer = |c: &CmpCertificate| -> Vec<&rasn_pkix::CertificateList> {
        crls.iter()
            .filter(|crl| names_equal(&crl.tbs_cert_list.issuer, c.issuer()))
            .collect()
    };
    let who = |c: &CmpCertificate| {
        format!(
            "{} (serial {})",
            format_name(c.subject()),
            c.serial_number()
        )
    };
    match e {
        CertRevoked => {
            for c in checked {
                for crl in from_issuer(c) {
                    let listed = crl
                        .tbs_cert_list
                        .revoked_certificates
                        .iter()
                        .any(|r| r.user_certificate == *c.serial_number());
                    if listed {
                        return format!(
                            "the certificate {} is revoked (listed in the CRL of {})",
                            who(c),
                            format_name(c.issuer())
                        );
                    }
                }
            }
            "a certificate in the path is revoked".into()
        }
        UnknownRevocationStatus => {
            for c in checked {
                if from_issuer(c).is_empty() {
                    let have: Vec<String> = crls
                        .iter()
                        .map(|crl| format_name(&crl.tbs_cert_list.issuer))
                        .collect();
                    return format!(
                        "no CRL from {} (the issuer of {}) was given{}",
                        format_name(c.issuer()),
                        who(c),
                        if have.is_empty() {
                            String::new()
                        } else {
                            format!("; the CRLs given are from {}", have.join(", "))
                        }
                    );
                }
            }
            "the revocation status of a certificate in the path is unknown (no CRL from its issuer)"
                .into()
        }
        CrlExpired { .. } => {
            for c in checked {
                for crl in from_issuer(c) {
                    if let Some(next) = &crl.tbs_cert_list.next_update {
                        return format!(
                            "the CRL of {} is out of date: its nextUpdate was {}",
                            format_name(c.issuer()),
                            crl_time(next)
                        );
                    }
                }
            }
            "a CRL is out of date (past its nextUpdate)".into()
        }
        InvalidCrlSignatureForPublicKey => {
            for c in checked {
                if !from_issuer(c).is_empty() {
                    return format!(
                        "the CRL that names {} as its issuer is not signed by that issuer's key",
                        format_name(c.issuer())
                    );
                }
            }
            "a CRL's signature does not verify with its issuer's key".into()
        }
        IssuerNotCrlSigner => {
            "the issuer of a CRL is not allowed to sign CRLs (keyUsage lacks cRLSign)".into()
        }
        other => format!("{other:?}"),
    }
}

fn describe(e: &webpki::Error, path: &[&CmpCertificate], policy: &PathPolicy) -> String {
    use webpki::Error::*;
    match e {
        CertRevoked
        | UnknownRevocationStatus
        | CrlExpired { .. }
        | InvalidCrlSignatureForPublicKey
        | IssuerNotCrlSigner => describe_revocation(e, path, policy),
        UnknownIssuer => "no trust anchor or intermediate issued it (unknown issuer)".into(),
        CertExpired { .. } => "a certificate in the path has expired".into(),
        CertNotValidYet { .. } => "a certificate in the path is not valid yet".into(),
        InvalidSignatureForPublicKey => "a signature in the path does not verify".into(),
        #[allow(deprecated)]
        RequiredEkuNotFound | RequiredEkuNotFoundContext(_) => {
            "the certificate lacks the required extended key usage".into()
        }
        CaUsedAsEndEntity => "a CA certificate cannot be validated as an end entity".into(),
        other => format!("{other:?}"),
    }
}
