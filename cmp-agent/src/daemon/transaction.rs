//! Driving one enrollment to its end for the daemon, persisting before each send (see
//! [`super::engine`] for the protocol), and installing its certificate.

use std::time::{Duration, Instant};

use cmp_core::ClientError;
use cmp_core::asn1::{FailureBit, format_unix};
use cmp_core::client::{Keys, Sleep};
use cmp_core::crypto::PrivateKey;
use cmp_core::names::format_name;
use cmp_core::storage::{Credential, IdentityName, Metadata, Storage, StoredKey, TransactionBlob};
use cmp_core::transaction::{Enrolled, Enrollment, Phase, SignPurpose, Step, Transaction};
use cmp_core::transport::TransportError;

use super::engine::{Engine, Failure, HOOK_PENDING};
use super::failpoint;
use super::settings::CertificateConfig;
use crate::commands::setup::{Setup, TokioSleep, feed_mac_keys};

impl Engine<'_> {
    /// Runs `tx` (new, or resumed with `resend`, the saved request) and installs its
    /// certificate; returns when the new certificate is to be renewed.
    pub(super) async fn run(
        &self,
        cert: &CertificateConfig,
        s: &Setup<'_>,
        mut tx: Enrollment,
        key: &dyn PrivateKey,
        server: &str,
        resend: Option<Vec<u8>>,
    ) -> Result<i64, Failure> {
        let name = &cert.name;
        let resumed = resend.is_some();
        // The key's locator in the saved transaction, and how the store keeps it: a token
        // key by its URI (it never leaves the token), a software key as PKCS#8.
        let (locator, stored_key) = if cert.key_store.is_some() {
            let uri = key.locator().ok_or_else(|| {
                Failure::Other("the key generated in the token has no URI to keep it by".into())
            })?;
            (uri.clone(), StoredKey::Locator(uri))
        } else {
            let pkcs8 = key.to_pkcs8_der().map(StoredKey::Pkcs8).ok_or_else(|| {
                Failure::Other("the new key cannot be exported for the store".into())
            })?;
            (self.pending_key_path(name).display().to_string(), pkcs8)
        };
        let total =
            (self.cfg.total_timeout > 0).then(|| Duration::from_secs(self.cfg.total_timeout));
        let deadline = total.map(|t| Instant::now() + t);
        let keys = Keys {
            protection: s.protection_key.as_deref(),
            new_key: Some(key),
        };
        let mut received_any = false;
        let mut step = match resend {
            Some(bytes) => Step::Send(bytes),
            None => {
                feed_mac_keys(&mut tx, None)
                    .await
                    .map_err(|e| Failure::Other(e.to_string()))?;
                tx.start(self.clock.now())
                    .map_err(|e| Failure::Other(e.to_string()))?
            }
        };
        let classify = |e: ClientError, received_any: bool| -> Failure {
            match &e {
                // Nothing reached the CA: try the next one.
                ClientError::Transport(t) if !received_any && !maybe_delivered(t) => {
                    Failure::Unreachable(e.to_string())
                }
                // The request may have reached the CA and its answer been lost: the saved
                // transaction is resumed (the identical request re-sent) with this CA.
                ClientError::Transport(_) | ClientError::TotalTimeout { .. } => {
                    Failure::Interrupted(e.to_string())
                }
                ClientError::Refused(r)
                    if resumed
                        && (r.has(FailureBit::TransactionIdInUse)
                            || r.has(FailureBit::BadRequest)
                            || r.body == "error") =>
                {
                    Failure::Stale(e.to_string())
                }
                ClientError::Response(_) if resumed => Failure::Stale(e.to_string()),
                ClientError::Refused(_) => Failure::Refused(e.to_string()),
                _ => Failure::Other(e.to_string()),
            }
        };
        let mut sends = 0u32;
        let enrolled: Enrolled = 'drive: {
            for _ in 0..10_000 {
                step = match step {
                    Step::Done(out) => break 'drive out,
                    Step::Sign { purpose, alg, data } => {
                        let k = match purpose {
                            SignPurpose::Protection => keys.protection,
                            SignPurpose::ProofOfPossession => keys.new_key,
                        }
                        .ok_or_else(|| Failure::Other("no key to sign with".into()))?;
                        let sig = k
                            .sign(alg, &data)
                            .await
                            .map_err(|e| Failure::Other(e.to_string()))?;
                        feed_mac_keys(&mut tx, None)
                            .await
                            .map_err(|e| classify(e, received_any))?;
                        tx.on_signature(sig, self.clock.now())
                            .map_err(|e| classify(e, received_any))?
                    }
                    Step::Send(request) => {
                        let state = tx
                            .save_state(&request, &locator, server)
                            .map_err(|e| Failure::Other(e.to_string()))?;
                        let polling = state.phase == Phase::Polling;
                        let blob = TransactionBlob {
                            version: cmp_core::transaction::FORMAT_VERSION,
                            bytes: state.to_bytes(),
                        };
                        self.store.save_transaction(name, Some(&blob)).await?;
                        failpoint::point(if polling {
                            "polling"
                        } else if sends == 0 {
                            "before-send"
                        } else {
                            "before-send-again"
                        });
                        sends += 1;
                        let body = body_name(&request);
                        tracing::info!("{name}: sent {body} ({} bytes) to {server}", request.len());
                        let response = s
                            .transport
                            .exchange(&request, deadline)
                            .await
                            .map_err(|e| classify(e.into(), received_any))?;
                        received_any = true;
                        tracing::info!(
                            "{name}: received {} ({} bytes)",
                            body_name(&response),
                            response.len()
                        );
                        if sends == 1 {
                            failpoint::point("after-send");
                        }
                        feed_mac_keys(&mut tx, Some(&response))
                            .await
                            .map_err(|e| classify(e, received_any))?;
                        let next = tx.on_response(&response, self.clock.now());
                        for w in tx.take_warnings() {
                            tracing::warn!("{name}: {w}");
                        }
                        let next = next.map_err(|e| classify(e, received_any))?;
                        if matches!(next, Step::Stage { .. }) {
                            failpoint::point("after-response");
                        }
                        next
                    }
                    Step::Stage { certificate, chain } => {
                        let credential = Credential {
                            key: Some(stored_key.clone()),
                            certificate: certificate.der().to_vec(),
                            chain: chain
                                .iter()
                                .filter(|c| c.der() != certificate.der())
                                .map(|c| c.der().to_vec())
                                .collect(),
                        };
                        self.store.stage(name, &credential).await?;
                        tracing::info!(
                            "{name}: staged serial {}",
                            super::status::serial_hex(certificate.serial_number())
                        );
                        failpoint::point("after-staging");
                        feed_mac_keys(&mut tx, None)
                            .await
                            .map_err(|e| classify(e, received_any))?;
                        tx.on_staged(self.clock.now())
                            .map_err(|e| classify(e, received_any))?
                    }
                    Step::Wait(d) => {
                        if deadline.is_some_and(|dl| Instant::now() + d > dl) {
                            return Err(Failure::Other(
                                "the total timeout ends before the next poll".into(),
                            ));
                        }
                        TokioSleep.sleep(d).await;
                        feed_mac_keys(&mut tx, None)
                            .await
                            .map_err(|e| classify(e, received_any))?;
                        tx.on_wait_elapsed(self.clock.now())
                            .map_err(|e| classify(e, received_any))?
                    }
                };
            }
            return Err(Failure::Other("the transaction did not end".into()));
        };
        tracing::info!(
            "{name}: issued {} serial {} valid until {}",
            format_name(enrolled.certificate.subject()),
            super::status::serial_hex(enrolled.certificate.serial_number()),
            format_unix(enrolled.certificate.not_after_unix())
        );
        if let Some(root) = &enrolled.bootstrap_root {
            // The certificate is installed all the same; a later refresh tries again.
            if let Err(e) = self.pin_bootstrap_root(root).await {
                tracing::error!("{name}: re-bootstrap: the root from the ip is not kept: {e}");
            }
        }
        self.install(cert).await
    }

    /// The transaction succeeded: hook owed, commit, clean up, hook; returns when the new
    /// certificate is to be renewed.
    async fn install(&self, cert: &CertificateConfig) -> Result<i64, Failure> {
        let name = &cert.name;
        let record = self.store.load(name).await?;
        let old_key = record
            .as_ref()
            .and_then(|r| match r.current.as_ref()?.key.as_ref()? {
                StoredKey::Locator(uri) => Some(uri.clone()),
                _ => None,
            });
        let mut meta = record.map(|r| r.metadata).unwrap_or_default();
        meta.next_action = Some(HOOK_PENDING.into());
        if let Some(uri) = &old_key {
            self.remember_replaced_key(name, uri)?;
        }
        self.store.save_metadata(name, &meta).await?;
        self.store.commit(name).await?;
        failpoint::point("mid-install");
        self.installed_cleanup(cert, meta).await
    }

    /// After the switch: clear the transaction, remove the pending key file, retire the
    /// token key no generation names any more ([`super::retire`]), run the hook, plan the
    /// renewal. `meta` is the identity's metadata, which says the hook is owed: it
    /// was saved so before the switch (by [`Self::install`], also before a crash that the
    /// resumed transaction finishes here), so it is not written again.
    pub(super) async fn installed_cleanup(
        &self,
        cert: &CertificateConfig,
        mut meta: Metadata,
    ) -> Result<i64, Failure> {
        let name = &cert.name;
        self.store.save_transaction(name, None).await?;
        for pending in [self.pending_key_path(name), self.pending_uri_path(name)] {
            super::retire::remove_if_present(&pending);
        }
        self.retire_replaced_keys(name).await;
        meta.next_action = Some(HOOK_PENDING.into());
        tracing::info!("{name}: installed in {}", self.current_dir(name).display());
        self.run_hook(name).await;
        Ok(self.schedule(cert, &mut meta).await)
    }

    pub(super) async fn run_hook(&self, name: &IdentityName) {
        if self.cfg.hook.is_empty() {
            return;
        }
        match super::hook::run(
            &self.cfg.hook,
            name.as_str(),
            &self.current_dir(name),
            self.cfg.hook_timeout,
        )
        .await
        {
            Ok(line) => tracing::info!("{name}: {line}"),
            Err(line) => tracing::warn!("{name}: {line}"),
        }
    }
}

/// Whether a request that failed with `e` may have reached the CA (and been answered): every
/// failure but one to connect (or to set up TLS) with it.
fn maybe_delivered(e: &TransportError) -> bool {
    match e {
        TransportError::InvalidUrl { .. }
        | TransportError::Connect { .. }
        | TransportError::Tls { .. } => false,
        TransportError::Timeout { what, .. } => !what.starts_with("connecting"),
        _ => true,
    }
}

/// The body name of a message, for the log.
fn body_name(der: &[u8]) -> &'static str {
    cmp_core::asn1::ReceivedMessage::decode(der)
        .map_or("undecodable message", |m| m.message().body.name())
}

/// A key URI for the log: its path part (token and object), without the query (module path,
/// PIN source).
pub(super) fn redact_uri(uri: &str) -> &str {
    uri.split('?').next().unwrap_or(uri)
}
