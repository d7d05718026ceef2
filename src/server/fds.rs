//! The open-files limit. A login shell usually starts programs with a soft `RLIMIT_NOFILE` of
//! 1024, far below what the kernel allows (the hard limit): jean2 then could not hold more than
//! about a thousand connections, and the ones beyond waited in the listen backlog until they
//! timed out. At start the soft limit is raised to the hard one (as Go and Bun do), and the
//! connection cap is kept below it with room for everything else the server opens, so a
//! connection over the cap is refused at once by [`super::limit::LimitAcceptor`] instead.

use nix::sys::resource::{Resource, getrlimit, setrlimit};

/// File descriptors kept for everything but client connections: the listener, the database,
/// its WAL and SHM files for each pooled connection, the log, provider connections, tool
/// processes and the files they read.
pub const RESERVED_FDS: u64 = 256;

/// A ceiling for the soft limit when the hard one is "unlimited" (Linux refuses more than
/// `fs.nr_open`, 1,048,576 by default).
const UNLIMITED_CEILING: u64 = 1 << 20;

/// The open-files limit after [`raise`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenFiles {
    /// The soft limit in force now.
    pub soft: u64,
    /// The soft limit before, when it was raised.
    pub raised_from: Option<u64>,
}

/// Raise the soft open-files limit to the hard limit. `None` when the limit cannot be read.
pub fn raise() -> Option<OpenFiles> {
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).ok()?;
    let target = if hard == nix::sys::resource::RLIM_INFINITY {
        UNLIMITED_CEILING.max(soft)
    } else {
        hard
    };
    if target <= soft {
        return Some(OpenFiles {
            soft,
            raised_from: None,
        });
    }
    match setrlimit(Resource::RLIMIT_NOFILE, target, hard) {
        Ok(()) => Some(OpenFiles {
            soft: target,
            raised_from: Some(soft),
        }),
        Err(e) => {
            tracing::warn!(error = %e, soft, hard, "cannot raise the open-files limit");
            Some(OpenFiles {
                soft,
                raised_from: None,
            })
        }
    }
}

/// How many connections a soft limit of `soft` open files allows besides the reserve (at most
/// half of a small limit is reserved).
pub fn connection_room(soft: u64) -> usize {
    let room = soft.saturating_sub(RESERVED_FDS.min(soft / 2)).max(1);
    usize::try_from(room).unwrap_or(usize::MAX)
}

/// Raise the limit, log it, and return the connection cap to use: `configured`
/// (`JEAN2_MAX_CONNECTIONS`), lowered to what the limit allows (with a warning).
pub fn plan(configured: usize) -> usize {
    let Some(files) = raise() else {
        tracing::warn!("cannot read the open-files limit (RLIMIT_NOFILE)");
        return configured;
    };
    let cap = configured.min(connection_room(files.soft));
    match files.raised_from {
        Some(before) => tracing::info!(
            open_files = files.soft,
            "open-files limit raised from {before} to {}",
            files.soft
        ),
        None => tracing::info!(open_files = files.soft, "open-files limit {}", files.soft),
    }
    if cap < configured {
        tracing::warn!(
            "JEAN2_MAX_CONNECTIONS={configured} is more than the open-files limit ({}) allows; \
             serving at most {cap} connections at once (raise the hard limit: `ulimit -Hn`, or \
             LimitNOFILE= in a systemd unit)",
            files.soft
        );
    }
    cap
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_room_for_the_database_logs_and_providers() {
        assert_eq!(connection_room(1024), 1024 - 256);
        assert_eq!(connection_room(100_000), 100_000 - 256);
        assert_eq!(connection_room(100), 50, "a tiny limit keeps half");
        assert_eq!(connection_room(0), 1);
    }

    #[test]
    fn raising_reaches_the_hard_limit() {
        let files = raise().expect("readable");
        let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
        assert_eq!(files.soft, soft);
        if hard != nix::sys::resource::RLIM_INFINITY {
            assert_eq!(soft, hard);
        }
    }
}
