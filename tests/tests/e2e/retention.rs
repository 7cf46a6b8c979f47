//! Retention: closed referrals past their period lose all personal data but keep what reports
//! count; the dry run lists them and changes nothing; a run stopped half-way leaves each referral
//! done or untouched and the next run carries on; the audit trail keeps its rows.

use backend::db::schema::{audit_events, referral_anonymisations, referral_events, referral_notes, referrals};
use backend::retention::{self, RetentionSettings};
use chrono::{NaiveDate, Utc};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde_json::{json, Value};

use crate::data_rights::unique_nhs_number;
use crate::helpers::{engine, spawn_app, TestApp, DEMO_PASSWORD};
use crate::referrals::{create, referral_body, ADMIN, GP, LINK_WORKER};

fn ok(app: &TestApp, token: &str, method: &str, path: &str, body: Value) -> Value {
    let answer = app.call(method, path, Some(token), Some(&body.to_string()));
    assert!(answer.status < 300, "{path}: {} {}", answer.status, answer.body);
    answer.json()
}

/// A referral completed (with a note and measures) and moved back to 2017: closed 1 June 2017,
/// so its 8 years ended on 1 June 2025.
fn closed_in_2017(app: &TestApp, seed: u32, day: u32) -> String {
    let gp = app.login(GP, DEMO_PASSWORD);
    let worker = app.login(LINK_WORKER, DEMO_PASSWORD);
    let mut body = referral_body();
    body["nhs_number"] = json!(unique_nhs_number(seed));
    body["email"] = json!("winifred@example.org");
    let id = create(app, &gp, &body);
    let path = format!("/api/v1/referrals/{id}");
    ok(app, &worker, "POST", &format!("{path}/transitions"), json!({"to": "accepted", "version": 1}));
    ok(app, &worker, "POST", &format!("{path}/notes"), json!({"body": "Talked about her late husband"}));
    ok(app, &worker, "POST", &format!("{path}/transitions"), json!({"to": "in_progress", "version": 2}));
    for timepoint in ["baseline", "follow_up"] {
        ok(
            app,
            &worker,
            "POST",
            &format!("{path}/measures"),
            json!({"instrument": "ons4", "timepoint": timepoint, "answers": [5, 6, 5, 4]}),
        );
    }
    ok(
        app,
        &worker,
        "POST",
        &format!("{path}/transitions"),
        json!({"to": "completed", "version": 3, "note": "Goes to the garden club, Mrs Testperson is happier"}),
    );
    let mut conn = app.db();
    let created = NaiveDate::from_ymd_opt(2017, 3, day).unwrap().and_hms_opt(10, 0, 0).unwrap();
    let closed = NaiveDate::from_ymd_opt(2017, 6, 1).unwrap().and_hms_opt(10, 0, 0).unwrap();
    diesel::update(referrals::table.find(&id)).set(referrals::created_at.eq(created)).execute(&mut conn).unwrap();
    diesel::update(referral_events::table.filter(referral_events::referral_id.eq(&id)))
        .set(referral_events::at.eq(created))
        .execute(&mut conn)
        .unwrap();
    diesel::update(
        referral_events::table
            .filter(referral_events::referral_id.eq(&id))
            .filter(referral_events::to_status.eq("completed")),
    )
    .set(referral_events::at.eq(closed))
    .execute(&mut conn)
    .unwrap();
    id
}

const YEAR_2017: &str = "from=2017-01-01&to=2017-12-31";

fn reports(app: &TestApp) -> Vec<Value> {
    let admin = app.login(ADMIN, DEMO_PASSWORD);
    ["referrals-by-status", "equity", "outcomes", "endings", "referrals-by-reason", "first-contact"]
        .iter()
        .map(|name| {
            let mut report = app.call("GET", &format!("/api/v1/reports/{name}?{YEAR_2017}"), Some(&admin), None).json();
            report.as_object_mut().unwrap().remove("about");
            report
        })
        .collect()
}

fn name_of(app: &TestApp, id: &str) -> (String, String, Option<String>) {
    referrals::table
        .find(id)
        .select((referrals::given_name, referrals::nhs_number, referrals::email))
        .first(&mut app.db())
        .unwrap()
}

#[test]
fn closed_referrals_past_their_period_lose_personal_data_and_keep_what_reports_count() {
    let app = spawn_app();
    let old = closed_in_2017(&app, 20, 2);
    let gp = app.login(GP, DEMO_PASSWORD);
    let open = create(&app, &gp, &referral_body());
    diesel::update(referrals::table.find(&open))
        .set(referrals::created_at.eq(NaiveDate::from_ymd_opt(2017, 3, 9).unwrap().and_hms_opt(9, 0, 0).unwrap()))
        .execute(&mut app.db())
        .unwrap();
    let before = reports(&app);
    let audit_before: i64 = audit_events::table.count().get_result(&mut app.db()).unwrap();
    let settings = RetentionSettings::default();
    let now = Utc::now().naive_utc();

    // The dry run lists the one past its period (never a name), and changes nothing.
    let mut out = Vec::new();
    let summary = retention::run(&mut app.db(), &settings, now, true, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!((summary.due, summary.anonymised), (1, 0), "{text}");
    assert!(
        text.contains(&format!("[1/1] would anonymise referral {old} (completed, closed 2017-06-01, due 2025-06-01)")),
        "{text}"
    );
    assert!(text.contains("Dry run: nothing changed.") && !text.contains("Margaret") && !text.contains("Testperson"));
    assert_eq!(name_of(&app, &old).0, "Margaret");

    // The real run: personal data gone, what reports count kept, one audit row added.
    let mut out = Vec::new();
    let summary = retention::run(&mut app.db(), &settings, now, false, &mut out).unwrap();
    assert_eq!((summary.due, summary.anonymised, summary.failed), (1, 1, 0), "{}", String::from_utf8_lossy(&out));
    assert_eq!(name_of(&app, &old), ("(removed)".to_string(), String::new(), None));
    assert_eq!(name_of(&app, &open).0, "Margaret", "an open referral is kept whatever its age");
    let mut conn = app.db();
    let notes: i64 =
        referral_notes::table.filter(referral_notes::referral_id.eq(&old)).count().get_result(&mut conn).unwrap();
    assert_eq!(notes, 0);
    let (words, postcode): (String, String) =
        referrals::table.find(&old).select((referrals::referrer_words, referrals::postcode)).first(&mut conn).unwrap();
    assert_eq!((words.as_str(), postcode.as_str()), ("", "GL5"), "the area stays, the full postcode goes");
    let note: Option<String> = referral_events::table
        .filter(referral_events::referral_id.eq(&old))
        .filter(referral_events::to_status.eq("completed"))
        .select(referral_events::note)
        .first(&mut conn)
        .unwrap();
    assert_eq!(note, None, "the closing summary named her");
    assert_eq!(reports(&app), before, "every report counts the same");
    let audit_after: i64 = audit_events::table.count().get_result(&mut conn).unwrap();
    assert!(audit_after > audit_before);
    let shape: Vec<(Option<String>, String, Option<String>)> = audit_events::table
        .filter(audit_events::action.eq("retention.anonymise"))
        .select((audit_events::actor_id, audit_events::outcome, audit_events::record_id))
        .load(&mut conn)
        .unwrap();
    assert_eq!(shape, vec![(None, "ok".to_string(), Some(old.clone()))]);
    // The record still reads, without the person.
    let worker = app.login(LINK_WORKER, DEMO_PASSWORD);
    let view = app.call("GET", &format!("/api/v1/referrals/{old}"), Some(&worker), None);
    assert_eq!(view.status, 200);
    assert!(!view.body.contains("Margaret") && !view.body.contains("late husband") && !view.body.contains("winifred@"));

    // Nothing is done twice; the scheduled job (as the server runs it) finds nothing more.
    let server_settings = backend::config::Settings { retention: settings.clone(), ..Default::default() };
    let ran = backend::scheduler::run_once(&mut conn, &server_settings, now, Some("retention")).unwrap();
    assert_eq!(ran.len(), 1);
    assert_eq!(ran[0].result, Ok(0), "the scheduler's retention job finds nothing more");
    let anonymised: i64 = referral_anonymisations::table.count().get_result(&mut conn).unwrap();
    assert_eq!(anonymised, 1);
    // A shorter period set by an ICB takes the recently closed ones too.
    let short = RetentionSettings { years: 1, ..settings };
    assert_eq!(
        retention::due(&mut conn, &short, now + chrono::Duration::days(800))
            .unwrap()
            .iter()
            .filter(|d| d.id == open)
            .count(),
        0
    );
}

/// A writer that fails after `lines` writes of a newline: the run stops there, as if killed.
struct DiesAfter {
    lines: usize,
    text: Vec<u8>,
}

impl std::io::Write for DiesAfter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.lines == 0 {
            return Err(std::io::Error::other("stopped"));
        }
        self.lines -= buf.iter().filter(|b| **b == b'\n').count().min(self.lines);
        self.text.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn an_interrupted_retention_run_leaves_nothing_half_done_and_the_next_run_carries_on() {
    let app = spawn_app();
    let ids: Vec<String> = (0..4).map(|i| closed_in_2017(&app, 30 + i, 2 + i)).collect();
    let before = reports(&app);
    let settings = RetentionSettings::default();
    let now = Utc::now().naive_utc();
    let mut due = retention::due(&mut app.db(), &settings, now).unwrap();
    due.retain(|d| ids.contains(&d.id));
    assert_eq!(due.len(), 4);
    let order: Vec<String> = due.iter().map(|d| d.id.clone()).collect();

    // A fault inside the second referral's transaction, after its personal data was overwritten:
    // it rolls back whole; the run goes on with the others.
    let mut conn = app.db();
    let (stop, unstop) = if engine() == "postgresql" {
        (
            format!(
                "CREATE FUNCTION stop_here() RETURNS trigger AS $$ BEGIN IF NEW.referral_id = '{}' THEN \
                 RAISE EXCEPTION 'interrupted'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql; \
                 CREATE TRIGGER stop_here BEFORE INSERT ON referral_anonymisations FOR EACH ROW EXECUTE FUNCTION stop_here();",
                order[1]
            ),
            "DROP TRIGGER stop_here ON referral_anonymisations; DROP FUNCTION stop_here();".to_string(),
        )
    } else {
        (
            format!(
                "CREATE TRIGGER stop_here BEFORE INSERT ON referral_anonymisations WHEN NEW.referral_id = '{}' \
                 BEGIN SELECT RAISE(ABORT, 'interrupted'); END;",
                order[1]
            ),
            "DROP TRIGGER stop_here;".to_string(),
        )
    };
    conn.batch_execute(&stop).unwrap();
    // And the run itself is stopped at its fourth line of progress (after the heading and two
    // referrals), as if killed.
    let mut dying = DiesAfter { lines: 3, text: Vec::new() };
    assert!(retention::run(&mut conn, &settings, now, false, &mut dying).is_err(), "the run was stopped");
    let progress = String::from_utf8(dying.text).unwrap();
    assert!(progress.contains("[2/") && progress.contains("FAILED"), "{progress}");
    let state = |conn: &mut backend::db::DbConnection| -> Vec<(String, bool)> {
        order
            .iter()
            .map(|id| {
                let name: String = referrals::table.find(id).select(referrals::given_name).first(conn).unwrap();
                let done = referral_anonymisations::table.find(id).count().get_result::<i64>(conn).unwrap() == 1;
                (name, done)
            })
            .collect()
    };
    let after = state(&mut conn);
    assert_eq!(after[0], ("(removed)".to_string(), true));
    assert_eq!(after[1], ("Margaret".to_string(), false), "the failed one is untouched, not half done");
    // The third was done when the run was stopped reporting it; the fourth was never reached.
    assert_eq!(
        (after[2].clone(), after[3].clone()),
        (("(removed)".to_string(), true), ("Margaret".to_string(), false))
    );
    for (name, done) in &after {
        assert_eq!(name == "(removed)", *done, "anonymised exactly when recorded as done");
    }
    let notes: i64 =
        referral_notes::table.filter(referral_notes::referral_id.eq(&order[1])).count().get_result(&mut conn).unwrap();
    assert_eq!(notes, 1, "its notes were not deleted either");

    // Restarted with the fault gone: the rest is done, the first is not done again.
    conn.batch_execute(&unstop).unwrap();
    let mut out = Vec::new();
    let summary = retention::run(&mut conn, &settings, now, false, &mut out).unwrap();
    assert_eq!((summary.due, summary.anonymised, summary.failed), (2, 2, 0), "{}", String::from_utf8_lossy(&out));
    assert!(state(&mut conn).iter().all(|(name, done)| name == "(removed)" && *done));
    let rows: i64 = audit_events::table
        .filter(audit_events::action.eq("retention.anonymise"))
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(rows, 4, "one audit row per referral, none twice");
    assert_eq!(reports(&app), before);
}
