//! Proof of possession: the POPOSigningKey of a CRMF request, `raVerified` when allowed, and
//! the signature of a PKCS#10 request (→ badPOP).

use rasn_pkix::SubjectPublicKeyInfo;

use super::checks::{Auth, Refusal};
use super::config::ServerConfig;
use crate::asn1::{
    CertReqMsg, FailureBit, Pkcs10Request, PopoSigningKey, ProofOfPossession, ReceivedMessage,
};
use crate::crypto::{KeySpec, Primitives, SignatureAlgorithm, public_key_der};
use crate::der::{self, Reader};

fn bad(reason: impl Into<String>) -> Refusal {
    Refusal::new(FailureBit::BadPop, reason)
}

/// The received bytes of the first CertReqMsg's `certReq` and of its `popo`, found in the body
/// as it arrived: `[n] { SEQUENCE OF { CertReqMsg { certReq, popo?, … } } }`.
fn received_parts(rcv: &ReceivedMessage) -> Option<(&[u8], Option<der::Tlv<'_>>)> {
    let body = Reader::new(rcv.body_der(), 0).read().ok()?;
    let msgs = body.children().read().ok()?;
    let first = msgs.children().read().ok()?;
    let mut fields = first.children();
    let cert_req = fields.read().ok()?;
    let popo = if fields.is_empty() {
        None
    } else {
        Some(fields.read().ok()?)
    };
    Some((cert_req.raw, popo))
}

fn verify(
    primitives: &dyn Primitives,
    key: &SubjectPublicKeyInfo,
    pop: &PopoSigningKey,
    data: &[u8],
) -> Result<(), Refusal> {
    let alg = SignatureAlgorithm::from_algorithm_identifier(&pop.algorithm_identifier)
        .map_err(|e| bad(format!("POP: {e}")))?;
    let spec = KeySpec::of_public_key(key).map_err(|e| bad(format!("POP: {e}")))?;
    spec.check_allows(alg)
        .map_err(|e| bad(format!("POP: {e}")))?;
    if pop.signature.len() % 8 != 0 {
        return Err(bad("the POP signature is not a whole number of bytes"));
    }
    primitives
        .verify_signature(
            &public_key_der(key),
            alg,
            data,
            pop.signature.as_raw_slice(),
        )
        .map_err(|_| bad("the POP signature does not verify with the requested public key"))
}

/// Checks the proof of possession of `req` (the only CertReqMsg of `rcv`) for `key`.
///
/// A signature over the received `certReq` (or over `poposkInput`, whose key must be the
/// template's, when the template lacks the subject); `raVerified` only when the configuration
/// accepts it from everyone or the request is signed by a configured RA; nothing else.
pub(crate) fn check_pop(
    config: &ServerConfig,
    rcv: &ReceivedMessage,
    req: &CertReqMsg,
    key: &SubjectPublicKeyInfo,
    auth: &Auth,
) -> Result<(), Refusal> {
    match &req.popo {
        None => Err(bad("the request carries no proof of possession")),
        Some(ProofOfPossession::RaVerified(())) => {
            let by_ra = match auth {
                Auth::Signature { signer } => {
                    config.ra_certs.iter().any(|ra| ra.der() == signer.der())
                }
                _ => false,
            };
            if config.accept_ra_verified || by_ra {
                Ok(())
            } else {
                Err(bad(
                    "raVerified is accepted only from a registration authority",
                ))
            }
        }
        Some(ProofOfPossession::Signature(pop)) => {
            let (cert_req, popo) =
                received_parts(rcv).ok_or_else(|| bad("the request's certReq cannot be read"))?;
            match &pop.poposk_input {
                None => verify(config.primitives.as_ref(), key, pop, cert_req),
                Some(input) => {
                    if req.cert_req.cert_template.subject.is_some() {
                        return Err(bad(
                            "poposkInput must be absent when the template holds the subject (RFC 4211 §4.1)",
                        ));
                    }
                    if &input.public_key != key {
                        return Err(bad(
                            "poposkInput holds another public key than the template",
                        ));
                    }
                    // POPOSigningKey is implicitly tagged [1]; its first field, poposkInput
                    // [0], is signed as a plain SEQUENCE.
                    let input_tlv = popo
                        .and_then(|p| p.children().read().ok())
                        .filter(|t| t.first_octet() == 0xA0)
                        .ok_or_else(|| bad("the request's poposkInput cannot be read"))?;
                    let data = der::tlv(0x30, input_tlv.value);
                    verify(config.primitives.as_ref(), key, pop, &data)
                }
            }
        }
        Some(ProofOfPossession::KeyEncipherment(_) | ProofOfPossession::KeyAgreement(_)) => Err(
            bad("only signature POP is supported (keyEncipherment and keyAgreement are not)"),
        ),
    }
}

/// Checks the signature of a PKCS#10 request over its received certificationRequestInfo.
pub(crate) fn check_csr_signature(
    primitives: &dyn Primitives,
    csr: &Pkcs10Request,
) -> Result<(), Refusal> {
    let info = Reader::new(csr.der(), 0)
        .read()
        .ok()
        .and_then(|top| top.children().read().ok())
        .ok_or_else(|| bad("the CSR cannot be read"))?;
    let value = csr.value();
    let alg = SignatureAlgorithm::from_algorithm_identifier(&value.signature_algorithm)
        .map_err(|e| bad(format!("CSR signature: {e}")))?;
    let key = &value.certification_request_info.subject_pk_info;
    let spec = KeySpec::of_public_key(key).map_err(|e| bad(format!("CSR: {e}")))?;
    spec.check_allows(alg)
        .map_err(|e| bad(format!("CSR signature: {e}")))?;
    if value.signature.len() % 8 != 0 {
        return Err(bad("the CSR signature is not a whole number of bytes"));
    }
    primitives
        .verify_signature(
            &public_key_der(key),
            alg,
            info.raw,
            value.signature.as_raw_slice(),
        )
        .map_err(|_| bad("the CSR signature does not verify with its public key"))
}
