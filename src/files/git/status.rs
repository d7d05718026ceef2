//! `git status` of one root (§13.3): which files changed, how, and by how many lines, keyed by
//! their path from the root; and the per-directory aggregate the tree shows (§13.2).
//! Porcelain v1 is parsed exactly, NUL-separated (upstream trims the output first and so
//! misreads the first line, §16.7).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::run::{GitError, git, git_with, safe_config};

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Modified,
    Added,
    Deleted,
    Renamed,
    Copied,
    Untracked,
    Ignored,
    Conflicted,
}

impl Status {
    /// Which status a directory shows when its files differ (§13.2).
    fn priority(self) -> u8 {
        match self {
            Status::Conflicted => 7,
            Status::Deleted => 6,
            Status::Renamed => 5,
            Status::Added => 4,
            Status::Untracked => 3,
            Status::Modified => 2,
            Status::Copied => 1,
            Status::Ignored => 0,
        }
    }

    fn from_xy(x: u8, y: u8) -> Self {
        match (x, y) {
            (b'?', b'?') => Status::Untracked,
            (b'!', b'!') => Status::Ignored,
            (b'U', _) | (_, b'U') | (b'A', b'A') | (b'D', b'D') => Status::Conflicted,
            (b'R', _) | (_, b'R') => Status::Renamed,
            (b'C', _) | (_, b'C') => Status::Copied,
            (b'A', _) | (_, b'A') => Status::Added,
            (b'D', _) | (_, b'D') => Status::Deleted,
            _ => Status::Modified,
        }
    }
}

/// `GitDiffSummary` on the wire.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub status: Status,
    pub staged: bool,
    pub unstaged: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub additions: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deletions: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_path: Option<String>,
}

/// `GitAvailability` on the wire.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Availability {
    pub available: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
}

impl Availability {
    pub fn unavailable(reason: &'static str) -> Self {
        Self {
            available: false,
            root: None,
            reason: Some(reason),
        }
    }

    fn from_error(e: &GitError) -> Self {
        let reason = match e {
            GitError::NotInstalled => "git_not_installed",
            e if e.not_a_repo() => "not_a_git_repo",
            _ => "git_error",
        };
        if reason == "git_error" {
            tracing::warn!(error = %e, "git status failed");
        }
        Self::unavailable(reason)
    }
}

/// The changed files of one root, by their `/`-separated path from that root.
#[derive(Debug, Clone)]
pub struct GitStatus {
    pub availability: Availability,
    pub files: BTreeMap<String, Summary>,
    /// The `-c` settings that make git safe in this repository (see [`safe_config`]).
    pub safe_config: Vec<String>,
}

impl GitStatus {
    fn unavailable(availability: Availability) -> Self {
        Self {
            availability,
            files: BTreeMap::new(),
            safe_config: Vec::new(),
        }
    }
}

/// The status of the repository `root` lies in, limited to the files under `root`.
pub async fn status(root: &Path) -> GitStatus {
    let located = match git(root, &["rev-parse", "--show-toplevel", "--show-prefix"]).await {
        Ok(out) => out,
        Err(e) => return GitStatus::unavailable(Availability::from_error(&e)),
    };
    let text = String::from_utf8_lossy(&located);
    let mut lines = text.lines();
    let toplevel = lines.next().unwrap_or_default().to_owned();
    let prefix = lines.next().unwrap_or_default().to_owned();
    let safe = safe_config(root).await;
    let cached = [&NUMSTAT[..], &["--cached"]].concat();
    let (porcelain, unstaged, staged) = tokio::join!(
        git_with(
            root,
            &safe,
            &[
                "status",
                "--porcelain=v1",
                "-z",
                "--untracked-files=all",
                "--ignore-submodules=all",
            ]
        ),
        git_with(root, &safe, &NUMSTAT),
        git_with(root, &safe, &cached),
    );
    let (porcelain, unstaged) = match (porcelain, unstaged) {
        (Ok(p), Ok(u)) => (p, u),
        (Err(e), _) | (_, Err(e)) => {
            return GitStatus::unavailable(Availability::from_error(&e));
        }
    };
    // `--cached` fails only in odd states (no index yet); the counts are then left out.
    let staged = staged.unwrap_or_default();
    let files = merge(
        parse_porcelain(&porcelain),
        &parse_numstat(&unstaged),
        &parse_numstat(&staged),
        &prefix,
    );
    GitStatus {
        availability: Availability {
            available: true,
            root: Some(toplevel),
            reason: None,
        },
        files,
        safe_config: safe,
    }
}

/// `git diff --numstat`, NUL-separated, with no program of the repository's run.
const NUMSTAT: [&str; 5] = [
    "diff",
    "--numstat",
    "-z",
    "--no-ext-diff",
    "--ignore-submodules=all",
];

/// Porcelain v1 with `-z`: `XY path\0`, and for a rename or copy `XY new\0old\0`.
pub fn parse_porcelain(out: &[u8]) -> Vec<(String, Summary)> {
    let mut records = out.split(|b| *b == 0).filter(|r| !r.is_empty());
    let mut list = Vec::new();
    while let Some(rec) = records.next() {
        if rec.len() < 4 {
            continue;
        }
        let (x, y) = (rec[0], rec[1]);
        let status = Status::from_xy(x, y);
        let path = String::from_utf8_lossy(&rec[3..]).into_owned();
        let old_path = (matches!(x, b'R' | b'C') || matches!(y, b'R' | b'C'))
            .then(|| records.next())
            .flatten()
            .map(|old| String::from_utf8_lossy(old).into_owned());
        list.push((
            path,
            Summary {
                status,
                staged: x != b' ' && x != b'?',
                unstaged: y != b' ' && y != b'?',
                additions: None,
                deletions: None,
                old_path,
            },
        ));
    }
    list
}

/// `--numstat -z`: `A\tD\tpath\0`, and for a rename `A\tD\t\0old\0new\0`; `-` for binary.
pub fn parse_numstat(out: &[u8]) -> BTreeMap<String, (Option<u64>, Option<u64>)> {
    let mut map = BTreeMap::new();
    let mut records = out.split(|b| *b == 0);
    while let Some(rec) = records.next() {
        let text = String::from_utf8_lossy(rec);
        let mut parts = text.splitn(3, '\t');
        let (Some(a), Some(d), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let path = if path.is_empty() {
            let _old = records.next();
            match records.next() {
                Some(new) => String::from_utf8_lossy(new).into_owned(),
                None => continue,
            }
        } else {
            path.to_owned()
        };
        map.insert(path, (a.parse().ok(), d.parse().ok()));
    }
    map
}

type Counts = BTreeMap<String, (Option<u64>, Option<u64>)>;

/// Status entries with their line counts (staged + unstaged), keyed by the path from the root
/// (`prefix` is the root's path from the top of the repository, ending in `/`, or empty).
fn merge(
    entries: Vec<(String, Summary)>,
    unstaged: &Counts,
    staged: &Counts,
    prefix: &str,
) -> BTreeMap<String, Summary> {
    let add = |a: Option<u64>, b: Option<u64>| match (a, b) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
    };
    let mut files = BTreeMap::new();
    for (path, mut summary) in entries {
        let Some(rel) = path.strip_prefix(prefix) else {
            continue;
        };
        let (ua, ud) = unstaged.get(&path).copied().unwrap_or((None, None));
        let (sa, sd) = staged.get(&path).copied().unwrap_or((None, None));
        summary.additions = add(ua, sa);
        summary.deletions = add(ud, sd);
        if let Some(old) = summary.old_path.take() {
            summary.old_path = Some(old.strip_prefix(prefix).unwrap_or(&old).to_owned());
        }
        files.insert(rel.to_owned(), summary);
    }
    files
}

/// The aggregate of every changed file under directory `dir` (a path from the root): the
/// status of highest priority, `staged`/`unstaged` ORed, the line counts summed.
pub fn aggregate(files: &BTreeMap<String, Summary>, dir: &str) -> Option<Summary> {
    let prefix = format!("{dir}/");
    let mut out: Option<Summary> = None;
    for (_, s) in files
        .range(prefix.clone()..)
        .take_while(|(p, _)| p.starts_with(&prefix))
    {
        let acc = out.get_or_insert(Summary {
            status: s.status,
            staged: false,
            unstaged: false,
            additions: None,
            deletions: None,
            old_path: None,
        });
        if s.status.priority() > acc.status.priority() {
            acc.status = s.status;
        }
        acc.staged |= s.staged;
        acc.unstaged |= s.unstaged;
        if let Some(a) = s.additions {
            acc.additions = Some(acc.additions.unwrap_or(0) + a);
        }
        if let Some(d) = s.deletions {
            acc.deletions = Some(acc.deletions.unwrap_or(0) + d);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unstaged_change_listed_first_keeps_its_leading_space() {
        let out = b" M src/app.ts\0R  new.txt\0old.txt\0?? notes.txt\0UU both.rs\0";
        let list = parse_porcelain(out);
        assert_eq!(list[0].0, "src/app.ts");
        assert!(!list[0].1.staged && list[0].1.unstaged);
        assert_eq!(list[1].1.status, Status::Renamed);
        assert_eq!(list[1].1.old_path.as_deref(), Some("old.txt"));
        assert_eq!(list[2].1.status, Status::Untracked);
        assert!(!list[2].1.staged && !list[2].1.unstaged);
        assert_eq!(list[3].1.status, Status::Conflicted);
    }

    #[test]
    fn numstat_reads_renames_and_binary_files() {
        let out = b"3\t1\tsrc/app.ts\0-\t-\timg.png\x001\t0\t\0a b.txt\0c d.txt\0";
        let map = parse_numstat(out);
        assert_eq!(map["src/app.ts"], (Some(3), Some(1)));
        assert_eq!(map["img.png"], (None, None));
        assert_eq!(map["c d.txt"], (Some(1), Some(0)));
    }

    #[test]
    fn files_outside_the_root_are_left_out_and_paths_are_made_relative() {
        let entries = parse_porcelain(b" M sub/a.rs\0 M other/b.rs\0");
        let mut counts = Counts::new();
        counts.insert("sub/a.rs".into(), (Some(2), Some(1)));
        let files = merge(entries, &counts, &Counts::new(), "sub/");
        assert_eq!(files.keys().collect::<Vec<_>>(), ["a.rs"]);
        assert_eq!(files["a.rs"].additions, Some(2));
    }

    #[test]
    fn a_directory_shows_the_strongest_status_and_summed_counts() {
        let mut files = BTreeMap::new();
        let s = |status, add| Summary {
            status,
            staged: false,
            unstaged: true,
            additions: add,
            deletions: Some(1),
            old_path: None,
        };
        files.insert("src/a.rs".to_owned(), s(Status::Modified, Some(2)));
        files.insert("src/deep/b.rs".to_owned(), s(Status::Deleted, None));
        files.insert("srcx/c.rs".to_owned(), s(Status::Conflicted, Some(9)));
        let agg = aggregate(&files, "src").unwrap();
        assert_eq!(agg.status, Status::Deleted);
        assert_eq!((agg.additions, agg.deletions), (Some(2), Some(2)));
        assert!(aggregate(&files, "docs").is_none());
    }
}
