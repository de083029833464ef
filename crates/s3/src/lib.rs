//! riskops's artifact store on S3-compatible object storage (AWS S3, MinIO, Ceph, moto):
//! the S3 implementation of [`riskops_core::artifact::ArtifactStore`], its configuration
//! (`s3://bucket/prefix` plus the usual `AWS_*` variables), where its credentials come from
//! (environment, web identity, shared profile files, instance metadata: `credentials`) and
//! the small SigV4 client it runs on.
//!
//! Objects are laid out as in the local store, `<prefix>/sha256/<2 hex>/<64 hex>`, and are
//! immutable. Uploads stream from disk in parts and are completed only when the bytes hash
//! to the digest they are stored under; downloads stream to a temporary file while hashing,
//! and a file whose bytes do not match is deleted and reported as an integrity error.
//! Neither ever holds a whole artifact in memory.
//!
//! The client is written here on hyper and rustls (ring) instead of taken from an SDK or
//! `object_store`: the store needs seven calls, and this keeps the build small, free of
//! C builds other than ring's, and free of process-wide TLS settings.

mod client;
mod config;
mod credentials;
mod sigv4;
mod store;

pub use client::S3Client;
pub use config::{DEFAULT_REGION, S3Config};
pub use credentials::{CredentialSource, Credentials, DEFAULT_IMDS_ENDPOINT};
pub use store::{PART_SIZE, S3Artifacts};
