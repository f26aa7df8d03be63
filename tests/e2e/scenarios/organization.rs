//! An organization instance adopted through a role in the management
//! account: a multi-Region KMS key followed from UPDATING to ENABLED,
//! permission sets, two Regions added and one removed (with the opt-in), an
//! operator killed in the middle of a Region workflow, refusals that leave
//! clear conditions, and a member account that observes it all. The
//! emulator authorizes with deploy/iam/'s policies, verbatim.

use serde_json::{Value, json};

use crate::controlplane::ControlPlane;
use crate::process::eventually;
use crate::stack::{CONVERGE, Stack};

const MANAGEMENT: &str = "999999999999";
const MEMBER: &str = "111122223333";
const ORG_ARN: &str = "arn:aws:sso:::instance/ssoins-0rg0rg0rg0rg0rg0";
const ROLE: &str = "arn:aws:iam::999999999999:role/identity-center-admin";
const MRK: &str = "arn:aws:kms:eu-west-1:999999999999:key/mrk-0123456789abcdef0123456789abcdef";
const DISABLED: &str = "arn:aws:kms:eu-west-1:999999999999:key/mrk-dddddddddddddddddddddddddddddddd";
const BAD_POLICY: &str = "arn:aws:kms:eu-west-1:999999999999:key/mrk-eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee";
const KEY_POLICY_TEXT: &str = "The KMS key policy does not allow sso.amazonaws.com to use the key";
const WRITES: [&str; 5] = ["UpdateInstance", "AddRegion", "RemoveRegion", "TagResource", "UntagResource"];

/// Organization instances whose management-account roles each lack one Region action.
const WITHOUT_ADD: (&str, &str) = ("888888888888", "arn:aws:sso:::instance/ssoins-8888888888888888");
const WITHOUT_REMOVE: (&str, &str) = ("777777777777", "arn:aws:sso:::instance/ssoins-7777777777777777");

fn role(account: &str) -> String {
    format!("arn:aws:iam::{account}:role/identity-center-admin")
}

fn mrk_of(account: &str) -> String {
    format!("arn:aws:kms:eu-west-1:{account}:key/mrk-0123456789abcdef0123456789abcdef")
}

/// `policy` with `action` taken out of every statement.
fn without(mut policy: Value, action: &str) -> Value {
    for statement in policy["Statement"].as_array_mut().unwrap() {
        if let Value::Array(actions) = &mut statement["Action"] {
            actions.retain(|a| a != action);
        }
    }
    policy
}

fn policy(file: &str) -> Value {
    let path = format!("{}/deploy/iam/{file}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn emulator_config() -> String {
    let everything = json!({"Statement": [{"Effect": "Allow", "Action": "sso:*", "Resource": "*"}]});
    json!({
        "managementAccounts": [MANAGEMENT, WITHOUT_ADD.0, WITHOUT_REMOVE.0],
        "instances": [
            {"account": MANAGEMENT, "region": "eu-west-1", "name": "org", "arn": ORG_ARN, "visibleTo": [MEMBER]},
            {"account": WITHOUT_ADD.0, "region": "eu-west-1", "arn": WITHOUT_ADD.1, "kmsKeyArn": mrk_of(WITHOUT_ADD.0)},
            {"account": WITHOUT_REMOVE.0, "region": "eu-west-1", "arn": WITHOUT_REMOVE.1,
             "kmsKeyArn": mrk_of(WITHOUT_REMOVE.0), "regions": ["us-east-1"]},
        ],
        "accountOrganizations": {
            MEMBER: super::iam::E2E_ORGANIZATION, MANAGEMENT: super::iam::E2E_ORGANIZATION,
            WITHOUT_ADD.0: super::iam::E2E_ORGANIZATION, WITHOUT_REMOVE.0: super::iam::E2E_ORGANIZATION,
        },
        "encryptionSeconds": 4,
        "regionAddSeconds": 4,
        "regionRemoveSeconds": 2,
        "unusableKmsKeys": {
            DISABLED: {"refuse": "KMS_DisabledException"},
            BAD_POLICY: {"failUpdate": KEY_POLICY_TEXT},
        },
        "iam": {"policies": {
            Stack::access_key("operator-1"): policy("operator-policy.json"),
            Stack::access_key("operator-2"): policy("operator-policy.json"),
            ROLE: policy("account-role-policy.json"),
            role(WITHOUT_ADD.0): without(policy("account-role-policy.json"), "sso:AddRegion"),
            role(WITHOUT_REMOVE.0): without(policy("account-role-policy.json"), "sso:RemoveRegion"),
            format!("AKIA{MANAGEMENT}OUTS"): everything,
        }},
    })
    .to_string()
}

fn org_spec(extra: Value) -> Value {
    let mut spec = json!({"instanceArn": ORG_ARN, "credentials": {"roleArn": ROLE}});
    spec.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    spec
}

/// The Regions of the organization instance in AWS: name -> status.
async fn aws_regions(stack: &Stack) -> Vec<(String, String)> {
    let (status, described) = stack.aws(MANAGEMENT, "DescribeInstance", json!({"InstanceArn": ORG_ARN})).await;
    assert_eq!(status, 200, "{described}");
    let regions = described["Regions"].as_array().cloned().unwrap_or_default();
    regions.iter().map(|r| (r["RegionName"].as_str().unwrap().into(), r["Status"].as_str().unwrap().into())).collect()
}

/// Waits until `name`'s status satisfies `check` (given the status as JSON).
async fn status_shows(stack: &Stack, name: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    eventually(&format!("{name}: {what}"), CONVERGE, || async {
        let object = stack.get(name).await;
        let status = serde_json::to_value(object.status.as_ref()?).unwrap();
        check(&status).then_some(status)
    })
    .await
}

async fn count(stack: &Stack, operation: &str, region: &str) -> usize {
    let calls = stack.calls().await;
    calls.iter().filter(|c| c.operation == operation && c.request["RegionName"] == region).count()
}

pub async fn organization_instance_key_permission_sets_and_regions(plane: &mut ControlPlane) {
    let mut stack = Stack::start(plane, "organization", &emulator_config()).await;

    // An object that would create its own (account) instance may not ask for a key of its own.
    let refused = stack
        .apply("own", json!({"encryption": {"keyType": "CustomerManaged", "kmsKeyArn": MRK}}))
        .await
        .expect_err("the API server refuses a customer managed key without spec.instanceArn");
    assert!(refused.to_string().contains("account instance"), "{refused}");

    // The key: Ready=False (Updating) while AWS says UPDATING, then Ready with ENABLED.
    let key = json!({"encryption": {"keyType": "CustomerManaged", "kmsKeyArn": MRK}});
    stack.apply("org", org_spec(key.clone())).await.unwrap();
    status_shows(&stack, "org", "encryption UPDATING and Ready=False Updating", |s| {
        let ready = s["conditions"].as_array().and_then(|c| c.iter().find(|c| c["type"] == "Ready")).cloned();
        s["encryption"]["status"] == "UPDATING"
            && ready.is_some_and(|r| r["status"] == "False" && r["reason"] == "Updating")
    })
    .await;
    let ready = stack.wait_for("org", "Ready", "True").await;
    let status = serde_json::to_value(ready.status.unwrap()).unwrap();
    assert_eq!(status["encryption"], json!({"keyType": "CustomerManaged", "kmsKeyArn": MRK, "status": "ENABLED"}));
    assert_eq!(status["primaryRegion"], "eu-west-1");

    // Permission sets.
    let with_permission_sets = json!({"encryption": key["encryption"], "permissionSetsEnabled": true});
    stack.apply("org", org_spec(with_permission_sets.clone())).await.unwrap();
    let ready = stack.wait_for("org", "Ready", "True").await;
    assert_eq!(ready.status.unwrap().permission_sets_enabled, Some(true));
    let back =
        stack.apply("org", org_spec(json!({"encryption": key["encryption"], "permissionSetsEnabled": false}))).await;
    assert!(back.expect_err("no going back").to_string().contains("cannot go back to false"));

    // Two Regions; the operator is killed while the first is ADDING.
    let mut two = with_permission_sets.clone();
    two["regions"] = json!(["us-east-1", "ap-south-1"]);
    stack.apply("org", org_spec(two.clone())).await.unwrap();
    eventually("us-east-1 to be ADDING", CONVERGE, || async {
        aws_regions(&stack).await.contains(&("us-east-1".into(), "ADDING".into())).then_some(())
    })
    .await;
    stack.kill_operator().await;
    stack.start_operator().await;
    let ready = stack.wait_for("org", "Ready", "True").await;
    let regions: Vec<(String, String, bool)> =
        ready.status.unwrap().regions.iter().map(|r| (r.name.clone(), r.status.clone(), r.primary)).collect();
    let active = |name: &str, primary| (name.to_string(), "ACTIVE".to_string(), primary);
    assert_eq!(regions, [active("eu-west-1", true), active("ap-south-1", false), active("us-east-1", false)]);
    assert_eq!(count(&stack, "AddRegion", "us-east-1").await, 1, "no second AddRegion after the crash");
    assert_eq!(count(&stack, "AddRegion", "ap-south-1").await, 1);
    let wide = stack.kubectl().run(&["get", "ici", "org", "-o", "wide"]);
    let (header, row) = (wide.lines().next().unwrap(), wide.lines().nth(1).unwrap());
    // kubectl aligns each value under its column's title.
    let column = |name: &str| header.find(name).and_then(|at| row[at..].split_whitespace().next());
    assert_eq!((column("ENCRYPTION"), column("REGIONS")), (Some("ENABLED"), Some("3")), "{wide}");

    // A Region left out of spec.regions is kept until removal is opted into.
    let mut one = two.clone();
    one["regions"] = json!(["us-east-1"]);
    stack.apply("org", org_spec(one.clone())).await.unwrap();
    let kept = stack.wait_for("org", "Ready", "True").await;
    assert!(kept.condition("Ready").unwrap().message.contains("regionRemovalPolicy Retain"));
    assert_eq!(count(&stack, "RemoveRegion", "ap-south-1").await, 0);
    one["regionRemovalPolicy"] = json!("Remove");
    stack.apply("org", org_spec(one.clone())).await.unwrap();
    status_shows(&stack, "org", "ap-south-1 gone", |s| {
        let names: Vec<&str> = s["regions"].as_array().unwrap().iter().filter_map(|r| r["name"].as_str()).collect();
        names == ["eu-west-1", "us-east-1"]
    })
    .await;
    stack.wait_for("org", "Ready", "True").await;
    assert_eq!(count(&stack, "RemoveRegion", "ap-south-1").await, 1);

    // A key KMS refuses: a clear condition, retried slowly; the instance keeps its key.
    let mut disabled = one.clone();
    disabled["encryption"]["kmsKeyArn"] = json!(DISABLED);
    stack.apply("org", org_spec(disabled)).await.unwrap();
    let synced = stack.wait_for("org", "Synced", "False").await;
    let condition = synced.condition("Synced").unwrap();
    assert_eq!(condition.reason, "KmsKeyUnusable");
    assert!(condition.message.contains("KMS_DisabledException"), "{}", condition.message);
    let kept = synced.status.unwrap().encryption.unwrap();
    assert_eq!((kept.kms_key_arn.as_deref(), kept.status.as_str()), (Some(MRK), "ENABLED"), "the key in use stays");

    // A key that AWS accepts and then fails: Stalled with AWS's reason verbatim.
    let mut failing = one.clone();
    failing["encryption"]["kmsKeyArn"] = json!(BAD_POLICY);
    stack.apply("org", org_spec(failing)).await.unwrap();
    let stalled = stack.wait_for("org", "Stalled", "True").await;
    let condition = stalled.condition("Stalled").unwrap();
    assert_eq!(condition.reason, "EncryptionUpdateFailed");
    assert!(condition.message.contains(KEY_POLICY_TEXT), "{}", condition.message);
    assert_eq!(stalled.status.unwrap().encryption.unwrap().reason.as_deref(), Some(KEY_POLICY_TEXT));

    // A member account observes the organization instance, all of it, and changes nothing.
    stack.apply("member", json!({"managementPolicy": "ObserveOnly"})).await.unwrap();
    let observed = stack.wait_for("member", "Ready", "True").await;
    let status = observed.status.unwrap();
    assert_eq!(status.instance_arn.as_deref(), Some(ORG_ARN));
    assert_eq!(status.regions.len(), 2);
    let member_writes: Vec<_> = stack
        .calls()
        .await
        .into_iter()
        .filter(|c| c.account.as_deref() == Some(MEMBER) && WRITES.contains(&c.operation.as_str()))
        .collect();
    assert!(member_writes.is_empty(), "ObserveOnly never writes: {member_writes:?}");

    // Each Region action of deploy/iam/account-role-policy.json is needed.
    let adding = json!({"instanceArn": WITHOUT_ADD.1, "credentials": {"roleArn": role(WITHOUT_ADD.0)}, "regions": ["us-east-1"]});
    stack.apply("without-add", adding).await.unwrap();
    let removing = json!({
        "instanceArn": WITHOUT_REMOVE.1, "credentials": {"roleArn": role(WITHOUT_REMOVE.0)}, "regionRemovalPolicy": "Remove",
    });
    stack.apply("without-remove", removing).await.unwrap();
    for (name, action) in [("without-add", "sso:AddRegion"), ("without-remove", "sso:RemoveRegion")] {
        let refused = stack.wait_for(name, "Synced", "False").await;
        let synced = refused.condition("Synced").unwrap();
        assert_eq!(synced.reason, "AccessDenied", "{name}: {}", synced.message);
        assert!(synced.message.contains(&format!("is not authorized to perform: {action}")), "{}", synced.message);
    }
    stack.shutdown().await;
}
