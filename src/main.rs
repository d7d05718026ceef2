//! The `jean2` binary: parse the command line; daemon commands run without an async runtime
//! (`start` re-executes this binary as `jean2 server` before any runtime exists); `server` takes
//! the pidfile lock, binds, builds the runtime and serves in the foreground.

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;

use jean2::cli::{Cli, Command, ServeArgs};
use jean2::config::Settings;
use jean2::daemon::{control, log, pidfile, spawn, token};
use jean2::layers::logging::Rotation;

#[cfg(feature = "jemalloc")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Server(args) => foreground(args),
        Command::Start(args) => spawn::start(&args.overrides()),
        Command::Stop => control::stop(),
        Command::Restart(args) => control::restart(&args.overrides()),
        Command::Status => control::status(),
        Command::Logs(args) => log::logs(args.lines, !args.no_follow),
        Command::Auth => token::auth(),
        Command::Reload => control::reload(),
        Command::Open => jean2::daemon::open::open(),
        Command::Users(c) => jean2::admin::users(c),
        Command::Apps(c) => jean2::admin::apps(c),
        Command::Keys(c) => jean2::admin::keys(c),
        Command::Version => {
            jean2::console::say!("jean2 {}", jean2::VERSION);
            Ok(ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", message(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes, leaving out a cause whose text the message already contains
/// (several error types print their source themselves).
fn message(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let part = cause.to_string();
        if !text.contains(&part) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&part);
        }
    }
    text
}

/// `jean2 server`: load settings, lock the pidfile, bind, serve until SIGINT/SIGTERM, reload on
/// SIGHUP. The pidfile gets the bound port once the signal handlers are in place.
fn foreground(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let overrides = args.overrides();
    let (settings, report) = Settings::load(&overrides)?;
    // Held until the server has stopped: dropping it writes out the lines still queued.
    let rotation = Rotation::of_stdout(&settings.log_file(), settings.log_max_bytes);
    let _log = jean2::layers::logging::init(&settings.log_filter, rotation);
    // Without its background thread jemalloc purges freed pages only when it allocates again,
    // so an idle server would keep the memory of a past spike.
    #[cfg(feature = "jemalloc")]
    if let Err(e) = tikv_jemalloc_ctl::background_thread::write(true) {
        tracing::warn!(error = %e, "cannot start the allocator's background thread");
    }
    for w in &report.warnings {
        tracing::warn!("{w}");
    }
    let started_at = jean2::time::now_iso();
    let record = |port: Option<u16>| pidfile::Record {
        pid: std::process::id(),
        port,
        host: settings.host.clone(),
        started_at: started_at.clone(),
        version: jean2::VERSION.to_owned(),
        url: port.map(|p| settings.local_url(p)),
    };
    let mut pidfile = pidfile::PidfileGuard::acquire(&settings.pid_file(), &record(None))?;
    let addr = format!("{}:{}", settings.host, settings.port);
    let listener = std::net::TcpListener::bind(&addr).map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::AddrInUse {
            format!(
                " (port {} is in use by another program, perhaps a jean2 with another JEAN2_DATA_DIR; choose another port with -p or JEAN2_PORT)",
                settings.port
            )
        } else {
            String::new()
        };
        anyhow::anyhow!("cannot listen on {addr}: {e}{hint}")
    })?;
    let port = listener
        .local_addr()
        .context("the listener has no local address")?
        .port();
    let serving = record(Some(port));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let reloader = jean2::server::Reloader {
            signals: jean2::server::shutdown::reload_signals()?,
            load: Box::new(move || Settings::load(&overrides).map(|(s, _)| s)),
        };
        // Only now may `jean2 reload` send SIGHUP: the handler is installed.
        pidfile
            .write(&serving)
            .with_context(|| format!("cannot write {}", pidfile.path().display()))?;
        let result = jean2::server::serve(
            settings,
            listener,
            jean2::server::shutdown::terminate_signal(),
            Some(reloader),
        )
        .await;
        drop(pidfile);
        result
    })?;
    Ok(ExitCode::SUCCESS)
}
