//! The browser suite: Debian's Chromium, driven through chromedriver over W3C WebDriver, signs
//! in through the real pages and walks each role's main journey at 1280 and 390 CSS pixels
//! wide. On every page it checks that nothing is wider than the window and that axe-core (the
//! npm package, at WCAG 2.2 AA) finds no violation; on a refused form, that each problem is
//! said next to its field (message by the field, `aria-invalid`, "Error:" in the title, a
//! summary linking to the fields in the form's order).
//!
//! Skips, saying why, where chromedriver, Chromium or axe-core is missing, unless `CI` is set:
//! then a missing browser fails (`.ci/run` installs them).

mod webdriver;

use std::collections::BTreeMap;
use std::sync::{Condvar, Mutex};

use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp, DEMO_PASSWORD};
use webdriver::{Driver, Session, Tools};

const GP: &str = "gp.referrer@demo.example.org";
const LINK_WORKER: &str = "link.worker@demo.example.org";
const GARDEN_EDITOR: &str = "garden.editor@demo.example.org";
const ADMIN: &str = "admin@demo.example.org";

/// The widths every journey is walked at: a desktop and a phone (390 px, an iPhone 12-15).
const WIDTHS: [u32; 2] = [1280, 390];

/// axe-core's tags for WCAG 2.2 level AA (and A).
const AXE_TAGS: [&str; 5] = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"];

/// At most two browsers at a time: Chromium is heavy, and the machines this runs on have few
/// cores.
const BROWSERS_AT_ONCE: usize = 2;
static RUNNING: (Mutex<usize>, Condvar) = (Mutex::new(0), Condvar::new());

/// A place among the browsers running, given back when dropped.
struct Slot;

impl Slot {
    fn take() -> Slot {
        let (count, freed) = &RUNNING;
        let mut running = count.lock().unwrap_or_else(|e| e.into_inner());
        while *running >= BROWSERS_AT_ONCE {
            running = freed.wait(running).unwrap_or_else(|e| e.into_inner());
        }
        *running += 1;
        Slot
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let (count, freed) = &RUNNING;
        *count.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
        freed.notify_one();
    }
}

/// The tools, or `None` after printing why the suite is skipped (a failure under CI).
fn tools() -> Option<Tools> {
    match webdriver::find_tools() {
        Ok(tools) => Some(tools),
        Err(why) => {
            let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
            assert!(!ci, "the browser suite cannot run under CI: {why}");
            eprintln!("browser suite skipped: {why}");
            None
        }
    }
}

/// What a journey found, page by page.
#[derive(Default)]
struct Findings {
    problems: Vec<String>,
    /// The widest page at 390 px: (scrollWidth, page).
    widest_phone: Option<(i64, String)>,
    pages_checked: usize,
    axe_passes: usize,
}

/// A journey's browser: a session plus what it found.
struct Walk<'a> {
    s: Session,
    app: &'a TestApp,
    tools: &'a Tools,
    width: u32,
    found: Findings,
}

impl Walk<'_> {
    fn open(&mut self, path: &str) {
        self.s.goto(&format!("{}{path}", self.app.address));
        self.check(path);
    }

    fn path(&self) -> String {
        let url = self.s.url();
        url.strip_prefix(&self.app.address).unwrap_or(&url).to_string()
    }

    /// The checks every page gets: no sideways scrolling, and axe-core finds nothing.
    fn check(&mut self, label: &str) {
        let label = format!("{label} at {} px", self.width);
        let sizes = self.s.run(
            "const d = document.documentElement; return [d.scrollWidth, d.clientWidth, window.innerWidth];",
            json!([]),
        );
        let (scroll, client) = (sizes[0].as_i64().unwrap_or(0), sizes[1].as_i64().unwrap_or(0));
        if scroll > client {
            self.found.problems.push(format!("{label}: the page is {scroll} px wide in a {client} px window"));
        }
        // Signed in, "Sign out" is on screen (it was off the right edge on a phone).
        let sign_out = self.s.run(
            "const b = document.querySelector('form[action=\"/sign-out\"] button');
             if (!b) return null; const r = b.getBoundingClientRect();
             return [r.left, r.right, r.width, document.documentElement.clientWidth];",
            json!([]),
        );
        if let Some(r) = sign_out.as_array() {
            let (left, right, width, client) = (r[0].as_f64(), r[1].as_f64(), r[2].as_f64(), r[3].as_f64());
            if !(left >= Some(0.0) && right <= client && width > Some(0.0)) {
                self.found.problems.push(format!("{label}: Sign out is not on screen ({sign_out})"));
            }
        }
        if self.width < 600 && self.found.widest_phone.as_ref().is_none_or(|(w, _)| scroll > *w) {
            self.found.widest_phone = Some((scroll, label.clone()));
        }
        if self.s.run("return typeof window.axe", json!([])) != "object" {
            self.s.run(&self.tools.axe_js, json!([]));
        }
        let result = self.s.run_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}, resultTypes: ['violations']})
               .then(r => done({violations: r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                    nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)})), passes: r.passes.length}))
               .catch(e => done({error: String(e)}));",
            json!([AXE_TAGS]),
        );
        if let Some(error) = result.get("error") {
            self.found.problems.push(format!("{label}: axe-core failed: {error}"));
        }
        for v in result["violations"].as_array().into_iter().flatten() {
            self.found.problems.push(format!(
                "{label}: axe {} ({}): {} at {}",
                v["id"].as_str().unwrap_or("?"),
                v["impact"].as_str().unwrap_or("?"),
                v["help"].as_str().unwrap_or(""),
                v["nodes"]
            ));
        }
        self.found.axe_passes += result["passes"].as_u64().unwrap_or(0) as usize;
        self.found.pages_checked += 1;
    }

    /// Types into the field with this id (clearing it first).
    fn type_into(&self, id: &str, text: &str) {
        let field = self.s.get(&format!("#{id}"));
        field.clear();
        if !text.is_empty() {
            field.type_text(text);
        }
    }

    /// Sets a field's value the way a date picker would.
    fn set_value(&self, id: &str, value: &str) {
        self.s.run("document.getElementById(arguments[0]).value = arguments[1];", json!([id, value]));
    }

    /// Clicks, then waits for the page the click leads to (a form's answer, a link's page).
    fn click(&self, css: &str) {
        self.leaving();
        self.s.get(css).click();
        self.arrived();
    }

    /// Submits the form that holds the field with this id (as pressing Enter in it would).
    fn submit_form_of(&self, id: &str) {
        self.leaving();
        self.s.run("document.getElementById(arguments[0]).form.requestSubmit();", json!([id]));
        self.arrived();
    }

    /// Marks the page, so [`Walk::arrived`] can tell when another one has replaced it.
    fn leaving(&self) {
        self.s.run("window.__leaving = true;", json!([]));
    }

    fn arrived(&self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let ready = "return window.__leaving !== true && document.readyState === 'complete';";
        while self.s.try_run(ready, json!([])).ok() != Some(json!(true)) {
            assert!(std::time::Instant::now() < deadline, "no new page after 20 s on {}", self.path());
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// Signs in through the sign-in page.
    fn sign_in(&mut self, email: &str) {
        self.open("/sign-in");
        self.type_into("email", email);
        self.type_into("password", DEMO_PASSWORD);
        self.click("main form button[type=submit]");
        let landed = self.path();
        assert!(!landed.starts_with("/sign-in"), "{email} did not get past the sign-in page");
        self.check(&format!("{email} signed in, on {landed}"));
    }

    /// After a refused form: the checks of the GOV.UK and NHS error pattern, for `fields` in
    /// the order the form shows them.
    fn check_refused(&mut self, form: &str, fields: &[&str]) {
        let label = format!("{form} refused at {} px", self.width);
        let seen = self.s.run(
            "const ids = arguments[0];
             const summary = document.querySelector('.error-summary');
             const links = summary ? [...summary.querySelectorAll('a[href^=\"#\"]')].map(a => a.getAttribute('href').slice(1)) : null;
             const fields = ids.map(id => {
               const el = document.getElementById(id);
               const msg = document.getElementById(id + '-error');
               if (!el) return {id, missing: 'field'};
               if (!msg) return {id, missing: 'message'};
               const box = el.closest('.field, fieldset') || el.parentElement;
               const control = /^(INPUT|SELECT|TEXTAREA)$/.test(el.tagName);
               const style = getComputedStyle(msg);
               return {id, control,
                 invalid: el.getAttribute('aria-invalid'),
                 describedby: (el.getAttribute('aria-describedby') || '').split(/\\s+/),
                 near: box.contains(msg),
                 shown: style.display !== 'none' && msg.offsetHeight > 0,
                 text: msg.textContent.replace(/^\\s*Error:\\s*/, '').trim()};
             });
             return {title: document.title, links, fields};",
            json!([fields]),
        );
        let mut problems = Vec::new();
        if !seen["title"].as_str().is_some_and(|t| t.starts_with("Error: ")) {
            problems.push(format!("the title {} does not start with \"Error: \"", seen["title"]));
        }
        match seen["links"].as_array() {
            None => problems.push("no error summary".into()),
            Some(links) => {
                let links: Vec<&str> = links.iter().filter_map(Value::as_str).collect();
                if links != fields {
                    problems.push(format!("the summary links to {links:?}, not {fields:?} in the form's order"));
                }
            }
        }
        for f in seen["fields"].as_array().into_iter().flatten() {
            let id = f["id"].as_str().unwrap_or("?");
            if let Some(missing) = f["missing"].as_str() {
                problems.push(format!("{id}: no {missing}"));
                continue;
            }
            if f["control"] == true {
                if f["invalid"] != "true" {
                    problems.push(format!("{id}: not aria-invalid"));
                }
                if !f["describedby"].as_array().is_some_and(|d| d.iter().any(|x| x == &json!(format!("{id}-error")))) {
                    problems.push(format!("{id}: not described by its message"));
                }
            }
            if f["near"] != true || f["shown"] != true {
                problems.push(format!("{id}: the message is not shown by the field"));
            }
            let text = f["text"].as_str().unwrap_or("");
            if !text.chars().next().is_some_and(char::is_uppercase) {
                problems.push(format!("{id}: the message {text:?} does not start with a capital"));
            }
            if text.contains("check digit") {
                problems.push(format!("{id}: jargon in {text:?}"));
            }
        }
        self.found.problems.extend(problems.into_iter().map(|p| format!("{label}: {p}")));
        self.check(form);
    }
}

/// Runs `journey` at each width in its own browser session, then fails with everything found.
fn walk(role: &str, journey: impl Fn(&mut Walk<'_>)) {
    let Some(tools) = tools() else { return };
    let _slot = Slot::take();
    let started = std::time::Instant::now();
    let app = spawn_app();
    let driver = Driver::start(&tools);
    let mut report = BTreeMap::new();
    let mut problems = Vec::new();
    for width in WIDTHS {
        let mut walk =
            Walk { s: driver.session(&tools, width), app: &app, tools: &tools, width, found: Findings::default() };
        journey(&mut walk);
        problems.append(&mut walk.found.problems);
        report.insert(width, (walk.found.pages_checked, walk.found.axe_passes, walk.found.widest_phone.take()));
    }
    for (width, (pages, passes, widest)) in &report {
        eprintln!(
            "browser {role} at {width} px: {pages} pages checked, axe-core rule passes {} (summed over the pages), {} violations{}",
            passes,
            problems.iter().filter(|p| p.contains(&format!("at {width} px: axe"))).count(),
            widest.as_ref().map(|(w, page)| format!("; widest page {w} px ({page})")).unwrap_or_default()
        );
    }
    eprintln!("browser {role}: {:.1} s", started.elapsed().as_secs_f64());
    assert!(problems.is_empty(), "{role}:\n{}", problems.join("\n"));
}

fn born_72_years_ago() -> String {
    (chrono::Utc::now().date_naive() - chrono::Duration::days(72 * 365 + 100)).format("%Y-%m-%d").to_string()
}

#[test]
fn a_gp_refers_someone() {
    walk("GP referrer", |w| {
        w.sign_in(GP);
        w.open("/referrals/new");
        // A first try with mistakes: no given name, a mistyped NHS number, no reason, no consent.
        w.type_into("family_name", "Testperson");
        w.set_value("date_of_birth", &born_72_years_ago());
        w.type_into("nhs_number", "999 000 0017");
        w.type_into("postcode", "GL5 1HE");
        w.type_into("referrer_words", "Lonely since her husband died.");
        w.click("main form button[type=submit]");
        w.check_refused("the referral form", &["given_name", "nhs_number", "phone", "reasons", "consent_referral"]);
        w.type_into("given_name", "Margaret");
        w.type_into("nhs_number", "999 000 0018");
        w.type_into("phone", "01632 960555");
        w.s.get("#reasons input[value=loneliness]").click();
        w.s.get("#consent_referral").click();
        w.click("main form button[type=submit]");
        let sent = w.path();
        let summary =
            w.s.run("const e = document.querySelector('.error-summary'); return e && e.textContent;", json!([]));
        assert!(sent.starts_with("/referrals/") && sent.contains("created"), "after sending: {sent} {summary}");
        w.check("the sent referral");
        // Withdrawing it: its own page, nothing chosen for them, a reason asked for.
        w.click("a[href$='/withdraw']");
        w.check("the withdraw page");
        w.click("main form button[type=submit]");
        w.check_refused("the withdraw form", &["to"]);
        w.s.get("#to-cancelled").click();
        w.type_into("reason", "She has moved away.");
        w.click("main form button[type=submit]");
        let banner =
            w.s.run("const b = document.querySelector('.notice-success'); return b && b.textContent;", json!([]));
        assert!(banner.as_str().is_some_and(|b| b.contains("Referral withdrawn")), "a banner says so: {banner}");
        w.check("the withdrawn referral");
        w.open("/referrals");
    });
}

#[test]
fn a_link_worker_works_a_referral() {
    walk("link worker", |w| {
        w.sign_in(LINK_WORKER);
        w.open("/referrals");
        w.open("/referrals?view=needs_attention");
        w.click("main table a[href^='/referrals/']");
        let referral = w.path();
        w.check("a referral");
        // Wellbeing answers out of range are refused next to the field.
        if w.s.find("#a1").is_some() {
            w.type_into("a1", "11");
            w.type_into("a2", "5");
            w.type_into("a3", "5");
            w.type_into("a4", "5");
            w.submit_form_of("a1");
            w.check_refused("the wellbeing form", &["answers"]);
        }
        // Searching near the person, with a message for the group on each result.
        w.open(&format!("{referral}?q=gardening"));
        w.open(&format!("{referral}/plan"));
        w.open("/account");
    });
}

#[test]
fn a_group_editor_answers_and_checks_listings() {
    walk("group editor", |w| {
        w.sign_in(GARDEN_EDITOR);
        w.open("/introductions");
        w.open("/my/listings");
        // A venue postcode that does not exist is refused by the postcode field.
        let id = w.s.run(
            "const f = document.querySelector('form[action$=\"/venue\"]'); f.closest('details').open = true;
             return f.getAttribute('action').split('/')[3];",
            json!([]),
        );
        let id = id.as_str().expect("a listing with a venue form").to_string();
        w.type_into(&format!("vpc-{id}"), "XX1 1XX");
        w.submit_form_of(&format!("vpc-{id}"));
        w.check_refused("the venue form", &[&format!("vpc-{id}")]);
        w.open("/my/listings?view=needs_review");
    });
}

#[test]
fn an_admin_approves_and_invites() {
    walk("admin", |w| {
        w.sign_in(ADMIN);
        w.open("/admin");
        w.type_into("name", "");
        w.type_into("email", "not an address");
        w.submit_form_of("email");
        w.check_refused("the invitation form", &["name", "email", "role"]);
        w.open("/admin/audit");
        w.open("/admin/notifications");
        w.open("/reports");
    });
}

#[test]
fn the_public_searches() {
    walk("public search", |w| {
        w.open("/");
        w.type_into("q", "gardening");
        w.type_into("near", "GL5 1HE");
        w.click("form[role=search] button[type=submit]");
        w.check("search results");
        w.click(".results a[href^='/services/']");
        w.check("a listing");
        w.open("/?q=walking&near=ZZ99+9ZZ");
        w.check_refused("the search's place", &["near"]);
        w.open("/join");
        w.click("main form button[type=submit]");
        w.check_refused(
            "the sign-up form",
            &["organisation_name", "organisation_description", "organisation_email", "name", "email", "password"],
        );
        w.open("/no-such-page");
    });
}

#[test]
fn a_person_opens_their_own_page_and_the_public_keep_a_list() {
    walk("person and public pages", |w| {
        // The link worker has made the person a page (through the API, as the page would).
        let worker = w.app.login(LINK_WORKER, DEMO_PASSWORD);
        let gp = w.app.login(GP, DEMO_PASSWORD);
        let mut body = crate::referrals::another_person();
        body["date_of_birth"] = json!("1954-03-27");
        let id = crate::referrals::create(w.app, &gp, &body);
        let call = |method: &str, path: &str, body: Value| {
            let answer = w.app.call(method, path, Some(&worker), Some(&body.to_string()));
            assert!(answer.status < 300, "{path}: {}", answer.body);
            answer.json()
        };
        call("POST", &format!("/api/v1/referrals/{id}/transitions"), json!({"to": "accepted", "version": 1}));
        call(
            "PUT",
            &format!("/api/v1/referrals/{id}/plan"),
            json!({"what_matters": "Getting out", "goals": "Meet people", "actions": "Try a group", "version": 0}),
        );
        let garden = backend::directory::seed::service_id("stroud-community-gardening-club-garden");
        call(
            "POST",
            &format!("/api/v1/referrals/{id}/connections"),
            json!({"service_id": garden, "note_for_person": "You said you miss your garden"}),
        );
        let made = call("POST", &format!("/api/v1/referrals/{id}/person-link"), json!({"consent": true}));
        let page = made["path"].as_str().unwrap().to_string();

        // On their phone: the date of birth (a wrong one first), then their page.
        w.open(&page);
        w.type_into("day", "1");
        w.type_into("month", "1");
        w.type_into("year", "1950");
        w.click("main form button[type=submit]");
        w.check_refused("the date of birth", &["day"]);
        w.type_into("day", "27");
        w.type_into("month", "3");
        w.type_into("year", "1954");
        w.click("main form button[type=submit]");
        w.check("their own page");
        w.s.get("input[name=choice][value=try]").click();
        w.leaving();
        w.s.run("document.querySelector('input[name=choice][value=try]').form.requestSubmit();", json!([]));
        w.arrived();
        w.check("their answer saved");
        w.open("/my-page");
        w.check("the code box");

        // The public: a list kept without an account, printed; and referring themselves.
        w.open(&format!("/services/{garden}"));
        w.click("form[action='/shortlist/add'] button");
        w.check("a listing added to the list");
        w.open("/shortlist");
        w.check("the list");
        w.click("form[action='/shortlist/email'] button");
        w.check_refused("e-mailing the list", &["email"]);
        w.open("/shortlist/print");
        w.check("the list to print");
        w.open("/refer-yourself");
        w.check("referring yourself");
    });
}
