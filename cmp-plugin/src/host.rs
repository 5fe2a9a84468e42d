//! The host side: loading a plugin library, checking its descriptor, and adapting it to the
//! ordinary traits ([`Transport`], [`KeyProvider`], [`PrivateKey`]).
#![allow(unsafe_code)]

use std::ffi::{CStr, c_void};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cmp_core::crypto::{
    DecryptionAlgorithm, KeyLocator, KeyProvider, KeySpec, PrivateKey, SignatureAlgorithm,
};
use cmp_core::error::CryptoError;
use cmp_core::transport::{Transport, TransportError};
use libloading::os::unix::{Library, RTLD_LOCAL, RTLD_NOW};
use rasn_pkix::SubjectPublicKeyInfo;
use zeroize::Zeroizing;

use crate::abi::{self, Buffer, Descriptor};
use crate::calls::{self, AnomalyLog, Origin};
use crate::error::{PluginError, PluginKind, PluginStatus};

/// How long an exchange without a deadline, or a key operation, may take by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// The longest timeout the adapters accept (longer ones are shortened to it).
pub const MAX_TIMEOUT: Duration = Duration::from_secs(24 * 60 * 60);

/// What the host waits beyond the deadline it gave the plugin, so that a plugin honouring
/// `timeout_ms` reports its own timeout first.
const GRACE: Duration = Duration::from_millis(200);

/// The functions of a checked descriptor (copied out of it; the strings too).
#[derive(Clone, Copy)]
struct Functions {
    free_buffer: abi::FreeBufferFn,
    create: abi::CreateFn,
    destroy: abi::DestroyFn,
    exchange: Option<abi::ExchangeFn>,
    generate: Option<abi::GenerateFn>,
    load: Option<abi::LoadFn>,
    public_key: Option<abi::PublicKeyFn>,
    sign: Option<abi::SignFn>,
    decrypt: Option<abi::KeyOpFn>,
    key_agreement: Option<abi::KeyOpFn>,
    release: Option<abi::ReleaseFn>,
}

struct Shared {
    path: PathBuf,
    name: String,
    version: String,
    kind: PluginKind,
    functions: Functions,
    anomalies: Arc<AnomalyLog>,
}

impl Shared {
    fn origin(&self, function: &'static str, report_late: bool) -> Origin {
        Origin {
            path: self.path.clone(),
            function,
            anomalies: Arc::clone(&self.anomalies),
            report_late,
        }
    }

    /// Copies a buffer the plugin returned and gives it back to the plugin.
    fn take(&self, buf: Buffer) -> Vec<u8> {
        if buf.ptr.is_null() {
            return Vec::new();
        }
        let bytes = if buf.len > isize::MAX as usize {
            Vec::new()
        } else {
            // SAFETY: the ABI makes a returned buffer `len` readable bytes at `ptr`, owned by
            // the host until it calls `free_buffer`, which happens right below.
            unsafe { std::slice::from_raw_parts(buf.ptr, buf.len) }.to_vec()
        };
        // SAFETY: `ptr`/`len` are exactly what the plugin returned, freed once.
        unsafe { (self.functions.free_buffer)(buf.ptr, buf.len) };
        bytes
    }

    fn status_error(&self, function: &'static str, status: i32, message: Vec<u8>) -> PluginError {
        let message = String::from_utf8_lossy(&message).into_owned();
        if status == abi::STATUS_PANIC {
            PluginError::Panicked {
                path: self.path.clone(),
                function,
                message,
            }
        } else {
            PluginError::Status {
                path: self.path.clone(),
                function,
                status: PluginStatus::from_code(status),
                message,
            }
        }
    }
}

/// A loaded and checked plugin library.
///
/// Libraries are opened with `RTLD_NOW | RTLD_LOCAL` and never unloaded: a plugin's threads
/// may still run its code (a callback after a deadline, a runtime thread) whatever the host
/// holds, so the handle is leaked on purpose — also for libraries found not to be plugins,
/// whose initialisers have already run. Loading the same path twice is cheap (the dynamic
/// loader counts references) and gives the same descriptor.
#[derive(Clone)]
pub struct Plugin {
    shared: Arc<Shared>,
}

impl fmt::Debug for Plugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Plugin")
            .field("path", &self.shared.path)
            .field("name", &self.shared.name)
            .field("version", &self.shared.version)
            .field("kind", &self.shared.kind)
            .finish()
    }
}

/// Reads the UTF-8 string at `p`.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string that stays valid (the ABI makes the
/// descriptor's strings static).
unsafe fn c_string(p: *const std::ffi::c_char) -> Option<String> {
    if p.is_null() {
        return None;
    }
    // SAFETY: non-null and NUL-terminated by the caller's contract.
    let s = unsafe { CStr::from_ptr(p) };
    s.to_str().ok().map(str::to_owned)
}

impl Plugin {
    /// Opens the library at `path` and checks its descriptor: magic, ABI version and size
    /// first, then the kind, the strings and the functions the kind requires.
    pub fn load(path: impl AsRef<Path>) -> Result<Plugin, PluginError> {
        let path = path.as_ref().to_path_buf();
        if !path.exists() {
            return Err(PluginError::Open {
                path,
                reason: "no such file".into(),
            });
        }
        // dlopen searches the library path for a bare file name; a plugin is named by path.
        let open_path = if path.components().count() == 1 {
            Path::new(".").join(&path)
        } else {
            path.clone()
        };
        // SAFETY: loading a library runs its initialisers; loading a plugin means trusting
        // its code, which the caller chose. RTLD_LOCAL keeps its symbols out of the global
        // namespace, RTLD_NOW makes unresolved symbols fail here rather than later.
        let lib =
            unsafe { Library::open(Some(&open_path), RTLD_NOW | RTLD_LOCAL) }.map_err(|e| {
                // The loader's message repeats the path; say it once.
                let reason = e.to_string();
                let prefix = format!("{}: ", open_path.display());
                PluginError::Open {
                    path: path.clone(),
                    reason: reason.strip_prefix(&prefix).unwrap_or(&reason).to_owned(),
                }
            })?;
        // SAFETY: the entry symbol has this type by the ABI's definition; a library that
        // exports something else under this name is not a plugin we can protect against.
        let entry = unsafe {
            lib.get::<Option<unsafe extern "C" fn() -> *const Descriptor>>(
                abi::ENTRY_SYMBOL.as_bytes(),
            )
        }
        .ok()
        .and_then(|s| s.lift_option())
        .map(|s| *s);
        // Never unloaded (see the type's documentation).
        let _handle = lib.into_raw();
        let Some(entry) = entry else {
            return Err(PluginError::NotAPlugin {
                path,
                symbol: abi::ENTRY_SYMBOL,
            });
        };
        // SAFETY: the entry function takes nothing and returns a pointer (ABI version 1).
        let desc = unsafe { entry() };
        Self::check(path, desc)
    }

    fn check(path: PathBuf, desc: *const Descriptor) -> Result<Plugin, PluginError> {
        if desc.is_null() || !desc.is_aligned() {
            return Err(PluginError::BadDescriptor {
                path,
                symbol: abi::ENTRY_SYMBOL,
            });
        }
        // Read field by field, each only once the previous ones said it is there.
        // SAFETY: the entry symbol returned a non-null, aligned pointer to a descriptor; every
        // descriptor starts with the 8-byte magic.
        let magic = unsafe { std::ptr::addr_of!((*desc).magic).read() };
        if magic != abi::MAGIC {
            return Err(PluginError::WrongMagic {
                path,
                found: magic,
                expected: abi::MAGIC,
            });
        }
        // SAFETY: a descriptor with the magic has the 4-byte version right after it.
        let version = unsafe { std::ptr::addr_of!((*desc).abi_version).read() };
        if version != abi::ABI_VERSION {
            return Err(PluginError::AbiVersion {
                path,
                found: version,
                expected: abi::ABI_VERSION,
            });
        }
        // SAFETY: version 1 descriptors have the 4-byte size after the version.
        let size = unsafe { std::ptr::addr_of!((*desc).struct_size).read() };
        if (size as usize) < abi::DESCRIPTOR_V1_SIZE {
            return Err(PluginError::StructTooSmall {
                path,
                found: size,
                needed: abi::DESCRIPTOR_V1_SIZE as u32,
            });
        }
        // SAFETY: the plugin declares at least the version 1 size, so all of `Descriptor` is
        // there; it is plain data (integers, pointers and nullable function pointers).
        let d = unsafe { &*desc };
        let Some(kind) = PluginKind::from_code(d.kind) else {
            return Err(PluginError::UnknownKind {
                path,
                found: d.kind,
            });
        };
        // SAFETY: the ABI makes `name` and `version` NULL or static NUL-terminated strings.
        let (name, version) = unsafe { (c_string(d.name), c_string(d.version)) };
        let Some(name) = name.filter(|n| !n.is_empty()) else {
            return Err(PluginError::BadString {
                path,
                field: "name",
            });
        };
        let Some(version) = version else {
            return Err(PluginError::BadString {
                path,
                field: "version",
            });
        };
        let missing = |function| PluginError::MissingFunction {
            path: path.clone(),
            function,
            kind,
        };
        let functions = Functions {
            free_buffer: d.free_buffer.ok_or_else(|| missing("free_buffer"))?,
            create: d.create.ok_or_else(|| missing("create"))?,
            destroy: d.destroy.ok_or_else(|| missing("destroy"))?,
            exchange: d.exchange,
            generate: d.generate,
            load: d.load,
            public_key: d.public_key,
            sign: d.sign,
            decrypt: d.decrypt,
            key_agreement: d.key_agreement,
            release: d.release,
        };
        let required: &[(&'static str, bool)] = match kind {
            PluginKind::Transport => &[("exchange", functions.exchange.is_some())],
            PluginKind::KeyBackend => &[
                ("generate", functions.generate.is_some()),
                ("load", functions.load.is_some()),
                ("public_key", functions.public_key.is_some()),
                ("sign", functions.sign.is_some()),
                ("release", functions.release.is_some()),
            ],
        };
        if let Some((function, _)) = required.iter().find(|(_, present)| !present) {
            return Err(missing(function));
        }
        Ok(Plugin {
            shared: Arc::new(Shared {
                path,
                name,
                version,
                kind,
                functions,
                anomalies: Arc::default(),
            }),
        })
    }

    /// The library's path, as given to [`Plugin::load`].
    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// The plugin's name (for a transport, the URL scheme it serves).
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// The plugin's version string.
    pub fn version(&self) -> &str {
        &self.shared.version
    }

    /// What kind of plugin it is.
    pub fn kind(&self) -> PluginKind {
        self.shared.kind
    }

    /// Misbehaviour noticed after the operation it concerned had ended (a completion
    /// callback called twice, or after the deadline), oldest first; the last 64 are kept.
    pub fn anomalies(&self) -> Vec<PluginError> {
        self.shared.anomalies.snapshot()
    }

    fn expect_kind(&self, expected: PluginKind) -> Result<(), PluginError> {
        if self.shared.kind == expected {
            Ok(())
        } else {
            Err(PluginError::WrongKind {
                path: self.shared.path.clone(),
                found: self.shared.kind,
                expected,
            })
        }
    }

    fn create(&self, settings: &str) -> Result<Arc<Instance>, PluginError> {
        let s = &self.shared;
        let mut instance: *mut c_void = std::ptr::null_mut();
        let mut error = Buffer::empty();
        // SAFETY: `settings` is borrowed for the call; `instance` and `error` are valid
        // out-pointers to locals.
        let status = unsafe {
            (s.functions.create)(settings.as_ptr(), settings.len(), &mut instance, &mut error)
        };
        let message = s.take(error);
        if status != abi::STATUS_OK {
            return Err(s.status_error("create", status, message));
        }
        if instance.is_null() {
            return Err(PluginError::InvalidOutput {
                path: s.path.clone(),
                function: "create",
                what: "success but no instance".into(),
            });
        }
        Ok(Arc::new(Instance {
            shared: Arc::clone(s),
            ptr: instance,
        }))
    }

    /// Makes a transport from the plugin (`create` with `settings`, for a transport its
    /// server URL). Fails with [`PluginError::WrongKind`] for a key backend.
    pub fn transport(&self, settings: &str) -> Result<PluginTransport, PluginError> {
        self.expect_kind(PluginKind::Transport)?;
        Ok(PluginTransport {
            instance: self.create(settings)?,
            default_timeout: DEFAULT_TIMEOUT,
        })
    }

    /// Makes a key backend from the plugin (`create` with `settings`). Fails with
    /// [`PluginError::WrongKind`] for a transport.
    pub fn key_backend(&self, settings: &str) -> Result<PluginKeyProvider, PluginError> {
        self.expect_kind(PluginKind::KeyBackend)?;
        Ok(PluginKeyProvider {
            instance: self.create(settings)?,
            timeout: DEFAULT_TIMEOUT,
        })
    }
}

/// An instance the plugin created; destroyed when the last transport or key using it goes.
struct Instance {
    shared: Arc<Shared>,
    ptr: *mut c_void,
}

// SAFETY: the ABI requires a plugin's functions to accept an instance from any thread, also
// concurrently; the host never dereferences the pointer itself.
unsafe impl Send for Instance {}
// SAFETY: as above.
unsafe impl Sync for Instance {}

impl Drop for Instance {
    fn drop(&mut self) {
        // SAFETY: `ptr` came from `create` and is destroyed once, when nothing of the host
        // uses it any more.
        unsafe { (self.shared.functions.destroy)(self.ptr) };
    }
}

impl Instance {
    /// Starts an asynchronous operation through `call`, which gets the completion callback
    /// and `ctx`, and waits for its completion until `deadline`.
    async fn call(
        &self,
        function: &'static str,
        deadline: Instant,
        call: impl FnOnce(abi::Completion, *mut c_void),
    ) -> Result<Vec<u8>, PluginError> {
        let s = &self.shared;
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(PluginError::DeadlinePassed {
                path: s.path.clone(),
                function,
            });
        }
        let millis = u64::try_from(remaining.as_millis()).unwrap_or(u64::MAX);
        let (id, outcome) = calls::start(s.origin(function, true), deadline + GRACE, millis);
        call(calls::host_completion, calls::ctx_of(id));
        outcome.await
    }

    /// Runs a blocking plugin function (`generate`, `load`) on a helper thread, so that the
    /// wait is bounded by `deadline`; a key that arrives after it is released at once.
    async fn blocking_key_op(
        self: &Arc<Self>,
        function: &'static str,
        deadline: Instant,
        op: impl FnOnce(&Instance, &mut u64, &mut Buffer) -> i32 + Send + 'static,
    ) -> Result<u64, PluginError> {
        let s = &self.shared;
        let millis = u64::try_from(
            deadline
                .saturating_duration_since(Instant::now())
                .as_millis(),
        )
        .unwrap_or(u64::MAX);
        let (id, outcome) = calls::start(s.origin(function, false), deadline, millis);
        let me = Arc::clone(self);
        let spawned = std::thread::Builder::new()
            .name(format!("cmp-plugin-{function}"))
            .spawn(move || {
                let mut handle = 0u64;
                let mut error = Buffer::empty();
                let status = op(&me, &mut handle, &mut error);
                let message = me.shared.take(error);
                let used = if status == abi::STATUS_OK {
                    calls::complete(id, status, &handle.to_le_bytes())
                } else {
                    calls::complete(id, status, &message)
                };
                if status == abi::STATUS_OK && !used {
                    me.release(handle);
                }
            });
        if let Err(e) = spawned {
            drop(outcome);
            return Err(PluginError::Status {
                path: s.path.clone(),
                function,
                status: PluginStatus::Error,
                message: format!("the host cannot start a thread for it: {e}"),
            });
        }
        let bytes = outcome.await?;
        let handle: [u8; 8] = bytes.try_into().map_err(|_| PluginError::InvalidOutput {
            path: s.path.clone(),
            function,
            what: "no handle".into(),
        })?;
        Ok(u64::from_le_bytes(handle))
    }

    fn release(&self, handle: u64) {
        if let Some(release) = self.shared.functions.release {
            // SAFETY: `handle` came from this instance's `generate`/`load` and is released
            // once.
            unsafe { release(self.ptr, handle) };
        }
    }
}

/// A transport plugin's instance, usable as a [`Transport`].
pub struct PluginTransport {
    instance: Arc<Instance>,
    default_timeout: Duration,
}

impl fmt::Debug for PluginTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PluginTransport")
            .field("path", &self.instance.shared.path)
            .field("name", &self.instance.shared.name)
            .finish()
    }
}

impl PluginTransport {
    /// How long an exchange given no deadline may take (default [`DEFAULT_TIMEOUT`], at most
    /// [`MAX_TIMEOUT`]).
    pub fn default_timeout(mut self, timeout: Duration) -> Self {
        self.default_timeout = timeout.min(MAX_TIMEOUT);
        self
    }

    /// One exchange, with the plugin's failures as [`PluginError`]. Waits until `deadline`
    /// (or the default timeout) and a little grace for the plugin to report its own timeout.
    pub async fn exchange_raw(
        &self,
        request: &[u8],
        deadline: Option<Instant>,
    ) -> Result<Vec<u8>, PluginError> {
        let now = Instant::now();
        let deadline = deadline
            .unwrap_or_else(|| now + self.default_timeout)
            .min(now + MAX_TIMEOUT);
        let inst = &self.instance;
        let exchange =
            inst.shared
                .functions
                .exchange
                .ok_or_else(|| PluginError::MissingFunction {
                    path: inst.shared.path.clone(),
                    function: "exchange",
                    kind: PluginKind::Transport,
                })?;
        let millis = u64::try_from(
            deadline
                .saturating_duration_since(Instant::now())
                .as_millis(),
        )
        .unwrap_or(u64::MAX);
        inst.call("exchange", deadline, |cb, ctx| {
            // SAFETY: `request` is borrowed for the duration of the call, as the ABI says;
            // `cb`/`ctx` are the host's completion and a call number.
            unsafe { exchange(inst.ptr, request.as_ptr(), request.len(), millis, cb, ctx) }
        })
        .await
    }
}

#[async_trait::async_trait]
impl Transport for PluginTransport {
    /// [`PluginTransport::exchange_raw`]; a completion that never came is
    /// [`TransportError::Timeout`], every other failure [`TransportError::Protocol`] with the
    /// [`PluginError`]'s sentence.
    async fn exchange(
        &self,
        request: &[u8],
        deadline: Option<Instant>,
    ) -> Result<Vec<u8>, TransportError> {
        self.exchange_raw(request, deadline)
            .await
            .map_err(|e| match e {
                PluginError::CallbackNeverCalled { path, millis, .. } => TransportError::Timeout {
                    what: format!("the exchange through plugin {}", path.display()),
                    millis,
                },
                other => TransportError::Protocol(other.to_string()),
            })
    }
}

/// A key backend plugin's instance, usable as a [`KeyProvider`].
pub struct PluginKeyProvider {
    instance: Arc<Instance>,
    timeout: Duration,
}

impl fmt::Debug for PluginKeyProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PluginKeyProvider")
            .field("path", &self.instance.shared.path)
            .field("name", &self.instance.shared.name)
            .finish()
    }
}

fn crypto_error(backend: &str, e: PluginError) -> CryptoError {
    match e {
        PluginError::Status {
            status: PluginStatus::Unsupported,
            ..
        } => CryptoError::UnsupportedAlgorithm(e.to_string()),
        other => CryptoError::Backend {
            backend: backend.to_owned(),
            reason: other.to_string(),
        },
    }
}

impl PluginKeyProvider {
    /// How long a key operation (generate, load, sign, decrypt, key agreement) may take
    /// (default [`DEFAULT_TIMEOUT`], at most [`MAX_TIMEOUT`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout.min(MAX_TIMEOUT);
        self
    }

    /// Generates a key, with the plugin's failures as [`PluginError`].
    pub async fn generate_key(&self, spec: KeySpec) -> Result<PluginKey, PluginError> {
        let generate = self.instance.shared.functions.generate;
        let spec_text = spec.to_string();
        let handle = self
            .instance
            .blocking_key_op(
                "generate",
                Instant::now() + self.timeout,
                move |inst, handle, error| match generate {
                    // SAFETY: the spec is borrowed for the call; `handle`/`error` are valid
                    // out-pointers.
                    Some(f) => unsafe {
                        f(inst.ptr, spec_text.as_ptr(), spec_text.len(), handle, error)
                    },
                    None => abi::STATUS_UNSUPPORTED,
                },
            )
            .await?;
        self.key(handle, None)
    }

    /// Loads a key, with the plugin's failures as [`PluginError`]. A URI is passed as
    /// [`abi::LOCATOR_URI`], an encoded key as [`abi::LOCATOR_ENCODED`].
    pub async fn load_key(&self, locator: &KeyLocator) -> Result<PluginKey, PluginError> {
        let load = self.instance.shared.functions.load;
        let (kind, data, password, uri) = match locator {
            KeyLocator::Uri(u) => (abi::LOCATOR_URI, u.as_bytes().to_vec(), None, Some(u)),
            KeyLocator::Encoded { data, password } => (
                abi::LOCATOR_ENCODED,
                data.to_vec(),
                password.as_ref().map(|p| p.to_vec()),
                None,
            ),
            _ => {
                return Err(PluginError::Status {
                    path: self.instance.shared.path.clone(),
                    function: "load",
                    status: PluginStatus::Unsupported,
                    message: "the host cannot pass this kind of key locator".into(),
                });
            }
        };
        let handle = self
            .instance
            .blocking_key_op(
                "load",
                Instant::now() + self.timeout,
                move |inst, handle, error| {
                    let (pw, pw_len) = password
                        .as_ref()
                        .map_or((std::ptr::null(), 0), |p| (p.as_ptr(), p.len()));
                    match load {
                        // SAFETY: data and password are borrowed for the call; `handle` and
                        // `error` are valid out-pointers.
                        Some(f) => unsafe {
                            f(
                                inst.ptr,
                                kind,
                                data.as_ptr(),
                                data.len(),
                                pw,
                                pw_len,
                                handle,
                                error,
                            )
                        },
                        None => abi::STATUS_UNSUPPORTED,
                    }
                },
            )
            .await?;
        self.key(handle, uri.cloned())
    }

    /// Wraps a fresh handle: fetches and checks its public key (releasing it on failure).
    fn key(&self, handle: u64, locator: Option<String>) -> Result<PluginKey, PluginError> {
        let inst = &self.instance;
        let s = &inst.shared;
        let bad = |what: String| PluginError::InvalidOutput {
            path: s.path.clone(),
            function: "public_key",
            what,
        };
        let result = (|| {
            let public_key = s
                .functions
                .public_key
                .ok_or_else(|| bad("nothing".into()))?;
            let mut out = Buffer::empty();
            // SAFETY: `handle` came from this instance; `out` is a valid out-pointer.
            let status = unsafe { public_key(inst.ptr, handle, &mut out) };
            let bytes = s.take(out);
            if status != abi::STATUS_OK {
                return Err(s.status_error("public_key", status, bytes));
            }
            let spki: SubjectPublicKeyInfo = rasn::der::decode(&bytes)
                .map_err(|e| bad(format!("no DER SubjectPublicKeyInfo ({e})")))?;
            let spec = KeySpec::of_public_key(&spki)
                .map_err(|e| bad(format!("a public key this host cannot use ({e})")))?;
            Ok((bytes, spec))
        })();
        match result {
            Ok((der, spec)) => Ok(PluginKey {
                instance: Arc::clone(inst),
                handle,
                spki_der: der,
                spec,
                locator,
                timeout: self.timeout,
            }),
            Err(e) => {
                inst.release(handle);
                Err(e)
            }
        }
    }
}

#[async_trait::async_trait]
impl KeyProvider for PluginKeyProvider {
    fn name(&self) -> &str {
        &self.instance.shared.name
    }

    async fn generate(&self, spec: KeySpec) -> Result<Arc<dyn PrivateKey>, CryptoError> {
        match self.generate_key(spec).await {
            Ok(k) => Ok(Arc::new(k)),
            Err(e) => Err(crypto_error(self.name(), e)),
        }
    }

    async fn load(&self, locator: &KeyLocator) -> Result<Arc<dyn PrivateKey>, CryptoError> {
        match self.load_key(locator).await {
            Ok(k) => Ok(Arc::new(k)),
            Err(e) => Err(crypto_error(self.name(), e)),
        }
    }
}

/// A key held by a key backend plugin, usable as a [`PrivateKey`]; released when dropped.
pub struct PluginKey {
    instance: Arc<Instance>,
    handle: u64,
    /// The public key as DER SubjectPublicKeyInfo, as the plugin returned it (checked to
    /// decode as one).
    spki_der: Vec<u8>,
    spec: KeySpec,
    locator: Option<String>,
    timeout: Duration,
}

impl fmt::Debug for PluginKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PluginKey")
            .field("plugin", &self.instance.shared.path)
            .field("spec", &self.spec)
            .field("locator", &self.locator)
            .finish()
    }
}

impl Drop for PluginKey {
    fn drop(&mut self) {
        self.instance.release(self.handle);
    }
}

impl PluginKey {
    async fn key_op(
        &self,
        function: &'static str,
        entry: Option<abi::KeyOpFn>,
        alg: &str,
        data: &[u8],
    ) -> Result<Vec<u8>, PluginError> {
        let inst = &self.instance;
        let Some(f) = entry else {
            return Err(PluginError::Unsupported {
                path: inst.shared.path.clone(),
                capability: function,
            });
        };
        inst.call(function, Instant::now() + self.timeout, |cb, ctx| {
            // SAFETY: `alg` and `data` are borrowed for the call; the handle is live (we hold
            // it until drop); `cb`/`ctx` are the host's completion and a call number.
            unsafe {
                f(
                    inst.ptr,
                    self.handle,
                    alg.as_ptr(),
                    alg.len(),
                    data.as_ptr(),
                    data.len(),
                    cb,
                    ctx,
                )
            }
        })
        .await
    }

    /// Signs `message` with the plugin's failures as [`PluginError`].
    pub async fn sign_raw(
        &self,
        alg: SignatureAlgorithm,
        message: &[u8],
    ) -> Result<Vec<u8>, PluginError> {
        let sign = self.instance.shared.functions.sign;
        self.key_op("sign", sign, alg.name(), message).await
    }

    /// Decrypts `ciphertext` with the algorithm named `alg` (the plugin's vocabulary, e.g.
    /// `rsaes-oaep-sha256`); [`PluginError::Unsupported`] when the plugin has no `decrypt`.
    pub async fn decrypt(&self, alg: &str, ciphertext: &[u8]) -> Result<Vec<u8>, PluginError> {
        let decrypt = self.instance.shared.functions.decrypt;
        self.key_op("decrypt", decrypt, alg, ciphertext).await
    }

    /// The shared secret with the peer's public key (DER SubjectPublicKeyInfo), by the
    /// algorithm named `alg` (e.g. `ecdh`); [`PluginError::Unsupported`] when the plugin has
    /// no `key_agreement`.
    pub async fn key_agreement(
        &self,
        alg: &str,
        peer_spki_der: &[u8],
    ) -> Result<Vec<u8>, PluginError> {
        let agree = self.instance.shared.functions.key_agreement;
        self.key_op("key_agreement", agree, alg, peer_spki_der)
            .await
    }
}

#[async_trait::async_trait]
impl PrivateKey for PluginKey {
    fn public_key(&self) -> &[u8] {
        &self.spki_der
    }

    fn spec(&self) -> KeySpec {
        self.spec
    }

    fn locator(&self) -> Option<String> {
        self.locator.clone()
    }

    async fn sign(&self, alg: SignatureAlgorithm, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.spec.check_allows(alg)?;
        self.sign_raw(alg, message)
            .await
            .map_err(|e| crypto_error(&self.instance.shared.name, e))
    }

    async fn decrypt(
        &self,
        alg: DecryptionAlgorithm,
        ciphertext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        PluginKey::decrypt(self, alg.name(), ciphertext)
            .await
            .map(Zeroizing::new)
            .map_err(|e| self.capability_error("decrypt", e))
    }

    async fn key_agreement(&self, peer: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        PluginKey::key_agreement(self, "ecdh", peer)
            .await
            .map(Zeroizing::new)
            .map_err(|e| self.capability_error("agree on a key", e))
    }
}

impl PluginKey {
    /// A failed optional capability: "not capable" when the plugin lacks it or says
    /// unsupported, else the plugin's failure.
    fn capability_error(&self, capability: &'static str, e: PluginError) -> CryptoError {
        match e {
            PluginError::Unsupported { .. }
            | PluginError::Status {
                status: PluginStatus::Unsupported,
                ..
            } => CryptoError::NotCapable {
                capability,
                key: self.spec.to_string(),
                reason: e.to_string(),
            },
            other => crypto_error(&self.instance.shared.name, other),
        }
    }
}
