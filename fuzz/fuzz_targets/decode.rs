//! Fuzz target `decode`: see `cmp_tests::fuzz_harness::decode` for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cmp_tests::fuzz_harness::decode(data));
