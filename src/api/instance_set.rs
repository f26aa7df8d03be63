//! `IdentityCenterInstanceSet`: one object that keeps an account instance in
//! every account of some AWS Organizations OUs. Its children are ordinary
//! IdentityCenterInstances, rendered from `spec.template` per account.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{
    AccessControlAttribute, Credentials, DeletionPolicy, ExportTo, ManagementPolicy, NetworkConfiguration, schema,
};

/// The placeholders a template may use; each child renders them for its account.
pub const ACCOUNT_ID: &str = "{accountId}";
pub const ACCOUNT_NAME: &str = "{accountName}";

/// The label that names a child's set, and the one that names its account.
pub const SET_LABEL: &str = "identitycenter.dev/instance-set";
pub const ACCOUNT_LABEL: &str = "identitycenter.dev/account-id";
/// The digest of the template (and account role) a child was last written from.
pub const TEMPLATE_HASH: &str = "identitycenter.dev/template-hash";

/// Which accounts, how each is reached, what each instance is, and how changes roll out.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "identitycenter.dev",
    version = "v1alpha1",
    kind = "IdentityCenterInstanceSet",
    plural = "identitycenterinstancesets",
    namespaced,
    status = "IdentityCenterInstanceSetStatus",
    shortname = "iciset",
    category = "identitycenter",
    category = "aws",
    doc = "Keeps an account instance of IAM Identity Center in every account of some AWS Organizations OUs, \
           as accounts join and leave: one IdentityCenterInstance per account, rendered from spec.template.",
    printcolumn(name = "Accounts", type_ = "integer", json_path = ".status.accounts", description = "Accounts the OUs hold now, after include and exclude"),
    printcolumn(name = "Instances Ready", type_ = "integer", json_path = ".status.readyInstances", description = "Children that are Ready"),
    printcolumn(name = "Failed", type_ = "integer", json_path = ".status.failedInstances", description = "Children that failed"),
    printcolumn(name = "Ready", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].status", description = "Whether every child is Ready"),
    printcolumn(name = "Stalled", type_ = "string", json_path = ".status.conditions[?(@.type==\"Stalled\")].status", description = "Whether the rollout stopped"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    printcolumn(name = "Progressing", type_ = "integer", json_path = ".status.progressingInstances", priority = 1, description = "Children being created or changed"),
    printcolumn(name = "Updated", type_ = "integer", json_path = ".status.rollout.updated", priority = 1, description = "Children written from the current template"),
    printcolumn(name = "Last Read", type_ = "date", json_path = ".status.lastReadAt", priority = 1, description = "When the OUs were last read"),
    validation = Rule::new("self.metadata.name.size() <= 50")
    .message("an instance set's name is at most 50 characters: each child is named <set>-<account ID> within 63")
    .reason(Reason::FieldValueInvalid),
)]
#[serde(rename_all = "camelCase")]
pub struct IdentityCenterInstanceSetSpec {
    /// Where the accounts come from.
    pub organization: OrganizationSource,
    /// How the operator reaches each account.
    pub account_credentials: AccountCredentials,
    /// What each account's instance is: an IdentityCenterInstance spec
    /// without credentials. {accountId} and {accountName} may appear in the
    /// name, tag values and exportTo.configMapName.
    pub template: InstanceTemplate,
    /// How many accounts are created or changed at once, and how many may fail.
    #[serde(default)]
    pub rollout: Rollout,
    /// What happens to an account's instance when the account leaves the
    /// OUs (or is excluded) or is suspended. Retain (default) keeps the
    /// instance in AWS and deletes only the child object; Delete deletes the
    /// child under the template's deletionPolicy. A closed account is always
    /// let go as with Retain: nothing can act in it any more.
    #[serde(default)]
    pub account_removal_policy: AccountRemovalPolicy,
    /// How often the OUs are read again, for example 10m (at most once a
    /// week is kept: a longer interval reads weekly). The annotation
    /// identitycenter.dev/reconcile-requested-at asks for a read now.
    #[serde(default = "default_read_interval")]
    #[schemars(length(max = 16), pattern(r"^([0-9]+(s|m|h))+$"))]
    pub read_interval: String,
}

fn default_read_interval() -> String {
    "10m".into()
}

/// The OUs to cover, read through the management account or a delegated administrator.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationSource {
    /// A role in the organization's management account or in a delegated
    /// administrator account that may list the OUs. Absent: the operator's
    /// own credentials. A grant must admit it to this namespace like any role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<Credentials>,
    /// The OUs (ou-...) or the root (r-...) whose accounts get an instance.
    #[schemars(
        length(min = 1, max = 20),
        extend("x-kubernetes-list-type" = "set"),
        inner(pattern(r"^(r-[0-9a-z]{4,32}|ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$"))
    )]
    pub organizational_units: Vec<String>,
    /// Whether the accounts of nested OUs count too. Default: true.
    #[serde(default = "yes")]
    pub recursive: bool,
    /// If set, only these accounts of the OUs get an instance.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 1000), extend("x-kubernetes-list-type" = "set"), inner(pattern(r"^\d{12}$")))]
    pub include_accounts: Vec<String>,
    /// These accounts never get an instance (as if they had left the OUs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 1000), extend("x-kubernetes-list-type" = "set"), inner(pattern(r"^\d{12}$")))]
    pub exclude_accounts: Vec<String>,
}

fn yes() -> bool {
    true
}

/// The role each child acts through in its account.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountCredentials {
    /// The role ARN with {accountId} in its account field, for example
    /// arn:aws:iam::{accountId}:role/identity-center-admin.
    #[schemars(length(min = 20, max = 2048), pattern(r"^arn:aws[a-z-]*:iam::\{accountId\}:role/[\w+=,.@/-]+$"))]
    pub role_arn_template: String,
    /// External ID that the roles' trust policies require, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 2, max = 1224), pattern(r"^[\w+=,.@:/-]*$"))]
    pub external_id: Option<String>,
}

/// An IdentityCenterInstance spec for an account instance, with placeholders.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstanceTemplate {
    /// Name of each instance: 1 to 32 characters of letters, digits and
    /// _+=,.@- once rendered. {accountId} renders to 12 digits; an account
    /// whose {accountName} renders an invalid name fails, named in the status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 64),
        pattern(r"^([\w+=,.@-]|\{accountId\}|\{accountName\})+$"),
        extend("x-kubernetes-validations" = [{
            "rule": "self.replace('{accountId}', '000000000000').replace('{accountName}', 'a').size() <= 32",
            "message": "the rendered name must be at most 32 characters ({accountId} is 12)",
        }])
    )]
    pub name: Option<String>,
    /// AWS Region of every instance; defaults to the operator's --default-region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 32), pattern(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$"))]
    pub region: Option<String>,
    /// Tags of every instance; values may hold {accountId} and {accountName}.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(schema_with = "schema::template_tags")]
    pub tags: BTreeMap<String, String>,
    /// What happens to an instance when its child object is deleted (Retain by default).
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
    /// Manage (default), or ObserveOnly: report each account's instance, never write.
    #[serde(default)]
    pub management_policy: ManagementPolicy,
    /// Publish each instance's identifiers; the ConfigMap name must hold {accountId}.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-validations" = [{
        "rule": "self.configMapName.contains('{accountId}')",
        "message": "each child needs a ConfigMap of its own: put {accountId} in configMapName",
    }]))]
    pub export_to: Option<ExportToTemplate>,
    /// Enable permission sets on every instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission_sets_enabled: Option<bool>,
    /// Network controls of every instance, as IdentityCenterInstance spec.network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<NetworkConfiguration>,
    /// Attribute-based access control of every instance, as IdentityCenterInstance spec.accessControlAttributes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 50), extend("x-kubernetes-list-type" = "atomic"))]
    pub access_control_attributes: Option<Vec<AccessControlAttribute>>,
}

/// exportTo with a ConfigMap name that holds {accountId}.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportToTemplate {
    /// For example sso-ids-{accountId}.
    #[schemars(length(min = 1, max = 253), pattern(r"^([-a-z0-9.]|\{accountId\})+$"))]
    pub config_map_name: String,
}

impl ExportToTemplate {
    pub fn render(&self, account_id: &str) -> ExportTo {
        ExportTo { config_map_name: self.config_map_name.replace(ACCOUNT_ID, account_id) }
    }
}

/// The pace of a rollout, as StackSets' MaxConcurrentCount and FailureToleranceCount.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Rollout {
    /// How many children may be in creation or change at once. Default 10.
    #[serde(default = "default_max_concurrent")]
    #[schemars(range(min = 1, max = 10000))]
    pub max_concurrent: u32,
    /// How many children may fail before the rollout stops creating and
    /// changing others. Default 0: the first failure stops it.
    #[serde(default)]
    #[schemars(range(min = 0, max = 10000))]
    pub failure_tolerance: u32,
}

fn default_max_concurrent() -> u32 {
    10
}

impl Default for Rollout {
    fn default() -> Self {
        Self { max_concurrent: default_max_concurrent(), failure_tolerance: 0 }
    }
}

/// What becomes of an instance whose account leaves the set.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum AccountRemovalPolicy {
    /// Keep the instance in AWS; only the child object goes.
    #[default]
    Retain,
    /// Delete the child under the template's deletionPolicy.
    Delete,
}

/// What the operator observes of the set.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IdentityCenterInstanceSetStatus {
    /// Accounts the OUs held at the last read, after include and exclude.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accounts: Option<u32>,
    /// Children that are Ready.
    #[serde(default)]
    pub ready_instances: u32,
    /// Children being created or changed, or waiting for their turn.
    #[serde(default)]
    pub progressing_instances: u32,
    /// Children that failed (Stalled, or refused by tenancy).
    #[serde(default)]
    pub failed_instances: u32,
    /// Where the rollout of the current template stands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<RolloutStatus>,
    /// The failed accounts and why, at most 20 (the count is failedInstances).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "schema::unvalidated::<Vec<AccountFailure>>")]
    pub failures: Vec<AccountFailure>,
    /// When the OUs were last read in full.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_read_at: Option<Time>,
    /// The identitycenter.dev/reconcile-requested-at value the last read served.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
    /// The metadata.generation this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Ready (every child Ready), Synced (the last read and writes worked) and
    /// Stalled (failure tolerance exceeded, or Organizations refused).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "schema::conditions")]
    pub conditions: Vec<Condition>,
}

/// The rollout of the current template.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RolloutStatus {
    /// Digest of the template being rolled out (the children's identitycenter.dev/template-hash).
    pub template_hash: String,
    /// Children written from it.
    pub updated: u32,
    /// Children it must reach.
    pub total: u32,
}

/// One failed account.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountFailure {
    pub account_id: String,
    /// The child's Stalled reason, or why no child could be written.
    pub reason: String,
    pub message: String,
}

impl IdentityCenterInstanceSet {
    /// The condition of the given type, if the operator has written it.
    pub fn condition(&self, type_: &str) -> Option<&Condition> {
        self.status.as_ref()?.conditions.iter().find(|c| c.type_ == type_)
    }
}
