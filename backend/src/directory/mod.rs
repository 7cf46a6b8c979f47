//! The community asset directory: vocabularies, listings, geocoding, the seed region, search
//! and keeping the search index in step with the database.

pub mod creating;
pub mod editing;
pub mod geocode;
pub mod index_sync;
pub mod indexer;
pub mod listing;
pub mod listing_cache;
pub mod listing_input;
pub mod outbox;
pub mod postcodes;
pub mod search;
pub mod seed;
pub mod service_area;
pub mod sessions;
pub mod shortlist;
pub mod state_columns;
pub mod suggestions;
pub mod taxonomy;
pub mod venue;
