//! Compliance services: the control catalogue, attestations, and the compliance report,
//! whose facts are gathered here through the Store and judged by
//! [`crate::compliance::evaluate`].

use super::registry::PushPermit;
use super::{ADMIN_NAME, RequestContext, Riskops, TierSource};
use crate::action::Action;
use crate::audit::AuditRecord;
use crate::auth::{self, IdentityKind, Operation, Scope, TokenInfo};
use crate::compliance::{
    Attestation, AuditFacts, Catalogue, ComplianceFacts, ComplianceReport, Framework, IdentityFacts, MAX_STATEMENT_LEN,
    ModelFacts, NewAttestation, evaluate,
};
use crate::error::{Error, Result};
use crate::governance::{Environment, Tier, with_pack};
use crate::project::{Project, validate_name};
use crate::promotion::{PromotionFilter, PromotionStatus};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

impl Riskops {
    /// The control catalogue in force (anyone who may read a project).
    pub async fn control_catalogue(&self, ctx: &RequestContext) -> Result<Catalogue> {
        auth::authorize_listing(&ctx.principal, Operation::ProjectRead)?;
        Catalogue::builtin()
    }

    /// Each control's status in a project, with its reason, and the coverage per framework
    /// (or only the controls mapped to `framework`). Needs project.read in the project.
    pub async fn compliance_report(
        &self,
        ctx: &RequestContext,
        project: &str,
        framework: Option<Framework>,
    ) -> Result<ComplianceReport> {
        let (project, tier, source) = self.project_with_tier(ctx, project).await?;
        let catalogue = Catalogue::builtin()?;
        let facts = self.compliance_facts(project, tier, source).await?;
        Ok(evaluate(&catalogue, &facts, framework))
    }

    /// Checks permission to attest a control in a project, before any file is read.
    pub async fn check_attestation(&self, ctx: &RequestContext, project: &str, control: &str) -> Result<PushPermit> {
        validate_name("project", project)?;
        let permit = auth::authorize(&ctx.principal, Operation::ControlAttest, Scope::Project(project))?;
        known_control(control)?;
        if self.store.project(project).await?.is_none() {
            return Err(Error::not_found(format!("no project named {project:?}")));
        }
        Ok(PushPermit::new(permit, project))
    }

    /// Records an attestation; `file` (received and hashed to `new.evidence`) is stored
    /// content-addressed like evidence, and removed again if the record does not commit.
    pub async fn add_attestation(
        &self,
        ctx: &RequestContext,
        push: PushPermit,
        file: Option<&Path>,
        new: NewAttestation,
    ) -> Result<Attestation> {
        // The permit proves the check came before the upload; the project must be the one
        // it was checked for, so check again here (cheap) rather than trust the caller.
        auth::authorize(&ctx.principal, Operation::ControlAttest, Scope::Project(&new.project))?;
        let permit = push.permit();
        known_control(&new.control)?;
        if new.statement.trim().is_empty() {
            return Err(Error::invalid("statement", "is required: say what holds and how you know"));
        }
        if new.statement.len() > MAX_STATEMENT_LEN {
            return Err(Error::invalid("statement", format!("must be at most {MAX_STATEMENT_LEN} bytes")));
        }
        if file.is_some() != new.evidence.is_some() {
            return Err(Error::internal("an attestation's file and its digest go together"));
        }
        let audit = AuditRecord::new(permit, Action::ControlAttest, format!("project:{}", new.project))
            .after(json!({
                "control": new.control,
                "statement": new.statement,
                "evidence_digest": new.evidence.as_ref().map(|e| e.digest.as_str().to_string()),
                "evidence_size": new.evidence.as_ref().map(|e| e.size),
            }))
            .request_id(ctx.request_id.clone());
        let stored = match (file, &new.evidence) {
            (Some(file), Some(e)) => Some((self.store_artifact(file, &e.digest).await?, e.digest.clone())),
            _ => None,
        };
        let result = self.store.add_attestation(new, audit, self.clock.now()).await;
        if let Some((stored_now, digest)) = stored {
            self.undo_artifact_on_error(&result, stored_now, &digest).await;
        }
        result
    }

    /// A project's attestations, oldest first.
    pub async fn attestations(&self, ctx: &RequestContext, project: &str) -> Result<Vec<Attestation>> {
        let project = self.project(ctx, project).await?;
        self.store.attestations(&project.name).await
    }

    /// Everything the compliance report judges, read through the Store.
    async fn compliance_facts(&self, project: Project, tier: Tier, tier_source: TierSource) -> Result<ComplianceFacts> {
        let name = project.name.clone();
        let now = self.clock.now();
        let risk_entries = self.store.risk_entries(&name).await?;
        let mut models = Vec::new();
        for entry in self.store.list_models(Some(&name)).await? {
            let versions = self.store.model_versions(&entry.name).await?;
            let deployments = self.store.deployments(&entry.name).await?;
            let current: BTreeSet<u32> = deployments.iter().filter(|d| d.until.is_none()).map(|d| d.version).collect();
            let mut evidence = BTreeMap::new();
            for v in current {
                evidence.insert(v, self.store.evidence(&entry.name, v).await?);
            }
            let completed =
                PromotionFilter { model: Some(entry.name.clone()), status: Some(PromotionStatus::Completed) };
            let promotions = self.store.promotions(&completed).await?;
            let numbers: Vec<u32> = versions.iter().map(|v| v.version).collect();
            let monitoring = self.monitoring_facts(&entry.name, &numbers, tier).await?;
            models.push(ModelFacts { name: entry.name, versions, deployments, evidence, promotions, monitoring });
        }
        let (policy, _) = self.current_policy().await?;
        // As the promotions see them: the policy's gate after the project's industry pack.
        let production_gates = Tier::ALL
            .into_iter()
            .map(|t| {
                let gate = policy.gate(t, Environment::Production);
                (t, with_pack(gate, project.context.as_ref(), t, Environment::Production))
            })
            .collect();

        // One pass over the trail: verify it, and find the reason given for the tier override.
        let target = format!("project:{name}");
        let mut tier_override_reason = None;
        let report = self
            .verify_trail(None, |e| {
                if e.action == "project.tier" && e.target == target {
                    tier_override_reason = e
                        .after
                        .as_ref()
                        .filter(|a| !a["override"].is_null())
                        .and_then(|a| a["reason"].as_str())
                        .map(str::to_string);
                }
            })
            .await?;
        let audit = AuditFacts {
            ok: report.ok,
            events: report.events,
            checkpoint_seq: report.checkpoint.map(|c| c.seq),
            problem: report.reason,
            missing_guards: self.store.missing_audit_guards().await?,
        };

        let identities = self.store.identities().await?;
        let tokens = self.store.tokens(None).await?;
        let active = |t: &TokenInfo| t.revoked_at.is_none() && t.expires_at.is_none_or(|e| e > now);
        let people: BTreeSet<&str> = identities
            .iter()
            .filter(|i| i.identity.kind == IdentityKind::User)
            .map(|i| i.identity.name.as_str())
            .collect();
        let bootstrap = tokens.iter().filter(|t| t.identity == ADMIN_NAME).min_by_key(|t| t.id);
        let mut user_tokens_without_expiry: Vec<(i64, String)> = tokens
            .iter()
            .filter(|t| active(t) && t.expires_at.is_none() && people.contains(t.identity.as_str()))
            .map(|t| (t.id, format!("{}#{}", t.identity, t.id)))
            .collect();
        user_tokens_without_expiry.sort();
        let identities = IdentityFacts {
            users: people.len() as u32,
            service_accounts: identities.iter().filter(|i| i.identity.kind == IdentityKind::ServiceAccount).count()
                as u32,
            bootstrap_token_active: bootstrap.is_some_and(active),
            user_tokens_without_expiry: user_tokens_without_expiry.into_iter().map(|(_, t)| t).collect(),
        };

        let attestations = self.store.attestations(&name).await?;
        Ok(ComplianceFacts {
            project: name,
            project_created_by: project.created_by,
            context: project.context,
            tier,
            tier_source,
            tier_override_reason,
            risk_entries,
            models,
            audit,
            identities,
            production_gates,
            attestations,
            now,
        })
    }
}

fn known_control(id: &str) -> Result<()> {
    let catalogue = Catalogue::builtin()?;
    if catalogue.control(id).is_none() {
        return Err(Error::invalid(
            "control",
            format!("unknown control {id:?} in catalogue {}; see `riskops control list`", catalogue.version),
        ));
    }
    Ok(())
}
