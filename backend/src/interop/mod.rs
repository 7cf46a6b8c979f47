//! Exchanging the directory with other systems: the Open Referral UK 3.0 API and import.

pub mod oruk;
