use std::sync::Arc;
use std::time::Instant;

use super::*;
use crate::CryptoError;
use crate::crypto::{KeyLocator, KeySpec, PrivateKey};
use crate::transport::TransportError;

#[derive(Debug)]
struct Echo(String);

#[async_trait::async_trait]
impl Transport for Echo {
    async fn exchange(
        &self,
        request: &[u8],
        _: Option<Instant>,
    ) -> Result<Vec<u8>, TransportError> {
        let mut v = self.0.as_bytes().to_vec();
        v.extend_from_slice(request);
        Ok(v)
    }
}

#[derive(Debug)]
struct EchoFactory(&'static str, &'static [&'static str]);

impl TransportFactory for EchoFactory {
    fn name(&self) -> &str {
        self.0
    }
    fn version(&self) -> &str {
        "1.2.3"
    }
    fn schemes(&self) -> Vec<String> {
        self.1.iter().map(|s| (*s).to_owned()).collect()
    }
    fn build(&self, url: &str, settings: &Settings) -> Result<Arc<dyn Transport>, RegistryError> {
        settings.check_known(self.0, &["prefix"])?;
        let prefix = settings.text("prefix")?.unwrap_or_default();
        Ok(Arc::new(Echo(format!("{prefix}{url}:"))))
    }
}

#[derive(Debug)]
struct NoKeys;

#[async_trait::async_trait]
impl KeyProvider for NoKeys {
    fn name(&self) -> &str {
        "none"
    }
    async fn generate(&self, _: KeySpec) -> Result<Arc<dyn PrivateKey>, CryptoError> {
        Err(CryptoError::UnsupportedAlgorithm("no keys here".into()))
    }
    async fn load(&self, _: &KeyLocator) -> Result<Arc<dyn PrivateKey>, CryptoError> {
        Err(CryptoError::UnsupportedAlgorithm("no keys here".into()))
    }
}

#[derive(Debug)]
struct NoKeysFactory;

impl KeyBackendFactory for NoKeysFactory {
    fn name(&self) -> &str {
        "none"
    }
    fn version(&self) -> &str {
        "0.0.1"
    }
    fn origin(&self) -> Origin {
        Origin::Library("/opt/libnone.so".into())
    }
    fn build(&self, _: &Settings) -> Result<Arc<dyn KeyProvider>, RegistryError> {
        Ok(Arc::new(NoKeys))
    }
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    let mut f = std::pin::pin!(f);
    loop {
        if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

fn registry() -> Registry {
    let mut r = Registry::new();
    r.register_transport(Arc::new(EchoFactory("echo", &["echo", "echos"])))
        .expect("echo");
    r.register_key_backend(Arc::new(NoKeysFactory))
        .expect("none");
    r
}

#[test]
fn a_transport_is_found_by_its_url_scheme_and_built_with_its_settings() {
    let r = registry();
    let t = r
        .build_transport("ECHOS://ca/x", &Settings::new().with("prefix", ">"))
        .expect("built");
    assert_eq!(
        block_on(t.exchange(b"hi", None)).expect("exchange"),
        b">ECHOS://ca/x:hi"
    );
    assert_eq!(
        r.build_transport("echo://ca", &Settings::new().with("tls", true))
            .map(|_| ())
            .map_err(|e| e.to_string()),
        Err("echo: unknown setting tls (known: prefix)".to_owned())
    );
}

#[test]
fn unknown_schemes_and_names_say_what_there_is() {
    let r = registry();
    let e = r
        .build_transport("pigeon://loft", &Settings::new())
        .map(|_| ());
    assert_eq!(
        e.map_err(|e| e.to_string()),
        Err("no transport serves \"pigeon://loft\" (URL schemes served: echo, echos)".to_owned())
    );
    let e = r.build_transport("no scheme", &Settings::new()).map(|_| ());
    assert!(matches!(e, Err(RegistryError::UnknownScheme { .. })));
    let e = r.build_key_backend("hsm", &Settings::new()).map(|_| ());
    assert_eq!(
        e.map_err(|e| e.to_string()),
        Err("no key backend plugin named \"hsm\" (available: none)".to_owned())
    );
    let e = r.build_storage("files", &Settings::new()).map(|_| ());
    assert_eq!(
        e.map_err(|e| e.to_string()),
        Err("no storage plugin named \"files\" (available: none)".to_owned())
    );
}

#[test]
fn duplicates_are_refused() {
    let mut r = registry();
    assert_eq!(
        r.register_transport(Arc::new(EchoFactory("echo", &["other"]))),
        Err(RegistryError::Duplicate {
            kind: PluginKind::Transport,
            name: "echo".into()
        })
    );
    let e = r
        .register_transport(Arc::new(EchoFactory("mirror", &["Echo"])))
        .expect_err("scheme taken");
    assert_eq!(
        e.to_string(),
        "the URL scheme \"echo\" is already served by the transport \"echo\""
    );
    assert_eq!(
        r.register_key_backend(Arc::new(NoKeysFactory))
            .map_err(|e| e.to_string()),
        Err("a key backend plugin named \"none\" is already registered".to_owned())
    );
    // Nothing of the refused registrations stayed.
    assert_eq!(r.plugins().len(), 2);
}

#[test]
fn plugins_lists_every_plugin_in_order() {
    let r = registry();
    assert_eq!(
        r.plugins(),
        [
            PluginInfo {
                name: "echo".into(),
                kind: PluginKind::Transport,
                version: "1.2.3".into(),
                origin: Origin::BuiltIn,
                schemes: vec!["echo".into(), "echos".into()],
            },
            PluginInfo {
                name: "none".into(),
                kind: PluginKind::KeyBackend,
                version: "0.0.1".into(),
                origin: Origin::Library("/opt/libnone.so".into()),
                schemes: vec![],
            },
        ]
    );
    assert_eq!(Origin::BuiltIn.to_string(), "built in");
    assert_eq!(
        Origin::Library("/opt/libnone.so".into()).to_string(),
        "/opt/libnone.so"
    );
}
