//! Reading and verifying the audit trail.

use super::{RequestContext, Riskops};
use crate::audit::{AuditEvent, ChainReport};
use crate::auth::{self, Operation, Scope};
use crate::checkpoint::{Checkpoint, TrailVerifier};
use crate::error::{ErrorKind, Result};
use crate::signing::PublicKey;
use time::OffsetDateTime;

/// Events read from the store per query while scanning the chain.
const PAGE: u32 = 1000;

/// Which events to list; all when empty.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    /// A target such as `project:fraud` or `dataset:sales@2`; a prefix ending in `:` matches a kind.
    pub target: Option<String>,
    pub since: Option<OffsetDateTime>,
    /// Only events with a larger sequence number.
    pub after_seq: i64,
    pub limit: u32,
}

impl AuditFilter {
    fn matches(&self, e: &AuditEvent) -> bool {
        self.actor.as_ref().is_none_or(|a| &e.actor == a)
            && self
                .target
                .as_ref()
                .is_none_or(|t| if t.ends_with(':') { e.target.starts_with(t.as_str()) } else { &e.target == t })
            && self.since.is_none_or(|s| e.time >= s)
    }
}

impl Riskops {
    /// Events in sequence order that match `filter`, at most `filter.limit`.
    /// What each principal reads is counted: a bulk export of the trail opens a security
    /// incident (`AccessSettings::audit_export`).
    pub async fn audit_events(&self, ctx: &RequestContext, filter: &AuditFilter) -> Result<Vec<AuditEvent>> {
        auth::authorize(&ctx.principal, Operation::AuditRead, Scope::Global)?;
        let out = self.matching_events(filter).await?;
        self.access.audit_read(ctx.principal.name(), out.len() as u64, self.clock.now());
        Ok(out)
    }

    async fn matching_events(&self, filter: &AuditFilter) -> Result<Vec<AuditEvent>> {
        let mut out = Vec::new();
        let mut after = filter.after_seq;
        loop {
            let page = self.store.audit_events(after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            for e in page {
                if filter.matches(&e) {
                    out.push(e);
                    if out.len() >= filter.limit as usize {
                        return Ok(out);
                    }
                }
            }
        }
        Ok(out)
    }

    /// Checks the whole chain, page by page, without holding it in memory, and the signed
    /// checkpoints against it (see [`TrailVerifier`]); `pinned` is the only key trusted
    /// when given.
    pub async fn verify_audit(&self, ctx: &RequestContext, pinned: Option<&PublicKey>) -> Result<ChainReport> {
        auth::authorize(&ctx.principal, Operation::AuditRead, Scope::Global)?;
        self.verify_trail(pinned, |_| {}).await
    }

    /// The verification of [`Riskops::verify_audit`] without a caller, for riskops's own
    /// reports (compliance): shows each event that verified to `inspect`.
    pub(super) async fn verify_trail(
        &self,
        pinned: Option<&PublicKey>,
        mut inspect: impl FnMut(&AuditEvent) + Send,
    ) -> Result<ChainReport> {
        let checkpoints = self.store.checkpoints().await?;
        let keys = self.store.public_keys().await?;
        let mut verifier = TrailVerifier::new(checkpoints, &keys, pinned);
        let (mut after, mut limit) = (0, PAGE);
        'pages: loop {
            let page = match self.store.audit_events(after, limit).await {
                Ok(page) => page,
                // A row that cannot be read back as it was sealed is a finding, not a failure
                // to answer: read one event at a time to find it, then report it.
                Err(e) if e.kind == ErrorKind::Integrity && limit > 1 => {
                    limit = 1;
                    continue;
                }
                Err(e) if e.kind == ErrorKind::Integrity => {
                    verifier.unreadable(after + 1, format!("unreadable: {}", e.message));
                    break;
                }
                Err(e) => return Err(e),
            };
            let Some(last) = page.last() else { break };
            after = last.seq;
            for e in &page {
                if !verifier.push(e) {
                    break 'pages;
                }
                inspect(e);
            }
        }
        Ok(verifier.finish())
    }

    /// Every checkpoint with the public key that signed it (for exports), in seq order.
    pub async fn audit_checkpoints(&self, ctx: &RequestContext) -> Result<Vec<(Checkpoint, Option<PublicKey>)>> {
        auth::authorize(&ctx.principal, Operation::AuditRead, Scope::Global)?;
        let keys = self.store.public_keys().await?;
        let checkpoints = self.store.checkpoints().await?;
        Ok(checkpoints
            .into_iter()
            .map(|c| {
                let key = keys.iter().find(|k| k.key_id() == c.key_id).copied();
                (c, key)
            })
            .collect())
    }

    /// Signs the chain's head if it moved since the newest checkpoint, so that cutting off
    /// the newest events becomes detectable. riskops acting on its own: no caller, no
    /// permission and no audit event (see [`crate::checkpoint`]). Returns the checkpoint
    /// written, if any.
    pub async fn checkpoint_audit(&self) -> Result<Option<Checkpoint>> {
        let key = self.signing_key()?;
        let Some((seq, hash)) = self.store.audit_head().await? else { return Ok(None) };
        if self.store.latest_checkpoint().await?.is_some_and(|c| c.seq >= seq) {
            return Ok(None);
        }
        let checkpoint = Checkpoint::sign(key, seq, &hash, self.clock.now());
        Ok(self.store.write_checkpoint(&checkpoint).await?.then_some(checkpoint))
    }

    /// Records this instance's public key in the store, so verifiers can find it. Idempotent.
    pub async fn register_signing_key(&self) -> Result<PublicKey> {
        let public = self.signing_key()?.public_key();
        self.store.register_public_key(&public, self.clock.now()).await?;
        Ok(public)
    }
}
