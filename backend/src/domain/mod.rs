//! Types that validate themselves. Nothing here knows of HTTP, the database or search.

pub mod connection_status;
pub mod geo_point;
pub mod measures;
pub mod nhs_number;
pub mod postcode;
pub mod referral_status;
pub mod schedule;

pub use geo_point::GeoPoint;
pub use nhs_number::NhsNumber;
pub use postcode::{OutwardCode, Postcode};
pub use referral_status::ReferralStatus;
