//! What an operator reaches for during an incident: pause an object, and ask
//! for a drift check now.

use super::fake_sso::Script;
use super::harness;
use crate::api::{
    DeletionPolicy, INSTANCE_ARN, IdentityCenterInstance, IdentityCenterInstanceStatus, PAUSED, RECONCILE_REQUESTED_AT,
};
use crate::controller::Next;
use crate::fixtures::ARN;
use crate::sso::{Instance, InstanceState, Tags};

#[tokio::test]
async fn a_paused_object_calls_nothing_in_aws_and_its_deletion_waits() {
    let h = harness(Script { instances: vec![Instance::test(InstanceState::Active)], ..Default::default() });
    let paused = IdentityCenterInstance::test().deletion_policy(DeletionPolicy::Delete).owned().finalized().deleting();
    let next = h.reconcile(paused.annotated(PAUSED, "true")).await;

    assert!(h.journal.aws().is_empty(), "{:?}", h.journal.aws());
    assert!(!h.journal.entries().contains(&"k8s PATCH object".to_string()), "the finalizer stays");
    assert_eq!(h.condition("Synced"), ("False".into(), "ReconcilePaused".into()));
    assert_eq!(h.condition("Stalled"), ("False".into(), "NotStalled".into()));
    let message = h.last_status()["conditions"][1]["message"].as_str().unwrap().to_string();
    assert!(message.contains("deletion waits"), "{message}");
    assert_eq!(h.cluster.events(), [("Normal".into(), "ReconcilePaused".into())]);
    assert_eq!(next, Next::on_change(), "until the annotation changes");
}

#[tokio::test]
async fn paused_false_is_not_a_pause() {
    let h = harness(Script { instances: vec![Instance::test(InstanceState::Active)], ..Default::default() });
    h.reconcile(IdentityCenterInstance::test().owned().finalized().annotated(PAUSED, "false")).await;
    assert_eq!(h.journal.aws(), ["GetCallerIdentity", "DescribeInstance", "ListTagsForResource"]);
}

#[tokio::test]
async fn a_reconcile_request_is_served_by_one_drift_check_and_recorded() {
    let h = harness(Script { instances: vec![Instance::test(InstanceState::Active)], ..Default::default() });
    let requested = IdentityCenterInstance::test().owned().finalized().annotated(RECONCILE_REQUESTED_AT, "incident-42");
    h.reconcile(requested).await;
    assert_eq!(h.journal.aws(), ["GetCallerIdentity", "DescribeInstance", "ListTagsForResource"], "a drift check");
    assert_eq!(h.last_status()["lastHandledReconcileAt"], "incident-42");
}

#[tokio::test]
async fn an_events_action_is_what_the_operator_did_and_its_reason_why() {
    let h = harness(Script { instances: vec![Instance::test(InstanceState::Active)], ..Default::default() });
    h.reconcile(IdentityCenterInstance::test().spec_name("renamed").tags(&[("team", "a")]).owned().finalized()).await;
    let actions = h.cluster.event_actions();
    let pairs: Vec<(&str, &str)> = actions.iter().map(|(a, r)| (a.as_str(), r.as_str())).collect();
    assert_eq!(
        pairs,
        [("UpdateInstance", "InstanceRenamed"), ("TagResource", "TagsUpdated"), ("Reconcile", "InstanceActive")]
    );
}

/// The ownership tags of an instance made by the fixtures' object, in `namespace`.
fn made_in(namespace: &str) -> Tags {
    let maker = crate::controller::instance::ownership::Maker { cluster: "test-cluster", namespace, name: "platform" };
    maker.tags()
}

#[tokio::test]
async fn an_instance_it_created_gets_its_arn_in_an_annotation_too() {
    let h = harness(Script { instances: vec![Instance::test(InstanceState::Active)], ..Default::default() });
    // The annotation is not written yet: empty, as `owned()` alone would carry the ARN already.
    h.reconcile(IdentityCenterInstance::test().owned().finalized().annotated(INSTANCE_ARN, "")).await;
    let annotated = h.cluster.sent().into_iter().find(|s| s.body["metadata"]["annotations"].is_object());
    assert_eq!(annotated.expect("annotated").body["metadata"]["annotations"][INSTANCE_ARN], ARN);
}

#[tokio::test]
async fn a_restored_object_takes_its_instance_back_when_the_tags_name_it() {
    let h = harness(Script {
        instances: vec![Instance::test(InstanceState::Active)],
        tags: made_in("identity"),
        ..Default::default()
    });
    // Restored from backup: the annotation, no status, a new UID.
    h.reconcile(IdentityCenterInstance::test().named("platform", "new-uid").annotated(INSTANCE_ARN, ARN)).await;
    assert!(!h.journal.aws().contains(&"CreateInstance".to_string()), "{:?}", h.journal.aws());
    let status = h.last_status();
    assert_eq!((status["instanceArn"].as_str(), status["ownership"].as_str()), (Some(ARN), Some("Created")));
    assert_eq!(h.condition("Ready"), ("True".into(), "InstanceActive".into()));
}

#[tokio::test]
async fn an_annotation_naming_an_instance_another_object_made_is_refused() {
    let h = harness(Script {
        instances: vec![Instance::test(InstanceState::Active)],
        tags: made_in("team-b"),
        ..Default::default()
    });
    h.reconcile(IdentityCenterInstance::test().annotated(INSTANCE_ARN, ARN)).await;
    let writes: Vec<String> = h
        .journal
        .aws()
        .into_iter()
        .filter(|c| !["GetCallerIdentity", "DescribeInstance", "ListTagsForResource"].contains(&c.as_str()))
        .collect();
    assert!(writes.is_empty(), "{writes:?}");
    assert_eq!(h.condition("Stalled"), ("True".into(), "RestoreNotConfirmed".into()));
}

#[tokio::test]
async fn crash_recovery_never_takes_an_instance_tagged_as_another_objects() {
    let listed = vec![Instance::test(InstanceState::Active).created_at("2026-11-28T10:00:02.5Z")];
    let h = harness(Script { listed, tags: made_in("team-b"), ..Default::default() });
    let marker = IdentityCenterInstanceStatus::create_requested("2026-11-28T10:00:01Z");
    h.reconcile(IdentityCenterInstance::test().with_status(marker).finalized()).await;
    assert!(h.journal.aws().contains(&"CreateInstance".to_string()), "not found as its own: it creates");
}
