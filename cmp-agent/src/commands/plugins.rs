//! `cmp-agent plugins`: every plugin the registry holds, built in and loaded.

use std::io::Write;
use std::process::ExitCode;

use cmp_core::registry::{Origin, PluginInfo, Registry};

use crate::cli::{Format, PluginsArgs};
use crate::exit;

/// One plugin as `--format json` prints it.
#[derive(serde::Serialize)]
struct JsonPlugin<'a> {
    name: &'a str,
    kind: String,
    version: &'a str,
    origin: String,
    schemes: &'a [String],
}

/// The lines `plugins` prints: name, kind, version and origin in aligned columns (text), or
/// one JSON object per plugin (json).
pub(crate) fn render(plugins: &[PluginInfo], format: Format) -> String {
    let mut out = String::new();
    match format {
        Format::Text => {
            let kinds: Vec<String> = plugins.iter().map(|p| p.kind.to_string()).collect();
            let w_name = plugins.iter().map(|p| p.name.len()).max().unwrap_or(0);
            let w_kind = kinds.iter().map(String::len).max().unwrap_or(0);
            let w_version = plugins.iter().map(|p| p.version.len()).max().unwrap_or(0);
            for (p, kind) in plugins.iter().zip(&kinds) {
                out.push_str(&format!(
                    "{:w_name$}  {kind:w_kind$}  {:w_version$}  {}\n",
                    p.name, p.version, p.origin
                ));
            }
        }
        Format::Json => {
            for p in plugins {
                let j = JsonPlugin {
                    name: &p.name,
                    kind: p.kind.to_string(),
                    version: &p.version,
                    origin: match &p.origin {
                        Origin::Library(path) => path.display().to_string(),
                        other => other.to_string(),
                    },
                    schemes: &p.schemes,
                };
                // Serialising strings and a list of strings cannot fail.
                out.push_str(&serde_json::to_string(&j).unwrap_or_default());
                out.push('\n');
            }
        }
    }
    out
}

/// `plugins`.
pub(crate) fn run(args: &PluginsArgs, registry: &Registry) -> ExitCode {
    let text = render(&registry.plugins(), args.format);
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => exit::code(exit::OK),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => exit::code(exit::OK),
        Err(e) => {
            eprintln!("cmp-agent: cannot write the list: {e}");
            exit::code(exit::MALFORMED)
        }
    }
}

#[cfg(test)]
mod tests {
    use cmp_core::registry::PluginKind;

    use super::*;

    #[test]
    fn text_columns_are_aligned_and_json_is_one_object_per_line() {
        let plugins = [
            PluginInfo {
                name: "http".into(),
                kind: PluginKind::Transport,
                version: "0.1.0".into(),
                origin: Origin::BuiltIn,
                schemes: vec!["http".into(), "https".into()],
            },
            PluginInfo {
                name: "software".into(),
                kind: PluginKind::KeyBackend,
                version: "10.0".into(),
                origin: Origin::Library("/opt/lib x.so".into()),
                schemes: vec![],
            },
        ];
        assert_eq!(
            render(&plugins, Format::Text),
            "http      transport    0.1.0  built in\n\
             software  key backend  10.0   /opt/lib x.so\n"
        );
        assert_eq!(
            render(&plugins, Format::Json),
            "{\"name\":\"http\",\"kind\":\"transport\",\"version\":\"0.1.0\",\"origin\":\"built in\",\"schemes\":[\"http\",\"https\"]}\n\
             {\"name\":\"software\",\"kind\":\"key backend\",\"version\":\"10.0\",\"origin\":\"/opt/lib x.so\",\"schemes\":[]}\n"
        );
    }
}
