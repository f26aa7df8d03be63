//! Wires the watch of IdentityCenterInstanceSets, and of their children
//! (IdentityCenterInstances labelled with a set), to `reconcile`. A child's
//! change reconciles its owner, debounced so that a rollout of thousands
//! of children rewrites the set's status a few times a second at most.

use std::sync::Arc;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt, future};
use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::controller::{Action, Controller, Error as ControllerError};
use kube::runtime::reflector;
use kube::runtime::{WatchStreamExt, watcher};
use tokio_util::sync::CancellationToken;

use super::reconcile::{SetContext, reconcile};
use crate::api::{IdentityCenterInstanceSet, SET_LABEL};
use crate::controller::leading::{everything_once_leading, while_leading};
use crate::controller::listing::Watch;
use crate::controller::watched::keep_what_is_read;
use crate::controller::{Context, Error, Watched};

/// How long a set waits for more changes of its children before it reconciles.
const DEBOUNCE: Duration = Duration::from_secs(1);
/// Sets reconciled at once: each may write many children.
const CONCURRENCY: u16 = 4;

fn error_policy(set: Arc<IdentityCenterInstanceSet>, error: &Error, ctx: Arc<SetContext>) -> Action {
    let attempt = set.uid().map_or(0, |uid| ctx.shared.record_failure(&uid));
    tracing::warn!(namespace = %set.namespace().unwrap_or_default(), name = %set.name_any(), %error, attempt, "set reconcile failed; retrying");
    let delay = (5.0 * 2f64.powi(attempt.min(6) as i32)).min(300.0) * (1.0 + rand::random::<f64>());
    Action::requeue(Duration::from_secs_f64(delay))
}

/// Runs until `shutdown`; reconciles only once `leading` is cancelled.
pub async fn run(ctx: Arc<Context>, shutdown: CancellationToken, leading: CancellationToken) {
    let (sets_api, children_api): (Api<IdentityCenterInstanceSet>, Api<Watched>) =
        match ctx.settings.namespaces.as_slice() {
            // One namespace is watched namespaced; several, or all, cluster-wide (filtered below).
            [namespace] => {
                (Api::namespaced(ctx.client.clone(), namespace), Api::namespaced(ctx.client.clone(), namespace))
            }
            _ => (Api::all(ctx.client.clone()), Api::all(ctx.client.clone())),
        };
    let watched_namespaces = ctx.settings.namespaces.clone();
    let in_scope = move |namespace: Option<String>| {
        watched_namespaces.is_empty() || namespace.is_some_and(|ns| watched_namespaces.contains(&ns))
    };
    let sets_listed = ctx.listing.expect(Watch::Sets);
    let (children, children_writer) = reflector::store();
    let children_stream = watcher(children_api, watcher::Config::default().labels(SET_LABEL).any_semantic())
        .default_backoff()
        .modify(keep_what_is_read)
        .reflect(children_writer)
        .touched_objects()
        .try_filter(while_leading(&leading));
    let (sets, sets_writer) = reflector::store();
    let view = ctx.clone();
    let set_scope = in_scope.clone();
    let sets_stream = watcher(sets_api, watcher::Config::default().any_semantic())
        .default_backoff()
        .modify(|set| set.managed_fields_mut().clear())
        .reflect(sets_writer)
        .inspect_ok({
            let sets = sets.clone();
            move |event| {
                if matches!(event, watcher::Event::InitDone) {
                    let uids: Vec<String> = sets.state().iter().filter_map(|s| s.uid()).collect();
                    view.tenancy.organization().expect_reads(uids);
                    view.tenancy.organization_changed();
                    sets_listed.listed();
                }
            }
        })
        .touched_objects()
        .try_filter(move |set| future::ready(set_scope(set.namespace())))
        .try_filter(while_leading(&leading));
    let set_ctx = Arc::new(SetContext::new(ctx.clone(), children));
    let takeover = everything_once_leading(leading.clone(), sets.clone());
    let config = kube::runtime::controller::Config::default().concurrency(CONCURRENCY).debounce(DEBOUNCE);
    Controller::for_stream(sets_stream, sets)
        .owns_stream(children_stream.try_filter(move |child| future::ready(in_scope(child.namespace()))))
        .reconcile_on(takeover)
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
