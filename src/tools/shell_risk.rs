//! The risk rules of `shell` (§8.7): what a command line does, read from its words. Dangerous
//! commands ask at high, commands that move or create files at medium (high when they touch
//! paths outside the workspace), shell operators at medium, paths outside the workspace at
//! medium, files that may hold secrets at high; anything else runs. When several rules apply
//! the highest risk wins (upstream stops at the first rule that applies).

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;

use super::ask::Risk;
use super::env::ToolEnv;
use super::paths::{is_sensitive, locate};

pub(super) const DANGEROUS: &[&str] = &[
    "rm",
    "rmdir",
    "del",
    "erase",
    "sudo",
    "su",
    "doas",
    "chmod",
    "chown",
    "dd",
    "mkfs",
    "format",
    "shutdown",
    "reboot",
    "halt",
    "iptables",
    "ufw",
    "firewall-cmd",
    "curl",
    "wget",
    "nc",
    "netcat",
    "eval",
    "exec",
];
pub(super) const NETWORK: &[&str] = &["curl", "wget", "nc", "netcat"];
pub(super) const DELETES: &[&str] = &["rm", "rmdir", "del", "erase"];
pub(super) const WRITES: &[&str] = &["mv", "cp", "mkdir", "touch", "ln"];
pub(super) const READS: &[&str] = &[
    "cat", "head", "tail", "less", "more", "wc", "file", "stat", "ls", "find", "grep", "awk",
    "sed", "sort", "uniq", "diff", "comm", "cut", "tr", "tee",
];
/// Operators that join or redirect commands; `>` also covers `>>` and `2>&1`.
const OPERATORS: &[&str] = &["&&", "||", "|", ">", "`", "$(", ";"];

static SPLIT: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"&&|\|\||;|\||>>|>|`|\$\(").ok());
static LEADING_CD: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(?i)^cd\s+(\S+)\s*&&\s*(.+)").ok());

/// One simple command of a command line.
pub(super) struct Segment {
    /// The operator before it, if any.
    pub after: Option<String>,
    pub words: Vec<String>,
}

impl Segment {
    /// The program's name without its folder.
    pub fn base(&self) -> &str {
        let first = self.words.first().map_or("", String::as_str);
        first.rsplit('/').next().unwrap_or(first)
    }

    /// `git push`, `npm install`, `cargo test`; else the program.
    pub fn identity(&self) -> String {
        let base = self.base();
        let sub = self.words.iter().skip(1).find(|w| !w.starts_with('-'));
        match sub {
            Some(sub) if ["git", "npm", "pnpm", "yarn", "bun", "cargo"].contains(&base) => {
                format!("{base} {sub}")
            }
            _ => base.to_owned(),
        }
    }

    fn args(&self) -> impl Iterator<Item = &str> {
        self.words.iter().skip(1).map(String::as_str)
    }
}

/// Everything the rules found in a command line.
pub(super) struct Analysis {
    pub command: String,
    pub cwd: PathBuf,
    pub cwd_outside: bool,
    pub identity: String,
    pub flags: Vec<String>,
    pub dangerous: bool,
    pub filesystem: bool,
    pub operators: bool,
    pub dynamic: bool,
    /// Path arguments, resolved against the working folder.
    pub paths: Vec<PathBuf>,
    pub outside: bool,
    pub sensitive: Vec<String>,
    pub segments: Vec<Segment>,
}

impl Analysis {
    /// The highest risk of the rules that apply, or `None` when the command runs without asking.
    pub fn risk(&self) -> Option<Risk> {
        let rules = [
            (self.dangerous, Risk::High),
            (
                self.filesystem,
                if self.outside {
                    Risk::High
                } else {
                    Risk::Medium
                },
            ),
            (self.operators, Risk::Medium),
            (self.outside, Risk::Medium),
            (!self.sensitive.is_empty(), Risk::High),
        ];
        rules
            .iter()
            .filter(|(applies, _)| *applies)
            .map(|(_, r)| *r)
            .max()
    }

    /// Why it asks, in the order the rules are listed.
    pub fn reasons(&self) -> Vec<String> {
        let mut reasons = Vec::new();
        if self.dangerous {
            reasons.push(format!("contains dangerous command \"{}\"", self.identity));
        }
        if self.filesystem {
            reasons.push(format!("contains filesystem command \"{}\"", self.identity));
        }
        if self.operators {
            reasons.push("contains shell operators (|, >, &&, etc.)".to_owned());
        }
        if self.outside {
            reasons.push("references paths outside the workspace".to_owned());
        }
        if !self.sensitive.is_empty() {
            reasons.push("references sensitive files (.env, .key, .pem, etc.)".to_owned());
        }
        reasons
    }
}

/// `cd <the working folder> && rest` is just `rest`: models write it out of habit, and the
/// `&&` alone would make every such call ask.
pub(super) fn strip_redundant_cd(command: &str, cwd: &Path, env: &ToolEnv) -> String {
    let trimmed = command.trim_start();
    let Some(caps) = LEADING_CD.as_ref().and_then(|re| re.captures(trimmed)) else {
        return command.to_owned();
    };
    let (target, rest) = (&caps[1], caps[2].trim());
    if !rest.is_empty() && locate(target, cwd, &env.roots).real == cwd {
        rest.to_owned()
    } else {
        command.to_owned()
    }
}

pub(super) fn split(command: &str) -> Vec<Segment> {
    let Some(re) = SPLIT.as_ref() else {
        return Vec::new();
    };
    let mut segments = Vec::new();
    let (mut last, mut after) = (0, None);
    for m in re.find_iter(command) {
        segments.push(segment(&command[last..m.start()], after.take()));
        after = Some(m.as_str().to_owned());
        last = m.end();
    }
    segments.push(segment(&command[last..], after));
    segments.retain(|s| !s.words.is_empty());
    segments
}

fn segment(text: &str, after: Option<String>) -> Segment {
    let words = text
        .split_whitespace()
        .map(|w| w.trim_matches(|c| c == '"' || c == '\'').to_owned())
        .filter(|w| !w.is_empty())
        .collect();
    Segment { after, words }
}

/// How dangerous a command identity is, to pick the one that speaks for a whole line.
fn danger(identity: &str) -> u8 {
    match identity.to_lowercase().as_str() {
        "shutdown" | "reboot" | "halt" => 5,
        "sudo" | "su" | "doas" | "chmod" | "chown" => 4,
        "rm" | "rmdir" | "del" | "erase" | "dd" | "mkfs" | "format" => 3,
        "mv" | "cp" | "mkdir" | "touch" | "ln" | "git push" | "git reset" => 2,
        "curl" | "wget" | "nc" | "netcat" | "iptables" | "ufw" | "firewall-cmd" | "eval"
        | "exec" => 1,
        _ => 0,
    }
}

fn looks_like_path(word: &str) -> bool {
    word.starts_with('/')
        || word.starts_with('~')
        || word.starts_with("./")
        || word.starts_with("../")
}

fn is_url(word: &str) -> bool {
    word.split_once("://").is_some_and(|(scheme, _)| {
        !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
    })
}

/// The path arguments of a segment: every word of a file command, the target of a
/// redirection, and words that look like paths elsewhere.
fn path_words(seg: &Segment) -> Vec<&str> {
    if matches!(seg.after.as_deref(), Some(">" | ">>")) {
        return seg.words.first().map(String::as_str).into_iter().collect();
    }
    let file_command = READS.contains(&seg.base())
        || WRITES.contains(&seg.base())
        || DELETES.contains(&seg.base());
    seg.args()
        .filter(|w| !w.starts_with('-') && !is_url(w))
        .filter(|w| file_command || looks_like_path(w))
        .collect()
}

/// The words of a segment that are not its program: all of them after a redirection.
fn argument_words(seg: &Segment) -> impl Iterator<Item = &str> {
    let redirected = seg.after.as_deref().is_some_and(|a| a.starts_with('>'));
    seg.words
        .iter()
        .skip(usize::from(!redirected))
        .map(String::as_str)
}

/// Reads a command line run in `cwd`.
pub(super) fn analyze(command: &str, cwd: &Path, env: &ToolEnv) -> Analysis {
    let segments = split(command);
    let mut identity = segments.first().map(Segment::identity).unwrap_or_default();
    for seg in segments.iter().skip(1) {
        if danger(&seg.identity()) > danger(&identity) {
            identity = seg.identity();
        }
    }
    let lower = identity.to_lowercase();
    let hard_reset = segments
        .iter()
        .any(|s| s.identity() == "git reset" && s.args().any(|a| a == "--hard"));
    let free = env.session_tmp();
    let mut paths = Vec::new();
    let mut outside = false;
    for word in segments.iter().flat_map(path_words) {
        let at = locate(word, cwd, &env.roots);
        outside |= !at.inside && !at.real.starts_with(&free);
        paths.push(at.real);
    }
    let sensitive = segments
        .iter()
        .flat_map(argument_words)
        .filter(|w| !w.starts_with('-') && is_sensitive(w))
        .map(str::to_owned)
        .collect();
    Analysis {
        command: command.to_owned(),
        cwd: cwd.to_path_buf(),
        cwd_outside: !env.roots.contains(cwd),
        flags: segments
            .first()
            .map(|s| {
                s.args()
                    .filter(|a| a.starts_with('-'))
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        dangerous: DANGEROUS
            .iter()
            .any(|d| lower == *d || lower.starts_with(&format!("{d} "))),
        filesystem: hard_reset || WRITES.contains(&lower.as_str()) || lower == "git push",
        operators: OPERATORS.iter().any(|op| command.contains(op)),
        dynamic: command.contains('$') || command.contains('`'),
        identity,
        paths,
        outside,
        sensitive,
        segments,
    }
}
