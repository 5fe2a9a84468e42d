//! Plugins written in C against `include/cmp-plugin.h`, compiled with `cc` and loaded with
//! the host adapter: the header's layout matches the Rust definition, a C transport exchanges
//! bytes, and every way a library can fail to be a plugin, or a plugin can misbehave, gives
//! its exact error.

mod support;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use cmp_core::transport::{Transport, TransportError};
use cmp_plugin::abi::{self, Descriptor};
use cmp_plugin::{Plugin, PluginError, PluginKind, PluginStatus};

fn dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| support::temp_dir("c"))
}

/// The echo transport, compiled once.
fn echo() -> &'static PathBuf {
    static LIB: OnceLock<PathBuf> = OnceLock::new();
    LIB.get_or_init(|| {
        let out = dir().join("libecho.so");
        support::cc("echo_transport.c", &[], &out, true);
        out
    })
}

/// A variant of `broken.c`.
fn broken(variant: &str) -> PathBuf {
    let out = dir().join(format!("lib{}.so", variant.to_lowercase()));
    support::cc("broken.c", &[variant], &out, true);
    out
}

fn load_err(path: &Path) -> PluginError {
    Plugin::load(path).expect_err("not a usable plugin")
}

#[test]
fn the_header_has_the_layout_of_the_rust_definition() {
    let exe = dir().join("layout");
    support::cc("layout.c", &[], &exe, false);
    let out = std::process::Command::new(&exe)
        .output()
        .expect("run layout");
    assert!(out.status.success());
    let c: Vec<usize> = String::from_utf8(out.stdout)
        .expect("utf-8")
        .split_whitespace()
        .map(|n| n.parse().expect("a number"))
        .collect();
    use std::mem::{align_of, offset_of, size_of};
    let rust = vec![
        size_of::<Descriptor>(),
        align_of::<Descriptor>(),
        offset_of!(Descriptor, magic),
        offset_of!(Descriptor, abi_version),
        offset_of!(Descriptor, struct_size),
        offset_of!(Descriptor, kind),
        offset_of!(Descriptor, reserved),
        offset_of!(Descriptor, name),
        offset_of!(Descriptor, version),
        offset_of!(Descriptor, free_buffer),
        offset_of!(Descriptor, create),
        offset_of!(Descriptor, destroy),
        offset_of!(Descriptor, exchange),
        offset_of!(Descriptor, generate),
        offset_of!(Descriptor, load),
        offset_of!(Descriptor, public_key),
        offset_of!(Descriptor, sign),
        offset_of!(Descriptor, decrypt),
        offset_of!(Descriptor, key_agreement),
        offset_of!(Descriptor, release),
        size_of::<abi::Buffer>(),
        offset_of!(abi::Buffer, len),
    ];
    assert_eq!(c, rust);
    // 24 bytes of integers and 13 pointers (64-bit targets).
    #[cfg(target_pointer_width = "64")]
    assert_eq!(abi::DESCRIPTOR_V1_SIZE, 128);
    assert_eq!(&abi::MAGIC.to_be_bytes(), b"CMPPLUG1");
}

#[test]
fn a_c_transport_exchanges_bytes_through_the_host_adapter() {
    let plugin = Plugin::load(echo()).expect("load");
    assert_eq!(plugin.name(), "echo");
    assert_eq!(plugin.version(), "1.2.3");
    assert_eq!(plugin.kind(), PluginKind::Transport);
    assert_eq!(plugin.path(), echo().as_path());
    let transport = plugin.transport("echo:").expect("create");
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let deadline = Some(Instant::now() + Duration::from_secs(5));
        let t: &dyn Transport = &transport;
        assert_eq!(
            t.exchange(b"hello", deadline).await.expect("exchange"),
            b"echo:hello"
        );
        // Many at once: each completion reaches its own caller.
        let many: Vec<_> = (0..20)
            .map(|i| {
                let t = &transport;
                async move {
                    (
                        i,
                        t.exchange_raw(format!("m{i}").as_bytes(), deadline).await,
                    )
                }
            })
            .collect();
        for fut in many {
            let (i, r) = fut.await;
            assert_eq!(r.expect("exchange"), format!("echo:m{i}").into_bytes());
        }
    });
    assert_eq!(plugin.anomalies(), []);
}

#[test]
fn a_failure_the_plugin_reports_is_a_status_error_with_its_message() {
    let plugin = Plugin::load(echo()).expect("load");
    let path = echo().clone();
    let t = plugin.transport("").expect("create");
    let e = tokio_block_on(t.exchange_raw(b"error", None)).expect_err("fails");
    assert_eq!(
        e,
        PluginError::Status {
            path: path.clone(),
            function: "exchange",
            status: PluginStatus::Error,
            message: "the C plugin refuses".into(),
        }
    );
    assert_eq!(
        e.to_string(),
        format!(
            "plugin {}: exchange failed (error): the C plugin refuses",
            path.display()
        )
    );
    // Through the Transport trait: a protocol error with the same sentence.
    let e = tokio_block_on(Transport::exchange(&t, b"error", None)).expect_err("fails");
    assert_eq!(
        e,
        TransportError::Protocol(format!(
            "plugin {}: exchange failed (error): the C plugin refuses",
            path.display()
        ))
    );
    let e = plugin.transport("fail-create").expect_err("refused");
    assert_eq!(
        e,
        PluginError::Status {
            path,
            function: "create",
            status: PluginStatus::InvalidArgument,
            message: "the settings say fail-create".into(),
        }
    );
}

#[test]
fn a_callback_called_twice_is_used_once_and_reported() {
    let plugin = Plugin::load(echo()).expect("load");
    let t = plugin.transport("").expect("create");
    let r = tokio_block_on(t.exchange_raw(b"twice", None)).expect("first completion");
    assert_eq!(r, b"first");
    let twice = PluginError::CallbackCalledTwice {
        path: echo().clone(),
        function: "exchange",
    };
    assert_eq!(plugin.anomalies(), std::slice::from_ref(&twice));
    assert_eq!(
        twice.to_string(),
        format!(
            "plugin {} called the completion callback of exchange more than once; the later call was ignored",
            echo().display()
        )
    );
}

#[test]
fn a_callback_never_called_ends_at_the_deadline() {
    let plugin = Plugin::load(echo()).expect("load");
    let t = plugin.transport("").expect("create");
    let start = Instant::now();
    let e = tokio_block_on(t.exchange_raw(b"never", Some(start + Duration::from_millis(300))))
        .expect_err("never completes");
    let waited = start.elapsed();
    let PluginError::CallbackNeverCalled {
        path,
        function,
        millis,
    } = &e
    else {
        panic!("{e:?}")
    };
    assert_eq!((path, *function), (echo(), "exchange"));
    assert!((250..=300).contains(millis), "{millis}");
    // The deadline and the host's grace of 200 ms, no more.
    assert!(waited >= Duration::from_millis(300), "{waited:?}");
    assert!(waited < Duration::from_millis(1500), "{waited:?}");
    assert_eq!(
        e.to_string(),
        format!(
            "plugin {} did not complete exchange within {millis} ms",
            echo().display()
        )
    );
    // Through the Transport trait: a timeout.
    let e = tokio_block_on(Transport::exchange(
        &t,
        b"never",
        Some(Instant::now() + Duration::from_millis(100)),
    ))
    .expect_err("never completes");
    let TransportError::Timeout { what, .. } = e else {
        panic!("{e:?}")
    };
    assert_eq!(
        what,
        format!("the exchange through plugin {}", echo().display())
    );
    // A deadline already passed: the plugin is not even called.
    let e = tokio_block_on(t.exchange_raw(b"hello", Some(Instant::now()))).expect_err("too late");
    assert_eq!(
        e,
        PluginError::DeadlinePassed {
            path: echo().clone(),
            function: "exchange"
        }
    );
}

#[test]
fn a_callback_after_the_deadline_is_ignored_and_reported() {
    let plugin = Plugin::load(echo()).expect("load");
    let t = plugin.transport("").expect("create");
    let deadline = Instant::now() + Duration::from_millis(100);
    let e = tokio_block_on(t.exchange_raw(b"late", Some(deadline))).expect_err("too late");
    assert!(
        matches!(
            e,
            PluginError::CallbackNeverCalled {
                function: "exchange",
                ..
            }
        ),
        "{e:?}"
    );
    // The plugin answers at 600 ms; give it time, then look.
    let late = PluginError::LateCallback {
        path: echo().clone(),
        function: "exchange",
    };
    let start = Instant::now();
    while !plugin.anomalies().contains(&late) && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(plugin.anomalies(), std::slice::from_ref(&late));
    assert_eq!(
        late.to_string(),
        format!(
            "plugin {} called the completion callback of exchange after its deadline had passed; the call was ignored",
            echo().display()
        )
    );
}

#[test]
fn a_transport_is_not_a_key_backend() {
    let plugin = Plugin::load(echo()).expect("load");
    let e = plugin.key_backend("").expect_err("wrong kind");
    assert_eq!(
        e,
        PluginError::WrongKind {
            path: echo().clone(),
            found: PluginKind::Transport,
            expected: PluginKind::KeyBackend,
        }
    );
    assert_eq!(
        e.to_string(),
        format!(
            "plugin {} is a transport plugin, not a key backend plugin",
            echo().display()
        )
    );
}

#[test]
fn libraries_that_are_not_plugins_give_exact_errors() {
    let path = broken("NO_ENTRY");
    let e = load_err(&path);
    assert_eq!(
        e,
        PluginError::NotAPlugin {
            path: path.clone(),
            symbol: "cmp_plugin_entry_v1"
        }
    );
    assert_eq!(
        e.to_string(),
        format!(
            "{} is not a CMP plugin: it exports no symbol cmp_plugin_entry_v1",
            path.display()
        )
    );

    let path = broken("WRONG_MAGIC");
    let e = load_err(&path);
    assert_eq!(
        e,
        PluginError::WrongMagic {
            path: path.clone(),
            found: 0x4E4F_5441_4D41_4749,
            expected: abi::MAGIC,
        }
    );
    assert_eq!(
        e.to_string(),
        format!(
            "{} is not a CMP plugin: its descriptor starts with 0x4e4f54414d414749, not the magic 0x434d50504c554731",
            path.display()
        )
    );

    let path = broken("WRONG_VERSION");
    let e = load_err(&path);
    assert_eq!(
        e,
        PluginError::AbiVersion {
            path: path.clone(),
            found: 2,
            expected: 1,
        }
    );
    assert_eq!(
        e.to_string(),
        format!(
            "plugin {} speaks plugin ABI version 2, but this host speaks version 1",
            path.display()
        )
    );

    let path = broken("TOO_SMALL");
    let e = load_err(&path);
    assert_eq!(
        e,
        PluginError::StructTooSmall {
            path: path.clone(),
            found: 16,
            needed: abi::DESCRIPTOR_V1_SIZE as u32,
        }
    );
    assert_eq!(
        e.to_string(),
        format!(
            "plugin {}: its descriptor is 16 bytes, smaller than the {} bytes of ABI version 1",
            path.display(),
            abi::DESCRIPTOR_V1_SIZE
        )
    );

    let path = broken("WRONG_KIND");
    let e = load_err(&path);
    assert_eq!(
        e,
        PluginError::UnknownKind {
            path: path.clone(),
            found: 7
        }
    );
    assert_eq!(
        e.to_string(),
        format!(
            "plugin {} declares kind 7, which this host does not know (1: transport, 2: key backend)",
            path.display()
        )
    );

    let path = broken("NO_EXCHANGE");
    let e = load_err(&path);
    assert_eq!(
        e,
        PluginError::MissingFunction {
            path: path.clone(),
            function: "exchange",
            kind: PluginKind::Transport,
        }
    );
    assert_eq!(
        e.to_string(),
        format!(
            "plugin {}: its descriptor has no exchange function, which a transport plugin must have",
            path.display()
        )
    );
}

#[test]
fn a_missing_file_or_a_file_that_is_no_library_cannot_be_loaded() {
    let missing = dir().join("no-such-plugin.so");
    let e = load_err(&missing);
    assert_eq!(
        e.to_string(),
        format!("cannot load plugin {}: no such file", missing.display())
    );
    let text = dir().join("text.so");
    std::fs::write(&text, "not an ELF file\n").expect("write");
    let e = load_err(&text);
    let PluginError::Open { path, reason } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(path, &text);
    // The loader's own words (glibc), without the path a second time.
    assert_eq!(reason, "file too short");
    assert_eq!(
        e.to_string(),
        format!("cannot load plugin {}: file too short", text.display())
    );
}

fn tokio_block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
        .block_on(f)
}
