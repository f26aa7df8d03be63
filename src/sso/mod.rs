//! The SSO Admin port: what the controller needs from AWS, and nothing more.
//!
//! The controller talks to [`SsoAdmin`]; [`aws::AwsSsoAdmin`] implements it with
//! aws-sdk-ssoadmin and aws-sdk-sts, and tests implement it in memory.

mod access_control;
pub mod aws;
mod error;
mod limits;
mod metered;
mod network_configuration;
mod organizations;
mod sessions;
#[cfg(test)]
pub(crate) mod stub;
mod target;
mod workflow;
mod wrap;

use std::collections::BTreeMap;

use async_trait::async_trait;
use k8s_openapi::jiff::Timestamp;

pub use crate::api::NetworkConfiguration;

pub use access_control::{AccessControlAttributes, AttributeChange, AttributesStatus};
pub use error::{ErrorKind, SsoError};
pub use limits::{Rate, RateLimiter, RateLimits};
pub use metered::Metering;
pub use organizations::{Account, AccountState, ORGANIZATIONS_REGION, Organizations, not_in_use};
pub use sessions::SessionLimits;
pub use target::{
    NAME_TAG, NAMESPACE_TAG, Principal, Requester, RoleRef, Target, WriteGuard, WriteRefused, account_of_role,
};
pub use workflow::{Encryption, EncryptionKey, EncryptionStatus, Region, RegionStatus, Workflow};
pub use wrap::{Around, Call, CallKind, Wrapped};

/// Lifecycle state of an instance as DescribeInstance reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InstanceState {
    CreateInProgress,
    CreateFailed,
    DeleteInProgress,
    Active,
    /// A state this operator does not know yet; treated as "not ready, keep polling".
    Other(String),
}

impl InstanceState {
    pub fn parse(value: &str) -> Self {
        match value {
            "CREATE_IN_PROGRESS" => Self::CreateInProgress,
            "CREATE_FAILED" => Self::CreateFailed,
            "DELETE_IN_PROGRESS" => Self::DeleteInProgress,
            "ACTIVE" => Self::Active,
            other => Self::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::CreateInProgress => "CREATE_IN_PROGRESS",
            Self::CreateFailed => "CREATE_FAILED",
            Self::DeleteInProgress => "DELETE_IN_PROGRESS",
            Self::Active => "ACTIVE",
            Self::Other(value) => value,
        }
    }
}

/// What DescribeInstance and ListInstances tell about one instance.
#[derive(Clone, Debug, PartialEq)]
pub struct Instance {
    pub arn: String,
    pub name: Option<String>,
    pub identity_store_id: Option<String>,
    pub identity_store_arn: Option<String>,
    pub owner_account_id: Option<String>,
    pub created_date: Option<Timestamp>,
    pub state: InstanceState,
    pub state_reason: Option<String>,
    /// EncryptionConfigurationDetails; None where AWS does not report it.
    pub encryption: Option<Encryption>,
    /// NetworkConfigurationDetails; None where AWS reports none (never set).
    pub network: Option<NetworkConfiguration>,
    pub permission_sets_enabled: Option<bool>,
    pub primary_region: Option<String>,
    /// Every Region of the instance, the primary included.
    pub regions: Vec<Region>,
}

impl Instance {
    /// An instance known by its ARN and state only, everything else unreported.
    pub fn new(arn: impl Into<String>, state: InstanceState) -> Self {
        Self {
            arn: arn.into(),
            name: None,
            identity_store_id: None,
            identity_store_arn: None,
            owner_account_id: None,
            created_date: None,
            state,
            state_reason: None,
            encryption: None,
            network: None,
            permission_sets_enabled: None,
            primary_region: None,
            regions: Vec::new(),
        }
    }
}

/// The parameters of CreateInstance. The token is mandatory: the SDK would
/// otherwise invent a random one and a retry could create a second instance.
#[derive(Clone, Debug, PartialEq)]
pub struct CreateInstance {
    pub client_token: String,
    pub name: Option<String>,
    pub tags: BTreeMap<String, String>,
}

pub type Tags = BTreeMap<String, String>;

/// Which instances ListInstances shows (its RegionScope).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegionScope {
    /// Those that serve the Region the call goes to (AWS's default).
    CurrentRegion,
    /// Every instance the caller can see, whichever Region holds it: AWS
    /// allows one instance per account across all Regions.
    AllRegions,
}

/// The SSO Admin and STS calls the controller makes. Every call names the
/// account and region it acts in.
#[async_trait]
pub trait SsoAdmin: Send + Sync + 'static {
    /// The account that calls for `target` act in (GetCallerIdentity).
    async fn caller_account(&self, target: &Target) -> Result<String, SsoError>;
    async fn create_instance(&self, target: &Target, input: &CreateInstance) -> Result<String, SsoError>;
    async fn describe_instance(&self, target: &Target, arn: &str) -> Result<Instance, SsoError>;
    /// All instances the caller can see in `scope`, every page.
    async fn list_instances(&self, target: &Target, scope: RegionScope) -> Result<Vec<Instance>, SsoError>;
    async fn update_instance_name(&self, target: &Target, arn: &str, name: &str) -> Result<(), SsoError>;
    /// Starts a key, permission sets or Region workflow; AWS carries it out
    /// over time and DescribeInstance follows it.
    async fn start_workflow(&self, target: &Target, arn: &str, workflow: &Workflow) -> Result<(), SsoError>;
    async fn delete_instance(&self, target: &Target, arn: &str) -> Result<(), SsoError>;
    async fn list_tags(&self, target: &Target, arn: &str) -> Result<Tags, SsoError>;
    async fn tag_instance(&self, target: &Target, arn: &str, tags: &Tags) -> Result<(), SsoError>;
    async fn untag_instance(&self, target: &Target, arn: &str, keys: &[String]) -> Result<(), SsoError>;
    /// The instance's attribute-based access control configuration; None where it has none.
    async fn describe_access_control_attributes(
        &self,
        target: &Target,
        arn: &str,
    ) -> Result<Option<AccessControlAttributes>, SsoError>;
    async fn change_access_control_attributes(
        &self,
        target: &Target,
        arn: &str,
        change: &AttributeChange,
    ) -> Result<(), SsoError>;
    /// No object acts through `role` any more: its credentials need not be kept.
    fn forget_role(&self, role: &RoleRef);
}
