//! Which long-running change an ACTIVE instance needs next. AWS runs one
//! workflow at a time per instance, and UpdateInstance carries one kind of
//! change per call; the order is the KMS key, then permission sets, then
//! network controls, then Regions, because additional Regions need the
//! multi-Region key in place. The one exception: a key that cannot carry
//! Regions is only set once the Regions it would strand are removed.
//!
//! Decisions read what AWS reports, and the workflow this object started
//! last (`status.lastWorkflow`): the same workflow is not sent twice for one
//! generation of the spec while AWS may still be about to show it, and a
//! key change that failed is tried once per generation, then Stalled.

use std::fmt;
use std::time::Duration;

use crate::api::{
    Encryption, IdentityCenterInstanceSpec, KeyType, NetworkConfiguration, RegionRemovalPolicy, StartedWorkflow,
};
use crate::controller::conditions::{Outcome, Reason};
use crate::sso::{EncryptionKey, EncryptionStatus, Instance, RegionStatus, Workflow};

/// How long a started workflow may stay invisible in DescribeInstance
/// before the operator sends it again.
pub const REPEAT_AFTER: Duration = Duration::from_secs(600);

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

/// What the decision looks at besides the spec.
pub struct Facts<'a> {
    /// The instance as DescribeInstance reports it (ACTIVE).
    pub instance: &'a Instance,
    /// The Region this object's calls go to (spec.region, the recorded one, or the default).
    pub calls_region: &'a str,
    /// metadata.generation of the object.
    pub generation: i64,
    /// The workflow this object started last, and how long ago.
    pub last: Option<(&'a StartedWorkflow, Duration)>,
    /// The network controls the status recorded before this look at AWS.
    pub recorded_network: Option<&'a NetworkConfiguration>,
}

impl Facts<'_> {
    /// The instance's primary Region as AWS reports it, else where the calls go.
    fn primary(&self) -> &str {
        self.instance.primary_region.as_deref().unwrap_or(self.calls_region)
    }

    /// The workflow started last, if it was started for this generation of the spec.
    fn started_for_this_spec(&self) -> Option<(&StartedWorkflow, Duration)> {
        self.last.filter(|(started, _)| started.generation == self.generation)
    }
}

/// How a key change starts its name in `status.lastWorkflow`.
const SET_KEY: &str = "SetKey";

/// How a workflow is named in `status.lastWorkflow` and in messages.
pub struct Named<'a>(pub &'a Workflow);

impl fmt::Display for Named<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Workflow::SetKey(EncryptionKey::AwsOwned) => write!(f, "{SET_KEY} AWS_OWNED_KMS_KEY"),
            Workflow::SetKey(EncryptionKey::CustomerManaged { kms_key_arn }) => write!(f, "{SET_KEY} {kms_key_arn}"),
            Workflow::EnablePermissionSets => f.write_str("EnablePermissionSets"),
            Workflow::SetNetwork(network) => write!(f, "SetNetwork {:016x}", fingerprint(network)),
            Workflow::AddRegion(region) => write!(f, "AddRegion {region}"),
            Workflow::RemoveRegion(region) => write!(f, "RemoveRegion {region}"),
        }
    }
}

/// The event reason and note that announce a workflow's start.
pub fn announcement(workflow: &Workflow, arn: &str) -> (&'static str, String) {
    match workflow {
        Workflow::SetKey(EncryptionKey::AwsOwned) => {
            ("EncryptionKeyUpdate", format!("Switching instance {arn} to the AWS owned KMS key"))
        }
        Workflow::SetKey(EncryptionKey::CustomerManaged { kms_key_arn }) => {
            ("EncryptionKeyUpdate", format!("Switching instance {arn} to the customer managed key {kms_key_arn}"))
        }
        Workflow::EnablePermissionSets => {
            ("PermissionSetsEnabled", format!("Enabled permission sets on instance {arn}; this cannot be undone"))
        }
        Workflow::SetNetwork(network) => (
            "NetworkConfigurationUpdate",
            format!(
                "Setting the network controls of instance {arn}: vpceAccessRequired {}, {} source VPCs, {} source IP \
                 ranges, {} excluded applications",
                network.vpce_access_required,
                network.restrict_source_vpcs.len(),
                network.allow_source_ips.len(),
                network.exclude_application_arns.len()
            ),
        ),
        Workflow::AddRegion(region) => ("RegionAdding", format!("Adding Region {region} to instance {arn}")),
        Workflow::RemoveRegion(region) => ("RegionRemoving", format!("Removing Region {region} from instance {arn}")),
    }
}

fn stalled(reason: Reason, message: String) -> Verdict {
    Verdict::Stalled(Outcome::Stalled { reason, message })
}

fn waiting(message: String) -> Verdict {
    Verdict::Wait(Outcome::Progressing { reason: Reason::Updating, message })
}

/// A stable digest of a network configuration (FNV-1a over its normalized
/// JSON), so that `status.lastWorkflow` names what was sent without holding
/// up to 150 ARNs and ranges.
fn fingerprint(network: &NetworkConfiguration) -> u64 {
    let text = serde_json::to_vec(&network.normalized()).unwrap_or_default();
    text.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3))
}

/// The key the spec asks for.
pub fn desired_key(encryption: &Encryption) -> Result<EncryptionKey, Outcome> {
    match (encryption.key_type, &encryption.kms_key_arn) {
        (KeyType::AwsOwned, _) => Ok(EncryptionKey::AwsOwned),
        (KeyType::CustomerManaged, Some(arn)) => Ok(EncryptionKey::CustomerManaged { kms_key_arn: arn.clone() }),
        (KeyType::CustomerManaged, None) => Err(Outcome::Stalled {
            reason: Reason::InvalidSpec,
            message: "spec.encryption.keyType CustomerManaged needs spec.encryption.kmsKeyArn".into(),
        }),
    }
}

/// The next step toward `spec`: the decision, then the checks every start passes.
pub fn next(spec: &IdentityCenterInstanceSpec, facts: &Facts) -> Verdict {
    match decide(spec, facts) {
        Verdict::Start(workflow) => guarded_start(workflow, facts),
        other => other,
    }
}

/// A workflow goes to the primary Region, and is not sent again while AWS
/// may be about to show the same one, started for this spec.
fn guarded_start(workflow: Workflow, facts: &Facts) -> Verdict {
    let (primary, arn) = (facts.primary(), &facts.instance.arn);
    if primary != facts.calls_region {
        return stalled(
            Reason::NotPrimaryRegion,
            format!(
                "Instance {arn} has its primary Region in {primary}, but this object's calls go to {}; AWS takes \
                 key and Region changes in the primary Region only. Adopt the instance with a new object whose \
                 spec.region is {primary} (deletionPolicy Retain keeps it when this one is deleted).",
                facts.calls_region
            ),
        );
    }
    // Network controls that AWS was seen to hold and no longer does were
    // changed outside: they go back at once. Ones AWS has not shown yet wait
    // like any workflow, so that a value AWS keeps in another spelling costs
    // a call per REPEAT_AFTER, not one per poll.
    if let Workflow::SetNetwork(wanted) = &workflow
        && facts.recorded_network.map(NetworkConfiguration::normalized).as_ref() == Some(wanted)
    {
        return Verdict::Start(workflow);
    }
    let name = Named(&workflow).to_string();
    if let Some((_, ago)) = facts.started_for_this_spec().filter(|(s, ago)| s.name == name && *ago < REPEAT_AFTER) {
        return waiting(format!(
            "{name} was sent {}s ago and AWS does not show it yet; it is sent again after {}s",
            ago.as_secs(),
            REPEAT_AFTER.as_secs()
        ));
    }
    Verdict::Start(workflow)
}

fn decide(spec: &IdentityCenterInstanceSpec, facts: &Facts) -> Verdict {
    let (instance, primary) = (facts.instance, facts.primary());
    let arn = &instance.arn;
    match instance.encryption.as_ref().map(|e| &e.status) {
        Some(EncryptionStatus::Updating) => {
            return waiting(format!("Instance {arn} is switching its KMS key: encryption is UPDATING"));
        }
        Some(EncryptionStatus::Other(status)) => {
            return waiting(format!("Encryption of instance {arn} is {status}, which this operator does not know"));
        }
        _ => {}
    }
    if let Some(region) = instance.regions.iter().find(|r| r.status != RegionStatus::Active) {
        return waiting(format!("Region {} of instance {arn} is {}", region.name, region.status.as_str()));
    }
    if spec.regions.iter().any(|r| r == primary) {
        return stalled(
            Reason::PrimaryRegionListed,
            format!(
                "spec.regions lists {primary}, the instance's primary Region, which is always there; list only the \
                 additional Regions"
            ),
        );
    }
    let wants_regions = !spec.regions.is_empty() || spec.region_removal_policy == RegionRemovalPolicy::Remove;
    if wants_regions && instance.regions.is_empty() {
        return stalled(
            Reason::RegionsNotReported,
            format!("AWS reports no Regions for instance {arn}; the operator changes no Region it cannot see"),
        );
    }
    let mut additional: Vec<&str> =
        instance.regions.iter().filter(|r| !r.primary && r.name != primary).map(|r| r.name.as_str()).collect();
    additional.sort_unstable();
    let unlisted: Vec<&str> = additional.iter().copied().filter(|r| !spec.regions.iter().any(|s| s == r)).collect();
    let removable = spec.region_removal_policy == RegionRemovalPolicy::Remove;

    if let Some(encryption) = &spec.encryption {
        let wanted = match desired_key(encryption) {
            Ok(key) => key,
            Err(outcome) => return Verdict::Stalled(outcome),
        };
        let current = instance.encryption.as_ref();
        let failed = current.filter(|e| e.status == EncryptionStatus::UpdateFailed);
        let tried = facts.started_for_this_spec().is_some_and(|(s, _)| s.name.starts_with(SET_KEY));
        match (current, failed) {
            // Whichever key AWS names after a failure, the spec's key was tried for this spec.
            (_, Some(failure)) if tried => {
                let reason = failure.reason.as_deref().unwrap_or("AWS gave no reason");
                return stalled(
                    Reason::EncryptionUpdateFailed,
                    format!(
                        "AWS could not switch instance {arn} to the key in spec.encryption: {reason}. Fix the key \
                         (its state, its key policy, its Region), then change the spec to try again."
                    ),
                );
            }
            (Some(current), None) if current.key == wanted => {}
            _ if !wanted.is_multi_region() && !additional.is_empty() => {
                return match (removable, unlisted.len() == additional.len()) {
                    (true, true) => Verdict::Start(Workflow::RemoveRegion(unlisted[0].to_string())),
                    _ => stalled(
                        Reason::RegionsNeedMultiRegionKey,
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
                Reason::PermissionSetsCannotBeDisabled,
                format!(
                    "Permission sets are enabled on instance {arn}, and AWS cannot disable them; set \
                     spec.permissionSetsEnabled to true or remove it"
                ),
            );
        }
        _ => {}
    }

    if let Some(wanted) = &spec.network {
        let wanted = wanted.normalized();
        if instance.network.clone().unwrap_or_default().normalized() != wanted {
            return Verdict::Start(Workflow::SetNetwork(wanted));
        }
    }

    let carries_regions =
        instance.encryption.as_ref().is_some_and(|e| e.status == EncryptionStatus::Enabled && e.key.is_multi_region());
    if let Some(missing) = spec.regions.iter().find(|wanted| !instance.regions.iter().any(|r| &r.name == *wanted)) {
        if !carries_regions {
            return stalled(
                Reason::RegionsNeedMultiRegionKey,
                format!(
                    "Region {missing} cannot be added: instance {arn} is not encrypted with an ENABLED multi-Region \
                     customer managed key (key/mrk-...); set one in spec.encryption"
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
