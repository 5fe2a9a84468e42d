//! Reading `protectionAlg`.

use std::ops::RangeInclusive;

use rasn_pkix::AlgorithmIdentifier;

use crate::asn1::{Pbkdf2Params, Pbkdf2Salt, PbmParameter, Pbmac1Params, oid};
use crate::crypto::{DigestAlgorithm, SignatureAlgorithm};
use crate::error::ProtectionError;

/// Accepted iteration counts of received MAC protection, checked before any work is done.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MacLimits {
    /// PasswordBasedMac; default 100..=100 000 (as OpenSSL).
    pub pbm_iterations: RangeInclusive<u32>,
    /// PBMAC1 (PBKDF2); default 1 000..=1 000 000 (real servers send 262 144).
    pub pbmac1_iterations: RangeInclusive<u32>,
    /// Longest accepted salt, in bytes; default 1 024.
    pub max_salt_len: usize,
}

impl Default for MacLimits {
    fn default() -> Self {
        MacLimits {
            pbm_iterations: 100..=100_000,
            pbmac1_iterations: 1_000..=1_000_000,
            max_salt_len: 1024,
        }
    }
}

impl MacLimits {
    /// No limits: for parsing our own settings, whatever count the caller chose.
    pub(crate) fn unlimited() -> Self {
        MacLimits {
            pbm_iterations: 1..=u32::MAX,
            pbmac1_iterations: 1..=u32::MAX,
            max_salt_len: usize::MAX,
        }
    }
}

/// A parsed `protectionAlg`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtectionAlg {
    /// `id-PasswordBasedMac` (RFC 9810 §5.1.3.1).
    PasswordBasedMac {
        /// The salt.
        salt: Vec<u8>,
        /// The one-way function iterated over secret ‖ salt.
        owf: DigestAlgorithm,
        /// How often.
        iterations: u32,
        /// The HMAC hash.
        mac: DigestAlgorithm,
    },
    /// `id-PBMAC1` (RFC 9481 §6.1.2): PBKDF2 then HMAC.
    Pbmac1 {
        /// The salt.
        salt: Vec<u8>,
        /// PBKDF2 iterations.
        iterations: u32,
        /// Derived key length in bytes.
        key_len: usize,
        /// The PBKDF2 pseudo-random function (HMAC over this hash).
        prf: DigestAlgorithm,
        /// The HMAC hash of the message authentication scheme.
        mac: DigestAlgorithm,
    },
    /// A signature.
    Signature(SignatureAlgorithm),
}

impl ProtectionAlg {
    /// `MAC` or `signature`.
    pub fn kind(&self) -> &'static str {
        match self {
            ProtectionAlg::PasswordBasedMac { .. } | ProtectionAlg::Pbmac1 { .. } => "MAC",
            ProtectionAlg::Signature(_) => "signature",
        }
    }

    /// Parses `protectionAlg`, refusing unsupported algorithms and iteration counts outside
    /// `limits`.
    pub fn parse(alg: &AlgorithmIdentifier, limits: &MacLimits) -> Result<Self, ProtectionError> {
        let o: &rasn::types::Oid = &alg.algorithm;
        if o == oid::PASSWORD_BASED_MAC {
            return parse_pbm(alg, limits);
        }
        if o == oid::PBMAC1 {
            return parse_pbmac1(alg, limits);
        }
        SignatureAlgorithm::from_algorithm_identifier(alg)
            .map(ProtectionAlg::Signature)
            .map_err(|_| ProtectionError::UnsupportedAlgorithm(oid::display(o)))
    }
}

/// The protectionAlg and protection of a message, which must be present together.
pub(crate) fn protection_parts(
    msg: &crate::asn1::PkiMessage,
) -> Result<(&AlgorithmIdentifier, &rasn::types::BitString), ProtectionError> {
    match (&msg.header.protection_alg, &msg.protection) {
        (Some(a), Some(p)) => Ok((a, p)),
        (None, None) => Err(ProtectionError::Unprotected),
        _ => Err(ProtectionError::Inconsistent),
    }
}

fn bad(alg: &'static str, reason: impl Into<String>) -> ProtectionError {
    ProtectionError::BadParameters {
        alg,
        reason: reason.into(),
    }
}

fn iterations(
    alg: &'static str,
    count: &rasn::types::Integer,
    range: &RangeInclusive<u32>,
) -> Result<u32, ProtectionError> {
    let wide = i128::try_from(count).unwrap_or(i128::MAX);
    match u32::try_from(wide) {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(ProtectionError::IterationCount {
            alg,
            count: wide,
            min: *range.start(),
            max: *range.end(),
        }),
    }
}

fn salt(alg: &'static str, salt: &[u8], limits: &MacLimits) -> Result<Vec<u8>, ProtectionError> {
    if salt.len() > limits.max_salt_len {
        return Err(bad(
            alg,
            format!(
                "salt of {} bytes is longer than {}",
                salt.len(),
                limits.max_salt_len
            ),
        ));
    }
    Ok(salt.to_vec())
}

fn parse_pbm(
    alg: &AlgorithmIdentifier,
    limits: &MacLimits,
) -> Result<ProtectionAlg, ProtectionError> {
    const NAME: &str = "PasswordBasedMac";
    let params = alg
        .parameters
        .as_ref()
        .ok_or_else(|| bad(NAME, "PBMParameter missing"))?;
    let p: PbmParameter = rasn::der::decode(params.as_bytes()).map_err(|e| {
        bad(
            NAME,
            crate::DecodeError::from_rasn("PBMParameter", &e).to_string(),
        )
    })?;
    let iterations = iterations(NAME, &p.iteration_count, &limits.pbm_iterations)?;
    let owf = DigestAlgorithm::from_oid(&p.owf.algorithm).ok_or_else(|| {
        ProtectionError::UnsupportedAlgorithm(format!(
            "PasswordBasedMac one-way function {}",
            oid::display(&p.owf.algorithm)
        ))
    })?;
    let mac = DigestAlgorithm::from_hmac_oid(&p.mac.algorithm).ok_or_else(|| {
        ProtectionError::UnsupportedAlgorithm(format!(
            "PasswordBasedMac MAC {}",
            oid::display(&p.mac.algorithm)
        ))
    })?;
    Ok(ProtectionAlg::PasswordBasedMac {
        salt: salt(NAME, &p.salt, limits)?,
        owf,
        iterations,
        mac,
    })
}

fn parse_pbmac1(
    alg: &AlgorithmIdentifier,
    limits: &MacLimits,
) -> Result<ProtectionAlg, ProtectionError> {
    const NAME: &str = "PBMAC1";
    let params = alg
        .parameters
        .as_ref()
        .ok_or_else(|| bad(NAME, "PBMAC1-params missing"))?;
    let p: Pbmac1Params = rasn::der::decode(params.as_bytes()).map_err(|e| {
        bad(
            NAME,
            crate::DecodeError::from_rasn("PBMAC1-params", &e).to_string(),
        )
    })?;
    if *p.key_derivation_func.algorithm != *oid::PBKDF2 {
        return Err(ProtectionError::UnsupportedAlgorithm(format!(
            "PBMAC1 key derivation {}",
            oid::display(&p.key_derivation_func.algorithm)
        )));
    }
    let kdf = p
        .key_derivation_func
        .parameters
        .as_ref()
        .ok_or_else(|| bad(NAME, "PBKDF2-params missing"))?;
    let kdf: Pbkdf2Params = rasn::der::decode(kdf.as_bytes()).map_err(|e| {
        bad(
            NAME,
            crate::DecodeError::from_rasn("PBKDF2-params", &e).to_string(),
        )
    })?;
    let Pbkdf2Salt::Specified(salt_bytes) = &kdf.salt else {
        return Err(bad(
            NAME,
            "PBKDF2 salt must be given (otherSource is not supported)",
        ));
    };
    let iterations = iterations(NAME, &kdf.iteration_count, &limits.pbmac1_iterations)?;
    let prf = match &kdf.prf {
        None => DigestAlgorithm::Sha1,
        Some(prf) => DigestAlgorithm::from_hmac_oid(&prf.algorithm).ok_or_else(|| {
            ProtectionError::UnsupportedAlgorithm(format!(
                "PBKDF2 PRF {}",
                oid::display(&prf.algorithm)
            ))
        })?,
    };
    let mac =
        DigestAlgorithm::from_hmac_oid(&p.message_auth_scheme.algorithm).ok_or_else(|| {
            ProtectionError::UnsupportedAlgorithm(format!(
                "PBMAC1 message authentication scheme {}",
                oid::display(&p.message_auth_scheme.algorithm)
            ))
        })?;
    // RFC 9481 §6.1.2: keyLength is required; accept its absence as "the MAC's hash length".
    let key_len = match &kdf.key_length {
        None => mac.output_len(),
        Some(len) => match usize::try_from(i128::try_from(len).unwrap_or(-1)) {
            Ok(n @ 1..=64) => n,
            _ => {
                return Err(bad(
                    NAME,
                    format!("PBKDF2 keyLength {len} is not in 1..=64"),
                ));
            }
        },
    };
    Ok(ProtectionAlg::Pbmac1 {
        salt: salt(NAME, salt_bytes, limits)?,
        iterations,
        key_len,
        prf,
        mac,
    })
}
