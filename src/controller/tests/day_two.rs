//! What an operator reaches for during an incident: pause an object, and ask
//! for a drift check now.

use serde_json::json;

use super::fake_sso::{ARN, Script, instance};
use super::{Next, harness, object};
use crate::api::{PAUSED, RECONCILE_REQUESTED_AT};
use crate::sso::InstanceState;

fn owned() -> serde_json::Value {
    json!({"instanceArn": ARN, "ownership": "Created", "region": "eu-west-1"})
}

#[tokio::test]
async fn a_paused_object_calls_nothing_in_aws_and_its_deletion_waits() {
    let h = harness(Script { instances: vec![instance(InstanceState::Active)], ..Default::default() });
    let paused = object().spec(json!({"deletionPolicy": "Delete"})).status(owned()).finalized().deleting();
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
    let h = harness(Script { instances: vec![instance(InstanceState::Active)], ..Default::default() });
    h.reconcile(object().status(owned()).finalized().annotated(PAUSED, "false")).await;
    assert_eq!(h.journal.aws(), ["GetCallerIdentity", "DescribeInstance", "ListTagsForResource"]);
}

#[tokio::test]
async fn a_reconcile_request_is_served_by_one_drift_check_and_recorded() {
    let h = harness(Script { instances: vec![instance(InstanceState::Active)], ..Default::default() });
    h.reconcile(object().status(owned()).finalized().annotated(RECONCILE_REQUESTED_AT, "incident-42")).await;
    assert_eq!(h.journal.aws(), ["GetCallerIdentity", "DescribeInstance", "ListTagsForResource"], "a drift check");
    assert_eq!(h.last_status()["lastHandledReconcileAt"], "incident-42");
}

#[tokio::test]
async fn an_events_action_is_what_the_operator_did_and_its_reason_why() {
    let h = harness(Script { instances: vec![instance(InstanceState::Active)], ..Default::default() });
    h.reconcile(object().spec(json!({"name": "renamed", "tags": {"team": "a"}})).status(owned()).finalized()).await;
    let actions = h.cluster.event_actions();
    let pairs: Vec<(&str, &str)> = actions.iter().map(|(a, r)| (a.as_str(), r.as_str())).collect();
    assert_eq!(
        pairs,
        [("UpdateInstance", "InstanceRenamed"), ("TagResource", "TagsUpdated"), ("Reconcile", "InstanceActive")]
    );
}
