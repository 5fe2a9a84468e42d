//! rootCaKeyUpdate (RFC 9483 §4.3.2): the new root is believed only when newWithNew is
//! self-signed and newWithOld links it to the old root (or a trust anchor).

use std::path::Path;
use std::time::{Duration, SystemTime};

use cmp_core::asn1::{CmpCertificate, RootCaKeyUpdateContent};
use cmp_core::transaction::verify_root_ca_key_update;
use cmp_tests::openssl_ca::openssl;
use cmp_tests::{fixtures, tools};

fn der(path: &Path) -> CmpCertificate {
    let out = path.with_extension("der");
    openssl(&[
        "x509",
        "-in",
        path.to_str().expect("utf8"),
        "-outform",
        "DER",
        "-out",
        out.to_str().expect("utf8"),
    ]);
    CmpCertificate::from_der(&std::fs::read(out).expect("der")).expect("cert")
}

struct Pki {
    old: CmpCertificate,
    new_with_new: CmpCertificate,
    new_with_old: CmpCertificate,
    /// newWithOld valid for one day only.
    new_with_old_short: CmpCertificate,
    old_with_new: CmpCertificate,
}

fn pki(label: &str) -> Pki {
    let dir = tools::temp_dir(label);
    let p = |f: &str| dir.join(f).display().to_string();
    let fx = |f: &str| {
        fixtures::openssl_dir()
            .join("pki")
            .join(f)
            .display()
            .to_string()
    };
    let subject = "/CN=CMP Test CA/O=cmp-rs test PKI";
    openssl(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
        &p("new.key"),
    ]);
    openssl(&[
        "req",
        "-x509",
        "-new",
        "-key",
        &p("new.key"),
        "-subj",
        subject,
        "-days",
        "30",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
        "-out",
        &p("nwn.pem"),
    ]);
    std::fs::write(
        dir.join("ca.ext"),
        "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n",
    )
    .expect("ext");
    openssl(&[
        "req",
        "-new",
        "-key",
        &p("new.key"),
        "-subj",
        subject,
        "-out",
        &p("new.csr"),
    ]);
    openssl(&[
        "x509",
        "-req",
        "-in",
        &p("new.csr"),
        "-CA",
        &fx("ca-cert.pem"),
        "-CAkey",
        &fx("ca-key.pem"),
        "-set_serial",
        "501",
        "-days",
        "30",
        "-extfile",
        &p("ca.ext"),
        "-out",
        &p("nwo.pem"),
    ]);
    openssl(&[
        "x509",
        "-req",
        "-in",
        &p("new.csr"),
        "-CA",
        &fx("ca-cert.pem"),
        "-CAkey",
        &fx("ca-key.pem"),
        "-set_serial",
        "503",
        "-days",
        "1",
        "-extfile",
        &p("ca.ext"),
        "-out",
        &p("nwo-short.pem"),
    ]);
    openssl(&[
        "req",
        "-new",
        "-key",
        &fx("ca-key.pem"),
        "-subj",
        subject,
        "-out",
        &p("old.csr"),
    ]);
    openssl(&[
        "x509",
        "-req",
        "-in",
        &p("old.csr"),
        "-CA",
        &p("nwn.pem"),
        "-CAkey",
        &p("new.key"),
        "-set_serial",
        "502",
        "-days",
        "30",
        "-extfile",
        &p("ca.ext"),
        "-out",
        &p("own.pem"),
    ]);
    Pki {
        old: CmpCertificate::from_der(&fixtures::read("pki/ca-cert.der")).expect("old root"),
        new_with_new: der(&dir.join("nwn.pem")),
        new_with_old: der(&dir.join("nwo.pem")),
        new_with_old_short: der(&dir.join("nwo-short.pem")),
        old_with_new: der(&dir.join("own.pem")),
    }
}

#[test]
fn a_proper_update_is_believed_and_every_flaw_is_named() {
    let k = pki("rootupdate-flaws");
    let primitives = cmp_crypto::default_provider().primitives;
    let p = primitives.as_ref();
    let now = SystemTime::now();
    let good = RootCaKeyUpdateContent {
        new_with_new: k.new_with_new.clone(),
        new_with_old: Some(k.new_with_old.clone()),
        old_with_new: Some(k.old_with_new.clone()),
    };
    let new = verify_root_ca_key_update(&good, Some(&k.old), &[], p, now)
        .expect("verifies against the old root");
    assert_eq!(new.der(), k.new_with_new.der());
    verify_root_ca_key_update(&good, None, std::slice::from_ref(&k.old), p, now)
        .expect("verifies against the anchors");

    let err = |u: &RootCaKeyUpdateContent, old: Option<&CmpCertificate>| {
        verify_root_ca_key_update(u, old, &[], p, now)
            .expect_err("must fail")
            .to_string()
    };
    assert_eq!(
        err(
            &RootCaKeyUpdateContent {
                new_with_new: k.new_with_old.clone(),
                ..good.clone()
            },
            Some(&k.old)
        ),
        "rootCaKeyUpdate does not verify: newWithNew (O=cmp-rs test PKI,CN=CMP Test CA) is not self-signed"
    );
    assert_eq!(
        err(
            &RootCaKeyUpdateContent {
                new_with_old: None,
                ..good.clone()
            },
            Some(&k.old)
        ),
        "rootCaKeyUpdate does not verify: newWithOld is missing, so the new root cannot be linked to the old one"
    );
    assert_eq!(
        err(
            &RootCaKeyUpdateContent {
                new_with_old: Some(k.new_with_new.clone()),
                ..good.clone()
            },
            Some(&k.old)
        ),
        "rootCaKeyUpdate does not verify: newWithOld is not signed by the old root O=cmp-rs test PKI,CN=CMP Test CA"
    );
    let stranger = CmpCertificate::from_der(&fixtures::read("pki/vendor-cert.der")).expect("cert");
    assert_eq!(
        err(
            &RootCaKeyUpdateContent {
                new_with_old: Some(stranger),
                ..good.clone()
            },
            Some(&k.old)
        ),
        "rootCaKeyUpdate does not verify: newWithOld certifies a different key than newWithNew"
    );
    assert_eq!(
        err(
            &RootCaKeyUpdateContent {
                old_with_new: Some(k.new_with_old.clone()),
                ..good.clone()
            },
            Some(&k.old)
        ),
        "rootCaKeyUpdate does not verify: oldWithNew does not certify the old root's key with the new key"
    );
    assert_eq!(
        verify_root_ca_key_update(&good, None, &[], p, now)
            .expect_err("no anchors")
            .to_string(),
        "rootCaKeyUpdate does not verify: newWithOld is not signed by any trust anchor"
    );
}

#[test]
fn a_link_outside_its_validity_is_refused_by_name() {
    let k = pki("rootupdate-validity");
    let primitives = cmp_crypto::default_provider().primitives;
    let p = primitives.as_ref();
    let day = Duration::from_secs(86_400);
    let validity = |c: &CmpCertificate| {
        format!(
            "it is valid from {} to {}",
            cmp_core::asn1::format_unix(c.not_before_unix()),
            cmp_core::asn1::format_unix(c.not_after_unix())
        )
    };
    let good = RootCaKeyUpdateContent {
        new_with_new: k.new_with_new.clone(),
        new_with_old: Some(k.new_with_old.clone()),
        old_with_new: Some(k.old_with_new.clone()),
    };
    let check = |u: &RootCaKeyUpdateContent, at: SystemTime| {
        verify_root_ca_key_update(u, Some(&k.old), &[], p, at)
            .expect_err("outside the validity")
            .to_string()
    };
    // Two days on, the one-day newWithOld has expired while the others are still valid.
    let short = RootCaKeyUpdateContent {
        new_with_old: Some(k.new_with_old_short.clone()),
        ..good.clone()
    };
    verify_root_ca_key_update(&short, Some(&k.old), &[], p, SystemTime::now())
        .expect("valid today");
    assert_eq!(
        check(&short, SystemTime::now() + 2 * day),
        format!(
            "rootCaKeyUpdate does not verify: newWithOld (O=cmp-rs test PKI,CN=CMP Test CA) has expired: {}",
            validity(&k.new_with_old_short)
        )
    );
    // 40 days on, newWithNew (30 days) is checked first.
    assert_eq!(
        check(&good, SystemTime::now() + 40 * day),
        format!(
            "rootCaKeyUpdate does not verify: newWithNew (O=cmp-rs test PKI,CN=CMP Test CA) has expired: {}",
            validity(&k.new_with_new)
        )
    );
    // A clock a day behind the issuance: nothing is valid yet.
    assert_eq!(
        check(&good, SystemTime::now() - day),
        format!(
            "rootCaKeyUpdate does not verify: newWithNew (O=cmp-rs test PKI,CN=CMP Test CA) is not valid yet: {}",
            validity(&k.new_with_new)
        )
    );
}
