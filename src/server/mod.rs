//! `run(settings, listener, shutdown)`: serve the router on an already-bound listener, plain or
//! with rustls, until `shutdown` resolves; then close every WebSocket with a close frame and let
//! in-flight requests finish. Production passes signals; tests pass a oneshot.

mod acceptors;
pub mod conns;
pub mod fds;
pub mod head;
pub mod limit;
mod reload;
pub mod shutdown;
pub mod timer;
pub mod tls;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use axum_server::tls_rustls::RustlsConfig;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::app::AppState;
use crate::auth::Auth;
use crate::auth::oauth::OAuth;
use crate::config::{ConfigError, Settings};
use crate::store::Store;

/// How long in-flight requests get to finish after shutdown begins.
pub const GRACE: Duration = Duration::from_secs(10);
/// Largest request head (headers) accepted; more is answered 431.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

/// How `jean2 reload` (SIGHUP) reaches a running server: a signal channel, and the function
/// that reads the configuration again.
pub struct Reloader {
    pub signals: mpsc::Receiver<()>,
    pub load: Box<dyn Fn() -> Result<Settings, ConfigError> + Send>,
}

/// Serve until `shutdown` resolves.
pub async fn run(
    settings: Settings,
    listener: std::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    serve(settings, listener, shutdown, None).await
}

/// [`run`], plus reloading of the token and certificate on each reload signal.
pub async fn serve(
    settings: Settings,
    listener: std::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
    reloader: Option<Reloader>,
) -> anyhow::Result<()> {
    let tls = match &settings.tls {
        Some(files) => Some(RustlsConfig::from_config(tls::load(files)?)),
        None => None,
    };
    let local: SocketAddr = listener
        .local_addr()
        .context("listener has no local address")?;
    listener
        .set_nonblocking(true)
        .context("cannot make the listener non-blocking")?;
    // Judged by the address actually bound, whatever name the configuration gave.
    let auth_off = settings.auth_token.is_none() && !settings.oauth.enabled;
    if auth_off && !local.ip().is_loopback() && !settings.allow_no_auth {
        anyhow::bail!(
            "refusing to serve on {local} without authentication: set JEAN2_AUTH_TOKEN, bind to \
             127.0.0.1, or opt in with --allow-no-auth / JEAN2_ALLOW_NO_AUTH=true"
        );
    }
    let cancel = CancellationToken::new();
    let state = build_state(settings, local, cancel.clone()).await?;

    let stopper = conns::Stopper::new();
    {
        let stopper = stopper.clone();
        tokio::spawn(async move {
            shutdown.await;
            tracing::info!("shutting down: closing WebSockets, finishing in-flight requests");
            cancel.cancel();
            stopper.stop(GRACE);
        });
    }
    if let Some(reloader) = reloader {
        tokio::spawn(reload::run(reloader, state.clone(), tls.clone(), local));
    }
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(
        addr = %local,
        auth = if state.auth_enabled() { "on" } else { "off" },
        tls = tls.is_some(),
        database = %database_of(&state.settings),
        "jean2 {} listening on {scheme}://{local}",
        crate::VERSION
    );
    let result = accept(&state, listener, tls, stopper).await;
    // Turns end with "the server shut down" and record it before the store closes.
    state.chat.shut_down(GRACE).await;
    if let Some(oauth) = state.auth.oauth() {
        oauth.flush_usage().await;
    }
    state.store.close().await;
    result.context("server failed")?;
    tracing::info!("stopped");
    Ok(())
}

/// Open the store (recovering what a crash left), start OAuth when it is on, and build the state.
async fn build_state(
    settings: Settings,
    local: SocketAddr,
    cancel: CancellationToken,
) -> anyhow::Result<AppState> {
    let store = open_store(&settings).await?;
    // With PostgreSQL other instances may be running turns and receiving uploads: recovery and
    // the attachment sweep wait until this one knows which are alive (`chat::cluster::start`).
    if store.postgres().is_none() {
        crate::chat::recover::recover(&store).await?;
        crate::chat::recover::sweep_attachments(&store, &settings.data_dir).await;
    }
    let oauth = if settings.oauth.enabled {
        let oauth = OAuth::init(store.clone(), &settings, local.port())
            .await
            .context("cannot start OAuth")?;
        tracing::info!(issuer = %oauth.issuer(), "OAuth 2.1 is on");
        tokio::spawn(oauth.clone().run_housekeeping(cancel.clone()));
        Some(oauth)
    } else {
        None
    };
    let auth = Auth::new(&settings, oauth);
    let state = AppState::new(settings, store, auth, cancel.clone())?;
    // With PostgreSQL, other instances may share the database: events travel between them and
    // one instance runs each session's turns.
    if let Some(pg) = state.store.postgres() {
        pg.register_instance().await?;
        let relay = crate::events::relay::Relay::start(&state.hub, pg.clone(), cancel).await;
        state.hub.attach_relay(relay.clone());
        crate::chat::cluster::start(&state.chat, pg.clone(), relay)
            .await
            .context("cannot join the other instances on the database")?;
    }
    Ok(state)
}

/// The database the settings name: PostgreSQL when `JEAN2_DATABASE_URL` is set, else the
/// SQLite file (backed up first when it is the original server's, which opening migrates).
pub async fn open_store(settings: &Settings) -> anyhow::Result<Store> {
    if let Some(url) = &settings.database_url {
        return Ok(Store::connect(url, settings.database_pool_size).await?);
    }
    crate::config::files::backup_original_database(&settings.data_dir, &settings.database_path)
        .context("cannot back up the original server's database before opening it")?;
    Ok(Store::open(&settings.database_path).await?)
}

/// The database in use, for the log (a URL without its password).
fn database_of(settings: &Settings) -> String {
    match &settings.database_url {
        Some(url) => url.shown().to_owned(),
        None => settings.database_path.display().to_string(),
    }
}

/// Serve connections (through the limits, and TLS when on) until `stopper` stops them.
async fn accept(
    state: &AppState,
    listener: std::net::TcpListener,
    tls: Option<RustlsConfig>,
    stopper: conns::Stopper,
) -> std::io::Result<()> {
    let max_connections = fds::plan(state.settings.max_connections);
    let timeout = state.settings.header_timeout;
    let app = crate::router::build(state.clone());
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let http = http1(timeout);
    match tls {
        Some(config) => {
            let acceptor = acceptors::tls(config, max_connections, timeout);
            conns::serve(listener, acceptor, app, http, stopper).await
        }
        None => {
            let acceptor = acceptors::plain(max_connections, timeout);
            conns::serve(listener, acceptor, app, http, stopper).await
        }
    }
}

/// HTTP/1 only (see [`head`]), with the header timeout also bounding idle keep-alive (its
/// sleeps reused, [`timer`]).
fn http1(header_timeout: Duration) -> hyper::server::conn::http1::Builder {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(timer::HeadTimer::for_timeout(header_timeout))
        .header_read_timeout(header_timeout)
        .max_buf_size(MAX_HEADER_BYTES)
        .keep_alive(true);
    builder
}
