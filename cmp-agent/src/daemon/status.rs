//! `cmp-agent status`: each configured certificate's state, expiry, next action and last
//! error, read from the state directory (the daemon need not run; the store is read-safe
//! while it does).

use std::path::PathBuf;
use std::process::ExitCode;

use cmp_core::asn1::format_unix;
use cmp_core::names::format_name;
use cmp_core::storage::{IdentityRecord, StagedState, Storage};
use cmp_core::transaction::TransactionState;

use super::engine::{installed, store_dir, unix};
use crate::exit;
use crate::store::files::FileStore;

/// How `status` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum StatusFormat {
    /// A line per certificate, then indented details.
    Text,
    /// One JSON object: {"certificates": [...]}.
    Json,
}

/// Arguments of `cmp-agent status`.
#[derive(Debug, clap::Args)]
pub(crate) struct StatusArgs {
    /// The state directory (default: the key daemon.state_dir, else /var/lib/cmp-agent).
    #[arg(long, value_name = "DIR")]
    pub(crate) state_dir: Option<PathBuf>,
    /// text or json.
    #[arg(long, value_enum, default_value = "text")]
    pub(crate) format: StatusFormat,
}

/// One certificate's status.
#[derive(Debug, serde::Serialize)]
struct Entry {
    name: String,
    /// none, valid, renewing, expired, enrolling.
    state: &'static str,
    subject: Option<String>,
    serial: Option<String>,
    not_after: Option<String>,
    not_after_unix: Option<i64>,
    next_action: Option<String>,
    next_action_at: Option<String>,
    failures: u32,
    last_error: Option<String>,
    transaction: Option<String>,
    staged: Option<String>,
}

fn entry(name: &str, record: Option<&IdentityRecord>, now: i64) -> Entry {
    let cert = record.and_then(installed);
    let tx =
        record.and_then(|r| r.transaction.as_ref()).map(|b| {
            match TransactionState::from_bytes(&b.bytes) {
                Ok(s) => format!(
                    "{} {} ({}) with {}",
                    match s.kind {
                        cmp_core::transaction::EnrollmentKind::Kur => "kur",
                        _ => "ir",
                    },
                    hex::encode(&s.transaction_id),
                    phase_words(&s.phase),
                    s.ca
                ),
                Err(e) => format!("unreadable: {e}"),
            }
        });
    let state = match (&cert, &tx) {
        (None, None) => "none",
        (None, Some(_)) => "enrolling",
        (Some(c), _) if c.not_after_unix() <= now => "expired",
        (Some(_), Some(_)) => "renewing",
        (Some(_), None) => "valid",
    };
    let meta = record.map(|r| r.metadata.clone()).unwrap_or_default();
    Entry {
        name: name.to_owned(),
        state,
        subject: cert.as_ref().map(|c| format_name(c.subject())),
        serial: cert.as_ref().map(|c| serial_hex(c.serial_number())),
        not_after: cert.as_ref().map(|c| format_unix(c.not_after_unix())),
        not_after_unix: cert.as_ref().map(|c| c.not_after_unix()),
        next_action: meta.next_action,
        next_action_at: meta.next_action_at.map(format_unix),
        failures: meta.failures,
        last_error: meta.last_error,
        transaction: tx,
        staged: record
            .and_then(|r| r.staged.as_ref())
            .map(|s| match &s.state {
                StagedState::Pending => "pending".to_owned(),
                StagedState::Unconfirmed(why) => format!("unconfirmed: {why}"),
                _ => "staged".to_owned(),
            }),
    }
}

/// One trust anchor.
#[derive(Debug, serde::Serialize)]
struct AnchorView {
    subject: String,
    not_after: String,
    not_after_unix: i64,
    expired: bool,
}

/// The store's trust anchors, and what is wrong with them.
#[derive(Debug, serde::Serialize)]
struct TrustView {
    anchors: Vec<AnchorView>,
    /// Every anchor expired, else the last trust refresh's error.
    problem: Option<String>,
}

async fn trust_view(store: &FileStore, state_dir: &std::path::Path, now: i64) -> TrustView {
    let anchors = match store.trust().await {
        Ok(t) => super::trust::decode(&t),
        Err(e) => {
            return TrustView {
                anchors: Vec::new(),
                problem: Some(e.to_string()),
            };
        }
    };
    let problem = super::trust::expired_sentence(&anchors, now).or_else(|| {
        std::fs::read_to_string(super::trust::error_file(state_dir))
            .ok()
            .map(|t| t.trim().to_owned())
    });
    TrustView {
        anchors: anchors
            .iter()
            .map(|c| AnchorView {
                subject: format_name(c.subject()),
                not_after: format_unix(c.not_after_unix()),
                not_after_unix: c.not_after_unix(),
                expired: c.not_after_unix() <= now,
            })
            .collect(),
        problem,
    }
}

/// A serial number in upper-case hex, as `cmp-server certs list` and `openssl x509 -serial`
/// print it.
pub(crate) fn serial_hex(serial: &rasn::types::Integer) -> String {
    let der = rasn::der::encode(serial).unwrap_or_default();
    hex::encode_upper(der.get(2..).unwrap_or_default())
}

/// Where a saved transaction stands, in words.
pub(crate) fn phase_words(p: &cmp_core::transaction::Phase) -> &'static str {
    match p {
        cmp_core::transaction::Phase::Requested => "request sent",
        cmp_core::transaction::Phase::Polling => "polling",
        cmp_core::transaction::Phase::Confirming { .. } => "certConf sent",
    }
}

/// `cmp-agent status`.
pub(crate) fn run(args: &StatusArgs, config_flag: Option<&std::path::Path>) -> ExitCode {
    let cfg = match super::load_config(config_flag, args.state_dir.clone()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cmp-agent: {e}");
            return exit::code(exit::MALFORMED);
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cmp-agent: cannot start the async runtime: {e}");
            return exit::code(exit::LOCAL);
        }
    };
    let store = FileStore::new(store_dir(&cfg.state_dir));
    let now = match super::clock() {
        Ok(c) => unix(c.now()),
        Err(e) => {
            eprintln!("cmp-agent: {e}");
            return exit::code(exit::MALFORMED);
        }
    };
    let trust = rt.block_on(trust_view(&store, &cfg.state_dir, now));
    let entries = rt.block_on(async {
        let mut names: Vec<String> = cfg
            .certificates
            .iter()
            .map(|c| c.name.to_string())
            .collect();
        // Identities in the store that the configuration no longer names are shown too.
        for n in store.list().await.unwrap_or_default() {
            if !names.iter().any(|m| m == n.as_str()) {
                names.push(n.to_string());
            }
        }
        let mut out = Vec::new();
        for n in names {
            let record = match cmp_core::storage::IdentityName::new(&n) {
                Ok(id) => store.load(&id).await,
                Err(e) => Err(e),
            };
            match record {
                Ok(r) => out.push(entry(&n, r.as_ref(), now)),
                Err(e) => {
                    let mut e0 = entry(&n, None, now);
                    e0.state = "unreadable";
                    e0.last_error = Some(e.to_string());
                    out.push(e0);
                }
            }
        }
        out
    });
    match args.format {
        StatusFormat::Json => {
            let v = serde_json::json!({ "state_dir": cfg.state_dir, "certificates": entries, "trust": trust });
            println!("{v}");
        }
        StatusFormat::Text => {
            if entries.is_empty() {
                println!(
                    "no certificates configured or stored in {}",
                    cfg.state_dir.display()
                );
            }
            for e in &entries {
                println!("{}: {}", e.name, e.state);
                let line = |k: &str, v: &Option<String>| {
                    if let Some(v) = v {
                        println!("  {k:<12} {v}");
                    }
                };
                line("subject", &e.subject);
                line("serial", &e.serial);
                line("not after", &e.not_after);
                let next = e.next_action.as_ref().map(|a| match &e.next_action_at {
                    Some(t) => format!("{a} at {t}"),
                    None => a.clone(),
                });
                line("next action", &next);
                line("transaction", &e.transaction);
                line("staged", &e.staged);
                if e.failures > 0 {
                    println!("  {:<12} {}", "failures", e.failures);
                }
                line("last error", &e.last_error);
            }
            if !trust.anchors.is_empty() || trust.problem.is_some() {
                println!("trust anchors:");
            }
            for a in &trust.anchors {
                let state = if a.expired { "expired" } else { "valid until" };
                println!("  {} ({state} {})", a.subject, a.not_after);
            }
            if let Some(p) = &trust.problem {
                println!("  {:<12} {p}", "problem");
            }
        }
    }
    exit::code(exit::OK)
}
