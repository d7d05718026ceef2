//! Response bytes of hot list routes, kept until the store sees a write that changes them: the
//! first page of each workspace's session list (the sidebar), and the workspace list.
//!
//! Correct without locking reads against writes: every *topic* (one workspace's sessions, or
//! the set of workspaces) has a generation, bumped by the store after each write that changes
//! it has committed (inside the write's blocking task, so a cancelled request cannot skip it).
//! A reader takes the generation *before* it queries and stores its page under that
//! generation; a lookup returns a page only while its generation is still current. A write
//! that raced the read has bumped the generation by then, so the page it might have missed is
//! never served. Generations come from one process-wide counter, so they never repeat.
//!
//! Only this process's writes are seen: the lock file keeps a second server off the database,
//! and the admin commands touch neither sessions nor workspaces. (With PostgreSQL and several
//! servers the generations will live in the database.)

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use bytes::Bytes;

/// What a cached page is derived from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Topic {
    /// The sessions of one workspace.
    Sessions(String),
    /// The workspaces themselves (their rows and paths).
    Workspaces,
}

/// A cached page: its topic, and what else its bytes depend on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PageKey {
    /// The caller's owner filter (`None`: sees everything).
    pub owner: Option<String>,
    pub topic: Topic,
    /// The query as the route understood it (filters and page size).
    pub query: String,
}

impl PageKey {
    /// A page of `workspace_id`'s sessions.
    pub fn sessions(owner: Option<&str>, workspace_id: &str, query: &str) -> Self {
        Self {
            owner: owner.map(str::to_owned),
            topic: Topic::Sessions(workspace_id.to_owned()),
            query: query.to_owned(),
        }
    }

    /// The workspace list as `owner` sees it.
    pub fn workspaces(owner: Option<&str>) -> Self {
        Self {
            owner: owner.map(str::to_owned),
            topic: Topic::Workspaces,
            query: String::new(),
        }
    }
}

/// Bytes of cached pages kept at most; past it the oldest generations go first.
const BUDGET: usize = 4 << 20;

#[derive(Default)]
struct State {
    clock: u64,
    generations: HashMap<Topic, u64>,
    pages: HashMap<PageKey, (u64, Bytes)>,
    bytes: usize,
}

impl State {
    fn generation(&self, topic: &Topic) -> u64 {
        self.generations.get(topic).copied().unwrap_or(0)
    }
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

    pub(crate) fn generation(&self, topic: &Topic) -> u64 {
        self.state().generation(topic)
    }

    /// After a committed write that changed `topic`: retire its pages.
    pub(crate) fn bump(&self, topic: Topic) {
        let mut s = self.state();
        s.clock += 1;
        let now = s.clock;
        let mut freed = 0;
        s.pages.retain(|k, (_, body)| {
            let keep = k.topic != topic;
            if !keep {
                freed += body.len();
            }
            keep
        });
        s.bytes -= freed;
        s.generations.insert(topic, now);
    }

    /// After a committed write to sessions of `workspace_id`.
    pub(crate) fn bump_sessions(&self, workspace_id: &str) {
        self.bump(Topic::Sessions(workspace_id.to_owned()));
    }

    pub(crate) fn get(&self, key: &PageKey) -> Option<Bytes> {
        let s = self.state();
        match s.pages.get(key) {
            Some((g, body)) if *g == s.generation(&key.topic) => Some(body.clone()),
            _ => None,
        }
    }

    pub(crate) fn put(&self, key: PageKey, generation: u64, body: Bytes) {
        let mut s = self.state();
        if generation != s.generation(&key.topic) || body.len() > BUDGET / 4 {
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
        PageKey::sessions(None, ws, "q")
    }

    fn generation(pages: &Pages, ws: &str) -> u64 {
        pages.generation(&key(ws).topic)
    }

    #[test]
    fn a_page_read_before_a_write_is_not_served_after_it() {
        let pages = Pages::default();
        let g = generation(&pages, "w");
        // A write commits while the read is running…
        pages.bump_sessions("w");
        // …so the page that read stores is never served.
        pages.put(key("w"), g, Bytes::from_static(b"old"));
        assert_eq!(pages.get(&key("w")), None);
        let g = generation(&pages, "w");
        pages.put(key("w"), g, Bytes::from_static(b"new"));
        assert_eq!(pages.get(&key("w")).as_deref(), Some(&b"new"[..]));
        // Other topics are not disturbed by a write to this one.
        let h = generation(&pages, "v");
        pages.put(key("v"), h, Bytes::from_static(b"v"));
        let list = PageKey::workspaces(None);
        pages.put(
            list.clone(),
            pages.generation(&list.topic),
            Bytes::from_static(b"l"),
        );
        pages.bump_sessions("w");
        assert_eq!(pages.get(&key("w")), None);
        assert_eq!(pages.get(&key("v")).as_deref(), Some(&b"v"[..]));
        assert_eq!(pages.get(&list).as_deref(), Some(&b"l"[..]));
        pages.bump(Topic::Workspaces);
        assert_eq!(pages.get(&list), None);
    }

    #[test]
    fn the_cache_stays_within_its_budget() {
        let pages = Pages::default();
        let big = Bytes::from(vec![b'x'; BUDGET / 4]);
        for i in 0..10 {
            let ws = format!("w{i}");
            let g = generation(&pages, &ws);
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
