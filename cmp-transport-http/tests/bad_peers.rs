//! The client against servers that misbehave: each case ends in bounded time with the
//! error that names it; nothing hangs.

use std::time::{Duration, Instant};

use cmp_core::transport::{Transport, TransportError};
use cmp_transport_http::HttpTransport;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A one-connection-at-a-time server that reads a request head and runs `answer`.
async fn server<F, Fut>(answer: F) -> (String, tokio::task::JoinHandle<()>)
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/pkix/", listener.local_addr().expect("addr"));
    let task = tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            read_request(&mut s).await;
            answer(s).await;
        }
    });
    (url, task)
}

/// Reads one request (head and a Content-Length body), bounded.
async fn read_request(s: &mut TcpStream) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let Ok(n) = s.read(&mut chunk).await else {
            return buf;
        };
        if n == 0 {
            return buf;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len = head
                .lines()
                .find_map(|l| {
                    l.strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                })
                .unwrap_or(0);
            if buf.len() >= end + 4 + len || buf.len() > 1 << 20 {
                return buf;
            }
        }
    }
}

fn transport(url: &str) -> HttpTransport {
    HttpTransport::builder(url)
        .no_proxy()
        .message_timeout(Duration::from_secs(2))
        .max_response_size(64 * 1024)
        .build()
        .expect("transport")
}

async fn exchange(url: &str) -> Result<Vec<u8>, TransportError> {
    transport(url).exchange(b"\x30\x00", None).await
}

#[tokio::test]
async fn html_error_pages_are_quoted() {
    let (url, _t) = server(|mut s| async move {
        let body = "<html><head><title>503</title></head><body><h1>Service Unavailable</h1>\n<p>back soon</p></body></html>";
        let _ = s
            .write_all(format!("HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n{body}", body.len()).as_bytes())
            .await;
    })
    .await;
    let err = exchange(&url).await.expect_err("503");
    assert_eq!(
        err.to_string(),
        "the server answered HTTP 503: \"503 Service Unavailable back soon\""
    );
}

#[tokio::test]
async fn a_cmp_body_is_handed_up_whatever_the_status() {
    let (url, _t) = server(|mut s| async move {
        let _ = s
            .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/pkixcmp\r\nContent-Length: 4\r\n\r\n\xB3\x02\x05\x00")
            .await;
    })
    .await;
    assert_eq!(
        exchange(&url).await.expect("CMP body"),
        vec![0xB3, 0x02, 0x05, 0x00]
    );
}

#[tokio::test]
async fn wrong_content_type_and_redirects_are_refused() {
    let (url, _t) = server(|mut s| async move {
        let _ = s
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 2\r\n\r\n\x30\x00")
            .await;
    })
    .await;
    assert_eq!(
        exchange(&url).await.expect_err("content type").to_string(),
        "the server answered with content type \"application/octet-stream\", not application/pkixcmp"
    );
    let (url, _t) = server(|mut s| async move {
        let _ = s
            .write_all(b"HTTP/1.1 302 Found\r\nLocation: https://elsewhere.example/cmp\r\nContent-Length: 0\r\n\r\n")
            .await;
    })
    .await;
    assert_eq!(
        exchange(&url).await.expect_err("redirect").to_string(),
        "the server redirects (HTTP 302) to \"https://elsewhere.example/cmp\"; redirects are not followed: use that URL"
    );
}

#[tokio::test]
async fn a_2_gb_body_is_refused_without_reading_it() {
    let (url, _t) = server(|mut s| async move {
        let _ = s
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/pkixcmp\r\nContent-Length: 2147483648\r\n\r\n")
            .await;
        // Then trickle forever; the client must not wait for it.
        loop {
            if s.write_all(&[0u8; 1024]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    let start = Instant::now();
    assert_eq!(
        exchange(&url).await,
        Err(TransportError::TooLarge { limit: 64 * 1024 })
    );
    assert!(start.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn an_unannounced_large_body_is_cut_at_the_limit() {
    let (url, _t) = server(|mut s| async move {
        let _ = s
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/pkixcmp\r\nTransfer-Encoding: chunked\r\n\r\n")
            .await;
        for _ in 0..1000 {
            if s.write_all(b"400\r\n").await.is_err() || s.write_all(&[0u8; 1024]).await.is_err() || s.write_all(b"\r\n").await.is_err() {
                return;
            }
        }
    })
    .await;
    assert_eq!(
        exchange(&url).await,
        Err(TransportError::TooLarge { limit: 64 * 1024 })
    );
}

#[tokio::test]
async fn a_body_that_stops_midway() {
    let (url, _t) = server(|mut s| async move {
        let _ = s
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/pkixcmp\r\nContent-Length: 1000\r\n\r\n\x30\x82\x03")
            .await;
        // close
    })
    .await;
    let err = exchange(&url).await.expect_err("truncated");
    assert!(
        err.to_string().starts_with(&format!(
            "the response body from {} broke off",
            &url[7..url.len() - 6]
        )),
        "{err}"
    );
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let (url, _t) = server(|s| async move {
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(s);
    })
    .await;
    let start = Instant::now();
    let err = exchange(&url).await.expect_err("timeout");
    assert_eq!(
        err,
        TransportError::Timeout {
            what: format!("the exchange with {url}"),
            millis: 2000
        }
    );
    assert!(start.elapsed() < Duration::from_secs(4));
    // A caller deadline shorter than the message timeout wins.
    let start = Instant::now();
    let err = transport(&url)
        .exchange(
            b"\x30\x00",
            Some(Instant::now() + Duration::from_millis(300)),
        )
        .await
        .expect_err("deadline");
    assert!(
        matches!(err, TransportError::Timeout { millis, .. } if millis <= 300),
        "{err}"
    );
    assert!(start.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn a_closed_port_is_a_connect_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let err = exchange(&format!("http://{addr}/"))
        .await
        .expect_err("refused");
    assert!(
        matches!(&err, TransportError::Connect { target, .. } if *target == addr.to_string()),
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with(&format!("cannot connect to {addr}: ")),
        "{err}"
    );
}

#[tokio::test]
async fn a_server_that_closes_after_each_response_gets_a_new_connection() {
    let (url, _t) = server(|mut s| async move {
        let _ = s
            .write_all(b"HTTP/1.0 200 OK\r\nContent-Type: application/pkixcmp\r\nConnection: keep-alive\r\nContent-Length: 4\r\n\r\n\xB3\x02\x05\x00")
            .await;
        // ... and close despite "keep-alive", as the OpenSSL mock does.
    })
    .await;
    let t = transport(&url);
    for _ in 0..3 {
        assert_eq!(
            t.exchange(b"\x30\x00", None).await.expect("exchange"),
            vec![0xB3, 0x02, 0x05, 0x00]
        );
    }
}

#[tokio::test]
async fn a_request_that_was_written_is_never_sent_again() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let count = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&count);
    let (url, _t) = server(move |s| {
        let seen = Arc::clone(&seen);
        async move {
            // Read the request, then vanish without answering.
            seen.fetch_add(1, Ordering::SeqCst);
            drop(s);
        }
    })
    .await;
    let err = exchange(&url).await.expect_err("closed");
    let target = url.trim_start_matches("http://").trim_end_matches("/pkix/");
    assert_eq!(
        err.to_string(),
        format!(
            "{target} closed the connection before a complete response (the request may have been processed; it is not sent again)"
        )
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(count.load(Ordering::SeqCst), 1);
}
