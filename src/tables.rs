//! In-memory tables that grow with the number of objects and must shrink again.

use std::collections::HashMap;
use std::hash::Hash;

/// Gives back a table's room once most of it is empty, so that after a wave
/// of deletions the operator returns to the memory it had before the wave
/// (a HashMap keeps its largest capacity otherwise).
pub fn shrink_when_sparse<K: Eq + Hash, V>(map: &mut HashMap<K, V>) {
    if map.capacity() > 64 && map.len() < map.capacity() / 4 {
        map.shrink_to(map.len() * 2);
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
}
