//! Settings: loaded in one function, in one documented order, validated once.
//!
//! Order (later wins): built-in defaults < `$JEAN2_DATA_DIR/.env` < process environment < CLI flags.
//! The `.env` file is read into a map and never copied into the process environment, so tests build
//! [`Settings`] from plain maps with [`Settings::from_sources`].

mod database_url;
pub mod envfile;
pub mod files;
mod load;
mod parse;
mod secret;

pub use database_url::DatabaseUrl;
pub use load::{data_dir_from, expand_tilde, read_env_file};
pub use parse::is_loopback_host;
pub use secret::Secret;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// Default TCP port, as in the Jean2 documentation.
pub const DEFAULT_PORT: u16 = 8742;
/// Default bind address: loopback only (see DESIGN.md, "Deliberate differences").
pub const DEFAULT_HOST: &str = "127.0.0.1";

/// Every variable this server understands. Anything else starting with `JEAN2_` in `.env` is
/// reported as unknown (a typo there otherwise fails silently).
pub const KNOWN_VARS: &[&str] = &[
    "JEAN2_DATA_DIR",
    "JEAN2_HOST",
    "JEAN2_PORT",
    "JEAN2_AUTH_TOKEN",
    "JEAN2_ALLOW_NO_AUTH",
    "JEAN2_ALLOWED_ORIGINS",
    "JEAN2_ALLOWED_HOSTS",
    "JEAN2_AUTH_MAX_FAILURES",
    "JEAN2_AUTH_FAILURE_WINDOW_SECS",
    "JEAN2_TLS_ENABLED",
    "JEAN2_TLS_CERT_FILE",
    "JEAN2_TLS_KEY_FILE",
    "JEAN2_DATABASE_PATH",
    "JEAN2_DATABASE_URL",
    "JEAN2_DATABASE_POOL_SIZE",
    "JEAN2_LOG",
    "JEAN2_LOG_MAX_MB",
    "JEAN2_MAX_CONNECTIONS",
    "JEAN2_LLM_BASE_URL",
    "JEAN2_LLM_TEMPERATURE",
    "JEAN2_LLM_MAX_TOKENS",
    "JEAN2_LLM_IDLE_TIMEOUT_SECS",
    "JEAN2_LLM_MAX_RETRIES",
    "JEAN2_LLM_MAX_STEPS",
    "JEAN2_OAUTH_ENABLED",
    "JEAN2_PUBLIC_URL",
    "JEAN2_CLIENT_PORT",
    "JEAN2_CLIENT_DIR",
    "JEAN2_WS_IDLE_TIMEOUT",
    "JEAN2_TERMINAL_SHELL",
    "JEAN2_TRUSTED_PROXIES",
];

/// Certificate and key for HTTPS/WSS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// `JEAN2_TLS_CERT_FILE`: PEM certificate chain.
    pub cert: PathBuf,
    /// `JEAN2_TLS_KEY_FILE`: PEM private key.
    pub key: PathBuf,
}

/// LLM provider configuration.
#[derive(Debug, Clone)]
pub struct LlmSettings {
    /// `JEAN2_LLM_<PROVIDER>_API_KEY`, keyed by the lower-case provider id (`openai`, `deepseek`, …).
    pub api_keys: BTreeMap<String, Secret>,
    /// `JEAN2_LLM_BASE_URL`: overrides every provider's base URL (local model servers).
    pub base_url: Option<String>,
    /// `JEAN2_LLM_TEMPERATURE`.
    pub temperature: Option<f32>,
    /// `JEAN2_LLM_MAX_TOKENS`.
    pub max_tokens: Option<u32>,
    /// Time allowed to open the TCP/TLS connection to a provider (10 s; not an env var).
    pub connect_timeout: Duration,
    /// `JEAN2_LLM_IDLE_TIMEOUT_SECS` (default 120): longest silence allowed while waiting for the
    /// response headers or between two stream chunks before the turn fails with `error.timeout`.
    pub idle_timeout: Duration,
    /// `JEAN2_LLM_MAX_RETRIES` (default 3): retries of a 429/5xx answer before any chunk arrived.
    pub max_retries: u32,
    /// `JEAN2_LLM_MAX_STEPS` (default 10): model calls per turn; each step may call tools.
    pub max_steps: u32,
    /// First retry delay when the provider gives no `Retry-After` (1 s, doubling; not an env var,
    /// tests shorten it).
    pub retry_base_delay: Duration,
}

impl Default for LlmSettings {
    fn default() -> Self {
        Self {
            api_keys: BTreeMap::new(),
            base_url: None,
            temperature: None,
            max_tokens: None,
            connect_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(120),
            max_retries: 3,
            max_steps: 10,
            retry_base_delay: Duration::from_secs(1),
        }
    }
}

/// OAuth 2.1 layer configuration.
#[derive(Debug, Clone, Default)]
pub struct OAuthSettings {
    /// `JEAN2_OAUTH_ENABLED`.
    pub enabled: bool,
    /// `JEAN2_PUBLIC_URL`: the issuer, when the server sits behind a proxy.
    pub public_url: Option<String>,
    /// The clock of the OAuth core (codes, tokens, sessions), also read by the failed-attempt
    /// limiter of the auth layer. The system clock; tests move it.
    pub clock: crate::time::Clock,
    /// How long a verified API key, user or application status is trusted before the database is
    /// asked again (default 10 s; revocations made by the admin CLI take effect within it).
    pub cache_ttl: Duration,
}

/// Validated settings for one server process.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `JEAN2_DATA_DIR` (default `~/.jean2`): `.env`, `server.pid`, `server.log`, `data/`.
    pub data_dir: PathBuf,
    /// `JEAN2_HOST` / `-h`: bind address.
    pub host: String,
    /// `JEAN2_PORT` / `-p`: port (0 picks a free one; tests use that).
    pub port: u16,
    /// `JEAN2_AUTH_TOKEN`: the shared owner token; `None` means auth is off.
    pub auth_token: Option<Secret>,
    /// `JEAN2_ALLOW_NO_AUTH` / `--allow-no-auth`: permit a non-loopback bind without a token.
    pub allow_no_auth: bool,
    /// `JEAN2_ALLOWED_ORIGINS`: comma-separated extra browser origins accepted while auth is off.
    pub allowed_origins: Vec<String>,
    /// `JEAN2_ALLOWED_HOSTS`: comma-separated extra `Host` names accepted while auth is off.
    pub allowed_hosts: Vec<String>,
    /// `JEAN2_AUTH_MAX_FAILURES`: failed authentications per address before 429 (default 20).
    pub auth_max_failures: u32,
    /// `JEAN2_AUTH_FAILURE_WINDOW_SECS`: the window those failures are counted in (default 60 s).
    pub auth_failure_window: Duration,
    /// `JEAN2_TRUSTED_PROXIES`: reverse proxies (addresses or CIDR networks; none by default)
    /// whose `X-Forwarded-For` names the client for the limiters and the logs.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// `JEAN2_TLS_ENABLED` + cert/key files.
    pub tls: Option<TlsFiles>,
    /// `JEAN2_DATABASE_PATH` (default `<data dir>/data/agent.db`): the SQLite database, used
    /// unless `database_url` is set.
    pub database_path: PathBuf,
    /// `JEAN2_DATABASE_URL`: a `postgres://` URL selects PostgreSQL (several instances may
    /// share it); unset, the SQLite file above.
    pub database_url: Option<DatabaseUrl>,
    /// `JEAN2_DATABASE_POOL_SIZE`: PostgreSQL connections per instance (default 16).
    pub database_pool_size: usize,
    /// `JEAN2_LOG`: tracing filter (default `info`).
    pub log_filter: String,
    /// `JEAN2_LOG_MAX_MB`: `server.log` is rotated once it holds this many bytes (default
    /// 64 MiB; 0 never rotates). See `layers::logging::Rotation`.
    pub log_max_bytes: u64,
    /// `JEAN2_MAX_CONNECTIONS`: open TCP connections served at once (default 10000).
    pub max_connections: usize,
    /// LLM providers.
    pub llm: LlmSettings,
    /// OAuth 2.1.
    pub oauth: OAuthSettings,
    /// How long a new connection may take to show an HTTP/1 request, and then each request head
    /// (and an idle keep-alive connection) before it is closed (15 s; not an env var, tests
    /// shorten it).
    pub header_timeout: Duration,
    /// Interval of the JSON `ping` on every WebSocket (30 s, `PROTOCOL.md` §4.2; tests shorten it).
    pub ws_heartbeat: Duration,
    /// `JEAN2_TERMINAL_SHELL`: the shell terminals start (default `$SHELL`, else bash).
    pub terminal_shell: Option<String>,
    /// `JEAN2_CLIENT_DIR`: a built Jean2 web client to serve at `/` (else `<data dir>/client/`
    /// when it holds an `index.html`).
    pub client_dir: Option<PathBuf>,
    /// The names set in `<data dir>/.env`: never passed on to child processes (shell tool,
    /// terminals), whatever they are called ([`crate::proc::child_env`]).
    pub env_file_keys: Vec<String>,
}

/// Values given on the command line; they win over everything else.
#[derive(Debug, Clone, Default)]
pub struct CliOverrides {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub allow_no_auth: bool,
}

impl CliOverrides {
    /// The same values as command-line flags, to pass on to a spawned `jean2 server`.
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

/// A configuration error: names the variable, the value and what is expected.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{var}={value:?} is not valid: {expected}")]
    Invalid {
        var: &'static str,
        value: String,
        expected: String,
    },
    #[error("{0}")]
    Refused(String),
    #[error("cannot read {path}: {source}")]
    ReadEnvFile {
        path: PathBuf,
        #[source]
        source: dotenvy::Error,
    },
    #[error(
        "cannot find the home directory; set JEAN2_DATA_DIR to choose where jean2 keeps its data"
    )]
    NoHome,
}

/// What loading produced besides the settings: warnings to print once logging is up.
#[derive(Debug, Default)]
pub struct LoadReport {
    pub warnings: Vec<String>,
    /// Where the `.env` file was looked for, and whether it existed.
    pub env_file: PathBuf,
    pub env_file_found: bool,
}

impl Settings {
    /// Refuse a non-loopback bind without a token unless the user opted in.
    fn check_exposure(&self) -> Result<(), ConfigError> {
        // OAuth alone is authentication too: every request then needs a credential.
        let auth_on = self.auth_token.is_some() || self.oauth.enabled;
        if !auth_on && !self.host_is_loopback() && !self.allow_no_auth {
            return Err(ConfigError::Refused(format!(
                "refusing to listen on {} without authentication: anyone on the network could use this server.\n\
                 Set a token (echo 'JEAN2_AUTH_TOKEN=<long random string>' >> {}) and enter it in the client,\n\
                 or bind to 127.0.0.1, or opt in with --allow-no-auth / JEAN2_ALLOW_NO_AUTH=true.",
                self.host,
                self.data_dir.join(".env").display()
            )));
        }
        Ok(())
    }

    /// OAuth takes passwords: only over TLS, on loopback, or behind an https proxy.
    fn check_oauth_transport(&self) -> Result<(), ConfigError> {
        let https_proxy = self
            .oauth
            .public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"));
        if self.oauth.enabled && self.tls.is_none() && !self.host_is_loopback() && !https_proxy {
            return Err(ConfigError::Refused(format!(
                "refusing to enable OAuth (JEAN2_OAUTH_ENABLED=true) on {} over plain HTTP: people would send \
                 their passwords unencrypted.\n\
                 Turn on TLS (JEAN2_TLS_ENABLED=true with JEAN2_TLS_CERT_FILE and JEAN2_TLS_KEY_FILE), or bind to \
                 127.0.0.1, or, behind a TLS-terminating proxy, set JEAN2_PUBLIC_URL=https://<your public name>.",
                self.host
            )));
        }
        Ok(())
    }

    /// The OAuth issuer: `JEAN2_PUBLIC_URL`, else this server's own URL on `port`.
    pub fn issuer(&self, port: u16) -> String {
        match &self.oauth.public_url {
            Some(u) => u.clone(),
            None => self.local_url(port),
        }
    }

    /// Whether browsers reach this server over https (cookies get `Secure`).
    pub fn served_over_https(&self) -> bool {
        self.tls.is_some()
            || self
                .oauth
                .public_url
                .as_deref()
                .is_some_and(|u| u.starts_with("https://"))
    }

    /// Whether the bind address only accepts connections from this machine.
    pub fn host_is_loopback(&self) -> bool {
        is_loopback_host(&self.host)
    }

    /// The URL a client on this machine uses: `http(s)://host:port`.
    pub fn local_url(&self, port: u16) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        let host = match self.host.as_str() {
            "0.0.0.0" => "127.0.0.1".to_owned(),
            "::" => "[::1]".to_owned(),
            h if h.contains(':') => format!("[{h}]"),
            h => h.to_owned(),
        };
        format!("{scheme}://{host}:{port}")
    }

    /// `<data dir>/server.pid`.
    pub fn pid_file(&self) -> PathBuf {
        self.data_dir.join("server.pid")
    }

    /// `<data dir>/server.log`.
    pub fn log_file(&self) -> PathBuf {
        self.data_dir.join("server.log")
    }

    /// Settings for tests and embedding: defaults with the given data dir, port 0.
    pub fn for_data_dir(data_dir: PathBuf) -> Settings {
        let mut env = BTreeMap::new();
        env.insert("JEAN2_PORT".to_owned(), "0".to_owned());
        match Settings::from_sources(data_dir, &BTreeMap::new(), &env, &CliOverrides::default()) {
            Ok((s, _)) => s,
            Err(e) => unreachable!("defaults are valid: {e}"),
        }
    }
}

#[cfg(test)]
mod tests;
