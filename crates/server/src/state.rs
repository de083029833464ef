//! What every handler can reach.

use riskops_core::Riskops;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use tokio::sync::Notify;

#[derive(Clone)]
pub struct AppState {
    pub riskops: Riskops,
    /// Where uploads are received before they are hashed, checked and stored.
    pub tmp_dir: PathBuf,
    /// The largest accepted upload (dataset or model file), in bytes.
    pub upload_limit: u64,
    /// The largest prediction or label batch, as sent and once decompressed, in bytes.
    pub batch_limit: usize,
    /// Poked after each successful write request, so the checkpointer signs the new head.
    pub audit_written: Arc<Notify>,
    /// The server speaks TLS (the console's cookie is then `Secure`).
    pub https: bool,
    /// Set when the server is asked to stop: `/readyz` then answers 503 while requests are
    /// still served for [`crate::Settings::drain`].
    pub draining: Arc<AtomicBool>,
}
