//! What every request shares.

use std::sync::{Arc, RwLock};

use search_index::SearchIndex;

use crate::accounts::rate_limit::SignInLimits;
use crate::accounts::tokens::TokenKeys;
use crate::config::Settings;
use crate::db::Pool;
use crate::directory::indexer::IndexerHealth;
use crate::directory::listing_cache::ListingCache;
use crate::directory::taxonomy::Taxonomy;
use crate::templates::Templates;

/// Shared by every request.
#[derive(Clone)]
pub struct AppState {
    /// Database connections.
    pub pool: Pool,
    /// The search index (one reader for the process).
    pub index: Arc<SearchIndex>,
    /// How the indexer is doing, for readiness.
    pub indexer: Arc<IndexerHealth>,
    /// Listing cards for search results, dropped as the indexer applies edits.
    pub listings: Arc<ListingCache>,
    /// The vocabularies, reloaded when they change.
    pub taxonomy: Arc<RwLock<Arc<Taxonomy>>>,
    /// The pages.
    pub templates: Arc<Templates>,
    /// Settings.
    pub settings: Arc<Settings>,
    /// Token signing and checking.
    pub keys: Arc<TokenKeys>,
    /// Sign-in and public form rate limits.
    pub limits: Arc<SignInLimits>,
}

impl AppState {
    /// The current vocabularies.
    pub fn taxonomy(&self) -> Arc<Taxonomy> {
        self.taxonomy.read().map(|t| t.clone()).unwrap_or_default()
    }
}
