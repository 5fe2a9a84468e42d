//! `openssl ca` over the committed test CA (or a look-alike with its own key): certificates
//! with chosen validity and extensions, revocations, and CRLs with chosen update times, for
//! the revocation and signer-selection tests. Every file is made by OpenSSL, not by us.

use std::path::{Path, PathBuf};
use std::process::Command;

use cmp_core::asn1::CmpCertificate;

use crate::{fixtures, tools};

/// A CA directory for `openssl ca`.
#[derive(Debug)]
pub struct OpensslCa {
    dir: PathBuf,
}

/// Runs openssl, panicking with its standard error when it fails (or is missing).
pub fn openssl(args: &[&str]) -> String {
    let o = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl is needed: apt-get install -y openssl");
    assert!(
        o.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

const CONFIG: &str = "\
[ca]
default_ca = ca_section
[ca_section]
database = DIR/index.txt
new_certs_dir = DIR
certificate = DIR/ca-cert.pem
private_key = DIR/ca-key.pem
serial = DIR/serial
crlnumber = DIR/crlnumber
default_md = sha256
default_days = 30
default_crl_days = 30
policy = policy_any
unique_subject = no
copy_extensions = none
[policy_any]
commonName = supplied
organizationName = optional
[ee]
keyUsage = critical,digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[sub_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ee_no_ski]
keyUsage = critical,digitalSignature
subjectKeyIdentifier = none
authorityKeyIdentifier = keyid
";

impl OpensslCa {
    /// The committed test CA (`pki/ca-cert.pem`, `pki/ca-key.pem`) in a fresh directory.
    pub fn test_ca(label: &str) -> Self {
        let ca = Self::empty(label);
        std::fs::copy(fixtures::pki("ca-cert.pem"), ca.dir.join("ca-cert.pem")).expect("copy");
        std::fs::copy(fixtures::pki("ca-key.pem"), ca.dir.join("ca-key.pem")).expect("copy");
        ca
    }

    /// A CA from a certificate and key (PEM files), e.g. an intermediate issued by another.
    pub fn from_files(label: &str, cert: &Path, key: &Path) -> Self {
        let ca = Self::empty(label);
        std::fs::copy(cert, ca.dir.join("ca-cert.pem")).expect("copy");
        std::fs::copy(key, ca.dir.join("ca-key.pem")).expect("copy");
        ca
    }

    /// A CA with the test CA's name but a key of its own: what it signs does not verify with
    /// the real CA's key.
    pub fn impostor(label: &str) -> Self {
        let ca = Self::empty(label);
        let key = ca.dir.join("ca-key.pem");
        gen_key(&key);
        openssl(&[
            "req",
            "-x509",
            "-new",
            "-key",
            s(&key),
            "-subj",
            "/CN=CMP Test CA/O=cmp-rs test PKI",
            "-days",
            "30",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-out",
            s(&ca.dir.join("ca-cert.pem")),
        ]);
        ca
    }

    fn empty(label: &str) -> Self {
        let dir = tools::temp_dir(label);
        std::fs::write(dir.join("index.txt"), "").expect("index");
        std::fs::write(dir.join("serial"), "4001\n").expect("serial");
        std::fs::write(dir.join("crlnumber"), "01\n").expect("crlnumber");
        std::fs::write(dir.join("ca.cnf"), CONFIG.replace("DIR", s(&dir))).expect("config");
        OpensslCa { dir }
    }

    /// The directory (for files a test writes next to the CA's).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn cnf(&self) -> String {
        s(&self.dir.join("ca.cnf")).to_owned()
    }

    /// Issues a certificate for `key` (an existing PEM key file) with `subject` (as
    /// `/CN=…/O=…`), the extensions of section `ext` (`ee`, `ee_no_ski` or `sub_ca`), valid from
    /// `start` to `end` (`YYYYMMDDHHMMSSZ`; `None`: now and 30 days on). Returns the PEM
    /// certificate's path.
    pub fn issue(
        &self,
        name: &str,
        key: &Path,
        subject: &str,
        ext: &str,
        validity: Option<(&str, &str)>,
    ) -> PathBuf {
        let csr = self.dir.join(format!("{name}.csr"));
        let cert = self.dir.join(format!("{name}.pem"));
        openssl(&[
            "req",
            "-new",
            "-key",
            s(key),
            "-subj",
            subject,
            "-out",
            s(&csr),
        ]);
        let cnf = self.cnf();
        let mut args = vec![
            "ca",
            "-batch",
            "-notext",
            "-config",
            &cnf,
            "-extensions",
            ext,
            "-in",
            s(&csr),
            "-out",
            s(&cert),
        ];
        if let Some((start, end)) = validity {
            args.extend(["-startdate", start, "-enddate", end]);
        }
        openssl(&args);
        cert
    }

    /// A fresh EC P-256 key in the CA's directory.
    pub fn new_key(&self, name: &str) -> PathBuf {
        let key = self.dir.join(format!("{name}-key.pem"));
        gen_key(&key);
        key
    }

    /// Records `cert` (a PEM file) as revoked with `reason` (e.g. `keyCompromise`).
    pub fn revoke(&self, cert: &Path, reason: &str) {
        let cnf = self.cnf();
        openssl(&[
            "ca",
            "-config",
            &cnf,
            "-revoke",
            s(cert),
            "-crl_reason",
            reason,
        ]);
    }

    /// A CRL (PEM) of what was revoked so far, with lastUpdate and nextUpdate as given
    /// (`YYYYMMDDHHMMSSZ`; `None`: now and 30 days on).
    pub fn crl(&self, name: &str, updates: Option<(&str, &str)>) -> PathBuf {
        let out = self.dir.join(format!("{name}.crl.pem"));
        let cnf = self.cnf();
        let mut args = vec!["ca", "-gencrl", "-config", &cnf, "-out", s(&out)];
        if let Some((last, next)) = updates {
            args.extend(["-crl_lastupdate", last, "-crl_nextupdate", next]);
        }
        openssl(&args);
        out
    }
}

/// A self-signed CA root `dir/cert` with a new P-256 key `dir/key` (unencrypted), named
/// `subject` (`/CN=…`), valid `days` days: basicConstraints CA, keyUsage keyCertSign, cRLSign
/// and digitalSignature.
pub fn self_signed_root(dir: &Path, key: &str, cert: &str, subject: &str, days: &str) {
    let (key, cert) = (dir.join(key), dir.join(cert));
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        s(&key),
        "-out",
        s(&cert),
        "-subj",
        subject,
        "-days",
        days,
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
    ]);
}

/// Generates an EC P-256 key into `path` (PEM PKCS#8).
pub fn gen_key(path: &Path) {
    openssl(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
        s(path),
    ]);
}

/// `openssl` with `args`, its standard output as bytes (DER), panicking with its standard
/// error when it fails.
fn openssl_bytes(args: &[&str]) -> Vec<u8> {
    let o = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl is needed: apt-get install -y openssl");
    assert!(
        o.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o.stdout
}

/// Reads a PEM certificate file as a [`CmpCertificate`] (converted by openssl; nothing is
/// written next to the file).
pub fn read_pem_cert(path: &Path) -> CmpCertificate {
    let der = openssl_bytes(&["x509", "-in", s(path), "-outform", "DER"]);
    CmpCertificate::from_der(&der).expect("certificate")
}

/// Reads a PEM CRL file as DER.
pub fn read_pem_crl(path: &Path) -> Vec<u8> {
    openssl_bytes(&["crl", "-in", s(path), "-outform", "DER"])
}
