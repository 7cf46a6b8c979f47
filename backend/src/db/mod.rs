//! The database: one connection type over SQLite and PostgreSQL, the pool, migrations and the
//! write transaction every use-case goes through.

pub mod migrations;
pub mod schema;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

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
            DatabaseUrl::Postgres(url) => Ok(DbConnection::Pg(PgConnection::establish(&with_connect_timeout(url))?)),
        }
    }
}

/// Seconds libpq waits for a PostgreSQL host to answer when the URL does not say.
const PG_CONNECT_TIMEOUT_SECS: u32 = 5;

/// The URL with libpq's `connect_timeout` added when it has none: without one, a host that
/// drops packets holds a request (and a blocking thread) for as long as the kernel's TCP
/// retries, where a prompt 503 is what a client can act on.
fn with_connect_timeout(url: &str) -> String {
    if url.contains("connect_timeout") {
        url.to_string()
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let join = if url.contains('?') { '&' } else { '?' };
        format!("{url}{join}connect_timeout={PG_CONNECT_TIMEOUT_SECS}")
    } else {
        // A key=value connection string.
        format!("{url} connect_timeout={PG_CONNECT_TIMEOUT_SECS}")
    }
}

/// How long a request waits for a SQLite write lock another connection holds. Writes take
/// milliseconds, so a wait this long means a stuck or long-running writer: the request answers
/// 503 with Retry-After instead of hanging. (Durability is unchanged: `synchronous=FULL`.)
pub const REQUEST_BUSY_TIMEOUT: Duration = Duration::from_secs(2);

/// How long a request waits for a free connection while the database answers.
const CHECKOUT_WAIT: Duration = Duration::from_secs(10);

/// How long a request waits for a connection while the database is unreachable (the last
/// attempt to connect failed): long enough for a reconnect under way, short enough to answer
/// 503 at once instead of queueing every request for the full wait.
const UNREACHABLE_WAIT: Duration = Duration::from_millis(1000);

/// The pool's own connect timeout; reconnect attempts back off to half of it, so a database
/// that comes back is used again within about a second, without a restart.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Whether the last attempt to open a connection failed, shared by the pool and its manager.
#[derive(Debug, Default)]
struct Health {
    unreachable: AtomicBool,
}

/// Connection manager for the r2d2 pool (ours, so the URL's scheme picks the engine).
#[derive(Debug)]
pub struct Manager {
    url: DatabaseUrl,
    health: Arc<Health>,
}

impl ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConnection, Self::Error> {
        let result = self.url.connect().and_then(|mut conn| {
            if let DbConnection::Sqlite(c) = &mut conn {
                c.batch_execute(&format!("PRAGMA busy_timeout = {}", REQUEST_BUSY_TIMEOUT.as_millis()))
                    .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?;
            }
            Ok(conn)
        });
        self.health.unreachable.store(result.is_err(), Ordering::Relaxed);
        result.map_err(diesel::r2d2::Error::ConnectionError)
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), Self::Error> {
        conn.batch_execute("SELECT 1").map_err(diesel::r2d2::Error::QueryError)
    }

    /// A connection goes back to the pool only when no transaction is left open on it: one
    /// returned while a use-case panicked, or whose transaction manager gave up (a failed
    /// rollback), is closed instead. An open transaction on a pooled SQLite connection would
    /// keep the write lock and fail every later write until a restart.
    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        std::thread::panicking()
            || match conn {
                DbConnection::Sqlite(c) => AnsiTransactionManager::is_broken_transaction_manager(c),
                DbConnection::Pg(c) => AnsiTransactionManager::is_broken_transaction_manager(c),
            }
    }
}

/// The pool every request borrows from: r2d2, with a checkout that gives up quickly while the
/// database is unreachable.
#[derive(Clone)]
pub struct Pool {
    inner: r2d2::Pool<Manager>,
    health: Arc<Health>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool").field("state", &self.inner.state()).finish()
    }
}

/// A borrowed connection.
pub type PooledConn = r2d2::PooledConnection<Manager>;

impl Pool {
    /// A connection: waits up to 10 s while the database answers and every connection is busy,
    /// about 1 s while it is unreachable. The wait is taken in slices, so a request that began
    /// waiting before an outage also stops early.
    pub fn get(&self) -> Result<PooledConn, r2d2::PoolError> {
        const SLICE: Duration = Duration::from_millis(250);
        let started = Instant::now();
        loop {
            let limit = if self.reachable() { CHECKOUT_WAIT } else { UNREACHABLE_WAIT };
            let slice = limit.saturating_sub(started.elapsed()).min(SLICE);
            match self.inner.get_timeout(slice) {
                Ok(conn) => return Ok(conn),
                Err(e) => {
                    let limit = if self.reachable() { CHECKOUT_WAIT } else { UNREACHABLE_WAIT };
                    if started.elapsed() >= limit {
                        return Err(e);
                    }
                }
            }
        }
    }

    /// A connection within `timeout`, for probes that must not wait long.
    pub fn get_timeout(&self, timeout: Duration) -> Result<PooledConn, r2d2::PoolError> {
        self.inner.get_timeout(timeout)
    }

    /// False while the last attempt to open a connection failed.
    pub fn reachable(&self) -> bool {
        !self.health.unreachable.load(Ordering::Relaxed)
    }
}

/// Builds the pool, connecting once first: that fails early with a clear message, and on SQLite
/// it switches a new file to WAL before the pool opens several connections at once (the switch
/// needs the file to itself).
pub fn pool(url: &DatabaseUrl, size: u32) -> Result<Pool, r2d2::PoolError> {
    if let Err(e) = url.connect() {
        tracing::debug!(error = %e, "first connection failed; the pool will report it");
    }
    let health = Arc::new(Health::default());
    // Connections open as they are needed and idle ones close after a minute: several
    // instances (or a test run's many servers) share one PostgreSQL's connection limit.
    let inner = r2d2::Pool::builder()
        .max_size(size)
        .min_idle(Some(1))
        .idle_timeout(Some(Duration::from_secs(60)))
        .connection_timeout(CONNECT_TIMEOUT)
        .build(Manager { url: url.clone(), health: health.clone() })?;
    Ok(Pool { inner, health })
}

/// Runs `f` in a write transaction: `BEGIN IMMEDIATE` on SQLite (the write lock is taken up
/// front, so two writers queue on the busy timeout instead of failing half-way), an ordinary
/// transaction on PostgreSQL. Commits when `f` succeeds, rolls back when it fails or panics.
/// Inside another transaction (the first start's seed runs use-cases in one) it is a savepoint.
pub fn write<T, E>(conn: &mut DbConnection, f: impl FnOnce(&mut DbConnection) -> Result<T, E>) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    match conn {
        DbConnection::Sqlite(c) => {
            if in_transaction(c) {
                AnsiTransactionManager::begin_transaction(c)?
            } else {
                AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?
            }
        }
        DbConnection::Pg(c) => AnsiTransactionManager::begin_transaction(c)?,
    }
    let mut guard = RollbackUnlessFinished { conn, finished: false };
    let result = f(guard.conn);
    guard.finished = true;
    let conn = &mut *guard.conn;
    match result {
        Ok(value) => {
            match conn {
                DbConnection::Sqlite(c) => AnsiTransactionManager::commit_transaction(c)?,
                DbConnection::Pg(c) => AnsiTransactionManager::commit_transaction(c)?,
            }
            Ok(value)
        }
        Err(error) => {
            rollback(conn);
            Err(error)
        }
    }
}

/// Rolls the transaction back if `f` never returned (it panicked): without this the connection
/// would carry the open transaction (and, on SQLite, the write lock) back to the pool.
struct RollbackUnlessFinished<'a> {
    conn: &'a mut DbConnection,
    finished: bool,
}

impl Drop for RollbackUnlessFinished<'_> {
    fn drop(&mut self) {
        if !self.finished {
            rollback(self.conn);
        }
    }
}

fn rollback(conn: &mut DbConnection) {
    let rolled_back = match conn {
        DbConnection::Sqlite(c) => AnsiTransactionManager::rollback_transaction(c),
        DbConnection::Pg(c) => AnsiTransactionManager::rollback_transaction(c),
    };
    if let Err(e) = rolled_back {
        tracing::error!(error = %e, "rollback failed");
    }
}

fn in_transaction<C>(conn: &mut C) -> bool
where
    C: Connection<TransactionManager = AnsiTransactionManager>,
{
    !matches!(AnsiTransactionManager::transaction_manager_status_mut(conn).transaction_depth(), Ok(None))
}

/// The PostgreSQL advisory lock key of the start-up work ("cground" in ASCII).
const STARTUP_LOCK: i64 = 0x0063_6772_6f75_6e64;

/// How long a starting instance waits on SQLite for another one's migrations and first seed.
const STARTUP_BUSY_TIMEOUT: Duration = Duration::from_secs(600);

/// A connection of its own for the start-up work (migrations and the first seed), taken under
/// the start-up lock so that instances starting together on one database take turns: the first
/// migrates and seeds, the others wait and find it done. On PostgreSQL this is a session
/// advisory lock, released when the connection closes (also when the process is killed); on
/// SQLite the caller's `BEGIN IMMEDIATE` ([`write`]) is the lock, and this connection waits for
/// it as long as a first seed takes. Drop the connection to release the lock.
pub fn startup_connection(url: &DatabaseUrl) -> Result<DbConnection, diesel::ConnectionError> {
    let mut conn = url.connect()?;
    let setup = match &mut conn {
        DbConnection::Sqlite(c) => {
            c.batch_execute(&format!("PRAGMA busy_timeout = {}", STARTUP_BUSY_TIMEOUT.as_millis()))
        }
        DbConnection::Pg(c) => return take_startup_lock(c).map(|()| conn),
    };
    setup.map_err(|e| diesel::ConnectionError::BadConnection(format!("start-up lock: {e}")))?;
    Ok(conn)
}

/// Takes the PostgreSQL start-up lock, saying so when another instance holds it, and giving
/// up with a reason after [`STARTUP_BUSY_TIMEOUT`] rather than waiting for ever on an instance
/// that hangs (a plain `pg_advisory_lock` would wait silently without end).
fn take_startup_lock(conn: &mut diesel::PgConnection) -> Result<(), diesel::ConnectionError> {
    use diesel::sql_types::Bool;
    use diesel::RunQueryDsl;
    let failed = |e: diesel::result::Error| diesel::ConnectionError::BadConnection(format!("start-up lock: {e}"));
    let started = std::time::Instant::now();
    let mut said = false;
    loop {
        let taken: bool = diesel::select(diesel::dsl::sql::<Bool>(&format!("pg_try_advisory_lock({STARTUP_LOCK})")))
            .get_result(conn)
            .map_err(failed)?;
        if taken {
            if said {
                tracing::info!(waited_ms = started.elapsed().as_millis() as u64, "start-up lock taken");
            }
            return Ok(());
        }
        if started.elapsed() >= STARTUP_BUSY_TIMEOUT {
            return Err(diesel::ConnectionError::BadConnection(format!(
                "another instance has held the start-up lock (migrations and first seed) for {} minutes; \
                 if none is starting, look for a stuck one in pg_locks (objid {})",
                STARTUP_BUSY_TIMEOUT.as_secs() / 60,
                STARTUP_LOCK & 0xffff_ffff
            )));
        }
        if !said {
            tracing::info!("another instance is migrating or seeding this database; waiting for it to finish");
            said = true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Which engine a connection talks to.
pub fn is_postgres(conn: &DbConnection) -> bool {
    matches!(conn, DbConnection::Pg(_))
}

#[cfg(test)]
mod connect_timeout_tests {
    use super::with_connect_timeout;

    #[test]
    fn a_postgres_url_gets_a_connect_timeout_unless_it_has_one() {
        assert_eq!(with_connect_timeout("postgres://u@h/db"), "postgres://u@h/db?connect_timeout=5");
        assert_eq!(
            with_connect_timeout("postgresql://h/db?sslmode=require"),
            "postgresql://h/db?sslmode=require&connect_timeout=5"
        );
        assert_eq!(with_connect_timeout("host=h dbname=db"), "host=h dbname=db connect_timeout=5");
        assert_eq!(with_connect_timeout("postgres://h/db?connect_timeout=30"), "postgres://h/db?connect_timeout=30");
    }
}
