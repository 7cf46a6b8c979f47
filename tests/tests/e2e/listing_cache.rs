//! Search results take listing cards from memory (`directory::listing_cache`): an edit shows in
//! the cards as soon as the index has it, on every instance, and the fields that depend on the
//! clock are worked out per request, never held.

use std::time::{Duration, Instant};

use backend::db::schema::services;
use backend::directory::listing::{self, Freshness};
use backend::directory::listing_cache::ListingCache;
use backend::directory::outbox;
use backend::directory::taxonomy::Taxonomy;
use diesel::prelude::*;
use serde_json::Value;

use crate::helpers::{spawn_app, spawn_second, TestApp};

/// The card of `id` in the first results of a search for everything, if it is there.
fn card(app: &TestApp, path: &str, id: &str) -> Option<Value> {
    app.get(path).json()["results"].as_array()?.iter().find(|r| r["id"] == id).cloned()
}

#[test]
fn an_edit_shows_in_search_cards_as_soon_as_the_index_has_it_on_every_instance() {
    let first = spawn_app();
    let second = spawn_second(&first);
    let mut conn = first.db();
    let everything = "/api/v1/services?per_page=100";
    let id = first.get(everything).json()["results"][0]["id"].as_str().unwrap().to_string();
    // Both instances hold the card now.
    let before = card(&first, everything, &id).unwrap();
    assert_eq!(card(&second, everything, &id).unwrap()["name"], before["name"]);

    backend::db::write(&mut conn, |c| -> QueryResult<()> {
        diesel::update(services::table.find(&id))
            .set((services::name.eq("Zanzibar Marmalade Appreciation Society"), services::summary.eq("Marmalade.")))
            .execute(c)?;
        outbox::enqueue(c, &id)
    })
    .unwrap();
    for app in [&first, &second] {
        let started = Instant::now();
        let found = loop {
            let answer = app.get("/api/v1/services?q=zanzibar+marmalade").json();
            if answer["total"] == 1 {
                break answer;
            }
            assert!(started.elapsed() < Duration::from_secs(5), "the edit never became searchable");
            std::thread::sleep(Duration::from_millis(20));
        };
        // The first answer that finds it by its new name shows the new card, and so does
        // another search (not by name: a search for everything sorts by name, and Zanzibar may
        // be past the first page).
        assert_eq!(found["results"][0]["name"], "Zanzibar Marmalade Appreciation Society");
        assert_eq!(found["results"][0]["summary"], "Marmalade.");
        let again = card(app, "/api/v1/services?q=marmalade", &id).unwrap();
        assert_eq!(again["name"], "Zanzibar Marmalade Appreciation Society");
        assert_eq!(again["version"], before["version"]);
    }
}

#[test]
fn held_cards_are_the_database_cards_with_the_clock_fields_worked_out_afresh() {
    let app = spawn_app();
    let mut conn = app.db();
    let taxonomy = Taxonomy::load(&mut conn).unwrap();
    // Listings with sessions, so next_session has something to move.
    let ids: Vec<String> = app.get("/api/v1/services?per_page=50").json()["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| !r["next_session"].is_null())
        .map(|r| r["id"].as_str().unwrap().to_string())
        .take(10)
        .collect();
    assert!(!ids.is_empty());
    let cache = ListingCache::default();
    let now = chrono::Utc::now().naive_utc();
    let loaded = cache.load_many_at(&mut conn, &ids, &taxonomy, now).unwrap();
    assert_eq!(cache.len(), ids.len());
    let held = cache.load_many_at(&mut conn, &ids, &taxonomy, now).unwrap();
    let direct = listing::load_many(&mut conn, &ids, &taxonomy).unwrap();
    // Without next_session: a card loaded from the database is as of the real time, which moves
    // on between two loads (a session may start in between); it is checked below.
    let json = |l: &[listing::Listing]| {
        let mut value = serde_json::to_value(l).unwrap();
        for card in value.as_array_mut().unwrap() {
            card.as_object_mut().unwrap().remove("next_session");
        }
        value
    };
    assert_eq!(json(&held), json(&loaded), "a held card is the card loaded");
    assert_eq!(json(&held), json(&direct), "and the database's card");
    for (card, from_db) in held.iter().zip(&direct) {
        let next = card.next_session.expect("a next session");
        assert!(next > now && from_db.next_session.is_some_and(|d| d >= next), "{next} for {now}");
    }

    // A year and a half on, the same held cards: later sessions, and no longer fresh.
    let later = now + chrono::Duration::days(550);
    for card in cache.load_many_at(&mut conn, &ids, &taxonomy, later).unwrap() {
        if let Some(next) = card.next_session {
            assert!(next > later, "{next} is not after {later}");
        }
        assert_eq!(card.freshness, listing::freshness(later, card.last_verified));
        assert_ne!(card.freshness, Freshness::Fresh);
    }
    assert_eq!(cache.len(), ids.len(), "all were held");

    // Dropping one (as the indexer does when it applies an edit) reloads only that one.
    cache.invalidate(&ids[..1]);
    assert_eq!(cache.len(), ids.len() - 1);
    assert_eq!(json(&cache.load_many_at(&mut conn, &ids, &taxonomy, now).unwrap()), json(&direct));
    assert_eq!(cache.len(), ids.len());
}
