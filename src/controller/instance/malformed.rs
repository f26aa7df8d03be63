//! An object that does not parse (written before a schema change, or around
//! the schema) is reported on its own status; it never stops the watch.

use k8s_openapi::api::core::v1::ObjectReference;
use kube::Resource;
use kube::api::{Api, Patch, PatchParams};
use kube::core::error_boundary::InvalidObject;
use kube::runtime::events::{Event, EventType, Recorder};
use serde_json::json;

use crate::api::IdentityCenterInstance;
use crate::controller::FIELD_MANAGER;
use crate::controller::conditions::{Outcome, Reason, next_conditions};
use crate::controller::context::Context;
use crate::controller::next::{Error, Next};
use crate::controller::watched::Watched;

pub async fn report(invalid: &InvalidObject, ctx: &Context, recorder: Recorder) -> Result<(&'static str, Next), Error> {
    let error = &invalid.error;
    let name = invalid.metadata.name.clone().unwrap_or_default();
    let namespace = invalid.metadata.namespace.clone().unwrap_or_default();
    tracing::warn!(%namespace, %name, %error, "object does not match the IdentityCenterInstance schema");
    ctx.metrics.error(Reason::InvalidObject.as_str());
    let outcome = Outcome::Stalled {
        reason: Reason::InvalidObject,
        message: format!("The object does not match the IdentityCenterInstance schema: {error}. Fix the spec."),
    };
    let generation = invalid.metadata.generation.unwrap_or_default();
    // Only the metadata of an invalid object is known; it is reported once
    // per change, so its conditions start afresh.
    let conditions = next_conditions(&[], &outcome, generation, k8s_openapi::jiff::Timestamp::now());
    let api: Api<Watched> = Api::namespaced(ctx.client.clone(), &namespace);
    // A merge patch, not an apply: an apply of only these fields would drop
    // the ARN and everything else the operator recorded.
    let patch = json!({ "status": { "conditions": conditions, "observedGeneration": generation } });
    let params = PatchParams { field_manager: Some(FIELD_MANAGER.into()), ..PatchParams::default() };
    api.patch_status(&name, &params, &Patch::Merge(patch)).await?;
    let event = Event {
        type_: EventType::Warning,
        reason: outcome.reason().to_string(),
        note: Some(outcome.message().into()),
        action: "Parse".into(),
        secondary: None,
    };
    let reference = ObjectReference {
        api_version: Some(IdentityCenterInstance::api_version(&()).into()),
        kind: Some(IdentityCenterInstance::kind(&()).into()),
        name: Some(name),
        namespace: Some(namespace),
        uid: invalid.metadata.uid.clone(),
        ..Default::default()
    };
    if let Err(error) = recorder.publish(&event, &reference).await {
        tracing::warn!(%error, "could not publish event");
    }
    Ok(("stalled", Next::on_change()))
}
