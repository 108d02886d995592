//! An open-addressing index from 128-bit key hashes to positions in a
//! dense vector, eight bytes a slot: the prior state of a million keys
//! costs a few megabytes of index instead of a hash map of owned strings.
//!
//! Each slot holds the position plus one and 32 bits of the hash, so most
//! probes that are not the key are rejected without touching the entry.
//! The table is sized to a load of at most three quarters, with any
//! capacity (not only powers of two): the start slot is the hash scaled to
//! the capacity, and probing is linear.

/// Positions (`u32`) by key hash.
#[derive(Debug, Default)]
pub(super) struct Index {
    slots: Vec<u64>,
    len: usize,
}

impl Index {
    /// An index with room for `n` positions before it grows.
    pub(super) fn with_capacity(n: usize) -> Index {
        Index {
            slots: vec![0; capacity_for(n)],
            len: 0,
        }
    }

    /// The position stored for `hash`; `matches(position)` confirms a
    /// candidate (the entry's full hash), since the slot keeps only 32 bits.
    pub(super) fn find(&self, hash: u128, matches: impl Fn(u32) -> bool) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        let tag = tag(hash);
        let mut at = start(hash, self.slots.len());
        loop {
            let slot = self.slots[at];
            if slot == 0 {
                return None;
            }
            let position = (slot as u32).wrapping_sub(1);
            if (slot >> 32) as u32 == tag && matches(position) {
                return Some(position);
            }
            at += 1;
            if at == self.slots.len() {
                at = 0;
            }
        }
    }

    /// Stores `position` for `hash` (not already present), growing when
    /// full; `hash_of(position)` gives the hash of every stored position so
    /// growing can re-place them.
    pub(super) fn insert(&mut self, hash: u128, position: u32, hash_of: impl Fn(u32) -> u128) {
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            self.grow(&hash_of);
        }
        self.place(hash, position);
        self.len += 1;
    }

    fn grow(&mut self, hash_of: &impl Fn(u32) -> u128) {
        let old = std::mem::replace(&mut self.slots, vec![0; capacity_for((self.len + 1) * 2)]);
        for slot in old.into_iter().filter(|slot| *slot != 0) {
            let position = (slot as u32).wrapping_sub(1);
            self.place(hash_of(position), position);
        }
    }

    fn place(&mut self, hash: u128, position: u32) {
        let mut at = start(hash, self.slots.len());
        while self.slots[at] != 0 {
            at += 1;
            if at == self.slots.len() {
                at = 0;
            }
        }
        self.slots[at] = (u64::from(tag(hash)) << 32) | u64::from(position + 1);
    }
}

/// Slots for `n` positions at a load of three quarters.
fn capacity_for(n: usize) -> usize {
    (n * 4 / 3 + 1).max(16)
}

/// The first slot to probe: the low 64 bits of the hash scaled to `len`.
fn start(hash: u128, len: usize) -> usize {
    ((u128::from(hash as u64) * len as u128) >> 64) as usize
}

/// The 32 bits kept in the slot: the top of the hash, independent of `start`.
fn tag(hash: u128) -> u32 {
    (hash >> 96) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(i: u32) -> u128 {
        xxhash_rust::xxh3::xxh3_128(&i.to_le_bytes())
    }

    #[test]
    fn finds_what_it_stored_through_growth() {
        let mut index = Index::default();
        for i in 0..10_000u32 {
            index.insert(hash(i), i, hash);
        }
        for i in 0..10_000u32 {
            assert_eq!(index.find(hash(i), |p| hash(p) == hash(i)), Some(i));
        }
        assert_eq!(index.find(hash(10_001), |p| hash(p) == hash(10_001)), None);
        assert!(index.slots.len() * 3 >= index.len * 4);
    }

    #[test]
    fn colliding_tags_are_told_apart_by_the_full_hash() {
        // Same top 32 bits and start slot, different hashes.
        let a = 1u128 << 100;
        let b = (1u128 << 100) | (1 << 70);
        let mut index = Index::with_capacity(4);
        let hashes = [a, b];
        index.insert(a, 0, |p| hashes[p as usize]);
        index.insert(b, 1, |p| hashes[p as usize]);
        assert_eq!(index.find(b, |p| hashes[p as usize] == b), Some(1));
        assert_eq!(index.find(a, |p| hashes[p as usize] == a), Some(0));
    }
}
