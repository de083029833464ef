//! The local artifact store (a folder of content-addressed files), and receiving uploads
//! into temporary files while hashing them.
//!
//! Layout: `<root>/sha256/<first two hex digits>/<all 64 hex digits>`. Objects are
//! written once, by rename from a temporary file on the same file system, then fsynced,
//! so a crash leaves either no object or a whole one.

use async_trait::async_trait;
use riskops_core::artifact::{ArtifactStore, Digest, VerifiedFile, corrupt};
use riskops_core::{Error, Result};
use sha2::{Digest as _, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

pub struct LocalArtifacts {
    root: PathBuf,
}

impl LocalArtifacts {
    pub fn new(root: PathBuf) -> Result<Self> {
        private_dir(&root.join("sha256"))
            .map_err(|e| Error::unavailable(format!("cannot create the artifact folder {}: {e}", root.display())))?;
        Ok(LocalArtifacts { root })
    }

    fn path(&self, digest: &Digest) -> PathBuf {
        let hex = digest.hex();
        self.root.join("sha256").join(&hex[..2]).join(hex)
    }
}

/// Creates `dir` and its missing parents readable by the server's user only (0700): artifacts,
/// raw prediction records and evidence are nobody else's to read.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Makes an existing folder the server's user's only (0700): data directories made by an
/// earlier version were 0755.
pub fn restrict_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Creates a new file readable and writable by the server's user only (0600).
pub fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Removes every file left in the temporary folder (uploads and segments a killed server
/// was receiving); the number removed. Only for a server starting, before it serves.
pub fn clear_dir(dir: &Path) -> std::io::Result<usize> {
    let mut removed = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            std::fs::remove_file(entry.path())?;
            removed += 1;
        }
    }
    Ok(removed)
}

fn io_err(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::unavailable(format!("cannot {what} {}: {e}", path.display()))
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| Error::internal(format!("an artifact task failed: {e}")))?
}

/// SHA-256 of a file, read in 1 MiB blocks.
pub fn hash_file(path: &Path) -> std::io::Result<(Digest, u64)> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok((Digest::from_sha256(&hasher.finalize()), size))
}

#[async_trait]
impl ArtifactStore for LocalArtifacts {
    fn kind(&self) -> &'static str {
        "local"
    }

    async fn put_file(&self, source: &Path, digest: &Digest) -> Result<()> {
        let (source, target) = (source.to_path_buf(), self.path(digest));
        blocking(move || {
            if target.exists() {
                let _ = std::fs::remove_file(&source);
                return Ok(());
            }
            let dir = target.parent().unwrap_or(Path::new("."));
            private_dir(dir).map_err(|e| io_err("create", dir, e))?;
            std::fs::File::open(&source).and_then(|f| f.sync_all()).map_err(|e| io_err("sync", &source, e))?;
            if std::fs::rename(&source, &target).is_err() {
                // Another file system: copy to a temporary name beside the target, then rename.
                let tmp = target.with_extension("partial");
                std::fs::copy(&source, &tmp).map_err(|e| io_err("copy", &source, e))?;
                std::fs::File::open(&tmp).and_then(|f| f.sync_all()).map_err(|e| io_err("sync", &tmp, e))?;
                std::fs::rename(&tmp, &target).map_err(|e| io_err("store", &target, e))?;
                let _ = std::fs::remove_file(&source);
            }
            // The directory entry must be durable too.
            std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io_err("sync", dir, e))?;
            Ok(())
        })
        .await
    }

    async fn open_verified(&self, digest: &Digest) -> Result<VerifiedFile> {
        let (path, digest) = (self.path(digest), digest.clone());
        blocking(move || {
            let (actual, size) = match hash_file(&path) {
                Ok(found) => found,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(Error::new(
                        riskops_core::ErrorKind::Integrity,
                        format!("stored object {digest} is missing from the artifact store"),
                    ));
                }
                Err(e) => return Err(io_err("read", &path, e)),
            };
            if actual != digest {
                tracing::error!(%digest, %actual, path = %path.display(), "artifact does not match its digest");
                return Err(corrupt(&digest, "object"));
            }
            Ok(VerifiedFile { path, size, temporary: false })
        })
        .await
    }

    async fn exists(&self, digest: &Digest) -> Result<bool> {
        let path = self.path(digest);
        blocking(move || Ok(path.exists())).await
    }

    async fn list(&self) -> Result<Option<Vec<Digest>>> {
        let root = self.root.join("sha256");
        blocking(move || {
            let mut found = Vec::new();
            for shard in std::fs::read_dir(&root).map_err(|e| io_err("list", &root, e))? {
                let shard = shard.map_err(|e| io_err("list", &root, e))?.path();
                if !shard.is_dir() {
                    continue;
                }
                for object in std::fs::read_dir(&shard).map_err(|e| io_err("list", &shard, e))? {
                    let name = object.map_err(|e| io_err("list", &shard, e))?.file_name();
                    // `.partial` copies and anything else that is not a digest are left alone.
                    if let Some(digest) = name.to_str().and_then(|n| Digest::parse(&format!("sha256:{n}")).ok()) {
                        found.push(digest);
                    }
                }
            }
            Ok(Some(found))
        })
        .await
    }

    async fn delete(&self, digest: &Digest) -> Result<()> {
        let path = self.path(digest);
        blocking(move || match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err("delete", &path, e)),
        })
        .await
    }
}

/// An upload being received: bytes go to a temporary file and through SHA-256 at once.
/// The file is removed when this (or the [`Received`] it becomes) is dropped unless it
/// was moved into the artifact store.
pub struct Incoming {
    path: PathBuf,
    file: tokio::io::BufWriter<tokio::fs::File>,
    hasher: Sha256,
    size: u64,
    limit: u64,
}

impl Incoming {
    /// A new temporary file in `dir`; more than `limit` bytes is a 413.
    pub async fn create(dir: &Path, limit: u64) -> Result<Self> {
        private_dir(dir).map_err(|e| io_err("create", dir, e))?;
        let token = riskops_core::auth::generate_token()?;
        let path = dir.join(format!("upload-{}", &token.expose()[riskops_core::auth::TOKEN_PREFIX.len()..][..24]));
        let file = tokio::fs::File::from_std(private_file(&path).map_err(|e| io_err("create", &path, e))?);
        Ok(Incoming {
            path,
            file: tokio::io::BufWriter::with_capacity(1 << 20, file),
            hasher: Sha256::new(),
            size: 0,
            limit,
        })
    }

    pub async fn write(&mut self, chunk: &[u8]) -> Result<()> {
        use tokio::io::AsyncWriteExt;
        self.size += chunk.len() as u64;
        if self.size > self.limit {
            return Err(Error::new(
                riskops_core::ErrorKind::PayloadTooLarge,
                format!("the upload is larger than the limit of {} bytes", self.limit),
            ));
        }
        self.hasher.update(chunk);
        self.file.write_all(chunk).await.map_err(|e| io_err("write", &self.path, e))
    }

    pub async fn finish(mut self) -> Result<Received> {
        use tokio::io::AsyncWriteExt;
        self.file.flush().await.map_err(|e| io_err("write", &self.path, e))?;
        let digest = Digest::from_sha256(&self.hasher.clone().finalize());
        let path = std::mem::take(&mut self.path);
        Ok(Received { path, digest, size: self.size })
    }
}

impl Drop for Incoming {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// A complete upload in a temporary file.
#[derive(Debug)]
pub struct Received {
    pub path: PathBuf,
    pub digest: Digest,
    pub size: u64,
}

impl Drop for Received {
    fn drop(&mut self) {
        // After a successful put_file the file has been moved away and this is a no-op.
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn objects_round_trip_and_corruption_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalArtifacts::new(dir.path().join("artifacts")).unwrap();
        let mut incoming = Incoming::create(&dir.path().join("tmp"), 1 << 20).await.unwrap();
        incoming.write(b"hello ").await.unwrap();
        incoming.write(b"world").await.unwrap();
        let received = incoming.finish().await.unwrap();
        // sha256("hello world")
        assert_eq!(received.digest.hex(), "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9");
        store.put_file(&received.path, &received.digest).await.unwrap();
        assert!(store.exists(&received.digest).await.unwrap());
        let file = store.open_verified(&received.digest).await.unwrap();
        assert_eq!(std::fs::read(&file.path).unwrap(), b"hello world");

        std::fs::write(&file.path, b"hello w0rld").unwrap();
        let err = store.open_verified(&received.digest).await.unwrap_err();
        assert_eq!(err.kind, riskops_core::ErrorKind::Integrity);
        assert!(err.message.contains(received.digest.as_str()), "{err}");
    }

    #[tokio::test]
    async fn uploads_over_the_limit_are_refused_and_leave_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut incoming = Incoming::create(dir.path(), 4).await.unwrap();
        assert_eq!(incoming.write(b"12345").await.unwrap_err().kind, riskops_core::ErrorKind::PayloadTooLarge);
        drop(incoming);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
