//! A small cache of the most recently used values (prepared references, fitted models):
//! looked up by key, the oldest dropped first once the caller's limit is passed. A poisoned
//! lock is a miss, never a failure: the value is computed again.

use std::sync::{Arc, Mutex};

pub(in crate::service) struct Recent<K, V> {
    entries: Mutex<Vec<(K, Arc<V>)>>,
}

impl<K, V> Default for Recent<K, V> {
    fn default() -> Self {
        Recent { entries: Mutex::new(Vec::new()) }
    }
}

impl<K: PartialEq, V> Recent<K, V> {
    /// The value kept for `key`, which becomes the most recently used.
    pub fn get(&self, key: &K) -> Option<Arc<V>> {
        let mut entries = self.entries.lock().ok()?;
        let i = entries.iter().position(|(k, _)| k == key)?;
        let hit = entries.remove(i);
        let value = hit.1.clone();
        entries.push(hit);
        Some(value)
    }

    /// Keeps `value`, then drops the oldest entries while `too_many` says the cache is over
    /// its limit (the newest entry always stays).
    pub fn put(&self, key: K, value: Arc<V>, too_many: impl Fn(&[(K, Arc<V>)]) -> bool) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.push((key, value));
            while entries.len() > 1 && too_many(&entries) {
                entries.remove(0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_recently_used_goes_first() {
        let cache: Recent<u32, &str> = Recent::default();
        let at_most_two = |e: &[(u32, Arc<&str>)]| e.len() > 2;
        cache.put(1, Arc::new("one"), at_most_two);
        cache.put(2, Arc::new("two"), at_most_two);
        assert_eq!(cache.get(&1).as_deref(), Some(&"one"));
        cache.put(3, Arc::new("three"), at_most_two);
        assert!(cache.get(&2).is_none(), "2 was the least recently used");
        assert!(cache.get(&1).is_some() && cache.get(&3).is_some());
    }
}
