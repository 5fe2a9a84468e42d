//! An agent built on the `cmp_agent` library with two in-process plugins: the `audit+http://`
//! transport and the `audited` key backend, both writing an audit trail to standard error.
//! Every command and option of `cmp-agent` works:
//!
//! ```sh
//! cargo run -p cmp-examples --example audited_agent -- plugins
//! cargo run -p cmp-examples --example audited_agent -- ir --server audit+http://ca.example/pkix/ \
//!     --key-backend audited --newkey device.key --secret env:CMP_SECRET --ref device-42 ...
//! ```

use std::process::ExitCode;
use std::sync::Arc;

use cmp_examples::AuditLog;

fn main() -> ExitCode {
    let log = Arc::new(AuditLog::printing());
    match cmp_examples::audited_registry(log) {
        Ok(registry) => cmp_agent::run(std::env::args_os(), registry),
        Err(e) => {
            eprintln!("audited_agent: {e}");
            ExitCode::FAILURE
        }
    }
}
