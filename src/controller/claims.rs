//! Which objects bid for which AWS account, kept from the watch as objects
//! come and go. The one-object-per-account rule is decided from here, so a
//! reconcile costs the same whether the cluster holds ten objects or ten
//! thousand, and never lists the API server.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Mutex;

use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;

use super::listing::Listing;
use crate::api::{Credentials, IdentityCenterInstance, ManagementPolicy};
use crate::sso::account_of_role;
use crate::tables::shrink_when_sparse;

/// One object's bid to manage the instance of an account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claimant {
    pub key: String,
    pub account: String,
    pub has_instance: bool,
    pub created: Option<Timestamp>,
}

/// The other object that holds `me.account`, if any. Per account one object
/// manages: the one that already has an instance, else the oldest, then by
/// name. Every reconcile of every object reaches the same verdict without
/// coordination.
pub fn claim_holder<'a>(me: &'a Claimant, others: &'a [Claimant]) -> Option<&'a Claimant> {
    let rank = |c: &Claimant| (!c.has_instance, c.created.unwrap_or(Timestamp::MAX), c.key.clone());
    let winner =
        others.iter().filter(|o| o.account == me.account && o.key != me.key).chain([me]).min_by_key(|c| rank(c))?;
    (winner.key != me.key).then_some(winner)
}

/// The account an object acts in, as far as its role tells without asking AWS.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Account {
    /// A known account: its role's, or (operator's credentials) the one a reconcile recorded.
    Role(String),
    /// The operator's own credentials, not reconciled yet; their account is known from GetCallerIdentity.
    Operator,
}

/// How tenancy lets an object act, which decides what it claims.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Acting {
    /// Through this role (its own, or a grant's default), or (None) the operator's own credentials.
    As(Option<Credentials>),
    /// No grant admits it: it claims nothing, so it can block no one.
    Refused,
    /// The grants are not listed yet: it claims nothing, and no claim is
    /// decided until tenancy has said how it acts.
    Pending,
}

impl Account {
    /// The role's account; else the account a reconcile recorded; else not known yet.
    fn of(object: &IdentityCenterInstance, role: Option<&Credentials>) -> Self {
        let named = role.and_then(|c| account_of_role(&c.role_arn));
        let recorded = object.status.as_ref().and_then(|s| s.target_account_id.as_deref());
        match named.or(recorded) {
            Some(account) => Self::Role(account.to_string()),
            None => Self::Operator,
        }
    }
}

/// `namespace/name`, the key of an object in the index.
pub fn key_of(object: &impl ResourceExt) -> String {
    format!("{}/{}", object.namespace().unwrap_or_default(), object.name_any())
}

#[derive(Clone, Debug)]
struct Entry {
    account: Account,
    has_instance: bool,
    created: Option<Timestamp>,
}

#[derive(Default)]
struct Index {
    entries: HashMap<String, Entry>,
    by_account: HashMap<Account, BTreeSet<String>>,
    /// Keys seen since a watch began to list again, per watched namespace ("" for all).
    relisting: HashMap<String, HashSet<String>>,
    /// Objects seen before tenancy could say how they act: until they are
    /// seen again, one of them may hold an account.
    pending: HashSet<String>,
}

impl Index {
    fn insert(&mut self, key: String, entry: Entry) {
        self.remove(&key);
        self.by_account.entry(entry.account.clone()).or_default().insert(key.clone());
        self.entries.insert(key, entry);
    }

    fn remove(&mut self, key: &str) {
        self.pending.remove(key);
        let Some(old) = self.entries.remove(key) else { return };
        if let Some(keys) = self.by_account.get_mut(&old.account) {
            keys.remove(key);
            if keys.is_empty() {
                self.by_account.remove(&old.account);
            }
        }
        shrink_when_sparse(&mut self.entries);
        shrink_when_sparse(&mut self.by_account);
    }
}

/// The claims of every watched object that manages (not merely observes) an instance.
#[derive(Default)]
pub struct ClaimIndex {
    index: Mutex<Index>,
    /// Until every watch of objects has listed, an account's holder may be among the objects not seen.
    listing: Listing,
}

impl ClaimIndex {
    pub fn new(listing: Listing) -> Self {
        Self { index: Mutex::default(), listing }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Index> {
        self.index.lock().expect("the claim index is never poisoned")
    }

    /// Records the object as the watch now shows it, acting as tenancy lets it.
    pub fn observe(&self, object: &IdentityCenterInstance, acting: Acting) {
        let key = key_of(object);
        let mut index = self.lock();
        for seen in index.relisting.values_mut() {
            seen.insert(key.clone());
        }
        let role = match acting {
            Acting::As(role) if object.spec.management_policy == ManagementPolicy::Manage => role,
            Acting::As(_) | Acting::Refused => {
                index.remove(&key);
                return;
            }
            Acting::Pending => {
                index.remove(&key);
                index.pending.insert(key);
                return;
            }
        };
        let entry = Entry {
            account: Account::of(object, role.as_ref()),
            has_instance: object.status.as_ref().is_some_and(|s| s.owned_instance().is_some()),
            created: object.metadata.creation_timestamp.as_ref().map(|t| t.0),
        };
        index.insert(key, entry);
    }

    /// The object is gone from the cluster.
    pub fn forget(&self, key: &str) {
        self.lock().remove(key);
    }

    /// Whether every watch has listed at least once and tenancy has said how
    /// each object acts, so that the index holds every claim.
    pub fn is_complete(&self) -> bool {
        self.listing.objects_listed() && self.lock().pending.is_empty()
    }

    /// A watch of `namespace` ("" for all) starts listing from scratch.
    pub fn relist_started(&self, namespace: &str) {
        self.lock().relisting.insert(namespace.to_string(), HashSet::new());
    }

    /// The list is complete: objects of `namespace` it did not show were deleted meanwhile.
    pub fn relist_done(&self, namespace: &str) {
        let mut index = self.lock();
        let Some(seen) = index.relisting.remove(namespace) else { return };
        let in_scope = |key: &str| namespace.is_empty() || key.split_once('/').is_some_and(|(ns, _)| ns == namespace);
        let gone: Vec<String> =
            index.entries.keys().filter(|k| in_scope(k) && !seen.contains(k.as_str())).cloned().collect();
        for key in gone {
            index.remove(&key);
        }
        index.pending.retain(|key| !in_scope(key) || seen.contains(key));
    }

    /// Whether any object acts with the operator's own credentials: only then
    /// must their account be known to tell rivals apart.
    pub fn has_operator_claims(&self) -> bool {
        self.lock().by_account.contains_key(&Account::Operator)
    }

    /// The claimants of `account`: objects whose role lives there, and, when
    /// the operator's own account is `account`, the objects without a role.
    pub fn claimants(&self, account: &str, operator_account: Option<&str>) -> Vec<Claimant> {
        let index = self.lock();
        let mut accounts = vec![Account::Role(account.to_string())];
        if operator_account == Some(account) {
            accounts.push(Account::Operator);
        }
        let keys = accounts.iter().filter_map(|a| index.by_account.get(a)).flatten();
        keys.filter_map(|k| Some((k, index.entries.get(k)?)))
            .map(|(key, e)| Claimant {
                key: key.clone(),
                account: account.to_string(),
                has_instance: e.has_instance,
                created: e.created,
            })
            .collect()
    }

    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.lock().entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{IdentityCenterInstanceStatus, InstanceOwnership};
    use crate::controller::listing::Watch;

    /// Observes an object acting through its own role, as open tenancy lets it.
    fn observe(index: &ClaimIndex, object: IdentityCenterInstance) {
        let role = object.spec.credentials.clone();
        index.observe(&object, Acting::As(role));
    }

    /// `namespace/name`, created at the fixtures' time; the index never reads its UID.
    fn object(namespace: &str, name: &str) -> IdentityCenterInstance {
        IdentityCenterInstance::test().in_namespace(namespace).named(name, &format!("uid-{namespace}-{name}"))
    }

    /// An instance the object only observed, which is never its own.
    fn observed_instance() -> IdentityCenterInstanceStatus {
        let owned = IdentityCenterInstanceStatus::owned();
        IdentityCenterInstanceStatus { ownership: Some(InstanceOwnership::Observed), ..owned }
    }

    const ROLE_A: &str = "arn:aws:iam::111111111111:role/admin";
    const ROLE_A2: &str = "arn:aws:iam::111111111111:role/other";
    const ROLE_B: &str = "arn:aws:iam::222222222222:role/admin";

    fn keys(claims: Vec<Claimant>) -> Vec<String> {
        let mut keys: Vec<String> = claims.into_iter().map(|c| c.key).collect();
        keys.sort();
        keys
    }

    #[test]
    fn claimants_are_found_by_account_and_the_operator_account_joins_its_own() {
        let index = ClaimIndex::default();
        observe(&index, object("a", "one").role(ROLE_A));
        observe(&index, object("b", "two").role(ROLE_A2).owned());
        observe(&index, object("c", "three").role(ROLE_B));
        observe(&index, object("d", "own"));
        observe(&index, object("e", "watcher").role(ROLE_A).observe_only());

        let cases: [(&str, Option<&str>, &[&str]); 4] = [
            ("111111111111", None, &["a/one", "b/two"]),
            ("111111111111", Some("999999999999"), &["a/one", "b/two"]),
            ("222222222222", Some("222222222222"), &["c/three", "d/own"]),
            ("333333333333", None, &[]),
        ];
        for (account, operator, want) in cases {
            assert_eq!(keys(index.claimants(account, operator)), want, "{account} {operator:?}");
        }
        assert!(index.has_operator_claims());
        let b = index.claimants("111111111111", None).into_iter().find(|c| c.key == "b/two").unwrap();
        assert!(b.has_instance, "the recorded ARN is part of the claim");
        observe(&index, object("b", "two").role(ROLE_A2).with_status(observed_instance()));
        let b = index.claimants("111111111111", None).into_iter().find(|c| c.key == "b/two").unwrap();
        assert!(!b.has_instance, "an ARN it only observed does not rank it");
    }

    #[test]
    fn no_claim_is_decided_while_tenancy_has_not_said_how_an_object_acts() {
        let listing = Listing::default();
        let index = ClaimIndex::new(listing.clone());
        let watch = listing.expect(Watch::Objects(String::new()));
        index.relist_started("");
        let restarted = object("evil", "squatter").role(ROLE_A).owned();
        index.observe(&restarted, Acting::Pending);
        index.relist_done("");
        watch.listed();
        assert!(index.claimants(account_of_role(ROLE_A).unwrap(), None).is_empty(), "it claims nothing yet");
        assert!(!index.is_complete(), "its claim is not known yet");
        index.observe(&restarted, Acting::Refused);
        assert!(index.is_complete());
        assert!(index.claimants(account_of_role(ROLE_A).unwrap(), None).is_empty(), "refused: it never claims");
    }

    #[test]
    fn an_object_that_changes_its_role_or_policy_moves_or_leaves() {
        let index = ClaimIndex::default();
        observe(&index, object("a", "one").role(ROLE_A));
        observe(&index, object("a", "one").role(ROLE_B));
        assert!(keys(index.claimants("111111111111", None)).is_empty());
        assert_eq!(keys(index.claimants("222222222222", None)), ["a/one"]);
        observe(&index, object("a", "one").role(ROLE_B).observe_only());
        assert!(index.is_empty(), "ObserveOnly claims nothing");
    }

    #[test]
    fn a_relist_drops_what_it_no_longer_shows_in_its_own_namespace_only() {
        let index = ClaimIndex::default();
        observe(&index, object("a", "kept").role(ROLE_A));
        observe(&index, object("a", "deleted-while-away").role(ROLE_A));
        observe(&index, object("b", "other-watch").role(ROLE_B));
        index.relist_started("a");
        observe(&index, object("a", "kept").role(ROLE_A));
        index.relist_done("a");
        assert_eq!(keys(index.claimants("111111111111", None)), ["a/kept"]);
        assert_eq!(keys(index.claimants("222222222222", None)), ["b/other-watch"], "another watch's objects stay");

        index.relist_started("");
        index.relist_done("");
        assert!(index.is_empty(), "a cluster-wide relist that shows nothing leaves nothing");
    }

    #[test]
    fn the_index_is_complete_once_every_watch_of_objects_has_listed() {
        let listing = Listing::default();
        let index = ClaimIndex::new(listing.clone());
        assert!(index.is_complete(), "no watch expected");
        let (a, b) = (listing.expect(Watch::Objects("a".into())), listing.expect(Watch::Objects("b".into())));
        let _grants = listing.expect(Watch::Grants);
        a.listed();
        assert!(!index.is_complete(), "b has not listed");
        b.listed();
        assert!(index.is_complete(), "the grants are tenancy's to wait for");
    }

    #[test]
    fn a_refused_object_claims_nothing_and_a_default_role_claims_its_account() {
        let index = ClaimIndex::default();
        let refused = object("evil", "squatter").role(ROLE_A);
        index.observe(&refused, Acting::Refused);
        assert!(index.claimants(account_of_role(ROLE_A).unwrap(), None).is_empty(), "blocks no one");
        let defaulted = object("team", "defaulted");
        let default_role = Credentials { role_arn: ROLE_B.into(), external_id: None };
        index.observe(&defaulted, Acting::As(Some(default_role)));
        let claimants = index.claimants(account_of_role(ROLE_B).unwrap(), Some("999999999999"));
        assert_eq!(claimants.iter().map(|c| c.key.as_str()).collect::<Vec<_>>(), ["team/defaulted"]);
        assert!(!index.has_operator_claims(), "not taken for an object of the operator's account");
    }
}
