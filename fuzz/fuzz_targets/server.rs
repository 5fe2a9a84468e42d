//! Fuzz target `server`: see `cmp_tests::fuzz_harness::server` for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cmp_tests::fuzz_harness::server(data));
