//! Opening connections: plain or TLS (rustls with ring, the certificate verified), the errors
//! of a failed start told apart (server unreachable, database missing, login refused), and a
//! unique violation put in the words SQLite uses.

use std::sync::Arc;

use deadpool_postgres::{Manager, ManagerConfig};
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_postgres::error::SqlState;
use tokio_postgres::{AsyncMessage, Client, Config, Connection, NoTls, Notification, Socket};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::DatabaseUrl;

/// The notifications a dedicated connection receives; closed when the connection ends.
pub type Messages = mpsc::UnboundedReceiver<Notification>;

/// How connections are made: plain, or TLS.
#[derive(Clone)]
pub(crate) enum Connector {
    Plain,
    Tls(MakeRustlsConnect),
}

impl Connector {
    pub(crate) fn new(url: &DatabaseUrl) -> Result<Connector, String> {
        if !url.tls() {
            return Ok(Connector::Plain);
        }
        let mut roots = rustls::RootCertStore::empty();
        match url.root_cert() {
            Some(path) => {
                use rustls::pki_types::CertificateDer;
                use rustls::pki_types::pem::PemObject;
                let certs = CertificateDer::pem_file_iter(path)
                    .and_then(|i| i.collect::<Result<Vec<_>, _>>())
                    .map_err(|e| format!("cannot read sslrootcert={}: {e}", path.display()))?;
                for cert in certs {
                    roots
                        .add(cert)
                        .map_err(|e| format!("sslrootcert={}: {e}", path.display()))?;
                }
            }
            None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Connector::Tls(MakeRustlsConnect::new(config)))
    }

    /// The pool's connection manager.
    pub(crate) fn manager(&self, config: Config, manager: ManagerConfig) -> Manager {
        match self {
            Connector::Plain => Manager::from_config(config, NoTls, manager),
            Connector::Tls(tls) => Manager::from_config(config, tls.clone(), manager),
        }
    }

    /// One connection, driven by a task of its own.
    pub(crate) async fn connect(
        &self,
        config: &Config,
    ) -> Result<(Client, JoinHandle<()>), tokio_postgres::Error> {
        let (client, mut messages) = self.connect_streaming(config).await?;
        let task = tokio::spawn(async move { while messages.recv().await.is_some() {} });
        Ok((client, task))
    }

    /// One connection whose notifications arrive on the returned channel.
    pub(crate) async fn connect_streaming(
        &self,
        config: &Config,
    ) -> Result<(Client, Messages), tokio_postgres::Error> {
        match self {
            Connector::Plain => {
                let (client, conn) = config.connect(NoTls).await?;
                Ok((client, drive(conn)))
            }
            Connector::Tls(tls) => {
                let (client, conn) = config.connect(tls.clone()).await?;
                Ok((client, drive(conn)))
            }
        }
    }
}

/// The first connection of a start: while the server says it is starting up (it was started
/// beside jean2, or is recovering), wait for it, up to a minute; any other failure at once.
pub(crate) async fn first(
    connector: &Connector,
    config: &Config,
) -> Result<(Client, JoinHandle<()>), tokio_postgres::Error> {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        match connector.connect(config).await {
            Err(e)
                if e.code() == Some(&SqlState::CANNOT_CONNECT_NOW)
                    && tokio::time::Instant::now() < deadline =>
            {
                tracing::info!("PostgreSQL is starting up; waiting for it");
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            other => return other,
        }
    }
}

/// Drive a connection on a task, passing its notifications on.
fn drive<T>(mut conn: Connection<Socket, T>) -> Messages
where
    T: tokio_postgres::tls::TlsStream + Unpin + Send + 'static,
{
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut stream = futures_util::stream::poll_fn(move |cx| conn.poll_message(cx));
        while let Some(message) = stream.next().await {
            match message {
                Ok(AsyncMessage::Notification(n)) => {
                    let _ = tx.send(n);
                }
                Ok(AsyncMessage::Notice(n)) => {
                    tracing::debug!(notice = %n.message(), "PostgreSQL notice");
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!(error = %e, "a PostgreSQL connection ended");
                    break;
                }
            }
        }
    });
    rx
}

/// Why the first connection failed, in words that say what to fix.
pub(crate) fn describe(e: &tokio_postgres::Error, config: &Config) -> String {
    let host = config
        .get_hosts()
        .first()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(h) => h.clone(),
            tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".to_owned());
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let dbname = config.get_dbname().unwrap_or_default();
    let user = config.get_user().unwrap_or_default();
    let Some(db) = e.as_db_error() else {
        let cause = std::error::Error::source(e).map_or_else(|| e.to_string(), |s| s.to_string());
        return format!(
            "cannot reach the PostgreSQL server at {host}:{port} ({cause}); is it running, \
             and does JEAN2_DATABASE_URL name the right host and port?"
        );
    };
    match *db.code() {
        SqlState::INVALID_CATALOG_NAME => format!(
            "the database {dbname:?} does not exist on {host}:{port}; create it first \
             (createdb -h {host} -p {port} -U {user} {dbname})"
        ),
        SqlState::INVALID_PASSWORD | SqlState::INVALID_AUTHORIZATION_SPECIFICATION => format!(
            "PostgreSQL at {host}:{port} refused the login of user {user:?} ({}); check the user \
             and password in JEAN2_DATABASE_URL",
            db.message()
        ),
        _ => format!(
            "PostgreSQL at {host}:{port} refused the connection: {}",
            db.message()
        ),
    }
}

/// A unique violation, as SQLite words it (`UNIQUE constraint failed: table.column`).
pub fn unique_violation(e: &tokio_postgres::Error) -> Option<String> {
    let db = e.as_db_error()?;
    if *db.code() != SqlState::UNIQUE_VIOLATION {
        return None;
    }
    // The detail reads `Key (a, b)=(…) already exists.`
    let columns = db
        .detail()
        .and_then(|d| d.strip_prefix("Key ("))
        .and_then(|d| d.split_once(")="))
        .map(|(cols, _)| cols.to_owned())
        .unwrap_or_default();
    let table = db.table().unwrap_or("?");
    let named: Vec<String> = columns
        .split(", ")
        .filter(|c| !c.is_empty())
        .map(|c| format!("{table}.{c}"))
        .collect();
    Some(format!("UNIQUE constraint failed: {}", named.join(", ")))
}
