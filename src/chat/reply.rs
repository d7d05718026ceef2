//! The assistant reply as it streams: the text and reasoning parts (each created together with
//! its first chunk, then extended with `part.append`), persisted as snapshots at most every
//! [`FLUSH_EVERY`] and at the end, so a crash loses at most that much text. A tool call, and
//! the end of a step, close the live parts: later text opens a new part (`PROTOCOL-AGENT.md`
//! §8.3). Snapshots are
//! written by a writer task of their own, in order, so the stream never waits for SQLite (whose
//! single writer is shared by every session streaming at once).

use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::Chat;
use crate::events::{Audience, ServerEvent};
use crate::store::{Message, Part, StoreError};

/// The longest streamed text may wait before it is written to the database.
pub const FLUSH_EVERY: Duration = Duration::from_millis(300);

/// Which part a delta extends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Text,
    Reasoning,
}

impl Field {
    fn name(self) -> &'static str {
        match self {
            Field::Text => "text",
            Field::Reasoning => "reasoning",
        }
    }
}

struct Live {
    part: Part,
    text: String,
    dirty: bool,
}

/// The parts of one assistant message being streamed.
pub struct Reply {
    chat: Chat,
    message: Message,
    text: Option<Live>,
    reasoning: Option<Live>,
    last_flush: Instant,
    last_created: i64,
    /// Every text delta of the reply, across parts and steps (for the title).
    all_text: String,
    /// The text of the current step (what the model wrote besides its tool calls).
    step_text: String,
    /// Snapshots `(part id, data)` for the writer task; `None` once finished.
    snapshots: Option<mpsc::UnboundedSender<(String, Map<String, Value>)>>,
    writer: Option<JoinHandle<()>>,
}

impl Reply {
    pub fn new(chat: Chat, message: Message, last_created: i64) -> Self {
        let (tx, mut rx) = mpsc::unbounded_channel::<(String, Map<String, Value>)>();
        let store = chat.store().clone();
        let session_id = message.session_id.clone();
        let writer = chat.spawn(async move {
            while let Some((part_id, data)) = rx.recv().await {
                if let Err(e) = store.update_part_data(&part_id, &data).await {
                    tracing::error!(session.id = %session_id, error = %e, "cannot save the streamed text");
                }
            }
        });
        Self {
            chat,
            message,
            text: None,
            reasoning: None,
            last_flush: Instant::now(),
            last_created,
            all_text: String::new(),
            step_text: String::new(),
            snapshots: Some(tx),
            writer: Some(writer),
        }
    }

    fn publish(&self, event: &ServerEvent) {
        self.chat
            .hub()
            .publish(Audience::Session(&self.message.session_id), event);
    }

    /// A creation time after every earlier part of the message, so `(createdAt, id)` order is
    /// the order parts were made in.
    pub fn next_created_at(&mut self) -> i64 {
        self.last_created = crate::time::now_ms().max(self.last_created + 1);
        self.last_created
    }

    /// Create a part of this message now (persisted, then `part.created`).
    pub async fn create_part(&mut self, data: Value) -> Result<Part, StoreError> {
        let data = match data {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        let created_at = self.next_created_at();
        let part = Part::new(&self.message, created_at, data);
        self.chat.store().create_part(&part).await?;
        self.publish(&ServerEvent::PartCreated {
            session_id: self.message.session_id.clone(),
            part: Box::new(part.clone()),
        });
        Ok(part)
    }

    /// Write a changed part and tell the session (`part.updated` carries the whole part).
    pub async fn update_part(&self, part: &Part) -> Result<(), StoreError> {
        self.chat
            .store()
            .update_part_data(&part.id, &part.data)
            .await?;
        self.publish(&ServerEvent::PartUpdated {
            session_id: self.message.session_id.clone(),
            part: Box::new(part.clone()),
        });
        Ok(())
    }

    /// The assistant message these parts belong to.
    pub fn message(&self) -> &Message {
        &self.message
    }

    /// One streamed delta: the first creates the part carrying it, later ones are appended.
    pub async fn push(&mut self, field: Field, delta: String) -> Result<(), StoreError> {
        if field == Field::Text {
            self.all_text.push_str(&delta);
            self.step_text.push_str(&delta);
        }
        let slot = match field {
            Field::Text => &mut self.text,
            Field::Reasoning => &mut self.reasoning,
        };
        if let Some(live) = slot {
            live.text.push_str(&delta);
            live.dirty = true;
            let event = ServerEvent::PartAppend {
                session_id: self.message.session_id.clone(),
                part_id: live.part.id.clone(),
                field: field.name(),
                delta,
            };
            self.publish(&event);
            if self.last_flush.elapsed() >= FLUSH_EVERY {
                self.flush();
            }
            return Ok(());
        }
        let part = self
            .create_part(json!({"type": field.name(), "text": delta}))
            .await?;
        let live = Live {
            part,
            text: delta,
            dirty: false,
        };
        match field {
            Field::Text => self.text = Some(live),
            Field::Reasoning => self.reasoning = Some(live),
        }
        Ok(())
    }

    /// When the next flush is due, if anything is waiting to be written.
    pub fn flush_due(&self) -> Option<Instant> {
        let dirty = [&self.text, &self.reasoning]
            .into_iter()
            .flatten()
            .any(|l| l.dirty);
        dirty.then(|| self.last_flush + FLUSH_EVERY)
    }

    /// Hand the text streamed so far to the writer task (does not wait for the write).
    pub fn flush(&mut self) {
        self.last_flush = Instant::now();
        for live in [&mut self.text, &mut self.reasoning].into_iter().flatten() {
            if live.dirty {
                live.part
                    .data
                    .insert("text".into(), Value::String(live.text.clone()));
                if let Some(tx) = &self.snapshots {
                    let _ = tx.send((live.part.id.clone(), live.part.data.clone()));
                }
                live.dirty = false;
            }
        }
    }

    /// Close the live text and reasoning parts (written as they are): the next delta of either
    /// kind opens a new part.
    pub fn close_live(&mut self) {
        self.flush();
        self.text = None;
        self.reasoning = None;
    }

    /// The text of the step that just ended; the next step starts with none.
    pub fn take_step_text(&mut self) -> String {
        std::mem::take(&mut self.step_text)
    }

    /// The final snapshot, and wait until every snapshot is written.
    pub async fn finish(&mut self) {
        self.flush();
        self.snapshots = None;
        if let Some(writer) = self.writer.take()
            && let Err(e) = writer.await
        {
            tracing::error!(error = %e, "the snapshot writer panicked");
        }
    }

    /// The text received so far, across parts and steps (for the title and logs).
    pub fn text(&self) -> &str {
        &self.all_text
    }
}
