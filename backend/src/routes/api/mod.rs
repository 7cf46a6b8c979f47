//! The JSON API under `/api/v1`.

pub mod geocode;
pub mod services;
pub mod taxonomy;
