//! A small, forgiving Server-Sent Events decoder for chat-completion streams.
//!
//! Bytes arrive in arbitrary pieces (a line, a UTF-8 character or a `\r\n` may be split between
//! two network reads), so the decoder buffers bytes until a full line is there. It follows the
//! SSE rules that matter for LLM providers: `data:` lines (several join with `\n`), a blank line
//! ends an event, `:` lines are comments (keep-alives), `\r\n`, `\r` and `\n` all end a line, and
//! other fields (`event:`, `id:`, `retry:`) are ignored.

/// The longest line, and the most `data` of one event, a provider may send: a stream that
/// never ends a line must not grow memory without bound.
pub const MAX_EVENT_BYTES: usize = 8 * 1024 * 1024;

/// A line or an event longer than [`MAX_EVENT_BYTES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the provider sent a stream event over {MAX_EVENT_BYTES} bytes")]
pub struct TooLong;

/// Incremental decoder: feed it bytes, get back the `data` payload of each complete event.
#[derive(Debug, Default)]
pub struct SseDecoder {
    /// Bytes of the line not yet terminated.
    line: Vec<u8>,
    /// `data` lines of the event being read.
    data: Option<String>,
    /// The previous chunk ended with `\r`; a leading `\n` in the next one belongs to it.
    after_cr: bool,
}

impl SseDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed some bytes; returns the data of every event they complete, in order, or
    /// [`TooLong`] once a line or an event outgrows [`MAX_EVENT_BYTES`].
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<String>, TooLong> {
        let mut events = Vec::new();
        for &b in bytes {
            if self.after_cr {
                self.after_cr = false;
                if b == b'\n' {
                    continue;
                }
            }
            match b {
                b'\n' => self.end_line(&mut events),
                b'\r' => {
                    self.after_cr = true;
                    self.end_line(&mut events);
                }
                _ => self.line.push(b),
            }
            let pending = self.data.as_ref().map_or(0, String::len);
            if self.line.len() + pending > MAX_EVENT_BYTES {
                return Err(TooLong);
            }
        }
        Ok(events)
    }

    /// The stream ended: an event without its final blank line still counts.
    pub fn finish(&mut self) -> Option<String> {
        let mut events = Vec::new();
        if !self.line.is_empty() {
            self.end_line(&mut events);
        }
        self.end_line(&mut events);
        events.pop()
    }

    fn end_line(&mut self, events: &mut Vec<String>) {
        let line = std::mem::take(&mut self.line);
        if line.is_empty() {
            if let Some(data) = self.data.take() {
                events.push(data);
            }
            return;
        }
        if line[0] == b':' {
            return; // comment / keep-alive
        }
        let text = String::from_utf8_lossy(&line);
        let (field, value) = match text.find(':') {
            Some(i) => {
                let v = &text[i + 1..];
                (&text[..i], v.strip_prefix(' ').unwrap_or(v))
            }
            None => (text.as_ref(), ""),
        };
        if field == "data" {
            match &mut self.data {
                Some(d) => {
                    d.push('\n');
                    d.push_str(value);
                }
                None => self.data = Some(value.to_owned()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_in_pieces(input: &[u8], piece: usize) -> Vec<String> {
        let mut d = SseDecoder::new();
        let mut out = Vec::new();
        for chunk in input.chunks(piece) {
            out.extend(d.feed(chunk).unwrap());
        }
        out.extend(d.finish());
        out
    }

    #[test]
    fn events_are_the_same_however_the_bytes_are_split() {
        let input = "data: {\"a\":\"é€\"}\r\n\r\n: keep-alive\n\ndata: two\n\ndata: [DONE]\n\n";
        let whole = decode_in_pieces(input.as_bytes(), input.len());
        assert_eq!(whole, vec!["{\"a\":\"é€\"}", "two", "[DONE]"]);
        for piece in 1..input.len() {
            assert_eq!(
                decode_in_pieces(input.as_bytes(), piece),
                whole,
                "split every {piece} bytes"
            );
        }
    }

    #[test]
    fn comments_and_other_fields_are_ignored() {
        let input = ": OPENROUTER PROCESSING\n\nevent: message\nid: 7\nretry: 100\ndata: x\n\n";
        assert_eq!(decode_in_pieces(input.as_bytes(), 3), vec!["x"]);
    }

    #[test]
    fn multi_line_data_joins_with_newline_and_bare_cr_ends_lines() {
        let input = "data: a\rdata:b\r\rdata: c\n";
        assert_eq!(decode_in_pieces(input.as_bytes(), 1), vec!["a\nb", "c"]);
    }

    #[test]
    fn an_event_cut_off_by_the_end_of_stream_is_still_delivered() {
        let mut d = SseDecoder::new();
        assert!(d.feed(b"data: {\"x\":1}").unwrap().is_empty());
        assert_eq!(d.finish().as_deref(), Some("{\"x\":1}"));
        assert_eq!(d.finish(), None);
    }

    #[test]
    fn a_line_that_never_ends_is_refused_before_it_grows_without_bound() {
        let mut d = SseDecoder::new();
        let piece = vec![b'x'; 64 * 1024];
        let mut fed = 0;
        let err = loop {
            match d.feed(&piece) {
                Ok(events) => assert!(events.is_empty()),
                Err(e) => break e,
            }
            fed += piece.len();
            assert!(fed <= MAX_EVENT_BYTES + piece.len(), "no limit");
        };
        assert_eq!(err, TooLong);
    }
}
