//! Parsing of single values: ports, booleans, numbers, URLs, lists, provider key names. Each
//! error names the variable, the value and what is expected.

use std::fmt;
use std::net::IpAddr;

use super::ConfigError;

/// `localhost`, `127.x.x.x`, `::1`.
pub fn is_loopback_host(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

pub(super) fn parse_port(v: &str) -> Result<u16, ConfigError> {
    v.parse::<u16>().map_err(|_| ConfigError::Invalid {
        var: "JEAN2_PORT",
        value: v.to_owned(),
        expected: "a port number from 1 to 65535".into(),
    })
}

pub(super) fn parse_bool(
    var: &'static str,
    get: impl Fn(&str) -> Option<String>,
) -> Result<bool, ConfigError> {
    match get(var).as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("") | Some("false") | Some("0") | Some("no") | Some("off") => Ok(false),
        Some("true") | Some("1") | Some("yes") | Some("on") => Ok(true),
        Some(other) => Err(ConfigError::Invalid {
            var,
            value: other.to_owned(),
            expected: "true or false".into(),
        }),
    }
}

/// A whole number from `min` to `max` (both included), or `default` when unset.
pub(super) fn parse_num<T: std::str::FromStr + PartialOrd + fmt::Display + Copy>(
    var: &'static str,
    get: impl Fn(&str) -> Option<String>,
    default: T,
    min: T,
    max: T,
) -> Result<T, ConfigError> {
    match get(var).filter(|v| !v.is_empty()) {
        None => Ok(default),
        Some(v) => v
            .parse::<T>()
            .ok()
            .filter(|n| *n >= min && *n <= max)
            .ok_or_else(|| ConfigError::Invalid {
                var,
                value: v.clone(),
                expected: format!("a whole number from {min} to {max}"),
            }),
    }
}

pub(super) fn check_url(var: &'static str, value: &str) -> Result<(), ConfigError> {
    match url::Url::parse(value) {
        Ok(u) if u.scheme() == "http" || u.scheme() == "https" => Ok(()),
        _ => Err(ConfigError::Invalid {
            var,
            value: value.to_owned(),
            expected: "an http:// or https:// URL".into(),
        }),
    }
}

pub(super) fn list(v: Option<String>) -> Vec<String> {
    v.map(|s| {
        s.split(',')
            .map(|x| x.trim().trim_end_matches('/').to_owned())
            .filter(|x| !x.is_empty())
            .collect()
    })
    .unwrap_or_default()
}

pub(super) fn is_llm_key_var(key: &str) -> bool {
    llm_provider_of(key).is_some()
}

/// `JEAN2_LLM_OPENAI_API_KEY` → `openai`.
pub(super) fn llm_provider_of(key: &str) -> Option<String> {
    key.strip_prefix("JEAN2_LLM_")?
        .strip_suffix("_API_KEY")
        .filter(|p| !p.is_empty())
        .map(str::to_ascii_lowercase)
}

/// `JEAN2_TRUSTED_PROXIES`: comma-separated addresses or CIDR networks.
pub(super) fn parse_networks(
    var: &'static str,
    value: Option<String>,
) -> Result<Vec<ipnet::IpNet>, ConfigError> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<ipnet::IpNet>()
                .or_else(|_| s.parse::<IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| ConfigError::Invalid {
                    var,
                    value: s.to_owned(),
                    expected: "IP addresses or CIDR networks separated by commas (e.g. 127.0.0.1, 10.0.0.0/8)".into(),
                })
        })
        .collect()
}
