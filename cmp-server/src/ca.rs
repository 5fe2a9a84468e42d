//! [`BuiltinCa`]: a certificate authority in the process, as an
//! [`Issuer`](cmp_core::server::Issuer).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use cmp_core::asn1::{CmpCertificate, CrlReason, FailureBit, oid};
use cmp_core::crypto::{
    KeyProvider, KeySpec, Primitives, PrivateKey, PrivateKeyExt, SignatureAlgorithm,
};
use cmp_core::names::format_name;
use cmp_core::server::{
    CertificateRecord, CertificateRequest, IssuedCertificate, Issuer, IssuerError,
};
use rasn::types::Integer;
use rasn_pkix::{Name, SubjectPublicKeyInfo};

use crate::certificate::{
    CertFields, KU_CRL_SIGN, KU_DIGITAL_SIGNATURE, KU_KEY_CERT_SIGN, authority_key_identifier,
    basic_constraints, end_entity_key_usage, extension, key_identifier, key_usage,
    sign_certificate, subject_key_identifier,
};
use crate::client_policy::ClientPolicy;
use crate::crl::{
    CrlInput, CrlSettings, CrlSource, MAX_CRL_ENTRIES, build_crl, distribution_point,
};
use crate::error::Error;
use crate::store::{CertificateStore, MemoryCertificates, StoredCertificate, off_worker};

/// What the built-in CA grants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuancePolicy {
    /// The validity of an issued certificate, and the longest one granted (a longer request
    /// is cut); default one year. Never beyond the CA certificate's own notAfter.
    pub max_validity: Duration,
    /// Per-client rules: the first whose [`ClientMatch`](crate::ClientMatch) governs the
    /// requester applies; a requester no rule governs may request any names and key type.
    pub clients: Vec<ClientPolicy>,
    /// How many certificates the CA remembers (issued and revoked) in its in-memory store;
    /// default 1 000 000. Issuing beyond that is refused with systemUnavail. (A
    /// [`SqliteStore`](crate::SqliteStore) has its own limit.)
    pub max_certificates: usize,
}

impl Default for IssuancePolicy {
    fn default() -> Self {
        IssuancePolicy {
            max_validity: Duration::from_secs(365 * 24 * 3600),
            clients: Vec::new(),
            max_certificates: 1_000_000,
        }
    }
}

/// Serial numbers are this many random bytes (RFC 5280: at most 20 octets; CA/B Forum: at
/// least 64 random bits).
pub const SERIAL_LEN: usize = 16;

/// How often a colliding random serial is drawn again before giving up.
const SERIAL_ATTEMPTS: usize = 8;

/// A certificate authority in the process: issues X.509 v3 certificates for the requested
/// public key and subject (and subjectAltNames) with random positive 16-byte serials, SKI and
/// AKI, keyUsage by key type (digitalSignature; keyEncipherment too for RSA), critical
/// basicConstraints CA:FALSE and a validity cut by [`IssuancePolicy`]; the TBSCertificate is
/// built with rasn-pkix types and signed through [`PrivateKey`], so the CA key may live in any
/// backend.
///
/// Issued and revoked certificates are kept in a [`CertificateStore`]: in memory (bounded by
/// [`IssuancePolicy::max_certificates`]) unless another is given with
/// [`BuiltinCa::with_store`]. A certificate is committed to the store before
/// [`Issuer::issue`] returns it, and a revocation before [`Issuer::revoke`] returns.
#[derive(Debug)]
pub struct BuiltinCa {
    cert: CmpCertificate,
    chain: Vec<CmpCertificate>,
    key: Arc<dyn PrivateKey>,
    alg: SignatureAlgorithm,
    key_id: Vec<u8>,
    primitives: Arc<dyn Primitives>,
    policy: IssuancePolicy,
    store: Arc<dyn CertificateStore>,
    crl: CrlSettings,
    /// The last CRL signed: its DER, when it was built, and the revocation count it saw.
    crl_cache: Mutex<Option<(Vec<u8>, SystemTime, u64)>>,
    /// Revocations through this CA object (a newer count rebuilds the CRL).
    revocations: AtomicU64,
}

fn not_after_of(cert: &CmpCertificate) -> Option<SystemTime> {
    let t = match &cert.value().tbs_certificate.validity.not_after {
        rasn_pkix::Time::Utc(u) => u.timestamp(),
        rasn_pkix::Time::General(g) => g.timestamp(),
    };
    SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(u64::try_from(t).ok()?))
}

impl BuiltinCa {
    /// A CA with the certificate `cert`, its `chain` (up to the root, which may be `cert`
    /// itself) and its `key`, which must be the certificate's.
    pub fn new(
        cert: CmpCertificate,
        chain: Vec<CmpCertificate>,
        key: Arc<dyn PrivateKey>,
        primitives: Arc<dyn Primitives>,
        policy: IssuancePolicy,
    ) -> Result<Self, Error> {
        if !key.matches_public_key(cert.subject_public_key_info()) {
            return Err(Error::KeyMismatch {
                subject: format_name(cert.subject()),
            });
        }
        let key_id = match cert.subject_key_identifier() {
            Some(id) => id,
            None => key_identifier(primitives.as_ref(), &key.public_key_info()?)?,
        };
        let alg = key.spec().default_signature_algorithm();
        Ok(BuiltinCa {
            cert,
            chain,
            key,
            alg,
            key_id,
            primitives,
            store: Arc::new(MemoryCertificates::new(policy.max_certificates)),
            policy,
            crl: CrlSettings::default(),
            crl_cache: Mutex::new(None),
            revocations: AtomicU64::new(0),
        })
    }

    /// A CA with a new EC P-256 key from `keys` and a self-signed root certificate for
    /// `subject`, valid from `now` for `validity`: critical basicConstraints CA:TRUE, critical
    /// keyUsage digitalSignature (it signs CMP responses too), keyCertSign and cRLSign, SKI
    /// and AKI.
    pub async fn generate(
        subject: Name,
        keys: &dyn KeyProvider,
        primitives: Arc<dyn Primitives>,
        now: SystemTime,
        validity: Duration,
        policy: IssuancePolicy,
    ) -> Result<Self, Error> {
        let key = keys.generate(KeySpec::EcP256).await?;
        let alg = key.spec().default_signature_algorithm();
        let public_key = key.public_key_info()?;
        let key_id = key_identifier(primitives.as_ref(), &public_key)?;
        let fields = CertFields {
            serial: random_serial(primitives.as_ref())?.1,
            issuer: subject.clone(),
            subject,
            public_key,
            not_before: now,
            not_after: now + validity,
            extensions: vec![
                basic_constraints(true)?,
                key_usage(&[KU_DIGITAL_SIGNATURE, KU_KEY_CERT_SIGN, KU_CRL_SIGN])?,
                subject_key_identifier(&key_id)?,
                authority_key_identifier(&key_id)?,
            ],
        };
        let der = sign_certificate(fields, key.as_ref(), alg).await?;
        let cert =
            CmpCertificate::from_der(&der).map_err(|e| Error::Build(format!("root: {e}")))?;
        Self::new(cert, Vec::new(), key, primitives, policy)
    }

    /// The CA certificate.
    pub fn ca_cert(&self) -> &CmpCertificate {
        &self.cert
    }

    /// The CA key (it also signs CMP responses unless another signer is configured).
    pub fn key(&self) -> &Arc<dyn PrivateKey> {
        &self.key
    }

    /// The CA certificate followed by its chain, as parsed certificates.
    pub fn certificates(&self) -> Vec<CmpCertificate> {
        let mut out = vec![self.cert.clone()];
        out.extend(
            self.chain
                .iter()
                .filter(|c| c.der() != self.cert.der())
                .cloned(),
        );
        out
    }

    /// The same CA keeping its certificates in `store` (e.g. a
    /// [`SqliteStore`](crate::SqliteStore)) instead of memory.
    pub fn with_store(mut self, store: Arc<dyn CertificateStore>) -> Self {
        self.store = store;
        self
    }

    /// Where the CA keeps its certificates.
    pub fn store(&self) -> &Arc<dyn CertificateStore> {
        &self.store
    }

    /// The same CA publishing CRLs as `settings` say (with a URL, issued certificates carry
    /// it as their cRLDistributionPoint).
    pub fn with_crl(mut self, settings: CrlSettings) -> Self {
        self.crl = settings;
        self
    }

    /// How the CA publishes CRLs.
    pub fn crl_settings(&self) -> &CrlSettings {
        &self.crl
    }

    /// The CA's CRL at `now` (DER, signed with the CA key): the one signed last while it is
    /// younger than [`CrlSettings::refresh`] and no revocation went through this CA since,
    /// else a new one.
    pub async fn crl(&self, now: SystemTime) -> Result<Vec<u8>, Error> {
        let generation = self.revocations.load(Ordering::SeqCst);
        if let Ok(cache) = self.crl_cache.lock() {
            if let Some((der, built, g)) = cache.as_ref() {
                let fresh = now
                    .duration_since(*built)
                    .is_ok_and(|age| age < self.crl.refresh);
                if *g == generation && fresh {
                    return Ok(der.clone());
                }
            }
        }
        let store = self.store.clone();
        let revoked = off_worker(store.is_blocking(), move || store.revoked(MAX_CRL_ENTRIES))
            .await
            .and_then(|r| r)?;
        let der = build_crl(CrlInput {
            issuer: self.cert.subject().clone(),
            key_id: &self.key_id,
            key: self.key.as_ref(),
            alg: self.alg,
            now,
            next_update: self.crl.next_update,
            revoked,
        })
        .await?;
        if let Ok(mut cache) = self.crl_cache.lock() {
            *cache = Some((der.clone(), now, generation));
        }
        Ok(der)
    }

    fn refuse(reason: impl Into<String>) -> IssuerError {
        IssuerError::Refused {
            fail_info: FailureBit::BadCertTemplate,
            reason: reason.into(),
        }
    }

    fn fields(&self, request: &CertificateRequest) -> Result<CertFields, IssuerError> {
        let subject: Name = rasn::der::decode(&request.subject)
            .map_err(|e| Self::refuse(format!("the subject is malformed: {e}")))?;
        let public_key: SubjectPublicKeyInfo = rasn::der::decode(&request.public_key)
            .map_err(|e| Self::refuse(format!("the public key is malformed: {e}")))?;
        let spec = KeySpec::of_public_key(&public_key)
            .map_err(|e| Self::refuse(format!("the public key: {e}")))?;
        let sans: Option<rasn_pkix::GeneralNames> = request
            .subject_alt_names
            .as_ref()
            .map(|san| rasn::der::decode(san))
            .transpose()
            .map_err(|e| Self::refuse(format!("subjectAltNames are malformed: {e}")))?;
        let client = self
            .policy
            .clients
            .iter()
            .find(|c| c.governs(&request.requester));
        let mut max_validity = self.policy.max_validity;
        if let Some(client) = client {
            client.check(&subject, sans.as_ref(), spec)?;
            if let Some(m) = client.max_validity {
                max_validity = max_validity.min(m);
            }
        }
        let not_before = request.now;
        let mut not_after = request
            .not_after
            .unwrap_or(not_before + max_validity)
            .min(not_before + max_validity);
        if let Some(ca_end) = not_after_of(&self.cert) {
            not_after = not_after.min(ca_end);
        }
        if not_after <= not_before {
            return Err(Self::refuse(
                "the requested validity ends before it starts (or the CA certificate has expired)",
            ));
        }
        let Name::RdnSequence(rdns) = &subject;
        let fail = |e: Error| IssuerError::Failed(e.to_string());
        let mut extensions = vec![
            basic_constraints(false).map_err(fail)?,
            end_entity_key_usage(spec).map_err(fail)?,
            subject_key_identifier(
                &key_identifier(self.primitives.as_ref(), &public_key).map_err(fail)?,
            )
            .map_err(fail)?,
            authority_key_identifier(&self.key_id).map_err(fail)?,
        ];
        if let Some(url) = &self.crl.url {
            extensions.push(distribution_point(url).map_err(fail)?);
        }
        if let Some(names) = sans {
            if names.is_empty() {
                return Err(Self::refuse("subjectAltNames are empty"));
            }
            // RFC 5280 §4.2.1.6: critical when the subject is empty.
            extensions
                .push(extension(oid::CE_SUBJECT_ALT_NAME, rdns.is_empty(), &names).map_err(fail)?);
        } else if rdns.is_empty() {
            return Err(Self::refuse("neither a subject nor subjectAltNames"));
        }
        Ok(CertFields {
            serial: Integer::from(0),
            issuer: self.cert.subject().clone(),
            subject,
            public_key,
            not_before,
            not_after,
            extensions,
        })
    }
}

/// A random positive serial of [`SERIAL_LEN`] bytes: its content octets and the INTEGER.
fn random_serial(primitives: &dyn Primitives) -> Result<(Vec<u8>, Integer), Error> {
    let mut bytes = vec![0u8; SERIAL_LEN];
    primitives.fill_random(&mut bytes)?;
    // Positive, and no leading zero byte: exactly SERIAL_LEN content octets.
    bytes[0] = (bytes[0] & 0x7F) | 0x40;
    let der = cmp_core::der::tlv(0x02, &bytes);
    let int: Integer = rasn::der::decode(&der).map_err(|e| Error::Build(format!("serial: {e}")))?;
    Ok((bytes, int))
}

#[async_trait::async_trait]
impl Issuer for BuiltinCa {
    fn ca_certificates(&self) -> Vec<Vec<u8>> {
        self.certificates()
            .iter()
            .map(|c| c.der().to_vec())
            .collect()
    }

    async fn issue(&self, request: &CertificateRequest) -> Result<IssuedCertificate, IssuerError> {
        let fields = self.fields(request)?;
        let subject = format_name(&fields.subject);
        let not_after = fields.not_after;
        // The store's uniqueness constraint settles collisions: a taken serial is drawn again
        // (and the certificate signed again), a bounded number of times.
        for _ in 0..SERIAL_ATTEMPTS {
            let (bytes, int) = random_serial(self.primitives.as_ref())
                .map_err(|e| IssuerError::Failed(e.to_string()))?;
            let mut fields = fields.clone();
            fields.serial = int;
            let der = sign_certificate(fields, self.key.as_ref(), self.alg)
                .await
                .map_err(|e| IssuerError::Failed(e.to_string()))?;
            let record = StoredCertificate {
                serial: bytes,
                certificate: der.clone(),
                subject: subject.clone(),
                not_after,
                issued_at: request.now,
                revocation: None,
            };
            let inserted = match self.store.clone().queued() {
                Some(queued) => queued.insert_certificate(record).await,
                None => {
                    let store = self.store.clone();
                    off_worker(store.is_blocking(), move || store.insert(&record))
                        .await
                        .and_then(|r| r)
                }
            };
            match inserted {
                Ok(()) => {
                    return Ok(IssuedCertificate {
                        certificate: der,
                        chain: self.ca_certificates(),
                    });
                }
                Err(Error::SerialTaken) => continue,
                Err(e @ Error::StoreFull { .. }) => {
                    return Err(IssuerError::Unavailable(e.to_string()));
                }
                Err(e) => return Err(IssuerError::Failed(e.to_string())),
            }
        }
        Err(IssuerError::Failed(
            "no unused serial number was drawn".into(),
        ))
    }

    async fn certificate(&self, serial: &[u8]) -> Result<Option<CertificateRecord>, IssuerError> {
        let found = match self.store.clone().queued() {
            Some(queued) => queued.get_certificate(serial),
            None => {
                let store = self.store.clone();
                let serial = serial.to_vec();
                off_worker(store.is_blocking(), move || store.get(&serial))
                    .await
                    .and_then(|r| r)
            }
        }
        .map_err(|e| IssuerError::Failed(e.to_string()))?;
        Ok(found.map(|c| CertificateRecord {
            certificate: c.certificate,
            revoked_at: c.revocation.map(|r| r.revoked_at),
        }))
    }

    async fn crl(&self, now: SystemTime) -> Result<Option<Vec<u8>>, IssuerError> {
        BuiltinCa::crl(self, now)
            .await
            .map(Some)
            .map_err(|e| IssuerError::Failed(e.to_string()))
    }

    async fn revoke(
        &self,
        serial: &[u8],
        reason: Option<CrlReason>,
        now: SystemTime,
    ) -> Result<(), IssuerError> {
        let serial = serial.to_vec();
        let revoked = match self.store.clone().queued() {
            Some(queued) => queued.revoke_certificate(serial, reason, now).await,
            None => {
                let store = self.store.clone();
                off_worker(store.is_blocking(), move || {
                    store.revoke(&serial, reason, now)
                })
                .await
                .and_then(|r| r)
            }
        };
        match revoked {
            Ok(()) => {
                self.revocations.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
            Err(Error::UnknownSerial) => Err(IssuerError::Refused {
                fail_info: FailureBit::BadCertId,
                reason: "no certificate with this serial number was issued".into(),
            }),
            Err(Error::AlreadyRevoked) => Err(IssuerError::Refused {
                fail_info: FailureBit::CertRevoked,
                reason: "the certificate is already revoked".into(),
            }),
            Err(e) => Err(IssuerError::Failed(e.to_string())),
        }
    }
}

#[async_trait::async_trait]
impl CrlSource for BuiltinCa {
    async fn current_crl(&self) -> Result<Vec<u8>, Error> {
        self.crl(SystemTime::now()).await
    }
}
