//! The server's signing key on disk: created once, with care, then loaded at every start.
//!
//! The key is a PKCS#8 document in `<data_dir>/signing-key.pk8` (or `--signing-key-file`),
//! readable by its owner only. It is written to a temporary file in the same directory,
//! synced, then renamed into place, so a crash never leaves a half-written key that a later
//! start would refuse (or, worse, replace, orphaning every earlier signature).

use riskops_core::Error;
use riskops_core::signing::SigningKey;
use std::io::Write;
use std::path::Path;

/// The key file's name inside the data directory, unless configured otherwise.
pub const KEY_FILE_NAME: &str = "signing-key.pk8";

/// Loads the key at `path`, or creates it there when there is no file yet.
pub fn load_or_create(path: &Path) -> Result<SigningKey, Error> {
    match std::fs::read(path) {
        Ok(document) => SigningKey::from_pkcs8(&document).map_err(|e| {
            Error::new(e.kind, format!("the signing key {} cannot be used: {}", path.display(), e.message))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let (key, document) = SigningKey::generate()?;
            write_new(path, document.expose())?;
            tracing::info!(path = %path.display(), key_id = %key.public_key().key_id(), "created a new signing key");
            Ok(key)
        }
        Err(e) => Err(Error::unavailable(format!("cannot read the signing key {}: {e}", path.display()))),
    }
}

/// Writes `bytes` to `path` (mode 0600) by temporary file, fsync and rename: the file at
/// `path` is either absent or complete.
fn write_new(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let io = |what: &str, e: std::io::Error| Error::unavailable(format!("cannot {what} {}: {e}", path.display()));
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(|e| io("create the directory of", e))?;
    let mut tmp_name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp = dir.join(tmp_name);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = (|| {
        let mut file = options.open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(&dir)?.sync_all()
    })();
    let _ = std::fs::remove_file(&tmp);
    written.map_err(|e| io("write the signing key", e))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_key_is_created_once_privately_and_loaded_afterwards() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys").join(KEY_FILE_NAME);
        let first = load_or_create(&path).unwrap();
        let again = load_or_create(&path).unwrap();
        assert_eq!(first.public_key(), again.public_key());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        // Only the key is left behind, no temporary file.
        assert_eq!(std::fs::read_dir(path.parent().unwrap()).unwrap().count(), 1);

        std::fs::write(&path, b"garbage").unwrap();
        let err = load_or_create(&path).unwrap_err();
        assert!(err.message.contains(KEY_FILE_NAME), "{}", err.message);
    }
}
