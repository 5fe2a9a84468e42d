//! An in-process transport plugin: `audit+http://HOST/PATH` sends each message over the HTTP
//! transport to `http://HOST/PATH` and writes what went and came (the body types) to an
//! [`AuditLog`]. Registered in an agent built on the `cmp_agent` library in a few lines:
//!
//! ```no_run
//! use std::sync::Arc;
//! use cmp_examples::{AuditLog, audited_transport::AuditedHttpFactory};
//!
//! let mut registry = cmp_agent::builtins();
//! registry.register_transport(Arc::new(AuditedHttpFactory::new(Arc::new(AuditLog::printing()))))?;
//! let status = cmp_agent::run(std::env::args_os(), registry);
//! # Ok::<(), cmp_core::registry::RegistryError>(())
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use cmp_core::asn1::ReceivedMessage;
use cmp_core::registry::{RegistryError, Settings, TransportFactory};
use cmp_core::transport::{Transport, TransportError};
use cmp_transport_http::HttpTransport;

use crate::AuditLog;

/// The URL scheme the audited transport serves.
pub const SCHEME: &str = "audit+http";

/// Makes [`AuditedTransport`]s for `audit+http://` URLs. Settings: `message_timeout`
/// (seconds, default 120); the agent's other transport settings (proxy, TLS) are refused.
#[derive(Debug)]
pub struct AuditedHttpFactory {
    log: Arc<AuditLog>,
}

impl AuditedHttpFactory {
    /// A factory whose transports write to `log`.
    pub fn new(log: Arc<AuditLog>) -> Self {
        AuditedHttpFactory { log }
    }
}

impl TransportFactory for AuditedHttpFactory {
    fn name(&self) -> &str {
        "audit"
    }

    fn version(&self) -> &str {
        env!("CARGO_PKG_VERSION")
    }

    fn schemes(&self) -> Vec<String> {
        vec![SCHEME.to_owned()]
    }

    fn build(&self, url: &str, settings: &Settings) -> Result<Arc<dyn Transport>, RegistryError> {
        settings.check_known("audit", &["message_timeout"])?;
        let timeout = settings.integer("message_timeout")?.unwrap_or(120);
        let inner_url = url
            .get(SCHEME.len() + 3..)
            .map(|rest| format!("http://{rest}"))
            .ok_or_else(|| RegistryError::Invalid(format!("{url}: not an audit+http:// URL")))?;
        let inner = HttpTransport::builder(&inner_url)
            .message_timeout(Duration::from_secs(timeout.max(1).unsigned_abs()))
            .no_proxy()
            .build()?;
        Ok(Arc::new(AuditedTransport {
            inner,
            log: Arc::clone(&self.log),
        }))
    }
}

/// HTTP with an audit trail.
#[derive(Debug)]
pub struct AuditedTransport {
    inner: HttpTransport,
    log: Arc<AuditLog>,
}

fn body(der: &[u8]) -> &'static str {
    ReceivedMessage::decode(der).map_or("undecodable", |m| m.message().body.name())
}

#[async_trait::async_trait]
impl Transport for AuditedTransport {
    async fn exchange(
        &self,
        request: &[u8],
        deadline: Option<Instant>,
    ) -> Result<Vec<u8>, TransportError> {
        self.log.record(format!("sent {}", body(request)));
        let result = self.inner.exchange(request, deadline).await;
        match &result {
            Ok(response) => self.log.record(format!("received {}", body(response))),
            Err(e) => self.log.record(format!("failed: {e}")),
        }
        result
    }
}
