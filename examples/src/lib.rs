//! # cmp-examples
//!
//! Worked examples for integrators: building and decoding messages with `cmp-core`, and an
//! agent of one's own — the `cmp_agent` library with plugins registered in process: a custom
//! transport ([`audited_transport`]) and a custom key backend ([`audited_keys`]), put together
//! by [`audited_registry`] and run by the `audited_agent` example. (A dynamic plugin in a
//! shared library: `examples/file-transport`.)
//!
//! Run the examples with `cargo run -p cmp-examples --example NAME`.
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

mod audit;
pub mod audited_keys;
pub mod audited_transport;

use std::sync::Arc;

pub use audit::AuditLog;
use cmp_core::registry::{Registry, RegistryError};

/// The agent's built-in plugins plus the two in-process examples, both writing to `log`:
/// the `audit+http` transport and the `audited` key backend.
pub fn audited_registry(log: Arc<AuditLog>) -> Result<Registry, RegistryError> {
    let mut registry = cmp_agent::builtins();
    registry.register_transport(Arc::new(audited_transport::AuditedHttpFactory::new(
        Arc::clone(&log),
    )))?;
    registry.register_key_backend(Arc::new(audited_keys::AuditedKeysFactory::new(log)))?;
    Ok(registry)
}
