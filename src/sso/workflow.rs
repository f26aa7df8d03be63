//! What an instance has besides its name and tags, as AWS reports it, and
//! the long-running changes (workflows) that alter it: its KMS key, its
//! permission sets switch, its network controls and its Regions.

use k8s_openapi::jiff::Timestamp;

use super::NetworkConfiguration;

/// The KMS key that encrypts an instance's data at rest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EncryptionKey {
    AwsOwned,
    CustomerManaged { kms_key_arn: String },
}

impl EncryptionKey {
    /// As UpdateInstance and DescribeInstance spell the key type.
    pub fn aws_key_type(&self) -> &'static str {
        match self {
            Self::AwsOwned => "AWS_OWNED_KMS_KEY",
            Self::CustomerManaged { .. } => "CUSTOMER_MANAGED_KEY",
        }
    }

    pub fn kms_key_arn(&self) -> Option<&str> {
        match self {
            Self::AwsOwned => None,
            Self::CustomerManaged { kms_key_arn } => Some(kms_key_arn),
        }
    }

    /// Additional Regions need a multi-Region customer managed key (`key/mrk-...`).
    pub fn is_multi_region(&self) -> bool {
        self.kms_key_arn().is_some_and(|arn| arn.contains(":key/mrk-"))
    }
}

/// EncryptionStatus: where the last key change stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EncryptionStatus {
    Updating,
    Enabled,
    UpdateFailed,
    Other(String),
}

impl EncryptionStatus {
    pub fn parse(value: &str) -> Self {
        match value {
            "UPDATING" => Self::Updating,
            "ENABLED" => Self::Enabled,
            "UPDATE_FAILED" => Self::UpdateFailed,
            other => Self::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Updating => "UPDATING",
            Self::Enabled => "ENABLED",
            Self::UpdateFailed => "UPDATE_FAILED",
            Self::Other(value) => value,
        }
    }
}

/// EncryptionConfigurationDetails of DescribeInstance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Encryption {
    pub key: EncryptionKey,
    pub status: EncryptionStatus,
    /// EncryptionStatusReason, verbatim.
    pub reason: Option<String>,
}

/// RegionStatus of one of the instance's Regions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegionStatus {
    Adding,
    Active,
    Removing,
    Other(String),
}

impl RegionStatus {
    pub fn parse(value: &str) -> Self {
        match value {
            "ADDING" => Self::Adding,
            "ACTIVE" => Self::Active,
            "REMOVING" => Self::Removing,
            other => Self::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Adding => "ADDING",
            Self::Active => "ACTIVE",
            Self::Removing => "REMOVING",
            Self::Other(value) => value,
        }
    }
}

/// One Region the instance is in (RegionMetadata).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Region {
    pub name: String,
    pub status: RegionStatus,
    pub added_date: Option<Timestamp>,
    pub primary: bool,
}

/// A change that AWS carries out over time, one at a time per instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Workflow {
    /// UpdateInstance with EncryptionConfiguration (and nothing else).
    SetKey(EncryptionKey),
    /// UpdateInstance with PermissionSetsEnabled true (and nothing else); irreversible.
    EnablePermissionSets,
    /// UpdateInstance with NetworkConfiguration (and nothing else): replaces
    /// the whole stored configuration.
    SetNetwork(NetworkConfiguration),
    AddRegion(String),
    RemoveRegion(String),
}

impl Workflow {
    /// The SSO Admin operation that starts it.
    pub fn operation(&self) -> &'static str {
        match self {
            Self::SetKey(_) | Self::EnablePermissionSets | Self::SetNetwork(_) => "UpdateInstance",
            Self::AddRegion(_) => "AddRegion",
            Self::RemoveRegion(_) => "RemoveRegion",
        }
    }
}
