//! A small time-bounded cache for the resource side's database checks (API keys, user and
//! application status), so a busy client costs one query per key per TTL, not one per request.
//! A TTL of zero disables it. Bounded: past [`MAX_ENTRIES`] it starts over.

use std::collections::HashMap;
use std::sync::Mutex;

const MAX_ENTRIES: usize = 10_000;

pub struct TtlCache<V> {
    ttl_ms: i64,
    map: Mutex<HashMap<String, (V, i64)>>,
}

impl<V: Clone> TtlCache<V> {
    pub fn new(ttl_ms: i64) -> Self {
        Self {
            ttl_ms,
            map: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (V, i64)>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The value stored for `key` less than a TTL before `now_ms`.
    pub fn get(&self, key: &str, now_ms: i64) -> Option<V> {
        if self.ttl_ms <= 0 {
            return None;
        }
        match self.lock().get(key) {
            Some((v, at)) if now_ms - at < self.ttl_ms && now_ms >= *at => Some(v.clone()),
            _ => None,
        }
    }

    pub fn put(&self, key: &str, value: V, now_ms: i64) {
        if self.ttl_ms <= 0 {
            return;
        }
        let mut map = self.lock();
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(key.to_owned(), (value, now_ms));
    }

    pub fn remove(&self, key: &str) {
        self.lock().remove(key);
    }

    /// Forget everything (the database changed behind the server's back).
    pub fn clear(&self) {
        self.lock().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_after_the_ttl_and_zero_disables() {
        let c = TtlCache::new(1000);
        c.put("k", 1, 0);
        assert_eq!(c.get("k", 999), Some(1));
        assert_eq!(c.get("k", 1000), None);
        let off = TtlCache::new(0);
        off.put("k", 1, 0);
        assert_eq!(off.get("k", 0), None);
    }
}
