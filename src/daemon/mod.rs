//! The daemon: an OS-locked pidfile ([`pidfile`]), `start` re-executing this binary as
//! `jean2 server` detached with output to `server.log` ([`spawn`]), `status`/`stop`/`restart`/
//! `reload` ([`control`]), `auth` ([`token`]), `logs` ([`log`]), `open` ([`open`]), and the
//! loopback HTTP probe they share ([`probe`]). These commands run before (and without) the
//! server's async runtime.

pub mod control;
pub mod log;
pub mod open;
pub mod pidfile;
pub mod probe;
pub mod spawn;
pub mod token;

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::config::{ConfigError, Settings, data_dir_from};

/// Where the daemon's files are, for commands that must work even when `.env` has an error
/// (`stop`, `status`, `logs`): only `JEAN2_DATA_DIR`/`HOME` are read.
#[derive(Debug, Clone)]
pub struct Paths {
    pub data_dir: PathBuf,
    pub pid_file: PathBuf,
    pub log_file: PathBuf,
}

impl Paths {
    /// From the process environment (`JEAN2_DATA_DIR`, else `~/.jean2`).
    pub fn from_env() -> Result<Paths, ConfigError> {
        let env: BTreeMap<String, String> = std::env::vars().collect();
        let data_dir = data_dir_from(&env)?;
        Ok(Paths::of(data_dir))
    }

    /// The same paths [`Settings`] uses.
    pub fn of(data_dir: PathBuf) -> Paths {
        let s = Settings::for_data_dir(data_dir.clone());
        Paths {
            pid_file: s.pid_file(),
            log_file: s.log_file(),
            data_dir,
        }
    }
}
