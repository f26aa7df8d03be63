//! The operator killed with SIGKILL at each step of create and delete, then
//! restarted: exactly one CreateInstance, the ARN never lost, no orphan.

use std::time::Duration;

use serde_json::json;

use crate::controlplane::ControlPlane;
use crate::process::eventually;
use crate::stack::{CONVERGE, Stack};

const ACCOUNT: &str = "111122223333";

/// Instance ARNs the account owns in the emulator.
async fn owned(stack: &Stack, account: &str) -> Vec<String> {
    stack.instances_of(account).await.into_iter().map(|i| i["InstanceArn"].as_str().unwrap().to_string()).collect()
}

pub async fn sigkill_at_each_step_of_create_and_delete(plane: &mut ControlPlane) {
    let mut stack = Stack::start(plane, "crash", "createSeconds: 3\ndeleteSeconds: 3\n").await;

    // 1. Killed while CreateInstance is answered: AWS created the instance, the
    //    operator never learned its ARN. Only the marker is in status.
    stack.set_faults(json!({"rules": [{"operation": "CreateInstance", "delayAnswerMs": 5000}]})).await;
    stack.apply("platform", json!({"deletionPolicy": "Delete", "name": "crashy"})).await.unwrap();
    eventually("CreateInstance to reach the emulator", CONVERGE, || async {
        (stack.count("CreateInstance").await == 1).then_some(())
    })
    .await;
    stack.kill_operator().await;
    let status = stack.get("platform").await.status.unwrap_or_default();
    assert!(
        status.create_requested_at.is_some() && status.instance_arn.is_none(),
        "killed between the call and the ARN: {status:?}"
    );
    assert_eq!(owned(&stack, ACCOUNT).await.len(), 1, "AWS did create it");
    stack.set_faults(json!({})).await;
    stack.start_operator().await;
    let recovered = eventually("the ARN recovered into status", CONVERGE, || async {
        stack.get("platform").await.status?.instance_arn
    })
    .await;
    assert_eq!(owned(&stack, ACCOUNT).await, std::slice::from_ref(&recovered), "the recorded ARN is the one instance");

    // 2. Killed while the instance is CREATE_IN_PROGRESS, ARN recorded.
    stack.kill_operator().await;
    stack.start_operator().await;
    let ready = stack.wait_for("platform", "Ready", "True").await;
    assert_eq!(ready.status.unwrap().instance_arn.as_deref(), Some(recovered.as_str()), "the ARN is never lost");
    assert_eq!(stack.count("CreateInstance").await, 1, "exactly one CreateInstance through two crashes");

    // 3. Killed while DeleteInstance is answered.
    stack.set_faults(json!({"rules": [{"operation": "DeleteInstance", "delayAnswerMs": 5000}]})).await;
    stack.delete("platform").await;
    eventually("DeleteInstance to reach the emulator", CONVERGE, || async {
        (stack.count("DeleteInstance").await == 1).then_some(())
    })
    .await;
    stack.kill_operator().await;
    stack.set_faults(json!({})).await;
    stack.start_operator().await;

    // 4. Killed while the instance is DELETE_IN_PROGRESS.
    tokio::time::sleep(Duration::from_secs(1)).await;
    stack.kill_operator().await;
    stack.start_operator().await;
    stack.wait_gone("platform").await;
    assert!(owned(&stack, ACCOUNT).await.is_empty(), "no orphan");
    assert_eq!(stack.count("DeleteInstance").await, 1, "DELETE_IN_PROGRESS is waited on, not deleted again");

    // 5. Killed before CreateInstance reached AWS (the request is held before
    //    it takes effect): whatever the timing, one instance, and its ARN recorded.
    stack.set_faults(json!({"rules": [{"operation": "CreateInstance", "latencyMs": 3000}]})).await;
    stack.apply("second", json!({"deletionPolicy": "Delete"})).await.unwrap();
    eventually("the create marker", CONVERGE, || async { stack.get("second").await.status?.create_requested_at }).await;
    stack.kill_operator().await;
    stack.set_faults(json!({})).await;
    stack.start_operator().await;
    let ready = stack.wait_for("second", "Ready", "True").await;
    let arns = owned(&stack, ACCOUNT).await;
    assert_eq!(arns.len(), 1, "one instance: {arns:?}");
    assert_eq!(ready.status.unwrap().instance_arn.as_deref(), Some(arns[0].as_str()));
    stack.shutdown().await;
}
