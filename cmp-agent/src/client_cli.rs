//! The options of the one-shot client commands (`ir`, `cr`, `kur`, `p10cr`, `ccr`, `rr`,
//! `genm`). Names follow `openssl cmp`.

use std::path::PathBuf;

use clap::Args;

use crate::secret::SecretSource;

/// Options every client command shares.
#[derive(Debug, Args, Clone)]
pub(crate) struct ClientArgs {
    /// The CA or RA: http://host:port/path, https://…, tcp://host:port or tcps://… (the ports are optional).
    #[arg(long, value_name = "URL", help_heading = "Server")]
    pub(crate) server: String,

    /// The recipient name (the CA), as /O=Org/CN=x or CN=x,O=Org; NULL-DN if not given.
    #[arg(long, value_name = "DN", help_heading = "Server")]
    pub(crate) recipient: Option<String>,

    /// Use this HTTP proxy (default: http_proxy/https_proxy from the environment).
    #[arg(long, value_name = "URL", help_heading = "Server")]
    pub(crate) proxy: Option<String>,

    /// Hosts reached without the proxy (comma-separated, `*` for all); added to no_proxy from
    /// the environment.
    #[arg(long, value_name = "LIST", help_heading = "Server")]
    pub(crate) no_proxy: Option<String>,

    /// Timeout of one message exchange in seconds (at least 1).
    #[arg(
        long,
        value_name = "S",
        default_value_t = 120,
        value_parser = clap::value_parser!(u64).range(1..),
        help_heading = "Server"
    )]
    pub(crate) msg_timeout: u64,

    /// Timeout of the whole transaction, polling included, in seconds (0: none).
    #[arg(long, value_name = "S", default_value_t = 0, help_heading = "Server")]
    pub(crate) total_timeout: u64,

    /// Shared secret for MAC protection (PBM): pass:TEXT, env:VAR or file:PATH.
    #[arg(long, value_name = "SRC", help_heading = "Protection")]
    pub(crate) secret: Option<SecretSource>,

    /// The reference (senderKID) that goes with --secret.
    #[arg(long = "ref", value_name = "VALUE", help_heading = "Protection")]
    pub(crate) reference: Option<String>,

    /// Protect with PBMAC1 (PBKDF2-HMAC-SHA256) instead of PasswordBasedMac.
    #[arg(long, help_heading = "Protection")]
    pub(crate) pbmac1: bool,

    /// PBM / PBMAC1 iteration count (default 500 for PBM, 10000 for PBMAC1).
    #[arg(long, value_name = "N", help_heading = "Protection")]
    pub(crate) pbm_iterations: Option<u32>,

    /// PBM MAC hash (sha1, sha256, …); default sha1 (hmac-sha1), which servers expect.
    #[arg(
        long,
        value_name = "ALG",
        default_value = "sha1",
        help_heading = "Protection"
    )]
    pub(crate) mac: String,

    /// PBM one-way function (sha256, …).
    #[arg(
        long,
        value_name = "ALG",
        default_value = "sha256",
        help_heading = "Protection"
    )]
    pub(crate) digest: String,

    /// Our certificate for signature protection (with --key).
    #[arg(long, value_name = "FILE", help_heading = "Protection")]
    pub(crate) cert: Option<PathBuf>,

    /// The key of --cert: a PEM/DER file or a pkcs11: URI.
    #[arg(long, value_name = "FILE|URI", help_heading = "Protection")]
    pub(crate) key: Option<String>,

    /// Password of an encrypted --key file.
    #[arg(long, value_name = "SRC", help_heading = "Protection")]
    pub(crate) keypass: Option<SecretSource>,

    /// The key backend that loads key files (--key, --newkey) and generates gen:ALG keys:
    /// software, aws-lc (when built with it), or a loaded key backend plugin; pkcs11: URIs
    /// always go to the pkcs11 backend. `cmp-agent plugins` lists them. Default: key_backend
    /// of the configuration, else software.
    #[arg(long, value_name = "NAME", help_heading = "Protection")]
    pub(crate) key_backend: Option<String>,

    /// More certificates to send in extraCerts (the chain of --cert).
    #[arg(long, value_name = "FILE", help_heading = "Protection")]
    pub(crate) extracerts: Option<PathBuf>,

    /// Trust anchors for the server's signing certificate.
    #[arg(long, value_name = "FILE", help_heading = "Trust")]
    pub(crate) trusted: Option<PathBuf>,

    /// Intermediate certificates for the server's path.
    #[arg(long, value_name = "FILE", help_heading = "Trust")]
    pub(crate) untrusted: Option<PathBuf>,

    /// A pinned server certificate: responses must be signed with it.
    #[arg(long, value_name = "FILE", help_heading = "Trust")]
    pub(crate) srvcert: Option<PathBuf>,

    /// The sender name responses must carry.
    #[arg(long, value_name = "DN", help_heading = "Trust")]
    pub(crate) expect_sender: Option<String>,

    /// INTEROP QUIRK, weakens security (openssl's -unprotected_errors): accept, with a
    /// warning, a response whose protection is missing or does not verify when it is an error
    /// message, a rejection (ip/cp/kup/ccp/rp) or a pkiConf; a positive answer is never
    /// accepted so.
    #[arg(long, help_heading = "Trust")]
    pub(crate) unprotected_errors: bool,

    /// CRLs (PEM or DER, one or more per file; repeatable) for --crl-check and
    /// --crl-check-all, e.g. what `genm --infotype crlStatusList --crlout` fetched.
    #[arg(long, value_name = "FILE", help_heading = "Trust")]
    pub(crate) crls: Vec<PathBuf>,

    /// Check the leaf of every path against --crls: the CMP signer, the issued certificate
    /// (--out-trusted) and the TLS server. A revoked leaf, or one without a current CRL from
    /// its issuer, fails.
    #[arg(long, help_heading = "Trust")]
    pub(crate) crl_check: bool,

    /// Like --crl-check, for every certificate of each path but the trust anchor.
    #[arg(long, help_heading = "Trust")]
    pub(crate) crl_check_all: bool,

    /// 3GPP TS 33.310 first contact: for an ip only, when the signer does not chain to
    /// --trusted, accept a self-signed root from the ip's extraCerts if it validates both the
    /// signer and the new certificate; the root is written to --cacertsout to be pinned.
    #[arg(long, help_heading = "Trust")]
    pub(crate) bootstrap_trust_from_ip: bool,

    /// INTEROP QUIRK, weakens security: accept a signer without digitalSignature keyUsage.
    #[arg(long, help_heading = "Trust")]
    pub(crate) ignore_keyusage: bool,

    /// Trust anchors for the server's TLS certificate (https, tcps).
    #[arg(long, value_name = "FILE", help_heading = "TLS")]
    pub(crate) tls_trusted: Option<PathBuf>,

    /// Also trust the operating system's trust store for the TLS server certificate.
    #[arg(long, help_heading = "TLS")]
    pub(crate) tls_system_roots: bool,

    /// Our TLS client certificate.
    #[arg(long, value_name = "FILE", help_heading = "TLS")]
    pub(crate) tls_cert: Option<PathBuf>,

    /// The key of --tls-cert: a PEM file, or a `pkcs11:` URI (the handshake is then signed
    /// inside the token).
    #[arg(long, value_name = "FILE", help_heading = "TLS")]
    pub(crate) tls_key: Option<PathBuf>,

    /// Password of an encrypted --tls-key.
    #[arg(long, value_name = "SRC", help_heading = "TLS")]
    pub(crate) tls_keypass: Option<SecretSource>,

    /// Check the TLS server certificate against this name instead of the URL host.
    #[arg(long, value_name = "NAME", help_heading = "TLS")]
    pub(crate) tls_host: Option<String>,

    /// Save every message sent as DER in this directory (01-ir.der, 02-certConf.der, …).
    #[arg(long, value_name = "DIR", help_heading = "Output")]
    pub(crate) reqout: Option<PathBuf>,

    /// Save every message received as DER in this directory (01-ip.der, …).
    #[arg(long, value_name = "DIR", help_heading = "Output")]
    pub(crate) rspout: Option<PathBuf>,

    /// Print what happens.
    #[arg(short, long, help_heading = "Output")]
    pub(crate) verbose: bool,

    /// Print nothing but errors.
    #[arg(short, long, help_heading = "Output")]
    pub(crate) quiet: bool,
}

/// Options of the enrollment commands.
#[derive(Debug, Args, Clone)]
pub(crate) struct EnrollArgs {
    /// Options shared by every client command.
    #[command(flatten)]
    pub(crate) client: ClientArgs,

    /// The new key: a PEM/DER file, a pkcs11: URI, or gen:ALG (ALG: ec:P-256, ec:P-384,
    /// rsa:2048, rsa:3072, rsa:4096, ed25519).
    #[arg(long, value_name = "FILE|URI|gen:ALG", help_heading = "Request")]
    pub(crate) newkey: Option<String>,

    /// Password of an encrypted --newkey file.
    #[arg(long, value_name = "SRC", help_heading = "Request")]
    pub(crate) newkeypass: Option<SecretSource>,

    /// Where to keep a generated key, before the request is sent: a PEM file (mode 0600), or
    /// pkcs11:URI with object=LABEL to generate the key inside that token.
    #[arg(long, value_name = "FILE|URI", help_heading = "Request")]
    pub(crate) newkeyout: Option<PathBuf>,

    /// The subject to ask for. Without it (and without --sans), ir and cr take the subject of
    /// --oldcert, else of --cert, and kur that of the certificate it updates; with --sans
    /// only, the subject is empty and the SAN extension critical.
    #[arg(long, value_name = "DN", help_heading = "Request")]
    pub(crate) subject: Option<String>,

    /// Requested validity in days.
    #[arg(long, value_name = "N", help_heading = "Request")]
    pub(crate) days: Option<u32>,

    /// Subject alternative names: DNS names, IP addresses, email:…, URI:… (comma-separated).
    #[arg(long, value_name = "LIST", help_heading = "Request")]
    pub(crate) sans: Option<String>,

    /// The certificate to update (kur; default --cert).
    #[arg(long, value_name = "FILE", help_heading = "Request")]
    pub(crate) oldcert: Option<PathBuf>,

    /// The PKCS#10 request (p10cr only; p10cr takes no --newkey, --subject, --sans, --days or
    /// --oldcert).
    #[arg(long, value_name = "FILE", help_heading = "Request")]
    pub(crate) csr: Option<PathBuf>,

    /// Proof of possession: -1 none, 0 raVerified, 1 signature (default).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 1,
        allow_negative_numbers = true,
        help_heading = "Request"
    )]
    pub(crate) popo: i32,

    /// Ask the server to skip certConf.
    #[arg(long, help_heading = "Request")]
    pub(crate) implicit_confirm: bool,

    /// Do not send certConf (only when implicit confirmation is granted is this RFC-conform).
    #[arg(long, help_heading = "Request")]
    pub(crate) disable_confirm: bool,

    /// Anchors the issued certificate must chain to; if it does not, it is refused.
    #[arg(long, value_name = "FILE", help_heading = "Request")]
    pub(crate) out_trusted: Option<PathBuf>,

    /// Save the new certificate (PEM); written only on success.
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub(crate) certout: Option<PathBuf>,

    /// Save the chain from extraCerts (PEM).
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub(crate) chainout: Option<PathBuf>,

    /// Save caPubs (PEM).
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub(crate) cacertsout: Option<PathBuf>,

    /// Save all extraCerts of the response (PEM).
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub(crate) extracertsout: Option<PathBuf>,
}

/// Options of `rr`.
#[derive(Debug, Args, Clone)]
pub(crate) struct RevokeArgs {
    /// Options shared by every client command.
    #[command(flatten)]
    pub(crate) client: ClientArgs,

    /// The certificate to revoke (default --cert).
    #[arg(long, value_name = "FILE")]
    pub(crate) oldcert: Option<PathBuf>,

    /// CRL reason code (0 unspecified, 1 keyCompromise, …, 10 aACompromise).
    #[arg(long, value_name = "N")]
    pub(crate) revreason: Option<u8>,
}

/// Options of `genm`.
#[derive(Debug, Args, Clone)]
pub(crate) struct GenmArgs {
    /// Options shared by every client command.
    #[command(flatten)]
    pub(crate) client: ClientArgs,

    /// What to ask for: caCerts, rootCaCert, certReqTemplate, crlStatusList,
    /// signKeyPairTypes, … or a dotted OID.
    #[arg(long, value_name = "NAME", default_value = "caCerts")]
    pub(crate) infotype: String,

    /// The old root certificate for rootCaCert.
    #[arg(long, value_name = "FILE")]
    pub(crate) oldwithold: Option<PathBuf>,

    /// Save the CA certificates of a caCerts answer (PEM).
    #[arg(long, value_name = "FILE")]
    pub(crate) cacertsout: Option<PathBuf>,

    /// crlStatusList: the certificate whose CRL is wanted (its issuer names the CRL).
    #[arg(long, value_name = "FILE")]
    pub(crate) crlcert: Option<PathBuf>,

    /// crlStatusList: the CRL we have (its thisUpdate tells the CA what is new).
    #[arg(long, value_name = "FILE")]
    pub(crate) oldcrl: Option<PathBuf>,

    /// Save the CRLs of a crls answer (PEM).
    #[arg(long, value_name = "FILE")]
    pub(crate) crlout: Option<PathBuf>,

    /// Save the new root of a verified rootCaKeyUpdate answer (PEM). The update is checked
    /// against --oldwithold, or else the --trusted anchors.
    #[arg(long, value_name = "FILE")]
    pub(crate) newwithnew: Option<PathBuf>,
}
