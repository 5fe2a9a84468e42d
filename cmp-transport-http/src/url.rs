//! The server URLs CMP over HTTP uses: `http://host[:port]/path` and `https://…`.

use cmp_core::transport::TransportError;

/// A parsed `http://` or `https://` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerUrl {
    /// `https`?
    pub tls: bool,
    /// The host name or IP address (IPv6 without brackets).
    pub host: String,
    /// The port (default 80 / 443).
    pub port: u16,
    /// The path and query, kept exactly (at least `/`).
    pub path: String,
}

impl ServerUrl {
    /// Parses `url`.
    pub fn parse(url: &str) -> Result<Self, TransportError> {
        let bad = |reason: &str| TransportError::InvalidUrl {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        let (tls, rest) = if let Some(r) = url.strip_prefix("http://") {
            (false, r)
        } else if let Some(r) = url.strip_prefix("https://") {
            (true, r)
        } else {
            return Err(bad("the scheme must be http:// or https://"));
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let (host, port) =
            cmp_core::transport::split_authority(url, authority, if tls { 443 } else { 80 })?;
        Ok(ServerUrl {
            tls,
            host,
            port,
            path: path.to_owned(),
        })
    }

    /// `host:port`, with brackets around an IPv6 address.
    pub fn authority(&self) -> String {
        cmp_core::transport::join_authority(&self.host, self.port)
    }

    /// The URL again.
    pub fn to_url(&self) -> String {
        format!(
            "{}://{}{}",
            if self.tls { "https" } else { "http" },
            self.authority(),
            self.path
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_usual_forms() {
        let u = ServerUrl::parse("http://127.0.0.1:8080/pkix/").expect("url");
        assert_eq!(
            (u.tls, u.host.as_str(), u.port, u.path.as_str()),
            (false, "127.0.0.1", 8080, "/pkix/")
        );
        let u = ServerUrl::parse("https://ca.example/.well-known/cmp/p/tls").expect("url");
        assert_eq!((u.port, u.path.as_str()), (443, "/.well-known/cmp/p/tls"));
        let u = ServerUrl::parse("http://[::1]:829").expect("url");
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("::1", 829, "/")
        );
        assert_eq!(u.authority(), "[::1]:829");
    }

    #[test]
    fn refuses_what_it_cannot_use() {
        let e = ServerUrl::parse("ftp://x/").expect_err("scheme");
        assert_eq!(
            e.to_string(),
            "invalid server URL \"ftp://x/\": the scheme must be http:// or https://"
        );
        for (url, why) in [
            (
                "http://h:99999/",
                "the port is not a number from 1 to 65535",
            ),
            (
                "http://u:p@h/",
                "user information in the URL is not supported",
            ),
            ("http:///x", "no host"),
        ] {
            assert_eq!(
                ServerUrl::parse(url).expect_err(url).to_string(),
                format!("invalid server URL {url:?}: {why}")
            );
        }
    }
}
