//! What every controller does with leadership: its watches run from the
//! start so that a standby's caches are warm, and nothing passes to its
//! reconciles until this replica leads; then every cached object once.

use std::hash::Hash;

use futures::{Stream, StreamExt, future};
use kube::Resource;
use kube::runtime::reflector::{ObjectRef, Store};
use tokio_util::sync::CancellationToken;

/// Lets items pass only while this replica leads.
pub fn while_leading<T>(leading: &CancellationToken) -> impl FnMut(&T) -> future::Ready<bool> + use<T> {
    let leading = leading.clone();
    move |_| future::ready(leading.is_cancelled())
}

/// Every object of one cache, once this replica leads: a standby kept its
/// cache warm without reconciling, and its settled objects cost AWS nothing.
pub fn everything_once_leading<K>(leading: CancellationToken, cache: Store<K>) -> impl Stream<Item = ObjectRef<K>>
where
    K: Resource + Clone + 'static,
    K::DynamicType: Default + Clone + Eq + Hash,
{
    futures::stream::once(leading.cancelled_owned()).flat_map(move |()| {
        futures::stream::iter(cache.state().iter().map(|o| ObjectRef::from_obj(o.as_ref())).collect::<Vec<_>>())
    })
}
