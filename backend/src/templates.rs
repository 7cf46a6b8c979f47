//! Handlebars pages, embedded in the binary (`templates/`), HTML-escaped by default, with a few
//! helpers for dates, distances and money in the words people use.

use std::sync::Arc;

use handlebars::Handlebars;
use rust_embed::RustEmbed;
use serde::Serialize;

/// `templates/`: `layouts/`, `partials/`, `pages/` (`*.hbs`) and `static/`.
#[derive(RustEmbed)]
#[folder = "../templates/"]
pub struct TemplateFiles;

/// Why a page could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// A template did not compile.
    #[error("template {name}: {message}")]
    Compile {
        /// The template.
        name: String,
        /// The compiler's message.
        message: String,
    },
    /// Rendering failed.
    #[error("render: {0}")]
    Render(#[from] handlebars::RenderError),
}

impl From<TemplateError> for crate::error::AppError {
    fn from(e: TemplateError) -> Self {
        crate::error::AppError::Internal(e.to_string())
    }
}

mod helpers {
    //! Template helpers (the macro makes public unit structs that cannot carry docs).
    #![allow(missing_docs)]

    use chrono::NaiveDateTime;
    use handlebars::handlebars_helper;

    // Helpers take any value and show nothing for a missing one, so a page with an optional
    // field never fails to render.
    handlebars_helper!(date: |value: Json| {
        let value = value.as_str().unwrap_or_default();
        NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S%.f")
            .map(|d| d.date())
            .or_else(|_| chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d"))
            .map(|d| d.format("%-d %B %Y").to_string())
            .unwrap_or_else(|_| value.to_string())
    });
    handlebars_helper!(when: |value: Json| {
        let value = value.as_str().unwrap_or_default();
        NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S%.f")
            .map(|d| d.format("%A %-d %B, %H:%M").to_string())
            .unwrap_or_else(|_| value.to_string())
    });
    handlebars_helper!(km: |value: f64| format!("{value:.1} km"));
    handlebars_helper!(pounds: |value: f64| if value <= 0.0 { "Free".to_string() } else { format!("£{value:.2}") });
    handlebars_helper!(eq: |a: Json, b: Json| a == b);
    // The session editor's rows: the listing's sessions (one day each) plus empty rows, four in
    // all, as {day, week, opens, closes, notes, from, to}.
    handlebars_helper!(sessions_rows: |sessions: Json| {
        let mut rows: Vec<serde_json::Value> = Vec::new();
        for s in sessions.as_array().into_iter().flatten() {
            let week = s["week_of_month"].as_str().unwrap_or("every").split(',').next().unwrap_or("every").to_string();
            for day in s["byday"].as_str().unwrap_or("").split(',').filter(|d| !d.is_empty()) {
                rows.push(serde_json::json!({"day": day, "week": if week.is_empty() { "every".to_string() } else { week.clone() },
                    "opens": s["opens_at"], "closes": s["closes_at"], "notes": s["notes"],
                    "from": s["valid_from"], "to": s["valid_to"]}));
            }
        }
        while rows.len() < 4 {
            rows.push(serde_json::json!({"day": "", "week": "every", "opens": "", "closes": "", "notes": "", "from": "", "to": ""}));
        }
        rows.truncate(4);
        serde_json::Value::Array(rows)
    });
    handlebars_helper!(contains: |list: Json, item: Json| list.as_array().is_some_and(|l| l.contains(item)));
    // A message as a sentence: its first letter a capital (the API's messages start in lower
    // case, to follow a field's name).
    handlebars_helper!(sentence: |value: Json| sentence_case(value.as_str().unwrap_or_default()));
    // The message for one field among a page's `errors` ([field, message] pairs), as a
    // sentence; empty when that field has none.
    handlebars_helper!(error_for: |errors: Json, id: str| {
        errors.as_array().into_iter().flatten()
            .find(|pair| pair[0].as_str() == Some(id))
            .and_then(|pair| pair[1].as_str())
            .map(sentence_case)
            .unwrap_or_default()
    });
    fn sentence_case(text: &str) -> String {
        let mut chars = text.chars();
        chars.next().map(|c| c.to_uppercase().collect::<String>() + chars.as_str()).unwrap_or_default()
    }
    // A recorded wellbeing measure as rows {question, answer, band}: each question by its name,
    // the answer in words where the scale has them, and the ONS4 band.
    handlebars_helper!(measure_rows: |measure: Json| {
        const ONS4: [(&str, &str); 4] = [
            ("Life satisfaction", "How satisfied are you with your life nowadays?"),
            ("Worthwhile", "To what extent do you feel the things you do in your life are worthwhile?"),
            ("Happiness", "How happy did you feel yesterday?"),
            ("Anxiety", "How anxious did you feel yesterday? (lower is better)"),
        ];
        const SWEMWBS: [&str; 7] = [
            "I've been feeling optimistic about the future",
            "I've been feeling useful",
            "I've been feeling relaxed",
            "I've been dealing with problems well",
            "I've been thinking clearly",
            "I've been feeling close to other people",
            "I've been able to make up my own mind about things",
        ];
        const OFTEN: [&str; 5] = ["None of the time", "Rarely", "Some of the time", "Often", "All of the time"];
        let answers: Vec<i64> = measure["answers"].as_array().into_iter().flatten().filter_map(|a| a.as_i64()).collect();
        let rows: Vec<serde_json::Value> = match measure["instrument"].as_str() {
            Some("ons4") => answers.iter().zip(ONS4).enumerate().map(|(i, (a, (name, question)))| {
                let band = measure["bands"][i].as_str().unwrap_or_default().replace('_', " ");
                serde_json::json!({"name": name, "question": question, "answer": format!("{a} out of 10"), "band": band})
            }).collect(),
            Some("swemwbs") => answers.iter().zip(SWEMWBS).map(|(a, question)| {
                let words = usize::try_from(*a - 1).ok().and_then(|i| OFTEN.get(i)).copied().unwrap_or_default();
                serde_json::json!({"name": question, "question": "", "answer": words, "band": ""})
            }).collect(),
            _ => Vec::new(),
        };
        serde_json::Value::Array(rows)
    });
    handlebars_helper!(humanise: |value: Json| {
        let text = value.as_str().unwrap_or_default().replace('_', " ");
        let mut chars = text.chars();
        chars.next().map(|c| c.to_uppercase().collect::<String>() + chars.as_str()).unwrap_or_default()
    });
}

/// `feedback_url`: the configured feedback address, or empty.
struct Feedback(String);

impl handlebars::HelperDef for Feedback {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        _: &handlebars::Helper<'rc>,
        _: &'reg Handlebars<'reg>,
        _: &'rc handlebars::Context,
        _: &mut handlebars::RenderContext<'reg, 'rc>,
    ) -> Result<handlebars::ScopedJson<'rc>, handlebars::RenderError> {
        Ok(handlebars::ScopedJson::Derived(serde_json::Value::String(self.0.clone())))
    }
}

/// The compiled templates.
#[derive(Debug)]
pub struct Templates {
    registry: Handlebars<'static>,
    reload: bool,
    /// Where the phase banner's feedback link goes (`COMMONGROUND_FEEDBACK_URL`).
    feedback_url: Option<String>,
}

impl Templates {
    /// Compiles every template; `reload` recompiles from disk before each render (development).
    pub fn load(reload: bool) -> Result<Arc<Self>, TemplateError> {
        Self::load_with_feedback(reload, None)
    }

    /// As [`Templates::load`]; the phase banner links to `feedback_url` (a mailto: or web
    /// address) when there is one.
    pub fn load_with_feedback(reload: bool, feedback_url: Option<String>) -> Result<Arc<Self>, TemplateError> {
        Ok(Arc::new(Self { registry: Self::compile(feedback_url.as_deref())?, reload, feedback_url }))
    }

    fn compile(feedback_url: Option<&str>) -> Result<Handlebars<'static>, TemplateError> {
        let mut hb = Handlebars::new();
        // `{{#if (feedback_url)}}`: the same on every page, so a helper rather than a field of
        // each page's data.
        hb.register_helper("feedback_url", Box::new(Feedback(feedback_url.unwrap_or_default().to_string())));
        hb.set_strict_mode(false);
        hb.register_helper("date", Box::new(helpers::date));
        hb.register_helper("when", Box::new(helpers::when));
        hb.register_helper("km", Box::new(helpers::km));
        hb.register_helper("pounds", Box::new(helpers::pounds));
        hb.register_helper("eq", Box::new(helpers::eq));
        hb.register_helper("sessions_rows", Box::new(helpers::sessions_rows));
        hb.register_helper("contains", Box::new(helpers::contains));
        hb.register_helper("humanise", Box::new(helpers::humanise));
        hb.register_helper("sentence", Box::new(helpers::sentence));
        hb.register_helper("error_for", Box::new(helpers::error_for));
        hb.register_helper("measure_rows", Box::new(helpers::measure_rows));
        for path in TemplateFiles::iter() {
            let Some(name) = path.strip_suffix(".hbs") else {
                continue;
            };
            let file = TemplateFiles::get(&path)
                .ok_or_else(|| TemplateError::Compile { name: name.into(), message: "missing".into() })?;
            let text = String::from_utf8_lossy(&file.data).into_owned();
            hb.register_template_string(name, text)
                .map_err(|e| TemplateError::Compile { name: name.into(), message: e.to_string() })?;
        }
        Ok(hb)
    }

    /// Renders a page template (`pages/NAME`).
    pub fn render<T: Serialize>(&self, name: &str, context: &T) -> Result<String, TemplateError> {
        if self.reload {
            return Ok(Self::compile(self.feedback_url.as_deref())?.render(name, context)?);
        }
        Ok(self.registry.render(name, context)?)
    }

    /// Names of every page template (for the test that renders them all).
    pub fn page_names(&self) -> Vec<String> {
        let mut names: Vec<String> =
            self.registry.get_templates().keys().filter(|k| k.starts_with("pages/")).cloned().collect();
        names.sort();
        names
    }
}

/// A static file (`templates/static/NAME`) with its content type.
pub fn static_file(name: &str) -> Option<(Vec<u8>, &'static str)> {
    let file = TemplateFiles::get(&format!("static/{name}"))?;
    let content_type = match name.rsplit('.').next() {
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    };
    Some((file.data.into_owned(), content_type))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn sample_listing() -> serde_json::Value {
        json!({
            "id": "6f1c1c1e-0000-4000-8000-000000000001", "name": "Stroud <Gardening> Club", "summary": "Grow things.",
            "description": "Tuesdays on the allotment.", "status": "temporarily closed",
            "organisation": {"id": "x", "name": "Stroud Growers", "description": "", "website": null, "email": null, "phone": null, "charity_number": null},
            "url": "https://stroud.example.org", "email": "hello@stroud.example.org", "phone": "01632 960001", "free": false,
            "fees_description": "£2 a session", "cost_options": [{"option": "Per session", "amount": 2.0, "amount_description": null}],
            "eligibility_description": null, "minimum_age": 18, "maximum_age": null, "how_to_access": ["self_referral", "link_worker", "other"],
            "attending_type": "in_person", "capacity": "full", "languages": ["English"], "keywords": [], "approval": "approved",
            "categories": [{"slug": "gardening", "name": "Gardening"}], "audiences": [{"slug": "men", "name": "Men"}],
            "locations": [{"id": "l", "name": "Hall", "address_1": "1 High St", "city": "Stroud", "postcode": "GL5 1HE", "latitude": 51.7, "longitude": -2.2, "masked": true, "accessibility": [{"slug": "step-free", "name": "Step-free access"}]}],
            "schedules": [{"freq": "WEEKLY", "byday": "TU", "week_of_month": null, "opens_at": "10:00", "closes_at": "12:00", "notes": "Term time", "description": "Every Tuesday, 10:00 to 12:00"}],
            "next_session": "2026-11-24T10:00:00", "contacts": [], "last_verified": "2026-03-01T09:30:00.123", "freshness": "needs_review",
            "version": 1, "updated_at": "2026-03-01T09:30:00"
        })
    }

    /// Every page template renders with a realistic context, so a template error fails here and
    /// not in front of a person.
    #[test]
    fn every_page_renders_with_a_sample_context() {
        let templates = Templates::load(false).unwrap();
        let listing = sample_listing();
        // Search results carry the listing's fields at the top level (as the API does).
        let mut result = listing.clone();
        result["distance_km"] = json!(2.345);
        result["snippet_html"] = json!("on the <b>allotment</b>");
        // The page lists close matches, then partial ones under their own heading: a result
        // without `fit` is shown nowhere.
        result["fit"] = json!("close");
        let context = json!({
            "title": "Results", "listing": listing, "needs_review": true, "printed_on": "22 November 2026",
            "params": {"q": "garden", "near": "GL5 1HE", "category": ["gardening"], "audience": []},
            "searched": true, "errors": [["near", "postcode ZZ9 9ZZ not found"]],
            "outcome": {"total": 1, "page": 1, "per_page": 20, "pages": 1, "origin": {"lat": 51.7, "lon": -2.2, "label": "GL5 1HE", "precision": "postcode", "radius_km": 10.0},
                        "results": [result], "facets": {}, "help": {"reason": "Nothing within that distance.", "wider": []}},
            "categories": [{"value": "nature", "name": "Nature", "selected": false, "children": [{"value": "gardening", "name": "Gardening", "selected": true}]}],
            "audiences": [{"value": "men", "name": "Men", "selected": true}], "accessibility": [], "days": [], "attendance": [], "capacity": [],
            "sorts": [{"value": "relevance", "name": "Best match", "selected": true}], "radii": [{"value": "10", "name": "10 km", "selected": true}],
            "free_only": false, "previous": null, "next": "/?page=2", "wider": [{"label": "Search within 25 km (3 found)", "href": "/?radius_km=25"}]
        });
        // Account and admin pages: a signed-in person with markup in their name.
        let mut context = context;
        let person = json!({"id": "u1", "name": "Jo <b>Bloggs</b>", "email": "jo@example.org", "role": "admin",
            "organisation_id": "o1", "organisation_name": "ICB", "organisation_kind": "admin_body", "served_by": null, "totp_enabled": false});
        context["user"] = person.clone();
        context["csrf"] = json!("csrf-token-value");
        context["role_label"] = json!("Administrator");
        context["totp_setup"] = json!({"secret": "ABC", "qr_svg": "<svg></svg>"});
        context["users"] = json!([{"id": "u1", "email": "jo@example.org", "name": "Jo <b>Bloggs</b>", "role": "admin", "status": "active", "organisation_name": "ICB"}]);
        context["organisations"] = json!([{"id": "o1", "name": "ICB", "kind": "admin_body", "status": "active"}]);
        context["events"] = json!([{"id": 1, "at": "2026-11-22T10:00:00", "actor_id": "u1", "action": "sign_in.success", "outcome": "ok"}]);
        context["filter"] = json!({"action": "sign_in", "limit": 100, "offset": 0});
        context["new_link"] = json!("http://localhost/invite/abc");
        context["referral"] = json!({"id": "r1", "status": "in_progress", "version": 3, "urgency": "routine", "practice": "Beeches", "service": "PCN",
            "owner": "Jordan", "reasons": [["loneliness", "Loneliness and isolation"]], "person": {"given_name": "Margaret", "family_name": "<i>T</i>",
            "nhs_number": "999 000 0018", "preferred_contact": "phone", "phone": "01632 960555", "do_not_contact_directly": false},
            "age": 72, "area": "GL5", "clinical": {"referrer_words": "Lonely", "what_matters": "Garden", "risk_notes": null}, "consent_share": true,
            "timeline": [{"at": "2026-11-20T10:00:00", "to_status": "received", "by": "Sam"}], "allowed_moves": ["on_hold", "completed"],
            "work": {"contact_attempts": [{"at": "2026-11-20T11:00:00", "method": "phone", "outcome": "reached"}], "failed_attempts": 0,
                     "offer_unable_to_contact": false, "notes": [{"at": "2026-11-20T12:00:00", "author": "Jordan", "body": "Met"}], "plan": null},
            "measures": {"recorded": [{"instrument": "ons4", "timepoint": "baseline", "answers": [3, 4, 3, 7], "at": "2026-11-20T12:00:00"}], "ons4_change": [1, 2, 3, -1]},
            "connections": [{"id": "c1", "service_id": "s1", "service_name": "Garden Club", "status": "suggested", "version": 1, "overdue": false},
                {"id": "c2", "service_id": "s2", "service_name": "Walking Group", "status": "introduced", "version": 2, "overdue": true,
                 "reminded_at": "2026-11-25T09:00:00", "link_worker_told_at": "2026-11-30T09:00:00"}],
            "created_at": "2026-11-20T10:00:00"});
        context["works"] = json!(true);
        context["message"] = json!({"summary": "Referred.", "codes": [{"code": "871731000000106", "display": "Referral to social prescribing service"}]});
        context["referrals"] = json!([{"id": "r1", "name": "Margaret <i>T</i>", "age": 72, "area": "GL5", "status": "received", "urgency": "soon", "created_at": "2026-11-20T10:00:00", "attention": "not yet accepted"}]);
        context["introductions"] = json!([{"id": "c1", "service_name": "Garden Club", "status": "introduced", "version": 2, "first_name": "Margaret", "overdue": true, "link_worker_told_at": "2026-11-30T09:00:00"}]);
        context["reasons"] = json!([["loneliness", "Loneliness and isolation", true]]);
        context["listings"] = json!([{"id": "l1", "name": "Garden <Club>", "organisation": "Growers", "status": "active", "capacity": "waitlist",
            "last_verified": "2026-03-01T09:30:00", "freshness": "needs_review", "version": 4,
            "sessions": [{"freq": "MONTHLY", "byday": "TH", "week_of_month": "2", "opens_at": "10:00", "closes_at": "12:00", "notes": "Term time",
                "valid_from": "2027-06-01", "valid_to": "2027-08-31", "description": "2nd Thursday"}]}]);
        context["values"] = json!({"given_name": "<b>x</b>", "urgency": "routine", "organisation_name": "<b>x</b> Growers", "password": "runner-beans-secret"});
        context["field_errors"] = json!({"organisation_name": "enter your group's name"});
        context["waiting"] = json!([{"id": "o2", "name": "<b>x</b> Growers", "description": "We <b>x</b> grow.", "website": "https://growers.example.org",
            "email": null, "phone": "01632 960123", "submitted_at": "2026-11-22T10:00:00", "people": [{"id": "u2", "name": "Pat <b>x</b>", "email": "pat@example.org"}],
            // The same list read as a group's introductions waiting for an answer.
            "service_name": "Garden Club", "status": "introduced", "version": 2, "introduced_at": "2026-11-20T10:00:00",
            "overdue": true, "link_worker_told_at": "2026-11-30T09:00:00"}]);
        context["email"] = json!("jo@example.org");
        context["error"] = json!("The e-mail address, password or code is not right.");
        context["reports"] = json!([{"name": "referrals-by-month", "title": "Referrals by month", "about": "Counted <monthly>",
            "svg": "<svg class=\"chart\" role=\"img\"></svg>", "columns": ["Month", "Referrals"], "rows": [[["Nov <b>x</b>", false], ["12", true]]]}]);
        context["headline"] = json!([["Referrals", "59"]]);
        context["practices"] = json!([{"value": "p1", "name": "Beeches", "selected": true}]);
        context["query"] = json!("from=2026-01-01&to=2026-11-22");
        let record = json!({"id": "r1", "status": "accepted", "created_at": "2026-11-20T10:00:00", "person": {"given_name": "Margaret",
            "family_name": "<i>T</i>", "nhs_number": "999 000 0018", "date_of_birth": "1954-03-21"}, "reasons": ["Loneliness"],
            "timeline": [{"at": "2026-11-20T10:00:00", "to_status": "received", "by": "Sam"}], "notes": [{"at": "2026-11-20T12:00:00", "author": "Jordan", "body": "Met"}],
            "plans": [], "contact_attempts": [], "measures": {"recorded": []}, "connections": [], "corrections": [{"at": "2026-11-21T10:00:00",
            "field": "phone", "old_value": "01632 960555", "new_value": "01632 960999", "reason": "Asked", "by": "Lee"}],
            "restriction": {"at": "2026-11-21T10:00:00", "reason": "Contested", "by": "Lee"}, "anonymised": null, "notifications": [],
            "viewed_by": [{"at": "2026-11-21T10:00:00", "action": "referral.read", "name": "Jo <b>Bloggs</b>", "role": "admin", "organisation": "ICB", "outside_service": true}]});
        context["data_rights_record"] = record.clone();
        context["access"] =
            json!({"generated_at": "2026-11-22T10:00:00", "found_by": "nhs_number", "referrals": [record]});
        context["json_link"] = json!("/data-rights?nhs_number=9990000018&format=json");
        let names = templates.page_names();
        assert!(names.len() >= 8, "{names:?}");
        for name in names {
            let html = templates.render(&name, &context).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(html.contains("<h1"), "{name} has a heading");
            assert!(
                !html.contains("<Gardening>")
                    && !html.contains("Jo <b>Bloggs")
                    && !html.contains("<i>T</i>")
                    && !html.contains("<b>x</b>"),
                "{name} must escape"
            );
            if name.starts_with("pages/listing") {
                assert!(html.contains("Stroud &lt;Gardening&gt; Club"), "{name} shows the listing");
            }
            if name == "pages/referral" {
                assert!(html.contains("still no answer: link worker told"), "the marked introduction: {html}");
            }
            if name == "pages/introductions" {
                assert!(html.contains("the link worker was told on"), "the marked introduction: {html}");
            }
            if name == "pages/my_listings" {
                assert!(
                    html.contains("<option value=\"TH\" selected>") && html.contains("<option value=\"2\" selected>"),
                    "the session editor shows the sessions"
                );
                assert_eq!(html.matches("name=\"day").count(), 4, "four session rows");
                assert!(
                    html.contains(r#"name="from" type="date" value="2027-06-01""#)
                        && html.contains(r#"name="to" type="date" value="2027-08-31""#),
                    "the session editor shows a session's first and last dates"
                );
            }
            if name == "pages/admin" {
                assert!(html.contains("&lt;b&gt;x&lt;/b&gt; Growers"), "waiting groups are shown, escaped");
                assert!(html.contains(r#"action="/admin/organisations/o2/approve""#), "with an approve button");
                assert!(html.contains(r#"<label for="reason-o2">"#), "and a labelled reason to turn it down");
            }
            if name == "pages/join" {
                assert!(html.contains(r#"value="&lt;b&gt;x&lt;/b&gt; Growers""#), "what was typed is kept, escaped");
                assert!(
                    html.contains(r#"id="organisation_name-error""#)
                        && html.contains(r#"aria-describedby="organisation_name-error""#),
                    "the field's error is next to it and read with it"
                );
                assert!(!html.contains("runner-beans-secret"), "a password is never sent back");
            }
            if name == "pages/reports" {
                assert!(html.contains("<svg class=\"chart\" role=\"img\">"), "the chart is drawn, not escaped");
                assert!(
                    html.contains("Counted &lt;monthly&gt;")
                        && html.contains("<td data-label=\"Referrals\" class=\"number\">12</td>")
                );
                assert!(html.contains("format=csv") && html.contains("<option value=\"p1\" selected>"));
            }
            if name == "pages/data_rights" {
                assert!(html.contains("outside-service") && html.contains("01632 960555"), "who saw it; the old value");
                let mut managing = context.clone();
                managing["manage"] = context["data_rights_record"].clone();
                let html = templates.render(&name, &managing).unwrap_or_else(|e| panic!("{name} managing: {e}"));
                assert!(html.contains("/data-rights/referrals/r1/lift-restriction") && !html.contains("<i>T</i>"));
            }
            if name == "pages/search" {
                for shown in [
                    "Stroud &lt;Gardening&gt; Club",
                    "2.3 km",
                    "Stroud Growers",
                    "£2 a session",
                    "Full",
                    "needs review",
                ] {
                    assert!(html.contains(shown), "search results show {shown}");
                }
            }
            if html.contains("method=\"post\"") {
                assert_eq!(
                    html.matches("method=\"post\"").count(),
                    html.matches("name=\"csrf\"").count(),
                    "{name}: every form carries the CSRF token"
                );
            }
        }
    }
}
