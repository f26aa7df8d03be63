//! Pure decisions: what to do, given the spec and what was observed in AWS and
//! in the cluster. No I/O here; `reconcile` performs what these functions decide.

pub mod access_control;
pub mod settled;
pub mod workflows;

use std::time::Duration;

use k8s_openapi::jiff::Timestamp;

use super::ownership::OWN_TAG_PREFIX;
use crate::api::{
    DeletionPolicy, IdentityCenterInstanceSpec, IdentityCenterInstanceStatus, InstanceOwnership, ManagementPolicy,
};
use crate::controller::conditions::{Outcome, Reason};
use crate::sso::{Instance, InstanceState, Tags};

/// How the object finds its instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// The ARN recorded in status: the instance this object created or adopted.
    Recorded(String),
    /// spec.instanceArn: adopt an existing instance, never create.
    Adopt(String),
    /// ObserveOnly with spec.instanceArn: report that instance, never write to it.
    Observe(String),
    /// ObserveOnly without an ARN: the instance ListInstances shows for the account.
    Discover,
    /// The object's identitycenter.dev/instance-arn annotation names an
    /// instance it created, but its status does not (a restore from backup
    /// drops status): take it back once its ownership tags confirm it.
    Restore(String),
    /// Create one (CreateInstance with the object's UID as ClientToken).
    Create,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub region: String,
    pub source: Source,
}

fn stalled(reason: Reason, message: String) -> Outcome {
    Outcome::Stalled { reason, message }
}

/// Which region and which instance this object is about, or why it cannot proceed.
pub fn plan(
    spec: &IdentityCenterInstanceSpec,
    status: Option<&IdentityCenterInstanceStatus>,
    annotated_arn: Option<&str>,
    default_region: Option<&str>,
) -> Result<Plan, Outcome> {
    let recorded_region = status.and_then(|s| s.region.as_deref());
    // Only an instance the object owns binds it: an observed one is forgotten when it starts to manage.
    let recorded_arn = status.and_then(|s| s.owned_instance());
    if let (Some(wanted), Some(recorded)) = (spec.region.as_deref(), recorded_region)
        && wanted != recorded
    {
        return Err(stalled(
            Reason::RegionChanged,
            format!(
                "spec.region is {wanted} but the instance lives in {recorded}; an instance cannot move. Delete \
                 this object (with deletionPolicy Retain the instance stays) and create a new one for {wanted}."
            ),
        ));
    }
    if let (Some(wanted), Some(recorded)) = (spec.instance_arn.as_deref(), recorded_arn)
        && wanted != recorded
    {
        return Err(stalled(
            Reason::InstanceArnMismatch,
            format!(
                "spec.instanceArn is {wanted} but this object already manages {recorded}. Delete this object \
                 (with deletionPolicy Retain the instance stays) and adopt {wanted} with a new one."
            ),
        ));
    }
    let Some(region) = spec.region.as_deref().or(recorded_region).or(default_region) else {
        return Err(stalled(
            Reason::RegionUnknown,
            "No region: set spec.region, or start the operator with --default-region.".into(),
        ));
    };
    let source = match (spec.management_policy, recorded_arn, spec.instance_arn.as_deref()) {
        // The account's (or organization's) instance may be replaced: look every time.
        (ManagementPolicy::ObserveOnly, _, None) => Source::Discover,
        (ManagementPolicy::ObserveOnly, _, Some(arn)) => Source::Observe(arn.into()),
        (ManagementPolicy::Manage, Some(arn), _) => Source::Recorded(arn.into()),
        (ManagementPolicy::Manage, None, Some(arn)) => Source::Adopt(arn.into()),
        (ManagementPolicy::Manage, None, None) => match annotated_arn {
            Some(arn) => Source::Restore(arn.into()),
            None => Source::Create,
        },
    };
    Ok(Plan { region: region.into(), source })
}

/// How the object holds the instance its plan leads to. Only a creation, or
/// an adoption made while the object holds the account's claim, makes it the
/// object's own.
pub fn ownership(source: &Source, recorded: Option<InstanceOwnership>) -> InstanceOwnership {
    match source {
        Source::Create | Source::Restore(_) => InstanceOwnership::Created,
        Source::Adopt(_) => InstanceOwnership::Adopted,
        Source::Observe(_) | Source::Discover => InstanceOwnership::Observed,
        // `plan` records only an owned instance; a status from before ownership owns what it created.
        Source::Recorded(_) => recorded.unwrap_or(InstanceOwnership::Created),
    }
}

/// The recorded instance lives in another account than the spec now targets
/// (spec.credentials changed): nothing can be said about it from there.
pub fn account_changed(status: Option<&IdentityCenterInstanceStatus>, account: &str) -> Option<Outcome> {
    let status = status?;
    let recorded = status.target_account_id.as_deref().filter(|_| status.instance_arn.is_some())?;
    (recorded != account).then(|| {
        stalled(
            Reason::AccountChanged,
            format!(
                "spec.credentials now targets account {account}, but the instance {} lives in account {recorded}. \
                 Set spec.credentials back; an instance cannot change accounts.",
                status.instance_arn.as_deref().unwrap_or_default()
            ),
        )
    })
}

/// How long before its CreateInstance an instance may seem to have been
/// created, given clock skew between the cluster and AWS.
const CLOCK_SKEW: Duration = Duration::from_secs(120);

/// After a crash between CreateInstance and recording its ARN: the instance
/// that call created. Only one created after the call was marked counts, so
/// an account's older instance (its organization's, one retained by another
/// object) is never taken for it, and only one in the Region the call went
/// to: an instance elsewhere (ListInstances with ALL_REGIONS shows it) was
/// made by someone else, whenever it was made.
pub fn recovered<'a>(
    instances: &'a [Instance],
    account: &str,
    requested: Timestamp,
    calls_region: &str,
) -> Option<&'a Instance> {
    let earliest = requested.checked_sub(CLOCK_SKEW).unwrap_or(requested);
    owned_by(instances, account)
        .filter(|i| i.created_date.is_some_and(|created| created >= earliest))
        .filter(|i| i.primary_region.as_deref().is_none_or(|region| region == calls_region))
}

/// A managed instance must belong to the account the object acts in.
pub fn foreign_owner(instance: &Instance, account: &str) -> Option<Outcome> {
    let owner = instance.owner_account_id.as_deref()?;
    (owner != account).then(|| {
        stalled(
            Reason::NotOwnedByTargetAccount,
            format!(
                "Instance {} belongs to account {owner}, not to {account} where this object acts; the operator \
                 only manages an account's own instance. Use managementPolicy ObserveOnly, or point \
                 spec.credentials.roleArn at account {owner}.",
                instance.arn
            ),
        )
    })
}

pub use crate::controller::claims::{Claimant, claim_holder};

/// The instance owned by `account` among those ListInstances returned.
pub fn owned_by<'a>(instances: &'a [Instance], account: &str) -> Option<&'a Instance> {
    instances.iter().find(|i| i.owner_account_id.as_deref() == Some(account))
}

/// Why CreateInstance found the account taken: its one instance, named
/// with the Region it lives in when that is not the Region of this object's
/// calls (AWS allows one instance per account across all Regions).
pub fn existing_instance(existing: &Instance, account: &str, calls_region: &str) -> Outcome {
    let arn = &existing.arn;
    match existing.primary_region.as_deref().filter(|region| *region != calls_region) {
        Some(region) => stalled(
            Reason::InstanceInAnotherRegion,
            format!(
                "Account {account} already has instance {arn} in Region {region}, and AWS allows one instance per \
                 account across all Regions, so none can be created in {calls_region}. To manage that instance, \
                 adopt it: set spec.instanceArn: {arn} and spec.region: {region}."
            ),
        ),
        None => stalled(
            Reason::InstanceAlreadyExists,
            format!(
                "Account {account} already has instance {arn} and AWS allows one per account. To manage it, set \
                 spec.instanceArn: {arn}"
            ),
        ),
    }
}

/// CreateInstance was refused for this generation of the spec because the
/// account has an instance: it is not sent again until the spec changes.
pub fn create_refused(status: Option<&IdentityCenterInstanceStatus>, generation: Option<i64>) -> bool {
    generation.is_some() && status.and_then(|s| s.create_refused_generation) == generation
}

/// For ObserveOnly: the account's own instance, else the single instance it
/// can see (a member account sees its organization's instance).
pub fn observed_instance<'a>(instances: &'a [Instance], account: &str) -> Option<&'a Instance> {
    owned_by(instances, account).or(match instances {
        [only] => Some(only),
        _ => None,
    })
}

/// How long to wait before looking at an instance that is still being created
/// or deleted: quick at first, since creation usually takes seconds, then
/// slower, and never more than 30 s.
pub fn poll_delay(elapsed: Duration) -> Duration {
    let seconds = match elapsed.as_secs() {
        0..10 => 2,
        10..60 => 5,
        60..300 => 15,
        _ => 30,
    };
    Duration::from_secs(seconds)
}

/// What an instance's lifecycle state means for this reconcile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lifecycle {
    /// ACTIVE: apply the spec.
    Active,
    /// Not there yet (or going away); poll.
    Wait(Outcome),
    /// CREATE_FAILED: terminal.
    Failed(Outcome),
}

pub fn lifecycle(instance: &Instance) -> Lifecycle {
    let reason_text = instance.state_reason.as_deref().unwrap_or("AWS gave no reason");
    match &instance.state {
        InstanceState::Active => Lifecycle::Active,
        InstanceState::CreateInProgress => Lifecycle::Wait(Outcome::Progressing {
            reason: Reason::Creating,
            message: format!("Instance {} is CREATE_IN_PROGRESS", instance.arn),
        }),
        InstanceState::DeleteInProgress => Lifecycle::Wait(Outcome::Progressing {
            reason: Reason::Deleting,
            message: format!("Instance {} is DELETE_IN_PROGRESS", instance.arn),
        }),
        InstanceState::CreateFailed => Lifecycle::Failed(stalled(
            Reason::CreateFailed,
            format!(
                "AWS could not create instance {}: {reason_text}. Delete this object (deletionPolicy Delete \
                 removes the failed instance too) and create a new one to try again.",
                instance.arn
            ),
        )),
        InstanceState::Other(state) => Lifecycle::Wait(Outcome::Progressing {
            reason: Reason::UnknownState,
            message: format!("Instance {} is in state {state}, which this operator does not know", instance.arn),
        }),
    }
}

/// The new name to send with UpdateInstance, if the spec names one that AWS does not have.
pub fn rename<'a>(spec: &'a IdentityCenterInstanceSpec, instance: &Instance) -> Option<&'a str> {
    spec.name.as_deref().filter(|wanted| instance.name.as_deref() != Some(*wanted))
}

/// The difference between the spec's tags and the instance's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TagChanges {
    /// New or changed tags (TagResource).
    pub set: Tags,
    /// Keys to remove (UntagResource).
    pub remove: Vec<String>,
}

impl TagChanges {
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.remove.is_empty()
    }
}

/// Whether the instance's tags must be read from AWS before the spec's are
/// put on it. Not at its first ACTIVE sight, when the CreateInstance that
/// made it carried this generation's tags: they are what AWS holds, and the
/// next drift check reads them like any other.
pub fn tags_need_reading(previous: Option<&IdentityCenterInstanceStatus>, generation: Option<i64>) -> bool {
    let known = previous.is_some_and(|status| {
        status.ownership == Some(InstanceOwnership::Created)
            && status.create_requested_generation.is_some()
            && status.create_requested_generation == generation
            && status.state.as_deref() != Some(InstanceState::Active.as_str())
    });
    !known
}

/// The spec's tags are the whole truth, except the `aws:` keys that AWS
/// itself manages and the operator's ownership tags (`identitycenter.dev/`).
pub fn tag_changes(desired: &Tags, actual: &Tags) -> TagChanges {
    let set = desired.iter().filter(|(k, v)| actual.get(*k) != Some(v)).map(|(k, v)| (k.clone(), v.clone())).collect();
    let kept = |k: &str| k.starts_with("aws:") || k.starts_with(OWN_TAG_PREFIX);
    let remove = actual.keys().filter(|k| !desired.contains_key(*k) && !kept(k)).cloned().collect();
    TagChanges { set, remove }
}

/// Why an object is let go without touching AWS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Release {
    /// ObserveOnly never writes to AWS, deletion included.
    ObserveOnly,
    /// deletionPolicy Retain leaves the instance in AWS.
    Retained,
    /// deletionPolicy Delete, but no instance was ever created for the object.
    NeverCreated,
}

impl Release {
    /// The event reason.
    pub fn reason(self) -> &'static str {
        match self {
            Self::ObserveOnly => "ObserveOnly",
            Self::Retained => "Retained",
            Self::NeverCreated => "NeverCreated",
        }
    }

    /// The event note; `arn` is the instance left alone, when one is recorded.
    pub fn note(self, arn: Option<&str>) -> String {
        let instance = arn.unwrap_or("no instance");
        match self {
            Self::ObserveOnly => format!("ObserveOnly: {instance} is left untouched"),
            Self::Retained => format!("deletionPolicy Retain: {instance} is left in AWS"),
            Self::NeverCreated => "No instance was ever created for this object".to_string(),
        }
    }
}

/// What deleting the object does to the instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Deletion {
    Release(Release),
    /// Delete the instance, once the object is confirmed as its account's
    /// claim holder, then wait until it is gone.
    Delete(Doomed),
}

/// The instance a Delete deletes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Doomed {
    /// The ARN the object recorded as its own.
    Recorded(String),
    /// CreateInstance was asked for at this time, but a crash cut in before
    /// its ARN was recorded: find the instance (`recovered`), then delete it.
    Recover(Timestamp),
}

/// From the spec and what the status recorded: the ARN the object owns (an
/// observed one is never deleted), or the moment CreateInstance was asked for.
pub fn deletion(spec: &IdentityCenterInstanceSpec, status: Option<&IdentityCenterInstanceStatus>) -> Deletion {
    let arn = status.and_then(|s| s.owned_instance()).map(str::to_string);
    let requested = status.and_then(|s| s.create_requested_at.as_ref()).map(|t| t.0);
    match (spec.management_policy, spec.deletion_policy, arn, requested) {
        (ManagementPolicy::ObserveOnly, _, _, _) => Deletion::Release(Release::ObserveOnly),
        (_, DeletionPolicy::Retain, _, _) => Deletion::Release(Release::Retained),
        (_, DeletionPolicy::Delete, Some(arn), _) => Deletion::Delete(Doomed::Recorded(arn)),
        (_, DeletionPolicy::Delete, None, Some(requested)) => Deletion::Delete(Doomed::Recover(requested)),
        (_, DeletionPolicy::Delete, None, None) => Deletion::Release(Release::NeverCreated),
    }
}

/// During a Delete: what to do next, given the instance (None: it is gone).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeleteProgress {
    SendDelete,
    Wait,
    Gone,
}

/// How a Delete of a known instance begins, from what its status recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeleteStart {
    /// Last seen ACTIVE and no DeleteInstance sent: send it without looking first.
    Send,
    /// AWS accepted DeleteInstance (or showed it deleting): a DescribeInstance
    /// that is denied or finds nothing means the instance is gone.
    Follow,
    /// Anything else: look first, telling a denial from a deletion by ListInstances.
    Look,
}

pub fn delete_start(status: &IdentityCenterInstanceStatus) -> DeleteStart {
    let deleting = InstanceState::DeleteInProgress.as_str();
    match (status.state.as_deref(), &status.delete_requested_at) {
        (Some(state), _) if state == deleting => DeleteStart::Follow,
        (Some(state), None) if state == InstanceState::Active.as_str() => DeleteStart::Send,
        _ => DeleteStart::Look,
    }
}

pub fn delete_progress(instance: Option<&Instance>) -> DeleteProgress {
    match instance.map(|i| &i.state) {
        None => DeleteProgress::Gone,
        Some(InstanceState::DeleteInProgress) => DeleteProgress::Wait,
        Some(_) => DeleteProgress::SendDelete,
    }
}

#[cfg(test)]
mod tests;
