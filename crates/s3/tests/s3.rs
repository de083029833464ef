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

/// A stand-in for EC2's instance metadata service and for STS, on loopback: answers what
/// AWS documents, counts the requests, and checks IMDSv2's session token.
mod fake_aws {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    pub struct Fake {
        pub url: String,
        pub requests: Arc<AtomicUsize>,
        /// The form bodies STS received.
        pub bodies: Arc<std::sync::Mutex<Vec<String>>>,
    }

    /// Serves until the test ends. `expiration`: the RFC 3339 time the keys expire.
    pub async fn start(expiration: &'static str) -> Fake {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(AtomicUsize::new(0));
        let bodies = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (count, seen) = (requests.clone(), bodies.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else { return };
                let (count, seen) = (count.clone(), seen.clone());
                tokio::spawn(async move {
                    let mut buffer = Vec::new();
                    let mut chunk = [0u8; 4096];
                    // Head, then as much body as Content-Length says.
                    let (head, body) = loop {
                        let n = socket.read(&mut chunk).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        buffer.extend_from_slice(&chunk[..n]);
                        let text = String::from_utf8_lossy(&buffer).to_string();
                        if let Some(end) = text.find("\r\n\r\n") {
                            let head = text[..end].to_ascii_lowercase();
                            let length = head
                                .lines()
                                .find_map(|l| l.strip_prefix("content-length:"))
                                .map_or(0, |v| v.trim().parse::<usize>().unwrap());
                            if buffer.len() >= end + 4 + length {
                                break (head, text[end + 4..end + 4 + length].to_string());
                            }
                        }
                    };
                    count.fetch_add(1, Ordering::SeqCst);
                    let line = head.lines().next().unwrap_or_default().to_string();
                    let token_ok = head.contains("x-aws-ec2-metadata-token: imds-session");
                    let (status, answer) = if line.starts_with("put /latest/api/token")
                        && head.contains("x-aws-ec2-metadata-token-ttl-seconds: 21600")
                    {
                        ("200 OK", "imds-session".to_string())
                    } else if line.starts_with("get /latest/meta-data/iam/security-credentials/ ") && token_ok {
                        ("200 OK", "riskops-role\n".to_string())
                    } else if line.starts_with("get /latest/meta-data/iam/security-credentials/riskops-role ")
                        && token_ok
                    {
                        let json = format!(
                            "{{\"Code\":\"Success\",\"Type\":\"AWS-HMAC\",\"AccessKeyId\":\"ASIAIMDS\",\
                             \"SecretAccessKey\":\"imds-secret\",\"Token\":\"imds-token\",\"Expiration\":\"{expiration}\"}}"
                        );
                        ("200 OK", json)
                    } else if line.starts_with("post / ") && body.contains("Action=AssumeRoleWithWebIdentity") {
                        seen.lock().unwrap().push(body);
                        let xml = format!(
                            "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials>\
                             <AccessKeyId>ASIASTS</AccessKeyId><SecretAccessKey>sts-secret</SecretAccessKey>\
                             <SessionToken>sts-token</SessionToken><Expiration>{expiration}</Expiration>\
                             </Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>"
                        );
                        ("200 OK", xml)
                    } else {
                        ("401 Unauthorized", String::new())
                    };
                    let response = format!(
                        "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                        answer.len()
                    );
                    let _ = socket.write_all(response.as_bytes()).await;
                });
            }
        });
        Fake { url, requests, bodies }
    }
}

/// Keys from the instance metadata service (IMDSv2) are fetched once, kept while fresh,
/// renewed five minutes before they expire; with an S3 server at hand, requests signed with
/// them work.
#[tokio::test]
async fn instance_metadata_keys_are_fetched_kept_and_renewed_before_they_expire() {
    use std::sync::atomic::Ordering;
    let fake = fake_aws::start("2026-12-06T12:00:00Z").await;
    let clock =
        std::sync::Arc::new(riskops_core::clock::ManualClock::new(time::macros::datetime!(2026-12-06 11:00 UTC)));
    let s3 = endpoint();
    let mut config = S3Config::new(bucket("imds"))
        .with_endpoint(s3.clone().unwrap_or_else(|| "http://127.0.0.1:9".into()))
        .with_allow_http(true);
    config.credential_source = riskops_s3::CredentialSource::InstanceMetadata { endpoint: fake.url.clone() };
    let client = S3Client::new(config).unwrap().with_clock(clock.clone());
    let keys = client.credentials().await.unwrap().unwrap();
    assert_eq!(keys.access_key_id, "ASIAIMDS");
    assert_eq!(keys.session_token.as_ref().unwrap().expose(), "imds-token");
    assert!(!format!("{keys:?}").contains("imds-secret"), "Debug hides the secret");
    assert_eq!(fake.requests.load(Ordering::SeqCst), 3, "token, role, keys");
    clock.advance(time::Duration::minutes(50));
    assert_eq!(client.credentials().await.unwrap().unwrap(), keys);
    assert_eq!(fake.requests.load(Ordering::SeqCst), 3, "still fresh: kept");
    clock.advance(time::Duration::minutes(6));
    client.credentials().await.unwrap();
    assert_eq!(fake.requests.load(Ordering::SeqCst), 6, "four minutes left: renewed");
    if s3.is_some() {
        // moto takes any keys, but they must be sent, session token included, signed.
        client.create_bucket().await.unwrap();
        client.put_object("k", Bytes::from_static(b"signed with fetched keys")).await.unwrap();
        assert_eq!(client.head_object("k").await.unwrap(), Some(24));
    }
}

/// A web identity token is exchanged at STS for the role's keys, the token read from its
/// file at each renewal (an orchestrator rotates it).
#[tokio::test]
async fn a_web_identity_token_is_exchanged_at_sts_for_the_roles_keys() {
    let fake = fake_aws::start("2026-12-06T12:00:00Z").await;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "eyJhbGciOi.first\n").unwrap();
    let clock =
        std::sync::Arc::new(riskops_core::clock::ManualClock::new(time::macros::datetime!(2026-12-06 11:00 UTC)));
    let mut config = S3Config::new("bucket").with_endpoint("http://127.0.0.1:9").with_allow_http(true);
    config.credential_source = riskops_s3::CredentialSource::WebIdentity {
        role_arn: "arn:aws:iam::123456789012:role/riskops".into(),
        token_file: token_file.clone(),
        session_name: "riskops".into(),
        sts_endpoint: fake.url.clone(),
    };
    let client = S3Client::new(config).unwrap().with_clock(clock.clone());
    let keys = client.credentials().await.unwrap().unwrap();
    assert_eq!(
        (keys.access_key_id.as_str(), keys.expires),
        ("ASIASTS", Some(time::macros::datetime!(2026-12-06 12:00 UTC)))
    );
    std::fs::write(&token_file, "eyJhbGciOi.second\n").unwrap();
    clock.advance(time::Duration::minutes(58));
    client.credentials().await.unwrap();
    let bodies = fake.bodies.lock().unwrap().clone();
    assert_eq!(bodies.len(), 2);
    assert!(bodies[0].contains("RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Friskops"), "{}", bodies[0]);
    assert!(
        bodies[0].contains("WebIdentityToken=eyJhbGciOi.first")
            && bodies[1].contains("WebIdentityToken=eyJhbGciOi.second")
    );
    // A token file that cannot be read is an outage naming the file, not a panic.
    std::fs::remove_file(&token_file).unwrap();
    clock.advance(time::Duration::hours(2));
    let error = client.credentials().await.unwrap_err();
    assert!(error.message.contains("cannot read the web identity token file"), "{}", error.message);
}
