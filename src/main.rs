//! The `jean2` binary: parse the command line; daemon commands run without an async runtime;
//! `server` builds the runtime and serves in the foreground.

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;

use jean2::cli::{Cli, Command, ServeArgs};
use jean2::config::Settings;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Server(args) => foreground(args),
        Command::Users(c) => jean2::admin::users(c),
        Command::Apps(c) => jean2::admin::apps(c),
        Command::Keys(c) => jean2::admin::keys(c),
        Command::Version => {
            println!("jean2 {}", env!("CARGO_PKG_VERSION"));
            Ok(ExitCode::SUCCESS)
        }
        other => {
            eprintln!("jean2: `{other:?}` is not available yet");
            Ok(ExitCode::FAILURE)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("jean2: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `jean2 server`: load settings, bind, serve until SIGINT/SIGTERM, reload on SIGHUP.
fn foreground(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let overrides = args.overrides();
    let (settings, report) = Settings::load(&overrides)?;
    init_tracing(&settings.log_filter);
    for w in &report.warnings {
        tracing::warn!("{w}");
    }
    let addr = format!("{}:{}", settings.host, settings.port);
    let listener = std::net::TcpListener::bind(&addr).map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::AddrInUse {
            format!(
                " (port {} is in use: is jean2 already running? try `jean2 status`, or choose another port with -p / JEAN2_PORT)",
                settings.port
            )
        } else {
            String::new()
        };
        anyhow::anyhow!("cannot listen on {addr}: {e}{hint}")
    })?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let reloader = jean2::server::Reloader {
            signals: jean2::server::shutdown::reload_signals()?,
            load: Box::new(move || Settings::load(&overrides).map(|(s, _)| s)),
        };
        jean2::server::serve(
            settings,
            listener,
            jean2::server::shutdown::terminate_signal(),
            Some(reloader),
        )
        .await
    })?;
    Ok(ExitCode::SUCCESS)
}

fn init_tracing(filter: &str) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stdout().is_terminal())
        .with_target(false)
        .init();
}
