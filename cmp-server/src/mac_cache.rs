//! [`MacKeyCache`]: the MAC keys of recent MAC-protected requests, so that the second message
//! of a transaction (certConf, pollReq) costs no second derivation.
//!
//! A client protects all the requests of a transaction with one salt (OpenSSL's client and
//! cmp-core's do), so the certConf's key is the ir's key. The cache holds a key only once it
//! checked a request's MAC, under the request's senderKID (which names the secret) and its
//! `protectionAlg` (algorithm, salt, iteration count): a hit is the key a derivation would give,
//! and the MAC is still checked with it. Bounded in count and age; the keys are zeroized when
//! dropped.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use cmp_core::protection::MacKey;

/// How many keys the cache holds by default.
pub(crate) const DEFAULT_CAPACITY: usize = 1024;

/// How long a key is kept by default (a transaction's certConf follows its ir within seconds).
pub(crate) const DEFAULT_TTL: Duration = Duration::from_secs(120);

/// The entries, and their keys in the order they came (the oldest first).
#[derive(Debug, Default)]
struct Entries {
    keys: HashMap<Vec<u8>, (MacKey, SystemTime)>,
    order: VecDeque<Vec<u8>>,
}

/// Derived MAC keys by senderKID and `protectionAlg`, at most `capacity`, each for at most
/// `ttl`.
#[derive(Debug)]
pub(crate) struct MacKeyCache {
    entries: Mutex<Entries>,
    capacity: usize,
    ttl: Duration,
}

impl Default for MacKeyCache {
    fn default() -> Self {
        Self::new(DEFAULT_CAPACITY, DEFAULT_TTL)
    }
}

/// The cache's key: the senderKID's length and bytes, then the `protectionAlg`'s DER.
pub(crate) fn cache_key(reference: &[u8], protection_alg_der: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(8 + reference.len() + protection_alg_der.len());
    key.extend_from_slice(&(reference.len() as u64).to_be_bytes());
    key.extend_from_slice(reference);
    key.extend_from_slice(protection_alg_der);
    key
}

impl MacKeyCache {
    /// A cache of at most `capacity` keys (0: none kept), each kept for at most `ttl`.
    pub(crate) fn new(capacity: usize, ttl: Duration) -> Self {
        MacKeyCache {
            entries: Mutex::new(Entries::default()),
            capacity,
            ttl,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Entries> {
        // Every change is one map insert/remove with its order entry: never half done.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn fresh(&self, at: SystemTime, now: SystemTime) -> bool {
        now.duration_since(at).map_or(true, |age| age < self.ttl)
    }

    /// The key kept under `key`, if it is younger than the TTL at `now`.
    pub(crate) fn get(&self, key: &[u8], now: SystemTime) -> Option<MacKey> {
        let entries = self.lock();
        let (mac_key, at) = entries.keys.get(key)?;
        self.fresh(*at, now).then(|| mac_key.clone())
    }

    /// Keeps `mac_key` under `key` at `now`, dropping the expired keys and, when full, the
    /// oldest.
    pub(crate) fn insert(&self, key: Vec<u8>, mac_key: MacKey, now: SystemTime) {
        if self.capacity == 0 {
            return;
        }
        let mut entries = self.lock();
        let Entries { keys, order } = &mut *entries;
        while let Some(oldest) = order.front() {
            let expired = keys.get(oldest).is_none_or(|(_, at)| !self.fresh(*at, now));
            if !expired && keys.len() < self.capacity {
                break;
            }
            if let Some(oldest) = order.pop_front() {
                keys.remove(&oldest);
            }
        }
        if keys.insert(key.clone(), (mac_key, now)).is_none() {
            order.push_back(key);
        }
    }

    /// How many keys are kept.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().keys.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cmp_core::protection::{MacKeyDerivation, MacSettings};
    use std::sync::Arc;

    fn key(secret: &[u8]) -> MacKey {
        let primitives = Arc::new(cmp_crypto::software::SoftwarePrimitives);
        MacKeyDerivation::for_settings(&MacSettings::pbm_default(), secret, primitives)
            .expect("derivation")
            .derive()
            .expect("key")
    }

    fn t(s: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + s)
    }

    #[test]
    fn a_key_is_found_under_its_reference_and_algorithm_only() {
        let cache = MacKeyCache::new(4, Duration::from_secs(60));
        let k = key(b"secret");
        cache.insert(cache_key(b"ref-a", b"alg-1"), k.clone(), t(0));
        let found = cache
            .get(&cache_key(b"ref-a", b"alg-1"), t(1))
            .expect("hit");
        assert!(found.serves(k.algorithm_identifier()));
        assert!(cache.get(&cache_key(b"ref-b", b"alg-1"), t(1)).is_none());
        assert!(cache.get(&cache_key(b"ref-a", b"alg-2"), t(1)).is_none());
        // The length prefix keeps "ab"+"c" apart from "a"+"bc".
        assert_ne!(cache_key(b"ab", b"c"), cache_key(b"a", b"bc"));
    }

    #[test]
    fn keys_expire_and_the_oldest_make_room() {
        let cache = MacKeyCache::new(2, Duration::from_secs(60));
        let k = key(b"secret");
        cache.insert(cache_key(b"r", b"1"), k.clone(), t(0));
        assert!(
            cache.get(&cache_key(b"r", b"1"), t(60)).is_none(),
            "expired"
        );
        cache.insert(cache_key(b"r", b"2"), k.clone(), t(1));
        cache.insert(cache_key(b"r", b"3"), k.clone(), t(2));
        assert_eq!(cache.len(), 2, "full: the oldest went");
        assert!(cache.get(&cache_key(b"r", b"2"), t(3)).is_some());
        cache.insert(cache_key(b"r", b"4"), k.clone(), t(4));
        assert_eq!(cache.len(), 2);
        assert!(
            cache.get(&cache_key(b"r", b"2"), t(5)).is_none(),
            "the oldest went"
        );
        assert!(cache.get(&cache_key(b"r", b"4"), t(5)).is_some());
        let none = MacKeyCache::new(0, Duration::from_secs(60));
        none.insert(cache_key(b"r", b"1"), k, t(0));
        assert_eq!(none.len(), 0);
    }
}
