//! Running `openssl cmp -port …` (the OpenSSL mock CA) and other external servers for a test.
//!
//! The mock listens on all interfaces (OpenSSL 3.0 has no option to restrict it): tests only
//! ever connect to 127.0.0.1.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::fixtures;
use crate::tools;

/// A running external server, killed when dropped.
#[derive(Debug)]
pub struct Server {
    child: Child,
    /// The port on 127.0.0.1.
    pub port: u16,
    log: PathBuf,
}

impl Server {
    /// Everything the server wrote so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A port on 127.0.0.1 that refuses every connection for as long as the returned socket
/// lives: bound, never listening. (A port [`free_port`] found free may be taken by another
/// test or process before it is used; this one cannot.)
pub fn refusing_port() -> (tokio::net::TcpSocket, u16) {
    let socket = tokio::net::TcpSocket::new_v4().expect("a TCP socket");
    socket
        .bind(([127, 0, 0, 1], 0).into())
        .expect("bind 127.0.0.1:0");
    let port = socket.local_addr().expect("its address").port();
    (socket, port)
}

fn wait_until(deadline: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < deadline {
        if ready() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// Starts `program args…` (with `{port}` in an argument replaced by a free port) and waits up
/// to 10 s until 127.0.0.1:port accepts connections or `ready_line` appears in its output.
pub fn start(program: &str, args: &[String], ready_line: Option<&str>) -> Server {
    let dir = tools::temp_dir(&format!("server-{program}-{}", free_port()));
    for _attempt in 0..5 {
        let port = free_port();
        let log = dir.join(format!("{port}.log"));
        let out = std::fs::File::create(&log).expect("log file");
        let err = out.try_clone().expect("log file");
        let args: Vec<String> = args
            .iter()
            .map(|a| a.replace("{port}", &port.to_string()))
            .collect();
        let mut cmd = Command::new(program);
        crate::process::without_proxies(&mut cmd);
        let child = cmd
            .args(&args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run {program} (is it installed? apt-get install -y {program}): {e}")
            });
        let mut server = Server { child, port, log };
        let up = wait_until(Duration::from_secs(10), || {
            if server.child.try_wait().ok().flatten().is_some() {
                return true;
            }
            match ready_line {
                Some(line) => server.log().contains(line),
                None => std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
            }
        });
        if up && server.child.try_wait().ok().flatten().is_none() {
            return server;
        }
        eprintln!("{program} did not come up on port {port}: {}", server.log());
        let _ = server.child.kill();
    }
    panic!("could not start {program}");
}

/// The OpenSSL mock CA with the committed test PKI, answering every enrollment with
/// `pki/new-cert.pem`; `extra` adds options (e.g. `-poll_count 2`).
pub fn openssl_mock(protection: MockProtection, extra: &[&str]) -> Server {
    let pki = |f: &str| {
        fixtures::openssl_dir()
            .join("pki")
            .join(f)
            .display()
            .to_string()
    };
    let mut args: Vec<String> = ["cmp", "-config", "", "-port", "{port}", "-rsp_cert"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    args.push(pki("new-cert.pem"));
    match protection {
        MockProtection::Pbm => {
            args.extend(
                [
                    "-srv_ref",
                    "server-ref-5678",
                    "-srv_secret",
                    "pass:cmp-test-secret-1234",
                ]
                .map(str::to_owned),
            );
        }
        MockProtection::Signature => {
            args.extend([
                "-srv_cert".to_owned(),
                pki("server-cert.pem"),
                "-srv_key".to_owned(),
                pki("server-key.pem"),
            ]);
            args.extend(["-srv_trusted".to_owned(), pki("ca-cert.pem")]);
        }
    }
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    start("openssl", &args, Some("ACCEPT"))
}

/// How the mock protects its answers (and which requests it accepts).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MockProtection {
    /// Shared secret `cmp-test-secret-1234`, reference `server-ref-5678`.
    Pbm,
    /// Signed with `pki/server-key.pem`; trusts `pki/ca-cert.pem`.
    Signature,
}
