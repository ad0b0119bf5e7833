//! The address index: a recipient's position found by their case-insensitive key, without
//! storing a second copy of every address (at a million recipients, that copy and a map of
//! owned keys cost more than the recipients themselves).

use std::hash::{BuildHasher as _, RandomState};

use hashbrown::HashTable;

use super::Recipient;
use super::address::lowercase_key;

/// Positions in the recipient list, hashed by lowercased address.
#[derive(Debug, Default)]
pub(crate) struct Index {
    table: HashTable<u32>,
    hasher: RandomState,
}

impl Index {
    /// The position of the recipient whose key is `key` (a lowercased address).
    pub(crate) fn find(&self, recipients: &[Recipient], key: &str) -> Option<u32> {
        let hash = self.hasher.hash_one(key);
        self.table
            .find(hash, |&i| same(recipients, i, key))
            .copied()
    }

    /// Records that the recipient at `position` has the key `key`.
    pub(crate) fn insert(&mut self, recipients: &[Recipient], key: &str, position: u32) {
        let Self { table, hasher } = self;
        let rehash = |&i: &u32| hasher.hash_one(&*lowercase_key(recipients[slot(i)].email()));
        table.insert_unique(hasher.hash_one(key), position, rehash);
    }
}

fn slot(i: u32) -> usize {
    usize::try_from(i).expect("u32 fits usize")
}

fn same(recipients: &[Recipient], i: u32, key: &str) -> bool {
    let address = recipients[slot(i)].email();
    if address.is_ascii() {
        address.eq_ignore_ascii_case(key)
    } else {
        *lowercase_key(address) == *key
    }
}
