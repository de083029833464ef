//! Monitors in: a model's own monitors and its tier's defaults, as data kept in a
//! versioned document.

use super::*;
use crate::action::Action;
use crate::alerting::Monitor;
use crate::audit::AuditRecord;
use crate::auth::{self, Operation, Permit, Scope};
use crate::error::{Error, Result};
use crate::governance::Tier;
use crate::registry::VersionRef;
use crate::service::{RequestContext, Riskops};
use serde_json::{Value, json};

/// A model's monitors with where each comes from.
#[derive(Debug, Clone)]
pub struct MonitorsView {
    pub model: String,
    pub project: String,
    pub tier: Tier,
    /// `(monitor, "model" | "tier default")`.
    pub monitors: Vec<(Monitor, &'static str)>,
    pub disabled_defaults: Vec<String>,
}

impl MonitorsView {
    pub fn to_json(&self) -> Value {
        json!({
            "model": self.model,
            "project": self.project,
            "tier": self.tier.as_str(),
            "monitors": self.monitors.iter().map(|(m, origin)| {
                let mut v = m.to_json();
                v["origin"] = json!(origin);
                v
            }).collect::<Vec<_>>(),
            "disabled_defaults": self.disabled_defaults,
        })
    }
}

impl Riskops {
    /// A model's monitors: its own and its tier's defaults still switched on.
    pub async fn monitors(&self, ctx: &RequestContext, model: &str) -> Result<MonitorsView> {
        let r = VersionRef { name: model.to_string(), version: None };
        let (version, _) = self.model_version_for(ctx, Operation::RegistryRead, &r).await?;
        self.monitors_view(model, &version.project).await
    }

    async fn monitors_view(&self, model: &str, project: &str) -> Result<MonitorsView> {
        let tier = self.tier_of(project).await?;
        let set = self.monitor_set(model).await?;
        let own: Vec<String> = set.monitors.iter().map(|m| m.id.clone()).collect();
        let monitors = set
            .effective(tier)
            .into_iter()
            .map(|m| (m.clone(), if own.contains(&m.id) { "model" } else { "tier default" }))
            .collect();
        Ok(MonitorsView {
            model: model.to_string(),
            project: project.to_string(),
            tier,
            monitors,
            disabled_defaults: set.disabled_defaults,
        })
    }

    /// Adds a monitor to a model (admin, risk_officer, data_scientist); audited.
    pub async fn add_monitor(&self, ctx: &RequestContext, model: &str, monitor: &Value) -> Result<Monitor> {
        let r = VersionRef { name: model.to_string(), version: None };
        let (_, permit) = self.model_version_for(ctx, Operation::MonitorEdit, &r).await?;
        let monitor = Monitor::from_json(monitor)?;
        let mut set = self.monitor_set(model).await?;
        let added = set.add(monitor)?;
        let audit = AuditRecord::new(&permit, Action::MonitorAdd, format!("model:{model}"))
            .after(added.to_json())
            .request_id(ctx.request_id.clone());
        self.store.set_document(&monitors_kind(model), set.to_json(), audit, self.clock.now()).await?;
        Ok(added)
    }

    /// Removes a model's monitor (`monitor.edit`), or switches one of its tier's defaults
    /// off (`monitor.defaults_off`, and never by an author of the model); audited.
    pub async fn remove_monitor(&self, ctx: &RequestContext, model: &str, id: &str) -> Result<()> {
        let r = VersionRef { name: model.to_string(), version: None };
        let (version, mut permit) = self.model_version_for(ctx, Operation::MonitorEdit, &r).await?;
        let tier = self.tier_of(&version.project).await?;
        let mut set = self.monitor_set(model).await?;
        let own = set.monitors.iter().any(|m| m.id == id);
        if !own && set.effective(tier).iter().any(|m| m.id == id) {
            permit = self.default_off_permit(ctx, model, &version.project).await?;
        }
        let before = set.effective(tier).into_iter().find(|m| m.id == id).map(|m| m.to_json());
        set.remove(id, tier)?;
        let audit = AuditRecord::new(&permit, Action::MonitorRemove, format!("model:{model}"))
            .before(before.unwrap_or(Value::Null))
            .request_id(ctx.request_id.clone());
        self.store.set_document(&monitors_kind(model), set.to_json(), audit, self.clock.now()).await?;
        Ok(())
    }

    /// The permission to switch a tier default off for `model`: the tier's defaults are the
    /// bar the risk function set, so the people the bar is for (the model's authors) may not
    /// lower it, whatever their roles.
    async fn default_off_permit(&self, ctx: &RequestContext, model: &str, project: &str) -> Result<Permit> {
        let permit = auth::authorize(&ctx.principal, Operation::MonitorDefaults, Scope::Project(project))?;
        let me = ctx.principal.name();
        if self.store.model_versions(model).await?.iter().any(|v| v.author == me) {
            return Err(Error::forbidden(format!(
                "{me} is an author of {model} and may not switch its tier's default monitors off; ask a risk officer"
            )));
        }
        Ok(permit)
    }
}
