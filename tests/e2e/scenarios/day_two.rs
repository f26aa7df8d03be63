//! Pause and reconcile-now, as a user does them with kubectl annotate.

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
