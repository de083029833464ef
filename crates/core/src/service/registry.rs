//! Registry services: pushing and reading dataset versions, registering and reading model
//! versions, and lineage. Artifact bytes are stored before their metadata commits; when
//! the metadata does not commit, an object nothing else refers to is removed again.

use super::{RequestContext, Riskops};
use crate::action::Action;
use crate::artifact::{Digest, VerifiedFile};
use crate::audit::AuditRecord;
use crate::auth::{self, Operation, Permit, Scope};
use crate::error::{Error, Result};
use crate::lineage::Lineage;
use crate::project::{DEFAULT_PROJECT, validate_description, validate_name};
use crate::registry::{
    Created, DatasetVersion, Endpoint, Entry, Kind, MAX_NOTE_LEN, ModelVersion, NewDatasetVersion, NewModelVersion,
    Note, Tags, VersionRef, validate_tags,
};
use sha2::Digest as _;
use std::path::Path;

/// Reads a model artifact at registration: the server's loads ONNX models with
/// riskops-model, so a model riskops cannot run is refused (422 naming the operator) and
/// its signature is recorded. Kept behind a trait so riskops-core does not depend on the
/// model runtime (nor on HTTP, for endpoints).
#[async_trait::async_trait]
pub trait ModelInspector: Send + Sync {
    /// The signature of the model in `file`; None for frameworks it does not read.
    fn inspect(
        &self,
        framework: crate::registry::Framework,
        file: &Path,
    ) -> Result<Option<crate::registry::ModelInterface>>;

    /// Asks a served model what it takes and gives; an endpoint that does not answer, or not
    /// as its protocol says, is a 422 on `endpoint`. `classes` (in the order of the endpoint's
    /// probability columns) make it a classifier.
    async fn inspect_endpoint(
        &self,
        endpoint: &Endpoint,
        classes: Option<&[String]>,
    ) -> Result<crate::registry::ModelInterface>;
}

/// A checked request to push: obtained before the upload is read, so a refused push
/// reads (and stores) nothing.
#[derive(Clone)]
pub struct PushPermit {
    permit: Permit,
    /// The project the push lands in: the one named, else the existing entry's, else
    /// `default`. Decided once, where the permission was checked, and carried to the store.
    project: String,
}

impl PushPermit {
    /// A permit for a file added to something that already has its project (evidence of a
    /// version, an attestation of a project).
    pub(crate) fn new(permit: Permit, project: &str) -> Self {
        PushPermit { permit, project: project.to_string() }
    }

    /// The project the push was allowed into.
    pub fn project(&self) -> &str {
        &self.project
    }

    pub(crate) fn permit(&self) -> &Permit {
        &self.permit
    }
}

/// A push naming one project for a name another project owns is a conflict, found before
/// any byte is received. The owner is named only to a caller who may read its registry: a
/// name must not reveal a project to someone who cannot see it. (The store refuses the
/// same conflict without naming the owner, should the name be taken meanwhile.)
fn refuse_other_project(
    ctx: &RequestContext,
    kind: &str,
    name: &str,
    project: Option<&str>,
    existing: Option<&str>,
) -> Result<()> {
    let (Some(wanted), Some(owner)) = (project, existing) else { return Ok(()) };
    if wanted == owner {
        return Ok(());
    }
    let unique = "names are unique across projects";
    if ctx.principal.may(Operation::RegistryRead, Scope::Project(owner)) {
        Err(Error::conflict(format!(
            "{kind} {name:?} belongs to project {owner:?}; {unique} (push with --project {owner})"
        )))
    } else {
        Err(Error::conflict(format!("{kind} {name:?} belongs to another project; {unique}: choose another name")))
    }
}

fn tag_action(kind: Kind) -> Action {
    match kind {
        Kind::Dataset => Action::DatasetTag,
        Kind::Model => Action::ModelTag,
    }
}

fn note_action(kind: Kind) -> Action {
    match kind {
        Kind::Dataset => Action::DatasetNote,
        Kind::Model => Action::ModelNote,
    }
}

/// What every model registration checks before the artifact is read or an endpoint asked.
fn check_new_model(push: &PushPermit, new: &NewModelVersion) -> Result<()> {
    validate_description(&new.description)?;
    validate_tags(&new.tags)?;
    same_project(push, &new.project)?;
    if let Some(code) = &new.code {
        code.validate()?;
    }
    for (field, value) in [("params", &new.params), ("metrics", &new.metrics)] {
        if !(value.is_object() || value.is_null()) {
            return Err(Error::invalid(field, "must be a JSON object"));
        }
    }
    if let Some(metrics) = new.metrics.as_object()
        && let Some((k, _)) = metrics.iter().find(|(_, v)| !v.is_number())
    {
        return Err(Error::invalid("metrics", format!("{k:?} must be a number")));
    }
    Ok(())
}

/// A push records the project its permit was checked for, nothing else.
fn same_project(push: &PushPermit, project: &str) -> Result<()> {
    if push.project != project {
        return Err(Error::internal(format!(
            "a push checked for project {:?} was sent for project {project:?}",
            push.project
        )));
    }
    Ok(())
}

impl Riskops {
    /// Checks permission and the names of a dataset push, before any byte is received.
    pub async fn check_dataset_push(
        &self,
        ctx: &RequestContext,
        name: &str,
        project: Option<&str>,
    ) -> Result<PushPermit> {
        validate_name("name", name)?;
        let existing = self.store.dataset_version(name, None).await?.map(|v| v.project);
        let (permit, project) = self.authorize_push(ctx, Operation::DatasetPush, project, existing.as_deref())?;
        refuse_other_project(ctx, "dataset", name, Some(&project), existing.as_deref())?;
        Ok(PushPermit { permit, project })
    }

    /// Checks permission and names of a model registration, before any byte is received.
    pub async fn check_model_register(
        &self,
        ctx: &RequestContext,
        name: &str,
        project: Option<&str>,
    ) -> Result<PushPermit> {
        validate_name("name", name)?;
        let existing = self.store.model_version(name, None).await?.map(|v| v.project);
        let (permit, project) = self.authorize_push(ctx, Operation::ModelRegister, project, existing.as_deref())?;
        refuse_other_project(ctx, "model", name, Some(&project), existing.as_deref())?;
        Ok(PushPermit { permit, project })
    }

    /// The project a push lands in is the one named, else the existing entry's, else
    /// `default`; the permission is checked there.
    fn authorize_push(
        &self,
        ctx: &RequestContext,
        op: Operation,
        project: Option<&str>,
        existing: Option<&str>,
    ) -> Result<(Permit, String)> {
        if let Some(p) = project {
            validate_name("project", p)?;
        }
        let target = project.or(existing).unwrap_or(DEFAULT_PROJECT);
        Ok((auth::authorize(&ctx.principal, op, Scope::Project(target))?, target.to_string()))
    }

    /// Stores the received file (at `file`, hashed to `new.digest`) and records the version.
    pub async fn push_dataset(
        &self,
        ctx: &RequestContext,
        push: PushPermit,
        file: &Path,
        new: NewDatasetVersion,
    ) -> Result<Created<DatasetVersion>> {
        validate_description(&new.description)?;
        validate_tags(&new.tags)?;
        same_project(&push, &new.project)?;
        let audit = AuditRecord::new(&push.permit, Action::DatasetPush, format!("dataset:{}", new.name))
            .after(serde_json::json!({
                "name": new.name,
                "digest": new.digest.as_str(),
                "size": new.size,
                "rows": new.rows,
                "format": new.format.as_str(),
            }))
            .request_id(ctx.request_id.clone());
        let digest = new.digest.clone();
        let stored_now = self.store_artifact(file, &digest).await?;
        let result = self.store.create_dataset_version(new, audit, self.clock.now()).await;
        self.undo_artifact_on_error(&result, stored_now, &digest).await;
        result
    }

    /// Stores the received model artifact and records the version with its lineage. The
    /// model inspector (if any) reads the artifact first: a model it cannot run is refused
    /// before anything is stored, and its signature is recorded with the version.
    pub async fn register_model(
        &self,
        ctx: &RequestContext,
        push: PushPermit,
        file: &Path,
        mut new: NewModelVersion,
    ) -> Result<ModelVersion> {
        check_new_model(&push, &new)?;
        if new.endpoint.is_some() {
            return Err(Error::internal("an endpoint model is registered by register_endpoint_model"));
        }
        if let Some(inspector) = &self.model_inspector {
            new.signature = inspector.inspect(new.framework, file)?;
        }
        self.record_model(ctx, push, file, new).await
    }

    /// Records a model served over HTTP (`new.endpoint`): the endpoint must answer as its
    /// protocol says (its signature is recorded), else nothing is stored. `file` holds the
    /// endpoint's descriptor, the version's artifact. `classes`, in the order of the endpoint's
    /// probability columns, make it a classifier whose scores validation can use.
    pub async fn register_endpoint_model(
        &self,
        ctx: &RequestContext,
        push: PushPermit,
        file: &Path,
        mut new: NewModelVersion,
        classes: Option<Vec<String>>,
    ) -> Result<ModelVersion> {
        check_new_model(&push, &new)?;
        let endpoint = new.endpoint.clone().ok_or_else(|| Error::internal("an endpoint model without endpoint"))?;
        if new.digest != Digest::from_sha256(&sha2::Sha256::digest(endpoint.descriptor())) {
            return Err(Error::internal("an endpoint model's artifact is not its descriptor"));
        }
        if let Some(c) = &classes
            && (c.len() < 2 || c.iter().any(|x| x.is_empty() || x.len() > 256))
        {
            return Err(Error::invalid("classes", "give two or more classes, each 1 to 256 bytes"));
        }
        let inspector = self
            .model_inspector
            .as_ref()
            .ok_or_else(|| Error::invalid("endpoint", "this riskops instance cannot call model endpoints"))?;
        new.signature = Some(inspector.inspect_endpoint(&endpoint, classes.as_deref()).await?);
        self.record_model(ctx, push, file, new).await
    }

    /// Stores the artifact and records the checked version, removing the artifact again if
    /// the record does not commit.
    async fn record_model(
        &self,
        ctx: &RequestContext,
        push: PushPermit,
        file: &Path,
        new: NewModelVersion,
    ) -> Result<ModelVersion> {
        let audit = AuditRecord::new(&push.permit, Action::ModelRegister, format!("model:{}", new.name))
            .after(serde_json::json!({
                "name": new.name,
                "digest": new.digest.as_str(),
                "size": new.size,
                "framework": new.framework.as_str(),
                "signature": new.signature.as_ref().map(crate::registry::ModelInterface::to_json),
                "code_repo": new.code.as_ref().map(|c| c.repo.clone()),
                "code_commit": new.code.as_ref().map(|c| c.commit.clone()),
                "endpoint": new.endpoint.as_ref().map(|e| e.url.clone()),
                "protocol": new.endpoint.as_ref().map(|e| e.protocol.as_str()),
            }))
            .request_id(ctx.request_id.clone());
        let digest = new.digest.clone();
        let stored_now = self.store_artifact(file, &digest).await?;
        let result = self.store.create_model_version(new, audit, self.clock.now()).await;
        self.undo_artifact_on_error(&result, stored_now, &digest).await;
        result
    }

    /// Puts the file into the artifact store; true when the object was not there before.
    pub(super) async fn store_artifact(&self, file: &Path, digest: &Digest) -> Result<bool> {
        let existed = self.artifacts.exists(digest).await?;
        self.artifacts.put_file(file, digest).await?;
        Ok(!existed)
    }

    /// After a failed metadata write, removes an object this request added, unless another
    /// version (committed meanwhile) refers to it: no orphan artifacts.
    /// The one check of a project-scoped path's `{project}` and `{model}`: the model exists,
    /// the caller may read it, and it belongs to that project — otherwise a 404, as for any
    /// unknown model, so a path cannot reach another project's model. Its latest version.
    pub async fn model_in_project(&self, ctx: &RequestContext, project: &str, model: &str) -> Result<ModelVersion> {
        validate_name("project", project)?;
        auth::authorize(&ctx.principal, Operation::RegistryRead, Scope::Project(project))?;
        self.latest_in_project(project, model).await
    }

    /// The latest version of `model` if it belongs to `project`; a 404 whether it is missing
    /// or another project's (the caller's permission in `project` is checked first).
    pub(super) async fn latest_in_project(&self, project: &str, model: &str) -> Result<ModelVersion> {
        validate_name("model", model)?;
        match self.store.model_version(model, None).await? {
            Some(latest) if latest.project == project => Ok(latest),
            _ => Err(Error::not_found(format!("project {project} has no model named {model:?}"))),
        }
    }

    /// The one check of a project-scoped path's `{project}` where no model is named: a 404
    /// unless it exists (listings would otherwise answer an empty list for a typo).
    pub async fn project_exists(&self, project: &str) -> Result<()> {
        validate_name("project", project)?;
        match self.store.project(project).await? {
            Some(_) => Ok(()),
            None => Err(Error::not_found(format!("no project named {project:?}"))),
        }
    }

    /// Removes stored objects that nothing refers to: what a server killed between storing an
    /// object and committing its row left behind. Run once at start, before serving (a request
    /// storing an object would otherwise race it); stores shared by several servers (S3) are
    /// never swept. The number removed.
    pub async fn remove_unreferenced_artifacts(&self) -> Result<usize> {
        let Some(objects) = self.artifacts.list().await? else { return Ok(0) };
        let referenced = self.store.referenced_digests().await?;
        let mut removed = 0;
        for digest in objects.iter().filter(|d| !referenced.contains(d.as_str())) {
            self.artifacts.delete(digest).await?;
            removed += 1;
        }
        Ok(removed)
    }

    pub(super) async fn undo_artifact_on_error<T>(&self, result: &Result<T>, stored_now: bool, digest: &Digest) {
        if result.is_err()
            && stored_now
            && matches!(self.store.digest_referenced(digest.as_str()).await, Ok(false))
            && let Err(e) = self.artifacts.delete(digest).await
        {
            tracing::warn!(%digest, error = %e, "could not remove an unreferenced artifact");
        }
    }

    pub async fn dataset_version(&self, ctx: &RequestContext, r: &VersionRef) -> Result<DatasetVersion> {
        auth::authorize_listing(&ctx.principal, Operation::RegistryRead)?;
        let version = self
            .store
            .dataset_version(&r.name, r.version)
            .await?
            .ok_or_else(|| Error::not_found(format!("no dataset version {r}")))?;
        auth::authorize(&ctx.principal, Operation::RegistryRead, Scope::Project(&version.project))?;
        Ok(version)
    }

    pub async fn dataset_versions(&self, ctx: &RequestContext, name: &str) -> Result<Vec<DatasetVersion>> {
        auth::authorize_listing(&ctx.principal, Operation::RegistryRead)?;
        validate_name("name", name)?;
        let versions = self.store.dataset_versions(name).await?;
        let Some(first) = versions.first() else {
            return Err(Error::not_found(format!("no dataset named {name:?}")));
        };
        auth::authorize(&ctx.principal, Operation::RegistryRead, Scope::Project(&first.project))?;
        Ok(versions)
    }

    pub async fn list_datasets(&self, ctx: &RequestContext, project: Option<&str>) -> Result<Vec<Entry>> {
        let visible = auth::authorize_listing(&ctx.principal, Operation::RegistryRead)?;
        let mut entries = self.store.list_datasets(project).await?;
        entries.retain(|e| visible.sees(&e.project));
        Ok(entries)
    }

    /// The version and its bytes as a verified local file; a corrupt object is an error.
    pub async fn dataset_file(&self, ctx: &RequestContext, r: &VersionRef) -> Result<(DatasetVersion, VerifiedFile)> {
        let version = self.dataset_version(ctx, r).await?;
        let file = self.artifacts.open_verified(&version.digest).await?;
        Ok((version, file))
    }

    pub async fn model_version(&self, ctx: &RequestContext, r: &VersionRef) -> Result<ModelVersion> {
        self.model_version_for(ctx, Operation::RegistryRead, r).await.map(|(v, _)| v)
    }

    /// Loads a model version and checks `op` in its project: the way into every
    /// governance operation on a version.
    pub(super) async fn model_version_for(
        &self,
        ctx: &RequestContext,
        op: Operation,
        r: &VersionRef,
    ) -> Result<(ModelVersion, Permit)> {
        auth::authorize_listing(&ctx.principal, op)?;
        validate_name("name", &r.name)?;
        let version = self
            .store
            .model_version(&r.name, r.version)
            .await?
            .ok_or_else(|| Error::not_found(format!("no model version {r}")))?;
        let permit = auth::authorize(&ctx.principal, op, Scope::Project(&version.project))?;
        Ok((version, permit))
    }

    pub async fn model_versions(&self, ctx: &RequestContext, name: &str) -> Result<Vec<ModelVersion>> {
        auth::authorize_listing(&ctx.principal, Operation::RegistryRead)?;
        validate_name("name", name)?;
        let versions = self.store.model_versions(name).await?;
        let Some(first) = versions.first() else {
            return Err(Error::not_found(format!("no model named {name:?}")));
        };
        auth::authorize(&ctx.principal, Operation::RegistryRead, Scope::Project(&first.project))?;
        Ok(versions)
    }

    pub async fn list_models(&self, ctx: &RequestContext, project: Option<&str>) -> Result<Vec<Entry>> {
        let visible = auth::authorize_listing(&ctx.principal, Operation::RegistryRead)?;
        let mut entries = self.store.list_models(project).await?;
        entries.retain(|e| visible.sees(&e.project));
        Ok(entries)
    }

    pub async fn model_file(&self, ctx: &RequestContext, r: &VersionRef) -> Result<(ModelVersion, VerifiedFile)> {
        let version = self.model_version(ctx, r).await?;
        let file = self.artifacts.open_verified(&version.digest).await?;
        Ok((version, file))
    }

    /// The lineage of a model version: its data and code.
    pub async fn model_lineage(&self, ctx: &RequestContext, r: &VersionRef) -> Result<Lineage> {
        let model = self.model_version(ctx, r).await?;
        let mut datasets = Vec::new();
        for link in [&model.training_data, &model.validation_data].into_iter().flatten() {
            if let Some(d) = self.store.dataset_version(&link.name, link.version).await? {
                datasets.push(d);
            }
        }
        let mut lineage = Lineage::default();
        let model_node = lineage.add_model(&model, &datasets);
        for dataset in self.produced_on(&model).await? {
            lineage.add_validated_on(&dataset, &model_node);
        }
        self.add_deployments(&mut lineage, &model).await?;
        Ok(lineage)
    }

    /// The dataset versions riskops produced evidence on for a model version (`validated_on`).
    async fn produced_on(&self, model: &ModelVersion) -> Result<Vec<DatasetVersion>> {
        let mut datasets: Vec<DatasetVersion> = Vec::new();
        for e in self.store.evidence(&model.name, model.version).await? {
            let Some(r) = e.dataset.as_deref().filter(|_| e.produced_by.is_some()) else { continue };
            let r = VersionRef::parse("dataset", r)?;
            if let Some(d) = self.store.dataset_version(&r.name, r.version).await?
                && !datasets.iter().any(|x| x.name == d.name && x.version == d.version)
            {
                datasets.push(d);
            }
        }
        Ok(datasets)
    }

    /// The lineage of a dataset version: the models trained or validated on it, with their
    /// other inputs.
    pub async fn dataset_lineage(&self, ctx: &RequestContext, r: &VersionRef) -> Result<Lineage> {
        let dataset = self.dataset_version(ctx, r).await?;
        let mut lineage = Lineage::default();
        lineage.add_dataset(&dataset);
        for model in self.store.models_using_dataset(&dataset.name, dataset.version).await? {
            let mut datasets = vec![dataset.clone()];
            for link in [&model.training_data, &model.validation_data].into_iter().flatten() {
                let other = link.name != dataset.name || link.version != Some(dataset.version);
                if other && let Some(d) = self.store.dataset_version(&link.name, link.version).await? {
                    datasets.push(d);
                }
            }
            lineage.add_model(&model, &datasets);
            self.add_deployments(&mut lineage, &model).await?;
        }
        Ok(lineage)
    }

    /// Where a model version has been deployed (downstream of the model).
    async fn add_deployments(&self, lineage: &mut Lineage, model: &ModelVersion) -> Result<()> {
        for d in self.store.deployments(&model.name).await?.iter().filter(|d| d.version == model.version) {
            lineage.add_deployment(d);
        }
        Ok(())
    }

    /// Adds labels to an existing version (its content never changes).
    pub async fn add_tags(
        &self,
        ctx: &RequestContext,
        kind: Kind,
        name: &str,
        version: u32,
        tags: Tags,
    ) -> Result<Tags> {
        if tags.is_empty() {
            return Err(Error::invalid("tags", "give at least one KEY=VALUE"));
        }
        validate_tags(&tags)?;
        let permit = self.annotation_permit(ctx, kind, name, version).await?;
        let audit = AuditRecord::new(&permit, tag_action(kind), format!("{}:{name}@{version}", kind.as_str()))
            .after(serde_json::to_value(&tags).unwrap_or_default())
            .request_id(ctx.request_id.clone());
        self.store.add_tags(kind, name, version, tags, audit, self.clock.now()).await
    }

    /// Appends a note to an existing version.
    pub async fn add_note(
        &self,
        ctx: &RequestContext,
        kind: Kind,
        name: &str,
        version: u32,
        text: String,
    ) -> Result<Note> {
        if text.trim().is_empty() || text.len() > MAX_NOTE_LEN {
            return Err(Error::invalid("text", format!("must be 1 to {MAX_NOTE_LEN} bytes of text")));
        }
        let permit = self.annotation_permit(ctx, kind, name, version).await?;
        let audit = AuditRecord::new(&permit, note_action(kind), format!("{}:{name}@{version}", kind.as_str()))
            .after(serde_json::json!({"text": text}))
            .request_id(ctx.request_id.clone());
        self.store.add_note(kind, name, version, text, audit, self.clock.now()).await
    }

    pub async fn notes(&self, ctx: &RequestContext, kind: Kind, name: &str, version: u32) -> Result<Vec<Note>> {
        self.version_permit(ctx, Operation::RegistryRead, kind, name, version).await?;
        self.store.notes(kind, name, version).await
    }

    async fn annotation_permit(&self, ctx: &RequestContext, kind: Kind, name: &str, version: u32) -> Result<Permit> {
        self.version_permit(ctx, Operation::RegistryAnnotate, kind, name, version).await
    }

    /// Checks `op` in the project of a dataset or model version (which must exist).
    async fn version_permit(
        &self,
        ctx: &RequestContext,
        op: Operation,
        kind: Kind,
        name: &str,
        version: u32,
    ) -> Result<Permit> {
        auth::authorize_listing(&ctx.principal, op)?;
        validate_name("name", name)?;
        let project = match kind {
            Kind::Dataset => self.store.dataset_version(name, Some(version)).await?.map(|v| v.project),
            Kind::Model => self.store.model_version(name, Some(version)).await?.map(|v| v.project),
        };
        let project =
            project.ok_or_else(|| Error::not_found(format!("no {} version {name}@{version}", kind.as_str())))?;
        auth::authorize(&ctx.principal, op, Scope::Project(&project))
    }

    /// Model versions trained or validated on a dataset version (lineage downstream).
    pub async fn models_using_dataset(
        &self,
        ctx: &RequestContext,
        name: &str,
        version: u32,
    ) -> Result<Vec<ModelVersion>> {
        let visible = auth::authorize_listing(&ctx.principal, Operation::RegistryRead)?;
        let mut models = self.store.models_using_dataset(name, version).await?;
        models.retain(|m| visible.sees(&m.project));
        Ok(models)
    }
}
