//! MAC key derivation as a job of its own: the expensive half of MAC protection (PBM's
//! iterated hash, PBMAC1's PBKDF2 — about a second at a million iterations), which the
//! sans-IO machines hand out so that a driver runs it on a bounded blocking pool instead of an
//! async worker thread, and the cheap half (one HMAC) with the derived [`MacKey`].

use std::fmt;
use std::sync::Arc;

use rasn::types::BitString;
use rasn_pkix::AlgorithmIdentifier;
use zeroize::Zeroizing;

use super::alg::{MacLimits, ProtectionAlg, protection_parts};
use super::mac::{MacSettings, derive_key, mac_with_key};
use crate::asn1::{PkiMessage, ReceivedMessage};
use crate::crypto::{Primitives, constant_time_eq};
use crate::error::{Error, ProtectionError};

/// A MAC key to derive: the `protectionAlg` (with its salt and iteration count), the shared
/// secret and the primitives. [`derive`](Self::derive) blocks for as long as the iteration
/// count asks; everything a pool thread needs is inside (`Send + 'static`).
///
/// The secret is zeroized when dropped and never shown by `Debug`.
#[derive(Clone)]
pub struct MacKeyDerivation {
    alg_id: AlgorithmIdentifier,
    alg: ProtectionAlg,
    secret: Zeroizing<Vec<u8>>,
    primitives: Arc<dyn Primitives>,
}

impl fmt::Debug for MacKeyDerivation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MacKeyDerivation")
            .field("alg", &self.alg.kind())
            .field("iterations", &self.iterations())
            .finish_non_exhaustive()
    }
}

impl PartialEq for MacKeyDerivation {
    /// The same algorithm and parameters (the secrets are not compared).
    fn eq(&self, other: &Self) -> bool {
        self.alg_id == other.alg_id
    }
}

impl Eq for MacKeyDerivation {}

impl MacKeyDerivation {
    /// The derivation `alg_id` (a received `protectionAlg`) asks for with `secret`; refuses
    /// a signature algorithm, an unsupported MAC and an iteration count outside `limits`
    /// before any work.
    pub fn new(
        alg_id: &AlgorithmIdentifier,
        limits: &MacLimits,
        secret: &[u8],
        primitives: Arc<dyn Primitives>,
    ) -> Result<Self, ProtectionError> {
        let alg = ProtectionAlg::parse(alg_id, limits)?;
        if let ProtectionAlg::Signature(_) = alg {
            return Err(ProtectionError::WrongKind {
                actual: "signature",
                expected: "a MAC key was to be derived",
            });
        }
        Ok(MacKeyDerivation {
            alg_id: alg_id.clone(),
            alg,
            secret: Zeroizing::new(secret.to_vec()),
            primitives,
        })
    }

    /// The derivation for our own `settings` with a fresh salt drawn from `primitives`
    /// (any iteration count the settings name).
    pub fn for_settings(
        settings: &MacSettings,
        secret: &[u8],
        primitives: Arc<dyn Primitives>,
    ) -> Result<Self, Error> {
        let mut salt = vec![0u8; settings.salt_len()];
        primitives.fill_random(&mut salt)?;
        let alg_id = settings.algorithm_identifier(&salt)?;
        Ok(Self::new(
            &alg_id,
            &MacLimits::unlimited(),
            secret,
            primitives,
        )?)
    }

    /// The `protectionAlg` this key is for.
    pub fn algorithm_identifier(&self) -> &AlgorithmIdentifier {
        &self.alg_id
    }

    /// The parsed algorithm.
    pub fn alg(&self) -> &ProtectionAlg {
        &self.alg
    }

    /// The iteration count (what the derivation costs).
    pub fn iterations(&self) -> u32 {
        match &self.alg {
            ProtectionAlg::PasswordBasedMac { iterations, .. }
            | ProtectionAlg::Pbmac1 { iterations, .. } => *iterations,
            ProtectionAlg::Signature(_) => 0,
        }
    }

    /// Derives the key. **Blocks** (PBKDF2 with a million iterations takes about a second):
    /// run it on a blocking pool, never on an async worker thread.
    pub fn derive(&self) -> Result<MacKey, ProtectionError> {
        let key = derive_key(&self.alg, &self.secret, self.primitives.as_ref())?;
        Ok(MacKey {
            alg_id: self.alg_id.clone(),
            alg: self.alg.clone(),
            key,
            primitives: self.primitives.clone(),
        })
    }
}

/// A derived MAC key for one `protectionAlg` (algorithm, salt, iteration count) and secret:
/// protecting or checking a message with it is one HMAC.
///
/// Zeroized when dropped; never shown by `Debug`.
#[derive(Clone)]
pub struct MacKey {
    alg_id: AlgorithmIdentifier,
    alg: ProtectionAlg,
    key: Zeroizing<Vec<u8>>,
    primitives: Arc<dyn Primitives>,
}

impl fmt::Debug for MacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MacKey")
            .field("alg", &self.alg.kind())
            .finish_non_exhaustive()
    }
}

impl MacKey {
    /// The `protectionAlg` the key was derived for.
    pub fn algorithm_identifier(&self) -> &AlgorithmIdentifier {
        &self.alg_id
    }

    /// Whether this key serves `alg_id` (the same algorithm and parameters, salt included).
    pub fn serves(&self, alg_id: &AlgorithmIdentifier) -> bool {
        self.alg_id == *alg_id
    }

    /// Protects `msg`: sets `protectionAlg` to the key's and computes `protection` over the
    /// message as it will be encoded.
    pub fn protect(&self, msg: &mut PkiMessage) -> Result<(), Error> {
        msg.header.protection_alg = Some(self.alg_id.clone());
        let tbs = msg.protected_part()?;
        let mac = mac_with_key(&self.alg, &self.key, &tbs, self.primitives.as_ref())?;
        msg.protection = Some(BitString::from_vec(mac));
        Ok(())
    }

    /// Checks the MAC of a received message over its received `ProtectedPart` bytes, in
    /// constant time; its `protectionAlg` must be the key's
    /// ([`ProtectionError::WrongKind`] otherwise).
    pub fn verify(&self, received: &ReceivedMessage) -> Result<(), ProtectionError> {
        let (alg_id, protection) = protection_parts(received.message())?;
        if !self.serves(alg_id) {
            return Err(ProtectionError::WrongKind {
                actual: "MAC-with-other-parameters",
                expected: "the key was derived for other parameters",
            });
        }
        let expected = mac_with_key(
            &self.alg,
            &self.key,
            &received.protected_part(),
            self.primitives.as_ref(),
        )?;
        if protection.len() % 8 == 0 && constant_time_eq(&expected, protection.as_raw_slice()) {
            Ok(())
        } else {
            Err(ProtectionError::BadMac)
        }
    }
}
