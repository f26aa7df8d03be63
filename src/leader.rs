//! Leader election on a coordination.k8s.io Lease, so that only one replica
//! reconciles. Whoever stops renewing for a lease duration loses the lease.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{Api, ObjectMeta, PostParams};
use tokio::sync::watch;

pub const LEASE_DURATION: Duration = Duration::from_secs(15);
const RETRY_PERIOD: Duration = Duration::from_secs(2);
const RENEW_PERIOD: Duration = Duration::from_secs(5);

/// What to do with the lease as it stands.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// No lease yet: create it, holding it.
    Create,
    /// We hold it: renew.
    Renew,
    /// Its holder stopped renewing, or released it: take it over.
    TakeOver,
    /// Someone else holds it.
    Wait,
}

pub fn step(lease: Option<&LeaseSpec>, me: &str, now: Timestamp) -> Step {
    let Some(spec) = lease else { return Step::Create };
    let holder = spec.holder_identity.as_deref().unwrap_or_default();
    if holder == me {
        return Step::Renew;
    }
    let duration = SignedDuration::from_secs(spec.lease_duration_seconds.unwrap_or(0).into());
    let expired = spec.renew_time.as_ref().is_none_or(|renewed| renewed.0 + duration < now);
    if holder.is_empty() || expired { Step::TakeOver } else { Step::Wait }
}

pub struct Elector {
    api: Api<Lease>,
    name: String,
    identity: String,
}

impl Elector {
    pub fn new(client: kube::Client, namespace: &str, name: &str, identity: &str) -> Self {
        Self { api: Api::namespaced(client, namespace), name: name.into(), identity: identity.into() }
    }

    fn held(&self, previous: Option<&LeaseSpec>, transition: bool) -> LeaseSpec {
        let now = Some(MicroTime(Timestamp::now()));
        let transitions = previous.and_then(|p| p.lease_transitions).unwrap_or(0);
        LeaseSpec {
            holder_identity: Some(self.identity.clone()),
            lease_duration_seconds: Some(LEASE_DURATION.as_secs() as i32),
            acquire_time: if transition { now.clone() } else { previous.and_then(|p| p.acquire_time.clone()) },
            renew_time: now,
            lease_transitions: Some(if transition { transitions + 1 } else { transitions }),
            ..Default::default()
        }
    }

    /// One attempt to hold the lease; true when we hold it afterwards.
    async fn try_hold(&self) -> Result<bool, kube::Error> {
        let current = self.api.get_opt(&self.name).await?;
        let spec = current.as_ref().and_then(|l| l.spec.as_ref());
        let next = match step(spec, &self.identity, Timestamp::now()) {
            Step::Wait => return Ok(false),
            Step::Create => {
                let lease = Lease {
                    metadata: ObjectMeta { name: Some(self.name.clone()), ..Default::default() },
                    spec: Some(self.held(None, true)),
                };
                return self.api.create(&PostParams::default(), &lease).await.map(|_| true).or_else(conflict_is_lost);
            }
            Step::Renew => self.held(spec, false),
            Step::TakeOver => self.held(spec, true),
        };
        let mut lease = current.expect("renew and take over need a lease");
        lease.spec = Some(next);
        // replace() sends the resourceVersion we read: a concurrent writer makes it fail, not overwrite.
        self.api.replace(&self.name, &PostParams::default(), &lease).await.map(|_| true).or_else(conflict_is_lost)
    }

    /// Waits until this replica holds the lease.
    pub async fn acquire(&self) {
        tracing::info!(lease = %self.name, identity = %self.identity, "waiting for leadership");
        loop {
            match self.try_hold().await {
                Ok(true) => break,
                Ok(false) => {}
                Err(error) => tracing::warn!(%error, "leader election attempt failed"),
            }
            tokio::time::sleep(RETRY_PERIOD).await;
        }
        tracing::info!(lease = %self.name, "became leader");
    }

    /// Renews until renewal fails for longer than the lease lasts, or `stop`
    /// turns true; then returns whether leadership was lost.
    pub async fn keep(&self, mut stop: watch::Receiver<bool>) -> bool {
        let mut last_renewed = tokio::time::Instant::now();
        loop {
            tokio::select! {
                _ = stop.wait_for(|s| *s) => return false,
                _ = tokio::time::sleep(RENEW_PERIOD) => {}
            }
            match self.try_hold().await {
                Ok(true) => last_renewed = tokio::time::Instant::now(),
                Ok(false) => return true,
                Err(error) => tracing::warn!(%error, "lease renewal failed"),
            }
            if last_renewed.elapsed() > LEASE_DURATION - RETRY_PERIOD {
                return true;
            }
        }
    }

    /// Gives the lease up on shutdown, so that a standby takes over at once.
    pub async fn release(&self) {
        if let Ok(Some(mut lease)) = self.api.get_opt(&self.name).await
            && let Some(spec) = lease.spec.as_mut()
            && spec.holder_identity.as_deref() == Some(self.identity.as_str())
        {
            spec.holder_identity = None;
            spec.lease_duration_seconds = Some(1);
            if let Err(error) = self.api.replace(&self.name, &PostParams::default(), &lease).await {
                tracing::warn!(%error, "could not release the lease");
            }
        }
    }
}

fn conflict_is_lost(error: kube::Error) -> Result<bool, kube::Error> {
    match &error {
        kube::Error::Api(status) if status.code == 409 => Ok(false),
        _ => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(holder: Option<&str>, renewed_at: i64, duration: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: holder.map(Into::into),
            renew_time: Some(MicroTime(Timestamp::from_second(renewed_at).unwrap())),
            lease_duration_seconds: Some(duration),
            ..Default::default()
        }
    }

    #[test]
    fn the_lease_is_taken_only_when_free_or_expired() {
        let now = Timestamp::from_second(1_000).unwrap();
        let cases = [
            (None, Step::Create),
            (Some(lease(Some("me"), 990, 15)), Step::Renew),
            (Some(lease(Some("me"), 0, 15)), Step::Renew),
            (Some(lease(Some("other"), 990, 15)), Step::Wait),
            (Some(lease(Some("other"), 980, 15)), Step::TakeOver),
            (Some(lease(None, 999, 1)), Step::TakeOver),
            (Some(lease(Some(""), 999, 15)), Step::TakeOver),
        ];
        for (spec, want) in cases {
            assert_eq!(step(spec.as_ref(), "me", now), want, "{spec:?}");
        }
    }
}
