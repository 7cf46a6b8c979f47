//! The database: one connection type over SQLite and PostgreSQL, the pool, migrations and the
//! write transaction every use-case goes through.

pub mod migrations;
pub mod schema;

use std::path::PathBuf;
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::r2d2::{self, ManageConnection};
use diesel::{Connection, PgConnection, SqliteConnection};

pub use connection::DbConnection;

mod connection {
    //! The derive generates public helper types (`MultiBackend`, ...) that cannot carry docs.
    #![allow(missing_docs)]

    use diesel::{PgConnection, SqliteConnection};

    /// A connection to either engine; queries are written once against it.
    #[derive(diesel::MultiConnection)]
    pub enum DbConnection {
        /// The embedded default.
        Sqlite(SqliteConnection),
        /// For larger and multi-instance deployments.
        Pg(PgConnection),
    }
}

/// Which database to open.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A SQLite file (created when missing).
    Sqlite(PathBuf),
    /// A PostgreSQL connection string.
    Postgres(String),
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl DatabaseUrl {
    /// `postgres://` and `postgresql://` mean PostgreSQL; `sqlite://PATH` or a plain path, SQLite.
    /// The scheme decides: a PostgreSQL server that is down never silently becomes a SQLite file.
    pub fn parse(url: &str) -> Self {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            DatabaseUrl::Postgres(url.to_string())
        } else {
            DatabaseUrl::Sqlite(PathBuf::from(url.strip_prefix("sqlite://").unwrap_or(url)))
        }
    }

    /// For logs: the engine and where, without credentials.
    pub fn describe(&self) -> String {
        match self {
            DatabaseUrl::Sqlite(path) => format!("SQLite {}", path.display()),
            DatabaseUrl::Postgres(url) => {
                let host = url
                    .rsplit('@')
                    .next()
                    .unwrap_or("")
                    .trim_start_matches("postgres://")
                    .trim_start_matches("postgresql://");
                format!("PostgreSQL {host}")
            }
        }
    }

    /// Opens one connection, configured for durability.
    pub fn connect(&self) -> Result<DbConnection, diesel::ConnectionError> {
        match self {
            DatabaseUrl::Sqlite(path) => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent)
                        .map_err(|e| diesel::ConnectionError::BadConnection(format!("{}: {e}", parent.display())))?;
                }
                let mut conn = SqliteConnection::establish(&path.to_string_lossy())?;
                // WAL lets readers run beside the writer; synchronous=FULL means an acknowledged
                // write survives a power cut; foreign keys are off by default in SQLite.
                // busy_timeout first: switching to WAL needs a moment of exclusive access, and
                // the pool opens several connections at once.
                conn.batch_execute(
                    "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                     PRAGMA foreign_keys = ON;",
                )
                .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?;
                Ok(DbConnection::Sqlite(conn))
            }
            DatabaseUrl::Postgres(url) => Ok(DbConnection::Pg(PgConnection::establish(url)?)),
        }
    }
}

/// Connection manager for the r2d2 pool (ours, so the URL's scheme picks the engine).
#[derive(Debug)]
pub struct Manager {
    url: DatabaseUrl,
}

impl ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConnection, Self::Error> {
        self.url.connect().map_err(diesel::r2d2::Error::ConnectionError)
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), Self::Error> {
        conn.batch_execute("SELECT 1").map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, _conn: &mut DbConnection) -> bool {
        false
    }
}

/// The pool every request borrows from.
pub type Pool = r2d2::Pool<Manager>;

/// A borrowed connection.
pub type PooledConn = r2d2::PooledConnection<Manager>;

/// Builds the pool, connecting once first: that fails early with a clear message, and on SQLite
/// it switches a new file to WAL before the pool opens several connections at once (the switch
/// needs the file to itself).
pub fn pool(url: &DatabaseUrl, size: u32) -> Result<Pool, r2d2::PoolError> {
    if let Err(e) = url.connect() {
        tracing::debug!(error = %e, "first connection failed; the pool will report it");
    }
    // Connections open as they are needed and idle ones close after a minute: several
    // instances (or a test run's many servers) share one PostgreSQL's connection limit.
    r2d2::Pool::builder()
        .max_size(size)
        .min_idle(Some(1))
        .idle_timeout(Some(Duration::from_secs(60)))
        .connection_timeout(Duration::from_secs(15))
        .build(Manager { url: url.clone() })
}

/// Runs `f` in a write transaction: `BEGIN IMMEDIATE` on SQLite (the write lock is taken up
/// front, so two writers queue on the busy timeout instead of failing half-way), an ordinary
/// transaction on PostgreSQL. Commits when `f` succeeds, rolls back otherwise.
pub fn write<T, E>(conn: &mut DbConnection, f: impl FnOnce(&mut DbConnection) -> Result<T, E>) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    match conn {
        DbConnection::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?,
        DbConnection::Pg(c) => AnsiTransactionManager::begin_transaction(c)?,
    }
    match f(conn) {
        Ok(value) => {
            match conn {
                DbConnection::Sqlite(c) => AnsiTransactionManager::commit_transaction(c)?,
                DbConnection::Pg(c) => AnsiTransactionManager::commit_transaction(c)?,
            }
            Ok(value)
        }
        Err(error) => {
            let rolled_back = match conn {
                DbConnection::Sqlite(c) => AnsiTransactionManager::rollback_transaction(c),
                DbConnection::Pg(c) => AnsiTransactionManager::rollback_transaction(c),
            };
            if let Err(e) = rolled_back {
                tracing::error!(error = %e, "rollback failed");
            }
            Err(error)
        }
    }
}

/// Which engine a connection talks to.
pub fn is_postgres(conn: &DbConnection) -> bool {
    matches!(conn, DbConnection::Pg(_))
}
