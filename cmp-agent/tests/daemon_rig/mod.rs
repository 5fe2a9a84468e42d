//! What the daemon tests share: the cmp-server binary on loopback with its state in a
//! temporary directory, the agent's configuration, running `cmp-agent run`, and the checks of
//! a state directory.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The agent binary.
pub(crate) const AGENT: &str = env!("CARGO_BIN_EXE_cmp-agent");

/// The shared secret and reference of the tests.
pub(crate) const SECRET: &str = "pass:daemon-test-secret";
/// The reference (senderKID).
pub(crate) const REF: &str = "daemon-device-7";

/// The cmp-server binary of this workspace, built once per test process (`cargo build -p
/// cmp-server`, quick when it is up to date), next to the agent binary.
pub(crate) fn server_bin() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let mut cmd = Command::new(cargo);
            // Without the variables `cargo test` sets for this test (some build scripts
            // rerun when CARGO_MANIFEST_DIR changes): the same build as `cargo build`.
            for (k, _) in std::env::vars_os() {
                let k = k.to_string_lossy().into_owned();
                let ours = (k.starts_with("CARGO_")
                    && !matches!(k.as_str(), "CARGO_HOME" | "CARGO_TARGET_DIR")
                    && !k.starts_with("CARGO_BUILD_"))
                    || k == "OUT_DIR"
                    || k == "CMP_BUILD_EPOCH";
                if ours {
                    cmd.env_remove(&k);
                }
            }
            let status = cmd
                .args(["build", "-q", "-p", "cmp-server"])
                .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
                .status()
                .expect("cargo build -p cmp-server");
            assert!(status.success(), "cargo build -p cmp-server failed");
            let bin = Path::new(AGENT)
                .parent()
                .expect("the agent's directory")
                .join("cmp-server");
            assert!(bin.exists(), "{} was not built", bin.display());
            bin
        })
        .clone()
}

/// A fresh temporary directory.
pub(crate) fn temp(label: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cmp-agent-daemon-{}-{label}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// A running cmp-server; stopped when dropped.
pub(crate) struct Server {
    child: Child,
    /// Its listeners' URLs, in the order given.
    pub(crate) urls: Vec<String>,
    /// Its state directory.
    pub(crate) state: PathBuf,
}

impl Server {
    /// Starts cmp-server on `listen` (port 0 URLs) with the test secret, its state in
    /// `dir/ca`; waits for its `listening on URL` lines.
    pub(crate) fn start(dir: &Path, listen: &[&str]) -> Server {
        Server::start_with(dir, listen, &[])
    }

    /// [`Server::start`] with more options (test knobs such as `--poll-count`).
    pub(crate) fn start_with(dir: &Path, listen: &[&str], extra: &[&str]) -> Server {
        let state = dir.join("ca");
        let mut cmd = Command::new(server_bin());
        cmd.args(extra);
        for l in listen {
            cmd.args(["--listen", l]);
        }
        let mut child = cmd
            .args([
                "--secret",
                SECRET,
                "--ref",
                REF,
                "--ca-subject",
                "CN=Daemon Test CA",
            ])
            .arg("--state-dir")
            .arg(&state)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.join("server.log")).expect("log"))
            .spawn()
            .expect("cmp-server starts");
        let out = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(out).lines();
        let mut urls = Vec::new();
        while urls.len() < listen.len() {
            let line = lines
                .next()
                .unwrap_or_else(|| panic!("cmp-server exited: {}", log(dir)))
                .expect("line");
            if let Some(u) = line.strip_prefix("listening on ") {
                urls.push(u.to_owned());
            }
        }
        Server { child, urls, state }
    }

    /// `cmp-server certs list`: one line per issued certificate.
    pub(crate) fn certs(&self) -> Vec<String> {
        let out = Command::new(server_bin())
            .args(["certs", "list", "--state-dir"])
            .arg(&self.state)
            .output()
            .expect("certs list");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()
}

/// The agent configuration for one certificate `router` kept with `servers`; `extra` is
/// appended to the `[daemon]` section.
pub(crate) fn config(dir: &Path, servers: &[String], validity: &str, extra: &str) -> PathBuf {
    let servers: Vec<String> = servers.iter().map(|s| format!("{s:?}")).collect();
    let hook = dir.join("hook.sh");
    std::fs::write(
        &hook,
        format!(
            "echo \"$CMP_AGENT_IDENTITY $(head -2 \"$CMP_AGENT_CERT_DIR/cert.pem\" | tail -1)\" >> '{}'\n",
            dir.join("hook.log").display()
        ),
    )
    .expect("hook");
    let text = format!(
        r#"[daemon]
state_dir = {state:?}
servers = [{servers}]
retry_min = "1s"
retry_max = "2s"
hook = ["/bin/sh", {hook:?}]
{extra}

[[certificate]]
name = "router"
subject = "/CN=router.example/O=cmp-rs daemon tests"
secret = "{SECRET}"
ref = "{REF}"
validity = "{validity}"
"#,
        state = dir.join("state").display().to_string(),
        servers = servers.join(", "),
        hook = hook.display().to_string(),
    );
    let path = dir.join("agent.toml");
    std::fs::write(&path, text).expect("config");
    path
}

/// `cmp-agent --config CONFIG ARGS…` with `env`, to completion.
pub(crate) fn agent(config: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(AGENT);
    cmp_tests::process::without_proxies(&mut cmd);
    cmd.arg("--config").arg(config).args(args);
    cmd.env_remove("CMP_AGENT_FAILPOINT")
        .env_remove("CMP_AGENT_CLOCK_OFFSET")
        .env_remove("NOTIFY_SOCKET")
        .env_remove("CMP_AGENT_CONFIG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("cmp-agent runs")
}

/// `cmp-agent run` in the background.
pub(crate) fn spawn_run(config: &Path, env: &[(&str, &str)], stderr: &Path) -> Child {
    let mut cmd = Command::new(AGENT);
    cmp_tests::process::without_proxies(&mut cmd);
    cmd.arg("--config").arg(config).arg("run");
    cmd.env_remove("CMP_AGENT_FAILPOINT")
        .env_remove("CMP_AGENT_CLOCK_OFFSET")
        .env_remove("NOTIFY_SOCKET");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.stdout(Stdio::null())
        .stderr(std::fs::File::create(stderr).expect("stderr file"))
        .spawn()
        .expect("cmp-agent run")
}

/// Waits (generously) until `f` holds.
pub(crate) fn wait_for(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Sends `signal` (TERM, HUP, …) to `child` with kill(1).
pub(crate) fn signal(child: &Child, signal: &str) {
    let ok = Command::new("kill")
        .args([format!("-{signal}"), child.id().to_string()])
        .status()
        .expect("kill");
    assert!(ok.success());
}

/// The `status --format json` of the configuration.
pub(crate) fn status(config: &Path) -> serde_json::Value {
    let out = agent(config, &["status", "--format", "json"], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

/// The public key of a PEM certificate or key file, as `openssl` prints it.
fn public_key(kind: &str, path: &Path) -> String {
    let args: &[&str] = match kind {
        "cert" => &["x509", "-pubkey", "-noout", "-in"],
        _ => &["pkey", "-pubout", "-in"],
    };
    let out = Command::new("openssl")
        .args(args)
        .arg(path)
        .output()
        .expect("openssl is needed: apt-get install -y openssl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The serial of a PEM certificate in upper-case hex.
pub(crate) fn serial(path: &Path) -> String {
    let out = Command::new("openssl")
        .args(["x509", "-serial", "-noout", "-in"])
        .arg(path)
        .output()
        .expect("openssl");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .trim_start_matches("serial=")
        .to_owned()
}

/// After the daemon is done with `router`: an installed certificate whose key is the one in
/// the store, no staged generation, no saved transaction, no pending key. Returns the
/// installed certificate's serial.
pub(crate) fn assert_clean_install(dir: &Path) -> String {
    let id = dir.join("state/store/router");
    let current = id.join("current");
    assert_eq!(
        public_key("cert", &current.join("cert.pem")),
        public_key("key", &current.join("key.pem")),
        "the installed key matches the installed certificate"
    );
    assert!(!id.join("staged").exists(), "no staged generation is left");
    assert!(
        !id.join("transaction.bin").exists(),
        "no saved transaction is left"
    );
    assert!(
        !dir.join("state/keys/router.pending.pem").exists(),
        "no pending key is left"
    );
    serial(&current.join("cert.pem"))
}

/// The lines of the hook's log.
pub(crate) fn hook_runs(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("hook.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// `dir/name` as a string (for argv).
pub(crate) fn p(dir: &Path, name: &str) -> String {
    dir.join(name).display().to_string()
}

/// `openssl ARGS…` in `dir`, which must succeed.
pub(crate) fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl is needed: apt-get install -y openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A TCP proxy on 127.0.0.1 in front of `upstream` (an `http://127.0.0.1:PORT/PATH` URL) that
/// loses the CA's answer on its first connection: the request reaches the CA, which answers,
/// and the proxy then closes the client's connection without passing the answer on. Later
/// connections pass both ways. Returns the proxy's URL (same path).
pub(crate) fn lossy_proxy(upstream: &str) -> String {
    use std::io::{Read, Write};
    use std::net::{Shutdown, TcpListener, TcpStream};
    let rest = upstream.strip_prefix("http://").expect("an http URL");
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let authority = authority.to_owned();
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for (i, client) in listener.incoming().enumerate() {
            let Ok(mut client) = client else { return };
            let Ok(mut server) = TcpStream::connect(&authority) else {
                return;
            };
            let (mut c2, mut s2) = (
                client.try_clone().expect("clone"),
                server.try_clone().expect("clone"),
            );
            // Client to CA, always.
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut c2, &mut s2);
                let _ = s2.shutdown(Shutdown::Write);
            });
            std::thread::spawn(move || {
                if i == 0 {
                    // The CA's answer is read (it has answered) and lost.
                    let mut buf = [0u8; 4096];
                    let _ = server.read(&mut buf);
                    let _ = client.shutdown(Shutdown::Both);
                    let _ = server.shutdown(Shutdown::Both);
                } else {
                    let _ = std::io::copy(&mut server, &mut client);
                    let _ = client.flush();
                    let _ = client.shutdown(Shutdown::Write);
                }
            });
        }
    });
    format!("http://127.0.0.1:{port}{path}")
}

/// A self-signed root `cert` with a new P-256 key `key`, valid from a minute ago until `secs`
/// seconds from now (`openssl ca -selfsign`, which takes explicit dates).
pub(crate) fn short_root(dir: &Path, key: &str, cert: &str, subject: &str, secs: i64) {
    let work = dir.join(format!("{cert}.ca"));
    std::fs::create_dir_all(&work).expect("ca dir");
    std::fs::write(work.join("index.txt"), "").expect("index");
    std::fs::write(work.join("serial"), "01\n").expect("serial");
    std::fs::write(
        work.join("ca.cnf"),
        format!(
            "[ca]\ndefault_ca = d\n[d]\ndatabase = {db}\nnew_certs_dir = {dir}\nserial = {serial}\n\
             default_md = sha256\npolicy = any\ncopy_extensions = copy\nunique_subject = no\n\
             [any]\ncommonName = supplied\n",
            db = work.join("index.txt").display(),
            dir = work.display(),
            serial = work.join("serial").display(),
        ),
    )
    .expect("ca.cnf");
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            key,
            "-out",
            &format!("{cert}.csr"),
            "-subj",
            subject,
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
        ],
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_secs() as i64;
    let date = |t: i64| {
        chrono::DateTime::from_timestamp(t, 0)
            .expect("time")
            .format("%Y%m%d%H%M%SZ")
            .to_string()
    };
    openssl(
        dir,
        &[
            "ca",
            "-batch",
            "-notext",
            "-config",
            &work.join("ca.cnf").display().to_string(),
            "-selfsign",
            "-keyfile",
            key,
            "-in",
            &format!("{cert}.csr"),
            "-out",
            cert,
            "-startdate",
            &date(now - 60),
            "-enddate",
            &date(now + secs),
        ],
    );
}

/// An end-entity certificate `out` of a new P-256 key `key` for `subject`, issued by `ca`
/// with `ca_key` for 30 days (digitalSignature: a CMP signer).
pub(crate) fn leaf(dir: &Path, key: &str, subject: &str, ca: &str, ca_key: &str, out: &str) {
    std::fs::write(
        dir.join("leaf.ext"),
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n",
    )
    .expect("ext");
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            key,
            "-subj",
            subject,
            "-out",
            "leaf.csr",
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            ca,
            "-CAkey",
            ca_key,
            "-set_serial",
            "9",
            "-days",
            "30",
            "-extfile",
            "leaf.ext",
            "-out",
            out,
        ],
    );
}
