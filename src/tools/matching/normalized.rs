//! The loose passes' view of a text: line breaks unified, and optionally the blanks before a
//! line break dropped, with every byte mapped back to the span of the original it came from.

use super::{Found, Mode, line_of};

/// A normalized text and, for each of its bytes, the original span of the character it is.
pub(super) struct Normalized {
    text: String,
    starts: Vec<usize>,
    ends: Vec<usize>,
}

impl Normalized {
    fn push(&mut self, c: char, start: usize, end: usize) {
        self.text.push(c);
        for _ in 0..c.len_utf8() {
            self.starts.push(start);
            self.ends.push(end);
        }
    }

    fn empty(capacity: usize) -> Self {
        Self {
            text: String::with_capacity(capacity),
            starts: Vec::with_capacity(capacity),
            ends: Vec::with_capacity(capacity),
        }
    }

    /// `\r\n` read as `\n`.
    pub(super) fn line_endings(s: &str) -> Self {
        Self::build(s, false)
    }

    /// `\r\n` read as `\n`, and spaces or tabs just before a line break or the end dropped.
    pub(super) fn trailing_whitespace(s: &str) -> Self {
        Self::build(s, true)
    }

    fn build(s: &str, drop_trailing: bool) -> Self {
        let bytes = s.as_bytes();
        let mut out = Self::empty(s.len());
        let mut chars = s.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c == '\r' && bytes.get(i + 1) == Some(&b'\n') {
                chars.next();
                out.push('\n', i, i + 2);
            } else if drop_trailing && (c == ' ' || c == '\t') {
                let run_end = i + bytes[i..]
                    .iter()
                    .take_while(|&&b| b == b' ' || b == b'\t')
                    .count();
                let at_line_end = matches!(bytes.get(run_end), None | Some(b'\n') | Some(b'\r'));
                if !at_line_end {
                    for (k, &b) in bytes.iter().enumerate().take(run_end).skip(i) {
                        out.push(char::from(b), k, k + 1);
                    }
                }
                // The first blank was taken by the loop; skip the rest of the run.
                for _ in i + 1..run_end {
                    chars.next();
                }
            } else {
                out.push(c, i, i + c.len_utf8());
            }
        }
        out
    }
}

pub(super) fn normalized(
    content: &str,
    needle: &str,
    build: fn(&str) -> Normalized,
    mode: Mode,
) -> Vec<Found> {
    let c = build(content);
    let n = build(needle);
    if n.text.is_empty() {
        return Vec::new();
    }
    c.text
        .match_indices(&n.text)
        .map(|(i, m)| {
            let start = c.starts[i];
            Found {
                start,
                end: c.ends[i + m.len() - 1],
                line: line_of(content, start),
                mode,
            }
        })
        .collect()
}
