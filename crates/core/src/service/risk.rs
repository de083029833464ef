//! Risk services: project context, the taxonomy, the register and the tier it gives.

use super::{RequestContext, Riskops};
use crate::action::Action;
use crate::audit::AuditRecord;
use crate::auth::{self, Operation, Permit, Scope};
use crate::context::{DataSensitivity, ProjectContext, Template};
use crate::error::{Error, Result};
use crate::governance::Tier;
use crate::project::{NewProject, Project, validate_name};
use crate::risk::{RiskEntry, RiskFields, RiskStatus, register_tier};
use crate::taxonomy::Taxonomy;
use serde_json::{Value, json};

/// Where a project's tier comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TierSource {
    /// A risk officer's override.
    Override,
    /// The highest band of the risk register.
    Register,
    /// Nobody has assessed the project: governed as [`Tier::UNASSESSED`].
    Unassessed,
}

impl TierSource {
    pub fn as_str(self) -> &'static str {
        match self {
            TierSource::Override => "override",
            TierSource::Register => "register",
            TierSource::Unassessed => "unassessed",
        }
    }
}

impl Riskops {
    /// The tier that governs a project's models, and why.
    pub async fn project_tier(&self, project: &Project) -> Result<(Tier, TierSource)> {
        if let Some(t) = project.tier_override {
            return Ok((t, TierSource::Override));
        }
        Ok(match register_tier(&self.store.risk_entries(&project.name).await?) {
            Some(t) => (t, TierSource::Register),
            None => (Tier::UNASSESSED, TierSource::Unassessed),
        })
    }

    /// A project with its tier (reads need project.read).
    pub async fn project_with_tier(&self, ctx: &RequestContext, name: &str) -> Result<(Project, Tier, TierSource)> {
        let project = self.project(ctx, name).await?;
        let (tier, source) = self.project_tier(&project).await?;
        Ok((project, tier, source))
    }
}

/// Changes to an entry; `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct RiskPatch {
    pub severity: Option<u8>,
    pub likelihood: Option<u8>,
    pub impact: Option<crate::risk::Impact>,
    pub controls: Option<Vec<crate::risk::ControlLink>>,
    pub owner: Option<String>,
    pub status: Option<crate::risk::RiskStatus>,
    pub rationale: Option<String>,
}

/// What `risk assess` did.
#[derive(Debug, Clone)]
pub struct Assessment {
    pub taxonomy_version: String,
    /// Entries added now (empty on a dry run, or when every failure mode is registered).
    pub added: Vec<RiskEntry>,
    /// What the taxonomy proposes for this context, including failure modes already in the
    /// register (which an assessment never overwrites).
    pub proposed: Vec<RiskFields>,
}

const TAXONOMY: &str = "taxonomy";

/// Linked controls must be controls of the catalogue, each linked once.
fn check_controls(fields: &RiskFields) -> Result<()> {
    let catalogue = crate::compliance::Catalogue::builtin()?;
    for (i, link) in fields.controls.iter().enumerate() {
        if catalogue.control(&link.control).is_none() {
            return Err(Error::invalid(
                "controls",
                format!("{:?} is not a control of the catalogue (C01 … C27)", link.control),
            ));
        }
        if fields.controls[..i].iter().any(|c| c.control == link.control) {
            return Err(Error::invalid("controls", format!("{} is linked twice", link.control)));
        }
    }
    Ok(())
}

impl Riskops {
    /// The taxonomy in force and its stored version (`None`: the built-in one).
    pub async fn taxonomy(&self, ctx: &RequestContext) -> Result<(Taxonomy, Option<u32>)> {
        auth::authorize_listing(&ctx.principal, Operation::ProjectRead)?;
        self.current_taxonomy().await
    }

    /// The taxonomy in force as its JSON document (the stored one, or the built-in), with
    /// the stored version (`None` for the built-in).
    pub async fn taxonomy_document(&self, ctx: &RequestContext) -> Result<(Value, Option<u32>)> {
        auth::authorize_listing(&ctx.principal, Operation::ProjectRead)?;
        match self.store.document(TAXONOMY).await? {
            Some(d) => Ok((d.document, Some(d.version))),
            None => {
                let builtin = serde_json::from_str(crate::taxonomy::BUILTIN)
                    .map_err(|e| Error::internal(format!("the built-in taxonomy is not JSON: {e}")))?;
                Ok((builtin, None))
            }
        }
    }

    pub(crate) async fn current_taxonomy(&self) -> Result<(Taxonomy, Option<u32>)> {
        match self.store.document(TAXONOMY).await? {
            Some(d) => Ok((Taxonomy::from_json(&d.document)?, Some(d.version))),
            None => Ok((Taxonomy::builtin()?, None)),
        }
    }

    /// Replaces the taxonomy (admin, risk_officer); a malformed one names the field.
    pub async fn set_taxonomy(&self, ctx: &RequestContext, document: &Value) -> Result<(Taxonomy, u32)> {
        let permit = auth::authorize(&ctx.principal, Operation::PolicyEdit, Scope::Global)?;
        let taxonomy = Taxonomy::from_json(document)?;
        let (current, _) = self.current_taxonomy().await?;
        if taxonomy.version == current.version && taxonomy != current {
            return Err(Error::invalid(
                "version",
                format!("{:?} is the version in force; a changed taxonomy needs a new version string", current.version),
            ));
        }
        let audit = AuditRecord::new(&permit, Action::TaxonomyUpdate, TAXONOMY)
            .after(json!({"taxonomy_version": taxonomy.version}))
            .request_id(ctx.request_id.clone());
        let stored = self.store.set_document(TAXONOMY, document.clone(), audit, self.clock.now()).await?;
        Ok((taxonomy, stored.version))
    }

    /// Checks a context against the rules and the taxonomy, filling in what a template
    /// implies (healthcare: PHI; finance: financial data).
    pub async fn check_context(&self, mut context: ProjectContext) -> Result<ProjectContext> {
        let (taxonomy, _) = self.current_taxonomy().await?;
        taxonomy.check_workflow("workflow", &context.workflow)?;
        if context.data_sensitivity.is_empty() {
            context.data_sensitivity.push(match context.template {
                Some(Template::Healthcare) => DataSensitivity::Phi,
                Some(Template::Finance) => DataSensitivity::Financial,
                None => DataSensitivity::Public,
            });
        }
        context.data_sensitivity.sort();
        context.data_sensitivity.dedup();
        context.validate()?;
        Ok(context)
    }

    /// Creates a project with its context in one go (two audit events: the project, its
    /// context); the context is checked first, so a bad one creates nothing.
    pub async fn create_project_with_context(
        &self,
        ctx: &RequestContext,
        project: NewProject,
        context: Option<ProjectContext>,
    ) -> Result<Project> {
        let context = match context {
            Some(c) => Some(self.check_context(c).await?),
            None => None,
        };
        let created = self.create_project(ctx, project).await?;
        let Some(context) = context else { return Ok(created) };
        let permit = auth::authorize(&ctx.principal, Operation::ProjectCreate, Scope::Global)?;
        self.store_context(ctx, &permit, &created.name, Some(context)).await
    }

    /// Describes (or re-describes) a project's use case (admin, risk_officer): the context
    /// decides which risks arise, so changing it is a risk decision.
    pub async fn set_project_context(
        &self,
        ctx: &RequestContext,
        name: &str,
        context: Option<ProjectContext>,
    ) -> Result<Project> {
        validate_name("name", name)?;
        let permit = auth::authorize(&ctx.principal, Operation::ProjectUpdate, Scope::Project(name))?;
        let context = match context {
            Some(c) => Some(self.check_context(c).await?),
            None => None,
        };
        self.store_context(ctx, &permit, name, context).await
    }

    async fn store_context(
        &self,
        ctx: &RequestContext,
        permit: &Permit,
        name: &str,
        context: Option<ProjectContext>,
    ) -> Result<Project> {
        let json = context.as_ref().map(ProjectContext::to_json);
        let audit = AuditRecord::new(permit, Action::ProjectContext, format!("project:{name}"))
            .after(json.clone().unwrap_or(Value::Null))
            .request_id(ctx.request_id.clone());
        self.store.set_project_context(name, json, audit, self.clock.now()).await
    }

    /// Proposes entries from the taxonomy and the project's context, and adds those whose
    /// failure mode the register does not hold yet (unless `dry_run`).
    pub async fn assess(&self, ctx: &RequestContext, name: &str, dry_run: bool) -> Result<Assessment> {
        validate_name("project", name)?;
        let permit = auth::authorize(&ctx.principal, Operation::RiskEdit, Scope::Project(name))?;
        let project =
            self.store.project(name).await?.ok_or_else(|| Error::not_found(format!("no project named {name:?}")))?;
        let context = project.context.ok_or_else(|| {
            Error::invalid(
                "context",
                format!("project {name} has no context yet: describe it with `riskops project update {name} --industry … --workflow …`"),
            )
        })?;
        let (taxonomy, _) = self.current_taxonomy().await?;
        let proposed = taxonomy.assess(&context);
        let existing = self.store.risk_entries(name).await?;
        let new: Vec<RiskFields> = proposed
            .iter()
            .filter(|p| !existing.iter().any(|e| e.fields.failure_mode == p.failure_mode))
            .cloned()
            .collect();
        let added = if dry_run || new.is_empty() {
            Vec::new()
        } else {
            let audit = AuditRecord::new(&permit, Action::RiskAssess, format!("project:{name}"))
                .after(json!({
                    "taxonomy_version": taxonomy.version,
                    "entries": new.iter().map(RiskFields::to_json).collect::<Vec<_>>(),
                }))
                .request_id(ctx.request_id.clone());
            self.store.add_risk_entries(name, new, audit, self.clock.now()).await?
        };
        Ok(Assessment { taxonomy_version: taxonomy.version, added, proposed })
    }

    /// Adds one entry by hand; its failure mode and category must be the taxonomy's (the
    /// category defaults to the failure mode's).
    pub async fn add_risk(&self, ctx: &RequestContext, name: &str, mut fields: RiskFields) -> Result<RiskEntry> {
        validate_name("project", name)?;
        let permit = auth::authorize(&ctx.principal, Operation::RiskEdit, Scope::Project(name))?;
        let (taxonomy, _) = self.current_taxonomy().await?;
        let fm = taxonomy.failure_modes.get(&fields.failure_mode).ok_or_else(|| {
            let known: Vec<&str> = taxonomy.failure_modes.keys().map(String::as_str).collect();
            Error::invalid(
                "failure_mode",
                format!("unknown failure mode {:?}; the taxonomy has: {}", fields.failure_mode, known.join(", ")),
            )
        })?;
        if fields.category.is_empty() {
            fields.category = fm.category.clone();
        } else if !taxonomy.categories.contains(&fields.category) {
            return Err(Error::invalid("category", format!("{:?} is not a category of the taxonomy", fields.category)));
        }
        fields.validate()?;
        check_controls(&fields)?;
        let audit = AuditRecord::new(&permit, Action::RiskAdd, format!("project:{name}"))
            .after(fields.to_json())
            .request_id(ctx.request_id.clone());
        let mut added = self.store.add_risk_entries(name, vec![fields], audit, self.clock.now()).await?;
        added.pop().ok_or_else(|| Error::internal("the store added no entry"))
    }

    pub async fn update_risk(&self, ctx: &RequestContext, id: i64, patch: RiskPatch) -> Result<RiskEntry> {
        auth::authorize_listing(&ctx.principal, Operation::RiskEdit)?;
        let entry = self.store.risk_entry(id).await?.ok_or_else(|| Error::not_found(format!("no risk entry {id}")))?;
        let permit = auth::authorize(&ctx.principal, Operation::RiskEdit, Scope::Project(&entry.project))?;
        let before = entry.fields.clone();
        let mut f = entry.fields;
        if let Some(v) = patch.severity {
            f.severity = v;
        }
        if let Some(v) = patch.likelihood {
            f.likelihood = v;
        }
        if let Some(v) = patch.impact {
            f.impact = v;
        }
        if let Some(v) = patch.controls {
            f.controls = v;
        }
        if let Some(v) = patch.owner {
            f.owner = v;
        }
        if let Some(v) = patch.status {
            f.status = v;
        }
        if let Some(v) = patch.rationale {
            f.rationale = v;
        }
        f.validate()?;
        check_controls(&f)?;
        let audit = AuditRecord::new(&permit, Action::RiskUpdate, format!("risk:{id}"))
            .before(before.to_json())
            .after(f.to_json())
            .request_id(ctx.request_id.clone());
        self.store.update_risk_entry(id, f, audit, self.clock.now()).await
    }

    pub async fn risks(&self, ctx: &RequestContext, name: &str) -> Result<Vec<RiskEntry>> {
        validate_name("project", name)?;
        auth::authorize(&ctx.principal, Operation::ProjectRead, Scope::Project(name))?;
        if self.store.project(name).await?.is_none() {
            return Err(Error::not_found(format!("no project named {name:?}")));
        }
        self.store.risk_entries(name).await
    }

    pub async fn risk(&self, ctx: &RequestContext, id: i64) -> Result<RiskEntry> {
        auth::authorize_listing(&ctx.principal, Operation::ProjectRead)?;
        let entry = self.store.risk_entry(id).await?.ok_or_else(|| Error::not_found(format!("no risk entry {id}")))?;
        auth::authorize(&ctx.principal, Operation::ProjectRead, Scope::Project(&entry.project))?;
        Ok(entry)
    }

    /// The one hook through which events make risks more likely: every open entry of the
    /// project whose failure mode the taxonomy's `signal` names gets its likelihood raised by
    /// one (at most 5), audited with the reason, under the permit of whoever caused it.
    /// Failure modes with no entry yet get one from the taxonomy when the project has a
    /// context. Returns the entries changed or added.
    pub(crate) async fn raise_likelihood(
        &self,
        permit: &Permit,
        request_id: Option<String>,
        project: &str,
        signal: &str,
        reason: &str,
    ) -> Result<Vec<RiskEntry>> {
        let (taxonomy, _) = self.current_taxonomy().await?;
        let modes = taxonomy.signal(signal);
        if modes.is_empty() {
            return Ok(Vec::new());
        }
        let entries = self.store.risk_entries(project).await?;
        let context = self.store.project(project).await?.and_then(|p| p.context);
        let mut changed = Vec::new();
        for mode in modes {
            let matching: Vec<&RiskEntry> = entries
                .iter()
                .filter(|e| &e.fields.failure_mode == mode && e.fields.status != RiskStatus::Closed)
                .collect();
            if matching.is_empty() {
                let Some(mut fields) = context.as_ref().and_then(|c| taxonomy.score(mode, c)) else { continue };
                fields.likelihood = (fields.likelihood + 1).min(5);
                fields.rationale = format!("{}; raised: {reason}", fields.rationale);
                let audit = AuditRecord::new(permit, Action::RiskLikelihood, format!("project:{project}"))
                    .after(json!({"signal": signal, "reason": reason, "entry": fields.to_json()}))
                    .request_id(request_id.clone());
                changed.extend(self.store.add_risk_entries(project, vec![fields], audit, self.clock.now()).await?);
                continue;
            }
            for e in matching {
                if e.fields.likelihood >= 5 {
                    continue;
                }
                let mut f = e.fields.clone();
                f.likelihood += 1;
                let audit = AuditRecord::new(permit, Action::RiskLikelihood, format!("risk:{}", e.id))
                    .before(json!({"likelihood": e.fields.likelihood, "inherent_score": e.fields.inherent_score()}))
                    .after(json!({"likelihood": f.likelihood, "inherent_score": f.inherent_score(), "signal": signal, "reason": reason}))
                    .request_id(request_id.clone());
                changed.push(self.store.update_risk_entry(e.id, f, audit, self.clock.now()).await?);
            }
        }
        Ok(changed)
    }

    /// The way back down: when what raised these entries is over (an incident resolved),
    /// each still-open entry loses one step of likelihood (never under 1), audited with the
    /// reason. Entries closed or already at 1 are left alone.
    pub(crate) async fn lower_likelihood(
        &self,
        permit: &Permit,
        request_id: Option<String>,
        entry_ids: &[i64],
        reason: &str,
    ) -> Result<Vec<RiskEntry>> {
        let mut changed = Vec::new();
        for id in entry_ids {
            let Some(e) = self.store.risk_entry(*id).await? else { continue };
            if e.fields.status == RiskStatus::Closed || e.fields.likelihood <= 1 {
                continue;
            }
            let mut f = e.fields.clone();
            f.likelihood -= 1;
            let audit = AuditRecord::new(permit, Action::RiskLikelihood, format!("risk:{}", e.id))
                .before(json!({"likelihood": e.fields.likelihood, "inherent_score": e.fields.inherent_score()}))
                .after(json!({"likelihood": f.likelihood, "inherent_score": f.inherent_score(), "reason": reason}))
                .request_id(request_id.clone());
            changed.push(self.store.update_risk_entry(e.id, f, audit, self.clock.now()).await?);
        }
        Ok(changed)
    }
}
