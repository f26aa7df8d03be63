//! Which long-running change an ACTIVE instance needs next. AWS runs one
//! workflow at a time per instance; the order is the KMS key, then
//! permission sets, then Regions, because additional Regions need the
//! multi-Region key in place. The one exception: a key that cannot carry
//! Regions is only set once the Regions it would strand are removed.

use crate::api::{Encryption, IdentityCenterInstanceSpec, KeyType, RegionRemovalPolicy};
use crate::controller::conditions::Outcome;
use crate::sso::{EncryptionKey, EncryptionStatus, Instance, RegionStatus, Workflow};

/// The reason of Ready while AWS carries out a workflow.
pub const UPDATING: &str = "Updating";
/// The reason of Stalled when AWS could not switch to the key.
pub const KEY_UPDATE_FAILED: &str = "EncryptionUpdateFailed";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Everything the spec asks for is in place. `retained` are ACTIVE
    /// Regions that the spec no longer lists, kept by regionRemovalPolicy Retain.
    InSync { retained: Vec<String> },
    /// AWS is carrying out a workflow: wait for it to end.
    Wait(Outcome),
    /// Start this workflow, then wait for it.
    Start(Workflow),
    /// The spec cannot be met as it stands.
    Stalled(Outcome),
}

fn stalled(reason: &'static str, message: String) -> Verdict {
    Verdict::Stalled(Outcome::Stalled { reason, message })
}

fn waiting(message: String) -> Verdict {
    Verdict::Wait(Outcome::Progressing { reason: UPDATING, message })
}

/// The key the spec asks for; None leaves the key as AWS has it.
pub fn desired_key(encryption: &Encryption) -> Result<EncryptionKey, Outcome> {
    match (encryption.key_type, &encryption.kms_key_arn) {
        (KeyType::AwsOwned, _) => Ok(EncryptionKey::AwsOwned),
        (KeyType::CustomerManaged, Some(arn)) => Ok(EncryptionKey::CustomerManaged { kms_key_arn: arn.clone() }),
        (KeyType::CustomerManaged, None) => Err(Outcome::Stalled {
            reason: "InvalidSpec",
            message: "spec.encryption.keyType CustomerManaged needs spec.encryption.kmsKeyArn".into(),
        }),
    }
}

/// The next step for `instance` (ACTIVE) toward `spec`. `primary` is the
/// instance's Region; `retry_failed_key` allows one more try of a key whose
/// update failed, once the spec changed since that failure was reported.
pub fn next(spec: &IdentityCenterInstanceSpec, instance: &Instance, primary: &str, retry_failed_key: bool) -> Verdict {
    let arn = &instance.arn;
    if let Some(encryption) = instance.encryption.as_ref().filter(|e| e.status == EncryptionStatus::Updating) {
        let key = encryption.key.kms_key_arn().unwrap_or("the AWS owned key");
        return waiting(format!("Instance {arn} is switching to {key}: encryption is UPDATING"));
    }
    if let Some(region) =
        instance.regions.iter().find(|r| matches!(r.status, RegionStatus::Adding | RegionStatus::Removing))
    {
        return waiting(format!("Region {} of instance {arn} is {}", region.name, region.status.as_str()));
    }
    if spec.regions.iter().any(|r| r == primary) {
        return stalled(
            "PrimaryRegionListed",
            format!(
                "spec.regions lists {primary}, the instance's primary Region, which is always there; list only the \
                 additional Regions"
            ),
        );
    }
    let additional: Vec<&str> =
        instance.regions.iter().filter(|r| !r.primary && r.name != primary).map(|r| r.name.as_str()).collect();
    let unlisted: Vec<&str> = additional.iter().copied().filter(|r| !spec.regions.iter().any(|s| s == r)).collect();
    let removable = spec.region_removal_policy == RegionRemovalPolicy::Remove;

    if let Some(encryption) = &spec.encryption {
        let wanted = match desired_key(encryption) {
            Ok(key) => key,
            Err(outcome) => return Verdict::Stalled(outcome),
        };
        let current = instance.encryption.as_ref().filter(|e| e.key == wanted);
        match current.map(|e| (&e.status, e.reason.as_deref())) {
            Some((EncryptionStatus::Enabled, _)) => {}
            Some((EncryptionStatus::UpdateFailed, reason)) if !retry_failed_key => {
                let reason = reason.unwrap_or("AWS gave no reason");
                return stalled(
                    KEY_UPDATE_FAILED,
                    format!(
                        "AWS could not switch instance {arn} to the key in spec.encryption: {reason}. Fix the key \
                         (its state, its key policy, its Region), then change the spec to try again."
                    ),
                );
            }
            Some((EncryptionStatus::Other(status), _)) => {
                return waiting(format!("Encryption of instance {arn} is {status}, which this operator does not know"));
            }
            _ if !wanted.is_multi_region() && !additional.is_empty() => {
                return match (removable, unlisted.len() == additional.len()) {
                    (true, true) => Verdict::Start(Workflow::RemoveRegion(unlisted[0].to_string())),
                    _ => stalled(
                        "RegionsNeedMultiRegionKey",
                        format!(
                            "Instance {arn} is replicated to {additional:?}, and the key in spec.encryption is not a \
                             multi-Region customer managed key, which Regions need. Remove them from spec.regions \
                             and set regionRemovalPolicy Remove, or use a key/mrk-... key."
                        ),
                    ),
                };
            }
            _ => return Verdict::Start(Workflow::SetKey(wanted)),
        }
    }

    match (spec.permission_sets_enabled, instance.permission_sets_enabled) {
        (Some(true), Some(false)) => return Verdict::Start(Workflow::EnablePermissionSets),
        (Some(false), Some(true)) => {
            return stalled(
                "PermissionSetsCannotBeDisabled",
                format!(
                    "Permission sets are enabled on instance {arn}, and AWS cannot disable them; set \
                     spec.permissionSetsEnabled to true or remove it"
                ),
            );
        }
        _ => {}
    }

    let has_region_key = instance.encryption.as_ref().is_some_and(|e| e.key.is_multi_region());
    if let Some(missing) = spec.regions.iter().find(|wanted| !instance.regions.iter().any(|r| &r.name == *wanted)) {
        if !has_region_key {
            return stalled(
                "RegionsNeedMultiRegionKey",
                format!(
                    "Region {missing} cannot be added: instance {arn} is not encrypted with a multi-Region customer \
                     managed key (key/mrk-...); set one in spec.encryption"
                ),
            );
        }
        return Verdict::Start(Workflow::AddRegion(missing.clone()));
    }
    match unlisted.first() {
        Some(region) if removable => Verdict::Start(Workflow::RemoveRegion(region.to_string())),
        _ => Verdict::InSync { retained: unlisted.iter().map(|r| r.to_string()).collect() },
    }
}

#[cfg(test)]
mod tests;
