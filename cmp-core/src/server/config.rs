//! What the server engine needs to know: secrets, trust, its own names and credentials, and
//! the policy knobs.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use rasn_pkix::Name;
use zeroize::Zeroizing;

use super::store::DEFAULT_TRANSACTION_TTL;
use crate::asn1::{
    CertReqTemplateContent, CmpCertificate, DecodeLimits, FailureBit, PkiFailureInfo, PkiStatus,
    PkiStatusInfo, RootCaKeyUpdateContent,
};
use crate::crypto::{CertPathVerifier, Primitives, SignatureAlgorithm};
use crate::protection::MacLimits;

/// The shared secrets of MAC-protected clients, found by reference (the senderKID they send).
///
/// Secrets are zeroized when dropped and never shown by `Debug`.
#[derive(Clone, Default)]
pub struct SharedSecrets {
    secrets: HashMap<Vec<u8>, Zeroizing<Vec<u8>>>,
}

impl SharedSecrets {
    /// No secrets.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) the secret of `reference`.
    pub fn insert(&mut self, reference: impl Into<Vec<u8>>, secret: Zeroizing<Vec<u8>>) {
        self.secrets.insert(reference.into(), secret);
    }

    /// The secret of `reference`.
    pub fn get(&self, reference: &[u8]) -> Option<&[u8]> {
        self.secrets.get(reference).map(|s| s.as_slice())
    }

    /// How many secrets there are.
    pub fn len(&self) -> usize {
        self.secrets.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }
}

impl fmt::Debug for SharedSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedSecrets")
            .field("references", &self.secrets.len())
            .finish_non_exhaustive()
    }
}

/// The certificate that signs responses; its key is the driver's (it signs what
/// [`ServerStep::Sign`](super::ServerStep::Sign) hands out).
#[derive(Clone, Debug)]
pub struct ResponseSigner {
    /// The signing certificate (its subject becomes the responses' sender).
    pub cert: CmpCertificate,
    /// Its chain, sent after it in extraCerts.
    pub chain: Vec<CmpCertificate>,
    /// The signature algorithm.
    pub alg: SignatureAlgorithm,
}

/// How responses are protected.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResponseProtection {
    /// As the request: a MAC-protected request gets a MAC with the key that verified it
    /// (the request's `protectionAlg`, salt and iteration count included, so the response
    /// costs no second key derivation), a signed request a signature by the
    /// [`ResponseSigner`].
    #[default]
    AsRequest,
    /// Always a signature by the [`ResponseSigner`].
    Signature,
}

/// What a genp answers besides caCerts (RFC 9483 §4.3).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GenpContent {
    /// The answer to rootCaCert (and to a bare rootCaKeyUpdate, as OpenSSL 3.0 asks):
    /// newWithNew, newWithOld, oldWithNew. When the request names its old root and
    /// newWithOld is given, the update is answered only if newWithOld verifies under that
    /// root's key (else: no update for that root).
    pub root_ca_key_update: Option<RootCaKeyUpdateContent>,
    /// The answer to certReqTemplate.
    pub cert_req_template: Option<CertReqTemplateContent>,
    /// Answer crlStatusList with the issuer's CRL ([`ServerStep::CurrentCrl`](super::ServerStep::CurrentCrl))
    /// when it is newer than the thisUpdate the client has.
    pub crls: bool,
}

/// Where the MAC key of a MAC-protected request is derived (PBM's iterated hash or PBMAC1's
/// PBKDF2: up to about a second at the highest accepted iteration count).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum MacDerivation {
    /// Inside the machine's call, blocking the caller (for synchronous drivers and tests).
    #[default]
    Inline,
    /// Handed out as [`ServerStep::DeriveMacKey`](super::ServerStep::DeriveMacKey), for the
    /// driver to run on a bounded blocking pool (what cmp-server does).
    Step,
}

/// The status certificate responses carry instead of their own (`--pkistatus`,
/// `--failure`/`--failurebits`, `--statusstring`): with `rejection` nothing is issued and the
/// response is a rejection with these values; with another status the certificate is issued
/// and the response carries this status, failInfo and text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForcedStatus {
    /// The PKIStatus: 0 accepted, 1 grantedWithMods, 2 rejection, 4 revocationWarning,
    /// 5 revocationNotification, 6 keyUpdateWarning (for 3, waiting, use
    /// [`TestKnobs::poll_count`]).
    pub status: PkiStatus,
    /// The failInfo bits (none: no failInfo).
    pub fail_info: Vec<FailureBit>,
    /// The statusString.
    pub text: Option<String>,
}

impl ForcedStatus {
    /// The PKIStatusInfo.
    pub fn status_info(&self) -> PkiStatusInfo {
        PkiStatusInfo {
            status: self.status,
            status_string: self
                .text
                .as_ref()
                .map(|t| vec![rasn::types::Utf8String::from(t.as_str())]),
            fail_info: (!self.fail_info.is_empty())
                .then(|| PkiFailureInfo::from_bits(self.fail_info.iter().copied())),
        }
    }
}

/// Test knobs named like the options of OpenSSL's mock server (`openssl cmp -port`), to test
/// how clients handle odd answers. All off by default; never for production.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TestKnobs {
    /// Answer every request that passes the checks of the header (steps 1–8) with an `error`
    /// message, badRequest (`--send-error`); a client's error is still confirmed.
    pub send_error: bool,
    /// Send every response without protection (`--send-unprotected`).
    pub send_unprotected: bool,
    /// Send negative responses — error messages, rejections in ip/cp/kup/ccp and rp — without
    /// protection (`--send-unprot-err`; violates RFC 9810).
    pub send_unprotected_errors: bool,
    /// The status of certificate responses (`--pkistatus` and friends).
    pub cert_status: Option<ForcedStatus>,
    /// Delayed delivery (`--poll-count`): a certificate response first says `waiting`, and
    /// the client polls this many times; the last pollReq gets the certificate, the ones
    /// before a pollRep. 0: the certificate comes at once.
    pub poll_count: u32,
    /// The checkAfter of those pollReps, in seconds (`--check-after`).
    pub check_after: u64,
}

/// Everything the server engine needs besides the request.
#[derive(Clone)]
pub struct ServerConfig {
    /// Hashes, MACs, randomness (nonces, salts) and verification.
    pub primitives: Arc<dyn Primitives>,
    /// Certificate path validation of client signers.
    pub paths: Arc<dyn CertPathVerifier>,
    /// The shared secrets of MAC-protected clients.
    pub secrets: SharedSecrets,
    /// Accepted iteration counts of MAC-protected requests (checked before any work).
    pub mac_limits: MacLimits,
    /// Where MAC keys are derived: inline (the default of [`ServerConfig::new`]) or handed
    /// out as a step. An async driver must choose [`MacDerivation::Step`].
    pub mac_derivation: MacDerivation,
    /// Limits on received messages.
    pub decode_limits: DecodeLimits,
    /// Trust anchors for client signatures (e.g. a vendor root for 3GPP-style ir). The CA's
    /// own certificates ([`ServerConfig::ca_certs`]) are anchors too, so certificates this CA
    /// issued authenticate cr, kur and rr.
    pub client_anchors: Vec<CmpCertificate>,
    /// Intermediates that help build client signers' paths.
    pub untrusted: Vec<CmpCertificate>,
    /// The issuing CA's certificate and its chain (from
    /// [`Issuer::ca_certificates`](super::Issuer::ca_certificates)): extraCerts of certificate
    /// responses and the answer to genm caCerts.
    pub ca_certs: Vec<CmpCertificate>,
    /// Our name in responses (and the recipient requests may name besides the NULL-DN); the
    /// signer's subject replaces it in signed responses.
    pub name: Name,
    /// Signs responses; needed for signed requests.
    pub signer: Option<ResponseSigner>,
    /// How responses are protected.
    pub response_protection: ResponseProtection,
    /// Registration authorities: signers that may send `raVerified` POP and revoke any
    /// certificate of this CA.
    pub ra_certs: Vec<CmpCertificate>,
    /// Accept `raVerified` POP from any authenticated client (`--accept-raverified`).
    pub accept_ra_verified: bool,
    /// Accept unprotected requests (`--accept-unprotected`; for tests only).
    pub accept_unprotected: bool,
    /// Accepted distance between a request's messageTime and our clock; `None`: not checked.
    pub max_time_skew: Option<Duration>,
    /// Grant implicit confirmation when a request asks for it (`--grant-implicit-confirm`;
    /// off by default, as in OpenSSL's mock server).
    pub grant_implicit_confirm: bool,
    /// Certificates offered as trust anchors in caPubs of ip, cp and ccp.
    pub ca_pubs: Vec<CmpCertificate>,
    /// How long a transaction is remembered after its last message.
    pub transaction_ttl: Duration,
    /// What genp answers besides caCerts (nothing by default).
    pub genp: GenpContent,
    /// Test knobs (all off by default).
    pub test: TestKnobs,
}

impl fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerConfig")
            .field("secrets", &self.secrets)
            .field("client_anchors", &self.client_anchors.len())
            .field("ca_certs", &self.ca_certs.len())
            .field("signer", &self.signer.as_ref().map(|s| s.alg))
            .field("response_protection", &self.response_protection)
            .finish_non_exhaustive()
    }
}

impl ServerConfig {
    /// A configuration for the CA whose certificate and chain are `ca_certs` (issuing CA
    /// first): named by the CA's subject, no secrets, no client anchors besides the CA, no
    /// signer, default MAC limits, messageTime within 5 minutes, implicit confirmation not
    /// granted, transactions remembered for 10 minutes.
    pub fn new(
        primitives: Arc<dyn Primitives>,
        paths: Arc<dyn CertPathVerifier>,
        ca_certs: Vec<CmpCertificate>,
    ) -> Self {
        let name = ca_certs
            .first()
            .map(|c| c.subject().clone())
            .unwrap_or_else(|| Name::RdnSequence(Vec::new()));
        ServerConfig {
            primitives,
            paths,
            secrets: SharedSecrets::new(),
            mac_limits: MacLimits::default(),
            mac_derivation: MacDerivation::Inline,
            decode_limits: DecodeLimits::default(),
            client_anchors: Vec::new(),
            untrusted: Vec::new(),
            ca_certs,
            name,
            signer: None,
            response_protection: ResponseProtection::AsRequest,
            ra_certs: Vec::new(),
            accept_ra_verified: false,
            accept_unprotected: false,
            max_time_skew: Some(Duration::from_secs(300)),
            grant_implicit_confirm: false,
            ca_pubs: Vec::new(),
            transaction_ttl: DEFAULT_TRANSACTION_TTL,
            genp: GenpContent::default(),
            test: TestKnobs::default(),
        }
    }
}
