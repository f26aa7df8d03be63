//! Wires the watch to `reconcile`: one controller per watched namespace (or
//! one for all), triggered by spec changes and deletion, not by our own status writes.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::{StreamExt, future};
use kube::api::{Api, ApiResource, DynamicObject};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::store::Writer;
use kube::runtime::{PredicateConfig, WatchStreamExt, watcher};
use tokio::sync::watch;

use super::context::Context;
use super::reconcile::{Error, reconcile};
use crate::api::IdentityCenterInstance;

/// Counts the watch stores that have not listed everything yet; zero means ready.
#[derive(Clone, Default)]
pub struct Readiness(Arc<AtomicUsize>);

impl Readiness {
    pub fn is_ready(&self) -> bool {
        self.0.load(Ordering::SeqCst) == 0
    }
}

/// Reconcile again when the spec changes (generation) or deletion starts.
fn spec_or_deletion(object: &DynamicObject) -> Option<u64> {
    let mut hasher = DefaultHasher::new();
    object.metadata.generation.hash(&mut hasher);
    object.metadata.deletion_timestamp.is_some().hash(&mut hasher);
    Some(hasher.finish())
}

/// Kubernetes API failures only: AWS failures are handled inside reconcile.
fn error_policy(_: Arc<DynamicObject>, error: &Error, _: Arc<Context>) -> Action {
    tracing::warn!(%error, "reconcile failed; retrying");
    Action::requeue(Duration::from_secs(5 + rand::random::<u64>() % 10))
}

/// How long in-flight reconciles may take to finish after shutdown starts.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

/// Completes when `signal` turns true; never, if its sender is gone first.
async fn until(mut signal: watch::Receiver<bool>) {
    if signal.wait_for(|stop| *stop).await.is_err() {
        future::pending::<()>().await;
    }
}

/// Runs until `shutdown` turns true; in-flight reconciles finish first,
/// within a grace period (a watch that never synced holds nothing worth waiting for).
pub async fn run(ctx: Arc<Context>, concurrency: u16, readiness: Readiness, shutdown: watch::Receiver<bool>) {
    let resource = ApiResource::erase::<IdentityCenterInstance>(&());
    let apis: Vec<Api<DynamicObject>> = if ctx.settings.namespaces.is_empty() {
        vec![Api::all_with(ctx.client.clone(), &resource)]
    } else {
        ctx.settings.namespaces.iter().map(|ns| Api::namespaced_with(ctx.client.clone(), ns, &resource)).collect()
    };
    readiness.0.store(apis.len(), Ordering::SeqCst);
    let controllers = apis.into_iter().map(|api| {
        let writer = Writer::new(resource.clone());
        let reader = writer.as_reader();
        let pending = readiness.0.clone();
        let mut listed = false;
        let stream = watcher(api, watcher::Config::default().any_semantic())
            .default_backoff()
            .inspect(move |event| {
                if !listed && matches!(event, Ok(watcher::Event::InitDone)) {
                    listed = true;
                    pending.fetch_sub(1, Ordering::SeqCst);
                }
            })
            .reflect(writer)
            .applied_objects()
            .predicate_filter(spec_or_deletion, PredicateConfig::default());
        let shutdown_signal = until(shutdown.clone());
        Controller::for_stream_with(stream, reader, resource.clone())
            .with_config(kube::runtime::controller::Config::default().concurrency(concurrency))
            .graceful_shutdown_on(shutdown_signal)
            .run(reconcile, error_policy, ctx.clone())
            .for_each(|result| {
                if let Err(error) = result {
                    tracing::debug!(%error, "controller event");
                }
                future::ready(())
            })
    });
    let controllers: Vec<_> = controllers.collect();
    let deadline = async {
        until(shutdown).await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    tokio::select! {
        _ = future::join_all(controllers) => {}
        _ = deadline => tracing::warn!("controllers did not stop within {SHUTDOWN_GRACE:?} of shutdown; stopping anyway"),
    }
}
