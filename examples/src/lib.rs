//! # cmp-examples
//!
//! Worked examples for integrators: building and decoding messages with `cmp-core` today, and —
//! as the transports and plugin ABI land — a custom transport and a dynamic plugin.
//!
//! Run the examples with `cargo run -p cmp-examples --example NAME`.
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]
