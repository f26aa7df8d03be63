//! Accounts that are taken, refused or failing, and AWS under load: every
//! object converges or stalls with the right condition, at a bounded call rate.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::controlplane::ControlPlane;
use crate::stack::Stack;

pub async fn one_object_per_account(plane: &mut ControlPlane) {
    let stack = Stack::start(plane, "claims", "createSeconds: 1\n").await;
    stack.apply("first", json!({})).await.unwrap();
    stack.wait_for("first", "Ready", "True").await;
    stack.apply("second", json!({})).await.unwrap();
    let refused = stack.wait_for("second", "Stalled", "True").await;
    let stalled = refused.condition("Stalled").unwrap();
    assert_eq!(stalled.reason, "AccountAlreadyManaged");
    assert!(
        stalled.message.contains("claims/first") && stalled.message.contains("111122223333"),
        "{}",
        stalled.message
    );
    assert_eq!(stack.count("CreateInstance").await, 1, "the second object never called CreateInstance");
    stack.shutdown().await;
}

pub async fn management_account_and_create_failed_stall(plane: &mut ControlPlane) {
    let config = "createSeconds: 1\nmanagementAccounts: ['111122223333']\nfailCreation:\n- name: doomed\n  reason: 'Identity store quota reached'\n";
    let stack = Stack::start(plane, "stalls", config).await;
    stack.apply("management", json!({})).await.unwrap();
    let refused = stack.wait_for("management", "Stalled", "True").await;
    let condition = refused.condition("Stalled").unwrap();
    assert_eq!(condition.reason, "ManagementAccount");
    assert!(condition.message.contains("member account"), "{}", condition.message);

    stack
        .apply("doomed", json!({"name": "doomed", "credentials": {"roleArn": "arn:aws:iam::400000000001:role/admin"}}))
        .await
        .unwrap();
    let failed = stack.wait_for("doomed", "Stalled", "True").await;
    assert_eq!(failed.condition("Stalled").unwrap().reason, "CreateFailed");
    let status = failed.status.clone().unwrap();
    assert_eq!(
        (status.state.as_deref(), status.state_reason.as_deref()),
        (Some("CREATE_FAILED"), Some("Identity store quota reached"))
    );
    assert_eq!(failed.condition("Ready").unwrap().status, "False");

    tokio::time::sleep(Duration::from_secs(5)).await;
    let creates = stack.calls().await.into_iter().filter(|c| c.operation == "CreateInstance").count();
    assert_eq!(creates, 2, "terminal errors are not retried: one CreateInstance per object");
    stack.shutdown().await;
}

pub async fn throttling_storms_and_5xx_bursts_converge(plane: &mut ControlPlane) {
    let faults = "createSeconds: 1\nfaults:\n  rateLimit: {perSecond: 10, burst: 10}\n  rules:\n  - throttle: 0.3\n  - serverError: 0.2\n";
    let stack = Stack::start(plane, "storm", faults).await;
    let started = Instant::now();
    let names: Vec<String> = (1..=6).map(|i| format!("storm-{i}")).collect();
    for (i, name) in names.iter().enumerate() {
        let role = format!("arn:aws:iam::5000000000{:02}:role/admin", i + 1);
        stack
            .apply(name, json!({"name": name, "tags": {"n": i.to_string()}, "credentials": {"roleArn": role}}))
            .await
            .unwrap();
    }
    for name in &names {
        let object = stack.wait_for(name, "Ready", "True").await;
        assert_eq!(object.status.unwrap().state.as_deref(), Some("ACTIVE"), "{name}");
    }
    let elapsed = started.elapsed().as_secs_f64();
    let calls = stack.calls().await;
    let failed = calls.iter().filter(|c| c.outcome != "ok").count();
    assert!(failed > 0, "the storm did inject faults");
    let rate = calls.len() as f64 / elapsed;
    assert!(rate < 25.0, "{} calls in {elapsed:.1}s is {rate:.1}/s: backoff keeps the rate bounded", calls.len());
    let mut created: BTreeMap<String, usize> = BTreeMap::new();
    for call in calls.iter().filter(|c| c.operation == "CreateInstance" && c.outcome == "ok") {
        *created.entry(call.account.clone().unwrap()).or_default() += 1;
    }
    assert_eq!(created.len(), 6, "{created:?}");
    assert!(created.values().all(|n| *n == 1), "one successful CreateInstance per account: {created:?}");
    println!("    storm: {} calls ({failed} faulted) in {elapsed:.1}s, {rate:.1} calls/s", calls.len());
    stack.shutdown().await;
}
