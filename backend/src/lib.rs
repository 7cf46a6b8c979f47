//! Common Ground: a social prescribing platform for the NHS. GP practice teams refer people to
//! link workers, who connect them with community groups found in a geo-tagged directory.
//!
//! This crate is the server and its use-cases; the `commonground` binary (`main.rs`) is a thin
//! command line over it, and the end-to-end tests drive it through [`startup::Application`].

pub mod accounts;
pub mod config;
pub mod data_rights;
pub mod db;
pub mod directory;
pub mod domain;
pub mod error;
pub mod ids;
pub mod interop;
pub mod notifications;
pub mod person;
pub mod referrals;
pub mod reports;
pub mod retention;
pub mod routes;
pub mod scheduler;
pub mod spreadsheet;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod templates;
