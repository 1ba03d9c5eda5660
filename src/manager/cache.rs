//! The bounded cache of connections: a map from key to slot and a ring of slots swept by a
//! persistent CLOCK hand (second-chance eviction, O(1) amortized per eviction).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::token::TokenKey;

use super::entry::Entry;

/// Second-chance (CLOCK) eviction: from where the hand stopped last time, clears the
/// second-chance bit of each entry used since the hand last passed it and picks the first entry
/// not used since; returns its slot, with the hand moved past it.
///
/// Runs under the cache's write lock, so no reader sets a bit meanwhile: after one sweep of the
/// ring every bit is clear, and the loop ends within `len + 1` steps. An evicted entry that a
/// refresh flight still holds stays valid for that flight (it owns an `Arc`); the connection
/// is loaded again from the store on its next use.
fn evict_one(cache: &mut Cache) -> Option<usize> {
    let len = cache.slots.len();
    if len == 0 {
        return None;
    }
    for _ in 0..=len {
        let i = cache.hand % len;
        cache.hand = (i + 1) % len;
        let used = cache.slots.get(i).is_some_and(|slot| slot.entry.used.swap(false, Ordering::Relaxed));
        if !used {
            return Some(i);
        }
    }
    None
}

/// The cache of connections: a map from key to slot, and the slots in a ring swept by a CLOCK
/// hand (second-chance eviction).
///
/// The hand persists between evictions, so each eviction resumes where the last one stopped:
/// it clears the second-chance bit of the entries it passes and takes the first entry whose
/// bit was already clear. Every entry is passed at most once per sweep of the ring, so an
/// eviction costs O(1) amortized (O(capacity) at worst, once per sweep, when every entry was
/// used since the hand last passed), instead of a scan from the start of the map each time.
pub(super) struct Cache {
    /// Slot index by key (foldhash: keyed per process like std's SipHash, and several times
    /// faster on these short keys, which every call looks up).
    pub(super) index: HashMap<TokenKey, usize, foldhash::fast::RandomState>,
    /// The cached connections, in ring order for the hand.
    pub(super) slots: Vec<Slot>,
    /// The next slot the hand looks at.
    pub(super) hand: usize,
}

/// One cached connection in the ring.
pub(super) struct Slot {
    pub(super) key: TokenKey,
    pub(super) entry: Arc<Entry>,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache").field("len", &self.slots.len()).field("hand", &self.hand).finish_non_exhaustive()
    }
}

impl Cache {
    pub(super) fn new() -> Self {
        Self { index: HashMap::default(), slots: Vec::new(), hand: 0 }
    }

    pub(super) fn len(&self) -> usize {
        self.slots.len()
    }

    pub(super) fn get(&self, key: &TokenKey) -> Option<&Arc<Entry>> {
        self.index.get(key).and_then(|&i| self.slots.get(i)).map(|slot| &slot.entry)
    }

    /// Inserts `entry` for `key` (not cached yet), evicting one connection first when the cache
    /// holds `capacity` already: it never holds more.
    pub(super) fn insert(&mut self, key: TokenKey, entry: Arc<Entry>, capacity: usize) {
        if self.slots.len() < capacity {
            self.index.insert(key.clone(), self.slots.len());
            self.slots.push(Slot { key, entry });
            return;
        }
        let Some(victim) = evict_one(self) else {
            return;
        };
        // The new connection takes the victim's slot; the hand moves past it.
        if let Some(slot) = self.slots.get_mut(victim) {
            self.index.remove(&slot.key);
            self.index.insert(key.clone(), victim);
            *slot = Slot { key, entry };
        }
    }

    /// Removes `key`; returns its entry.
    pub(super) fn remove(&mut self, key: &TokenKey) -> Option<Arc<Entry>> {
        let i = self.index.remove(key)?;
        if i >= self.slots.len() {
            return None;
        }
        let removed = self.slots.swap_remove(i);
        // The last slot moved into `i`: point its key there.
        if let Some(moved) = self.slots.get(i)
            && let Some(at) = self.index.get_mut(&moved.key)
        {
            *at = i;
        }
        if self.hand >= self.slots.len() {
            self.hand = 0;
        }
        Some(removed.entry)
    }
}

#[cfg(test)]
mod cache_tests {
    use super::*;
    use crate::dc::{DataCenter, Environment};

    pub(super) fn key(i: usize) -> TokenKey {
        TokenKey::new(format!("user-{i}"), DataCenter::Eu, Environment::Production)
    }

    pub(super) fn consistent(cache: &Cache) {
        assert_eq!(cache.index.len(), cache.slots.len());
        for (i, slot) in cache.slots.iter().enumerate() {
            assert_eq!(cache.index.get(&slot.key), Some(&i));
        }
    }

    #[test]
    pub(super) fn the_cache_never_holds_more_than_its_capacity() {
        let mut cache = Cache::new();
        for i in 0..100 {
            cache.insert(key(i), Arc::new(Entry::new()), 10);
            assert!(cache.len() <= 10);
            consistent(&cache);
        }
        assert_eq!(cache.len(), 10);
    }

    #[test]
    pub(super) fn a_used_entry_gets_a_second_chance_and_the_hand_resumes() {
        let mut cache = Cache::new();
        for i in 0..4 {
            cache.insert(key(i), Arc::new(Entry::new()), 4);
        }
        // The first eviction sweeps once (every new entry is marked used) and takes slot 0.
        cache.insert(key(4), Arc::new(Entry::new()), 4);
        assert!(cache.get(&key(0)).is_none());
        // Entry 2 is used again; the hand resumes at slot 1 and takes it, then skips 2 for 3.
        if let Some(e) = cache.get(&key(2)) {
            e.used.store(true, Ordering::Relaxed);
        }
        cache.insert(key(5), Arc::new(Entry::new()), 4);
        assert!(cache.get(&key(1)).is_none());
        cache.insert(key(6), Arc::new(Entry::new()), 4);
        assert!(cache.get(&key(2)).is_some(), "second chance");
        assert!(cache.get(&key(3)).is_none());
        consistent(&cache);
    }

    #[test]
    pub(super) fn removal_keeps_the_index_consistent() {
        let mut cache = Cache::new();
        for i in 0..5 {
            cache.insert(key(i), Arc::new(Entry::new()), 5);
        }
        assert!(cache.remove(&key(1)).is_some());
        assert!(cache.remove(&key(1)).is_none());
        consistent(&cache);
        assert!(cache.remove(&key(4)).is_some());
        consistent(&cache);
        for i in 10..20 {
            cache.insert(key(i), Arc::new(Entry::new()), 5);
            consistent(&cache);
        }
        assert_eq!(cache.len(), 5);
    }

    #[test]
    pub(super) fn an_evicted_entry_stays_usable_by_whoever_holds_it() {
        let mut cache = Cache::new();
        let held = Arc::new(Entry::new());
        cache.insert(key(0), held.clone(), 1);
        cache.insert(key(1), Arc::new(Entry::new()), 1);
        assert!(cache.get(&key(0)).is_none());
        held.clear();
        assert!(held.cached().is_none());
    }
}
