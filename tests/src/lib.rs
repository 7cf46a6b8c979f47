//! End-to-end suites for Common Ground live in `tests/e2e/` (one test binary, so the workspace
//! links once). They start the real server on a free port with its own database and index and
//! talk HTTP to it. Set `COMMONGROUND_TEST_DATABASE_URL=postgres://...` to run every suite on
//! PostgreSQL instead of SQLite.
//!
//! The library holds the real servers those suites and the notification benchmark talk to on
//! loopback: [`smtp_sink::SmtpSink`] and [`notify_stub::NotifyStub`].

// Test servers: a poisoned lock or a port that cannot be bound should stop the test loudly.
#![expect(clippy::unwrap_used, reason = "test servers fail loudly")]

pub mod notify_stub;
pub mod smtp_sink;
