//! Which watches have listed everything once. Each watch gets one handle;
//! `/readyz`, tenancy ("are the grants known?") and the claim index ("can an
//! account's holder be among the objects not seen yet?") all answer from
//! this one state.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// One watch of the operator.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Watch {
    /// IdentityCenterInstances of one namespace ("" for all).
    Objects(String),
    Grants,
    Namespaces,
    /// IdentityCenterInstanceSets of one namespace ("" for all).
    Sets(String),
}

/// The watches expected so far, and whether each has listed once.
#[derive(Clone, Default)]
pub struct Listing(Arc<Mutex<BTreeMap<Watch, bool>>>);

impl Listing {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<Watch, bool>> {
        self.0.lock().expect("never poisoned")
    }

    /// A watch about to start: unlisted until its handle says otherwise.
    pub fn expect(&self, watch: Watch) -> ListHandle {
        self.lock().entry(watch.clone()).or_insert(false);
        ListHandle { listing: self.clone(), watch }
    }

    /// Every expected watch has listed (true before any is expected: a
    /// standby replica runs none and is ready to take over).
    pub fn all_listed(&self) -> bool {
        self.lock().values().all(|listed| *listed)
    }

    /// Whether `watch` was expected and has listed.
    pub fn has_listed(&self, watch: &Watch) -> bool {
        self.lock().get(watch).copied().unwrap_or(false)
    }

    /// Every expected watch of objects has listed.
    pub fn objects_listed(&self) -> bool {
        self.lock().iter().filter(|(watch, _)| matches!(watch, Watch::Objects(_))).all(|(_, listed)| *listed)
    }
}

/// The handle of one watch.
pub struct ListHandle {
    listing: Listing,
    watch: Watch,
}

impl ListHandle {
    /// The watch has listed everything once; a later relist changes nothing here.
    pub fn listed(&self) {
        self.listing.lock().insert(self.watch.clone(), true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_question_is_answered_from_the_watches_it_concerns() {
        let listing = Listing::default();
        assert!(listing.all_listed() && listing.objects_listed(), "nothing expected, nothing missing");
        let team_a = listing.expect(Watch::Objects("team-a".into()));
        let grants = listing.expect(Watch::Grants);
        assert!(!listing.all_listed() && !listing.objects_listed() && !listing.has_listed(&Watch::Grants));

        grants.listed();
        assert!(listing.has_listed(&Watch::Grants));
        assert!(!listing.has_listed(&Watch::Namespaces), "never expected, so never listed");
        assert!(!listing.objects_listed() && !listing.all_listed(), "team-a has not listed");

        team_a.listed();
        assert!(listing.objects_listed() && listing.all_listed());
        let _team_b = listing.expect(Watch::Objects("team-b".into()));
        assert!(!listing.objects_listed() && !listing.all_listed(), "a new watch starts unlisted");
    }

    #[test]
    fn a_watch_expected_again_keeps_having_listed() {
        let listing = Listing::default();
        listing.expect(Watch::Grants).listed();
        listing.expect(Watch::Grants);
        assert!(listing.has_listed(&Watch::Grants));
    }
}
