//! The published known-answer vectors (FIPS 180-4, RFC 4231/2202, RFC 6070/7914; see
//! `vectors/mod.rs`) on the default backend — the software one, which every build has.
//! `aws_lc.rs` runs the same vectors on the aws-lc backend.

mod vectors;

fn primitives() -> std::sync::Arc<dyn cmp_core::crypto::Primitives> {
    cmp_crypto::default_provider().primitives
}

#[test]
fn digests_match_the_fips_180_examples() {
    vectors::check_digests("default", primitives().as_ref());
}

#[test]
fn hmac_matches_rfc_4231_and_rfc_2202() {
    vectors::check_hmacs("default", primitives().as_ref());
}

#[test]
fn pbkdf2_matches_rfc_6070_and_rfc_7914() {
    vectors::check_pbkdf2("default", primitives().as_ref());
}
