//! Wires the watch of IdentityCenterInstanceSets to `reconcile`: one
//! controller per watched namespace (or one for all), as the operator's
//! Roles allow. The children are the instance controller's: a set reads
//! them from its caches and is reconciled when one changes
//! (`controller::instance_caches`; the set's status write is paced:
//! `reconcile::write_status`). A set deleted (with or without its children first) is
//! forgotten from its watch's Delete event: sets carry no finalizer.

use std::sync::Arc;
use std::time::Duration;

use futures::{Stream, StreamExt, TryStreamExt, future};
use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::controller::{Action, Controller, Error as ControllerError};
use kube::runtime::reflector::{self, ObjectRef};
use kube::runtime::{WatchStreamExt, watcher};
use tokio_util::sync::CancellationToken;

use super::reconcile::{SetContext, reconcile};
use crate::api::IdentityCenterInstanceSet;
use crate::controller::leading::{everything_once_leading, while_leading};
use crate::controller::listing::Watch;
use crate::controller::{Context, Error};

/// Sets reconciled at once: each may write many children.
const CONCURRENCY: u16 = 4;

fn error_policy(set: Arc<IdentityCenterInstanceSet>, error: &Error, ctx: Arc<SetContext>) -> Action {
    let attempt = set.uid().map_or(0, |uid| ctx.shared.record_failure(&uid));
    let (namespace, name) = (set.namespace().unwrap_or_default(), set.name_any());
    tracing::warn!(%namespace, %name, %error, attempt, "set reconcile failed; retrying");
    let delay = (5.0 * 2f64.powi(attempt.min(6) as i32)).min(300.0) * (1.0 + rand::random::<f64>());
    Action::requeue(Duration::from_secs_f64(delay))
}

/// Runs until `shutdown`; reconciles only once `leading` is cancelled.
pub async fn run(ctx: Arc<Context>, shutdown: CancellationToken, leading: CancellationToken) {
    let scopes: Vec<String> = match ctx.settings.namespaces.is_empty() {
        true => vec![String::new()],
        false => ctx.settings.namespaces.clone(),
    };
    ctx.tenancy.organization().expect_listings(scopes.len());
    let controllers = scopes.into_iter().map(|scope| run_scope(ctx.clone(), scope, shutdown.clone(), leading.clone()));
    future::join_all(controllers).await;
}

/// Every set, whenever a grant, a namespace's labels or the organization's
/// view changed: a refused set may be admitted now, an admitted one refused.
/// Sets are few; each reconcile of an unchanged set costs no AWS call.
fn on_tenancy_change(
    ctx: &Context,
    sets: reflector::Store<IdentityCenterInstanceSet>,
) -> impl Stream<Item = ObjectRef<IdentityCenterInstanceSet>> + Send + use<> {
    ctx.tenancy.changes().flat_map(move |()| {
        futures::stream::iter(sets.state().iter().map(|s| ObjectRef::from_obj(s.as_ref())).collect::<Vec<_>>())
    })
}

/// The sets of one namespace ("" for all), and their children.
async fn run_scope(ctx: Arc<Context>, scope: String, shutdown: CancellationToken, leading: CancellationToken) {
    let sets_api: Api<IdentityCenterInstanceSet> = match scope.as_str() {
        "" => Api::all(ctx.client.clone()),
        namespace => Api::namespaced(ctx.client.clone(), namespace),
    };
    let namespace = scope.clone();
    let in_scope = move |set: &ObjectRef<IdentityCenterInstanceSet>| {
        namespace.is_empty() || set.namespace.as_deref() == Some(namespace.as_str())
    };
    let children_changed = ctx.instances.owners_changed().filter(move |set| future::ready(in_scope(set)));
    let children_changed = children_changed.filter(while_leading(&leading));
    let listed = ctx.listing.expect(Watch::Sets(scope.clone()));
    let set_ctx = Arc::new(SetContext::new(ctx.clone()));
    let (sets, sets_writer) = reflector::store();
    let watched = set_ctx.clone();
    let sets_stream = watcher(sets_api, watcher::Config::default().any_semantic())
        .default_backoff()
        .modify(|set| set.managed_fields_mut().clear())
        .reflect(sets_writer)
        .inspect_ok({
            let sets = sets.clone();
            let mut first_listing = true;
            move |event| match event {
                watcher::Event::InitDone => {
                    let uids: Vec<String> = sets.state().iter().filter_map(|s| s.uid()).collect();
                    watched.forget_all_but(&uids);
                    if std::mem::take(&mut first_listing) {
                        watched.shared.tenancy.organization().expect_reads(uids);
                        watched.shared.tenancy.organization_changed();
                        listed.listed();
                    }
                }
                watcher::Event::Delete(set) => watched.forget(&set.uid().unwrap_or_default()),
                _ => {}
            }
        })
        .touched_objects()
        .try_filter(while_leading(&leading));
    let takeover = everything_once_leading(leading.clone(), sets.clone());
    let rechecks = on_tenancy_change(&ctx, sets.clone()).filter(while_leading(&leading));
    // No debounce: kube's resets its timer on every trigger, and the
    // children of a rollout change without pause, so the set would wait
    // until the rollout ends. Triggers that come while a set reconciles
    // make one more reconcile after it; its status write is paced instead.
    let config = kube::runtime::controller::Config::default().concurrency(CONCURRENCY);
    Controller::for_stream(sets_stream, sets)
        .reconcile_on(children_changed)
        .reconcile_on(takeover)
        .reconcile_on(rechecks)
        .with_config(config)
        .graceful_shutdown_on(shutdown.cancelled_owned())
        .run(reconcile, error_policy, set_ctx)
        .for_each(|result| {
            if let Err(ControllerError::QueueError(error)) = result {
                tracing::error!(
                    %error,
                    "watching IdentityCenterInstanceSets failed; is the CRD installed (kubectl apply --server-side \
                     -f crds/), and may the operator list and watch identitycenterinstancesets?"
                );
            }
            future::ready(())
        })
        .await;
}
