//! kube-apiserver restarted under a running operator: every watch is cut;
//! the operator resumes, and nothing is created twice.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::json;

use crate::controlplane::ControlPlane;
use crate::process::eventually;
use crate::stack::{CONVERGE, Stack};

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

/// A rolling upgrade (SIGTERM) or a crash (SIGKILL) of an operator whose
/// objects are settled costs AWS nothing until their drift checks are due,
/// not even an AssumeRole; an object edited while it was down, or asking for
/// a check, is reconciled at once.
pub async fn a_restart_leaves_settled_objects_alone_until_their_turn(plane: &mut ControlPlane) {
    let mut stack = Stack::start(plane, "restart-cost", "createSeconds: 0.5\n").await;
    let objects = [("steady", "710000000001"), ("edited", "710000000002"), ("asked", "710000000003")];
    for (name, account) in objects {
        stack.apply(name, json!({"name": name, "credentials": role_of(account)})).await.unwrap();
    }
    for (name, _) in objects {
        let ready = stack.wait_for(name, "Ready", "True").await;
        assert!(ready.status.unwrap().last_checked_at.is_some(), "{name}: status says when AWS was read");
    }
    // From now on the operator runs at the default interval: the objects were checked moments ago.
    stack.resync_interval = "10m";

    let (first, _) = stack.replicas().remove(0);
    assert!(stack.stop_replica(&first).await, "SIGTERM: a clean exit");
    stack.clear_calls().await;
    stack.start_operator().await;
    tokio::time::sleep(QUIET).await;
    assert_eq!(stack.operations().await, Vec::<String>::new(), "after SIGTERM, no AWS call at all");

    stack.kill_operator().await;
    stack.apply("edited", json!({"name": "edited-while-down", "credentials": role_of(objects[1].1)})).await.unwrap();
    stack.kubectl().run(&["annotate", "ici/asked", "identitycenter.dev/reconcile-requested-at=after-crash"]);
    stack.clear_calls().await;
    stack.start_operator().await;
    eventually("the edit and the request to be served", CONVERGE, || async {
        let edited = stack.get("edited").await;
        let asked = stack.get("asked").await.status?;
        let served = edited.status?.observed_generation == edited.metadata.generation
            && asked.last_handled_reconcile_at.as_deref() == Some("after-crash");
        served.then_some(())
    })
    .await;
    tokio::time::sleep(QUIET).await;
    // The account each call acted for: an AssumeRole's is its role's (the caller is the operator's own).
    let acted_for = |call: sso_admin_emulator::Call| match call.operation.as_str() {
        "AssumeRole" => call.request["RoleArn"].as_str().and_then(|arn| arn.split(':').nth(4)).map(String::from),
        _ => call.account,
    };
    let accounts: BTreeSet<String> = stack.calls().await.into_iter().filter_map(acted_for).collect();
    assert_eq!(
        accounts,
        BTreeSet::from([objects[1].1.to_string(), objects[2].1.to_string()]),
        "after SIGKILL, calls for the edited and the asking object only"
    );
    assert_eq!(stack.count("UpdateInstance").await, 1, "the rename reached AWS");
    let steady = stack.get("steady").await;
    assert_eq!(steady.condition("Ready").map(|c| c.status.clone()).as_deref(), Some("True"), "still Ready");
    stack.shutdown().await;
}

/// Long enough for any reconcile of the restart to have reached AWS.
const QUIET: Duration = Duration::from_secs(8);

fn role_of(account: &str) -> serde_json::Value {
    json!({"roleArn": format!("arn:aws:iam::{account}:role/admin")})
}
