//! The judged query set (`tests/data/judged-queries.txt`) and how a judgement grades a listing.

use std::collections::HashMap;

use serde_json::Value;

const QUERIES: &str = include_str!("../../../data/judged-queries.txt");
const SERVICES: &str = include_str!("../../../../seed-data/services.json");

/// One condition of a judgement.
#[derive(Debug, Clone)]
enum Cond {
    Category(String),
    Audience(String),
    Text(String),
    Key(String),
}

/// Alternatives (any may hold), each a list of conditions (all must hold).
type Rule = Vec<Vec<Cond>>;

/// One judged query.
#[derive(Debug, Clone)]
pub struct Judged {
    /// The words typed.
    pub q: String,
    /// Other parameters (`near`, `radius_km`, ...).
    pub params: Vec<(String, String)>,
    fits: Rule,
    partly: Rule,
}

/// What a judgement reads of a seed listing.
#[derive(Debug, Clone)]
pub struct SeedListing {
    pub key: String,
    categories: Vec<String>,
    audiences: Vec<String>,
    /// Lower-cased words of the name, summary, description and keywords.
    words: Vec<String>,
}

fn parse_rule(text: &str, line: &str) -> Rule {
    let text = text.trim();
    if text == "-" || text.is_empty() {
        return Vec::new();
    }
    text.split(',')
        .map(|alt| {
            alt.split('+')
                .map(|c| {
                    let (kind, value) =
                        c.trim().split_once(':').unwrap_or_else(|| panic!("bad condition {c:?} in {line}"));
                    let value = value.trim().to_string();
                    match kind {
                        "cat" => Cond::Category(value),
                        "aud" => Cond::Audience(value),
                        "text" => Cond::Text(value.to_lowercase()),
                        "key" => Cond::Key(value),
                        _ => panic!("unknown condition {kind:?} in {line}"),
                    }
                })
                .collect()
        })
        .collect()
}

/// The judged queries, in file order.
pub fn queries() -> Vec<Judged> {
    QUERIES
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|line| {
            let parts: Vec<&str> = line.split('|').collect();
            assert_eq!(parts.len(), 4, "four fields in {line}");
            let params = parts[1]
                .split('&')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .collect();
            Judged {
                q: parts[0].trim().to_string(),
                params,
                fits: parse_rule(parts[2], line),
                partly: parse_rule(parts[3], line),
            }
        })
        .collect()
}

/// The seed listings by service id.
pub fn seed_listings() -> HashMap<String, SeedListing> {
    let services: Vec<Value> = serde_json::from_str(SERVICES).expect("seed services parse");
    let strings = |v: &Value| -> Vec<String> {
        v.as_array().map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect()).unwrap_or_default()
    };
    services
        .iter()
        .map(|s| {
            let key = s["key"].as_str().unwrap_or_default().to_string();
            let mut text = String::new();
            for field in ["name", "summary", "description"] {
                text.push_str(s[field].as_str().unwrap_or_default());
                text.push(' ');
            }
            text.push_str(&strings(&s["keywords"]).join(" "));
            let words = text
                .to_lowercase()
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .map(str::to_string)
                .collect();
            let listing = SeedListing {
                categories: strings(&s["categories"]),
                audiences: strings(&s["audiences"]),
                words,
                key: key.clone(),
            };
            (backend::directory::seed::service_id(&key), listing)
        })
        .collect()
}

fn holds(cond: &Cond, l: &SeedListing) -> bool {
    match cond {
        Cond::Category(c) => l.categories.contains(c),
        Cond::Audience(a) => l.audiences.contains(a),
        Cond::Text(t) => l.words.iter().any(|w| w.starts_with(t.as_str())),
        Cond::Key(k) => &l.key == k,
    }
}

fn matches(rule: &Rule, l: &SeedListing) -> bool {
    rule.iter().any(|all| all.iter().all(|c| holds(c, l)))
}

impl Judged {
    /// 2 fits the need, 1 partly, 0 not.
    pub fn grade(&self, l: &SeedListing) -> u8 {
        if matches(&self.fits, l) {
            2
        } else if matches(&self.partly, l) {
            1
        } else {
            0
        }
    }

    /// The query as a label: words and where.
    pub fn label(&self) -> String {
        let place: Vec<String> = self.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
        if place.is_empty() {
            self.q.clone()
        } else {
            format!("{} [{}]", self.q, place.join(" "))
        }
    }
}
