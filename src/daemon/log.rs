//! `jean2 logs`: the last lines of `server.log`, then follow it by polling for growth. Also the
//! tail readers `start` and `reload` use to show what the server wrote.

use std::fs::File;
use std::io::{self, Read as _, Seek as _, SeekFrom};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use crate::daemon::Paths;

/// How often a followed log is checked for growth.
const FOLLOW_POLL: Duration = Duration::from_millis(250);
/// How far back from the end we read at a time when looking for the last lines.
const CHUNK: u64 = 16 * 1024;

/// `jean2 logs [-n N] [--no-follow]`.
/// Print the last `lines` lines of `server.log`, then follow it unless `follow` is false.
pub fn logs(lines: usize, follow: bool) -> anyhow::Result<ExitCode> {
    let paths = Paths::from_env()?;
    let path = &paths.log_file;
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            crate::console::say!(
                "no log yet: {} does not exist (the server writes it once `jean2 start` runs it; \
                 `jean2 server` logs to the terminal instead)",
                path.display()
            );
            return Ok(ExitCode::SUCCESS);
        }
        Err(e) => return Err(anyhow::anyhow!("cannot open {}: {e}", path.display())),
    };
    let (text, mut pos) = last_lines(&mut file, lines)?;
    let mut out = io::stdout().lock();
    if write_or_quit(&mut out, text.as_bytes())? || !follow {
        return Ok(ExitCode::SUCCESS);
    }
    drop(out);
    loop {
        std::thread::sleep(FOLLOW_POLL);
        // Re-open by path each time, so a log that was removed or rotated is picked up again.
        let Ok(mut file) = File::open(path) else {
            continue;
        };
        let len = file.metadata()?.len();
        if len < pos {
            pos = 0; // truncated or replaced: start over from its beginning
        }
        if len > pos {
            file.seek(SeekFrom::Start(pos))?;
            let mut buf = Vec::with_capacity((len - pos) as usize);
            (&file).take(len - pos).read_to_end(&mut buf)?;
            pos = len;
            if write_or_quit(&mut io::stdout().lock(), &buf)? {
                return Ok(ExitCode::SUCCESS);
            }
        }
    }
}

/// Write and flush; `Ok(true)` when the reader went away (e.g. `jean2 logs | head`).
fn write_or_quit(out: &mut impl io::Write, bytes: &[u8]) -> io::Result<bool> {
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(false),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(true),
        Err(e) => Err(e),
    }
}

/// The last `n` lines of `file` and the file's length (where following continues).
pub fn last_lines(file: &mut File, n: usize) -> io::Result<(String, u64)> {
    let len = file.metadata()?.len();
    let mut start = len;
    let mut buf: Vec<u8> = Vec::new();
    // Read backwards until the buffer holds more than n line ends (the last byte is usually one).
    while start > 0 && buf.iter().filter(|&&b| b == b'\n').count() <= n {
        let step = CHUNK.min(start);
        start -= step;
        let mut chunk = vec![0; step as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut chunk)?;
        chunk.extend_from_slice(&buf);
        buf = chunk;
    }
    Ok((keep_last_lines(&String::from_utf8_lossy(&buf), n), len))
}

/// What was appended to `path` after byte `offset`, at most its last `n` lines; all of it when
/// the file is now shorter (it was rotated since: the server starts a new `server.log` once the
/// old one is full, which can be its first write).
pub fn lines_since(path: &Path, offset: u64, n: usize) -> String {
    let Ok(mut file) = File::open(path) else {
        return String::new();
    };
    let len = file.metadata().map_or(0, |m| m.len());
    let offset = if len < offset { 0 } else { offset };
    let mut buf = Vec::new();
    if file.seek(SeekFrom::Start(offset)).is_err() || file.read_to_end(&mut buf).is_err() {
        return String::new();
    }
    keep_last_lines(&String::from_utf8_lossy(&buf), n)
}

fn keep_last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let from = lines.len().saturating_sub(n);
    let mut out = lines[from..].join("\n");
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

/// Indent each line (for showing log excerpts under a message).
pub fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  | {l}\n")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    #[test]
    fn last_lines_returns_exactly_the_tail_across_chunk_boundaries() {
        let mut tmp = tempfile::NamedTempFile::new().unwrap();
        for i in 0..5000 {
            writeln!(tmp, "line {i} {}", "x".repeat(20)).unwrap();
        }
        let mut f = File::open(tmp.path()).unwrap();
        let (text, len) = last_lines(&mut f, 3).unwrap();
        let expected: String = (4997..5000)
            .map(|i| format!("line {i} {}\n", "x".repeat(20)))
            .collect();
        assert_eq!(text, expected);
        assert_eq!(len, f.metadata().unwrap().len());
    }

    #[test]
    fn last_lines_of_a_short_or_empty_file() {
        let mut tmp = tempfile::NamedTempFile::new().unwrap();
        let mut f = File::open(tmp.path()).unwrap();
        assert_eq!(last_lines(&mut f, 10).unwrap().0, "");
        write!(tmp, "a\nb\nno newline at end").unwrap();
        let mut f = File::open(tmp.path()).unwrap();
        assert_eq!(
            last_lines(&mut f, 10).unwrap().0,
            "a\nb\nno newline at end\n"
        );
        assert_eq!(last_lines(&mut f, 1).unwrap().0, "no newline at end\n");
    }

    #[test]
    fn lines_since_shows_only_what_came_after_the_offset() {
        let mut tmp = tempfile::NamedTempFile::new().unwrap();
        writeln!(tmp, "old run").unwrap();
        let offset = tmp.as_file().metadata().unwrap().len();
        write!(tmp, "new 1\nnew 2\nnew 3\n").unwrap();
        assert_eq!(lines_since(tmp.path(), offset, 2), "new 2\nnew 3\n");
    }

    #[test]
    fn lines_since_an_offset_past_the_end_read_a_rotated_log_from_its_start() {
        let mut tmp = tempfile::NamedTempFile::new().unwrap();
        writeln!(tmp, "first line of a new log").unwrap();
        assert_eq!(
            lines_since(tmp.path(), 10_000_000, 5),
            "first line of a new log\n"
        );
    }
}
