//! Merging duplicate listings under concurrency: two merges at once (A into B while B goes into
//! C) must never leave a listing merged into a listing that is itself merged, on either engine.

use std::sync::Barrier;

use backend::db::schema::services;
use backend::domain::{Approval, ListingStatus};
use diesel::prelude::*;
use serde_json::json;

use crate::helpers::{spawn_app, TestApp, DEMO_PASSWORD};

/// Rounds of two merges at once; each round uses three listings of its own.
const ROUNDS: usize = 25;

fn merge(app: &TestApp, admin: &str, duplicate: &str, version: i32, keep: &str) -> u16 {
    let body = json!({"version": version, "into": keep}).to_string();
    let answer = app.call("POST", &format!("/api/v1/services/{duplicate}/merge"), Some(admin), Some(&body));
    assert!(matches!(answer.status, 200 | 409 | 422), "{} {}", answer.status, answer.body);
    answer.status
}

#[test]
fn two_merges_at_once_never_leave_a_listing_merged_into_a_merged_one() {
    let app = spawn_app();
    let admin = app.login("admin@demo.example.org", DEMO_PASSWORD);
    let mut conn = app.db();
    let listings: Vec<(String, i32)> = services::table
        .filter(services::approval.eq(Approval::Approved))
        .filter(services::status.eq(ListingStatus::Active))
        .filter(services::merged_into.is_null())
        .order(services::id)
        .select((services::id, services::version))
        .limit(i64::try_from(ROUNDS * 3).unwrap())
        .load(&mut conn)
        .unwrap();
    assert_eq!(listings.len(), ROUNDS * 3, "enough seed listings");
    let mut both = 0;
    for round in listings.chunks(3) {
        let [(a, version_a), (b, version_b), (c, _)] = round else { unreachable!() };
        let start = Barrier::new(2);
        let (first, second) = std::thread::scope(|s| {
            let first = s.spawn(|| {
                start.wait();
                merge(&app, &admin, a, *version_a, b)
            });
            let second = s.spawn(|| {
                start.wait();
                merge(&app, &admin, b, *version_b, c)
            });
            (first.join().unwrap(), second.join().unwrap())
        });
        assert!(first == 200 || second == 200, "one of the two merges goes through: {first} {second}");
        both += usize::from(first == 200 && second == 200);
        let pointers: Vec<(String, Option<String>)> = services::table
            .filter(services::id.eq_any([a, b, c]))
            .select((services::id, services::merged_into))
            .load(&mut conn)
            .unwrap();
        for (id, into) in &pointers {
            let Some(into) = into else { continue };
            let target = pointers.iter().find(|(other, _)| other == into).map(|(_, t)| t.clone());
            assert_eq!(target, Some(None), "{id} is merged into {into}, which is itself merged ({first} {second})");
        }
    }
    // Whatever the order, a listing merged into one that is merged later follows it to the one
    // finally kept: its old address leads there in one step.
    println!("rounds where both merges went through (the first re-pointed): {both} of {ROUNDS}");
}
