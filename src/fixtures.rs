//! Test objects on the real types, as kube-rs/controller-rs builds them:
//! `IdentityCenterInstance::test()` is a new object as the API server sends
//! it, `Instance::test(state)` the instance AWS describes for it, and each
//! builder method changes one thing, so a test shows only what it is about.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};

use crate::api::{
    Credentials, DeletionPolicy, FINALIZER, INSTANCE_ARN, IdentityCenterInstance, IdentityCenterInstanceSpec,
    IdentityCenterInstanceStatus, InstanceOwnership, ManagementPolicy,
};
use crate::sso::{Instance, InstanceState};

/// The account that holds the fixtures' instance, and the one the operator's own credentials act in.
pub const ACCOUNT: &str = "111122223333";
/// The fixtures' instance.
pub const ARN: &str = "arn:aws:sso:::instance/ssoins-1111111111111111";
/// The UID of `IdentityCenterInstance::test()`, which is also the ClientToken of its CreateInstance.
pub const UID: &str = "5b1f6a0e-7d3c-4e58-9a51-0c2f1e3d4b6a";

/// An RFC 3339 timestamp, as metadata and status carry it.
pub fn time(timestamp: &str) -> Time {
    Time(timestamp.parse().expect("an RFC 3339 timestamp"))
}

impl IdentityCenterInstance {
    /// identity/platform as the API server would send it: generation 2,
    /// resourceVersion 41, an empty spec, no status, no finalizer, not being deleted.
    pub fn test() -> Self {
        let metadata = ObjectMeta {
            namespace: Some("identity".into()),
            name: Some("platform".into()),
            uid: Some(UID.into()),
            generation: Some(2),
            resource_version: Some("41".into()),
            creation_timestamp: Some(time("2026-11-28T10:00:00Z")),
            annotations: Some(BTreeMap::new()),
            ..ObjectMeta::default()
        };
        Self { metadata, spec: IdentityCenterInstanceSpec::default(), status: None }
    }

    /// Another object of the same namespace.
    pub fn named(mut self, name: &str, uid: &str) -> Self {
        self.metadata.name = Some(name.into());
        self.metadata.uid = Some(uid.into());
        self
    }

    /// The object in `namespace` instead of identity.
    pub fn in_namespace(mut self, namespace: &str) -> Self {
        self.metadata.namespace = Some(namespace.into());
        self
    }

    /// Its creationTimestamp, which ranks it among the claimants of an account.
    pub fn created_at(mut self, timestamp: &str) -> Self {
        self.metadata.creation_timestamp = Some(time(timestamp));
        self
    }

    /// At `version` (41 unless set). Not named `resource_version`: that name
    /// would shadow `ResourceExt::resource_version` on owned objects in the
    /// operator's own code whenever the tests are compiled.
    pub fn at_resource_version(mut self, version: &str) -> Self {
        self.metadata.resource_version = Some(version.into());
        self
    }

    /// At metadata.generation `generation` (2 unless set).
    pub fn generation(mut self, generation: i64) -> Self {
        self.metadata.generation = Some(generation);
        self
    }

    /// Sets one annotation; it wins over the ARN annotation that `with_status` adds.
    pub fn annotated(mut self, key: &str, value: &str) -> Self {
        self.metadata.annotations.get_or_insert_with(BTreeMap::new).insert(key.into(), value.into());
        self
    }

    /// Carries the operator's finalizer.
    pub fn finalized(mut self) -> Self {
        self.metadata.finalizers = Some(vec![FINALIZER.into()]);
        self
    }

    /// Has a deletionTimestamp.
    pub fn deleting(mut self) -> Self {
        self.metadata.deletion_timestamp = Some(time("2026-11-28T11:00:00Z"));
        self
    }

    pub fn with_spec(mut self, change: impl FnOnce(&mut IdentityCenterInstanceSpec)) -> Self {
        change(&mut self.spec);
        self
    }

    pub fn deletion_policy(self, policy: DeletionPolicy) -> Self {
        self.with_spec(|spec| spec.deletion_policy = policy)
    }

    /// Acts through `role_arn` (spec.credentials), without an external ID.
    pub fn role(self, role_arn: &str) -> Self {
        self.with_spec(|spec| spec.credentials = Some(Credentials { role_arn: role_arn.into(), external_id: None }))
    }

    pub fn observe_only(self) -> Self {
        self.with_spec(|spec| spec.management_policy = ManagementPolicy::ObserveOnly)
    }

    /// spec.tags, replaced by `pairs`.
    pub fn tags(mut self, pairs: &[(&str, &str)]) -> Self {
        self.spec.tags = pairs.iter().map(|(key, value)| (key.to_string(), value.to_string())).collect();
        self
    }

    /// spec.name, the name of the instance in AWS.
    pub fn spec_name(self, name: &str) -> Self {
        self.with_spec(|spec| spec.name = Some(name.into()))
    }

    /// The status the operator recorded. An instance the object created also
    /// carries its ARN in the annotation, as the operator writes it, unless
    /// the test set that annotation itself. A later status keeps the
    /// annotation, as the operator never removes it either.
    pub fn with_status(mut self, status: IdentityCenterInstanceStatus) -> Self {
        let created = status.ownership == Some(InstanceOwnership::Created);
        if let Some(arn) = status.instance_arn.as_ref().filter(|_| created) {
            let annotations = self.metadata.annotations.get_or_insert_with(BTreeMap::new);
            annotations.entry(INSTANCE_ARN.into()).or_insert_with(|| arn.clone());
        }
        self.status = Some(status);
        self
    }

    /// Holds the fixtures' instance as one it created, in eu-west-1.
    pub fn owned(self) -> Self {
        self.with_status(IdentityCenterInstanceStatus::owned())
    }
}

impl IdentityCenterInstanceStatus {
    /// The status of an object that created the fixtures' instance in eu-west-1.
    pub fn owned() -> Self {
        Self {
            instance_arn: Some(ARN.into()),
            ownership: Some(InstanceOwnership::Created),
            region: Some("eu-west-1".into()),
            ..Self::default()
        }
    }

    /// CreateInstance was sent at `timestamp` in eu-west-1, and its answer never recorded.
    pub fn create_requested(timestamp: &str) -> Self {
        Self { create_requested_at: Some(time(timestamp)), region: Some("eu-west-1".into()), ..Self::default() }
    }

    /// The lifecycle state AWS last reported, for example ACTIVE.
    pub fn with_state(self, state: &str) -> Self {
        Self { state: Some(state.into()), ..self }
    }
}

impl Instance {
    /// The fixtures' instance, named platform, in the fixtures' account.
    pub fn test(state: InstanceState) -> Self {
        Self {
            name: Some("platform".into()),
            identity_store_id: Some("d-1234567890".into()),
            identity_store_arn: Some(format!("arn:aws:identitystore::{ACCOUNT}:identitystore/d-1234567890")),
            owner_account_id: Some(ACCOUNT.into()),
            ..Self::new(ARN, state)
        }
    }

    /// Owned by `account` instead of the fixtures' account.
    pub fn owned_by(self, account: &str) -> Self {
        Self { owner_account_id: Some(account.into()), ..self }
    }

    /// Created by AWS at `timestamp`.
    pub fn created_at(self, timestamp: &str) -> Self {
        Self { created_date: Some(timestamp.parse().expect("an RFC 3339 timestamp")), ..self }
    }

    /// Living in `region`, as ListInstances reports its primary Region.
    pub fn in_region(self, region: &str) -> Self {
        Self { primary_region: Some(region.into()), ..self }
    }
}
