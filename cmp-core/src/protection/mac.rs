//! MAC-based protection: PasswordBasedMac and PBMAC1.

use rasn::prelude::*;
use rasn_pkix::AlgorithmIdentifier;
use zeroize::Zeroizing;

use super::alg::{MacLimits, ProtectionAlg, protection_parts};
use crate::asn1::{
    Pbkdf2Params, Pbkdf2Salt, PbmParameter, Pbmac1Params, PkiMessage, ReceivedMessage, oid,
};
use crate::crypto::{DigestAlgorithm, Primitives, constant_time_eq};
use crate::error::{Error, ProtectionError};

/// How to MAC-protect messages we send.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MacSettings {
    /// `id-PasswordBasedMac`.
    PasswordBasedMac {
        /// One-way function (default SHA-256).
        owf: DigestAlgorithm,
        /// HMAC hash (default SHA-1, which OpenSSL and most servers expect; sent as
        /// `hmac-sha1` 1.3.6.1.5.5.8.1.2 as OpenSSL does, other hashes as `hmacWithSHA*`).
        mac: DigestAlgorithm,
        /// Iterations (default 500).
        iterations: u32,
        /// Salt length in bytes (default 16).
        salt_len: usize,
    },
    /// `id-PBMAC1` with PBKDF2.
    Pbmac1 {
        /// PBKDF2 PRF hash (default SHA-256).
        prf: DigestAlgorithm,
        /// HMAC hash of the message authentication scheme (default SHA-256).
        mac: DigestAlgorithm,
        /// PBKDF2 iterations (default 10 000).
        iterations: u32,
        /// Salt length in bytes (default 16).
        salt_len: usize,
        /// Derived key length in bytes (default 32).
        key_len: usize,
    },
}

impl MacSettings {
    /// PasswordBasedMac as OpenSSL sends it: 16-byte salt, SHA-256, 500 iterations,
    /// hmac-sha1.
    pub fn pbm_default() -> Self {
        MacSettings::PasswordBasedMac {
            owf: DigestAlgorithm::Sha256,
            mac: DigestAlgorithm::Sha1,
            iterations: 500,
            salt_len: 16,
        }
    }

    /// PBMAC1 with PBKDF2-HMAC-SHA256, 10 000 iterations, a 32-byte key and HMAC-SHA256.
    pub fn pbmac1_default() -> Self {
        MacSettings::Pbmac1 {
            prf: DigestAlgorithm::Sha256,
            mac: DigestAlgorithm::Sha256,
            iterations: 10_000,
            salt_len: 16,
            key_len: 32,
        }
    }

    pub(crate) fn salt_len(&self) -> usize {
        match self {
            MacSettings::PasswordBasedMac { salt_len, .. }
            | MacSettings::Pbmac1 { salt_len, .. } => *salt_len,
        }
    }

    /// The `protectionAlg` for these settings and a salt.
    pub fn algorithm_identifier(&self, salt: &[u8]) -> Result<AlgorithmIdentifier, Error> {
        let encode = |what, r: Result<Vec<u8>, rasn::error::EncodeError>| {
            r.map(Any::new).map_err(|e| Error::Encode {
                what,
                reason: e.to_string(),
            })
        };
        match self {
            MacSettings::PasswordBasedMac {
                owf,
                mac,
                iterations,
                ..
            } => {
                let mac_oid = if *mac == DigestAlgorithm::Sha1 {
                    oid::HMAC_SHA1
                } else {
                    mac.hmac_oid()
                };
                let params = PbmParameter {
                    salt: OctetString::from(salt.to_vec()),
                    owf: owf.algorithm_identifier(),
                    iteration_count: Integer::from(*iterations),
                    mac: AlgorithmIdentifier {
                        algorithm: mac_oid.to_owned(),
                        parameters: None,
                    },
                };
                Ok(AlgorithmIdentifier {
                    algorithm: oid::PASSWORD_BASED_MAC.to_owned(),
                    parameters: Some(encode("PBMParameter", rasn::der::encode(&params))?),
                })
            }
            MacSettings::Pbmac1 {
                prf,
                mac,
                iterations,
                key_len,
                ..
            } => {
                let kdf = Pbkdf2Params {
                    salt: Pbkdf2Salt::Specified(OctetString::from(salt.to_vec())),
                    iteration_count: Integer::from(*iterations),
                    key_length: Some(Integer::from(*key_len as u64)),
                    // DER: the DEFAULT (hmacWithSHA1) is left out.
                    prf: (*prf != DigestAlgorithm::Sha1).then(|| hmac_alg_id(*prf)),
                };
                let params = Pbmac1Params {
                    key_derivation_func: AlgorithmIdentifier {
                        algorithm: oid::PBKDF2.to_owned(),
                        parameters: Some(encode("PBKDF2-params", rasn::der::encode(&kdf))?),
                    },
                    message_auth_scheme: hmac_alg_id(*mac),
                };
                Ok(AlgorithmIdentifier {
                    algorithm: oid::PBMAC1.to_owned(),
                    parameters: Some(encode("PBMAC1-params", rasn::der::encode(&params))?),
                })
            }
        }
    }
}

/// `hmacWithSHA*` with NULL parameters, as RFC 8018 Appendix B.1 defines them.
fn hmac_alg_id(d: DigestAlgorithm) -> AlgorithmIdentifier {
    AlgorithmIdentifier {
        algorithm: d.hmac_oid().to_owned(),
        parameters: Some(Any::new(vec![0x05, 0x00])),
    }
}

/// The MAC key `alg` (a MAC algorithm) derives from `secret`: PBM's iterated one-way
/// function or PBMAC1's PBKDF2 — the expensive part (up to about a second at the highest
/// accepted iteration counts).
pub(crate) fn derive_key(
    alg: &ProtectionAlg,
    secret: &[u8],
    primitives: &dyn Primitives,
) -> Result<Zeroizing<Vec<u8>>, ProtectionError> {
    match alg {
        ProtectionAlg::PasswordBasedMac {
            salt,
            owf,
            iterations,
            ..
        } => {
            // RFC 9810 §5.1.3.1: BASEKEY = OWF(secret ‖ salt), then OWF applied again
            // (iterationCount − 1) times.
            let mut input = Zeroizing::new(Vec::with_capacity(secret.len() + salt.len()));
            input.extend_from_slice(secret);
            input.extend_from_slice(salt);
            Ok(primitives.digest_iterated(*owf, &input, *iterations)?)
        }
        ProtectionAlg::Pbmac1 {
            salt,
            iterations,
            key_len,
            prf,
            ..
        } => {
            let mut key = Zeroizing::new(vec![0u8; *key_len]);
            primitives.pbkdf2_hmac(*prf, secret, salt, *iterations, &mut key)?;
            Ok(key)
        }
        ProtectionAlg::Signature(_) => Err(ProtectionError::WrongKind {
            actual: "signature",
            expected: "a shared secret was given",
        }),
    }
}

/// The MAC of `data` under the derived `key` (cheap: one HMAC).
pub(crate) fn mac_with_key(
    alg: &ProtectionAlg,
    key: &[u8],
    data: &[u8],
    primitives: &dyn Primitives,
) -> Result<Vec<u8>, ProtectionError> {
    match alg {
        ProtectionAlg::PasswordBasedMac { mac, .. } | ProtectionAlg::Pbmac1 { mac, .. } => {
            Ok(primitives.hmac(*mac, key, data)?)
        }
        ProtectionAlg::Signature(_) => Err(ProtectionError::WrongKind {
            actual: "signature",
            expected: "a shared secret was given",
        }),
    }
}

/// The MAC of `data` under `secret` as `alg` (a MAC algorithm) says.
pub(crate) fn compute_mac(
    alg: &ProtectionAlg,
    secret: &[u8],
    data: &[u8],
    primitives: &dyn Primitives,
) -> Result<Vec<u8>, ProtectionError> {
    let key = derive_key(alg, secret, primitives)?;
    mac_with_key(alg, &key, data, primitives)
}

/// Protects `msg` with a MAC under `secret`: draws a fresh salt, sets `protectionAlg` and
/// computes `protection` over the message as it will be encoded.
///
/// Derives the key here, blocking for as long as the iteration count asks; an async caller
/// derives it elsewhere with [`MacKeyDerivation`](super::MacKeyDerivation) and protects with
/// [`MacKey::protect`](super::MacKey::protect).
pub fn protect_with_mac(
    msg: &mut PkiMessage,
    secret: &[u8],
    settings: &MacSettings,
    primitives: &dyn Primitives,
) -> Result<(), Error> {
    let mut salt = vec![0u8; settings.salt_len()];
    primitives.fill_random(&mut salt)?;
    let alg_id = settings.algorithm_identifier(&salt)?;
    // Our own settings: parse without limits so a caller may choose any count.
    let alg = ProtectionAlg::parse(&alg_id, &MacLimits::unlimited())?;
    msg.header.protection_alg = Some(alg_id);
    let tbs = msg.protected_part()?;
    let mac = compute_mac(&alg, secret, &tbs, primitives)?;
    msg.protection = Some(BitString::from_vec(mac));
    Ok(())
}

/// Verifies the MAC protection of a received message with `secret`.
///
/// Refuses unsupported algorithms and iteration counts outside `limits` before deriving any
/// key, computes the MAC over the received `ProtectedPart` bytes and compares in constant time.
/// Derives the key here (blocking; see [`MacKeyDerivation`](super::MacKeyDerivation)).
pub fn verify_mac(
    received: &ReceivedMessage,
    secret: &[u8],
    limits: &MacLimits,
    primitives: &dyn Primitives,
) -> Result<(), ProtectionError> {
    let msg = received.message();
    let (alg_id, protection) = protection_parts(msg)?;
    let alg = ProtectionAlg::parse(alg_id, limits)?;
    if let ProtectionAlg::Signature(_) = alg {
        return Err(ProtectionError::WrongKind {
            actual: "signature",
            expected: "only a shared secret was given",
        });
    }
    let expected = compute_mac(&alg, secret, &received.protected_part(), primitives)?;
    if protection.len() % 8 == 0 && constant_time_eq(&expected, protection.as_raw_slice()) {
        Ok(())
    } else {
        Err(ProtectionError::BadMac)
    }
}
