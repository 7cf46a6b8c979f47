//! Types that validate themselves. Nothing here knows of HTTP, the database or search.

pub mod connection_status;
pub mod contact;
pub mod geo_point;
pub mod listing_state;
pub mod measures;
pub mod nhs_number;
pub mod postcode;
pub mod referral_status;
pub mod roles;
pub mod schedule;
pub mod thresholds;

pub use geo_point::GeoPoint;
pub use listing_state::{Approval, AttendingType, Capacity, ListingStatus};
pub use nhs_number::NhsNumber;
pub use postcode::{OutwardCode, Postcode};
pub use referral_status::ReferralStatus;
pub use thresholds::Thresholds;

/// Field-by-field problems with a request, in the words the person needs (field name to
/// message). Use-cases fill it; `error.rs` shows it.
pub type FieldErrors = std::collections::BTreeMap<String, String>;
