//! Line-wise passes: one uniform indentation shift, and single lines anchored at their start
//! or end.

use super::{Found, Mode, exact, line_of};

/// A line's text, its terminator (`\n`, `\r\n`, `\r` or none) and where it starts.
struct Line<'a> {
    text: &'a str,
    term: &'a str,
    start: usize,
}

fn split_lines(s: &str) -> Vec<Line<'_>> {
    let bytes = s.as_bytes();
    let mut lines = Vec::new();
    let (mut start, mut i) = (0, 0);
    while i < bytes.len() {
        let term_len = match (bytes[i], bytes.get(i + 1)) {
            (b'\r', Some(b'\n')) => 2,
            (b'\n', _) | (b'\r', _) => 1,
            _ => 0,
        };
        if term_len > 0 {
            lines.push(Line {
                text: &s[start..i],
                term: &s[i..i + term_len],
                start,
            });
            i += term_len;
            start = i;
        } else {
            i += 1;
        }
    }
    lines.push(Line {
        text: &s[start..],
        term: "",
        start,
    });
    lines
}

fn indent_len(text: &str) -> usize {
    text.bytes()
        .take_while(|&b| b == b' ' || b == b'\t')
        .count()
}

/// One uniform indentation shift of every non-blank line of the needle.
pub(super) fn indentation(content: &str, needle: &str) -> Vec<Found> {
    let lines = split_lines(needle);
    let Some(first) = lines.iter().find(|l| indent_len(l.text) < l.text.len()) else {
        return Vec::new();
    };
    let base = indent_len(first.text) as isize;
    let mut deltas: Vec<isize> = Vec::new();
    for line in split_lines(content) {
        let delta = indent_len(line.text) as isize - base;
        if !deltas.contains(&delta) {
            deltas.push(delta);
        }
    }
    let mut found: Vec<Found> = Vec::new();
    for delta in deltas {
        let Some(shifted) = shift(&lines, delta) else {
            continue;
        };
        for f in exact(content, &shifted, Mode::Indentation) {
            if !found.iter().any(|g| g.start == f.start) {
                found.push(f);
            }
        }
    }
    found.sort_by_key(|f| f.start);
    found
}

fn shift(lines: &[Line<'_>], delta: isize) -> Option<String> {
    let mut out = String::new();
    for line in lines {
        let ws = indent_len(line.text);
        if ws == line.text.len() {
            out.push_str(line.text);
        } else if delta >= 0 {
            out.push_str(&" ".repeat(delta as usize));
            out.push_str(line.text);
        } else {
            let remove = delta.unsigned_abs();
            if ws < remove {
                return None;
            }
            out.push_str(&line.text[..ws - remove]);
            out.push_str(&line.text[ws..]);
        }
        out.push_str(line.term);
    }
    Some(out)
}

/// Single-line needles anchored at the start (or end) of a line.
pub(super) fn line_anchored(content: &str, needle: &str, at_start: bool) -> Vec<Found> {
    if needle.is_empty() || needle.contains('\n') {
        return Vec::new();
    }
    let (mode, mut found) = (
        if at_start {
            Mode::LineStart
        } else {
            Mode::LineEnd
        },
        Vec::new(),
    );
    for line in split_lines(content) {
        let start = if at_start && line.text.starts_with(needle) {
            line.start
        } else if !at_start && line.text.ends_with(needle) {
            line.start + line.text.len() - needle.len()
        } else {
            continue;
        };
        found.push(Found {
            start,
            end: start + needle.len(),
            line: line_of(content, start),
            mode,
        });
    }
    found
}
