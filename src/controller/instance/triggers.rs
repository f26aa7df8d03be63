//! Which watch events start a reconcile: a change of spec (generation), the
//! start of deletion, or a change of the pause or reconcile-now annotations;
//! not the operator's own status writes. What it remembers per object goes
//! with the object: on its Delete, or when a relist no longer shows it.
//! kube's `predicate_filter` keeps every object it saw for an hour, deleted
//! ones too, so each wave of objects would stay in memory that long.

use std::collections::{HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};

use kube::Resource;
use kube::runtime::watcher;

use crate::api::{PAUSED, RECONCILE_REQUESTED_AT};
use crate::controller::watched::Watched;
use crate::tables::shrink_when_sparse;

/// What of an object decides whether it is reconciled again.
fn fingerprint(object: &Watched) -> u64 {
    let meta = object.meta();
    let mut hasher = DefaultHasher::new();
    meta.generation.hash(&mut hasher);
    meta.deletion_timestamp.is_some().hash(&mut hasher);
    for key in [PAUSED, RECONCILE_REQUESTED_AT] {
        meta.annotations.as_ref().and_then(|a| a.get(key)).hash(&mut hasher);
    }
    hasher.finish()
}

/// The fingerprints of one watch's objects, by UID.
#[derive(Default)]
pub struct Triggers {
    seen: HashMap<String, u64>,
    /// The UIDs a relist under way has shown so far.
    relisted: Option<HashSet<String>>,
}

impl Triggers {
    /// The object to reconcile for this event, if any.
    pub fn event(&mut self, event: watcher::Event<Watched>) -> Option<Watched> {
        match event {
            watcher::Event::Init => {
                self.relisted = Some(HashSet::new());
                None
            }
            watcher::Event::InitApply(object) => {
                let uid = object.meta().uid.clone().unwrap_or_default();
                if let Some(relisted) = self.relisted.as_mut() {
                    relisted.insert(uid.clone());
                }
                self.changed(uid, object)
            }
            watcher::Event::Apply(object) => self.changed(object.meta().uid.clone().unwrap_or_default(), object),
            watcher::Event::Delete(object) => {
                self.seen.remove(object.meta().uid.as_deref().unwrap_or_default());
                shrink_when_sparse(&mut self.seen);
                None
            }
            watcher::Event::InitDone => {
                let relisted = self.relisted.take().unwrap_or_default();
                self.seen.retain(|uid, _| relisted.contains(uid));
                shrink_when_sparse(&mut self.seen);
                None
            }
        }
    }

    fn changed(&mut self, uid: String, object: Watched) -> Option<Watched> {
        let fingerprint = fingerprint(&object);
        (self.seen.insert(uid, fingerprint) != Some(fingerprint)).then_some(object)
    }
}

#[cfg(test)]
mod tests {
    use kube::core::DeserializeGuard;

    use super::*;
    use crate::api::IdentityCenterInstance;

    fn object(uid: &str, generation: i64, annotations: &[(&str, &str)]) -> Watched {
        let mut object = IdentityCenterInstance::test().named(&format!("o-{uid}"), uid).generation(generation);
        for (key, value) in annotations {
            object = object.annotated(key, value);
        }
        DeserializeGuard(Ok(object))
    }

    fn triggered(triggers: &mut Triggers, event: watcher::Event<Watched>) -> bool {
        triggers.event(event).is_some()
    }

    #[test]
    fn only_spec_deletion_and_the_two_annotations_trigger() {
        use watcher::Event::Apply;
        let mut triggers = Triggers::default();
        let cases = [
            ("first sight", object("a", 1, &[]), true),
            ("a status write: same generation", object("a", 1, &[]), false),
            ("a spec change", object("a", 2, &[]), true),
            ("paused", object("a", 2, &[(PAUSED, "true")]), true),
            ("another annotation", object("a", 2, &[(PAUSED, "true"), ("team", "x")]), false),
            ("reconcile now", object("a", 2, &[(PAUSED, "true"), (RECONCILE_REQUESTED_AT, "t1")]), true),
            ("another object", object("b", 1, &[]), true),
        ];
        for (case, object, expected) in cases {
            assert_eq!(triggered(&mut triggers, Apply(object)), expected, "{case}");
        }
    }

    #[test]
    fn a_deleted_object_is_forgotten_and_one_of_the_same_name_is_new() {
        let mut triggers = Triggers::default();
        triggers.event(watcher::Event::Apply(object("a", 1, &[])));
        triggers.event(watcher::Event::Delete(object("a", 1, &[])));
        assert_eq!(triggers.seen.len(), 0);
        assert!(triggered(&mut triggers, watcher::Event::Apply(object("a", 1, &[]))), "seen anew");
    }

    #[test]
    fn a_relist_forgets_what_it_no_longer_shows_and_triggers_only_changes() {
        let mut triggers = Triggers::default();
        for uid in ["kept", "changed", "gone"] {
            triggers.event(watcher::Event::Apply(object(uid, 1, &[])));
        }
        triggers.event(watcher::Event::Init);
        assert!(!triggered(&mut triggers, watcher::Event::InitApply(object("kept", 1, &[]))));
        assert!(triggered(&mut triggers, watcher::Event::InitApply(object("changed", 2, &[]))));
        triggers.event(watcher::Event::InitDone);
        assert_eq!(triggers.seen.len(), 2, "the relist lacked the Delete of \"gone\"");
    }
}
