//! Pause and reconcile-now, as a user does them with kubectl annotate.

use identity_center_operator::api::{INSTANCE_ARN, IdentityCenterInstance, InstanceOwnership};
use kube::ResourceExt;
use serde_json::json;

use crate::controlplane::ControlPlane;
use crate::process::eventually;
use crate::stack::{CONVERGE, Stack};

pub async fn pause_holds_every_aws_call_and_reconcile_now_checks_drift(plane: &mut ControlPlane) {
    let stack = Stack::start(plane, "day-two", "createSeconds: 0.5\ndeleteSeconds: 0.5\n").await;
    stack.apply("platform", json!({"name": "platform-sso", "deletionPolicy": "Delete"})).await.unwrap();
    stack.wait_for("platform", "Ready", "True").await;

    stack.kubectl().run(&["annotate", "ici/platform", "identitycenter.dev/paused=true"]);
    let paused = stack.wait_for("platform", "Synced", "False").await;
    assert_eq!(paused.condition("Synced").unwrap().reason, "ReconcilePaused");
    assert_eq!(paused.condition("Ready").unwrap().status, "True", "a pause does not make it unready");
    assert_eq!(paused.condition("Stalled").unwrap().status, "False", "nor failed, for kstatus");
    stack.clear_calls().await;
    stack.kubectl().run(&["delete", "ici/platform", "--wait=false"]);
    tokio::time::sleep(std::time::Duration::from_secs(12)).await;
    assert!(stack.calls().await.is_empty(), "no AWS call while paused, not even a drift check");
    assert!(stack.api().get_opt("platform").await.unwrap().is_some(), "the deletion waits for the pause");

    stack.kubectl().run(&["annotate", "ici/platform", "identitycenter.dev/paused-"]);
    stack.wait_gone("platform").await;
    assert_eq!(stack.count("DeleteInstance").await, 1, "resumed: the deletion goes ahead");

    stack.apply("second", json!({"credentials": {"roleArn": "arn:aws:iam::330000000001:role/admin"}})).await.unwrap();
    stack.wait_for("second", "Ready", "True").await;
    stack.clear_calls().await;
    stack.kubectl().run(&["annotate", "ici/second", "identitycenter.dev/reconcile-requested-at=incident-7"]);
    eventually("the request to be served", CONVERGE, || async {
        let status = stack.get("second").await.status?;
        (status.last_handled_reconcile_at.as_deref() == Some("incident-7")).then_some(())
    })
    .await;
    assert!(stack.count("DescribeInstance").await >= 1, "a drift check reached AWS: {:?}", stack.operations().await);
    stack.shutdown().await;
}

/// A backup and restore (Velero and the like) brings an object back without
/// status and with a new UID. Its `identitycenter.dev/instance-arn`
/// annotation and the instance's ownership tags let it take its instance back
/// instead of failing with a second CreateInstance; the same annotation
/// copied into another namespace's object takes nothing.
pub async fn a_restored_object_takes_its_instance_back_and_a_copy_elsewhere_does_not(plane: &mut ControlPlane) {
    let (owner, thief) = ("restore-a", "restore-b");
    let stack = Stack::start_open_tenants(plane, &[owner, thief], "createSeconds: 0.5\ndeleteSeconds: 0.5\n").await;
    let spec = json!({"name": "platform-sso", "credentials": {"roleArn": format!("arn:aws:iam::{RESTORED_ACCOUNT}:role/admin")}});
    stack.apply("platform", spec.clone()).await.unwrap();
    let ready = stack.wait_for("platform", "Ready", "True").await;
    let arn = ready.status.as_ref().and_then(|s| s.instance_arn.clone()).expect("an ARN");
    let annotated = eventually("the ARN in the annotation", CONVERGE, || async {
        let object = stack.get("platform").await;
        object.annotations().get(INSTANCE_ARN).cloned()
    })
    .await;
    assert_eq!(annotated, arn);
    let backup = stack.kubectl().run(&["get", "ici/platform", "-o", "json"]);

    // The cluster is lost: the object goes, its instance stays (deletionPolicy Retain).
    stack.delete("platform").await;
    stack.wait_gone("platform").await;
    assert_eq!(stack.instances_of(RESTORED_ACCOUNT).await.len(), 1, "Retain kept the instance");

    // A tenant of another namespace copies the annotation onto an object of its own.
    let copy = json!({"credentials": spec["credentials"], "deletionPolicy": "Delete"});
    stack.api_in(thief).create(&Default::default(), &annotated_object("copy", &arn, copy)).await.unwrap();
    let refused = stack.wait_for_in(thief, "copy", "Stalled", "True").await;
    assert_eq!(refused.condition("Stalled").unwrap().reason, "RestoreNotConfirmed");
    assert_eq!(refused.status.and_then(|s| s.instance_arn), None, "nothing recorded as its own");
    stack.delete_in(thief, "copy").await;
    stack.wait_gone_in(thief, "copy").await;

    // The owner restores its object from the backup, which has no status and gets a new UID.
    let restored = restore_from(&backup);
    stack.api().create(&Default::default(), &restored).await.unwrap();
    let back = stack.wait_for("platform", "Ready", "True").await;
    let status = back.status.expect("status");
    assert_eq!(status.instance_arn.as_deref(), Some(arn.as_str()), "the same instance");
    assert_eq!(status.ownership, Some(InstanceOwnership::Created), "its own again: deletionPolicy applies to it");
    assert_ne!(back.metadata.uid, ready.metadata.uid, "a new object");
    assert_eq!(stack.count("CreateInstance").await, 1, "never a second CreateInstance");
    assert_eq!(stack.count("DeleteInstance").await, 0, "the copy's deletionPolicy Delete reached nothing");
    assert_eq!(stack.instances_of(RESTORED_ACCOUNT).await.len(), 1);
    stack.shutdown().await;
}

const RESTORED_ACCOUNT: &str = "340000000001";

fn annotated_object(name: &str, arn: &str, spec: serde_json::Value) -> IdentityCenterInstance {
    let mut object = test_support::fixtures::instance(name, None, spec);
    object["metadata"]["annotations"] = json!({ INSTANCE_ARN: arn });
    serde_json::from_value(object).unwrap()
}

/// What a restore tool creates from a backed-up object: its spec and
/// metadata, without status, UID, resourceVersion or finalizers.
fn restore_from(backup: &str) -> IdentityCenterInstance {
    let mut object: serde_json::Value = serde_json::from_str(backup).unwrap();
    object.as_object_mut().unwrap().remove("status");
    let metadata = object["metadata"].as_object_mut().unwrap();
    for dropped in ["uid", "resourceVersion", "finalizers", "creationTimestamp", "generation", "managedFields"] {
        metadata.remove(dropped);
    }
    serde_json::from_value(object).unwrap()
}
