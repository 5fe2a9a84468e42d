//! Trust that lasts years: before each renewal and every `trust_refresh`, the daemon asks the
//! CA for its certificates (genm caCerts) and for a root CA key update (genm rootCaCert, with
//! the current root as oldWithOld). A new root is believed only when
//! [`cmp_core::transaction::verify_root_ca_key_update`] accepts it — the same check as
//! `cmp-agent genm --infotype rootCaCert` — and is then added to the store's trust anchors in
//! one atomic switch ([`Storage::save_trust`]); the old root stays until it expires.
//!
//! The anchors start from the configured `trusted` files (and the self-signed certificates of
//! the installed chains) at the first refresh; from then on the store's anchors are the ones
//! the daemon verifies the CA with.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use cmp_core::asn1::{CmpCertificate, InfoTypeAndValue, InfoValue, format_unix, oid};
use cmp_core::client::Keys;
use cmp_core::names::format_name;
use cmp_core::storage::{Storage, TrustStore};
use cmp_core::transaction::{GeneralMessage, verify_root_ca_key_update};

use super::crls;
use super::engine::{Engine, installed, store_dir, unix};
use super::settings::CertificateConfig;
use crate::commands::drive;
use crate::commands::setup::{TokioBlocking, setup};

/// The file that keeps the last trust refresh's error for `status` (absent after a success).
pub(crate) fn error_file(state_dir: &Path) -> PathBuf {
    state_dir.join("trust-error.txt")
}

/// The anchors file of the store's current trust generation (what `--trusted` is given).
pub(crate) fn anchors_file(state_dir: &Path) -> PathBuf {
    store_dir(state_dir)
        .join("trust")
        .join("current")
        .join("anchors.pem")
}

/// The CRLs file of the store's current trust generation (what `--crls` is given when
/// `crl_refresh` is on).
pub(crate) fn crls_file(state_dir: &Path) -> PathBuf {
    store_dir(state_dir)
        .join("trust")
        .join("current")
        .join("crls.pem")
}

/// Decodes the anchors of a trust store (undecodable entries are skipped: the store only
/// holds what was verified and encoded by the agent).
pub(crate) fn decode(trust: &TrustStore) -> Vec<CmpCertificate> {
    trust
        .anchors
        .iter()
        .filter_map(|d| CmpCertificate::from_der(d).ok())
        .collect()
}

/// The root the device asks about (oldWithOld): of the self-signed anchors valid at `now`,
/// the one that became valid last; else the one that ended last.
pub(crate) fn current_root(anchors: &[CmpCertificate], now: SystemTime) -> Option<&CmpCertificate> {
    let roots = || anchors.iter().filter(|c| c.is_self_issued());
    roots()
        .filter(|c| c.is_valid_at(now))
        .max_by_key(|c| c.not_before_unix())
        .or_else(|| roots().max_by_key(|c| c.not_after_unix()))
}

/// The sentence that tells an operator every trust anchor has expired, if so.
pub(crate) fn expired_sentence(anchors: &[CmpCertificate], now: i64) -> Option<String> {
    if anchors.is_empty() || anchors.iter().any(|c| c.not_after_unix() > now) {
        return None;
    }
    let names: Vec<String> = anchors
        .iter()
        .map(|c| {
            format!(
                "{} (ended {})",
                format_name(c.subject()),
                format_unix(c.not_after_unix())
            )
        })
        .collect();
    Some(format!(
        "every trust anchor has expired: {}; this device was offline past its root's end, so a new root can no longer be verified — re-bootstrap it (vendor credential or a new `trusted` file)",
        names.join(", ")
    ))
}

impl Engine<'_> {
    /// The store's anchors; seeded (atomically) from the configured `trusted` files and the
    /// self-signed certificates of the installed chains when the store has none.
    pub(crate) async fn anchors(&self) -> Result<Vec<CmpCertificate>, String> {
        let trust = self.store.trust().await.map_err(|e| e.to_string())?;
        if !trust.anchors.is_empty() {
            return Ok(decode(&trust));
        }
        let mut seed: Vec<CmpCertificate> = Vec::new();
        let mut add = |c: CmpCertificate| {
            if !seed.iter().any(|s| s.der() == c.der()) {
                seed.push(c);
            }
        };
        for c in &self.cfg.certificates {
            if let Some(p) = &c.section.trusted {
                for cert in crate::certs::read_certs(p)
                    .map_err(|e| format!("certificate {}: trusted {}: {e}", c.name, p.display()))?
                {
                    add(cert);
                }
            }
            if let Ok(Some(r)) = self.store.load(&c.name).await {
                for der in r.current.iter().flat_map(|c| c.chain.iter()) {
                    if let Ok(cert) = CmpCertificate::from_der(der) {
                        if cert.is_self_issued() {
                            add(cert);
                        }
                    }
                }
            }
        }
        if !seed.is_empty() {
            let trust = TrustStore {
                anchors: seed.iter().map(|c| c.der().to_vec()).collect(),
                crls: trust.crls,
            };
            self.store
                .save_trust(&trust)
                .await
                .map_err(|e| e.to_string())?;
            tracing::info!(
                "trust anchors: {}",
                seed.iter()
                    .map(|c| format_name(c.subject()))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        Ok(seed)
    }

    /// Every anchor has expired: the certificates of the configured `trusted` files that are
    /// valid `now` replace them (in one atomic switch), if there are any — an operator's new
    /// `trusted` file re-bootstraps the device's trust.
    async fn anchors_from_trusted_files(
        &self,
        now: SystemTime,
    ) -> Result<Option<Vec<CmpCertificate>>, String> {
        let mut fresh: Vec<CmpCertificate> = Vec::new();
        for c in &self.cfg.certificates {
            if let Some(p) = &c.section.trusted {
                for cert in crate::certs::read_certs(p)
                    .map_err(|e| format!("certificate {}: trusted {}: {e}", c.name, p.display()))?
                {
                    if cert.is_valid_at(now) && !fresh.iter().any(|f| f.der() == cert.der()) {
                        fresh.push(cert);
                    }
                }
            }
        }
        if fresh.is_empty() {
            return Ok(None);
        }
        let mut trust = self.store.trust().await.map_err(|e| e.to_string())?;
        trust.anchors = fresh.iter().map(|c| c.der().to_vec()).collect();
        self.store
            .save_trust(&trust)
            .await
            .map_err(|e| e.to_string())?;
        tracing::warn!(
            "re-bootstrap: every trust anchor had expired; the configured trusted files bring {}, which replace them",
            describe(&fresh)
        );
        Ok(Some(fresh))
    }

    /// A re-bootstrap with the vendor credential succeeded: the root the ip brought (it
    /// validated the CA's signature and the new certificate) replaces the expired anchors.
    pub(super) async fn pin_bootstrap_root(&self, root: &CmpCertificate) -> Result<(), String> {
        let mut trust = self.store.trust().await.map_err(|e| e.to_string())?;
        let now = unix(self.clock.now());
        let mut kept: Vec<Vec<u8>> = trust
            .anchors
            .iter()
            .filter(|d| CmpCertificate::from_der(d).is_ok_and(|c| c.not_after_unix() > now))
            .cloned()
            .collect();
        if !kept.iter().any(|d| d.as_slice() == root.der()) {
            kept.push(root.der().to_vec());
        }
        trust.anchors = kept;
        self.store
            .save_trust(&trust)
            .await
            .map_err(|e| e.to_string())?;
        self.rebootstrap.set(false);
        tracing::warn!(
            "re-bootstrap: the root {} from the ip is the trust anchor now",
            describe(std::slice::from_ref(root))
        );
        Ok(())
    }

    /// Whether the trust refresh is due (never done by this engine, or `trust_refresh` ago).
    pub(crate) fn trust_due(&self) -> bool {
        self.trust_checked
            .get()
            .is_none_or(|t| self.now() >= t + secs(self.cfg.trust_refresh))
    }

    /// When the next scheduled trust refresh is due (Unix seconds).
    pub(crate) fn trust_next(&self) -> i64 {
        self.trust_checked
            .get()
            .map_or(self.now(), |t| t + secs(self.cfg.trust_refresh))
    }

    /// [`Engine::refresh_trust`], its error logged and kept for `status`.
    pub(crate) async fn trust_refresh_logged(&self, cert: &CertificateConfig) {
        let file = error_file(&self.cfg.state_dir);
        match self.refresh_trust(cert).await {
            Ok(()) => {
                if file.exists() {
                    let _ = std::fs::remove_file(&file);
                }
            }
            Err(e) => {
                tracing::error!("{e}");
                if let Err(w) = crate::commands::output::write_atomically(
                    &file,
                    format!("{e}\n").as_bytes(),
                    0o644,
                ) {
                    tracing::error!("{}", w.message());
                }
            }
        }
    }

    /// genm caCerts and genm rootCaCert with the first CA that answers, protected with the
    /// credential of `cert`; a verified new root is added to the anchors. An error is logged
    /// by the caller; the anchors stay as they were.
    pub(crate) async fn refresh_trust(&self, cert: &CertificateConfig) -> Result<(), String> {
        self.trust_checked.set(Some(self.now()));
        let anchors = self.anchors().await?;
        if anchors.is_empty() {
            // No `trusted` and no installed chain yet: no root to ask about or to verify with.
            tracing::debug!("trust refresh: no trust anchor yet");
            return Ok(());
        }
        let now = self.clock.now();
        let anchors = match expired_sentence(&anchors, unix(now)) {
            Some(_) => self
                .anchors_from_trusted_files(now)
                .await?
                .unwrap_or(anchors),
            None => anchors,
        };
        if let Some(s) = expired_sentence(&anchors, unix(now)) {
            let vendor = self
                .cfg
                .certificates
                .iter()
                .any(|c| c.section.vendor_cert.is_some());
            if vendor && !self.rebootstrap.replace(true) {
                tracing::warn!(
                    "re-bootstrap: every trust anchor has expired; the certificates with a vendor credential enroll again with it (ir), the CA's root taken from the ip (3GPP TS 33.310 first contact)"
                );
            }
            return Err(s);
        }
        self.rebootstrap.set(false);
        let old = current_root(&anchors, now).cloned();
        let record = self.store.load(&cert.name).await.ok().flatten();
        // An expired certificate cannot sign: the genm is then protected as an ir would be.
        let has_cert = record
            .as_ref()
            .and_then(installed)
            .is_some_and(|c| c.is_valid_at(now));
        let crl_ask = if self.cfg.crl_refresh {
            let mut cas = anchors.clone();
            for der in record
                .iter()
                .flat_map(|r| r.current.iter())
                .flat_map(|c| c.chain.iter())
            {
                if let Ok(c) = CmpCertificate::from_der(der) {
                    cas.push(c);
                }
            }
            let held = self.store.trust().await.map_err(|e| e.to_string())?;
            let statuses = crls::statuses(&crls::issuers(&cas), &crls::decode(&held.crls));
            Some(
                InfoTypeAndValue::from_value(&InfoValue::CrlStatusList(statuses))
                    .map_err(|e| e.to_string())?,
            )
        } else {
            None
        };
        let mut last = String::from("no CA is configured");
        for server in &self.cfg.servers {
            match self
                .ask(cert, server, has_cert, old.as_ref(), crl_ask.as_ref())
                .await
            {
                Ok(itavs) => return self.believe(&itavs, old.as_ref(), &anchors).await,
                Err(e) => {
                    tracing::warn!("trust refresh: {server}: {e}");
                    last = e;
                }
            }
        }
        Err(format!("trust refresh failed: {last}"))
    }

    /// The general messages (caCerts, rootCaCert, and crlStatusList when `crl_ask` is
    /// given), with `server`.
    async fn ask(
        &self,
        cert: &CertificateConfig,
        server: &str,
        has_cert: bool,
        old: Option<&CmpCertificate>,
        crl_ask: Option<&InfoTypeAndValue>,
    ) -> Result<Vec<InfoTypeAndValue>, String> {
        let args = self
            .args(cert, server, has_cert)
            .map_err(|e| e.message().to_owned())?;
        let s = setup(&args.client, None, self.registry)
            .await
            .map_err(|e| e.message().to_owned())?;
        let root_ask = InfoTypeAndValue::from_value(&InfoValue::RootCaCert(old.cloned()))
            .map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        let asks = [InfoTypeAndValue::request(oid::IT_CA_CERTS), root_ask]
            .into_iter()
            .chain(crl_ask.cloned());
        for itav in asks {
            let keys = Keys {
                protection: s.protection_key.as_deref(),
                new_key: None,
            };
            let got = drive(
                &args.client,
                s.transport.as_ref(),
                &TokioBlocking,
                &s.config,
                |cfg| GeneralMessage::new(cfg, vec![itav.clone()]),
                keys,
                None,
            )
            .await
            .map_err(|e| e.message().to_owned())?;
            out.extend(got);
        }
        Ok(out)
    }

    /// Acts on the answers: logs the CA certificates, verifies and adds a new root.
    async fn believe(
        &self,
        itavs: &[InfoTypeAndValue],
        old: Option<&CmpCertificate>,
        anchors: &[CmpCertificate],
    ) -> Result<(), String> {
        for itav in itavs {
            match itav.value() {
                Ok(InfoValue::CaCerts(Some(certs))) => tracing::info!(
                    "trust refresh: caCerts: {}",
                    certs
                        .iter()
                        .map(|c| format_name(c.subject()))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                Ok(InfoValue::RootCaKeyUpdate(Some(update))) => {
                    let primitives = cmp_crypto::default_provider().primitives;
                    let kept = old.map_or_else(String::new, |o| {
                        format!("; the old root {} stays trusted", format_name(o.subject()))
                    });
                    let new = verify_root_ca_key_update(
                        &update,
                        old,
                        anchors,
                        primitives.as_ref(),
                        self.clock.now(),
                    )
                    .map_err(|e| format!("new root refused: {e}{kept}"))?;
                    if anchors.iter().any(|a| a.der() == new.der()) {
                        tracing::debug!("trust refresh: the offered root is trusted already");
                        continue;
                    }
                    let mut trust = self.store.trust().await.map_err(|e| e.to_string())?;
                    trust.anchors.push(new.der().to_vec());
                    self.store
                        .save_trust(&trust)
                        .await
                        .map_err(|e| e.to_string())?;
                    tracing::info!(
                        "trust refresh: new root {} (valid until {}) is trusted, vouched for by the old root{}",
                        format_name(new.subject()),
                        format_unix(new.not_after_unix()),
                        old.map_or_else(String::new, |o| format!(
                            " {} (valid until {})",
                            format_name(o.subject()),
                            format_unix(o.not_after_unix())
                        ))
                    );
                }
                Ok(InfoValue::Crls(Some(received))) => {
                    let mut trust = self.store.trust().await.map_err(|e| e.to_string())?;
                    if let Some(merged) = crls::merge(&trust.crls, &received)? {
                        trust.crls = merged.crls;
                        self.store
                            .save_trust(&trust)
                            .await
                            .map_err(|e| e.to_string())?;
                        for line in merged.taken {
                            tracing::info!("{line}");
                        }
                    }
                }
                Ok(InfoValue::Crls(None)) => {
                    tracing::debug!("trust refresh: no newer CRL");
                }
                Ok(InfoValue::RootCaKeyUpdate(None)) => {
                    tracing::debug!("trust refresh: no root CA key update");
                }
                Ok(_) => {}
                Err(e) => return Err(format!("trust refresh: the genp failed a check: {e}")),
            }
        }
        Ok(())
    }
}

/// `CN=… (valid until …)`, comma-separated.
fn describe(certs: &[CmpCertificate]) -> String {
    certs
        .iter()
        .map(|c| {
            format!(
                "{} (valid until {})",
                format_name(c.subject()),
                format_unix(c.not_after_unix())
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn secs(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 4)
}
