//! The new text of a file updated by a patch: each chunk is located after the previous one
//! (and after its `@@` anchor line), with the same fail-closed passes as `edit`, and the
//! replacements are applied from the end of the file backwards.

use crate::tools::matching::{Found, Mode, ORDERED, dominant_ending, line_of, run_passes};

use super::parse::Chunk;

/// One replacement: `start..end` of the original becomes `text`.
#[derive(Debug)]
pub struct Replacement {
    pub start: usize,
    pub end: usize,
    pub text: String,
    pub mode: Mode,
    pub line: usize,
    pub chunk: usize,
}

/// Why a chunk could not be placed.
#[derive(Debug, PartialEq, Eq)]
pub enum ChunkError {
    NoMatch(usize),
    Ambiguous(usize),
    AmbiguousInsertion(usize),
}

/// The updated text and the replacements that made it.
pub fn update(original: &str, chunks: &[Chunk]) -> Result<(String, Vec<Replacement>), ChunkError> {
    let ending = dominant_ending(original);
    let mut cursor = 0;
    let mut done: Vec<Replacement> = Vec::new();
    for (index, chunk) in chunks.iter().enumerate() {
        let replacement = place(original, chunk, index, cursor, ending)?;
        cursor = replacement.end;
        done.push(replacement);
    }
    let mut text = original.to_owned();
    for r in done.iter().rev() {
        text.replace_range(r.start..r.end, &r.text);
    }
    Ok((text, done))
}

/// Line spans `(start, end with its line break)` of `content` from `from` on.
fn lines_from(content: &str, from: usize) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut start = 0;
    std::iter::from_fn(move || {
        if start > content.len() || (start == content.len() && content.ends_with('\n')) {
            return None;
        }
        let end = content[start..]
            .find('\n')
            .map_or(content.len(), |i| start + i + 1);
        let span = (start, end);
        start = if end == content.len() {
            content.len() + 1
        } else {
            end
        };
        Some(span)
    })
    .filter(move |(s, _)| *s >= from)
}

fn body(content: &str, (start, end): (usize, usize)) -> &str {
    content[start..end]
        .trim_end_matches('\n')
        .trim_end_matches('\r')
}

fn place(
    content: &str,
    chunk: &Chunk,
    index: usize,
    cursor: usize,
    ending: &str,
) -> Result<Replacement, ChunkError> {
    let new_text = chunk.new_lines.join(ending);
    let mut region = cursor;
    let mut anchor_end = None;
    if let Some(context) = &chunk.context {
        let anchors: Vec<(usize, usize)> = lines_from(content, cursor)
            .filter(|&l| body(content, l).contains(context.as_str()))
            .collect();
        match anchors.as_slice() {
            [] => return Err(ChunkError::NoMatch(index)),
            [(_, end)] => {
                anchor_end = Some(*end);
                region = *end;
            }
            _ => return Err(ChunkError::Ambiguous(index)),
        }
    }
    let at = |pos: usize, text: String| Replacement {
        start: pos,
        end: pos,
        text,
        mode: Mode::Exact,
        line: line_of(content, pos),
        chunk: index,
    };
    if chunk.old_lines.is_empty() {
        let tail = if new_text.is_empty() { "" } else { ending };
        if chunk.end_of_file {
            let lead = if !content.is_empty() && !content.ends_with('\n') {
                ending
            } else {
                ""
            };
            return Ok(at(content.len(), format!("{lead}{new_text}{tail}")));
        }
        let Some(end) = anchor_end else {
            return Err(ChunkError::AmbiguousInsertion(index));
        };
        let lead = if end > 0 && !content[..end].ends_with('\n') {
            ending
        } else {
            ""
        };
        return Ok(at(end, format!("{lead}{new_text}{tail}")));
    }
    let old_text = chunk.old_lines.join("\n");
    let found = if old_text.is_empty() {
        blank_line(content, region, index)?
    } else {
        old_lines(content, &old_text, region, index)?
    };
    let mut text = new_text;
    if old_text.is_empty() && !chunk.new_lines.is_empty() {
        text.push_str(ending);
    }
    let end = if chunk.end_of_file {
        content.len()
    } else {
        found.end
    };
    if chunk.end_of_file && content.ends_with('\n') && !text.ends_with('\n') {
        text.push_str(ending);
    }
    Ok(Replacement {
        start: found.start,
        end,
        text,
        mode: found.mode,
        line: found.line,
        chunk: index,
    })
}

/// A chunk whose only old line is empty: the one blank line after `region`.
fn blank_line(content: &str, region: usize, index: usize) -> Result<Found, ChunkError> {
    let blanks: Vec<(usize, usize)> = lines_from(content, region)
        .filter(|&(s, e)| {
            e > s && content[s..e].ends_with('\n') && body(content, (s, e)).is_empty()
        })
        .collect();
    match blanks.as_slice() {
        [(start, end)] => Ok(Found {
            start: *start,
            end: *end,
            line: line_of(content, *start),
            mode: Mode::Exact,
        }),
        [] => Err(ChunkError::NoMatch(index)),
        _ => Err(ChunkError::Ambiguous(index)),
    }
}

/// The old lines as whole lines after `region`, by the ordered passes.
fn old_lines(
    content: &str,
    old_text: &str,
    region: usize,
    index: usize,
) -> Result<Found, ChunkError> {
    let suffix = &content[region..];
    let bytes = suffix.as_bytes();
    // With trailing blanks ignored, the blanks after the last old line belong to the match.
    let extended = |f: &Found| match f.mode {
        Mode::TrailingWhitespace => {
            f.end
                + bytes[f.end..]
                    .iter()
                    .take_while(|&&b| b == b' ' || b == b'\t')
                    .count()
        }
        _ => f.end,
    };
    let whole_lines = |f: &Found| {
        let starts = f.start == 0 || bytes[f.start - 1] == b'\n';
        let end = extended(f);
        starts
            && (old_text.ends_with('\n')
                || end == bytes.len()
                || matches!(bytes[end], b'\r' | b'\n'))
    };
    let search = run_passes(suffix, old_text, &ORDERED, whole_lines);
    match search.found.as_slice() {
        [f] => {
            let (start, end) = (region + f.start, region + extended(f));
            Ok(Found {
                start,
                end,
                line: line_of(content, start),
                mode: f.mode,
            })
        }
        [] => Err(ChunkError::NoMatch(index)),
        _ => Err(ChunkError::Ambiguous(index)),
    }
}
