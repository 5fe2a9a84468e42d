//! The one-shot client commands: `ir`, `cr`, `kur`, `p10cr`, `ccr`, `rr`, `genm`.

pub(crate) mod keys;
pub(crate) mod output;
pub(crate) mod plugins;
pub(crate) mod request;
pub(crate) mod setup;

use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cmp_core::ClientError;
use cmp_core::asn1::{CrlReason, InfoTypeAndValue, InfoValue, Pkcs10Request, oid};
use cmp_core::client::{Blocking, Direction, Driver, InlineBlocking, Keys, RetryPolicy};
use cmp_core::crypto::PrivateKey;
use cmp_core::names::format_name;
use cmp_core::transaction::{Enrollment, EnrollmentKind, GeneralMessage, PopoMethod, Revocation};

use cmp_core::registry::{Registry, Settings};
use cmp_core::storage::IdentityName;

use crate::client_cli::{ClientArgs, EnrollArgs, GenmArgs, RevokeArgs};
use crate::exit;
use output::{MessageLog, write_certs};
use setup::{TokioSleep, setup};

/// A failure with the exit code it maps to and one sentence for the operator.
#[derive(Debug)]
pub(crate) struct AgentError {
    code: u8,
    message: String,
}

impl AgentError {
    /// A usage error or unreadable input (exit 2).
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        AgentError {
            code: exit::MALFORMED,
            message: message.into(),
        }
    }

    /// The sentence for the operator.
    #[cfg(any(test, feature = "daemon"))]
    pub(crate) fn message(&self) -> &str {
        &self.message
    }

    /// A local failure (exit 1).
    pub(crate) fn local(message: impl Into<String>) -> Self {
        AgentError {
            code: crate::exit::LOCAL,
            message: message.into(),
        }
    }
}

impl From<ClientError> for AgentError {
    /// The library's sentence, with the option that fixes it where there is one.
    fn from(e: ClientError) -> Self {
        use cmp_core::ResponseError as R;
        let hint = match &e {
            ClientError::Response(R::NoTrust) => " (give --trusted or --srvcert)",
            ClientError::Response(R::NoSecret) => " (give --secret)",
            ClientError::Transport(cmp_core::transport::TransportError::Tls { .. }) => {
                " (TLS options: --tls-trusted, --tls-system-roots, --tls-host)"
            }
            ClientError::Response(R::UnprotectedError) => {
                return AgentError {
                    code: e.exit_code(),
                    message: "the response failed a check: the server sent an unprotected error message (--unprotected-errors accepts it, which weakens security)".into(),
                };
            }
            _ => "",
        };
        AgentError {
            code: e.exit_code(),
            message: format!("{e}{hint}"),
        }
    }
}

fn finish(result: Result<(), AgentError>) -> ExitCode {
    match result {
        Ok(()) => exit::code(exit::OK),
        Err(e) => {
            eprintln!("cmp-agent: {}", e.message);
            exit::code(e.code)
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, AgentError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| AgentError::local(format!("cannot start the async runtime: {e}")))
}

/// Runs transactions made by `make` with the driver (retrying as RFC 9810 says), logging
/// messages for --reqout/--rspout, the certificate saved to `certout` (a path, and the
/// registry whose `files` storage writes it) and the MAC keys derived by `blocking`:
/// [`InlineBlocking`] in a one-shot command (a runtime of its own with nothing else to do: no
/// thread started for one derivation), tokio's blocking pool (`setup::TokioBlocking`) in the
/// daemon.
pub(crate) async fn drive<T, F>(
    args: &ClientArgs,
    transport: &dyn cmp_core::transport::Transport,
    blocking: &dyn Blocking,
    config: &cmp_core::transaction::TransactionConfig,
    make: F,
    keys: Keys<'_>,
    certout: Option<(&Registry, &std::path::Path)>,
) -> Result<T::Output, AgentError>
where
    T: cmp_core::transaction::Transaction,
    F: FnMut(Arc<cmp_core::transaction::TransactionConfig>) -> Result<T, ClientError>,
{
    let reqlog = args
        .reqout
        .as_deref()
        .map(MessageLog::new)
        .transpose()?
        .map(Mutex::new);
    let rsplog = args
        .rspout
        .as_deref()
        .map(MessageLog::new)
        .transpose()?
        .map(Mutex::new);
    let sleep = TokioSleep;
    let total = (args.total_timeout > 0).then(|| Duration::from_secs(args.total_timeout));
    // --certout goes to the `files` storage, as one certificate file.
    let store = match certout {
        Some((registry, path)) => Some(crate::store::Watched::new(
            registry
                .build_storage(
                    "files",
                    &Settings::new().with("certout", path.display().to_string()),
                )
                .map_err(|e| AgentError::local(e.to_string()))?,
            path,
        )),
        None => None,
    };
    let mut driver = Driver::new(transport, &sleep).blocking(blocking);
    if let Some(store) = &store {
        let name = IdentityName::new(crate::store::CERTOUT_IDENTITY)
            .map_err(|e| AgentError::local(e.to_string()))?;
        // The key stays where --newkey/--newkeyout put it.
        driver = driver.storage(store, name, None);
    }
    // Security warnings are printed even with -q.
    let driver = driver.on_warning(|w| eprintln!("cmp-agent: warning: {w}"));
    let mut driver = driver.total_timeout(total).on_message(|dir, der| {
        if args.verbose {
            let body = cmp_core::asn1::ReceivedMessage::decode(der)
                .map_or("undecodable", |m| m.message().body.name());
            let verb = match dir {
                Direction::Sent => "sent",
                Direction::Received => "received",
            };
            eprintln!("cmp-agent: {verb} {body} ({} bytes)", der.len());
        }
        let log = match dir {
            Direction::Sent => &reqlog,
            Direction::Received => &rsplog,
        };
        if let Some(l) = log {
            l.lock().unwrap_or_else(|p| p.into_inner()).save(der);
        }
    });
    let result = driver
        .run_with_retries(config, make, keys, RetryPolicy::default())
        .await;
    result.map_err(|e| {
        let e = AgentError::from(e);
        match store.as_ref().and_then(|s| s.kept_unconfirmed()) {
            Some(kept) => AgentError {
                message: format!(
                    "{} (the issued certificate was kept, unconfirmed, in {})",
                    e.message,
                    kept.display()
                ),
                ..e
            },
            None => e,
        }
    })
}

/// Refuses request options the command would otherwise ignore: p10cr takes key, subject and
/// extensions from the CSR; the other commands build their request from the options.
fn check_options_apply(kind: EnrollmentKind, args: &EnrollArgs) -> Result<(), AgentError> {
    let name = request::kind_name(kind);
    if kind != EnrollmentKind::P10cr {
        return match args.csr {
            Some(_) => Err(AgentError::usage(format!(
                "--csr is for p10cr; {name} builds its request from --newkey, --subject, --sans and --days"
            ))),
            None => Ok(()),
        };
    }
    let given = [
        ("--newkey", args.newkey.is_some()),
        ("--newkeyout", args.newkeyout.is_some()),
        ("--subject", args.subject.is_some()),
        ("--sans", args.sans.is_some()),
        ("--days", args.days.is_some()),
        ("--oldcert", args.oldcert.is_some()),
    ];
    match given.iter().find(|(_, set)| *set) {
        Some((option, _)) => Err(AgentError::usage(format!(
            "{option} does not apply to p10cr: the key, subject and extensions come from --csr"
        ))),
        None => Ok(()),
    }
}

/// `ir`, `cr`, `kur`, `ccr`, `p10cr`.
pub(crate) fn enroll(kind: EnrollmentKind, args: &EnrollArgs, registry: &Registry) -> ExitCode {
    finish(runtime().and_then(|rt| rt.block_on(enroll_async(kind, args, registry))))
}

async fn enroll_async(
    kind: EnrollmentKind,
    args: &EnrollArgs,
    registry: &Registry,
) -> Result<(), AgentError> {
    let c = &args.client;
    check_options_apply(kind, args)?;
    if args.popo == 1 && kind != EnrollmentKind::P10cr && args.newkey.is_none() {
        return Err(AgentError::usage(format!(
            "{} needs --newkey FILE|pkcs11:URI|gen:ALG",
            request::kind_name(kind)
        )));
    }
    if c.bootstrap_trust_from_ip && args.cacertsout.is_none() {
        return Err(AgentError::usage(
            "--bootstrap-trust-from-ip needs --cacertsout FILE to pin the root it accepts",
        ));
    }
    let subject = requested_subject(kind, args)?;
    let s = setup(c, subject.as_ref(), registry).await?;
    // The new key: persisted before the request leaves.
    let new_key: Option<Arc<dyn PrivateKey>> = match args.newkey.as_deref() {
        None => None,
        Some(spec) if spec.starts_with("gen:") => {
            let out = args.newkeyout.as_deref().ok_or_else(|| {
                AgentError::usage(
                    "--newkey gen:… needs --newkeyout FILE|pkcs11:URI to keep the new private key",
                )
            })?;
            match out.to_str().filter(|o| o.starts_with("pkcs11:")) {
                // Generated inside the token, under the URI's object label.
                Some(uri) => Some(s.keys.generate_in_token(&spec[4..], uri).await?),
                None => Some(s.keys.generate_to_file(&spec[4..], out).await?),
            }
        }
        Some(spec) => Some(
            s.keys
                .load("--newkey", spec, args.newkeypass.as_ref())
                .await?,
        ),
    };
    let old_cert = match (&args.oldcert, kind) {
        (Some(p), _) => Some(setup::one_cert("--oldcert", p)?),
        (None, EnrollmentKind::Kur) => Some(
            s.own_cert
                .clone()
                .ok_or_else(|| AgentError::usage("kur needs --oldcert (or --cert)"))?,
        ),
        _ => None,
    };
    let csr = match (&args.csr, kind) {
        (Some(p), _) => Some(read_csr(p)?),
        (None, EnrollmentKind::P10cr) => return Err(AgentError::usage("p10cr needs --csr FILE")),
        _ => None,
    };
    let popo = match args.popo {
        -1 => PopoMethod::None,
        0 => PopoMethod::RaVerified,
        1 => match &new_key {
            Some(k) => PopoMethod::Signature(k.spec().default_signature_algorithm()),
            None => PopoMethod::None,
        },
        other => {
            return Err(AgentError::usage(format!(
                "--popo {other}: use -1 (none), 0 (raVerified) or 1 (signature)"
            )));
        }
    };
    let req = request::enrollment_request(
        kind,
        args,
        subject,
        new_key.as_deref(),
        old_cert.as_ref(),
        csr,
        popo,
    )?;
    let mut config = s.config;
    config.implicit_confirm = args.implicit_confirm;
    config.disable_confirm = args.disable_confirm;
    if let Some(p) = &args.out_trusted {
        config.out_trusted = crate::certs::read_certs(p)
            .map_err(|e| AgentError::usage(format!("--out-trusted {}: {e}", p.display())))?;
    }
    let keys = Keys {
        protection: s.protection_key.as_deref(),
        new_key: new_key.as_deref(),
    };
    // --certout is staged before certConf and renamed into place on confirmation (see
    // crate::store); after a failed confirmation it is kept as FILE.unconfirmed.
    let enrolled = drive(
        c,
        s.transport.as_ref(),
        &InlineBlocking,
        &config,
        |cfg| Enrollment::new(cfg, req.clone()),
        keys,
        args.certout.as_deref().map(|p| (registry, p)),
    )
    .await?;
    let chain: Vec<_> = enrolled
        .extra_certs
        .iter()
        .filter(|x| x.der() != enrolled.certificate.der())
        .cloned()
        .collect();
    if let Some(p) = &args.chainout {
        write_certs(p, &chain)?;
    }
    if let Some(p) = &args.cacertsout {
        match &enrolled.bootstrap_root {
            Some(root) => {
                write_certs(p, std::slice::from_ref(root))?;
                if !c.quiet {
                    println!(
                        "trust bootstrapped from the ip: root {} written to {}",
                        format_name(root.subject()),
                        p.display()
                    );
                }
            }
            None => write_certs(p, &enrolled.ca_pubs)?,
        }
    }
    if let Some(p) = &args.extracertsout {
        write_certs(p, &enrolled.extra_certs)?;
    }
    if !c.quiet {
        let cert = &enrolled.certificate;
        println!(
            "enrolled: {} (serial {}, issuer {}){}",
            format_name(cert.subject()),
            cert.serial_number(),
            format_name(cert.issuer()),
            if enrolled.implicitly_confirmed {
                ", implicitly confirmed"
            } else {
                ""
            }
        );
    }
    Ok(())
}

/// The subject to ask for, as `openssl cmp` chooses it: `--subject`; else, for ir, cr and
/// ccr without `--sans`, the subject of the reference certificate (`--oldcert`, else `--cert`);
/// with `--sans` only, the NULL-DN (the SAN extension is then critical, RFC 5280 §4.2.1.6).
/// A request with no subject source at all would be invalid (RFC 4211 §4.1, RFC 9483
/// §4.1.1): a usage error naming the options. kur takes the old certificate's subject later;
/// p10cr's comes from the CSR.
fn requested_subject(
    kind: EnrollmentKind,
    args: &EnrollArgs,
) -> Result<Option<rasn_pkix::Name>, AgentError> {
    if let Some(text) = args.subject.as_deref() {
        return setup::dn("--subject", text).map(Some);
    }
    if matches!(kind, EnrollmentKind::Kur | EnrollmentKind::P10cr) {
        return Ok(None);
    }
    if args.sans.is_some() {
        return Ok(Some(rasn_pkix::Name::RdnSequence(Vec::new())));
    }
    let reference = match (&args.oldcert, &args.client.cert) {
        (Some(p), _) => Some(setup::one_cert("--oldcert", p)?),
        (None, Some(p)) => Some(setup::one_cert("--cert", p)?),
        (None, None) => None,
    };
    match reference {
        Some(cert) => Ok(Some(cert.subject().clone())),
        None => Err(AgentError::usage(format!(
            "{} needs a subject: give --subject, --sans, or a reference certificate (--oldcert or --cert) whose subject is taken",
            request::kind_name(kind)
        ))),
    }
}

/// The DER of a PEM or DER file given as `option`; errors name the option and the file.
fn read_der(option: &str, path: &std::path::Path) -> Result<Vec<u8>, AgentError> {
    let data = std::fs::read(path)
        .map_err(|e| AgentError::usage(format!("{option} {}: {e}", path.display())))?;
    crate::input::to_der(&data)
        .map(|der| der.into_owned())
        .map_err(|e| AgentError::usage(format!("{option} {}: {e}", path.display())))
}

fn read_csr(path: &std::path::Path) -> Result<Pkcs10Request, AgentError> {
    let der = read_der("--csr", path)?;
    Pkcs10Request::from_der(&der).map_err(|e| {
        AgentError::usage(format!(
            "--csr {}: not a PKCS#10 request: {e}",
            path.display()
        ))
    })
}

/// `rr`.
pub(crate) fn revoke(args: &RevokeArgs, registry: &Registry) -> ExitCode {
    finish(runtime().and_then(|rt| rt.block_on(revoke_async(args, registry))))
}

async fn revoke_async(args: &RevokeArgs, registry: &Registry) -> Result<(), AgentError> {
    let s = setup(&args.client, None, registry).await?;
    let cert = match &args.oldcert {
        Some(p) => setup::one_cert("--oldcert", p)?,
        None => s
            .own_cert
            .clone()
            .ok_or_else(|| AgentError::usage("rr needs --oldcert (or --cert)"))?,
    };
    let reason = args
        .revreason
        .map(|r| {
            CrlReason::from_code(r).ok_or_else(|| {
                AgentError::usage(format!(
                    "--revreason {r} is not a CRL reason code (0-6, 8-10)"
                ))
            })
        })
        .transpose()?;
    let subject = format_name(cert.subject());
    let keys = Keys {
        protection: s.protection_key.as_deref(),
        new_key: None,
    };
    let status = drive(
        &args.client,
        s.transport.as_ref(),
        &InlineBlocking,
        &s.config,
        |cfg| Revocation::new(cfg, cert.clone(), reason),
        keys,
        None,
    )
    .await?;
    if !args.client.quiet {
        println!("revoked: {subject} ({status})");
    }
    Ok(())
}

/// `genm`.
pub(crate) fn general(args: &GenmArgs, registry: &Registry) -> ExitCode {
    finish(runtime().and_then(|rt| rt.block_on(general_async(args, registry))))
}

async fn general_async(args: &GenmArgs, registry: &Registry) -> Result<(), AgentError> {
    let s = setup(&args.client, None, registry).await?;
    let info_type = oid::NAMES
        .iter()
        .find(|(_, n)| n.eq_ignore_ascii_case(&args.infotype))
        .map(|(o, _)| (*o).to_owned())
        .or_else(|| cmp_core::names::parse_dotted(&args.infotype))
        .ok_or_else(|| {
            AgentError::usage(format!(
                "--infotype {}: not a known name or a dotted OID",
                args.infotype
            ))
        })?;
    let old_root = args
        .oldwithold
        .as_deref()
        .map(|p| setup::one_cert("--oldwithold", p))
        .transpose()?;
    let anchors = s.config.trust.trusted.clone();
    let itav = if *info_type == *oid::IT_ROOT_CA_CERT {
        InfoTypeAndValue::from_value(&InfoValue::RootCaCert(old_root.clone()))
            .map_err(|e| AgentError::local(e.to_string()))?
    } else if *info_type == *oid::IT_CRL_STATUS_LIST {
        InfoTypeAndValue::from_value(&InfoValue::CrlStatusList(vec![crl_status(args)?]))
            .map_err(|e| AgentError::local(e.to_string()))?
    } else {
        InfoTypeAndValue::request(&info_type)
    };
    let keys = Keys {
        protection: s.protection_key.as_deref(),
        new_key: None,
    };
    let itavs = drive(
        &args.client,
        s.transport.as_ref(),
        &InlineBlocking,
        &s.config,
        |cfg| GeneralMessage::new(cfg, vec![itav.clone()]),
        keys,
        None,
    )
    .await?;
    for itav in &itavs {
        let name = oid::display(&itav.info_type);
        match itav.value() {
            Ok(InfoValue::CaCerts(Some(certs))) => {
                if let Some(p) = &args.cacertsout {
                    write_certs(p, &certs)?;
                }
                if !args.client.quiet {
                    println!("{name}: {} certificate(s)", certs.len());
                    for c in &certs {
                        println!("  {}", format_name(c.subject()));
                    }
                }
            }
            Ok(InfoValue::Crls(Some(crls))) => {
                if let Some(p) = &args.crlout {
                    let mut text = String::new();
                    for crl in &crls {
                        let der =
                            rasn::der::encode(crl).map_err(|e| AgentError::local(e.to_string()))?;
                        text.push_str(&output::pem("X509 CRL", &der));
                    }
                    output::write_atomically(p, text.as_bytes(), 0o644)?;
                }
                if !args.client.quiet {
                    println!("{name}: {} CRL(s)", crls.len());
                }
            }
            Ok(InfoValue::RootCaKeyUpdate(Some(update))) => {
                let primitives = cmp_crypto::default_provider().primitives;
                let new_root = cmp_core::transaction::verify_root_ca_key_update(
                    &update,
                    old_root.as_ref(),
                    &anchors,
                    primitives.as_ref(),
                    std::time::SystemTime::now(),
                )
                .map_err(|e| AgentError::from(ClientError::Response(e)))?;
                if let Some(p) = &args.newwithnew {
                    write_certs(p, std::slice::from_ref(&new_root))?;
                }
                if !args.client.quiet {
                    println!(
                        "{name}: new root {} (verified)",
                        format_name(new_root.subject())
                    );
                }
            }
            Ok(value) => {
                if !args.client.quiet {
                    println!("{name}: {}", describe(&value));
                }
            }
            Err(e) => {
                return Err(AgentError {
                    code: crate::exit::CHECK_FAILED,
                    message: format!("the response failed a check: {e}"),
                });
            }
        }
    }
    Ok(())
}

/// One line for the values `genm` does not handle itself (caCerts, CRLs and root updates are
/// written out and described where they are handled).
fn describe(value: &InfoValue) -> String {
    match value {
        InfoValue::CaCerts(None)
        | InfoValue::RootCaKeyUpdate(None)
        | InfoValue::CertReqTemplate(None)
        | InfoValue::Crls(None) => "nothing returned".into(),
        InfoValue::SignKeyPairTypes(Some(algs)) => algs
            .iter()
            .map(|a| oid::display(&a.algorithm))
            .collect::<Vec<_>>()
            .join(", "),
        InfoValue::CertReqTemplate(Some(t)) => {
            let subject = t.cert_template.subject.as_ref().map_or_else(
                || "any subject".to_owned(),
                |n| format!("subject {}", format_name(n)),
            );
            let keys: Vec<String> = t
                .key_spec
                .iter()
                .flatten()
                .map(|c| match c.control_value() {
                    Ok(cmp_core::asn1::ControlValue::AlgId(a)) => {
                        format!("key {}", oid::display(&a.algorithm))
                    }
                    Ok(cmp_core::asn1::ControlValue::RsaKeyLen(n)) => {
                        format!("RSA key of {n} bits")
                    }
                    _ => oid::display(&c.r#type),
                })
                .collect();
            if keys.is_empty() {
                subject
            } else {
                format!("{subject}, {}", keys.join(", "))
            }
        }
        InfoValue::Other(_, v) => format!("{} bytes", v.as_ref().map_or(0, |a| a.as_bytes().len())),
        other => format!("{other:?}"),
    }
}

/// The CRLStatus of a crlStatusList request: the CRL of `--crlcert`'s issuer, with the
/// thisUpdate of `--oldcrl` if we have one.
fn crl_status(args: &GenmArgs) -> Result<cmp_core::asn1::CrlStatus, AgentError> {
    let cert = args
        .crlcert
        .as_deref()
        .ok_or_else(|| {
            AgentError::usage(
                "--infotype crlStatusList needs --crlcert FILE (whose issuer's CRL is wanted)",
            )
        })
        .and_then(|p| setup::one_cert("--crlcert", p))?;
    let this_update = match &args.oldcrl {
        None => None,
        Some(p) => {
            let der = read_der("--oldcrl", p)?;
            let crl: rasn_pkix::CertificateList = rasn::der::decode(&der).map_err(|e| {
                AgentError::usage(format!("--oldcrl {}: not a CRL: {e}", p.display()))
            })?;
            Some(crl.tbs_cert_list.this_update)
        }
    };
    Ok(cmp_core::asn1::CrlStatus {
        source: cmp_core::asn1::CrlSource::Issuer(vec![rasn_pkix::GeneralName::DirectoryName(
            cert.issuer().clone(),
        )]),
        this_update,
    })
}
