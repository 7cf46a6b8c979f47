//! Demo referrals for the seed region (development only): about sixty from the demo practices
//! across every status, with test NHS numbers from the never-issued 999 range, contact
//! attempts, notes, plans, connections and paired ONS4 scores, so the caseload and the reports
//! have something real to show. They go through the same use-cases as real ones.

use chrono::{Duration, Utc};
use diesel::prelude::*;

use super::connections::{self, ConnectionTransition, NewConnection};
use super::create::{self, NewReferral};
use super::transitions::{self, Transition};
use super::work::{self, NewAttempt, NewMeasure, NewNote, NewPlan};
use crate::accounts::{users, CurrentUser};
use crate::db::schema::connections as connection_rows;
use crate::db::schema::{connection_events, postcodes, referral_events, referral_searches, referrals};
use crate::db::DbConnection;
use crate::directory::taxonomy::Taxonomy;
use crate::domain::NhsNumber;
use crate::error::AppError;
use crate::ids::ConnectionId;

const GIVEN: [&str; 20] = [
    "Margaret", "Peter", "Susan", "David", "Joan", "Graham", "Aisha", "Tomasz", "Brenda", "Keith", "Priya", "Colin",
    "Hazel", "Derek", "Mei", "Owen", "Sandra", "Ravi", "Eileen", "Frank",
];
const FAMILY: [&str; 12] = [
    "Demo",
    "Example",
    "Sample",
    "Testfield",
    "Placeholder",
    "Fictional",
    "Madeup",
    "Notreal",
    "Specimen",
    "Mockley",
    "Dummett",
    "Pretend",
];
const REASONS: [&[&str]; 8] = [
    &["loneliness"],
    &["loneliness", "long-term-condition"],
    &["low-mood"],
    &["money-and-debt", "housing"],
    &["weight-and-diabetes-prevention", "physical-activity"],
    &["bereavement", "loneliness"],
    &["carer-support"],
    &["digital-skills", "employment"],
];
/// The path each demo referral takes (its final status).
/// Ethnicity as a practice records it (ONS 2021 groups), sometimes not recorded.
const ETHNICITIES: [Option<&str>; 7] = [
    Some("White British"),
    Some("White British"),
    None,
    Some("White other"),
    Some("White British"),
    Some("Asian or Asian British"),
    Some("Black, Black British, Caribbean or African"),
];

/// Searches link workers made from referrals that found nothing within 5 km: real gaps in the
/// seed region's directory (category, postcode district, how many times), for the unmet-need
/// report. The searches that did find something are recorded beside them.
const DEMO_SEARCHES: [(&str, &str, i32, usize); 7] = [
    ("digital-inclusion", "GL6", 0, 7),
    ("bereavement", "GL11", 0, 6),
    ("money-and-debt-advice", "GL11", 0, 5),
    ("carers-support", "GL11", 0, 3),
    ("housing-advice", "GL11", 0, 2),
    ("gardening", "GL5", 6, 8),
    ("walking-groups", "GL5", 4, 5),
];

const PATHS: [(&str, usize); 11] = [
    ("received", 8),
    ("accepted", 5),
    ("contacting", 6),
    ("in_progress", 10),
    ("on_hold", 3),
    ("completed", 15),
    ("declined", 4),
    ("unable_to_contact", 3),
    ("rejected", 2),
    ("cancelled", 3),
    ("entered_in_error", 1),
];

fn user(conn: &mut DbConnection, email: &str) -> Result<Option<CurrentUser>, AppError> {
    let Some(row) = users::by_email(conn, email)? else { return Ok(None) };
    Ok(users::current(conn, &row)?)
}

/// A test NHS number from the 999 range.
fn nhs(n: u32) -> String {
    let mut k = n;
    loop {
        let s = format!("999{:06}", 100_000 + k);
        let d: Vec<u32> = s.chars().filter_map(|c| c.to_digit(10)).collect();
        if let Some(check) = NhsNumber::check_digit(&[d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8]]) {
            return format!("{s}{check}");
        }
        k += 1000;
    }
}

/// Creates the demo referrals when there are none; answers how many were made.
pub fn seed(conn: &mut DbConnection, taxonomy: &Taxonomy) -> Result<usize, AppError> {
    if referrals::table.count().get_result::<i64>(conn)? > 0 {
        return Ok(0);
    }
    let (Some(gp), Some(gp2), Some(worker), Some(lead)) = (
        user(conn, "gp.referrer@demo.example.org")?,
        user(conn, "gp.locking@demo.example.org")?,
        user(conn, "link.worker@demo.example.org")?,
        user(conn, "lead@demo.example.org")?,
    ) else {
        return Ok(0);
    };
    let editor = user(conn, "garden.editor@demo.example.org")?;
    let places: Vec<String> = postcodes::table
        .filter(postcodes::outward.eq_any(["GL5", "GL6", "GL10", "GL11"]))
        .order(postcodes::postcode)
        .select(postcodes::postcode)
        .limit(400)
        .load(conn)?;
    if places.is_empty() {
        return Ok(0);
    }
    let garden = crate::directory::seed::service_id("stroud-community-gardening-club-garden");
    let others = [
        crate::directory::seed::service_id("stroud-diabetes-education-group"),
        crate::directory::seed::service_id("later-life-lunch-club-stroud"),
        crate::directory::seed::service_id("stroud-valleys-mens-shed-workshop"),
        crate::directory::seed::service_id("severn-vale-bereavement-cafe-stroud"),
    ];
    let today = Utc::now().date_naive();
    let rules = super::Thresholds::default();
    let mut n = 0usize;
    for (final_status, count) in PATHS {
        for _ in 0..count {
            let i = n;
            n += 1;
            let referrer = if i % 3 == 2 { &gp2 } else { &gp };
            let owner = if i % 4 == 3 { &lead } else { &worker };
            let age = 24 + (i * 37 % 66) as i64;
            let new = NewReferral {
                given_name: GIVEN[i % GIVEN.len()].into(),
                family_name: FAMILY[i % FAMILY.len()].into(),
                date_of_birth: (today - Duration::days(age * 365 + (i as i64 * 11) % 300))
                    .format("%Y-%m-%d")
                    .to_string(),
                nhs_number: nhs(i as u32),
                postcode: places[(i * 7) % places.len()].clone(),
                phone: Some(format!("01632 960{:03}", 100 + i)),
                preferred_contact: "phone".into(),
                reasons: REASONS[i % REASONS.len()].iter().map(|r| r.to_string()).collect(),
                referrer_words: "Demo referral: fictional person, for trying the workflow.".into(),
                what_matters: i.is_multiple_of(2).then(|| "Getting out and meeting people".into()),
                urgency: ["routine", "routine", "soon", "urgent"][i % 4].into(),
                consent_referral: true,
                consent_share: !i.is_multiple_of(5),
                sex: Some(["female", "male"][i % 2].into()),
                ethnicity: ETHNICITIES[i % ETHNICITIES.len()].map(String::from),
                ..Default::default()
            };
            let id = create::create(conn, referrer, taxonomy, &new, None)?;
            let mut version = 1;
            let mut step = |conn: &mut DbConnection,
                            who: &CurrentUser,
                            to: &str,
                            reason: Option<&str>,
                            note: Option<&str>,
                            owner_id: Option<String>|
             -> Result<(), AppError> {
                let t = Transition {
                    to: to.into(),
                    reason: reason.map(str::to_string),
                    note: note.map(str::to_string),
                    version,
                    owner_id,
                };
                version = transitions::apply(conn, who, &id, &t, None)?;
                Ok(())
            };
            match final_status {
                "received" => {}
                "rejected" => step(
                    conn,
                    owner,
                    "rejected",
                    Some("Needs specialist mental health support; referred back to the practice"),
                    None,
                    None,
                )?,
                "cancelled" if i.is_multiple_of(2) => {
                    step(conn, referrer, "cancelled", Some("The person moved out of the area"), None, None)?
                }
                "entered_in_error" => {
                    step(conn, referrer, "entered_in_error", Some("Duplicate of another referral"), None, None)?
                }
                _ => {
                    step(conn, owner, "accepted", None, None, Some(owner.id.clone()))?;
                    if final_status == "cancelled" {
                        step(conn, owner, "cancelled", Some("The person asked to stop"), None, None)?;
                    } else if final_status != "accepted" {
                        let attempt =
                            |outcome: &str| NewAttempt { method: "phone".into(), outcome: outcome.into(), note: None };
                        if matches!(final_status, "contacting" | "unable_to_contact") {
                            step(conn, owner, "contacting", None, None, None)?;
                            let failures = if final_status == "unable_to_contact" { 3 } else { 1 + i % 2 };
                            for _ in 0..failures {
                                work::add_attempt(conn, owner, &id, &attempt("no_answer"), &rules, None)?;
                            }
                            if final_status == "unable_to_contact" {
                                step(
                                    conn,
                                    owner,
                                    "unable_to_contact",
                                    None,
                                    Some("Three calls and a letter without reply."),
                                    None,
                                )?;
                            }
                        } else {
                            work::add_attempt(conn, owner, &id, &attempt("reached"), &rules, None)?;
                            if final_status == "declined" {
                                step(
                                    conn,
                                    owner,
                                    "declined",
                                    Some("Did not want social prescribing at the moment"),
                                    None,
                                    None,
                                )?;
                            } else {
                                step(conn, owner, "in_progress", None, None, None)?;
                                let plan = NewPlan {
                                    what_matters: "Feeling less alone; being outdoors".into(),
                                    goals: "Join a group within a month".into(),
                                    actions: "Link worker to introduce to two local groups".into(),
                                    review_date: Some(
                                        (today + Duration::days(14 + (i as i64 % 30))).format("%Y-%m-%d").to_string(),
                                    ),
                                    version: 0,
                                };
                                work::save_plan(conn, owner, &id, &plan, None)?;
                                let base = [2 + (i % 3) as i64, 3 + (i % 2) as i64, 3, 7 - (i % 3) as i64];
                                work::add_measure(
                                    conn,
                                    owner,
                                    &id,
                                    &NewMeasure {
                                        instrument: "ons4".into(),
                                        timepoint: "baseline".into(),
                                        answers: base.to_vec(),
                                    },
                                    None,
                                )?;
                                work::add_note(
                                    conn,
                                    owner,
                                    &id,
                                    &NewNote {
                                        body: "First conversation held at the surgery; keen to try a group.".into(),
                                    },
                                    &rules,
                                    None,
                                )?;
                                let service =
                                    if i.is_multiple_of(2) { garden.clone() } else { others[i % others.len()].clone() };
                                if let Ok(c) = connections::add(
                                    conn,
                                    owner,
                                    &id,
                                    &NewConnection {
                                        service_id: service.clone(),
                                        note: Some("Demo introduction".into()),
                                        note_for_person: None,
                                    },
                                    None,
                                ) {
                                    let connection_id = ConnectionId::parse(&c.id).ok_or_else(|| {
                                        AppError::Internal("a connection id that is not a UUID".into())
                                    })?;
                                    let v = connections::transition(
                                        conn,
                                        owner,
                                        &connection_id,
                                        &ConnectionTransition {
                                            to: "introduced".into(),
                                            reason: None,
                                            version: c.version,
                                        },
                                        None,
                                    )?;
                                    if service == garden && final_status == "completed" {
                                        if let Some(editor) = &editor {
                                            let v = connections::transition(
                                                conn,
                                                editor,
                                                &connection_id,
                                                &ConnectionTransition {
                                                    to: "accepted".into(),
                                                    reason: None,
                                                    version: v,
                                                },
                                                None,
                                            )?;
                                            connections::transition(
                                                conn,
                                                editor,
                                                &connection_id,
                                                &ConnectionTransition {
                                                    to: "attended".into(),
                                                    reason: None,
                                                    version: v,
                                                },
                                                None,
                                            )?;
                                        }
                                    }
                                }
                                if final_status == "on_hold" {
                                    step(conn, owner, "on_hold", Some("In hospital for a few weeks"), None, None)?;
                                }
                                if final_status == "completed" {
                                    let follow = [
                                        base[0] + 1 + (i % 4) as i64,
                                        base[1] + (i % 3) as i64,
                                        base[2] + 2 + (i % 2) as i64,
                                        (base[3] - 1 - (i % 4) as i64).max(0),
                                    ];
                                    work::add_measure(
                                        conn,
                                        owner,
                                        &id,
                                        &NewMeasure {
                                            instrument: "ons4".into(),
                                            timepoint: "follow_up".into(),
                                            answers: follow.to_vec(),
                                        },
                                        None,
                                    )?;
                                    step(
                                        conn,
                                        owner,
                                        "completed",
                                        None,
                                        Some("Now attends a local group weekly and feels more connected."),
                                        None,
                                    )?;
                                }
                            }
                        }
                    }
                }
            }
            // Spread the demo over the past year so monthly figures and "needs attention" mean
            // something: each referral moves back in time as a whole.
            let days_back = if final_status == "received" { (i % 3) as i64 } else { 10 + ((i * 53) % 340) as i64 };
            let shift = Duration::days(days_back);
            let row: (chrono::NaiveDateTime, Option<chrono::NaiveDateTime>) = referrals::table
                .find(id.as_str())
                .select((referrals::created_at, referrals::first_contact_at))
                .first(conn)?;
            diesel::update(referrals::table.find(id.as_str()))
                .set((
                    referrals::created_at.eq(row.0 - shift),
                    // First contact from 1 to 12 days after the referral, as in life.
                    referrals::first_contact_at
                        .eq(row.1.map(|t| t - shift + Duration::days(1 + ((i * 5) % 12) as i64))),
                    referrals::updated_at.eq(row.0 - shift),
                ))
                .execute(conn)?;
            let events: Vec<(i64, chrono::NaiveDateTime)> = referral_events::table
                .filter(referral_events::referral_id.eq(id.as_str()))
                .select((referral_events::id, referral_events::at))
                .load(conn)?;
            for (k, (event_id, at)) in events.into_iter().enumerate() {
                diesel::update(referral_events::table.find(event_id))
                    .set(referral_events::at.eq(at - shift + Duration::days(2 * k as i64)))
                    .execute(conn)?;
            }
            let links: Vec<String> = connection_rows::table
                .filter(connection_rows::referral_id.eq(id.as_str()))
                .select(connection_rows::id)
                .load(conn)?;
            for link in links {
                let answered_at: Option<chrono::NaiveDateTime> =
                    connection_rows::table.find(&link).select(connection_rows::answered_at).first(conn)?;
                // Groups answer from 1 to 8 days after the introduction.
                let answer_delay = Duration::days(5 + (i % 8) as i64);
                diesel::update(connection_rows::table.find(&link))
                    .set((
                        connection_rows::introduced_at.eq(Some(Utc::now().naive_utc() - shift + Duration::days(4))),
                        connection_rows::created_at.eq(Utc::now().naive_utc() - shift + Duration::days(4)),
                        connection_rows::answered_at.eq(answered_at.map(|t| t - shift + answer_delay)),
                    ))
                    .execute(conn)?;
                let answered: Vec<(i64, chrono::NaiveDateTime)> = connection_events::table
                    .filter(connection_events::connection_id.eq(&link))
                    .select((connection_events::id, connection_events::at))
                    .load(conn)?;
                for (event_id, at) in answered {
                    diesel::update(connection_events::table.find(event_id))
                        .set(connection_events::at.eq(at - shift + answer_delay))
                        .execute(conn)?;
                }
            }
        }
    }
    let at = Utc::now().naive_utc();
    for (k, (category, area, results, times)) in DEMO_SEARCHES.into_iter().enumerate() {
        for t in 0..times {
            diesel::insert_into(referral_searches::table)
                .values((
                    referral_searches::at.eq(at - Duration::days((10 + k * 31 + t * 17) as i64 % 330)),
                    referral_searches::service_org_id.eq(&worker.organisation_id),
                    referral_searches::query.eq(""),
                    referral_searches::categories.eq(category),
                    referral_searches::outward_code.eq(Some(area)),
                    referral_searches::radius_km.eq(Some(5.0)),
                    referral_searches::results.eq(results),
                ))
                .execute(conn)?;
        }
    }
    Ok(n)
}
