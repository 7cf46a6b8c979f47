//! What a search asks and what it answers.

use std::collections::BTreeMap;

use crate::geo_cells::GeoPoint;

/// Result order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    /// Text relevance blended with distance, freshness and capacity.
    #[default]
    Relevance,
    /// Nearest first (needs an origin; listings without a location come last).
    Distance,
    /// Most recently verified first.
    LastVerified,
    /// Alphabetical by name.
    Name,
}

/// A search over the directory.
#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    /// What the person typed; may be empty.
    pub text: String,
    /// Where distances are measured from.
    pub origin: Option<GeoPoint>,
    /// Only listings with a location within this many km of `origin`.
    pub radius_km: Option<f64>,
    /// Facet filters: dimension (`category`, `audience`, `accessibility`, `day`, `cost`,
    /// `attendance`, `capacity`) to accepted values. Values of one dimension are ORed,
    /// dimensions are ANDed.
    pub filters: BTreeMap<String, Vec<String>>,
    /// Result order.
    pub sort: Sort,
    /// Results to skip (pagination).
    pub offset: usize,
    /// Results to return.
    pub limit: usize,
    /// Public searches see only public listings verified within the last 12 months.
    pub public_only: bool,
    /// "Now" in seconds since the epoch, for freshness (given, so tests can fix it).
    pub now: i64,
    /// Count listings per facet value (costs a little per matching listing).
    pub facets: bool,
    /// Say why each hit of the page ranks where it does ([`Hit::explain`]).
    pub explain: bool,
}

/// One result.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The service id.
    pub id: String,
    /// The ranking score (relevance sort) or sort key.
    pub score: f64,
    /// Distance from the origin to the nearest location of the listing, in km.
    pub distance_km: Option<f64>,
    /// How much of the need the listing covers (0 to about 1; 0 for a search without words).
    /// At least [`crate::close_fit`] is a close match, below a partial one.
    pub fit: f64,
    /// Why it ranks where it does, when asked.
    pub explain: Option<Explanation>,
}

/// Why a hit ranks where it does: its score is `fit × distance × freshness × availability`
/// (partial matches after every close one). Serialised as the API's `explain` answer.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Explanation {
    /// How much of the need it covers, from `evidence` (plus a small bonus for the words in
    /// order in the name).
    pub fit: f64,
    /// Each word of the need: what in the listing covers it, if anything.
    pub evidence: Vec<Evidence>,
    /// Distance multiplier (1 next door).
    pub distance: f64,
    /// Freshness multiplier (1 when verified in the last six months).
    pub freshness: f64,
    /// Capacity and status multiplier (1 when open and accepting).
    pub availability: f64,
}

/// How a listing covers one word of the need.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Evidence {
    /// The word (as indexed: stemmed).
    pub word: String,
    /// Its share of a perfect fit.
    pub weight: f64,
    /// False for filler words ("group", "help").
    pub specific: bool,
    /// The best evidence found: "name", "keywords", "text", "spelling walking", "synonym debt",
    /// "category bereavement", "audience older-people", "completion"; `None` when not covered.
    pub by: Option<String>,
    /// How well that evidence covers the word (0 to 1).
    pub strength: f64,
}

/// Facet counts: dimension to value to number of matching listings.
pub type Facets = BTreeMap<String, BTreeMap<String, u32>>;

/// A wider search that would find something, offered when nothing matched.
#[derive(Debug, Clone, PartialEq)]
pub enum WiderSearch {
    /// The same search over a larger radius.
    Radius {
        /// The radius that finds something.
        radius_km: f64,
        /// How many it finds.
        total: usize,
    },
    /// The same search without one filter dimension.
    WithoutFilter {
        /// The dimension to drop.
        dimension: String,
        /// How many it finds.
        total: usize,
    },
    /// The same search with the words spelled as the directory spells them.
    Spelling {
        /// The corrected text.
        text: String,
        /// How many it finds.
        total: usize,
    },
}

/// Why nothing was found, and what would find something.
#[derive(Debug, Clone, PartialEq)]
pub struct ZeroResultHelp {
    /// A sentence for the person searching.
    pub reason: String,
    /// Wider searches that find something, best first.
    pub wider: Vec<WiderSearch>,
}

/// What a search answers.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchResponse {
    /// Listings matching in all (not just this page).
    pub total: usize,
    /// This page.
    pub hits: Vec<Hit>,
    /// Facet counts over all matching listings.
    pub facets: Facets,
    /// Set when `total` is 0.
    pub help: Option<ZeroResultHelp>,
    /// Listings (of `total`) that fit the words closely; all of them for a search without
    /// words. When 0 and `total` is not, every match is partial: the search should say that
    /// nothing close matches.
    pub close: usize,
    /// The indexed words the search looked for (typed words and their synonyms), for
    /// [`crate::SearchIndex::snippet`].
    pub highlight: Vec<String>,
}
