//! One certificate, one step at a time: resume a saved transaction, run the install hook
//! still owed, or enroll / renew when due — following the renew-without-orphaning protocol of
//! [`cmp_core::storage`]:
//!
//! 1. the new key is generated into `STATE_DIR/keys/NAME.pending.pem` (0600) — its locator —
//!    unless a pending key is already there (a transaction given up is restarted **with the
//!    same key**);
//! 2. before **each** send the transaction's state ([`TransactionState`]) is saved;
//! 3. the issued certificate is staged (with the key) before certConf;
//! 4. on pkiConf: "hook pending" is recorded, the staged credential committed (one switch),
//!    the saved transaction cleared, the pending key file removed, the hook run.
//!
//! A key therefore always has an owner: the pending file named by the saved transaction, the
//! staged generation, or the installed one.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Parser;
use cmp_core::asn1::{CmpCertificate, format_unix};
use cmp_core::clock::Clock;
use cmp_core::crypto::PrivateKey;
use cmp_core::names::format_name;
use cmp_core::registry::Registry;
use cmp_core::storage::{
    IdentityName, IdentityRecord, Metadata, Storage, StorageError, TransactionBlob,
};
use cmp_core::transaction::{
    Enrollment, EnrollmentKind, EnrollmentRequest, Phase, PopoMethod, TransactionState,
};
use rasn_pkix::Time;

use super::schedule::{self, Action};
use super::settings::{CertificateConfig, DaemonConfig};
use crate::cli::{Cli, Command};
use crate::client_cli::EnrollArgs;
use crate::commands::AgentError;
use crate::commands::setup::{Setup, setup};
use crate::store::files::FileStore;

/// `metadata.next_action` while an install's hook is owed.
pub(crate) const HOOK_PENDING: &str = "install-hook";

/// How many times a resumed transaction may fail on the transport before it is given up (and
/// restarted with the same key, at the first CA that answers).
const MAX_RESUME_FAILURES: u32 = 5;

/// Seconds since the epoch.
pub(crate) fn unix(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// What went wrong with one attempt, and what it means for the next.
#[derive(Debug)]
pub(super) enum Failure {
    /// The CA could not be reached (nothing was received): try the next CA.
    Unreachable(String),
    /// The transport failed after the CA had answered: the saved transaction is resumed
    /// later, with the same CA.
    Interrupted(String),
    /// The CA refused a key update: fall back to ir.
    KurRefused(String),
    /// The CA refused.
    Refused(String),
    /// A resumed transaction the CA does not know (or answers wrongly): start anew, same key.
    Stale(String),
    /// Anything else: back off.
    Other(String),
}

impl Failure {
    fn text(&self) -> &str {
        match self {
            Failure::Unreachable(s)
            | Failure::Interrupted(s)
            | Failure::KurRefused(s)
            | Failure::Refused(s)
            | Failure::Stale(s)
            | Failure::Other(s) => s,
        }
    }
}

impl From<AgentError> for Failure {
    fn from(e: AgentError) -> Self {
        Failure::Other(e.message().to_owned())
    }
}

impl From<StorageError> for Failure {
    fn from(e: StorageError) -> Self {
        Failure::Other(e.to_string())
    }
}

/// What [`Engine::step`] does next.
enum Next {
    /// Look again at once.
    Again,
    /// Look again at this time (Unix seconds).
    At(i64),
}

/// The daemon's work on the identities of one configuration.
pub(crate) struct Engine<'a> {
    pub(crate) cfg: DaemonConfig,
    pub(crate) registry: &'a Registry,
    pub(crate) store: FileStore,
    pub(crate) clock: &'a dyn Clock,
    /// When this engine last refreshed the trust anchors (Unix seconds).
    pub(crate) trust_checked: std::cell::Cell<Option<i64>>,
    /// Every anchor has expired and no configured `trusted` file brings a valid one: the
    /// certificates with a vendor credential enroll again with it (ir), taking the CA's root
    /// from the ip (3GPP TS 33.310 first contact), which then becomes the anchor.
    pub(crate) rebootstrap: std::cell::Cell<bool>,
    /// The latest notBefore of each identity's installed chain (`None`: no chain), kept from
    /// the records a step reads, so the clock check reads no record (see [`Self::anchors_not_before`]).
    chain_not_before: std::cell::RefCell<HashMap<IdentityName, Option<i64>>>,
    /// The latest notBefore of the configured `trusted` files, read once per configuration.
    trusted_not_before: Option<i64>,
}

/// The store's directory under the state directory.
pub(crate) fn store_dir(state_dir: &Path) -> PathBuf {
    state_dir.join("store")
}

fn keys_dir(state_dir: &Path) -> PathBuf {
    state_dir.join("keys")
}

/// The URI of the key labelled `label` in the token of `store` (a `pkcs11:` URI naming the
/// token, checked by the settings): `;object=LABEL` goes at the end of its path part.
pub(crate) fn token_key_uri(store: &str, label: &str) -> String {
    match store.split_once('?') {
        Some((path, query)) => format!("{path};object={label}?{query}"),
        None => format!("{store};object={label}"),
    }
}

/// The installed certificate of a record, decoded.
pub(crate) fn installed(record: &IdentityRecord) -> Option<CmpCertificate> {
    record
        .current
        .as_ref()
        .and_then(|c| CmpCertificate::from_der(&c.certificate).ok())
}

impl<'a> Engine<'a> {
    /// The engine for `cfg`.
    pub(crate) fn new(cfg: DaemonConfig, registry: &'a Registry, clock: &'a dyn Clock) -> Self {
        let store = FileStore::new(store_dir(&cfg.state_dir));
        let trusted_not_before = cfg
            .certificates
            .iter()
            .filter_map(|c| c.section.trusted.as_ref())
            .flat_map(|p| crate::certs::read_certs(p).unwrap_or_default())
            .map(|c| c.not_before_unix())
            .max();
        Engine {
            cfg,
            registry,
            store,
            clock,
            trust_checked: std::cell::Cell::new(None),
            rebootstrap: std::cell::Cell::new(false),
            chain_not_before: std::cell::RefCell::new(HashMap::new()),
            trusted_not_before,
        }
    }

    /// Notes the installed chain of `record` for [`Self::anchors_not_before`].
    pub(super) fn note_chain(&self, name: &IdentityName, record: Option<&IdentityRecord>) {
        let latest = record
            .iter()
            .flat_map(|r| r.current.iter().flat_map(|c| c.chain.iter()))
            .filter_map(|der| CmpCertificate::from_der(der).ok())
            .map(|c| c.not_before_unix())
            .max();
        self.chain_not_before
            .borrow_mut()
            .insert(name.clone(), latest);
    }

    /// The latest notBefore of the certificates the agent trusts (the configured `trusted`
    /// files and the installed chains). A record is read only for an identity no step has
    /// read yet (the first pass); afterwards the chains noted by the steps are used.
    pub(crate) async fn anchors_not_before(&self) -> Option<i64> {
        for c in &self.cfg.certificates {
            if self.chain_not_before.borrow().contains_key(&c.name) {
                continue;
            }
            let record = self.store.load(&c.name).await.ok().flatten();
            self.note_chain(&c.name, record.as_ref());
        }
        let chains = self.chain_not_before.borrow();
        let latest = self
            .cfg
            .certificates
            .iter()
            .filter_map(|c| chains.get(&c.name).copied().flatten())
            .max();
        latest.max(self.trusted_not_before)
    }

    pub(super) fn now(&self) -> i64 {
        unix(self.clock.now())
    }

    pub(super) fn pending_key_path(&self, name: &IdentityName) -> PathBuf {
        keys_dir(&self.cfg.state_dir).join(format!("{name}.pending.pem"))
    }

    /// Where the URI of a pending key generated in a token is kept.
    pub(super) fn pending_uri_path(&self, name: &IdentityName) -> PathBuf {
        keys_dir(&self.cfg.state_dir).join(format!("{name}.pending.uri"))
    }

    /// Where the URI of the installed token key is kept while a switch replaces it.
    pub(super) fn replaced_uri_path(&self, name: &IdentityName) -> PathBuf {
        keys_dir(&self.cfg.state_dir).join(format!("{name}.replaced.uri"))
    }

    /// Where the URI of the previous generation's token key is kept.
    pub(super) fn previous_uri_path(&self, name: &IdentityName) -> PathBuf {
        keys_dir(&self.cfg.state_dir).join(format!("{name}.previous.uri"))
    }

    pub(super) fn current_dir(&self, name: &IdentityName) -> PathBuf {
        store_dir(&self.cfg.state_dir)
            .join(name.as_str())
            .join("current")
    }

    /// Does what is due for `cert`; returns when to look again (Unix seconds). A saved
    /// transaction given up is followed at once by the new transaction that replaces it.
    pub(crate) async fn step(&self, cert: &CertificateConfig) -> i64 {
        let mut at = self.now();
        for _ in 0..3 {
            match self.step_once(cert).await {
                Next::Again => continue,
                Next::At(t) => {
                    at = t;
                    break;
                }
            }
        }
        at
    }

    async fn step_once(&self, cert: &CertificateConfig) -> Next {
        let name = &cert.name;
        let record = match self.store.load(name).await {
            Ok(r) => {
                self.note_chain(name, r.as_ref());
                r.unwrap_or_else(|| IdentityRecord::empty(name.clone()))
            }
            Err(e) => {
                tracing::error!("{name}: {e}");
                return Next::At(self.now() + 60);
            }
        };
        let mut meta = record.metadata.clone();
        let now = self.now();
        if meta.failures > 0 {
            if let Some(t) = meta.next_action_at.filter(|&t| t > now) {
                return Next::At(t); // backing off
            }
        }
        // 1. A saved transaction is finished first, with the CA it started on.
        if let Some(blob) = &record.transaction {
            match self.resume(cert, &record, blob).await {
                // Done, or given up: the next step follows at once.
                Ok(()) => return Next::Again,
                Err(f) => return Next::At(self.failed(cert, &mut meta, &f, true).await),
            }
        }
        if record.staged.is_some() {
            tracing::warn!("{name}: a staged certificate without a transaction is discarded");
            if let Err(e) = self.store.discard_staged(name).await {
                tracing::error!("{name}: {e}");
            }
        }
        // 2. The hook an install still owes.
        if meta.next_action.as_deref() == Some(HOOK_PENDING) {
            self.run_hook(name).await;
            return Next::At(self.schedule(cert, &mut meta).await);
        }
        // 3. Enroll, renew or re-enroll when due.
        let current = installed(&record);
        let due = meta
            .next_action_at
            .filter(|_| meta.next_action.as_deref() == Some("renew"));
        let view = current.as_ref().map(|c| {
            let due = due.unwrap_or_else(|| self.renew_time(c));
            (due, c.not_after_unix())
        });
        let action = if self.rebootstraps(cert) {
            Some(Action::Reenroll)
        } else {
            schedule::decide(now, view)
        };
        let Some(action) = action else {
            return Next::At(match due {
                Some(d) => d,
                None => self.schedule(cert, &mut meta).await,
            });
        };
        if action == Action::Renew {
            // Before a renewal: the CA's certificates and a root update, if any.
            self.trust_refresh_logged(cert).await;
        }
        let current = current.filter(|_| !self.rebootstraps(cert));
        Next::At(match self.attempt(cert, action, current.as_ref()).await {
            Ok(at) => at,
            Err(Failure::KurRefused(why)) => {
                tracing::warn!("{name}: kur refused ({why}); falling back to ir");
                match self.attempt(cert, Action::Reenroll, None).await {
                    Ok(at) => at,
                    Err(f) => self.failed(cert, &mut meta, &f, false).await,
                }
            }
            Err(f) => self.failed(cert, &mut meta, &f, false).await,
        })
    }

    /// Whether `cert` is to re-bootstrap now: every anchor has expired and it has a vendor
    /// credential.
    pub(super) fn rebootstraps(&self, cert: &CertificateConfig) -> bool {
        self.rebootstrap.get() && cert.section.vendor_cert.is_some()
    }

    fn renew_time(&self, c: &CmpCertificate) -> i64 {
        schedule::renew_at(
            c.not_before_unix(),
            c.not_after_unix(),
            self.cfg.renew_before,
            self.cfg.jitter,
            self.cfg.window,
            schedule::random_fraction(),
        )
    }

    /// Plans the renewal of the installed certificate; returns when it is due.
    pub(super) async fn schedule(&self, cert: &CertificateConfig, meta: &mut Metadata) -> i64 {
        let name = &cert.name;
        let record = self.store.load(name).await.ok().flatten();
        self.note_chain(name, record.as_ref());
        let at = match record.as_ref().and_then(installed) {
            Some(c) => {
                let at = self.renew_time(&c);
                *meta = Metadata {
                    next_action: Some("renew".into()),
                    next_action_at: Some(at),
                    failures: 0,
                    last_error: None,
                };
                tracing::info!(
                    "{name}: {} valid until {}; renewal at {}",
                    format_name(c.subject()),
                    format_unix(c.not_after_unix()),
                    format_unix(at)
                );
                at
            }
            None => {
                meta.next_action = Some("enroll".into());
                meta.next_action_at = Some(self.now());
                self.now()
            }
        };
        if let Err(e) = self.store.save_metadata(name, meta).await {
            tracing::error!("{name}: {e}");
        }
        at
    }

    /// Records a failure and plans the next try with back-off.
    async fn failed(
        &self,
        cert: &CertificateConfig,
        meta: &mut Metadata,
        f: &Failure,
        resumed: bool,
    ) -> i64 {
        let name = &cert.name;
        meta.failures = meta.failures.saturating_add(1);
        meta.last_error = Some(f.text().to_owned());
        let wait = schedule::backoff(
            meta.failures,
            self.cfg.retry_min,
            self.cfg.retry_max,
            schedule::random_fraction(),
        );
        let at = self.now() + i64::try_from(wait.as_secs()).unwrap_or(i64::MAX / 2).max(1);
        meta.next_action_at = Some(at);
        if meta.next_action.as_deref() != Some(HOOK_PENDING) {
            meta.next_action = Some(if resumed { "resume" } else { "retry" }.into());
        }
        tracing::warn!(
            "{name}: {} (failure {}; next try at {})",
            f.text(),
            meta.failures,
            format_unix(at)
        );
        if let Err(e) = self.store.save_metadata(name, meta).await {
            tracing::error!("{name}: {e}");
        }
        at
    }

    /// The options of a transaction with `server`, as the one-shot commands take them.
    pub(super) fn args(
        &self,
        cert: &CertificateConfig,
        server: &str,
        kur: bool,
    ) -> Result<EnrollArgs, AgentError> {
        let c = &cert.section;
        let mut argv: Vec<String> = vec!["cmp-agent".into(), if kur { "kur" } else { "ir" }.into()];
        let mut opt = |k: &str, v: &str| {
            argv.push(format!("--{k}"));
            argv.push(v.to_owned());
        };
        opt("server", server);
        opt("msg-timeout", &self.cfg.msg_timeout.to_string());
        opt("total-timeout", &self.cfg.total_timeout.to_string());
        let current = self.current_dir(&cert.name);
        let rebootstrap = self.rebootstraps(cert);
        if kur {
            opt("cert", &current.join("cert.pem").display().to_string());
            // A key kept in a token is named by its URI (`key.uri`), else `key.pem`.
            match std::fs::read_to_string(current.join("key.uri")) {
                Ok(uri) => opt("key", uri.trim_end()),
                Err(_) => opt("key", &current.join("key.pem").display().to_string()),
            }
        } else if let (Some(vc), Some(vk), true) = (&c.vendor_cert, &c.vendor_key, rebootstrap) {
            // A re-bootstrap: the vendor credential, whatever else is configured.
            opt("cert", &vc.display().to_string());
            opt("key", vk);
        } else if let (Some(s), Some(r)) = (&c.secret, &c.reference) {
            opt("secret", s);
            opt("ref", r);
        } else if let (Some(vc), Some(vk)) = (&c.vendor_cert, &c.vendor_key) {
            opt("cert", &vc.display().to_string());
            opt("key", vk);
        }
        let anchors = super::trust::anchors_file(&self.cfg.state_dir);
        match (&c.trusted, kur) {
            // The store's anchors (seeded from `trusted`, extended by verified root updates).
            _ if anchors.exists() && std::fs::metadata(&anchors).is_ok_and(|m| m.len() > 0) => {
                opt("trusted", &anchors.display().to_string());
            }
            (Some(t), _) => opt("trusted", &t.display().to_string()),
            // Renewal trusts the chain that came with the certificate being renewed.
            (None, true) => opt("trusted", &current.join("chain.pem").display().to_string()),
            (None, false) => {}
        }
        let crls = super::trust::crls_file(&self.cfg.state_dir);
        let crl_check = self.cfg.crl_refresh && std::fs::metadata(&crls).is_ok_and(|m| m.len() > 0);
        if crl_check {
            opt("crls", &crls.display().to_string());
        }
        if let Some(s) = &c.srvcert {
            opt("srvcert", &s.display().to_string());
        }
        if let Some(r) = &c.recipient {
            opt("recipient", r);
        }
        if let Some(s) = &c.subject {
            opt("subject", s);
        }
        if let Some(s) = &c.sans {
            opt("sans", s);
        }
        if crl_check {
            argv.push("--crl-check".into());
        }
        if !kur && rebootstrap {
            argv.push("--bootstrap-trust-from-ip".into());
        }
        if c.implicit_confirm {
            argv.push("--implicit-confirm".into());
        }
        if c.pbmac1 {
            argv.push("--pbmac1".into());
        }
        argv.push("--quiet".into());
        let cli = Cli::try_parse_from(&argv).map_err(|e| {
            let text = e.to_string();
            AgentError::usage(format!(
                "certificate {}: {}",
                cert.name,
                text.lines()
                    .next()
                    .unwrap_or_default()
                    .trim_start_matches("error: ")
            ))
        })?;
        match cli.command {
            Command::Ir(a) | Command::Kur(a) => Ok(a.0),
            _ => Err(AgentError::local("internal error: not an enrollment")),
        }
    }

    /// The pending key: loaded if a transaction left one, else generated and saved (0600)
    /// before anything is sent — or, with a `key_store`, generated inside the token.
    async fn pending_key(
        &self,
        s: &Setup<'_>,
        cert: &CertificateConfig,
    ) -> Result<Arc<dyn PrivateKey>, AgentError> {
        if let Some(store) = &cert.key_store {
            return self.pending_token_key(s, cert, store).await;
        }
        let path = self.pending_key_path(&cert.name);
        if path.exists() {
            tracing::info!("{}: using the pending key {}", cert.name, path.display());
            return s
                .keys
                .load("pending key", &path.display().to_string(), None)
                .await;
        }
        std::fs::create_dir_all(keys_dir(&self.cfg.state_dir))
            .map_err(|e| AgentError::local(format!("{}: {e}", path.display())))?;
        let key = s.keys.generate_to_file(&cert.key_type, &path).await?;
        tracing::info!(
            "{}: new {} key saved in {}",
            cert.name,
            cert.key_type,
            path.display()
        );
        Ok(key)
    }

    /// The pending key inside the token of `store`. Its URI (with a fresh label
    /// `NAME-UNIXTIME`) is saved in `keys/NAME.pending.uri` **before** the key is generated,
    /// so a crash at any point leaves the key named: on the next try the key is loaded by
    /// that URI, or generated under that label if the crash came before the generation.
    async fn pending_token_key(
        &self,
        s: &Setup<'_>,
        cert: &CertificateConfig,
        store: &str,
    ) -> Result<Arc<dyn PrivateKey>, AgentError> {
        let path = self.pending_uri_path(&cert.name);
        let uri = match std::fs::read_to_string(&path) {
            Ok(text) => {
                let uri = text.trim_end().to_owned();
                match s.keys.load("pending key", &uri, None).await {
                    Ok(key) => {
                        tracing::info!("{}: using the pending token key {uri}", cert.name);
                        return Ok(key);
                    }
                    // Not generated yet (a crash right after the URI was saved), or the
                    // token is unavailable: generating under the same label tells which.
                    Err(e) => {
                        tracing::info!(
                            "{}: the pending token key is not loaded ({}); generating it",
                            cert.name,
                            e.message()
                        );
                        uri
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let uri = token_key_uri(store, &format!("{}-{}", cert.name, self.now()));
                std::fs::create_dir_all(keys_dir(&self.cfg.state_dir))
                    .map_err(|e| AgentError::local(format!("{}: {e}", path.display())))?;
                crate::commands::output::write_atomically(
                    &path,
                    format!("{uri}\n").as_bytes(),
                    0o600,
                )?;
                uri
            }
            Err(e) => return Err(AgentError::local(format!("{}: {e}", path.display()))),
        };
        let key = s.keys.generate_in_token(&cert.key_type, &uri).await?;
        tracing::info!(
            "{}: new {} key generated in the token as {}",
            cert.name,
            cert.key_type,
            key.locator().unwrap_or(uri)
        );
        Ok(key)
    }

    /// The request of `kind` for `new_key`.
    fn request(
        &self,
        cert: &CertificateConfig,
        args: &EnrollArgs,
        kind: EnrollmentKind,
        s: &Setup<'_>,
        new_key: &dyn PrivateKey,
    ) -> Result<EnrollmentRequest, AgentError> {
        let subject = args
            .subject
            .as_deref()
            .map(|t| crate::commands::setup::dn("subject", t))
            .transpose()?;
        let subject = match (subject, &args.sans, kind) {
            (Some(s), _, _) => Some(s),
            (None, Some(_), EnrollmentKind::Ir) => Some(rasn_pkix::Name::RdnSequence(Vec::new())),
            (None, _, _) => None,
        };
        let old = if kind == EnrollmentKind::Kur {
            s.own_cert.clone()
        } else {
            None
        };
        let popo = PopoMethod::Signature(new_key.spec().default_signature_algorithm());
        let mut req = crate::commands::request::enrollment_request(
            kind,
            args,
            subject,
            Some(new_key),
            old.as_ref(),
            None,
            popo,
        )?;
        if let Some(v) = cert.validity {
            let end = unix(self.clock.now()) + i64::try_from(v.as_secs()).unwrap_or(0);
            let t = chrono::DateTime::from_timestamp(end, 0)
                .ok_or_else(|| AgentError::usage("validity is too large"))?;
            req.template.validity = Some(cmp_core::asn1::OptionalValidity {
                not_before: None,
                not_after: Some(Time::General(t.fixed_offset())),
            });
        }
        Ok(req)
    }

    /// One new transaction for `action`, at the first CA that answers; returns when the new
    /// certificate is to be renewed (the next step for it is due then).
    async fn attempt(
        &self,
        cert: &CertificateConfig,
        action: Action,
        current: Option<&CmpCertificate>,
    ) -> Result<i64, Failure> {
        let name = &cert.name;
        let kur = action == Action::Renew && current.is_some();
        let kind = if kur {
            EnrollmentKind::Kur
        } else {
            EnrollmentKind::Ir
        };
        if kur && self.cfg.crl_refresh {
            let crls = super::trust::crls_file(&self.cfg.state_dir);
            if !std::fs::metadata(&crls).is_ok_and(|m| m.len() > 0) {
                return Err(Failure::Other(format!(
                    "crl_refresh is on but no CRL is held ({} is empty): the CA's signer cannot be checked, so no key update is sent",
                    crls.display()
                )));
            }
        }
        let mut last = None;
        for server in &self.cfg.servers {
            tracing::info!("{name}: {} at {server}", action.word());
            let args = self.args(cert, server, kur)?;
            let subject = args
                .subject
                .as_deref()
                .map(|t| crate::commands::setup::dn("subject", t))
                .transpose()?;
            let s = setup(&args.client, subject.as_ref(), self.registry).await?;
            let key = self.pending_key(&s, cert).await?;
            let req = self.request(cert, &args, kind, &s, key.as_ref())?;
            let mut config = s.config.clone();
            config.implicit_confirm = args.implicit_confirm;
            let tx = Enrollment::new(Arc::new(config), req)
                .map_err(|e| Failure::Other(e.to_string()))?;
            match self.run(cert, &s, tx, key.as_ref(), server, None).await {
                Err(Failure::Unreachable(why)) => {
                    tracing::warn!("{name}: {server}: {why}; trying the next CA");
                    // Nothing came back: the transaction never started for us.
                    self.store.save_transaction(name, None).await?;
                    last = Some(why);
                }
                Err(Failure::Refused(why)) if kur => {
                    self.store.save_transaction(name, None).await?;
                    return Err(Failure::KurRefused(why));
                }
                // Interrupted: kept, and resumed with this CA.
                Err(Failure::Interrupted(why)) => return Err(Failure::Interrupted(why)),
                // Refused, or a response that failed our checks: the transaction is over.
                Err(f) => {
                    self.store.discard_staged(name).await?;
                    self.store.save_transaction(name, None).await?;
                    return Err(f);
                }
                Ok(at) => return Ok(at),
            }
        }
        Err(Failure::Other(format!(
            "no CA could be reached (last: {})",
            last.unwrap_or_default()
        )))
    }

    /// Continues the saved transaction with its CA.
    async fn resume(
        &self,
        cert: &CertificateConfig,
        record: &IdentityRecord,
        blob: &TransactionBlob,
    ) -> Result<(), Failure> {
        let name = &cert.name;
        let state = match TransactionState::from_bytes(&blob.bytes) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(
                    "{name}: the saved transaction cannot be read ({e}); starting anew with the pending key"
                );
                self.store.save_transaction(name, None).await?;
                return Ok(());
            }
        };
        tracing::info!(
            "{name}: resuming transaction {} ({}) with {}",
            hex::encode(&state.transaction_id),
            super::status::phase_words(&state.phase),
            state.ca
        );
        // Installed already (a crash after the switch): only the clean-up is left.
        if let (Phase::Confirming { certificate }, Some(cur)) = (&state.phase, &record.current) {
            if *certificate == cur.certificate && record.staged.is_none() {
                return self
                    .installed_cleanup(cert, record.metadata.clone())
                    .await
                    .map(|_| ());
            }
        }
        let kur = state.kind == EnrollmentKind::Kur;
        let args = self.args(cert, &state.ca, kur)?;
        let subject = args
            .subject
            .as_deref()
            .map(|t| crate::commands::setup::dn("subject", t))
            .transpose()?;
        let s = setup(&args.client, subject.as_ref(), self.registry).await?;
        let key = s.keys.load("pending key", &state.key, None).await?;
        let req = self.request(cert, &args, state.kind, &s, key.as_ref())?;
        let mut config = s.config.clone();
        config.implicit_confirm = args.implicit_confirm;
        let tx = Enrollment::resume(Arc::new(config), req, &state)
            .map_err(|e| Failure::Stale(e.to_string()))?;
        let server = state.ca.clone();
        match self
            .run(cert, &s, tx, key.as_ref(), &server, Some(state.request))
            .await
        {
            Err(Failure::Stale(why) | Failure::KurRefused(why) | Failure::Refused(why)) => {
                tracing::warn!(
                    "{name}: the CA did not continue the transaction ({why}); starting a new one with the same key"
                );
                self.store.discard_staged(name).await?;
                self.store.save_transaction(name, None).await?;
                Ok(())
            }

            Err(f) => {
                let failures = record.metadata.failures + 1;
                if failures >= MAX_RESUME_FAILURES {
                    tracing::warn!(
                        "{name}: the transaction with {server} failed {failures} times ({}); giving it up (the key is kept)",
                        f.text()
                    );
                    self.store.discard_staged(name).await?;
                    self.store.save_transaction(name, None).await?;
                }
                Err(f)
            }
            Ok(_) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::token_key_uri;

    #[test]
    fn the_label_goes_at_the_end_of_the_uri_path() {
        assert_eq!(
            token_key_uri(
                "pkcs11:token=dev?module-path=/m.so&pin-source=file:/p",
                "router-17"
            ),
            "pkcs11:token=dev;object=router-17?module-path=/m.so&pin-source=file:/p"
        );
        assert_eq!(
            token_key_uri("pkcs11:token=dev", "router-17"),
            "pkcs11:token=dev;object=router-17"
        );
    }
}
