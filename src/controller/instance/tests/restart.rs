//! What an object costs a restarted operator: nothing in AWS when it is
//! settled and was checked recently; a full reconcile otherwise.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::{SignedDuration, Timestamp};

use super::fake_sso::Script;
use super::{RESYNC, harness, requeue_seconds};
use crate::api::{IdentityCenterInstance, IdentityCenterInstanceStatus, RECONCILE_REQUESTED_AT};
use crate::fixtures::time;
use crate::sso::{Instance, InstanceState};

/// Settled at the fixtures' generation 2, last read from AWS `ago` seconds before now.
fn settled_status(ago: i64) -> IdentityCenterInstanceStatus {
    let checked = Timestamp::now() - SignedDuration::from_secs(ago);
    let condition = |type_: &str, status: &str| Condition {
        type_: type_.into(),
        status: status.into(),
        reason: "InstanceActive".into(),
        message: String::new(),
        last_transition_time: time("2026-11-28T10:00:05Z"),
        observed_generation: Some(2),
    };
    IdentityCenterInstanceStatus {
        observed_generation: Some(2),
        last_checked_at: Some(Time(checked)),
        conditions: vec![condition("Ready", "True"), condition("Synced", "True"), condition("Stalled", "False")],
        ..IdentityCenterInstanceStatus::owned().with_state("ACTIVE")
    }
}

#[tokio::test]
async fn a_settled_object_checked_recently_costs_a_restarted_operator_no_aws_call_until_its_turn() {
    let h = harness(Script { instances: vec![Instance::test(InstanceState::Active)], ..Default::default() });
    let settled = IdentityCenterInstance::test().with_status(settled_status(60)).finalized();

    let next = h.reconcile(settled.clone()).await;
    assert_eq!(h.journal.aws(), Vec::<String>::new(), "no AssumeRole, no DescribeInstance");
    assert!(h.cluster.status_writes().is_empty(), "and no write");
    let booked = requeue_seconds(&next).expect("a drift check booked");
    let (interval, since) = (RESYNC.as_secs_f64(), 60.0);
    assert!((interval / 2.0 - since - 1.0..=interval * 1.5 - since).contains(&booked), "booked in {booked} s");

    // Its turn: the drift check reads AWS as every resync does.
    h.reconcile(settled).await;
    assert!(h.journal.aws().contains(&"DescribeInstance".to_string()), "{:?}", h.journal.aws());
    assert!(h.last_status()["lastCheckedAt"].is_string(), "the check is recorded");
}

#[tokio::test]
async fn a_restarted_operator_reconciles_at_once_what_changed_or_went_unchecked() {
    let cases = [
        (
            "checked longer ago than the interval",
            IdentityCenterInstance::test().with_status(settled_status(RESYNC.as_secs() as i64 + 5)),
        ),
        (
            "edited while the operator was down",
            IdentityCenterInstance::test().with_status(settled_status(60)).spec_name("new").generation(3),
        ),
        (
            "a drift check asked for",
            IdentityCenterInstance::test()
                .with_status(settled_status(60))
                .annotated(RECONCILE_REQUESTED_AT, "incident-9"),
        ),
    ];
    for (what, object) in cases {
        let h = harness(Script { instances: vec![Instance::test(InstanceState::Active)], ..Default::default() });
        h.reconcile(object.finalized()).await;
        assert!(h.journal.aws().contains(&"DescribeInstance".to_string()), "{what}: {:?}", h.journal.aws());
    }
}
