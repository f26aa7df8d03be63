//! Reconcile tests of the key, permission sets and Region workflows: what is
//! sent, once, and what the status, conditions and events say meanwhile.

use serde_json::json;

use super::fake_sso::Script;
use super::{RESYNC, error, harness, requeue_seconds};
use crate::api::{
    self, IdentityCenterInstance, IdentityCenterInstanceSpec, IdentityCenterInstanceStatus, KeyType, StartedWorkflow,
};
use crate::fixtures::{ARN, time};
use crate::sso::{
    Encryption, EncryptionKey, EncryptionStatus, ErrorKind, Instance, InstanceState, Region, RegionStatus,
};

const MRK: &str = "arn:aws:kms:eu-west-1:111122223333:key/mrk-0123456789abcdef0123456789abcdef";

fn organization_instance(key: EncryptionKey, status: EncryptionStatus, reason: Option<&str>) -> Instance {
    let mut described = Instance::test(InstanceState::Active);
    described.encryption = Some(Encryption { key, status, reason: reason.map(Into::into) });
    described.permission_sets_enabled = Some(false);
    described.primary_region = Some("eu-west-1".into());
    described.regions =
        vec![Region { name: "eu-west-1".into(), status: RegionStatus::Active, added_date: None, primary: true }];
    described
}

fn mrk() -> EncryptionKey {
    EncryptionKey::CustomerManaged { kms_key_arn: MRK.into() }
}

/// Adopts the fixtures' instance and asks for the multi-Region key.
fn adopted(spec: &mut IdentityCenterInstanceSpec) {
    spec.instance_arn = Some(ARN.into());
    spec.encryption = Some(api::Encryption { key_type: KeyType::CustomerManaged, kms_key_arn: Some(MRK.into()) });
}

#[tokio::test]
async fn a_key_change_is_sent_once_and_followed_until_enabled() {
    let aws_owned = organization_instance(EncryptionKey::AwsOwned, EncryptionStatus::Enabled, None);
    let h = harness(Script { instances: vec![aws_owned], ..Default::default() });
    let next = h.reconcile(IdentityCenterInstance::test().with_spec(adopted).owned().finalized()).await;
    let sent: Vec<String> = h.journal.entries().into_iter().filter(|e| e.starts_with("sso UpdateInstance")).collect();
    assert_eq!(sent, [format!("sso UpdateInstance {ARN} SetKey(CustomerManaged {{ kms_key_arn: \"{MRK}\" }})")]);
    assert_eq!(h.condition("Ready"), ("False".into(), "Updating".into()));
    assert_eq!(h.last_status()["encryption"]["keyType"], "AwsOwned", "status says what AWS has, not what was asked");
    assert_eq!(h.last_status()["lastWorkflow"]["name"], format!("SetKey {MRK}"));
    let events: Vec<String> = h.cluster.events().into_iter().map(|(_, reason)| reason).collect();
    assert_eq!(events, ["EncryptionKeyUpdate", "Updating"]);
    assert!(requeue_seconds(&next).is_some_and(|s| s <= 5.0), "a workflow is polled: {next:?}");

    // While AWS says UPDATING nothing more is sent.
    h.sso.script.lock().unwrap().instances = vec![organization_instance(mrk(), EncryptionStatus::Updating, None)];
    h.reconcile_current().await;
    assert_eq!(h.journal.aws().iter().filter(|op| *op == "UpdateInstance").count(), 1);
    assert_eq!(h.condition("Ready"), ("False".into(), "Updating".into()));
    assert_eq!(h.last_status()["encryption"]["status"], "UPDATING");

    // ENABLED: Ready, and the status shows the key.
    h.sso.script.lock().unwrap().instances = vec![organization_instance(mrk(), EncryptionStatus::Enabled, None)];
    let settled = h.reconcile_current().await;
    assert_eq!(h.condition("Ready"), ("True".into(), "InstanceActive".into()));
    assert_eq!(
        h.last_status()["encryption"],
        json!({"keyType": "CustomerManaged", "kmsKeyArn": MRK, "status": "ENABLED"})
    );
    assert_eq!(h.last_status()["regions"], json!([{"name": "eu-west-1", "status": "ACTIVE", "primary": true}]));
    assert!(requeue_seconds(&settled).is_some_and(|s| s >= RESYNC.as_secs_f64() / 2.0));
}

#[tokio::test]
async fn update_failed_stalls_with_the_aws_reason_and_is_tried_once_per_spec_generation() {
    let failed = organization_instance(mrk(), EncryptionStatus::UpdateFailed, Some("KMS key is pending deletion"));
    let h = harness(Script { instances: vec![failed], ..Default::default() });
    let tried = |generation: i64| IdentityCenterInstanceStatus {
        last_workflow: Some(StartedWorkflow {
            name: format!("SetKey {MRK}"),
            generation,
            started_at: time("2026-11-30T09:00:00Z"),
        }),
        ..IdentityCenterInstanceStatus::owned()
    };

    // Tried for this generation (2): Stalled with AWS's reason, nothing sent.
    h.reconcile(IdentityCenterInstance::test().with_spec(adopted).with_status(tried(2)).finalized()).await;
    assert_eq!(h.condition("Stalled"), ("True".into(), "EncryptionUpdateFailed".into()));
    assert_eq!(h.last_status()["encryption"]["reason"], "KMS key is pending deletion");
    assert!(!h.journal.aws().contains(&"UpdateInstance".to_string()), "the failing key is not sent again");

    // Tried for generation 1 only: the spec changed since, so once more, and recorded.
    h.reconcile(IdentityCenterInstance::test().with_spec(adopted).with_status(tried(1)).finalized()).await;
    assert_eq!(h.journal.aws().iter().filter(|op| *op == "UpdateInstance").count(), 1);
    assert_eq!(h.last_status()["lastWorkflow"]["generation"], 2);
    assert_eq!(h.condition("Ready"), ("False".into(), "Updating".into()));

    // It fails again: Stalled, and no third try for this generation.
    h.reconcile_current().await;
    assert_eq!(h.journal.aws().iter().filter(|op| *op == "UpdateInstance").count(), 1);
    assert_eq!(h.condition("Stalled"), ("True".into(), "EncryptionUpdateFailed".into()));
}

#[tokio::test]
async fn a_key_kms_refuses_is_reported_with_its_reason_and_retried_slowly() {
    let aws_owned = organization_instance(EncryptionKey::AwsOwned, EncryptionStatus::Enabled, None);
    let refusal = error("UpdateInstance", ErrorKind::Validation, "IAM Identity Center cannot use KMS key")
        .with_reason(Some("KMS_DisabledException".into()));
    let errors = [("UpdateInstance", refusal)].into_iter().collect();
    let h = harness(Script { instances: vec![aws_owned], errors, ..Default::default() });
    let next = h.reconcile(IdentityCenterInstance::test().with_spec(adopted).owned().finalized()).await;
    assert_eq!(h.condition("Synced"), ("False".into(), "KmsKeyUnusable".into()));
    assert_eq!(h.condition("Stalled").0, "False", "fixing the key in KMS needs no spec change");
    let synced = h.last_status()["conditions"].as_array().unwrap().iter().find(|c| c["type"] == "Synced").cloned();
    assert!(synced.unwrap()["message"].as_str().unwrap().contains("KMS_DisabledException"));
    assert!(requeue_seconds(&next).is_some_and(|s| s >= 15.0), "slowly: {next:?}");
}

#[tokio::test]
async fn observe_only_reports_the_key_and_regions_and_starts_nothing() {
    let mut observed = organization_instance(mrk(), EncryptionStatus::Enabled, None);
    observed.permission_sets_enabled = Some(true);
    observed.regions.push(Region {
        name: "us-east-1".into(),
        status: RegionStatus::Adding,
        added_date: Some("2026-11-30T09:00:00Z".parse().unwrap()),
        primary: false,
    });
    let h = harness(Script { instances: vec![observed], ..Default::default() });
    let observer = IdentityCenterInstance::test().observe_only().with_spec(|spec| {
        spec.instance_arn = Some(ARN.into());
        spec.regions = vec!["ap-south-1".into()];
    });
    h.reconcile(observer.owned()).await;
    assert_eq!(h.journal.aws(), ["GetCallerIdentity", "DescribeInstance"]);
    assert_eq!(h.condition("Ready"), ("True".into(), "Observed".into()));
    let status = h.last_status();
    assert_eq!(status["permissionSetsEnabled"], true);
    assert_eq!(status["primaryRegion"], "eu-west-1");
    assert_eq!(
        status["regions"][1],
        json!({"name": "us-east-1", "status": "ADDING", "addedDate": "2026-11-30T09:00:00Z", "primary": false})
    );
}
