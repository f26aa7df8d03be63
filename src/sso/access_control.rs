//! The instance's attribute-based access control configuration
//! (Create/Describe/Update/DeleteInstanceAccessControlAttributeConfiguration).

use crate::api::AccessControlAttribute;

/// The Status of DescribeInstanceAccessControlAttributeConfiguration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttributesStatus {
    Enabled,
    CreationInProgress,
    CreationFailed,
    Other(String),
}

impl AttributesStatus {
    pub fn parse(value: &str) -> Self {
        match value {
            "ENABLED" => Self::Enabled,
            "CREATION_IN_PROGRESS" => Self::CreationInProgress,
            "CREATION_FAILED" => Self::CreationFailed,
            other => Self::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Enabled => "ENABLED",
            Self::CreationInProgress => "CREATION_IN_PROGRESS",
            Self::CreationFailed => "CREATION_FAILED",
            Self::Other(value) => value,
        }
    }
}

/// What AWS holds: the attributes, and where their configuration stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessControlAttributes {
    pub status: AttributesStatus,
    /// StatusReason, verbatim.
    pub reason: Option<String>,
    /// Sorted by key; AWS keeps one value source per key.
    pub attributes: Vec<AccessControlAttribute>,
}

/// One write of the configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttributeChange {
    Create(Vec<AccessControlAttribute>),
    Update(Vec<AccessControlAttribute>),
    Delete,
}

impl AttributeChange {
    /// The SSO Admin operation that makes the change.
    pub fn operation(&self) -> &'static str {
        match self {
            Self::Create(_) => "CreateInstanceAccessControlAttributeConfiguration",
            Self::Update(_) => "UpdateInstanceAccessControlAttributeConfiguration",
            Self::Delete => "DeleteInstanceAccessControlAttributeConfiguration",
        }
    }
}
