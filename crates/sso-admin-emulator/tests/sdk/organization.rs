//! Organization instances through aws-sdk-ssoadmin: the KMS key, permission
//! sets and Regions, with every refusal the model and the user guide name.

use std::time::Duration;

use aws_sdk_ssoadmin::operation::update_instance::UpdateInstanceError;
use aws_sdk_ssoadmin::types::{
    EncryptionConfiguration, KmsKeyStatus, KmsKeyType, RegionStatus, ValidationExceptionReason,
};
use sso_admin_emulator::config::SeedInstance;
use sso_admin_emulator::{Config, KmsKeyFault, KmsRefusal};

use super::*;

const MANAGEMENT: &str = "999999999999";
const MANAGEMENT_KEY: &str = "AKIA999999999999TEST";
const ORG_ARN: &str = "arn:aws:sso:::instance/ssoins-0000000000000001";
const MRK: &str = "arn:aws:kms:eu-west-1:999999999999:key/mrk-0123456789abcdef0123456789abcdef";
const DISABLED: &str = "arn:aws:kms:eu-west-1:999999999999:key/mrk-dddddddddddddddddddddddddddddddd";
const BAD_POLICY: &str = "arn:aws:kms:eu-west-1:999999999999:key/mrk-eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee";
const SINGLE: &str = "arn:aws:kms:eu-west-1:999999999999:key/01234567-89ab-cdef-0123-456789abcdef";
const STEP: f64 = 0.3;

fn organization() -> Config {
    let seed = SeedInstance {
        arn: Some(ORG_ARN.into()),
        visible_to: vec![ACCOUNT_A.into()],
        ..SeedInstance::new(MANAGEMENT, "eu-west-1")
    };
    let mut config = Config {
        management_accounts: vec![MANAGEMENT.into()],
        instances: vec![seed],
        encryption_seconds: STEP,
        region_add_seconds: STEP,
        region_remove_seconds: STEP,
        ..fast()
    };
    config.unusable_kms_keys.insert(DISABLED.into(), KmsKeyFault::Refuse(KmsRefusal::KMS_DisabledException));
    config
        .unusable_kms_keys
        .insert(BAD_POLICY.into(), KmsKeyFault::FailUpdate("The key policy denies sso.amazonaws.com".into()));
    config
}

fn key(key_type: KmsKeyType, arn: Option<&str>) -> EncryptionConfiguration {
    EncryptionConfiguration::builder().key_type(key_type).set_kms_key_arn(arn.map(Into::into)).build().unwrap()
}

async fn settle() {
    tokio::time::sleep(Duration::from_secs_f64(STEP + 0.2)).await;
}

#[tokio::test]
async fn an_organization_instance_takes_a_key_permission_sets_and_regions_one_workflow_at_a_time() {
    let emulator = start(organization()).await;
    let client = sso(&emulator, MANAGEMENT_KEY, "eu-west-1");
    let update = || client.update_instance().instance_arn(ORG_ARN);

    let described = client.describe_instance().instance_arn(ORG_ARN).send().await.unwrap();
    assert_eq!(described.primary_region(), Some("eu-west-1"));
    assert_eq!(described.regions().len(), 1);
    assert!(described.regions()[0].is_primary_region());
    let encryption = described.encryption_configuration_details().unwrap();
    assert_eq!(encryption.key_type(), Some(&KmsKeyType::AwsOwnedKmsKey));
    assert_eq!(encryption.encryption_status(), Some(&KmsKeyStatus::Enabled));
    assert_eq!(described.permission_sets_enabled(), Some(false));

    // Refusals before anything changes.
    let both =
        update().encryption_configuration(key(KmsKeyType::CustomerManagedKey, Some(MRK))).permission_sets_enabled(true);
    assert!(message(both.send().await).contains("same request"));
    assert!(
        message(update().encryption_configuration(key(KmsKeyType::CustomerManagedKey, None)).send().await)
            .contains("KmsKeyArn is required")
    );
    assert!(
        message(update().encryption_configuration(key(KmsKeyType::AwsOwnedKmsKey, Some(MRK))).send().await)
            .contains("must not be set")
    );
    assert!(message(update().permission_sets_enabled(false).send().await).contains("only be set to true"));
    let add = |region: &str| client.add_region().instance_arn(ORG_ARN).region_name(region);
    assert!(message(add("us-east-1").send().await).contains("multi-Region customer managed"));
    let refused = update().encryption_configuration(key(KmsKeyType::CustomerManagedKey, Some(DISABLED))).send().await;
    match refused.unwrap_err().into_service_error() {
        UpdateInstanceError::ValidationException(e) => {
            assert_eq!(e.reason(), Some(&ValidationExceptionReason::KmsDisabledException));
        }
        other => panic!("want ValidationException with a KMS reason, got {other:?}"),
    }

    // The key: UPDATING, during which no Region workflow may start, then ENABLED.
    update().encryption_configuration(key(KmsKeyType::CustomerManagedKey, Some(MRK))).send().await.unwrap();
    let during = client.describe_instance().instance_arn(ORG_ARN).send().await.unwrap();
    assert_eq!(during.encryption_configuration_details().unwrap().encryption_status(), Some(&KmsKeyStatus::Updating));
    let error = add("us-east-1").send().await.unwrap_err();
    assert_eq!(code(&error), "ConflictException");
    let remove_during = client.remove_region().instance_arn(ORG_ARN).region_name("us-east-1").send().await;
    assert_eq!(code(&remove_during.unwrap_err()), "ConflictException", "one workflow at a time");
    settle().await;
    let after = client.describe_instance().instance_arn(ORG_ARN).send().await.unwrap();
    let details = after.encryption_configuration_details().unwrap();
    assert_eq!((details.kms_key_arn(), details.encryption_status()), (Some(MRK), Some(&KmsKeyStatus::Enabled)));

    // Permission sets: once on, on for good.
    update().permission_sets_enabled(true).send().await.unwrap();
    let enabled = client.describe_instance().instance_arn(ORG_ARN).send().await.unwrap();
    assert_eq!(enabled.permission_sets_enabled(), Some(true));

    // Regions: one workflow at a time, never the primary.
    assert!(message(add("eu-west-1").send().await).contains("primary Region"));
    assert_eq!(add("us-east-1").send().await.unwrap().status(), Some(&RegionStatus::Adding));
    assert_eq!(code(&add("ap-south-1").send().await.unwrap_err()), "ConflictException");
    settle().await;
    add("ap-south-1").send().await.unwrap();
    settle().await;
    let region = client.describe_region().instance_arn(ORG_ARN).region_name("us-east-1").send().await.unwrap();
    assert_eq!((region.status(), region.is_primary_region()), (Some(&RegionStatus::Active), false));
    assert!(region.added_date().is_some());
    let pages = client.list_regions().instance_arn(ORG_ARN).max_results(1).into_paginator().send();
    let listed: Vec<_> = pages.collect::<Result<Vec<_>, _>>().await.unwrap();
    assert_eq!(listed.len(), 3, "one Region a page");
    let names: Vec<_> = listed.iter().flat_map(|p| p.regions()).filter_map(|r| r.region_name()).collect();
    assert_eq!(names, ["eu-west-1", "us-east-1", "ap-south-1"]);
    let replica = sso(&emulator, MANAGEMENT_KEY, "us-east-1");
    let read_there = replica.describe_instance().instance_arn(ORG_ARN).send().await.unwrap();
    assert_eq!(read_there.primary_region(), Some("eu-west-1"), "an additional Region serves reads");
    let changed_there = replica.add_region().instance_arn(ORG_ARN).region_name("sa-east-1").send().await;
    assert!(message(changed_there).contains("must be called in the primary Region"));
    let listed_instance = client.list_instances().send().await.unwrap();
    assert_eq!(listed_instance.instances()[0].regions().len(), 3, "ListInstances shows the Regions");

    // A key that cannot carry Regions is refused while they exist.
    assert!(
        message(update().encryption_configuration(key(KmsKeyType::CustomerManagedKey, Some(SINGLE))).send().await)
            .contains("remove them first")
    );

    // Removing: never the primary, never one it does not have, then REMOVING, then gone.
    let remove = |region: &str| client.remove_region().instance_arn(ORG_ARN).region_name(region);
    assert!(message(remove("eu-west-1").send().await).contains("cannot be removed"));
    assert_eq!(code(&remove("sa-east-1").send().await.unwrap_err()), "ResourceNotFoundException");
    assert_eq!(remove("us-east-1").send().await.unwrap().status(), Some(&RegionStatus::Removing));
    assert_eq!(code(&remove("ap-south-1").send().await.unwrap_err()), "ConflictException");
    settle().await;
    let gone = client.describe_region().instance_arn(ORG_ARN).region_name("us-east-1").send().await.unwrap_err();
    assert_eq!(code(&gone), "ResourceNotFoundException");

    let operations: Vec<String> = emulator.emulator.calls().iter().map(|c| c.operation.clone()).collect();
    for operation in ["UpdateInstance", "AddRegion", "RemoveRegion", "DescribeRegion", "ListRegions"] {
        assert!(operations.iter().any(|o| o == operation), "the call log has {operation}");
    }
}

#[tokio::test]
async fn a_key_that_fails_later_ends_update_failed_with_its_reason() {
    let emulator = start(organization()).await;
    let client = sso(&emulator, MANAGEMENT_KEY, "eu-west-1");
    let request = client
        .update_instance()
        .instance_arn(ORG_ARN)
        .encryption_configuration(key(KmsKeyType::CustomerManagedKey, Some(BAD_POLICY)));
    request.send().await.unwrap();
    settle().await;
    let described = client.describe_instance().instance_arn(ORG_ARN).send().await.unwrap();
    let details = described.encryption_configuration_details().unwrap();
    assert_eq!(details.encryption_status(), Some(&KmsKeyStatus::UpdateFailed));
    assert_eq!(details.encryption_status_reason(), Some("The key policy denies sso.amazonaws.com"));
}

#[tokio::test]
async fn a_member_sees_the_organization_instance_and_an_account_instance_has_neither_key_nor_regions() {
    let emulator = start(organization()).await;
    let member = sso(&emulator, KEY_A, "eu-west-1");
    let seen = member.describe_instance().instance_arn(ORG_ARN).send().await.unwrap();
    assert_eq!(seen.owner_account_id(), Some(MANAGEMENT));
    let change = member.update_instance().instance_arn(ORG_ARN).permission_sets_enabled(true).send().await;
    assert_eq!(code(&change.unwrap_err()), "AccessDeniedException");
    let add = member.add_region().instance_arn(ORG_ARN).region_name("us-east-1").send().await;
    assert_eq!(code(&add.unwrap_err()), "AccessDeniedException");

    let other = sso(&emulator, KEY_B, "eu-west-1");
    let arn = other.create_instance().client_token("account").send().await.unwrap().instance_arn.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let own_key = "arn:aws:kms:eu-west-1:444455556666:key/mrk-0123456789abcdef0123456789abcdef";
    let cmk = other
        .update_instance()
        .instance_arn(&arn)
        .encryption_configuration(key(KmsKeyType::CustomerManagedKey, Some(own_key)));
    assert!(message(cmk.send().await).contains("only for organization instances"));
    let region = other.add_region().instance_arn(&arn).region_name("us-east-1").send().await;
    assert!(message(region).contains("only for organization instances"));
}
