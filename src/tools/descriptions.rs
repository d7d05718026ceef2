//! What the model is told about each built-in tool: when to use it, its parameters' meaning,
//! and when it needs approval. Plain text, kept apart so the definitions stay readable.

pub const READ_FILE: &str = "Read a text file, or list a folder.

- path: absolute, relative to the workspace, or starting with ~.
- Returns numbered lines \"N: text\", 2000 lines from the start unless offset (first line, from 1) and limit say otherwise. Lines longer than 2000 characters are cut and one result stops at 50 KiB; the footer says where to continue.
- A file result also carries revision (sha256 of the whole file), totalLines, offset, linesReturned and truncated.
- For a folder it lists the entries, folders ending in /.
- Binary files are refused.

Needs approval for paths outside the workspace and for files that may hold secrets (.env, keys, credentials).";

pub const WRITE_FILE: &str =
    "Create a file or replace its whole content; missing folders are created.

Prefer edit, multiedit or apply-patch to change part of an existing file.

Needs approval for paths outside the workspace and for files that may hold secrets.";

pub const EDIT: &str = "Replace one occurrence of a piece of text in an existing file.

- oldString must be copied verbatim from the file (read it first) and must occur exactly once; add surrounding lines to make it unique. It is literal text, not a regular expression.
- newString replaces it; it may be empty to delete the text.
- Without strategy the search tries, in order: exact text, then line endings ignored (\\r\\n = \\n), then trailing spaces ignored, then one uniform change of indentation. It stops at the first pass with any candidate; more than one candidate fails instead of guessing.
- strategy 'exact' allows only the first pass. 'line_start' and 'line_end' match the start or end of a single line; 'partial' and 'multi_line' are kept for compatibility and behave like no strategy.

For several changes to one file use multiedit; for several files use apply-patch; to replace a whole file use write-file.

Needs approval for paths outside the workspace and for files that may hold secrets. System folders are refused.";

pub const MULTIEDIT: &str = "Make several replacements in one file, all or nothing.

- edits: a list of {oldString, newString, strategy?}, matched like the edit tool does.
- Each edit searches the text as the previous edits left it.
- The file is written once, only if every edit found exactly one match; a failure names the edit (counted from 0) and changes nothing.

Needs approval for paths outside the workspace, for files that may hold secrets, and for more than 10 edits at once.";

pub const APPLY_PATCH: &str = "Change one or more files at once with a context patch (not a unified git diff; no line numbers).

*** Begin Patch
*** Update File: src/app.rs
@@ fn main(
 unchanged line
-removed line
+added line
*** Add File: src/new.rs
+first line of the new file
*** Delete File: src/old.rs
*** End Patch

- *** Update File: <path>, optionally followed at once by *** Move to: <new path>, then chunks.
- A chunk starts with @@, or with @@ <text> to search after the one line containing that text. Body lines start with one space (kept), - (removed) or + (added); exactly that one character is taken off.
- *** End of File ties a chunk to the end of the file.
- *** Add File: <path> holds only + lines; *** Delete File: <path> has no body.
- Each chunk's kept and removed lines must match exactly one place (exact, then ignoring line endings, trailing spaces, or one indentation shift). A chunk that only adds lines needs an @@ anchor or *** End of File.
- Everything is checked before anything is written; if a write fails the earlier ones are undone.

Needs approval for paths outside the workspace, for files that may hold secrets, and for any deletion or move.";

pub const GLOB: &str = "Find files by name pattern, newest first.

- pattern: * and ? within one folder name, ** across folders, {a,b} alternatives, [a-z] classes. Patterns are relative to path: *.rs is only the top folder, **/*.rs is every folder.
- path: the folder to search (the workspace when left out).
- ignore: patterns to leave out; a pattern without / is matched against file names.
- Build and tool folders (node_modules, .git, target, dist, build, vendor, .venv, ...) are skipped.
- A pattern without wildcards only checks that the file exists.

Use grep to search contents and ls to explore. Needs approval outside the workspace.";

pub const GREP: &str = "Search file contents with a regular expression, line by line.

- pattern: a regular expression (Rust regex syntax: no look-around or back-references).
- path: a file or folder (relative to the workspace, absolute, or ~).
- include: only files matching this glob, e.g. *.rs or *.{ts,tsx}; without / it is matched against file names.
- ignore: globs to leave out.
- .gitignore rules are honoured; binary files, files over 10 MiB and build folders are skipped.
- Returns up to 5000 matches as {file, line, content}.

Needs approval outside the workspace and for paths that may hold secrets.";

pub const LS: &str = "Show a folder as a tree.

- path: the folder (the workspace when left out).
- ignore: more file or folder names to leave out.
- showHidden: also show names starting with a dot.
- Build folders (node_modules, .git, target, dist, ...) and .env files are not shown. At most 100 entries; use glob or grep to look further.

Needs approval outside the workspace.";

pub const SHELL: &str = "Run a command with sh -c in the workspace (or cwd), for builds, tests, package managers, git and the like. Each call is a new process; nothing carries over between calls. It is stopped after 60 seconds, together with everything it started.

Use read-file, glob, grep, edit and write-file for files rather than cat, find, sed or echo >.

- A non-zero exit code fails the call with the first line of stderr.
- The environment holds no jean2 secrets or provider keys.

Needs approval for commands that delete, change permissions, use the network or escalate privileges (rm, chmod, sudo, curl, ...), that move or create files (mv, cp, mkdir, ...), that use shell operators (|, >, &&, ;, $(...)), and that name paths outside the workspace or files that may hold secrets.";

pub const WEBFETCH: &str = "Fetch a web page or file over http(s).

- url: must start with http:// or https://. Local, private and cloud metadata addresses are refused.
- format: markdown turns an HTML page into Markdown, text into plain text, html returns it as is; left out, the body is returned as received.
- timeout: seconds, 30 when left out, at most 120.
- Returns {content, title, contentType}. Bodies over 5 MB and non-2xx answers fail.

Plain http:// needs approval.";

pub const TODOREAD: &str = "Read this session's task list, high priority first. Each task has content, status (pending, in_progress, completed, cancelled) and priority (high, medium, low). Use it to pick up where you were.";

pub const TODOWRITE: &str = "Replace this session's task list with the one given.

- todos: the whole list of {content, status, priority?}; priority defaults to medium.
- Keep one task in_progress while working on it and mark tasks completed as soon as they are done.

Use it for work of several steps; a single small task needs no list.";
