//! Checking a message's protection for `inspect --secret / --trusted / --srvcert`.

use std::time::SystemTime;

use cmp_core::asn1::{CmpCertificate, ReceivedMessage};
use cmp_core::crypto::CryptoProvider;
use cmp_core::names::format_name;
use cmp_core::protection::{
    MacLimits, ProtectionAlg, SignerError, SignerTrust, verify_mac, verify_signature, verify_signer,
};
use zeroize::Zeroizing;

/// What the user asked to check protection with.
#[derive(Debug, Default)]
pub(crate) struct Checks {
    /// The shared secret (`--secret`).
    pub(crate) secret: Option<Zeroizing<Vec<u8>>>,
    /// Trust anchors (`--trusted`).
    pub(crate) trusted: Vec<CmpCertificate>,
    /// Extra intermediates (`--untrusted`).
    pub(crate) untrusted: Vec<CmpCertificate>,
    /// A pinned signer certificate (`--srvcert`).
    pub(crate) srvcert: Option<CmpCertificate>,
    /// Accept a signer whose keyUsage lacks digitalSignature.
    pub(crate) ignore_keyusage: bool,
}

impl Checks {
    /// Whether any check was asked for.
    pub(crate) fn requested(&self) -> bool {
        self.secret.is_some() || !self.trusted.is_empty() || self.srvcert.is_some()
    }

    /// `Ok` when the protection verifies, else the reason in one sentence.
    pub(crate) fn verify(
        &self,
        msg: &ReceivedMessage,
        provider: &CryptoProvider,
        now: SystemTime,
    ) -> Result<(), String> {
        let m = msg.message();
        let Some(alg_id) = &m.header.protection_alg else {
            return Err("the message is not protected".into());
        };
        let alg = ProtectionAlg::parse(alg_id, &MacLimits::default()).map_err(|e| e.to_string())?;
        let primitives = provider.primitives.as_ref();
        if alg.kind() == "MAC" {
            let secret = self
                .secret
                .as_ref()
                .ok_or("the message is MAC-protected; give --secret to check it")?;
            return verify_mac(msg, secret, &MacLimits::default(), primitives)
                .map_err(|e| e.to_string());
        }
        if let Some(pinned) = &self.srvcert {
            return verify_signature(msg, pinned, primitives).map_err(|e| e.to_string());
        }
        if self.trusted.is_empty() {
            return Err(
                "the message is signature-protected; give --trusted or --srvcert to check it"
                    .into(),
            );
        }
        let policy = cmp_core::crypto::PathPolicy::default();
        let checked = verify_signer(
            msg,
            SignerTrust {
                untrusted: &self.untrusted,
                anchors: &self.trusted,
                ignore_keyusage: self.ignore_keyusage,
                policy: &policy,
                validated: None,
            },
            primitives,
            provider.paths.as_ref(),
            now,
        );
        match checked {
            Ok(_) => Ok(()),
            Err(SignerError::SenderNotNamed) => Err(
                "the message is signed, but its sender is not a name (a directoryName other than the NULL-DN)"
                    .into(),
            ),
            Err(SignerError::NotValidNow {
                subject,
                not_before,
                not_after,
            }) => Err(format!(
                "the certificate matching the sender, {subject}, is not valid now (valid from {} to {})",
                cmp_core::asn1::format_unix(not_before),
                cmp_core::asn1::format_unix(not_after)
            )),
            Err(SignerError::NoSigner) => Err(
                "no certificate in extraCerts, --untrusted or --trusted matches the sender and senderKID"
                    .into(),
            ),
            Err(SignerError::KeyUsage(subject)) => Err(format!(
                "the signer certificate {subject} does not allow digitalSignature (keyUsage); \
                 --ignore-keyusage accepts it"
            )),
            Err(SignerError::Signature(e)) => Err(e.to_string()),
            Err(SignerError::Path { signer, error, .. }) => Err(format!(
                "the signer certificate {}: {error}",
                format_name(signer.subject())
            )),
        }
    }
}
