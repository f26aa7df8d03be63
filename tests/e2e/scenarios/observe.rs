//! ObserveOnly never writes to AWS; adoption by instanceArn never creates;
//! exportTo publishes the ids in a ConfigMap the object owns.

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::Api;
use serde_json::json;

use crate::controlplane::ControlPlane;
use crate::stack::Stack;

const ORG_ARN: &str = "arn:aws:sso:::instance/ssoins-orgorgorgorgorgo";
const ADOPTED_ARN: &str = "arn:aws:sso:::instance/ssoins-adoptadoptadopta";
const WRITES: [&str; 5] = ["CreateInstance", "UpdateInstance", "DeleteInstance", "TagResource", "UntagResource"];

pub async fn observe_only_adoption_and_export(plane: &mut ControlPlane) {
    let config = format!(
        "instances:\n- {{account: '999999999999', region: eu-west-1, name: org, arn: '{ORG_ARN}', visibleTo: ['111122223333']}}\n\
         - {{account: '600000000001', region: eu-west-1, name: legacy, arn: '{ADOPTED_ARN}'}}\n"
    );
    let stack = Stack::start(plane, "observe", &config).await;

    // A member account observes its organization's instance and exports its ids.
    stack
        .apply("org", json!({"managementPolicy": "ObserveOnly", "exportTo": {"configMapName": "sso-ids"}}))
        .await
        .unwrap();
    let observed = stack.wait_for("org", "Ready", "True").await;
    assert_eq!(observed.condition("Ready").unwrap().reason, "Observed");
    let status = observed.status.clone().unwrap();
    assert_eq!(status.instance_arn.as_deref(), Some(ORG_ARN));
    assert!(observed.metadata.finalizers.unwrap_or_default().is_empty(), "nothing to clean up, no finalizer");
    let config_maps: Api<ConfigMap> = Api::namespaced(stack.client.clone(), &stack.namespace);
    let exported = config_maps.get("sso-ids").await.unwrap();
    let data = exported.data.unwrap();
    assert_eq!(data["instanceArn"], ORG_ARN);
    assert_eq!(data["ownerAccountId"], "999999999999");
    assert_eq!(data["region"], "eu-west-1");
    assert_eq!(Some(&data["identityStoreId"]), status.identity_store_id.as_ref());
    let owner = &exported.metadata.owner_references.unwrap()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.uid.as_str(), owner.controller),
        ("IdentityCenterInstance", observed.metadata.uid.as_deref().unwrap(), Some(true))
    );

    // Adoption: the existing instance is managed, never created.
    let role = json!({"roleArn": "arn:aws:iam::600000000001:role/admin"});
    stack
        .apply(
            "legacy",
            json!({"instanceArn": ADOPTED_ARN, "name": "adopted", "tags": {"owner": "platform"}, "credentials": role}),
        )
        .await
        .unwrap();
    let adopted = stack.wait_for("legacy", "Ready", "True").await;
    assert_eq!(adopted.status.unwrap().instance_arn.as_deref(), Some(ADOPTED_ARN));
    let (_, described) = stack.aws("600000000001", "DescribeInstance", json!({"InstanceArn": ADOPTED_ARN})).await;
    assert_eq!(described["Name"], "adopted", "the adopted instance follows the spec");

    let calls = stack.calls().await;
    assert!(!calls.iter().any(|c| c.operation == "CreateInstance"), "never CreateInstance");
    let observe_writes: Vec<_> = calls
        .iter()
        .filter(|c| c.account.as_deref() == Some("111122223333") && WRITES.contains(&c.operation.as_str()))
        .collect();
    assert!(observe_writes.is_empty(), "ObserveOnly never writes: {observe_writes:?}");

    // Deleting both leaves both instances: ObserveOnly, and Retain by default.
    stack.delete("org").await;
    stack.delete("legacy").await;
    stack.wait_gone("org").await;
    stack.wait_gone("legacy").await;
    assert!(!stack.calls().await.iter().any(|c| c.operation == "DeleteInstance"));
    stack.shutdown().await;
}
