//! Create, edit, drift and delete, as a user sees them.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, ListParams};
use serde_json::{Value, json};

use crate::controlplane::ControlPlane;
use crate::http::json;
use crate::process::eventually;
use crate::stack::{CONVERGE, Stack, ownership_tags, spec_tags, tag_map};

const ACCOUNT: &str = "111122223333";
const FAST: &str = "createSeconds: 1\ndeleteSeconds: 1\n";

async fn event_reasons(stack: &Stack, name: &str) -> Vec<String> {
    let events: Api<Event> = Api::namespaced(stack.client.clone(), &stack.namespace);
    let listed = events.list(&ListParams::default()).await.unwrap();
    let about = listed.items.into_iter().filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name));
    about.filter_map(|e| e.reason).collect()
}

/// The SSO Admin calls that change something, with their parameters.
async fn writes(stack: &Stack) -> Vec<(String, Value)> {
    let calls = stack.calls().await.into_iter().filter(|c| c.service == "sso" && c.outcome == "ok");
    let writes =
        calls.filter(|c| !["DescribeInstance", "ListInstances", "ListTagsForResource"].contains(&c.operation.as_str()));
    writes.map(|c| (c.operation, c.request)).collect()
}

pub async fn apply_reaches_ready_and_shows_printer_columns(plane: &mut ControlPlane) {
    let stack = Stack::start(plane, "lifecycle", "createSeconds: 3\n").await;
    let manifest = stack.logs_file("platform.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: identitycenter.dev/v1alpha1\nkind: IdentityCenterInstance\nmetadata:\n  name: platform\nspec:\n  name: platform-sso\n  tags:\n    team: platform\n",
    )
    .unwrap();
    stack.kubectl().run(&["apply", "-f", manifest.to_str().unwrap()]);

    let arn = eventually("the ARN in status", CONVERGE, || async {
        let status = stack.get("platform").await.status?;
        status.instance_arn.map(|arn| (arn, status.state))
    })
    .await;
    assert_ne!(arn.1.as_deref(), Some("ACTIVE"), "the ARN is in status before the instance is ACTIVE");
    stack.kubectl().run(&["wait", "--for=condition=Ready", "ici/platform", "--timeout=60s"]);

    let object = stack.get("platform").await;
    let status = object.status.clone().unwrap();
    assert_eq!(status.instance_arn.as_deref(), Some(arn.0.as_str()), "the ARN never changes");
    assert_eq!(status.state.as_deref(), Some("ACTIVE"));
    assert_eq!(status.region.as_deref(), Some("eu-west-1"));
    assert_eq!(status.owner_account_id.as_deref(), Some(ACCOUNT));
    assert!(status.identity_store_id.as_deref().is_some_and(|id| id.starts_with("d-")));
    assert!(status.created_date.is_some());
    assert_eq!(status.observed_generation, object.metadata.generation);
    for (type_, expected) in [("Ready", "True"), ("Synced", "True"), ("Stalled", "False")] {
        assert_eq!(object.condition(type_).map(|c| c.status.as_str()), Some(expected), "{type_}");
    }

    let creates: Vec<_> = stack.calls().await.into_iter().filter(|c| c.operation == "CreateInstance").collect();
    assert_eq!(creates.len(), 1, "exactly one CreateInstance");
    assert_eq!(creates[0].request["ClientToken"], object.metadata.uid.clone().unwrap(), "ClientToken is the UID");
    assert_eq!(creates[0].request["Name"], "platform-sso");
    let mut tags = ownership_tags(&stack.namespace, "platform");
    tags.insert("team".into(), "platform".into());
    assert_eq!(tag_map(&creates[0].request["Tags"]), tags, "the spec's tags and the ownership tags");

    let table = stack.kubectl().run(&["get", "ici"]);
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["NAME", "INSTANCE", "NAME", "ARN", "STATE", "READY", "SYNCED", "AGE"], "{table}");
    let row = table.lines().nth(1).unwrap();
    assert!(
        row.starts_with("platform")
            && row.contains("platform-sso")
            && row.contains(&arn.0)
            && row.contains("ACTIVE")
            && row.contains("True"),
        "{table}"
    );
    let wide = stack.kubectl().run(&["get", "ici", "-o", "wide"]);
    assert!(wide.contains("REGION") && wide.contains("eu-west-1") && wide.contains("IDENTITY STORE"), "{wide}");
    let explained = stack.kubectl().run(&["explain", "ici.spec"]);
    for field in
        ["deletionPolicy", "Retain (default)", "instanceArn", "managementPolicy", "exportTo", "Immutable once set"]
    {
        assert!(explained.contains(field), "kubectl explain documents {field}: {explained}");
    }
    let status = stack.kubectl().run(&["explain", "ici.status", "--recursive=false"]);
    let nested = stack.kubectl().run(&["explain", "ici.status.regions", "--recursive=false"]);
    for text in [&status, &nested] {
        assert!(!text.contains("Time is a wrapper"), "every status field has its own description: {text}");
    }
    let by_category = stack.kubectl().run(&["get", "identitycenter"]);
    assert!(by_category.contains("platform"), "category identitycenter lists it: {by_category}");

    let reasons = event_reasons(&stack, "platform").await;
    for reason in ["CreateRequested", "InstanceActive"] {
        assert!(reasons.iter().any(|r| r == reason), "event {reason} in {reasons:?}");
    }
    let (_, metrics) = json("GET", stack.metrics_addr(), "/metrics", "").await;
    assert!(
        metrics.contains(r#"identity_center_operator_aws_calls_total{operation="CreateInstance",outcome="success"} 1"#),
        "{metrics}"
    );
    assert!(metrics.contains("identity_center_operator_reconcile_duration_seconds_bucket"));
    stack.shutdown().await;
}

pub async fn edits_and_drift_reach_aws_as_exact_calls(plane: &mut ControlPlane) {
    let stack = Stack::start(plane, "edits", FAST).await;
    stack.apply("platform", json!({"name": "before", "tags": {"keep": "1", "drop": "x"}})).await.unwrap();
    let ready = stack.wait_for("platform", "Ready", "True").await;
    let arn = ready.status.unwrap().instance_arn.unwrap();
    stack.clear_calls().await;

    stack.apply("platform", json!({"name": "after", "tags": {"keep": "1", "add": "2"}})).await.unwrap();
    stack.wait_for("platform", "Ready", "True").await;
    assert_eq!(
        writes(&stack).await,
        [
            ("UpdateInstance".to_string(), json!({"InstanceArn": arn, "Name": "after"})),
            ("UntagResource".to_string(), json!({"InstanceArn": arn, "ResourceArn": arn, "TagKeys": ["drop"]})),
            (
                "TagResource".to_string(),
                json!({"InstanceArn": arn, "ResourceArn": arn, "Tags": [{"Key": "add", "Value": "2"}]})
            ),
        ]
    );

    // Someone renames and tags the instance in the console; the resync puts it back.
    let (status, _) = stack.aws(ACCOUNT, "UpdateInstance", json!({"InstanceArn": arn, "Name": "console-edit"})).await;
    assert_eq!(status, 200);
    let (status, _) =
        stack.aws(ACCOUNT, "TagResource", json!({"ResourceArn": arn, "Tags": [{"Key": "rogue", "Value": "1"}]})).await;
    assert_eq!(status, 200);
    stack.clear_calls().await;
    eventually("drift to be repaired by the resync", Duration::from_secs(45), || async {
        let (_, described) = stack.aws(ACCOUNT, "DescribeInstance", json!({"InstanceArn": arn})).await;
        let (_, tags) = stack.aws(ACCOUNT, "ListTagsForResource", json!({"ResourceArn": arn})).await;
        (described["Name"] == "after"
            && spec_tags(&tags["Tags"]) == BTreeMap::from([("add".into(), "2".into()), ("keep".into(), "1".into())]))
        .then_some(())
    })
    .await;
    let repaired: Vec<String> = writes(&stack).await.into_iter().map(|(op, _)| op).collect();
    assert_eq!(repaired, ["UpdateInstance", "UntagResource"], "only the drift is undone");
    stack.shutdown().await;
}

pub async fn deletion_policies(plane: &mut ControlPlane) {
    // 300000000003 is an organization's management account, with the organization's instance.
    let config = "createSeconds: 1\ndeleteSeconds: 3\nmanagementAccounts: ['300000000003']\n\
                  instances: [{account: '300000000003', region: eu-west-1, name: organization}]\n";
    let stack = Stack::start(plane, "deletion", config).await;
    let role = |account: &str| json!({"roleArn": format!("arn:aws:iam::{account}:role/identity-center-admin")});
    stack.apply("delete-me", json!({"deletionPolicy": "Delete", "credentials": role("300000000001")})).await.unwrap();
    stack.apply("retain-me", json!({"credentials": role("300000000002")})).await.unwrap();
    stack
        .apply("never-created", json!({"deletionPolicy": "Delete", "credentials": role("300000000003")}))
        .await
        .unwrap();
    stack.wait_for("delete-me", "Ready", "True").await;
    stack.wait_for("retain-me", "Ready", "True").await;
    let stalled = stack.wait_for("never-created", "Stalled", "True").await;
    assert_eq!(stalled.condition("Stalled").unwrap().reason, "ManagementAccount");
    for name in ["delete-me", "retain-me", "never-created"] {
        let finalizers = stack.get(name).await.metadata.finalizers.unwrap_or_default();
        assert_eq!(finalizers, ["identitycenter.dev/finalizer"], "{name}");
    }

    stack.delete("delete-me").await;
    eventually("the object to wait, finalizer on, while its instance is DELETE_IN_PROGRESS", CONVERGE, || async {
        let present = stack.api().get_opt("delete-me").await.unwrap().is_some();
        let instance = stack.instances_of("300000000001").await;
        (present && instance.first().is_some_and(|i| i["Status"] == "DELETE_IN_PROGRESS")).then_some(())
    })
    .await;
    stack.wait_gone("delete-me").await;
    assert!(stack.instances_of("300000000001").await.is_empty(), "released only once the instance is gone");
    assert_eq!(stack.count("DeleteInstance").await, 1);

    stack.delete("retain-me").await;
    stack.wait_gone("retain-me").await;
    let retained = stack.instances_of("300000000002").await;
    assert_eq!(retained.len(), 1, "Retain left the instance");
    assert_eq!(retained[0]["Status"], "ACTIVE");

    stack.delete("never-created").await;
    stack.wait_gone("never-created").await;
    assert_eq!(stack.count("DeleteInstance").await, 1, "nothing to delete for an object that never got an ARN");

    // One INFO line per AWS write and state change, with the object, ARN, account and region as fields.
    let (lines, text) = stack.operator_logs();
    let changes = |object: &str| -> Vec<Value> {
        let of_object = lines.iter().filter(|l| l["fields"]["object"] == format!("deletion/{object}"));
        of_object.map(|l| l["fields"].clone()).collect()
    };
    let reasons = |object: &str| -> Vec<String> {
        changes(object).iter().filter_map(|f| f["reason"].as_str().map(String::from)).collect()
    };
    assert_eq!(
        reasons("delete-me"),
        ["CreateRequested", "InstanceActive", "DeleteRequested", "Deleting", "InstanceDeleted"],
        "{:?}",
        changes("delete-me")
    );
    for fields in changes("delete-me") {
        assert!(fields["arn"].as_str().is_some_and(|arn| arn.starts_with("arn:aws:sso:::instance/")), "{fields}");
        assert_eq!((fields["account"].as_str(), fields["region"].as_str()), (Some("300000000001"), Some("eu-west-1")));
    }
    assert_eq!(reasons("retain-me").last().map(String::as_str), Some("Retained"));
    assert!(lines.iter().any(|l| l["level"] == "INFO" && l["fields"]["reason"] == "InstanceActive"), "at INFO");
    for secret in ["e2e-secret", "SecretAccessKey", "SessionToken", "secret_access_key"] {
        assert!(!text.contains(secret), "a log line holds credentials ({secret})");
    }
    let organization = stack.instances_of("300000000003").await;
    assert_eq!(organization.len(), 1, "the organization's instance in that account is untouched");
    let reasons = event_reasons(&stack, "retain-me").await;
    assert!(reasons.iter().any(|r| r == "Retained"), "{reasons:?}");
    stack.shutdown().await;
}
