//! A scripted malicious CMP server on 127.0.0.1, over HTTP or TCP (TCP-message version 10): a
//! handler sees each request's DER and says what goes back on the wire — a message framed as
//! the listener's protocol wants, or raw bytes followed by silence (a stall, a lying length).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::mock_ca::{MockCa, Script};

/// The protocol of a listener.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// HTTP/1.1 POST of `application/pkixcmp`.
    Http,
    /// CMP over TCP, TCP-message version 10 frames.
    Tcp,
}

/// What goes back for one request.
#[derive(Debug)]
pub enum Wire {
    /// A DER message: an HTTP 200 response or a v10 pkiRep frame.
    Message(Vec<u8>),
    /// Exactly these bytes (status line and headers, or a frame header, included), then
    /// nothing for `hold` while the connection stays open.
    Raw {
        /// The bytes sent.
        bytes: Vec<u8>,
        /// How long the connection then stays open, silent.
        hold: Duration,
    },
}

/// Makes the answer to a request (its DER).
pub type Handler = Box<dyn FnMut(&[u8]) -> Wire + Send>;

/// The most bytes a request may have here (the agent's requests are a few KiB).
const MAX_REQUEST: usize = 1 << 20;

/// A running hostile server; stops accepting when dropped.
#[derive(Debug)]
pub struct HostileServer {
    /// The port on 127.0.0.1.
    pub port: u16,
    protocol: Protocol,
    requests: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl HostileServer {
    /// Listens on 127.0.0.1 (a free port) and answers every request with `handler`.
    pub fn start(protocol: Protocol, handler: Handler) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let port = listener.local_addr().expect("address").port();
        let requests = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let handler = Arc::new(Mutex::new(handler));
        let (r, s) = (Arc::clone(&requests), Arc::clone(&stop));
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(conn) = conn else { continue };
                let (h, r) = (Arc::clone(&handler), Arc::clone(&r));
                std::thread::spawn(move || serve(protocol, conn, &h, &r));
            }
        });
        HostileServer {
            port,
            protocol,
            requests,
            stop,
        }
    }

    /// A server whose answers come from a [`MockCa`] following `scripts`.
    pub fn mock(protocol: Protocol, scripts: Vec<Script>) -> Self {
        let ca = MockCa::new(scripts);
        Self::start(protocol, Box::new(move |req| Wire::Message(ca.answer(req))))
    }

    /// The URL for `--server`.
    pub fn url(&self) -> String {
        match self.protocol {
            Protocol::Http => format!("http://127.0.0.1:{}/pkix/", self.port),
            Protocol::Tcp => format!("tcp://127.0.0.1:{}", self.port),
        }
    }

    /// How many requests arrived whole.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for HostileServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so that it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve(protocol: Protocol, mut conn: TcpStream, handler: &Mutex<Handler>, count: &AtomicUsize) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(30)));
    loop {
        let request = match protocol {
            Protocol::Http => read_http(&mut conn),
            Protocol::Tcp => read_frame(&mut conn),
        };
        let Some(request) = request else { return };
        count.fetch_add(1, Ordering::SeqCst);
        let wire = {
            let mut h = match handler.lock() {
                Ok(h) => h,
                Err(poisoned) => poisoned.into_inner(),
            };
            // A script that panics (e.g. runs out) ends this connection only.
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (*h)(&request))) {
                Ok(w) => w,
                Err(_) => return,
            }
        };
        match wire {
            Wire::Message(der) => {
                let bytes = match protocol {
                    Protocol::Http => http_response(&der),
                    Protocol::Tcp => tcp_frame(5, &der),
                };
                if conn.write_all(&bytes).is_err() {
                    return;
                }
                if protocol == Protocol::Http {
                    // `Connection: close`.
                    return;
                }
            }
            Wire::Raw { bytes, hold } => {
                let _ = conn.write_all(&bytes);
                let _ = conn.flush();
                std::thread::sleep(hold);
                return;
            }
        }
    }
}

/// An HTTP/1.1 200 response carrying `der`, closing the connection.
pub fn http_response(der: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/pkixcmp\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        der.len()
    )
    .into_bytes();
    out.extend_from_slice(der);
    out
}

/// A TCP-message version 10 frame of type `ty` (5: pkiRep, 1: pollRep) with `value`.
pub fn tcp_frame(ty: u8, value: &[u8]) -> Vec<u8> {
    let len = u32::try_from(3 + value.len()).expect("a small frame");
    let mut out = len.to_be_bytes().to_vec();
    out.extend_from_slice(&[10, 0, ty]);
    out.extend_from_slice(value);
    out
}

fn read_http(conn: &mut TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if buf.len() > 64 * 1024 || conn.read(&mut byte).ok()? == 0 {
            return None;
        }
        buf.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&buf).to_ascii_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())?;
    if len > MAX_REQUEST {
        return None;
    }
    let mut body = vec![0u8; len];
    conn.read_exact(&mut body).ok()?;
    Some(body)
}

fn read_frame(conn: &mut TcpStream) -> Option<Vec<u8>> {
    let mut len = [0u8; 4];
    conn.read_exact(&mut len).ok()?;
    let len = u32::from_be_bytes(len) as usize;
    if !(3..=MAX_REQUEST).contains(&len) {
        return None;
    }
    let mut frame = vec![0u8; len];
    conn.read_exact(&mut frame).ok()?;
    // version 10, flags, type 0 (pkiReq).
    (frame[0] == 10 && frame[2] == 0).then(|| frame[3..].to_vec())
}
