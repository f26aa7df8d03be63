//! The custom resources: `IdentityCenterInstance` (spec, status and
//! conditions), `IdentityCenterAccountGrant` (tenancy, in `grant`) and
//! `IdentityCenterInstanceSet` (an instance per account of some OUs, in `instance_set`).
//!
//! Every constraint that AWS enforces and an OpenAPI schema can express is in
//! the schema, so the API server refuses a bad object before it reaches AWS.

mod encryption_and_regions;
mod grant;
mod instance_set;
mod network_and_attributes;
mod schema;

pub use schema::MAX_TAGS;

use std::collections::BTreeMap;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, CustomResourceExt};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use encryption_and_regions::{
    Encryption, KeyType, ObservedEncryption, ObservedRegion, RegionRemovalPolicy, StartedWorkflow,
};
pub use grant::{
    AccountSelection, IdentityCenterAccountGrant, IdentityCenterAccountGrantSpec, IdentityCenterAccountGrantStatus,
    NamespaceSelection,
};
pub use instance_set::{
    ACCOUNT_ID, ACCOUNT_LABEL, ACCOUNT_NAME, AccountCredentials, AccountFailure, AccountRemovalPolicy,
    ExportToTemplate, IdentityCenterInstanceSet, IdentityCenterInstanceSetSpec, IdentityCenterInstanceSetStatus,
    InstanceTemplate, OrganizationSource, Rollout, RolloutStatus, SET_LABEL, TEMPLATE_HASH,
};
pub use network_and_attributes::{AccessControlAttribute, NetworkConfiguration, ObservedAccessControlAttributes};

pub const FINALIZER: &str = "identitycenter.dev/finalizer";
/// The ARN of the instance the object created, also kept outside status so
/// that a backup and restore of the object (which drops status) finds it.
pub const INSTANCE_ARN: &str = "identitycenter.dev/instance-arn";
/// `"true"` stops every AWS call for the object (Crossplane's `crossplane.io/paused`).
pub const PAUSED: &str = "identitycenter.dev/paused";
/// Any new value asks for one drift check now (Crossplane's `crossplane.io/reconcile-requested-at`).
pub const RECONCILE_REQUESTED_AT: &str = "identitycenter.dev/reconcile-requested-at";

/// Every CRD of the operator, in the order crds/ holds them.
pub fn crds() -> [CustomResourceDefinition; 3] {
    [IdentityCenterInstance::crd(), IdentityCenterAccountGrant::crd(), IdentityCenterInstanceSet::crd()]
}

/// Desired state of one IAM Identity Center instance.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "identitycenter.dev",
    version = "v1alpha1",
    kind = "IdentityCenterInstance",
    plural = "identitycenterinstances",
    namespaced,
    status = "IdentityCenterInstanceStatus",
    shortname = "ici",
    category = "identitycenter",
    category = "aws",
    doc = "An AWS IAM Identity Center instance, created, adopted or observed by identity-center-operator.",
    printcolumn(name = "Instance Name", type_ = "string", json_path = ".spec.name", description = "Name of the instance in AWS"),
    printcolumn(name = "ARN", type_ = "string", json_path = ".status.instanceArn", description = "ARN of the instance"),
    printcolumn(name = "State", type_ = "string", json_path = ".status.state", description = "Lifecycle state reported by AWS"),
    printcolumn(name = "Ready", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].status", description = "Whether the instance is ACTIVE and in sync"),
    printcolumn(name = "Synced", type_ = "string", json_path = ".status.conditions[?(@.type==\"Synced\")].status", description = "Whether the last reconcile reached AWS and applied the spec (False while paused)"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    printcolumn(name = "Encryption", type_ = "string", json_path = ".status.encryption.status", priority = 1, description = "Status of the instance's KMS key: UPDATING, ENABLED or UPDATE_FAILED"),
    printcolumn(name = "Regions", type_ = "integer", json_path = ".status.regionCount", priority = 1, description = "Number of Regions the instance is in, the primary included"),
    printcolumn(name = "Region", type_ = "string", json_path = ".status.region", priority = 1, description = "Region the instance was created in"),
    printcolumn(name = "Identity Store", type_ = "string", json_path = ".status.identityStoreId", priority = 1, description = "Identity store of the instance"),
    validation = Rule::new(concat!(
        "has(oldSelf.spec.region) ? (has(self.spec.region) && self.spec.region == oldSelf.spec.region) : ",
        "(!has(self.spec.region) || !has(oldSelf.status) || !has(oldSelf.status.region) || self.spec.region == oldSelf.status.region)"
    ))
    .message("spec.region is immutable once set, and may only be set to the region the instance lives in (status.region)")
    .reason(Reason::FieldValueForbidden)
    .field_path(".spec.region"),
    validation = Rule::new(concat!(
        "has(oldSelf.spec.instanceArn) ? (has(self.spec.instanceArn) && self.spec.instanceArn == oldSelf.spec.instanceArn) : ",
        "(!has(self.spec.instanceArn) || !has(oldSelf.status) || !has(oldSelf.status.instanceArn) || self.spec.instanceArn == oldSelf.status.instanceArn)"
    ))
    .message("spec.instanceArn is immutable once set, and may only be set to the instance this object manages (status.instanceArn)")
    .reason(Reason::FieldValueForbidden)
    .field_path(".spec.instanceArn"),
    validation = Rule::new(concat!(
        "!has(oldSelf.spec.permissionSetsEnabled) || !oldSelf.spec.permissionSetsEnabled || ",
        "!has(self.spec.permissionSetsEnabled) || self.spec.permissionSetsEnabled"
    ))
    .message("spec.permissionSetsEnabled cannot go back to false: AWS cannot disable permission sets once they are enabled")
    .reason(Reason::FieldValueForbidden)
    .field_path(".spec.permissionSetsEnabled"),
    validation = Rule::new(concat!(
        "has(self.spec.instanceArn) || ",
        "((!has(self.spec.encryption) || self.spec.encryption.keyType == 'AwsOwned') && ",
        "(!has(self.spec.regions) || size(self.spec.regions) == 0))"
    ))
    .message(concat!(
        "without spec.instanceArn this object makes an account instance, which supports neither a customer ",
        "managed KMS key nor additional Regions; adopt your organization's instance with spec.instanceArn"
    ))
    .reason(Reason::FieldValueForbidden)
    .field_path(".spec.instanceArn"),
    validation = Rule::new(concat!(
        "!has(self.spec.regions) || size(self.spec.regions) == 0 || !has(self.spec.encryption) || ",
        "(self.spec.encryption.keyType == 'CustomerManaged' && has(self.spec.encryption.kmsKeyArn) && ",
        "self.spec.encryption.kmsKeyArn.contains(':key/mrk-'))"
    ))
    .message("additional Regions need a multi-Region customer managed key (kmsKeyArn ...:key/mrk-...); the AWS owned key does not support them")
    .reason(Reason::FieldValueInvalid)
    .field_path(".spec.encryption"),
    validation = Rule::new("!has(self.spec.region) || !has(self.spec.regions) || !(self.spec.region in self.spec.regions)")
    .message("spec.regions lists the additional Regions only; the primary Region (spec.region) is always there")
    .reason(Reason::FieldValueInvalid)
    .field_path(".spec.regions"),
)]
#[serde(rename_all = "camelCase")]
pub struct IdentityCenterInstanceSpec {
    /// Name of the instance in AWS: 1 to 32 characters of letters, digits and _+=,.@-.
    /// Changing it renames the instance (UpdateInstance).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 32), pattern(r"^[\w+=,.@-]+$"))]
    pub name: Option<String>,

    /// AWS Region that hosts the instance, for example eu-west-1. Defaults to the
    /// operator's --default-region. Immutable once set: an instance cannot move.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 32), pattern(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$"))]
    pub region: Option<String>,

    /// Tags of the instance. At most 71 (AWS allows 75, and the operator adds
    /// four ownership tags under identitycenter.dev/); keys 1 to 128
    /// characters, values 0 to 256, letters, digits, spaces and _.:/=+-@; keys
    /// must not start with "aws:" nor "identitycenter.dev/".
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(schema_with = "schema::tags")]
    pub tags: BTreeMap<String, String>,

    /// What happens to the instance when this object is deleted. Retain (default)
    /// leaves it in AWS; Delete deletes it, which wipes its identity store.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,

    /// ARN of an existing instance to adopt instead of creating one. Immutable once set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 10, max = 1224),
        pattern(r"^arn:aws(-[a-z]{1,5}){0,3}:sso:::instance/(sso)?ins-[a-zA-Z0-9-.]{16}$")
    )]
    pub instance_arn: Option<String>,

    /// Manage (default) creates, updates and deletes the instance. ObserveOnly only
    /// reports its status and never calls a write API.
    #[serde(default)]
    pub management_policy: ManagementPolicy,

    /// Act in another AWS account by assuming this role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<Credentials>,

    /// Publish the instance's identifiers for the applications that need them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export_to: Option<ExportTo>,

    /// The KMS key of the instance's data at rest, set with UpdateInstance once
    /// the instance is ACTIVE. Left as AWS has it when absent. A customer
    /// managed key needs an organization instance (spec.instanceArn).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<Encryption>,

    /// Enable permission sets on the instance. May go from false to true, never
    /// back: AWS cannot disable them. Left as AWS has it when absent (removing
    /// the field changes nothing in AWS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission_sets_enabled: Option<bool>,

    /// Additional Regions to replicate the instance to, never its primary
    /// Region. Organization instances with a multi-Region customer managed
    /// key only. Added one at a time, after the key and permission sets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32), extend("x-kubernetes-list-type" = "set"), inner(length(min = 1, max = 32), pattern(r"^([a-z]+-){2,3}\d$")))]
    pub regions: Vec<String>,

    /// What happens to an ACTIVE additional Region that spec.regions no
    /// longer lists. Retain (default) keeps it; Remove removes it, which
    /// drops the instance's replica there.
    #[serde(default)]
    pub region_removal_policy: RegionRemovalPolicy,

    /// Network controls: where sign-ins and application access may come
    /// from. Exactly this configuration is kept on the instance (a list left
    /// out is emptied); absent leaves AWS's as it is. A wrong setting locks
    /// users out of the access portal and applications: see the README.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<NetworkConfiguration>,

    /// Attribute-based access control: the user attributes that permission
    /// sets' policies may use. Exactly this list is kept on the instance; an
    /// empty list removes the configuration; absent leaves AWS's as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(max = 50),
        extend(
            "x-kubernetes-list-type" = "atomic",
            "x-kubernetes-validations" = [{"rule": "self.all(a, self.exists_one(b, b.key == a.key))", "message": "each key may appear once"}]
        )
    )]
    pub access_control_attributes: Option<Vec<AccessControlAttribute>>,
}

/// What happens to the AWS instance when the Kubernetes object is deleted.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum DeletionPolicy {
    /// Leave the instance in AWS.
    #[default]
    Retain,
    /// Delete the instance and wait until it is gone.
    Delete,
}

/// Whether the operator may write to AWS.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum ManagementPolicy {
    /// Create, update and delete the instance.
    #[default]
    Manage,
    /// Report status only; never call a write API.
    ObserveOnly,
}

/// A role to assume in the account that holds the instance.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Credentials {
    /// ARN of the IAM role to assume, for example arn:aws:iam::111122223333:role/identity-center-admin.
    #[schemars(length(min = 20, max = 2048), pattern(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$"))]
    pub role_arn: String,
    /// External ID that the role's trust policy requires, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 2, max = 1224), pattern(r"^[\w+=,.@:/-]*$"))]
    pub external_id: Option<String>,
}

/// Where to publish the instance's identifiers.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportTo {
    /// Name of a ConfigMap in this object's namespace that receives instanceArn,
    /// identityStoreId, ownerAccountId and region. The operator owns it.
    #[schemars(
        length(min = 1, max = 253),
        pattern(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
    )]
    pub config_map_name: String,
}

/// Observed state of the instance, written only by the operator.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IdentityCenterInstanceStatus {
    /// ARN of the instance, recorded as soon as CreateInstance returns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_arn: Option<String>,
    /// How this object holds status.instanceArn: Created or Adopted (while it
    /// held its account's claim) make the instance its own to change and
    /// delete; Observed never does, whatever the object later asks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ownership: Option<InstanceOwnership>,
    /// Region the instance lives in (the ARN does not carry it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Account the operator acts in for this object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_account_id: Option<String>,
    /// When the operator sent CreateInstance; lets a restarted operator find an
    /// instance whose ARN it did not get to record, instead of creating another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_requested_at: Option<Time>,
    /// The metadata.generation whose name and tags that CreateInstance
    /// carried: until the instance is first seen ACTIVE, its tags are known
    /// without asking AWS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_requested_generation: Option<i64>,
    /// The metadata.generation whose CreateInstance AWS refused because the
    /// account already has an instance: that generation never sends it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_refused_generation: Option<i64>,
    /// When the operator sent DeleteInstance; a restarted operator looks
    /// before it sends another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_requested_at: Option<Time>,
    /// Identity store attached to the instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_store_id: Option<String>,
    /// ARN of that identity store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_store_arn: Option<String>,
    /// AWS account that owns the instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_account_id: Option<String>,
    /// Lifecycle state from DescribeInstance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// AWS StatusReason, verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_reason: Option<String>,
    /// When AWS created the instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_date: Option<Time>,
    /// The instance's KMS key and where its last change stands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<ObservedEncryption>,
    /// Whether permission sets are enabled on the instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission_sets_enabled: Option<bool>,
    /// The instance's primary Region, as AWS reports it: where it was created,
    /// and where key and Region changes must be sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_region: Option<String>,
    /// Every Region of the instance: the primary first, then by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<ObservedRegion>,
    /// How many Regions the instance is in, the primary included (a printer column).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region_count: Option<i32>,
    /// The instance's network controls as AWS reports them; absent where it reports none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "schema::unvalidated::<NetworkConfiguration>")]
    pub network: Option<NetworkConfiguration>,
    /// The instance's attribute-based access control, where spec.accessControlAttributes asks for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_control_attributes: Option<ObservedAccessControlAttributes>,
    /// The last key, permission sets, network or Region workflow the operator started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_workflow: Option<StartedWorkflow>,
    /// The metadata.generation this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The value of the identitycenter.dev/reconcile-requested-at annotation
    /// that the last drift check served.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
    /// When the operator last read the instance from AWS. A restarted
    /// operator (or a new leader) leaves an object that is settled and was
    /// read within the resync interval alone until its next drift check is due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_checked_at: Option<Time>,
    /// Ready, Synced and Stalled.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "schema::conditions")]
    pub conditions: Vec<Condition>,
}

/// How an object came to hold the instance in its status.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum InstanceOwnership {
    /// CreateInstance with this object's UID as ClientToken made it.
    Created,
    /// spec.instanceArn named it, and this object held the account's claim when it took it over.
    Adopted,
    /// Seen with managementPolicy ObserveOnly: reported, never the object's to write or delete.
    Observed,
}

impl IdentityCenterInstanceStatus {
    /// The instance this object owns: one it created or adopted, never one
    /// it only observed. A status from before ownership was recorded owns
    /// its instance only if it sent CreateInstance.
    pub fn owned_instance(&self) -> Option<&str> {
        let arn = self.instance_arn.as_deref()?;
        let owned = match self.ownership {
            Some(InstanceOwnership::Created | InstanceOwnership::Adopted) => true,
            Some(InstanceOwnership::Observed) => false,
            None => self.create_requested_at.is_some(),
        };
        owned.then_some(arn)
    }
}

impl IdentityCenterInstance {
    /// The condition of the given type, if the operator has written it.
    pub fn condition(&self, type_: &str) -> Option<&Condition> {
        self.status.as_ref()?.conditions.iter().find(|c| c.type_ == type_)
    }
}
