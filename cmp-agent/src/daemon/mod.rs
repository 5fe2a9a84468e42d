//! `cmp-agent run`: the daemon that keeps the configured certificates valid, and
//! `cmp-agent status`.
//!
//! The loop: check the clock; for each `[[certificate]]` whose next action is due, do it
//! ([`engine`]) — the others are not looked at (their records not read) until the time their
//! last step planned; sleep until the next thing is due (at most `check_interval`), sending
//! `WATCHDOG=1` meanwhile;
//! SIGHUP reloads the configuration, SIGTERM (or SIGINT) lets the transaction in flight run
//! for up to `stop_timeout` and then stops — an unfinished transaction stays saved (parked)
//! and is resumed at the next start.

pub(crate) mod ca_time;
mod crls;
pub(crate) mod engine;
pub(crate) mod failpoint;
mod hook;
mod lock;
pub(crate) mod notify;
mod retire;
pub(crate) mod schedule;
pub(crate) mod settings;
pub(crate) mod status;
mod transaction;
pub(crate) mod trust;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use cmp_core::clock::{Clock, OffsetClock, SystemClock};
use cmp_core::registry::Registry;
use cmp_core::storage::{IdentityName, Storage};
use tokio::signal::unix::{SignalKind, signal};

use crate::exit;
use engine::{Engine, unix};
use notify::Notifier;
use settings::DaemonConfig;

/// The test knob shifting the daemon's wall clock by this many seconds (tests of expiry and
/// of a bad clock); documented, unset in production.
pub(crate) const CLOCK_OFFSET_VAR: &str = "CMP_AGENT_CLOCK_OFFSET";

/// When this binary was built (Unix seconds; `SOURCE_DATE_EPOCH` when the build sets it).
pub(crate) fn build_time() -> i64 {
    env!("CMP_BUILD_EPOCH").parse().unwrap_or(0)
}

/// Arguments of `cmp-agent run`.
#[derive(Debug, clap::Args)]
pub(crate) struct RunArgs {
    /// The state directory (default: the key daemon.state_dir, else /var/lib/cmp-agent).
    #[arg(long, value_name = "DIR")]
    pub(crate) state_dir: Option<PathBuf>,
    /// The least severe log level: error, warn, info or debug.
    #[arg(long, value_name = "LEVEL", default_value = "info")]
    pub(crate) log_level: tracing::Level,
    /// Do what is due once for every certificate, then exit (for a timer instead of a
    /// daemon); the exit status is 0 when every certificate is installed and not failing.
    #[arg(long)]
    pub(crate) once: bool,
}

/// Logs to stderr: plain lines without colours; without timestamps under journald
/// (`JOURNAL_STREAM` set), which stamps each line itself.
fn init_tracing(level: tracing::Level) {
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_target(false)
        .with_max_level(level);
    let _ = if std::env::var_os("JOURNAL_STREAM").is_some() {
        builder.without_time().try_init()
    } else {
        builder.try_init()
    };
}

/// The checked daemon configuration from the configuration file and environment.
pub(crate) fn load_config(
    config_flag: Option<&std::path::Path>,
    state_dir: Option<PathBuf>,
) -> Result<DaemonConfig, String> {
    let loaded = crate::config::load(config_flag).map_err(|e| e.to_string())?;
    let file = loaded.daemon_file().map_err(|e| e.to_string())?;
    DaemonConfig::from_file(file, state_dir).map_err(|e| format!("configuration: {e}"))
}

/// The clock of the daemon: the system's, shifted by `CMP_AGENT_CLOCK_OFFSET` seconds when
/// that test knob is set.
pub(crate) fn clock() -> Result<Arc<dyn Clock>, String> {
    match std::env::var(CLOCK_OFFSET_VAR) {
        Ok(v) => {
            let offset_secs: i64 = v
                .trim()
                .parse()
                .map_err(|_| format!("{CLOCK_OFFSET_VAR}={v}: expected whole seconds"))?;
            Ok(Arc::new(OffsetClock { offset_secs }))
        }
        Err(_) => Ok(Arc::new(SystemClock)),
    }
}

/// `cmp-agent run`.
pub(crate) fn run(
    args: &RunArgs,
    config_flag: Option<&std::path::Path>,
    registry: &Registry,
) -> ExitCode {
    init_tracing(args.log_level);
    let fail = |e: String| {
        tracing::error!("{e}");
        eprintln!("cmp-agent: {e}");
        exit::code(exit::MALFORMED)
    };
    let cfg = match load_config(config_flag, args.state_dir.clone()) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    if let Err(e) = cfg.check_runnable() {
        return fail(format!("configuration: {e}"));
    }
    let _lock = match lock::acquire(&cfg.state_dir) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cmp-agent: {e}");
            return exit::code(exit::LOCAL);
        }
    };
    let clock = match clock() {
        Ok(c) => c,
        Err(e) => return fail(e),
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
    let config_path = config_flag.map(std::path::Path::to_path_buf);
    let state_flag = args.state_dir.clone();
    let clock = ca_time::AdjustableClock::new(clock);
    rt.block_on(async move {
        let code = main_loop(cfg, registry, &clock, args.once, config_path, state_flag).await;
        exit::code(code)
    })
}

/// What stopped a wait.
enum Wake {
    Due,
    Reload,
    Stop,
}

async fn main_loop(
    cfg: DaemonConfig,
    registry: &Registry,
    clock: &ca_time::AdjustableClock,
    once: bool,
    config_path: Option<PathBuf>,
    state_flag: Option<PathBuf>,
) -> u8 {
    let notifier = Arc::new(Notifier::from_env());
    let (mut term, mut int, mut hup) = match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
    ) {
        (Ok(t), Ok(i), Ok(h)) => (t, i, h),
        _ => {
            tracing::error!("cannot install the signal handlers");
            return exit::LOCAL;
        }
    };
    if let Some(every) = Notifier::watchdog_interval() {
        let n = notifier.clone();
        tokio::spawn(async move {
            loop {
                n.send("WATCHDOG=1");
                tokio::time::sleep(every).await;
            }
        });
    }
    let mut engine = Engine::new(cfg, registry, clock);
    tracing::info!(
        "cmp-agent {} keeps {} certificate(s) with {} (state in {})",
        env!("CARGO_PKG_VERSION"),
        engine.cfg.certificates.len(),
        engine.cfg.servers.join(", "),
        engine.cfg.state_dir.display()
    );
    notifier.send("READY=1");
    let mut clock_said: Option<String> = None;
    // When each identity is next due (Unix seconds), as its last step said; none at first,
    // and none again after a reload.
    let mut due: HashMap<IdentityName, i64> = HashMap::new();
    loop {
        let anchors = engine.anchors_not_before().await;
        if clock.offset() != 0
            && schedule::clock_problem(clock.base_now(), build_time(), anchors).is_none()
        {
            clock.set_offset(0);
            tracing::info!("the system clock is sane again; the CA's time is no longer used");
        }
        let mut now = unix(clock.now());
        let problem = schedule::clock_problem(now, build_time(), anchors);
        if let (Some(problem), Some(bound), Some(c)) = (
            &problem,
            engine.cfg.clock_from_ca,
            engine.cfg.certificates.first(),
        ) {
            let lower = anchors.map_or(build_time(), |a| a.max(build_time()));
            let upper = build_time().saturating_add(i64::try_from(bound.as_secs()).unwrap_or(0));
            match engine.time_from_ca(c, lower, upper).await {
                Ok(t) => {
                    clock.set_offset(t - clock.base_now());
                    tracing::warn!(
                        "{problem}; the CA's authenticated messageTime says {}: using the CA's time (the system clock is {} s off)",
                        cmp_core::asn1::format_unix(t),
                        t - clock.base_now()
                    );
                    now = unix(clock.now());
                }
                Err(e) => tracing::error!("{e}"),
            }
        }
        let mut next = now + i64::try_from(engine.cfg.check_interval.as_secs()).unwrap_or(3600);
        if let Some(problem) = schedule::clock_problem(now, build_time(), anchors) {
            if clock_said.as_deref() != Some(problem.as_str()) {
                tracing::error!("{problem}");
                notifier.send(&format!("STATUS={problem}"));
                for c in &engine.cfg.certificates {
                    let mut meta = engine
                        .store
                        .load(&c.name)
                        .await
                        .ok()
                        .flatten()
                        .map(|r| r.metadata)
                        .unwrap_or_default();
                    meta.last_error = Some(problem.clone());
                    let _ = engine.store.save_metadata(&c.name, &meta).await;
                }
                clock_said = Some(problem);
            }
            if once {
                return exit::LOCAL;
            }
            next = now + 10;
        } else {
            clock_said = None;
            if engine.trust_due() {
                if let Some(c) = engine.cfg.certificates.first().cloned() {
                    // Nothing to park: the anchors change in one atomic switch or not at all.
                    tokio::select! {
                        () = engine.trust_refresh_logged(&c) => {}
                        _ = term.recv() => return stopped_idle(&notifier),
                        _ = int.recv() => return stopped_idle(&notifier),
                    }
                }
            }
            next = next.min(engine.trust_next());
            let rebootstrap = engine.rebootstrap.get();
            for c in &engine.cfg.certificates {
                // Only the identities whose next action is due are stepped (and their
                // records read); the others keep the time their last step planned.
                if let Some(&t) = due.get(&c.name) {
                    if t > unix(clock.now()) {
                        next = next.min(t);
                        continue;
                    }
                }
                let work = engine.step(c);
                tokio::pin!(work);
                let t = tokio::select! {
                    t = &mut work => t,
                    _ = term.recv() => return stop(&notifier, &mut work, engine.cfg.stop_timeout).await,
                    _ = int.recv() => return stop(&notifier, &mut work, engine.cfg.stop_timeout).await,
                };
                due.insert(c.name.clone(), t);
                next = next.min(t);
            }
            if engine.rebootstrap.get() != rebootstrap {
                // A re-bootstrap began or ended: every identity is looked at again.
                due.clear();
                next = now;
            }
            if once {
                return once_status(&engine).await;
            }
        }
        let now = unix(clock.now());
        let wait = Duration::from_secs(u64::try_from(next - now).unwrap_or(0))
            .max(Duration::from_millis(200));
        let wake = tokio::select! {
            _ = tokio::time::sleep(wait) => Wake::Due,
            _ = hup.recv() => Wake::Reload,
            _ = term.recv() => Wake::Stop,
            _ = int.recv() => Wake::Stop,
        };
        match wake {
            Wake::Due => {}
            Wake::Stop => return stopped_idle(&notifier),
            Wake::Reload => {
                notifier.send("RELOADING=1");
                match load_config(config_path.as_deref(), state_flag.clone()).and_then(|c| {
                    c.check_runnable().map_err(|e| format!("configuration: {e}"))?;
                    if c.state_dir != engine.cfg.state_dir {
                        return Err("configuration: daemon.state_dir cannot change on reload (restart the daemon)".into());
                    }
                    Ok(c)
                }) {
                    Ok(c) => {
                        tracing::info!(
                            "configuration reloaded: {} certificate(s) with {}",
                            c.certificates.len(),
                            c.servers.join(", ")
                        );
                        engine = Engine::new(c, registry, clock);
                        due.clear();
                    }
                    Err(e) => tracing::error!("reload refused, the old configuration stays: {e}"),
                }
                notifier.send("READY=1");
            }
        }
    }
}

/// SIGTERM with no transaction in flight.
fn stopped_idle(notifier: &Notifier) -> u8 {
    notifier.send("STOPPING=1");
    tracing::info!("stopping (no transaction in flight)");
    exit::OK
}

/// SIGTERM during a transaction: let it finish for up to `grace`, else drop it — it stays
/// saved (parked) for the next start.
async fn stop<F: std::future::Future<Output = i64>>(
    notifier: &Notifier,
    work: &mut std::pin::Pin<&mut F>,
    grace: Duration,
) -> u8 {
    notifier.send("STOPPING=1");
    tracing::info!(
        "stopping: letting the transaction in flight finish (at most {} s)",
        grace.as_secs()
    );
    match tokio::time::timeout(grace, work.as_mut()).await {
        Ok(_) => tracing::info!("stopped; the transaction finished"),
        Err(_) => tracing::warn!(
            "stopped; the unfinished transaction is parked and resumes at the next start"
        ),
    }
    exit::OK
}

/// The exit status of `run --once`: 0 when every certificate is installed and not failing.
async fn once_status(engine: &Engine<'_>) -> u8 {
    for c in &engine.cfg.certificates {
        match engine.store.load(&c.name).await {
            Ok(Some(r)) if r.current.is_some() && r.metadata.failures == 0 => {}
            _ => return exit::LOCAL,
        }
    }
    exit::OK
}
