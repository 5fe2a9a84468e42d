//! Optional key capabilities beyond signing: decryption and key agreement, needed for
//! encrypted certificates and centrally generated keys (RFC 9810 §5.2.2, RFC 4211 §2.1.9). A
//! backend that lacks one says so with [`CryptoError::NotCapable`](crate::CryptoError).

use super::DigestAlgorithm;

/// How a key decrypts.
///
/// RSAES-PKCS1-v1_5 decryption is deliberately absent: its padding check is the classic
/// Bleichenbacher oracle, and RFC 9810 §5.2.2 recommends key transport with OAEP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecryptionAlgorithm {
    /// RSAES-OAEP (RFC 8017 §7.1) with this hash for OAEP and for MGF1, and no label.
    RsaesOaep(DigestAlgorithm),
}

impl DecryptionAlgorithm {
    /// Every decryption algorithm.
    pub const ALL: [DecryptionAlgorithm; 5] = [
        DecryptionAlgorithm::RsaesOaep(DigestAlgorithm::Sha1),
        DecryptionAlgorithm::RsaesOaep(DigestAlgorithm::Sha224),
        DecryptionAlgorithm::RsaesOaep(DigestAlgorithm::Sha256),
        DecryptionAlgorithm::RsaesOaep(DigestAlgorithm::Sha384),
        DecryptionAlgorithm::RsaesOaep(DigestAlgorithm::Sha512),
    ];

    /// Its name in the plugin ABI's vocabulary, e.g. `rsaes-oaep-sha256`.
    pub fn name(self) -> &'static str {
        match self {
            DecryptionAlgorithm::RsaesOaep(d) => match d {
                DigestAlgorithm::Sha1 => "rsaes-oaep-sha1",
                DigestAlgorithm::Sha224 => "rsaes-oaep-sha224",
                DigestAlgorithm::Sha256 => "rsaes-oaep-sha256",
                DigestAlgorithm::Sha384 => "rsaes-oaep-sha384",
                DigestAlgorithm::Sha512 => "rsaes-oaep-sha512",
            },
        }
    }
}

impl std::fmt::Display for DecryptionAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
