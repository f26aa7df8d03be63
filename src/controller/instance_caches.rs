//! The instance controller's watch caches, shared: an instance set reads its
//! children from them and is woken when one of them changes, rather than
//! watching and caching its children a second time.

use std::sync::Mutex;

use futures::Stream;
use kube::Resource;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use tokio::sync::mpsc;

use super::watched::Watched;
use crate::api::{IdentityCenterInstanceSet, SET_LABEL};

type SetRef = ObjectRef<IdentityCenterInstanceSet>;

#[derive(Default)]
pub struct InstanceCaches {
    /// One cache per watched namespace ("" for all), as the instance controller keeps them.
    stores: Mutex<Vec<(String, Store<Watched>)>>,
    /// The set controllers listening for their children's changes.
    listeners: Mutex<Vec<mpsc::UnboundedSender<SetRef>>>,
}

impl InstanceCaches {
    /// The instance controller's cache of `scope`.
    pub fn register(&self, scope: &str, store: Store<Watched>) {
        self.stores.lock().expect("never poisoned").push((scope.to_string(), store));
    }

    /// The cached instances of `namespace`, owned by a set or not.
    pub fn in_namespace(&self, namespace: &str) -> Vec<std::sync::Arc<Watched>> {
        let stores = self.stores.lock().expect("never poisoned").clone();
        let holding = stores.iter().filter(|(scope, _)| scope.is_empty() || scope == namespace);
        let all = holding.flat_map(|(_, store)| store.state());
        all.filter(|watched| watched.meta().namespace.as_deref() == Some(namespace)).collect()
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
