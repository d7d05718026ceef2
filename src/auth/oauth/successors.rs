//! The refresh grace period's memory. Two refreshes with the same token within
//! [`REFRESH_GRACE_MS`] (a client retrying, two tabs racing) get the same answer: the first one
//! rotates, and the other waits for it and receives the same successor pair. The family stays
//! one chain, so a later replay still revokes all of it. Only the answers of the last few seconds
//! are kept, in memory; after a restart a twin is refused (without revoking anything).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::OnceCell;

use super::TokenResponse;
use super::grants::REFRESH_GRACE_MS;

/// The answer to one refresh token, shared by every request that presents it in the grace
/// period.
pub type Slot = Arc<OnceCell<TokenResponse>>;

#[derive(Default)]
pub struct Successors {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// By the hash of the presented refresh token: the slot and when it was opened (Unix ms).
    slots: HashMap<String, (Slot, i64)>,
    /// Hashes in the order their slots were opened, to drop expired ones from the front.
    order: VecDeque<(String, i64)>,
}

impl Successors {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The slot of the refresh token with this hash: the one opened less than the grace period
    /// ago, or a new one.
    pub fn slot(&self, token_hash: &str, now_ms: i64) -> Slot {
        let mut inner = self.lock();
        while let Some((hash, opened)) = inner.order.front() {
            if now_ms - opened <= REFRESH_GRACE_MS {
                break;
            }
            if inner.slots.get(hash).is_some_and(|(_, at)| at == opened) {
                let hash = hash.clone();
                inner.slots.remove(&hash);
            }
            inner.order.pop_front();
        }
        if let Some((slot, _)) = inner.slots.get(token_hash) {
            return slot.clone();
        }
        let slot = Slot::default();
        inner
            .slots
            .insert(token_hash.to_owned(), (slot.clone(), now_ms));
        inner.order.push_back((token_hash.to_owned(), now_ms));
        slot
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_keeps_its_slot_for_the_grace_period_only() {
        let s = Successors::default();
        let a = s.slot("a", 1_000);
        assert!(Arc::ptr_eq(&a, &s.slot("a", 1_000 + REFRESH_GRACE_MS)));
        assert!(!Arc::ptr_eq(&a, &s.slot("b", 1_000)));
        let later = s.slot("a", 1_001 + REFRESH_GRACE_MS);
        assert!(
            !Arc::ptr_eq(&a, &later),
            "a new slot after the grace period"
        );
        assert_eq!(s.lock().slots.len(), 1, "the expired ones are gone");
    }
}
