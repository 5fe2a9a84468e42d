//! The `cmp-agent` binary: the library's commands with the built-in plugins (see the
//! `cmp_agent` crate).
#![forbid(unsafe_code)]

use std::process::ExitCode;

fn main() -> ExitCode {
    cmp_agent::run(std::env::args_os(), cmp_agent::builtins())
}
