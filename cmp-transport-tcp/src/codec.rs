//! The tokio-util codec for CMP TCP frames, with a maximum frame length checked on the length
//! field before the buffer grows.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use crate::frame::{CheckAfter, Frame, FrameBody, Framing, VERSION_10, error_type};

/// Why bytes on the wire are not a valid frame. Each says which errorMsgRep (if any) the peer
/// should get before the connection is closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The length field exceeds the limit.
    #[error("a frame of {length} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// The announced length.
        length: u64,
        /// The limit.
        max: usize,
    },
    /// The length does not even cover the header.
    #[error("a length of {0} does not cover the frame header")]
    ShortLength(u32),
    /// The version byte is neither 10 nor an RFC 2510 type.
    #[error("unsupported TCP-message version {0}")]
    UnsupportedVersion(u8),
    /// The message type is not defined.
    #[error("unknown message type {0}")]
    UnknownType(u8),
    /// The value does not have the layout its type requires.
    #[error("malformed {kind} frame: {reason}")]
    Malformed {
        /// The frame type.
        kind: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The connection ended inside a frame.
    #[error("the connection ended inside a frame")]
    Truncated,
    /// Reading or writing failed.
    #[error("{0}")]
    Io(String),
}

impl From<std::io::Error> for FrameError {
    fn from(e: std::io::Error) -> Self {
        FrameError::Io(e.to_string())
    }
}

impl FrameError {
    /// The v10 errorMsgRep to send before closing, where the framing defines one.
    pub fn error_reply(&self) -> Option<FrameBody> {
        Some(match self {
            FrameError::UnsupportedVersion(_) => FrameBody::error(
                error_type::VERSION_NOT_SUPPORTED,
                &[VERSION_10],
                &self.to_string(),
            ),
            FrameError::UnknownType(t) => {
                FrameBody::error(error_type::INVALID_MESSAGE_TYPE, &[*t], &self.to_string())
            }
            FrameError::TooLarge { .. }
            | FrameError::ShortLength(_)
            | FrameError::Malformed { .. } => {
                FrameBody::error(error_type::GENERAL_CLIENT_ERROR, &[], &self.to_string())
            }
            FrameError::Truncated | FrameError::Io(_) => return None,
        })
    }
}

/// Encodes and decodes frames. Decoding accepts both framings (told apart by the fifth
/// byte); encoding uses `framing`.
#[derive(Clone, Debug)]
pub struct CmpTcpCodec {
    framing: Framing,
    max_frame: usize,
    follow_peer: bool,
}

impl CmpTcpCodec {
    /// A codec that writes `framing` and refuses frames longer than `max_frame` bytes.
    pub fn new(framing: Framing, max_frame: usize) -> Self {
        CmpTcpCodec {
            framing,
            max_frame,
            follow_peer: false,
        }
    }

    /// A server codec: it answers in the framing of the last frame it decoded.
    pub fn following_peer(max_frame: usize) -> Self {
        CmpTcpCodec {
            framing: Framing::V10,
            max_frame,
            follow_peer: true,
        }
    }

    /// The framing this codec writes.
    pub fn framing(&self) -> Framing {
        self.framing
    }
}

impl Default for CmpTcpCodec {
    /// v10, 1 MiB.
    fn default() -> Self {
        CmpTcpCodec::new(Framing::V10, 1 << 20)
    }
}

fn malformed(kind: &'static str, reason: impl Into<String>) -> FrameError {
    FrameError::Malformed {
        kind,
        reason: reason.into(),
    }
}

fn u32_at(v: &[u8], at: usize, kind: &'static str) -> Result<u32, FrameError> {
    v.get(at..at + 4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| malformed(kind, "too short"))
}

fn decode_body(framing: Framing, ty: u8, v: Bytes) -> Result<FrameBody, FrameError> {
    Ok(match (framing, ty) {
        (_, 0x00) => FrameBody::PkiReq(v),
        (_, 0x05) => FrameBody::PkiRep(v),
        (_, 0x01) => {
            if v.len() != 8 {
                return Err(malformed(
                    "pollRep",
                    format!("{} value bytes, expected 8", v.len()),
                ));
            }
            let poll_ref = u32_at(&v, 0, "pollRep")?;
            let t = u32_at(&v, 4, "pollRep")?;
            FrameBody::PollRep {
                poll_ref,
                check_after: match framing {
                    Framing::V10 => CheckAfter::Relative(t),
                    Framing::Rfc2510 => CheckAfter::Absolute(t),
                },
            }
        }
        (_, 0x02) => {
            if v.len() != 4 {
                return Err(malformed(
                    "pollReq",
                    format!("{} value bytes, expected 4", v.len()),
                ));
            }
            FrameBody::PollReq {
                poll_ref: u32_at(&v, 0, "pollReq")?,
            }
        }
        (_, 0x03) => FrameBody::NoResponse,
        (Framing::Rfc2510, 0x04) => {
            let next_poll_ref = u32_at(&v, 0, "partialMsgRep")?;
            let check_after = u32_at(&v, 4, "partialMsgRep")?;
            FrameBody::PartialMsgRep {
                next_poll_ref,
                check_after,
                message: v.slice(8..),
            }
        }
        (Framing::Rfc2510, 0x06) => FrameBody::ErrorMsgRep {
            error_type: None,
            data: Bytes::new(),
            text: String::from_utf8_lossy(&v)
                .trim_end_matches('\0')
                .to_owned(),
        },
        (Framing::V10, 0x06) => {
            if v.len() < 4 {
                return Err(malformed(
                    "errorMsgRep",
                    "shorter than errorType and dataLen",
                ));
            }
            let et = u16::from_be_bytes([v[0], v[1]]);
            let len = usize::from(u16::from_be_bytes([v[2], v[3]]));
            let data = v
                .get(4..4 + len)
                .ok_or_else(|| malformed("errorMsgRep", "dataLen exceeds the frame"))?;
            FrameBody::ErrorMsgRep {
                error_type: Some(et),
                data: Bytes::copy_from_slice(data),
                text: String::from_utf8_lossy(&v[4 + len..])
                    .trim_end_matches('\0')
                    .to_owned(),
            }
        }
        (_, other) => return Err(FrameError::UnknownType(other)),
    })
}

impl Decoder for CmpTcpCodec {
    type Item = Frame;
    type Error = FrameError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, FrameError> {
        if src.len() < 5 {
            return Ok(None);
        }
        let length = u32::from_be_bytes([src[0], src[1], src[2], src[3]]);
        let v = src[4];
        let framing = match v {
            VERSION_10 => Framing::V10,
            0..=6 => Framing::Rfc2510,
            other => return Err(FrameError::UnsupportedVersion(other)),
        };
        let header = framing.header_len();
        if u64::from(length) > self.max_frame as u64 {
            return Err(FrameError::TooLarge {
                length: u64::from(length),
                max: self.max_frame,
            });
        }
        if length < header {
            return Err(FrameError::ShortLength(length));
        }
        let total = 4 + length as usize;
        if src.len() < total {
            // Reserve what the frame needs, bounded by the checked maximum.
            src.reserve(total - src.len());
            return Ok(None);
        }
        let mut frame = src.split_to(total);
        frame.advance(4);
        if self.follow_peer {
            self.framing = framing;
        }
        let (close, ty) = match framing {
            Framing::V10 => {
                let flags = frame[1];
                let ty = frame[2];
                frame.advance(3);
                (flags & 0x01 != 0, ty)
            }
            Framing::Rfc2510 => {
                let ty = frame[0];
                frame.advance(1);
                (false, ty)
            }
        };
        let body = decode_body(framing, ty, frame.freeze())?;
        Ok(Some(Frame { close, body }))
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, FrameError> {
        match self.decode(buf)? {
            Some(frame) => Ok(Some(frame)),
            None if buf.is_empty() => Ok(None),
            None => Err(FrameError::Truncated),
        }
    }
}

fn value(framing: Framing, body: &FrameBody) -> Vec<u8> {
    match body {
        FrameBody::PkiReq(m) | FrameBody::PkiRep(m) => m.to_vec(),
        FrameBody::PollRep {
            poll_ref,
            check_after,
        } => {
            let (CheckAfter::Relative(t) | CheckAfter::Absolute(t)) = *check_after;
            let mut v = poll_ref.to_be_bytes().to_vec();
            v.extend_from_slice(&t.to_be_bytes());
            v
        }
        FrameBody::PollReq { poll_ref } => poll_ref.to_be_bytes().to_vec(),
        FrameBody::NoResponse => vec![0],
        FrameBody::PartialMsgRep {
            next_poll_ref,
            check_after,
            message,
        } => {
            let mut v = next_poll_ref.to_be_bytes().to_vec();
            v.extend_from_slice(&check_after.to_be_bytes());
            v.extend_from_slice(message);
            v
        }
        FrameBody::ErrorMsgRep {
            error_type,
            data,
            text,
        } => match framing {
            Framing::Rfc2510 => text.as_bytes().to_vec(),
            Framing::V10 => {
                let mut v = error_type
                    .unwrap_or(error_type::GENERAL_SERVER_ERROR)
                    .to_be_bytes()
                    .to_vec();
                let len = data.len().min(usize::from(u16::MAX));
                v.extend_from_slice(&(len as u16).to_be_bytes());
                v.extend_from_slice(&data[..len]);
                v.extend_from_slice(text.as_bytes());
                v
            }
        },
    }
}

impl Encoder<Frame> for CmpTcpCodec {
    type Error = FrameError;

    fn encode(&mut self, frame: Frame, dst: &mut BytesMut) -> Result<(), FrameError> {
        let v = value(self.framing, &frame.body);
        let length = v.len() + self.framing.header_len() as usize;
        if length > self.max_frame {
            return Err(FrameError::TooLarge {
                length: length as u64,
                max: self.max_frame,
            });
        }
        dst.reserve(4 + length);
        dst.put_u32(length as u32);
        match self.framing {
            Framing::V10 => {
                dst.put_u8(VERSION_10);
                dst.put_u8(u8::from(frame.close));
                dst.put_u8(frame.body.type_byte());
            }
            Framing::Rfc2510 => dst.put_u8(frame.body.type_byte()),
        }
        dst.put_slice(&v);
        Ok(())
    }
}
