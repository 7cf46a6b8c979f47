//! Types that validate themselves. Nothing here knows of HTTP, the database or search.

pub mod geo_point;
pub mod postcode;
pub mod schedule;

pub use geo_point::GeoPoint;
pub use postcode::{OutwardCode, Postcode};
