//! `tcp://host[:port]` and `tcps://host[:port]` (default port 829).

use cmp_core::transport::TransportError;

/// A parsed TCP server URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TcpUrl {
    /// `tcps://`: wrap the stream in TLS.
    pub tls: bool,
    /// Host name or IP address (IPv6 without brackets).
    pub host: String,
    /// Port, default 829.
    pub port: u16,
}

/// The port RFC 2510 assigned to CMP over TCP.
pub const DEFAULT_PORT: u16 = 829;

impl TcpUrl {
    /// Parses `url`.
    pub fn parse(url: &str) -> Result<Self, TransportError> {
        let bad = |reason: &str| TransportError::InvalidUrl {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        let (tls, rest) = if let Some(r) = url.strip_prefix("tcp://") {
            (false, r)
        } else if let Some(r) = url.strip_prefix("tcps://") {
            (true, r)
        } else {
            return Err(bad("the scheme must be tcp:// or tcps://"));
        };
        let authority = rest.trim_end_matches('/');
        if authority.contains('/') {
            return Err(bad("a TCP server URL has no path"));
        }
        let (host, port) = cmp_core::transport::split_authority(url, authority, DEFAULT_PORT)?;
        Ok(TcpUrl { tls, host, port })
    }

    /// `host:port` (brackets around IPv6).
    pub fn authority(&self) -> String {
        cmp_core::transport::join_authority(&self.host, self.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let u = TcpUrl::parse("tcp://ca.example").expect("url");
        assert_eq!((u.tls, u.port), (false, 829));
        let u = TcpUrl::parse("tcps://[::1]:1829/").expect("url");
        assert_eq!((u.tls, u.host.as_str(), u.port), (true, "::1", 1829));
        for (url, why) in [
            ("http://x", "the scheme must be tcp:// or tcps://"),
            ("tcp://x/path", "a TCP server URL has no path"),
            ("tcp://x:0", "the port is not a number from 1 to 65535"),
        ] {
            assert_eq!(
                TcpUrl::parse(url).expect_err(url).to_string(),
                format!("invalid server URL {url:?}: {why}")
            );
        }
    }
}
