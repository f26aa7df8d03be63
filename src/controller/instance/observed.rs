//! What AWS showed of an instance, as the status records it. Pure: the
//! reconcile hands in what it read and the time it read it.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

use crate::api::{
    IdentityCenterInstanceStatus, KeyType, ObservedAccessControlAttributes, ObservedEncryption, ObservedRegion,
};
use crate::sso::{AccessControlAttributes, Encryption, EncryptionKey, Instance, Region};

/// DescribeInstance's answer, read at `now` through `region`.
pub fn record(status: &mut IdentityCenterInstanceStatus, instance: &Instance, region: &str, now: Timestamp) {
    status.instance_arn = Some(instance.arn.clone());
    status.last_checked_at = Some(whole_seconds(now));
    status.region = Some(region.to_string());
    status.identity_store_id = instance.identity_store_id.clone();
    status.identity_store_arn = instance.identity_store_arn.clone();
    status.owner_account_id = instance.owner_account_id.clone();
    status.state = Some(instance.state.as_str().to_string());
    status.state_reason = instance.state_reason.clone();
    status.created_date = instance.created_date.map(whole_seconds);
    status.encryption = instance.encryption.as_ref().map(observed_encryption);
    status.permission_sets_enabled = instance.permission_sets_enabled;
    status.network = instance.network.clone();
    status.primary_region = instance.primary_region.clone().or_else(|| Some(region.to_string()));
    let mut regions: Vec<ObservedRegion> = instance.regions.iter().map(observed_region).collect();
    regions.sort_by(|a, b| (!a.primary, &a.name).cmp(&(!b.primary, &b.name)));
    status.region_count = i32::try_from(regions.len()).ok().filter(|n| *n > 0);
    status.regions = regions;
}

/// What DescribeInstanceAccessControlAttributeConfiguration answered, and
/// the generation whose attributes were last sent (kept across answers).
pub fn record_access_control(
    status: &mut IdentityCenterInstanceStatus,
    held: Option<&AccessControlAttributes>,
    sent_for_generation: Option<i64>,
) {
    status.access_control_attributes = Some(ObservedAccessControlAttributes {
        status: held.map(|h| h.status.as_str().to_string()),
        reason: held.and_then(|h| h.reason.clone()),
        attributes: held.map(|h| h.attributes.clone()).unwrap_or_default(),
        sent_for_generation,
    });
}

/// The object starts to manage: an instance it only observed is no longer reported as its own.
pub fn forget_instance(status: &mut IdentityCenterInstanceStatus) {
    status.instance_arn = None;
    status.ownership = None;
    status.identity_store_id = None;
    status.identity_store_arn = None;
    status.owner_account_id = None;
    status.created_date = None;
    clear_lifecycle(status);
}

/// Forgets what AWS last said of the instance's lifecycle, key, network
/// controls, attributes and Regions:
/// the instance is not there any more.
pub fn clear_lifecycle(status: &mut IdentityCenterInstanceStatus) {
    status.state = None;
    status.state_reason = None;
    status.encryption = None;
    status.permission_sets_enabled = None;
    status.network = None;
    status.access_control_attributes = None;
    status.primary_region = None;
    status.regions = Vec::new();
    status.region_count = None;
}

/// Kubernetes stores times to the second; keeping more would make every
/// status look changed.
pub fn whole_seconds(time: Timestamp) -> Time {
    Time(Timestamp::from_second(time.as_second()).unwrap_or(time))
}

fn observed_encryption(encryption: &Encryption) -> ObservedEncryption {
    let key_type = match encryption.key {
        EncryptionKey::AwsOwned => KeyType::AwsOwned,
        EncryptionKey::CustomerManaged { .. } => KeyType::CustomerManaged,
    };
    ObservedEncryption {
        key_type,
        kms_key_arn: encryption.key.kms_key_arn().map(str::to_string),
        status: encryption.status.as_str().to_string(),
        reason: encryption.reason.clone(),
    }
}

fn observed_region(region: &Region) -> ObservedRegion {
    ObservedRegion {
        name: region.name.clone(),
        status: region.status.as_str().to_string(),
        added_date: region.added_date.map(whole_seconds),
        primary: region.primary,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sso::{InstanceState, RegionStatus};

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn region(name: &str, primary: bool) -> Region {
        Region { name: name.into(), status: RegionStatus::Active, added_date: None, primary }
    }

    #[test]
    fn times_are_kept_to_the_second() {
        assert_eq!(whole_seconds(at("2026-12-03T10:00:00.75Z")).0, at("2026-12-03T10:00:00Z"));
    }

    #[test]
    fn regions_are_listed_primary_first_then_by_name_and_counted() {
        let cases: [(Vec<Region>, Vec<&str>, Option<i32>); 3] = [
            (vec![], vec![], None),
            (vec![region("us-east-1", false), region("eu-west-1", true)], vec!["eu-west-1", "us-east-1"], Some(2)),
            (
                vec![region("us-west-2", false), region("ap-south-1", false), region("us-east-1", true)],
                vec!["us-east-1", "ap-south-1", "us-west-2"],
                Some(3),
            ),
        ];
        for (regions, names, count) in cases {
            let instance = Instance { regions, ..Instance::test(InstanceState::Active) };
            let mut status = IdentityCenterInstanceStatus::default();
            record(&mut status, &instance, "eu-west-1", at("2026-12-03T10:00:00Z"));
            assert_eq!(status.regions.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), names);
            assert_eq!(status.region_count, count);
        }
    }

    #[test]
    fn the_calls_region_stands_in_for_a_primary_region_aws_did_not_name() {
        let cases = [(None, "eu-west-1"), (Some("us-east-1"), "us-east-1")];
        for (primary, expected) in cases {
            let instance =
                Instance { primary_region: primary.map(Into::into), ..Instance::test(InstanceState::Active) };
            let mut status = IdentityCenterInstanceStatus::default();
            record(&mut status, &instance, "eu-west-1", at("2026-12-03T10:00:00Z"));
            assert_eq!(status.primary_region.as_deref(), Some(expected));
            assert_eq!(status.last_checked_at, Some(whole_seconds(at("2026-12-03T10:00:00Z"))));
        }
    }

    #[test]
    fn a_customer_managed_key_is_shown_with_its_arn_and_aws_reason() {
        let key = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        let encryption = Encryption {
            key: EncryptionKey::CustomerManaged { kms_key_arn: key.into() },
            status: crate::sso::EncryptionStatus::UpdateFailed,
            reason: Some("KMS_AccessDeniedException".into()),
        };
        let instance = Instance { encryption: Some(encryption), ..Instance::test(InstanceState::Active) };
        let mut status = IdentityCenterInstanceStatus::default();
        record(&mut status, &instance, "eu-west-1", at("2026-12-03T10:00:00Z"));
        let shown = status.encryption.unwrap();
        assert_eq!((shown.key_type, shown.kms_key_arn.as_deref()), (KeyType::CustomerManaged, Some(key)));
        assert_eq!(
            (shown.status.as_str(), shown.reason.as_deref()),
            ("UPDATE_FAILED", Some("KMS_AccessDeniedException"))
        );
    }

    #[test]
    fn forgetting_an_observed_instance_keeps_what_the_object_itself_holds() {
        let mut status = IdentityCenterInstanceStatus {
            target_account_id: Some("111122223333".into()),
            observed_generation: Some(3),
            ..Default::default()
        };
        let instance = Instance { regions: vec![region("eu-west-1", true)], ..Instance::test(InstanceState::Active) };
        record(&mut status, &instance, "eu-west-1", at("2026-12-03T10:00:00Z"));
        forget_instance(&mut status);
        let kept = IdentityCenterInstanceStatus {
            target_account_id: Some("111122223333".into()),
            observed_generation: Some(3),
            region: Some("eu-west-1".into()),
            last_checked_at: status.last_checked_at.clone(),
            ..Default::default()
        };
        assert_eq!(status, kept);
    }
}
