//! Settings: loaded in one function, in one documented order, validated once.
//!
//! Order (later wins): built-in defaults < `$JEAN2_DATA_DIR/.env` < process environment < CLI flags.
//! The `.env` file is read into a map and never copied into the process environment, so tests build
//! [`Settings`] from plain maps with [`Settings::from_sources`].

mod parse;
mod secret;

pub use parse::is_loopback_host;
pub use secret::Secret;

use parse::{check_url, is_llm_key_var, list, llm_provider_of, parse_bool, parse_num, parse_port};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
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
    "JEAN2_LOG",
    "JEAN2_MAX_CONNECTIONS",
    "JEAN2_LLM_BASE_URL",
    "JEAN2_LLM_TEMPERATURE",
    "JEAN2_LLM_MAX_TOKENS",
    "JEAN2_LLM_IDLE_TIMEOUT_SECS",
    "JEAN2_LLM_MAX_RETRIES",
    "JEAN2_OAUTH_ENABLED",
    "JEAN2_PUBLIC_URL",
    "JEAN2_CLIENT_PORT",
    "JEAN2_WS_IDLE_TIMEOUT",
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
    /// `JEAN2_TLS_ENABLED` + cert/key files.
    pub tls: Option<TlsFiles>,
    /// `JEAN2_DATABASE_PATH` (default `<data dir>/data/agent.db`).
    pub database_path: PathBuf,
    /// `JEAN2_LOG`: tracing filter (default `info`).
    pub log_filter: String,
    /// `JEAN2_MAX_CONNECTIONS`: open TCP connections served at once (default 10000).
    pub max_connections: usize,
    /// LLM providers.
    pub llm: LlmSettings,
    /// OAuth 2.1.
    pub oauth: OAuthSettings,
    /// Interval of the JSON `ping` on every WebSocket (30 s, `PROTOCOL.md` §4.2; tests shorten it).
    pub ws_heartbeat: Duration,
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

/// The data directory: `JEAN2_DATA_DIR` from the process environment, else `~/.jean2`.
pub fn data_dir_from(env: &BTreeMap<String, String>) -> Result<PathBuf, ConfigError> {
    if let Some(dir) = env.get("JEAN2_DATA_DIR").filter(|d| !d.is_empty()) {
        return Ok(expand_tilde(dir, env));
    }
    let home = env
        .get("HOME")
        .filter(|h| !h.is_empty())
        .ok_or(ConfigError::NoHome)?;
    Ok(Path::new(home).join(".jean2"))
}

/// `~` and `~/x` → the home directory.
pub fn expand_tilde(path: &str, env: &BTreeMap<String, String>) -> PathBuf {
    match (path.strip_prefix('~'), env.get("HOME")) {
        (Some(rest), Some(home)) if rest.is_empty() || rest.starts_with('/') => {
            PathBuf::from(format!("{home}{rest}"))
        }
        _ => PathBuf::from(path),
    }
}

/// Read `<data dir>/.env` into a map. A missing file is an empty map; a malformed one is an error.
pub fn read_env_file(path: &Path) -> Result<Option<BTreeMap<String, String>>, ConfigError> {
    let iter = match dotenvy::from_path_iter(path) {
        Ok(iter) => iter,
        Err(dotenvy::Error::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(ConfigError::ReadEnvFile {
                path: path.to_owned(),
                source,
            });
        }
    };
    let mut map = BTreeMap::new();
    for item in iter {
        let (k, v) = item.map_err(|source| ConfigError::ReadEnvFile {
            path: path.to_owned(),
            source,
        })?;
        map.insert(k, v);
    }
    Ok(Some(map))
}

impl Settings {
    /// Load settings the way the binary does: data dir from the process environment, then
    /// `.env` in it, then the process environment, then `cli`.
    pub fn load(cli: &CliOverrides) -> Result<(Settings, LoadReport), ConfigError> {
        let env: BTreeMap<String, String> = std::env::vars().collect();
        let data_dir = data_dir_from(&env)?;
        let env_path = data_dir.join(".env");
        let file = read_env_file(&env_path)?;
        let found = file.is_some();
        let (settings, mut report) =
            Settings::from_sources(data_dir, &file.unwrap_or_default(), &env, cli)?;
        report.env_file = env_path;
        report.env_file_found = found;
        Ok((settings, report))
    }

    /// Merge the sources (a pure function: no I/O besides checking TLS files).
    pub fn from_sources(
        data_dir: PathBuf,
        file: &BTreeMap<String, String>,
        env: &BTreeMap<String, String>,
        cli: &CliOverrides,
    ) -> Result<(Settings, LoadReport), ConfigError> {
        let mut report = LoadReport::default();
        for key in file.keys() {
            let known = KNOWN_VARS.contains(&key.as_str()) || is_llm_key_var(key);
            if key.starts_with("JEAN2_") && !known {
                report
                    .warnings
                    .push(format!("unknown variable {key} in .env is ignored (typo?)"));
            }
        }
        let get = |var: &str| -> Option<String> {
            env.get(var)
                .or_else(|| file.get(var))
                .map(|v| v.trim().to_owned())
        };
        let non_empty = |var: &str| get(var).filter(|v| !v.is_empty());

        let host = cli
            .host
            .clone()
            .or_else(|| non_empty("JEAN2_HOST"))
            .unwrap_or_else(|| DEFAULT_HOST.to_owned());
        let port = match cli.port {
            Some(p) => p,
            None => match non_empty("JEAN2_PORT") {
                Some(v) => parse_port(&v)?,
                None => DEFAULT_PORT,
            },
        };
        let auth_token = get("JEAN2_AUTH_TOKEN")
            .filter(|t| !t.is_empty())
            .map(Secret::new);
        let allow_no_auth = cli.allow_no_auth || parse_bool("JEAN2_ALLOW_NO_AUTH", get)?;

        let tls = if parse_bool("JEAN2_TLS_ENABLED", get)? {
            let cert = non_empty("JEAN2_TLS_CERT_FILE").ok_or_else(|| ConfigError::Invalid {
                var: "JEAN2_TLS_CERT_FILE",
                value: String::new(),
                expected: "a PEM certificate file; it is required when JEAN2_TLS_ENABLED=true"
                    .into(),
            })?;
            let key = non_empty("JEAN2_TLS_KEY_FILE").ok_or_else(|| ConfigError::Invalid {
                var: "JEAN2_TLS_KEY_FILE",
                value: String::new(),
                expected: "a PEM private key file; it is required when JEAN2_TLS_ENABLED=true"
                    .into(),
            })?;
            Some(TlsFiles {
                cert: expand_tilde(&cert, env),
                key: expand_tilde(&key, env),
            })
        } else {
            None
        };

        let database_path = non_empty("JEAN2_DATABASE_PATH")
            .map(|p| expand_tilde(&p, env))
            .unwrap_or_else(|| data_dir.join("data").join("agent.db"));

        let auth_max_failures = parse_num("JEAN2_AUTH_MAX_FAILURES", get, 20u32, 1)?;
        let window_secs = parse_num("JEAN2_AUTH_FAILURE_WINDOW_SECS", get, 60u64, 1)?;
        let max_connections = parse_num("JEAN2_MAX_CONNECTIONS", get, 10_000usize, 16)?;

        let mut api_keys = BTreeMap::new();
        for (k, v) in file.iter().chain(env.iter()) {
            if let Some(provider) = llm_provider_of(k) {
                let v = v.trim();
                if v.is_empty() {
                    api_keys.remove(&provider);
                } else {
                    api_keys.insert(provider, Secret::new(v));
                }
            }
        }
        let temperature = match non_empty("JEAN2_LLM_TEMPERATURE") {
            Some(v) => Some(
                v.parse::<f32>()
                    .ok()
                    .filter(|t| (0.0..=2.0).contains(t))
                    .ok_or_else(|| ConfigError::Invalid {
                        var: "JEAN2_LLM_TEMPERATURE",
                        value: v.clone(),
                        expected: "a number from 0 to 2".into(),
                    })?,
            ),
            None => None,
        };
        let max_tokens = match non_empty("JEAN2_LLM_MAX_TOKENS") {
            Some(_) => Some(parse_num("JEAN2_LLM_MAX_TOKENS", get, 0u32, 1)?),
            None => None,
        };
        let base_url = non_empty("JEAN2_LLM_BASE_URL");
        if let Some(u) = &base_url {
            check_url("JEAN2_LLM_BASE_URL", u)?;
        }
        let public_url = non_empty("JEAN2_PUBLIC_URL").map(|u| u.trim_end_matches('/').to_owned());
        if let Some(u) = &public_url {
            check_url("JEAN2_PUBLIC_URL", u)?;
        }

        let settings = Settings {
            data_dir,
            host,
            port,
            auth_token,
            allow_no_auth,
            allowed_origins: list(get("JEAN2_ALLOWED_ORIGINS")),
            allowed_hosts: list(get("JEAN2_ALLOWED_HOSTS")),
            auth_max_failures,
            auth_failure_window: Duration::from_secs(window_secs),
            tls,
            database_path,
            log_filter: non_empty("JEAN2_LOG").unwrap_or_else(|| "info".to_owned()),
            max_connections,
            llm: LlmSettings {
                api_keys,
                base_url,
                temperature,
                max_tokens,
                idle_timeout: Duration::from_secs(parse_num(
                    "JEAN2_LLM_IDLE_TIMEOUT_SECS",
                    get,
                    120u64,
                    1,
                )?),
                max_retries: parse_num("JEAN2_LLM_MAX_RETRIES", get, 3u32, 0)?,
                ..LlmSettings::default()
            },
            oauth: OAuthSettings {
                enabled: parse_bool("JEAN2_OAUTH_ENABLED", get)?,
                public_url,
                clock: crate::time::Clock::system(),
                cache_ttl: Duration::from_secs(10),
            },
            ws_heartbeat: Duration::from_secs(30),
            env_file_keys: file.keys().cloned().collect(),
        };
        settings.check_exposure()?;
        settings.check_oauth_transport()?;
        if settings.auth_token.is_none() && !settings.host_is_loopback() {
            report.warnings.push(format!(
                "authentication is OFF while listening on {}: anyone who can reach this address controls the server. Set JEAN2_AUTH_TOKEN.",
                settings.host
            ));
        }
        Ok((settings, report))
    }

    /// Refuse a non-loopback bind without a token unless the user opted in.
    fn check_exposure(&self) -> Result<(), ConfigError> {
        if self.auth_token.is_none() && !self.host_is_loopback() && !self.allow_no_auth {
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
