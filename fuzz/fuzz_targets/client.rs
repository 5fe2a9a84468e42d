//! Fuzz target `client`: see `cmp_tests::fuzz_harness::client` for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cmp_tests::fuzz_harness::client(data));
