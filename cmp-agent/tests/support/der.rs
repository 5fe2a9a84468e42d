//! A tiny DER walker written for the tests, independent of cmp-core's decoder: it extracts
//! the raw header fields a correct `inspect` must echo, and finds byte offsets to corrupt.

/// One TLV inside a buffer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tlv {
    /// The identifier octet (low tag numbers only, which is all CMP uses).
    pub(crate) tag: u8,
    /// Offset of the identifier octet.
    pub(crate) start: usize,
    /// Offset of the first value octet.
    pub(crate) value: usize,
    /// Offset just past the value.
    pub(crate) end: usize,
}

/// The TLV at `pos`.
pub(crate) fn tlv(data: &[u8], pos: usize) -> Tlv {
    let tag = data[pos];
    let first = data[pos + 1];
    let (len, value) = if first < 0x80 {
        (usize::from(first), pos + 2)
    } else {
        let n = usize::from(first & 0x7F);
        let len = data[pos + 2..pos + 2 + n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, pos + 2 + n)
    };
    Tlv {
        tag,
        start: pos,
        value,
        end: value + len,
    }
}

/// The TLVs inside a constructed `parent`.
pub(crate) fn children(data: &[u8], parent: Tlv) -> Vec<Tlv> {
    let mut out = Vec::new();
    let mut pos = parent.value;
    while pos < parent.end {
        let t = tlv(data, pos);
        pos = t.end;
        out.push(t);
    }
    out
}

/// The value octets of `t`.
pub(crate) fn value(data: &[u8], t: Tlv) -> &[u8] {
    &data[t.value..t.end]
}

/// The dotted form of OBJECT IDENTIFIER content octets.
pub(crate) fn oid_dotted(content: &[u8]) -> String {
    let mut arcs: Vec<u64> = Vec::new();
    let mut acc = 0u64;
    for b in content {
        acc = (acc << 7) | u64::from(b & 0x7F);
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (acc / 40).min(2);
                arcs.push(first);
                arcs.push(acc - first * 40);
            } else {
                arcs.push(acc);
            }
            acc = 0;
        }
    }
    arcs.iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

/// What the tests compare against `inspect`'s JSON, taken straight from the bytes.
#[derive(Debug, Default)]
pub(crate) struct RawMessage {
    /// pvno.
    pub(crate) pvno: i64,
    /// Dotted protectionAlg.
    pub(crate) protection_alg: Option<String>,
    /// senderKID, transactionID, senderNonce, recipNonce, recipKID (lowercase hex).
    pub(crate) sender_kid: Option<String>,
    /// transactionID.
    pub(crate) transaction_id: Option<String>,
    /// senderNonce.
    pub(crate) sender_nonce: Option<String>,
    /// recipNonce.
    pub(crate) recip_nonce: Option<String>,
    /// recipKID.
    pub(crate) recip_kid: Option<String>,
    /// The body's context tag number.
    pub(crate) body_tag: u8,
    /// Bits in the protection BIT STRING.
    pub(crate) protection_bits: Option<usize>,
    /// Serial numbers (hex, no leading zero byte) of the extraCerts.
    pub(crate) extra_cert_serials: Option<Vec<String>>,
}

/// Extracts [`RawMessage`] from the DER of a PKIMessage.
pub(crate) fn raw_message(der: &[u8]) -> RawMessage {
    let top = tlv(der, 0);
    let parts = children(der, top);
    let header = children(der, parts[0]);
    let mut raw = RawMessage {
        pvno: value(der, header[0])
            .iter()
            .fold(0i64, |acc, b| (acc << 8) | i64::from(*b)),
        body_tag: parts[1].tag & 0x1F,
        ..RawMessage::default()
    };
    for field in &header[3..] {
        let inner = tlv(der, field.value);
        let hex = Some(hex::encode(value(der, inner)));
        match field.tag {
            0xA1 => {
                let alg = children(der, inner);
                raw.protection_alg = Some(oid_dotted(value(der, alg[0])));
            }
            0xA2 => raw.sender_kid = hex,
            0xA3 => raw.recip_kid = hex,
            0xA4 => raw.transaction_id = hex,
            0xA5 => raw.sender_nonce = hex,
            0xA6 => raw.recip_nonce = hex,
            _ => {}
        }
    }
    for part in &parts[2..] {
        let inner = tlv(der, part.value);
        match part.tag {
            0xA0 => {
                let bits = value(der, inner);
                raw.protection_bits = Some((bits.len() - 1) * 8 - usize::from(bits[0]));
            }
            0xA1 => {
                let serials = children(der, inner)
                    .into_iter()
                    .map(|cert| certificate_serial(der, cert))
                    .collect();
                raw.extra_cert_serials = Some(serials);
            }
            other => panic!("unexpected PKIMessage field 0x{other:02X}"),
        }
    }
    raw
}

/// The serial number of a Certificate TLV, as hex without a leading zero byte.
fn certificate_serial(der: &[u8], cert: Tlv) -> String {
    let tbs = children(der, children(der, cert)[0]);
    let serial = if tbs[0].tag == 0xA0 { tbs[1] } else { tbs[0] };
    let bytes = value(der, serial);
    let bytes = match bytes {
        [0, rest @ ..] if !rest.is_empty() => rest,
        b => b,
    };
    hex::encode(bytes)
}

/// Offset of the certReqId INTEGER tag of the first CertResponse in an ip/cp/kup body.
pub(crate) fn first_cert_req_id_offset(der: &[u8]) -> usize {
    let parts = children(der, tlv(der, 0));
    let body = parts[1];
    let rep = tlv(der, body.value); // CertRepMessage
    let fields = children(der, rep);
    // caPubs [1] is optional and comes first.
    let response = if fields[0].tag == 0xA1 {
        fields[1]
    } else {
        fields[0]
    };
    let first = children(der, response)[0]; // CertResponse
    let id = children(der, first)[0];
    assert_eq!(id.tag, 0x02, "certReqId is an INTEGER");
    id.start
}
