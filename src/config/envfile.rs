//! The `.env` editor behind the settings screens (provider keys, tool environment): set or
//! remove one `KEY=value` line of `<data dir>/.env`, keeping every other line and comment as it
//! was. The file is written with [`write_atomic`] and mode 0600, so a failure halfway leaves the
//! old file whole and the keys stay private.
//!
//! Values are written so that both readers agree on them: jean2's (`dotenvy`, which expands `$`
//! and escapes inside double quotes) and the original server's (which only strips one pair of
//! surrounding quotes). A plain value is written bare, as the original does; anything else in
//! single quotes, where neither reader changes a character.

use std::io;
use std::path::{Path, PathBuf};

use super::files::{PRIVATE, write_atomic};

/// Why a `.env` change was refused or failed. The messages never contain the value.
#[derive(Debug, thiserror::Error)]
pub enum EnvFileError {
    #[error(
        "{0:?} is not a valid variable name (letters, digits and _, not starting with a digit)"
    )]
    BadKey(String),
    #[error("the value must not contain line breaks or other control characters")]
    ControlCharacter,
    #[error("the value must not be empty")]
    Empty,
    #[error(
        "the value contains both kinds of quotes together with $ or a backslash, which .env cannot hold unchanged"
    )]
    Unquotable,
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl EnvFileError {
    /// Whether the request was at fault (400) rather than the disk (500).
    pub fn is_bad_input(&self) -> bool {
        !matches!(self, EnvFileError::Read { .. } | EnvFileError::Write { .. })
    }
}

/// Whether `key` may be a variable name.
pub fn valid_key(key: &str) -> bool {
    let mut chars = key.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The value as it goes after `KEY=`: bare when plain, else quoted so it reads back unchanged.
pub fn encode_value(value: &str) -> Result<String, EnvFileError> {
    if value.is_empty() {
        return Err(EnvFileError::Empty);
    }
    if value.chars().any(char::is_control) {
        return Err(EnvFileError::ControlCharacter);
    }
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_.:/+=@,~%".contains(c);
    if value.chars().all(plain) {
        Ok(value.to_owned())
    } else if !value.contains('\'') {
        Ok(format!("'{value}'"))
    } else if !value.contains(['"', '$', '\\', '`']) {
        Ok(format!("\"{value}\""))
    } else {
        Err(EnvFileError::Unquotable)
    }
}

/// The name a line of a `.env` file sets, if it sets one (`KEY=…` or `export KEY=…`).
fn key_of(line: &str) -> Option<&str> {
    let t = line.trim_start();
    if t.starts_with('#') {
        return None;
    }
    let t = t.strip_prefix("export ").unwrap_or(t);
    let (k, _) = t.split_once('=')?;
    Some(k.trim())
}

fn read(path: &Path) -> Result<String, EnvFileError> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(s),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(String::new()),
        Err(source) => Err(EnvFileError::Read {
            path: path.to_owned(),
            source,
        }),
    }
}

fn write(path: &Path, lines: &[&str]) -> Result<(), EnvFileError> {
    let mut text = lines.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    write_atomic(path, text.as_bytes(), PRIVATE, true).map_err(|source| EnvFileError::Write {
        path: path.to_owned(),
        source,
    })
}

/// The lines of `text`, without the empty piece after a final newline.
fn lines_of(text: &str) -> Vec<&str> {
    let mut lines: Vec<&str> = text.split('\n').collect();
    if lines.last() == Some(&"") {
        lines.pop();
    }
    lines
}

/// Set `key` to `value` in the `.env` file at `path` (created if missing): every line that sets
/// `key` is replaced where it stands, or one line is appended.
pub fn set(path: &Path, key: &str, value: &str) -> Result<(), EnvFileError> {
    if !valid_key(key) {
        return Err(EnvFileError::BadKey(key.to_owned()));
    }
    let line = format!("{key}={}", encode_value(value)?);
    let text = read(path)?;
    let mut found = false;
    let mut lines: Vec<&str> = lines_of(&text)
        .into_iter()
        .map(|l| {
            if key_of(l) == Some(key) {
                found = true;
                line.as_str()
            } else {
                l
            }
        })
        .collect();
    if !found {
        lines.push(&line);
    }
    write(path, &lines)
}

/// Remove every line that sets `key`. Returns whether there was one; the file is left untouched
/// when there was none.
pub fn remove(path: &Path, key: &str) -> Result<bool, EnvFileError> {
    if !valid_key(key) {
        return Err(EnvFileError::BadKey(key.to_owned()));
    }
    let text = read(path)?;
    let all = lines_of(&text);
    let kept: Vec<&str> = all
        .iter()
        .copied()
        .filter(|l| key_of(l) != Some(key))
        .collect();
    if kept.len() == all.len() {
        return Ok(false);
    }
    write(path, &kept)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::config::read_env_file;

    fn env_at(dir: &Path, text: &str) -> PathBuf {
        let p = dir.join(".env");
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        p
    }

    #[test]
    fn setting_a_key_keeps_every_other_line_and_makes_the_file_private() {
        let dir = tempfile::tempdir().unwrap();
        let p = env_at(
            dir.path(),
            "# Jean2 Environment Variables\n\n# JEAN2_LLM_OPENAI_API_KEY=your-key\nJEAN2_LLM_MAX_STEPS=25\n",
        );
        set(&p, "JEAN2_LLM_OPENAI_API_KEY", "sk-abc").unwrap();
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "# Jean2 Environment Variables\n\n# JEAN2_LLM_OPENAI_API_KEY=your-key\nJEAN2_LLM_MAX_STEPS=25\nJEAN2_LLM_OPENAI_API_KEY=sk-abc\n"
        );
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        set(&p, "JEAN2_LLM_OPENAI_API_KEY", "sk-new").unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(
            text.matches("JEAN2_LLM_OPENAI_API_KEY=sk-new").count(),
            1,
            "{text}"
        );
        assert!(remove(&p, "JEAN2_LLM_OPENAI_API_KEY").unwrap());
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "# Jean2 Environment Variables\n\n# JEAN2_LLM_OPENAI_API_KEY=your-key\nJEAN2_LLM_MAX_STEPS=25\n"
        );
        assert!(!remove(&p, "JEAN2_LLM_OPENAI_API_KEY").unwrap());
    }

    #[test]
    fn values_read_back_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(".env");
        let values = [
            ("PLAIN", "sk-proj_AbC.123/x+y=z"),
            ("SPACES", "two words # not a comment"),
            ("DOLLAR", "a$HOME\\b\"c"),
            ("SINGLE", "it's fine"),
        ];
        for (k, v) in values {
            set(&p, k, v).unwrap();
        }
        let read = read_env_file(&p).unwrap().unwrap();
        for (k, v) in values {
            assert_eq!(read.get(k).map(String::as_str), Some(v), "{k}");
        }
        assert!(
            std::fs::read_to_string(&p)
                .unwrap()
                .starts_with("PLAIN=sk-proj_AbC.123/x+y=z\n")
        );
    }

    #[test]
    fn bad_keys_and_values_are_refused_before_anything_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let p = env_at(dir.path(), "A=1\n");
        for (key, value, label) in [
            ("K", "sk-1\nJEAN2_AUTH_TOKEN=x", "newline"),
            ("K", "sk\r", "carriage return"),
            ("K", "a\u{7}b", "bell"),
            ("K", "", "empty"),
            ("K", "'\"$", "unquotable"),
            ("1K", "sekrit-1", "key starts with a digit"),
            ("K=V", "sekrit-2", "key with ="),
        ] {
            let err = set(&p, key, value).unwrap_err();
            assert!(err.is_bad_input(), "{label}: {err}");
            assert!(
                !err.to_string().contains(value) || value.is_empty(),
                "{label}: the value is not echoed"
            );
        }
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "A=1\n");
    }

    /// Makes a folder unwritable for as long as it lives: mode 0500, and for root (whom modes do
    /// not stop) the immutable attribute, removed again on drop.
    pub(crate) struct ReadOnlyDir<'a>(pub &'a Path);

    impl<'a> ReadOnlyDir<'a> {
        pub(crate) fn new(dir: &'a Path) -> Self {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o500)).unwrap();
            // Root ignores modes; the immutable attribute stops it (a non-root `chattr` fails
            // harmlessly, the mode is enough there).
            let _ = std::process::Command::new("chattr")
                .arg("+i")
                .arg(dir)
                .stderr(std::process::Stdio::null())
                .status();
            let probe = dir.join(".probe");
            assert!(
                std::fs::write(&probe, "x").is_err(),
                "cannot make {} read-only here (chattr missing or unsupported?)",
                dir.display()
            );
            ReadOnlyDir(dir)
        }
    }

    impl Drop for ReadOnlyDir<'_> {
        fn drop(&mut self) {
            let _ = std::process::Command::new("chattr")
                .arg("-i")
                .arg(self.0)
                .stderr(std::process::Stdio::null())
                .status();
            let _ = std::fs::set_permissions(self.0, std::fs::Permissions::from_mode(0o700));
        }
    }

    #[test]
    fn a_failed_write_loses_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let old = "# keep me\nJEAN2_LLM_DEEPSEEK_API_KEY=sk-old\n";
        let p = env_at(dir.path(), old);
        let result = {
            let _ro = ReadOnlyDir::new(dir.path());
            set(&p, "JEAN2_LLM_OPENAI_API_KEY", "sk-new")
        };
        let err = result.unwrap_err();
        assert!(!err.is_bad_input(), "{err}");
        assert_eq!(std::fs::read_to_string(&p).unwrap(), old);
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "no temp file is left behind");
    }
}
