//! In-memory tables that grow with the number of objects and must shrink
//! again, and stay bounded whatever tenants create.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::time::{Duration, Instant};

/// Gives back a table's room once most of it is empty, so that after a wave
/// of deletions the operator returns to the memory it had before the wave
/// (a HashMap keeps its largest capacity otherwise).
pub fn shrink_when_sparse<K: Eq + Hash, V>(map: &mut HashMap<K, V>) {
    if map.capacity() > 64 && map.len() < map.capacity() / 4 {
        map.shrink_to(map.len() * 2);
    }
}

struct Slot<V> {
    value: V,
    /// The stamp of this entry's latest use; older stamps in `order` are stale.
    stamp: u64,
    last_used: Instant,
}

/// A table of at most `capacity` entries that drops the least recently used
/// one when full, and the idle ones on request, each in amortized O(1): uses
/// are queued in order with a stamp, and a queued use that is not an entry's
/// latest is skipped when it comes up.
pub struct LruTable<K, V> {
    slots: HashMap<K, Slot<V>>,
    order: VecDeque<(K, u64)>,
    next_stamp: u64,
    capacity: usize,
}

impl<K: Eq + Hash + Clone, V> LruTable<K, V> {
    pub fn new(capacity: usize) -> Self {
        Self { slots: HashMap::new(), order: VecDeque::new(), next_stamp: 0, capacity: capacity.max(1) }
    }

    #[cfg(test)]
    pub fn count(&self) -> usize {
        self.slots.len()
    }

    /// The entry for `key`, now counted as used.
    pub fn get(&mut self, key: &K, now: Instant) -> Option<&V> {
        let stamp = self.next_stamp;
        let slot = self.slots.get_mut(key)?;
        (slot.stamp, slot.last_used) = (stamp, now);
        self.next_stamp += 1;
        self.order.push_back((key.clone(), stamp));
        self.compact();
        self.slots.get(key).map(|slot| &slot.value)
    }

    /// Adds or replaces the entry for `key`, first dropping the least recently used one when full.
    pub fn insert(&mut self, key: K, value: V, now: Instant) {
        if !self.slots.contains_key(&key) && self.slots.len() >= self.capacity {
            self.pop_least_recent();
        }
        let stamp = self.next_stamp;
        self.next_stamp += 1;
        self.order.push_back((key.clone(), stamp));
        self.slots.insert(key, Slot { value, stamp, last_used: now });
        self.compact();
    }

    pub fn remove(&mut self, key: &K) -> Option<V> {
        let removed = self.slots.remove(key).map(|slot| slot.value);
        self.compact();
        removed
    }

    /// Drops the entries unused for `idle`: the least recent come first, so it stops at the first recent one.
    pub fn remove_idle(&mut self, idle: Duration, now: Instant) {
        while let Some((key, stamp)) = self.order.front() {
            match self.slots.get(key) {
                Some(slot) if slot.stamp == *stamp && now.duration_since(slot.last_used) < idle => break,
                Some(slot) if slot.stamp == *stamp => {
                    let key = key.clone();
                    self.slots.remove(&key);
                }
                _ => {}
            }
            self.order.pop_front();
        }
        self.compact();
    }

    fn pop_least_recent(&mut self) {
        while let Some((key, stamp)) = self.order.pop_front() {
            if self.slots.get(&key).is_some_and(|slot| slot.stamp == stamp) {
                self.slots.remove(&key);
                return;
            }
        }
    }

    /// Keeps the queue of uses within a constant factor of the entries: each
    /// compaction costs O(queue), paid for by the uses that grew it.
    fn compact(&mut self) {
        if self.order.len() > 2 * self.slots.len() + 64 {
            let slots = &self.slots;
            self.order.retain(|(key, stamp)| slots.get(key).is_some_and(|slot| slot.stamp == *stamp));
            self.order.shrink_to(self.order.len() * 2);
        }
        shrink_when_sparse(&mut self.slots);
    }

    #[cfg(test)]
    fn queued(&self) -> usize {
        self.order.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mostly_empty_table_shrinks_and_a_full_or_small_one_does_not() {
        let mut map: HashMap<u32, u32> = (0..1000).map(|i| (i, i)).collect();
        let full = map.capacity();
        shrink_when_sparse(&mut map);
        assert_eq!(map.capacity(), full, "full: kept");
        map.retain(|k, _| *k < 10);
        shrink_when_sparse(&mut map);
        assert!(map.capacity() < full / 10, "sparse: shrunk to {}", map.capacity());
        let mut small: HashMap<u32, u32> = HashMap::with_capacity(32);
        small.insert(1, 1);
        let before = small.capacity();
        shrink_when_sparse(&mut small);
        assert_eq!(small.capacity(), before, "small tables are not worth it");
    }

    #[test]
    fn a_full_table_drops_the_least_recently_used_entry() {
        let now = Instant::now();
        let mut table = LruTable::new(2);
        table.insert("a", 1, now);
        table.insert("b", 2, now);
        assert_eq!(table.get(&"a", now), Some(&1), "a is now the more recent");
        table.insert("c", 3, now);
        assert_eq!(table.get(&"a", now), Some(&1));
        assert_eq!(table.get(&"b", now), None, "the least recently used went");
        assert_eq!(table.get(&"c", now), Some(&3));
        assert_eq!(table.remove(&"a"), Some(1));
        assert_eq!(table.count(), 1);
    }

    #[test]
    fn idle_entries_go_and_recent_ones_stay() {
        let start = Instant::now();
        let mut table = LruTable::new(10);
        table.insert("old", 1, start);
        table.insert("used", 2, start);
        table.get(&"used", start + Duration::from_secs(50));
        table.remove_idle(Duration::from_secs(30), start + Duration::from_secs(60));
        assert_eq!(table.get(&"old", start), None);
        assert_eq!(table.count(), 1);
    }

    #[test]
    fn the_queue_of_uses_stays_within_a_constant_of_the_entries() {
        let now = Instant::now();
        let mut table = LruTable::new(100);
        for i in 0..10 {
            table.insert(i, i, now);
        }
        for _ in 0..10_000 {
            table.get(&3, now);
        }
        assert!(table.queued() <= 2 * table.count() + 65, "{} queued for {}", table.queued(), table.count());
    }
}
