//! `jean2 auth`: whether authentication is on, a masked preview of the token (never the token),
//! where it comes from (`.env` or the environment, which wins), and whether the running server
//! agrees (it may predate an edit of `.env`).

use std::process::ExitCode;

use crate::config::{CliOverrides, Settings, read_env_file};
use crate::daemon::Paths;
use crate::daemon::control::on_off;
use crate::daemon::pidfile::{self, State};
use crate::daemon::probe::Probe;

/// `jean2 auth`.
pub fn auth() -> anyhow::Result<ExitCode> {
    // Only reporting: a public bind without a token is for `start` to refuse, not for us.
    let overrides = CliOverrides {
        allow_no_auth: true,
        ..CliOverrides::default()
    };
    let (settings, report) = Settings::load(&overrides)?;
    let env_file = &report.env_file;
    let in_env = std::env::var_os("JEAN2_AUTH_TOKEN").is_some();
    let in_file = read_env_file(env_file)
        .ok()
        .flatten()
        .is_some_and(|m| m.contains_key("JEAN2_AUTH_TOKEN"));
    match &settings.auth_token {
        Some(token) => {
            println!("auth: on");
            println!("  token:   {}", token.masked());
            for w in report
                .warnings
                .iter()
                .filter(|w| w.contains("JEAN2_AUTH_TOKEN"))
            {
                println!("  warning: {w}");
            }
            if in_env {
                let shadowed = if in_file {
                    ", which overrides the one in .env"
                } else {
                    ""
                };
                println!("  from:    the environment variable JEAN2_AUTH_TOKEN{shadowed}");
            } else {
                println!("  from:    {}", env_file.display());
            }
        }
        None => {
            println!("auth: off");
            if in_env {
                println!(
                    "  JEAN2_AUTH_TOKEN is set but empty in the environment (this overrides .env)"
                );
            }
            println!(
                "  to require a token: add JEAN2_AUTH_TOKEN=<long random string> to {} and run `jean2 restart`",
                env_file.display()
            );
        }
    }
    if settings.oauth.enabled {
        println!(
            "  OAuth 2.1: on (JEAN2_OAUTH_ENABLED) — users and apps authenticate with access tokens and API keys"
        );
    }
    report_running_server(
        &Paths::of(settings.data_dir.clone()),
        settings.auth_token.is_some() || settings.oauth.enabled,
    );
    Ok(ExitCode::SUCCESS)
}

/// Compare with what the running server actually does (it may predate an edit of `.env`).
fn report_running_server(paths: &Paths, configured_on: bool) {
    let Ok(State::Running(running)) = pidfile::inspect(&paths.pid_file) else {
        println!("  server:  not running");
        return;
    };
    let Some(url) = running.record.as_ref().and_then(|r| r.url.clone()) else {
        println!("  server:  starting");
        return;
    };
    let live = Probe::new()
        .ok()
        .and_then(|p| p.info(&url))
        .and_then(|info| info["features"]["authentication"].as_bool());
    match live {
        Some(on) if on == configured_on => {
            println!("  server:  running at {url} with auth {}", on_off(on))
        }
        Some(on) => println!(
            "  server:  running at {url} with auth {} — run `jean2 reload` (or `jean2 restart`) to apply the configuration above",
            on_off(on)
        ),
        None => println!("  server:  running at {url} (not answering)"),
    }
}
