//! Tenancy: which namespaces may have the operator act in which AWS
//! accounts. With `enforced`, every reconcile first asks the grants
//! (`admission`), from the watch caches of grants and namespaces, before any
//! AWS call; `grants` keeps the grants' status and re-reconciles the objects
//! whose admission a grant change turned around.

pub mod admission;
mod grants;
pub mod organization;

use std::sync::Mutex;
use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use kube::ResourceExt;
use kube::core::PartialObjectMeta;
use kube::runtime::reflector::{self, Store, store::Writer};
use tokio::sync::broadcast;

pub use grants::{grant_status_loop, objects_to_recheck, watch_grants};

use self::admission::{Admission, Asks, InstancePolicies, Request};
use self::organization::OrganizationView;
use super::claims::Acting;
use super::listing::{Listing, Watch};
use crate::api::{IdentityCenterAccountGrant, IdentityCenterInstance};

/// `--tenancy`: whether grants are enforced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Every object needs a grant before the operator acts for it.
    Enforced,
    /// Any object may act in any account the operator can reach (no grants read).
    Open,
}

/// How long a refused object waits before it is looked at again, besides
/// the recheck every grant change triggers.
pub const REFUSED_RECHECK: Duration = Duration::from_secs(300);

/// How long a reconcile waits for the grants and namespaces to be listed.
pub const LIST_WAIT: Duration = Duration::from_secs(2);

/// What tenancy says about one object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Act, through this role (None: the operator's own credentials).
    Act(Option<crate::api::Credentials>),
    Refused(String),
    /// The grants or namespaces are not listed yet: nothing can be decided.
    NotYetKnown,
}

type Writers = (Writer<IdentityCenterAccountGrant>, Writer<PartialObjectMeta<Namespace>>);

pub struct Tenancy {
    mode: Mode,
    grants: Store<IdentityCenterAccountGrant>,
    namespaces: Store<PartialObjectMeta<Namespace>>,
    /// Taken once by the watches that fill the stores.
    writers: Mutex<Option<Writers>>,
    /// Whether the watches of grants and namespaces have listed.
    listing: Listing,
    /// A grant or a namespace's labels changed: admissions may have turned.
    changed: broadcast::Sender<()>,
    /// Which OUs hold which accounts, for grants by OU.
    organization: OrganizationView,
}

impl Tenancy {
    pub fn new(mode: Mode, listing: Listing) -> Self {
        let (grants, grant_writer) = reflector::store();
        let (namespaces, namespace_writer) = reflector::store();
        Self {
            mode,
            grants,
            namespaces,
            writers: Mutex::new(Some((grant_writer, namespace_writer))),
            listing,
            changed: broadcast::channel(16).0,
            organization: OrganizationView::default(),
        }
    }

    /// The instance sets' view of the organization, that grants by OU are resolved against.
    pub fn organization(&self) -> &OrganizationView {
        &self.organization
    }

    /// The organization's view changed: admissions by OU may have turned.
    pub fn organization_changed(&self) {
        self.notify();
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Whether every tenancy watch has listed (always, when open).
    pub fn is_listed(&self) -> bool {
        self.mode == Mode::Open
            || (self.listing.has_listed(&Watch::Grants) && self.listing.has_listed(&Watch::Namespaces))
    }

    /// One item each time a grant, a namespace's labels or the
    /// organization's view changed (changes in a burst may come as one).
    pub fn changes(&self) -> impl futures::Stream<Item = ()> + Send + use<> {
        futures::stream::unfold(self.changed.subscribe(), |mut changes| async move {
            match changes.recv().await {
                Ok(()) | Err(broadcast::error::RecvError::Lagged(_)) => Some(((), changes)),
                Err(broadcast::error::RecvError::Closed) => None,
            }
        })
    }

    fn notify(&self) {
        let _ = self.changed.send(());
    }

    fn take_writers(&self) -> Option<Writers> {
        self.writers.lock().expect("never poisoned").take()
    }

    pub fn grants(&self) -> Vec<std::sync::Arc<IdentityCenterAccountGrant>> {
        self.grants.state()
    }

    /// Whether `namespace`'s labels differ from those in the cache (a new namespace counts).
    fn labels_differ(&self, namespace: &PartialObjectMeta<Namespace>) -> bool {
        let cached = self.namespaces.get(&reflector::ObjectRef::from_obj(namespace));
        cached.is_none_or(|cached| cached.labels() != namespace.labels())
    }

    /// The decision for `object`, from the watch caches only.
    pub fn decide(&self, object: &IdentityCenterInstance) -> Decision {
        if self.mode == Mode::Open {
            return Decision::Act(object.spec.credentials.clone());
        }
        if !self.is_listed() {
            return Decision::NotYetKnown;
        }
        let grants = self.grants.state();
        let grants: Vec<&IdentityCenterAccountGrant> = grants.iter().map(AsRef::as_ref).collect();
        match self.admission(object, &grants) {
            Admission::Admitted { role, .. } => Decision::Act(role),
            Admission::Refused { .. } if self.awaits_organization(&object.namespace().unwrap_or_default(), &grants) => {
                Decision::NotYetKnown
            }
            Admission::Refused { message } => Decision::Refused(message),
        }
    }

    /// Whether a grant of `namespace` admits by OU while the instance sets
    /// have not all read the organization since the operator started: an
    /// account may be under a granted OU that no read has found yet.
    fn awaits_organization(&self, namespace: &str, grants: &[&IdentityCenterAccountGrant]) -> bool {
        if self.organization.is_loaded() {
            return false;
        }
        let labels = self.namespaces.get(&reflector::ObjectRef::new(namespace));
        grants.iter().any(|grant| {
            !grant.spec.accounts.organizational_units.is_empty()
                && admission::selects_namespace(grant, namespace, labels.as_ref().map(|n| n.labels()))
        })
    }

    /// Whether `namespace` may read AWS Organizations through `role` (an
    /// instance set's spec.organization.credentials), from the watch caches only.
    pub fn decide_organization_reads(&self, namespace: &str, role: Option<&crate::api::Credentials>) -> Decision {
        if self.mode == Mode::Open {
            return Decision::Act(role.cloned());
        }
        if !self.is_listed() {
            return Decision::NotYetKnown;
        }
        let grants = self.grants.state();
        let grants: Vec<&IdentityCenterAccountGrant> = grants.iter().map(AsRef::as_ref).collect();
        match self.admit(namespace, role, Asks::OrganizationReads, &grants) {
            Admission::Admitted { role, .. } => Decision::Act(role),
            Admission::Refused { message } => Decision::Refused(message),
        }
    }

    /// How the object may act, for the claim index: its admitted role,
    /// refused, or pending while the caches are not listed (an object the
    /// grants will refuse must not hold a claim meanwhile, as after a restart).
    pub fn acting(&self, object: &IdentityCenterInstance) -> Acting {
        match self.decide(object) {
            Decision::Act(role) => Acting::As(role),
            Decision::Refused(_) => Acting::Refused,
            Decision::NotYetKnown => Acting::Pending,
        }
    }

    fn admission(&self, object: &IdentityCenterInstance, grants: &[&IdentityCenterAccountGrant]) -> Admission {
        let namespace = object.namespace().unwrap_or_default();
        let policies = InstancePolicies {
            deletion_policy: object.spec.deletion_policy,
            management_policy: object.spec.management_policy,
            region_removal_policy: object.spec.region_removal_policy,
            sets_key: object.spec.encryption.is_some(),
            sets_network: object.spec.network.is_some(),
            sets_access_control_attributes: object.spec.access_control_attributes.is_some(),
        };
        self.admit(&namespace, object.spec.credentials.as_ref(), Asks::Instance(policies), grants)
    }

    /// Whether the grants admit `namespace` to ask `asks` through `role`.
    fn admit(
        &self,
        namespace: &str,
        role: Option<&crate::api::Credentials>,
        asks: Asks,
        grants: &[&IdentityCenterAccountGrant],
    ) -> Admission {
        let namespace_object = self.namespaces.get(&reflector::ObjectRef::new(namespace));
        let account = role.and_then(|role| crate::sso::account_of_role(&role.role_arn));
        let account_units = account.map(|account| self.organization.units_of(account)).unwrap_or_default();
        let request = Request {
            namespace,
            namespace_labels: namespace_object.as_ref().map(|n| n.labels()),
            role,
            account_units: &account_units,
            asks,
        };
        admission::admit(&request, grants)
    }

    /// The grant that admits `object`, if any.
    fn admitting_grant(
        &self,
        object: &IdentityCenterInstance,
        grants: &[&IdentityCenterAccountGrant],
    ) -> Option<String> {
        match self.admission(object, grants) {
            Admission::Admitted { grant, .. } => Some(grant),
            Admission::Refused { .. } => None,
        }
    }

    /// Fills the caches as the watches would, and marks them listed.
    #[cfg(test)]
    pub fn fill(&self, grants: Vec<IdentityCenterAccountGrant>, namespaces: Vec<PartialObjectMeta<Namespace>>) {
        use kube::runtime::watcher::Event;
        let (grant_writer, mut namespace_writer) = self.take_writers().expect("filled once");
        namespace_writer.apply_watcher_event(&Event::Init);
        for namespace in namespaces {
            namespace_writer.apply_watcher_event(&Event::InitApply(namespace));
        }
        namespace_writer.apply_watcher_event(&Event::InitDone);
        *self.writers.lock().expect("never poisoned") = Some((grant_writer, namespace_writer));
        self.regrant(grants);
        self.listing.expect(Watch::Grants).listed();
        self.listing.expect(Watch::Namespaces).listed();
    }

    /// Replaces the cached grants, as a relist of the grants' watch would.
    #[cfg(test)]
    pub fn regrant(&self, grants: Vec<IdentityCenterAccountGrant>) {
        use kube::runtime::watcher::Event;
        let mut writers = self.writers.lock().expect("never poisoned");
        let (grant_writer, _) = writers.as_mut().expect("filled");
        grant_writer.apply_watcher_event(&Event::Init);
        for grant in grants {
            grant_writer.apply_watcher_event(&Event::InitApply(grant));
        }
        grant_writer.apply_watcher_event(&Event::InitDone);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn namespace(labels: serde_json::Value) -> PartialObjectMeta<Namespace> {
        serde_json::from_value(
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a", "labels": labels}}),
        )
        .unwrap()
    }

    #[test]
    fn only_a_label_change_of_a_namespace_can_turn_admissions() {
        let tenancy = Tenancy::new(Mode::Enforced, Listing::default());
        tenancy.fill(vec![], vec![namespace(json!({"team": "a"}))]);
        let mut annotated = namespace(json!({"team": "a"}));
        annotated.metadata.annotations = Some([("note".to_string(), "x".to_string())].into());
        assert!(!tenancy.labels_differ(&annotated), "an annotation changes nothing");
        assert!(tenancy.labels_differ(&namespace(json!({"team": "b"}))));
        let mut other = namespace(json!({"team": "a"}));
        other.metadata.name = Some("team-b".into());
        assert!(tenancy.labels_differ(&other), "a namespace not seen before counts");
    }
}
