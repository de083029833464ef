//! Content-addressed artifacts: dataset files and model files, named by the SHA-256 of
//! their bytes and checked against it on every read.

use crate::error::{Error, ErrorKind, Result};
use async_trait::async_trait;
use std::fmt;
use std::path::{Path, PathBuf};

/// `sha256:<64 lowercase hex digits>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(String);

impl Digest {
    pub const PREFIX: &'static str = "sha256:";

    /// From the raw 32-byte hash.
    pub fn from_sha256(bytes: &[u8]) -> Self {
        Digest(format!("{}{}", Self::PREFIX, crate::encode::hex(bytes)))
    }

    pub fn parse(text: &str) -> Result<Self> {
        let hex = text.strip_prefix(Self::PREFIX).unwrap_or("");
        if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            Ok(Digest(text.to_string()))
        } else {
            Err(Error::invalid("digest", "must be sha256: followed by 64 lowercase hex digits"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The hex part, used to lay out objects (`sha256/ab/cdef…`).
    pub fn hex(&self) -> &str {
        &self.0[Self::PREFIX.len()..]
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The error for an object whose bytes no longer hash to its name.
pub fn corrupt(digest: &Digest, what: &str) -> Error {
    Error::new(
        ErrorKind::Integrity,
        format!("stored {what} {digest} is corrupt: its bytes no longer match its digest; it will not be served"),
    )
}

/// Where artifact bytes live: a local folder by default, S3-compatible storage at scale.
/// Objects are immutable and named by their digest.
#[async_trait]
pub trait ArtifactStore: Send + Sync + 'static {
    /// `local` or `s3`, for health and logs.
    fn kind(&self) -> &'static str;

    /// Moves (or copies) the local file `path`, whose digest the caller computed while
    /// receiving it, into the store. Storing a digest that is already there is a no-op.
    async fn put_file(&self, path: &Path, digest: &Digest) -> Result<()>;

    /// Makes the object available as a local file after checking its digest; an object
    /// that does not match is an [`ErrorKind::Integrity`] error naming it.
    async fn open_verified(&self, digest: &Digest) -> Result<VerifiedFile>;

    async fn exists(&self, digest: &Digest) -> Result<bool>;

    /// Every stored object, for removing those nothing refers to after a crash; `None` where
    /// the store is shared by several servers (S3), so no one server may judge what is unused.
    async fn list(&self) -> Result<Option<Vec<Digest>>> {
        Ok(None)
    }

    /// Removes an object (used only to undo a `put_file` whose metadata did not commit).
    async fn delete(&self, digest: &Digest) -> Result<()>;

    /// A small object's bytes, verified; larger than `max` is an invalid request. Reads the
    /// verified local copy, which every store provides (the one file access in core, next
    /// to [`VerifiedFile`]'s clean-up).
    async fn read_small(&self, digest: &Digest, max: u64) -> Result<Vec<u8>> {
        let file = self.open_verified(digest).await?;
        if file.size > max {
            return Err(crate::Error::invalid(
                "file",
                format!("{digest} is {} bytes; at most {max} are read", file.size),
            ));
        }
        std::fs::read(&file.path).map_err(|e| crate::Error::unavailable(format!("reading {digest}: {e}")))
    }
}

/// A verified local copy of an object. `temporary` copies are deleted when dropped.
#[derive(Debug)]
pub struct VerifiedFile {
    pub path: PathBuf,
    pub size: u64,
    pub temporary: bool,
}

impl Drop for VerifiedFile {
    fn drop(&mut self) {
        if self.temporary {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_checked() {
        let d = Digest::from_sha256(&[0xab; 32]);
        assert_eq!(Digest::parse(d.as_str()).unwrap(), d);
        assert!(d.hex().starts_with("abab"));
        assert!(Digest::parse("sha256:xyz").is_err());
        assert!(Digest::parse(&d.as_str().to_uppercase()).is_err());
        assert!(Digest::parse(&format!("md5:{}", d.hex())).is_err());
    }
}
