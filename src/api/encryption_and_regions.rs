//! The parts of an instance that only its organization's administrators
//! usually change: the KMS key of its data at rest and the Regions it is
//! replicated to. Their spec side and what status reports of them.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The KMS key that encrypts the instance's data at rest.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "self.keyType == 'CustomerManaged' ? has(self.kmsKeyArn) : !has(self.kmsKeyArn)",
    "message": "kmsKeyArn is required with keyType CustomerManaged and not allowed with AwsOwned",
}]))]
pub struct Encryption {
    pub key_type: KeyType,
    /// ARN of a symmetric KMS key in the instance's account, for example
    /// arn:aws:kms:eu-west-1:111122223333:key/mrk-0123456789abcdef0123456789abcdef.
    /// Additional Regions need a multi-Region key (key/mrk-...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 20, max = 2048), pattern(r"^arn:aws(-[a-z]{1,5}){0,3}:kms:([a-z]{2,}(-[a-z0-9]+)+){1}:[0-9]{12}:key/(mrk-[a-f0-9]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$"))]
    pub kms_key_arn: Option<String>,
}

/// Who owns the KMS key.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum KeyType {
    /// The key AWS owns and manages (every instance starts with it).
    AwsOwned,
    /// A key of yours (kmsKeyArn); organization instances only.
    CustomerManaged,
}

/// What happens to an ACTIVE additional Region that spec.regions no longer lists.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum RegionRemovalPolicy {
    /// Keep it: removing a Region drops the instance's replica there.
    #[default]
    Retain,
    /// Remove it (RemoveRegion).
    Remove,
}

/// The instance's key as DescribeInstance reports it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ObservedEncryption {
    /// AwsOwned or CustomerManaged, as DescribeInstance reports it.
    pub key_type: KeyType,
    /// ARN of the customer managed key; absent for the AWS owned key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_arn: Option<String>,
    /// EncryptionStatus: UPDATING, ENABLED or UPDATE_FAILED.
    pub status: String,
    /// EncryptionStatusReason, verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One Region of the instance, the primary included.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ObservedRegion {
    /// The Region's name, for example us-east-1.
    pub name: String,
    /// ADDING, ACTIVE or REMOVING.
    pub status: String,
    /// When the Region was added to the instance, as AWS reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub added_date: Option<Time>,
    /// The Region the instance was created in; it cannot be removed.
    #[serde(default)]
    pub primary: bool,
}

/// The last key, permission sets or Region workflow the operator started,
/// so that it is not sent twice for one generation of the spec.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StartedWorkflow {
    /// What was sent, for example "AddRegion us-east-1" or "SetKey arn:aws:kms:...".
    pub name: String,
    /// The metadata.generation it was sent for.
    pub generation: i64,
    /// When the operator sent it.
    pub started_at: Time,
}
