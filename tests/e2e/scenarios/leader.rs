//! Two replicas with leader election: only the Lease holder reconciles; when
//! it dies the other takes over, and a clean shutdown hands the Lease back.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::jiff::Timestamp;
use kube::api::Api;
use serde_json::{Value, json};

use crate::controlplane::ControlPlane;
use crate::http::json;
use crate::process::eventually;
use crate::stack::{CONVERGE, Stack};

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
    // A drift check is not due within the test: a takeover that calls AWS does so because it is a takeover.
    let mut stack = Stack::start_replicated_resyncing(plane, "leader", "createSeconds: 1\n", "10m").await;
    let leader = eventually("a replica to hold the Lease", Duration::from_secs(30), || holder(&stack)).await;
    stack.apply("platform", json!({"name": "one"})).await.unwrap();
    stack.wait_for("platform", "Ready", "True").await;
    for (name, metrics) in stack.replicas() {
        let counted = reconciles(&metrics).await;
        let (_, text) = json("GET", &metrics, "/metrics", "").await;
        if name == leader {
            assert!(counted > 0, "the leader {name} reconciled");
            assert!(text.contains("identity_center_operator_leader 1"), "{name} reports leadership");
        } else {
            assert_eq!(counted, 0, "the standby {name} reconciled nothing");
            assert!(text.contains("identity_center_operator_leader 0"), "{name} reports it is a standby");
        }
    }

    stack.kill_replica(&leader).await;
    let successor = eventually("the standby to take the Lease over", Duration::from_secs(45), || async {
        holder(&stack).await.filter(|h| *h != leader)
    })
    .await;
    // The successor's caches were warm; the settled object costs AWS nothing until its drift check.
    let successor_key = Stack::access_key(&successor);
    let successor_metrics = stack.replicas().into_iter().find(|(name, _)| *name == successor).unwrap().1;
    eventually("the successor to look at the settled object", CONVERGE, || async {
        let (_, text) = json("GET", &successor_metrics, "/metrics", "").await;
        text.contains("outcome=\"settled\"").then_some(())
    })
    .await;
    let called = stack.calls().await.into_iter().filter(|c| c.access_key.as_deref() == Some(successor_key.as_str()));
    assert_eq!(called.count(), 0, "a new leader calls AWS for no settled object");
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

/// When the API server received an audited request.
fn received(event: &Value) -> Timestamp {
    event["requestReceivedTimestamp"].as_str().and_then(|t| t.parse().ok()).expect("an audit event has a time")
}

/// The leader is frozen (SIGSTOP) with CreateInstance in flight and stays
/// frozen past its lease; the standby takes over and finishes the work.
/// Thawed, the old leader writes nothing more, to AWS (the emulator's call
/// log, by its access key) or to Kubernetes (the API server's audit log, by
/// its user), and exits.
pub async fn a_frozen_leader_writes_nothing_after_a_standby_took_over(plane: &mut ControlPlane) {
    let mut stack = Stack::start_replicated(plane, "fencing", "createSeconds: 1\n").await;
    let leader = eventually("a replica to hold the Lease", Duration::from_secs(30), || holder(&stack)).await;
    let standby = stack.replicas().into_iter().map(|(name, _)| name).find(|name| *name != leader).unwrap();
    let leader_key = Stack::access_key(&leader);
    // AWS holds the answer back: the leader freezes with the call in flight.
    stack.set_faults(json!({"rules": [{"operation": "CreateInstance", "delayAnswerMs": 5000}]})).await;
    stack.apply("platform", json!({"name": "fenced", "deletionPolicy": "Delete"})).await.unwrap();
    let in_flight = eventually("the leader's CreateInstance", CONVERGE, || async {
        stack.calls().await.into_iter().find(|call| call.operation == "CreateInstance")
    })
    .await;
    stack.freeze_replica(&leader);
    let frozen_at = Timestamp::now();
    assert_eq!(in_flight.access_key.as_deref(), Some(leader_key.as_str()), "the leader sent it");
    let last_seq_before_freeze = stack.calls().await.last().map_or(0, |call| call.seq);
    stack.set_faults(json!({"rules": []})).await;

    let successor = eventually("the standby to take the Lease over", Duration::from_secs(45), || async {
        holder(&stack).await.filter(|h| *h != leader)
    })
    .await;
    assert_eq!(successor, standby);
    stack.wait_for("platform", "Ready", "True").await;
    // An edit, so that the old leader's watch has work waiting when it thaws.
    stack
        .apply("platform", json!({"name": "fenced", "deletionPolicy": "Delete", "tags": {"team": "a"}}))
        .await
        .unwrap();
    eventually("the successor to tag the instance", CONVERGE, || async {
        (stack.count("TagResource").await == 1).then_some(())
    })
    .await;

    stack.thaw_replica(&leader);
    let exited_cleanly = stack.wait_replica_exit(&leader, Duration::from_secs(30)).await;
    assert!(!exited_cleanly, "the old leader exits with an error: it lost its lease");

    let late_calls: Vec<_> = (stack.calls().await.into_iter())
        .filter(|call| call.seq > last_seq_before_freeze && call.access_key.as_deref() == Some(leader_key.as_str()))
        .collect();
    assert!(late_calls.is_empty(), "the old leader called AWS after it froze: {late_calls:?}");
    let user = Stack::kubernetes_user(&leader);
    // A request already on the wire when the process froze may be received a moment later.
    let settled = frozen_at + Duration::from_secs(1);
    let late_writes: Vec<_> = (plane.audited_writes().into_iter())
        .filter(|event| event["impersonatedUser"]["username"] == user.as_str() && received(event) > settled)
        .map(|event| format!("{} {}", event["verb"], event["requestURI"]))
        .collect();
    assert!(late_writes.is_empty(), "the old leader wrote to Kubernetes after it froze: {late_writes:?}");
    let log = std::fs::read_to_string(stack.replica_log(&leader)).unwrap();
    assert!(log.contains("does not hold a current leader lease"), "the fence, not luck, stopped its writes:\n{log}");
    assert!(log.contains("lost leadership"), "{log}");

    let instances = stack.instances_of("111122223333").await;
    assert_eq!(instances.len(), 1, "one instance: {instances:?}");
    assert_eq!(stack.count("CreateInstance").await, 1, "the successor found the instance, it did not create again");
    let recorded = stack.get("platform").await.status.and_then(|s| s.instance_arn);
    assert_eq!(recorded.as_deref(), instances[0]["InstanceArn"].as_str());
    stack.shutdown().await;
}
