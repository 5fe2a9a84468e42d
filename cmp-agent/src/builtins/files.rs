//! The `files` storage, in one of two shapes chosen by its settings:
//!
//! * `dir = "DIR"`: identity records as PEM files in generation directories under `DIR`,
//!   installed by one atomic switch ([`crate::store::files`]);
//! * `certout = "FILE"`: the certificate file of the one-shot commands' `--certout`
//!   ([`crate::store::certout`]).

use std::sync::Arc;

use cmp_core::registry::{RegistryError, Settings, StorageFactory};
use cmp_core::storage::Storage;

use super::VERSION;

/// Builds the `files` stores.
#[derive(Debug, Default)]
pub(crate) struct FilesFactory;

impl StorageFactory for FilesFactory {
    fn name(&self) -> &str {
        "files"
    }

    fn version(&self) -> &str {
        VERSION
    }

    fn build(&self, settings: &Settings) -> Result<Arc<dyn Storage>, RegistryError> {
        settings.check_known("files", &["dir", "certout"])?;
        match (settings.text("dir")?, settings.text("certout")?) {
            (Some(dir), None) => Ok(Arc::new(crate::store::files::FileStore::new(dir))),
            (None, Some(file)) => Ok(Arc::new(crate::store::certout::CertOutFile::new(file))),
            _ => Err(RegistryError::Invalid(
                "files: give either dir (the identity records) or certout (one certificate file)"
                    .into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings() {
        let f = FilesFactory;
        assert!(f.build(&Settings::new().with("dir", "/tmp/x")).is_ok());
        assert!(
            f.build(&Settings::new().with("certout", "/tmp/x.pem"))
                .is_ok()
        );
        let e = |s: &Settings| f.build(s).map(|_| ()).map_err(|e| e.to_string());
        let either =
            "files: give either dir (the identity records) or certout (one certificate file)";
        assert_eq!(e(&Settings::new()), Err(either.to_owned()));
        assert_eq!(
            e(&Settings::new().with("dir", "a").with("certout", "b")),
            Err(either.to_owned())
        );
        assert_eq!(
            e(&Settings::new().with("path", "a")),
            Err("files: unknown setting path (known: dir, certout)".to_owned())
        );
    }
}
