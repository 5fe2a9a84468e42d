//! Fuzz target `config`: `cmp-agent --config FILE config check` in process (`cmp_agent::run`)
//! over the input as the configuration file — TOML parsing, key and value checks, rendering.
//! Property: the exit code is 0 (valid) or 2 (a configuration error, one line naming the key);
//! a panic or any other code is a finding. Inputs that mention `plugin` are skipped: a
//! `[[plugin]]` entry loads a shared library, which a fuzzer must not choose.
#![no_main]

use std::process::ExitCode;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if data.windows(6).any(|w| w.eq_ignore_ascii_case(b"plugin")) {
        return;
    }
    let file = std::env::temp_dir().join(format!("cmp-fuzz-config-{}.toml", std::process::id()));
    std::fs::write(&file, data).expect("write the input");
    let code = cmp_agent::run(
        [
            "cmp-agent".into(),
            "--config".into(),
            file.clone().into_os_string(),
            "config".into(),
            "check".into(),
        ],
        cmp_agent::builtins(),
    );
    assert!(
        [ExitCode::from(0), ExitCode::from(2)].contains(&code),
        "config check exited with {code:?}"
    );
});
