//! The Kubernetes writes of a set: its children (create, write from the
//! template, let go), its status and its events. Every change of an
//! existing child is conditional on the version the watch cache showed.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use kube::core::ObjectMeta;
use kube::runtime::events::{Event, EventType, Recorder};
use kube::{Resource, ResourceExt};
use serde_json::{Value, json};

use super::render::child_name;
use crate::api::{
    ACCOUNT_LABEL, DeletionPolicy, FINALIZER, IdentityCenterInstance, IdentityCenterInstanceSet,
    IdentityCenterInstanceSetStatus, IdentityCenterInstanceSpec, SET_LABEL, TEMPLATE_HASH,
};
use crate::controller::FIELD_MANAGER;

/// The writes for one set.
pub struct SetWrites {
    children: Api<IdentityCenterInstance>,
    sets: Api<IdentityCenterInstanceSet>,
    recorder: Recorder,
    set: IdentityCenterInstanceSet,
    hash: String,
}

/// The JSON merge patch (RFC 7386) that turns `current` into `desired`:
/// every field of `desired`, and null for every field only `current` has,
/// in nested maps too (a tag added by hand goes).
fn merge_patch(current: &Value, desired: &Value) -> Value {
    match (current, desired) {
        (Value::Object(current), Value::Object(desired)) => {
            let mut patch = serde_json::Map::new();
            for (key, value) in desired {
                let changed = current.get(key) != Some(value);
                if changed {
                    patch.insert(key.clone(), merge_patch(current.get(key).unwrap_or(&Value::Null), value));
                }
            }
            for key in current.keys().filter(|key| !desired.contains_key(*key)) {
                patch.insert(key.clone(), Value::Null);
            }
            Value::Object(patch)
        }
        _ => desired.clone(),
    }
}

impl SetWrites {
    pub fn new(client: kube::Client, recorder: Recorder, set: IdentityCenterInstanceSet, hash: String) -> Self {
        let namespace = set.namespace().unwrap_or_default();
        Self {
            children: Api::namespaced(client.clone(), &namespace),
            sets: Api::namespaced(client, &namespace),
            recorder,
            set,
            hash,
        }
    }

    /// Makes the child of `account_id`, owned by the set: the API server
    /// deletes it when the set goes (owner garbage collection). It carries
    /// the instance controller's finalizer from the start, which saves
    /// that controller a write per child.
    pub async fn create(&self, account_id: &str, spec: &IdentityCenterInstanceSpec) -> Result<(), kube::Error> {
        let owner = OwnerReference {
            controller: Some(true),
            block_owner_deletion: Some(true),
            ..self.set.controller_owner_ref(&()).expect("a stored set has a name and a uid")
        };
        let child = IdentityCenterInstance {
            metadata: ObjectMeta {
                name: Some(child_name(&self.set.name_any(), account_id)),
                namespace: self.set.namespace(),
                owner_references: Some(vec![owner]),
                labels: Some(BTreeMap::from([
                    (SET_LABEL.into(), self.set.name_any()),
                    (ACCOUNT_LABEL.into(), account_id.into()),
                    ("app.kubernetes.io/managed-by".into(), FIELD_MANAGER.into()),
                ])),
                annotations: Some(BTreeMap::from([(TEMPLATE_HASH.into(), self.hash.clone())])),
                finalizers: Some(vec![FINALIZER.into()]),
                ..ObjectMeta::default()
            },
            spec: spec.clone(),
            status: None,
        };
        let params = PostParams { field_manager: Some(FIELD_MANAGER.into()), ..PostParams::default() };
        self.children.create(&params, &child).await.map(|_| ())
    }

    /// Writes `child` from the current template: its spec becomes exactly `spec`.
    pub async fn rewrite(
        &self,
        child: &IdentityCenterInstance,
        spec: &IdentityCenterInstanceSpec,
    ) -> Result<(), kube::Error> {
        let current = serde_json::to_value(&child.spec).expect("a spec serializes");
        let desired = serde_json::to_value(spec).expect("a spec serializes");
        let patch = json!({
            "metadata": {
                "resourceVersion": child.resource_version(),
                "annotations": { TEMPLATE_HASH: self.hash },
            },
            "spec": merge_patch(&current, &desired),
        });
        self.patch(child, patch).await
    }

    /// Lets `child` go: with `retain`, its deletionPolicy becomes Retain
    /// first, so that its instance stays in AWS.
    pub async fn release(&self, child: &IdentityCenterInstance, retain: bool) -> Result<(), kube::Error> {
        if retain && child.spec.deletion_policy != DeletionPolicy::Retain {
            let patch = json!({
                "metadata": { "resourceVersion": child.resource_version() },
                "spec": { "deletionPolicy": DeletionPolicy::Retain },
            });
            self.patch(child, patch).await?;
        }
        let preconditions = Preconditions { uid: child.uid(), resource_version: None };
        let params = DeleteParams { preconditions: Some(preconditions), ..DeleteParams::background() };
        match self.children.delete(&child.name_any(), &params).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
            Err(error) => Err(error),
        }
    }

    async fn patch(&self, child: &IdentityCenterInstance, patch: Value) -> Result<(), kube::Error> {
        let params = PatchParams { field_manager: Some(FIELD_MANAGER.into()), ..PatchParams::default() };
        self.children.patch(&child.name_any(), &params, &Patch::Merge(patch)).await.map(|_| ())
    }

    /// Writes the set's whole status by server-side apply.
    pub async fn write_status(&self, status: &IdentityCenterInstanceSetStatus) -> Result<(), kube::Error> {
        let patch = json!({
            "apiVersion": IdentityCenterInstanceSet::api_version(&()),
            "kind": IdentityCenterInstanceSet::kind(&()),
            "status": status,
        });
        let params = PatchParams::apply(FIELD_MANAGER).force();
        self.sets.patch_status(&self.set.name_any(), &params, &Patch::Apply(patch)).await.map(|_| ())
    }

    /// Publishes an event on the set; a failure is logged, never fatal.
    pub async fn event(&self, type_: EventType, action: &str, reason: &str, note: String) {
        let event = Event { type_, reason: reason.into(), note: Some(note), action: action.into(), secondary: None };
        if let Err(error) = self.recorder.publish(&event, &self.set.object_ref(&())).await {
            tracing::warn!(%error, reason, set = %self.set.name_any(), "could not publish event");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_patch_sets_what_the_template_says_and_removes_what_it_does_not() {
        let cases = [
            (json!({"name": "a"}), json!({"name": "a"}), json!({})),
            (json!({"name": "hand"}), json!({"name": "a"}), json!({"name": "a"})),
            (
                json!({"name": "a", "network": {"vpceAccessRequired": true}}),
                json!({"name": "a"}),
                json!({"network": null}),
            ),
            (
                json!({"tags": {"team": "a", "added": "by hand"}}),
                json!({"tags": {"team": "a"}}),
                json!({"tags": {"added": null}}),
            ),
            (
                json!({"accessControlAttributes": [1, 2]}),
                json!({"accessControlAttributes": [1]}),
                json!({"accessControlAttributes": [1]}),
            ),
        ];
        for (current, desired, want) in cases {
            assert_eq!(merge_patch(&current, &desired), want, "{current} -> {desired}");
        }
    }
}
