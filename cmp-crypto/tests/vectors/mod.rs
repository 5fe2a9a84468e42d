//! Published known-answer vectors for the building blocks of PBM and PBMAC1 — FIPS 180-4's
//! examples (SHA-1 and SHA-2: "abc", the two-block messages, one million "a"), RFC 4231
//! (HMAC-SHA-224/256/384/512) with RFC 2202's HMAC-SHA-1 case, RFC 6070 (PBKDF2-HMAC-SHA1) and
//! RFC 7914 §11 (PBKDF2-HMAC-SHA256) — checked against any backend's [`Primitives`]. Used by
//! `known_answers.rs` (the default, software backend) and `aws_lc.rs`.

use DigestAlgorithm::*;
use cmp_core::crypto::{DigestAlgorithm, Primitives};

/// Name, message, hash, expected digest (hex).
type DigestVector = (&'static str, Vec<u8>, DigestAlgorithm, &'static str);

/// Name, key, data, hash, expected MAC (hex).
type HmacVector = (
    &'static str,
    Vec<u8>,
    Vec<u8>,
    DigestAlgorithm,
    &'static str,
);

/// PRF, password, salt, iterations, expected key (hex).
type Pbkdf2Vector = (
    DigestAlgorithm,
    &'static [u8],
    &'static [u8],
    u32,
    &'static str,
);

/// The FIPS 180-4 example messages and their digests.
fn digest_vectors() -> Vec<DigestVector> {
    let mut v = Vec::new();
    let m = b"abc".to_vec();
    v.push((
        "abc",
        m.clone(),
        Sha1,
        "a9993e364706816aba3e25717850c26c9cd0d89d",
    ));
    v.push((
        "abc",
        m.clone(),
        Sha224,
        "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7",
    ));
    v.push((
        "abc",
        m.clone(),
        Sha256,
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    ));
    v.push(("abc", m.clone(), Sha384, "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7"));
    v.push(("abc", m.clone(), Sha512, "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"));
    let m = b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".to_vec();
    v.push((
        "448 bits",
        m.clone(),
        Sha1,
        "84983e441c3bd26ebaae4aa1f95129e5e54670f1",
    ));
    v.push((
        "448 bits",
        m.clone(),
        Sha224,
        "75388b16512776cc5dba5da1fd890150b0c6455cb4f58b1952522525",
    ));
    v.push((
        "448 bits",
        m.clone(),
        Sha256,
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
    ));
    v.push(("448 bits", m.clone(), Sha384, "3391fdddfc8dc7393707a65b1b4709397cf8b1d162af05abfe8f450de5f36bc6b0455a8520bc4e6f5fe95b1fe3c8452b"));
    v.push(("448 bits", m.clone(), Sha512, "204a8fc6dda82f0a0ced7beb8e08a41657c16ef468b228a8279be331a703c33596fd15c13b1b07f9aa1d3bea57789ca031ad85c7a71dd70354ec631238ca3445"));
    let m = b"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu".to_vec();
    v.push((
        "896 bits",
        m.clone(),
        Sha1,
        "a49b2446a02c645bf419f995b67091253a04a259",
    ));
    v.push((
        "896 bits",
        m.clone(),
        Sha224,
        "c97ca9a559850ce97a04a96def6d99a9e0e0e2ab14e6b8df265fc0b3",
    ));
    v.push((
        "896 bits",
        m.clone(),
        Sha256,
        "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1",
    ));
    v.push(("896 bits", m.clone(), Sha384, "09330c33f71147e83d192fc782cd1b4753111b173b3b05d22fa08086e3b0f712fcc7c71a557e2db966c3e9fa91746039"));
    v.push(("896 bits", m.clone(), Sha512, "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909"));
    let m = vec![b'a'; 1_000_000];
    v.push((
        "one million a",
        m.clone(),
        Sha1,
        "34aa973cd4c4daa4f61eeb2bdbad27316534016f",
    ));
    v.push((
        "one million a",
        m.clone(),
        Sha224,
        "20794655980c91d8bbb4c1ea97618a4bf03f42581948b2ee4ee7ad67",
    ));
    v.push((
        "one million a",
        m.clone(),
        Sha256,
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
    ));
    v.push(("one million a", m.clone(), Sha384, "9d0e1809716474cb086e834e310a4a1ced149e9c00f248527972cec5704c2a5b07b8b3dc38ecc4ebae97ddd87f3d8985"));
    v.push(("one million a", m.clone(), Sha512, "e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973ebde0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b"));
    v
}

/// Every digest of `p` gives the FIPS 180-4 example values.
pub(crate) fn check_digests(backend: &str, p: &dyn Primitives) {
    for (name, message, alg, hex) in digest_vectors() {
        assert_eq!(
            hex::encode(p.digest(alg, &message).expect("digest")),
            hex,
            "{backend} {alg} of {name}"
        );
    }
}

/// PBM's iterated one-way function over "abc": one round is the FIPS 180-4 example; 2 and 500
/// rounds (OpenSSL's default count) as Python's `hashlib` (OpenSSL) computes them.
const ITERATED_ABC: [(DigestAlgorithm, u32, &str); 15] = [
    (Sha1, 1, "a9993e364706816aba3e25717850c26c9cd0d89d"),
    (Sha1, 2, "0d3ced9bec10a777aec23ccc353a8c08a633045e"),
    (Sha1, 500, "c54694dc40953a1ba0646b111b61b4945fbda8f7"),
    (
        Sha224,
        1,
        "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7",
    ),
    (
        Sha224,
        2,
        "2f6268de8b61017569d68593c00a7b442f9dcb898743f4262be4d444",
    ),
    (
        Sha224,
        500,
        "6d5781200bac83f02622474977a7485fec06380d0925d37c45ff22f3",
    ),
    (
        Sha256,
        1,
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    ),
    (
        Sha256,
        2,
        "4f8b42c22dd3729b519ba6f68d2da7cc5b2d606d05daed5ad5128cc03e6c6358",
    ),
    (
        Sha256,
        500,
        "cd5742e0b1e2eda98c4da660da317fd8e74ad1bd378e0fa85fc81701e7cdc0f4",
    ),
    (
        Sha384,
        1,
        "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7",
    ),
    (
        Sha384,
        2,
        "73100f01cf258766906c34a30f9a486f07259c627ea0696d97c4582560447f59a6df4a7cf960708271a30324b1481ef4",
    ),
    (
        Sha384,
        500,
        "0165241ab921ed1be61ceeae3c06134e3d874feb89bcf9ccbff2beb77eea195cd7330b2a67dd943cf3a0d33646886307",
    ),
    (
        Sha512,
        1,
        "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
    ),
    (
        Sha512,
        2,
        "373a9f3a902cf561003b513c94c5164ba4af135cbc4eb4d856b89ea5609523f130bbe5e453e6c645b2765a265aaeb1390c82c913130870636cd0c8ecf980d851",
    ),
    (
        Sha512,
        500,
        "4c326f5a091cdb4dc5e6de16d5f16610526020019bdc11fd49d7b8f15312c2dfae6f7b95b7a7a1fae951d4d47a501a7819bcf6498f31184dacbc8c71444bee9e",
    ),
];

/// `p`'s iterated digest (PBM's one-way function) gives the values above, and zero rounds
/// count as one.
pub(crate) fn check_digest_iterated(backend: &str, p: &dyn Primitives) {
    for (alg, rounds, hex) in ITERATED_ABC {
        let out = p.digest_iterated(alg, b"abc", rounds).expect("digest");
        assert_eq!(hex::encode(&*out), hex, "{backend} {alg} × {rounds}");
        if rounds == 1 {
            let zero = p.digest_iterated(alg, b"abc", 0).expect("digest");
            assert_eq!(hex::encode(&*zero), hex, "{backend} {alg} × 0");
        }
    }
}

/// RFC 4231 test cases 1–4, 6 and 7 (5 is a truncated output), and RFC 2202 test cases 1
/// and 2 for HMAC-SHA-1 (PBM's default MAC).
fn hmac_vectors() -> Vec<HmacVector> {
    let mut v = Vec::new();
    let (key, data): (Vec<u8>, Vec<u8>) = (vec![0x0b; 20], b"Hi There".to_vec());
    v.push((
        "test case 1",
        key.clone(),
        data.clone(),
        Sha1,
        "b617318655057264e28bc0b6fb378c8ef146be00",
    ));
    v.push((
        "test case 1",
        key.clone(),
        data.clone(),
        Sha224,
        "896fb1128abbdf196832107cd49df33f47b4b1169912ba4f53684b22",
    ));
    v.push((
        "test case 1",
        key.clone(),
        data.clone(),
        Sha256,
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
    ));
    v.push(("test case 1", key.clone(), data.clone(), Sha384, "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6"));
    v.push(("test case 1", key.clone(), data.clone(), Sha512, "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854"));
    let (key, data): (Vec<u8>, Vec<u8>) =
        (b"Jefe".to_vec(), b"what do ya want for nothing?".to_vec());
    v.push((
        "test case 2",
        key.clone(),
        data.clone(),
        Sha1,
        "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79",
    ));
    v.push((
        "test case 2",
        key.clone(),
        data.clone(),
        Sha224,
        "a30e01098bc6dbbf45690f3a7e9e6d0f8bbea2a39e6148008fd05e44",
    ));
    v.push((
        "test case 2",
        key.clone(),
        data.clone(),
        Sha256,
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    ));
    v.push(("test case 2", key.clone(), data.clone(), Sha384, "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649"));
    v.push(("test case 2", key.clone(), data.clone(), Sha512, "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"));
    let (key, data): (Vec<u8>, Vec<u8>) = (vec![0xaa; 20], vec![0xdd; 50]);
    v.push((
        "test case 3",
        key.clone(),
        data.clone(),
        Sha224,
        "7fb3cb3588c6c1f6ffa9694d7d6ad2649365b0c1f65d69d1ec8333ea",
    ));
    v.push((
        "test case 3",
        key.clone(),
        data.clone(),
        Sha256,
        "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
    ));
    v.push(("test case 3", key.clone(), data.clone(), Sha384, "88062608d3e6ad8a0aa2ace014c8a86f0aa635d947ac9febe83ef4e55966144b2a5ab39dc13814b94e3ab6e101a34f27"));
    v.push(("test case 3", key.clone(), data.clone(), Sha512, "fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb"));
    let (key, data): (Vec<u8>, Vec<u8>) = ((1..=25).collect(), vec![0xcd; 50]);
    v.push((
        "test case 4",
        key.clone(),
        data.clone(),
        Sha224,
        "6c11506874013cac6a2abc1bb382627cec6a90d86efc012de7afec5a",
    ));
    v.push((
        "test case 4",
        key.clone(),
        data.clone(),
        Sha256,
        "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
    ));
    v.push(("test case 4", key.clone(), data.clone(), Sha384, "3e8a69b7783c25851933ab6290af6ca77a9981480850009cc5577c6e1f573b4e6801dd23c4a7d679ccf8a386c674cffb"));
    v.push(("test case 4", key.clone(), data.clone(), Sha512, "b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3dba91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298dd"));
    let (key, data): (Vec<u8>, Vec<u8>) = (
        vec![0xaa; 131],
        b"Test Using Larger Than Block-Size Key - Hash Key First".to_vec(),
    );
    v.push((
        "test case 6",
        key.clone(),
        data.clone(),
        Sha224,
        "95e9a0db962095adaebe9b2d6f0dbce2d499f112f2d2b7273fa6870e",
    ));
    v.push((
        "test case 6",
        key.clone(),
        data.clone(),
        Sha256,
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
    ));
    v.push(("test case 6", key.clone(), data.clone(), Sha384, "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c60c2ef6ab4030fe8296248df163f44952"));
    v.push(("test case 6", key.clone(), data.clone(), Sha512, "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f3526b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598"));
    let (key, data): (Vec<u8>, Vec<u8>) = (vec![0xaa; 131], b"This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.".to_vec());
    v.push((
        "test case 7",
        key.clone(),
        data.clone(),
        Sha224,
        "3a854166ac5d9f023f54d517d0b39dbd946770db9c2b95c9f6f565d1",
    ));
    v.push((
        "test case 7",
        key.clone(),
        data.clone(),
        Sha256,
        "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
    ));
    v.push(("test case 7", key.clone(), data.clone(), Sha384, "6617178e941f020d351e2f254e8fd32c602420feb0b8fb9adccebb82461e99c5a678cc31e799176d3860e6110c46523e"));
    v.push(("test case 7", key.clone(), data.clone(), Sha512, "e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58"));
    v
}

/// Every HMAC of `p` gives the RFC 4231 (and RFC 2202) values.
pub(crate) fn check_hmacs(backend: &str, p: &dyn Primitives) {
    for (name, key, data, alg, hex) in hmac_vectors() {
        assert_eq!(
            hex::encode(p.hmac(alg, &key, &data).expect("hmac")),
            hex,
            "{backend} HMAC-{alg} {name}"
        );
    }
}

/// RFC 6070 (PBKDF2-HMAC-SHA1; the 16 777 216-iteration case is left out) and RFC 7914 §11
/// (PBKDF2-HMAC-SHA256): PRF, password, salt, iterations, derived key.
const PBKDF2_VECTORS: [Pbkdf2Vector; 7] = [
    (
        Sha1,
        b"password",
        b"salt",
        1,
        "0c60c80f961f0e71f3a9b524af6012062fe037a6",
    ),
    (
        Sha1,
        b"password",
        b"salt",
        2,
        "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957",
    ),
    (
        Sha1,
        b"password",
        b"salt",
        4096,
        "4b007901b765489abead49d926f721d065a429c1",
    ),
    (
        Sha1,
        b"passwordPASSWORDpassword",
        b"saltSALTsaltSALTsaltSALTsaltSALTsalt",
        4096,
        "3d2eec4fe41c849b80c8d83662c0e44a8b291a964cf2f07038",
    ),
    (
        Sha1,
        b"pass\0word",
        b"sa\0lt",
        4096,
        "56fa6aa75548099dcc37d7f03425e0c3",
    ),
    (
        Sha256,
        b"passwd",
        b"salt",
        1,
        "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783",
    ),
    (
        Sha256,
        b"Password",
        b"NaCl",
        80000,
        "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d",
    ),
];

/// PBKDF2 of `p` gives the RFC 6070 and RFC 7914 values.
pub(crate) fn check_pbkdf2(backend: &str, p: &dyn Primitives) {
    for (prf, password, salt, iterations, hex) in PBKDF2_VECTORS {
        let mut out = vec![0u8; hex.len() / 2];
        p.pbkdf2_hmac(prf, password, salt, iterations, &mut out)
            .expect("pbkdf2");
        assert_eq!(
            hex::encode(&out),
            hex,
            "{backend} PBKDF2-HMAC-{prf} c={iterations}"
        );
    }
}
