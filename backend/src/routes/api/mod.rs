//! The JSON API under `/api/v1`.

pub mod admin;
pub mod auth;
pub mod coverage;
pub mod data_rights;
pub mod geocode;
pub mod listings;
pub mod openapi;
pub mod referrals;
pub mod reports;
pub mod self_referrals;
pub mod services;
pub mod sign_up;
pub mod taxonomy;
pub mod triage;
