//! Reading and verifying the audit trail.

use super::{RequestContext, Riskops};
use crate::audit::{AuditEvent, ChainReport, ChainVerifier};
use crate::auth::{self, Operation, Scope};
use crate::error::Result;
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
    pub async fn audit_events(&self, ctx: &RequestContext, filter: &AuditFilter) -> Result<Vec<AuditEvent>> {
        auth::authorize(&ctx.principal, Operation::AuditRead, Scope::Global)?;
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

    /// Checks the whole chain, page by page, without holding it in memory.
    pub async fn verify_audit(&self, ctx: &RequestContext) -> Result<ChainReport> {
        auth::authorize(&ctx.principal, Operation::AuditRead, Scope::Global)?;
        let mut verifier = ChainVerifier::default();
        let mut after = 0;
        loop {
            let page = self.store.audit_events(after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            if !page.iter().all(|e| verifier.push(e)) {
                break;
            }
        }
        Ok(verifier.finish())
    }
}
