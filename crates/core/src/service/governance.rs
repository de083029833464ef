//! Governance services: tier overrides, the promotion policy, evidence, promotion requests
//! and their decisions, emergency rollback, and the stages of a model over time.

use super::registry::PushPermit;
use super::{RequestContext, Riskops};
use crate::action::Action;
use crate::audit::AuditRecord;
use crate::auth::{self, Operation, Permit, Role, Scope};
use crate::error::{Error, Result};
use crate::governance::{
    Decision, Environment, EvidenceFact, Gate, Judgement, Policy, Tier, judge, validate_evidence_kind, with_pack,
};
use crate::project::{Project, validate_name};
use crate::promotion::{
    Deployment, Evidence, ModelSignature, NewDeployment, NewEvidence, NewPromotion, Promotion, PromotionFilter,
    PromotionStatus,
};
use crate::registry::{ModelVersion, VersionRef};
use serde_json::json;
use std::path::Path;
use time::OffsetDateTime;

const MAX_TEXT: usize = 4096;

/// The promotion policy is kept as a versioned document of this kind.
const POLICY: &str = "policy";

/// A promotion request with how it stands against its gate now.
#[derive(Debug, Clone)]
pub struct PromotionView {
    pub promotion: Promotion,
    pub tier: Tier,
    pub gate: Gate,
    /// Empty unless pending.
    pub missing: Vec<String>,
    /// Why each entry of `missing` is missing, in the same order.
    pub missing_reasons: Vec<String>,
}

/// Where a model's versions are at one moment, and how they got there.
#[derive(Debug, Clone)]
pub struct Stages {
    pub model: String,
    pub at: OffsetDateTime,
    /// The deployment active in each environment at `at`.
    pub environments: Vec<(Environment, Option<Deployment>)>,
    /// Each version's stage at `at`: `production`, `staging`, `archived` or `development`.
    pub versions: Vec<(u32, Vec<&'static str>)>,
    /// Every deployment that started by `at`, oldest first.
    pub history: Vec<Deployment>,
}

fn check_text(field: &str, text: &str, required: bool) -> Result<()> {
    if required && text.trim().is_empty() {
        return Err(Error::invalid(field, "is required"));
    }
    if text.len() > MAX_TEXT {
        return Err(Error::invalid(field, format!("must be at most {MAX_TEXT} bytes")));
    }
    Ok(())
}

impl Riskops {
    /// Overrides a project's risk tier (or clears the override with `None`).
    pub async fn set_project_tier(
        &self,
        ctx: &RequestContext,
        name: &str,
        tier: Option<Tier>,
        reason: &str,
    ) -> Result<Project> {
        validate_name("name", name)?;
        let permit = auth::authorize(&ctx.principal, Operation::ProjectUpdate, Scope::Project(name))?;
        check_text("reason", reason, true)?;
        let before =
            self.store.project(name).await?.ok_or_else(|| Error::not_found(format!("no project named {name:?}")))?;
        let audit = AuditRecord::new(&permit, Action::ProjectTier, format!("project:{name}"))
            .before(json!({"tier": self.project_tier(&before).await?.0.as_str(), "override": before.tier_override.map(Tier::as_str)}))
            .after(json!({"override": tier.map(Tier::as_str), "reason": reason}))
            .request_id(ctx.request_id.clone());
        self.store.set_project_tier(name, tier, audit, self.clock.now()).await
    }

    /// The promotion policy in force and its stored version (`None`: riskops's default).
    pub async fn policy(&self, ctx: &RequestContext) -> Result<(Policy, Option<u32>)> {
        auth::authorize_listing(&ctx.principal, Operation::RegistryRead)?;
        self.current_policy().await
    }

    /// The policy in force: the newest stored `policy` document, else riskops's default.
    pub(super) async fn current_policy(&self) -> Result<(Policy, Option<u32>)> {
        match self.store.document(POLICY).await? {
            Some(d) => Ok((Policy::from_json(&d.document)?, Some(d.version))),
            None => Ok((Policy::default_policy(), None)),
        }
    }

    pub async fn set_policy(&self, ctx: &RequestContext, document: &serde_json::Value) -> Result<(Policy, u32)> {
        let permit = auth::authorize(&ctx.principal, Operation::PolicyEdit, Scope::Global)?;
        let policy = Policy::from_json(document)?;
        let (before, _) = self.current_policy().await?;
        let audit = AuditRecord::new(&permit, Action::PolicyUpdate, "policy")
            .before(before.to_json())
            .after(policy.to_json())
            .request_id(ctx.request_id.clone());
        let record = self.store.set_document(POLICY, policy.to_json(), audit, self.clock.now()).await?;
        Ok((policy, record.version))
    }

    /// Checks permission to add evidence to a version before its file is read.
    pub async fn check_evidence_add(
        &self,
        ctx: &RequestContext,
        r: &VersionRef,
        kind: &str,
    ) -> Result<(PushPermit, ModelVersion)> {
        validate_evidence_kind("kind", kind)?;
        let (version, permit) = self.model_version_for(ctx, Operation::EvidenceAdd, r).await?;
        Ok((PushPermit::new(permit, &version.project), version))
    }

    /// Stores the evidence file and records it; pending requests for the version are
    /// judged again, so evidence that completes a gate completes the promotion.
    pub async fn add_evidence(
        &self,
        ctx: &RequestContext,
        push: PushPermit,
        file: &Path,
        new: NewEvidence,
    ) -> Result<Evidence> {
        check_text("summary", &new.summary, false)?;
        let audit =
            AuditRecord::new(push.permit(), Action::EvidenceAdd, format!("model:{}@{}", new.model, new.version))
                .after(json!({
                    "kind": new.kind,
                    "digest": new.digest.as_str(),
                    "size": new.size,
                    "passed": new.passed,
                    "summary": new.summary,
                    "produced_by": new.produced_by,
                    "dataset": new.dataset,
                }))
                .request_id(ctx.request_id.clone());
        let digest = new.digest.clone();
        let stored_now = self.store_artifact(file, &digest).await?;
        let result = self.store.add_evidence(new, audit, self.clock.now()).await;
        self.undo_artifact_on_error(&result, stored_now, &digest).await;
        let evidence = result?;
        let failed_before = self
            .store
            .evidence(&evidence.model, evidence.version)
            .await?
            .iter()
            .any(|e| e.id != evidence.id && e.kind == evidence.kind && e.passed == Some(false));
        // One failure of a kind raises the risk once per version, however often it is re-filed.
        if evidence.passed == Some(false) && !failed_before {
            // Failed evidence makes the matching risks more likely (the register's hook).
            let project = self.version_project(&evidence.model, evidence.version).await?;
            let reason = format!("{} evidence for {}@{} failed", evidence.kind, evidence.model, evidence.version);
            let signal = format!("evidence:{}", evidence.kind);
            self.raise_likelihood(push.permit(), ctx.request_id.clone(), &project, &signal, &reason).await?;
        }
        let pending = PromotionFilter { model: Some(evidence.model.clone()), status: Some(PromotionStatus::Pending) };
        for p in self.store.promotions(&pending).await? {
            if p.version == evidence.version {
                self.settle(push.permit(), ctx, p).await?;
            }
        }
        Ok(evidence)
    }

    pub async fn evidence(&self, ctx: &RequestContext, r: &VersionRef) -> Result<Vec<Evidence>> {
        let (version, _) = self.model_version_for(ctx, Operation::RegistryRead, r).await?;
        self.store.evidence(&version.name, version.version).await
    }

    /// One piece of a version's evidence and its file, checked against its digest (the model
    /// report reads produced evidence's JSON report from it).
    pub async fn evidence_file(
        &self,
        ctx: &RequestContext,
        r: &VersionRef,
        id: i64,
    ) -> Result<(Evidence, crate::artifact::VerifiedFile)> {
        let (version, _) = self.model_version_for(ctx, Operation::RegistryRead, r).await?;
        let evidence =
            self.store.evidence(&version.name, version.version).await?.into_iter().find(|e| e.id == id).ok_or_else(
                || Error::not_found(format!("{}@{} has no evidence {id}", version.name, version.version)),
            )?;
        let file = self.artifacts.open_verified(&evidence.digest).await?;
        Ok((evidence, file))
    }

    /// A version's evidence, oldest first, each with why it does not count toward a gate
    /// asking for its kind (`None` when it counts). Judged as `judge` does, with the
    /// version's author and the requesters of its pending promotions excluded.
    pub async fn evidence_standing(
        &self,
        ctx: &RequestContext,
        r: &VersionRef,
    ) -> Result<Vec<(Evidence, Option<String>)>> {
        let (version, _) = self.model_version_for(ctx, Operation::RegistryRead, r).await?;
        let evidence = self.store.evidence(&version.name, version.version).await?;
        let filter = PromotionFilter { model: Some(version.name.clone()), status: Some(PromotionStatus::Pending) };
        let pending = self.store.promotions(&filter).await?;
        let mut excluded = vec![version.author.as_str()];
        excluded.extend(pending.iter().filter(|p| p.version == version.version).map(|p| p.requested_by.as_str()));
        let facts: Vec<EvidenceFact> = evidence
            .iter()
            .map(|e| EvidenceFact {
                kind: e.kind.clone(),
                passed: e.passed,
                by: e.created_by.clone(),
                produced: e.produced_by.is_some(),
            })
            .collect();
        let standing = crate::governance::evidence_standing(&facts, &excluded);
        Ok(evidence.into_iter().zip(standing).collect())
    }

    /// Opens a promotion request; it completes at once if the gate is already met.
    pub async fn request_promotion(
        &self,
        ctx: &RequestContext,
        r: &VersionRef,
        environment: Environment,
        reason: &str,
    ) -> Result<PromotionView> {
        let (version, permit) = self.model_version_for(ctx, Operation::PromotionRequest, r).await?;
        check_text("reason", reason, false)?;
        self.check_artifact(&version).await?;
        let project =
            self.store.project(&version.project).await?.ok_or_else(|| Error::internal("a model's project vanished"))?;
        let (tier, _) = self.project_tier(&project).await?;
        let (policy, policy_version) = self.current_policy().await?;
        let gate = with_pack(policy.gate(tier, environment), project.context.as_ref(), tier, environment);
        let audit = AuditRecord::new(&permit, Action::PromotionRequest, "promotion")
            .after(json!({
                "model": version.name,
                "version": version.version,
                "environment": environment.as_str(),
                "reason": reason,
                "tier": tier.as_str(),
                "policy_version": policy_version,
                "gate": gate.to_json(),
            }))
            .request_id(ctx.request_id.clone());
        let new = NewPromotion {
            model: version.name.clone(),
            version: version.version,
            environment,
            reason: reason.to_string(),
            tier,
            gate,
        };
        let promotion = self.store.create_promotion(new, audit, self.clock.now()).await?;
        self.settle(&permit, ctx, promotion).await
    }

    pub async fn promotion(&self, ctx: &RequestContext, id: i64) -> Result<PromotionView> {
        auth::authorize_listing(&ctx.principal, Operation::RegistryRead)?;
        let p =
            self.store.promotion(id).await?.ok_or_else(|| Error::not_found(format!("no promotion request {id}")))?;
        auth::authorize(&ctx.principal, Operation::RegistryRead, Scope::Project(&p.project))?;
        self.view(p).await
    }

    pub async fn promotions(&self, ctx: &RequestContext, filter: &PromotionFilter) -> Result<Vec<PromotionView>> {
        let visible = auth::authorize_listing(&ctx.principal, Operation::RegistryRead)?;
        let mut out = Vec::new();
        for p in self.store.promotions(filter).await? {
            if visible.sees(&p.project) {
                out.push(self.view(p).await?);
            }
        }
        Ok(out)
    }

    /// Approves or rejects a pending request. Only holders of a role the gate asks for
    /// may decide, never the requester or the version's author.
    pub async fn decide(&self, ctx: &RequestContext, id: i64, approve: bool, comment: &str) -> Result<PromotionView> {
        auth::authorize_listing(&ctx.principal, Operation::PromotionDecide)?;
        check_text("comment", comment, !approve)?;
        let p =
            self.store.promotion(id).await?.ok_or_else(|| Error::not_found(format!("no promotion request {id}")))?;
        let permit = auth::authorize(&ctx.principal, Operation::PromotionDecide, Scope::Project(&p.project))?;
        if p.status != PromotionStatus::Pending {
            return Err(Error::conflict(format!("promotion request {id} is already {}", p.status.as_str())));
        }
        let version = self.version_of(&p).await?;
        let me = ctx.principal.name();
        if me == p.requested_by || me == version.author {
            let who = if me == p.requested_by { "requested this promotion" } else { "registered this version" };
            return Err(Error::forbidden(format!("separation of duties: {me} {who} and cannot approve or reject it")));
        }
        let (tier, gate) = (p.tier, p.gate.clone());
        let needed = gate.approver_roles();
        let roles: Vec<Role> = ctx
            .principal
            .roles_in(&p.project)
            .into_iter()
            .filter(|r| *r == Role::Admin || needed.contains(r))
            .collect();
        if roles.is_empty() {
            let needed: Vec<&str> = needed.iter().map(|r| r.as_str()).collect();
            return Err(Error::forbidden(format!(
                "a {tier}-tier promotion to {} is decided by {}; {me} holds none of these roles in project {:?}",
                p.environment,
                if needed.is_empty() { "nobody (no approvals are required)".to_string() } else { needed.join(", ") },
                p.project
            )));
        }
        if approve {
            self.check_artifact(&version).await?;
        }
        let decision =
            Decision { by: me.to_string(), roles, approve, comment: comment.to_string(), at: self.clock.now() };
        let action = if approve { Action::PromotionApprove } else { Action::PromotionReject };
        let audit = AuditRecord::new(&permit, action, format!("promotion:{id}"))
            .after(json!({"comment": comment, "roles": decision.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>()}))
            .request_id(ctx.request_id.clone());
        let p = self.store.add_decision(id, decision, audit, self.clock.now()).await?;
        self.settle(&permit, ctx, p).await
    }

    /// Puts an earlier version back into an environment at once, skipping the gates: the
    /// risk officer's emergency brake. The trail records it as such.
    pub async fn rollback(
        &self,
        ctx: &RequestContext,
        r: &VersionRef,
        environment: Environment,
        reason: &str,
    ) -> Result<Deployment> {
        let (version, permit) = self.model_version_for(ctx, Operation::EmergencyRollback, r).await?;
        check_text("reason", reason, true)?;
        let history = self.store.deployments(&version.name).await?;
        let current = history.iter().find(|d| d.environment == environment && d.until.is_none());
        if current.is_some_and(|d| d.version == version.version) {
            return Err(Error::conflict(format!("{}@{} is already in {environment}", version.name, version.version)));
        }
        if !history.iter().any(|d| d.environment == environment && d.version == version.version) {
            return Err(Error::invalid(
                "version",
                format!(
                    "{}@{} was never in {environment}; a rollback returns to an earlier version, anything else is a promotion",
                    version.name, version.version
                ),
            ));
        }
        self.check_artifact(&version).await?;
        let new = self.deployment_of(&version, environment, None, reason, true)?;
        let audit = AuditRecord::new(
            &permit,
            Action::ModelRollback,
            format!("model:{}@{}", version.name, version.version),
        )
        .after(json!({"environment": environment.as_str(), "reason": reason, "emergency": true, "gates_skipped": true}))
        .request_id(ctx.request_id.clone());
        let replaced = current.map(|d| d.version);
        let deployed = self.store.deploy(new, audit, self.clock.now()).await?;
        self.close_requests_if_archived(&permit, ctx, &version.name, replaced, environment, version.version).await?;
        Ok(deployed)
    }

    /// Stages of a model's versions at `at` (now when `None`).
    pub async fn stages(&self, ctx: &RequestContext, model: &str, at: Option<OffsetDateTime>) -> Result<Stages> {
        let versions = self.model_versions(ctx, model).await?;
        let at = at.unwrap_or_else(|| self.clock.now());
        let history: Vec<Deployment> =
            self.store.deployments(model).await?.into_iter().filter(|d| d.since <= at).collect();
        let environments = Environment::ALL
            .into_iter()
            .map(|env| (env, history.iter().find(|d| d.environment == env && d.active_at(at)).cloned()))
            .collect();
        let stages = versions
            .iter()
            .filter(|v| v.created_at <= at)
            .map(|v| {
                let mut stage: Vec<&'static str> = history
                    .iter()
                    .filter(|d| d.version == v.version && d.active_at(at))
                    .map(|d| d.environment.as_str())
                    .collect();
                if stage.is_empty() {
                    stage.push(if history.iter().any(|d| d.version == v.version) { "archived" } else { "development" });
                }
                (v.version, stage)
            })
            .collect();
        Ok(Stages { model: model.to_string(), at, environments, versions: stages, history })
    }

    /// Judges a request and closes it when it is complete or rejected.
    async fn settle(&self, permit: &Permit, ctx: &RequestContext, p: Promotion) -> Result<PromotionView> {
        let view = self.view(p).await?;
        if view.promotion.status != PromotionStatus::Pending {
            return Ok(view);
        }
        let judgement = self.judgement(&view.promotion, &view.gate).await?;
        let rejected = judgement.rejected;
        if !(rejected || judgement.complete()) {
            return Ok(view);
        }
        let p = &view.promotion;
        let target = format!("promotion:{}", p.id);
        let closed = if rejected {
            let audit = AuditRecord::new(permit, Action::PromotionRejected, target)
                .after(json!({"model": p.model, "version": p.version, "environment": p.environment.as_str()}))
                .request_id(ctx.request_id.clone());
            self.store.close_promotion(p.id, None, None, audit, self.clock.now()).await?
        } else {
            let version = self.version_of(p).await?;
            self.check_artifact(&version).await?;
            let deployment = self.deployment_of(&version, p.environment, Some(p.id), &p.reason, false)?;
            let replaced = self.version_in(&p.model, p.environment).await?;
            let audit = AuditRecord::new(permit, Action::PromotionCompleted, target)
                .after(json!({
                    "model": p.model,
                    "version": p.version,
                    "environment": p.environment.as_str(),
                    "tier": view.tier.as_str(),
                    "signed": deployment.signature.is_some(),
                }))
                .request_id(ctx.request_id.clone());
            let closed = self.store.close_promotion(p.id, Some(deployment), None, audit, self.clock.now()).await?;
            self.close_requests_if_archived(permit, ctx, &p.model, replaced, p.environment, p.version).await?;
            closed
        };
        self.view(closed).await
    }

    /// The version in `environment` now, if any.
    async fn version_in(&self, model: &str, environment: Environment) -> Result<Option<u32>> {
        let history = self.store.deployments(model).await?;
        Ok(history.iter().find(|d| d.environment == environment && d.until.is_none()).map(|d| d.version))
    }

    /// After `by` replaced `replaced` in `environment`: when the replaced version is in no
    /// environment any more (archived), its pending requests can only put an outdated version
    /// back, so they are closed, each with its reason and audited. A request closed meanwhile
    /// by someone else is left as it is.
    async fn close_requests_if_archived(
        &self,
        permit: &Permit,
        ctx: &RequestContext,
        model: &str,
        replaced: Option<u32>,
        environment: Environment,
        by: u32,
    ) -> Result<()> {
        let Some(old) = replaced.filter(|v| *v != by) else { return Ok(()) };
        let history = self.store.deployments(model).await?;
        if history.iter().any(|d| d.version == old && d.until.is_none()) {
            return Ok(());
        }
        let filter = PromotionFilter { model: Some(model.to_string()), status: Some(PromotionStatus::Pending) };
        let reason = format!("{model}@{old} was archived: replaced in {environment} by {model}@{by}");
        for p in self.store.promotions(&filter).await?.into_iter().filter(|p| p.version == old) {
            let audit = AuditRecord::new(permit, Action::PromotionClosed, format!("promotion:{}", p.id))
                .after(json!({
                    "model": model, "version": old, "environment": p.environment.as_str(), "reason": reason,
                }))
                .request_id(ctx.request_id.clone());
            match self.store.close_promotion(p.id, None, Some(reason.clone()), audit, self.clock.now()).await {
                Err(e) if e.kind == crate::ErrorKind::Conflict => {}
                other => drop(other?),
            }
        }
        Ok(())
    }

    /// A request with what it still needs, judged by the tier and gate it was opened under.
    async fn view(&self, p: Promotion) -> Result<PromotionView> {
        let (tier, gate) = (p.tier, p.gate.clone());
        let (missing, missing_reasons) = match p.status {
            PromotionStatus::Pending => {
                let judgement = self.judgement(&p, &gate).await?;
                (judgement.missing, judgement.reasons)
            }
            _ => (Vec::new(), Vec::new()),
        };
        Ok(PromotionView { promotion: p, tier, gate, missing, missing_reasons })
    }

    async fn judgement(&self, p: &Promotion, gate: &Gate) -> Result<Judgement> {
        let version = self.version_of(p).await?;
        let evidence: Vec<EvidenceFact> = self
            .store
            .evidence(&p.model, p.version)
            .await?
            .into_iter()
            .map(|e| EvidenceFact {
                kind: e.kind,
                passed: e.passed,
                by: e.created_by,
                produced: e.produced_by.is_some(),
            })
            .collect();
        let excluded = [p.requested_by.as_str(), version.author.as_str()];
        Ok(judge(gate, &evidence, &p.decisions, &excluded))
    }

    async fn version_project(&self, model: &str, version: u32) -> Result<String> {
        let v = self.store.model_version(model, Some(version)).await?;
        v.map(|v| v.project).ok_or_else(|| Error::internal(format!("model version {model}@{version} vanished")))
    }

    async fn version_of(&self, p: &Promotion) -> Result<ModelVersion> {
        self.store
            .model_version(&p.model, Some(p.version))
            .await?
            .ok_or_else(|| Error::internal(format!("model version {}@{} vanished", p.model, p.version)))
    }

    /// A version whose stored artifact no longer matches its digest cannot be promoted.
    /// A corrupted artifact is a refusal (409), not a server failure: the request is fine,
    /// the version is not deployable.
    async fn check_artifact(&self, version: &ModelVersion) -> Result<()> {
        self.artifacts.open_verified(&version.digest).await.map(drop).map_err(|e| {
            let kind = if e.kind == crate::ErrorKind::Integrity { crate::ErrorKind::Conflict } else { e.kind };
            Error::new(kind, format!("{}@{} cannot be deployed: {}", version.name, version.version, e.message))
        })
    }

    /// The deployment record of a version entering `environment`; production entries are
    /// signed by the server's key.
    fn deployment_of(
        &self,
        version: &ModelVersion,
        environment: Environment,
        promotion_id: Option<i64>,
        reason: &str,
        emergency: bool,
    ) -> Result<NewDeployment> {
        let signature = match environment {
            Environment::Production => Some(self.sign_model(version, environment)?),
            Environment::Staging => None,
        };
        Ok(NewDeployment {
            model: version.name.clone(),
            version: version.version,
            environment,
            promotion_id,
            reason: reason.to_string(),
            emergency,
            digest: version.digest.clone(),
            signature,
        })
    }

    fn sign_model(&self, version: &ModelVersion, environment: Environment) -> Result<ModelSignature> {
        let key = self.signing_key()?;
        let message = crate::signing::model_signature_message(
            &version.name,
            version.version,
            environment.as_str(),
            version.digest.as_str(),
        );
        Ok(ModelSignature { key_id: key.public_key().key_id(), signature: key.sign(&message).to_hex() })
    }
}
