//! Fuzz target `inspect`: `cmp-agent inspect FILE` in process (`cmp_agent::run`, what the binary
//! runs) over the input as the file — the input detection (DER, PEM, base64) and the decoding
//! behind it. Property: the exit code is 0 (shown), 2 (malformed input) or 4 (a check
//! failed); a panic or any other code is a finding. `-close_fd_mask=1` keeps its output quiet.
#![no_main]

use std::process::ExitCode;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let file = std::env::temp_dir().join(format!("cmp-fuzz-inspect-{}", std::process::id()));
    std::fs::write(&file, data).expect("write the input");
    let code = cmp_agent::run(
        [
            "cmp-agent".into(),
            "inspect".into(),
            file.clone().into_os_string(),
        ],
        cmp_agent::builtins(),
    );
    assert!(
        [ExitCode::from(0), ExitCode::from(2), ExitCode::from(4)].contains(&code),
        "inspect exited with {code:?}"
    );
});
