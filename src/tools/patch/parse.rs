//! The V4A context patch format of `apply-patch`: `*** Begin Patch`, then `Add File`,
//! `Update File` (with `Move to` and `@@` chunks) and `Delete File` operations, then
//! `*** End Patch`. Envelope line endings are normalized; each body line loses exactly its
//! first character and keeps the rest verbatim.

const BEGIN: &str = "*** Begin Patch";
const END: &str = "*** End Patch";
const UPDATE: &str = "*** Update File: ";
const ADD: &str = "*** Add File: ";
const DELETE: &str = "*** Delete File: ";
const MOVE: &str = "*** Move to: ";
const EOF_MARK: &str = "*** End of File";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Add,
    Update,
    Delete,
}

/// One `@@` chunk of an update.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Chunk {
    /// The text after `@@ `: the chunk applies after the one line containing it.
    pub context: Option<String>,
    pub old_lines: Vec<String>,
    pub new_lines: Vec<String>,
    /// Tied to the end of the file.
    pub end_of_file: bool,
}

#[derive(Debug, PartialEq, Eq)]
pub struct Op {
    pub kind: Kind,
    pub path: String,
    pub move_to: Option<String>,
    pub chunks: Vec<Chunk>,
    pub add_lines: Vec<String>,
    /// The patch line of its header, from 1.
    pub line: usize,
}

/// A patch that does not parse: the message and the line it is about.
#[derive(Debug, PartialEq, Eq)]
pub struct ParseError {
    pub message: String,
    pub line: Option<usize>,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "Parse error at line {line}: {}", self.message),
            None => write!(f, "Parse error: {}", self.message),
        }
    }
}

fn error(message: impl Into<String>, line: Option<usize>) -> ParseError {
    ParseError {
        message: message.into(),
        line,
    }
}

/// Parses a whole patch into its operations, in order.
pub fn parse(patch: &str) -> Result<Vec<Op>, ParseError> {
    let lines: Vec<&str> = patch
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    let mut i = lines.iter().take_while(|l| l.trim().is_empty()).count();
    if lines.get(i) != Some(&BEGIN) {
        return Err(error("Patch must begin with *** Begin Patch.", None));
    }
    i += 1;
    let mut parser = Parser {
        ops: Vec::new(),
        seen: Vec::new(),
        in_chunk: false,
    };
    while i < lines.len() {
        if lines[i] == END {
            if let Some(extra) = (i + 1..lines.len()).find(|&k| !lines[k].trim().is_empty()) {
                return Err(error(
                    "Unexpected content after *** End Patch.",
                    Some(extra + 1),
                ));
            }
            return Ok(parser.ops);
        }
        parser.line(lines[i], i + 1)?;
        i += 1;
    }
    Err(error("Patch must end with *** End Patch.", None))
}

struct Parser {
    ops: Vec<Op>,
    seen: Vec<String>,
    /// Whether body lines go to the last chunk of the last operation.
    in_chunk: bool,
}

impl Parser {
    fn line(&mut self, line: &str, n: usize) -> Result<(), ParseError> {
        if line == BEGIN {
            return Err(error("Unexpected *** Begin Patch marker.", Some(n)));
        }
        if line == EOF_MARK {
            let in_chunk = self.in_chunk;
            let Some(chunk) = self.chunk().filter(|_| in_chunk) else {
                return Err(error("*** End of File appeared outside a chunk.", Some(n)));
            };
            chunk.end_of_file = true;
            self.in_chunk = false;
            return Ok(());
        }
        for (marker, kind) in [
            (UPDATE, Kind::Update),
            (ADD, Kind::Add),
            (DELETE, Kind::Delete),
        ] {
            if let Some(path) = line.strip_prefix(marker) {
                let path = self.claim(path, marker, n)?;
                self.ops.push(Op {
                    kind,
                    path,
                    move_to: None,
                    chunks: Vec::new(),
                    add_lines: Vec::new(),
                    line: n,
                });
                self.in_chunk = false;
                return Ok(());
            }
        }
        if let Some(path) = line.strip_prefix(MOVE) {
            return self.move_to(path, n);
        }
        if line.starts_with("*** ") {
            return Err(error(format!("Unknown patch marker: {line}"), Some(n)));
        }
        self.body(line, n)
    }

    fn claim(&mut self, path: &str, marker: &str, n: usize) -> Result<String, ParseError> {
        if path.is_empty() {
            return Err(error(
                format!("Missing path after \"{}\".", marker.trim()),
                Some(n),
            ));
        }
        if self.seen.iter().any(|p| p == path) {
            return Err(error(
                format!("Duplicate operation on path: {path}"),
                Some(n),
            ));
        }
        self.seen.push(path.to_owned());
        Ok(path.to_owned())
    }

    fn move_to(&mut self, path: &str, n: usize) -> Result<(), ParseError> {
        let fits = matches!(self.ops.last(), Some(op) if op.kind == Kind::Update && op.chunks.is_empty() && op.move_to.is_none());
        if !fits {
            return Err(error(
                "*** Move to must immediately follow an Update File header.",
                Some(n),
            ));
        }
        let path = self.claim(path, MOVE, n)?;
        if let Some(op) = self.ops.last_mut() {
            op.move_to = Some(path);
        }
        Ok(())
    }

    fn chunk(&mut self) -> Option<&mut Chunk> {
        self.ops.last_mut().and_then(|op| op.chunks.last_mut())
    }

    fn body(&mut self, line: &str, n: usize) -> Result<(), ParseError> {
        let blank = line.trim().is_empty();
        let Some(op) = self.ops.last_mut() else {
            return if blank {
                Ok(())
            } else {
                Err(error(
                    format!("Unexpected line outside a file operation: {line}"),
                    Some(n),
                ))
            };
        };
        match op.kind {
            Kind::Add => match line.strip_prefix('+') {
                Some(text) => op.add_lines.push(text.to_owned()),
                None if blank => {}
                None => {
                    return Err(error(
                        "An Add File operation may only contain \"+\" lines.",
                        Some(n),
                    ));
                }
            },
            Kind::Delete if blank => {}
            Kind::Delete => {
                return Err(error(
                    "A Delete File operation must not contain body lines.",
                    Some(n),
                ));
            }
            Kind::Update => return self.update_line(line, n),
        }
        Ok(())
    }

    fn update_line(&mut self, line: &str, n: usize) -> Result<(), ParseError> {
        if let Some(rest) = line.strip_prefix("@@") {
            let context = match rest.strip_prefix(' ') {
                None if rest.is_empty() => None,
                Some(c)
                    if c.trim_start().starts_with('-')
                        && c.trim_start()[1..].starts_with(|ch: char| ch.is_ascii_digit()) =>
                {
                    return Err(error(
                        "Unified diff hunk headers are not supported.",
                        Some(n),
                    ));
                }
                Some(c) => Some(c.to_owned()).filter(|c| !c.is_empty()),
                None => return Err(error(format!("Malformed chunk header: {line}"), Some(n))),
            };
            if let Some(op) = self.ops.last_mut() {
                op.chunks.push(Chunk {
                    context,
                    ..Chunk::default()
                });
            }
            self.in_chunk = true;
            return Ok(());
        }
        let in_chunk = self.in_chunk;
        let Some(chunk) = self.chunk().filter(|_| in_chunk) else {
            if line.trim().is_empty() {
                return Ok(());
            }
            return Err(error(
                "An Update chunk must start with \"@@\" before body lines.",
                Some(n),
            ));
        };
        let (kind, text) = line.split_at(line.chars().next().map_or(0, char::len_utf8));
        match kind {
            " " => {
                chunk.old_lines.push(text.to_owned());
                chunk.new_lines.push(text.to_owned());
            }
            "+" => chunk.new_lines.push(text.to_owned()),
            "-" => chunk.old_lines.push(text.to_owned()),
            _ => {
                return Err(error(
                    format!(
                        "Malformed chunk line (must start with \" \", \"+\", or \"-\"): {line}"
                    ),
                    Some(n),
                ));
            }
        }
        Ok(())
    }
}
