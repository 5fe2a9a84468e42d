//! Our TCP client against our TCP server half, and both against peers that misbehave:
//! TCP-level polling, the close flag, a server that drops the connection mid-frame, a client
//! that sends a 4 GB length, unknown versions and poll references, finRep.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use cmp_core::transport::{PeerInfo, Responder, Transport, TransportError};
use cmp_transport_tcp::{
    CheckAfter, CmpTcpCodec, Frame, FrameBody, Framing, TcpServer, TcpTransport,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::{Decoder, Encoder};

/// Reverses the request after `delay`, remembering which peers asked.
#[derive(Debug)]
struct Slow {
    delay: Duration,
    peers: Mutex<Vec<SocketAddr>>,
}

#[async_trait::async_trait]
impl Responder for Slow {
    async fn respond(&self, mut request: Vec<u8>, peer: &PeerInfo) -> Vec<u8> {
        if let Some(a) = peer.addr {
            self.peers.lock().expect("lock").push(a);
        }
        tokio::time::sleep(self.delay).await;
        request.reverse();
        request
    }
}

async fn start_server(server: TcpServer, delay: Duration) -> (String, Arc<Slow>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let responder = Arc::new(Slow {
        delay,
        peers: Mutex::new(Vec::new()),
    });
    let r: Arc<dyn Responder> = responder.clone();
    tokio::spawn(async move { server.serve(listener, r, std::future::pending()).await });
    (format!("tcp://{addr}"), responder)
}

fn client(url: &str, framing: Framing) -> TcpTransport {
    TcpTransport::builder(url)
        .framing(framing)
        .message_timeout(Duration::from_secs(10))
        .build()
        .expect("transport")
}

#[tokio::test]
async fn several_exchanges_share_one_connection_in_both_framings() {
    for framing in [Framing::V10, Framing::Rfc2510] {
        let (url, responder) = start_server(TcpServer::builder().build(), Duration::ZERO).await;
        let t = client(&url, framing);
        for i in 0..3u8 {
            assert_eq!(
                t.exchange(&[i, 1, 2], None).await.expect("exchange"),
                vec![2, 1, i]
            );
        }
        let peers = responder.peers.lock().expect("lock").clone();
        assert_eq!(peers.len(), 3);
        assert!(
            peers.iter().all(|p| *p == peers[0]),
            "one connection: {peers:?}"
        );
    }
}

#[tokio::test]
async fn a_slow_responder_is_polled_for_at_tcp_level() {
    for framing in [Framing::V10, Framing::Rfc2510] {
        let server = TcpServer::builder()
            .poll_after(Duration::from_millis(100))
            .check_after(1)
            .build();
        let (url, _r) = start_server(server, Duration::from_millis(1500)).await;
        let start = Instant::now();
        let got = client(&url, framing)
            .exchange(&[1, 2, 3], None)
            .await
            .expect("polled");
        assert_eq!(got, vec![3, 2, 1]);
        assert!(
            start.elapsed() >= Duration::from_secs(1),
            "{framing:?}: {:?}",
            start.elapsed()
        );
    }
}

#[tokio::test]
async fn polling_that_would_pass_the_deadline_fails_early() {
    let server = TcpServer::builder()
        .poll_after(Duration::from_millis(50))
        .check_after(60)
        .build();
    let (url, _r) = start_server(server, Duration::from_secs(120)).await;
    let start = Instant::now();
    let err = client(&url, Framing::V10)
        .exchange(&[1], Some(Instant::now() + Duration::from_secs(2)))
        .await
        .expect_err("deadline");
    let target = url.trim_start_matches("tcp://");
    assert!(
        err.to_string().starts_with(&format!(
            "{target} asks to poll again in 60 s, past the deadline ("
        )) && err
            .to_string()
            .ends_with(" s left); gave up without waiting"),
        "{err}"
    );
    assert!(matches!(err, TransportError::Protocol(_)), "{err}");
    assert!(start.elapsed() < Duration::from_secs(1));
}

async fn raw_exchange(url: &str, bytes: &[u8]) -> Vec<Frame> {
    let mut s = TcpStream::connect(url.trim_start_matches("tcp://"))
        .await
        .expect("connect");
    s.write_all(bytes).await.expect("write");
    let mut all = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(3), s.read_to_end(&mut all)).await;
    let mut codec = CmpTcpCodec::default();
    let mut buf = BytesMut::from(&all[..]);
    let mut frames = Vec::new();
    while let Ok(Some(f)) = codec.decode(&mut buf) {
        frames.push(f);
    }
    frames
}

fn frame_bytes(framing: Framing, frame: Frame) -> Vec<u8> {
    let mut b = BytesMut::new();
    CmpTcpCodec::new(framing, 1 << 20)
        .encode(frame, &mut b)
        .expect("encode");
    b.to_vec()
}

#[tokio::test]
async fn the_close_flag_is_echoed_and_the_connection_closed() {
    let (url, _r) = start_server(TcpServer::builder().build(), Duration::ZERO).await;
    let req = frame_bytes(
        Framing::V10,
        Frame {
            close: true,
            body: FrameBody::PkiReq(Bytes::from_static(&[1, 2])),
        },
    );
    let frames = raw_exchange(&url, &req).await;
    assert_eq!(
        frames,
        vec![Frame {
            close: true,
            body: FrameBody::PkiRep(Bytes::from_static(&[2, 1]))
        }]
    );
}

#[tokio::test]
async fn bad_frames_get_the_right_error_and_the_connection_closes() {
    let (url, _r) =
        start_server(TcpServer::builder().max_frame(1000).build(), Duration::ZERO).await;
    // A 4 GB length.
    let frames = raw_exchange(&url, &[0xFF, 0xFF, 0xFF, 0xFF, 0x0A, 0x00, 0x00]).await;
    assert!(
        matches!(&frames[..], [Frame { close: true, body: FrameBody::ErrorMsgRep { error_type: Some(0x0200), text, .. } }] if text == "a frame of 4294967295 bytes exceeds the limit of 1000 bytes"),
        "{frames:?}"
    );
    // An unknown version.
    let frames = raw_exchange(&url, &[0, 0, 0, 3, 11, 0, 0]).await;
    assert!(
        matches!(&frames[..], [Frame { body: FrameBody::ErrorMsgRep { error_type: Some(0x0101), data, .. }, .. }] if data[..] == [10]),
        "{frames:?}"
    );
    // A type only servers send.
    let frames = raw_exchange(
        &url,
        &frame_bytes(Framing::V10, Frame::new(FrameBody::NoResponse)),
    )
    .await;
    assert!(
        matches!(&frames[..], [Frame { body: FrameBody::ErrorMsgRep { error_type: Some(0x0201), data, .. }, .. }] if data[..] == [3]),
        "{frames:?}"
    );
    // An unknown pollRef.
    let frames = raw_exchange(
        &url,
        &frame_bytes(
            Framing::V10,
            Frame::new(FrameBody::PollReq { poll_ref: 42 }),
        ),
    )
    .await;
    assert!(
        matches!(&frames[..], [Frame { body: FrameBody::ErrorMsgRep { error_type: Some(0x0202), data, .. }, .. }] if data[..] == [0, 0, 0, 42]),
        "{frames:?}"
    );
}

/// A raw server that answers the first request with `answer` bytes, then closes.
async fn raw_server(answer: Vec<u8>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf).await;
            let _ = s.write_all(&answer).await;
        }
    });
    format!("tcp://{addr}")
}

#[tokio::test]
async fn server_side_failures_reach_the_client_as_clear_errors() {
    let full = frame_bytes(
        Framing::V10,
        Frame::new(FrameBody::PkiRep(Bytes::from(vec![0x30; 100]))),
    );
    let url = raw_server(full[..40].to_vec()).await;
    let err = client(&url, Framing::V10)
        .exchange(&[1], None)
        .await
        .expect_err("mid-frame");
    assert_eq!(
        err.to_string(),
        "framing error: the connection ended inside a frame"
    );

    // Closed after reading the request, nothing answered (a fresh connection: no retry).
    let url = raw_server(Vec::new()).await;
    assert_eq!(
        client(&url, Framing::V10)
            .exchange(&[1], None)
            .await
            .expect_err("no answer")
            .to_string(),
        format!(
            "{} closed the connection without answering; the request is not sent again, since the server may have acted on it",
            url.trim_start_matches("tcp://")
        )
    );

    let url = raw_server(frame_bytes(
        Framing::V10,
        Frame {
            close: true,
            body: FrameBody::NoResponse,
        },
    ))
    .await;
    assert_eq!(
        client(&url, Framing::V10).exchange(&[1], None).await,
        Err(TransportError::NoResponse)
    );

    let url = raw_server(frame_bytes(
        Framing::V10,
        Frame::new(FrameBody::error(0x0300, &[], "database down")),
    ))
    .await;
    let target = url.trim_start_matches("tcp://").to_owned();
    assert_eq!(
        client(&url, Framing::V10)
            .exchange(&[1], None)
            .await
            .expect_err("error")
            .to_string(),
        format!("framing error: {target} reported GeneralServerError (0x0300): \"database down\"")
    );

    // cryptlib answered with type 00: accepted as the response.
    let url = raw_server(frame_bytes(
        Framing::V10,
        Frame::new(FrameBody::PkiReq(Bytes::from_static(&[7, 7]))),
    ))
    .await;
    assert_eq!(
        client(&url, Framing::V10)
            .exchange(&[1], None)
            .await
            .expect("type 00"),
        vec![7, 7]
    );

    // An absurd check-after is clamped, then bounded by the deadline.
    let url = raw_server(frame_bytes(
        Framing::V10,
        Frame::new(FrameBody::PollRep {
            poll_ref: 1,
            check_after: CheckAfter::Relative(u32::MAX),
        }),
    ))
    .await;
    let t = TcpTransport::builder(&url)
        .max_poll_wait(Duration::from_millis(100))
        .message_timeout(Duration::from_secs(5))
        .build()
        .expect("transport");
    let start = Instant::now();
    let err = t
        .exchange(&[1], None)
        .await
        .expect_err("server closed while polling");
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(
        err.to_string(),
        format!(
            "{} closed the connection while polling",
            url.trim_start_matches("tcp://")
        )
    );
}

#[tokio::test]
async fn a_kept_connection_closed_while_idle_is_replaced_before_writing() {
    // Answers one request per connection, then closes it without the close flag.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let connections = Arc::new(Mutex::new(0u32));
    let seen = Arc::clone(&connections);
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            *seen.lock().expect("lock") += 1;
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf).await;
            let _ = s
                .write_all(&frame_bytes(
                    Framing::V10,
                    Frame::new(FrameBody::PkiRep(Bytes::from_static(&[9]))),
                ))
                .await;
        }
    });
    let t = client(&format!("tcp://{addr}"), Framing::V10);
    for _ in 0..3 {
        assert_eq!(t.exchange(&[1], None).await.expect("exchange"), vec![9]);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(*connections.lock().expect("lock"), 3);
}

#[tokio::test]
async fn a_request_is_never_sent_twice_when_the_connection_closes_after_writing() {
    // Answers the first request of a connection, then reads the second and closes without
    // answering: the client must report it, not send the request again on a new connection.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let requests = Arc::new(Mutex::new(0u32));
    let seen = Arc::clone(&requests);
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            if s.read(&mut buf).await.unwrap_or(0) == 0 {
                continue;
            }
            *seen.lock().expect("lock") += 1;
            let _ = s
                .write_all(&frame_bytes(
                    Framing::V10,
                    Frame::new(FrameBody::PkiRep(Bytes::from_static(&[9]))),
                ))
                .await;
            if s.read(&mut buf).await.unwrap_or(0) > 0 {
                *seen.lock().expect("lock") += 1;
            }
            // Dropped: closed without answering the second request.
        }
    });
    let t = client(&format!("tcp://{addr}"), Framing::V10);
    assert_eq!(t.exchange(&[1], None).await.expect("first"), vec![9]);
    let err = t
        .exchange(&[2], None)
        .await
        .expect_err("closed after writing");
    assert_eq!(
        err.to_string(),
        format!(
            "{addr} closed the connection without answering; the request is not sent again, since the server may have acted on it"
        )
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        *requests.lock().expect("lock"),
        2,
        "each request arrived once"
    );
}
