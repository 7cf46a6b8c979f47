//! Open Referral UK (the UK profile of HSDS 3.0): the read-only API's records ([`model`]), how
//! the directory's public listings become them ([`export`], with the query parameters checked in
//! [`query`]), how an ORUK file is merged into the directory ([`import`]), and the ORUK fields an
//! import keeps that the directory does not use itself ([`kept`]).
//!
//! The profile's schemas and examples are Creative Commons Attribution Share-Alike 4.0:
//! "Human Services Data Specification: an Open Referral resource (https://openreferral.org/)".

pub mod export;
pub mod import;
pub mod kept;
pub mod model;
pub mod query;

use crate::directory::taxonomy::Vocabulary;

/// The vocabularies published as ORUK taxonomies (referral reasons are not about the directory).
pub const PUBLISHED_VOCABULARIES: [Vocabulary; 3] =
    [Vocabulary::Category, Vocabulary::Audience, Vocabulary::Accessibility];

/// A stable UUID for an ORUK record that has no row of its own here (an address, a phone, a
/// link to a term), derived from what it belongs to, so the same record keeps its id.
pub fn derived_id(kind: &str, key: &str) -> String {
    crate::ids::stable_id(&format!("oruk/{kind}/{key}"))
}

/// The ORUK taxonomy id of a vocabulary.
pub fn taxonomy_id(vocabulary: Vocabulary) -> String {
    derived_id("taxonomy", vocabulary.as_str())
}
