//! Retiring replaced token keys: a renewal's new key replaces the installed one, which stays
//! in its token for the previous generation (a roll back needs it); at the next switch the
//! key before it — no generation names it any more — is destroyed in its token.
//!
//! Two files under `STATE_DIR/keys/` carry it across crashes:
//! - `NAME.replaced.uri`, written **before** the switch: the installed key's URI, which the
//!   switch turns into the previous generation's;
//! - `NAME.previous.uri`: the previous generation's key, kept for a roll back.
//!
//! After the switch (also when a resumed transaction finishes one), the key in
//! `previous.uri` is destroyed — unless it is the installed key or the one just replaced —
//! and `replaced.uri` is renamed over `previous.uri`. Each step can be repeated: a key
//! already gone counts as destroyed. A crash between the two leaves `replaced.uri`, and the
//! next cleanup repeats both. A key is never destroyed while a generation names it.
//!
//! Software keys are files inside the generations, removed with them: nothing to do here.

use std::io::ErrorKind;
use std::path::Path;

use cmp_core::storage::{IdentityName, Storage, StoredKey};

use super::engine::Engine;

impl Engine<'_> {
    /// Before the switch: remembers the installed token key (`old`), which the switch
    /// replaces, so that its retirement survives a crash after the switch.
    pub(super) fn remember_replaced_key(
        &self,
        name: &IdentityName,
        old: &str,
    ) -> Result<(), crate::commands::AgentError> {
        crate::commands::output::write_atomically(
            &self.replaced_uri_path(name),
            format!("{old}\n").as_bytes(),
            0o600,
        )
    }

    /// After the switch: destroys the key of the generation before the previous one in its
    /// token and keeps the replaced key as the previous generation's. Never fails the
    /// install: what cannot be done is logged with what the operator can do.
    pub(super) async fn retire_replaced_keys(&self, name: &IdentityName) {
        let replaced_path = self.replaced_uri_path(name);
        let replaced = match read_uri(&replaced_path) {
            Ok(Some(uri)) => uri,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!("{name}: {e}");
                return;
            }
        };
        let current = match self.store.load(name).await {
            Ok(record) => record.and_then(|r| match r.current?.key? {
                StoredKey::Locator(uri) => Some(uri),
                _ => None,
            }),
            Err(e) => {
                tracing::warn!("{name}: replaced keys are not retired: {e}");
                return;
            }
        };
        if current.as_deref() == Some(replaced.as_str()) {
            // No switch happened (an install that failed before it): the key is in use.
            remove_if_present(&replaced_path);
            return;
        }
        let previous_path = self.previous_uri_path(name);
        match read_uri(&previous_path) {
            Ok(Some(previous))
                if previous != replaced && current.as_deref() != Some(previous.as_str()) =>
            {
                let shown = super::transaction::redact_uri(&previous);
                match crate::commands::keys::delete_token_key(self.registry, &previous).await {
                    Ok(true) => tracing::info!(
                        "{name}: deleted the key of the generation before the previous one from its token ({shown})"
                    ),
                    Ok(false) => tracing::info!(
                        "{name}: the key of the generation before the previous one was already gone from its token ({shown})"
                    ),
                    Err(e) => tracing::warn!(
                        "{name}: the key of the generation before the previous one stays in its token ({shown}): {}; remove it there (pkcs11-tool --delete-object --type privkey --label …)",
                        e.message()
                    ),
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!("{name}: {e}"),
        }
        match std::fs::rename(&replaced_path, &previous_path) {
            Ok(()) => {
                if let Some(dir) = previous_path.parent() {
                    cmp_crypto::fs::sync_dir(dir);
                }
                tracing::info!(
                    "{name}: the replaced key stays in its token for the previous generation ({})",
                    super::transaction::redact_uri(&replaced)
                );
            }
            Err(e) => tracing::warn!(
                "{name}: {} → {}: {e}",
                replaced_path.display(),
                previous_path.display()
            ),
        }
    }
}

/// The URI a file holds, `None` when there is no file.
fn read_uri(path: &Path) -> Result<Option<String>, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text.trim_end().to_owned()).filter(|u| !u.is_empty())),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// Removes the file `path`; a file already gone is fine, another failure is logged.
pub(super) fn remove_if_present(path: &Path) {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => tracing::warn!("{}: {e}", path.display()),
    }
}
