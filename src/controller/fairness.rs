//! Fair shares of the reconcile slots between namespaces. kube-runtime runs
//! at most `concurrency` reconciles at once, in the order objects become
//! due; one namespace with many busy objects (a throttled account, a tenant
//! churning its objects) would otherwise hold every slot. A namespace whose
//! reconciles in flight reach its share gives the slot back at once, to be
//! looked at again a moment later. A quarter of the slots is never shared
//! out, so that a newly busy namespace always finds one free and kube-runtime
//! keeps taking objects from its queue.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::tables::shrink_when_sparse;

/// How long a reconcile that found its namespace at its share waits, at
/// least, before it is tried again (jitter adds up to as much again).
pub const OVER_SHARE_RETRY: Duration = Duration::from_secs(1);

pub struct FairShare {
    slots: usize,
    in_flight: Arc<Mutex<HashMap<String, usize>>>,
}

/// A slot held by one reconcile of a namespace, given back when dropped.
pub struct Slot {
    namespace: String,
    in_flight: Arc<Mutex<HashMap<String, usize>>>,
}

impl FairShare {
    pub fn new(slots: usize) -> Self {
        Self { slots: slots.max(1), in_flight: Default::default() }
    }

    /// A slot for a reconcile of `namespace`, unless the namespace already
    /// holds its share: three quarters of the slots divided among the
    /// namespaces that hold any, this one counted, and never less than one.
    pub fn enter(&self, namespace: &str) -> Option<Slot> {
        let mut in_flight = self.in_flight.lock().expect("never poisoned");
        let mine = in_flight.get(namespace).copied().unwrap_or(0);
        let active = in_flight.len() + usize::from(mine == 0);
        if mine >= share(self.slots, active) {
            return None;
        }
        *in_flight.entry(namespace.to_string()).or_default() += 1;
        Some(Slot { namespace: namespace.to_string(), in_flight: self.in_flight.clone() })
    }
}

fn share(slots: usize, active_namespaces: usize) -> usize {
    let shared = slots - slots / 4;
    (shared / active_namespaces.max(1)).max(1)
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut in_flight = self.in_flight.lock().expect("never poisoned");
        if let Some(count) = in_flight.get_mut(&self.namespace) {
            *count -= 1;
            if *count == 0 {
                in_flight.remove(&self.namespace);
                shrink_when_sparse(&mut in_flight);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_share_divides_the_slots_among_busy_namespaces_and_is_never_zero() {
        let cases = [(16, 1, 12), (16, 2, 6), (16, 3, 4), (16, 40, 1), (1, 2, 1), (0, 0, 1)];
        for (slots, active, want) in cases {
            assert_eq!(share(slots, active), want, "{slots} slots, {active} namespaces");
        }
    }

    #[test]
    fn a_busy_namespace_leaves_room_for_another_and_gets_it_back() {
        let fair = FairShare::new(8);
        let mut busy: Vec<Slot> = (0..6).map(|_| fair.enter("busy").expect("alone, it may use 6 of 8")).collect();
        assert!(fair.enter("busy").is_none(), "two slots stay free for others");
        let quiet = fair.enter("quiet").expect("another namespace finds one");
        assert!(fair.enter("busy").is_none(), "two namespaces: busy is over its share of 3");
        busy.truncate(2);
        assert!(fair.enter("busy").is_some(), "back under its share");
        drop((busy, quiet));
        assert!(fair.in_flight.lock().unwrap().is_empty(), "nothing left behind");
    }
}
