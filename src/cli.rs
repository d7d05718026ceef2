//! The command line (clap). The doc comments here are the `--help` text.
//! Spelled as in the Jean2 CLI docs: `-h` is the host, help is `--help`.

use clap::{Args, Parser, Subcommand};

use crate::admin::{AppsCommand, KeysCommand, UsersCommand};
use crate::config::CliOverrides;

/// jean2 — the Jean2 agent server: workspaces, sessions and LLM chat over REST and WebSocket.
///
/// Configuration is read from $JEAN2_DATA_DIR/.env (default ~/.jean2/.env), then the process
/// environment, then these flags. See README.md for every variable.
#[derive(Debug, Parser)]
#[command(name = "jean2", version, disable_help_subcommand = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the server in the background; returns once it answers, printing URL, auth and log path.
    Start(ServeArgs),
    /// Stop the background server (SIGTERM, then SIGKILL after 5 s).
    Stop,
    /// Stop, then start again with these flags (they are not remembered from `start`); how a changed
    /// ~/.jean2/.env takes effect.
    Restart(ServeArgs),
    /// Show whether the server runs: PID, host, port, URL, uptime, version. Exit 0 running, 3 not.
    Status,
    /// Show the last lines of server.log, then follow it (Ctrl-C ends) unless --no-follow.
    Logs(LogsArgs),
    /// Run the server in the foreground (for systemd and debugging).
    Server(ServeArgs),
    /// Show whether authentication is on, with a masked preview of the token.
    Auth,
    /// Re-read .env and the TLS certificate in the running server (SIGHUP), without dropping connections.
    Reload,
    /// Open the web client this server serves in the default browser (prints its address where
    /// there is no browser).
    Open,
    /// Print the version.
    Version,
    /// Manage the people who sign in with OAuth (JEAN2_OAUTH_ENABLED=true).
    #[command(subcommand)]
    Users(UsersCommand),
    /// Manage the applications (OAuth clients) that may use this server.
    #[command(subcommand)]
    Apps(AppsCommand),
    /// Manage applications' API keys and the server's token signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
}

#[derive(Debug, Clone, Args, Default)]
#[command(disable_help_flag = true)]
pub struct ServeArgs {
    /// Port to listen on (JEAN2_PORT, default 8742).
    #[arg(short = 'p', long)]
    pub port: Option<u16>,
    /// Address to bind (JEAN2_HOST, default 127.0.0.1).
    #[arg(short = 'h', long)]
    pub host: Option<String>,
    /// Allow listening on a non-loopback address without a token (JEAN2_ALLOW_NO_AUTH).
    #[arg(long)]
    pub allow_no_auth: bool,
    /// Print help.
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
}

impl ServeArgs {
    pub fn overrides(&self) -> CliOverrides {
        CliOverrides {
            host: self.host.clone(),
            port: self.port,
            allow_no_auth: self.allow_no_auth,
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct LogsArgs {
    /// Number of lines to show.
    #[arg(short = 'n', long, default_value_t = 50)]
    pub lines: usize,
    /// Print and exit instead of following the log.
    #[arg(long)]
    pub no_follow: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn dash_h_is_host() {
        let cli = Cli::try_parse_from(["jean2", "start", "-h", "0.0.0.0", "-p", "9000"]).unwrap();
        match cli.command {
            Command::Start(a) => {
                assert_eq!(a.host.as_deref(), Some("0.0.0.0"));
                assert_eq!(a.port, Some(9000));
            }
            other => panic!("{other:?}"),
        }
    }
}
