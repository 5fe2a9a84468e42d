//! The error message body (RFC 9810 §5.3.21).

use std::fmt;

use rasn::prelude::*;

use super::header::PkiFreeText;
use super::status::PkiStatusInfo;

/// ```asn1
/// ErrorMsgContent ::= SEQUENCE {
///    pKIStatusInfo  PKIStatusInfo,
///    errorCode      INTEGER      OPTIONAL,
///    errorDetails   PKIFreeText  OPTIONAL }
/// ```
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
pub struct ErrorMsgContent {
    /// Status (normally rejection, or waiting for delayed delivery) with failInfo.
    pub pki_status_info: PkiStatusInfo,
    /// An implementation-specific code.
    pub error_code: Option<Integer>,
    /// Details for a person.
    pub error_details: Option<PkiFreeText>,
}

impl fmt::Display for ErrorMsgContent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.pki_status_info)?;
        if let Some(code) = &self.error_code {
            write!(f, ", error code {code}")?;
        }
        if let Some(details) = &self.error_details {
            write!(f, ", details {:?}", details.join("; "))?;
        }
        Ok(())
    }
}
