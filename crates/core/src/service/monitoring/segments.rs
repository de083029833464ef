//! Raw-record retention: each batch's accepted records as one columnar file in the
//! artifact store, listed, served and expired.

use super::*;
use super::{RequestContext, Riskops};
use crate::action::Action;
use crate::artifact::{Digest, VerifiedFile};
use crate::audit::AuditRecord;
use crate::auth::Operation;
use crate::error::{Error, Result};
use crate::monitoring::Segment;
use crate::registry::VersionRef;
use riskops_monitor::Record;

/// Writes a batch's accepted raw records as one compressed columnar file (the server's
/// writes Parquet with zstd through riskops-parquet), which ingestion then moves into the
/// artifact store.
pub trait SegmentWriter: Send + Sync {
    fn write(&self, model: &str, records: &[&Record]) -> Result<SegmentFile>;
}

/// A written segment file; removed when dropped if it was not moved into the store.
#[derive(Debug)]
pub struct SegmentFile {
    pub path: std::path::PathBuf,
    pub digest: Digest,
    pub size: u64,
}

impl Drop for SegmentFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Riskops {
    /// Writes the fresh records as a segment into the artifact store (when a writer is
    /// set); whether this call stored the object, so a failed commit can remove it.
    pub(super) async fn write_segment(
        &self,
        model: &str,
        fresh: &[&(u32, Record)],
        config: &MonitorConfig,
    ) -> Result<(Option<Segment>, bool)> {
        let (Some(writer), false) = (&self.segment_writer, fresh.is_empty()) else { return Ok((None, false)) };
        let records: Vec<&Record> = fresh.iter().map(|(_, r)| r).collect();
        let file = writer.write(model, &records)?;
        let stored_now = self.store_artifact(&file.path, &file.digest).await?;
        let now = self.clock.now().unix_timestamp();
        let segment = Segment {
            model: model.to_string(),
            digest: file.digest.clone(),
            records: records.len() as u64,
            size: file.size,
            first_ts: records.iter().map(|r| r.timestamp).min().unwrap_or_default(),
            last_ts: records.iter().map(|r| r.timestamp).max().unwrap_or_default(),
            created_at: now,
            expires_at: now.saturating_add(i64::from(config.retention_days) * 86_400),
        };
        Ok((Some(segment), stored_now))
    }

    /// A model's raw-record segments (registry.read).
    pub async fn segments(&self, ctx: &RequestContext, model: &str) -> Result<Vec<Segment>> {
        self.model_version_for(ctx, Operation::RegistryRead, &VersionRef { name: model.into(), version: None }).await?;
        self.store.segments(model).await
    }

    /// One segment's file, checked against its digest. Raw records can hold personal data,
    /// so reading them takes audit.read (admin, risk_officer, auditor) in the project.
    pub async fn segment_file(&self, ctx: &RequestContext, model: &str, digest: &Digest) -> Result<VerifiedFile> {
        self.model_version_for(ctx, Operation::AuditRead, &VersionRef { name: model.into(), version: None }).await?;
        if !self.store.segments(model).await?.iter().any(|s| &s.digest == digest) {
            return Err(Error::not_found(format!("model {model} has no segment {digest}")));
        }
        self.artifacts.open_verified(digest).await
    }

    /// Drops segments whose retention is over, and their objects once nothing refers to
    /// them; the number dropped. Run by the server's alerting task.
    pub async fn expire_segments(&self) -> Result<usize> {
        let now = self.clock.now().unix_timestamp();
        let expired = self.store.expired_segments(now, 100).await?;
        let system = crate::auth::Permit::system();
        for s in &expired {
            let audit =
                AuditRecord::new(&system, Action::PredictionsExpire, format!("model:{}", s.model)).before(s.to_json());
            let unreferenced = self.store.drop_segment(&s.model, &s.digest, audit, self.clock.now()).await?;
            if unreferenced && let Err(e) = self.artifacts.delete(&s.digest).await {
                tracing::warn!(digest = %s.digest, error = %e, "could not delete an expired segment");
            }
        }
        Ok(expired.len())
    }
}
