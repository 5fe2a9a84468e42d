//! Certificate path validation with rustls-webpki.
//!
//! Know its limits: webpki validates *end-entity* certificates (a CA certificate cannot be
//! the end of the path), does no policy processing, supports no directoryName name
//! constraints, and does not look at the end entity's keyUsage — the CMP code checks the
//! digitalSignature bit of a protection signer itself.

use std::time::SystemTime;

use cmp_core::CryptoError;
use cmp_core::asn1::CmpCertificate;
use cmp_core::crypto::{CertPathVerifier, PathPolicy};
use rustls_pki_types::{CertificateDer, UnixTime};
use webpki::{EndEntityCert, ExtendedKeyUsageValidator, KeyPurposeIdIter};

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

/// The content octets of an OID (what webpki compares EKUs by).
fn oid_content(oid: &rasn::types::ObjectIdentifier) -> Result<Vec<u8>, CryptoError> {
    let der = rasn::der::encode(oid)
        .map_err(|e| CryptoError::Path(format!("cannot encode the required EKU: {e}")))?;
    let tlv = cmp_core::der::Reader::new(&der, 0)
        .read()
        .map_err(|e| CryptoError::Path(format!("cannot encode the required EKU: {e}")))?;
    Ok(tlv.value.to_vec())
}

impl CertPathVerifier for WebPkiPaths {
    fn verify_path(
        &self,
        end_entity: &CmpCertificate,
        intermediates: &[CmpCertificate],
        anchors: &[CmpCertificate],
        now: SystemTime,
        policy: &PathPolicy,
    ) -> Result<(), CryptoError> {
        let anchor_ders: Vec<CertificateDer<'_>> = anchors
            .iter()
            .map(|c| CertificateDer::from(c.der()))
            .collect();
        let mut trust = Vec::with_capacity(anchors.len());
        for der in &anchor_ders {
            trust.push(
                webpki::anchor_from_trusted_cert(der)
                    .map_err(|e| CryptoError::Path(format!("unusable trust anchor: {e}")))?,
            );
        }
        let inter: Vec<CertificateDer<'_>> = intermediates
            .iter()
            .map(|c| CertificateDer::from(c.der()))
            .collect();
        let ee_der = CertificateDer::from(end_entity.der());
        let ee = EndEntityCert::try_from(&ee_der)
            .map_err(|e| CryptoError::Path(format!("unusable certificate: {e}")))?;
        let since = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_err(|_| CryptoError::Path("the clock is before 1970".into()))?;
        let eku = EkuPolicy(policy.required_eku.as_ref().map(oid_content).transpose()?);
        ee.verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            &trust,
            &inter,
            UnixTime::since_unix_epoch(since),
            eku,
            None,
            None,
        )
        .map(|_| ())
        .map_err(|e| CryptoError::Path(describe(&e)))
    }
}

fn describe(e: &webpki::Error) -> String {
    use webpki::Error::*;
    match e {
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
