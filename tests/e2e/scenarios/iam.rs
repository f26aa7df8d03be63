//! The IAM policies in deploy/iam/, loaded exactly into the emulator's IAM
//! authorization: they are enough for the whole lifecycle, and each action
//! in them is needed (without it, its step fails with AccessDenied and the
//! condition names the missing permission).

use serde_json::{Value, json};

use crate::controlplane::ControlPlane;
use crate::process::eventually;
use crate::stack::{CONVERGE, Stack};

const IAM: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/iam");

fn policy(file: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(format!("{IAM}/{file}")).unwrap()).unwrap()
}

/// `policy` with `action` taken out of every statement.
fn without(mut policy: Value, action: &str) -> Value {
    for statement in policy["Statement"].as_array_mut().unwrap() {
        match &mut statement["Action"] {
            Value::Array(actions) => actions.retain(|a| a != action),
            single if single == action => *single = json!([]),
            _ => {}
        }
    }
    policy
}

fn role(account: &str) -> String {
    format!("arn:aws:iam::{account}:role/identity-center-admin")
}

/// A stack whose emulator authorizes with `policies` (principal -> document).
async fn stack(plane: &ControlPlane, namespace: &str, policies: Value) -> Stack {
    let config = json!({"createSeconds": 1, "deleteSeconds": 1, "iam": {"policies": policies}});
    Stack::start(plane, namespace, &config.to_string()).await
}

/// Waits until `name` reports a refusal that names `action`.
async fn refused_for(stack: &Stack, name: &str, action: &str) {
    eventually(&format!("{name} to report that it lacks {action}"), CONVERGE, || async {
        let object = stack.get(name).await;
        let synced = object.condition("Synced")?;
        let names_it = synced.status == "False" && synced.message.contains(action);
        names_it.then_some(())
    })
    .await;
}

/// (object, the action its role lacks, spec, what happens after it is Ready)
enum Step {
    Create,
    Follow,
    Edit(Value),
    Delete,
}

pub async fn iam_policies_are_enough_and_each_action_is_needed(plane: &mut ControlPlane) {
    let operator_key = Stack::access_key("operator-1");
    let full = "410000000000";
    let tagged = json!({"name": "iam", "tags": {"team": "a"}, "deletionPolicy": "Delete"});
    let cases: Vec<(&str, &str, Value, Step)> = vec![
        ("create", "sso:CreateInstance", tagged.clone(), Step::Create),
        ("service-linked-role", "iam:CreateServiceLinkedRole", tagged.clone(), Step::Create),
        ("identity-store", "identitystore:CreateIdentityStore", tagged.clone(), Step::Create),
        ("tag-on-create", "sso:TagResource", tagged.clone(), Step::Create),
        ("describe", "sso:DescribeInstance", json!({}), Step::Follow),
        ("list-tags", "sso:ListTagsForResource", json!({}), Step::Follow),
        ("list-instances", "sso:ListInstances", json!({"managementPolicy": "ObserveOnly"}), Step::Follow),
        ("rename", "sso:UpdateInstance", json!({"name": "before"}), Step::Edit(json!({"name": "after"}))),
        ("untag", "sso:UntagResource", json!({"tags": {"a": "1", "b": "2"}}), Step::Edit(json!({"tags": {"a": "1"}}))),
        ("delete", "sso:DeleteInstance", json!({"deletionPolicy": "Delete"}), Step::Delete),
        ("delete-store", "identitystore:DeleteIdentityStore", json!({"deletionPolicy": "Delete"}), Step::Delete),
    ];
    let mut policies = json!({
        operator_key.clone(): policy("operator-policy.json"),
        role(full): policy("account-role-policy.json"),
    });
    for (index, (_, action, _, _)) in cases.iter().enumerate() {
        policies[role(&format!("4100000000{:02}", index + 1))] = without(policy("account-role-policy.json"), action);
    }
    let stack = stack(plane, "iam", policies).await;

    // The repository's policies are enough: in the operator's own account and through a role.
    stack.apply("own", json!({"name": "own", "tags": {"team": "a"}, "deletionPolicy": "Delete"})).await.unwrap();
    let through_role = json!({"name": "full", "tags": {"team": "a"}, "deletionPolicy": "Delete", "credentials": {"roleArn": role(full)}});
    stack.apply("full", through_role).await.unwrap();
    for (index, (name, _, spec, _)) in cases.iter().enumerate() {
        let mut spec = spec.clone();
        spec["credentials"] = json!({"roleArn": role(&format!("4100000000{:02}", index + 1))});
        stack.apply(name, spec).await.unwrap();
    }
    for name in ["own", "full"] {
        stack.wait_for(name, "Ready", "True").await;
        let mut edited = json!({"name": "renamed", "tags": {"other": "b"}, "deletionPolicy": "Delete"});
        if name == "full" {
            edited["credentials"] = json!({"roleArn": role(full)});
        }
        stack.apply(name, edited).await.unwrap();
    }
    for name in ["own", "full"] {
        eventually(&format!("{name} renamed and retagged"), CONVERGE, || async {
            let object = stack.get(name).await;
            let ready = object
                .condition("Ready")
                .is_some_and(|c| c.status == "True" && c.observed_generation == object.metadata.generation);
            ready.then_some(())
        })
        .await;
        stack.delete(name).await;
        stack.wait_gone(name).await;
    }

    // Each action is needed.
    for (index, (name, action, spec, step)) in cases.iter().enumerate() {
        let credentials = json!({"roleArn": role(&format!("4100000000{:02}", index + 1))});
        match step {
            Step::Create | Step::Follow => {}
            Step::Edit(edit) => {
                stack.wait_for(name, "Ready", "True").await;
                let mut edited = spec.clone();
                for (key, value) in edit.as_object().unwrap() {
                    edited[key] = value.clone();
                }
                edited["credentials"] = credentials;
                stack.apply(name, edited).await.unwrap();
            }
            Step::Delete => {
                stack.wait_for(name, "Ready", "True").await;
                stack.delete(name).await;
            }
        }
        refused_for(&stack, name, action).await;
        let object = stack.get(name).await;
        let synced = object.condition("Synced").unwrap();
        assert!(
            ["AccessDenied", "CredentialsUnavailable"].contains(&synced.reason.as_str()),
            "{name}: {} {}",
            synced.reason,
            synced.message
        );
        assert!(synced.message.contains("is not authorized to perform"), "AWS's wording: {}", synced.message);
    }
    let denied = stack.calls().await.into_iter().filter(|c| c.outcome == "AccessDeniedException").count();
    assert!(denied >= cases.len(), "every refusal came from the emulator's IAM check ({denied})");
    stack.shutdown().await;

    // sts:AssumeRole is needed by the operator's own policy for spec.credentials.
    let assume = stack_without_assume_role(plane, &operator_key).await;
    assume.apply("tenant", json!({"credentials": {"roleArn": role(full)}})).await.unwrap();
    refused_for(&assume, "tenant", "sts:AssumeRole").await;
    assert_eq!(assume.count("CreateInstance").await, 0);
    assume.shutdown().await;
}

async fn stack_without_assume_role(plane: &ControlPlane, operator_key: &str) -> Stack {
    let policies = json!({
        operator_key: without(policy("operator-policy.json"), "sts:AssumeRole"),
        role("410000000000"): policy("account-role-policy.json"),
    });
    stack(plane, "iam-assume", policies).await
}
