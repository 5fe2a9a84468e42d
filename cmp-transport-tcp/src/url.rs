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
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, after) = v6
                .split_once(']')
                .ok_or_else(|| bad("unclosed [ in the host"))?;
            (h, after.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let port = match port {
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| bad("the port is not a number from 1 to 65535"))?,
            None => DEFAULT_PORT,
        };
        Ok(TcpUrl {
            tls,
            host: host.to_owned(),
            port,
        })
    }

    /// `host:port` (brackets around IPv6).
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
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
        assert!(TcpUrl::parse("http://x").is_err());
        assert!(TcpUrl::parse("tcp://x/path").is_err());
        assert!(TcpUrl::parse("tcp://x:0").is_err());
    }
}
