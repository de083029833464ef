//! The S3 artifact store against a real S3-compatible server (moto in CI:
//! `moto_server -p 9000`), named by `RISKOPS_TEST_S3_ENDPOINT`. Without it every test
//! returns early and says so. Each test uses a bucket of its own.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use bytes::Bytes;
use riskops_core::ErrorKind;
use riskops_core::artifact::{ArtifactStore, Digest};
use riskops_s3::{S3Artifacts, S3Client, S3Config};
use sha2::{Digest as _, Sha256};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

const SECRET: &str = "test-secret-key-never-shown";

fn endpoint() -> Option<String> {
    let endpoint = std::env::var("RISKOPS_TEST_S3_ENDPOINT").ok().filter(|e| !e.is_empty());
    if endpoint.is_none() {
        println!("skipped: RISKOPS_TEST_S3_ENDPOINT is not set (start `moto_server -p 9000` and set it to run)");
    }
    endpoint
}

/// A bucket name unique to this test and this run.
fn bucket(test: &str) -> String {
    #[allow(clippy::disallowed_methods)] // only to keep buckets of reruns apart
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("rt-{test}-{}-{}", std::process::id(), nanos % 1_000_000_000)
}

fn config(endpoint: &str, bucket: &str) -> S3Config {
    // Credentials passed in the configuration, not the process environment: moto takes any.
    S3Config::new(bucket)
        .with_endpoint(endpoint)
        .with_allow_http(true)
        .with_credentials("test", SECRET)
        .with_prefix("riskops/artifacts")
}

struct Fixture {
    store: S3Artifacts,
    client: S3Client,
    dir: tempfile::TempDir,
}

impl Fixture {
    async fn new(endpoint: &str, test: &str) -> Fixture {
        let config = config(endpoint, &bucket(test));
        let client = S3Client::new(config.clone()).unwrap();
        client.create_bucket().await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store = S3Artifacts::connect(config, dir.path().join("downloads")).await.unwrap();
        Fixture { store, client, dir }
    }

    /// A file in the upload folder and its digest.
    fn file(&self, name: &str, content: &[u8]) -> (PathBuf, Digest) {
        let path = self.dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        (path, Digest::from_sha256(&Sha256::digest(content)))
    }

    fn downloads(&self) -> usize {
        std::fs::read_dir(self.dir.path().join("downloads")).map(|d| d.count()).unwrap_or(0)
    }
}

#[tokio::test]
async fn put_then_open_verified_returns_the_same_bytes() {
    let Some(endpoint) = endpoint() else { return };
    let f = Fixture::new(&endpoint, "roundtrip").await;
    assert_eq!(f.store.kind(), "s3");
    let (path, digest) = f.file("upload", b"hello world");
    f.store.put_file(&path, &digest).await.unwrap();
    assert!(!path.exists(), "the uploaded file is consumed, as the local store moves it");
    let key = f.store.key(&digest);
    assert!(key.starts_with("riskops/artifacts/sha256/b9/b94d27b9934d3e08"), "{key}");
    assert_eq!(f.client.head_object(&key).await.unwrap(), Some(11));

    let file = f.store.open_verified(&digest).await.unwrap();
    assert!(file.temporary);
    assert_eq!(file.size, 11);
    assert_eq!(std::fs::read(&file.path).unwrap(), b"hello world");
    let path = file.path.clone();
    drop(file);
    assert!(!path.exists(), "a verified download is deleted when dropped");

    // An empty artifact is an artifact too.
    let (path, digest) = f.file("empty", b"");
    f.store.put_file(&path, &digest).await.unwrap();
    assert_eq!(f.store.open_verified(&digest).await.unwrap().size, 0);
}

#[tokio::test]
async fn putting_a_stored_digest_again_uploads_nothing() {
    let Some(endpoint) = endpoint() else { return };
    let f = Fixture::new(&endpoint, "noop").await;
    let (path, digest) = f.file("first", b"same bytes");
    f.store.put_file(&path, &digest).await.unwrap();
    // Mark the stored object: a second put that uploaded would replace the mark.
    let key = f.store.key(&digest);
    f.client.put_object(&key, Bytes::from_static(b"marker")).await.unwrap();
    let (again, _) = f.file("second", b"same bytes");
    f.store.put_file(&again, &digest).await.unwrap();
    assert!(!again.exists(), "the redundant file is removed all the same");
    assert_eq!(f.client.head_object(&key).await.unwrap(), Some(6), "the object was not rewritten");
}

#[tokio::test]
async fn a_file_that_does_not_match_its_digest_is_not_stored() {
    let Some(endpoint) = endpoint() else { return };
    let f = Fixture::new(&endpoint, "mismatch").await;
    let (_, digest) = f.file("intended", b"intended bytes");
    let (path, _) = f.file("other", b"other bytes");
    let err = f.store.put_file(&path, &digest).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Integrity, "{err}");
    assert!(!f.store.exists(&digest).await.unwrap());
}

#[tokio::test]
async fn exists_and_delete() {
    let Some(endpoint) = endpoint() else { return };
    let f = Fixture::new(&endpoint, "delete").await;
    let (path, digest) = f.file("upload", b"to be deleted");
    assert!(!f.store.exists(&digest).await.unwrap());
    f.store.put_file(&path, &digest).await.unwrap();
    assert!(f.store.exists(&digest).await.unwrap());
    f.store.delete(&digest).await.unwrap();
    assert!(!f.store.exists(&digest).await.unwrap());
    // Deleting what is not there is not an error (undoing a put that never happened).
    f.store.delete(&digest).await.unwrap();
}

#[tokio::test]
async fn a_corrupted_object_is_refused_and_leaves_no_file() {
    let Some(endpoint) = endpoint() else { return };
    let f = Fixture::new(&endpoint, "corrupt").await;
    let (path, digest) = f.file("upload", b"hello world");
    f.store.put_file(&path, &digest).await.unwrap();
    f.client.put_object(&f.store.key(&digest), Bytes::from_static(b"hello w0rld")).await.unwrap();

    let err = f.store.open_verified(&digest).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Integrity);
    assert!(err.message.contains(digest.as_str()), "{err}");
    assert!(err.message.contains("corrupt"), "{err}");
    assert_eq!(f.downloads(), 0, "the mismatching download was deleted");
}

#[tokio::test]
async fn a_missing_object_is_an_integrity_error() {
    let Some(endpoint) = endpoint() else { return };
    let f = Fixture::new(&endpoint, "missing").await;
    let digest = Digest::from_sha256(&Sha256::digest(b"never stored"));
    let err = f.store.open_verified(&digest).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Integrity);
    assert!(err.message.contains(digest.as_str()) && err.message.contains("missing"), "{err}");
    assert_eq!(f.downloads(), 0);
}

/// Peak resident memory of this process so far, in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
}

fn hash_file(path: &Path) -> Digest {
    let mut file = std::fs::File::open(path).unwrap();
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Digest::from_sha256(&hasher.finalize())
}

#[tokio::test]
async fn a_large_file_round_trips_in_parts_without_being_held_in_memory() {
    let Some(endpoint) = endpoint() else { return };
    let f = Fixture::new(&endpoint, "large").await;
    const SIZE: u64 = 64 << 20;
    const MIB: u64 = 1 << 20;
    // Written a MiB at a time, so the test itself never holds the file either. Each MiB
    // differs, so parts sent out of order or twice would change the digest.
    let path = f.dir.path().join("large");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let mut hasher = Sha256::new();
    let mut block = vec![0u8; MIB as usize];
    for i in 0..SIZE / MIB {
        for (j, byte) in block.iter_mut().enumerate() {
            *byte = (j as u64).wrapping_mul(31).wrapping_add(i * 7) as u8;
        }
        hasher.update(&block);
        out.write_all(&block).unwrap();
    }
    out.flush().unwrap();
    drop(out);
    drop(block);
    let digest = Digest::from_sha256(&hasher.finalize());

    let before = peak_rss();
    f.store.put_file(&path, &digest).await.unwrap();
    assert_eq!(f.client.head_object(&f.store.key(&digest)).await.unwrap(), Some(SIZE));
    let file = f.store.open_verified(&digest).await.unwrap();
    let growth = peak_rss().saturating_sub(before);
    println!("peak memory growth for a 64 MiB round trip: {} MiB", growth / MIB);
    assert!(growth < 48 * MIB, "peak memory grew by {growth} bytes for a {SIZE}-byte file");

    assert_eq!(file.size, SIZE);
    assert_eq!(hash_file(&file.path), digest);
}

#[tokio::test]
async fn an_unreachable_endpoint_or_missing_bucket_is_unavailable_without_the_secret() {
    let Some(endpoint) = endpoint() else { return };
    let dir = tempfile::tempdir().unwrap();
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    let unreachable = config("http://127.0.0.1:1", "riskops-unreachable");
    assert!(!format!("{unreachable:?}").contains(SECRET));
    let err = S3Artifacts::connect(unreachable, dir.path().to_path_buf()).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Unavailable);
    assert!(err.message.contains("riskops-unreachable") && err.message.contains("http://127.0.0.1:1"), "{err}");
    assert!(!err.message.contains(SECRET), "{err}");
    println!("unreachable: {err}");

    // A reachable server without the bucket.
    let missing = bucket("nobucket");
    let err = S3Artifacts::connect(config(&endpoint, &missing), dir.path().to_path_buf()).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Unavailable);
    assert!(err.message.contains(&missing) && err.message.contains("does not exist"), "{err}");
    assert!(!err.message.contains(SECRET), "{err}");
    println!("missing bucket: {err}");
}
