//! The attack suite: a tenant who may create, change and delete
//! IdentityCenterInstances and ConfigMaps in its own namespace tries to reach
//! another tenant's instance or ConfigMaps. Each scenario plays the attacker
//! and asserts, from the emulator's call log and AWS's own answers, that no
//! write reached AWS that a grant did not allow and that nothing was lost.

use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::api::events::v1::Event;
use kube::ResourceExt;
use kube::api::{Api, ListParams, PostParams};
use serde_json::{Value, json};

use crate::controlplane::ControlPlane;
use crate::process::eventually;
use crate::stack::{CONVERGE, Stack, ownership_tags, tag_map};

const SHARED_ROLE: &str = "arn:aws:iam::222233334444:role/identity-center-admin";
const SHARED_ACCOUNT: &str = "222233334444";
const WRITES: [&str; 7] =
    ["CreateInstance", "UpdateInstance", "DeleteInstance", "TagResource", "UntagResource", "AddRegion", "RemoveRegion"];

/// The SSO Admin writes the emulator answered, in order.
async fn writes(stack: &Stack) -> Vec<String> {
    stack.operations().await.into_iter().filter(|o| WRITES.contains(&o.as_str())).collect()
}

/// The name and tags AWS holds for `arn`, asked as the account itself.
async fn name_and_tags(stack: &Stack, account: &str, arn: &str) -> (Value, Value) {
    let (status, described) = stack.aws(account, "DescribeInstance", json!({"InstanceArn": arn})).await;
    assert_eq!(status, 200, "{described}");
    let request = json!({"InstanceArn": arn, "ResourceArn": arn});
    let (status, tags) = stack.aws(account, "ListTagsForResource", request).await;
    assert_eq!(status, 200, "{tags}");
    (described["Name"].clone(), json!(tag_map(&tags["Tags"])))
}

async fn warnings_in(stack: &Stack, namespace: &str) -> Vec<(String, String)> {
    let events: Api<Event> = Api::namespaced(stack.client.clone(), namespace);
    let listed = events.list(&ListParams::default()).await.unwrap().items;
    let warnings = listed.into_iter().filter(|e| e.type_.as_deref() == Some("Warning"));
    warnings.map(|e| (e.reason.unwrap_or_default(), e.note.unwrap_or_default())).collect()
}

/// Namespace B's tenant observes the account namespace A manages, then asks
/// to manage it with its own name and tags and deletionPolicy Delete, then
/// deletes its object. B's object is the older one, so that a ranking by
/// age alone would give it the account.
pub async fn an_observer_never_takes_over_nor_deletes_another_tenants_instance(plane: &mut ControlPlane) {
    let (team_a, team_b) = ("iso-a", "iso-b");
    let stack = Stack::start_tenants(plane, &[team_a, team_b], "createSeconds: 1\ndeleteSeconds: 1\n").await;
    stack
        .grant(
            "iso-shared-account",
            json!({
                "namespaces": {"names": [team_a, team_b]},
                "accounts": {"roleArns": [SHARED_ROLE]},
                "deletionPolicies": ["Retain", "Delete"],
            }),
        )
        .await;
    let spy = json!({"managementPolicy": "ObserveOnly", "credentials": {"roleArn": SHARED_ROLE}});
    stack.apply_in(team_b, "spy", spy).await.unwrap();
    stack.wait_for_in(team_b, "spy", "Synced", "False").await;

    let owner = json!({
        "name": "team-a", "tags": {"owner": "team-a"}, "deletionPolicy": "Delete",
        "credentials": {"roleArn": SHARED_ROLE},
    });
    stack.apply_in(team_a, "owner", owner).await.unwrap();
    let ready = stack.wait_for_in(team_a, "owner", "Ready", "True").await;
    let arn = ready.status.as_ref().and_then(|s| s.instance_arn.clone()).expect("A's ARN");
    let observed = stack.wait_for_in(team_b, "spy", "Ready", "True").await;
    let observed_status = observed.status.clone().unwrap();
    assert_eq!(observed_status.instance_arn.as_deref(), Some(arn.as_str()), "B sees A's instance");
    assert_eq!(format!("{:?}", observed_status.ownership), "Some(Observed)");
    let before = writes(&stack).await;
    assert_eq!(before, ["CreateInstance"], "A's create, nothing else");

    // B asks to manage it, with its own name and tags and deletionPolicy Delete.
    let takeover = json!({
        "name": "hijacked", "tags": {"owner": "team-b"}, "deletionPolicy": "Delete",
        "credentials": {"roleArn": SHARED_ROLE},
    });
    stack.apply_in(team_b, "spy", takeover).await.unwrap();
    let refused = stack.wait_for_in(team_b, "spy", "Stalled", "True").await;
    let stalled = refused.condition("Stalled").unwrap();
    assert_eq!(stalled.reason, "AccountAlreadyManaged", "{}", stalled.message);
    assert!(stalled.message.contains(&format!("{team_a}/owner")), "{}", stalled.message);
    assert!(refused.finalizers().is_empty(), "a refused object holds nothing that its deletion could act on");

    // B deletes its object: it goes at once, and nothing reaches A's instance.
    stack.delete_in(team_b, "spy").await;
    stack.wait_gone_in(team_b, "spy").await;
    // A drift check of A's object runs meanwhile (resync 10 s): A stays Ready with its own name and tags.
    tokio::time::sleep(std::time::Duration::from_secs(12)).await;
    assert_eq!(writes(&stack).await, before, "no write of B's reached AWS");
    let (name, tags) = name_and_tags(&stack, SHARED_ACCOUNT, &arn).await;
    let mut own = ownership_tags(team_a, "owner");
    own.insert("owner".into(), "team-a".into());
    assert_eq!((name, tags), (json!("team-a"), json!(own)), "A's name, A's tags, still tagged as A's");
    assert_eq!(stack.instances_of(SHARED_ACCOUNT).await.len(), 1, "A's instance is there");
    let still = stack.wait_for_in(team_a, "owner", "Ready", "True").await;
    assert_eq!(still.status.and_then(|s| s.instance_arn).as_deref(), Some(arn.as_str()));

    // A's own deletion still works: the claim holder may delete.
    stack.delete_in(team_a, "owner").await;
    stack.wait_gone_in(team_a, "owner").await;
    assert_eq!(stack.count("DeleteInstance").await, 1);
    stack.shutdown().await;
}

/// A deletion waits on AWS while the grant is narrowed to Retain: its first
/// DeleteInstance fails (HTTP 500), so the retry looks first, and that
/// DescribeInstance takes 12 s to answer. The DeleteInstance that would
/// follow is never sent, and the object is let go with its instance left in AWS.
pub async fn a_grant_narrowed_mid_deletion_stops_delete_instance(plane: &mut ControlPlane) {
    let namespace = "iso-narrowed";
    let stack = Stack::start_tenants(plane, &[namespace], "createSeconds: 1\ndeleteSeconds: 1\n").await;
    let grant = |deletion: &[&str]| {
        json!({
            "namespaces": {"names": [namespace]},
            "accounts": {"roleArns": [SHARED_ROLE]},
            "deletionPolicies": deletion,
        })
    };
    stack.grant("iso-narrowed", grant(&["Retain", "Delete"])).await;
    let spec = json!({"deletionPolicy": "Delete", "credentials": {"roleArn": SHARED_ROLE}});
    stack.apply("doomed", spec).await.unwrap();
    stack.wait_for("doomed", "Ready", "True").await;

    let faults = json!({"rules": [
        {"operation": "DeleteInstance", "serverError": 1.0},
        {"operation": "DescribeInstance", "latencyMs": 12000},
    ]});
    stack.set_faults(faults).await;
    stack.clear_calls().await;
    stack.delete("doomed").await;
    eventually("the first DeleteInstance to fail", CONVERGE, || async {
        stack.operations().await.contains(&"DeleteInstance".to_string()).then_some(())
    })
    .await;
    // The retry (after 1-2 s) sends DescribeInstance, which now waits 12 s for its answer.
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    let answered = stack.operations().await;
    assert!(!answered.contains(&"DescribeInstance".to_string()), "not answered yet: {answered:?}");
    stack.grant("iso-narrowed", grant(&["Retain"])).await;
    stack.wait_gone("doomed").await;
    stack.set_faults(json!({"rules": []})).await;

    let operations = stack.operations().await;
    assert!(operations.contains(&"DescribeInstance".to_string()), "the deletion was under way: {operations:?}");
    let deleted = stack.calls().await.into_iter().filter(|c| c.operation == "DeleteInstance" && c.outcome == "ok");
    assert_eq!(deleted.count(), 0, "{operations:?}");
    assert_eq!(stack.instances_of(SHARED_ACCOUNT).await.len(), 1, "the instance is left in AWS");
    let warned = warnings_in(&stack, namespace).await;
    let released =
        warned.iter().any(|(reason, note)| reason == "NotPermitted" && note.contains("without DeleteInstance"));
    assert!(released, "{warned:?}");
    stack.shutdown().await;
}

async fn config_map(stack: &Stack, name: &str) -> ConfigMap {
    let config_maps: Api<ConfigMap> = Api::namespaced(stack.client.clone(), &stack.namespace);
    config_maps.get(name).await.unwrap()
}

/// exportTo aimed at a ConfigMap the tenant made by hand, and two objects
/// aimed at one ConfigMap: only a ConfigMap the operator made for the
/// object is written, and the first keeps it.
pub async fn export_writes_only_configmaps_made_for_the_object(plane: &mut ControlPlane) {
    let stack = Stack::start(plane, "iso-export", "createSeconds: 0.5\n").await;
    let config_maps: Api<ConfigMap> = Api::namespaced(stack.client.clone(), &stack.namespace);
    let handmade = serde_json::from_value(json!({"metadata": {"name": "handmade"}, "data": {"keep": "me"}})).unwrap();
    config_maps.create(&PostParams::default(), &handmade).await.unwrap();

    let role = |account: &str| json!({"roleArn": format!("arn:aws:iam::{account}:role/admin")});
    let export = |name: &str| json!({"configMapName": name});
    stack.apply("first", json!({"credentials": role("300000000001"), "exportTo": export("shared")})).await.unwrap();
    let first = stack.wait_for("first", "Ready", "True").await;
    stack.apply("second", json!({"credentials": role("300000000002"), "exportTo": export("shared")})).await.unwrap();
    stack.apply("third", json!({"credentials": role("300000000003"), "exportTo": export("handmade")})).await.unwrap();
    for name in ["second", "third"] {
        let stalled = stack.wait_for(name, "Stalled", "True").await;
        let condition = stalled.condition("Stalled").unwrap();
        assert_eq!(condition.reason, "ExportConflict", "{name}: {}", condition.message);
        assert!(condition.message.contains("identitycenter.dev/export-of"), "the fix is named: {}", condition.message);
    }
    let shared = config_map(&stack, "shared").await;
    let first_arn = first.status.and_then(|s| s.instance_arn).unwrap();
    assert_eq!(shared.data.unwrap()["instanceArn"], first_arn, "the first keeps it");
    let owners = shared.metadata.owner_references.unwrap_or_default();
    assert_eq!(owners.iter().map(|o| o.name.as_str()).collect::<Vec<_>>(), ["first"]);

    stack.delete("third").await;
    stack.wait_gone("third").await;
    let handmade = config_map(&stack, "handmade").await;
    assert!(handmade.labels().is_empty(), "no label of ours put on it");
    assert_eq!(handmade.data.unwrap(), [("keep".to_string(), "me".to_string())].into(), "its data is untouched");
    assert!(handmade.metadata.owner_references.is_none(), "no owner: garbage collection never takes it");
    stack.shutdown().await;
}
