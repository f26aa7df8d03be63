//! One operator process from start to stop: the controllers start at once,
//! so that a standby's caches are warm when it takes over, and act only once
//! this replica leads; on shutdown they finish under the lease, which is
//! then given up so that a standby takes over at once.

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use crate::leader::Elector;
use crate::metrics::Metrics;

/// The leader lease, as the process needs it.
#[async_trait]
pub trait Lease: Send + Sync {
    /// Waits until this replica holds the lease.
    async fn acquire(&self);
    /// Renews until `stop` is cancelled (false) or the lease is lost (true).
    async fn keep(&self, stop: &CancellationToken) -> bool;
    /// Gives the lease up.
    async fn release(&self);
}

#[async_trait]
impl Lease for Elector {
    async fn acquire(&self) {
        Elector::acquire(self).await;
    }

    async fn keep(&self, stop: &CancellationToken) -> bool {
        Elector::keep(self, stop).await
    }

    async fn release(&self) {
        Elector::release(self).await;
    }
}

/// Why the process stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stopped {
    /// SIGTERM or Ctrl-C: a clean stop.
    Shutdown,
    /// Another replica took the lease, or no renewal succeeded in time: this
    /// one wrote nothing more, and exits with an error.
    LostLeadership,
}

/// Runs the controllers until `shutdown`, leading as `lease` allows (None:
/// the only replica, leading from the start). `controllers` gets the token
/// that is cancelled once this replica leads; before that it may watch, and
/// must not act. A lost lease cancels `shutdown`.
pub async fn run<F>(
    lease: Option<&dyn Lease>,
    shutdown: CancellationToken,
    metrics: &Metrics,
    controllers: impl FnOnce(CancellationToken) -> F,
) -> Stopped
where
    F: Future<Output = ()>,
{
    let leading = CancellationToken::new();
    let controllers_stopped = CancellationToken::new();
    let controllers = controllers(leading.clone());
    let run_controllers = async {
        controllers.await;
        controllers_stopped.cancel();
    };
    let lead = async {
        if let Some(lease) = lease {
            tokio::select! {
                _ = lease.acquire() => {}
                _ = shutdown.cancelled() => return Stopped::Shutdown,
            }
        }
        leading.cancel();
        metrics.set_leader(true);
        // Renewed until the controllers have stopped, so that in-flight
        // reconciles finish under the lease after a SIGTERM.
        let lost = match lease {
            Some(lease) => lease.keep(&controllers_stopped).await,
            None => false,
        };
        if !lost {
            return Stopped::Shutdown;
        }
        metrics.set_leader(false);
        tracing::error!("lost leadership; writing nothing more and stopping");
        shutdown.cancel();
        Stopped::LostLeadership
    };
    let ((), stopped) = tokio::join!(run_controllers, lead);
    metrics.set_leader(false);
    if let Some(lease) = lease
        && leading.is_cancelled()
        && stopped == Stopped::Shutdown
    {
        lease.release().await;
    }
    shutdown.cancel();
    stopped
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use super::*;

    /// A lease that is granted when `grant` is cancelled and lost when `lose` is.
    #[derive(Default)]
    struct FakeLease {
        grant: CancellationToken,
        lose: CancellationToken,
        journal: Journal,
    }

    #[derive(Clone, Default)]
    struct Journal(Arc<Mutex<Vec<&'static str>>>);

    impl Journal {
        fn push(&self, entry: &'static str) {
            self.0.lock().unwrap().push(entry);
        }

        fn entries(&self) -> Vec<&'static str> {
            self.0.lock().unwrap().clone()
        }
    }

    #[async_trait]
    impl Lease for FakeLease {
        async fn acquire(&self) {
            self.grant.cancelled().await;
            self.journal.push("acquired");
        }

        async fn keep(&self, stop: &CancellationToken) -> bool {
            tokio::select! {
                _ = stop.cancelled() => false,
                _ = self.lose.cancelled() => true,
            }
        }

        async fn release(&self) {
            self.journal.push("released");
        }
    }

    /// Controllers that note when they start, when they may act, and when
    /// they have stopped (after the shutdown token, as the real ones do).
    fn controllers(
        journal: Journal,
        shutdown: CancellationToken,
    ) -> impl FnOnce(CancellationToken) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> {
        move |leading| {
            journal.push("watching");
            Box::pin(async move {
                tokio::select! {
                    _ = leading.cancelled() => journal.push("acting"),
                    _ = shutdown.cancelled() => {}
                }
                shutdown.cancelled().await;
                tokio::time::sleep(Duration::from_millis(50)).await;
                journal.push("controllers stopped");
            })
        }
    }

    #[tokio::test]
    async fn the_only_replica_acts_at_once_and_stops_on_shutdown() {
        let (journal, shutdown) = (Journal::default(), CancellationToken::new());
        let stop = shutdown.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            stop.cancel();
        });
        let metrics = Metrics::default();
        let stopped = run(None, shutdown.clone(), &metrics, controllers(journal.clone(), shutdown)).await;
        assert_eq!(stopped, Stopped::Shutdown);
        assert_eq!(journal.entries(), ["watching", "acting", "controllers stopped"]);
    }

    #[tokio::test]
    async fn a_standby_watches_before_it_leads_and_acts_only_once_it_does() {
        let lease = FakeLease::default();
        let shutdown = CancellationToken::new();
        let metrics = Metrics::default();
        let journal = lease.journal.clone();
        let running = run(Some(&lease), shutdown.clone(), &metrics, controllers(journal.clone(), shutdown.clone()));
        let steps = async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            assert_eq!(journal.entries(), ["watching"], "a standby keeps its caches warm and does nothing else");
            lease.grant.cancel();
            tokio::time::sleep(Duration::from_millis(20)).await;
            shutdown.cancel();
        };
        let (stopped, ()) = tokio::join!(running, steps);
        assert_eq!(stopped, Stopped::Shutdown);
        let released_after_stop = ["watching", "acquired", "acting", "controllers stopped", "released"];
        assert_eq!(journal.entries(), released_after_stop, "in-flight reconciles finish under the lease");
    }

    #[tokio::test]
    async fn a_standby_shut_down_before_it_leads_neither_acts_nor_releases() {
        let lease = FakeLease::default();
        let shutdown = CancellationToken::new();
        let metrics = Metrics::default();
        let journal = lease.journal.clone();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            stop.cancel();
        });
        let stopped = run(Some(&lease), shutdown.clone(), &metrics, controllers(journal.clone(), shutdown)).await;
        assert_eq!(stopped, Stopped::Shutdown);
        assert_eq!(journal.entries(), ["watching", "controllers stopped"]);
    }

    #[tokio::test]
    async fn a_lost_lease_stops_everything_and_is_not_released() {
        let lease = FakeLease::default();
        lease.grant.cancel();
        let shutdown = CancellationToken::new();
        let metrics = Metrics::default();
        let journal = lease.journal.clone();
        let lose = lease.lose.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            lose.cancel();
        });
        let stopped =
            run(Some(&lease), shutdown.clone(), &metrics, controllers(journal.clone(), shutdown.clone())).await;
        assert_eq!(stopped, Stopped::LostLeadership);
        assert!(shutdown.is_cancelled(), "the lost lease cancelled the shutdown token");
        assert_eq!(journal.entries(), ["watching", "acquired", "acting", "controllers stopped"]);
        assert!(metrics.render().contains("\nidentity_center_operator_leader 0\n"), "{}", metrics.render());
    }
}
