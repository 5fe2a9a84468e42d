//! The TCP frames of CMP: "TCP-message version 10" (draft-ietf-pkix-cmp-tcp-00,
//! draft-ietf-pkix-cmp-transport-protocols-05) and the original RFC 2510 §5.2 framing.
//!
//! ```text
//! v10:      | length u32 | version=10 | flags | type | value |   length = 3 + len(value)
//! RFC 2510: | length u32 | type |                       value |   length = 1 + len(value)
//! ```
//! The fifth byte tells them apart: 10 means v10, 0..=6 an RFC 2510 type.

use bytes::Bytes;

/// Which framing a connection speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Framing {
    /// TCP-message version 10 (the default).
    #[default]
    V10,
    /// RFC 2510 §5.2 (version 0).
    Rfc2510,
}

impl Framing {
    /// Bytes after the length field that the length counts: version, flags and type (v10),
    /// or the type alone (RFC 2510).
    pub(crate) fn header_len(self) -> u32 {
        match self {
            Framing::V10 => 3,
            Framing::Rfc2510 => 1,
        }
    }
}

/// The version byte of the v10 framing.
pub const VERSION_10: u8 = 10;

/// When to poll again, as the framing says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckAfter {
    /// v10: seconds to wait (a minimum).
    Relative(u32),
    /// RFC 2510: the Unix time to come back at.
    Absolute(u32),
}

/// `errorType` values of the v10 errorMsgRep.
pub mod error_type {
    /// The peer's version is not supported; data = the highest supported version (1 byte).
    pub const VERSION_NOT_SUPPORTED: u16 = 0x0101;
    /// Something is wrong with the client's message.
    pub const GENERAL_CLIENT_ERROR: u16 = 0x0200;
    /// The message type is unknown; data = the type.
    pub const INVALID_MESSAGE_TYPE: u16 = 0x0201;
    /// The pollRef is unknown; data = the pollRef.
    pub const INVALID_POLL_ID: u16 = 0x0202;
    /// Something went wrong on the server.
    pub const GENERAL_SERVER_ERROR: u16 = 0x0300;

    /// The name of an errorType.
    pub fn name(t: u16) -> &'static str {
        match t {
            VERSION_NOT_SUPPORTED => "VersionNotSupported",
            GENERAL_CLIENT_ERROR => "GeneralClientError",
            INVALID_MESSAGE_TYPE => "InvalidMessageType",
            INVALID_POLL_ID => "InvalidPollID",
            GENERAL_SERVER_ERROR => "GeneralServerError",
            _ => "unknown errorType",
        }
    }
}

/// What a frame carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FrameBody {
    /// A DER PKIMessage sent by the client (v10 `pkiReq` 00; RFC 2510 `pkiMsg` 00). Clients
    /// also accept it as a response: cryptlib wrote type 00 for every frame.
    PkiReq(Bytes),
    /// A DER PKIMessage sent by the server (v10 `pkiRep` 05; RFC 2510 `finalMsgRep` 05).
    PkiRep(Bytes),
    /// Come back later with `poll_ref` (type 01).
    PollRep {
        /// The reference to poll with.
        poll_ref: u32,
        /// When.
        check_after: CheckAfter,
    },
    /// Is the response for `poll_ref` ready? (type 02)
    PollReq {
        /// The reference from the pollRep.
        poll_ref: u32,
    },
    /// Nothing (more) to return (v10 `finRep` / RFC 2510 `negPollRep`, type 03, value 00).
    NoResponse,
    /// RFC 2510 `partialMsgRep` (04): one message now, more to poll for.
    PartialMsgRep {
        /// Where to poll for the next.
        next_poll_ref: u32,
        /// When (absolute Unix time).
        check_after: u32,
        /// The DER PKIMessage.
        message: Bytes,
    },
    /// A transport problem (type 06): v10 carries errorType and data, RFC 2510 only text.
    ErrorMsgRep {
        /// v10 errorType (`None` in RFC 2510 framing).
        error_type: Option<u16>,
        /// v10 data.
        data: Bytes,
        /// The UTF-8 text.
        text: String,
    },
}

impl FrameBody {
    /// The type byte.
    pub fn type_byte(&self) -> u8 {
        match self {
            FrameBody::PkiReq(_) => 0x00,
            FrameBody::PollRep { .. } => 0x01,
            FrameBody::PollReq { .. } => 0x02,
            FrameBody::NoResponse => 0x03,
            FrameBody::PartialMsgRep { .. } => 0x04,
            FrameBody::PkiRep(_) => 0x05,
            FrameBody::ErrorMsgRep { .. } => 0x06,
        }
    }

    /// An errorMsgRep with an errorType, data and text.
    pub fn error(error_type: u16, data: &[u8], text: &str) -> Self {
        FrameBody::ErrorMsgRep {
            error_type: Some(error_type),
            data: Bytes::copy_from_slice(data),
            text: text.to_owned(),
        }
    }
}

/// One frame: what it carries and, in v10, whether the connection closes after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// v10 flags bit 0: close the connection after this exchange.
    pub close: bool,
    /// The content.
    pub body: FrameBody,
}

impl Frame {
    /// A frame without the close flag.
    pub fn new(body: FrameBody) -> Self {
        Frame { close: false, body }
    }
}
