//! `cmp-server --config FILE`: options by the agent's key rule, the command line over the
//! file, `[[client]]` entries with their secrets and policies, `--validity`, and the errors
//! for keys it does not know.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use cmp_core::ClientError;
use cmp_core::asn1::{FailureBit, PkiFailureInfo};
use cmp_core::builder::CertTemplateBuilder;
use cmp_core::client::{Driver, Keys, Sleep};
use cmp_core::crypto::{KeySpec, PrivateKey, PrivateKeyExt};
use cmp_core::names::parse_name;
use cmp_core::protection::MacSettings;
use cmp_core::transaction::{
    Credentials, Enrolled, Enrollment, EnrollmentKind, EnrollmentRequest, PopoMethod,
    TransactionConfig,
};
use cmp_crypto::software::SoftwareKey;
use cmp_transport_http::HttpTransport;
use rasn_pkix::GeneralName;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct TokioSleep;

impl Sleep for TokioSleep {
    fn sleep(
        &self,
        d: Duration,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        Box::pin(tokio::time::sleep(d))
    }
}

const CONFIG: &str = r#"
listen = ["http://127.0.0.1:0/pkix/"]
ca_subject = "CN=Config Test CA"
validity = 120
log_level = "warn"

[[client]]
ref = "dev-1"
secret = "pass:device-one-secret"
subjects = ["CN=dev-1"]

[[client]]
ref = "dev-2"
secret = "env:CMP_CONFIG_TEST_DEV2"
subjects = ["CN=dev-2*"]
max_validity = 60
"#;

fn start(config: &Path, extra: &[&str]) -> (Server, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cmp-server"))
        .arg("--config")
        .arg(config)
        .args(extra)
        .env("CMP_CONFIG_TEST_DEV2", "device-two-secret")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("cmp-server starts");
    let out = child.stdout.take().expect("stdout");
    let server = Server(child);
    let mut line = String::new();
    BufReader::new(out).read_line(&mut line).expect("a line");
    let url = line
        .trim_end()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("expected `listening on URL`, got {line:?}"))
        .to_owned();
    (server, url)
}

async fn enroll(
    url: &str,
    reference: &str,
    secret: &str,
    cn: &str,
) -> Result<Enrolled, ClientError> {
    let transport = HttpTransport::builder(url).build().expect("http");
    let key = SoftwareKey::generate(KeySpec::EcP256).expect("key");
    let subject = parse_name(&format!("CN={cn}")).expect("dn");
    let p = cmp_crypto::default_provider();
    let mut config = TransactionConfig::new(
        p.primitives,
        p.paths,
        Credentials::Mac {
            secret: secret.as_bytes().to_vec().into(),
            reference: reference.as_bytes().to_vec(),
            settings: MacSettings::pbm_default(),
        },
    );
    config.sender = GeneralName::DirectoryName(subject.clone());
    // A refusal of an unknown reference cannot carry its MAC: it is signed by a CA this
    // client does not know.
    config.trust.unprotected_errors = true;
    let request = EnrollmentRequest {
        kind: EnrollmentKind::Ir,
        template: CertTemplateBuilder::new().subject(subject).build(),
        public_key: Some(key.public_key_info().expect("spki")),
        popo: PopoMethod::Signature(key.spec().default_signature_algorithm()),
        controls: None,
        csr: None,
    };
    let mut tx = Enrollment::new(Arc::new(config), request)?;
    let sleep = TokioSleep;
    Driver::new(&transport, &sleep)
        .total_timeout(Some(Duration::from_secs(60)))
        .run(
            &mut tx,
            Keys {
                protection: None,
                new_key: Some(&key),
            },
        )
        .await
}

fn validity_secs(e: &Enrolled) -> i64 {
    let v = &e.certificate.value().tbs_certificate.validity;
    let secs = |t: &rasn_pkix::Time| match t {
        rasn_pkix::Time::Utc(u) => u.timestamp(),
        rasn_pkix::Time::General(g) => g.timestamp(),
    };
    secs(&v.not_after) - secs(&v.not_before)
}

fn refused_with(err: ClientError) -> (String, PkiFailureInfo, String) {
    let ClientError::Refused(r) = err else {
        panic!("a refusal, got {err}")
    };
    (
        r.body.to_string(),
        r.status.fail_info.clone().expect("failInfo"),
        r.status.text().unwrap_or_default(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_of_the_file_get_their_names_and_validity() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("server.toml");
    std::fs::write(&file, CONFIG).expect("write");
    let (_server, url) = start(&file, &[]);
    assert_eq!(
        cmp_core::names::format_name(
            enroll(&url, "dev-1", "device-one-secret", "dev-1")
                .await
                .expect("dev-1")
                .certificate
                .issuer()
        ),
        "CN=Config Test CA",
        "ca_subject from the file"
    );
    let one = enroll(&url, "dev-1", "device-one-secret", "dev-1")
        .await
        .expect("dev-1");
    assert_eq!(validity_secs(&one), 120, "validity from the file");
    // The secret from the environment; the client's own max_validity cuts the validity.
    let two = enroll(&url, "dev-2", "device-two-secret", "dev-2 sensor")
        .await
        .expect("dev-2");
    assert_eq!(validity_secs(&two), 60);
    // dev-1 may not have dev-2's name.
    let err = enroll(&url, "dev-1", "device-one-secret", "dev-2")
        .await
        .expect_err("refused");
    assert_eq!(
        refused_with(err),
        (
            "ip".into(),
            PkiFailureInfo::from_bits([FailureBit::NotAuthorized]),
            "this client may not request the subject CN=dev-2".into()
        )
    );
    // A reference the file does not list.
    let err = enroll(&url, "dev-3", "device-one-secret", "dev-3")
        .await
        .expect_err("refused");
    assert_eq!(
        refused_with(err).1,
        PkiFailureInfo::from_bits([FailureBit::BadMessageCheck])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_wins_over_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("server.toml");
    std::fs::write(&file, CONFIG).expect("write");
    let (_server, url) = start(&file, &["--validity", "30"]);
    let one = enroll(&url, "dev-1", "device-one-secret", "dev-1")
        .await
        .expect("dev-1");
    assert_eq!(validity_secs(&one), 30);
}

fn fails_with(config: &str) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, config).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_cmp-server"))
        .arg("--config")
        .arg(&file)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    String::from_utf8_lossy(&out.stderr)
        .trim_end()
        .replace(&file.display().to_string(), "FILE")
}

#[test]
fn keys_it_does_not_know_are_errors_that_name_them() {
    assert_eq!(
        fails_with("listen = [\"http://127.0.0.1:0/\"]\n[tls]\ncertificate = \"x.pem\"\n"),
        "cmp-server: configuration file FILE: tls.certificate: no such key (there is no option --tls-certificate)"
    );
    assert_eq!(
        fails_with("grant-implicit-confirm = true\n"),
        "cmp-server: configuration file FILE: grant-implicit-confirm: keys are written with _ (not -)"
    );
    assert_eq!(
        fails_with("grant_implicit_confirm = \"yes\"\n"),
        "cmp-server: configuration file FILE: grant_implicit_confirm: a flag is true or false"
    );
    assert_eq!(
        fails_with(
            "listen = [\"http://127.0.0.1:0/\"]\n[[client]]\nref = \"a\"\nsecret = \"pass:s3cr3t-value\"\nsubject = [\"CN=a\"]\n"
        ),
        "cmp-server: configuration file FILE: [[client]] #1: unknown field `subject`, expected one of `ref`, `secret`, `cert`, `signer`, `subjects`, `sans`, `key_types`, `max_validity`"
    );
    assert_eq!(
        fails_with(
            "listen = [\"http://127.0.0.1:0/\"]\n[[client]]\nref = \"a\"\nsecret = \"pass:x\"\nsigner = \"CN=*\"\n"
        ),
        "cmp-server: configuration file FILE: [[client]] #1: give exactly one of ref (with secret), cert or signer"
    );
    assert_eq!(
        fails_with(
            "listen = [\"http://127.0.0.1:0/\"]\n[[client]]\nsigner = \"CN=*\"\nsans = [\"dns:x\"]\n"
        ),
        "cmp-server: configuration file FILE: [[client]] #1: sans entry dns:x: give DNS:…, IP:…, email:… or URI:…"
    );
    let e = fails_with(
        "listen = [\"http://127.0.0.1:0/\"]\n[[client]]\nref = \"a\"\nsecret = \"pass:\"\n",
    );
    assert_eq!(
        e,
        "cmp-server: configuration file FILE: [[client]] #1 (ref a): secret: the secret is empty"
    );
    let e = fails_with(
        "listen = [\"http://127.0.0.1:0/\"]\n[[client]]\nref = \"a\"\nsecret = \"pass:x\"\nkey_types = [\"dsa:1024\"]\n",
    );
    assert!(
        e.starts_with(
            "cmp-server: configuration file FILE: [[client]] #1: key_types entry dsa:1024: "
        ),
        "{e}"
    );
}
