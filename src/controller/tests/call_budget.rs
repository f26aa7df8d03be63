//! The AWS calls a create and a delete cost: none that only repeats what
//! the operator already knows.

use serde_json::json;

use super::fake_sso::{Script, instance};
use super::{ErrorKind, InstanceState, error, harness, object, owned_status_with};

#[tokio::test]
async fn the_first_active_sight_of_a_new_instance_trusts_the_tags_create_sent() {
    let h = harness(Script { instances: vec![instance(InstanceState::Active)], ..Default::default() });
    let created =
        owned_status_with(json!({"createRequestedAt": "2026-11-28T10:00:00Z", "createRequestedGeneration": 2}));
    h.reconcile(object().spec(json!({"tags": {"team": "a"}})).status(created).finalized()).await;
    assert_eq!(h.journal.aws(), ["GetCallerIdentity", "DescribeInstance"], "no ListTagsForResource");
    assert_eq!(h.condition("Ready"), ("True".into(), "InstanceActive".into()));
}

#[tokio::test]
async fn tags_are_read_once_the_spec_changed_after_create_or_the_instance_was_active_before() {
    let cases = [
        ("a later generation", json!({"createRequestedGeneration": 1})),
        ("seen ACTIVE before: a drift check", json!({"createRequestedGeneration": 2, "state": "ACTIVE"})),
        ("recovered without a generation", json!({})),
    ];
    for (case, more) in cases {
        let h = harness(Script { instances: vec![instance(InstanceState::Active)], ..Default::default() });
        let mut status = owned_status_with(json!({"createRequestedAt": "2026-11-28T10:00:00Z"}));
        status.as_object_mut().unwrap().extend(more.as_object().unwrap().clone());
        h.reconcile(object().spec(json!({"tags": {"team": "a"}})).status(status).finalized()).await;
        assert_eq!(
            h.journal.aws(),
            ["GetCallerIdentity", "DescribeInstance", "ListTagsForResource", "TagResource"],
            "{case}"
        );
    }
}

#[tokio::test]
async fn a_recorded_active_instance_is_deleted_without_a_look_and_followed_without_listing() {
    let h = harness(Script { instances: vec![instance(InstanceState::DeleteInProgress)], ..Default::default() });
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
    let h = harness(Script { instances: vec![instance(InstanceState::DeleteInProgress)], ..Default::default() });
    let interrupted = owned_status_with(json!({"state": "ACTIVE", "deleteRequestedAt": "2026-11-28T11:00:00Z"}));
    h.reconcile(object().spec(json!({"deletionPolicy": "Delete"})).status(interrupted).finalized().deleting()).await;
    assert_eq!(h.journal.aws(), ["GetCallerIdentity", "DescribeInstance"], "DELETE_IN_PROGRESS is waited on");
}

#[tokio::test]
async fn a_refused_delete_of_a_recorded_instance_looks_once_and_reports_the_refusal() {
    let denied = error("DeleteInstance", ErrorKind::AccessDenied, "not authorized to perform: sso:DeleteInstance");
    let mut script = Script { instances: vec![instance(InstanceState::Active)], ..Default::default() };
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

fn recorded_active_being_deleted() -> super::TestObject {
    let active = owned_status_with(json!({"state": "ACTIVE"}));
    object().spec(json!({"deletionPolicy": "Delete"})).status(active).finalized().deleting()
}
