//! The `http` transport (schemes `http` and `https`): HTTP POST as RFC 9811 says.

use std::sync::Arc;

use cmp_core::registry::{RegistryError, Settings, TransportFactory};
use cmp_core::transport::Transport;
use cmp_transport_http::{HttpTransport, ProxySettings, ServerUrl};

use super::{TRANSPORT_KEYS, VERSION, message_timeout};

/// Builds [`HttpTransport`]s. Settings: `message_timeout` (seconds), `proxy` (a URL; without
/// it the environment's `http_proxy`/`https_proxy`), `no_proxy` (hosts reached directly, added
/// to the environment's), and for https the `tls` section and the CRL settings.
#[derive(Debug, Default)]
pub(crate) struct HttpFactory;

impl TransportFactory for HttpFactory {
    fn name(&self) -> &str {
        "http"
    }

    fn version(&self) -> &str {
        VERSION
    }

    fn schemes(&self) -> Vec<String> {
        vec!["http".into(), "https".into()]
    }

    fn build(&self, url: &str, settings: &Settings) -> Result<Arc<dyn Transport>, RegistryError> {
        settings.check_known("http", TRANSPORT_KEYS)?;
        let mut b = HttpTransport::builder(url).message_timeout(message_timeout(settings)?);
        if url
            .get(..8)
            .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
        {
            b = b.tls(super::tls::client_settings(url, settings)?);
        }
        b = match (settings.text("proxy")?, settings.text("no_proxy")?) {
            (Some(p), no) => b.proxy(ProxySettings::new(p, no.unwrap_or(""))?),
            // The environment's proxy, with `no_proxy` added to its no_proxy list.
            (None, Some(no)) => {
                let server = ServerUrl::parse(url)?;
                match ProxySettings::from_env(&server)? {
                    Some(env) => {
                        let env = env.with_no_proxy(no);
                        if env.applies_to(&server) {
                            b.proxy(env)
                        } else {
                            b.no_proxy()
                        }
                    }
                    None => b.no_proxy(),
                }
            }
            (None, None) => b,
        };
        Ok(Arc::new(b.build()?))
    }
}
