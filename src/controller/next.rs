//! What a reconcile hands back to the controller runtime: when to look at
//! the object again, or the Kubernetes failure that stopped it.

use std::time::Duration;

use kube::runtime::controller::Action;

/// Only the Kubernetes API can fail a reconcile: everything from AWS is
/// classified and reported in the conditions instead.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Kubernetes API call failed: {0}")]
    Kube(#[from] kube::Error),
}

/// When to look at the object again. It becomes kube's `Action`, which
/// cannot be read back; tests read this instead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Next(Option<Duration>);

impl Next {
    pub fn after(delay: Duration) -> Self {
        Self(Some(delay))
    }

    pub fn on_change() -> Self {
        Self(None)
    }

    /// The delay before the next look; None waits for a change of the object.
    pub fn delay(&self) -> Option<Duration> {
        self.0
    }
}

impl From<Next> for Action {
    fn from(next: Next) -> Self {
        match next.0 {
            Some(delay) => Action::requeue(delay),
            None => Action::await_change(),
        }
    }
}
