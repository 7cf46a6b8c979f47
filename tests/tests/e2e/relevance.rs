//! Relevance over the seed region: what link workers type, and the listings that must be in the
//! top five. A change to ranking, synonyms or text analysis that breaks one of these fails here.

use serde_json::Value;

use crate::helpers::spawn_app;

/// (query string, listings of which every one must be in the top 5).
/// Keys are seed keys; the service id is derived from them.
const CASES: &[(&str, &[&str])] = &[
    (
        "q=gardening&near=GL5+1HE&radius_km=10",
        &[
            "painswick-green-fingers-garden",
            "stonehouse-community-allotment-garden",
            "five-valleys-therapeutic-garden-sessions",
        ],
    ),
    ("q=walking+group+for+older+men+near+Cirencester", &["cirencester-strollers-walking-group-walks"]),
    ("q=diabetes+education+Gloucester", &["gloucester-diabetes-education-group"]),
    ("q=diabetes+education&near=Cheltenham", &["cheltenham-diabetes-education-group"]),
    ("q=free+art+class&near=Cinderford&radius_km=25", &["forest-arts-free-art-class-cinderford"]),
    ("q=free+art+class+Stroud", &["stroud-open-art-studio-free-art-class"]),
    ("q=someone+to+talk+to+after+bereavement+near+Stroud", &["severn-vale-bereavement-cafe-stroud"]),
    ("q=bereavement&near=Cirencester", &["cotswold-companions-bereavement-cafe-cirencester"]),
    ("q=gardning&near=Stroud", &["painswick-green-fingers-garden", "stonehouse-community-allotment-garden"]),
    ("q=diabetis+Gloucester", &["gloucester-diabetes-education-group"]),
    ("q=mens+shed+Stroud", &["stroud-valleys-mens-shed-workshop"]),
    ("q=men's+shed&near=Cirencester", &["cirencester-mens-shed-workshop"]),
    ("q=choir&near=Stroud&radius_km=5", &["stroud-community-choir-rehearsals"]),
    ("q=singing+group+Cheltenham", &["cheltenham-sing-for-joy-choir-rehearsals"]),
    ("q=debt+advice+Gloucester", &["gloucester-debt-advice-clinic"]),
    ("q=help+with+money+and+benefits+in+Gloucester", &["gloucester-debt-advice-clinic", "gloucester-benefits-help"]),
    ("q=lonely+older+person&near=Stroud", &["later-life-befriending-stroud"]),
    ("q=lunch+club+Stroud", &["later-life-lunch-club-stroud"]),
    ("q=carers+support+Cheltenham", &["carers-together-cafe-cheltenham"]),
    ("q=memory+cafe+dementia&near=Cirencester", &["cotswold-memory-cafe-cirencester"]),
    ("q=food+bank+Tewkesbury", &["tewkesbury-food-bank-food-parcels"]),
    ("q=breathing+COPD+group+Stroud", &["better-breathing-group-stroud"]),
    ("q=living+with+chronic+pain+Cheltenham", &["pain-network-living-with-pain-group-cheltenham"]),
    ("q=job+club&near=Gloucester&radius_km=5", &["welcome-network-job-club-gloucester"]),
    ("q=help+with+computers+Gloucester", &["later-life-tech-help-drop-in-gloucester"]),
    ("q=getting+online+Stonehouse", &["stonehouse-tech-help-drop-in"]),
    ("q=housing+advice&near=Cheltenham", &["cheltenham-housing-aid-drop-in"]),
    ("q=recovery+cafe+alcohol&near=Stroud", &["stroud-recovery-cafe"]),
    ("q=health+walk+Tewkesbury", &["tewkesbury-health-walk"]),
    ("q=mindfulness+Stroud", &["stroud-mindfulness-collective-sessions"]),
    ("q=veterans+breakfast&near=Cirencester", &["cotswold-veterans-breakfast-club-breakfasts"]),
    ("q=gard&near=GL5+1HE&radius_km=10", &["painswick-green-fingers-garden"]),
];

fn seed_id(key: &str) -> String {
    backend::directory::seed::service_id(key)
}

#[test]
fn link_worker_queries_find_the_right_groups_in_the_top_five() {
    let app = spawn_app();
    let mut failures = Vec::new();
    for (query, expected) in CASES {
        let body: Value = app.get(&format!("/api/v1/services?{query}&per_page=5")).json();
        let top: Vec<&str> =
            body["results"].as_array().map(|r| r.iter().filter_map(|x| x["id"].as_str()).collect()).unwrap_or_default();
        let names: Vec<&str> = body["results"]
            .as_array()
            .map(|r| r.iter().filter_map(|x| x["name"].as_str()).collect())
            .unwrap_or_default();
        for key in *expected {
            if !top.contains(&seed_id(key).as_str()) {
                failures.push(format!("{query}: {key} not in top 5 {names:?}"));
            }
        }
    }
    assert!(CASES.len() >= 25);
    // Listings nobody has confirmed for over a year are not shown to the public at all.
    for (query, hidden) in [
        ("q=chronic+pain+Gloucester", "pain-network-living-with-pain-group-gloucester"),
        ("q=tech+cafe+Tetbury", "tetbury-tech-cafe"),
    ] {
        let body: Value = app.get(&format!("/api/v1/services?{query}&per_page=100")).json();
        let ids: Vec<&str> = body["results"].as_array().unwrap().iter().filter_map(|x| x["id"].as_str()).collect();
        if ids.contains(&seed_id(hidden).as_str()) {
            failures.push(format!("{query}: {hidden} is over a year unverified but shown"));
        }
    }
    assert!(failures.is_empty(), "{} of {} queries failed:\n{}", failures.len(), CASES.len(), failures.join("\n"));
}
