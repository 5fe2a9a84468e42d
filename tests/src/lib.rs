//! # cmp-tests
//!
//! Cross-crate and interop tests of the CMP toolkit (in `tests/`), and what they share:
//! [`samples`] builds one message of every CMP body type from real certificates, and
//! [`fixtures`] locates the committed `openssl cmp` messages and test PKI, and [`fuzz_harness`]
//! holds the bodies of the fuzz targets in `fuzz/`, which `cargo test` replays over the corpora.
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

pub mod courier;
pub mod enroll_rig;
pub mod fixtures;
pub mod fronts;
pub mod fuzz_harness;
pub mod hostile_server;
pub mod mock_ca;
pub mod openssl_ca;
pub mod openssl_mock;
pub mod process;
pub mod run;
pub mod samples;
pub mod tools;
