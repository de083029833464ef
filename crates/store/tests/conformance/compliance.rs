//! Compliance: attestations, and the report over the store.

use super::risk::{context, set_context_of};
use super::*;
use riskops_core::compliance::{AttachedFile, ControlStatus, Framework as ComplianceFramework, NewAttestation};
use riskops_core::context::{DataSensitivity, Industry};

fn attestation(project: &str, control: &str, file: Option<u8>) -> NewAttestation {
    NewAttestation {
        project: project.into(),
        control: control.into(),
        statement: format!("{control} holds: reviewed by the committee"),
        evidence: file.map(|n| AttachedFile { digest: digest(n), size: 42 }),
    }
}

#[tokio::test]
async fn attestations_are_recorded_per_project_in_order() {
    for b in backends().await {
        let store = &b.store;
        let kind = store.kind();
        let permit = admin_permit(store).await;
        let mut chain = Chain::new(store).await;
        let add = |new: NewAttestation| {
            let target = format!("project:{}", new.project);
            store.add_attestation(new, audit(&permit, "control.attest", &target), minutes(1))
        };
        let first = add(attestation("default", "C11", None)).await.unwrap();
        let event = chain.one("control.attest").await;
        assert_eq!(event.after.as_ref().unwrap()["id"], first.id, "{kind:?}: the store records the id");
        assert_eq!((first.created_by.as_str(), first.evidence.as_ref()), ("admin", None));
        let second = add(attestation("default", "C20", Some(9))).await.unwrap();
        chain.one("control.attest").await;
        assert!(second.id > first.id);

        let listed = store.attestations("default").await.unwrap();
        assert_eq!(listed, [first, second.clone()], "{kind:?}");
        assert_eq!(listed[1].evidence, Some(AttachedFile { digest: digest(9), size: 42 }));
        assert_eq!(listed[1].created_at, minutes(1));
        assert!(store.attestations("nope").await.unwrap().is_empty());

        let unknown = add(attestation("nope", "C11", None)).await.unwrap_err();
        assert_eq!((unknown.kind, unknown.message.as_str()), (ErrorKind::NotFound, "no project named \"nope\""));
        chain.none().await;
        chain.verify().await;
    }
}

#[tokio::test]
async fn attestations_cannot_be_rewritten() {
    async fn history(store: &Arc<dyn Store>) {
        let permit = admin_permit(store).await;
        let a = audit(&permit, "control.attest", "project:default");
        store.add_attestation(attestation("default", "C11", Some(3)), a, T0).await.unwrap();
    }
    const REWRITES: [&str; 3] = [
        "UPDATE {s}.attestations SET statement = 'nothing to see'",
        "UPDATE {s}.attestations SET created_by = 'mallory'",
        "DELETE FROM {s}.attestations",
    ];
    let b = sqlite().await;
    history(&b.store).await;
    let path = b._dir.as_ref().unwrap().path().join(riskops_store::sqlite::FILE_NAME);
    let conn = rusqlite::Connection::open(path).unwrap();
    for sql in REWRITES {
        let sql = sql.replace("{s}.", "");
        assert!(conn.execute(&sql, []).is_err(), "SQLite accepted {sql}");
    }
    assert_eq!(b.store.attestations("default").await.unwrap().len(), 1);

    if let Some(pg) = postgres().await {
        history(&pg.store).await;
        let schema = pg.pg_schema.as_ref().unwrap();
        let (client, conn) = tokio_postgres::connect(schema.base_url(), tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(conn);
        for sql in REWRITES.iter().chain(&["TRUNCATE {s}.attestations"]) {
            let sql = sql.replace("{s}", schema.name());
            let err = client.batch_execute(&sql).await.expect_err(&sql);
            assert!(
                err.as_db_error().is_some_and(|e| e.code() == &tokio_postgres::error::SqlState::RAISE_EXCEPTION),
                "{sql}: {err:?}"
            );
        }
        assert_eq!(pg.store.attestations("default").await.unwrap().len(), 1);
    }
}

/// The report over each backend: HIPAA counts only once the project declares phi data, and
/// an attestation recorded through the service flips its control.
#[tokio::test]
async fn the_compliance_report_follows_the_context_and_attestations() {
    for b in backends().await {
        let store = &b.store;
        let kind = store.kind();
        let permit = admin_permit(store).await;
        let riskops = service(store.clone());
        let ctx = admin_context(&riskops, "tok").await;
        let report = riskops.compliance_report(&ctx, "default", None).await.unwrap();
        let status = |r: &riskops_core::compliance::ComplianceReport, id: &str| {
            r.controls.iter().find(|c| c.id == id).map(|c| (c.status, c.reason.clone())).unwrap()
        };
        assert!(!report.coverage.contains_key(&ComplianceFramework::Hipaa), "{kind:?}: no context, no HIPAA");
        assert_eq!(report.controls.len(), 27);
        assert_eq!(status(&report, "C07").0, ControlStatus::NotApplicable, "nothing in production");
        assert_eq!(status(&report, "C11"), (ControlStatus::Unsatisfied, "no attestation recorded".to_string()));
        // The bootstrap token is the admin's and never expires: C18 says so.
        assert!(status(&report, "C18").1.contains("bootstrap admin token"), "{kind:?}");

        let mut healthcare = context(Industry::Healthcare, "billing_information");
        set_context_of(store, &permit, "default", &healthcare).await;
        let report = riskops.compliance_report(&ctx, "default", Some(ComplianceFramework::Hipaa)).await.unwrap();
        assert!(report.coverage.contains_key(&ComplianceFramework::Hipaa), "{kind:?}: phi brings HIPAA in");
        assert!(report.controls.iter().all(|c| c.frameworks.contains_key(&ComplianceFramework::Hipaa)));
        let (c21, reason) = status(&report, "C21");
        assert_eq!(c21, ControlStatus::Unsatisfied);
        assert!(reason.contains("admin#"), "{kind:?}: {reason}");

        healthcare.data_sensitivity = vec![DataSensitivity::Pii];
        set_context_of(store, &permit, "default", &healthcare).await;
        let report = riskops.compliance_report(&ctx, "default", None).await.unwrap();
        assert!(!report.coverage.contains_key(&ComplianceFramework::Hipaa));
        assert!(report.frameworks_not_applicable[0].1.contains("project default's data: pii"));

        let nist = report.coverage[&ComplianceFramework::NistAiRmf];
        let push = riskops.check_attestation(&ctx, "default", "C11").await.unwrap();
        riskops.add_attestation(&ctx, push, None, attestation("default", "C11", None)).await.unwrap();
        let after = riskops.compliance_report(&ctx, "default", None).await.unwrap();
        assert_eq!(status(&after, "C11").0, ControlStatus::Attested, "{kind:?}");
        assert_eq!(after.coverage[&ComplianceFramework::NistAiRmf].met, nist.met + 1);
        let Err(unknown) = riskops.check_attestation(&ctx, "default", "C99").await else { panic!("C99 accepted") };
        assert_eq!(unknown.field.as_deref(), Some("control"));
        assert_eq!(riskops.attestations(&ctx, "default").await.unwrap().len(), 1);
    }
}
