//! Git status and diffs of a workspace root (§13.3–13.4), from the `git` binary.
//!
//! Why the binary and not `gix` (measured on this machine, 2 shared cores, on a 200-file
//! repository with 6 changes; figures in `docs/benchmarks.md`):
//! - latency: `git status --porcelain=v1 -z` takes 2.4 ms a call; one status answer runs five
//!   short commands (locate the repository, list filter drivers, then status and the unstaged
//!   and staged `--numstat` at once). `gix` 0.90 opens the repository and walks its status in
//!   2.2 ms p50 in process, but without line counts: those would mean diffing every changed
//!   blob ourselves.
//! - cost: `gix` with the `status` and `blob-diff` features brings 71 crates this server does
//!   not have yet (51 of them `gix-*`); alone it takes 33 s to build in debug and 2 min 6 s in
//!   release. The binary costs no crate and no build time.
//! - fidelity: porcelain v1 and `--numstat` are the formats the original server parses, so the
//!   answers match it (renames, copies, conflicts, binary files) without re-deriving them.
//!
//! Every run is bounded and made safe against the repository's own config (see [`run`]).

pub mod diff;
pub mod run;
pub mod status;

pub use diff::FileDiff;
pub use status::{Availability, GitStatus, Summary, status};

use super::tree::{Entry, Kind};

/// Add each entry's git summary to a listing of directory `dir` (a path from the root, `""` for
/// the root): a file gets its own, a directory the aggregate of the files under it.
pub fn attach(entries: &mut [Entry], dir: &str, git: &GitStatus) {
    if !git.availability.available {
        return;
    }
    for e in entries {
        let path = if dir.is_empty() {
            e.name.clone()
        } else {
            format!("{dir}/{}", e.name)
        };
        e.git = match e.kind {
            Kind::File => git.files.get(&path).cloned(),
            Kind::Directory => {
                status::aggregate(&git.files, &path).or_else(|| git.files.get(&path).cloned())
            }
        };
    }
}
