//! Integrity of what is deployed. A version in staging or production is re-verified at start
//! and on a schedule: its artifact still hashes to the digest it was deployed with, the
//! registry still names that digest, and a production deployment's signature verifies with a
//! registered key. A problem opens a critical security incident (once per version and
//! environment until it is resolved) and marks the deployment compromised, which the
//! stages view and /metrics show.

use super::{RequestContext, Riskops};
use crate::action::Action;
use crate::alerting::Severity;
use crate::audit::AuditRecord;
use crate::auth::{self, Operation, Permit, Scope};
use crate::error::{ErrorKind, Result};
use crate::governance::Environment;
use crate::incident::{EvaluationWrite, NewIncident};
use crate::promotion::Deployment;
use crate::signing::{PublicKey, Signature, model_signature_message};
use serde_json::json;
use std::collections::BTreeMap;
use time::format_description::well_known::Rfc3339;

/// The monitor id of integrity incidents (they belong to no configured monitor).
pub const INTEGRITY_MONITOR: &str = "security.integrity";

/// One deployed version whose integrity failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrityProblem {
    pub project: String,
    pub model: String,
    pub version: u32,
    pub environment: Environment,
    /// What is wrong, for people: `the artifact no longer matches its digest`.
    pub problem: String,
}

/// Deployments found compromised by the last verification: by model, version and
/// environment, their project and what is wrong.
pub type Compromised = BTreeMap<(String, u32, Environment), (String, String)>;

/// What one verification pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct IntegrityReport {
    /// Deployments verified.
    pub checked: usize,
    pub problems: Vec<IntegrityProblem>,
    /// Incidents opened by this pass (a problem already under an unresolved incident opens
    /// none).
    pub opened: Vec<i64>,
}

impl Riskops {
    /// [`Riskops::verify_deployments`] at a person's request (auditors and admins).
    pub async fn verify_deployments_for(&self, ctx: &RequestContext) -> Result<IntegrityReport> {
        auth::authorize(&ctx.principal, Operation::AuditRead, Scope::Global)?;
        self.verify_deployments().await
    }

    /// Verifies every current deployment (see the module); records what is compromised and
    /// opens incidents. A store that cannot be read now is an error (nothing is judged); an
    /// artifact that cannot be fetched now is skipped, not judged compromised.
    pub async fn verify_deployments(&self) -> Result<IntegrityReport> {
        let now = self.clock.now();
        let keys = self.store.public_keys().await?;
        let mut report = IntegrityReport::default();
        for entry in self.store.list_models(None).await? {
            for deployment in self.store.deployments(&entry.name).await?.into_iter().filter(|d| d.active_at(now)) {
                report.checked += 1;
                if let Some(problem) = self.deployment_problem(&deployment, &keys).await? {
                    report.problems.push(IntegrityProblem {
                        project: entry.project.clone(),
                        model: deployment.model.clone(),
                        version: deployment.version,
                        environment: deployment.environment,
                        problem,
                    });
                }
            }
        }
        let compromised: Compromised = report
            .problems
            .iter()
            .map(|p| ((p.model.clone(), p.version, p.environment), (p.project.clone(), p.problem.clone())))
            .collect();
        if let Ok(mut current) = self.compromised.write() {
            *current = compromised;
        }
        for p in &report.problems {
            tracing::error!(model = %p.model, version = p.version, environment = p.environment.as_str(), problem = %p.problem, "deployment integrity failed");
            if let Some(id) = self.open_integrity_incident(p).await? {
                report.opened.push(id);
            }
        }
        Ok(report)
    }

    /// Why `model@version` in `environment` is compromised, per the last verification.
    pub fn compromised(&self, model: &str, version: u32, environment: Environment) -> Option<String> {
        let current = self.compromised.read().ok()?;
        current.get(&(model.to_string(), version, environment)).map(|(_, why)| why.clone())
    }

    /// The compromised deployments of the projects `ctx` may read the registry of, for
    /// /metrics.
    pub fn compromised_deployments(&self, ctx: &RequestContext) -> Vec<IntegrityProblem> {
        let current = self.compromised.read().map(|c| c.clone()).unwrap_or_default();
        current
            .into_iter()
            .filter(|(_, (project, _))| {
                auth::authorize(&ctx.principal, Operation::RegistryRead, Scope::Project(project)).is_ok()
            })
            .map(|((model, version, environment), (project, problem))| IntegrityProblem {
                project,
                model,
                version,
                environment,
                problem,
            })
            .collect()
    }

    async fn deployment_problem(&self, d: &Deployment, keys: &[PublicKey]) -> Result<Option<String>> {
        let registered = self.store.model_version(&d.model, Some(d.version)).await?;
        match registered {
            None => return Ok(Some("the version is no longer in the registry".into())),
            Some(v) if v.digest != d.digest => {
                return Ok(Some(format!(
                    "the registry names {} but {} was deployed: the registry was changed after the deployment",
                    v.digest, d.digest
                )));
            }
            Some(_) => {}
        }
        match self.artifacts.open_verified(&d.digest).await {
            Ok(_) => {}
            Err(e) if e.kind == ErrorKind::Integrity => {
                return Ok(Some("the stored artifact no longer matches its digest".into()));
            }
            Err(e) if e.kind == ErrorKind::NotFound => return Ok(Some("the stored artifact is missing".into())),
            Err(e) => {
                tracing::warn!(model = %d.model, version = d.version, error = %e, "integrity check skipped: the artifact cannot be read now");
                return Ok(None);
            }
        }
        if d.environment != Environment::Production {
            return Ok(None);
        }
        let Some(signature) = &d.signature else {
            return Ok(Some("the production deployment is not signed".into()));
        };
        let Some(key) = keys.iter().find(|k| k.key_id() == signature.key_id) else {
            return Ok(Some(format!("signed by key {}, which is not registered", signature.key_id)));
        };
        let message = model_signature_message(&d.model, d.version, d.environment.as_str(), d.digest.as_str());
        let verified = Signature::from_hex(&signature.signature).and_then(|s| key.verify(&message, &s));
        Ok(verified.err().map(|_| format!("its signature does not verify with key {}", signature.key_id)))
    }

    /// A critical incident for the problem; `None` when one is already open for this
    /// version (the store refuses a second unresolved incident of one monitor and version).
    async fn open_integrity_incident(&self, p: &IntegrityProblem) -> Result<Option<i64>> {
        let system = Permit::system();
        let monitor = json!({"id": INTEGRITY_MONITOR, "kind": "security", "metric": INTEGRITY_MONITOR,
                             "check": "deployment_integrity", "environment": p.environment.as_str()});
        let at = self.clock.now();
        let audit = AuditRecord::new(&system, Action::IncidentOpen, format!("model:{}", p.model))
            .after(json!({"version": p.version, "monitor": monitor, "severity": "critical", "problem": p.problem}));
        let write = EvaluationWrite {
            model: p.model.clone(),
            opened: vec![NewIncident {
                project: p.project.clone(),
                model: p.model.clone(),
                version: p.version,
                monitor_id: INTEGRITY_MONITOR.to_string(),
                monitor,
                severity: Severity::Critical,
                title: format!("{}@{} in {}: {}", p.model, p.version, p.environment.as_str(), p.problem),
                windows: Vec::new(),
                evidence: json!({"problem": p.problem, "environment": p.environment.as_str(),
                                 "detected_at": at.format(&Rfc3339).unwrap_or_default()}),
                advice: Some(
                    json!({"action": "roll back to a verified version (riskops model rollback) and investigate \
                                     who changed the artifact store or the registry (riskops audit log)"}),
                ),
            }],
            ..EvaluationWrite::default()
        };
        match self.store.commit_evaluation(write, vec![audit], at).await {
            Ok(ids) => Ok(ids.first().copied()),
            Err(e) if e.kind == ErrorKind::Conflict => Ok(None),
            Err(e) => Err(e),
        }
    }
}
