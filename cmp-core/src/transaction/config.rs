//! What a client transaction needs to know: how to protect requests and which responses to
//! trust.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use rasn_pkix::{GeneralName, Name};
use zeroize::Zeroizing;

use crate::asn1::{CmpCertificate, PVNO_CMP2000, null_dn};
use crate::crypto::{CertPathVerifier, PathPolicy, Primitives, SignatureAlgorithm};
use crate::protection::{MacLimits, MacSettings};

/// How our requests are protected.
#[derive(Clone)]
#[non_exhaustive]
#[allow(clippy::large_enum_variant)] // one per transaction
pub enum Credentials {
    /// A shared secret (PBM or PBMAC1); `reference` goes into senderKID.
    Mac {
        /// The secret.
        secret: Zeroizing<Vec<u8>>,
        /// The reference value (`--ref`), sent as senderKID.
        reference: Vec<u8>,
        /// PBM or PBMAC1 parameters.
        settings: MacSettings,
    },
    /// A signature with our certificate's key (the key itself is the driver's: it signs what
    /// the transaction hands out). The certificate and chain go into extraCerts.
    Signature {
        /// Our certificate.
        cert: CmpCertificate,
        /// Its chain (intermediates), sent after it in extraCerts.
        chain: Vec<CmpCertificate>,
        /// The algorithm.
        alg: SignatureAlgorithm,
    },
    /// No protection (only for tests against servers that allow it).
    None,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Mac { settings, .. } => write!(f, "Mac({settings:?})"),
            Credentials::Signature { alg, .. } => write!(f, "Signature({alg})"),
            Credentials::None => f.write_str("None"),
        }
    }
}

/// Which responses we believe.
#[derive(Clone, Debug, Default)]
pub struct ResponseTrust {
    /// Trust anchors for the server's signing certificate (`--trusted`).
    pub trusted: Vec<CmpCertificate>,
    /// More certificates to build its path with (`--untrusted`).
    pub untrusted: Vec<CmpCertificate>,
    /// A pinned server certificate (`--srvcert`): signatures must verify with it.
    pub srvcert: Option<CmpCertificate>,
    /// The sender the responses must name (`--expect-sender`).
    pub expected_sender: Option<Name>,
    /// OpenSSL's `-unprotected_errors` (weakens security): a response whose protection is
    /// missing *or does not verify* is still accepted when it is an error message, a
    /// certificate response whose one response is a rejection, an rp with status rejection,
    /// or a pkiConf — each with a warning ([`Transaction::take_warnings`]); its
    /// transactionID and recipNonce are still checked. A positive ip/cp/kup/ccp/rp/genp is
    /// never accepted without valid protection.
    ///
    /// [`Transaction::take_warnings`]: super::Transaction::take_warnings
    pub unprotected_errors: bool,
    /// Accept a signer without digitalSignature in keyUsage (`--ignore-keyusage`).
    pub ignore_keyusage: bool,
    /// Accepted iteration counts of MAC-protected responses.
    pub mac_limits: MacLimits,
    /// What the server signer's path and the issued certificate's path (`out_trusted`) must
    /// satisfy besides chaining: revocation checking against CRLs (`--crls`,
    /// `--crl-check`, `--crl-check-all`).
    pub path_policy: PathPolicy,
    /// 3GPP TS 33.310 first contact (as OpenSSL's
    /// `OSSL_CMP_OPT_PERMIT_TA_IN_EXTRACERTS_FOR_IR`): for an ip only, when the signer does not
    /// chain to `trusted`, a self-signed certificate in the ip's extraCerts may serve as trust
    /// anchor, provided it validates both the signer and the new certificate. The result names
    /// that root so the caller can pin it. Off by default.
    pub bootstrap_from_ip: bool,
}

/// Everything a transaction needs besides the request itself.
#[derive(Clone)]
pub struct TransactionConfig {
    /// Hashes, MACs, randomness and verification.
    pub primitives: Arc<dyn Primitives>,
    /// Certificate path validation.
    pub paths: Arc<dyn CertPathVerifier>,
    /// pvno of our requests (2 unless a cmp2021 feature is needed).
    pub pvno: i64,
    /// Our name in the header (our certificate's subject with signatures; often the
    /// subject being requested, or NULL-DN, with a MAC).
    pub sender: GeneralName,
    /// The CA's name (`--recipient`), NULL-DN if unknown.
    pub recipient: GeneralName,
    /// How we protect.
    pub credentials: Credentials,
    /// Which responses we believe.
    pub trust: ResponseTrust,
    /// Ask for implicit confirmation (`--implicit-confirm`).
    pub implicit_confirm: bool,
    /// Do not confirm at all (`--disable-confirm`; against RFC 9810 unless the server
    /// grants implicit confirmation).
    pub disable_confirm: bool,
    /// Anchors the issued certificate must chain to (`--out-trusted`).
    pub out_trusted: Vec<CmpCertificate>,
    /// The longest single wait a pollRep may ask for (absurd values are clamped).
    pub max_poll_wait: Duration,
    /// The most pollReq messages in one transaction.
    pub max_polls: u32,
}

impl fmt::Debug for TransactionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransactionConfig")
            .field("pvno", &self.pvno)
            .field("credentials", &self.credentials)
            .field("implicit_confirm", &self.implicit_confirm)
            .finish_non_exhaustive()
    }
}

impl TransactionConfig {
    /// A configuration with defaults: pvno 2, NULL-DN sender and recipient, no trust, at most
    /// 100 polls of at most 10 minutes each.
    pub fn new(
        primitives: Arc<dyn Primitives>,
        paths: Arc<dyn CertPathVerifier>,
        credentials: Credentials,
    ) -> Self {
        TransactionConfig {
            primitives,
            paths,
            pvno: PVNO_CMP2000,
            sender: null_dn(),
            recipient: null_dn(),
            credentials,
            trust: ResponseTrust::default(),
            implicit_confirm: false,
            disable_confirm: false,
            out_trusted: Vec::new(),
            max_poll_wait: Duration::from_secs(600),
            max_polls: 100,
        }
    }
}
