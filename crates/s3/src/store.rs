//! The artifact store on a bucket: same object layout and same guarantees as the local
//! store (`riskops-store`'s `LocalArtifacts`), with S3 as the disk.

use crate::client::{BODY_IDLE_TIMEOUT, S3Client};
use crate::config::S3Config;
use async_trait::async_trait;
use bytes::Bytes;
use http_body_util::BodyExt;
use riskops_core::artifact::{ArtifactStore, Digest, VerifiedFile, corrupt};
use riskops_core::{Error, ErrorKind, Result};
use sha2::{Digest as _, Sha256};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Files up to this size go up in one request; larger ones in parts of (at least) this
/// size. Memory per upload is two parts: one being sent while the next is read.
pub const PART_SIZE: u64 = 8 << 20;
/// S3 allows 10,000 parts; staying below leaves room and fixes the part size for files
/// over ~70 GiB.
const MAX_PARTS: u64 = 9_000;

/// Artifacts as objects `<prefix>/sha256/<2 hex>/<64 hex>` in one bucket.
#[derive(Debug)]
pub struct S3Artifacts {
    client: S3Client,
    tmp_dir: PathBuf,
}

impl S3Artifacts {
    /// Checks the configuration, that the bucket exists and that the credentials may use
    /// it, so a misconfigured deployment fails at start rather than on the first upload.
    /// Verified downloads are written to `tmp_dir` (created if needed), which should be on
    /// a disk with room for the largest artifact.
    pub async fn connect(config: S3Config, tmp_dir: PathBuf) -> Result<Self> {
        Self::connect_client(S3Client::new(config)?, tmp_dir).await
    }

    /// As [`S3Artifacts::connect`], with a client prepared by the caller (another clock).
    pub async fn connect_client(client: S3Client, tmp_dir: PathBuf) -> Result<Self> {
        client.head_bucket().await.map_err(|e| match e.kind {
            // The message already names the bucket and endpoint.
            ErrorKind::Unavailable => Error::unavailable(format!("the S3 artifact store is not usable: {}", e.message)),
            _ => e,
        })?;
        tokio::fs::create_dir_all(&tmp_dir)
            .await
            .map_err(|e| Error::unavailable(format!("cannot create the download folder {}: {e}", tmp_dir.display())))?;
        tracing::info!(
            location = %client.config().location(),
            endpoint = %client.config().endpoint_display(),
            credentials = %client.credential_source().describe(),
            "S3 artifact store connected"
        );
        Ok(S3Artifacts { client, tmp_dir })
    }

    /// The object key of `digest`.
    pub fn key(&self, digest: &Digest) -> String {
        let hex = digest.hex();
        let prefix = &self.client.config().prefix;
        if prefix.is_empty() {
            format!("sha256/{}/{hex}", &hex[..2])
        } else {
            format!("{prefix}/sha256/{}/{hex}", &hex[..2])
        }
    }

    /// The underlying client, for checks and tools.
    pub fn client(&self) -> &S3Client {
        &self.client
    }

    /// Uploads `file` in parts, hashing as it reads; the upload is completed only if the
    /// bytes match `digest`, so no object ever holds other bytes than its name says.
    async fn upload_multipart(
        &self,
        key: &str,
        source: &Path,
        mut file: tokio::fs::File,
        size: u64,
        digest: &Digest,
    ) -> Result<()> {
        // Round up to whole MiB so parts stay aligned and few.
        let part_size = PART_SIZE.max(size.div_ceil(MAX_PARTS).div_ceil(1 << 20) << 20);
        let upload_id = self.client.create_multipart(key).await?;
        let mut hasher = Sha256::new();
        let result: Result<Vec<(u32, String)>> = async {
            let mut parts = Vec::new();
            let mut next = read_part(&mut file, part_size, &mut hasher, source).await?;
            while !next.is_empty() {
                let number = u32::try_from(parts.len() + 1).map_err(|_| Error::internal("too many upload parts"))?;
                // Send this part while reading the next one from disk.
                let (sent, read) = tokio::join!(
                    self.client.upload_part(key, &upload_id, number, next),
                    read_part(&mut file, part_size, &mut hasher, source)
                );
                parts.push((number, sent?));
                next = read?;
            }
            Ok(parts)
        }
        .await;
        let parts = match result {
            Ok(parts) => parts,
            Err(e) => {
                self.client.abort_multipart(key, &upload_id).await;
                return Err(e);
            }
        };
        let actual = Digest::from_sha256(&hasher.finalize());
        if actual != *digest {
            self.client.abort_multipart(key, &upload_id).await;
            return Err(mismatch(source, digest, &actual));
        }
        if let Err(e) = self.client.complete_multipart(key, &upload_id, &parts).await {
            self.client.abort_multipart(key, &upload_id).await;
            return Err(e);
        }
        Ok(())
    }
}

/// Reads up to `size` bytes (fewer only at the end of the file), feeding them to `hasher`.
async fn read_part(file: &mut tokio::fs::File, size: u64, hasher: &mut Sha256, path: &Path) -> Result<Bytes> {
    // Sized once: growing a Vec as `read_to_end` does would reallocate (and copy) parts.
    let mut buffer = vec![0u8; usize::try_from(size).map_err(|_| Error::internal("part size too large"))?];
    let mut filled = 0;
    while filled < buffer.len() {
        match file.read(&mut buffer[filled..]).await.map_err(|e| io_err("read", path, e))? {
            0 => break,
            n => filled += n,
        }
    }
    buffer.truncate(filled);
    hasher.update(&buffer);
    Ok(Bytes::from(buffer))
}

fn io_err(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::unavailable(format!("cannot {what} {}: {e}", path.display()))
}

/// The caller's digest is not that of the file it handed over: a bug or a file changed
/// underneath. Nothing is stored.
fn mismatch(path: &Path, digest: &Digest, actual: &Digest) -> Error {
    Error::new(
        ErrorKind::Integrity,
        format!("the file {} to store as {digest} hashes to {actual}; it was not stored", path.display()),
    )
}

/// A file name in the download folder that no other download in this process, or in
/// another process sharing the folder, uses.
fn temporary_name(digest: &Digest) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("s3-{}-{}-{}.download", &digest.hex()[..16], std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

#[async_trait]
impl ArtifactStore for S3Artifacts {
    fn kind(&self) -> &'static str {
        "s3"
    }

    async fn put_file(&self, source: &Path, digest: &Digest) -> Result<()> {
        let key = self.key(digest);
        // Objects are immutable and named by their bytes: one already there is this one.
        if self.client.head_object(&key).await?.is_none() {
            let file = tokio::fs::File::open(source).await.map_err(|e| io_err("open", source, e))?;
            let size = file.metadata().await.map_err(|e| io_err("read", source, e))?.len();
            if size <= PART_SIZE {
                let mut hasher = Sha256::new();
                let mut file = file;
                let bytes = read_part(&mut file, size, &mut hasher, source).await?;
                let actual = Digest::from_sha256(&hasher.finalize());
                if actual != *digest {
                    return Err(mismatch(source, digest, &actual));
                }
                self.client.put_object(&key, bytes).await?;
            } else {
                self.upload_multipart(&key, source, file, size, digest).await?;
            }
            tracing::debug!(%digest, key, size, "artifact stored in S3");
        }
        // The local store moves the file in; here the upload took its place.
        if let Err(e) = tokio::fs::remove_file(source).await {
            tracing::warn!(path = %source.display(), error = %e, "cannot remove an uploaded file");
        }
        Ok(())
    }

    async fn open_verified(&self, digest: &Digest) -> Result<VerifiedFile> {
        let key = self.key(digest);
        let Some(response) = self.client.get_object(&key).await? else {
            return Err(Error::new(
                ErrorKind::Integrity,
                format!("stored object {digest} is missing from the artifact store"),
            ));
        };
        tokio::fs::create_dir_all(&self.tmp_dir).await.map_err(|e| io_err("create", &self.tmp_dir, e))?;
        // Created first so that every early return below, by dropping it, deletes the file.
        let mut verified = VerifiedFile { path: self.tmp_dir.join(temporary_name(digest)), size: 0, temporary: true };
        // A copy of an artifact: the server's user's only, like the stored objects.
        let mut options = tokio::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        options.mode(0o600);
        let file = options.open(&verified.path).await.map_err(|e| io_err("create", &verified.path, e))?;
        let mut writer = tokio::io::BufWriter::with_capacity(1 << 20, file);
        let mut hasher = Sha256::new();
        let mut body = response.into_body();
        loop {
            let frame = tokio::time::timeout(BODY_IDLE_TIMEOUT, body.frame()).await.map_err(|_| {
                Error::unavailable(format!("{} stopped sending object {digest}", self.client.describe()))
            })?;
            let Some(frame) = frame else { break };
            let frame = frame.map_err(|e| {
                Error::unavailable(format!("reading object {digest} from {} failed: {e}", self.client.describe()))
            })?;
            if let Ok(data) = frame.into_data() {
                hasher.update(&data);
                verified.size += data.len() as u64;
                writer.write_all(&data).await.map_err(|e| io_err("write", &verified.path, e))?;
            }
        }
        writer.flush().await.map_err(|e| io_err("write", &verified.path, e))?;
        drop(writer);
        let actual = Digest::from_sha256(&hasher.finalize());
        if actual != *digest {
            tracing::error!(%digest, %actual, key, bucket = %self.client.config().bucket, "artifact does not match its digest");
            return Err(corrupt(digest, "object"));
        }
        Ok(verified)
    }

    async fn exists(&self, digest: &Digest) -> Result<bool> {
        Ok(self.client.head_object(&self.key(digest)).await?.is_some())
    }

    async fn delete(&self, digest: &Digest) -> Result<()> {
        self.client.delete_object(&self.key(digest)).await
    }
}
