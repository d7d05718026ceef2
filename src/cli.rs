//! The command line (clap). The doc comments here are the `--help` text.
//! Spelled as in the Jean2 CLI docs: `-h` is the host, help is `--help`.

use clap::{Args, Parser, Subcommand};

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

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Add a user. The password is read from standard input (never from the command line).
    Add {
        /// The user's email (unique, case-insensitive).
        #[arg(long)]
        email: String,
        /// Read the password from standard input (the first line).
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users: id, email, state, creation time.
    List,
    /// Disable a user: sign-in, refresh and existing access tokens stop working.
    Disable {
        /// The user's email.
        email: String,
    },
    /// Enable a disabled user again.
    Enable {
        /// The user's email.
        email: String,
    },
    /// Set a user's password (read from standard input); ends their browser sessions.
    SetPassword {
        /// The user's email.
        email: String,
        /// Read the password from standard input (the first line).
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AppsCommand {
    /// Register an application; prints its client_id, client_secret (confidential only) and an
    /// API key. Each secret is shown once; only hashes are kept.
    Create {
        /// A name people see on the consent page.
        #[arg(long)]
        name: String,
        /// Where the browser returns after sign-in (repeatable). https, or http on 127.0.0.1/[::1]
        /// (any port), or an app's private scheme (com.example.app:/callback).
        #[arg(long = "redirect-uri", required = true)]
        redirect_uris: Vec<String>,
        /// A backend service that can keep a client secret (client_secret_basic / _post).
        #[arg(long)]
        confidential: bool,
        /// Scopes the app may ask for (repeatable; default: read write).
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// Print {"client_id", "client_secret", "api_key"} as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List applications.
    List,
    /// Revoke an application: its keys and tokens stop working.
    Revoke {
        /// The client_id.
        id: String,
    },
    /// Replace a confidential application's client secret (printed once).
    RotateSecret {
        /// The client_id.
        id: String,
    },
    /// Requests per day made with this application's keys and tokens.
    Usage {
        /// The client_id.
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create another API key for an application (printed once).
    Create {
        /// The application's client_id.
        app: String,
        /// Days until the key expires (default: never).
        #[arg(long)]
        expires_in: Option<u32>,
    },
    /// List an application's API keys (ids and prefixes, never the keys).
    List {
        /// The application's client_id.
        app: String,
    },
    /// Revoke an API key.
    Revoke {
        /// The key id (from `jean2 keys list`).
        key_id: String,
    },
    /// Start signing access tokens with a new key; the old one keeps verifying until its
    /// tokens have expired.
    RotateSigning,
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

    /// The same flags as arguments, to pass on to the spawned `jean2 server`.
    pub fn to_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if let Some(p) = self.port {
            args.push("--port".to_owned());
            args.push(p.to_string());
        }
        if let Some(h) = &self.host {
            args.push("--host".to_owned());
            args.push(h.clone());
        }
        if self.allow_no_auth {
            args.push("--allow-no-auth".to_owned());
        }
        args
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
