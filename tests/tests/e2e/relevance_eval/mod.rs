//! Relevance evaluation over the judged query set: runs every judged query through the
//! directory search use-case (geocoding, place in the words, public view) on the seed region and
//! measures the answers against the judgements.
//!
//! Shared by the example (`cargo run -p tests --example relevance`, which prints the figures)
//! and the floor test, so both measure the same thing.

pub mod judged;
mod metrics;

use std::collections::HashMap;

use backend::config::{Environment, Secret, Settings};
use backend::directory::listing_cache::ListingCache;
use backend::directory::search::{self, SearchParams};
use serde_json::Value;

pub use judged::{Judged, SeedListing};
pub use metrics::{QueryFigures, Summary};

/// The seed region, migrated, seeded and indexed in a temporary folder.
pub struct Region {
    _dir: tempfile::TempDir,
    prepared: backend::startup::Prepared,
    pub listings: HashMap<String, SeedListing>,
    /// The search's listing cards (the region does not change while it is judged).
    cards: ListingCache,
}

impl Region {
    /// Seeds a fresh region (about two seconds).
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let settings = Settings {
            data_dir: dir.path().to_path_buf(),
            database_url: Some(Secret::new(dir.path().join("commonground.db").display().to_string())),
            env: Environment::Development,
            db_pool_size: 2,
            ..Settings::default()
        };
        let prepared = backend::startup::prepare(&settings, &mut std::io::sink()).expect("prepare the region");
        Region { _dir: dir, prepared, listings: judged::seed_listings(), cards: ListingCache::default() }
    }

    /// The search's answer as its JSON, as an API client would read it.
    pub fn search(&self, pairs: &[(String, String)]) -> Value {
        let params = SearchParams::from_pairs(pairs.iter().cloned());
        let explain = params.wants_explain();
        let mut conn = self.prepared.pool.get().expect("connection");
        let taxonomy = self.prepared.taxonomy.read().expect("taxonomy").clone();
        match search::search_with(&mut conn, &self.prepared.index, &taxonomy, &self.cards, &params, true, explain) {
            Ok(outcome) => serde_json::to_value(outcome).expect("json"),
            Err(e) => panic!("search {pairs:?} failed: {e}"),
        }
    }

    /// Every listing the search could have shown: the same place and radius with no words,
    /// as (id, km from the origin).
    fn reachable(&self, answer: &Value) -> Vec<(String, Option<f64>)> {
        let mut base: Vec<(String, String)> = vec![("per_page".into(), "100".into())];
        if let Some(origin) = answer.get("origin").filter(|o| !o.is_null()) {
            base.push(("lat".into(), origin["lat"].to_string()));
            base.push(("lon".into(), origin["lon"].to_string()));
            base.push(("radius_km".into(), origin["radius_km"].to_string()));
        }
        let mut out = Vec::new();
        for page in 1.. {
            let mut pairs = base.clone();
            pairs.push(("page".into(), page.to_string()));
            let body = self.search(&pairs);
            for r in body["results"].as_array().into_iter().flatten() {
                out.push((r["id"].as_str().unwrap_or_default().to_string(), r["distance_km"].as_f64()));
            }
            if body["pages"].as_u64().unwrap_or(1) <= page {
                break;
            }
        }
        out
    }

    /// Runs one judged query and measures its answer.
    pub fn evaluate(&self, judged: &Judged, explain: bool) -> QueryFigures {
        let mut pairs = vec![("q".to_string(), judged.q.clone()), ("per_page".to_string(), "10".to_string())];
        pairs.extend(judged.params.iter().cloned());
        if explain {
            pairs.push(("explain".into(), "1".into()));
        }
        let answer = self.search(&pairs);
        let grade = |id: &str| self.listings.get(id).map_or(0, |l| judged.grade(l));
        let shown: Vec<metrics::Shown> = answer["results"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| {
                let id = r["id"].as_str().unwrap_or_default();
                metrics::Shown {
                    grade: grade(id),
                    name: r["name"].as_str().unwrap_or_default().to_string(),
                    distance_km: r["distance_km"].as_f64(),
                    as_match: r["fit"].as_str() != Some("partial"),
                    explain: r.get("explain").filter(|e| !e.is_null()).map(Value::to_string),
                }
            })
            .collect();
        let reachable: Vec<(u8, Option<f64>)> = self.reachable(&answer).iter().map(|(id, d)| (grade(id), *d)).collect();
        let says_weak = answer["match_strength"].as_str() == Some("weak");
        metrics::measure(judged.label(), &shown, &reachable, says_weak)
    }
}

impl Default for Region {
    fn default() -> Self {
        Self::new()
    }
}

/// Runs the whole judged set.
pub fn run(region: &Region, explain: bool) -> (Vec<QueryFigures>, Summary) {
    let figures: Vec<QueryFigures> = judged::queries().iter().map(|j| region.evaluate(j, explain)).collect();
    let summary = Summary::of(&figures);
    (figures, summary)
}
