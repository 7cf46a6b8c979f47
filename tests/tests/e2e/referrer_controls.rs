//! Safe controls for referrers: a GP withdraws a referral on a page of its own, in their own
//! words, with nothing chosen for them; and every action on a referral says what it did, in
//! the section it changed.

use crate::helpers::{spawn_app, DEMO_PASSWORD};
use crate::referrals::{create, referral_body, GP, LINK_WORKER};

#[test]
fn a_gp_withdraws_a_referral_with_a_reason_and_nothing_pre_selected() {
    let app = spawn_app();
    let token = app.login(GP, DEMO_PASSWORD);
    let id = create(&app, &token, &referral_body());
    let path = format!("/referrals/{id}");
    let mut gp = app.browser();
    gp.sign_in(GP, DEMO_PASSWORD);
    let page = gp.get(&path);
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("id=\"to\""), "no status menu for the referrer");
    assert!(!page.body.contains("Entered in error"), "no status words the referrer does not use");
    assert!(page.body.contains(&format!("href=\"{path}/withdraw\"")), "a link to withdraw it");

    let form = gp.get(&format!("{path}/withdraw"));
    assert_eq!(form.status, 200);
    assert!(!form.body.contains(" checked"), "nothing chosen for them");
    assert!(form.body.contains("The person does not need it any more") && form.body.contains("It was sent by mistake"));
    assert!(form.body.contains("No, keep the referral"));
    let csrf = gp.csrf();

    // Nothing chosen: said by the choice; no reason for "not needed": said by the reason.
    let none = gp.post(&format!("{path}/withdraw"), &[("csrf", &csrf), ("to", ""), ("reason", ""), ("version", "1")]);
    assert_eq!(none.status, 422);
    assert!(none.body.contains("<title>Error: Withdraw this referral"));
    assert!(none.body.contains("id=\"to-error\"") && none.body.contains("href=\"#to\""), "{}", none.body);
    let no_reason = gp
        .post(&format!("{path}/withdraw"), &[("csrf", &csrf), ("to", "cancelled"), ("reason", " "), ("version", "1")]);
    assert_eq!(no_reason.status, 422);
    assert!(no_reason.body.contains("id=\"reason-error\"") && no_reason.body.contains("aria-invalid=\"true\""));
    assert!(no_reason.body.contains("value=\"cancelled\" checked"), "keeps what was chosen");
    // Bad input: a move the referrer may not make, a NUL byte, an unknown field, a stale page.
    let not_theirs = gp
        .post(&format!("{path}/withdraw"), &[("csrf", &csrf), ("to", "completed"), ("reason", "x"), ("version", "1")]);
    assert_eq!(not_theirs.status, 422);
    let nul = gp.post(
        &format!("{path}/withdraw"),
        &[("csrf", &csrf), ("to", "cancelled"), ("reason", "a\0b"), ("version", "1")],
    );
    assert_eq!(nul.status, 422);
    let unknown =
        gp.post(&format!("{path}/withdraw"), &[("csrf", &csrf), ("to", "cancelled"), ("version", "1"), ("x", "1")]);
    assert_eq!(unknown.status, 400, "a field the form does not have: the page that says so");
    let stale = gp.post(
        &format!("{path}/withdraw"),
        &[("csrf", &csrf), ("to", "cancelled"), ("reason", "Moved away"), ("version", "7")],
    );
    assert_eq!(stale.status, 422, "a page read before someone else changed it");
    assert_eq!(app.call("GET", &format!("/api/v1/{}", &path[1..]), Some(&token), None).json()["status"], "received");

    let done = gp.post(
        &format!("{path}/withdraw"),
        &[("csrf", &csrf), ("to", "cancelled"), ("reason", "Moved away"), ("version", "1")],
    );
    assert_eq!(done.status, 303, "{}", done.body);
    let to = done.header("location").unwrap().to_string();
    assert_eq!(to, format!("{path}?done=withdrawn#status"));
    let after = gp.get(to.split('#').next().unwrap());
    assert!(after.body.contains("Referral withdrawn"), "a banner says what happened");
    assert!(after.body.contains("<strong>Cancelled</strong>"));
    assert!(after.body.contains("Moved away"), "the reason is on the timeline");
}

#[test]
fn a_completed_referral_offers_only_sent_by_mistake_and_the_link_worker_chooses_a_status() {
    let app = spawn_app();
    let token = app.login(GP, DEMO_PASSWORD);
    let list = app.call("GET", "/api/v1/referrals?status=completed", Some(&token), None).json();
    let id = list["referrals"][0]["id"].as_str().expect("a completed demo referral of the practice").to_string();
    let mut gp = app.browser();
    gp.sign_in(GP, DEMO_PASSWORD);
    let form = gp.get(&format!("/referrals/{id}/withdraw"));
    assert!(form.body.contains("It was sent by mistake"));
    assert!(!form.body.contains("value=\"cancelled\""), "a completed referral cannot be cancelled");
    assert!(!form.body.contains(" checked"));

    // The link worker's status menu starts on "Choose a new status", not on a move.
    let lw_token = app.login(LINK_WORKER, DEMO_PASSWORD);
    let new_id = create(&app, &token, &referral_body());
    let mut worker = app.browser();
    worker.sign_in(LINK_WORKER, DEMO_PASSWORD);
    let page = worker.get(&format!("/referrals/{new_id}"));
    assert!(page.body.contains("<select id=\"to\" name=\"to\"><option value=\"\">Choose a new status</option>"));
    let csrf = worker.csrf();
    let nothing =
        worker.post(&format!("/referrals/{new_id}/transitions"), &[("csrf", &csrf), ("version", "1"), ("to", "")]);
    assert_eq!(nothing.status, 422, "no status chosen is refused, not guessed");
    assert!(nothing.body.contains("id=\"to-error\""), "said by the menu");
    // Every action says what it did, back in the section it changed.
    let noted = worker.post(&format!("/referrals/{new_id}/notes"), &[("csrf", &csrf), ("body", "Called the practice")]);
    assert_eq!(noted.header("location"), Some(format!("/referrals/{new_id}?done=note#notes").as_str()));
    let page = worker.get(&format!("/referrals/{new_id}?done=note"));
    assert!(page.body.contains("Note added"));
    let moved = worker
        .post(&format!("/referrals/{new_id}/transitions"), &[("csrf", &csrf), ("version", "1"), ("to", "accepted")]);
    assert_eq!(moved.header("location"), Some(format!("/referrals/{new_id}?done=transition#move").as_str()));
    // An unknown ?done= says nothing.
    assert!(!worker.get(&format!("/referrals/{new_id}?done=%3Cb%3E")).body.contains("notice-success"));
    let _ = lw_token;
}

#[test]
fn the_referral_page_names_the_wellbeing_questions_and_bands_and_connects_with_a_message() {
    let app = spawn_app();
    let lead = app.login(crate::referrals::LEAD, DEMO_PASSWORD);
    let list = app.call("GET", "/api/v1/referrals?status=completed", Some(&lead), None).json();
    let id = list["referrals"][0]["id"].as_str().unwrap().to_string();
    let mut worker = app.browser();
    worker.sign_in(LINK_WORKER, DEMO_PASSWORD);
    let page = worker.get(&format!("/referrals/{id}"));
    assert_eq!(page.status, 200);
    assert!(page.body.contains("ONS4 personal wellbeing, at the start"), "the measure by its name");
    assert!(
        page.body.contains("<dt>Life satisfaction") && page.body.contains(" out of 10 ("),
        "question names and bands"
    );
    assert!(!page.body.contains("Ons4 Baseline"), "not the stored code");
    assert!(page.body.contains("for anxiety, a fall is an improvement"));

    // Connecting a group takes a message for it, which the group sees once introduced.
    let token = app.login(GP, DEMO_PASSWORD);
    let new_id = create(&app, &token, &referral_body());
    let found = worker.get(&format!("/referrals/{new_id}?q=gardening"));
    assert!(found.body.contains("Message for the group"));
    let csrf = worker.csrf();
    let garden = backend::directory::seed::service_id("stroud-community-gardening-club-garden");
    let sent = worker.post(
        &format!("/referrals/{new_id}/connections"),
        &[("csrf", &csrf), ("service_id", &garden), ("note", "She loved her own garden; mornings suit her.")],
    );
    assert_eq!(sent.status, 303, "{}", sent.body);
    let page = worker.get(&format!("/referrals/{new_id}"));
    assert!(
        page.body.contains("Group added to the connections") || page.body.contains("Stroud Community Gardening Club")
    );
}

#[test]
fn a_groups_inbox_puts_those_waiting_first_with_no_answer_chosen() {
    let app = spawn_app();
    let gp = app.login(GP, DEMO_PASSWORD);
    let worker = app.login(LINK_WORKER, DEMO_PASSWORD);
    let garden = backend::directory::seed::service_id("stroud-community-gardening-club-garden");
    let mut body = referral_body();
    body["consent_share"] = serde_json::json!(false);
    let id = create(&app, &gp, &body);
    let added = app.call(
        "POST",
        &format!("/api/v1/referrals/{id}/connections"),
        Some(&worker),
        Some(&serde_json::json!({"service_id": garden, "note": "Mornings suit her"}).to_string()),
    );
    assert_eq!(added.status, 201, "{}", added.body);
    let connection = added.json()["id"].as_str().unwrap().to_string();
    let moved = app.call(
        "POST",
        &format!("/api/v1/connections/{connection}/transitions"),
        Some(&worker),
        Some(r#"{"to": "introduced", "version": 1}"#),
    );
    assert_eq!(moved.status, 200, "{}", moved.body);

    let mut editor = app.browser();
    editor.sign_in(crate::referrals::GARDEN_EDITOR, DEMO_PASSWORD);
    let inbox = editor.get("/introductions");
    assert_eq!(inbox.status, 200, "{}", inbox.body);
    let waiting = inbox.body.find("Waiting for your answer").expect("a waiting section");
    let ours = inbox.body.find(&format!("id=\"intro-{connection}\"")).expect("the introduction");
    assert!(ours > waiting, "ours is among those waiting");
    if let Some(answered) = inbox.body.find("<h2 id=\"answered\">") {
        assert!(answered > ours, "the answered come after those waiting");
    }
    let section = &inbox.body[ours..];
    let section = &section[..section.find("</section>").unwrap()];
    assert!(section.contains("Someone, for"), "no name without consent");
    assert!(section.contains("did not agree to share"), "'someone' is explained");
    assert!(section.contains("Mornings suit her"), "the link worker's message");
    assert!(section.contains("Introduced on"), "when");
    assert!(!section.contains("checked"), "no answer chosen for them");
    // Sending no answer changes nothing and says why.
    let csrf = editor.csrf();
    let none = editor.post(&format!("/connections/{connection}/transitions"), &[("csrf", &csrf), ("version", "2")]);
    assert!(none.status == 303 || none.status == 422 || none.status == 400, "{}", none.status);
    let again = app.call("GET", &format!("/api/v1/referrals/{id}"), Some(&worker), None).json();
    assert_eq!(again["connections"][0]["status"], "introduced");
}

#[test]
fn the_caseload_shows_open_referrals_with_owner_and_waiting_time_and_pages() {
    let app = spawn_app();
    let mut worker = app.browser();
    worker.sign_in(LINK_WORKER, DEMO_PASSWORD);
    let rows = |body: &str| body.matches("<td data-label=\"Person\">").count();
    let open = worker.get("/referrals");
    assert_eq!(open.status, 200);
    assert!(open.body.contains("still open") && open.body.contains("<th scope=\"col\">Owner</th>"));
    assert!(open.body.contains("data-label=\"Waiting\""));
    assert!(!open.body.contains(">Completed</td>"), "closed referrals are not in the caseload by default");
    let all = worker.get("/referrals?closed=1");
    assert!(all.body.contains(">Completed</td>"), "but can be shown");
    assert!(rows(&all.body) > rows(&open.body));
    // The longest waiting first: the first row waited at least as long as the last.
    let waiting = worker.get("/referrals?sort=waiting&closed=1");
    let days = |cell: &str| cell.split_whitespace().next().and_then(|d| d.parse::<i64>().ok()).unwrap_or(0);
    let cells: Vec<i64> =
        waiting.body.split("<td data-label=\"Waiting\">").skip(1).map(|c| days(&c[..c.find('<').unwrap()])).collect();
    assert!(cells.len() > 1 && cells.first() >= cells.last(), "{cells:?}");
    // The demo's sixty referrals fit two pages of fifty.
    let first = worker.get("/referrals?closed=1&sort=waiting");
    assert!(first.body.contains("Page 1 of 2") && first.body.contains("rel=\"next\""), "paged");
    let second = worker.get("/referrals?closed=1&sort=waiting&page=2");
    assert!(second.body.contains("Page 2 of 2") && rows(&second.body) > 0);
    // A practice sees all of its own, with "Make a referral"; no owner column.
    let mut gp = app.browser();
    gp.sign_in(GP, DEMO_PASSWORD);
    let practice = gp.get("/referrals");
    assert!(practice.body.contains("Make a referral") && !practice.body.contains("<th scope=\"col\">Owner</th>"));
    // Bad input: 422, never a 500.
    for bad in ["/referrals?page=0", "/referrals?page=x", "/referrals?sort=sideways", "/referrals?page=%00"] {
        assert!((400..500).contains(&worker.get(bad).status), "{bad}");
    }
}

#[test]
fn the_audit_trail_names_people_says_dates_in_words_and_pages() {
    let app = spawn_app();
    let mut admin = app.browser();
    admin.sign_in(crate::referrals::ADMIN, DEMO_PASSWORD);
    let gp = app.login(GP, DEMO_PASSWORD);
    let _ = app.login(GP, DEMO_PASSWORD);
    let _ = gp;
    let page = admin.get("/admin/audit?limit=2");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("<td data-label=\"Who\"><a href=\"/admin/audit?actor"), "names, not ids");
    assert!(page.body.contains("Events 1 to 2"));
    // (Handlebars writes `=` as `&#x3D;` in an attribute.)
    assert!(page.body.contains("href=\"/admin/audit?limit&#x3D;2&amp;offset&#x3D;2\" rel=\"next\""), "older events");
    let older = admin.get("/admin/audit?limit=2&offset=2");
    assert!(older.body.contains("Events 3 to 4") && older.body.contains("rel=\"prev\""));
    // Dates in words ("Tuesday 1 December, 06:30"), not 2026-12-01T06:30:00.
    assert!(!page.body.contains("<td data-label=\"When (UTC)\">20"), "a date in words");
    // Filtered by a person chosen by name.
    let gp_id: String = {
        use backend::db::schema::users;
        use diesel::prelude::*;
        users::table.filter(users::email.eq(GP)).select(users::id).first(&mut app.db()).unwrap()
    };
    let theirs = admin.get(&format!("/admin/audit?actor={gp_id}"));
    assert!(theirs.body.contains(&format!("<option value=\"{gp_id}\" selected>Sam Referrer")));
    assert!(!theirs.body.contains(">Avery Admin</a> <span"), "only theirs");
    assert!(theirs.body.contains(">Sam Referrer (Beeches Green)</a> <span"), "theirs by name");
    // Sign out works from the page (its forms carry the CSRF token).
    assert!(!page.body.contains("name=\"csrf\" value=\"\""));
    for bad in
        ["/admin/audit?offset=-1", "/admin/audit?limit=0", "/admin/audit?outcome=maybe", "/admin/audit?actor=%00"]
    {
        assert!((400..500).contains(&admin.get(bad).status), "{bad}");
    }
}
