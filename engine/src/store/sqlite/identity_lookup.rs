//! Who may hold an email address or identifier, in memory, while a first
//! load has dropped the two indexes matching reads (`emails_by_folded`,
//! `identifiers_by_value`; see [`super::bulk`]). PostgreSQL's first load
//! uses it too, so matching asks the server nothing for most keys and the
//! inserts held back for `COPY` are not written key by key.
//!
//! Kept up to date row by row, those indexes cost a first load two random
//! page reads and writes per identity once they outgrow the page cache.
//! This table costs eight bytes a slot instead: 32 bits of the identity's
//! hash and the person id. It answers with a superset (tags of different
//! identities can collide), which [`crate::store::Identities::identity_candidates`]
//! narrows to the exact answer by asking the store per candidate person,
//! through the person's own rows; most lookups of a first load find no
//! candidate at all and ask nothing.
//!
//! It must hold every matchable identity in the store: it is filled from
//! the tables when the indexes are dropped, and every insert or
//! reactivation in `identities.rs` adds to it. Stale entries (a deleted or
//! deactivated row) are harmless, since the store has the last word.

use crate::store::IdentityKind;

/// Candidate persons by identity, eight bytes a slot, linear probing.
#[derive(Debug)]
pub(in crate::store) struct IdentityLookup {
    /// `tag << 32 | person`; 0 is an empty slot (person ids start at 1).
    slots: Vec<u64>,
    len: usize,
    /// A person id did not fit in 32 bits: the table no longer answers.
    overflowed: bool,
}

impl IdentityLookup {
    /// An empty table.
    pub(in crate::store) fn new() -> IdentityLookup {
        IdentityLookup {
            slots: vec![0; 1024],
            len: 0,
            overflowed: false,
        }
    }

    /// Notes that `person` holds the identity (`value` in match form).
    pub(in crate::store) fn add(
        &mut self,
        kind: IdentityKind,
        type_name: &str,
        value: &str,
        person: i64,
    ) {
        let Ok(person) = u32::try_from(person) else {
            self.overflowed = true;
            return;
        };
        if person == 0 {
            self.overflowed = true;
            return;
        }
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            let doubled = vec![0; self.slots.len() * 2];
            let old = std::mem::replace(&mut self.slots, doubled);
            for slot in old.into_iter().filter(|slot| *slot != 0) {
                place(&mut self.slots, slot);
            }
        }
        place(
            &mut self.slots,
            (u64::from(tag(kind, type_name, value)) << 32) | u64::from(person),
        );
        self.len += 1;
    }

    /// Every person that may hold the identity (a superset, unsorted, with
    /// repeats), or `None` when the table cannot tell.
    pub(in crate::store) fn candidates(
        &self,
        kind: IdentityKind,
        type_name: &str,
        value: &str,
    ) -> Option<Vec<i64>> {
        if self.overflowed {
            return None;
        }
        let tag = tag(kind, type_name, value);
        let mut found = Vec::new();
        let mut at = start(tag, self.slots.len());
        loop {
            let slot = self.slots[at];
            if slot == 0 {
                return Some(found);
            }
            if (slot >> 32) as u32 == tag {
                found.push(i64::from(slot as u32));
            }
            at = (at + 1) % self.slots.len();
        }
    }
}

fn place(slots: &mut [u64], slot: u64) {
    let mut at = start((slot >> 32) as u32, slots.len());
    while slots[at] != 0 {
        at = (at + 1) % slots.len();
    }
    slots[at] = slot;
}

/// The first slot to probe: the tag scaled to the table.
fn start(tag: u32, len: usize) -> usize {
    ((u64::from(tag) * len as u64) >> 32) as usize
}

fn tag(kind: IdentityKind, type_name: &str, value: &str) -> u32 {
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    hasher.update(&[kind as u8]);
    hasher.update(type_name.as_bytes());
    // Separates type from value, so ("ab", "c") and ("a", "bc") differ.
    hasher.update(&[0xff]);
    hasher.update(value.as_bytes());
    (hasher.digest() >> 32) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_holder_through_growth_and_nothing_for_the_unknown() {
        let mut lookup = IdentityLookup::new();
        for person in 1..=5000 {
            lookup.add(IdentityKind::Email, "work", &format!("p{person}@x"), person);
        }
        lookup.add(IdentityKind::Email, "work", "p7@x", 9000);
        let mut found = lookup
            .candidates(IdentityKind::Email, "work", "p7@x")
            .unwrap();
        found.sort_unstable();
        assert_eq!(found, [7, 9000]);
        assert!(
            lookup
                .candidates(IdentityKind::Email, "home", "p7@x")
                .unwrap()
                .is_empty()
        );
        assert!(
            lookup
                .candidates(IdentityKind::Identifier, "work", "p7@x")
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn a_person_id_beyond_32_bits_makes_it_decline_to_answer() {
        let mut lookup = IdentityLookup::new();
        lookup.add(IdentityKind::Identifier, "id", "a", 1 << 40);
        assert_eq!(lookup.candidates(IdentityKind::Identifier, "id", "b"), None);
    }
}
