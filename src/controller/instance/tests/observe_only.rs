//! managementPolicy ObserveOnly: the instance is found, reported and
//! exported, and nothing is written to AWS nor held by a finalizer.

use serde_json::json;

use super::fake_sso::Script;
use super::harness;
use crate::api::{ExportTo, IdentityCenterInstance};
use crate::fixtures::{ACCOUNT, ARN, UID};
use crate::sso::{Instance, InstanceState};

#[tokio::test]
async fn observe_only_never_writes_to_aws_nor_adds_a_finalizer() {
    let h = harness(Script {
        instances: vec![Instance::test(InstanceState::Active)],
        listed: vec![Instance::test(InstanceState::Active)],
        ..Default::default()
    });
    let observer = IdentityCenterInstance::test()
        .observe_only()
        .spec_name("other-name")
        .with_spec(|spec| spec.export_to = Some(ExportTo { config_map_name: "sso-ids".into() }));
    h.reconcile(observer).await;
    assert_eq!(h.journal.aws(), ["GetCallerIdentity", "ListInstances", "DescribeInstance"]);
    assert!(!h.journal.entries().contains(&"k8s PATCH object".to_string()), "no finalizer");
    assert_eq!(h.condition("Ready"), ("True".into(), "Observed".into()));
    assert!(h.journal.entries().contains(&"k8s PATCH configmap 404".to_string()), "an update is tried first");
    let export = h.cluster.sent().into_iter().find(|s| s.method == "POST" && s.path.contains("/configmaps"));
    let export = export.expect("then the ConfigMap is made");
    assert!(export.query.contains(&format!("fieldManager=identity-center-operator%2F{UID}")), "{}", export.query);
    assert_eq!(
        export.body["data"],
        json!({
            "instanceArn": ARN,
            "identityStoreId": "d-1234567890",
            "identityStoreArn": format!("arn:aws:identitystore::{ACCOUNT}:identitystore/d-1234567890"),
            "ownerAccountId": ACCOUNT,
            "region": "eu-west-1",
        })
    );
    assert_eq!(export.body["metadata"]["ownerReferences"][0]["uid"], UID);
    assert_eq!(export.body["metadata"]["labels"]["identitycenter.dev/export-of"], UID);
    assert_eq!(h.last_status()["ownership"], "Observed", "an observed instance is never the object's own");
}
