//! The records of the Open Referral UK 3.0 API, named and shaped as the profile's JSON Schemas
//! (`schema/*.json`). Optional fields are left out when empty (never `""` or `[]`). A few fields that HSDS 3.0 core
//! has and the UK profile does not (`phones`, a contact's `email`, a language's `name`, a cost's
//! `currency`) are added where we hold the data; the profile's schemas allow extra fields.

use serde::{Deserialize, Serialize};

use crate::domain::ListingStatus;

/// Leaves out an optional list with nothing in it (ORUK: no `[]` for "none").
fn none_or_empty<T>(list: &Option<Vec<T>>) -> bool {
    list.as_ref().is_none_or(Vec::is_empty)
}

/// Leaves out an optional text with nothing in it (ORUK: no `""` for "none").
fn blank(text: &Option<String>) -> bool {
    text.as_deref().is_none_or(str_blank)
}

/// Leaves out an optional text field that is empty or only spaces.
fn str_blank(text: &str) -> bool {
    text.trim().is_empty()
}

/// A paged answer (the profile's `Page` schema plus `contents`).
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    /// Matching records in all.
    pub total_items: usize,
    /// Pages in all (0 when nothing matches).
    pub total_pages: usize,
    /// This page, from 1.
    pub page_number: usize,
    /// Records on this page.
    pub size: usize,
    /// Whether this is the first page.
    pub first_page: bool,
    /// Whether this is the last page (or beyond it).
    pub last_page: bool,
    /// Whether this page holds nothing.
    pub empty: bool,
    /// The records.
    pub contents: Vec<T>,
}

impl<T> Page<T> {
    /// A page of `contents` out of `total_items`, `per_page` at a time.
    pub fn new(contents: Vec<T>, total_items: usize, page_number: usize, per_page: usize) -> Self {
        let total_pages = total_items.div_ceil(per_page.max(1));
        Page {
            total_items,
            total_pages,
            page_number,
            size: contents.len(),
            first_page: page_number == 1,
            last_page: page_number >= total_pages,
            empty: contents.is_empty(),
            contents,
        }
    }
}

/// `GET /oruk/`: what this API is.
#[derive(Debug, Clone, Serialize)]
pub struct ApiInfo {
    /// The HSDS version.
    pub version: &'static str,
    /// The profile followed.
    pub profile: &'static str,
    /// The profile's OpenAPI document.
    pub openapi_url: &'static str,
}

/// An organisation running services.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Organization {
    /// Id (UUID).
    pub id: String,
    /// Name.
    pub name: String,
    /// About it.
    pub description: String,
    /// E-mail.
    #[serde(skip_serializing_if = "blank")]
    pub email: Option<String>,
    /// Website.
    #[serde(skip_serializing_if = "blank")]
    pub website: Option<String>,
    /// Phone numbers (HSDS 3.0 core; not in the UK profile).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub phones: Vec<Phone>,
    /// Registered numbers (a charity number, scheme `GB-CHC`, and any an import gave).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub organization_identifiers: Vec<OrganizationIdentifier>,
    /// A logo's web address (kept from an import).
    #[serde(skip_serializing_if = "blank")]
    pub logo: Option<String>,
    /// A persistent identifier such as an Open Corporates address (kept from an import).
    #[serde(skip_serializing_if = "blank")]
    pub uri: Option<String>,
    /// The parent organisation's id (kept from an import).
    #[serde(skip_serializing_if = "blank")]
    pub parent_organization_id: Option<String>,
}

/// A registered number of an organisation.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OrganizationIdentifier {
    /// Id (derived, or kept from an import).
    pub id: String,
    /// The organisation.
    pub organization_id: String,
    /// The org-id.guide scheme, e.g. `GB-CHC`.
    #[serde(skip_serializing_if = "str_blank", default)]
    pub identifier_scheme: String,
    /// For people, e.g. "Charity number".
    pub identifier_type: String,
    /// The number.
    pub identifier: String,
}

/// A phone number.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Phone {
    /// Id (derived).
    pub id: String,
    /// The number as written.
    pub number: String,
}

/// A service: the list form (one-to-one fields and the organisation) or, with the arrays set,
/// the fully nested form.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Service {
    /// Id (UUID).
    pub id: String,
    /// The organisation running it.
    pub organization_id: String,
    /// Name.
    pub name: String,
    /// In full (the one-sentence summary when there is no more).
    #[serde(skip_serializing_if = "str_blank")]
    pub description: String,
    /// Web page.
    #[serde(skip_serializing_if = "blank")]
    pub url: Option<String>,
    /// E-mail.
    #[serde(skip_serializing_if = "blank")]
    pub email: Option<String>,
    /// `active`, `inactive`, `defunct` or `temporarily closed`.
    pub status: ListingStatus,
    /// Words about cost.
    #[serde(skip_serializing_if = "blank")]
    pub fees: Option<String>,
    /// Youngest age.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minimum_age: Option<i32>,
    /// Oldest age.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maximum_age: Option<i32>,
    /// When a person last confirmed it accurate (`YYYY-MM-DD`): our *last verified*.
    pub assured_date: String,
    /// A short-term notice (a temporary closure).
    #[serde(skip_serializing_if = "blank")]
    pub alert: Option<String>,
    /// Who last confirmed it, by e-mail (kept from an import).
    #[serde(skip_serializing_if = "blank")]
    pub assurer_email: Option<String>,
    /// Accreditations in words (kept from an import).
    #[serde(skip_serializing_if = "blank")]
    pub accreditations: Option<String>,
    /// When it last changed here (UTC, milliseconds).
    pub last_modified: String,
    /// Who runs it.
    pub organization: Organization,
    /// When (full form only).
    #[serde(skip_serializing_if = "none_or_empty")]
    pub schedules: Option<Vec<Schedule>>,
    /// Where (full form only; left out inside a service at location).
    #[serde(skip_serializing_if = "none_or_empty")]
    pub service_at_locations: Option<Vec<ServiceAtLocation>>,
    /// Languages spoken (full form only).
    #[serde(skip_serializing_if = "none_or_empty")]
    pub languages: Option<Vec<Language>>,
    /// Costs (full form only).
    #[serde(skip_serializing_if = "none_or_empty")]
    pub cost_options: Option<Vec<CostOption>>,
    /// Named contacts (full form only).
    #[serde(skip_serializing_if = "none_or_empty")]
    pub contacts: Option<Vec<Contact>>,
    /// The service's own phone (full form only; HSDS 3.0 core).
    #[serde(skip_serializing_if = "none_or_empty")]
    pub phones: Option<Vec<Phone>>,
    /// Categories and audiences as taxonomy terms (full form only).
    #[serde(skip_serializing_if = "none_or_empty")]
    pub attributes: Option<Vec<Attribute>>,
    /// Who funds it (full form only; kept from an import).
    #[serde(skip_serializing_if = "none_or_empty")]
    pub funding: Option<Vec<Funding>>,
    /// Where it is offered besides its venues (full form only; kept from an import).
    #[serde(skip_serializing_if = "none_or_empty")]
    pub service_areas: Option<Vec<ServiceArea>>,
}

/// A source of a service's funds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Funding {
    /// Id.
    pub id: String,
    /// The service.
    pub service_id: String,
    /// In words.
    pub source: String,
}

/// An area a service is offered in.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ServiceArea {
    /// Id.
    pub id: String,
    /// The service.
    pub service_id: String,
    /// The area in words.
    #[serde(skip_serializing_if = "blank", default)]
    pub name: Option<String>,
    /// The area in words (the profile has both).
    #[serde(skip_serializing_if = "blank", default)]
    pub service_area: Option<String>,
    /// The area's shape, as `extent_type` says.
    #[serde(skip_serializing_if = "blank", default)]
    pub extent: Option<String>,
    /// `geojson`, `topojson`, `kml` or `text`.
    #[serde(skip_serializing_if = "blank", default)]
    pub extent_type: Option<String>,
    /// A persistent identifier of the area.
    #[serde(skip_serializing_if = "blank", default)]
    pub uri: Option<String>,
}

/// A link between a service and a location.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ServiceAtLocation {
    /// Id (UUID).
    pub id: String,
    /// The service.
    pub service_id: String,
    /// The location.
    pub location_id: String,
    /// The location.
    pub location: Location,
    /// The service (in `/service_at_locations` answers only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<Box<Service>>,
}

/// Where a service happens. A location whose address is given only on request has no address
/// and coordinates rounded to about 1 km.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Location {
    /// Id (UUID).
    pub id: String,
    /// Always `physical` here.
    pub location_type: String,
    /// Venue name ("Stroud (address given on request)" when masked).
    #[serde(skip_serializing_if = "str_blank")]
    pub name: String,
    /// Latitude (WGS84).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latitude: Option<f64>,
    /// Longitude (WGS84).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub longitude: Option<f64>,
    /// The address (full form; none when masked).
    #[serde(skip_serializing_if = "none_or_empty")]
    pub addresses: Option<Vec<Address>>,
    /// Accessibility features in words (full form).
    #[serde(skip_serializing_if = "none_or_empty")]
    pub accessibility: Option<Vec<Accessibility>>,
    /// Accessibility features as taxonomy terms (full form).
    #[serde(skip_serializing_if = "none_or_empty")]
    pub attributes: Option<Vec<Attribute>>,
}

/// A postal address.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Address {
    /// Id (derived from the location's).
    pub id: String,
    /// The location.
    pub location_id: String,
    /// Street address.
    pub address_1: String,
    /// Town.
    pub city: String,
    /// County (not held here: empty).
    pub state_province: String,
    /// Postcode.
    pub postal_code: String,
    /// `GB`.
    pub country: String,
    /// `physical`.
    pub address_type: String,
}

/// An accessibility feature of a location, in words.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Accessibility {
    /// Id (derived).
    pub id: String,
    /// The location.
    pub location_id: String,
    /// The feature's name.
    pub description: String,
}

/// A repeating session (RFC 5545 style: `freq`, `byday`, with `2TH` for the 2nd Thursday).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Schedule {
    /// Id (UUID).
    pub id: String,
    /// The service.
    pub service_id: String,
    /// `WEEKLY` or `MONTHLY`.
    pub freq: String,
    /// Days: `TU,TH`; monthly ones with the week: `2TH,-1FR`.
    #[serde(skip_serializing_if = "str_blank")]
    pub byday: String,
    /// First date it runs, if limited.
    #[serde(skip_serializing_if = "blank")]
    pub valid_from: Option<String>,
    /// Last date it runs, if limited.
    #[serde(skip_serializing_if = "blank")]
    pub valid_to: Option<String>,
    /// Start, `HH:MM:SS`.
    #[serde(skip_serializing_if = "str_blank")]
    pub opens_at: String,
    /// End, `HH:MM:SS`.
    #[serde(skip_serializing_if = "str_blank")]
    pub closes_at: String,
    /// In plain words: "Every Tuesday, 10:00 to 12:00".
    #[serde(skip_serializing_if = "str_blank")]
    pub description: String,
    /// "Term time only".
    #[serde(skip_serializing_if = "blank")]
    pub notes: Option<String>,
    /// The first session's date (kept from an import).
    #[serde(skip_serializing_if = "blank")]
    pub dtstart: Option<String>,
    /// Every how many weeks or months (kept from an import; only 1 is held).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<u32>,
    /// How to attend, in words (kept from an import).
    #[serde(skip_serializing_if = "blank")]
    pub attending_type: Option<String>,
}

/// A way to pay (or not).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CostOption {
    /// Id (UUID).
    pub id: String,
    /// The service.
    pub service_id: String,
    /// What the price is for.
    #[serde(skip_serializing_if = "str_blank")]
    pub option: String,
    /// Amount (0 = free; none = varies).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<f64>,
    /// ISO 4217 currency (HSDS 3.0 core).
    pub currency: String,
    /// Words about the cost.
    #[serde(skip_serializing_if = "blank")]
    pub amount_description: Option<String>,
    /// The price holds from (kept from an import).
    #[serde(skip_serializing_if = "blank")]
    pub valid_from: Option<String>,
    /// The price holds until (kept from an import).
    #[serde(skip_serializing_if = "blank")]
    pub valid_to: Option<String>,
}

/// A named contact.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Contact {
    /// Id (UUID).
    pub id: String,
    /// The service.
    pub service_id: String,
    /// Name or role.
    #[serde(skip_serializing_if = "blank")]
    pub name: Option<String>,
    /// Job title.
    #[serde(skip_serializing_if = "blank")]
    pub title: Option<String>,
    /// E-mail (HSDS 3.0 core).
    #[serde(skip_serializing_if = "blank")]
    pub email: Option<String>,
    /// Phones (HSDS 3.0 core).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub phones: Vec<Phone>,
}

/// A language spoken.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Language {
    /// Id (derived).
    pub id: String,
    /// The service.
    pub service_id: String,
    /// The language's name (HSDS 3.0 core).
    #[serde(skip_serializing_if = "str_blank")]
    pub name: String,
}

/// A link from a record to a taxonomy term.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Attribute {
    /// Id (derived).
    pub id: String,
    /// The linked record.
    pub link_id: String,
    /// `service` or `location`.
    pub link_type: String,
    /// The term.
    pub taxonomy_term_id: String,
    /// The term.
    pub taxonomy_term: TaxonomyTerm,
}

/// A term of one of our vocabularies.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TaxonomyTerm {
    /// Id (UUID).
    pub id: String,
    /// Display name.
    pub name: String,
    /// For people.
    pub description: String,
    /// The parent category, for a child category.
    #[serde(skip_serializing_if = "blank")]
    pub parent_id: Option<String>,
    /// The taxonomy's name.
    pub taxonomy: String,
    /// The taxonomy.
    pub taxonomy_id: String,
    /// The code used in our filters (slug).
    pub term: String,
}

/// One of our vocabularies as a taxonomy.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Taxonomy {
    /// Id (derived from the vocabulary).
    pub id: String,
    /// Name.
    pub name: String,
    /// For people.
    pub description: String,
    /// Its terms (single taxonomy answers only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub taxonomy_terms: Option<Vec<TaxonomyTerm>>,
}
