//! The one routine that writes files for the whole workspace: keys, certificates, chains,
//! CRLs and saved messages all go through [`write_atomically`], so they share one set of
//! rules.

use std::io::Write;
use std::path::Path;

/// Writes `data` to `path` so that a reader (or a crash) sees either the old file or the new
/// one, never a part:
///
/// 1. a temporary file with an unpredictable name is created in the target's directory, with
///    `mode` set at creation (no window in which a key is readable by others);
/// 2. the data is written and fsynced;
/// 3. it is renamed over `path` — a symlink at `path` is replaced, never written through;
/// 4. the directory is fsynced, so the rename survives a power loss.
///
/// On failure the temporary file is removed. Errors name the path.
pub fn write_atomically(path: &Path, data: &[u8], mode: u32) -> std::io::Result<()> {
    // tempfile's errors carry the temporary name; name the target instead.
    let context = |what: &str, e: std::io::Error| {
        let text = e.to_string();
        let cause = text.split(" at path \"").next().unwrap_or_default();
        std::io::Error::new(
            e.kind(),
            format!("cannot {what} {}: {cause}", path.display()),
        )
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".cmp-tmp-");
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(mode));
    #[cfg(not(unix))]
    let _ = mode;
    let mut tmp = builder
        .tempfile_in(dir)
        .map_err(|e| context("create a temporary file for", e))?;
    tmp.write_all(data)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| context("write", e))?;
    tmp.persist(path).map_err(|e| context("replace", e.error))?;
    sync_dir(dir);
    Ok(())
}

/// Fsyncs a directory after a rename in it (best effort: not every file system allows it).
pub fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn replaces_a_symlink_and_sets_the_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("dir");
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"untouched").expect("victim");
        let target = dir.path().join("key.pem");
        std::os::unix::fs::symlink(&victim, &target).expect("symlink");
        write_atomically(&target, b"secret", 0o600).expect("write");
        assert_eq!(std::fs::read(&victim).expect("victim"), b"untouched");
        let meta = std::fs::symlink_metadata(&target).expect("meta");
        assert!(meta.file_type().is_file(), "the link itself was replaced");
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::read(&target).expect("read"), b"secret");
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list")
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(left.len(), 2, "no temporary file is left: {left:?}");
    }

    #[test]
    fn a_missing_directory_is_named() {
        let err =
            write_atomically(Path::new("/nonexistent-dir/x.pem"), b"x", 0o644).expect_err("no dir");
        assert_eq!(
            err.to_string(),
            "cannot create a temporary file for /nonexistent-dir/x.pem: No such file or directory (os error 2)"
        );
    }
}
