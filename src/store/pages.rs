//! The first page of each workspace's session list (the sidebar), kept as the response bytes
//! until the store sees a write that touches that workspace's sessions.
//!
//! Correct without locking the read against writes: every workspace has a *generation*, bumped
//! by the store after each write that changes a session row of it has committed (inside the
//! write's blocking task, so a cancelled request cannot skip it). A reader takes the generation
//! *before* it queries and stores its page under that generation; a lookup returns a page only
//! while its generation is still current. A write that raced the read has bumped the generation
//! by then, so the page it might have missed is never served. Generations come from one
//! process-wide counter, so they never repeat for a workspace.
//!
//! Only this process's writes are seen: the lock file keeps a second server off the database,
//! and the admin commands do not touch sessions. (With PostgreSQL and several servers the
//! generation will live in the database.)

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use bytes::Bytes;

/// What a cached page depends on besides the workspace's rows.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PageKey {
    /// The caller's owner filter (`None`: sees everything).
    pub owner: Option<String>,
    pub workspace_id: String,
    /// The query as the list route understood it (filters and page size).
    pub query: String,
}

/// Bytes of cached pages kept at most; past it the oldest generations go first.
const BUDGET: usize = 4 << 20;

#[derive(Default)]
struct State {
    clock: u64,
    generations: HashMap<String, u64>,
    pages: HashMap<PageKey, (u64, Bytes)>,
    bytes: usize,
}

/// The cache and the generations; one per store.
#[derive(Default)]
pub(crate) struct Pages {
    state: Mutex<State>,
}

impl Pages {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn generation(&self, workspace_id: &str) -> u64 {
        self.state()
            .generations
            .get(workspace_id)
            .copied()
            .unwrap_or(0)
    }

    /// After a committed write to sessions of `workspace_id`: retire its pages.
    pub(crate) fn bump(&self, workspace_id: &str) {
        let mut s = self.state();
        s.clock += 1;
        let now = s.clock;
        s.generations.insert(workspace_id.to_owned(), now);
        let mut freed = 0;
        s.pages.retain(|k, (_, body)| {
            let keep = k.workspace_id != workspace_id;
            if !keep {
                freed += body.len();
            }
            keep
        });
        s.bytes -= freed;
    }

    pub(crate) fn get(&self, key: &PageKey) -> Option<Bytes> {
        let s = self.state();
        let current = s.generations.get(&key.workspace_id).copied().unwrap_or(0);
        match s.pages.get(key) {
            Some((g, body)) if *g == current => Some(body.clone()),
            _ => None,
        }
    }

    pub(crate) fn put(&self, key: PageKey, generation: u64, body: Bytes) {
        let mut s = self.state();
        let current = s.generations.get(&key.workspace_id).copied().unwrap_or(0);
        if generation != current || body.len() > BUDGET / 4 {
            return;
        }
        while s.bytes + body.len() > BUDGET {
            let Some(oldest) = s
                .pages
                .iter()
                .min_by_key(|(_, (g, _))| *g)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            if let Some((_, old)) = s.pages.remove(&oldest) {
                s.bytes -= old.len();
            }
        }
        s.bytes += body.len();
        if let Some((_, old)) = s.pages.insert(key, (generation, body)) {
            s.bytes -= old.len();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(ws: &str) -> PageKey {
        PageKey {
            owner: None,
            workspace_id: ws.into(),
            query: "q".into(),
        }
    }

    #[test]
    fn a_page_read_before_a_write_is_not_served_after_it() {
        let pages = Pages::default();
        let g = pages.generation("w");
        // A write commits while the read is running…
        pages.bump("w");
        // …so the page that read stores is never served.
        pages.put(key("w"), g, Bytes::from_static(b"old"));
        assert_eq!(pages.get(&key("w")), None);
        let g = pages.generation("w");
        pages.put(key("w"), g, Bytes::from_static(b"new"));
        assert_eq!(pages.get(&key("w")).as_deref(), Some(&b"new"[..]));
        // Other workspaces are not disturbed by a write to this one.
        let h = pages.generation("v");
        pages.put(key("v"), h, Bytes::from_static(b"v"));
        pages.bump("w");
        assert_eq!(pages.get(&key("w")), None);
        assert_eq!(pages.get(&key("v")).as_deref(), Some(&b"v"[..]));
    }

    #[test]
    fn the_cache_stays_within_its_budget() {
        let pages = Pages::default();
        let big = Bytes::from(vec![b'x'; BUDGET / 4]);
        for i in 0..10 {
            let ws = format!("w{i}");
            let g = pages.generation(&ws);
            pages.put(key(&ws), g, big.clone());
        }
        let s = pages.state();
        assert!(s.bytes <= BUDGET, "{} bytes kept", s.bytes);
        assert_eq!(
            s.bytes,
            s.pages.values().map(|(_, b)| b.len()).sum::<usize>()
        );
    }
}
