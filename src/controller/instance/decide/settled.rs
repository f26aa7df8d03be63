//! What a restarted operator, or a new leader, owes an object it sees for the
//! first time. Every object would otherwise be checked against AWS at once
//! (an AssumeRole, a DescribeInstance and a ListTagsForResource each), a
//! throttling storm on every rolling upgrade. An object that is settled and
//! was checked recently has nothing new to tell: its next drift check is
//! booked for the rest of its interval, where it would have fallen anyway.

use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;

use crate::api::{IdentityCenterInstance, PAUSED, RECONCILE_REQUESTED_AT};
use crate::controller::conditions::{READY, STALLED, SYNCED};
use crate::controller::resync::CheckWindow;

/// The window of the next drift check of a settled object, or None when it
/// must be reconciled now: it is new, deleting, paused, not Ready, Synced
/// and unstalled for its current generation, asks for a check it has not
/// had, or was last checked an interval or more ago.
pub fn next_check(object: &IdentityCenterInstance, now: Timestamp, interval: Duration) -> Option<CheckWindow> {
    let status = object.status.as_ref()?;
    let condition = |type_: &str| status.conditions.iter().find(|c| c.type_ == type_).map(|c| c.status.as_str());
    let settled =
        condition(READY) == Some("True") && condition(SYNCED) == Some("True") && condition(STALLED) != Some("True");
    let current = status.observed_generation.is_some() && status.observed_generation == object.metadata.generation;
    let annotations = object.annotations();
    let paused = annotations.get(PAUSED).is_some_and(|v| v == "true");
    let requested = annotations.get(RECONCILE_REQUESTED_AT);
    let served = requested.is_none() || requested == status.last_handled_reconcile_at.as_ref();
    let deleting = object.metadata.deletion_timestamp.is_some();
    if !settled || !current || paused || !served || deleting {
        return None;
    }
    let since = Duration::try_from(now.duration_since(status.last_checked_at.as_ref()?.0)).ok()?;
    (since < interval).then(|| CheckWindow::after_check(since, interval))
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
    use serde_json::json;

    use super::*;
    use crate::api::IdentityCenterInstanceStatus;

    const INTERVAL: Duration = Duration::from_secs(600);

    fn now() -> Timestamp {
        "2026-12-03T12:00:00Z".parse().unwrap()
    }

    fn condition(type_: &str, status: &str) -> Condition {
        serde_json::from_value(json!({"type": type_, "status": status, "reason": "Any", "message": "",
            "lastTransitionTime": "2026-12-03T11:00:00Z"}))
        .unwrap()
    }

    /// A settled object at generation 2, checked `checked_ago` before now.
    struct Settled {
        object: IdentityCenterInstance,
    }

    impl Settled {
        fn checked_ago(seconds: i64) -> Self {
            let mut object = IdentityCenterInstance::new("platform", Default::default());
            object.metadata.generation = Some(2);
            object.status = Some(IdentityCenterInstanceStatus {
                observed_generation: Some(2),
                last_checked_at: Some(Time(now() - jiff_seconds(seconds))),
                conditions: vec![condition(READY, "True"), condition(SYNCED, "True"), condition(STALLED, "False")],
                ..Default::default()
            });
            Self { object }
        }

        fn with(mut self, change: impl FnOnce(&mut IdentityCenterInstance)) -> Self {
            change(&mut self.object);
            self
        }

        fn status(self, change: impl FnOnce(&mut IdentityCenterInstanceStatus)) -> Self {
            self.with(|o| change(o.status.as_mut().unwrap()))
        }

        fn condition(self, type_: &'static str, value: &'static str) -> Self {
            self.status(|s| s.conditions.iter_mut().filter(|c| c.type_ == type_).for_each(|c| c.status = value.into()))
        }

        fn annotated(self, key: &str, value: &str) -> Self {
            self.with(|o| {
                o.annotations_mut().insert(key.into(), value.into());
            })
        }
    }

    fn jiff_seconds(seconds: i64) -> k8s_openapi::jiff::SignedDuration {
        k8s_openapi::jiff::SignedDuration::from_secs(seconds)
    }

    fn window(earliest: u64, latest: u64) -> Option<CheckWindow> {
        Some(CheckWindow { earliest: Duration::from_secs(earliest), latest: Duration::from_secs(latest) })
    }

    #[test]
    fn only_a_settled_object_checked_within_the_interval_waits_for_its_turn() {
        let cases = [
            ("checked a minute ago", Settled::checked_ago(60), window(240, 840)),
            ("checked 7 minutes ago: due any time up to 8 minutes on", Settled::checked_ago(420), window(0, 480)),
            ("checked an interval ago", Settled::checked_ago(600), None),
            ("never checked", Settled::checked_ago(60).status(|s| s.last_checked_at = None), None),
            ("checked in the future (a skewed clock)", Settled::checked_ago(-30), None),
            ("no status", Settled::checked_ago(60).with(|o| o.status = None), None),
            (
                "spec changed while the operator was down",
                Settled::checked_ago(60).with(|o| o.metadata.generation = Some(3)),
                None,
            ),
            ("not Ready", Settled::checked_ago(60).condition(READY, "False"), None),
            ("retrying (Synced False)", Settled::checked_ago(60).condition(SYNCED, "False"), None),
            ("stalled", Settled::checked_ago(60).condition(STALLED, "True"), None),
            ("paused", Settled::checked_ago(60).annotated(PAUSED, "true"), None),
            ("a check asked for, not served", Settled::checked_ago(60).annotated(RECONCILE_REQUESTED_AT, "7"), None),
            (
                "a check asked for and served",
                Settled::checked_ago(60)
                    .annotated(RECONCILE_REQUESTED_AT, "7")
                    .status(|s| s.last_handled_reconcile_at = Some("7".into())),
                window(240, 840),
            ),
            ("deleting", Settled::checked_ago(60).with(|o| o.metadata.deletion_timestamp = Some(Time(now()))), None),
        ];
        for (what, settled, want) in cases {
            assert_eq!(next_check(&settled.object, now(), INTERVAL), want, "{what}");
        }
    }
}
