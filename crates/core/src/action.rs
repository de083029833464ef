//! What an audit event says happened, and which operations of the permission matrix may
//! cause it.
//!
//! The trail's vocabulary is an auditor's: `risk.add` must always mean the same thing, and
//! reading it they should know which permission allowed it. So every action is a variant
//! here with its one name and the operations whose permit may record it (a consequence, such
//! as a promotion completing after the evidence that satisfied its gate, names the
//! operations that can trigger it). `AuditRecord::new` takes an `Action`, not a string, and
//! checks the permit's operation against this table in every test run; riskops acting for
//! itself (the `system` permit) may record anything.

use crate::auth::Operation;

macro_rules! actions {
    ($($variant:ident = $name:literal by [$($op:ident),* $(,)?];)*) => {
        /// One kind of audit event.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Action {
            $($variant,)*
        }

        impl Action {
            /// Every action, in the table's order.
            pub const ALL: &'static [Action] = &[$(Action::$variant,)*];

            /// The name stored in the trail.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Action::$variant => $name,)*
                }
            }

            /// The operations whose permit may record it (besides riskops's own).
            pub fn operations(self) -> &'static [Operation] {
                match self {
                    $(Action::$variant => &[$(Operation::$op),*],)*
                }
            }
        }
    };
}

actions! {
    ProjectCreate = "project.create" by [ProjectCreate];
    ProjectContext = "project.context" by [ProjectCreate, ProjectUpdate];
    ProjectTier = "project.tier" by [ProjectUpdate, RiskEdit];
    DatasetPush = "dataset.push" by [DatasetPush];
    ModelRegister = "model.register" by [ModelRegister];
    DatasetTag = "dataset.tag" by [RegistryAnnotate];
    ModelTag = "model.tag" by [RegistryAnnotate];
    DatasetNote = "dataset.note" by [RegistryAnnotate];
    ModelNote = "model.note" by [RegistryAnnotate];
    ModelKpi = "model.kpi" by [RegistryAnnotate];
    EvidenceAdd = "evidence.add" by [EvidenceAdd];
    PromotionRequest = "promotion.request" by [PromotionRequest];
    PromotionApprove = "promotion.approve" by [PromotionDecide];
    PromotionReject = "promotion.reject" by [PromotionDecide];
    PromotionRejected = "promotion.rejected" by [PromotionDecide, EvidenceAdd, PromotionRequest, EmergencyRollback];
    PromotionCompleted = "promotion.completed" by [PromotionDecide, EvidenceAdd, PromotionRequest, EmergencyRollback];
    PromotionClosed = "promotion.closed" by [PromotionDecide, EvidenceAdd, PromotionRequest, EmergencyRollback];
    ModelRollback = "model.rollback" by [EmergencyRollback];
    PolicyUpdate = "policy.update" by [PolicyEdit];
    TaxonomyUpdate = "taxonomy.update" by [PolicyEdit];
    RiskAssess = "risk.assess" by [RiskEdit];
    RiskAdd = "risk.add" by [RiskEdit];
    RiskUpdate = "risk.update" by [RiskEdit];
    RiskLikelihood = "risk.likelihood" by [RiskEdit, EvidenceAdd, PromotionDecide, PromotionRequest];
    ControlAttest = "control.attest" by [ControlAttest];
    IdentityCreate = "identity.create" by [IdentityAdmin];
    IdentityGrant = "identity.grant" by [IdentityAdmin];
    IdentityRevoke = "identity.revoke" by [IdentityAdmin];
    TokenCreate = "token.create" by [OwnTokens, IdentityAdmin];
    TokenRevoke = "token.revoke" by [OwnTokens, IdentityAdmin];
    AuthThrottled = "auth.throttled" by [];
    AccessDenied = "access.denied" by [];
    PredictionsIngest = "predictions.ingest" by [Ingest];
    LabelsIngest = "labels.ingest" by [Ingest];
    PredictionsExpire = "predictions.expire" by [];
    MonitorConfigure = "monitor.configure" by [MonitorConfigure];
    MonitorAdd = "monitor.add" by [MonitorEdit];
    MonitorRemove = "monitor.remove" by [MonitorEdit, MonitorDefaults];
    WebhookAdd = "webhook.add" by [WebhookEdit];
    WebhookRemove = "webhook.remove" by [WebhookEdit];
    IncidentOpen = "incident.open" by [];
    IncidentUpdate = "incident.update" by [];
    IncidentAcknowledge = "incident.acknowledge" by [IncidentManage];
    IncidentResolve = "incident.resolve" by [IncidentManage];
    IncidentRisks = "incident.risks" by [];
}

impl Action {
    /// The action a stored name stands for.
    pub fn parse(name: &str) -> Option<Action> {
        Action::ALL.iter().copied().find(|a| a.as_str() == name)
    }

    /// Whether a permit for `operation` may record this action.
    pub fn allowed_by(self, operation: Operation) -> bool {
        operation == Operation::System || self.operations().contains(&operation)
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_is_one_action_and_reads_back() {
        let mut names: Vec<&str> = Action::ALL.iter().map(|a| a.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Action::ALL.len(), "two actions share a name");
        for a in Action::ALL {
            assert_eq!(Action::parse(a.as_str()), Some(*a));
            // A name is `<resource>.<what happened>`.
            assert!(a.as_str().split_once('.').is_some_and(|(r, w)| !r.is_empty() && !w.is_empty()), "{a}");
        }
        assert_eq!(Action::parse("risk.delete"), None);
    }

    #[test]
    fn riskops_itself_may_record_anything_and_a_permit_only_its_own() {
        assert!(Action::IncidentOpen.allowed_by(Operation::System));
        assert!(!Action::IncidentOpen.allowed_by(Operation::IncidentManage));
        assert!(Action::RiskAdd.allowed_by(Operation::RiskEdit));
        assert!(!Action::RiskAdd.allowed_by(Operation::RegistryAnnotate));
    }
}
