//! Instance sets and tenancy: grants that admit accounts by OU, a set's
//! Organizations role granted like any role, a tenant who points a set at
//! another tenant's organization and accounts (and reaches nothing), and
//! deploy/iam's Organizations reader policy proven by the emulator's IAM.

use serde_json::{Value, json};

use super::instance_sets::{
    READER, SANDBOXES, apply_set, children, creates_by_account, member, organization, set_spec, wait_for_set,
};
use crate::controlplane::ControlPlane;
use crate::stack::Stack;

const IAM: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/iam");
const OPERATOR_ACCOUNT: &str = "111122223333";

fn policy(file: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(format!("{IAM}/{file}")).unwrap()).unwrap()
}

/// The AssumeRole sessions that `namespace`'s objects asked for, by role.
async fn sessions_of(stack: &Stack, namespace: &str) -> Vec<String> {
    let prefix = format!("ico-{namespace}-");
    let calls = stack.calls().await;
    let sessions = calls.iter().filter_map(|c| c.assume_role.as_ref());
    let mine = sessions.filter(|a| a.role_session_name.as_deref().is_some_and(|n| n.starts_with(&prefix)));
    mine.map(|a| a.role_arn.clone().unwrap_or_default()).collect()
}

/// Tenant A's grant admits its set's reader role and the accounts under
/// the sandboxes OU; tenant B holds a grant for its own account only, and
/// tries, through sets, to read A's organization with A's role, with the
/// operator's credentials, and (once granted the reader) to make instances
/// in A's accounts. A's set goes Ready; nothing of B's reaches AWS but the
/// reads it was granted; A's instances are untouched.
pub async fn a_tenant_cannot_reach_another_tenants_accounts_through_a_set(plane: &mut ControlPlane) {
    let (a, b) = ("set-tenant-a", "set-tenant-b");
    let stack = Stack::start_tenants(plane, &[a, b], &organization(10, json!({}))).await;
    stack
        .grant(a, json!({"namespaces": {"names": [a]}, "accounts": {"roleArns": [READER], "organizationalUnits": [SANDBOXES]}}))
        .await;
    let own_role = "arn:aws:iam::300000000001:role/identity-center-admin";
    stack.grant(b, json!({"namespaces": {"names": [b]}, "accounts": {"roleArns": [own_role]}})).await;

    apply_set(&stack, a, "sandboxes", set_spec("3s", json!({"maxConcurrent": 10}))).await;
    wait_for_set(&stack, a, "sandboxes", "Ready", "True", Some("AllInstancesReady")).await;
    assert_eq!(children(&stack, a, "sandboxes").await.len(), 10, "admitted by OU, from the set's own read");

    // B names A's reader role: refused before any call.
    apply_set(&stack, b, "borrowed-reader", set_spec("3s", json!({}))).await;
    let refused = wait_for_set(&stack, b, "borrowed-reader", "Stalled", "True", Some("NotPermitted")).await;
    let message = &refused.condition("Stalled").unwrap().message;
    assert!(message.contains("may not read AWS Organizations") && message.contains(READER), "{message}");
    // B names no role: the operator's own credentials are not granted either.
    let mut own_credentials = set_spec("3s", json!({}));
    own_credentials["organization"] = json!({"organizationalUnits": [SANDBOXES]});
    apply_set(&stack, b, "operator-credentials", own_credentials).await;
    wait_for_set(&stack, b, "operator-credentials", "Stalled", "True", Some("NotPermitted")).await;
    assert_eq!(sessions_of(&stack, b).await, Vec::<String>::new(), "no AssumeRole for B");

    // Granted the reader, B's set reads the OU, but every child is refused:
    // no grant of B admits A's accounts (the OU grant is A's).
    stack
        .grant(&format!("{b}-reader"), json!({"namespaces": {"names": [b]}, "accounts": {"roleArns": [READER]}}))
        .await;
    apply_set(&stack, b, "intruder", set_spec("3s", json!({"maxConcurrent": 10, "failureTolerance": 10}))).await;
    let intruder = wait_for_set(&stack, b, "intruder", "Ready", "False", Some("InstancesFailed")).await;
    let status = intruder.status.unwrap();
    assert_eq!((status.accounts, status.failed_instances), (Some(10), 10), "{status:?}");
    assert!(status.failures.iter().all(|f| f.reason == "NotPermitted"), "{:?}", status.failures);
    let sessions = sessions_of(&stack, b).await;
    assert!(sessions.iter().all(|role| role == READER), "B acted only through the reader: {sessions:?}");

    // What reached AWS: one CreateInstance per account, all A's; no write of B's; A's instances intact.
    let creates = creates_by_account(&stack).await;
    assert_eq!(creates.keys().cloned().collect::<Vec<_>>(), (1..=10).map(member).collect::<Vec<_>>());
    assert!(creates.values().all(|n| *n == 1), "{creates:?}");
    for n in 1..=10 {
        assert_eq!(stack.instances_of(&member(n)).await.len(), 1);
    }
    for write in ["DeleteInstance", "UpdateInstance", "TagResource", "UntagResource"] {
        assert_eq!(stack.count(write).await, 0, "{write}");
    }
    stack.shutdown().await;
}

/// deploy/iam/organizations-reader.json, loaded verbatim, is enough for a
/// set to read nested OUs; without either of its actions the set is Stalled
/// naming it. The operator's policy assumes the reader role as it is named.
pub async fn the_organizations_reader_policy_is_enough_and_each_action_is_needed(plane: &mut ControlPlane) {
    let without = |action: &str| {
        let mut reader = policy("organizations-reader.json");
        for statement in reader["Statement"].as_array_mut().unwrap() {
            statement["Action"].as_array_mut().unwrap().retain(|a| a != action);
        }
        reader
    };
    let reader_named = |account: &str| format!("arn:aws:iam::{account}:role/identity-center-organizations-reader");
    // Three management accounts would need three organizations: the same
    // organization's delegated administrators stand in for the other two.
    let (no_accounts, no_units) = ("999999999998", "999999999997");
    let mut policies = json!({
        Stack::access_key("operator-1"): policy("operator-policy.json"),
        READER: policy("organizations-reader.json"),
        reader_named(no_accounts): without("organizations:ListAccountsForParent"),
        reader_named(no_units): without("organizations:ListOrganizationalUnitsForParent"),
    });
    for n in 1..=6 {
        policies[format!("arn:aws:iam::{}:role/identity-center-admin", member(n))] = policy("account-role-policy.json");
    }
    let mut config: Value = serde_json::from_str(&organization(6, json!({"iam": {"policies": policies}}))).unwrap();
    let seeded = &mut config["organization"];
    seeded["delegatedAdministrators"] = json!([no_accounts, no_units]);
    seeded["accounts"] = json!([OPERATOR_ACCOUNT, no_accounts, no_units]);
    let stack = Stack::start(plane, "set-iam", &config.to_string()).await;
    let ns = stack.namespace.clone();

    apply_set(&stack, &ns, "full", set_spec("30s", json!({"maxConcurrent": 6}))).await;
    wait_for_set(&stack, &ns, "full", "Ready", "True", Some("AllInstancesReady")).await;
    for (name, account, action) in [
        ("no-accounts", no_accounts, "organizations:ListAccountsForParent"),
        ("no-units", no_units, "organizations:ListOrganizationalUnitsForParent"),
    ] {
        let mut spec = set_spec("30s", json!({}));
        spec["organization"]["credentials"]["roleArn"] = json!(reader_named(account));
        apply_set(&stack, &ns, name, spec).await;
        let set = wait_for_set(&stack, &ns, name, "Stalled", "True", Some("OrganizationsAccessDenied")).await;
        let message = &set.condition("Stalled").unwrap().message;
        assert!(message.contains(action), "{name}: {message}");
    }
    stack.shutdown().await;
}
