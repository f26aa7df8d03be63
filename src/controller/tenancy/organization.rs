//! The operator's own view of the organization: which OUs each account sits
//! under, as the instance sets' reads of AWS Organizations found it. Grants
//! that admit accounts by OU (`spec.accounts.organizationalUnits`) are
//! resolved against it, and nothing else.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::RwLock;

/// What one set's read found: each account, with the OUs above it (from
/// the OU the set names down to the account's own).
pub type UnitsOfAccounts = HashMap<String, Vec<String>>;

#[derive(Default)]
struct Reads {
    /// Per set (UID), the accounts its last read found.
    by_set: HashMap<String, UnitsOfAccounts>,
    /// Per account, the sets whose reads found it: a look-up touches only those.
    sets_of_account: HashMap<String, HashSet<String>>,
    /// Sets that existed when their watch first listed and have not tried a read yet.
    unread: HashSet<String>,
    /// The sets' watches that have not listed yet; None before they start.
    unlisted: Option<usize>,
}

/// The reads of every instance set, by account.
#[derive(Default)]
pub struct OrganizationView(RwLock<Reads>);

impl OrganizationView {
    /// How many watches of sets will list (one per watched namespace, or one).
    pub fn expect_listings(&self, watches: usize) {
        self.0.write().expect("never poisoned").unlisted.get_or_insert(watches);
    }

    /// The sets one watch found when it first listed: until each has tried
    /// one read, an account that no read found yet may still be under a
    /// granted OU, so admission by OU is not yet known.
    pub fn expect_reads(&self, sets: impl IntoIterator<Item = String>) {
        let mut reads = self.0.write().expect("never poisoned");
        reads.unread.extend(sets);
        if let Some(unlisted) = reads.unlisted.as_mut() {
            *unlisted = unlisted.saturating_sub(1);
        }
    }

    /// Whether every watch of sets has listed and every set it found has tried a read.
    pub fn is_loaded(&self) -> bool {
        let reads = self.0.read().expect("never poisoned");
        reads.unlisted == Some(0) && reads.unread.is_empty()
    }

    /// Set `set` has no read to offer now (its read failed, or it is
    /// paused): what it found before stays.
    pub fn did_not_read(&self, set: &str) {
        self.0.write().expect("never poisoned").unread.remove(set);
    }

    /// Records what `set` read; whether any account's OUs changed.
    pub fn record(&self, set: &str, found: UnitsOfAccounts) -> bool {
        let mut reads = self.0.write().expect("never poisoned");
        reads.unread.remove(set);
        if reads.by_set.get(set) == Some(&found) {
            return false;
        }
        reads.forget_accounts_of(set);
        for account in found.keys() {
            reads.sets_of_account.entry(account.clone()).or_default().insert(set.to_string());
        }
        reads.by_set.insert(set.to_string(), found);
        true
    }

    /// `set` is gone; whether it had found any account.
    pub fn forget(&self, set: &str) -> bool {
        let mut reads = self.0.write().expect("never poisoned");
        reads.unread.remove(set);
        let found = reads.forget_accounts_of(set);
        reads.by_set.remove(set);
        found
    }

    /// Every OU some read found `account` under.
    pub fn units_of(&self, account: &str) -> BTreeSet<String> {
        let reads = self.0.read().expect("never poisoned");
        let sets = reads.sets_of_account.get(account).into_iter().flatten();
        sets.filter_map(|set| reads.by_set.get(set)?.get(account)).flatten().cloned().collect()
    }
}

impl Reads {
    fn forget_accounts_of(&mut self, set: &str) -> bool {
        let Some(previous) = self.by_set.get(set) else { return false };
        for account in previous.keys() {
            if let Some(sets) = self.sets_of_account.get_mut(account) {
                sets.remove(set);
                if sets.is_empty() {
                    self.sets_of_account.remove(account);
                }
            }
        }
        !previous.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(entries: &[(&str, &[&str])]) -> UnitsOfAccounts {
        entries.iter().map(|(a, units)| (a.to_string(), units.iter().map(|u| u.to_string()).collect())).collect()
    }

    #[test]
    fn an_account_is_under_the_units_the_latest_reads_found_it_under() {
        let view = OrganizationView::default();
        assert!(view.record("set-1", found(&[("111111111111", &["ou-a", "ou-a1"])])));
        assert!(view.record("set-2", found(&[("111111111111", &["ou-b"]), ("222222222222", &["ou-b"])])));
        assert_eq!(view.units_of("111111111111"), ["ou-a", "ou-a1", "ou-b"].map(String::from).into());
        assert!(!view.record("set-2", found(&[("111111111111", &["ou-b"]), ("222222222222", &["ou-b"])])), "same");
        assert!(view.record("set-1", found(&[])), "the account moved out of set-1's OUs");
        assert_eq!(view.units_of("111111111111"), ["ou-b"].map(String::from).into());
        assert!(view.forget("set-2"));
        assert!(view.units_of("222222222222").is_empty());
        assert!(view.units_of("111111111111").is_empty());
    }

    #[test]
    fn the_view_is_loaded_once_every_watch_has_listed_and_every_set_it_found_has_tried_a_read() {
        let view = OrganizationView::default();
        assert!(!view.is_loaded(), "no watch of sets has started");
        view.expect_listings(2);
        view.expect_reads(["a".to_string(), "b".to_string()]);
        view.record("a", found(&[]));
        view.did_not_read("b");
        assert!(!view.is_loaded(), "the second namespace's watch has not listed");
        view.expect_reads(["c".to_string()]);
        assert!(!view.is_loaded(), "c has not tried a read");
        assert!(!view.forget("c"), "c is gone before it read");
        assert!(view.is_loaded());
    }
}
