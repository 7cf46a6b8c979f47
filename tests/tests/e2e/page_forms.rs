//! Page forms are read one way (`PageForm`): the CSRF token first, then into the API's own
//! input structs; a refused form comes back with what was typed and the problems, and a form
//! that cannot be read is a readable 400 page. Nothing is saved by a refused form.

use crate::helpers::{spawn_app, DEMO_PASSWORD};
use crate::referrals::{create, referral_body, GP, LINK_WORKER};

#[test]
fn a_refused_form_on_the_referral_page_keeps_what_was_typed_and_saves_nothing() {
    let app = spawn_app();
    let gp = app.login(GP, DEMO_PASSWORD);
    let id = create(&app, &gp, &referral_body());
    let path = format!("/referrals/{id}");
    let mut worker = app.browser();
    worker.sign_in(LINK_WORKER, DEMO_PASSWORD);
    worker.get(&path);
    let csrf = worker.csrf();
    assert_eq!(
        worker.post(&format!("{path}/transitions"), &[("csrf", &csrf), ("version", "1"), ("to", "accepted")]).status,
        303
    );

    // A plan without goals: the page again, the problem linked to its field, every word kept.
    let typed = "Getting back to the allotment on Tuesdays";
    let refused = worker.post(
        &format!("{path}/plan"),
        &[("csrf", &csrf), ("version", "0"), ("what_matters", typed), ("goals", ""), ("actions", "Ring the club")],
    );
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        refused.body.contains("There is a problem") && refused.body.contains(r##"href="#goals""##),
        "{}",
        refused.body
    );
    assert!(refused.body.contains(&format!(">{typed}</textarea>")), "what matters is kept");
    assert!(refused.body.contains(">Ring the club</textarea>"), "what was agreed is kept");
    let worker_token = app.login(LINK_WORKER, DEMO_PASSWORD);
    let saved = app.call("GET", &format!("/api/v1/referrals/{id}"), Some(&worker_token), None).json();
    assert!(saved["work"]["plan"].is_null(), "nothing saved: {}", saved["work"]["plan"]);

    // The same form filled in is saved and goes back to the referral.
    let done = worker.post(
        &format!("{path}/plan"),
        &[
            ("csrf", &csrf),
            ("version", "0"),
            ("what_matters", typed),
            ("goals", "Grow beans"),
            ("actions", "Ring the club"),
        ],
    );
    let back = format!("{path}?done=plan#plan");
    assert_eq!((done.status, done.header("location")), (303, Some(back.as_str())), "back to the plan, saying so");

    // ONS4 answers come as the API's `answers`, in order; one that is not a number is a
    // readable 400 page (a browser's number field never sends one), not a 500.
    let measures = format!("{path}/measures");
    let answers = |a: [&'static str; 4]| {
        let mut fields = vec![("csrf", csrf.as_str()), ("instrument", "ons4"), ("timepoint", "baseline")];
        fields.extend(a.iter().map(|v| ("answers", *v)));
        fields
    };
    let unreadable = worker.post(&measures, &answers(["7", "seven", "5", "2"]));
    assert_eq!(unreadable.status, 400, "{}", unreadable.body);
    assert!(unreadable.body.contains("could not be read"), "{}", unreadable.body);
    let out_of_range = worker.post(&measures, &answers(["7", "6", "5", "12"]));
    assert_eq!(out_of_range.status, 422, "{}", out_of_range.body);
    assert_eq!(worker.post(&measures, &answers(["7", "6", "5", "2"])).status, 303);
    let saved = app.call("GET", &format!("/api/v1/referrals/{id}"), Some(&worker_token), None).json();
    let recorded = saved["measures"]["recorded"].as_array().expect("measures");
    assert_eq!(recorded.len(), 1, "only the good one: {recorded:?}");
    assert_eq!(recorded[0]["answers"], serde_json::json!([7, 6, 5, 2]));

    // A field the API's struct does not have is refused, as the API refuses it.
    let extra = worker.post(&format!("{path}/notes"), &[("csrf", &csrf), ("body", "Rang her"), ("owner", "x")]);
    assert_eq!(extra.status, 400, "{}", extra.body);
    // The token is checked before anything is read.
    let forged = worker.post(&format!("{path}/notes"), &[("csrf", "forged"), ("body", "Rang her")]);
    assert_eq!(forged.status, 403);
    assert_eq!(worker.post(&format!("{path}/notes"), &[("csrf", &csrf), ("body", "Rang her")]).status, 303);
    let saved = app.call("GET", &format!("/api/v1/referrals/{id}"), Some(&worker_token), None).json();
    assert_eq!(saved["work"]["notes"].as_array().map(Vec::len), Some(1), "one note: {}", saved["work"]["notes"]);
}

#[test]
fn the_gp_form_reads_into_the_apis_referral_and_ticked_boxes_are_kept_when_refused() {
    let app = spawn_app();
    let mut gp = app.browser();
    gp.sign_in(GP, DEMO_PASSWORD);
    gp.get("/referrals/new");
    let csrf = gp.csrf();
    let born = (chrono::Utc::now().date_naive() - chrono::Duration::days(40 * 365)).format("%Y-%m-%d").to_string();
    let mut fields = vec![
        ("csrf", csrf.as_str()),
        ("given_name", "Sam"),
        ("family_name", "Testperson"),
        ("date_of_birth", born.as_str()),
        ("nhs_number", "999 000 0018"),
        ("postcode", "GL5 1HE"),
        ("phone", ""),
        ("email", ""),
        ("preferred_contact", "letter"),
        ("reasons", "loneliness"),
        ("reasons", "money-and-debt"),
        ("referrer_words", "Struggling since losing work."),
        ("urgency", "soon"),
        ("interpreter_needed", "true"),
        ("consent_share", "true"),
    ];
    // No consent to the referral: refused, and the boxes ticked and reasons chosen stay so.
    let refused = gp.post("/referrals", &fields);
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.body.contains(r#"name="interpreter_needed" value="true" checked"#), "{}", refused.body);
    assert!(refused.body.contains(r#"name="consent_share" value="true" checked"#));
    assert!(!refused.body.contains(r#"name="consent_referral" value="true" checked"#));
    assert!(refused.body.contains(r#"<option value="soon" selected>"#));
    fields.push(("consent_referral", "true"));
    let sent = gp.post("/referrals", &fields);
    assert_eq!(sent.status, 303, "{}", sent.body);
    let id =
        sent.header("location").unwrap().trim_start_matches("/referrals/").trim_end_matches("?created=1").to_string();
    let token = app.login(GP, DEMO_PASSWORD);
    let referral = app.call("GET", &format!("/api/v1/referrals/{id}"), Some(&token), None).json();
    assert_eq!(referral["urgency"], "soon");
    assert_eq!(referral["person"]["interpreter_needed"], true, "{referral}");
    assert!(referral["person"]["phone"].is_null(), "an empty field is no phone: {referral}");
}
