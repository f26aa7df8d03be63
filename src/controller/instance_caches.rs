//! The instance controller's watch caches, shared: an instance set reads its
//! children from them and is woken when one of them changes, rather than
//! watching and caching its children a second time.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use futures::Stream;
use kube::Resource;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use tokio::sync::mpsc;

use super::watched::Watched;
use crate::api::{IdentityCenterInstanceSet, SET_LABEL};

type SetRef = ObjectRef<IdentityCenterInstanceSet>;
type ChildRef = ObjectRef<Watched>;

#[derive(Default)]
pub struct InstanceCaches {
    /// One cache per watched namespace ("" for all), as the instance controller keeps them.
    stores: Mutex<Vec<(String, Store<Watched>)>>,
    /// The set controllers listening for their children's changes.
    listeners: Mutex<Vec<mpsc::UnboundedSender<SetRef>>>,
    /// Each set's children, as the watch delivered them: a set's reconcile
    /// looks at its own children, however many other objects there are.
    children: Mutex<HashMap<SetRef, HashSet<ChildRef>>>,
}

impl InstanceCaches {
    /// The instance controller's cache of `scope`.
    pub fn register(&self, scope: &str, store: Store<Watched>) {
        self.stores.lock().expect("never poisoned").push((scope.to_string(), store));
    }

    /// The cached children of `set` (by its label and controller owner).
    /// A child the cache no longer has (deleted while the watch relisted)
    /// is dropped from the index here.
    pub fn children_of(&self, set: &SetRef) -> Vec<Arc<Watched>> {
        let stores = self.stores.lock().expect("never poisoned").clone();
        let namespace = set.namespace.as_deref().unwrap_or_default();
        let holding: Vec<&Store<Watched>> =
            stores.iter().filter(|(scope, _)| scope.is_empty() || scope == namespace).map(|(_, store)| store).collect();
        let mut index = self.children.lock().expect("never poisoned");
        let Some(refs) = index.get_mut(set) else { return Vec::new() };
        let mut found = Vec::with_capacity(refs.len());
        refs.retain(|child| match holding.iter().find_map(|store| store.get(child)) {
            Some(cached) => {
                found.push(cached);
                true
            }
            None => false,
        });
        if refs.is_empty() {
            index.remove(set);
        }
        found
    }

    /// The sets whose children change, from now on.
    pub fn owners_changed(&self) -> impl Stream<Item = SetRef> + Send + use<> {
        let (sender, mut receiver) = mpsc::unbounded_channel();
        self.listeners.lock().expect("never poisoned").push(sender);
        futures::stream::poll_fn(move |context| receiver.poll_recv(context))
    }

    /// An event of the instance watch, once it is in the cache: wakes the
    /// owning set of each child it touched.
    pub fn watched(&self, event: &watcher::Event<Watched>) {
        let child = match event {
            watcher::Event::Apply(child) | watcher::Event::InitApply(child) | watcher::Event::Delete(child) => child,
            watcher::Event::Init | watcher::Event::InitDone => return,
        };
        let Some(owner) = owning_set(child) else { return };
        {
            let mut index = self.children.lock().expect("never poisoned");
            let reference = ObjectRef::from_obj(child);
            match event {
                watcher::Event::Delete(_) => {
                    if let Some(refs) = index.get_mut(&owner) {
                        refs.remove(&reference);
                        if refs.is_empty() {
                            index.remove(&owner);
                        }
                    }
                }
                _ => {
                    index.entry(owner.clone()).or_default().insert(reference);
                }
            }
        }
        let mut listeners = self.listeners.lock().expect("never poisoned");
        listeners.retain(|listener| listener.send(owner.clone()).is_ok());
    }
}

/// The set that owns `child` (its labelled controller owner), if any.
fn owning_set(child: &Watched) -> Option<SetRef> {
    let meta = child.meta();
    meta.labels.as_ref()?.get(SET_LABEL)?;
    let owner = meta.owner_references.as_ref()?.iter().find(|owner| {
        owner.controller == Some(true)
            && owner.kind == IdentityCenterInstanceSet::kind(&())
            && owner.api_version == IdentityCenterInstanceSet::api_version(&())
    })?;
    Some(ObjectRef::new(&owner.name).within(meta.namespace.as_deref().unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use kube::runtime::reflector;

    use super::*;
    use crate::api::IdentityCenterInstance;

    fn child(name: &str, set: &str, uid: &str) -> Watched {
        let object = IdentityCenterInstance::test().named(name, uid);
        let mut value = serde_json::to_value(object).unwrap();
        value["metadata"]["labels"] = serde_json::json!({SET_LABEL: set});
        value["metadata"]["ownerReferences"] = serde_json::json!([{
            "apiVersion": "identitycenter.dev/v1alpha1", "kind": "IdentityCenterInstanceSet",
            "name": set, "uid": "set-uid", "controller": true,
        }]);
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn a_set_finds_its_own_children_only_and_forgets_deleted_ones() {
        let caches = InstanceCaches::default();
        let (store, mut writer) = reflector::store();
        caches.register("", store);
        let (a1, a2, b1) = (child("a-1", "a", "u1"), child("a-2", "a", "u2"), child("b-1", "b", "u3"));
        for object in [&a1, &a2, &b1] {
            let event = watcher::Event::Apply(object.clone());
            writer.apply_watcher_event(&event);
            caches.watched(&event);
        }
        let set_a: SetRef = ObjectRef::new("a").within("identity");
        let names = |found: Vec<Arc<Watched>>| {
            let mut names: Vec<String> = found.iter().map(|c| c.meta().name.clone().unwrap()).collect();
            names.sort();
            names
        };
        assert_eq!(names(caches.children_of(&set_a)), ["a-1", "a-2"]);
        let deleted = watcher::Event::Delete(a1.clone());
        writer.apply_watcher_event(&deleted);
        caches.watched(&deleted);
        assert_eq!(names(caches.children_of(&set_a)), ["a-2"]);
        // Gone from the cache without a Delete event (a relist): dropped from the index on look-up.
        writer.apply_watcher_event(&watcher::Event::Delete(a2.clone()));
        assert!(caches.children_of(&set_a).is_empty());
        assert!(!caches.children.lock().unwrap().contains_key(&set_a), "nothing is kept for a set without children");
    }
}
