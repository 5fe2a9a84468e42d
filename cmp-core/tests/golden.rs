//! Golden bytes for the tagging traps of protocol-notes §1: each value is built through the
//! public model and must encode to exactly the bytes RFC 4211 / RFC 9810 (and OpenSSL) use,
//! and decode back to the same value.

use cmp_core::asn1::{
    AlgorithmIdentifier, CertOrEncCert, CertReqMsg, CertRequest, CertResponse, CertStatus,
    CertTemplate, CertifiedKeyPair, EncryptedKey, FailureBit, InfoTypeAndValue, InfoValue, Name,
    OptionalValidity, Pbkdf2Params, Pbkdf2Salt, PkiBody, PkiFailureInfo, PkiStatusInfo,
    PopoPrivKey, ProofOfPossession, SubjectPublicKeyInfo, Time, null_dn, oid,
};
use rasn::prelude::*;

fn der<T: Encode>(value: &T) -> Vec<u8> {
    rasn::der::encode(value).expect("encodes")
}

fn roundtrip<T: Encode + Decode + PartialEq + std::fmt::Debug>(value: &T, expected: &[u8]) {
    let bytes = der(value);
    assert_eq!(hex::encode(&bytes), hex::encode(expected));
    let back: T = rasn::der::decode(&bytes).expect("decodes");
    assert_eq!(&back, value);
}

#[test]
fn null_dn_general_name() {
    roundtrip(&null_dn(), &[0xA4, 0x02, 0x30, 0x00]);
}

#[test]
fn pkiconf_body() {
    roundtrip(&PkiBody::Pkiconf(()), &[0xB3, 0x02, 0x05, 0x00]);
}

#[test]
fn failinfo_named_bits_are_minimal() {
    roundtrip(
        &PkiFailureInfo::from_bits([FailureBit::BadPop]),
        &[0x03, 0x03, 0x06, 0x00, 0x40],
    );
    roundtrip(
        &PkiFailureInfo::from_bits([FailureBit::BadRequest]),
        &[0x03, 0x02, 0x05, 0x20],
    );
    roundtrip(
        &PkiFailureInfo::from_bits([FailureBit::DuplicateCertReq]),
        &[0x03, 0x05, 0x05, 0x00, 0x00, 0x00, 0x20],
    );
}

#[test]
fn failinfo_with_padding_is_accepted_and_kept() {
    // badRequest with 16 bits (non-minimal): accepted, and re-encoded as received.
    let padded = [0x03, 0x03, 0x00, 0x20, 0x00];
    let info: PkiFailureInfo = rasn::der::decode(&padded).expect("decodes");
    assert_eq!(info.bits(), vec![FailureBit::BadRequest]);
    assert_eq!(der(&info), padded);
}

#[test]
fn pop_encrypt_the_cert() {
    // keyEncipherment [2] (explicit, POPOPrivKey is a CHOICE) → subsequentMessage [1]
    // (implicit INTEGER) encrCert(0).
    roundtrip(
        &ProofOfPossession::KeyEncipherment(PopoPrivKey::SubsequentMessage(Integer::from(0))),
        &[0xA2, 0x03, 0x81, 0x01, 0x00],
    );
}

#[test]
fn pop_ra_verified() {
    roundtrip(&ProofOfPossession::RaVerified(()), &[0x80, 0x00]);
}

#[test]
fn implicit_confirm_itav() {
    let itav = InfoTypeAndValue::from_value(&InfoValue::ImplicitConfirm).expect("builds");
    roundtrip(
        &itav,
        &[
            0x30, 0x0C, 0x06, 0x08, 0x2B, 0x06, 0x01, 0x05, 0x05, 0x07, 0x04, 0x0D, 0x05, 0x00,
        ],
    );
}

#[test]
fn itav_without_value() {
    // genm caCerts request: the value is absent.
    let itav = InfoTypeAndValue::request(oid::IT_CA_CERTS);
    roundtrip(
        &itav,
        &[
            0x30, 0x0A, 0x06, 0x08, 0x2B, 0x06, 0x01, 0x05, 0x05, 0x07, 0x04, 0x11,
        ],
    );
    assert_eq!(itav.value().expect("typed"), InfoValue::CaCerts(None));
}

fn ec_spki() -> SubjectPublicKeyInfo {
    SubjectPublicKeyInfo {
        algorithm: AlgorithmIdentifier {
            algorithm: oid::EC_PUBLIC_KEY.to_owned(),
            parameters: Some(Any::new(vec![
                0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07,
            ])),
        },
        subject_public_key: BitString::from_slice(&[0x04, 0x01, 0x02]),
    }
}

#[test]
fn cert_template_tags() {
    let name = cmp_core::names::parse_name("CN=a").expect("dn");
    let template = CertTemplate {
        version: Some(Integer::from(2)),
        subject: Some(name.clone()),
        issuer: Some(name),
        public_key: Some(ec_spki()),
        ..CertTemplate::default()
    };
    let bytes = der(&template);
    let cn_a = [
        0x30, 0x0C, 0x31, 0x0A, 0x30, 0x08, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0C, 0x01, b'a',
    ];
    // version [0] IMPLICIT INTEGER 2.
    assert_eq!(&bytes[2..5], &[0x80, 0x01, 0x02]);
    // issuer [3] EXPLICIT Name (a CHOICE): A3 0E 30 0C …
    assert_eq!(&bytes[5..7], &[0xA3, 0x0E]);
    assert_eq!(&bytes[7..21], &cn_a);
    // subject [5] EXPLICIT Name: A5 0E 30 0C …
    assert_eq!(&bytes[21..23], &[0xA5, 0x0E]);
    assert_eq!(&bytes[23..37], &cn_a);
    // publicKey [6] IMPLICIT SubjectPublicKeyInfo: A6 L 30 (algorithm) … 03 (key) …
    assert_eq!(bytes[37], 0xA6);
    assert_eq!(bytes[39], 0x30);
    let back: CertTemplate = rasn::der::decode(&bytes).expect("decodes");
    assert_eq!(back, template);
}

#[test]
fn optional_validity_times_are_explicit() {
    let t =
        Time::General(chrono::DateTime::parse_from_rfc3339("2030-01-02T03:04:05Z").expect("time"));
    let validity = OptionalValidity {
        not_before: None,
        not_after: Some(t),
    };
    let mut expected = vec![0x30, 0x13, 0xA1, 0x11, 0x18, 0x0F];
    expected.extend_from_slice(b"20300102030405Z");
    roundtrip(&validity, &expected);
}

#[test]
fn encrypted_key_enveloped_data_is_implicit_inside_explicit_private_key() {
    // A minimal EnvelopedData decoded from bytes: version 0, one KeyTransRecipientInfo with
    // issuerAndSerialNumber, encryptedContentInfo without content.
    let enveloped_contents = hex::decode(concat!(
        "020100", // version 0
        "3126",   // recipientInfos SET
        "3024",
        "020100", // KeyTransRecipientInfo, version 0
        "3010",
        "300b310930070603550403",
        "0c00",
        "020101", // issuerAndSerialNumber
        "300b",
        "06092a864886f70d010101", // rsaEncryption
        "0400",                   // encryptedKey
        "3018",
        "06092a864886f70d010701", // encryptedContentInfo: data,
        "300b",
        "0609608648016503040102" // aes128-CBC, no content
    ))
    .expect("hex");
    let mut implicit = vec![0xA0, enveloped_contents.len() as u8];
    implicit.extend_from_slice(&enveloped_contents);
    let key: EncryptedKey = rasn::der::decode(&implicit).expect("EnvelopedData decodes");
    assert!(matches!(key, EncryptedKey::EnvelopedData(_)));
    assert_eq!(der(&key), implicit);

    let ckp = CertifiedKeyPair {
        cert_or_enc_cert: CertOrEncCert::EncryptedCert(key.clone()),
        private_key: Some(key),
        publication_info: None,
    };
    let bytes = der(&ckp);
    let top = cmp_core::der::check_framing(&bytes, 64).expect("framing");
    let mut fields = cmp_core::der::Reader::new(top.value, 0);
    // certOrEncCert: encryptedCert [1] EXPLICIT → A1 L A0 L …
    let cert = fields.read().expect("certOrEncCert");
    assert_eq!(cert.first_octet(), 0xA1);
    assert_eq!(cert.value, &implicit[..]);
    // privateKey [0] EXPLICIT EncryptedKey → A0 L A0 L <EnvelopedData contents>
    let private_key = fields.read().expect("privateKey");
    assert_eq!(private_key.first_octet(), 0xA0);
    assert_eq!(private_key.value, &implicit[..]);
    assert!(fields.is_empty());
    let back: CertifiedKeyPair = rasn::der::decode(&bytes).expect("decodes");
    assert_eq!(back, ckp);
}

#[test]
fn pbkdf2_default_prf_is_absent() {
    let params = Pbkdf2Params {
        salt: Pbkdf2Salt::Specified(OctetString::from(vec![1, 2])),
        iteration_count: Integer::from(1000),
        key_length: Some(Integer::from(32)),
        prf: None,
    };
    roundtrip(
        &params,
        &[
            0x30, 0x0B, 0x04, 0x02, 1, 2, 0x02, 0x02, 0x03, 0xE8, 0x02, 0x01, 0x20,
        ],
    );
}

#[test]
fn negative_cert_req_id() {
    let status = CertStatus {
        cert_hash: OctetString::from(vec![0xAA]),
        cert_req_id: Integer::from(-1),
        status_info: None,
        hash_alg: None,
    };
    roundtrip(&status, &[0x30, 0x06, 0x04, 0x01, 0xAA, 0x02, 0x01, 0xFF]);
}

#[test]
fn cert_conf_hash_alg_is_explicit() {
    let status = CertStatus {
        cert_hash: OctetString::from(vec![0xAA]),
        cert_req_id: Integer::from(0),
        status_info: Some(PkiStatusInfo::accepted()),
        hash_alg: Some(AlgorithmIdentifier {
            algorithm: oid::SHA512.to_owned(),
            parameters: None,
        }),
    };
    let bytes = der(&status);
    // … statusInfo 30 03 02 01 00, hashAlg A0 0D 30 0B 06 09 …
    assert_eq!(
        hex::encode(&bytes[8..]),
        "30030201 00a00d300b0609608648016503040203".replace(' ', "")
    );
    let back: CertStatus = rasn::der::decode(&bytes).expect("decodes");
    assert_eq!(back, status);
}

#[test]
fn cert_response_without_certificate() {
    let resp = CertResponse {
        cert_req_id: Integer::from(0),
        status: PkiStatusInfo::rejection([FailureBit::BadPop], None),
        certified_key_pair: None,
        rsp_info: None,
    };
    roundtrip(
        &resp,
        &[
            0x30, 0x0D, 0x02, 0x01, 0x00, 0x30, 0x08, 0x02, 0x01, 0x02, 0x03, 0x03, 0x06, 0x00,
            0x40,
        ],
    );
}

#[test]
fn pvno_and_cert_req_msg_popo_signature_is_implicit() {
    let msg = CertReqMsg {
        cert_req: CertRequest {
            cert_req_id: Integer::from(0),
            cert_template: CertTemplate::default(),
            controls: None,
        },
        popo: Some(ProofOfPossession::Signature(
            cmp_core::asn1::PopoSigningKey {
                poposk_input: None,
                algorithm_identifier: AlgorithmIdentifier {
                    algorithm: oid::ECDSA_WITH_SHA256.to_owned(),
                    parameters: None,
                },
                signature: BitString::from_slice(&[0x01]),
            },
        )),
        reg_info: None,
    };
    let bytes = der(&msg);
    // certReq 30 05 02 01 00 30 00, popo [1] IMPLICIT POPOSigningKey: A1 L 30 0A 06 08 …
    assert_eq!(
        hex::encode(&bytes[2..11]),
        "300502010030 00a110".replace(' ', "")
    );
    let _ = Name::RdnSequence(vec![]);
}
