//! Thin handlers: parse the request, call one use-case off the async runtime, render JSON or a
//! page. Every route is wired in [`configure`].

pub mod actor;
pub mod api;
pub mod compressed;
pub mod health;
pub mod idle;
pub mod input;
pub mod oruk;
pub mod pages;
pub mod session;

use actix_web::{web, HttpRequest, HttpResponse, Route};

use crate::db::PooledConn;
use crate::error::{self, AppError};
use crate::state::AppState;

/// Largest JSON body accepted (a listing with a long description fits many times over).
pub const JSON_LIMIT: usize = 256 * 1024;

/// One route: the single source of truth for wiring, the README's table and the
/// authorization matrix test (a route without a row there fails it).
pub struct RouteSpec {
    /// HTTP method.
    pub method: &'static str,
    /// Path (under `/api/v1` for [`API_ROUTES`]).
    pub path: &'static str,
    /// Who may call it, for people: `anyone`, `signed in`, `admin`, ...
    pub access: &'static str,
    /// What it does, in a line (the OpenAPI document's summary; empty for pages).
    pub summary: &'static str,
    /// The handler.
    pub route: fn() -> Route,
}

macro_rules! spec {
    ($method:ident $path:literal $access:literal => $handler:path) => {
        spec!($method $path $access => $handler, "")
    };
    ($method:ident $path:literal $access:literal => $handler:path, $summary:literal) => {
        RouteSpec {
            method: stringify!($method),
            path: $path,
            access: $access,
            summary: $summary,
            route: || method::$method().to($handler),
        }
    };
}

/// The route for each method the tables use. `get` also answers `HEAD` (monitors and link
/// checkers use it): the same handler runs and the server sends the head without the body.
mod method {
    use actix_web::{guard, web, Route};

    pub fn get() -> Route {
        web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
    }
    pub use web::{delete, patch, post, put};
    /// `OPTIONS` (CORS preflights).
    pub fn options() -> Route {
        web::route().guard(guard::Options())
    }
}

/// Every JSON API route, under `/api/v1`.
pub const API_ROUTES: &[RouteSpec] = &[
    spec!(get "/services" "anyone" => api::services::search_services, "Search the public directory (text, place, radius, filters, facets)"),
    spec!(get "/services/{id}" "anyone" => api::services::get_service, "One public listing in full"),
    spec!(patch "/services/{id}" "its group's editors, admin" => api::listings::edit_listing, "Edit a listing (versioned: send `version`; 409 names what changed when stale)"),
    spec!(post "/services/{id}/verify" "its group's editors, admin" => api::listings::verify_listing, "Confirm a listing is still accurate"),
    spec!(put "/services/{id}/sessions" "its group's editors, admin" => api::listings::replace_sessions, "Replace a listing's sessions"),
    spec!(put "/services/{id}/areas" "its group's editors, admin" => api::listings::replace_areas, "Replace where else a listing is offered (postcode districts, a county, online, national, home visits within N km), one area a line"),
    spec!(get "/services/{id}/history" "its group's editors, admin" => api::listings::listing_history, "A listing's versions: who changed what, before and after"),
    spec!(get "/my/listings" "group editor, admin" => api::listings::my_listings, "The caller's group's listings (`view=needs_review`)"),
    spec!(get "/admin/reminders.csv" "admin" => api::listings::reminders, "CSV of organisations with listings due for review"),
    spec!(post "/services" "group editor, admin" => api::listings::create_listing, "Create a listing (pending approval)"),
    spec!(post "/services/{id}/suggestions" "anyone (limited)" => api::listings::suggest, "Suggest an improvement to a listing (rate limited without an account)"),
    spec!(get "/services/{id}/suggestions" "its group's editors, admin" => api::listings::list_suggestions, "Suggestions about a listing"),
    spec!(post "/suggestions/{id}" "its group's editors, admin" => api::listings::answer_suggestion, "Accept, reply to or dismiss a suggestion"),
    spec!(post "/services/{id}/revert" "admin" => api::listings::revert_listing, "Revert a listing to an earlier version"),
    spec!(post "/services/{id}/merge" "admin" => api::listings::merge_listing, "Merge a duplicate listing into the one kept"),
    spec!(get "/admin/unedited" "admin" => api::listings::without_editor, "Listings with no active editor"),
    spec!(get "/admin/pending" "admin" => api::listings::pending_listings, "Listings waiting for approval"),
    spec!(post "/admin/services/{id}/approve" "admin" => api::listings::approve_listing, "Approve a new listing"),
    spec!(post "/admin/services/{id}/reject" "admin" => api::listings::reject_listing, "Reject a new listing"),
    spec!(get "/taxonomy" "anyone" => api::taxonomy::get_taxonomy, "Categories, audiences, accessibility features and referral reasons"),
    spec!(get "/geocode" "anyone" => api::geocode::geocode, "A postcode, outward code or place to coordinates"),
    spec!(post "/auth/login" "anyone" => api::auth::login, "Sign in; answers a bearer token"),
    spec!(post "/auth/logout" "signed in" => api::auth::logout, "Sign out everywhere (revokes every token issued so far)"),
    spec!(post "/auth/refresh" "signed in" => api::auth::refresh, "A fresh token for a valid one"),
    spec!(get "/me" "signed in" => api::auth::me, "Who the caller is"),
    spec!(get "/admin/organisations" "admin" => api::admin::list_organisations, "Every organisation"),
    spec!(post "/admin/organisations" "admin" => api::admin::create_organisation, "Create an organisation"),
    spec!(post "/organisations/sign-up" "anyone (limited)" => api::sign_up::sign_up, "A community group signs itself up; it waits for the directory team (rate limited per address)"),
    spec!(get "/admin/organisations/pending" "admin" => api::admin::waiting_organisations, "Community groups waiting for approval, with what they sent"),
    spec!(post "/admin/organisations/{id}/approve" "admin" => api::admin::approve_organisation, "Approve a group that signed itself up (it and its editors become active)"),
    spec!(post "/admin/organisations/{id}/reject" "admin" => api::admin::reject_organisation, "Turn down a group that signed itself up, with a `reason` (its accounts are disabled)"),
    spec!(get "/admin/users" "admin" => api::admin::list_users, "Every account"),
    spec!(post "/admin/users" "admin" => api::admin::invite_user, "Invite a person (answers a single-use link)"),
    spec!(post "/admin/users/{id}/disable" "admin" => api::admin::disable_user, "Disable an account (revokes its tokens)"),
    spec!(post "/admin/users/{id}/enable" "admin" => api::admin::enable_user, "Enable an account"),
    spec!(post "/admin/users/{id}/password-reset" "admin" => api::admin::reset_link, "Issue a single-use password-reset link"),
    spec!(get "/admin/audit" "admin" => api::admin::list_audit, "The audit trail, newest first"),
    spec!(get "/admin/notifications" "admin" => api::admin::list_notifications, "Recent notifications and their delivery (`status`, `limit`); no bodies"),
    spec!(get "/admin/reminders" "admin" => api::admin::list_reminders, "Listings in their reminder cycle: reminders sent, the next, when they rank lower and are hidden"),
    spec!(post "/referrals" "referrer" => api::referrals::create_referral, "Refer a person to the link worker service"),
    spec!(get "/referrals" "referrer, link worker, admin" => api::referrals::list_referrals, "Referrals the caller may see (filters, `view=needs_attention`)"),
    spec!(get "/referrals/{id}" "its practice, its service, admin" => api::referrals::get_referral, "One referral with its timeline"),
    spec!(post "/referrals/{id}/transitions" "as the status table says" => api::referrals::transition_referral, "Move a referral (409 with the allowed moves when refused)"),
    spec!(post "/referrals/{id}/assign" "its service's link workers" => api::referrals::assign_referral, "Assign a referral to a link worker"),
    spec!(post "/referrals/{id}/notes" "its service's link workers" => api::referrals::add_note, "Add a link worker's note"),
    spec!(post "/referrals/{id}/contact-attempts" "its service's link workers" => api::referrals::add_contact_attempt, "Log a contact attempt"),
    spec!(post "/referrals/{id}/measures" "its service's link workers" => api::referrals::add_measure, "Record ONS4 or SWEMWBS answers"),
    spec!(put "/referrals/{id}/plan" "its service's link workers" => api::referrals::save_plan, "Save the personalised plan (versioned)"),
    spec!(post "/referrals/{id}/connections" "its service's link workers" => api::referrals::add_connection, "Connect the person to a community asset"),
    spec!(post "/referrals/{id}/meeting" "its service's link workers" => api::referrals::book_meeting, "Book (or replace, or with `cancel` call off) the next meeting with the person: `at` (UK time) and `place`"),
    spec!(get "/referrals/{id}/message" "its practice, its service, admin" => api::referrals::message_back, "The message back to the GP (SNOMED coded)"),
    spec!(get "/referrals/{id}/fhir" "its practice, its service, admin" => api::referrals::fhir_export, "The referral as a FHIR R4 Bundle"),
    spec!(get "/referrals/{id}/fhir/care-plan" "its practice, its service" => api::referrals::fhir_care_plan, "The person's plan as a FHIR R4 CarePlan"),
    spec!(post "/referrals/{id}/person-link" "its service's link workers" => api::referrals::make_person_link, "Make the link to the person's own page (their consent required; `send` queues it by their chosen channel); revokes the one before"),
    spec!(delete "/referrals/{id}/person-link" "its service's link workers" => api::referrals::revoke_person_link, "Revoke the link to the person's own page"),
    spec!(get "/referrals/{id}/search" "its service's link workers" => api::referrals::search_for_referral, "Search the directory from the person's postcode (recorded without the person)"),
    spec!(post "/connections/{id}/transitions" "its link workers, the group's editors" => api::referrals::transition_connection, "Move a connection (introduce, accept, waitlist, decline, attended, ...)"),
    spec!(get "/introductions" "group editor" => api::referrals::list_introductions, "Introductions to the caller's group's services"),
    spec!(get "/reports" "admin, link worker lead" => api::reports::list_reports, "The reports there are"),
    spec!(get "/reports/{name}" "admin, link worker lead (own service)" => api::reports::get_report, "One report as JSON or CSV (`from`, `to`, `practice`, `format`)"),
    spec!(get "/data-rights/subject-access" "admin, link worker lead (own service)" => api::data_rights::subject_access, "Everything held about a person (`nhs_number`, or `given_name`, `family_name` and `date_of_birth`) as a JSON file"),
    spec!(post "/referrals/{id}/rectify" "admin, link worker lead (own service)" => api::data_rights::rectify, "Correct one of the person's details (`field`, `value`, `reason`); the old value is kept in the history"),
    spec!(post "/referrals/{id}/restrict" "admin, link worker lead (own service)" => api::data_rights::restrict, "Restrict a referral at the person's request (`reason`): read-only, out of groups' inboxes and named lists"),
    spec!(post "/referrals/{id}/lift-restriction" "admin, link worker lead (own service)" => api::data_rights::lift_restriction, "Lift a restriction (`reason`)"),
    spec!(post "/referrals/{id}/withdraw-consent" "admin, link worker lead (own service)" => api::data_rights::withdraw_consent, "Record consent withdrawn (`consent`: `share` or `referral`, `reason`); withdrawing the referral's closes it"),
    spec!(post "/referrals/{id}/erase" "admin, link worker lead (own service)" => api::data_rights::erase, "Erase the person's data where erasure applies (`basis`: `entered_in_error` or `never_taken_on`, `reason`); 409 with the reason otherwise"),
    spec!(get "/referrals/{id}/viewings" "admin, link worker lead (own service)" => api::data_rights::viewings, "Who viewed or changed a referral and when; views from outside the practice and service are flagged"),
    spec!(get "/openapi.json" "anyone" => api::openapi::openapi, "This document: every route of the API"),
    spec!(post "/self-referrals" "anyone (limited)" => api::self_referrals::self_refer, "A person refers themselves, no account: to the service covering their postcode (202 whether kept or not; 422 by field, naming where to go outside every coverage; 429 after 5 an hour per address)"),
    spec!(get "/admin/coverage" "admin" => api::coverage::list_coverage, "Every link worker service's coverage: postcode districts and sectors, practices served"),
    spec!(put "/admin/coverage/{id}" "admin" => api::coverage::set_coverage, "Replace a link worker service's coverage (`areas`, `practices`)"),
    spec!(get "/triage" "link worker, lead" => api::triage::triage_queue, "The caller's service's self and agency referrals waiting, oldest first"),
    spec!(post "/referrals/{id}/triage" "its service's link workers" => api::triage::triage_decide, "Answer a referral in triage: `decision` accept, reject (`reason`, `suggestion` shown to the referrer) or pass (`service_id`, `reason`)"),
    spec!(post "/referrals/{id}/merge" "its service's link workers" => api::triage::merge_referral, "Merge a referral into another open case of the same person (`into`, `version`): one case, both histories kept"),
    spec!(post "/referrals/{id}/flags" "its service's link workers" => api::triage::add_flag, "Set a risk or safeguarding flag on the person (`kind`, `reason`)"),
    spec!(post "/referrals/{id}/safeguarding" "its service's link workers" => api::triage::add_concern, "Record a safeguarding concern raised (`concern`, `raised_with`, `reference`, `outcome`)"),
];

/// The Open Referral UK 3.0 API, under `/oruk` (read-only, JSON, anyone).
pub const ORUK_ROUTES: &[RouteSpec] = &[
    spec!(get "/" "anyone" => oruk::api_info),
    spec!(get "/services" "anyone" => oruk::list_services),
    spec!(get "/services/{id}" "anyone" => oruk::get_service),
    spec!(get "/taxonomies" "anyone" => oruk::list_taxonomies),
    spec!(get "/taxonomies/{id}" "anyone" => oruk::get_taxonomy),
    spec!(get "/taxonomy_terms" "anyone" => oruk::list_taxonomy_terms),
    spec!(get "/taxonomy_terms/{id}" "anyone" => oruk::get_taxonomy_term),
    spec!(get "/service_at_locations" "anyone" => oruk::list_service_at_locations),
    spec!(get "/service_at_locations/{id}" "anyone" => oruk::get_service_at_location),
    spec!(options "/{tail:.*}" "anyone" => oruk::preflight, "CORS preflight for any ORUK route"),
];

/// Every page route (and health).
pub const PAGE_ROUTES: &[RouteSpec] = &[
    spec!(get "/healthz" "anyone" => health::healthz),
    spec!(get "/readyz" "anyone" => health::readyz),
    spec!(get "/" "anyone" => pages::search::search_page),
    spec!(get "/services/{id}" "anyone" => pages::listing::listing_page),
    spec!(get "/services/{id}/print" "anyone" => pages::listing::listing_print),
    spec!(get "/shortlist" "anyone" => pages::shortlist::shortlist_page),
    spec!(get "/shortlist/print" "anyone" => pages::shortlist::shortlist_print),
    spec!(post "/shortlist/add" "anyone" => pages::shortlist::add_submit),
    spec!(post "/shortlist/remove" "anyone" => pages::shortlist::remove_submit),
    spec!(post "/shortlist/clear" "anyone" => pages::shortlist::clear_submit),
    spec!(post "/shortlist/email" "anyone (limited)" => pages::shortlist::email_submit),
    spec!(get "/static/{name}" "anyone" => pages::assets::static_asset),
    spec!(get "/sign-in" "anyone" => pages::auth::sign_in_page),
    spec!(post "/sign-in" "anyone" => pages::auth::sign_in_submit),
    spec!(post "/sign-out" "signed in" => pages::auth::sign_out),
    spec!(get "/invite/{token}" "link holder" => pages::auth::link_page),
    spec!(post "/invite/{token}" "link holder" => pages::auth::link_submit),
    spec!(get "/reset/{token}" "link holder" => pages::auth::link_page),
    spec!(post "/reset/{token}" "link holder" => pages::auth::link_submit),
    spec!(get "/account" "signed in" => pages::account::account_page),
    spec!(post "/account/password" "signed in" => pages::account::change_password),
    spec!(post "/account/notifications" "signed in" => pages::account::notifications_submit),
    spec!(post "/account/totp/start" "signed in" => pages::account::totp_start),
    spec!(post "/account/totp/confirm" "signed in" => pages::account::totp_confirm),
    spec!(post "/account/totp/disable" "signed in" => pages::account::totp_disable),
    spec!(get "/join" "anyone" => pages::join::join_page),
    spec!(post "/join" "anyone" => pages::join::join_submit),
    spec!(get "/admin" "admin" => pages::admin::admin_page),
    spec!(post "/admin/organisations" "admin" => pages::admin::create_organisation),
    spec!(post "/admin/organisations/{id}/approve" "admin" => pages::admin::approve_organisation),
    spec!(post "/admin/organisations/{id}/reject" "admin" => pages::admin::reject_organisation),
    spec!(post "/admin/users" "admin" => pages::admin::invite_user),
    spec!(post "/admin/users/{id}/disable" "admin" => pages::admin::disable_user),
    spec!(post "/admin/users/{id}/enable" "admin" => pages::admin::enable_user),
    spec!(post "/admin/users/{id}/reset-link" "admin" => pages::admin::reset_link),
    spec!(post "/admin/listings/merge" "admin" => pages::admin::merge_listings),
    spec!(get "/admin/audit" "admin" => pages::admin::audit_page),
    spec!(get "/admin/notifications" "admin" => pages::notifications::notifications_page),
    spec!(get "/answer/{token}" "anyone with the link" => pages::notifications::answer_page),
    spec!(get "/my-page" "anyone" => pages::person::code_page),
    spec!(get "/my-page/{code}" "the person, with the link" => pages::person::person_page),
    spec!(post "/my-page/{code}/birth-date" "the person, with the link" => pages::person::birth_date_submit),
    spec!(post "/my-page/{code}/suggestions/{connection_id}" "the person, with the link" => pages::person::answer_submit),
    spec!(post "/my-page/{code}/contact" "the person, with the link" => pages::person::contact_submit),
    spec!(post "/my-page/{code}/stop" "the person, with the link" => pages::person::stop_submit),
    spec!(post "/answer/{token}" "anyone with the link" => pages::notifications::answer_submit),
    spec!(get "/still-accurate/{token}" "anyone with the link" => pages::notifications::still_accurate_page),
    spec!(post "/still-accurate/{token}" "anyone with the link" => pages::notifications::still_accurate_submit),
    spec!(get "/admin/reminders" "admin" => pages::notifications::reminders_page),
    spec!(get "/unsubscribe/{token}" "anyone with the link" => pages::notifications::unsubscribe_page),
    spec!(post "/unsubscribe/{token}" "anyone with the link" => pages::notifications::unsubscribe_submit),
    spec!(get "/referrals" "referrer, link worker, admin" => pages::referrals::list_page),
    spec!(get "/referrals/new" "referrer" => pages::referrals::new_page),
    spec!(post "/referrals" "referrer" => pages::referrals::create_submit),
    spec!(get "/referrals/{id}" "its practice, its service, admin" => pages::referrals::referral_page),
    spec!(post "/referrals/{id}/transitions" "as the status table says" => pages::referrals::transition_submit),
    spec!(get "/referrals/{id}/withdraw" "its practice, its service, admin" => pages::withdraw::withdraw_page),
    spec!(post "/referrals/{id}/withdraw" "as the status table says" => pages::withdraw::withdraw_submit),
    spec!(post "/referrals/{id}/notes" "its service's link workers" => pages::referrals::note_submit),
    spec!(post "/referrals/{id}/contact-attempts" "its service's link workers" => pages::referrals::attempt_submit),
    spec!(post "/referrals/{id}/measures" "its service's link workers" => pages::referrals::measure_submit),
    spec!(post "/referrals/{id}/connections" "its service's link workers" => pages::referrals::connect_submit),
    spec!(post "/referrals/{id}/meeting" "its service's link workers" => pages::referrals::meeting_submit),
    spec!(get "/referrals/{id}/plan" "its practice, its service" => pages::referrals::plan_page),
    spec!(post "/referrals/{id}/person-link" "its service's link workers" => pages::referrals::person_link_submit),
    spec!(post "/referrals/{id}/person-link/revoke" "its service's link workers" => pages::referrals::person_link_revoke),
    spec!(post "/referrals/{id}/plan" "its service's link workers" => pages::referrals::plan_submit),
    spec!(post "/connections/{id}/transitions" "its link workers, the group's editors" => pages::referrals::connection_submit),
    spec!(get "/introductions" "group editor" => pages::referrals::introductions_page),
    spec!(get "/my/listings" "group editor, admin" => pages::listings::my_listings_page),
    spec!(post "/my/listings/{id}/verify" "its group's editors, admin" => pages::listings::verify_submit),
    spec!(post "/my/listings/{id}" "its group's editors, admin" => pages::listings::edit_submit),
    spec!(post "/my/listings/{id}/sessions" "its group's editors, admin" => pages::listings::sessions_submit),
    spec!(post "/my/listings/{id}/areas" "its group's editors, admin" => pages::listings::areas_submit),
    spec!(post "/my/listings/{id}/terms" "its group's editors, admin" => pages::listings::terms_submit),
    spec!(post "/my/listings/{id}/venue" "its group's editors, admin" => pages::listings::venue_submit),
    spec!(get "/reports" "admin, link worker lead" => pages::reports::reports_page),
    spec!(get "/reports/{name}" "admin, link worker lead (own service)" => pages::reports::report_page),
    spec!(get "/data-rights" "admin, link worker lead" => pages::data_rights::data_rights_page),
    spec!(get "/data-rights/referrals/{id}" "admin, link worker lead (own service)" => pages::data_rights::referral_rights_page),
    spec!(post "/data-rights/referrals/{id}/rectify" "admin, link worker lead (own service)" => pages::data_rights::rectify_submit),
    spec!(post "/data-rights/referrals/{id}/restrict" "admin, link worker lead (own service)" => pages::data_rights::restrict_submit),
    spec!(post "/data-rights/referrals/{id}/lift-restriction" "admin, link worker lead (own service)" => pages::data_rights::lift_submit),
    spec!(post "/data-rights/referrals/{id}/withdraw-consent" "admin, link worker lead (own service)" => pages::data_rights::withdraw_submit),
    spec!(post "/data-rights/referrals/{id}/erase" "admin, link worker lead (own service)" => pages::data_rights::erase_submit),
    spec!(get "/refer-yourself" "anyone" => pages::refer_yourself::refer_page),
    spec!(post "/refer-yourself" "anyone" => pages::refer_yourself::refer_submit),
    spec!(get "/admin/coverage" "admin" => pages::coverage::coverage_page),
    spec!(post "/admin/coverage/{id}" "admin" => pages::coverage::coverage_submit),
    spec!(get "/triage" "link worker, lead" => pages::triage::triage_page),
    spec!(post "/referrals/{id}/triage" "its service's link workers" => pages::triage::triage_submit),
    spec!(post "/referrals/{id}/merge" "its service's link workers" => pages::referrals::merge_submit),
    spec!(post "/referrals/{id}/flags" "its service's link workers" => pages::referrals::flag_submit),
    spec!(post "/referrals/{id}/safeguarding" "its service's link workers" => pages::referrals::concern_submit),
];

/// Largest form body accepted.
pub const FORM_LIMIT: usize = 64 * 1024;

/// Wires every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::JsonConfig::default().limit(JSON_LIMIT).error_handler(|err, _req| {
        let app_error = match &err {
            actix_web::error::JsonPayloadError::OverflowKnownLength { .. }
            | actix_web::error::JsonPayloadError::Overflow { .. } => {
                AppError::PayloadTooLarge(format!("the body is larger than {} kB", JSON_LIMIT / 1024))
            }
            actix_web::error::JsonPayloadError::ContentType => AppError::BadRequest {
                code: "unsupported_content_type",
                message: "send Content-Type: application/json".into(),
                fields: Default::default(),
            },
            other => AppError::BadRequest {
                code: "malformed_json",
                message: format!("the body is not valid JSON: {other}"),
                fields: Default::default(),
            },
        };
        actix_web::error::InternalError::from_response(err, error::json_response(&app_error)).into()
    }))
    .app_data(web::FormConfig::default().limit(FORM_LIMIT).error_handler(|err, _req| {
        let app_error = match &err {
            actix_web::error::UrlencodedError::Overflow { .. } => {
                AppError::PayloadTooLarge("the form is too large".into())
            }
            other => AppError::BadRequest {
                code: "malformed_form",
                message: format!("the form could not be read: {other}"),
                fields: Default::default(),
            },
        };
        actix_web::error::InternalError::from_response(err, error::page_response(&app_error)).into()
    }))
    .app_data(web::PayloadConfig::default().limit(JSON_LIMIT));
    let mut api = web::scope("/api/v1");
    for spec in API_ROUTES {
        api = api.route(spec.path, (spec.route)());
    }
    cfg.service(api.default_service(web::to(api_not_found)));
    let mut oruk = web::scope("/oruk");
    for spec in ORUK_ROUTES {
        oruk = oruk.route(spec.path, (spec.route)());
    }
    // `/oruk` without the slash is the API information too. Every ORUK answer, errors
    // included, may be read by a web page anywhere (the profile's compliance rules).
    cfg.service(
        web::resource("/oruk")
            .wrap(oruk::cors_headers())
            .route(method::get().to(oruk::api_info))
            .route(method::options().to(oruk::preflight)),
    );
    cfg.service(oruk.default_service(web::to(oruk_not_found)).wrap(oruk::cors_headers()));
    for spec in PAGE_ROUTES {
        cfg.route(spec.path, (spec.route)());
    }
    cfg.default_service(web::to(page_not_found));
}

async fn api_not_found() -> HttpResponse {
    error::json_response(&AppError::not_found("no such API route; see the README's API table"))
}

async fn oruk_not_found() -> HttpResponse {
    error::json_response(&AppError::not_found(
        "no such Open Referral UK route; see /oruk/ and the README's ORUK section",
    ))
}

/// The "page not found" page: the site's own header (with the person's menu) and footer, so
/// there is a way on from it.
async fn page_not_found(req: HttpRequest, visitor: actor::Visitor, state: web::Data<AppState>) -> HttpResponse {
    if req.path().starts_with("/api/") {
        return api_not_found().await;
    }
    #[derive(serde::Serialize)]
    struct NotFound {
        title: &'static str,
        csrf: String,
        user: Option<crate::accounts::CurrentUser>,
    }
    let (csrf, cookie) = session::csrf_token(&req, state.settings.tls());
    let page = NotFound { title: "Page not found", csrf, user: visitor.user };
    pages::render_page(&state, "pages/not_found", &page, actix_web::http::StatusCode::NOT_FOUND, cookie)
        .unwrap_or_else(|_| error::page_response(&AppError::not_found("there is no page at this address")))
}

/// Runs blocking work (diesel, tantivy) on the blocking pool with a database connection.
pub async fn with_conn<T, F>(state: &AppState, f: F) -> Result<T, AppError>
where
    T: Send + 'static,
    F: FnOnce(&mut PooledConn, &AppState) -> Result<T, AppError> + Send + 'static,
{
    let state = state.clone();
    web::block(move || {
        let mut conn = state.pool.get()?;
        f(&mut conn, &state)
    })
    .await?
}

/// The query string as (key, value) pairs, repeated keys kept; a control character in any
/// of them is a 422 naming the parameter (see [`input`]).
pub fn query_pairs(req: &HttpRequest) -> Result<Vec<(String, String)>, AppError> {
    let pairs: Vec<(String, String)> =
        form_urlencoded::parse(req.query_string().as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    input::check_pairs(&pairs)?;
    Ok(pairs)
}

/// Checks a record id from the path: anything but a UUID is a 404 naming the field.
pub fn parse_record_id(id: &str, what: &str) -> Result<String, AppError> {
    if crate::ids::is_id(id) {
        Ok(id.to_ascii_lowercase())
    } else {
        Err(not_a_record_id(what))
    }
}

/// The answer for a path id that cannot name a record: a 404, as for one that does not exist.
pub fn not_a_record_id(what: &str) -> AppError {
    AppError::NotFound {
        message: format!("no {what} with that id"),
        fields: [("id".to_string(), format!("not a {what} id"))].into(),
    }
}
