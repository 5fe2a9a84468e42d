//! # cmp-plugin
//!
//! Dynamic plugins for the CMP toolkit: a transport or a key backend in a shared library,
//! loaded at run time. This crate holds the three parts of it:
//!
//! - [`abi`]: the C ABI, version 1 (the same in `include/cmp-plugin.h`, checked in and
//!   tested by compiling a C plugin against it);
//! - [`host`] (feature `host`): [`Plugin::load`](host::Plugin::load) opens a library, checks
//!   its descriptor and adapts it to the ordinary traits — [`PluginTransport`]
//!   is a [`Transport`](cmp_core::transport::Transport),
//!   [`PluginKeyProvider`] a
//!   [`KeyProvider`](cmp_core::crypto::KeyProvider) whose keys are
//!   [`PrivateKey`](cmp_core::crypto::PrivateKey)s;
//! - [`export`] (feature `export`): [`export_transport!`] and [`export_key_backend!`] turn a
//!   `Transport` or `KeyProvider` into a plugin in a few lines.
//!
//! ```no_run
//! // In a cdylib (crate-type = ["cdylib"]):
//! use std::time::Instant;
//! use cmp_core::transport::{Transport, TransportError};
//!
//! #[derive(Debug)]
//! struct Pigeon;
//!
//! #[async_trait::async_trait]
//! impl Transport for Pigeon {
//!     async fn exchange(&self, request: &[u8], _deadline: Option<Instant>)
//!         -> Result<Vec<u8>, TransportError> {
//!         Ok(request.to_vec()) // a very well trained pigeon
//!     }
//! }
//!
//! impl cmp_plugin::export::TransportPlugin for Pigeon {
//!     const NAME: &'static std::ffi::CStr = c"pigeon";
//!     const VERSION: &'static std::ffi::CStr = c"0.1.0";
//!     fn create(_url: &str) -> Result<Self, String> {
//!         Ok(Pigeon)
//!     }
//! }
//!
//! cmp_plugin::export_transport!(Pigeon);
//!
//! // In the host:
//! # fn main() -> Result<(), cmp_plugin::PluginError> {
//! let plugin = cmp_plugin::Plugin::load("target/debug/libpigeon.so")?;
//! let transport = plugin.transport("pigeon://loft")?; // impl Transport
//! # Ok(()) }
//! ```
//!
//! ## The ABI rules
//!
//! **One entry symbol.** A plugin exports `cmp_plugin_entry_v1`, a function without
//! arguments returning a pointer to a static [`Descriptor`](abi::Descriptor). The descriptor
//! starts with the magic `CMPPLUG1`, the ABI version (1) and its own size; the host checks
//! these three, in this order, before it reads anything else, then the kind (transport or key
//! backend), the name and version strings and the function pointers the kind requires.
//!
//! **Only C crosses.** Functions take and give byte buffers (pointer + length), integers,
//! status codes (`STATUS_*` in [`abi`]) and a completion callback with an opaque context
//! pointer. No Rust trait object, `String`/`Vec`, allocator or tokio runtime crosses: a
//! dynamic library has its own copy of each.
//!
//! **Buffer ownership.** Input buffers are lent for the duration of the call: a plugin that
//! needs them later copies them. Bytes a completion callback delivers are lent for the
//! duration of the callback: the host copies them. Buffers a plugin returns through an
//! out-parameter ([`Buffer`](abi::Buffer)) belong to the plugin's allocator: the host copies
//! them and gives them back with the descriptor's `free_buffer`.
//!
//! **Callbacks and threads.** Asynchronous operations (`exchange`, `sign`, `decrypt`,
//! `key_agreement`) complete by calling the callback exactly once, from any thread, before or
//! after the function returned. The host bounds every wait by the operation's deadline (for
//! an exchange, what is left of the transaction's; otherwise the adapter's timeout, 60 s by
//! default) plus a short grace; a callback that never comes is
//! [`PluginError::CallbackNeverCalled`], one that comes again or after the deadline is ignored
//! and reported in [`Plugin::anomalies`](host::Plugin::anomalies). The context pointer is a
//! call number, not an address, so no misbehaviour of a plugin makes the host touch freed
//! memory. `generate` and `load` are synchronous in the ABI; the host runs them on a helper
//! thread to bound the wait (a key that arrives late is released). `public_key`, `release`,
//! `create` and `destroy` must not block. Every function may be called from any thread, also
//! concurrently on one instance.
//!
//! **Panics.** The shims of [`export`] catch every panic at the boundary and report
//! [`STATUS_PANIC`](abi::STATUS_PANIC) with the panic's message
//! ([`PluginError::Panicked`] on the host).
//!
//! **Loading.** Libraries are opened with `RTLD_NOW | RTLD_LOCAL` and never unloaded (a
//! plugin's threads may outlive every object the host holds).
//!
//! **Versioning.** The descriptor grows by appending fields; `struct_size` tells the host
//! which are there, and a host accepts any size from the version 1 size up. A breaking change
//! gets a new entry symbol (`cmp_plugin_entry_v2`) and ABI version, so a host never misreads
//! a plugin of another generation.
//!
//! **Settings.** `create(settings)` gets UTF-8 text: for a transport, the server URL (e.g.
//! `file:///var/spool/cmp`); for a key backend, whatever its documentation says.
#![warn(missing_docs, unreachable_pub)]

pub mod abi;
#[cfg(feature = "host")]
mod calls;
mod error;
#[cfg(feature = "export")]
pub mod export;
#[cfg(feature = "host")]
pub mod host;

pub use error::{PluginError, PluginKind, PluginStatus};
#[cfg(feature = "host")]
pub use host::{Plugin, PluginKey, PluginKeyProvider, PluginTransport};
