//! `IdentityCenterAccountGrant`: which namespaces may have the operator act
//! in which AWS accounts, and with which policies. Cluster-scoped, so only a
//! cluster administrator writes it; an object still names the role it wants,
//! so that its Git repository shows it, and a grant admits it.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, LabelSelector};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Credentials, DeletionPolicy, ManagementPolicy, RegionRemovalPolicy, schema};

/// Which namespaces, what accounts, which policies.
// clippy reads the repeated `type_ = "string"` of the print columns as duplicated attributes.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "identitycenter.dev",
    version = "v1alpha1",
    kind = "IdentityCenterAccountGrant",
    plural = "identitycenteraccountgrants",
    status = "IdentityCenterAccountGrantStatus",
    shortname = "icgrant",
    category = "identitycenter",
    doc = "Admits IdentityCenterInstances of some namespaces to act in some AWS accounts, with some policies. \
           With --tenancy enforced (the default), an object no grant admits is refused before any AWS call.",
    printcolumn(
        name = "Namespaces",
        type_ = "string",
        json_path = ".spec.namespaces.names",
        description = "Namespaces granted by name"
    ),
    printcolumn(
        name = "Roles",
        type_ = "string",
        json_path = ".spec.accounts.roleArns",
        description = "Role ARNs granted exactly"
    ),
    printcolumn(
        name = "Accounts",
        type_ = "string",
        json_path = ".spec.accounts.accountIds",
        description = "Accounts granted with any role"
    ),
    printcolumn(
        name = "Deletion",
        type_ = "string",
        json_path = ".spec.deletionPolicies",
        description = "deletionPolicy values allowed"
    ),
    printcolumn(
        name = "Admitted",
        type_ = "integer",
        json_path = ".status.admitted",
        description = "Objects this grant admits now"
    ),
    printcolumn(name = "Ready", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].status"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    printcolumn(
        name = "Selector",
        type_ = "string",
        json_path = ".spec.namespaces.selector",
        priority = 1,
        description = "Namespaces granted by label"
    ),
    printcolumn(
        name = "Operator Credentials",
        type_ = "boolean",
        json_path = ".spec.accounts.operatorCredentials",
        priority = 1,
        description = "Whether objects may act with the operator's own credentials"
    ),
    printcolumn(name = "Default Role", type_ = "string", json_path = ".spec.defaultRole.roleArn", priority = 1)
)]
#[serde(rename_all = "camelCase")]
pub struct IdentityCenterAccountGrantSpec {
    /// The namespaces whose objects this grant admits.
    pub namespaces: NamespaceSelection,
    /// The AWS accounts those objects may act in.
    pub accounts: AccountSelection,
    /// The deletionPolicy values allowed. Default: Retain only, so a tenant may
    /// create instances but not delete them.
    #[serde(default = "retain_only")]
    #[schemars(length(min = 1), extend("x-kubernetes-list-type" = "set"))]
    pub deletion_policies: Vec<DeletionPolicy>,
    /// The managementPolicy values allowed. Default: Manage and ObserveOnly.
    #[serde(default = "every_management_policy")]
    #[schemars(length(min = 1), extend("x-kubernetes-list-type" = "set"))]
    pub management_policies: Vec<ManagementPolicy>,
    /// The regionRemovalPolicy values allowed. Remove drops an instance's
    /// replica in a Region that spec.regions no longer lists. Default: Retain
    /// and Remove, as before this field existed; list Retain alone to forbid it.
    #[serde(default = "every_region_removal_policy")]
    #[schemars(length(min = 1), extend("x-kubernetes-list-type" = "set"))]
    pub region_removal_policies: Vec<RegionRemovalPolicy>,
    /// Whether objects may set spec.encryption, which switches the instance's
    /// KMS key: a key that IAM Identity Center cannot use locks every user out
    /// of the access portal. Default: true, as before this field existed.
    #[serde(default = "allowed")]
    pub allow_key_changes: bool,
    /// Whether objects may set spec.network, the instance's network
    /// controls: a setting that excludes where users sign in from locks
    /// every one of them out of the access portal and its applications (of
    /// a whole organization, for an adopted organization instance).
    /// Default: false.
    #[serde(default)]
    pub allow_network_changes: bool,
    /// Whether objects may set spec.accessControlAttributes, the user
    /// attributes that every permission set's policies of the instance read.
    /// Default: false.
    #[serde(default)]
    pub allow_access_control_attribute_changes: bool,
    /// The role that objects of these namespaces act through when they name
    /// none (spec.credentials), as ACK's default role does. This grant admits it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_role: Option<Credentials>,
    /// An external ID that every admitted object's credentials must carry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 2, max = 1224), pattern(r"^[\w+=,.@:/-]*$"))]
    pub required_external_id: Option<String>,
}

/// Namespaces by name, by label, or both: a namespace that either matches is granted.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "size(self.names) > 0 || has(self.selector)",
    "message": "name namespaces, select them by label, or both",
}]))]
pub struct NamespaceSelection {
    #[serde(default)]
    #[schemars(
        extend("x-kubernetes-list-type" = "set"),
        inner(length(min = 1, max = 63), pattern(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"))
    )]
    pub names: Vec<String>,
    /// A label selector on Namespace objects; `{}` selects every namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
}

/// Accounts by exact role ARN, by account ID or OU (any role there), and the operator's own.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "size(self.roleArns) > 0 || size(self.accountIds) > 0 || size(self.organizationalUnits) > 0 || self.operatorCredentials",
    "message": "grant at least one role ARN, account ID, organizational unit, or the operator's own credentials",
}]))]
pub struct AccountSelection {
    /// Roles that objects may name in spec.credentials.roleArn, exactly.
    #[serde(default)]
    #[schemars(extend("x-kubernetes-list-type" = "set"), inner(pattern(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")))]
    pub role_arns: Vec<String>,
    /// Accounts in which objects may name any role.
    #[serde(default)]
    #[schemars(extend("x-kubernetes-list-type" = "set"), inner(pattern(r"^\d{12}$")))]
    pub account_ids: Vec<String>,
    /// OUs (ou-...) or roots (r-...) in whose accounts, nested OUs included,
    /// objects may name any role. Resolved from the operator's own reads of
    /// the organization (those of the instance sets): an account that no set
    /// has read is not admitted by this field.
    #[serde(default)]
    #[schemars(
        extend("x-kubernetes-list-type" = "set"),
        inner(pattern(r"^(r-[0-9a-z]{4,32}|ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$"))
    )]
    pub organizational_units: Vec<String>,
    /// Whether objects without spec.credentials may act with the operator's own credentials.
    #[serde(default)]
    pub operator_credentials: bool,
}

fn retain_only() -> Vec<DeletionPolicy> {
    vec![DeletionPolicy::Retain]
}

fn every_region_removal_policy() -> Vec<RegionRemovalPolicy> {
    vec![RegionRemovalPolicy::Retain, RegionRemovalPolicy::Remove]
}

fn allowed() -> bool {
    true
}

fn every_management_policy() -> Vec<ManagementPolicy> {
    vec![ManagementPolicy::Manage, ManagementPolicy::ObserveOnly]
}

/// What the operator observes of a grant.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IdentityCenterAccountGrantStatus {
    /// How many IdentityCenterInstances this grant admits now.
    #[serde(default)]
    pub admitted: u32,
    /// The metadata.generation this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Ready: the operator enforces this grant as written.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "schema::conditions")]
    pub conditions: Vec<Condition>,
}
