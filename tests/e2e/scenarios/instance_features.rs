//! What AWS added to the instance in 2026, as a user drives it with
//! kubectl: network controls, attribute-based access control, the identity
//! store's ARN, and an account whose instance lives in another Region. Each
//! asserts the exact calls that reached the emulator, and what AWS holds.

use serde_json::{Value, json};

use crate::controlplane::ControlPlane;
use crate::process::eventually;
use crate::stack::{CONVERGE, Stack};

const ROLE_ACCOUNT: &str = "360000000001";
const VPC: &str = "arn:aws:ec2:eu-west-1:360000000001:vpc/vpc-0123456789abcdef0";

fn role(account: &str) -> Value {
    json!({"roleArn": format!("arn:aws:iam::{account}:role/admin")})
}

/// The requests of `operation` that reached the emulator, in order.
async fn requests(stack: &Stack, operation: &str) -> Vec<Value> {
    stack.calls().await.into_iter().filter(|c| c.operation == operation).map(|c| c.request).collect()
}

async fn described(stack: &Stack, account: &str, arn: &str) -> Value {
    let (status, described) = stack.aws(account, "DescribeInstance", json!({"InstanceArn": arn})).await;
    assert_eq!(status, 200, "{described}");
    described
}

pub async fn network_controls_are_set_changed_repaired_and_left_alone_once_removed(plane: &mut ControlPlane) {
    let stack = Stack::start(plane, "network", "createSeconds: 0.5\ndeleteSeconds: 0.5\n").await;
    let network =
        json!({"vpceAccessRequired": true, "restrictSourceVpcs": [VPC], "allowSourceIps": ["203.0.113.0/24"]});
    let spec = json!({"credentials": role(ROLE_ACCOUNT), "network": network, "deletionPolicy": "Delete"});
    stack.apply("platform", spec).await.unwrap();
    let ready = stack.wait_for("platform", "Ready", "True").await;
    let status = ready.status.unwrap();
    let arn = status.instance_arn.clone().unwrap();
    assert_eq!(status.network.as_ref().unwrap().allow_source_ips, ["203.0.113.0/24"], "status shows AWS's");
    let store = status.identity_store_id.clone().unwrap();
    let store_arn = format!("arn:aws:identitystore::{ROLE_ACCOUNT}:identitystore/{store}");
    assert_eq!(status.identity_store_arn.as_deref(), Some(store_arn.as_str()));
    let sent = requests(&stack, "UpdateInstance").await;
    let whole = json!({"VpceAccessRequired": true, "RestrictSourceVpcs": [VPC], "AllowSourceIps": ["203.0.113.0/24"], "ExcludeApplicationArns": []});
    assert_eq!(sent, [json!({"InstanceArn": arn, "NetworkConfiguration": whole})], "one call, the whole configuration");

    // Changed in the spec: one UpdateInstance with the new whole configuration.
    stack.clear_calls().await;
    let changed = json!({"vpceAccessRequired": true, "allowSourceIps": ["198.51.100.0/24", "2001:db8::/32"]});
    stack
        .apply("platform", json!({"credentials": role(ROLE_ACCOUNT), "network": changed, "deletionPolicy": "Delete"}))
        .await
        .unwrap();
    eventually("the change to reach AWS", CONVERGE, || async {
        let details = described(&stack, ROLE_ACCOUNT, &arn).await["NetworkConfigurationDetails"].clone();
        let vpcs = details["RestrictSourceVpcs"].as_array().map_or(0, Vec::len);
        (details["AllowSourceIps"].as_array().map(Vec::len) == Some(2) && vpcs == 0).then_some(())
    })
    .await;
    stack.wait_for("platform", "Ready", "True").await;
    assert_eq!(stack.count("UpdateInstance").await, 1, "{:?}", stack.operations().await);

    // Changed in AWS behind the operator's back: the drift check puts the spec's back.
    let (code, body) = stack
        .aws(
            ROLE_ACCOUNT,
            "UpdateInstance",
            json!({"InstanceArn": arn, "NetworkConfiguration": {"VpceAccessRequired": false}}),
        )
        .await;
    assert_eq!(code, 200, "{body}");
    stack.clear_calls().await;
    eventually("the drift to be repaired", CONVERGE, || async {
        let details = described(&stack, ROLE_ACCOUNT, &arn).await["NetworkConfigurationDetails"].clone();
        (details["VpceAccessRequired"] == true && details["AllowSourceIps"].as_array().is_some_and(|v| v.len() == 2))
            .then_some(())
    })
    .await;

    assert_eq!(stack.count("UpdateInstance").await, 1, "one call put it back: {:?}", stack.operations().await);

    // Removed from the spec: AWS's is left as it is.
    stack.apply("platform", json!({"credentials": role(ROLE_ACCOUNT), "deletionPolicy": "Delete"})).await.unwrap();
    eventually("the new generation to be observed", CONVERGE, || async {
        let object = stack.get("platform").await;
        let status = object.status.as_ref()?;
        (status.observed_generation == object.metadata.generation && object.condition("Ready")?.status == "True")
            .then_some(())
    })
    .await;
    stack.clear_calls().await;
    stack.kubectl().run(&["annotate", "ici/platform", "identitycenter.dev/reconcile-requested-at=after-removal"]);
    eventually("a drift check", CONVERGE, || async {
        (stack.get("platform").await.status?.last_handled_reconcile_at.as_deref() == Some("after-removal"))
            .then_some(())
    })
    .await;
    assert_eq!(stack.count("UpdateInstance").await, 0, "nothing sent once the spec leaves it alone");
    let kept = described(&stack, ROLE_ACCOUNT, &arn).await["NetworkConfigurationDetails"].clone();
    assert_eq!(kept["AllowSourceIps"].as_array().map(Vec::len), Some(2), "AWS keeps the last configuration: {kept}");

    // A value the model refuses, and lists that vpceAccessRequired false would
    // have AWS clear, are refused at admission, before any call.
    let bad_ip = json!({"vpceAccessRequired": true, "allowSourceIps": ["300.0.0.1/8"]});
    let ignored_lists = json!({"vpceAccessRequired": false, "allowSourceIps": ["203.0.113.0/24"]});
    for (network, names) in [(bad_ip, "allowSourceIps"), (ignored_lists, "vpceAccessRequired false")] {
        let refused = json!({"credentials": role(ROLE_ACCOUNT), "network": network});
        let error = stack.apply("platform", refused).await.unwrap_err().to_string();
        assert!(error.contains(names), "{error}");
    }
    stack.shutdown().await;
}

pub async fn attribute_based_access_control_is_configured_changed_and_removed(plane: &mut ControlPlane) {
    let stack = Stack::start(plane, "abac", "createSeconds: 0.5\naccessControlAttributeSeconds: 1\n").await;
    let cost = json!({"key": "CostCenter", "source": "${path:enterprise.costCenter}"});
    let team = json!({"key": "Team", "source": "${path:enterprise.department}"});
    let spec = |attributes: Value| json!({"credentials": role(ROLE_ACCOUNT), "accessControlAttributes": attributes});
    stack.apply("platform", spec(json!([cost]))).await.unwrap();
    let ready = stack.wait_for("platform", "Ready", "True").await;
    let arn = ready.status.as_ref().unwrap().instance_arn.clone().unwrap();
    let shown = ready.status.unwrap().access_control_attributes.unwrap();
    assert_eq!(shown.status.as_deref(), Some("ENABLED"));
    let wire = |key: &str, source: &str| json!({"Key": key, "Value": {"Source": [source]}});
    let created = requests(&stack, "CreateInstanceAccessControlAttributeConfiguration").await;
    assert_eq!(
        created,
        [json!({
            "InstanceArn": arn,
            "InstanceAccessControlAttributeConfiguration": {"AccessControlAttributes": [wire("CostCenter", "${path:enterprise.costCenter}")]},
        })]
    );

    stack.clear_calls().await;
    stack.apply("platform", spec(json!([cost, team]))).await.unwrap();
    eventually("the update to reach AWS", CONVERGE, || async {
        (stack.count("UpdateInstanceAccessControlAttributeConfiguration").await == 1).then_some(())
    })
    .await;
    stack.wait_for("platform", "Ready", "True").await;
    let updated = requests(&stack, "UpdateInstanceAccessControlAttributeConfiguration").await;
    let both =
        json!([wire("CostCenter", "${path:enterprise.costCenter}"), wire("Team", "${path:enterprise.department}")]);
    assert_eq!(updated[0]["InstanceAccessControlAttributeConfiguration"]["AccessControlAttributes"], both);
    assert_eq!(stack.count("CreateInstanceAccessControlAttributeConfiguration").await, 0);

    // An empty list, unlike an absent one, removes the configuration (the list is atomic, so that
    // server-side apply keeps it empty instead of dropping it).
    let emptied = stack.apply("platform", spec(json!([]))).await.unwrap();
    assert_eq!(emptied.spec.access_control_attributes, Some(Vec::new()));
    eventually("the configuration to be removed", CONVERGE, || async {
        let (code, _) = stack
            .aws(ROLE_ACCOUNT, "DescribeInstanceAccessControlAttributeConfiguration", json!({"InstanceArn": arn}))
            .await;
        (code == 400 && stack.count("DeleteInstanceAccessControlAttributeConfiguration").await == 1).then_some(())
    })
    .await;
    stack.wait_for("platform", "Ready", "True").await;
    stack.shutdown().await;
}

pub async fn an_account_whose_instance_lives_in_another_region_is_told_to_adopt_it(plane: &mut ControlPlane) {
    let elsewhere = "arn:aws:sso:::instance/ssoins-7700000000000001";
    let config = format!(
        "createSeconds: 0.5\ninstances:\n- account: \"{ROLE_ACCOUNT}\"\n  region: us-east-1\n  arn: {elsewhere}\n"
    );
    let stack = Stack::start(plane, "other-region", &config).await;
    stack.apply("platform", json!({"credentials": role(ROLE_ACCOUNT)})).await.unwrap();
    let stalled = stack.wait_for("platform", "Stalled", "True").await;
    let condition = stalled.condition("Stalled").unwrap();
    assert_eq!(condition.reason, "InstanceInAnotherRegion");
    assert!(
        condition.message.contains(&format!("spec.instanceArn: {elsewhere} and spec.region: us-east-1")),
        "{}",
        condition.message
    );
    let listings = requests(&stack, "ListInstances").await;
    assert!(listings.iter().any(|l| l["RegionScope"] == "ALL_REGIONS"), "{listings:?}");

    // Drift checks and reconcile requests of the same generation do not send it again.
    stack.kubectl().run(&["annotate", "ici/platform", "identitycenter.dev/reconcile-requested-at=again"]);
    eventually("the reconcile request to be served", CONVERGE, || async {
        (stack.get("platform").await.status?.last_handled_reconcile_at.as_deref() == Some("again")).then_some(())
    })
    .await;
    assert_eq!(stack.count("CreateInstance").await, 1, "{:?}", stack.operations().await);
    let refused = stack.get("platform").await;
    assert_eq!(refused.condition("Stalled").unwrap().reason, "InstanceInAnotherRegion");

    // The fix the condition names: adopt it, in its Region.
    let adopt = json!({"credentials": role(ROLE_ACCOUNT), "instanceArn": elsewhere, "region": "us-east-1"});
    stack.apply("platform", adopt).await.unwrap();
    let adopted = stack.wait_for("platform", "Ready", "True").await;
    let status = adopted.status.unwrap();
    assert_eq!((status.instance_arn.as_deref(), status.region.as_deref()), (Some(elsewhere), Some("us-east-1")));
    assert_eq!(stack.count("CreateInstance").await, 1, "never a second CreateInstance");
    stack.shutdown().await;
}

/// Network controls can lock every user of an instance out of its access
/// portal. Namespace B's tenant, admitted to an account of its own, tries to
/// set them (and attributes) on namespace A's instance: through A's role,
/// which no grant gives B, then by naming A's instance with its own role,
/// then as an observer of A's account. No write of B's reaches AWS, and A's
/// instance keeps A's network controls.
pub async fn a_tenant_cannot_set_network_controls_on_another_tenants_instance(plane: &mut ControlPlane) {
    let (team_a, team_b) = ("net-a", "net-b");
    let (account_a, account_b) = ("361000000001", "361000000002");
    let stack = Stack::start_tenants(plane, &[team_a, team_b], "createSeconds: 0.5\n").await;
    let role_a = format!("arn:aws:iam::{account_a}:role/admin");
    let role_b = format!("arn:aws:iam::{account_b}:role/admin");
    let allowing = json!({
        "namespaces": {"names": [team_a]}, "accounts": {"roleArns": [role_a]},
        "allowNetworkChanges": true, "allowAccessControlAttributeChanges": true,
    });
    stack.grant("net-a", allowing).await;
    // B's grant leaves both at their default: not allowed.
    stack.grant("net-b", json!({"namespaces": {"names": [team_b]}, "accounts": {"roleArns": [role_b]}})).await;
    let open = json!({"vpceAccessRequired": true, "allowSourceIps": ["203.0.113.0/24"]});
    stack.apply_in(team_a, "owner", json!({"credentials": role(account_a), "network": open})).await.unwrap();
    let ready = stack.wait_for_in(team_a, "owner", "Ready", "True").await;
    let arn = ready.status.unwrap().instance_arn.unwrap();
    stack.clear_calls().await;

    let lockout = json!({"vpceAccessRequired": true, "restrictSourceVpcs": [VPC]});
    let attributes = json!([{"key": "Team", "source": "${path:enterprise.department}"}]);
    let attempts = [
        (
            "through-a-role",
            json!({"credentials": role(account_a), "instanceArn": arn, "network": lockout, "accessControlAttributes": attributes}),
        ),
        (
            "with-own-role",
            json!({"credentials": role(account_b), "instanceArn": arn, "network": lockout, "accessControlAttributes": attributes}),
        ),
        ("as-observer", json!({"credentials": role(account_a), "managementPolicy": "ObserveOnly", "network": lockout})),
        ("own-account", json!({"credentials": role(account_b), "network": lockout})),
    ];
    for (name, spec) in attempts {
        stack.apply_in(team_b, name, spec).await.unwrap();
        let refused = stack.wait_for_in(team_b, name, "Ready", "False").await;
        let ready = refused.condition("Ready").unwrap();
        assert_ne!(ready.reason, "InstanceActive", "{name}: {}", ready.message);
    }
    // Even in its own account, B's grant does not allow network controls: refused before any call.
    let own = stack.wait_for_in(team_b, "own-account", "Stalled", "True").await;
    let stalled = own.condition("Stalled").unwrap();
    assert_eq!(stalled.reason, "NotPermitted", "{}", stalled.message);
    assert!(stalled.message.contains("allowNetworkChanges"), "{}", stalled.message);
    // A's drift checks run meanwhile (resync 10 s).
    tokio::time::sleep(std::time::Duration::from_secs(12)).await;
    let writes: Vec<String> = stack
        .operations()
        .await
        .into_iter()
        .filter(|op| {
            op.starts_with("Update")
                || op.starts_with("Create")
                || op.starts_with("Delete")
                || op == "TagResource"
                || op == "UntagResource"
        })
        .collect();
    assert!(writes.is_empty(), "no write of B's reached AWS: {writes:?}");
    let kept = described(&stack, account_a, &arn).await["NetworkConfigurationDetails"].clone();
    assert!(kept["RestrictSourceVpcs"].as_array().is_none_or(|v| v.is_empty()), "{kept}");
    assert_eq!(kept["AllowSourceIps"], json!(["203.0.113.0/24"]), "{kept}");
    stack.wait_for_in(team_a, "owner", "Ready", "True").await;
    stack.shutdown().await;
}
