//! Wires the watch to `reconcile`: one controller per watched namespace (or
//! one for all), triggered by spec changes and deletion, not by our own status
//! writes. The watch also keeps the claim index current.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::{Stream, StreamExt, TryStreamExt, future};
use kube::api::Api;
use kube::core::DeserializeGuard;
use kube::runtime::controller::{Action, Controller, Error as ControllerError};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{PredicateConfig, WatchStreamExt, watcher};
use kube::{Resource, ResourceExt};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use super::claims::{Acting, key_of};
use super::context::Context;
use super::reconcile::{Error, reconcile, role_of, role_ref};
use super::tenancy::{Mode as TenancyMode, grant_status_loop, objects_to_recheck, watch_grants};
use crate::api::IdentityCenterInstance;

/// What the watch delivers: an object, or the metadata of one that does not
/// match the schema, so that it can be told so on its status.
pub type Watched = DeserializeGuard<IdentityCenterInstance>;

/// Counts the watch stores that have not listed everything yet; zero means ready.
#[derive(Clone, Default)]
pub struct Readiness(Arc<AtomicUsize>);

impl Readiness {
    pub fn is_ready(&self) -> bool {
        self.0.load(Ordering::SeqCst) == 0
    }
}

/// Reconcile again when the spec changes (generation) or deletion starts.
fn spec_or_deletion(object: &Watched) -> Option<u64> {
    let mut hasher = DefaultHasher::new();
    object.meta().generation.hash(&mut hasher);
    object.meta().deletion_timestamp.is_some().hash(&mut hasher);
    Some(hasher.finish())
}

/// Kubernetes API failures only: AWS failures are handled inside reconcile.
fn error_policy(object: Arc<Watched>, error: &Error, _: Arc<Context>) -> Action {
    let (namespace, name) = (object.namespace().unwrap_or_default(), object.name_any());
    tracing::warn!(%namespace, %name, %error, "reconcile failed; retrying");
    Action::requeue(retry_delay(error, rand::random::<f64>()))
}

/// When to try again after a Kubernetes API failure; `jitter` in [0, 1).
/// A conflict only means the watch cache was behind the object: it catches
/// up within moments.
pub(super) fn retry_delay(error: &Error, jitter: f64) -> Duration {
    let conflict = matches!(error, Error::Kube(kube::Error::Api(status)) if status.code == 409);
    let (base, spread) = if conflict { (1.0, 1.0) } else { (5.0, 10.0) };
    Duration::from_secs_f64(base + spread * jitter.clamp(0.0, 1.0))
}

/// Keeps the claim index in step with one watch of `scope` ("" for all namespaces).
fn index_event(ctx: &Context, scope: &str, event: &watcher::Event<Watched>) {
    let claims = &ctx.claims;
    match event {
        watcher::Event::Init => claims.relist_started(scope),
        watcher::Event::InitDone => claims.relist_done(scope),
        watcher::Event::Apply(object) | watcher::Event::InitApply(object) => match &object.0 {
            Ok(valid) => claims.observe(valid, ctx.tenancy.acting(valid)),
            // An object that does not parse claims nothing until it is fixed.
            Err(_) => claims.forget(&key_of(object)),
        },
        watcher::Event::Delete(object) => claims.forget(&key_of(object)),
    }
}

/// An object is gone from the cluster (released by its finalizer, or deleted
/// without one): nothing is kept for it, nor for the role it acted through
/// (its own, or a grant's default) once no other managing object uses it.
pub(super) fn forget_object(ctx: &Context, object: &Watched) {
    if let Some(uid) = object.uid() {
        ctx.record_success(&uid);
        ctx.metrics.object_gone(&uid);
    }
    let Ok(valid) = &object.0 else { return };
    let role = match ctx.tenancy.acting(valid) {
        Acting::As(Some(credentials)) => Some(role_ref(&credentials)),
        Acting::As(None) | Acting::Refused => role_of(valid),
    };
    if let Some(role) = role
        && !ctx.claims.role_in_use(&role.role_arn, &key_of(valid))
    {
        ctx.sso.forget_role(&role);
    }
}

/// The objects of one cache to reconcile again because a grant or a
/// namespace changed what tenancy says about them.
fn tenancy_rechecks(ctx: Arc<Context>, cache: Store<Watched>) -> impl Stream<Item = ObjectRef<Watched>> + Send {
    let changes = ctx.tenancy.subscribe();
    let ticks = futures::stream::unfold(changes, |mut changes| async move {
        match changes.recv().await {
            Ok(()) | Err(broadcast::error::RecvError::Lagged(_)) => Some(((), changes)),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    });
    ticks.flat_map(move |()| futures::stream::iter(objects_to_recheck(&ctx, &cache)))
}

/// How long in-flight reconciles may take to finish after shutdown starts.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

/// Runs until `shutdown` is cancelled; in-flight reconciles finish first,
/// within a grace period (a watch that never synced holds nothing worth waiting for).
pub async fn run(ctx: Arc<Context>, concurrency: u16, readiness: Readiness, shutdown: CancellationToken) {
    let scopes: Vec<(String, Api<Watched>)> = if ctx.settings.namespaces.is_empty() {
        vec![(String::new(), Api::all(ctx.client.clone()))]
    } else {
        ctx.settings.namespaces.iter().map(|ns| (ns.clone(), Api::namespaced(ctx.client.clone(), ns))).collect()
    };
    let enforced = ctx.tenancy.mode() == TenancyMode::Enforced;
    // Every watch of objects, and with tenancy enforced those of grants and namespaces.
    readiness.0.store(scopes.len() + if enforced { 2 } else { 0 }, Ordering::SeqCst);
    ctx.claims.expect(scopes.iter().map(|(scope, _)| scope.clone()));
    let mut caches = Vec::new();
    let controllers = scopes.into_iter().map(|(scope, api)| {
        let (reader, writer) = reflector::store();
        caches.push(reader.clone());
        let rechecks = tenancy_rechecks(ctx.clone(), reader.clone());
        let pending = readiness.0.clone();
        let mut listed = false;
        let watched = ctx.clone();
        let stream = watcher(api, watcher::Config::default().any_semantic())
            .default_backoff()
            // The cache holds every object: keep only what reconciles read.
            .modify(|object| object.managed_fields_mut().clear())
            .inspect_ok(move |event| {
                index_event(&watched, &scope, event);
                if let watcher::Event::Delete(object) = event {
                    forget_object(&watched, object);
                }
                if !listed && matches!(event, watcher::Event::InitDone) {
                    listed = true;
                    pending.fetch_sub(1, Ordering::SeqCst);
                }
            })
            .reflect(writer)
            .applied_objects()
            .predicate_filter(spec_or_deletion, PredicateConfig::default());
        Controller::for_stream(stream, reader)
            .reconcile_on(rechecks)
            .with_config(kube::runtime::controller::Config::default().concurrency(concurrency))
            .graceful_shutdown_on(shutdown.clone().cancelled_owned())
            .run(reconcile, error_policy, ctx.clone())
            .for_each(|result| {
                match result {
                    // The watch itself failed: no object is reconciled until it works again.
                    Err(ControllerError::QueueError(error)) => tracing::error!(
                        %error,
                        "watching IdentityCenterInstances failed; is the CRD installed (kubectl apply \
                         --server-side -f crds/), and may the operator list and watch identitycenterinstances?"
                    ),
                    Err(error) => tracing::debug!(%error, "controller event"),
                    Ok(_) => {}
                }
                future::ready(())
            })
    });
    let controllers: Vec<_> = controllers.collect();
    let tenancy = async {
        if enforced {
            future::join(
                watch_grants(ctx.clone(), readiness.0.clone(), shutdown.clone()),
                grant_status_loop(ctx.clone(), caches, shutdown.clone()),
            )
            .await;
        }
    };
    let deadline = async {
        shutdown.cancelled().await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    tokio::select! {
        _ = future::join(future::join_all(controllers), tenancy) => {}
        _ = deadline => tracing::warn!("controllers did not stop within {SHUTDOWN_GRACE:?} of shutdown; stopping anyway"),
    }
}

#[cfg(test)]
mod tests {
    use kube::core::Status;

    use super::*;

    fn api_error(code: u16) -> Error {
        Error::Kube(kube::Error::Api(Box::new(Status::failure("test", "Test").with_code(code))))
    }

    #[test]
    fn a_conflict_is_retried_at_once_and_other_failures_after_a_while() {
        let cases = [(409, 0.0, 1.0), (409, 0.99, 1.99), (500, 0.0, 5.0), (403, 0.5, 10.0)];
        for (code, jitter, seconds) in cases {
            let got = retry_delay(&api_error(code), jitter).as_secs_f64();
            assert!((got - seconds).abs() < 1e-9, "{code} {jitter}: {got}");
        }
    }
}
