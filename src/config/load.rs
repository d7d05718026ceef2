//! Loading: the data dir, the `.env` file read into a map, and [`Settings::from_sources`], the
//! pure merge of defaults < `.env` < process environment < CLI flags. Every numeric setting has
//! bounds, and a value outside them is an error that names the variable and the range.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::parse::{
    check_url, is_llm_key_var, list, llm_provider_of, parse_bool, parse_networks, parse_num,
    parse_port,
};
use super::secret::MIN_TOKEN_CHARS;
use super::{
    CliOverrides, ConfigError, DEFAULT_HOST, DEFAULT_PORT, KNOWN_VARS, LlmSettings, LoadReport,
    OAuthSettings, Secret, Settings, TlsFiles,
};

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

/// Read `<data dir>/.env` into a map. A missing file is `None`; a malformed one is an error.
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

/// Where a merged value comes from: the environment wins over the file.
struct Sources<'a> {
    file: &'a BTreeMap<String, String>,
    env: &'a BTreeMap<String, String>,
}

impl Sources<'_> {
    fn get(&self, var: &str) -> Option<String> {
        self.env
            .get(var)
            .or_else(|| self.file.get(var))
            .map(|v| v.trim().to_owned())
    }

    fn non_empty(&self, var: &str) -> Option<String> {
        self.get(var).filter(|v| !v.is_empty())
    }

    fn num<T>(&self, var: &'static str, default: T, min: T, max: T) -> Result<T, ConfigError>
    where
        T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
    {
        parse_num(var, |v| self.get(v), default, min, max)
    }

    fn flag(&self, var: &'static str) -> Result<bool, ConfigError> {
        parse_bool(var, |v| self.get(v))
    }
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
        let src = Sources { file, env };
        // Checked even when a flag overrides it: the next start without the flag would fail.
        let env_port = match src.non_empty("JEAN2_PORT") {
            Some(v) => Some(parse_port(&v)?),
            None => None,
        };
        let port = cli.port.or(env_port).unwrap_or(DEFAULT_PORT);
        let settings = Settings {
            host: (cli.host.clone())
                .or_else(|| src.non_empty("JEAN2_HOST"))
                .unwrap_or_else(|| DEFAULT_HOST.to_owned()),
            port,
            auth_token: src.non_empty("JEAN2_AUTH_TOKEN").map(Secret::new),
            allow_no_auth: cli.allow_no_auth || src.flag("JEAN2_ALLOW_NO_AUTH")?,
            allowed_origins: list(src.get("JEAN2_ALLOWED_ORIGINS")),
            allowed_hosts: list(src.get("JEAN2_ALLOWED_HOSTS")),
            auth_max_failures: src.num("JEAN2_AUTH_MAX_FAILURES", 20u32, 1, 100_000)?,
            auth_failure_window: Duration::from_secs(src.num(
                "JEAN2_AUTH_FAILURE_WINDOW_SECS",
                60u64,
                1,
                86_400,
            )?),
            trusted_proxies: parse_networks(
                "JEAN2_TRUSTED_PROXIES",
                src.non_empty("JEAN2_TRUSTED_PROXIES"),
            )?,
            tls: tls(&src, env)?,
            database_path: src
                .non_empty("JEAN2_DATABASE_PATH")
                .map(|p| expand_tilde(&p, env))
                .unwrap_or_else(|| data_dir.join("data").join("agent.db")),
            database_url: database_url(&src)?,
            database_pool_size: src.num("JEAN2_DATABASE_POOL_SIZE", 16usize, 1, 1000)?,
            log_filter: src
                .non_empty("JEAN2_LOG")
                .unwrap_or_else(|| "info".to_owned()),
            log_max_bytes: src.num("JEAN2_LOG_MAX_MB", 64u64, 0, 1_000_000)? * 1024 * 1024,
            max_connections: src.num("JEAN2_MAX_CONNECTIONS", 10_000usize, 16, 1_000_000)?,
            llm: llm(&src, file, env)?,
            oauth: oauth(&src)?,
            header_timeout: Duration::from_secs(15),
            ws_heartbeat: Duration::from_secs(30),
            terminal_shell: src.non_empty("JEAN2_TERMINAL_SHELL"),
            client_dir: src
                .non_empty("JEAN2_CLIENT_DIR")
                .map(|p| expand_tilde(&p, env)),
            env_file_keys: file.keys().cloned().collect(),
            data_dir,
        };
        settings.check_exposure()?;
        settings.check_oauth_transport()?;
        report.warnings.extend(warnings(&settings));
        Ok((settings, report))
    }
}

/// What a valid configuration still deserves a word about.
fn warnings(settings: &Settings) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(token) = settings.auth_token.as_ref().filter(|t| t.is_short()) {
        out.push(format!(
            "JEAN2_AUTH_TOKEN is only {} characters long: use at least {MIN_TOKEN_CHARS} random ones \
             (e.g. `openssl rand -base64 32`), or a guesser has an easy job",
            token.expose().chars().count()
        ));
    }
    let auth_off = settings.auth_token.is_none() && !settings.oauth.enabled;
    if auth_off && !settings.host_is_loopback() {
        out.push(format!(
            "authentication is OFF while listening on {}: anyone who can reach this address controls the server. Set JEAN2_AUTH_TOKEN.",
            settings.host
        ));
    }
    out
}

/// `JEAN2_DATABASE_URL`, checked; the error shows the URL without its password.
fn database_url(src: &Sources<'_>) -> Result<Option<super::DatabaseUrl>, ConfigError> {
    let Some(value) = src.non_empty("JEAN2_DATABASE_URL") else {
        return Ok(None);
    };
    super::DatabaseUrl::parse(&value)
        .map(Some)
        .map_err(|expected| ConfigError::Invalid {
            var: "JEAN2_DATABASE_URL",
            value: masked(&value),
            expected,
        })
}

/// A URL with whatever stands between `://` and `@` (user and password) masked.
fn masked(value: &str) -> String {
    match (value.find("://"), value.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}***{}", &value[..s + 3], &value[at..]),
        _ => value.to_owned(),
    }
}

fn tls(src: &Sources<'_>, env: &BTreeMap<String, String>) -> Result<Option<TlsFiles>, ConfigError> {
    if !src.flag("JEAN2_TLS_ENABLED")? {
        return Ok(None);
    }
    let required = |var: &'static str, what: &str| {
        src.non_empty(var).ok_or_else(|| ConfigError::Invalid {
            var,
            value: String::new(),
            expected: format!("a PEM {what} file; it is required when JEAN2_TLS_ENABLED=true"),
        })
    };
    let cert = required("JEAN2_TLS_CERT_FILE", "certificate")?;
    let key = required("JEAN2_TLS_KEY_FILE", "private key")?;
    Ok(Some(TlsFiles {
        cert: expand_tilde(&cert, env),
        key: expand_tilde(&key, env),
    }))
}

fn llm(
    src: &Sources<'_>,
    file: &BTreeMap<String, String>,
    env: &BTreeMap<String, String>,
) -> Result<LlmSettings, ConfigError> {
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
    let temperature = match src.non_empty("JEAN2_LLM_TEMPERATURE") {
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
    let max_tokens = match src.non_empty("JEAN2_LLM_MAX_TOKENS") {
        Some(_) => Some(src.num("JEAN2_LLM_MAX_TOKENS", 0u32, 1, 10_000_000)?),
        None => None,
    };
    let base_url = src.non_empty("JEAN2_LLM_BASE_URL");
    if let Some(u) = &base_url {
        check_url("JEAN2_LLM_BASE_URL", u)?;
    }
    Ok(LlmSettings {
        api_keys,
        base_url,
        temperature,
        max_tokens,
        idle_timeout: Duration::from_secs(src.num(
            "JEAN2_LLM_IDLE_TIMEOUT_SECS",
            120u64,
            1,
            3_600,
        )?),
        max_retries: src.num("JEAN2_LLM_MAX_RETRIES", 3u32, 0, 10)?,
        // Up to 1000: the original's `jean2 init` writes 500 into `.env`.
        max_steps: src.num("JEAN2_LLM_MAX_STEPS", 10u32, 1, 1000)?,
        ..LlmSettings::default()
    })
}

fn oauth(src: &Sources<'_>) -> Result<OAuthSettings, ConfigError> {
    let public_url = src
        .non_empty("JEAN2_PUBLIC_URL")
        .map(|u| u.trim_end_matches('/').to_owned());
    if let Some(u) = &public_url {
        check_url("JEAN2_PUBLIC_URL", u)?;
    }
    Ok(OAuthSettings {
        enabled: src.flag("JEAN2_OAUTH_ENABLED")?,
        public_url,
        clock: crate::time::Clock::system(),
        cache_ttl: Duration::from_secs(10),
    })
}
