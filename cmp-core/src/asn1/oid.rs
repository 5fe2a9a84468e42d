//! Object identifiers of CMP, CRMF and the algorithms they use (RFC 9810, RFC 4211, RFC 9481).
//!
//! [`name`] gives the short name `inspect` prints for an OID.

use rasn::types::Oid;

/// `caProtEncCert` (1.3.6.1.5.5.7.4.1).
pub const IT_CA_PROT_ENC_CERT: &Oid = Oid::const_new(&[1, 3, 6, 1, 5, 5, 7, 4, 1]);
/// `signKeyPairTypes` (1.3.6.1.5.5.7.4.2).
pub const IT_SIGN_KEY_PAIR_TYPES: &Oid = Oid::const_new(&[1, 3, 6, 1, 5, 5, 7, 4, 2]);
/// `encKeyPairTypes` (1.3.6.1.5.5.7.4.3).
pub const IT_ENC_KEY_PAIR_TYPES: &Oid = Oid::const_new(&[1, 3, 6, 1, 5, 5, 7, 4, 3]);
/// `preferredSymmAlg` (1.3.6.1.5.5.7.4.4).
pub const IT_PREFERRED_SYMM_ALG: &Oid = Oid::const_new(&[1, 3, 6, 1, 5, 5, 7, 4, 4]);
/// `caKeyUpdateInfo` (1.3.6.1.5.5.7.4.5).
pub const IT_CA_KEY_UPDATE_INFO: &Oid = Oid::const_new(&[1, 3, 6, 1, 5, 5, 7, 4, 5]);
/// `currentCRL` (1.3.6.1.5.5.7.4.6).
pub const IT_CURRENT_CRL: &Oid = Oid::const_new(&[1, 3, 6, 1, 5, 5, 7, 4, 6]);
/// `unsupportedOIDs` (1.3.6.1.5.5.7.4.7).
pub const IT_UNSUPPORTED_OIDS: &Oid = Oid::const_new(&[1, 3, 6, 1, 5, 5, 7, 4, 7]);
/// `keyPairParamReq` (1.3.6.1.5.5.7.4.10).
pub const IT_KEY_PAIR_PARAM_REQ: &Oid = Oid::const_new(&[1, 3, 6, 1, 5, 5, 7, 4, 10]);
/// `keyPairParamRep` (1.3.6.1.5.5.7.4.11).
pub const IT_KEY_PAIR_PARAM_REP: &Oid = Oid::const_new(&[1, 3, 6, 1, 5, 5, 7, 4, 11]);
/// `revPassphrase` (1.3.6.1.5.5.7.4.12).
pub const IT_REV_PASSPHRASE: &Oid = Oid::const_new(&[1, 3, 6, 1, 5, 5, 7, 4, 12]);
/// `implicitConfirm` (1.3.6.1.5.5.7.4.13).
pub const IT_IMPLICIT_CONFIRM: &Oid = Oid::const_new(&[1, 3, 6, 1, 5, 5, 7, 4, 13]);
/// `confirmWaitTime` (1.3.6.1.5.5.7.4.14).
pub const IT_CONFIRM_WAIT_TIME: &Oid = Oid::const_new(&[1, 3, 6, 1, 5, 5, 7, 4, 14]);
/// `origPKIMessage` (1.3.6.1.5.5.7.4.15).
pub const IT_ORIG_PKI_MESSAGE: &Oid = Oid::const_new(&[1, 3, 6, 1, 5, 5, 7, 4, 15]);
/// `suppLangTags` (1.3.6.1.5.5.7.4.16).
pub const IT_SUPP_LANG_TAGS: &Oid = Oid::const_new(&[1, 3, 6, 1, 5, 5, 7, 4, 16]);
/// `caCerts` (1.3.6.1.5.5.7.4.17).
pub const IT_CA_CERTS: &Oid = Oid::const_new(&[1, 3, 6, 1, 5, 5, 7, 4, 17]);
/// `rootCaKeyUpdate` (1.3.6.1.5.5.7.4.18).
pub const IT_ROOT_CA_KEY_UPDATE: &Oid = Oid::const_new(&[1, 3, 6, 1, 5, 5, 7, 4, 18]);
/// `certReqTemplate` (1.3.6.1.5.5.7.4.19).
pub const IT_CERT_REQ_TEMPLATE: &Oid = Oid::const_new(&[1, 3, 6, 1, 5, 5, 7, 4, 19]);
/// `rootCaCert` (1.3.6.1.5.5.7.4.20).
pub const IT_ROOT_CA_CERT: &Oid = Oid::const_new(&[1, 3, 6, 1, 5, 5, 7, 4, 20]);
/// `certProfile` (1.3.6.1.5.5.7.4.21).
pub const IT_CERT_PROFILE: &Oid = Oid::const_new(&[1, 3, 6, 1, 5, 5, 7, 4, 21]);
/// `crlStatusList` (1.3.6.1.5.5.7.4.22).
pub const IT_CRL_STATUS_LIST: &Oid = Oid::const_new(&[1, 3, 6, 1, 5, 5, 7, 4, 22]);
/// `crls` (1.3.6.1.5.5.7.4.23).
pub const IT_CRLS: &Oid = Oid::const_new(&[1, 3, 6, 1, 5, 5, 7, 4, 23]);
/// `KemCiphertextInfo` (1.3.6.1.5.5.7.4.24).
pub const IT_KEM_CIPHERTEXT_INFO: &Oid = Oid::const_new(&[1, 3, 6, 1, 5, 5, 7, 4, 24]);
/// `regToken` (1.3.6.1.5.5.7.5.1.1).
pub const REG_CTRL_REG_TOKEN: &Oid = Oid::const_new(&[1, 3, 6, 1, 5, 5, 7, 5, 1, 1]);
/// `authenticator` (1.3.6.1.5.5.7.5.1.2).
pub const REG_CTRL_AUTHENTICATOR: &Oid = Oid::const_new(&[1, 3, 6, 1, 5, 5, 7, 5, 1, 2]);
/// `pkiPublicationInfo` (1.3.6.1.5.5.7.5.1.3).
pub const REG_CTRL_PKI_PUBLICATION_INFO: &Oid = Oid::const_new(&[1, 3, 6, 1, 5, 5, 7, 5, 1, 3]);
/// `pkiArchiveOptions` (1.3.6.1.5.5.7.5.1.4).
pub const REG_CTRL_PKI_ARCHIVE_OPTIONS: &Oid = Oid::const_new(&[1, 3, 6, 1, 5, 5, 7, 5, 1, 4]);
/// `oldCertID` (1.3.6.1.5.5.7.5.1.5).
pub const REG_CTRL_OLD_CERT_ID: &Oid = Oid::const_new(&[1, 3, 6, 1, 5, 5, 7, 5, 1, 5]);
/// `protocolEncrKey` (1.3.6.1.5.5.7.5.1.6).
pub const REG_CTRL_PROTOCOL_ENCR_KEY: &Oid = Oid::const_new(&[1, 3, 6, 1, 5, 5, 7, 5, 1, 6]);
/// `algId` (1.3.6.1.5.5.7.5.1.11).
pub const REG_CTRL_ALG_ID: &Oid = Oid::const_new(&[1, 3, 6, 1, 5, 5, 7, 5, 1, 11]);
/// `rsaKeyLen` (1.3.6.1.5.5.7.5.1.12).
pub const REG_CTRL_RSA_KEY_LEN: &Oid = Oid::const_new(&[1, 3, 6, 1, 5, 5, 7, 5, 1, 12]);
/// `utf8Pairs` (1.3.6.1.5.5.7.5.2.1).
pub const REG_INFO_UTF8_PAIRS: &Oid = Oid::const_new(&[1, 3, 6, 1, 5, 5, 7, 5, 2, 1]);
/// `certReq` (1.3.6.1.5.5.7.5.2.2).
pub const REG_INFO_CERT_REQ: &Oid = Oid::const_new(&[1, 3, 6, 1, 5, 5, 7, 5, 2, 2]);
/// `PasswordBasedMac` (1.2.840.113533.7.66.13).
pub const PASSWORD_BASED_MAC: &Oid = Oid::const_new(&[1, 2, 840, 113533, 7, 66, 13]);
/// `DHBasedMac` (1.2.840.113533.7.66.30).
pub const DH_BASED_MAC: &Oid = Oid::const_new(&[1, 2, 840, 113533, 7, 66, 30]);
/// `KemBasedMac` (1.2.840.113533.7.66.16).
pub const KEM_BASED_MAC: &Oid = Oid::const_new(&[1, 2, 840, 113533, 7, 66, 16]);
/// `PBMAC1` (1.2.840.113549.1.5.14).
pub const PBMAC1: &Oid = Oid::const_new(&[1, 2, 840, 113549, 1, 5, 14]);
/// `PBKDF2` (1.2.840.113549.1.5.12).
pub const PBKDF2: &Oid = Oid::const_new(&[1, 2, 840, 113549, 1, 5, 12]);
/// `hmacWithSHA1` (1.2.840.113549.2.7).
pub const HMAC_WITH_SHA1: &Oid = Oid::const_new(&[1, 2, 840, 113549, 2, 7]);
/// `hmacWithSHA224` (1.2.840.113549.2.8).
pub const HMAC_WITH_SHA224: &Oid = Oid::const_new(&[1, 2, 840, 113549, 2, 8]);
/// `hmacWithSHA256` (1.2.840.113549.2.9).
pub const HMAC_WITH_SHA256: &Oid = Oid::const_new(&[1, 2, 840, 113549, 2, 9]);
/// `hmacWithSHA384` (1.2.840.113549.2.10).
pub const HMAC_WITH_SHA384: &Oid = Oid::const_new(&[1, 2, 840, 113549, 2, 10]);
/// `hmacWithSHA512` (1.2.840.113549.2.11).
pub const HMAC_WITH_SHA512: &Oid = Oid::const_new(&[1, 2, 840, 113549, 2, 11]);
/// `hmac-sha1` (1.3.6.1.5.5.8.1.2).
pub const HMAC_SHA1: &Oid = Oid::const_new(&[1, 3, 6, 1, 5, 5, 8, 1, 2]);
/// `sha1` (1.3.14.3.2.26).
pub const SHA1: &Oid = Oid::const_new(&[1, 3, 14, 3, 2, 26]);
/// `sha224` (2.16.840.1.101.3.4.2.4).
pub const SHA224: &Oid = Oid::const_new(&[2, 16, 840, 1, 101, 3, 4, 2, 4]);
/// `sha256` (2.16.840.1.101.3.4.2.1).
pub const SHA256: &Oid = Oid::const_new(&[2, 16, 840, 1, 101, 3, 4, 2, 1]);
/// `sha384` (2.16.840.1.101.3.4.2.2).
pub const SHA384: &Oid = Oid::const_new(&[2, 16, 840, 1, 101, 3, 4, 2, 2]);
/// `sha512` (2.16.840.1.101.3.4.2.3).
pub const SHA512: &Oid = Oid::const_new(&[2, 16, 840, 1, 101, 3, 4, 2, 3]);
/// `shake128` (2.16.840.1.101.3.4.2.11).
pub const SHAKE128: &Oid = Oid::const_new(&[2, 16, 840, 1, 101, 3, 4, 2, 11]);
/// `shake256` (2.16.840.1.101.3.4.2.12).
pub const SHAKE256: &Oid = Oid::const_new(&[2, 16, 840, 1, 101, 3, 4, 2, 12]);
/// `rsaEncryption` (1.2.840.113549.1.1.1).
pub const RSA_ENCRYPTION: &Oid = Oid::const_new(&[1, 2, 840, 113549, 1, 1, 1]);
/// `sha1WithRSAEncryption` (1.2.840.113549.1.1.5).
pub const SHA1_WITH_RSA: &Oid = Oid::const_new(&[1, 2, 840, 113549, 1, 1, 5]);
/// `sha256WithRSAEncryption` (1.2.840.113549.1.1.11).
pub const SHA256_WITH_RSA: &Oid = Oid::const_new(&[1, 2, 840, 113549, 1, 1, 11]);
/// `sha384WithRSAEncryption` (1.2.840.113549.1.1.12).
pub const SHA384_WITH_RSA: &Oid = Oid::const_new(&[1, 2, 840, 113549, 1, 1, 12]);
/// `sha512WithRSAEncryption` (1.2.840.113549.1.1.13).
pub const SHA512_WITH_RSA: &Oid = Oid::const_new(&[1, 2, 840, 113549, 1, 1, 13]);
/// `sha224WithRSAEncryption` (1.2.840.113549.1.1.14).
pub const SHA224_WITH_RSA: &Oid = Oid::const_new(&[1, 2, 840, 113549, 1, 1, 14]);
/// `RSASSA-PSS` (1.2.840.113549.1.1.10).
pub const RSASSA_PSS: &Oid = Oid::const_new(&[1, 2, 840, 113549, 1, 1, 10]);
/// `MGF1` (1.2.840.113549.1.1.8).
pub const MGF1: &Oid = Oid::const_new(&[1, 2, 840, 113549, 1, 1, 8]);
/// `ecPublicKey` (1.2.840.10045.2.1).
pub const EC_PUBLIC_KEY: &Oid = Oid::const_new(&[1, 2, 840, 10045, 2, 1]);
/// `ecdsa-with-SHA1` (1.2.840.10045.4.1).
pub const ECDSA_WITH_SHA1: &Oid = Oid::const_new(&[1, 2, 840, 10045, 4, 1]);
/// `ecdsa-with-SHA224` (1.2.840.10045.4.3.1).
pub const ECDSA_WITH_SHA224: &Oid = Oid::const_new(&[1, 2, 840, 10045, 4, 3, 1]);
/// `ecdsa-with-SHA256` (1.2.840.10045.4.3.2).
pub const ECDSA_WITH_SHA256: &Oid = Oid::const_new(&[1, 2, 840, 10045, 4, 3, 2]);
/// `ecdsa-with-SHA384` (1.2.840.10045.4.3.3).
pub const ECDSA_WITH_SHA384: &Oid = Oid::const_new(&[1, 2, 840, 10045, 4, 3, 3]);
/// `ecdsa-with-SHA512` (1.2.840.10045.4.3.4).
pub const ECDSA_WITH_SHA512: &Oid = Oid::const_new(&[1, 2, 840, 10045, 4, 3, 4]);
/// `prime256v1` (1.2.840.10045.3.1.7).
pub const SECP256R1: &Oid = Oid::const_new(&[1, 2, 840, 10045, 3, 1, 7]);
/// `secp384r1` (1.3.132.0.34).
pub const SECP384R1: &Oid = Oid::const_new(&[1, 3, 132, 0, 34]);
/// `secp521r1` (1.3.132.0.35).
pub const SECP521R1: &Oid = Oid::const_new(&[1, 3, 132, 0, 35]);
/// `Ed25519` (1.3.101.112).
pub const ED25519: &Oid = Oid::const_new(&[1, 3, 101, 112]);
/// `Ed448` (1.3.101.113).
pub const ED448: &Oid = Oid::const_new(&[1, 3, 101, 113]);
/// `X25519` (1.3.101.110).
pub const X25519: &Oid = Oid::const_new(&[1, 3, 101, 110]);
/// `aes128-GMAC` (2.16.840.1.101.3.4.1.9).
pub const AES128_GMAC: &Oid = Oid::const_new(&[2, 16, 840, 1, 101, 3, 4, 1, 9]);
/// `aes192-GMAC` (2.16.840.1.101.3.4.1.29).
pub const AES192_GMAC: &Oid = Oid::const_new(&[2, 16, 840, 1, 101, 3, 4, 1, 29]);
/// `aes256-GMAC` (2.16.840.1.101.3.4.1.49).
pub const AES256_GMAC: &Oid = Oid::const_new(&[2, 16, 840, 1, 101, 3, 4, 1, 49]);
/// `id-kp-cmKGA` (1.3.6.1.5.5.7.3.32).
pub const KP_CM_KGA: &Oid = Oid::const_new(&[1, 3, 6, 1, 5, 5, 7, 3, 32]);
/// `id-kp-cmcCA` (1.3.6.1.5.5.7.3.27).
pub const KP_CMC_CA: &Oid = Oid::const_new(&[1, 3, 6, 1, 5, 5, 7, 3, 27]);
/// `id-kp-cmcRA` (1.3.6.1.5.5.7.3.28).
pub const KP_CMC_RA: &Oid = Oid::const_new(&[1, 3, 6, 1, 5, 5, 7, 3, 28]);
/// `reasonCode` (2.5.29.21).
pub const CE_REASON_CODE: &Oid = Oid::const_new(&[2, 5, 29, 21]);
/// `subjectAltName` (2.5.29.17).
pub const CE_SUBJECT_ALT_NAME: &Oid = Oid::const_new(&[2, 5, 29, 17]);
/// `keyUsage` (2.5.29.15).
pub const CE_KEY_USAGE: &Oid = Oid::const_new(&[2, 5, 29, 15]);
/// `extKeyUsage` (2.5.29.37).
pub const CE_EXT_KEY_USAGE: &Oid = Oid::const_new(&[2, 5, 29, 37]);
/// `basicConstraints` (2.5.29.19).
pub const CE_BASIC_CONSTRAINTS: &Oid = Oid::const_new(&[2, 5, 29, 19]);
/// `subjectKeyIdentifier` (2.5.29.14).
pub const CE_SUBJECT_KEY_IDENTIFIER: &Oid = Oid::const_new(&[2, 5, 29, 14]);
/// `authorityKeyIdentifier` (2.5.29.35).
pub const CE_AUTHORITY_KEY_IDENTIFIER: &Oid = Oid::const_new(&[2, 5, 29, 35]);
/// `id-ct-encKeyWithID` (1.2.840.113549.1.9.16.1.21).
pub const CT_ENC_KEY_WITH_ID: &Oid = Oid::const_new(&[1, 2, 840, 113549, 1, 9, 16, 1, 21]);
/// `extensionRequest` (1.2.840.113549.1.9.14).
pub const PKCS9_EXTENSION_REQUEST: &Oid = Oid::const_new(&[1, 2, 840, 113549, 1, 9, 14]);
/// `CN` (2.5.4.3).
pub const AT_COMMON_NAME: &Oid = Oid::const_new(&[2, 5, 4, 3]);
/// `SN` (2.5.4.4).
pub const AT_SURNAME: &Oid = Oid::const_new(&[2, 5, 4, 4]);
/// `serialNumber` (2.5.4.5).
pub const AT_SERIAL_NUMBER: &Oid = Oid::const_new(&[2, 5, 4, 5]);
/// `C` (2.5.4.6).
pub const AT_COUNTRY: &Oid = Oid::const_new(&[2, 5, 4, 6]);
/// `L` (2.5.4.7).
pub const AT_LOCALITY: &Oid = Oid::const_new(&[2, 5, 4, 7]);
/// `ST` (2.5.4.8).
pub const AT_STATE: &Oid = Oid::const_new(&[2, 5, 4, 8]);
/// `street` (2.5.4.9).
pub const AT_STREET: &Oid = Oid::const_new(&[2, 5, 4, 9]);
/// `O` (2.5.4.10).
pub const AT_ORGANIZATION: &Oid = Oid::const_new(&[2, 5, 4, 10]);
/// `OU` (2.5.4.11).
pub const AT_ORGANIZATIONAL_UNIT: &Oid = Oid::const_new(&[2, 5, 4, 11]);
/// `title` (2.5.4.12).
pub const AT_TITLE: &Oid = Oid::const_new(&[2, 5, 4, 12]);
/// `GN` (2.5.4.42).
pub const AT_GIVEN_NAME: &Oid = Oid::const_new(&[2, 5, 4, 42]);
/// `dnQualifier` (2.5.4.46).
pub const AT_DN_QUALIFIER: &Oid = Oid::const_new(&[2, 5, 4, 46]);
/// `pseudonym` (2.5.4.65).
pub const AT_PSEUDONYM: &Oid = Oid::const_new(&[2, 5, 4, 65]);
/// `DC` (0.9.2342.19200300.100.1.25).
pub const AT_DOMAIN_COMPONENT: &Oid = Oid::const_new(&[0, 9, 2342, 19200300, 100, 1, 25]);
/// `UID` (0.9.2342.19200300.100.1.1).
pub const AT_USER_ID: &Oid = Oid::const_new(&[0, 9, 2342, 19200300, 100, 1, 1]);
/// `emailAddress` (1.2.840.113549.1.9.1).
pub const AT_EMAIL_ADDRESS: &Oid = Oid::const_new(&[1, 2, 840, 113549, 1, 9, 1]);

/// Every OID of this module with its name.
pub const NAMES: &[(&Oid, &str)] = &[
    (IT_CA_PROT_ENC_CERT, "caProtEncCert"),
    (IT_SIGN_KEY_PAIR_TYPES, "signKeyPairTypes"),
    (IT_ENC_KEY_PAIR_TYPES, "encKeyPairTypes"),
    (IT_PREFERRED_SYMM_ALG, "preferredSymmAlg"),
    (IT_CA_KEY_UPDATE_INFO, "caKeyUpdateInfo"),
    (IT_CURRENT_CRL, "currentCRL"),
    (IT_UNSUPPORTED_OIDS, "unsupportedOIDs"),
    (IT_KEY_PAIR_PARAM_REQ, "keyPairParamReq"),
    (IT_KEY_PAIR_PARAM_REP, "keyPairParamRep"),
    (IT_REV_PASSPHRASE, "revPassphrase"),
    (IT_IMPLICIT_CONFIRM, "implicitConfirm"),
    (IT_CONFIRM_WAIT_TIME, "confirmWaitTime"),
    (IT_ORIG_PKI_MESSAGE, "origPKIMessage"),
    (IT_SUPP_LANG_TAGS, "suppLangTags"),
    (IT_CA_CERTS, "caCerts"),
    (IT_ROOT_CA_KEY_UPDATE, "rootCaKeyUpdate"),
    (IT_CERT_REQ_TEMPLATE, "certReqTemplate"),
    (IT_ROOT_CA_CERT, "rootCaCert"),
    (IT_CERT_PROFILE, "certProfile"),
    (IT_CRL_STATUS_LIST, "crlStatusList"),
    (IT_CRLS, "crls"),
    (IT_KEM_CIPHERTEXT_INFO, "KemCiphertextInfo"),
    (REG_CTRL_REG_TOKEN, "regToken"),
    (REG_CTRL_AUTHENTICATOR, "authenticator"),
    (REG_CTRL_PKI_PUBLICATION_INFO, "pkiPublicationInfo"),
    (REG_CTRL_PKI_ARCHIVE_OPTIONS, "pkiArchiveOptions"),
    (REG_CTRL_OLD_CERT_ID, "oldCertID"),
    (REG_CTRL_PROTOCOL_ENCR_KEY, "protocolEncrKey"),
    (REG_CTRL_ALG_ID, "algId"),
    (REG_CTRL_RSA_KEY_LEN, "rsaKeyLen"),
    (REG_INFO_UTF8_PAIRS, "utf8Pairs"),
    (REG_INFO_CERT_REQ, "certReq"),
    (PASSWORD_BASED_MAC, "PasswordBasedMac"),
    (DH_BASED_MAC, "DHBasedMac"),
    (KEM_BASED_MAC, "KemBasedMac"),
    (PBMAC1, "PBMAC1"),
    (PBKDF2, "PBKDF2"),
    (HMAC_WITH_SHA1, "hmacWithSHA1"),
    (HMAC_WITH_SHA224, "hmacWithSHA224"),
    (HMAC_WITH_SHA256, "hmacWithSHA256"),
    (HMAC_WITH_SHA384, "hmacWithSHA384"),
    (HMAC_WITH_SHA512, "hmacWithSHA512"),
    (HMAC_SHA1, "hmac-sha1"),
    (SHA1, "sha1"),
    (SHA224, "sha224"),
    (SHA256, "sha256"),
    (SHA384, "sha384"),
    (SHA512, "sha512"),
    (SHAKE128, "shake128"),
    (SHAKE256, "shake256"),
    (RSA_ENCRYPTION, "rsaEncryption"),
    (SHA1_WITH_RSA, "sha1WithRSAEncryption"),
    (SHA256_WITH_RSA, "sha256WithRSAEncryption"),
    (SHA384_WITH_RSA, "sha384WithRSAEncryption"),
    (SHA512_WITH_RSA, "sha512WithRSAEncryption"),
    (SHA224_WITH_RSA, "sha224WithRSAEncryption"),
    (RSASSA_PSS, "RSASSA-PSS"),
    (MGF1, "MGF1"),
    (EC_PUBLIC_KEY, "ecPublicKey"),
    (ECDSA_WITH_SHA1, "ecdsa-with-SHA1"),
    (ECDSA_WITH_SHA224, "ecdsa-with-SHA224"),
    (ECDSA_WITH_SHA256, "ecdsa-with-SHA256"),
    (ECDSA_WITH_SHA384, "ecdsa-with-SHA384"),
    (ECDSA_WITH_SHA512, "ecdsa-with-SHA512"),
    (SECP256R1, "prime256v1"),
    (SECP384R1, "secp384r1"),
    (SECP521R1, "secp521r1"),
    (ED25519, "Ed25519"),
    (ED448, "Ed448"),
    (X25519, "X25519"),
    (AES128_GMAC, "aes128-GMAC"),
    (AES192_GMAC, "aes192-GMAC"),
    (AES256_GMAC, "aes256-GMAC"),
    (KP_CM_KGA, "id-kp-cmKGA"),
    (KP_CMC_CA, "id-kp-cmcCA"),
    (KP_CMC_RA, "id-kp-cmcRA"),
    (CE_REASON_CODE, "reasonCode"),
    (CE_SUBJECT_ALT_NAME, "subjectAltName"),
    (CE_KEY_USAGE, "keyUsage"),
    (CE_EXT_KEY_USAGE, "extKeyUsage"),
    (CE_BASIC_CONSTRAINTS, "basicConstraints"),
    (CE_SUBJECT_KEY_IDENTIFIER, "subjectKeyIdentifier"),
    (CE_AUTHORITY_KEY_IDENTIFIER, "authorityKeyIdentifier"),
    (CT_ENC_KEY_WITH_ID, "id-ct-encKeyWithID"),
    (PKCS9_EXTENSION_REQUEST, "extensionRequest"),
    (AT_COMMON_NAME, "CN"),
    (AT_SURNAME, "SN"),
    (AT_SERIAL_NUMBER, "serialNumber"),
    (AT_COUNTRY, "C"),
    (AT_LOCALITY, "L"),
    (AT_STATE, "ST"),
    (AT_STREET, "street"),
    (AT_ORGANIZATION, "O"),
    (AT_ORGANIZATIONAL_UNIT, "OU"),
    (AT_TITLE, "title"),
    (AT_GIVEN_NAME, "GN"),
    (AT_DN_QUALIFIER, "dnQualifier"),
    (AT_PSEUDONYM, "pseudonym"),
    (AT_DOMAIN_COMPONENT, "DC"),
    (AT_USER_ID, "UID"),
    (AT_EMAIL_ADDRESS, "emailAddress"),
];

/// The short name of a known OID, e.g. `implicitConfirm` for 1.3.6.1.5.5.7.4.13.
pub fn name(oid: &Oid) -> Option<&'static str> {
    NAMES.iter().find(|(o, _)| *o == oid).map(|(_, n)| *n)
}

/// The dotted form, e.g. `1.3.6.1.5.5.7.4.13`.
pub fn dotted(oid: &Oid) -> String {
    let mut s = String::new();
    for (i, arc) in oid.iter().enumerate() {
        if i > 0 {
            s.push('.');
        }
        s.push_str(&arc.to_string());
    }
    s
}

/// The name if known, else the dotted form.
pub fn display(oid: &Oid) -> String {
    name(oid).map_or_else(|| dotted(oid), str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_dotted_forms() {
        assert_eq!(name(IT_IMPLICIT_CONFIRM), Some("implicitConfirm"));
        assert_eq!(dotted(PBMAC1), "1.2.840.113549.1.5.14");
        assert_eq!(display(Oid::const_new(&[1, 2, 3])), "1.2.3");
    }

    #[test]
    fn names_are_unique() {
        for (i, (a, _)) in NAMES.iter().enumerate() {
            for (b, _) in &NAMES[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }
}
