//! CRLs refreshed by genm crlStatusList (`[daemon] crl_refresh = true`): with each trust
//! refresh the daemon asks for the CRL of every CA it knows — the trust anchors and the CA
//! certificates of the installed chains — giving the thisUpdate of the CRL it holds, and keeps
//! the newer ones in the store's trust generation (`STATE_DIR/store/trust/current/crls.pem`,
//! one atomic switch with the anchors). Every later transaction checks the CA's signer against
//! them, as `--crls FILE --crl-check` do for the one-shot commands: a revoked signer, or one
//! whose issuer's CRL is missing or out of date, fails the transaction.

use cmp_core::asn1::{CmpCertificate, CrlSource, CrlStatus, format_unix};
use cmp_core::names::{format_name, names_equal};
use rasn_pkix::{CertificateList, GeneralName, Name, Time};

/// The most CRLs asked for in one crlStatusList (one per CA name).
const MAX_CRL_SOURCES: usize = 16;

/// The most CRLs the store keeps.
pub(crate) const MAX_CRLS: usize = 16;

fn time_secs(t: &Time) -> i64 {
    match t {
        Time::Utc(u) => u.timestamp(),
        Time::General(g) => g.timestamp(),
    }
}

/// Decodes stored (or received) CRLs; undecodable ones are skipped (the store holds only
/// what the agent encoded).
pub(crate) fn decode(ders: &[Vec<u8>]) -> Vec<CertificateList> {
    ders.iter()
        .filter_map(|d| rasn::der::decode::<CertificateList>(d).ok())
        .collect()
}

/// The CA names whose CRLs are asked for: the subjects of `cas` (anchors and chain
/// certificates), each once, at most [`MAX_CRL_SOURCES`].
pub(crate) fn issuers(cas: &[CmpCertificate]) -> Vec<Name> {
    let mut out: Vec<Name> = Vec::new();
    for c in cas {
        if out.len() < MAX_CRL_SOURCES && !out.iter().any(|n| names_equal(n, c.subject())) {
            out.push(c.subject().clone());
        }
    }
    out
}

/// The crlStatusList request: one CRLStatus per issuer, with the thisUpdate of the CRL held
/// for it, if any (the CA then sends only a newer one).
pub(crate) fn statuses(issuers: &[Name], held: &[CertificateList]) -> Vec<CrlStatus> {
    issuers
        .iter()
        .map(|n| CrlStatus {
            source: CrlSource::Issuer(vec![GeneralName::DirectoryName(n.clone())]),
            this_update: held
                .iter()
                .filter(|c| names_equal(&c.tbs_cert_list.issuer, n))
                .max_by_key(|c| time_secs(&c.tbs_cert_list.this_update))
                .map(|c| c.tbs_cert_list.this_update),
        })
        .collect()
}

/// What [`merge`] changed.
pub(crate) struct Merged {
    /// The CRLs to keep (DER).
    pub(crate) crls: Vec<Vec<u8>>,
    /// One log line per CRL taken.
    pub(crate) taken: Vec<String>,
}

/// Merges `received` into `held` (DER): a received CRL replaces the held ones of its issuer
/// unless one of them is as new or newer. `None` when nothing changed.
pub(crate) fn merge(
    held: &[Vec<u8>],
    received: &[CertificateList],
) -> Result<Option<Merged>, String> {
    let mut out: Vec<Vec<u8>> = held.to_vec();
    let mut said = Vec::new();
    for crl in received {
        let tbs = &crl.tbs_cert_list;
        let this = time_secs(&tbs.this_update);
        let same_issuer = |d: &Vec<u8>| {
            rasn::der::decode::<CertificateList>(d)
                .is_ok_and(|h| names_equal(&h.tbs_cert_list.issuer, &tbs.issuer))
        };
        let newer_held = out.iter().any(|d| {
            rasn::der::decode::<CertificateList>(d).is_ok_and(|h| {
                names_equal(&h.tbs_cert_list.issuer, &tbs.issuer)
                    && time_secs(&h.tbs_cert_list.this_update) >= this
            })
        });
        if newer_held {
            continue;
        }
        out.retain(|d| !same_issuer(d));
        if out.len() >= MAX_CRLS {
            return Err(format!(
                "trust refresh: more than {MAX_CRLS} CRLs; the CRL of {} is not kept",
                format_name(&tbs.issuer)
            ));
        }
        out.push(rasn::der::encode(crl).map_err(|e| e.to_string())?);
        said.push(format!(
            "trust refresh: CRL of {} (thisUpdate {}, nextUpdate {}, {} revoked)",
            format_name(&tbs.issuer),
            format_unix(this),
            tbs.next_update
                .as_ref()
                .map_or_else(|| "none".into(), |t| format_unix(time_secs(t))),
            tbs.revoked_certificates.len()
        ));
    }
    Ok((!said.is_empty()).then_some(Merged {
        crls: out,
        taken: said,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rasn_pkix::{AlgorithmIdentifier, TbsCertList, Version};

    /// An (unsigned: merging does not verify) CRL of `issuer` issued at `this`.
    fn crl(issuer: &str, this: i64) -> CertificateList {
        let t = |s: i64| {
            Time::General(
                chrono::DateTime::from_timestamp(s, 0)
                    .expect("time")
                    .fixed_offset(),
            )
        };
        let alg = AlgorithmIdentifier {
            algorithm: rasn::types::ObjectIdentifier::new_unchecked(
                vec![1, 2, 840, 10045, 4, 3, 2].into(),
            ),
            parameters: None,
        };
        CertificateList {
            tbs_cert_list: TbsCertList {
                version: Version::V2,
                signature: alg.clone(),
                issuer: cmp_core::names::parse_name(issuer).expect("name"),
                this_update: t(this),
                next_update: Some(t(this + 86_400)),
                revoked_certificates: Vec::new(),
                crl_extensions: None,
            },
            signature_algorithm: alg,
            signature: rasn::types::BitString::new(),
        }
    }

    fn der(c: &CertificateList) -> Vec<u8> {
        rasn::der::encode(c).expect("der")
    }

    #[test]
    fn a_newer_crl_replaces_the_one_of_its_issuer_only() {
        let (a1, a2, b1) = (crl("CN=A", 1000), crl("CN=A", 2000), crl("CN=B", 1000));
        let held = vec![der(&a1), der(&b1)];
        let merged = merge(&held, std::slice::from_ref(&a2))
            .expect("merge")
            .expect("changed");
        assert_eq!(merged.crls, vec![der(&b1), der(&a2)]);
        assert_eq!(
            merged.taken,
            [
                "trust refresh: CRL of CN=A (thisUpdate 1970-01-01 00:33:20 UTC, nextUpdate 1970-01-02 00:33:20 UTC, 0 revoked)"
            ]
        );
        // The same or an older one changes nothing.
        assert!(merge(&merged.crls, &[a2]).expect("merge").is_none());
        assert!(merge(&merged.crls, &[a1]).expect("merge").is_none());
    }

    #[test]
    fn the_store_keeps_a_bounded_number_of_crls() {
        let held: Vec<Vec<u8>> = (0..MAX_CRLS)
            .map(|i| der(&crl(&format!("CN=CA {i}"), 1000)))
            .collect();
        assert_eq!(
            merge(&held, &[crl("CN=One Too Many", 1000)])
                .err()
                .as_deref(),
            Some("trust refresh: more than 16 CRLs; the CRL of CN=One Too Many is not kept")
        );
    }

    #[test]
    fn the_request_names_each_ca_once_with_the_held_crls_this_update() {
        let held = [crl("CN=A", 1000), crl("CN=A", 3000)];
        let names = [
            cmp_core::names::parse_name("CN=A").expect("name"),
            cmp_core::names::parse_name("CN=B").expect("name"),
        ];
        let st = statuses(&names, &held);
        assert_eq!(st.len(), 2);
        assert_eq!(st[0].this_update.as_ref().map(time_secs), Some(3000));
        assert_eq!(st[1].this_update, None);
        assert!(matches!(&st[1].source, CrlSource::Issuer(n) if n.len() == 1));
    }
}
