//! The `files` storage: certificates as PEM files named by path (`--certout`), staged,
//! committed and kept unconfirmed as [`crate::store`] says.

use std::sync::Arc;

use cmp_core::registry::{RegistryError, Settings, StorageFactory};
use cmp_core::storage::Storage;

use super::VERSION;

/// Builds [`CertFileStore`](crate::store::CertFileStore)s. No settings.
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
        settings.check_known("files", &[])?;
        Ok(Arc::new(crate::store::CertFileStore))
    }
}
