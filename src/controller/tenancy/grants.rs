//! The grants' side of tenancy: the watches that fill the caches of grants
//! and namespaces, the objects to look at again when they change, and the
//! grants' own status.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::{Stream, StreamExt, TryStreamExt, future};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams};
use kube::core::PartialObjectMeta;
use kube::core::Selector;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Resource, ResourceExt};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::Tenancy;
use crate::api::{IdentityCenterAccountGrant, IdentityCenterAccountGrantStatus};
use crate::controller::FIELD_MANAGER;
use crate::controller::claims::{Acting, ClaimIndex};
use crate::controller::conditions::STALLED;
use crate::controller::listing::ListHandle;
use crate::controller::reasons::Reason;
use crate::controller::watched::Watched;

/// How often the grants' status is brought up to date (written only when it changed).
const STATUS_PERIOD: Duration = Duration::from_secs(5);

/// Marks the first complete list of one tenancy watch, and tells the
/// controllers whenever admissions may have turned: after a (re)list, and
/// after a change that `matters`.
fn on_event<K>(tenancy: &Tenancy, listed: &ListHandle, event: &watcher::Event<K>, matters: bool) {
    match event {
        watcher::Event::InitDone => {
            listed.listed();
            tenancy.notify();
        }
        watcher::Event::Apply(_) | watcher::Event::Delete(_) if matters => tenancy.notify(),
        _ => {}
    }
}

/// Logs a failing tenancy watch; the watch retries with backoff.
async fn drain<T, E: std::fmt::Display>(stream: impl Stream<Item = Result<T, E>>, what: &'static str) {
    stream
        .for_each(|result| {
            if let Err(error) = result {
                tracing::error!(
                    %error,
                    "watching {what} failed; with --tenancy enforced the operator must list and watch \
                     identitycenteraccountgrants and namespaces (the chart's ClusterRole grants it)"
                );
            }
            future::ready(())
        })
        .await;
}

/// Fills the caches of grants and namespaces (metadata only) until `shutdown`.
/// Each watch marks its handle once it has listed.
pub async fn watch_grants(
    client: kube::Client,
    tenancy: Arc<Tenancy>,
    (grants_listed, namespaces_listed): (ListHandle, ListHandle),
    shutdown: CancellationToken,
) {
    let Some((grant_writer, namespace_writer)) = tenancy.take_writers() else { return };
    let grants = watcher(Api::<IdentityCenterAccountGrant>::all(client.clone()), watcher::Config::default())
        .default_backoff()
        .modify(|grant| grant.managed_fields_mut().clear())
        .reflect(grant_writer)
        .inspect_ok(|event| on_event(&tenancy, &grants_listed, event, true));
    // Only a namespace's labels matter to admission: any other change of
    // its metadata must not make every object be looked at again.
    let labels_changed = AtomicBool::new(false);
    let namespaces = watcher(Api::<PartialObjectMeta<Namespace>>::all(client), watcher::Config::default())
        .default_backoff()
        .modify(|namespace| namespace.managed_fields_mut().clear())
        .inspect_ok(|event| {
            let changed = match event {
                watcher::Event::Apply(namespace) => tenancy.labels_differ(namespace),
                _ => true,
            };
            labels_changed.store(changed, Ordering::SeqCst);
        })
        .reflect(namespace_writer)
        .inspect_ok(|event| {
            let matters = labels_changed.load(Ordering::SeqCst);
            on_event(&tenancy, &namespaces_listed, event, matters)
        });
    tokio::select! {
        _ = future::join(drain(grants, "IdentityCenterAccountGrants"), drain(namespaces, "Namespaces")) => {}
        _ = shutdown.cancelled() => {}
    }
}

/// A grant was added, removed or changed, or a namespace's labels: brings
/// the claim index in step with what tenancy now admits, and returns the
/// objects whose admission differs from what their status reports.
pub fn objects_to_recheck(tenancy: &Tenancy, claims: &ClaimIndex, objects: &Store<Watched>) -> Vec<ObjectRef<Watched>> {
    let refused_now = |object| {
        let acting = tenancy.acting(object);
        let refused = acting == Acting::Refused;
        claims.observe(object, acting);
        refused
    };
    let reported_refused = |object: &crate::api::IdentityCenterInstance| {
        object.condition(STALLED).is_some_and(|c| c.status == "True" && c.reason == Reason::NotPermitted.as_str())
    };
    let objects = objects.state();
    let turned = objects.iter().filter(|watched| match &watched.0 {
        Ok(object) => refused_now(object) != reported_refused(object),
        Err(_) => false,
    });
    turned.map(|watched| ObjectRef::from_obj(watched.as_ref())).collect()
}

/// The grant's status as it should read now. (With tenancy open the
/// operator does not watch grants, so it never writes one.)
fn status_of(grant: &IdentityCenterAccountGrant, admitted: u32, now: Timestamp) -> IdentityCenterAccountGrantStatus {
    let invalid_selector = (grant.spec.namespaces.selector.clone()).and_then(|s| Selector::try_from(s).err());
    let (ready, reason, message) = match invalid_selector {
        Some(error) => (
            "False",
            "InvalidSelector",
            format!(
                "spec.namespaces.selector selects nothing: {error}. Namespaces named in spec.namespaces.names are \
                 still granted."
            ),
        ),
        None => {
            ("True", "Enforced", "The operator admits objects of the namespaces and accounts this grant names.".into())
        }
    };
    let generation = grant.metadata.generation;
    let previous = grant.status.as_ref().and_then(|s| s.conditions.iter().find(|c| c.type_ == "Ready"));
    let last_transition_time = match previous {
        Some(previous) if previous.status == ready => previous.last_transition_time.clone(),
        _ => Time(Timestamp::from_second(now.as_second()).unwrap_or(now)),
    };
    let condition = Condition {
        type_: "Ready".into(),
        status: ready.into(),
        reason: reason.into(),
        message,
        observed_generation: generation,
        last_transition_time,
    };
    IdentityCenterAccountGrantStatus { admitted, observed_generation: generation, conditions: vec![condition] }
}

/// Keeps every grant's status (objects admitted, Ready) current until
/// `shutdown`; `objects` are the controllers' caches.
pub async fn grant_status_loop(
    client: kube::Client,
    tenancy: Arc<Tenancy>,
    objects: Vec<Store<Watched>>,
    shutdown: CancellationToken,
) {
    let mut tick = tokio::time::interval(STATUS_PERIOD);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        if !tenancy.is_listed() {
            continue;
        }
        let grants = tenancy.grants();
        let grant_refs: Vec<&IdentityCenterAccountGrant> = grants.iter().map(AsRef::as_ref).collect();
        let mut admitted: HashMap<String, u32> = HashMap::new();
        for watched in objects.iter().flat_map(Store::state) {
            if let Ok(object) = &watched.0
                && let Some(grant) = tenancy.admitting_grant(object, &grant_refs)
            {
                *admitted.entry(grant).or_default() += 1;
            }
        }
        for grant in &grants {
            let status = status_of(grant, admitted.get(&grant.name_any()).copied().unwrap_or(0), Timestamp::now());
            if grant.status.as_ref() != Some(&status) {
                write_status(&client, grant, &status).await;
            }
        }
    }
}

async fn write_status(
    client: &kube::Client,
    grant: &IdentityCenterAccountGrant,
    status: &IdentityCenterAccountGrantStatus,
) {
    let api: Api<IdentityCenterAccountGrant> = Api::all(client.clone());
    let patch = json!({
        "apiVersion": IdentityCenterAccountGrant::api_version(&()),
        "kind": IdentityCenterAccountGrant::kind(&()),
        "status": status,
    });
    let params = PatchParams::apply(FIELD_MANAGER).force();
    if let Err(error) = api.patch_status(&grant.name_any(), &params, &Patch::Apply(patch)).await {
        tracing::warn!(grant = %grant.name_any(), %error, "could not write the grant's status");
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn grant(spec: Value, status: Value) -> IdentityCenterAccountGrant {
        serde_json::from_value(json!({
            "apiVersion": "identitycenter.dev/v1alpha1", "kind": "IdentityCenterAccountGrant",
            "metadata": {"name": "team-a", "generation": 3}, "spec": spec, "status": status,
        }))
        .unwrap()
    }

    #[test]
    fn a_grant_reports_what_it_admits_and_whether_it_is_enforced() {
        let now: Timestamp = "2026-11-30T10:00:00Z".parse().unwrap();
        let valid = json!({"namespaces": {"names": ["team-a"]}, "accounts": {"operatorCredentials": true}});
        let broken = json!({
            "namespaces": {"selector": {"matchExpressions": [{"key": "a", "operator": "Sometimes"}]}},
            "accounts": {"operatorCredentials": true},
        });
        let cases = [(valid.clone(), 4, "True", "Enforced"), (broken, 0, "False", "InvalidSelector")];
        for (spec, admitted, ready, reason) in cases {
            let status = status_of(&grant(spec, Value::Null), admitted, now);
            let condition = &status.conditions[0];
            assert_eq!(
                (status.admitted, condition.status.as_str(), condition.reason.as_str()),
                (admitted, ready, reason)
            );
            assert_eq!((status.observed_generation, condition.observed_generation), (Some(3), Some(3)));
        }
        let written = status_of(&grant(valid.clone(), Value::Null), 1, now);
        let later: Timestamp = "2026-11-30T11:00:00Z".parse().unwrap();
        let again = status_of(&grant(valid, serde_json::to_value(&written).unwrap()), 2, later);
        assert_eq!(
            again.conditions[0].last_transition_time, written.conditions[0].last_transition_time,
            "no transition"
        );
    }
}
