//! `jean2 open`: open the web client the running server serves in the default browser
//! (`xdg-open`, or `open` on macOS), or print its address where there is no browser.
//!
//! A loopback `127.0.0.1` address is opened as `localhost`: the client, on a first visit with no
//! saved server and auth off, looks for a server at `localhost:8742` and adds it by itself, which
//! is then its own origin.

use std::process::{Command, ExitCode, Stdio};

use anyhow::Context as _;

use super::Paths;
use super::control::EXIT_NOT_RUNNING;
use super::pidfile::{self, State};
use super::probe::Probe;

/// The address to open for a server whose pidfile says `url`.
pub fn client_url(url: &str) -> String {
    let url = url.trim_end_matches('/');
    let url = match url.strip_prefix("http://127.0.0.1:") {
        Some(port) => format!("http://localhost:{port}"),
        None => url.to_owned(),
    };
    format!("{url}/")
}

/// The program that opens a URL in the default browser here, if this session has a browser.
fn opener() -> Option<&'static str> {
    if cfg!(target_os = "macos") {
        return Some("open");
    }
    let graphical = ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|x| !x.is_empty()));
    graphical.then_some("xdg-open")
}

pub fn open() -> anyhow::Result<ExitCode> {
    let paths = Paths::from_env()?;
    let state = pidfile::inspect(&paths.pid_file)
        .with_context(|| format!("cannot read {}", paths.pid_file.display()))?;
    let State::Running(running) = state else {
        println!("jean2 is not running; start it with `jean2 start`");
        return Ok(ExitCode::from(EXIT_NOT_RUNNING));
    };
    let Some(url) = running.record.as_ref().and_then(|r| r.url.clone()) else {
        println!("jean2 is still starting; try again in a moment");
        return Ok(ExitCode::from(EXIT_NOT_RUNNING));
    };
    let serves_client = Probe::new()
        .ok()
        .and_then(|p| p.info(&url))
        .and_then(|info| info["features"]["client"].as_bool());
    if serves_client == Some(false) {
        println!(
            "jean2 at {url} serves no web client. Put a built Jean2 client in {} (or set JEAN2_CLIENT_DIR to one) and run `jean2 restart`.",
            paths.data_dir.join("client").display()
        );
        return Ok(ExitCode::FAILURE);
    }
    let target = client_url(&url);
    let launched = opener().is_some_and(|program| {
        Command::new(program)
            .arg(&target)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .is_ok()
    });
    if launched {
        println!("Opening {target}");
    } else {
        println!("Open {target} in your browser.");
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_opened_as_localhost() {
        assert_eq!(
            client_url("http://127.0.0.1:8742"),
            "http://localhost:8742/"
        );
        assert_eq!(
            client_url("https://127.0.0.1:8742"),
            "https://127.0.0.1:8742/",
            "a certificate may name the address"
        );
        assert_eq!(client_url("http://[::1]:9000/"), "http://[::1]:9000/");
    }
}
