//! End-to-end tests: the real server over HTTP, on SQLite by default or on PostgreSQL when
//! `COMMONGROUND_TEST_DATABASE_URL` is set.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod helpers;

mod accounts;
mod authz_matrix;
mod directory_api;
mod directory_pages;
mod fhir;
mod geocoding;
mod index_sync;
mod keep_alive;
mod listings;
mod migrations;
mod openapi;
mod operations;
mod oruk_api;
mod oruk_import;
mod referrals;
mod relevance;
mod reports;
mod seed_region;
mod session_dates;
mod sign_up;
mod tokens;
