//! kube-apiserver restarted under a running operator: every watch is cut;
//! the operator resumes, and nothing is created twice.

use serde_json::json;

use crate::controlplane::ControlPlane;
use crate::stack::Stack;

pub async fn apiserver_restart_resumes_without_duplicates(plane: &mut ControlPlane) {
    let stack = Stack::start(plane, "restart", "createSeconds: 1\n").await;
    stack.apply("before", json!({"name": "before"})).await.unwrap();
    stack.wait_for("before", "Ready", "True").await;

    plane.restart_apiserver().await;

    let role = json!({"roleArn": "arn:aws:iam::700000000001:role/admin"});
    stack.apply("after", json!({"name": "after", "credentials": role})).await.unwrap();
    stack.wait_for("after", "Ready", "True").await;
    stack.apply("before", json!({"name": "renamed"})).await.unwrap();
    stack.wait_for("before", "Ready", "True").await;
    let (_, described) = stack
        .aws(
            "111122223333",
            "DescribeInstance",
            json!({"InstanceArn": stack.get("before").await.status.unwrap().instance_arn}),
        )
        .await;
    assert_eq!(described["Name"], "renamed", "edits after the restart still reach AWS");

    let creates: Vec<_> = stack
        .calls()
        .await
        .into_iter()
        .filter(|c| c.operation == "CreateInstance")
        .map(|c| c.account.unwrap())
        .collect();
    assert_eq!(creates, ["111122223333", "700000000001"], "one CreateInstance per object");
    stack.shutdown().await;
}
