//! The clap vocabulary of `jean2 users|apps|keys` (their `--help` text). The admin module owns
//! it so the command line above can list it without the admin code reaching up to `cli`.

use clap::Subcommand;

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
    /// List users: id, email, state, creation time, and `host` when their agent may reach
    /// this machine.
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
    /// Let a user's agent reach this machine: `shell`, and paths outside their workspace (each
    /// asked for as the owner's are). Off by default: their agent stays in their workspace.
    AllowHost {
        /// The user's email.
        email: String,
    },
    /// Confine a user's agent to their workspace again (the default).
    DenyHost {
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
