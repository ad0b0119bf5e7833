//! One person of the audience, laid out for lists of a million: the address, display name
//! and greeting share one allocation, and a reader's topics are an index into the
//! audience's distinct topic sets (most readers share a handful), so a recipient costs
//! about 40 bytes plus its text rather than four allocations.

use std::collections::HashMap;

use super::{Address, Place};

/// Separates the address, the name and the greeting in [`Recipient`]'s text; user text
/// never holds a control character (the loader refuses them).
const SEPARATOR: char = '\u{1f}';

/// One person, after merging every row that names their address.
#[derive(Debug, Clone)]
pub struct Recipient {
    /// `address SEP name SEP greeting`, the latter two empty when absent.
    text: Box<str>,
    /// The address's length in bytes (at most 254).
    address_len: u8,
    /// The name's length in bytes.
    name_len: u16,
    /// 1 + the index of the reader's topic set, or 0 when they chose none.
    pub(crate) topics: u32,
    pub(crate) last: Place,
    pub(crate) segments: u64,
}

impl Recipient {
    /// A recipient first listed at `last`.
    pub(crate) fn new(
        address: &Address,
        [name, greeting]: [Option<&str>; 2],
        segments: u64,
        topics: u32,
        last: Place,
    ) -> Self {
        let address = address.as_str();
        let (name, greeting) = (name.unwrap_or_default(), greeting.unwrap_or_default());
        Self {
            text: format!("{address}{SEPARATOR}{name}{SEPARATOR}{greeting}").into_boxed_str(),
            address_len: u8::try_from(address.len()).expect("an address is at most 254 octets"),
            name_len: u16::try_from(name.len()).expect("a name is at most 256 characters"),
            topics,
            last,
            segments,
        }
    }

    /// The normalised address, e.g. `ana@example.org`.
    pub fn email(&self) -> &str {
        &self.text[..usize::from(self.address_len)]
    }

    /// The normalised address as an [`Address`] (a copy).
    pub fn address(&self) -> Address {
        Address::normalised(self.email())
    }

    /// The display name, when a row gave one.
    pub fn name(&self) -> Option<&str> {
        let start = usize::from(self.address_len) + 1;
        Some(&self.text[start..start + usize::from(self.name_len)]).filter(|n| !n.is_empty())
    }

    /// The name to greet them by ("Hi Ana,"), when a row gave one.
    pub fn greeting(&self) -> Option<&str> {
        let start = usize::from(self.address_len) + usize::from(self.name_len) + 2;
        Some(&self.text[start..]).filter(|g| !g.is_empty())
    }

    /// Gives the recipient the name and greeting of a later row where they have none.
    pub(crate) fn fill(&mut self, [name, greeting]: [Option<&str>; 2]) {
        let filled = [self.name().or(name), self.greeting().or(greeting)];
        if filled != [self.name(), self.greeting()] {
            let address = self.address();
            *self = Self::new(&address, filled, self.segments, self.topics, self.last);
        }
    }
}

/// The distinct topic sets of an audience, each stored once.
#[derive(Debug, Default)]
pub(crate) struct TopicSets {
    sets: Vec<Box<[u16]>>,
    ids: HashMap<Box<[u16]>, u32>,
}

impl TopicSets {
    /// The reference for a reader who chose no topic in particular (in the store, through
    /// the preferences or sign-up page: "tick none to get every pick"). Unlike 0, no choice,
    /// it overrides the segments' `topics_any`.
    pub(crate) const EVERY: u32 = u32::MAX;

    /// The reference to `topics` (sorted and deduplicated here) for [`Recipient::topics`];
    /// 0 for none.
    pub(crate) fn intern(&mut self, mut topics: Vec<u16>) -> u32 {
        topics.sort_unstable();
        topics.dedup();
        if topics.is_empty() {
            return 0;
        }
        if let Some(&id) = self.ids.get(topics.as_slice()) {
            return id;
        }
        let set = topics.into_boxed_slice();
        self.sets.push(set.clone());
        let id = u32::try_from(self.sets.len()).expect("fewer topic sets than readers");
        self.ids.insert(set, id);
        id
    }

    /// The topic ids a reference names, `None` for none; empty for [`Self::EVERY`].
    pub(crate) fn get(&self, id: u32) -> Option<&[u16]> {
        if id == Self::EVERY {
            return Some(&[]);
        }
        let i = usize::try_from(id.checked_sub(1)?).ok()?;
        self.sets.get(i).map(|s| &**s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_allocation_holds_address_name_and_greeting() {
        let ana = Address::parse("Ana@Example.org").unwrap();
        let place = Place { file: 0, line: 1 };
        let mut r = Recipient::new(&ana, [None, Some("Ana")], 1, 0, place);
        assert_eq!(r.email(), "Ana@example.org");
        assert_eq!((r.name(), r.greeting()), (None, Some("Ana")));
        r.fill([Some("Ana Lima"), Some("Other")]);
        assert_eq!((r.name(), r.greeting()), (Some("Ana Lima"), Some("Ana")));
        assert_eq!(r.address(), ana);
        assert!(std::mem::size_of::<Recipient>() <= 40);
    }

    #[test]
    fn topic_sets_are_stored_once() {
        let mut sets = TopicSets::default();
        let a = sets.intern(vec![3, 1, 3]);
        assert_eq!(sets.intern(vec![1, 3]), a);
        assert_ne!(sets.intern(vec![1]), a);
        assert_eq!(sets.intern(Vec::new()), 0);
        assert_eq!(sets.get(a), Some(&[1, 3][..]));
        assert_eq!(sets.get(0), None);
    }
}
