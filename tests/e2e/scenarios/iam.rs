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

pub const E2E_ORGANIZATION: &str = "o-e2eorg0001";

/// A stack whose emulator authorizes with `policies` (principal -> document).
async fn stack(plane: &ControlPlane, namespace: &str, policies: Value) -> Stack {
    // deploy/iam's operator policy assumes roles only inside its own organization.
    let mut organizations = json!({"111122223333": E2E_ORGANIZATION});
    for index in 0..=20 {
        organizations[format!("4100000000{index:02}")] = json!(E2E_ORGANIZATION);
    }
    let config = json!({
        "createSeconds": 1, "deleteSeconds": 1, "iam": {"policies": policies}, "accountOrganizations": organizations,
    });
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

fn network() -> Value {
    json!({"vpceAccessRequired": true, "allowSourceIps": ["203.0.113.0/24"]})
}

/// A spec with attribute-based access control on these keys.
fn abac(keys: &[&str]) -> Value {
    let attributes: Vec<Value> = keys.iter().map(|k| json!({"key": k, "source": format!("${{path:{k}}}")})).collect();
    json!({"accessControlAttributes": attributes})
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
        ("list-tags", "sso:ListTagsForResource", json!({}), Step::Edit(json!({"tags": {"a": "1"}}))),
        ("list-instances", "sso:ListInstances", json!({"managementPolicy": "ObserveOnly"}), Step::Follow),
        ("rename", "sso:UpdateInstance", json!({"name": "before"}), Step::Edit(json!({"name": "after"}))),
        ("untag", "sso:UntagResource", json!({"tags": {"a": "1", "b": "2"}}), Step::Edit(json!({"tags": {"a": "1"}}))),
        ("delete", "sso:DeleteInstance", json!({"deletionPolicy": "Delete"}), Step::Delete),
        ("delete-store", "identitystore:DeleteIdentityStore", json!({"deletionPolicy": "Delete"}), Step::Delete),
        ("network", "sso:UpdateInstance", json!({"network": network()}), Step::Follow),
        ("abac-describe", "sso:DescribeInstanceAccessControlAttributeConfiguration", abac(&["A"]), Step::Follow),
        ("abac-create", "sso:CreateInstanceAccessControlAttributeConfiguration", abac(&["A"]), Step::Follow),
        (
            "abac-update",
            "sso:UpdateInstanceAccessControlAttributeConfiguration",
            abac(&["A"]),
            Step::Edit(abac(&["A", "B"])),
        ),
        ("abac-delete", "sso:DeleteInstanceAccessControlAttributeConfiguration", abac(&["A"]), Step::Edit(abac(&[]))),
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
        edited["network"] = network();
        edited["accessControlAttributes"] = abac(&["A"])["accessControlAttributes"].clone();
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

/// The second line of defence: a role whose trust policy names namespace
/// iso-trust-a refuses AssumeRole for an object of iso-trust-b, with tenancy
/// open (no grant asked), because the operator tags each session with its
/// object's namespace.
pub async fn a_roles_trust_policy_admits_only_its_own_namespace(plane: &mut ControlPlane) {
    let (team_a, team_b) = ("iso-trust-a", "iso-trust-b");
    let operator_key = Stack::access_key("operator-1");
    let operator_role = "arn:aws:iam::111122223333:role/identity-center-operator";
    let trust = std::fs::read_to_string(format!("{IAM}/account-role-trust-policy.json")).unwrap();
    let trust = trust.replace("OPERATOR_ACCOUNT_ID", "111122223333").replace("TEAM_NAMESPACE", team_a);
    let mut trust: Value = serde_json::from_str(&trust).unwrap();
    trust["Statement"][0]["Condition"]["StringEquals"].as_object_mut().unwrap().remove("sts:ExternalId");
    let account = "410000000099";
    let config = json!({
        "createSeconds": 1,
        "accountOrganizations": {"111122223333": E2E_ORGANIZATION, account: E2E_ORGANIZATION},
        "iam": {
            "principals": {operator_key.clone(): operator_role},
            "policies": {operator_role: policy("operator-policy.json"), role(account): policy("account-role-policy.json")},
            "trustPolicies": {role(account): trust},
        },
    });
    let stack = Stack::start_open_tenants(plane, &[team_a, team_b], &config.to_string()).await;
    let spec = json!({"credentials": {"roleArn": role(account)}});
    stack.apply_in(team_b, "intruder", spec.clone()).await.unwrap();
    eventually("team-b's object to be refused its role", CONVERGE, || async {
        let object = stack.api_in(team_b).get("intruder").await.ok()?;
        let synced = object.condition("Synced")?;
        (synced.status == "False" && synced.reason == "CredentialsUnavailable").then_some(synced.message.clone())
    })
    .await;
    let refused = stack.get_in(team_b, "intruder").await;
    let message = &refused.condition("Synced").unwrap().message;
    assert!(!message.contains(operator_role), "the operator's principal stays out of a tenant's status: {message}");
    // The older object holds the account's claim (tenancy is open): it goes
    // before the rightful one comes, whatever second each was created in.
    stack.delete_in(team_b, "intruder").await;
    stack.wait_gone_in(team_b, "intruder").await;
    stack.apply_in(team_a, "rightful", spec).await.unwrap();
    stack.wait_for_in(team_a, "rightful", "Ready", "True").await;

    let calls = stack.calls().await;
    let sessions: Vec<(String, Value)> = calls
        .iter()
        .filter_map(|c| c.assume_role.as_ref())
        .map(|a| (a.role_session_name.clone().unwrap_or_default(), json!(a.tags)))
        .collect();
    let intruder_tags = json!({"kubernetes-namespace": team_b, "kubernetes-name": "intruder"});
    assert!(sessions.contains(&("ico-iso-trust-b-intruder".to_string(), intruder_tags)), "{sessions:?}");
    assert!(sessions.iter().any(|(name, _)| name == "ico-iso-trust-a-rightful"), "{sessions:?}");
    let created: Vec<&str> =
        calls.iter().filter(|c| c.operation == "CreateInstance").filter_map(|c| c.account.as_deref()).collect();
    assert_eq!(created, [account], "one instance, for team-a's object only");
    stack.shutdown().await;
}
