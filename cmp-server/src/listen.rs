//! Listener URLs: `http://HOST:PORT/PATH`, `https://…`, `tcp://HOST:PORT`, `tcps://…`.

use crate::error::Error;

/// A transport a listener speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// CMP over HTTP (POST, `application/pkixcmp`).
    Http,
    /// CMP over HTTP over TLS.
    Https,
    /// CMP over TCP (RFC 9482 framing).
    Tcp,
    /// CMP over TCP over TLS.
    Tcps,
}

impl Scheme {
    /// The URL scheme.
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
            Scheme::Tcp => "tcp",
            Scheme::Tcps => "tcps",
        }
    }

    /// Whether the listener needs TLS settings.
    pub fn tls(self) -> bool {
        matches!(self, Scheme::Https | Scheme::Tcps)
    }
}

/// One listener, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Listen {
    pub(crate) url: String,
    pub(crate) scheme: Scheme,
    pub(crate) host: String,
    pub(crate) port: u16,
    /// The HTTP path (`/` for TCP).
    pub(crate) path: String,
}

/// `SCHEME://HOST:PORT[/PATH]` with SCHEME http, https, tcp or tcps; port 0 is allowed.
pub(crate) fn parse_listen(url: &str) -> Result<Listen, Error> {
    let bad = |message: String| Error::Listen {
        url: url.to_owned(),
        message,
    };
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| bad("give SCHEME://HOST:PORT[/PATH]".into()))?;
    let scheme = match scheme {
        "http" => Scheme::Http,
        "https" => Scheme::Https,
        "tcp" => Scheme::Tcp,
        "tcps" => Scheme::Tcps,
        other => {
            return Err(bad(format!(
                "the scheme {other} is not served (http, https, tcp, tcps)"
            )));
        }
    };
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    if matches!(scheme, Scheme::Tcp | Scheme::Tcps) && !path.is_empty() {
        return Err(bad("a TCP listener has no path".into()));
    }
    let (host, port) = authority
        .rsplit_once(':')
        .filter(|(h, _)| !h.is_empty())
        .ok_or_else(|| bad("give HOST:PORT".into()))?;
    let port: u16 = port
        .parse()
        .map_err(|_| bad("the port is not a number from 0 to 65535".into()))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    Ok(Listen {
        url: url.to_owned(),
        scheme,
        host: host.to_owned(),
        port,
        path: format!("/{path}"),
    })
}

/// Binds `listen`: the listener and its URL with the real port.
pub(crate) async fn bind(listen: &Listen) -> Result<(tokio::net::TcpListener, String), Error> {
    let bad = |message: String| Error::Listen {
        url: listen.url.clone(),
        message,
    };
    let listener = tokio::net::TcpListener::bind((listen.host.as_str(), listen.port))
        .await
        .map_err(|e| bad(e.to_string()))?;
    let local = listener.local_addr().map_err(|e| bad(e.to_string()))?;
    let path = match listen.scheme {
        Scheme::Http | Scheme::Https => listen.path.as_str(),
        Scheme::Tcp | Scheme::Tcps => "",
    };
    let real = format!(
        "{}://{}{path}",
        listen.scheme.name(),
        cmp_core::transport::join_authority(&local.ip().to_string(), local.port())
    );
    Ok((listener, real))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listener_urls() {
        let l = parse_listen("http://127.0.0.1:0/pkix/").expect("http");
        assert_eq!(
            (l.scheme, l.port, l.path.as_str()),
            (Scheme::Http, 0, "/pkix/")
        );
        let l = parse_listen("tcps://[::1]:1829").expect("tcps");
        assert_eq!((l.scheme, l.host.as_str()), (Scheme::Tcps, "::1"));
        for bad in [
            "127.0.0.1:80",
            "ftp://h:1",
            "tcp://h:1/path",
            "http://h/pkix",
            "http://:80/",
            "http://h:99999/",
        ] {
            assert!(
                matches!(parse_listen(bad), Err(Error::Listen { .. })),
                "{bad}"
            );
        }
    }
}
