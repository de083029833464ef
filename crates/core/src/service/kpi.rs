//! Business KPIs per model: values per outcome, and the expected value per 1,000 decisions
//! of each version that has confusion-matrix evidence.

use super::{RequestContext, Riskops};
use crate::action::Action;
use crate::audit::AuditRecord;
use crate::auth::Operation;
use crate::error::Result;
use crate::kpi::{Confusion, OutcomeValues, confusion_from_json};
use crate::registry::VersionRef;
use serde_json::Value;

/// Largest evidence file read for a confusion matrix.
const MAX_MATRIX_FILE: u64 = 1 << 20;

/// One version's business view.
#[derive(Debug, Clone)]
pub struct VersionKpi {
    pub version: u32,
    /// The evidence the matrix came from (the newest with one).
    pub evidence_id: i64,
    pub matrix: Confusion,
    /// `None` until the model has values per outcome.
    pub per_thousand: Option<f64>,
}

#[derive(Debug, Clone)]
pub struct KpiReport {
    pub model: String,
    pub values: Option<OutcomeValues>,
    pub versions: Vec<VersionKpi>,
}

fn kind(model: &str) -> String {
    format!("kpi:{model}")
}

impl Riskops {
    /// Sets what each outcome of a model is worth (admin, risk_officer, validator,
    /// data_scientist: the same people who annotate versions).
    pub async fn set_kpi(&self, ctx: &RequestContext, model: &str, values: &Value) -> Result<OutcomeValues> {
        let r = VersionRef { name: model.to_string(), version: None };
        let (_, permit) = self.model_version_for(ctx, Operation::RegistryAnnotate, &r).await?;
        let values = OutcomeValues::from_json(values)?;
        let audit = AuditRecord::new(&permit, Action::ModelKpi, format!("model:{model}"))
            .after(values.to_json())
            .request_id(ctx.request_id.clone());
        self.store.set_document(&kind(model), values.to_json(), audit, self.clock.now()).await?;
        Ok(values)
    }

    /// The values per outcome and, per version with confusion-matrix evidence (a JSON file
    /// of kind `performance` or `validation`), the expected value per 1,000 decisions.
    pub async fn kpi(&self, ctx: &RequestContext, model: &str) -> Result<KpiReport> {
        let versions = self.model_versions(ctx, model).await?;
        let values = match self.store.document(&kind(model)).await? {
            Some(d) => Some(OutcomeValues::from_json(&d.document)?),
            None => None,
        };
        let mut out = Vec::new();
        for v in versions {
            let evidence = self.store.evidence(model, v.version).await?;
            for e in evidence.iter().rev().filter(|e| matches!(e.kind.as_str(), "performance" | "validation")) {
                if e.size > MAX_MATRIX_FILE {
                    continue;
                }
                let bytes = self.artifacts.read_small(&e.digest, MAX_MATRIX_FILE).await?;
                let Some(matrix) = serde_json::from_slice::<Value>(&bytes).ok().and_then(|j| confusion_from_json(&j))
                else {
                    continue;
                };
                let per_thousand = values.as_ref().and_then(|val| val.per_thousand(&matrix));
                out.push(VersionKpi { version: v.version, evidence_id: e.id, matrix, per_thousand });
                break;
            }
        }
        Ok(KpiReport { model: model.to_string(), values, versions: out })
    }
}
