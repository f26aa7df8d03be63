//! Reconcile tests of what AWS added to the instance in 2026: network
//! controls, attribute-based access control, the identity store's ARN, and
//! one instance per account across all Regions.

use super::fake_sso::Script;
use super::{error, harness};
use crate::api::{AccessControlAttribute, IdentityCenterInstance, NetworkConfiguration};
use crate::fixtures::ARN;
use crate::sso::{AccessControlAttributes, AttributesStatus, ErrorKind, Instance, InstanceState, Workflow};

fn network() -> NetworkConfiguration {
    NetworkConfiguration {
        vpce_access_required: true,
        restrict_source_vpcs: vec!["arn:aws:ec2:eu-west-1:111122223333:vpc/vpc-0123456789abcdef0".into()],
        allow_source_ips: vec!["203.0.113.0/24".into()],
        exclude_application_arns: Vec::new(),
    }
}

fn cost_center() -> Vec<AccessControlAttribute> {
    vec![AccessControlAttribute { key: "CostCenter".into(), source: "${path:enterprise.costCenter}".into() }]
}

#[tokio::test]
async fn network_controls_are_sent_in_one_update_and_ready_once_aws_shows_them() {
    let h = harness(Script { instances: vec![Instance::test(InstanceState::Active)], ..Default::default() });
    let object = IdentityCenterInstance::test().with_spec(|spec| spec.network = Some(network())).owned().finalized();
    h.reconcile(object).await;
    let sent: Vec<String> = h.journal.entries().into_iter().filter(|e| e.starts_with("sso UpdateInstance")).collect();
    assert_eq!(sent, [format!("sso UpdateInstance {ARN} {:?}", Workflow::SetNetwork(network().normalized()))]);
    assert_eq!(h.condition("Ready"), ("False".into(), "Updating".into()));
    assert!(h.last_status().get("network").is_none(), "status shows what AWS has, not what was asked");
    let events: Vec<String> = h.cluster.events().into_iter().map(|(_, reason)| reason).collect();
    assert_eq!(events, ["NetworkConfigurationUpdate", "Updating"]);

    h.sso.script.lock().unwrap().instances[0].network = Some(network().normalized());
    h.reconcile_current().await;
    assert_eq!(h.journal.aws().iter().filter(|op| *op == "UpdateInstance").count(), 1, "nothing more is sent");
    assert_eq!(h.condition("Ready"), ("True".into(), "InstanceActive".into()));
    assert_eq!(h.last_status()["network"]["allowSourceIps"][0], "203.0.113.0/24");
}

#[tokio::test]
async fn attributes_are_created_followed_while_aws_creates_them_and_changed_with_the_spec() {
    let h = harness(Script { instances: vec![Instance::test(InstanceState::Active)], ..Default::default() });
    let object = IdentityCenterInstance::test()
        .with_spec(|spec| spec.access_control_attributes = Some(cost_center()))
        .owned()
        .finalized();
    h.reconcile(object).await;
    let writes: Vec<String> =
        h.journal.entries().into_iter().filter(|e| e.contains("InstanceAccessControlAttributeConfiguration")).collect();
    assert_eq!(writes.len(), 2, "{writes:?}");
    assert!(writes[0].starts_with("sso DescribeInstanceAccessControlAttributeConfiguration"), "{writes:?}");
    assert!(writes[1].starts_with("sso CreateInstanceAccessControlAttributeConfiguration"), "{writes:?}");
    assert_eq!(h.condition("Ready"), ("False".into(), "Updating".into()));
    assert_eq!(h.last_status()["accessControlAttributes"]["sentForGeneration"], 2);

    let creating = AccessControlAttributes {
        status: AttributesStatus::CreationInProgress,
        reason: None,
        attributes: cost_center(),
    };
    h.sso.script.lock().unwrap().access_control = Some(creating);
    h.reconcile_current().await;
    assert_eq!(h.condition("Ready"), ("False".into(), "Updating".into()));
    assert_eq!(h.last_status()["accessControlAttributes"]["status"], "CREATION_IN_PROGRESS");

    h.sso.script.lock().unwrap().access_control.as_mut().unwrap().status = AttributesStatus::Enabled;
    h.reconcile_current().await;
    assert_eq!(h.condition("Ready"), ("True".into(), "InstanceActive".into()));
    let aws = h.journal.aws();
    assert_eq!(aws.iter().filter(|op| op.starts_with("Create")).count(), 1, "{aws:?}");

    // A new generation with another attribute: one Update with the whole list.
    let mut changed: IdentityCenterInstance = serde_json::from_value(h.cluster.fresh.lock().unwrap().clone()).unwrap();
    changed.metadata.generation = Some(3);
    let team = AccessControlAttribute { key: "Team".into(), source: "${path:enterprise.department}".into() };
    changed.spec.access_control_attributes = Some([cost_center(), vec![team]].concat());
    h.reconcile(changed).await;
    let updates: Vec<String> = h
        .journal
        .entries()
        .into_iter()
        .filter(|e| e.starts_with("sso UpdateInstanceAccessControlAttributeConfiguration"))
        .collect();
    assert_eq!(updates.len(), 1, "{updates:?}");
    assert!(updates[0].contains("CostCenter") && updates[0].contains("Team"), "{updates:?}");
}

#[tokio::test]
async fn a_failed_attribute_configuration_stalls_with_aws_reason_until_the_spec_changes() {
    let failed = AccessControlAttributes {
        status: AttributesStatus::CreationFailed,
        reason: Some("Attribute enterprise.costCenter does not exist in the identity source".into()),
        attributes: cost_center(),
    };
    let h = harness(Script {
        instances: vec![Instance::test(InstanceState::Active)],
        access_control: Some(failed.clone()),
        ..Default::default()
    });
    let mut object = IdentityCenterInstance::test()
        .with_spec(|spec| spec.access_control_attributes = Some(cost_center()))
        .owned()
        .finalized();
    object.status.as_mut().unwrap().access_control_attributes =
        Some(crate::api::ObservedAccessControlAttributes { sent_for_generation: Some(2), ..Default::default() });
    h.reconcile(object).await;
    assert_eq!(h.condition("Stalled"), ("True".into(), "AccessControlAttributesFailed".into()));
    let message = h.last_status()["conditions"].to_string();
    assert!(message.contains("does not exist in the identity source"), "AWS's reason verbatim: {message}");
    assert!(!h.journal.aws().iter().any(|op| op.starts_with("Delete") || op.starts_with("Create")));

    // A new generation: the failed configuration is taken away, then created anew.
    let mut changed: IdentityCenterInstance = serde_json::from_value(h.cluster.fresh.lock().unwrap().clone()).unwrap();
    changed.metadata.generation = Some(3);
    h.reconcile(changed).await;
    assert_eq!(h.journal.aws().last().unwrap(), "DeleteInstanceAccessControlAttributeConfiguration");
    h.reconcile_current().await;
    assert_eq!(h.journal.aws().last().unwrap(), "CreateInstanceAccessControlAttributeConfiguration");
}

#[tokio::test]
async fn an_account_whose_instance_lives_in_another_region_is_told_how_to_adopt_it_and_create_is_not_repeated() {
    let text = "An instance already exists in this account; only one instance is allowed per account.";
    let h = harness(Script {
        errors: [("CreateInstance", error("CreateInstance", ErrorKind::Conflict, text))].into(),
        listed: vec![Instance::test(InstanceState::Active).in_region("us-east-1")],
        ..Default::default()
    });
    h.reconcile(IdentityCenterInstance::test().finalized()).await;
    assert_eq!(h.condition("Stalled"), ("True".into(), "InstanceInAnotherRegion".into()));
    let message = h.last_status()["conditions"].to_string();
    assert!(message.contains(&format!("spec.instanceArn: {ARN} and spec.region: us-east-1")), "{message}");
    assert!(h.journal.entries().contains(&"sso ListInstances ALL_REGIONS".to_string()), "{:?}", h.journal.entries());
    assert!(h.last_status().get("region").is_none(), "no instance lives anywhere for this object");
    assert_eq!(h.last_status()["createRefusedGeneration"], 2);

    // Any later reconcile of this generation (a restart, a resync), whatever
    // conditions another failure wrote meanwhile, only looks.
    h.reconcile_current().await;
    assert_eq!(h.journal.aws().iter().filter(|op| *op == "CreateInstance").count(), 1);
    assert_eq!(h.journal.aws().last().unwrap(), "ListInstances");
    assert_eq!(h.condition("Stalled"), ("True".into(), "InstanceInAnotherRegion".into()));

    // Once that instance is gone, the account is free: this generation creates its own.
    h.sso.script.lock().unwrap().listed.clear();
    h.sso.script.lock().unwrap().errors.clear();
    h.reconcile_current().await;
    assert_eq!(h.journal.aws().iter().filter(|op| *op == "CreateInstance").count(), 2);
    assert_eq!(h.condition("Ready"), ("False".into(), "CreateRequested".into()));
}
