//! End-to-end tests: the real server over HTTP, on SQLite by default or on PostgreSQL when
//! `COMMONGROUND_TEST_DATABASE_URL` is set.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod helpers;

mod accounts;
mod answer_links;
mod authz_matrix;
mod browser;
mod csrf;
mod db_faults;
mod directory_api;
mod directory_pages;
mod fhir;
mod first_start;
mod geocoding;
mod head;
mod hostile_input;
mod index_faults;
mod index_sync;
mod keep_alive;
mod landing;
mod listing_cache;
mod listings;
mod logging;
mod merges;
mod migrations;
mod notifications;
mod notify_api;
mod openapi;
mod operations;
mod oruk_api;
mod oruk_import;
mod page_forms;
mod referrals;
mod referrer_controls;
mod relevance;
mod relevance_eval;
mod relevance_floor;
mod reports;
mod seed_region;
mod session_dates;
mod shared_limits;
mod sign_up;
mod tokens;
