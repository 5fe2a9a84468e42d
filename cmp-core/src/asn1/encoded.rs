//! [`Encoded`]: a DER value kept byte for byte as received, next to its decoded view.

use rasn::types::{Any, AsnType, Constraints, Identifier, Tag, TagTree};
use rasn::{Decode, Decoder, Encode, Encoder};

use crate::error::{DecodeError, Error};

/// A value together with its exact DER encoding.
///
/// Certificates and PKCS#10 requests carry signatures over their own bytes; re-encoding a
/// decoded value can change those bytes (a non-sorted `SET OF`, a BER-ish peer), which would
/// break every signature check. `Encoded` decodes the value for reading and writes back the
/// bytes it was decoded from, so a received message re-encodes exactly.
///
/// ```
/// use cmp_core::asn1::Encoded;
/// // INTEGER 5
/// let int: Encoded<rasn::types::Integer> = Encoded::from_der(&[0x02, 0x01, 0x05]).unwrap();
/// assert_eq!(int.der(), &[0x02, 0x01, 0x05]);
/// assert_eq!(*int.value(), rasn::types::Integer::from(5));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Encoded<T> {
    der: Vec<u8>,
    value: T,
}

impl<T> Encoded<T> {
    /// The exact DER bytes (tag, length and value).
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The decoded value.
    pub fn value(&self) -> &T {
        &self.value
    }

    /// Takes the decoded value, dropping the bytes.
    pub fn into_value(self) -> T {
        self.value
    }
}

impl<T: Decode> Encoded<T> {
    /// Decodes `der`, which must hold exactly one value of type `T`.
    pub fn from_der(der: &[u8]) -> Result<Self, DecodeError> {
        let value = rasn::der::decode::<T>(der)
            .map_err(|e| DecodeError::from_rasn(std::any::type_name::<T>(), &e))?;
        Ok(Encoded {
            der: der.to_vec(),
            value,
        })
    }
}

impl<T: Encode> Encoded<T> {
    /// Encodes `value` in DER and keeps both.
    pub fn new(value: T) -> Result<Self, Error> {
        let der = rasn::der::encode(&value).map_err(|e| Error::Encode {
            what: "value",
            reason: e.to_string(),
        })?;
        Ok(Encoded { der, value })
    }
}

impl<T: AsnType> AsnType for Encoded<T> {
    const TAG: Tag = T::TAG;
    const TAG_TREE: TagTree = T::TAG_TREE;
    const IDENTIFIER: Identifier = T::IDENTIFIER;
}

impl<T: Decode> Decode for Encoded<T> {
    fn decode_with_tag_and_constraints<D: Decoder>(
        decoder: &mut D,
        _tag: Tag,
        _constraints: &Constraints,
    ) -> Result<Self, D::Error> {
        // The whole TLV, whatever its tag; `T` then checks the tag itself.
        let any = decoder.decode_any(Tag::EOC)?;
        let der = any.into_bytes();
        let value = rasn::der::decode::<T>(&der).map_err(D::Error::from)?;
        Ok(Encoded { der, value })
    }
}

impl<T: Encode> Encode for Encoded<T> {
    fn encode_with_tag_and_constraints<'b, E: Encoder<'b>>(
        &self,
        encoder: &mut E,
        _tag: Tag,
        _constraints: &Constraints,
        identifier: Identifier,
    ) -> Result<(), E::Error> {
        encoder.encode_any(Tag::EOC, &Any::new(self.der.clone()), identifier)?;
        Ok(())
    }
}
