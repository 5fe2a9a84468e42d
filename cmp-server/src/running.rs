//! [`Server`]: the listeners of a running cmp-server and its graceful shutdown.

use std::sync::Arc;
use std::time::Duration;

use cmp_core::asn1::CmpCertificate;
use cmp_core::transport::Responder;
use cmp_transport_http::{HttpServer, TlsServerSettings};
use cmp_transport_tcp::TcpServer;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::builder::ServerBuilder;
use crate::crl::{CrlSource, serve_crl};
use crate::error::Error;
use crate::listen::{Listen, Scheme, bind};

/// A running cmp-server: its listeners serve on the tokio runtime that started it until
/// [`shutdown`](Server::shutdown) (or until the `Server` is dropped, which stops accepting
/// without waiting for the exchanges in flight).
#[derive(Debug)]
pub struct Server {
    urls: Vec<String>,
    crl_url: Option<String>,
    ca_certs: Vec<CmpCertificate>,
    stop: watch::Sender<bool>,
    serving: JoinSet<std::io::Result<()>>,
    drain_timeout: Duration,
}

fn copy_tls(t: &TlsServerSettings) -> TlsServerSettings {
    TlsServerSettings {
        chain: t.chain.clone(),
        key: t.key.clone_key(),
        client_trusted: t.client_trusted.clone(),
        client_required: t.client_required,
    }
}

/// The bound CRL listener and what it serves.
pub(crate) struct CrlListener {
    pub(crate) listener: tokio::net::TcpListener,
    /// Its real URL.
    pub(crate) url: String,
    pub(crate) path: String,
    pub(crate) source: Arc<dyn CrlSource>,
}

impl Server {
    /// A builder with the defaults.
    pub fn builder() -> ServerBuilder {
        ServerBuilder::new()
    }

    /// Binds every listener before serving on any, so that a failure leaves none started.
    pub(crate) async fn start(
        listens: Vec<Listen>,
        tls: Option<TlsServerSettings>,
        responder: Arc<dyn Responder>,
        ca_certs: Vec<CmpCertificate>,
        crl: Option<CrlListener>,
        drain_timeout: Duration,
    ) -> Result<Self, Error> {
        let mut bound = Vec::with_capacity(listens.len());
        for listen in listens {
            let (listener, real) = bind(&listen).await?;
            bound.push((listen, listener, real));
        }
        let tls_error = |e: &dyn std::fmt::Display| Error::Tls {
            message: e.to_string(),
        };
        let (stop, stop_rx) = watch::channel(false);
        let mut serving = JoinSet::new();
        let mut urls = Vec::with_capacity(bound.len());
        for (listen, listener, real) in bound {
            let mut stop = stop_rx.clone();
            // Completes on shutdown, and when the `Server` is dropped.
            let stopped = async move {
                let _ = stop.wait_for(|s| *s).await;
            };
            let responder = responder.clone();
            let tls = match (&tls, listen.scheme.tls()) {
                (Some(t), true) => Some(copy_tls(t)),
                _ => None,
            };
            match listen.scheme {
                Scheme::Http | Scheme::Https => {
                    let mut builder = HttpServer::builder().path(&listen.path);
                    if let Some(t) = tls {
                        builder = builder.tls(t);
                    }
                    let http = builder.build().map_err(|e| tls_error(&e))?;
                    serving.spawn(async move { http.serve(listener, responder, stopped).await });
                }
                Scheme::Tcp | Scheme::Tcps => {
                    let mut builder = TcpServer::builder();
                    if let Some(t) = tls {
                        let config = t.server_config().map_err(|e| tls_error(&e))?;
                        builder = builder.tls(Arc::new(config));
                    }
                    let tcp = builder.build();
                    serving.spawn(async move { tcp.serve(listener, responder, stopped).await });
                }
            }
            tracing::info!(url = %real, "listening");
            urls.push(real);
        }
        let crl_url = crl.map(|c| {
            let mut stop = stop_rx.clone();
            let stopped = async move {
                let _ = stop.wait_for(|s| *s).await;
            };
            tracing::info!(url = %c.url, "serving the CRL");
            serving.spawn(serve_crl(c.listener, c.source, c.path, stopped));
            c.url
        });
        Ok(Server {
            urls,
            crl_url,
            ca_certs,
            stop,
            serving,
            drain_timeout,
        })
    }

    /// The URL of each listener, in the order they were given, with the real port.
    pub fn urls(&self) -> &[String] {
        &self.urls
    }

    /// The URL of the first listener with this scheme (`http`, `https`, `tcp`, `tcps`).
    pub fn url(&self, scheme: &str) -> Option<&str> {
        let prefix = format!("{scheme}://");
        self.urls
            .iter()
            .find(|u| u.starts_with(&prefix))
            .map(String::as_str)
    }

    /// The URL the CRL is served at (with the real port), when a CRL listener was asked for.
    pub fn crl_url(&self) -> Option<&str> {
        self.crl_url.as_deref()
    }

    /// The CA certificate followed by its chain (empty for a relay or a custom responder):
    /// what clients trust.
    pub fn ca_certificates(&self) -> &[CmpCertificate] {
        &self.ca_certs
    }

    /// Stops accepting connections and waits (at most the drain timeout) for the exchanges
    /// in flight to finish. [`Error::DrainTimeout`] when some were still running.
    pub async fn shutdown(mut self) -> Result<(), Error> {
        let _ = self.stop.send(true);
        let serving = &mut self.serving;
        let drained = tokio::time::timeout(self.drain_timeout, async {
            while let Some(r) = serving.join_next().await {
                if let Ok(Err(e)) = r {
                    tracing::warn!(error = %e, "a listener failed");
                }
            }
        })
        .await;
        match drained {
            Ok(()) => Ok(()),
            Err(_) => Err(Error::DrainTimeout {
                seconds: self.drain_timeout.as_secs(),
            }),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        // The listener tasks finish the exchanges in flight on their own.
        self.serving.detach_all();
    }
}
