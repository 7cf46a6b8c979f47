//! Migrations, embedded per engine. Both folders hold the same migration names; a test checks.

use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::DbConnection;

/// SQLite migrations (`migrations/sqlite`).
pub const SQLITE: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");
/// PostgreSQL migrations (`migrations/postgres`).
pub const POSTGRES: EmbeddedMigrations = embed_migrations!("../migrations/postgres");

/// Error from running migrations.
pub type MigrationError = Box<dyn std::error::Error + Send + Sync>;

/// Applies every pending migration; returns the names applied.
pub fn run_pending(conn: &mut DbConnection) -> Result<Vec<String>, MigrationError> {
    let applied = match conn {
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE)?,
        DbConnection::Pg(c) => c.run_pending_migrations(POSTGRES)?,
    };
    Ok(applied.into_iter().map(|v| v.to_string()).collect())
}

/// Reverts every applied migration (used by the up-down-up test).
pub fn revert_all(conn: &mut DbConnection) -> Result<usize, MigrationError> {
    let reverted = match conn {
        DbConnection::Sqlite(c) => c.revert_all_migrations(SQLITE)?,
        DbConnection::Pg(c) => c.revert_all_migrations(POSTGRES)?,
    };
    Ok(reverted.len())
}
