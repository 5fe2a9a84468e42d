//! The `tcp` transport (schemes `tcp` and `tcps`): CMP over TCP (TCP-message framing).

use std::sync::Arc;

use cmp_core::registry::{RegistryError, Settings, TransportFactory};
use cmp_core::transport::Transport;
use cmp_transport_tcp::TcpTransport;

use super::{TRANSPORT_KEYS, VERSION, message_timeout};

/// Builds [`TcpTransport`]s. Settings: `message_timeout` (seconds), and for tcps the `tls`
/// section and the CRL settings; `proxy` and `no_proxy` do not apply and are ignored.
#[derive(Debug, Default)]
pub(crate) struct TcpFactory;

impl TransportFactory for TcpFactory {
    fn name(&self) -> &str {
        "tcp"
    }

    fn version(&self) -> &str {
        VERSION
    }

    fn schemes(&self) -> Vec<String> {
        vec!["tcp".into(), "tcps".into()]
    }

    fn build(&self, url: &str, settings: &Settings) -> Result<Arc<dyn Transport>, RegistryError> {
        settings.check_known("tcp", TRANSPORT_KEYS)?;
        let mut b = TcpTransport::builder(url).message_timeout(message_timeout(settings)?);
        if url
            .get(..7)
            .is_some_and(|s| s.eq_ignore_ascii_case("tcps://"))
        {
            let tls = super::tls::client_settings(url, settings)?;
            let config = tls
                .client_config()
                .map_err(|e| RegistryError::Invalid(e.to_string()))?;
            b = b.tls(Arc::new(config), tls.server_name.clone());
        }
        Ok(Arc::new(b.build()?))
    }
}
