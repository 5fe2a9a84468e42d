//! The TCP codec: golden bytes for both framings, round trips of every frame type, scripted
//! reads (split and coalesced frames), limits, and random input (bounded, no panic).

use bytes::{Bytes, BytesMut};
use cmp_transport_tcp::{
    CheckAfter, CmpTcpCodec, Frame, FrameBody, FrameError, Framing, error_type,
};
use tokio_util::codec::{Decoder, Encoder};

fn encode(framing: Framing, frame: Frame) -> Vec<u8> {
    let mut buf = BytesMut::new();
    CmpTcpCodec::new(framing, 1 << 20)
        .encode(frame, &mut buf)
        .expect("encodes");
    buf.to_vec()
}

fn decode_all(codec: &mut CmpTcpCodec, bytes: &[u8]) -> Result<Vec<Frame>, FrameError> {
    let mut buf = BytesMut::from(bytes);
    let mut out = Vec::new();
    while let Some(f) = codec.decode(&mut buf)? {
        out.push(f);
    }
    Ok(out)
}

fn pki_message(len: usize) -> Bytes {
    // A SEQUENCE of `len` bytes in all: 30 82 LL LL + filler.
    let mut v = vec![0x30, 0x82, ((len - 4) >> 8) as u8, (len - 4) as u8];
    v.resize(len, 0xAB);
    Bytes::from(v)
}

#[test]
fn golden_bytes_of_a_1000_byte_message() {
    let msg = pki_message(1000);
    let v10 = encode(Framing::V10, Frame::new(FrameBody::PkiReq(msg.clone())));
    assert_eq!(&v10[..7], &[0x00, 0x00, 0x03, 0xEB, 0x0A, 0x00, 0x00]);
    assert_eq!(&v10[7..], &msg[..]);
    let rfc2510 = encode(Framing::Rfc2510, Frame::new(FrameBody::PkiReq(msg.clone())));
    assert_eq!(&rfc2510[..5], &[0x00, 0x00, 0x03, 0xE9, 0x00]);
    assert_eq!(&rfc2510[5..], &msg[..]);
    let rep = encode(
        Framing::V10,
        Frame {
            close: true,
            body: FrameBody::PkiRep(msg),
        },
    );
    assert_eq!(&rep[..7], &[0x00, 0x00, 0x03, 0xEB, 0x0A, 0x01, 0x05]);
}

#[test]
fn golden_bytes_of_the_small_frames() {
    let poll = encode(
        Framing::V10,
        Frame::new(FrameBody::PollRep {
            poll_ref: 7,
            check_after: CheckAfter::Relative(30),
        }),
    );
    assert_eq!(poll, [0, 0, 0, 11, 10, 0, 1, 0, 0, 0, 7, 0, 0, 0, 30]);
    let poll_req = encode(
        Framing::Rfc2510,
        Frame::new(FrameBody::PollReq { poll_ref: 7 }),
    );
    assert_eq!(poll_req, [0, 0, 0, 5, 2, 0, 0, 0, 7]);
    let fin = encode(
        Framing::V10,
        Frame {
            close: true,
            body: FrameBody::NoResponse,
        },
    );
    assert_eq!(fin, [0, 0, 0, 4, 10, 1, 3, 0]);
    let err = encode(
        Framing::V10,
        Frame::new(FrameBody::error(
            error_type::INVALID_POLL_ID,
            &[0, 0, 0, 7],
            "no",
        )),
    );
    assert_eq!(
        err,
        [
            0, 0, 0, 13, 10, 0, 6, 0x02, 0x02, 0, 4, 0, 0, 0, 7, b'n', b'o'
        ]
    );
}

fn every_frame(framing: Framing) -> Vec<Frame> {
    let check = match framing {
        Framing::V10 => CheckAfter::Relative(5),
        Framing::Rfc2510 => CheckAfter::Absolute(1_800_000_000),
    };
    let mut frames = vec![
        Frame::new(FrameBody::PkiReq(pki_message(40))),
        Frame::new(FrameBody::PkiRep(pki_message(300))),
        Frame::new(FrameBody::PollRep {
            poll_ref: 0xDEAD_BEEF,
            check_after: check,
        }),
        Frame::new(FrameBody::PollReq {
            poll_ref: 0xDEAD_BEEF,
        }),
        Frame::new(FrameBody::NoResponse),
    ];
    match framing {
        Framing::V10 => {
            frames.push(Frame {
                close: true,
                body: FrameBody::PkiRep(pki_message(10)),
            });
            frames.push(Frame::new(FrameBody::error(
                error_type::VERSION_NOT_SUPPORTED,
                &[10],
                "use version 10",
            )));
        }
        Framing::Rfc2510 => {
            frames.push(Frame::new(FrameBody::PartialMsgRep {
                next_poll_ref: 3,
                check_after: 1_800_000_001,
                message: pki_message(20),
            }));
            frames.push(Frame::new(FrameBody::ErrorMsgRep {
                error_type: None,
                data: Bytes::new(),
                text: "server busy".into(),
            }));
        }
    }
    frames
}

#[test]
fn every_frame_type_round_trips_in_both_framings() {
    for framing in [Framing::V10, Framing::Rfc2510] {
        for frame in every_frame(framing) {
            let bytes = encode(framing, frame.clone());
            let back = decode_all(&mut CmpTcpCodec::default(), &bytes).expect("decodes");
            assert_eq!(back, vec![frame.clone()], "{framing:?}");
        }
    }
}

#[test]
fn frames_split_across_reads_and_coalesced_in_one() {
    let frames = every_frame(Framing::V10);
    let mut stream = Vec::new();
    for f in &frames {
        stream.extend(encode(Framing::V10, f.clone()));
    }
    // All in one read.
    assert_eq!(
        decode_all(&mut CmpTcpCodec::default(), &stream).expect("one read"),
        frames
    );
    // One byte per read.
    let mut codec = CmpTcpCodec::default();
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for b in &stream {
        buf.extend_from_slice(&[*b]);
        while let Some(f) = codec.decode(&mut buf).expect("decodes") {
            out.push(f);
        }
    }
    assert_eq!(out, frames);
    assert!(buf.is_empty());
}

#[test]
fn limits_are_checked_on_the_length_field() {
    let mut codec = CmpTcpCodec::new(Framing::V10, 1000);
    // A 4 GB length with nothing behind it: refused at once, nothing buffered.
    let mut buf = BytesMut::from(&[0xFF, 0xFF, 0xFF, 0xFF, 0x0A][..]);
    assert_eq!(
        codec.decode(&mut buf),
        Err(FrameError::TooLarge {
            length: 0xFFFF_FFFF,
            max: 1000
        })
    );
    assert!(buf.capacity() < 1000);
    assert_eq!(
        decode_all(&mut CmpTcpCodec::default(), &[0, 0, 0, 2, 10, 0]),
        Err(FrameError::ShortLength(2))
    );
    assert_eq!(
        decode_all(&mut CmpTcpCodec::default(), &[0, 0, 0, 3, 7, 0, 0]),
        Err(FrameError::UnsupportedVersion(7))
    );
    assert_eq!(
        decode_all(&mut CmpTcpCodec::default(), &[0, 0, 0, 3, 10, 0, 9]),
        Err(FrameError::UnknownType(9))
    );
    assert_eq!(
        decode_all(&mut CmpTcpCodec::default(), &[0, 0, 0, 5, 10, 0, 1, 0, 0]),
        Err(FrameError::Malformed {
            kind: "pollRep",
            reason: "2 value bytes, expected 8".into()
        })
    );
    // Too large to send, too.
    let mut small = CmpTcpCodec::new(Framing::V10, 100);
    let mut out = BytesMut::new();
    assert!(matches!(
        small.encode(Frame::new(FrameBody::PkiReq(pki_message(200))), &mut out),
        Err(FrameError::TooLarge { .. })
    ));
}

#[test]
fn errors_map_to_the_error_message_the_peer_gets() {
    let reply = FrameError::UnsupportedVersion(7)
        .error_reply()
        .expect("reply");
    assert_eq!(
        reply,
        FrameBody::error(
            error_type::VERSION_NOT_SUPPORTED,
            &[10],
            "unsupported TCP-message version 7"
        )
    );
    let reply = FrameError::UnknownType(9).error_reply().expect("reply");
    assert!(
        matches!(reply, FrameBody::ErrorMsgRep { error_type: Some(0x0201), ref data, .. } if data[..] == [9])
    );
    let reply = FrameError::TooLarge { length: 5, max: 1 }
        .error_reply()
        .expect("reply");
    assert!(matches!(
        reply,
        FrameBody::ErrorMsgRep {
            error_type: Some(0x0200),
            ..
        }
    ));
    assert!(FrameError::Truncated.error_reply().is_none());
}

#[test]
fn a_stream_ending_inside_a_frame_is_truncated() {
    let mut codec = CmpTcpCodec::default();
    let mut buf =
        BytesMut::from(&encode(Framing::V10, Frame::new(FrameBody::PkiReq(pki_message(50))))[..30]);
    assert_eq!(codec.decode(&mut buf), Ok(None));
    assert_eq!(codec.decode_eof(&mut buf), Err(FrameError::Truncated));
}

#[test]
fn random_and_mutated_input_never_panics_and_stays_bounded() {
    let mut state: u64 = 0x1234_5678_9ABC_DEF1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let valid: Vec<Vec<u8>> = [Framing::V10, Framing::Rfc2510]
        .into_iter()
        .flat_map(|f| every_frame(f).into_iter().map(move |fr| encode(f, fr)))
        .collect();
    for round in 0..20_000 {
        let mut bytes = if round % 2 == 0 {
            (0..(next() % 64))
                .map(|_| next() as u8)
                .collect::<Vec<u8>>()
        } else {
            let mut v = valid[(next() as usize) % valid.len()].clone();
            for _ in 0..(1 + next() % 3) {
                let at = (next() as usize) % v.len();
                v[at] = next() as u8;
            }
            v.truncate((next() as usize) % (v.len() + 1));
            v
        };
        let mut codec = CmpTcpCodec::new(Framing::V10, 4096);
        let mut buf = BytesMut::from(&bytes[..]);
        let mut frames = 0;
        while let Ok(Some(_)) = codec.decode(&mut buf) {
            frames += 1;
            assert!(frames < 100);
        }
        assert!(buf.capacity() <= 4096 + 64 + bytes.len());
        bytes.clear();
    }
}
