//! Leader election on a coordination.k8s.io Lease, so that only one replica
//! reconciles, and a fence, so that a replica that lost the lease writes
//! nothing.
//!
//! Expiry is judged as client-go judges it: by how long the lease record has
//! been unchanged on this process's monotonic clock, never by comparing the
//! holder's renewTime with the local wall clock, so clock skew between nodes
//! does not matter. A leader stops writing [`RENEW_DEADLINE`] after the start
//! of its last successful renewal; a standby takes over only after the record
//! stood still for a whole [`LEASE_DURATION`], which starts after that
//! renewal was written. The gap between the two covers a request that was
//! already on its way.
//!
//! kube-leader-election (kube 4) and kubert's lease (kube 1.1) do not build
//! against kube 5, hence this module.

mod fence;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, ObjectMeta, PostParams};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub use fence::FenceLayer;

pub const LEASE_DURATION: Duration = Duration::from_secs(15);
/// How long after the start of its last successful renewal a leader may write.
pub const RENEW_DEADLINE: Duration = Duration::from_secs(10);
const RETRY_PERIOD: Duration = Duration::from_secs(2);

/// Whether this process may write to AWS and Kubernetes now. Cheap to clone;
/// every clone sees the same lease.
#[derive(Clone, Debug)]
pub struct Leadership(Option<Arc<Mutex<Option<Instant>>>>);

/// A write refused because this replica's lease is not current.
#[derive(Debug, thiserror::Error)]
#[error("not sent: this replica does not hold a current leader lease")]
pub struct NotLeader;

impl Leadership {
    /// Without leader election (one replica): always allowed.
    pub fn unconditional() -> Self {
        Self(None)
    }

    /// With leader election: allowed only while a renewal is fresh.
    pub fn elected() -> Self {
        Self(Some(Arc::default()))
    }

    pub fn is_current(&self) -> bool {
        match &self.0 {
            None => true,
            Some(until) => until.lock().expect("never poisoned").is_some_and(|until| Instant::now() < until),
        }
    }

    /// The fence every write passes first.
    pub fn check(&self) -> Result<(), NotLeader> {
        if self.is_current() { Ok(()) } else { Err(NotLeader) }
    }

    /// A renewal that started at `attempt_started` succeeded.
    fn renewed(&self, attempt_started: Instant) {
        if let Some(until) = &self.0 {
            *until.lock().expect("never poisoned") = Some(attempt_started + RENEW_DEADLINE);
        }
    }

    fn lost(&self) {
        if let Some(until) = &self.0 {
            *until.lock().expect("never poisoned") = None;
        }
    }
}

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

/// `unchanged_for`: how long this process has seen the record unchanged.
pub fn step(lease: Option<&LeaseSpec>, me: &str, unchanged_for: Duration) -> Step {
    let Some(spec) = lease else { return Step::Create };
    let holder = spec.holder_identity.as_deref().unwrap_or_default();
    if holder == me {
        return Step::Renew;
    }
    let duration = Duration::from_secs(spec.lease_duration_seconds.unwrap_or(0).max(0) as u64);
    if holder.is_empty() || unchanged_for >= duration { Step::TakeOver } else { Step::Wait }
}

/// The lease record as this process last saw it, and when that record
/// appeared, on the monotonic clock.
#[derive(Debug)]
struct Observed {
    record: Option<LeaseSpec>,
    since: Instant,
}

impl Observed {
    /// Notes the record read at `now`; returns how long it has been unchanged.
    fn observe(&mut self, record: Option<&LeaseSpec>, now: Instant) -> Duration {
        if self.record.as_ref() != record {
            self.record = record.cloned();
            self.since = now;
        }
        now - self.since
    }
}

pub struct Elector {
    api: Api<Lease>,
    name: String,
    identity: String,
    leadership: Leadership,
    observed: Mutex<Observed>,
}

impl Elector {
    /// `client` must not be fenced by `leadership`: renewing is how it stays current.
    pub fn new(client: kube::Client, namespace: &str, name: &str, identity: &str, leadership: Leadership) -> Self {
        Self {
            api: Api::namespaced(client, namespace),
            name: name.into(),
            identity: identity.into(),
            leadership,
            observed: Mutex::new(Observed { record: None, since: Instant::now() }),
        }
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
        let unchanged_for = self.observed.lock().expect("never poisoned").observe(spec, Instant::now());
        let next = match step(spec, &self.identity, unchanged_for) {
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

    /// One attempt, bounded in time, that keeps the fence in step with its result.
    async fn attempt(&self) -> Result<bool, kube::Error> {
        let started = Instant::now();
        let held = match tokio::time::timeout(RETRY_PERIOD * 2, self.try_hold()).await {
            Ok(result) => result?,
            Err(_) => return Ok(self.leadership.is_current()),
        };
        if held {
            self.leadership.renewed(started);
        }
        Ok(held)
    }

    /// Waits until this replica holds the lease.
    pub async fn acquire(&self) {
        tracing::info!(lease = %self.name, identity = %self.identity, "waiting for leadership");
        loop {
            match self.attempt().await {
                Ok(true) => break,
                Ok(false) => {}
                Err(error) => tracing::warn!(%error, "leader election attempt failed"),
            }
            tokio::time::sleep(RETRY_PERIOD).await;
        }
        tracing::info!(lease = %self.name, "became leader");
    }

    /// Renews until `stop` is cancelled (false) or the lease is lost (true):
    /// someone else holds it, or no renewal succeeded within the deadline.
    pub async fn keep(&self, stop: &CancellationToken) -> bool {
        loop {
            tokio::select! {
                _ = stop.cancelled() => return false,
                _ = tokio::time::sleep(RETRY_PERIOD) => {}
            }
            match self.attempt().await {
                Ok(true) => {}
                Ok(false) => break,
                Err(error) => tracing::warn!(%error, "lease renewal failed"),
            }
            if !self.leadership.is_current() {
                break;
            }
        }
        self.leadership.lost();
        true
    }

    /// Gives the lease up on shutdown, so that a standby takes over at once.
    pub async fn release(&self) {
        self.leadership.lost();
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
    fn the_lease_is_taken_only_when_free_or_unchanged_for_its_duration() {
        let secs = Duration::from_secs;
        let cases = [
            (None, secs(0), Step::Create),
            (Some(lease(Some("me"), 990, 15)), secs(0), Step::Renew),
            (Some(lease(Some("me"), 0, 15)), secs(100), Step::Renew),
            (Some(lease(Some("other"), 990, 15)), secs(14), Step::Wait),
            (Some(lease(Some("other"), 990, 15)), secs(15), Step::TakeOver),
            // A renewTime far in the past (a skewed clock) does not expire the lease by itself.
            (Some(lease(Some("other"), 0, 15)), secs(3), Step::Wait),
            (Some(lease(None, 999, 1)), secs(0), Step::TakeOver),
            (Some(lease(Some(""), 999, 15)), secs(0), Step::TakeOver),
        ];
        for (spec, unchanged_for, want) in cases {
            assert_eq!(step(spec.as_ref(), "me", unchanged_for), want, "{spec:?} unchanged for {unchanged_for:?}");
        }
    }

    #[test]
    fn a_record_counts_as_unchanged_from_when_this_process_first_saw_it() {
        let start = Instant::now();
        let mut observed = Observed { record: None, since: start };
        let first = lease(Some("other"), 100, 15);
        assert_eq!(observed.observe(Some(&first), start + Duration::from_secs(1)), Duration::ZERO);
        assert_eq!(observed.observe(Some(&first), start + Duration::from_secs(9)), Duration::from_secs(8));
        let renewed = lease(Some("other"), 105, 15);
        assert_eq!(observed.observe(Some(&renewed), start + Duration::from_secs(10)), Duration::ZERO, "renewed");
        assert_eq!(observed.observe(None, start + Duration::from_secs(12)), Duration::ZERO, "deleted is a change");
    }

    #[tokio::test(start_paused = true)]
    async fn a_leader_stops_writing_before_a_standby_can_take_over() {
        let leadership = Leadership::elected();
        assert!(leadership.check().is_err(), "not before the first renewal");
        let renewal_started = Instant::now();
        leadership.renewed(renewal_started);
        assert!(leadership.check().is_ok());
        tokio::time::advance(RENEW_DEADLINE - Duration::from_millis(1)).await;
        assert!(leadership.is_current());
        tokio::time::advance(Duration::from_millis(1)).await;
        assert!(leadership.check().is_err(), "fenced at the renew deadline");
        assert!(renewal_started + RENEW_DEADLINE < renewal_started + LEASE_DURATION, "before any takeover");
        assert!(Leadership::unconditional().check().is_ok(), "one replica without election always writes");
    }
}
