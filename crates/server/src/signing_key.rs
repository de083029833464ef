//! The server's ed25519 signing key: loaded from a PKCS#8 file, or made on first start.
//!
//! The file is written to a temporary name with mode 0600, synced, then renamed, so a crash
//! never leaves a half-written key. Servers sharing one PostgreSQL database should share
//! the file (`--signing-key-file`), so all sign with one key.

use riskops_core::Error;
use riskops_core::signing::SigningKey;
use std::io::Write;
use std::path::Path;

pub const DEFAULT_FILE_NAME: &str = "signing-key.pk8";

pub fn load_or_create(path: &Path) -> Result<SigningKey, Error> {
    match std::fs::read(path) {
        Ok(bytes) => SigningKey::from_pkcs8(&bytes)
            .map_err(|e| Error::internal(format!("the signing key {} is unusable: {}", path.display(), e.message))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create(path),
        Err(e) => Err(Error::unavailable(format!("cannot read the signing key {}: {e}", path.display()))),
    }
}

fn create(path: &Path) -> Result<SigningKey, Error> {
    let (key, document) = SigningKey::generate()?;
    let io = |e: std::io::Error| Error::unavailable(format!("cannot write the signing key {}: {e}", path.display()));
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    let tmp = path.with_extension("pk8.tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp).map_err(io)?;
    file.write_all(document.expose()).map_err(io)?;
    file.sync_all().map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)?;
    tracing::info!(key_id = %key.public_key().key_id(), file = %path.display(), "created a new signing key");
    Ok(key)
}
