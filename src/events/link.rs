//! What the hub and one connection's task share: the connection's outbound queue, the
//! heartbeats it has not answered, and why the hub wants it closed. Small on purpose: an idle
//! connection holds an empty queue (no allocation), a counter and a wake-up, about 150 bytes,
//! where a channel would keep a block of slots allocated for its whole life.
//!
//! The hub pushes and wakes; the task takes everything queued at once and writes it as one
//! batch (what is already waiting goes out together; nothing waits for company).

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};

use tokio::sync::Notify;

/// What a connection receives: a serialized event, shared by every recipient.
pub type Frame = axum::extract::ws::Utf8Bytes;

/// Outbound frames a connection may have waiting before it counts as not reading.
pub const OUTBOUND_QUEUE: usize = 256;

/// Heartbeats a connection may leave unanswered; at the next tick it is closed
/// (`PROTOCOL.md` §4.2: more than 3 missed).
pub const MAX_MISSED_PONGS: u8 = 3;

/// Why the hub closes a connection. Each has its WebSocket close code and reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// Its queue overflowed: it does not read (1013, try again later).
    TooSlow,
    /// It answered no heartbeat for [`MAX_MISSED_PONGS`] periods (1000).
    HeartbeatTimeout,
    /// The server is shutting down (1001).
    Shutdown,
    /// Its credential was revoked: the shared token changed, or its user, application, API key
    /// or refresh family was revoked (1008, policy violation: ask for a credential again).
    Revoked,
    /// Its access token expired (4001): refresh it and reconnect.
    Expired,
}

/// The close code that tells a client its access token expired.
pub const CLOSE_TOKEN_EXPIRED: u16 = 4001;

impl CloseReason {
    pub fn code(self) -> u16 {
        match self {
            CloseReason::TooSlow => 1013,
            CloseReason::HeartbeatTimeout => 1000,
            CloseReason::Shutdown => 1001,
            CloseReason::Revoked => 1008,
            CloseReason::Expired => CLOSE_TOKEN_EXPIRED,
        }
    }

    /// The close frame's reason text.
    pub fn text(self) -> &'static str {
        match self {
            CloseReason::TooSlow => "Client too slow",
            CloseReason::HeartbeatTimeout => "Heartbeat timeout",
            CloseReason::Shutdown => "Server shutting down",
            CloseReason::Revoked => "Credential revoked",
            CloseReason::Expired => "Token expired: refresh and reconnect",
        }
    }
}

#[derive(Default)]
struct Outbox {
    frames: VecDeque<Frame>,
    /// Frames taken by the task and not yet written.
    in_flight: usize,
    missed_pongs: u8,
    close: Option<CloseReason>,
}

/// One connection's side of the hub. Shared (`Arc`) by the hub and the connection's task.
#[derive(Default)]
pub struct Link {
    outbox: Mutex<Outbox>,
    wake: Notify,
}

impl Link {
    fn lock(&self) -> MutexGuard<'_, Outbox> {
        self.outbox.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queue a frame; a full queue closes the connection instead. `false` if not queued.
    pub fn push(&self, frame: Frame) -> bool {
        let mut out = self.lock();
        if out.close.is_some() {
            return false;
        }
        if out.frames.len() + out.in_flight >= OUTBOUND_QUEUE {
            out.close = Some(CloseReason::TooSlow);
            drop(out);
            self.wake.notify_one();
            return false;
        }
        out.frames.push_back(frame);
        drop(out);
        self.wake.notify_one();
        true
    }

    /// Ask the task to close the connection. The first reason given wins.
    pub fn close(&self, reason: CloseReason) {
        let mut out = self.lock();
        if out.close.is_none() {
            out.close = Some(reason);
        }
        drop(out);
        self.wake.notify_one();
    }

    /// Why the connection is to be closed, if it is.
    pub fn close_reason(&self) -> Option<CloseReason> {
        self.lock().close
    }

    /// One heartbeat period passed: queue `ping`, or close the connection when too many went
    /// unanswered.
    pub fn heartbeat(&self, ping: &Frame) {
        let missed = {
            let mut out = self.lock();
            let missed = out.missed_pongs;
            out.missed_pongs = missed.saturating_add(1);
            missed
        };
        if missed >= MAX_MISSED_PONGS {
            self.close(CloseReason::HeartbeatTimeout);
        } else {
            self.push(ping.clone());
        }
    }

    /// The client answered a heartbeat.
    pub fn pong(&self) {
        self.lock().missed_pongs = 0;
    }

    /// Frames waiting to be written (queued or being written).
    pub fn backlog(&self) -> usize {
        let out = self.lock();
        out.frames.len() + out.in_flight
    }

    /// Everything queued, to be written now (the queue keeps no allocation), or why to close.
    pub fn take(&self) -> Result<VecDeque<Frame>, CloseReason> {
        let mut out = self.lock();
        if let Some(reason) = out.close {
            return Err(reason);
        }
        let frames = std::mem::take(&mut out.frames);
        out.in_flight += frames.len();
        Ok(frames)
    }

    /// `n` frames taken earlier have been written.
    pub fn written(&self, n: usize) {
        let mut out = self.lock();
        out.in_flight = out.in_flight.saturating_sub(n);
    }

    /// Until something is queued or a close is asked for (returns at once if that happened
    /// since the last wait).
    pub async fn changed(&self) {
        self.wake.notified().await;
    }

    /// Until a close is asked for.
    pub async fn closing(&self) -> CloseReason {
        loop {
            if let Some(reason) = self.close_reason() {
                return reason;
            }
            self.wake.notified().await;
        }
    }
}

#[cfg(test)]
impl Link {
    /// Tests: the next queued frame, waiting for one (not for a close).
    pub async fn next_frame(&self) -> Frame {
        loop {
            if let Some(frame) = self.try_next_frame() {
                return frame;
            }
            self.changed().await;
        }
    }

    /// Tests: the next queued frame, if one is queued now.
    pub fn try_next_frame(&self) -> Option<Frame> {
        self.lock().frames.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame() -> Frame {
        Frame::from_static("{}")
    }

    #[test]
    fn a_full_queue_closes_instead_of_growing() {
        let link = Link::default();
        for _ in 0..OUTBOUND_QUEUE {
            assert!(link.push(frame()));
        }
        assert!(!link.push(frame()));
        assert_eq!(link.close_reason(), Some(CloseReason::TooSlow));
        assert_eq!(link.take().err(), Some(CloseReason::TooSlow));
    }

    #[test]
    fn frames_being_written_still_count_against_the_queue() {
        let link = Link::default();
        for _ in 0..OUTBOUND_QUEUE {
            link.push(frame());
        }
        let batch = link.take().unwrap();
        assert_eq!(batch.len(), OUTBOUND_QUEUE);
        assert_eq!(link.backlog(), OUTBOUND_QUEUE, "in flight");
        assert!(!link.push(frame()), "still full while being written");
        let link = Link::default();
        link.push(frame());
        let batch = link.take().unwrap();
        link.written(batch.len());
        assert_eq!(link.backlog(), 0);
    }

    #[test]
    fn the_fourth_unanswered_heartbeat_closes_and_a_pong_resets() {
        let link = Link::default();
        let ping = Frame::from_static("{\"type\":\"ping\"}");
        for _ in 0..MAX_MISSED_PONGS {
            link.heartbeat(&ping);
        }
        assert_eq!(link.take().unwrap().len(), 3);
        link.pong();
        for _ in 0..MAX_MISSED_PONGS {
            link.heartbeat(&ping);
        }
        assert_eq!(link.close_reason(), None, "the pong reset the count");
        link.heartbeat(&ping);
        assert_eq!(link.close_reason(), Some(CloseReason::HeartbeatTimeout));
        link.close(CloseReason::Revoked);
        assert_eq!(
            link.close_reason(),
            Some(CloseReason::HeartbeatTimeout),
            "the first reason wins"
        );
    }
}
