//! The Kubernetes side of a reconcile: status, finalizer, events, the exported
//! ConfigMap.

use std::collections::BTreeMap;
use std::sync::Mutex;

use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::core::ObjectMeta;
use kube::runtime::events::{Event, EventType, Recorder};
use kube::{Resource, ResourceExt};
use serde_json::json;

use crate::api::{FINALIZER, IdentityCenterInstance, IdentityCenterInstanceStatus};
use crate::controller::FIELD_MANAGER;

/// The API calls for one object.
pub struct Cluster {
    api: Api<IdentityCenterInstance>,
    client: kube::Client,
    recorder: Recorder,
    object: IdentityCenterInstance,
    /// The version of the object that the reconcile's view is based on: the
    /// watch cache's at first, then that of each write and fresh read. Every
    /// write is conditional on it, so a view the cache had not caught up with
    /// fails (409) instead of writing over what it did not see.
    resource_version: Mutex<Option<String>>,
}

impl Cluster {
    pub fn new(client: kube::Client, recorder: Recorder, object: IdentityCenterInstance) -> Self {
        let namespace = object.namespace().unwrap_or_default();
        let resource_version = Mutex::new(object.resource_version());
        Self { api: Api::namespaced(client.clone(), &namespace), client, recorder, object, resource_version }
    }

    fn name(&self) -> String {
        self.object.name_any()
    }

    fn seen(&self, object: &IdentityCenterInstance) {
        *self.resource_version.lock().expect("never poisoned") = object.resource_version();
    }

    fn expected_version(&self) -> Option<String> {
        self.resource_version.lock().expect("never poisoned").clone()
    }

    /// Writes the whole status by server-side apply. Fields left out are
    /// removed, so `status` must carry everything still true.
    pub async fn write_status(&self, status: &IdentityCenterInstanceStatus) -> Result<(), kube::Error> {
        let patch = json!({
            "apiVersion": IdentityCenterInstance::api_version(&()),
            "kind": IdentityCenterInstance::kind(&()),
            "metadata": { "resourceVersion": self.expected_version() },
            "status": status,
        });
        let params = PatchParams::apply(FIELD_MANAGER).force();
        let written = self.api.patch_status(&self.name(), &params, &Patch::Apply(patch)).await?;
        self.seen(&written);
        Ok(())
    }

    /// The object as the API server has it now, not as the watch cache last
    /// saw it; the writes that follow build on it.
    pub async fn fresh(&self) -> Result<IdentityCenterInstance, kube::Error> {
        let fresh = self.api.get_status(&self.name()).await?;
        self.seen(&fresh);
        Ok(fresh)
    }

    pub fn has_finalizer(&self) -> bool {
        self.object.finalizers().iter().any(|f| f == FINALIZER)
    }

    /// Adds the finalizer; the test on resourceVersion makes a concurrent edit fail rather than be lost.
    pub async fn add_finalizer(&self) -> Result<(), kube::Error> {
        let mut finalizers = self.object.finalizers().to_vec();
        finalizers.push(FINALIZER.into());
        self.patch_finalizers(finalizers).await
    }

    pub async fn remove_finalizer(&self) -> Result<(), kube::Error> {
        let finalizers = self.object.finalizers().iter().filter(|f| *f != FINALIZER).cloned().collect();
        self.patch_finalizers(finalizers).await
    }

    /// Sets one annotation of the object, conditional on the version read like every write.
    pub async fn annotate(&self, key: &str, value: &str) -> Result<(), kube::Error> {
        self.patch_metadata(json!({ "annotations": { key: value } })).await
    }

    async fn patch_finalizers(&self, finalizers: Vec<String>) -> Result<(), kube::Error> {
        self.patch_metadata(json!({ "finalizers": finalizers })).await
    }

    async fn patch_metadata(&self, mut metadata: serde_json::Value) -> Result<(), kube::Error> {
        metadata["resourceVersion"] = json!(self.expected_version());
        let patch = json!({ "metadata": metadata });
        let written = self.api.patch(&self.name(), &PatchParams::default(), &Patch::Merge(patch)).await?;
        self.seen(&written);
        Ok(())
    }

    /// Publishes an event; a failure is logged, never fatal: events are reports.
    pub async fn event(&self, type_: EventType, action: &str, reason: &str, note: String) {
        let event = Event { type_, reason: reason.into(), note: Some(note), action: action.into(), secondary: None };
        if let Err(error) = self.recorder.publish(&event, &self.object.object_ref(&())).await {
            tracing::warn!(%error, reason, object = %self.name(), "could not publish event");
        }
    }

    /// Writes the ConfigMap named by spec.exportTo, but only one the operator
    /// made for this object: a ConfigMap that exists without this object's
    /// `EXPORT_OF` label is someone else's and is left untouched. Each object
    /// writes under a field manager of its own.
    pub async fn export(&self, config_map: &str, data: BTreeMap<String, String>) -> Result<(), ExportError> {
        let uid = self.object.uid().unwrap_or_default();
        let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), &self.object.namespace().unwrap_or_default());
        let manager = export_field_manager(&uid);
        // The test makes the update atomic with the ownership check: no read, no window between them.
        let update: json_patch::Patch = serde_json::from_value(json!([
            {"op": "test", "path": format!("/metadata/labels/{}", EXPORT_OF.replace('/', "~1")), "value": uid},
            {"op": "add", "path": "/data", "value": data},
        ]))
        .expect("a well-formed JSON patch");
        let params = PatchParams { field_manager: Some(manager.clone()), ..Default::default() };
        match api.patch(config_map, &params, &Patch::<()>::Json(update)).await {
            Ok(_) => return Ok(()),
            Err(kube::Error::Api(status)) if status.code == 404 => {}
            // The test failed: the ConfigMap was not made for this object.
            Err(kube::Error::Api(status)) if status.code == 422 => return Err(ExportError::NotOurs),
            Err(error) => return Err(ExportError::Kube(error)),
        }
        let owner = OwnerReference {
            controller: Some(true),
            ..self.object.controller_owner_ref(&()).expect("a stored object has a name and a uid")
        };
        let desired = ConfigMap {
            metadata: ObjectMeta {
                name: Some(config_map.into()),
                namespace: self.object.namespace(),
                owner_references: Some(vec![owner]),
                labels: Some(BTreeMap::from([
                    ("app.kubernetes.io/managed-by".into(), FIELD_MANAGER.into()),
                    (EXPORT_OF.into(), uid),
                ])),
                ..Default::default()
            },
            data: Some(data),
            ..Default::default()
        };
        match api.create(&PostParams { field_manager: Some(manager), ..Default::default() }, &desired).await {
            Ok(_) => Ok(()),
            // Made by someone else between the two calls.
            Err(kube::Error::Api(status)) if status.code == 409 => Err(ExportError::NotOurs),
            Err(error) => Err(ExportError::Kube(error)),
        }
    }
}

/// The label on an export ConfigMap that names the UID of the object it was
/// made for; the chart's admission policy lets the operator change no other.
pub const EXPORT_OF: &str = "identitycenter.dev/export-of";

/// Each object's own server-side field manager for its export (at most 128 characters).
fn export_field_manager(uid: &str) -> String {
    format!("{FIELD_MANAGER}/{uid}")
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("the ConfigMap exists and was not made by the operator for this object")]
    NotOurs,
    #[error(transparent)]
    Kube(#[from] kube::Error),
}
