//! Directory search for Common Ground: a tantivy index of community assets with text relevance,
//! geographic radius filtering, facet counts and a ranking that blends relevance with distance,
//! freshness and capacity.
//!
//! This crate knows nothing of HTTP or of the database. The backend feeds it
//! [`ServiceDocument`]s (through an [`IndexWriterHandle`]) and asks it [`SearchRequest`]s; the
//! index is a derived cache that can always be rebuilt from the database, so every failure to
//! open it is answered by rebuilding, never by refusing to start.

mod analysis;
mod collector;
mod concepts;
mod document;
mod engine;
mod error;
mod explain;
mod facts;
mod geo_cells;
mod highlight;
mod index;
mod open;
mod ranking;
mod request;
mod schema;
mod suggest;
mod synonyms;
mod text;

pub use document::{ServiceDocument, Visibility};
pub use error::SearchError;
pub use geo_cells::{distance_km, GeoPoint};
pub use highlight::Highlighter;
pub use index::{IndexWriterHandle, OpenOutcome, SearchIndex};
pub use open::Rebuild;
pub use ranking::{blend_settings, close_fit, set_blend, Blend};
pub use request::{
    Evidence, Explanation, Facets, Hit, SearchRequest, SearchResponse, Sort, WiderSearch, ZeroResultHelp,
};
pub use schema::SCHEMA_VERSION;
