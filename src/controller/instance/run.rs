//! Wires the watch to `reconcile`: one controller per watched namespace (or
//! one for all), triggered by spec changes and deletion, not by our own status
//! writes (`triggers.rs`). The watch also keeps what is held per object
//! current (`index.rs`).

use std::sync::Arc;
use std::time::Duration;

use futures::{Stream, StreamExt, TryStreamExt, future};
use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::controller::{Action, Controller, Error as ControllerError};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use tokio_util::sync::CancellationToken;

use super::index::WatchIndex;
use super::reconcile::reconcile;
use super::triggers::Triggers;
use crate::controller::context::Context;
use crate::controller::leading::{everything_once_leading, while_leading};
use crate::controller::listing::{ListHandle, Watch};
use crate::controller::next::Error;
use crate::controller::tenancy::{Mode as TenancyMode, grant_status_loop, objects_to_recheck, watch_grants};
use crate::controller::watched::{Watched, keep_what_is_read};

/// Kubernetes API failures only: AWS failures are handled inside reconcile.
fn error_policy(object: Arc<Watched>, error: &Error, ctx: Arc<Context>) -> Action {
    let (namespace, name) = (object.namespace().unwrap_or_default(), object.name_any());
    let attempt = object.uid().map_or(0, |uid| ctx.record_failure(&uid));
    tracing::warn!(%namespace, %name, %error, attempt, "reconcile failed; retrying");
    Action::requeue(retry_delay(error, attempt, rand::random::<f64>()))
}

/// When to try again after Kubernetes API failure number `attempt` (0-based)
/// in a row; `jitter` in [0, 1). A conflict usually means only that the watch
/// cache was behind the object, which catches up within moments; conflicts
/// again and again mean someone keeps changing it (a tenant churning
/// annotations), so the delay doubles, as for other failures.
pub(super) fn retry_delay(error: &Error, attempt: u32, jitter: f64) -> Duration {
    let conflict = matches!(error, Error::Kube(kube::Error::Api(status)) if status.code == 409);
    let (base, cap) = if conflict { (1.0, 60.0) } else { (5.0, 300.0) };
    let delay = (base * 2f64.powi(attempt.min(16) as i32)).min(cap);
    Duration::from_secs_f64(delay * (1.0 + jitter.clamp(0.0, 1.0)))
}

/// The objects of one cache to reconcile again because a grant or a
/// namespace changed what tenancy says about them.
fn tenancy_rechecks(ctx: Arc<Context>, cache: Store<Watched>) -> impl Stream<Item = ObjectRef<Watched>> + Send {
    let changes = ctx.tenancy.changes();
    changes.flat_map(move |()| futures::stream::iter(objects_to_recheck(&ctx.tenancy, &ctx.claims, &cache)))
}

/// How long in-flight reconciles may take to finish after shutdown starts.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

/// Runs until `shutdown` is cancelled; in-flight reconciles finish first,
/// within a grace period (a watch that never synced holds nothing worth
/// waiting for). The watches, their caches and tenancy run from the start;
/// nothing is reconciled, and no grant status written, before `leading` is
/// cancelled.
pub async fn run(ctx: Arc<Context>, shutdown: CancellationToken, leading: CancellationToken) {
    let concurrency = ctx.settings.concurrency;
    let scopes: Vec<(String, Api<Watched>)> = if ctx.settings.namespaces.is_empty() {
        vec![(String::new(), Api::all(ctx.client.clone()))]
    } else {
        ctx.settings.namespaces.iter().map(|ns| (ns.clone(), Api::namespaced(ctx.client.clone(), ns))).collect()
    };
    let enforced = ctx.tenancy.mode() == TenancyMode::Enforced;
    // Every watch is expected before any starts, so that none is ready while another has not begun.
    let listed: Vec<ListHandle> =
        scopes.iter().map(|(scope, _)| ctx.listing.expect(Watch::Objects(scope.clone()))).collect();
    let tenancy_listed = enforced.then(|| (ctx.listing.expect(Watch::Grants), ctx.listing.expect(Watch::Namespaces)));
    let mut caches = Vec::new();
    let controllers = scopes.into_iter().zip(listed).map(|((scope, api), listed)| {
        let (reader, writer) = reflector::store();
        caches.push(reader.clone());
        let rechecks = tenancy_rechecks(ctx.clone(), reader.clone()).filter(while_leading(&leading));
        let takeover = everything_once_leading(leading.clone(), reader.clone());
        let watched = ctx.clone();
        ctx.instances.register(&scope, reader.clone());
        let children_of_sets = ctx.clone();
        let mut index = WatchIndex::new(scope, reader.clone());
        let mut triggers = Triggers::default();
        let stream = watcher(api, watcher::Config::default().any_semantic())
            .default_backoff()
            // The cache holds every object, refused ones too: keep only what reconciles read.
            .modify(keep_what_is_read)
            .inspect_ok(move |event| {
                index.event(&watched, event);
                if matches!(event, watcher::Event::InitDone) {
                    listed.listed();
                }
            })
            .reflect(writer)
            .inspect_ok(move |event| children_of_sets.instances.watched(event))
            .try_filter_map(move |event| future::ready(Ok(triggers.event(event))))
            .try_filter(while_leading(&leading));
        Controller::for_stream(stream, reader)
            .reconcile_on(rechecks)
            .reconcile_on(takeover)
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
        if let Some(listed) = tenancy_listed {
            let statuses = async {
                tokio::select! {
                    _ = leading.cancelled() => {}
                    _ = shutdown.cancelled() => return,
                }
                grant_status_loop(ctx.client.clone(), ctx.tenancy.clone(), caches, shutdown.clone()).await;
            };
            future::join(watch_grants(ctx.client.clone(), ctx.tenancy.clone(), listed, shutdown.clone()), statuses)
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
    fn a_conflict_is_retried_at_once_then_ever_later_and_other_failures_after_a_while() {
        let cases = [
            (409, 0, 0.0, 1.0),
            (409, 0, 0.99, 1.99),
            (409, 3, 0.0, 8.0),
            (409, 10, 0.0, 60.0),
            (500, 0, 0.0, 5.0),
            (403, 0, 0.5, 7.5),
            (500, 20, 0.0, 300.0),
        ];
        for (code, attempt, jitter, seconds) in cases {
            let got = retry_delay(&api_error(code), attempt, jitter).as_secs_f64();
            assert!((got - seconds).abs() < 1e-9, "{code} #{attempt} {jitter}: {got}");
        }
    }
}
