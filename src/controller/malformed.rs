//! An object that does not parse (written before a schema change, or around
//! the schema) is reported on its own status; it never stops the watch.

use kube::ResourceExt;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType, Recorder};
use kube::{Resource, api::ApiResource};
use serde_json::json;

use super::cluster::FIELD_MANAGER;
use super::conditions::{Outcome, next_conditions};
use super::context::Context;
use super::reconcile::Error;
use crate::api::IdentityCenterInstance;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;

pub async fn report(
    object: &DynamicObject,
    ctx: &Context,
    recorder: Recorder,
    error: &serde_json::Error,
) -> Result<(&'static str, Action), Error> {
    let name = object.name_any();
    let namespace = object.namespace().unwrap_or_default();
    tracing::warn!(%namespace, %name, %error, "object does not match the IdentityCenterInstance schema");
    ctx.metrics.error("InvalidObject");
    let outcome = Outcome::Stalled {
        reason: "InvalidObject",
        message: format!("The object does not match the IdentityCenterInstance schema: {error}. Fix the spec."),
    };
    let generation = object.metadata.generation.unwrap_or_default();
    let previous: Vec<Condition> =
        serde_json::from_value(object.data["status"]["conditions"].clone()).unwrap_or_default();
    let conditions = next_conditions(&previous, &outcome, generation, k8s_openapi::jiff::Timestamp::now());
    let resource = ApiResource::erase::<IdentityCenterInstance>(&());
    let api: Api<DynamicObject> = Api::namespaced_with(ctx.client.clone(), &namespace, &resource);
    // A merge patch, not an apply: an apply of only these fields would drop
    // the ARN and everything else the operator recorded.
    let patch = json!({ "status": { "conditions": conditions, "observedGeneration": generation } });
    let params = PatchParams { field_manager: Some(FIELD_MANAGER.into()), ..PatchParams::default() };
    api.patch_status(&name, &params, &Patch::Merge(patch)).await?;
    let event = Event {
        type_: EventType::Warning,
        reason: outcome.reason().into(),
        note: Some(outcome.message().into()),
        action: "Parse".into(),
        secondary: None,
    };
    if let Err(error) = recorder.publish(&event, &object.object_ref(&resource)).await {
        tracing::warn!(%error, "could not publish event");
    }
    Ok(("stalled", Action::await_change()))
}
