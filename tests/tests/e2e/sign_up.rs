//! Community groups sign themselves up: a volunteer at `/join`, waiting (unable to do anything
//! an editor does) until the directory team approves, then listing an activity that waits for
//! approval in turn; bad sign-ups named by field; the same answer for an address that already
//! has an account; the limit per address; approving and turning down, and who may.

use serde_json::{json, Value};

use crate::helpers::{assert_error, spawn_app, Answer, TestApp, DEMO_PASSWORD};

const ADMIN: &str = "admin@demo.example.org";
const PASSWORD: &str = "runner beans on a windy hill";

/// A complete sign-up from the API.
fn sign_up_body(email: &str) -> Value {
    json!({
        "organisation_name": "Bisley Road Allotment Growers",
        "organisation_description": "We grow vegetables together every Saturday morning. Beginners welcome.",
        "website": "https://bisley-growers.example.org",
        "organisation_email": "hello@bisley-growers.example.org",
        "organisation_phone": "01632 960777",
        "name": "Pat Green",
        "email": email,
        "password": PASSWORD,
    })
}

fn sign_up(app: &TestApp, body: &Value) -> Answer {
    app.call("POST", "/api/v1/organisations/sign-up", None, Some(&body.to_string()))
}

/// The groups waiting for approval, as the admin API lists them.
fn waiting(app: &TestApp, admin: &str) -> Vec<Value> {
    let answer = app.call("GET", "/api/v1/admin/organisations/pending", Some(admin), None);
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.json()["organisations"].as_array().unwrap().clone()
}

fn count(app: &TestApp, sql_table: &str) -> i64 {
    use diesel::prelude::*;
    use diesel::sql_types::BigInt;
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {sql_table}")).get_result::<Count>(&mut app.db()).unwrap().n
}

/// The audit events of an action, newest first.
fn audit(app: &TestApp, admin: &str, action: &str) -> Vec<Value> {
    let answer = app.call("GET", &format!("/api/v1/admin/audit?action={action}"), Some(admin), None);
    answer.json()["events"].as_array().unwrap().clone()
}

#[test]
fn a_volunteer_signs_up_waits_for_approval_then_lists_an_activity() {
    let app = spawn_app();
    let mut volunteer = app.browser();
    // The way in, in words a volunteer at a gardening club understands.
    let sign_in = volunteer.get("/sign-in");
    assert!(sign_in.body.contains(r#"<a href="/join">"#) && sign_in.body.contains("Run a community group"));
    let page = volunteer.get("/join");
    assert_eq!(page.status, 200);
    for label in
        ["Group name", "What your group does", "Website (optional)", "Your e-mail address", "Choose a password"]
    {
        assert!(page.body.contains(label), "the form asks for {label}");
    }
    assert!(
        page.body.contains(r#"<label for="organisation_name">"#) && page.body.contains(r#"id="organisation_name""#)
    );
    let csrf = volunteer.csrf();
    let email = "pat@bisley-growers.example.org";
    let sent = volunteer.post(
        "/join",
        &[
            ("csrf", &csrf),
            ("organisation_name", "Bisley Road Allotment Growers"),
            ("organisation_description", "We grow vegetables together every Saturday morning."),
            ("website", "https://bisley-growers.example.org"),
            ("organisation_email", "hello@bisley-growers.example.org"),
            ("organisation_phone", ""),
            ("name", "Pat Green"),
            ("email", email),
            ("password", PASSWORD),
        ],
    );
    assert_eq!(sent.status, 303, "{}", sent.body);
    assert_eq!(sent.header("location"), Some("/join?sent=1"));
    let thanks = volunteer.get("/join?sent=1");
    assert!(thanks.body.contains("The directory team will check your group"), "{}", thanks.body);

    // Waiting: signing in says so, on the page and over the API, and gives no session.
    let refused = volunteer.sign_in(email, PASSWORD);
    assert_eq!(refused.status, 403);
    assert!(refused.body.contains("waiting for the directory team to approve it"), "{}", refused.body);
    assert!(!volunteer.cookies.contains_key("cg_session"));
    let api =
        app.call("POST", "/api/v1/auth/login", None, Some(&json!({"email": email, "password": PASSWORD}).to_string()));
    assert!(assert_error(&api, 403, None)["error"]["message"].as_str().unwrap().contains("waiting"));
    // The right answer is only for the right password.
    let wrong = app.call(
        "POST",
        "/api/v1/auth/login",
        None,
        Some(&json!({"email": email, "password": "not it at all"}).to_string()),
    );
    assert_error(&wrong, 401, None);
    // Even a correctly signed token does nothing an editor does.
    let minted = app.mint_token(email);
    let listing =
        json!({"name": "Seed swap", "summary": "Swap seeds.", "categories": ["gardening"], "attending_type": "online"});
    assert_error(&app.call("POST", "/api/v1/services", Some(&minted), Some(&listing.to_string())), 401, None);
    assert_error(&app.call("GET", "/api/v1/introductions", Some(&minted), None), 401, None);
    assert_error(&app.call("GET", "/api/v1/my/listings", Some(&minted), None), 401, None);

    // The directory team sees what was sent, and approves it on the admin page.
    let admin = app.login(ADMIN, DEMO_PASSWORD);
    let groups = waiting(&app, &admin);
    assert_eq!(groups.len(), 1, "{groups:?}");
    let group = &groups[0];
    assert_eq!(group["name"], "Bisley Road Allotment Growers");
    assert_eq!(group["website"], "https://bisley-growers.example.org");
    assert_eq!(group["email"], "hello@bisley-growers.example.org");
    assert!(group["phone"].is_null(), "a blank field is not stored as text");
    assert_eq!(group["people"][0]["email"], email);
    assert_eq!(group["people"][0]["name"], "Pat Green");
    let id = group["id"].as_str().unwrap().to_string();
    let mut team = app.browser();
    assert_eq!(team.sign_in(ADMIN, DEMO_PASSWORD).status, 303);
    let admin_page = team.get("/admin");
    assert!(admin_page.body.contains("Community groups waiting for approval"));
    assert!(admin_page.body.contains("We grow vegetables together every Saturday morning."));
    let csrf = team.csrf();
    let approved = team.post(&format!("/admin/organisations/{id}/approve"), &[("csrf", &csrf)]);
    assert_eq!(approved.status, 303, "{}", approved.body);
    assert!(waiting(&app, &admin).is_empty());
    assert!(audit(&app, &admin, "organisation.approve").iter().any(|e| e["record_id"] == id.as_str()));
    assert!(audit(&app, &admin, "organisation.sign_up")
        .iter()
        .any(|e| e["record_id"] == id.as_str() && e["outcome"] == "ok"));
    assert!(!team.get("/admin").body.contains("Community groups waiting for approval"));

    // Approved: the volunteer signs in and lists an activity, which waits for approval too.
    assert_eq!(volunteer.sign_in(email, PASSWORD).status, 303);
    assert_eq!(volunteer.get("/my/listings").status, 200);
    let editor = app.login(email, PASSWORD);
    let me = app.call("GET", "/api/v1/me", Some(&editor), None).json();
    assert_eq!((me["role"].as_str(), me["organisation_id"].as_str()), (Some("group_editor"), Some(id.as_str())));
    let created = app.call("POST", "/api/v1/services", Some(&editor), Some(&listing.to_string()));
    assert_eq!(created.status, 201, "{}", created.body);
    let service = created.json()["id"].as_str().unwrap().to_string();
    assert_error(&app.get(&format!("/api/v1/services/{service}")), 404, None);
    let pending = app.call("GET", "/api/v1/admin/pending", Some(&admin), None).json();
    assert!(pending["pending"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["id"] == service.as_str() && p["organisation"] == "Bisley Road Allotment Growers"));
    // Still only their own group's: the gardening club's listing is not theirs to edit.
    let garden = backend::directory::seed::service_id("stroud-community-gardening-club-garden");
    let edit = json!({"version": 1, "capacity": "full"});
    assert_error(
        &app.call("PATCH", &format!("/api/v1/services/{garden}"), Some(&editor), Some(&edit.to_string())),
        404,
        None,
    );
}

#[test]
fn the_organisation_lock_holds_on_its_own() {
    // An admin enables the volunteer's account by hand while the group still waits: the
    // organisation's status alone still refuses every token.
    let app = spawn_app();
    let email = "solo@example.org";
    assert_eq!(sign_up(&app, &sign_up_body(email)).status, 202);
    let admin = app.login(ADMIN, DEMO_PASSWORD);
    let person = waiting(&app, &admin)[0]["people"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(app.call("POST", &format!("/api/v1/admin/users/{person}/enable"), Some(&admin), None).status, 204);
    assert_error(&app.call("GET", "/api/v1/me", Some(&app.mint_token(email)), None), 401, None);
    let api =
        app.call("POST", "/api/v1/auth/login", None, Some(&json!({"email": email, "password": PASSWORD}).to_string()));
    assert_error(&api, 403, None);
}

#[test]
fn bad_sign_ups_are_named_by_field_and_create_nothing() {
    let app = spawn_app();
    let (organisations, users) = (count(&app, "organizations"), count(&app, "users"));
    let cases: Vec<(&str, Value, &str)> = vec![
        ("organisation_name", json!(""), "organisation_name"),
        ("organisation_name", json!("   "), "organisation_name"),
        ("email", json!("pat.example.org"), "email"),
        ("email", json!("pat@"), "email"),
        ("organisation_email", json!("hello"), "organisation_email"),
        ("organisation_phone", json!("call us"), "organisation_phone"),
        ("website", json!("javascript:alert(1)"), "website"),
        ("website", json!("data:text/html,<script>alert(1)</script>"), "website"),
        ("website", json!("ftp://files.example.org"), "website"),
        ("website", json!("bisley-growers.example.org"), "website"),
        ("password", json!("short"), "password"),
        ("password", json!("password12345"), "password"),
        ("password", json!("aaaaaaaaaaaabbbb"), "password"),
        ("organisation_description", json!("x".repeat(2001)), "organisation_description"),
        ("name", json!(""), "name"),
        ("organisation_name", json!("Growers\u{0}"), "organisation_name"),
    ];
    for (key, value, field) in cases {
        let mut body = sign_up_body("pat@example.org");
        body[key] = value.clone();
        let answer = sign_up(&app, &body);
        assert_error(&answer, 422, Some(field));
        assert!(!answer.body.contains(PASSWORD), "{key}: the password is never sent back");
    }
    // A missing field is named like a blank one, not a malformed request.
    let mut missing = sign_up_body("pat@example.org");
    missing.as_object_mut().unwrap().remove("organisation_name");
    assert_error(&sign_up(&app, &missing), 422, Some("organisation_name"));
    // No contact for the group at all.
    let mut no_contact = sign_up_body("pat@example.org");
    no_contact["organisation_email"] = json!("");
    no_contact["organisation_phone"] = json!("");
    assert_error(&sign_up(&app, &no_contact), 422, Some("organisation_email"));
    // A megabyte of description is a clear 413, not a crash.
    let mut huge = sign_up_body("pat@example.org");
    huge["organisation_description"] = json!("x".repeat(1024 * 1024));
    assert_error(&sign_up(&app, &huge), 413, None);
    let mut extra = sign_up_body("pat@example.org");
    extra["role"] = json!("admin");
    assert_error(&sign_up(&app, &extra), 400, None);
    assert_eq!((count(&app, "organizations"), count(&app, "users")), (organisations, users), "nothing was created");
    // Refused sign-ups do not count towards the limit (5 an hour): after all those, a good one
    // still goes through.
    assert_eq!(sign_up(&app, &sign_up_body("pat@example.org")).status, 202);
}

#[test]
fn markup_is_kept_as_text_and_shown_escaped() {
    let app = spawn_app();
    let mut body = sign_up_body("markup@example.org");
    body["organisation_name"] = json!("<script>alert('growers')</script> Growers");
    body["organisation_description"] = json!("We <b>grow</b> & share.");
    assert_eq!(sign_up(&app, &body).status, 202);
    let admin = app.login(ADMIN, DEMO_PASSWORD);
    assert_eq!(waiting(&app, &admin)[0]["name"], "<script>alert('growers')</script> Growers", "stored as typed");
    let mut team = app.browser();
    team.sign_in(ADMIN, DEMO_PASSWORD);
    let page = team.get("/admin").body;
    assert!(page.contains("&lt;script&gt;alert(&#x27;growers&#x27;)&lt;/script&gt; Growers"), "escaped");
    assert!(page.contains("We &lt;b&gt;grow&lt;/b&gt; &amp; share."));
    assert!(!page.contains("<script>alert"), "never markup");
}

#[test]
fn the_join_page_keeps_what_was_typed_and_says_what_to_fix() {
    let app = spawn_app();
    let mut volunteer = app.browser();
    volunteer.get("/join");
    let csrf = volunteer.csrf();
    let refused = volunteer.post(
        "/join",
        &[
            ("csrf", &csrf),
            ("organisation_name", "Stroud <Knit> & Natter"),
            ("organisation_description", "We knit and natter on Thursdays."),
            ("website", "javascript:alert(1)"),
            ("organisation_email", "knit@example.org"),
            ("name", "Sam"),
            ("email", "sam@example"),
            ("password", "the wool is soft and warm"),
        ],
    );
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.body.contains("There is a problem"));
    assert!(refused.body.contains(r##"<a href="#website">"##) && refused.body.contains(r##"<a href="#email">"##));
    assert!(
        refused.body.contains(r#"aria-describedby="website-hint website-error""#),
        "the message is read with its field"
    );
    assert!(refused.body.contains(r#"value="Stroud &lt;Knit&gt; &amp; Natter""#), "the name typed is kept, escaped");
    assert!(refused.body.contains("We knit and natter on Thursdays.</textarea>"));
    assert!(refused.body.contains(r#"value="javascript:alert(1)""#), "the bad address is shown to correct");
    assert!(!refused.body.contains("the wool is soft"), "the password is never sent back");
    // A megabyte pasted into the form: a readable page, not a crash.
    let huge = "x".repeat(1024 * 1024);
    let too_large = volunteer.post("/join", &[("csrf", &csrf), ("organisation_description", &huge)]);
    assert_eq!(too_large.status, 413);
    assert!(too_large.content_type.starts_with("text/html") && too_large.body.contains("too large"));
    // Without the form's token: refused, nothing created.
    let forged =
        volunteer.post("/join", &[("csrf", "forged-forged-forged-forged-forged-00"), ("organisation_name", "X")]);
    assert_eq!(forged.status, 403);
}

#[test]
fn an_address_with_an_account_gets_the_same_answer_and_no_second_account() {
    let app = spawn_app();
    let first = sign_up(&app, &sign_up_body("new.volunteer@example.org"));
    assert_eq!(first.status, 202, "{}", first.body);
    let (organisations, users) = (count(&app, "organizations"), count(&app, "users"));
    // A demo editor's address, typed differently, and the address just signed up.
    for email in ["Garden.Editor@demo.example.org", "new.volunteer@example.org"] {
        let again = sign_up(&app, &sign_up_body(email));
        assert_eq!((again.status, again.json()), (first.status, first.json()), "{email}: the same answer");
    }
    let mut volunteer = app.browser();
    volunteer.get("/join");
    let csrf = volunteer.csrf();
    let page = volunteer.post(
        "/join",
        &[
            ("csrf", &csrf),
            ("organisation_name", "Another Club"),
            ("organisation_description", "We meet."),
            ("organisation_phone", "01632 960999"),
            ("name", "Someone"),
            ("email", "garden.editor@demo.example.org"),
            ("password", PASSWORD),
        ],
    );
    assert_eq!((page.status, page.header("location")), (303, Some("/join?sent=1")), "the same thank-you page");
    assert_eq!((count(&app, "organizations"), count(&app, "users")), (organisations, users), "nothing created");
    // The demo editor's password is unchanged.
    app.login("garden.editor@demo.example.org", DEMO_PASSWORD);
    let admin = app.login(ADMIN, DEMO_PASSWORD);
    assert_eq!(waiting(&app, &admin).len(), 1);
    let denied: Vec<Value> = audit(&app, &admin, "organisation.sign_up")
        .into_iter()
        .filter(|e| e["outcome"] == "denied" && e["detail"] == "email_taken")
        .collect();
    assert_eq!(denied.len(), 3, "each attempt is on record");
    assert!(!serde_json::to_string(&denied).unwrap().contains("garden.editor"), "ids, not addresses, in the audit");
}

#[test]
fn too_many_sign_ups_from_one_address_are_refused() {
    let app = spawn_app();
    for n in 0..5 {
        let answer = sign_up(&app, &sign_up_body(&format!("volunteer{n}@example.org")));
        assert_eq!(answer.status, 202, "sign-up {n}: {}", answer.body);
    }
    let sixth = sign_up(&app, &sign_up_body("volunteer5@example.org"));
    assert_error(&sixth, 429, None);
    assert!(sixth.header("retry-after").is_some_and(|s| s.parse::<u64>().is_ok_and(|s| s > 0)));
    let mut volunteer = app.browser();
    volunteer.get("/join");
    let csrf = volunteer.csrf();
    let page = volunteer.post("/join", &[("csrf", &csrf), ("organisation_name", "Sixth Club"), ("name", "Jo")]);
    assert_eq!(page.status, 429);
    assert!(page.body.contains("try again in") && page.body.contains(r#"value="Sixth Club""#), "{}", page.body);
    let admin = app.login(ADMIN, DEMO_PASSWORD);
    assert_eq!(waiting(&app, &admin).len(), 5);
}

#[test]
fn only_admins_decide_and_only_on_groups_that_wait() {
    let app = spawn_app();
    assert_eq!(sign_up(&app, &sign_up_body("turned.down@example.org")).status, 202);
    let admin = app.login(ADMIN, DEMO_PASSWORD);
    let id = waiting(&app, &admin)[0]["id"].as_str().unwrap().to_string();
    let approve = |token: Option<&str>, id: &str| {
        app.call("POST", &format!("/api/v1/admin/organisations/{id}/approve"), token, None)
    };
    let reject = |token: &str, id: &str, body: &Value| {
        app.call("POST", &format!("/api/v1/admin/organisations/{id}/reject"), Some(token), Some(&body.to_string()))
    };
    // Not the directory team: refused before anything is looked up.
    let editor = app.login("garden.editor@demo.example.org", DEMO_PASSWORD);
    assert_error(&approve(Some(&editor), &id), 403, None);
    assert_error(&approve(None, &id), 401, None);
    assert_error(&reject(&editor, &id, &json!({"reason": "no"})), 403, None);
    // Unknown or malformed ids, and an organisation that is not waiting.
    assert_error(&approve(Some(&admin), "00000000-0000-4000-8000-000000000000"), 404, None);
    assert_error(&approve(Some(&admin), "not-an-id"), 404, Some("id"));
    let me = app.call("GET", "/api/v1/me", Some(&admin), None).json();
    let active = me["organisation_id"].as_str().unwrap();
    assert!(assert_error(&approve(Some(&admin), active), 409, None)["error"]["message"]
        .as_str()
        .unwrap()
        .contains("is active"));
    // Turning down needs a reason.
    assert_error(&reject(&admin, &id, &json!({})), 422, Some("reason"));
    assert_error(&reject(&admin, &id, &json!({"reason": "  "})), 422, Some("reason"));
    assert_eq!(reject(&admin, &id, &json!({"reason": "Not a community group: a shop."})).status, 204);
    // Turned down: the organisation says why, the account is disabled, signing in is refused
    // with the generic answer, and it cannot be approved afterwards.
    let orgs = app.call("GET", "/api/v1/admin/organisations", Some(&admin), None).json();
    let org = orgs["organisations"].as_array().unwrap().iter().find(|o| o["id"] == id.as_str()).unwrap().clone();
    assert_eq!(
        (org["status"].as_str(), org["review_note"].as_str()),
        (Some("rejected"), Some("Not a community group: a shop."))
    );
    let login = app.call(
        "POST",
        "/api/v1/auth/login",
        None,
        Some(&json!({"email": "turned.down@example.org", "password": PASSWORD}).to_string()),
    );
    assert_error(&login, 401, None);
    let users = app.call("GET", "/api/v1/admin/users", Some(&admin), None).json();
    let person =
        users["users"].as_array().unwrap().iter().find(|u| u["email"] == "turned.down@example.org").unwrap().clone();
    assert_eq!(person["status"], "disabled");
    assert_error(&approve(Some(&admin), &id), 409, None);
    assert_error(&reject(&admin, &id, &json!({"reason": "again"})), 409, None);
    assert!(audit(&app, &admin, "organisation.reject").iter().any(|e| e["record_id"] == id.as_str()));
    assert!(audit(&app, &admin, "user.disable")
        .iter()
        .any(|e| e["record_id"] == person["id"] && e["detail"] == "rejected"));
    // On the admin page, a turn-down without a reason comes back next to that group's form.
    assert_eq!(sign_up(&app, &sign_up_body("second@example.org")).status, 202);
    let second = waiting(&app, &admin)[0]["id"].as_str().unwrap().to_string();
    let mut team = app.browser();
    team.sign_in(ADMIN, DEMO_PASSWORD);
    team.get("/admin");
    let csrf = team.csrf();
    let refused = team.post(&format!("/admin/organisations/{second}/reject"), &[("csrf", &csrf), ("reason", "")]);
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains(&format!(r##"<a href="#reason-{second}">"##)), "{}", refused.body);
    // Deciding twice is said on the admin page, not a bare error page.
    let twice = team.post(&format!("/admin/organisations/{id}/approve"), &[("csrf", &csrf)]);
    assert_eq!(twice.status, 422);
    assert!(twice.body.contains("There is a problem"), "{}", twice.body);
}

#[test]
fn the_database_holds_organisation_statuses() {
    use diesel::connection::SimpleConnection;
    let app = spawn_app();
    let mut conn = app.db();
    assert!(conn.batch_execute("UPDATE organizations SET status = 'approved'").is_err(), "not a status");
    let insert = "INSERT INTO organizations (id, name, kind, status, created_at, updated_at) \
                  VALUES ('x', 'X', 'community_org', 'waiting', '2026-11-22 10:00:00', '2026-11-22 10:00:00')";
    assert!(conn.batch_execute(insert).is_err(), "not a status");
    for status in ["pending", "rejected", "disabled", "active"] {
        let update = format!("UPDATE organizations SET status = '{status}' WHERE kind = 'community_org'");
        assert!(conn.batch_execute(&update).is_ok(), "{status}");
    }
}
