//! One instance as the emulator holds it: its lifecycle, its KMS key, its
//! Regions, its network access and its attribute-based access control. Every
//! state follows from timestamps, so nothing runs in the background.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::access_control::AccessControl;
use crate::error::ApiError;

pub(super) const AWS_OWNED: &str = "AWS_OWNED_KMS_KEY";
pub(super) const CUSTOMER_MANAGED: &str = "CUSTOMER_MANAGED_KEY";

pub(super) struct Instance {
    pub arn: String,
    pub account: String,
    /// The primary Region: where it was created and where every call goes.
    pub region: String,
    pub name: Option<String>,
    pub identity_store_id: String,
    pub created_epoch: f64,
    pub created: Instant,
    pub create_time: Duration,
    pub failure: Option<String>,
    pub deleted: Option<(Instant, Duration)>,
    pub tags: BTreeMap<String, String>,
    /// Accounts that see it but may not change it (its organization's members).
    pub visible_to: Vec<String>,
    /// Owned by an organization's management account: the organization's
    /// instance, which alone may have a customer managed key and Regions.
    pub organization: bool,
    pub key: Key,
    pub permission_sets_enabled: bool,
    /// Additional Regions, in the order they were added.
    pub replicas: Vec<Replica>,
    /// NetworkConfigurationDetails: None until UpdateInstance first sets it.
    pub network: Option<Value>,
    pub access_control: Option<AccessControl>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum State {
    Creating,
    Failed,
    Active,
    Deleting,
    Gone,
}

impl State {
    fn as_str(self) -> &'static str {
        match self {
            State::Creating => "CREATE_IN_PROGRESS",
            State::Failed => "CREATE_FAILED",
            State::Active => "ACTIVE",
            State::Deleting | State::Gone => "DELETE_IN_PROGRESS",
        }
    }
}

/// The instance's KMS key and its last change.
pub(super) struct Key {
    /// None: the AWS owned key.
    pub customer_key: Option<String>,
    pub changed: Instant,
    pub takes: Duration,
    /// EncryptionStatusReason once the change has failed.
    pub failure: Option<String>,
}

impl Key {
    pub fn aws_owned(now: Instant) -> Self {
        Self { customer_key: None, changed: now, takes: Duration::ZERO, failure: None }
    }

    pub fn updating(&self, now: Instant) -> bool {
        now < self.changed + self.takes
    }

    pub fn status(&self, now: Instant) -> &'static str {
        match (self.updating(now), &self.failure) {
            (true, _) => "UPDATING",
            (false, Some(_)) => "UPDATE_FAILED",
            (false, None) => "ENABLED",
        }
    }

    /// A multi-Region customer managed key in use: what additional Regions need.
    pub fn carries_regions(&self, now: Instant) -> bool {
        self.status(now) == "ENABLED" && self.customer_key.as_deref().is_some_and(|k| k.contains(":key/mrk-"))
    }

    fn details(&self, now: Instant) -> Value {
        let status = self.status(now);
        let mut out = json!({
            "KeyType": if self.customer_key.is_some() { CUSTOMER_MANAGED } else { AWS_OWNED },
            "EncryptionStatus": status,
        });
        if let Some(arn) = &self.customer_key {
            out["KmsKeyArn"] = json!(arn);
        }
        if let (Some(reason), "UPDATE_FAILED") = (&self.failure, status) {
            out["EncryptionStatusReason"] = json!(reason);
        }
        out
    }
}

/// An additional Region of the instance.
pub(super) struct Replica {
    pub name: String,
    pub added_epoch: f64,
    pub added: Instant,
    pub takes: Duration,
    pub removing: Option<(Instant, Duration)>,
}

impl Replica {
    pub fn status(&self, now: Instant) -> Option<&'static str> {
        match self.removing {
            Some((at, takes)) if now >= at + takes => None,
            Some(_) => Some("REMOVING"),
            None if now < self.added + self.takes => Some("ADDING"),
            None => Some("ACTIVE"),
        }
    }

    pub fn metadata(&self, now: Instant) -> Option<Value> {
        Some(json!({
            "RegionName": self.name,
            "Status": self.status(now)?,
            "AddedDate": self.added_epoch,
            "IsPrimaryRegion": false,
        }))
    }
}

impl Instance {
    pub fn state(&self, now: Instant) -> State {
        match self.deleted {
            Some((at, takes)) if now >= at + takes => State::Gone,
            Some(_) => State::Deleting,
            None if now < self.created + self.create_time => State::Creating,
            None if self.failure.is_some() => State::Failed,
            None => State::Active,
        }
    }

    /// Whether calls in `region` reach it: its primary Region and its ACTIVE additional Regions.
    pub fn serves(&self, region: &str, now: Instant) -> bool {
        self.region == region || self.replicas.iter().any(|r| r.name == region && r.status(now) == Some("ACTIVE"))
    }

    /// The Region workflow under way, if any: a Region ADDING or REMOVING.
    pub fn region_workflow(&self, now: Instant) -> Option<&Replica> {
        self.replicas.iter().find(|r| matches!(r.status(now), Some("ADDING" | "REMOVING")))
    }

    /// AWS runs one workflow at a time: a key update or a Region ADDING or
    /// REMOVING refuses any other with a ConflictException.
    pub fn refuse_if_busy(&self, now: Instant) -> Result<(), ApiError> {
        let arn = &self.arn;
        if self.key.updating(now) {
            return Err(ApiError::conflict(format!("An encryption update of {arn} is in progress")));
        }
        match self.region_workflow(now) {
            Some(running) => Err(ApiError::conflict(format!(
                "Region {} of instance {arn} is {}; one workflow runs at a time",
                running.name,
                running.status(now).unwrap_or_default()
            ))),
            None => Ok(()),
        }
    }

    pub fn forget_removed_regions(&mut self, now: Instant) {
        self.replicas.retain(|r| r.status(now).is_some());
    }

    /// RegionMetadata of every Region, the primary first.
    pub fn regions(&self, now: Instant) -> Vec<Value> {
        let primary = json!({
            "RegionName": self.region,
            "Status": "ACTIVE",
            "AddedDate": self.created_epoch,
            "IsPrimaryRegion": true,
        });
        std::iter::once(primary).chain(self.replicas.iter().filter_map(|r| r.metadata(now))).collect()
    }

    /// The identity store's ARN carries no Region, only the owner's account.
    fn identity_store_arn(&self) -> String {
        format!("arn:aws:identitystore::{}:identitystore/{}", self.account, self.identity_store_id)
    }

    /// InstanceMetadata, as ListInstances shows it.
    pub fn listed(&self, now: Instant) -> Value {
        let state = self.state(now);
        let mut out = json!({
            "InstanceArn": self.arn,
            "IdentityStoreId": self.identity_store_id,
            "IdentityStoreArn": self.identity_store_arn(),
            "OwnerAccountId": self.account,
            "CreatedDate": self.created_epoch,
            "Status": state.as_str(),
            "PrimaryRegion": self.region,
            "Regions": self.regions(now),
        });
        if let Some(name) = &self.name {
            out["Name"] = json!(name);
        }
        if let (State::Failed, Some(reason)) = (state, &self.failure) {
            out["StatusReason"] = json!(reason);
        }
        out
    }

    /// DescribeInstance's answer: what ListInstances shows, the key, permission sets and network access.
    pub fn describe(&self, now: Instant) -> Value {
        let mut out = self.listed(now);
        out["EncryptionConfigurationDetails"] = self.key.details(now);
        out["PermissionSetsEnabled"] = json!(self.permission_sets_enabled);
        if let Some(network) = &self.network {
            out["NetworkConfigurationDetails"] = network.clone();
        }
        out
    }
}
