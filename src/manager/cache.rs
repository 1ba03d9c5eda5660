//! The bounded cache of connections: a map from key to slot and a ring of slots swept by a
//! persistent CLOCK hand (second-chance eviction, O(1) amortized per eviction).

use std::hash::BuildHasher;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use hashbrown::HashTable;

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
    /// Slot indices, found by the hash of the slot's key: the key is kept once, in its slot
    /// (a map from key to index would keep a second copy of every key).
    index: HashTable<usize>,
    /// Hashes the keys (foldhash: keyed per process like std's SipHash, and several times
    /// faster on these short keys, which every call looks up).
    hasher: foldhash::fast::RandomState,
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
        Self { index: HashTable::new(), hasher: foldhash::fast::RandomState::default(), slots: Vec::new(), hand: 0 }
    }

    fn hash(&self, key: &TokenKey) -> u64 {
        self.hasher.hash_one(key)
    }

    /// The slot of `key`, if cached.
    fn position(&self, key: &TokenKey) -> Option<usize> {
        let slots = &self.slots;
        self.index.find(self.hash(key), |&i| slots.get(i).is_some_and(|slot| slot.key == *key)).copied()
    }

    /// Indexes slot `i` (whose key is `key`).
    fn index_slot(&mut self, key: &TokenKey, i: usize) {
        let hash = self.hash(key);
        let (slots, hasher) = (&self.slots, &self.hasher);
        self.index.insert_unique(hash, i, |&j| slots.get(j).map_or(0, |slot| hasher.hash_one(&slot.key)));
    }

    /// The hash of the key in slot `i`.
    fn slot_hash(&self, i: usize) -> Option<u64> {
        self.slots.get(i).map(|slot| self.hash(&slot.key))
    }

    /// Removes slot `i`, whose key hashes to `hash`, from the index.
    fn unindex_slot(&mut self, hash: u64, i: usize) {
        if let Ok(found) = self.index.find_entry(hash, |&j| j == i) {
            found.remove();
        }
    }

    pub(super) fn len(&self) -> usize {
        self.slots.len()
    }

    pub(super) fn get(&self, key: &TokenKey) -> Option<&Arc<Entry>> {
        self.position(key).and_then(|i| self.slots.get(i)).map(|slot| &slot.entry)
    }

    /// Inserts `entry` for `key` (not cached yet), evicting one connection first when the cache
    /// holds `capacity` already: it never holds more.
    pub(super) fn insert(&mut self, key: TokenKey, entry: Arc<Entry>, capacity: usize) {
        if self.slots.len() < capacity {
            let i = self.slots.len();
            self.index_slot(&key, i);
            self.slots.push(Slot { key, entry });
            return;
        }
        let Some(victim) = evict_one(self) else {
            return;
        };
        // The new connection takes the victim's slot; the hand moves past it.
        let Some(old) = self.slot_hash(victim) else {
            return;
        };
        self.unindex_slot(old, victim);
        self.index_slot(&key, victim);
        if let Some(slot) = self.slots.get_mut(victim) {
            *slot = Slot { key, entry };
        }
    }

    /// Removes `key`; returns its entry.
    pub(super) fn remove(&mut self, key: &TokenKey) -> Option<Arc<Entry>> {
        let i = self.position(key)?;
        self.unindex_slot(self.hash(key), i);
        let last = self.slots.len() - 1;
        let removed = self.slots.swap_remove(i);
        // The last slot moved into `i`: point its index entry there.
        if i != last
            && let Some(hash) = self.slot_hash(i)
            && let Some(at) = self.index.find_mut(hash, |&j| j == last)
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
            assert_eq!(cache.position(&slot.key), Some(i));
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

    /// Thousands of random inserts, lookups and removals against a model (the set of keys
    /// cached): the index always finds exactly the cached keys, each at its slot.
    #[test]
    pub(super) fn random_operations_keep_the_index_exact() {
        let mut cache = Cache::new();
        let mut model = std::collections::HashSet::new();
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for step in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let k = (x >> 20) as usize % 64;
            match x % 4 {
                0 | 1 if cache.get(&key(k)).is_none() => {
                    cache.insert(key(k), Arc::new(Entry::new()), 16);
                    model.insert(k);
                    // An eviction took one key out: find which, through the index.
                    model.retain(|&m| cache.get(&key(m)).is_some());
                }
                2 => assert_eq!(cache.remove(&key(k)).is_some(), model.remove(&k), "step {step}"),
                _ => assert_eq!(cache.get(&key(k)).is_some(), model.contains(&k), "step {step}"),
            }
            assert!(cache.len() <= 16);
            assert_eq!(cache.len(), model.len(), "step {step}");
            if step % 97 == 0 {
                consistent(&cache);
                for m in 0..64 {
                    assert_eq!(cache.get(&key(m)).is_some(), model.contains(&m), "step {step}, key {m}");
                }
            }
        }
        consistent(&cache);
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
