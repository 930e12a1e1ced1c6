//! A bounded memory of recent results of work that the same input always gives the same answer
//! to, for as long as the answer stays good: a token signed for a hop, a signature checked.
//! Every call through the platform signs and checks tokens (issue 14); the same caller's next
//! call to the same context carries the same identity, so most of that work is repeated work
//! (issue 11: fewer cycles per hop).
//!
//! Each entry carries the instant (seconds since the epoch) after which it must not be used;
//! the caller decides what "good" means and checks nothing else the memo cannot know about
//! (time claims that depend on now, a key that may have rotated away). When full, the entries
//! past their end go; if that is not enough, everything goes: a burst of new callers costs the
//! work again, never memory.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

/// Entries kept at most, unless built with another bound.
pub const MAX_ENTRIES: usize = 4096;

pub struct Memo<K, V> {
    entries: Mutex<HashMap<K, (V, u64)>>,
    max: usize,
}

impl<K: Eq + Hash, V: Clone> Default for Memo<K, V> {
    fn default() -> Self {
        Memo::with_capacity(MAX_ENTRIES)
    }
}

impl<K: Eq + Hash, V: Clone> Memo<K, V> {
    pub fn with_capacity(max: usize) -> Memo<K, V> {
        Memo {
            entries: Mutex::new(HashMap::new()),
            max: max.max(1),
        }
    }

    /// The value kept for `key`, if it is still good at `now` (not past its end).
    pub fn get<Q>(&self, key: &Q, now: u64) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        match entries.get(key) {
            Some((v, fine)) if now <= *fine => Some(v.clone()),
            _ => None,
        }
    }

    /// Keeps `value` for `key` until `fine` (inclusive).
    pub fn put(&self, key: K, value: V, fine: u64, now: u64) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= self.max && !entries.contains_key(&key) {
            entries.retain(|_, (_, f)| now <= *f);
            if entries.len() >= self.max {
                entries.clear();
            }
        }
        entries.insert(key, (value, fine));
    }

    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_good_until_its_end_and_not_after() {
        let m: Memo<String, u32> = Memo::default();
        m.put("a".into(), 1, 100, 10);
        assert_eq!(m.get("a", 10), Some(1));
        assert_eq!(m.get("a", 100), Some(1));
        assert_eq!(m.get("a", 101), None);
        assert_eq!(m.get("b", 10), None);
    }

    #[test]
    fn a_full_memo_drops_what_has_ended_then_everything() {
        let m: Memo<u32, u32> = Memo::with_capacity(3);
        m.put(1, 1, 5, 0);
        m.put(2, 2, 50, 0);
        m.put(3, 3, 50, 0);
        // 1 has ended at 10: it alone goes.
        m.put(4, 4, 50, 10);
        assert_eq!(m.len(), 3);
        assert_eq!(m.get(&1, 10), None);
        assert_eq!(m.get(&2, 10), Some(2));
        // Nothing has ended: everything goes, the new entry stays.
        m.put(5, 5, 50, 10);
        assert_eq!(m.len(), 1);
        assert_eq!(m.get(&5, 10), Some(5));
        // Replacing a kept key never empties the memo.
        m.put(5, 6, 50, 10);
        assert_eq!(m.get(&5, 10), Some(6));
    }
}
