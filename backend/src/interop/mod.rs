//! Talking to other systems: the Open Referral UK 3.0 API and import, and FHIR R4 export of
//! referrals for GP systems.

pub mod fhir;
pub mod oruk;
