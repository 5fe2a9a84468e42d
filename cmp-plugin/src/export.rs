//! The author side: exporting a [`Transport`] or a [`KeyProvider`] as a plugin with
//! [`export_transport!`](crate::export_transport) or
//! [`export_key_backend!`](crate::export_key_backend).
//!
//! The macros expand to the entry symbol only; the `extern "C"` functions it points at are the
//! generic shims of this module. Every shim catches panics (turned into
//! [`STATUS_PANIC`](abi::STATUS_PANIC) with the panic message) and runs the async trait
//! methods on the plugin's own runtime: one current-thread tokio runtime per library (the
//! library has its own copy of tokio, and cannot use the host's), driven by one thread named
//! `cmp-plugin-runtime` started on first use. Tokio's IO and timer drivers are enabled as far
//! as the plugin's tokio features allow.
//!
//! Work on that one thread is cooperative: a plugin's async code should not block it for long
//! (use `tokio::task::spawn_blocking` for slow synchronous work).
#![allow(unsafe_code)]

use std::any::Any;
use std::collections::HashMap;
use std::ffi::{CStr, c_void};
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use cmp_core::crypto::{
    DecryptionAlgorithm, KeyLocator, KeyProvider, KeySpec, PrivateKey, SignatureAlgorithm,
};
use cmp_core::error::CryptoError;
use cmp_core::transport::{Transport, TransportError};

use crate::abi::{self, Buffer, Completion, Descriptor, StaticDescriptor};

/// A [`Transport`] that can be exported as a plugin with
/// [`export_transport!`](crate::export_transport).
pub trait TransportPlugin: Transport + Sized + 'static {
    /// The plugin's name: the URL scheme it serves (e.g. `c"file"`).
    const NAME: &'static CStr;
    /// The plugin's version (e.g. `c"0.1.0"`).
    const VERSION: &'static CStr;

    /// Makes a transport from the settings the host passes to `create`: the server URL.
    /// The error is a sentence the host shows.
    fn create(settings: &str) -> Result<Self, String>;
}

/// A [`KeyProvider`] that can be exported as a plugin with
/// [`export_key_backend!`](crate::export_key_backend). Its keys' `decrypt` and
/// `key_agreement` ([`PrivateKey`]'s optional capabilities)
/// are exported too; a key without one answers `STATUS_UNSUPPORTED`.
pub trait KeyBackendPlugin: KeyProvider + Sized + 'static {
    /// The plugin's name (e.g. `c"my-hsm"`).
    const NAME: &'static CStr;
    /// The plugin's version.
    const VERSION: &'static CStr;

    /// Makes a backend from the settings the host passes to `create` (UTF-8, the plugin's
    /// own format). The error is a sentence the host shows.
    fn create(settings: &str) -> Result<Self, String>;
}

/// Exports a [`TransportPlugin`] from a `cdylib`: `cmp_plugin::export_transport!(MyTransport);`
/// at the crate root generates the entry symbol `cmp_plugin_entry_v1`.
///
/// The crate must not `forbid(unsafe_code)` (the entry symbol is `#[unsafe(no_mangle)]`);
/// `deny` is fine, the expansion allows it for that one item.
#[macro_export]
macro_rules! export_transport {
    ($ty:ty) => {
        /// The plugin's entry point (CMP plugin ABI version 1).
        #[allow(unsafe_code)]
        #[unsafe(no_mangle)]
        pub extern "C" fn cmp_plugin_entry_v1() -> *const $crate::abi::Descriptor {
            static DESCRIPTOR: $crate::abi::StaticDescriptor =
                $crate::export::transport_descriptor::<$ty>();
            &DESCRIPTOR.0
        }
    };
}

/// Exports a [`KeyBackendPlugin`] from a `cdylib`:
/// `cmp_plugin::export_key_backend!(MyBackend);` at the crate root generates the entry
/// symbol `cmp_plugin_entry_v1`. The same rule on `unsafe_code` as for
/// [`export_transport!`](crate::export_transport) applies.
#[macro_export]
macro_rules! export_key_backend {
    ($ty:ty) => {
        /// The plugin's entry point (CMP plugin ABI version 1).
        #[allow(unsafe_code)]
        #[unsafe(no_mangle)]
        pub extern "C" fn cmp_plugin_entry_v1() -> *const $crate::abi::Descriptor {
            static DESCRIPTOR: $crate::abi::StaticDescriptor =
                $crate::export::key_backend_descriptor::<$ty>();
            &DESCRIPTOR.0
        }
    };
}

const fn base(kind: u32, name: &'static CStr, version: &'static CStr) -> Descriptor {
    Descriptor {
        magic: abi::MAGIC,
        abi_version: abi::ABI_VERSION,
        struct_size: abi::DESCRIPTOR_V1_SIZE as u32,
        kind,
        reserved: 0,
        name: name.as_ptr(),
        version: version.as_ptr(),
        free_buffer: Some(free_buffer),
        create: None,
        destroy: None,
        exchange: None,
        generate: None,
        load: None,
        public_key: None,
        sign: None,
        decrypt: None,
        key_agreement: None,
        release: None,
    }
}

/// The descriptor [`export_transport!`](crate::export_transport) exports for `T`.
#[doc(hidden)]
pub const fn transport_descriptor<T: TransportPlugin>() -> StaticDescriptor {
    let mut d = base(abi::KIND_TRANSPORT, T::NAME, T::VERSION);
    d.create = Some(create::<T>);
    d.destroy = Some(destroy::<T>);
    d.exchange = Some(exchange::<T>);
    StaticDescriptor(d)
}

/// The descriptor [`export_key_backend!`](crate::export_key_backend) exports for `T`.
#[doc(hidden)]
pub const fn key_backend_descriptor<T: KeyBackendPlugin>() -> StaticDescriptor {
    let mut d = base(abi::KIND_KEY_BACKEND, T::NAME, T::VERSION);
    d.create = Some(create_backend::<T>);
    d.destroy = Some(destroy::<Backend<T>>);
    d.generate = Some(generate::<T>);
    d.load = Some(load::<T>);
    d.public_key = Some(public_key::<T>);
    d.sign = Some(sign::<T>);
    d.decrypt = Some(decrypt::<T>);
    d.key_agreement = Some(key_agreement::<T>);
    d.release = Some(release::<T>);
    StaticDescriptor(d)
}

// ---------------------------------------------------------------------------------------------
// Runtime, buffers, panics.

fn runtime() -> Result<&'static tokio::runtime::Handle, String> {
    static HANDLE: OnceLock<Result<tokio::runtime::Handle, String>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("the plugin cannot start its runtime: {e}"))?;
            let handle = rt.handle().clone();
            std::thread::Builder::new()
                .name("cmp-plugin-runtime".into())
                .spawn(move || rt.block_on(std::future::pending::<()>()))
                .map_err(|e| format!("the plugin cannot start its runtime thread: {e}"))?;
            Ok(handle)
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Runs `fut` on the plugin's runtime and waits for it on the calling thread (which must not
/// be the runtime's thread; the host calls from its own threads).
fn run_blocking<F>(fut: F) -> Result<F::Output, (i32, String)>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let rt = runtime().map_err(|e| (abi::STATUS_ERROR, e))?;
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let task = rt.spawn(fut);
    rt.spawn(async move {
        let _ = tx.send(task.await);
    });
    match rx.recv() {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) if e.is_panic() => Err((abi::STATUS_PANIC, panic_message(&*e.into_panic()))),
        _ => Err((abi::STATUS_ERROR, "the plugin's task was cancelled".into())),
    }
}

fn panic_message(p: &(dyn Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".into()
    }
}

/// Frees a buffer [`give`] made.
///
/// # Safety
/// `ptr`/`len` are a buffer this module returned, freed once.
unsafe extern "C" fn free_buffer(ptr: *mut u8, len: usize) {
    if !ptr.is_null() {
        // SAFETY: made by `give` from a `Box<[u8]>` of exactly `len` bytes.
        drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr, len)) });
    }
}

/// Hands `bytes` to the host through the out-parameter `out` (ignored when NULL).
///
/// # Safety
/// `out` is NULL or a valid pointer to a [`Buffer`].
unsafe fn give(out: *mut Buffer, bytes: Vec<u8>) {
    if out.is_null() {
        return;
    }
    let len = bytes.len();
    let ptr = Box::into_raw(bytes.into_boxed_slice()).cast::<u8>();
    // SAFETY: `out` is valid by the caller's contract.
    unsafe { out.write(Buffer { ptr, len }) };
}

/// Borrows `len` bytes at `ptr` (empty when NULL).
///
/// # Safety
/// With `len > 0` and `ptr` non-null, `ptr` is valid for reading `len` bytes for `'a`.
unsafe fn bytes<'a>(ptr: *const u8, len: usize) -> &'a [u8] {
    if ptr.is_null() || len == 0 {
        &[]
    } else {
        // SAFETY: by the caller's contract (the ABI's rule for input buffers).
        unsafe { std::slice::from_raw_parts(ptr, len) }
    }
}

/// Runs a synchronous shim body, turning a panic into [`abi::STATUS_PANIC`] with its message.
fn catch(f: impl FnOnce() -> Result<(), (i32, String)>) -> Result<(), (i32, String)> {
    catch_unwind(AssertUnwindSafe(f))
        .unwrap_or_else(|p| Err((abi::STATUS_PANIC, panic_message(&*p))))
}

/// The status of `result`; an error's message goes to `error`.
///
/// # Safety
/// `error` is NULL or a valid pointer to a [`Buffer`].
unsafe fn finish(error: *mut Buffer, result: Result<(), (i32, String)>) -> i32 {
    match result {
        Ok(()) => abi::STATUS_OK,
        Err((status, message)) => {
            // SAFETY: by the caller's contract.
            unsafe { give(error, message.into_bytes()) };
            status
        }
    }
}

/// The host's completion callback and context, sendable to the runtime's thread.
struct Reply {
    callback: Completion,
    ctx: *mut c_void,
}

// SAFETY: the ABI lets a plugin call the completion from any thread; `ctx` is opaque to us.
unsafe impl Send for Reply {}

impl Reply {
    fn send(self, status: i32, data: &[u8]) {
        // SAFETY: the callback and ctx are what the host passed; `data` is valid for the call.
        unsafe { (self.callback)(self.ctx, status, data.as_ptr(), data.len()) }
    }

    /// Runs `fut` on the runtime and sends its outcome (or its panic) to the host.
    fn spawn<F>(self, prepared: std::thread::Result<Result<F, (i32, String)>>)
    where
        F: Future<Output = Result<Vec<u8>, (i32, String)>> + Send + 'static,
    {
        let fut = match prepared {
            Ok(Ok(f)) => f,
            Ok(Err((status, message))) => return self.send(status, message.as_bytes()),
            Err(p) => return self.send(abi::STATUS_PANIC, panic_message(&*p).as_bytes()),
        };
        let rt = match runtime() {
            Ok(rt) => rt,
            Err(e) => return self.send(abi::STATUS_ERROR, e.as_bytes()),
        };
        let task = rt.spawn(fut);
        rt.spawn(async move {
            match task.await {
                Ok(Ok(v)) => self.send(abi::STATUS_OK, &v),
                Ok(Err((status, message))) => self.send(status, message.as_bytes()),
                Err(e) if e.is_panic() => self.send(
                    abi::STATUS_PANIC,
                    panic_message(&*e.into_panic()).as_bytes(),
                ),
                Err(_) => self.send(abi::STATUS_ERROR, b"the plugin's task was cancelled"),
            }
        });
    }
}

/// The object behind an instance pointer (an error for NULL).
///
/// # Safety
/// `instance` is NULL or came from this module's `create` for the same `T` and is not
/// destroyed.
unsafe fn instance<T>(instance: *mut c_void) -> Result<Arc<T>, (i32, String)> {
    if instance.is_null() {
        return Err((abi::STATUS_INVALID_ARGUMENT, "no instance".into()));
    }
    // SAFETY: `create` made it from `Box<Arc<T>>`.
    Ok(unsafe { Arc::clone(&*instance.cast::<Arc<T>>()) })
}

fn utf8(b: &[u8], what: &str) -> Result<String, (i32, String)> {
    String::from_utf8(b.to_vec()).map_err(|_| {
        (
            abi::STATUS_INVALID_ARGUMENT,
            format!("the {what} is not UTF-8"),
        )
    })
}

/// # Safety
/// The ABI's contract for `create`.
unsafe fn create_with<T: Send + Sync + 'static>(
    settings: *const u8,
    settings_len: usize,
    out: *mut *mut c_void,
    error: *mut Buffer,
    make: impl FnOnce(&str) -> Result<T, String>,
) -> i32 {
    let result = catch(|| {
        if out.is_null() {
            return Err((abi::STATUS_INVALID_ARGUMENT, "no instance pointer".into()));
        }
        // SAFETY: the settings are borrowed for the call.
        let s = utf8(unsafe { bytes(settings, settings_len) }, "settings")?;
        let t = make(&s).map_err(|m| (abi::STATUS_ERROR, m))?;
        let p = Box::into_raw(Box::new(Arc::new(t))).cast::<c_void>();
        // SAFETY: `out` is a valid out-pointer (checked non-null).
        unsafe { out.write(p) };
        Ok(())
    });
    // SAFETY: `error` is the host's out-pointer.
    unsafe { finish(error, result) }
}

unsafe extern "C" fn create<T: TransportPlugin>(
    settings: *const u8,
    settings_len: usize,
    out: *mut *mut c_void,
    error: *mut Buffer,
) -> i32 {
    // SAFETY: forwarded contract.
    unsafe { create_with(settings, settings_len, out, error, T::create) }
}

unsafe extern "C" fn destroy<T>(instance: *mut c_void) {
    if instance.is_null() {
        return;
    }
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: made by `create_with` as `Box<Arc<T>>`, destroyed once by the host.
        drop(unsafe { Box::from_raw(instance.cast::<Arc<T>>()) });
    }));
}

fn transport_status(e: &TransportError) -> i32 {
    match e {
        TransportError::Timeout { .. } => abi::STATUS_TIMEOUT,
        TransportError::InvalidUrl { .. } => abi::STATUS_INVALID_ARGUMENT,
        _ => abi::STATUS_ERROR,
    }
}

unsafe extern "C" fn exchange<T: TransportPlugin>(
    inst: *mut c_void,
    request: *const u8,
    request_len: usize,
    timeout_ms: u64,
    callback: Completion,
    ctx: *mut c_void,
) {
    let reply = Reply { callback, ctx };
    let prepared = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the host passes an instance of ours and a request borrowed for the call.
        let (t, req) = unsafe { (instance::<T>(inst)?, bytes(request, request_len).to_vec()) };
        // A timeout beyond what the clock can represent is no deadline.
        let deadline = Instant::now().checked_add(Duration::from_millis(timeout_ms));
        Ok(async move {
            t.exchange(&req, deadline)
                .await
                .map_err(|e| (transport_status(&e), e.to_string()))
        })
    }));
    reply.spawn(prepared);
}

// ---------------------------------------------------------------------------------------------
// Key backends.

/// A key backend instance: the backend and the keys the host holds handles to.
struct Backend<T> {
    backend: T,
    keys: Mutex<HashMap<u64, Arc<dyn PrivateKey>>>,
    next: AtomicU64,
}

impl<T> Backend<T> {
    fn keep(&self, key: Arc<dyn PrivateKey>) -> u64 {
        let h = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        self.keys
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(h, key);
        h
    }

    fn key(&self, h: u64) -> Result<Arc<dyn PrivateKey>, (i32, String)> {
        self.keys
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&h)
            .cloned()
            .ok_or_else(|| {
                (
                    abi::STATUS_INVALID_ARGUMENT,
                    format!("no key with handle {h}"),
                )
            })
    }
}

fn crypto_status(e: &CryptoError) -> (i32, String) {
    let status = match e {
        CryptoError::UnsupportedAlgorithm(_)
        | CryptoError::NotCapable { .. }
        | CryptoError::NotInBuild { .. } => abi::STATUS_UNSUPPORTED,
        CryptoError::InvalidKey(_) | CryptoError::KeyMismatch(_) => abi::STATUS_INVALID_ARGUMENT,
        _ => abi::STATUS_ERROR,
    };
    (status, e.to_string())
}

unsafe extern "C" fn create_backend<T: KeyBackendPlugin>(
    settings: *const u8,
    settings_len: usize,
    out: *mut *mut c_void,
    error: *mut Buffer,
) -> i32 {
    // SAFETY: forwarded contract.
    unsafe {
        create_with(settings, settings_len, out, error, |s| {
            T::create(s).map(|backend| Backend {
                backend,
                keys: Mutex::default(),
                next: AtomicU64::new(0),
            })
        })
    }
}

/// # Safety
/// `handle` is a valid out-pointer (or NULL: then an error).
unsafe fn put_handle(handle: *mut u64, h: u64) -> Result<(), (i32, String)> {
    if handle.is_null() {
        return Err((abi::STATUS_INVALID_ARGUMENT, "no handle pointer".into()));
    }
    // SAFETY: non-null out-pointer from the host.
    unsafe { handle.write(h) };
    Ok(())
}

unsafe extern "C" fn generate<T: KeyBackendPlugin>(
    inst: *mut c_void,
    spec: *const u8,
    spec_len: usize,
    handle: *mut u64,
    error: *mut Buffer,
) -> i32 {
    let result = catch(|| {
        // SAFETY: an instance of ours; the spec is borrowed for the call.
        let (b, spec) = unsafe { (instance::<Backend<T>>(inst)?, bytes(spec, spec_len)) };
        let spec = KeySpec::from_str(&utf8(spec, "key spec")?)
            .map_err(|e| (abi::STATUS_INVALID_ARGUMENT, e.to_string()))?;
        let key = run_blocking({
            let b = Arc::clone(&b);
            async move { b.backend.generate(spec).await }
        })?
        .map_err(|e| crypto_status(&e))?;
        // SAFETY: the host's out-pointer.
        unsafe { put_handle(handle, b.keep(key)) }
    });
    // SAFETY: `error` is the host's out-pointer.
    unsafe { finish(error, result) }
}

#[allow(clippy::too_many_arguments)]
unsafe extern "C" fn load<T: KeyBackendPlugin>(
    inst: *mut c_void,
    kind: u32,
    data: *const u8,
    data_len: usize,
    password: *const u8,
    password_len: usize,
    handle: *mut u64,
    error: *mut Buffer,
) -> i32 {
    let result = catch(|| {
        // SAFETY: an instance of ours; data and password are borrowed for the call.
        let (b, data, password) = unsafe {
            (
                instance::<Backend<T>>(inst)?,
                bytes(data, data_len).to_vec(),
                (!password.is_null()).then(|| bytes(password, password_len).to_vec()),
            )
        };
        let locator = match kind {
            abi::LOCATOR_URI => KeyLocator::Uri(utf8(&data, "key URI")?),
            abi::LOCATOR_ENCODED => KeyLocator::Encoded {
                data: data.into(),
                password: password.map(Into::into),
            },
            other => {
                return Err((
                    abi::STATUS_UNSUPPORTED,
                    format!("unknown key locator kind {other}"),
                ));
            }
        };
        let key = run_blocking({
            let b = Arc::clone(&b);
            async move { b.backend.load(&locator).await }
        })?
        .map_err(|e| crypto_status(&e))?;
        // SAFETY: the host's out-pointer.
        unsafe { put_handle(handle, b.keep(key)) }
    });
    // SAFETY: `error` is the host's out-pointer.
    unsafe { finish(error, result) }
}

unsafe extern "C" fn public_key<T: KeyBackendPlugin>(
    inst: *mut c_void,
    handle: u64,
    out: *mut Buffer,
) -> i32 {
    let mut der = Vec::new();
    let result = catch(|| {
        // SAFETY: an instance of ours.
        let b = unsafe { instance::<Backend<T>>(inst)? };
        der = b.key(handle)?.public_key().to_vec();
        Ok(())
    });
    // SAFETY: `out` is the host's out-pointer; errors go there too.
    let status = unsafe { finish(out, result) };
    if status == abi::STATUS_OK {
        // SAFETY: the host's out-pointer.
        unsafe { give(out, der) };
    }
    status
}

/// What the three key operations (sign, decrypt, key agreement) share: the algorithm's name is
/// read and `parse`d, the key found by its handle, the data copied, and `op`'s future run on
/// the runtime, its outcome sent to the host's completion.
///
/// # Safety
/// As for the entries: `inst` is an instance of ours, `alg`/`data` are readable for their
/// lengths during the call, `callback`/`ctx` are the host's.
#[allow(clippy::too_many_arguments)]
unsafe fn key_operation<T, A, F>(
    inst: *mut c_void,
    handle: u64,
    alg: *const u8,
    alg_len: usize,
    data: *const u8,
    data_len: usize,
    reply: Reply,
    what: &str,
    parse: impl FnOnce(&str) -> Option<A>,
    op: impl FnOnce(Arc<dyn PrivateKey>, A, Vec<u8>) -> F,
) where
    T: KeyBackendPlugin,
    F: Future<Output = Result<Vec<u8>, CryptoError>> + Send + 'static,
{
    let prepared = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: an instance of ours; alg and data are borrowed for the call.
        let (b, alg, data) = unsafe {
            (
                instance::<Backend<T>>(inst)?,
                bytes(alg, alg_len),
                bytes(data, data_len).to_vec(),
            )
        };
        let alg_name = utf8(alg, what)?;
        let alg = parse(&alg_name).ok_or_else(|| {
            (
                abi::STATUS_UNSUPPORTED,
                format!("unknown {what} {alg_name:?}"),
            )
        })?;
        let key = b.key(handle)?;
        let fut = op(key, alg, data);
        Ok(async move { fut.await.map_err(|e| crypto_status(&e)) })
    }));
    reply.spawn(prepared);
}

#[allow(clippy::too_many_arguments)]
unsafe extern "C" fn sign<T: KeyBackendPlugin>(
    inst: *mut c_void,
    handle: u64,
    alg: *const u8,
    alg_len: usize,
    data: *const u8,
    data_len: usize,
    callback: Completion,
    ctx: *mut c_void,
) {
    let parse = |name: &str| {
        SignatureAlgorithm::ALL
            .into_iter()
            .find(|a| a.name() == name)
    };
    let op =
        |key: Arc<dyn PrivateKey>, alg, data: Vec<u8>| async move { key.sign(alg, &data).await };
    // SAFETY: the host's arguments, as this entry received them.
    unsafe {
        key_operation::<T, _, _>(
            inst,
            handle,
            alg,
            alg_len,
            data,
            data_len,
            Reply { callback, ctx },
            "signature algorithm",
            parse,
            op,
        );
    }
}

#[allow(clippy::too_many_arguments)]
unsafe extern "C" fn decrypt<T: KeyBackendPlugin>(
    inst: *mut c_void,
    handle: u64,
    alg: *const u8,
    alg_len: usize,
    data: *const u8,
    data_len: usize,
    callback: Completion,
    ctx: *mut c_void,
) {
    let parse = |name: &str| {
        DecryptionAlgorithm::ALL
            .into_iter()
            .find(|a| a.name() == name)
    };
    let op = |key: Arc<dyn PrivateKey>, alg, data: Vec<u8>| async move {
        key.decrypt(alg, &data).await.map(|plain| plain.to_vec())
    };
    // SAFETY: the host's arguments, as this entry received them.
    unsafe {
        key_operation::<T, _, _>(
            inst,
            handle,
            alg,
            alg_len,
            data,
            data_len,
            Reply { callback, ctx },
            "decryption algorithm",
            parse,
            op,
        );
    }
}

#[allow(clippy::too_many_arguments)]
unsafe extern "C" fn key_agreement<T: KeyBackendPlugin>(
    inst: *mut c_void,
    handle: u64,
    alg: *const u8,
    alg_len: usize,
    data: *const u8,
    data_len: usize,
    callback: Completion,
    ctx: *mut c_void,
) {
    let parse = |name: &str| (name == "ecdh").then_some(());
    let op = |key: Arc<dyn PrivateKey>, (), peer: Vec<u8>| async move {
        key.key_agreement(&peer).await.map(|secret| secret.to_vec())
    };
    // SAFETY: the host's arguments, as this entry received them.
    unsafe {
        key_operation::<T, _, _>(
            inst,
            handle,
            alg,
            alg_len,
            data,
            data_len,
            Reply { callback, ctx },
            "key agreement algorithm",
            parse,
            op,
        );
    }
}

unsafe extern "C" fn release<T: KeyBackendPlugin>(inst: *mut c_void, handle: u64) {
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: an instance of ours.
        if let Ok(b) = unsafe { instance::<Backend<T>>(inst) } {
            b.keys
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&handle);
        }
    }));
}

#[cfg(test)]
mod tests {
    //! What the key operations answer a host that names an algorithm they do not know (our
    //! host never does; another one might).
    use std::sync::mpsc;

    use super::*;

    #[derive(Debug)]
    struct Keys(cmp_crypto::software::SoftwareKeys);

    #[async_trait::async_trait]
    impl KeyProvider for Keys {
        fn name(&self) -> &str {
            "unit"
        }

        async fn generate(&self, spec: KeySpec) -> Result<Arc<dyn PrivateKey>, CryptoError> {
            self.0.generate(spec).await
        }

        async fn load(&self, locator: &KeyLocator) -> Result<Arc<dyn PrivateKey>, CryptoError> {
            self.0.load(locator).await
        }
    }

    impl KeyBackendPlugin for Keys {
        const NAME: &'static CStr = c"unit";
        const VERSION: &'static CStr = c"1";

        fn create(_settings: &str) -> Result<Self, String> {
            Ok(Keys(cmp_crypto::software::SoftwareKeys))
        }
    }

    /// The completion: `ctx` owns a boxed sender, taken back here (the ABI calls it exactly
    /// once). Owned, not borrowed from the test's stack: the test may return as soon as the
    /// message arrives, while this thread is still inside `send`.
    unsafe extern "C" fn completed(ctx: *mut c_void, status: i32, data: *const u8, len: usize) {
        // SAFETY: ctx is the `Box::into_raw` the test passed, given back once; data is valid
        // for len bytes for the call.
        let (tx, bytes) = unsafe {
            (
                Box::from_raw(ctx.cast::<mpsc::Sender<(i32, Vec<u8>)>>()),
                std::slice::from_raw_parts(data, len).to_vec(),
            )
        };
        let _ = tx.send((status, bytes));
    }

    /// Calls `entry` for a new P-256 key with the algorithm `alg` and returns what completed.
    fn call(entry: fn(&Descriptor) -> abi::SignFn, alg: &str) -> (i32, String) {
        let d = key_backend_descriptor::<Keys>().0;
        let mut inst: *mut c_void = std::ptr::null_mut();
        let mut error = Buffer::empty();
        let mut handle = 0u64;
        let spec = "ec:P-256";
        let data = b"to be processed";
        let (tx, rx) = mpsc::channel::<(i32, Vec<u8>)>();
        // SAFETY: the descriptor's own entries, called as the ABI says: out-pointers valid,
        // inputs borrowed for each call, the instance destroyed once at the end, `tx` handed
        // to the completion, which takes it back.
        unsafe {
            assert_eq!(
                d.create.expect("create")(c"".as_ptr().cast(), 0, &mut inst, &mut error),
                0
            );
            let generate = d.generate.expect("generate");
            assert_eq!(
                generate(inst, spec.as_ptr(), spec.len(), &mut handle, &mut error),
                0
            );
            entry(&d)(
                inst,
                handle,
                alg.as_ptr(),
                alg.len(),
                data.as_ptr(),
                data.len(),
                completed,
                Box::into_raw(Box::new(tx)).cast(),
            );
        }
        let (status, message) = rx.recv_timeout(Duration::from_secs(10)).expect("completed");
        // SAFETY: made by `create` above, destroyed once.
        unsafe { d.destroy.expect("destroy")(inst) };
        (status, String::from_utf8_lossy(&message).into_owned())
    }

    #[test]
    fn unknown_algorithms_are_unsupported_with_their_name() {
        let sign = |d: &Descriptor| d.sign.expect("sign");
        let decrypt = |d: &Descriptor| d.decrypt.expect("decrypt");
        let agree = |d: &Descriptor| d.key_agreement.expect("key_agreement");
        assert_eq!(
            call(sign, "md5WithRSA"),
            (
                abi::STATUS_UNSUPPORTED,
                "unknown signature algorithm \"md5WithRSA\"".to_owned()
            )
        );
        assert_eq!(
            call(decrypt, "rsaes-pkcs1-v1_5"),
            (
                abi::STATUS_UNSUPPORTED,
                "unknown decryption algorithm \"rsaes-pkcs1-v1_5\"".to_owned()
            )
        );
        assert_eq!(
            call(agree, "x25519"),
            (
                abi::STATUS_UNSUPPORTED,
                "unknown key agreement algorithm \"x25519\"".to_owned()
            )
        );
        // A known name reaches the key: P-256 signs.
        assert_eq!(call(sign, "ecdsa-with-SHA256").0, abi::STATUS_OK);
    }
}
