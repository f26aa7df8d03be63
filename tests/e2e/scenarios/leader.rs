//! Two replicas with leader election: only the Lease holder reconciles; when
//! it dies the other takes over, and a clean shutdown hands the Lease back.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use kube::api::Api;
use serde_json::json;

use crate::controlplane::ControlPlane;
use crate::http::json;
use crate::process::eventually;
use crate::stack::Stack;

const LEASE: &str = "identity-center-operator";

async fn holder(stack: &Stack) -> Option<String> {
    let leases: Api<Lease> = Api::namespaced(stack.client.clone(), &stack.namespace);
    leases.get_opt(LEASE).await.ok().flatten()?.spec?.holder_identity
}

/// Reconciles a replica has counted, from its /metrics.
async fn reconciles(metrics_addr: &str) -> u64 {
    let (_, text) = json("GET", metrics_addr, "/metrics", "").await;
    let counted = text.lines().filter(|l| l.starts_with("identity_center_operator_reconciles_total{"));
    counted.filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok()).sum()
}

pub async fn only_the_leader_reconciles_and_a_standby_takes_over(plane: &mut ControlPlane) {
    let mut stack = Stack::start_replicated(plane, "leader", "createSeconds: 1\n").await;
    let leader = eventually("a replica to hold the Lease", Duration::from_secs(30), || holder(&stack)).await;
    stack.apply("platform", json!({"name": "one"})).await.unwrap();
    stack.wait_for("platform", "Ready", "True").await;
    for (name, metrics) in stack.replicas() {
        let counted = reconciles(&metrics).await;
        if name == leader {
            assert!(counted > 0, "the leader {name} reconciled");
        } else {
            assert_eq!(counted, 0, "the standby {name} reconciled nothing");
        }
    }

    stack.kill_replica(&leader).await;
    let successor = eventually("the standby to take the Lease over", Duration::from_secs(45), || async {
        holder(&stack).await.filter(|h| *h != leader)
    })
    .await;
    stack.apply("platform", json!({"name": "two"})).await.unwrap();
    stack.wait_for("platform", "Ready", "True").await;
    assert_eq!(stack.count("CreateInstance").await, 1, "the successor did not create again");
    assert_eq!(stack.count("UpdateInstance").await, 1, "the successor applied the edit");

    let log = std::fs::read_to_string(stack.replica_log(&successor)).unwrap();
    let became_leader =
        log.lines().map(|l| serde_json::from_str::<serde_json::Value>(l).expect("--log-format json writes JSON lines"));
    assert!(
        became_leader.into_iter().any(|l| l["fields"]["message"] == "became leader" && l["level"] == "INFO"),
        "{log}"
    );

    assert!(stack.stop_replica(&successor).await, "SIGTERM stops the leader cleanly");
    let released = holder(&stack).await;
    assert_eq!(released, None, "a clean shutdown releases the Lease");
    stack.shutdown().await;
}
