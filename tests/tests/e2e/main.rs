//! End-to-end tests: the real server over HTTP, on SQLite by default or on PostgreSQL when
//! `COMMONGROUND_TEST_DATABASE_URL` is set.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod helpers;

mod accounts;
mod answer_links;
mod authz_matrix;
mod csrf;
mod data_rights;
mod db_faults;
mod directory_api;
mod directory_pages;
mod fhir;
mod first_start;
mod geocoding;
mod hazard_log;
mod head;
mod hostile_input;
mod idle;
mod index_faults;
mod index_sync;
mod keep_alive;
mod listing_cache;
mod listings;
mod logging;
mod merges;
mod migrations;
mod notifications;
mod notify_api;
mod one_case;
mod openapi;
mod operations;
mod oruk_api;
mod oruk_import;
mod oruk_publishing;
mod oruk_round_trip;
mod page_forms;
mod person_page;
mod referral_sources;
mod referrals;
mod relevance;
mod relevance_eval;
mod relevance_floor;
mod report_disclosure;
mod reports;
mod retention;
mod risk_flags;
mod seed_region;
mod self_referral;
mod service_areas;
mod session_dates;
mod shared_limits;
mod shortlist;
mod sign_up;
mod tokens;
mod triage;
