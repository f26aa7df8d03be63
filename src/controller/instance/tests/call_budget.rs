//! The AWS calls a create and a delete cost: none that only repeats what
//! the operator already knows.

use super::fake_sso::Script;
use super::{error, harness};
use crate::api::{DeletionPolicy, IdentityCenterInstance, IdentityCenterInstanceStatus};
use crate::fixtures::time;
use crate::sso::{ErrorKind, Instance, InstanceState};

#[tokio::test]
async fn the_first_active_sight_of_a_new_instance_trusts_the_tags_create_sent() {
    let h = harness(Script { instances: vec![Instance::test(InstanceState::Active)], ..Default::default() });
    let created = IdentityCenterInstanceStatus {
        create_requested_at: Some(time("2026-11-28T10:00:00Z")),
        create_requested_generation: Some(2),
        ..IdentityCenterInstanceStatus::owned()
    };
    h.reconcile(IdentityCenterInstance::test().tags(&[("team", "a")]).with_status(created).finalized()).await;
    assert_eq!(h.journal.aws(), ["GetCallerIdentity", "DescribeInstance"], "no ListTagsForResource");
    assert_eq!(h.condition("Ready"), ("True".into(), "InstanceActive".into()));
}

#[tokio::test]
async fn tags_are_read_once_the_spec_changed_after_create_or_the_instance_was_active_before() {
    let created = IdentityCenterInstanceStatus {
        create_requested_at: Some(time("2026-11-28T10:00:00Z")),
        ..IdentityCenterInstanceStatus::owned()
    };
    let cases = [
        (
            "a later generation",
            IdentityCenterInstanceStatus { create_requested_generation: Some(1), ..created.clone() },
        ),
        (
            "seen ACTIVE before: a drift check",
            IdentityCenterInstanceStatus {
                create_requested_generation: Some(2),
                ..created.clone().with_state("ACTIVE")
            },
        ),
        ("recovered without a generation", created),
    ];
    for (case, status) in cases {
        let h = harness(Script { instances: vec![Instance::test(InstanceState::Active)], ..Default::default() });
        h.reconcile(IdentityCenterInstance::test().tags(&[("team", "a")]).with_status(status).finalized()).await;
        assert_eq!(
            h.journal.aws(),
            ["GetCallerIdentity", "DescribeInstance", "ListTagsForResource", "TagResource"],
            "{case}"
        );
    }
}

#[tokio::test]
async fn a_recorded_active_instance_is_deleted_without_a_look_and_followed_without_listing() {
    let h = harness(Script { instances: vec![Instance::test(InstanceState::DeleteInProgress)], ..Default::default() });
    h.reconcile(recorded_active_being_deleted()).await;
    assert_eq!(h.journal.aws(), ["GetCallerIdentity", "DeleteInstance"]);
    let writes = h.cluster.status_writes();
    assert!(writes[0]["deleteRequestedAt"].is_string(), "the marker is written before the call: {writes:?}");
    assert_eq!(h.last_status()["state"], "DELETE_IN_PROGRESS");

    h.reconcile_current().await;
    assert_eq!(h.journal.aws()[2..], ["DescribeInstance"], "still deleting");
    h.sso.script.lock().unwrap().instances.clear();
    h.reconcile_current().await;
    assert_eq!(h.journal.aws()[3..], ["DescribeInstance"], "AccessDenied after an accepted delete means gone");
    assert!(h.cluster.events().contains(&("Normal".into(), "InstanceDeleted".into())));
}

#[tokio::test]
async fn a_marker_without_an_accepted_delete_looks_before_sending_again() {
    let h = harness(Script { instances: vec![Instance::test(InstanceState::DeleteInProgress)], ..Default::default() });
    let interrupted = IdentityCenterInstanceStatus {
        delete_requested_at: Some(time("2026-11-28T11:00:00Z")),
        ..IdentityCenterInstanceStatus::owned().with_state("ACTIVE")
    };
    let deleting = IdentityCenterInstance::test().deletion_policy(DeletionPolicy::Delete).with_status(interrupted);
    h.reconcile(deleting.finalized().deleting()).await;
    assert_eq!(h.journal.aws(), ["GetCallerIdentity", "DescribeInstance"], "DELETE_IN_PROGRESS is waited on");
}

#[tokio::test]
async fn a_refused_delete_of_a_recorded_instance_looks_once_and_reports_the_refusal() {
    let denied = error("DeleteInstance", ErrorKind::AccessDenied, "not authorized to perform: sso:DeleteInstance");
    let mut script = Script { instances: vec![Instance::test(InstanceState::Active)], ..Default::default() };
    script.errors.insert("DeleteInstance", denied);
    let h = harness(script);
    h.reconcile(recorded_active_being_deleted()).await;
    assert_eq!(h.journal.aws(), ["GetCallerIdentity", "DeleteInstance", "DescribeInstance"], "ACTIVE: not sent again");
    assert_eq!(h.condition("Synced").1, "AccessDenied");
}

#[tokio::test]
async fn a_recorded_instance_deleted_outside_kubernetes_is_found_gone() {
    let mut script = Script::default();
    script.errors.insert("DeleteInstance", error("DeleteInstance", ErrorKind::AccessDenied, "not authorized"));
    let h = harness(script);
    h.reconcile(recorded_active_being_deleted()).await;
    assert_eq!(h.journal.aws(), ["GetCallerIdentity", "DeleteInstance", "DescribeInstance", "ListInstances"]);
    assert!(h.cluster.events().contains(&("Normal".into(), "InstanceDeleted".into())));
}

fn recorded_active_being_deleted() -> IdentityCenterInstance {
    let active = IdentityCenterInstanceStatus::owned().with_state("ACTIVE");
    IdentityCenterInstance::test().deletion_policy(DeletionPolicy::Delete).with_status(active).finalized().deleting()
}
