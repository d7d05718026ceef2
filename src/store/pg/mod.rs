//! The PostgreSQL backend: a deadpool pool of tokio-postgres connections (statements prepared
//! once per connection), migrations from `migrations/postgres/` run at open ([`migrate`]), and
//! one file per aggregate with the same methods as the SQLite backend, returning the same rows
//! (decoded by the same functions, [`super::rows`]) and the same errors. What several
//! instances share beyond the data lives in [`cluster`].
//!
//! A connection the server closed (a PostgreSQL restart) is dropped when it is next handed out
//! (its task has ended) and a new one is made, so the pool recovers without restarting jean2;
//! a query that was running on it at that moment fails once.

mod agent;
mod apps;
pub mod cluster;
mod compaction;
mod connect;
mod fork;
mod messages;
mod migrate;
mod oauth;
mod pins;
pub mod runners;
mod session_ops;
mod sessions;
mod sessions_list;
#[cfg(test)]
pub(crate) mod testdb;
#[cfg(test)]
mod tests;
mod users;
mod workspaces;

use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::error::{BackendError, Fail, StoreError};
pub use crate::config::DatabaseUrl;
use connect::Connector;
pub use connect::{Messages, unique_violation};

/// Parameters of a query.
pub(crate) type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// How long a request waits for a free connection before it fails.
const WAIT: Duration = Duration::from_secs(30);
/// How long opening one connection may take.
const CONNECT: Duration = Duration::from_secs(10);

/// The PostgreSQL handle; cheap to clone.
#[derive(Clone)]
pub struct Postgres {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    url: DatabaseUrl,
    connector: Connector,
    /// This process among the instances on the database (a fresh UUID per start).
    instance: String,
}

/// A driver error in domain terms.
pub(crate) fn db(e: impl Into<Fail>) -> StoreError {
    e.into().into_store()
}

impl Postgres {
    /// Connect (checking the server, the database and the login with one connection first, so
    /// each failure is told apart), run the migrations, then open the pool.
    pub(crate) async fn open(url: &DatabaseUrl, pool_size: usize) -> Result<Postgres, StoreError> {
        let open_err = |msg: String| StoreError::Open {
            path: url.shown().to_owned(),
            source: BackendError::msg(msg),
        };
        let mut config = url.config().map_err(open_err)?;
        config
            .connect_timeout(CONNECT)
            .application_name("jean2")
            .keepalives_idle(Duration::from_secs(30));
        let connector = Connector::new(url).map_err(open_err)?;
        let (mut client, task) = connect::first(&connector, &config)
            .await
            .map_err(|e| open_err(connect::describe(&e, &config)))?;
        let migrated = migrate::run(&mut client).await;
        drop(client);
        task.abort();
        migrated?;
        let manager = connector.manager(
            config,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(pool_size)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(WAIT))
            .create_timeout(Some(CONNECT))
            .recycle_timeout(Some(CONNECT))
            .build()
            .map_err(|e| open_err(e.to_string()))?;
        Ok(Postgres {
            inner: Arc::new(Inner {
                pool,
                url: url.clone(),
                connector,
                instance: uuid::Uuid::new_v4().to_string(),
            }),
        })
    }

    /// This process's instance id.
    pub fn instance(&self) -> &str {
        &self.inner.instance
    }

    /// The URL it was opened with.
    pub fn url(&self) -> &DatabaseUrl {
        &self.inner.url
    }

    /// A connection of its own, outside the pool (for `LISTEN`): the client and the task that
    /// drives it, whose messages (notifications) arrive on `messages`.
    pub async fn dedicated(&self) -> Result<(tokio_postgres::Client, Messages), StoreError> {
        let mut config = self.inner.url.config().map_err(|e| db_msg(&e))?;
        config.connect_timeout(CONNECT).application_name("jean2");
        self.inner
            .connector
            .connect_streaming(&config)
            .await
            .map_err(db)
    }

    /// A pooled connection.
    pub(crate) async fn conn(&self) -> Result<Object, StoreError> {
        self.inner.pool.get().await.map_err(db)
    }

    /// Every row of `sql`.
    pub(crate) async fn query(
        &self,
        sql: &str,
        params: Params<'_>,
    ) -> Result<Vec<Row>, StoreError> {
        let c = self.conn().await?;
        let st = c.prepare_cached(sql).await.map_err(db)?;
        c.query(&st, params).await.map_err(db)
    }

    /// The first row of `sql`, if any.
    pub(crate) async fn query_opt(
        &self,
        sql: &str,
        params: Params<'_>,
    ) -> Result<Option<Row>, StoreError> {
        let c = self.conn().await?;
        let st = c.prepare_cached(sql).await.map_err(db)?;
        match c.query_opt(&st, params).await {
            Err(e) if unholdable(&e) => Ok(None),
            other => other.map_err(db),
        }
    }

    /// Run one statement; the number of rows it changed.
    pub(crate) async fn execute(&self, sql: &str, params: Params<'_>) -> Result<u64, StoreError> {
        let c = self.conn().await?;
        let st = c.prepare_cached(sql).await.map_err(db)?;
        c.execute(&st, params).await.map_err(db)
    }

    /// Close the pool: later calls fail with [`StoreError::Closed`].
    pub(crate) async fn close(&self) {
        self.inner.pool.close();
    }
}

/// A parameter PostgreSQL's text cannot hold (`\0`): no stored row can equal it.
fn unholdable(e: &tokio_postgres::Error) -> bool {
    e.code() == Some(&tokio_postgres::error::SqlState::CHARACTER_NOT_IN_REPERTOIRE)
}

fn db_msg(m: &str) -> StoreError {
    StoreError::Db(BackendError::msg(m.to_owned()))
}

/// Run one statement inside a transaction.
pub(crate) async fn exec_in(
    tx: &deadpool_postgres::Transaction<'_>,
    sql: &str,
    params: Params<'_>,
) -> Result<u64, StoreError> {
    let st = tx.prepare_cached(sql).await.map_err(db)?;
    tx.execute(&st, params).await.map_err(db)
}

/// The rows of one statement inside a transaction.
pub(crate) async fn query_in(
    tx: &deadpool_postgres::Transaction<'_>,
    sql: &str,
    params: Params<'_>,
) -> Result<Vec<Row>, StoreError> {
    let st = tx.prepare_cached(sql).await.map_err(db)?;
    tx.query(&st, params).await.map_err(db)
}

/// `sql` with SQLite's `?N` placeholders as PostgreSQL's `$N` (where the two dialects agree,
/// the SQLite text is reused as it is).
pub(crate) fn dollars(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out
}
