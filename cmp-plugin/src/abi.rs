//! The C ABI, version 1: the `#[repr(C)]` types and constants that `include/cmp-plugin.h`
//! declares field for field (a test compiles a C plugin against the header and compares the
//! sizes and offsets with these).
//!
//! Nothing here is `unsafe` to declare; calling the function pointers is, and only the
//! [`host`](crate::host) and [`export`](crate::export) modules do.

use std::ffi::{c_char, c_void};

/// The name of the one symbol a plugin exports: `const cmp_plugin_descriptor
/// *cmp_plugin_entry_v1(void)`. A breaking change of the ABI gets a new symbol name
/// (`cmp_plugin_entry_v2`), so an old host never misreads a new plugin.
pub const ENTRY_SYMBOL: &str = "cmp_plugin_entry_v1";

/// The first field of every descriptor: the bytes `CMPPLUG1` read as a big-endian number.
pub const MAGIC: u64 = 0x434D_5050_4C55_4731;

/// The ABI version this crate speaks. Appending fields to the descriptor does not change it.
pub const ABI_VERSION: u32 = 1;

/// Plugin kind: a transport (`exchange`).
pub const KIND_TRANSPORT: u32 = 1;
/// Plugin kind: a key backend (`generate`, `load`, `public_key`, `sign`, `release`, and
/// optionally `decrypt` and `key_agreement`).
pub const KIND_KEY_BACKEND: u32 = 2;

/// Status: success.
pub const STATUS_OK: i32 = 0;
/// Status: the operation failed; the message says why.
pub const STATUS_ERROR: i32 = 1;
/// Status: the plugin gave up waiting (its own timeout or the deadline it was given).
pub const STATUS_TIMEOUT: i32 = 2;
/// Status: the plugin does not support what was asked (an algorithm, a key type, a locator).
pub const STATUS_UNSUPPORTED: i32 = 3;
/// Status: the arguments were malformed (not UTF-8, an unknown key spec, …).
pub const STATUS_INVALID_ARGUMENT: i32 = 4;
/// Status: the plugin's code panicked; the boundary caught it.
pub const STATUS_PANIC: i32 = 5;

/// Locator kind for `load`: a URI such as `pkcs11:token=dev;object=key` (UTF-8).
pub const LOCATOR_URI: u32 = 1;
/// Locator kind for `load`: an encoded key (PEM or DER PKCS#8, SEC1, PKCS#1), with an optional
/// password.
pub const LOCATOR_ENCODED: u32 = 2;

/// A buffer the plugin allocated and hands to the host (an out-parameter). The host copies
/// the bytes and gives the buffer back with the descriptor's `free_buffer`; `ptr` NULL means
/// "no bytes".
#[repr(C)]
#[derive(Debug)]
pub struct Buffer {
    /// The bytes, allocated by the plugin.
    pub ptr: *mut u8,
    /// How many.
    pub len: usize,
}

impl Buffer {
    /// An empty buffer, as the host passes it in.
    pub const fn empty() -> Self {
        Buffer {
            ptr: std::ptr::null_mut(),
            len: 0,
        }
    }
}

/// The completion callback: called by the plugin exactly once per asynchronous operation,
/// from any thread, before or after the operation's function returned.
///
/// `status` is a `STATUS_*` code; with [`STATUS_OK`] `data`/`len` are the result (response
/// bytes, signature, plaintext, shared secret), otherwise a UTF-8 error message. The bytes are
/// borrowed for the duration of the call only: the host copies them. `ctx` is the value the
/// host passed with the operation.
pub type Completion =
    unsafe extern "C" fn(ctx: *mut c_void, status: i32, data: *const u8, len: usize);

/// `free_buffer(ptr, len)`: frees a [`Buffer`] the plugin returned.
pub type FreeBufferFn = unsafe extern "C" fn(ptr: *mut u8, len: usize);

/// `create(settings, settings_len, &instance, &error)`: makes an instance from UTF-8
/// settings (for a transport, the server URL). On failure the plugin may fill `error` with a
/// UTF-8 message.
pub type CreateFn = unsafe extern "C" fn(
    settings: *const u8,
    settings_len: usize,
    instance: *mut *mut c_void,
    error: *mut Buffer,
) -> i32;

/// `destroy(instance)`: frees an instance. Work the plugin still runs for it (an exchange
/// the host stopped waiting for) must keep what it needs alive.
pub type DestroyFn = unsafe extern "C" fn(instance: *mut c_void);

/// `exchange(instance, request, request_len, timeout_ms, callback, ctx)`: sends a DER
/// PKIMessage and completes with the response. `request` is borrowed for the duration of the
/// call; `timeout_ms` is what is left of the transaction's deadline.
pub type ExchangeFn = unsafe extern "C" fn(
    instance: *mut c_void,
    request: *const u8,
    request_len: usize,
    timeout_ms: u64,
    callback: Completion,
    ctx: *mut c_void,
);

/// `generate(instance, spec, spec_len, &handle, &error)`: generates a key pair; `spec` is
/// UTF-8 such as `ec:P-256`, `ec:P-384`, `rsa:3072`, `ed25519`.
pub type GenerateFn = unsafe extern "C" fn(
    instance: *mut c_void,
    spec: *const u8,
    spec_len: usize,
    handle: *mut u64,
    error: *mut Buffer,
) -> i32;

/// `load(instance, locator_kind, data, data_len, password, password_len, &handle, &error)`:
/// loads an existing key (`LOCATOR_URI` or `LOCATOR_ENCODED`; `password` NULL for none).
pub type LoadFn = unsafe extern "C" fn(
    instance: *mut c_void,
    locator_kind: u32,
    data: *const u8,
    data_len: usize,
    password: *const u8,
    password_len: usize,
    handle: *mut u64,
    error: *mut Buffer,
) -> i32;

/// `public_key(instance, handle, &out)`: the DER SubjectPublicKeyInfo of a key in `out`
/// (with a non-zero status, an error message). Must not block.
pub type PublicKeyFn =
    unsafe extern "C" fn(instance: *mut c_void, handle: u64, out: *mut Buffer) -> i32;

/// `sign(instance, handle, alg, alg_len, data, data_len, callback, ctx)`: signs `data` (the
/// plugin hashes it) with the algorithm named `alg` (UTF-8, e.g. `ecdsa-with-SHA256`,
/// `sha256WithRSAEncryption`, `rsassa-pss-sha256`, `Ed25519`); completes with the signature
/// (ECDSA as DER `Ecdsa-Sig-Value`).
pub type SignFn = unsafe extern "C" fn(
    instance: *mut c_void,
    handle: u64,
    alg: *const u8,
    alg_len: usize,
    data: *const u8,
    data_len: usize,
    callback: Completion,
    ctx: *mut c_void,
);

/// `decrypt(instance, handle, alg, alg_len, ciphertext, ciphertext_len, callback, ctx)` and
/// `key_agreement(instance, handle, alg, alg_len, peer_spki, peer_spki_len, callback, ctx)`:
/// optional capabilities with the shape of [`SignFn`]; a NULL entry means "not supported".
pub type KeyOpFn = SignFn;

/// `release(instance, handle)`: forgets a key handle. Must not block.
pub type ReleaseFn = unsafe extern "C" fn(instance: *mut c_void, handle: u64);

/// The descriptor, ABI version 1, as `cmp_plugin_entry_v1` returns it. It must stay valid
/// (static) for as long as the library is loaded, which is for the rest of the process.
///
/// The host reads `magic`, then `abi_version`, then `struct_size`, and only then the rest.
/// Later versions of the ABI append fields; `struct_size` tells the host which are present.
/// The entries of the kind a plugin is not are NULL.
#[repr(C)]
#[derive(Debug)]
pub struct Descriptor {
    /// [`MAGIC`].
    pub magic: u64,
    /// [`ABI_VERSION`].
    pub abi_version: u32,
    /// `sizeof` the descriptor the plugin was built with.
    pub struct_size: u32,
    /// [`KIND_TRANSPORT`] or [`KIND_KEY_BACKEND`].
    pub kind: u32,
    /// Zero (explicit padding, kept for a later use).
    pub reserved: u32,
    /// The plugin's name (for a transport, the URL scheme it serves), NUL-terminated UTF-8.
    pub name: *const c_char,
    /// The plugin's version, NUL-terminated UTF-8.
    pub version: *const c_char,
    /// Frees the buffers the plugin returns.
    pub free_buffer: Option<FreeBufferFn>,
    /// Makes an instance.
    pub create: Option<CreateFn>,
    /// Frees an instance.
    pub destroy: Option<DestroyFn>,
    /// Transport: one exchange.
    pub exchange: Option<ExchangeFn>,
    /// Key backend: generate a key.
    pub generate: Option<GenerateFn>,
    /// Key backend: load a key.
    pub load: Option<LoadFn>,
    /// Key backend: a key's public half.
    pub public_key: Option<PublicKeyFn>,
    /// Key backend: sign.
    pub sign: Option<SignFn>,
    /// Key backend, optional: decrypt.
    pub decrypt: Option<KeyOpFn>,
    /// Key backend, optional: key agreement.
    pub key_agreement: Option<KeyOpFn>,
    /// Key backend: forget a key.
    pub release: Option<ReleaseFn>,
}

/// The size of the version 1 descriptor, the least a host of this version accepts.
pub const DESCRIPTOR_V1_SIZE: usize = std::mem::size_of::<Descriptor>();

/// A descriptor in a `static`: the raw pointers in [`Descriptor`] make it `!Sync`, though it
/// is never written after it was built from `'static` strings and functions.
#[repr(transparent)]
#[derive(Debug)]
pub struct StaticDescriptor(pub Descriptor);

// SAFETY: a `StaticDescriptor` is immutable and its pointers refer to `'static` NUL-terminated
// strings; sharing it between threads only ever reads it.
#[allow(unsafe_code)]
unsafe impl Sync for StaticDescriptor {}
