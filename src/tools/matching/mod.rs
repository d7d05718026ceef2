//! Finding the one place a piece of text stands in a file, for `edit`, `multiedit` and
//! `apply-patch`. Passes run strictest first and stop at the first that finds anything: one
//! candidate is the answer, several are ambiguous and never fall through to a looser pass.
//! The loose passes search a normalized copy of both texts that remembers, for every byte,
//! where it came from, so a match always maps back to a real span of the original.

mod lines;
mod normalized;

use lines::{indentation, line_anchored};
use normalized::{Normalized, normalized};

/// How a match was found; `as_str` is the `matchInfo.mode` of the results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Exact,
    LineEndings,
    TrailingWhitespace,
    Indentation,
    LineStart,
    LineEnd,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Exact => "exact",
            Mode::LineEndings => "line_endings",
            Mode::TrailingWhitespace => "trailing_whitespace",
            Mode::Indentation => "indentation",
            Mode::LineStart => "line_start",
            Mode::LineEnd => "line_end",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Mode::LineEndings => "line-ending",
            Mode::TrailingWhitespace => "trailing-whitespace",
            Mode::LineStart => "line-start",
            Mode::LineEnd => "line-end",
            other => other.as_str(),
        }
    }
}

/// The passes tried when no strategy is given.
pub const ORDERED: [Mode; 4] = [
    Mode::Exact,
    Mode::LineEndings,
    Mode::TrailingWhitespace,
    Mode::Indentation,
];

/// The `strategy` parameter of `edit` and `multiedit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    Exact,
    LineStart,
    LineEnd,
    /// Kept for compatibility: the ordered passes.
    Partial,
    /// Kept for compatibility: the ordered passes.
    MultiLine,
}

impl Strategy {
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "exact" => Strategy::Exact,
            "line_start" => Strategy::LineStart,
            "line_end" => Strategy::LineEnd,
            "partial" => Strategy::Partial,
            "multi_line" => Strategy::MultiLine,
            _ => return None,
        })
    }
}

/// A candidate: the byte span `start..end` of the original text, starting on `line` (from 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found {
    pub start: usize,
    pub end: usize,
    pub line: usize,
    pub mode: Mode,
}

/// The candidates of the pass that found any, and how many each pass tried found.
#[derive(Debug, Default)]
pub struct Search {
    pub found: Vec<Found>,
    pub attempts: Vec<(Mode, usize)>,
}

impl Search {
    /// "exact=0, line-ending=2", for error messages.
    pub fn summary(&self) -> String {
        let parts: Vec<String> = self
            .attempts
            .iter()
            .map(|(m, n)| format!("{}={n}", m.label()))
            .collect();
        parts.join(", ")
    }
}

/// The search of `edit`: the ordered passes, one of them, or a single-line anchor. A needle of
/// several lines that starts with indentation only matches at the start of a line.
pub fn find(content: &str, needle: &str, strategy: Option<Strategy>) -> Search {
    let anchored = |mode, found: Vec<Found>| Search {
        attempts: vec![(mode, found.len())],
        found,
    };
    match strategy {
        Some(Strategy::LineStart) => {
            anchored(Mode::LineStart, line_anchored(content, needle, true))
        }
        Some(Strategy::LineEnd) => anchored(Mode::LineEnd, line_anchored(content, needle, false)),
        Some(Strategy::Exact) => run_passes(content, needle, &[Mode::Exact], |f| {
            at_line_start(content, needle, f)
        }),
        _ => run_passes(content, needle, &ORDERED, |f| {
            at_line_start(content, needle, f)
        }),
    }
}

fn at_line_start(content: &str, needle: &str, found: &Found) -> bool {
    let indented_block = needle.contains('\n') && needle.starts_with([' ', '\t']);
    !indented_block
        || found.start == 0
        || matches!(content.as_bytes()[found.start - 1], b'\n' | b'\r')
}

/// Runs `passes` in order, keeping the candidates `keep` accepts, until one pass has any.
pub fn run_passes(
    content: &str,
    needle: &str,
    passes: &[Mode],
    keep: impl Fn(&Found) -> bool,
) -> Search {
    let mut search = Search::default();
    if needle.is_empty() {
        return search;
    }
    for &mode in passes {
        let found: Vec<Found> = match mode {
            Mode::Exact => exact(content, needle, Mode::Exact),
            Mode::LineEndings => normalized(content, needle, Normalized::line_endings, mode),
            Mode::TrailingWhitespace => {
                normalized(content, needle, Normalized::trailing_whitespace, mode)
            }
            Mode::Indentation => indentation(content, needle),
            Mode::LineStart | Mode::LineEnd => Vec::new(),
        }
        .into_iter()
        .filter(|f| keep(f))
        .collect();
        search.attempts.push((mode, found.len()));
        if !found.is_empty() {
            search.found = found;
            break;
        }
    }
    search
}

/// The line (from 1) of a byte offset.
pub fn line_of(content: &str, offset: usize) -> usize {
    1 + content.as_bytes()[..offset.min(content.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

fn exact(content: &str, needle: &str, mode: Mode) -> Vec<Found> {
    content
        .match_indices(needle)
        .map(|(start, m)| Found {
            start,
            end: start + m.len(),
            line: line_of(content, start),
            mode,
        })
        .collect()
}

/// `\r\n` when most line breaks of `content` are, else `\n`.
pub fn dominant_ending(content: &str) -> &'static str {
    let crlf = content.matches("\r\n").count();
    let lf = content.matches('\n').count() - crlf;
    if crlf > lf { "\r\n" } else { "\n" }
}

/// The replacement with the file's line breaks, when the match was found by ignoring them.
pub fn adapt_replacement(replacement: &str, mode: Mode, content: &str) -> String {
    let loose = matches!(mode, Mode::LineEndings | Mode::TrailingWhitespace);
    if !loose || !replacement.contains('\n') || dominant_ending(content) == "\n" {
        return replacement.to_owned();
    }
    replacement.replace("\r\n", "\n").replace('\n', "\r\n")
}

#[cfg(test)]
mod tests;
