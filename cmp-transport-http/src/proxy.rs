//! HTTP proxies: explicit, or from `http_proxy` / `https_proxy` / `no_proxy`.

use cmp_core::transport::TransportError;

use crate::url::ServerUrl;

/// Where to send requests instead of the server itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxySettings {
    /// The proxy, as `http://host:port`.
    pub proxy: ServerUrl,
    /// Hosts reached directly (`no_proxy` syntax: names, `.suffix`, `*`).
    pub no_proxy: Vec<String>,
}

impl ProxySettings {
    /// An explicit proxy (`--proxy URL`) with a `--no-proxy` list.
    pub fn new(proxy_url: &str, no_proxy: &str) -> Result<Self, TransportError> {
        let proxy = ServerUrl::parse(proxy_url)?;
        if proxy.tls {
            return Err(TransportError::InvalidUrl {
                url: proxy_url.to_owned(),
                reason: "only http:// proxies are supported (CONNECT is used for https servers)"
                    .into(),
            });
        }
        Ok(ProxySettings {
            proxy,
            no_proxy: split_list(no_proxy),
        })
    }

    /// The proxy the environment names for `server` (`https_proxy` for https, `http_proxy`
    /// otherwise, either case), unless `no_proxy` exempts it.
    pub fn from_env(server: &ServerUrl) -> Result<Option<Self>, TransportError> {
        let var = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()))
        };
        let proxy = if server.tls {
            var(&["https_proxy", "HTTPS_PROXY"])
        } else {
            var(&["http_proxy", "HTTP_PROXY"])
        };
        let Some(proxy) = proxy else { return Ok(None) };
        let settings =
            ProxySettings::new(&proxy, &var(&["no_proxy", "NO_PROXY"]).unwrap_or_default())?;
        Ok(settings.applies_to(server).then_some(settings))
    }

    /// Adds hosts to reach directly (`no_proxy` syntax, comma-separated): how a
    /// `--no-proxy` list extends the environment's.
    pub fn with_no_proxy(mut self, list: &str) -> Self {
        self.no_proxy.extend(split_list(list));
        self
    }

    /// Whether requests to `server` go through the proxy.
    pub fn applies_to(&self, server: &ServerUrl) -> bool {
        let host = server.host.to_ascii_lowercase();
        // `name` and `.name` both match the name itself and everything below it.
        !self.no_proxy.iter().any(|entry| {
            let name = entry.trim_start_matches('.');
            name == "*" || host == name || host.ends_with(&format!(".{name}"))
        })
    }
}

fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(|e| e.trim().to_ascii_lowercase())
        .map(|e| e.split(':').next().unwrap_or_default().to_owned())
        .filter(|e| !e.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_proxy_matches_names_and_suffixes() {
        let p = ProxySettings::new("http://proxy:3128", "localhost, .internal,example.org:8080")
            .expect("proxy");
        let url = |u: &str| ServerUrl::parse(u).expect("url");
        assert!(!p.applies_to(&url("http://localhost/")));
        assert!(!p.applies_to(&url("http://ca.internal/")));
        assert!(!p.applies_to(&url("https://x.example.org/")));
        assert!(p.applies_to(&url("http://ca.example.com/")));
        assert_eq!(
            ProxySettings::new("https://proxy/", "")
                .expect_err("https proxy")
                .to_string(),
            "invalid server URL \"https://proxy/\": only http:// proxies are supported (CONNECT is used for https servers)"
        );
    }
}
