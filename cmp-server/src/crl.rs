//! Certificate revocation lists of the built-in CA: built with rasn-pkix's types, signed with
//! the CA key, and served over HTTP `GET` ([`serve_crl`]) at the URL issued certificates name
//! in their cRLDistributionPoints.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use cmp_core::crypto::{PrivateKey, SignatureAlgorithm};
use http_body_util::Full;
use hyper::header::{ALLOW, CACHE_CONTROL, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use rasn::types::{BitString, Integer, OctetString, Oid};
use rasn_pkix::{
    CertificateList, DistributionPoint, DistributionPointName, Extension, Extensions, GeneralName,
    Name, RevokedCertificate, TbsCertList, Version,
};

use crate::certificate::{authority_key_identifier, extension, x509_time};
use crate::error::Error;
use crate::store::StoredCertificate;

/// `id-ce-cRLDistributionPoints` (2.5.29.31).
pub(crate) const CE_CRL_DISTRIBUTION_POINTS: &Oid = Oid::const_new(&[2, 5, 29, 31]);
/// `id-ce-cRLNumber` (2.5.29.20).
pub(crate) const CE_CRL_NUMBER: &Oid = Oid::const_new(&[2, 5, 29, 20]);
/// `id-ce-reasonCode` (2.5.29.21).
const CE_REASON_CODE: &Oid = Oid::const_new(&[2, 5, 29, 21]);

/// The most revoked certificates one CRL lists.
pub const MAX_CRL_ENTRIES: usize = 1_000_000;

/// How the built-in CA publishes revocations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrlSettings {
    /// The URL issued certificates carry as their CRL distribution point (`None`: no
    /// cRLDistributionPoints extension).
    pub url: Option<String>,
    /// How far nextUpdate lies after thisUpdate; default one day.
    pub next_update: Duration,
    /// How long a signed CRL is served before it is built again (a revocation through this
    /// server rebuilds it at once; one by `cmp-server certs revoke` beside it shows within
    /// this time); default 60 s.
    pub refresh: Duration,
}

impl Default for CrlSettings {
    fn default() -> Self {
        CrlSettings {
            url: None,
            next_update: Duration::from_secs(24 * 3600),
            refresh: Duration::from_secs(60),
        }
    }
}

/// The cRLDistributionPoints extension naming `url`.
pub(crate) fn distribution_point(url: &str) -> Result<Extension, Error> {
    let uri = rasn::types::Ia5String::try_from(url.to_owned())
        .map_err(|e| Error::Build(format!("CRL URL {url}: {e}")))?;
    let points = vec![DistributionPoint {
        distribution_point: Some(DistributionPointName::FullName(vec![GeneralName::Uri(uri)])),
        reasons: None,
        crl_issuer: None,
    }];
    extension(CE_CRL_DISTRIBUTION_POINTS, false, &points)
}

/// What a CRL is built from.
pub(crate) struct CrlInput<'a> {
    pub(crate) issuer: Name,
    pub(crate) key_id: &'a [u8],
    pub(crate) key: &'a dyn PrivateKey,
    pub(crate) alg: SignatureAlgorithm,
    pub(crate) now: SystemTime,
    pub(crate) next_update: Duration,
    pub(crate) revoked: Vec<StoredCertificate>,
}

/// A v2 CRL of `input.revoked` (entries with their revocation date and, unless unspecified,
/// reasonCode), with authorityKeyIdentifier and a cRLNumber that grows with time
/// (milliseconds since the epoch), signed with the CA key; DER.
pub(crate) async fn build_crl(input: CrlInput<'_>) -> Result<Vec<u8>, Error> {
    let build = |what: &str, e: &dyn std::fmt::Display| Error::Build(format!("CRL {what}: {e}"));
    input.key.spec().check_allows(input.alg)?;
    let mut entries = Vec::with_capacity(input.revoked.len());
    for c in &input.revoked {
        let Some(r) = c.revocation else { continue };
        let serial: Integer = rasn::der::decode(&cmp_core::der::tlv(0x02, &c.serial))
            .map_err(|e| build("serial", &e))?;
        let reason = r.reason.filter(|r| *r as u8 != 0).map(|r| Extension {
            extn_id: CE_REASON_CODE.to_owned(),
            critical: false,
            // CRLReason ::= ENUMERATED
            extn_value: OctetString::from(vec![0x0A, 0x01, r as u8]),
        });
        entries.push(RevokedCertificate {
            user_certificate: serial,
            revocation_date: x509_time(r.revoked_at)?,
            crl_entry_extensions: reason.map(|e| Extensions::from(vec![e])),
        });
    }
    let number = input
        .now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_err(|e| build("time", &e))?
        .as_millis();
    let tbs = TbsCertList {
        version: Version::V2,
        signature: input.alg.algorithm_identifier(),
        issuer: input.issuer,
        this_update: x509_time(input.now)?,
        next_update: Some(x509_time(input.now + input.next_update)?),
        revoked_certificates: entries,
        crl_extensions: Some(Extensions::from(vec![
            authority_key_identifier(input.key_id)?,
            extension(CE_CRL_NUMBER, false, &Integer::from(number))?,
        ])),
    };
    let tbs_der = rasn::der::encode(&tbs).map_err(|e| build("TBSCertList", &e))?;
    let signature = input.key.sign(input.alg, &tbs_der).await?;
    let crl = CertificateList {
        tbs_cert_list: tbs,
        signature_algorithm: input.alg.algorithm_identifier(),
        signature: BitString::from_vec(signature),
    };
    rasn::der::encode(&crl).map_err(|e| build("CertificateList", &e))
}

/// Where a CRL comes from when a client asks for it.
#[async_trait::async_trait]
pub trait CrlSource: Send + Sync {
    /// The current CRL (DER).
    async fn current_crl(&self) -> Result<Vec<u8>, Error>;
}

fn plain(status: StatusCode, text: &str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(format!("{text}\n"))));
    *r.status_mut() = status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

async fn answer(
    source: &dyn CrlSource,
    path: &str,
    req: &Request<hyper::body::Incoming>,
) -> Response<Full<Bytes>> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = plain(
            StatusCode::METHOD_NOT_ALLOWED,
            "the CRL is fetched with GET",
        );
        r.headers_mut()
            .insert(ALLOW, hyper::header::HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    if req.uri().path() != path {
        return plain(StatusCode::NOT_FOUND, "no CRL at this path");
    }
    match source.current_crl().await {
        Ok(der) => {
            let mut r = Response::new(Full::new(if req.method() == Method::HEAD {
                Bytes::new()
            } else {
                Bytes::from(der)
            }));
            let h = r.headers_mut();
            h.insert(
                CONTENT_TYPE,
                hyper::header::HeaderValue::from_static("application/pkix-crl"),
            );
            h.insert(
                CACHE_CONTROL,
                hyper::header::HeaderValue::from_static("no-cache"),
            );
            r
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot build the CRL");
            plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "the CRL cannot be built now",
            )
        }
    }
}

/// The most CRL connections served at once.
const MAX_CRL_CONNECTIONS: usize = 64;
/// The longest wait for a request's headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves the CRL of `source` at `path` (`GET`, `HEAD`; `application/pkix-crl`) on
/// `listener` until `stopped` completes, at most [`MAX_CRL_CONNECTIONS`] connections at once.
pub(crate) async fn serve_crl(
    listener: tokio::net::TcpListener,
    source: Arc<dyn CrlSource>,
    path: String,
    stopped: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let permits = Arc::new(tokio::sync::Semaphore::new(MAX_CRL_CONNECTIONS));
    let path = Arc::new(path);
    let mut stopped = std::pin::pin!(stopped);
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let permit = tokio::select! {
            () = &mut stopped => break,
            p = permits.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
        };
        let (tcp, _addr): (tokio::net::TcpStream, SocketAddr) = tokio::select! {
            () = &mut stopped => break,
            a = listener.accept() => match a {
                Ok(a) => a,
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let (source, path) = (source.clone(), path.clone());
        connections.spawn(async move {
            let _permit = permit;
            let service = hyper::service::service_fn(move |req| {
                let (source, path) = (source.clone(), path.clone());
                async move { Ok::<_, Infallible>(answer(source.as_ref(), &path, &req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .keep_alive(false)
                .serve_connection(hyper_util::rt::TokioIo::new(tcp), service)
                .await;
        });
        while connections.try_join_next().is_some() {}
    }
    connections.shutdown().await;
    Ok(())
}
