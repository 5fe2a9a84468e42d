//! The algorithms CMP protection, POP and certificate hashes use (RFC 9481), and their
//! `AlgorithmIdentifier`s.

use std::fmt;
use std::str::FromStr;

use rasn::prelude::*;
use rasn_pkix::{AlgorithmIdentifier, SubjectPublicKeyInfo};

use crate::asn1::oid;
use crate::error::CryptoError;

/// A hash function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DigestAlgorithm {
    /// SHA-1: only for interoperability with legacy PBM peers and certConf of SHA-1 certificates.
    Sha1,
    /// SHA-224.
    Sha224,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl DigestAlgorithm {
    /// All supported hashes.
    pub const ALL: [DigestAlgorithm; 5] = [
        DigestAlgorithm::Sha1,
        DigestAlgorithm::Sha224,
        DigestAlgorithm::Sha256,
        DigestAlgorithm::Sha384,
        DigestAlgorithm::Sha512,
    ];

    /// Output length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            DigestAlgorithm::Sha1 => 20,
            DigestAlgorithm::Sha224 => 28,
            DigestAlgorithm::Sha256 => 32,
            DigestAlgorithm::Sha384 => 48,
            DigestAlgorithm::Sha512 => 64,
        }
    }

    /// The hash OID (e.g. `sha256`, 2.16.840.1.101.3.4.2.1).
    pub fn oid(self) -> &'static Oid {
        match self {
            DigestAlgorithm::Sha1 => oid::SHA1,
            DigestAlgorithm::Sha224 => oid::SHA224,
            DigestAlgorithm::Sha256 => oid::SHA256,
            DigestAlgorithm::Sha384 => oid::SHA384,
            DigestAlgorithm::Sha512 => oid::SHA512,
        }
    }

    /// The hash for an OID.
    pub fn from_oid(o: &Oid) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.oid() == o)
    }

    /// `AlgorithmIdentifier` with absent parameters (RFC 5754 §2).
    pub fn algorithm_identifier(self) -> AlgorithmIdentifier {
        AlgorithmIdentifier {
            algorithm: self.oid().to_owned(),
            parameters: None,
        }
    }

    /// The `hmacWithSHA*` OID keyed by this hash (RFC 8018 / RFC 4231).
    pub fn hmac_oid(self) -> &'static Oid {
        match self {
            DigestAlgorithm::Sha1 => oid::HMAC_WITH_SHA1,
            DigestAlgorithm::Sha224 => oid::HMAC_WITH_SHA224,
            DigestAlgorithm::Sha256 => oid::HMAC_WITH_SHA256,
            DigestAlgorithm::Sha384 => oid::HMAC_WITH_SHA384,
            DigestAlgorithm::Sha512 => oid::HMAC_WITH_SHA512,
        }
    }

    /// The hash of an HMAC OID: `hmacWithSHA*`, or `hmac-sha1` (1.3.6.1.5.5.8.1.2), which
    /// OpenSSL's PBM uses.
    pub fn from_hmac_oid(o: &Oid) -> Option<Self> {
        if o == oid::HMAC_SHA1 {
            return Some(DigestAlgorithm::Sha1);
        }
        Self::ALL.into_iter().find(|d| d.hmac_oid() == o)
    }

    /// The name as `openssl` spells it (`sha256`).
    pub fn name(self) -> &'static str {
        match self {
            DigestAlgorithm::Sha1 => "sha1",
            DigestAlgorithm::Sha224 => "sha224",
            DigestAlgorithm::Sha256 => "sha256",
            DigestAlgorithm::Sha384 => "sha384",
            DigestAlgorithm::Sha512 => "sha512",
        }
    }
}

impl fmt::Display for DigestAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DigestAlgorithm {
    type Err = CryptoError;

    /// `sha1`, `sha224`, `sha256`, `sha384`, `sha512` (also `SHA-256` …).
    fn from_str(s: &str) -> Result<Self, CryptoError> {
        let norm = s.to_ascii_lowercase().replace('-', "");
        Self::ALL
            .into_iter()
            .find(|d| d.name() == norm)
            .ok_or_else(|| CryptoError::UnsupportedAlgorithm(format!("digest {s:?}")))
    }
}

/// A signature algorithm for message protection, POP and PKCS#10.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignatureAlgorithm {
    /// ECDSA with SHA-256 (`ecdsa-with-SHA256`).
    EcdsaSha256,
    /// ECDSA with SHA-384.
    EcdsaSha384,
    /// ECDSA with SHA-512.
    EcdsaSha512,
    /// RSA PKCS#1 v1.5 with SHA-256 (`sha256WithRSAEncryption`).
    RsaPkcs1Sha256,
    /// RSA PKCS#1 v1.5 with SHA-384.
    RsaPkcs1Sha384,
    /// RSA PKCS#1 v1.5 with SHA-512.
    RsaPkcs1Sha512,
    /// RSASSA-PSS with SHA-256, MGF1-SHA-256, salt 32 bytes.
    RsaPssSha256,
    /// RSASSA-PSS with SHA-384, MGF1-SHA-384, salt 48 bytes.
    RsaPssSha384,
    /// RSASSA-PSS with SHA-512, MGF1-SHA-512, salt 64 bytes.
    RsaPssSha512,
    /// Ed25519 (pure).
    Ed25519,
}

/// `RSASSA-PSS-params` (RFC 4055 §3.1; the PKCS#1 module uses EXPLICIT tags).
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
pub struct RsassaPssParams {
    /// Hash; absent means SHA-1.
    #[rasn(tag(explicit(context, 0)))]
    pub hash_algorithm: Option<AlgorithmIdentifier>,
    /// Mask generation: MGF1 with a hash.
    #[rasn(tag(explicit(context, 1)))]
    pub mask_gen_algorithm: Option<AlgorithmIdentifier>,
    /// Salt length; absent means 20.
    #[rasn(tag(explicit(context, 2)))]
    pub salt_length: Option<Integer>,
    /// Trailer field; absent means 1.
    #[rasn(tag(explicit(context, 3)))]
    pub trailer_field: Option<Integer>,
}

const NULL: [u8; 2] = [0x05, 0x00];

impl SignatureAlgorithm {
    /// All supported algorithms.
    pub const ALL: [SignatureAlgorithm; 10] = [
        SignatureAlgorithm::EcdsaSha256,
        SignatureAlgorithm::EcdsaSha384,
        SignatureAlgorithm::EcdsaSha512,
        SignatureAlgorithm::RsaPkcs1Sha256,
        SignatureAlgorithm::RsaPkcs1Sha384,
        SignatureAlgorithm::RsaPkcs1Sha512,
        SignatureAlgorithm::RsaPssSha256,
        SignatureAlgorithm::RsaPssSha384,
        SignatureAlgorithm::RsaPssSha512,
        SignatureAlgorithm::Ed25519,
    ];

    /// The hash inside the signature; for Ed25519 SHA-512 (the hash certConf uses, RFC 9810
    /// §5.3.18).
    pub fn digest(self) -> DigestAlgorithm {
        use SignatureAlgorithm::*;
        match self {
            EcdsaSha256 | RsaPkcs1Sha256 | RsaPssSha256 => DigestAlgorithm::Sha256,
            EcdsaSha384 | RsaPkcs1Sha384 | RsaPssSha384 => DigestAlgorithm::Sha384,
            EcdsaSha512 | RsaPkcs1Sha512 | RsaPssSha512 | Ed25519 => DigestAlgorithm::Sha512,
        }
    }

    /// The key type that makes this signature.
    pub fn key_family(self) -> KeyFamily {
        use SignatureAlgorithm::*;
        match self {
            EcdsaSha256 | EcdsaSha384 | EcdsaSha512 => KeyFamily::Ec,
            RsaPkcs1Sha256 | RsaPkcs1Sha384 | RsaPkcs1Sha512 | RsaPssSha256 | RsaPssSha384
            | RsaPssSha512 => KeyFamily::Rsa,
            Ed25519 => KeyFamily::Ed25519,
        }
    }

    /// The `AlgorithmIdentifier` (RFC 9481 §3): ECDSA and Ed25519 without parameters,
    /// PKCS#1 v1.5 with NULL, PSS with full `RSASSA-PSS-params`.
    pub fn algorithm_identifier(self) -> AlgorithmIdentifier {
        use SignatureAlgorithm::*;
        let (o, params): (&Oid, Option<Any>) = match self {
            EcdsaSha256 => (oid::ECDSA_WITH_SHA256, None),
            EcdsaSha384 => (oid::ECDSA_WITH_SHA384, None),
            EcdsaSha512 => (oid::ECDSA_WITH_SHA512, None),
            RsaPkcs1Sha256 => (oid::SHA256_WITH_RSA, Some(Any::new(NULL.to_vec()))),
            RsaPkcs1Sha384 => (oid::SHA384_WITH_RSA, Some(Any::new(NULL.to_vec()))),
            RsaPkcs1Sha512 => (oid::SHA512_WITH_RSA, Some(Any::new(NULL.to_vec()))),
            RsaPssSha256 | RsaPssSha384 | RsaPssSha512 => {
                let d = self.digest();
                // RFC 4055 §5 spells the hash identifiers with NULL parameters.
                let hash = AlgorithmIdentifier {
                    algorithm: d.oid().to_owned(),
                    parameters: Some(Any::new(NULL.to_vec())),
                };
                let mgf = AlgorithmIdentifier {
                    algorithm: oid::MGF1.to_owned(),
                    parameters: Some(Any::new(rasn::der::encode(&hash).unwrap_or_default())),
                };
                let params = RsassaPssParams {
                    hash_algorithm: Some(hash),
                    mask_gen_algorithm: Some(mgf),
                    salt_length: Some(Integer::from(d.output_len() as i64)),
                    trailer_field: None,
                };
                (
                    oid::RSASSA_PSS,
                    rasn::der::encode(&params).ok().map(Any::new),
                )
            }
            Ed25519 => (oid::ED25519, None),
        };
        AlgorithmIdentifier {
            algorithm: o.to_owned(),
            parameters: params,
        }
    }

    /// The algorithm an `AlgorithmIdentifier` names. PSS is accepted only with MGF1 over the
    /// same hash and a salt as long as the hash (RFC 9481 §3.2); anything else is unsupported.
    pub fn from_algorithm_identifier(alg: &AlgorithmIdentifier) -> Result<Self, CryptoError> {
        use SignatureAlgorithm::*;
        let o: &Oid = &alg.algorithm;
        let simple = [
            (oid::ECDSA_WITH_SHA256, EcdsaSha256),
            (oid::ECDSA_WITH_SHA384, EcdsaSha384),
            (oid::ECDSA_WITH_SHA512, EcdsaSha512),
            (oid::SHA256_WITH_RSA, RsaPkcs1Sha256),
            (oid::SHA384_WITH_RSA, RsaPkcs1Sha384),
            (oid::SHA512_WITH_RSA, RsaPkcs1Sha512),
            (oid::ED25519, Ed25519),
        ];
        if let Some((_, a)) = simple.iter().find(|(x, _)| *x == o) {
            return Ok(*a);
        }
        if o == oid::RSASSA_PSS {
            return Self::pss_from_params(alg.parameters.as_ref());
        }
        Err(CryptoError::UnsupportedAlgorithm(format!(
            "signature algorithm {}",
            oid::display(o)
        )))
    }

    fn pss_from_params(params: Option<&Any>) -> Result<Self, CryptoError> {
        let bad = |why: &str| CryptoError::UnsupportedAlgorithm(format!("RSASSA-PSS {why}"));
        let params = params.ok_or_else(|| bad("without parameters"))?;
        let p: RsassaPssParams =
            rasn::der::decode(params.as_bytes()).map_err(|_| bad("with malformed parameters"))?;
        let hash = p
            .hash_algorithm
            .as_ref()
            .and_then(|h| DigestAlgorithm::from_oid(&h.algorithm))
            .ok_or_else(|| bad("with a hash other than SHA-256/384/512"))?;
        let mgf_hash = p
            .mask_gen_algorithm
            .as_ref()
            .filter(|m| *m.algorithm == *oid::MGF1)
            .and_then(|m| m.parameters.as_ref())
            .and_then(|a| rasn::der::decode::<AlgorithmIdentifier>(a.as_bytes()).ok())
            .and_then(|h| DigestAlgorithm::from_oid(&h.algorithm));
        if mgf_hash != Some(hash) {
            return Err(bad(
                "with a mask generation other than MGF1 over the same hash",
            ));
        }
        let salt = p.salt_length.as_ref().and_then(|s| i64::try_from(s).ok());
        if salt != Some(hash.output_len() as i64) {
            return Err(bad("with a salt length other than the hash length"));
        }
        if p.trailer_field
            .as_ref()
            .is_some_and(|t| *t != Integer::from(1))
        {
            return Err(bad("with a trailer field other than 1"));
        }
        match hash {
            DigestAlgorithm::Sha256 => Ok(SignatureAlgorithm::RsaPssSha256),
            DigestAlgorithm::Sha384 => Ok(SignatureAlgorithm::RsaPssSha384),
            DigestAlgorithm::Sha512 => Ok(SignatureAlgorithm::RsaPssSha512),
            _ => Err(bad("with a hash other than SHA-256/384/512")),
        }
    }

    /// A short name: `ecdsa-with-SHA256`, `sha256WithRSAEncryption`, `rsassa-pss-sha256`,
    /// `Ed25519`.
    pub fn name(self) -> &'static str {
        use SignatureAlgorithm::*;
        match self {
            EcdsaSha256 => "ecdsa-with-SHA256",
            EcdsaSha384 => "ecdsa-with-SHA384",
            EcdsaSha512 => "ecdsa-with-SHA512",
            RsaPkcs1Sha256 => "sha256WithRSAEncryption",
            RsaPkcs1Sha384 => "sha384WithRSAEncryption",
            RsaPkcs1Sha512 => "sha512WithRSAEncryption",
            RsaPssSha256 => "rsassa-pss-sha256",
            RsaPssSha384 => "rsassa-pss-sha384",
            RsaPssSha512 => "rsassa-pss-sha512",
            Ed25519 => "Ed25519",
        }
    }
}

impl fmt::Display for SignatureAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The broad kind of a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyFamily {
    /// Elliptic curve (ECDSA).
    Ec,
    /// RSA.
    Rsa,
    /// Ed25519.
    Ed25519,
}

/// A key to generate, as the agent's `--newkey gen:ALG` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeySpec {
    /// ECDSA on P-256 (`ec:P-256`).
    EcP256,
    /// ECDSA on P-384 (`ec:P-384`).
    EcP384,
    /// RSA with a modulus of this many bits (`rsa:2048`, `rsa:3072`, `rsa:4096`).
    Rsa(u32),
    /// Ed25519 (`ed25519`).
    Ed25519,
}

impl KeySpec {
    /// The signature algorithm used with such a key unless told otherwise.
    pub fn default_signature_algorithm(self) -> SignatureAlgorithm {
        match self {
            KeySpec::EcP256 => SignatureAlgorithm::EcdsaSha256,
            KeySpec::EcP384 => SignatureAlgorithm::EcdsaSha384,
            KeySpec::Rsa(_) => SignatureAlgorithm::RsaPkcs1Sha256,
            KeySpec::Ed25519 => SignatureAlgorithm::Ed25519,
        }
    }

    /// The family.
    pub fn family(self) -> KeyFamily {
        match self {
            KeySpec::EcP256 | KeySpec::EcP384 => KeyFamily::Ec,
            KeySpec::Rsa(_) => KeyFamily::Rsa,
            KeySpec::Ed25519 => KeyFamily::Ed25519,
        }
    }

    /// The key spec of a public key, read from its SubjectPublicKeyInfo.
    pub fn of_public_key(spki: &SubjectPublicKeyInfo) -> Result<Self, CryptoError> {
        let alg: &Oid = &spki.algorithm.algorithm;
        if alg == oid::EC_PUBLIC_KEY {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| rasn::der::decode::<ObjectIdentifier>(p.as_bytes()).ok());
            return match curve.as_deref() {
                Some(c) if c == oid::SECP256R1 => Ok(KeySpec::EcP256),
                Some(c) if c == oid::SECP384R1 => Ok(KeySpec::EcP384),
                Some(c) => Err(CryptoError::UnsupportedAlgorithm(format!(
                    "elliptic curve {}",
                    oid::display(c)
                ))),
                None => Err(CryptoError::UnsupportedAlgorithm(
                    "EC key without a named curve".into(),
                )),
            };
        }
        if alg == oid::ED25519 {
            return Ok(KeySpec::Ed25519);
        }
        if alg == oid::RSA_ENCRYPTION {
            let bits =
                rsa_modulus_bits(spki.subject_public_key.as_raw_slice()).ok_or_else(|| {
                    CryptoError::InvalidKey("RSA public key is not a valid RSAPublicKey".into())
                })?;
            return Ok(KeySpec::Rsa(bits));
        }
        Err(CryptoError::UnsupportedAlgorithm(format!(
            "public key algorithm {}",
            oid::display(alg)
        )))
    }

    /// Whether `alg` can be made with a key of this spec.
    pub fn allows(self, alg: SignatureAlgorithm) -> bool {
        self.family() == alg.key_family()
    }

    /// [`KeySpec::allows`] as a result, with the error every backend reports
    /// ([`key_mismatch`]).
    pub fn check_allows(self, alg: SignatureAlgorithm) -> Result<(), CryptoError> {
        if self.allows(alg) {
            Ok(())
        } else {
            Err(key_mismatch(alg, self))
        }
    }
}

/// The [`CryptoError::KeyMismatch`] for a signature algorithm a key of `spec` cannot make or
/// check; backends use it where a match over (key, algorithm) falls through.
pub fn key_mismatch(alg: SignatureAlgorithm, spec: KeySpec) -> CryptoError {
    CryptoError::KeyMismatch(format!("a {spec} key cannot make or check {alg}"))
}

/// Bit length of the modulus of a DER `RSAPublicKey`.
fn rsa_modulus_bits(der: &[u8]) -> Option<u32> {
    let seq = crate::der::Reader::new(der, 0).read().ok()?;
    let n = seq.children().read().ok()?;
    let zeros = n.value.iter().take_while(|b| **b == 0).count();
    let digits = &n.value[zeros..];
    let first = *digits.first()?;
    Some((digits.len() as u32 - 1) * 8 + (8 - first.leading_zeros()))
}

impl fmt::Display for KeySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySpec::EcP256 => f.write_str("ec:P-256"),
            KeySpec::EcP384 => f.write_str("ec:P-384"),
            KeySpec::Rsa(bits) => write!(f, "rsa:{bits}"),
            KeySpec::Ed25519 => f.write_str("ed25519"),
        }
    }
}

impl FromStr for KeySpec {
    type Err = CryptoError;

    /// `ec:P-256`, `ec:P-384`, `rsa:2048`, `rsa:3072`, `rsa:4096`, `ed25519`.
    fn from_str(s: &str) -> Result<Self, CryptoError> {
        let lower = s.to_ascii_lowercase();
        match lower.as_str() {
            "ec:p-256" | "ec:p256" | "ec:prime256v1" | "ec:secp256r1" => Ok(KeySpec::EcP256),
            "ec:p-384" | "ec:p384" | "ec:secp384r1" => Ok(KeySpec::EcP384),
            "ed25519" => Ok(KeySpec::Ed25519),
            _ => match lower.strip_prefix("rsa:").map(str::parse::<u32>) {
                Some(Ok(bits @ (2048 | 3072 | 4096))) => Ok(KeySpec::Rsa(bits)),
                _ => Err(CryptoError::UnsupportedAlgorithm(format!(
                    "key type {s:?} (use ec:P-256, ec:P-384, rsa:2048, rsa:3072, rsa:4096 or ed25519)"
                ))),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_signature_algorithm_roundtrips_through_its_identifier() {
        for alg in SignatureAlgorithm::ALL {
            let id = alg.algorithm_identifier();
            assert_eq!(
                SignatureAlgorithm::from_algorithm_identifier(&id).expect("known"),
                alg
            );
        }
    }

    #[test]
    fn pss_sha256_parameters_are_the_rfc_4055_bytes() {
        let id = SignatureAlgorithm::RsaPssSha256.algorithm_identifier();
        let der = rasn::der::encode(&id).expect("encodes");
        // RFC 4055 §5 rSASSA-PSS-SHA256-Params: hash and MGF1 hash with NULL parameters,
        // salt 32, trailer absent.
        assert_eq!(
            hex::encode(der),
            concat!(
                "304106092a864886f70d01010a3034",
                "a00f300d06096086480165030402010500",
                "a11c301a06092a864886f70d010108300d06096086480165030402010500",
                "a203020120"
            )
        );
    }

    #[test]
    fn pss_with_odd_parameters_is_refused() {
        let mut id = SignatureAlgorithm::RsaPssSha256.algorithm_identifier();
        let mut p: RsassaPssParams =
            rasn::der::decode(id.parameters.as_ref().expect("params").as_bytes()).expect("params");
        p.salt_length = Some(Integer::from(20));
        id.parameters = Some(Any::new(rasn::der::encode(&p).expect("encodes")));
        assert_eq!(
            SignatureAlgorithm::from_algorithm_identifier(&id)
                .expect_err("odd salt")
                .to_string(),
            "unsupported algorithm: RSASSA-PSS with a salt length other than the hash length"
        );
    }

    #[test]
    fn key_specs_parse_and_print() {
        for s in [
            "ec:P-256", "ec:P-384", "rsa:2048", "rsa:3072", "rsa:4096", "ed25519",
        ] {
            assert_eq!(s.parse::<KeySpec>().expect(s).to_string(), s);
        }
        assert_eq!(
            "rsa:1024"
                .parse::<KeySpec>()
                .expect_err("too small")
                .to_string(),
            "unsupported algorithm: key type \"rsa:1024\" (use ec:P-256, ec:P-384, rsa:2048, rsa:3072, rsa:4096 or ed25519)"
        );
        assert_eq!(
            "dsa"
                .parse::<DigestAlgorithm>()
                .expect_err("no")
                .to_string(),
            "unsupported algorithm: digest \"dsa\""
        );
        assert_eq!(
            "SHA-256".parse::<DigestAlgorithm>().expect("sha"),
            DigestAlgorithm::Sha256
        );
    }

    #[test]
    fn rsa_modulus_length() {
        // SEQUENCE { INTEGER 0x00 0x80 00..(255 bytes), INTEGER 65537 } → 2048 bits.
        let mut n = vec![0x02, 0x82, 0x01, 0x01, 0x00, 0x80];
        n.extend([0u8; 255]);
        let e = [0x02, 0x03, 0x01, 0x00, 0x01];
        let len = n.len() + e.len();
        let mut der = vec![0x30, 0x82, (len >> 8) as u8, len as u8];
        der.extend(n);
        der.extend(e);
        assert_eq!(rsa_modulus_bits(&der), Some(2048));
    }
}
