//! The PKCS#11 backend: keys are generated inside a token and never leave it; signing runs in
//! the token. Verification, digests, MACs and randomness come from the software backend
//! (`CryptoProvider { keys: Arc::new(Pkcs11Keys::open(uri)?), ..software::provider() }`).
//!
//! Tested against SoftHSM2. Tokens differ in what they offer; this backend uses only widely
//! supported mechanisms: ECDSA is hashed in software and signed with raw `CKM_ECDSA` (SoftHSM
//! has no `CKM_ECDSA_SHA256`), the r‖s result converted to DER; RSA uses
//! `CKM_SHA*_RSA_PKCS` and `CKM_SHA*_RSA_PKCS_PSS`; Ed25519 uses `CKM_EDDSA`.
//!
//! Keys are named by PKCS#11 URI (RFC 7512):
//! `pkcs11:token=dev;object=device-key?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/dev.pin`.
//! The PIN comes from `pin-source` (`file:PATH`, a plain path, or `env:VAR`) or the
//! `PKCS11_PIN` environment variable — never from the URI in clear. The module comes from
//! `module-path` or the `PKCS11_MODULE` environment variable.

mod blocking;
mod uri;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use cmp_core::CryptoError;
use cmp_core::asn1::oid;
use cmp_core::crypto::{
    KeyLocator, KeyProvider, KeySpec, Primitives, PrivateKey, SignatureAlgorithm,
};
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsPssParams};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use rasn::types::{Any, BitString};
use rasn_pkix::{AlgorithmIdentifier, SubjectPublicKeyInfo};
use zeroize::Zeroizing;

pub use uri::Pkcs11Uri;

use crate::software::SoftwarePrimitives;

fn backend(reason: impl fmt::Display) -> CryptoError {
    CryptoError::Backend {
        backend: "pkcs11".into(),
        reason: reason.to_string(),
    }
}

fn ck(what: &str) -> impl Fn(CkError) -> CryptoError + '_ {
    move |e| match e {
        CkError::Pkcs11(rv, _) => backend(format!("{what}: {}", rv_name(&rv))),
        other => backend(format!("{what}: {other}")),
    }
}

/// A short name for a PKCS#11 return value (cryptoki's Display is a paragraph).
fn rv_name(rv: &RvError) -> String {
    match rv {
        RvError::PinIncorrect => "the PIN is incorrect (CKR_PIN_INCORRECT)".into(),
        RvError::PinLocked => "the PIN is locked (CKR_PIN_LOCKED)".into(),
        RvError::MechanismInvalid => "the token does not support this mechanism".into(),
        RvError::TokenNotPresent => "the token is not present".into(),
        other => format!("{other:?}"),
    }
}

/// One PKCS#11 library per path, initialised once for the whole process and never unloaded.
fn context(module: &Path) -> Result<Arc<Pkcs11>, CryptoError> {
    static CONTEXTS: OnceLock<Mutex<HashMap<PathBuf, Arc<Pkcs11>>>> = OnceLock::new();
    let mut map = CONTEXTS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if let Some(ctx) = map.get(module) {
        return Ok(Arc::clone(ctx));
    }
    let ctx = Pkcs11::new(module).map_err(|e| {
        backend(format!(
            "cannot load the PKCS#11 module {}: {e}",
            module.display()
        ))
    })?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => return Err(ck("C_Initialize")(e)),
    }
    let ctx = Arc::new(ctx);
    map.insert(module.to_owned(), Arc::clone(&ctx));
    Ok(ctx)
}

fn read_pin(source: Option<&str>) -> Result<Zeroizing<String>, CryptoError> {
    let pin = match source {
        Some(src) => {
            if let Some(var) = src.strip_prefix("env:") {
                std::env::var(var).map_err(|_| {
                    backend(format!("pin-source env:{var}: the variable is not set"))
                })?
            } else {
                let path = src.strip_prefix("file:").unwrap_or(src);
                let data = Zeroizing::new(
                    std::fs::read_to_string(path)
                        .map_err(|e| backend(format!("pin-source {path}: {e}")))?,
                );
                data.lines().next().unwrap_or_default().to_owned()
            }
        }
        None => std::env::var("PKCS11_PIN").map_err(|_| {
            backend("no PIN: give pin-source=file:PATH in the key URI or set PKCS11_PIN")
        })?,
    };
    Ok(Zeroizing::new(pin))
}

struct Token {
    label: String,
    module: PathBuf,
    pin_source: Option<String>,
    session: Mutex<Session>,
    _context: Arc<Pkcs11>,
}

impl Token {
    fn session(&self) -> std::sync::MutexGuard<'_, Session> {
        self.session.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A token as a [`KeyProvider`]: generates key pairs inside it and opens keys by URI.
#[derive(Clone)]
pub struct Pkcs11Keys {
    token: Arc<Token>,
}

impl fmt::Debug for Pkcs11Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Keys")
            .field("token", &self.token.label)
            .field("module", &self.token.module)
            .finish()
    }
}

impl Pkcs11Keys {
    /// Opens the token a URI names and logs in: `token` is required; the module comes from
    /// `module-path` (or `PKCS11_MODULE`), the PIN from `pin-source` (or `PKCS11_PIN`).
    pub fn open(uri: &str) -> Result<Self, CryptoError> {
        let u: Pkcs11Uri = uri.parse()?;
        let label = u
            .token
            .clone()
            .ok_or_else(|| backend(format!("{uri}: the URI names no token (token=…)")))?;
        let module = match &u.module_path {
            Some(m) => m.clone(),
            None => PathBuf::from(std::env::var("PKCS11_MODULE").map_err(|_| {
                backend("no PKCS#11 module: give module-path=… in the URI or set PKCS11_MODULE")
            })?),
        };
        let pin = read_pin(u.pin_source.as_deref())?;
        Self::open_token(&module, &label, &pin, u.pin_source.clone())
    }

    /// Opens the token labelled `label` in `module` and logs in with `pin`.
    pub fn open_token(
        module: &Path,
        label: &str,
        pin: &str,
        pin_source: Option<String>,
    ) -> Result<Self, CryptoError> {
        let ctx = context(module)?;
        let slots = ctx.get_slots_with_token().map_err(ck("C_GetSlotList"))?;
        let slot = slots
            .into_iter()
            .find(|s| {
                ctx.get_token_info(*s)
                    .is_ok_and(|info| info.label().trim_end() == label)
            })
            .ok_or_else(|| {
                backend(format!(
                    "no token labelled {label:?} in {}",
                    module.display()
                ))
            })?;
        let session = ctx.open_rw_session(slot).map_err(ck("C_OpenSession"))?;
        match session.login(UserType::User, Some(&AuthPin::from(pin.to_owned()))) {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(e) => return Err(ck(&format!("login to token {label:?}"))(e)),
        }
        Ok(Pkcs11Keys {
            token: Arc::new(Token {
                label: label.to_owned(),
                module: module.to_owned(),
                pin_source,
                session: Mutex::new(session),
                _context: ctx,
            }),
        })
    }

    /// Generates a key pair inside the token under `label` (its `CKA_LABEL`, the `object=` of
    /// its URI) with a random `CKA_ID`. Refuses when the token already holds a private key with
    /// that label. [`KeyProvider::generate`] picks a random label instead.
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), cmp_core::CryptoError> {
    /// use cmp_core::crypto::{KeySpec, PrivateKey};
    /// let keys = cmp_crypto::pkcs11::Pkcs11Keys::open(
    ///     "pkcs11:token=dev?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/dev.pin",
    /// )?;
    /// let key = keys.generate_labelled(KeySpec::EcP256, "device-2027").await?;
    /// println!("{}", key.locator().unwrap_or_default());
    /// # Ok(()) }
    /// ```
    pub async fn generate_labelled(
        &self,
        spec: KeySpec,
        label: &str,
    ) -> Result<Arc<dyn PrivateKey>, CryptoError> {
        let this = self.clone();
        let label = label.to_owned();
        let key = blocking::run(move || this.generate_blocking(spec, Some(&label)))
            .await
            .ok_or_else(|| backend("the token thread stopped"))??;
        Ok(Arc::new(key))
    }

    /// Destroys the key `uri` names in this token (its private key and its public half);
    /// `Ok(false)` when the token holds no such key, so a retried removal succeeds. A URI
    /// naming several private keys is refused: add `id=…`.
    ///
    /// ```no_run
    /// # async fn f(keys: cmp_crypto::pkcs11::Pkcs11Keys) -> Result<(), cmp_core::CryptoError> {
    /// if !keys.delete("pkcs11:token=dev;object=device-2026;id=%2a%01").await? {
    ///     println!("already removed");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn delete(&self, uri: &str) -> Result<bool, CryptoError> {
        let this = self.clone();
        let uri = uri.to_owned();
        blocking::run(move || this.delete_blocking(&uri))
            .await
            .ok_or_else(|| backend("the token thread stopped"))?
    }

    fn uri_for(&self, label: &str, id: &[u8]) -> Pkcs11Uri {
        Pkcs11Uri {
            token: Some(self.token.label.clone()),
            object: Some(label.to_owned()),
            id: Some(id.to_vec()),
            module_path: Some(self.token.module.clone()),
            pin_source: self.token.pin_source.clone(),
        }
    }

    fn generate_blocking(
        &self,
        spec: KeySpec,
        label: Option<&str>,
    ) -> Result<Pkcs11Key, CryptoError> {
        let mut id = [0u8; 16];
        SoftwarePrimitives.fill_random(&mut id)?;
        let label = match label {
            Some(l) => {
                // Never shadow a key already in the token: a later load by label would be
                // ambiguous, and the old key may still back a certificate in use.
                let existing = self
                    .token
                    .session()
                    .find_objects(&[
                        Attribute::Class(ObjectClass::PRIVATE_KEY),
                        Attribute::Label(l.as_bytes().to_vec()),
                    ])
                    .map_err(ck(&format!("looking for keys labelled {l:?}")))?;
                if !existing.is_empty() {
                    return Err(backend(format!(
                        "token {:?} already holds a key labelled {l:?}; choose another label or remove that key first",
                        self.token.label
                    )));
                }
                l.to_owned()
            }
            None => format!("cmp-{}", hex_lower(&id[..6])),
        };
        let common_pub = vec![
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::Verify(true),
            Attribute::Label(label.as_bytes().to_vec()),
            Attribute::Id(id.to_vec()),
        ];
        let common_priv = vec![
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
            Attribute::Label(label.as_bytes().to_vec()),
            Attribute::Id(id.to_vec()),
        ];
        let (mechanism, extra) = match spec {
            KeySpec::EcP256 => (
                Mechanism::EccKeyPairGen,
                vec![Attribute::EcParams(oid_der(oid::SECP256R1))],
            ),
            KeySpec::EcP384 => (
                Mechanism::EccKeyPairGen,
                vec![Attribute::EcParams(oid_der(oid::SECP384R1))],
            ),
            KeySpec::Ed25519 => (
                Mechanism::EccEdwardsKeyPairGen,
                vec![Attribute::EcParams(oid_der(oid::ED25519))],
            ),
            KeySpec::Rsa(bits @ (2048 | 3072 | 4096)) => (
                Mechanism::RsaPkcsKeyPairGen,
                vec![
                    Attribute::ModulusBits(u64::from(bits).into()),
                    Attribute::PublicExponent(vec![0x01, 0x00, 0x01]),
                ],
            ),
            other => {
                return Err(CryptoError::UnsupportedAlgorithm(format!(
                    "key type {other}"
                )));
            }
        };
        let mut pub_template = common_pub;
        pub_template.extend(extra);
        let session = self.token.session();
        let (public, private) = session
            .generate_key_pair(&mechanism, &pub_template, &common_priv)
            .map_err(ck(&format!("generating a {spec} key")))?;
        let public_key =
            cmp_core::crypto::public_key_der(&public_key_info(&session, public, spec)?);
        drop(session);
        Ok(Pkcs11Key {
            token: Arc::clone(&self.token),
            handle: private,
            spec,
            public_key,
            uri: self.uri_for(&label, &id).to_string(),
        })
    }

    /// The search template of the key `uri` names in this backend's token: its class, and
    /// the label and ID the URI gives (at least one of them).
    fn key_template(&self, uri: &str, class: ObjectClass) -> Result<Vec<Attribute>, CryptoError> {
        let u: Pkcs11Uri = uri.parse()?;
        if let Some(t) = &u.token {
            if *t != self.token.label {
                return Err(backend(format!(
                    "{uri}: names token {t:?}, but this backend has token {:?} open",
                    self.token.label
                )));
            }
        }
        if u.object.is_none() && u.id.is_none() {
            return Err(backend(format!(
                "{uri}: the URI names no key (object=… or id=…)"
            )));
        }
        let mut template = vec![Attribute::Class(class)];
        if let Some(o) = u.object {
            template.push(Attribute::Label(o.into_bytes()));
        }
        if let Some(id) = u.id {
            template.push(Attribute::Id(id));
        }
        Ok(template)
    }

    /// Destroys the private key `uri` names and the public key objects of the same label and
    /// ID; `Ok(false)` when the token holds no such private key.
    fn delete_blocking(&self, uri: &str) -> Result<bool, CryptoError> {
        let template = self.key_template(uri, ObjectClass::PRIVATE_KEY)?;
        let session = self.token.session();
        let Some(private) = find_one(&session, uri, &template)? else {
            return Ok(false);
        };
        // The public half is found by the private key's own ID (and the URI's label), so a
        // URI naming the key by label alone removes its own public key, not another's.
        let id = session
            .get_attributes(private, &[AttributeType::Id])
            .map_err(ck("C_GetAttributeValue"))?
            .into_iter()
            .find_map(|a| match a {
                Attribute::Id(id) => Some(id),
                _ => None,
            })
            .unwrap_or_default();
        let mut public_template: Vec<Attribute> = template
            .into_iter()
            .filter_map(|a| match a {
                Attribute::Label(l) => Some(Attribute::Label(l)),
                _ => None,
            })
            .collect();
        public_template.push(Attribute::Class(ObjectClass::PUBLIC_KEY));
        public_template.push(Attribute::Id(id));
        let publics = session
            .find_objects(&public_template)
            .map_err(ck("C_FindObjects"))?;
        // The private key first: a crash between the two leaves a public key, which signs
        // nothing, rather than a private key that can no longer be loaded.
        session
            .destroy_object(private)
            .map_err(ck(&format!("deleting {uri}")))?;
        for public in publics {
            session
                .destroy_object(public)
                .map_err(ck(&format!("deleting the public key of {uri}")))?;
        }
        Ok(true)
    }

    fn load_blocking(&self, uri: &str) -> Result<Pkcs11Key, CryptoError> {
        let template = self.key_template(uri, ObjectClass::PRIVATE_KEY)?;
        let session = self.token.session();
        let private = find_one(&session, uri, &template)?.ok_or_else(|| {
            backend(format!(
                "{uri}: no such private key in token {:?}",
                self.token.label
            ))
        })?;
        let attrs = session
            .get_attributes(
                private,
                &[
                    AttributeType::KeyType,
                    AttributeType::Id,
                    AttributeType::Label,
                ],
            )
            .map_err(ck("C_GetAttributeValue"))?;
        let (mut key_type, mut id, mut label) = (None, Vec::new(), Vec::new());
        for a in attrs {
            match a {
                Attribute::KeyType(k) => key_type = Some(k),
                Attribute::Id(i) => id = i,
                Attribute::Label(l) => label = l,
                _ => {}
            }
        }
        // The public half: the public key object with the same CKA_ID (EC keys keep their
        // point there), or the private key itself for RSA.
        let public = session
            .find_objects(&[
                Attribute::Class(ObjectClass::PUBLIC_KEY),
                Attribute::Id(id.clone()),
            ])
            .map_err(ck("C_FindObjects"))?
            .first()
            .copied()
            .unwrap_or(private);
        let spec = match key_type {
            Some(KeyType::RSA) => KeySpec::Rsa(0),
            Some(KeyType::EC) => KeySpec::EcP256,
            Some(KeyType::EC_EDWARDS) => KeySpec::Ed25519,
            other => {
                return Err(CryptoError::UnsupportedAlgorithm(format!(
                    "PKCS#11 key type {other:?}"
                )));
            }
        };
        let public_key = public_key_info(&session, public, spec)?;
        let spec = KeySpec::of_public_key(&public_key)?;
        let public_key = cmp_core::crypto::public_key_der(&public_key);
        drop(session);
        Ok(Pkcs11Key {
            token: Arc::clone(&self.token),
            handle: private,
            spec,
            public_key,
            uri: self
                .uri_for(&String::from_utf8_lossy(&label), &id)
                .to_string(),
        })
    }
}

fn hex_lower(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn oid_der(o: &rasn::types::Oid) -> Vec<u8> {
    rasn::der::encode(&o.to_owned()).unwrap_or_default()
}

/// The content of a DER OCTET STRING, if `data` is exactly one; tokens return CKA_EC_POINT
/// DER-wrapped (PKCS#11 2.40) or raw (some older ones).
fn unwrap_octet_string(data: &[u8]) -> &[u8] {
    match cmp_core::der::Reader::new(data, 0).read() {
        Ok(tlv) if tlv.first_octet() == 0x04 && tlv.raw.len() == data.len() => tlv.value,
        _ => data,
    }
}

fn public_key_info(
    session: &Session,
    public: ObjectHandle,
    spec: KeySpec,
) -> Result<SubjectPublicKeyInfo, CryptoError> {
    let wanted: &[AttributeType] = match spec {
        KeySpec::Rsa(_) => &[AttributeType::Modulus, AttributeType::PublicExponent],
        _ => &[AttributeType::EcParams, AttributeType::EcPoint],
    };
    let attrs = session
        .get_attributes(public, wanted)
        .map_err(ck("reading the public key"))?;
    let (mut modulus, mut exponent, mut params, mut point) = (None, None, None, None);
    for a in attrs {
        match a {
            Attribute::Modulus(m) => modulus = Some(m),
            Attribute::PublicExponent(e) => exponent = Some(e),
            Attribute::EcParams(p) => params = Some(p),
            Attribute::EcPoint(p) => point = Some(p),
            _ => {}
        }
    }
    let missing = || backend("the token did not return the public key");
    let spki = match spec {
        KeySpec::Rsa(_) => {
            let mut seq = cmp_core::der::unsigned_integer(&modulus.ok_or_else(missing)?);
            seq.extend(cmp_core::der::unsigned_integer(
                &exponent.ok_or_else(missing)?,
            ));
            SubjectPublicKeyInfo {
                algorithm: AlgorithmIdentifier {
                    algorithm: oid::RSA_ENCRYPTION.to_owned(),
                    parameters: Some(Any::new(vec![0x05, 0x00])),
                },
                subject_public_key: BitString::from_vec(cmp_core::der::tlv(0x30, &seq)),
            }
        }
        _ => {
            let params = params.ok_or_else(missing)?;
            let point = point.ok_or_else(missing)?;
            let point = unwrap_octet_string(&point).to_vec();
            let curve: Option<rasn::types::ObjectIdentifier> = rasn::der::decode(&params).ok();
            match curve {
                Some(c) if *c == *oid::ED25519 => SubjectPublicKeyInfo {
                    algorithm: AlgorithmIdentifier {
                        algorithm: oid::ED25519.to_owned(),
                        parameters: None,
                    },
                    subject_public_key: BitString::from_vec(point),
                },
                Some(c) => SubjectPublicKeyInfo {
                    algorithm: AlgorithmIdentifier {
                        algorithm: oid::EC_PUBLIC_KEY.to_owned(),
                        parameters: Some(Any::new(oid_der(&c))),
                    },
                    subject_public_key: BitString::from_vec(point),
                },
                // SoftHSM may describe Ed25519 as the printable string "edwards25519".
                None if params.ends_with(b"edwards25519") => SubjectPublicKeyInfo {
                    algorithm: AlgorithmIdentifier {
                        algorithm: oid::ED25519.to_owned(),
                        parameters: None,
                    },
                    subject_public_key: BitString::from_vec(point),
                },
                None => return Err(backend("the token's EC parameters are not a named curve")),
            }
        }
    };
    Ok(spki)
}

#[async_trait::async_trait]
impl KeyProvider for Pkcs11Keys {
    fn name(&self) -> &str {
        "pkcs11"
    }

    async fn generate(&self, spec: KeySpec) -> Result<Arc<dyn PrivateKey>, CryptoError> {
        let this = self.clone();
        let key = blocking::run(move || this.generate_blocking(spec, None))
            .await
            .ok_or_else(|| backend("the token thread stopped"))??;
        Ok(Arc::new(key))
    }

    async fn load(&self, locator: &KeyLocator) -> Result<Arc<dyn PrivateKey>, CryptoError> {
        let uri = match locator {
            KeyLocator::Uri(u) => u.clone(),
            _ => {
                return Err(CryptoError::UnsupportedAlgorithm(
                    "the pkcs11 backend opens keys by pkcs11: URI only".into(),
                ));
            }
        };
        let this = self.clone();
        let key = blocking::run(move || this.load_blocking(&uri))
            .await
            .ok_or_else(|| backend("the token thread stopped"))??;
        Ok(Arc::new(key))
    }
    async fn generate_labelled(
        &self,
        spec: KeySpec,
        label: &str,
    ) -> Result<Arc<dyn PrivateKey>, CryptoError> {
        Pkcs11Keys::generate_labelled(self, spec, label).await
    }

    async fn delete(&self, locator: &KeyLocator) -> Result<bool, CryptoError> {
        match locator {
            KeyLocator::Uri(uri) => Pkcs11Keys::delete(self, uri).await,
            _ => Err(CryptoError::UnsupportedAlgorithm(
                "the pkcs11 backend deletes keys by pkcs11: URI only".into(),
            )),
        }
    }
}

/// The one object `template` finds (the key `uri` names), `None` when there is none; a URI
/// naming several is refused, so that no operation picks one of them by chance.
fn find_one(
    session: &Session,
    uri: &str,
    template: &[Attribute],
) -> Result<Option<ObjectHandle>, CryptoError> {
    let found = session
        .find_objects(template)
        .map_err(ck("C_FindObjects"))?;
    match found.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(*one)),
        _ => Err(backend(format!(
            "{uri}: names {} private keys; add id=… to choose one",
            found.len()
        ))),
    }
}

/// A private key inside a token.
pub struct Pkcs11Key {
    token: Arc<Token>,
    handle: ObjectHandle,
    spec: KeySpec,
    /// The public key, DER `SubjectPublicKeyInfo`.
    public_key: Vec<u8>,
    uri: String,
}

impl fmt::Debug for Pkcs11Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Key")
            .field("spec", &self.spec)
            .field("uri", &self.uri)
            .finish()
    }
}

/// DER `Ecdsa-Sig-Value` from PKCS#11's r ‖ s.
fn ecdsa_der(raw: &[u8]) -> Result<Vec<u8>, CryptoError> {
    if raw.is_empty() || raw.len() % 2 != 0 {
        return Err(backend("the token returned a malformed ECDSA signature"));
    }
    let (r, s) = raw.split_at(raw.len() / 2);
    let mut seq = cmp_core::der::unsigned_integer(r);
    seq.extend(cmp_core::der::unsigned_integer(s));
    Ok(cmp_core::der::tlv(0x30, &seq))
}

fn sign_blocking(
    token: &Token,
    handle: ObjectHandle,
    alg: SignatureAlgorithm,
    message: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    use SignatureAlgorithm::*;
    let pss = |hash: MechanismType, mgf: PkcsMgfType, len: u64| PkcsPssParams {
        hash_alg: hash,
        mgf,
        s_len: len.into(),
    };
    let session = token.session();
    let sign = |m: &Mechanism<'_>, data: &[u8]| {
        session
            .sign(m, handle, data)
            .map_err(ck(&format!("signing with {alg}")))
    };
    match alg {
        EcdsaSha256 | EcdsaSha384 | EcdsaSha512 => {
            let hash = SoftwarePrimitives.digest(alg.digest(), message)?;
            ecdsa_der(&sign(&Mechanism::Ecdsa, &hash)?)
        }
        RsaPkcs1Sha256 => sign(&Mechanism::Sha256RsaPkcs, message),
        RsaPkcs1Sha384 => sign(&Mechanism::Sha384RsaPkcs, message),
        RsaPkcs1Sha512 => sign(&Mechanism::Sha512RsaPkcs, message),
        RsaPssSha256 => sign(
            &Mechanism::Sha256RsaPkcsPss(pss(MechanismType::SHA256, PkcsMgfType::MGF1_SHA256, 32)),
            message,
        ),
        RsaPssSha384 => sign(
            &Mechanism::Sha384RsaPkcsPss(pss(MechanismType::SHA384, PkcsMgfType::MGF1_SHA384, 48)),
            message,
        ),
        RsaPssSha512 => sign(
            &Mechanism::Sha512RsaPkcsPss(pss(MechanismType::SHA512, PkcsMgfType::MGF1_SHA512, 64)),
            message,
        ),
        Ed25519 => sign(
            &Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure)),
            message,
        ),
        other => Err(CryptoError::UnsupportedAlgorithm(format!(
            "{other} in a PKCS#11 token"
        ))),
    }
}

#[async_trait::async_trait]
impl PrivateKey for Pkcs11Key {
    fn public_key(&self) -> &[u8] {
        &self.public_key
    }

    fn spec(&self) -> KeySpec {
        self.spec
    }

    fn locator(&self) -> Option<String> {
        Some(self.uri.clone())
    }

    async fn sign(&self, alg: SignatureAlgorithm, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.spec.check_allows(alg)?;
        let token = Arc::clone(&self.token);
        let handle = self.handle;
        let message = message.to_vec();
        blocking::run(move || sign_blocking(&token, handle, alg, &message))
            .await
            .ok_or_else(|| backend("the token thread stopped"))?
    }
}

/// A provider whose keys live in the token a URI names; everything else is software.
pub fn provider(token_uri: &str) -> Result<cmp_core::crypto::CryptoProvider, CryptoError> {
    Ok(cmp_core::crypto::CryptoProvider {
        keys: Arc::new(Pkcs11Keys::open(token_uri)?),
        ..crate::software::provider()
    })
}
