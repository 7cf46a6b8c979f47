//! The authorization matrix: every route × every kind of caller (anonymous, a disabled user and
//! each role) × own and another organisation's record where a route names one, each cell with
//! its expected answer. The table is data: a route added to the app without a row here fails.

use std::collections::BTreeMap;

use backend::routes::{API_ROUTES, ORUK_ROUTES, PAGE_ROUTES};

use crate::helpers::{spawn_app, Answer, TestApp, DEMO_PASSWORD};

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// No account needed.
    Anyone,
    /// Any active account.
    SignedIn,
    /// Administrators only.
    Admin,
    /// Holders of an invitation or reset link (a made-up link is not found).
    LinkHolder,
    /// GP practice referrers only.
    ReferrerOnly,
    /// Referrers, link workers and admins (each their own list).
    ReferralList,
    /// Read a referral: its practice, its service, admins; hidden (404) from everyone else.
    ReferralRead,
    /// Move or work on a referral: its service's link workers; its practice and admins see it
    /// but may not (403); hidden from everyone else.
    ReferralWork,
    /// Move a referral: like `ReferralWork`, except that the admin's cell on the demo
    /// referral runs after the link worker accepted it, so the machine refuses first (409).
    ReferralMove,
    /// A referral action on a page: hidden (404) from those who may not see the referral;
    /// those who may see it get the page's answer (a redirect back with what to fix, or a 403).
    ReferralWorkPage,
    /// Read what only the practice and the service may (the plan, clinical text).
    ClinicalRead,
    /// Edit a listing: its group's editors and admins; hidden from everyone else.
    ListingEdit,
    /// A group's listings: group editors and admins.
    ListingsMine,
    /// Answer a suggestion about the group editor's own listing: its editors and admins.
    SuggestionAnswer,
    /// Move a connection: its referral's link workers (the group only once introduced).
    ConnectionMove,
    /// Group editors only.
    GroupEditorOnly,
    /// Reports: admins (everything) and link worker leads (their own service).
    Reports,
    /// Find a person for their data rights: admins and link worker leads; 404 for anyone else.
    DataRightsSearch,
    /// A referral's data rights: admins, and its service's lead; 404 for anyone else.
    DataRights,
    /// A link worker service's triage queue: its link workers and leads.
    Triage,
}

/// A row: method, route path, access, the path to request (with `{own}` / `{other}` for the
/// record) and the body to send.
type Row = (&'static str, &'static str, Access, &'static str, &'static str);

const API: &[Row] = &[
    ("get", "/services", Access::Anyone, "/services?q=garden", ""),
    ("get", "/services/{id}", Access::Anyone, "/services/{listing}", ""),
    ("patch", "/services/{id}", Access::ListingEdit, "/services/{listing}", "{\"version\": 999, \"capacity\": \"waitlist\"}"),
    ("post", "/services/{id}/verify", Access::ListingEdit, "/services/{listing}/verify", ""),
    ("put", "/services/{id}/sessions", Access::ListingEdit, "/services/{listing}/sessions", "{\"version\": 999, \"sessions\": []}"),
    ("put", "/services/{id}/areas", Access::ListingEdit, "/services/{listing}/areas", "{\"version\": 999, \"areas\": [\"GL5\"]}"),
    ("get", "/services/{id}/history", Access::ListingEdit, "/services/{listing}/history", ""),
    ("get", "/my/listings", Access::ListingsMine, "/my/listings", ""),
    ("get", "/admin/reminders.csv", Access::Admin, "/admin/reminders.csv", ""),
    ("post", "/services", Access::ListingsMine, "/services", "{\"name\": \"\", \"summary\": \"\", \"categories\": [], \"attending_type\": \"online\"}"),
    ("get", "/admin/pending", Access::Admin, "/admin/pending", ""),
    ("post", "/services/{id}/suggestions", Access::Anyone, "/services/{listing}/suggestions", "{\"body\": \"The phone number has changed\"}"),
    ("get", "/services/{id}/suggestions", Access::ListingEdit, "/services/{listing}/suggestions", ""),
    ("post", "/suggestions/{id}", Access::SuggestionAnswer, "/suggestions/{suggestion}", "{\"action\": \"bogus\"}"),
    ("post", "/services/{id}/revert", Access::Admin, "/services/{own_listing}/revert", "{}"),
    ("post", "/services/{id}/merge", Access::Admin, "/services/{own_listing}/merge", "{}"),
    ("get", "/admin/unedited", Access::Admin, "/admin/unedited", ""),
    ("post", "/admin/services/{id}/approve", Access::Admin, "/admin/services/{own_listing}/approve", ""),
    ("post", "/admin/services/{id}/reject", Access::Admin, "/admin/services/{own_listing}/reject", ""),
    ("get", "/taxonomy", Access::Anyone, "/taxonomy", ""),
    ("get", "/geocode", Access::Anyone, "/geocode?q=GL5+1HE", ""),
    ("post", "/auth/login", Access::Anyone, "/auth/login", "{\"email\": \"nobody@example.org\"}"),
    ("post", "/auth/logout", Access::SignedIn, "/auth/logout", ""),
    ("post", "/auth/refresh", Access::SignedIn, "/auth/refresh", ""),
    ("get", "/me", Access::SignedIn, "/me", ""),
    ("get", "/admin/organisations", Access::Admin, "/admin/organisations", ""),
    ("post", "/admin/organisations", Access::Admin, "/admin/organisations", "{\"name\": \"Matrix Club\", \"kind\": \"community_org\"}"),
    // An empty sign-up is refused (422) for everyone: the matrix must not fill the sign-up limit.
    ("post", "/organisations/sign-up", Access::Anyone, "/organisations/sign-up", "{\"organisation_name\": \"\"}"),
    ("get", "/admin/organisations/pending", Access::Admin, "/admin/organisations/pending", ""),
    // The directory team's own organisation is not waiting: the admin's cell is a 409.
    ("post", "/admin/organisations/{id}/approve", Access::Admin, "/admin/organisations/{admin_org}/approve", ""),
    ("post", "/admin/organisations/{id}/reject", Access::Admin, "/admin/organisations/{admin_org}/reject", "{\"reason\": \"Matrix\"}"),
    ("get", "/admin/users", Access::Admin, "/admin/users", ""),
    ("post", "/admin/users", Access::Admin, "/admin/users", "{\"email\": \"matrix@example.org\", \"name\": \"M\", \"role\": \"admin\", \"organisation_id\": \"{admin_org}\"}"),
    ("post", "/admin/users/{id}/disable", Access::Admin, "/admin/users/{victim}/disable", ""),
    ("post", "/admin/users/{id}/enable", Access::Admin, "/admin/users/{victim}/enable", ""),
    ("post", "/admin/users/{id}/password-reset", Access::Admin, "/admin/users/{victim}/password-reset", ""),
    ("get", "/admin/audit", Access::Admin, "/admin/audit", ""),
    ("get", "/admin/notifications", Access::Admin, "/admin/notifications", ""),
    ("get", "/admin/reminders", Access::Admin, "/admin/reminders", ""),
    ("post", "/referrals", Access::ReferrerOnly, "/referrals", "{referral_body}"),
    ("get", "/referrals", Access::ReferralList, "/referrals", ""),
    ("get", "/referrals/{id}", Access::ReferralRead, "/referrals/{referral}", ""),
    ("post", "/referrals/{id}/transitions", Access::ReferralMove, "/referrals/{referral}/transitions", "{\"to\": \"accepted\", \"version\": 1}"),
    ("post", "/referrals/{id}/assign", Access::ReferralWork, "/referrals/{referral}/assign", "{\"owner_id\": \"{lead_id}\", \"version\": 1}"),
    ("post", "/referrals/{id}/notes", Access::ReferralWork, "/referrals/{referral}/notes", "{\"body\": \"Matrix note\"}"),
    ("post", "/referrals/{id}/contact-attempts", Access::ReferralWork, "/referrals/{referral}/contact-attempts", "{\"method\": \"phone\", \"outcome\": \"no_answer\"}"),
    ("post", "/referrals/{id}/measures", Access::ReferralWork, "/referrals/{referral}/measures", "{\"instrument\": \"ons4\", \"timepoint\": \"baseline\", \"answers\": [5, 5, 5, 5]}"),
    ("put", "/referrals/{id}/plan", Access::ReferralWork, "/referrals/{referral}/plan", "{\"what_matters\": \"a\", \"goals\": \"b\", \"actions\": \"c\", \"version\": 0}"),
    ("post", "/referrals/{id}/connections", Access::ReferralWork, "/referrals/{referral}/connections", "{\"service_id\": \"{own_listing}\"}"),
    ("post", "/referrals/{id}/meeting", Access::ReferralWork, "/referrals/{referral}/meeting", "{\"at\": \"2030-01-01T10:00\", \"place\": \"Matrix\"}"),
    ("get", "/referrals/{id}/message", Access::ReferralRead, "/referrals/{closed_referral}/message", ""),
    ("get", "/referrals/{id}/fhir", Access::ReferralRead, "/referrals/{referral}/fhir", ""),
    ("get", "/referrals/{id}/fhir/care-plan", Access::ClinicalRead, "/referrals/{referral}/fhir/care-plan", ""),
    ("post", "/referrals/{id}/person-link", Access::ReferralWork, "/referrals/{referral}/person-link", "{\"consent\": true}"),
    ("delete", "/referrals/{id}/person-link", Access::ReferralWork, "/referrals/{referral}/person-link", ""),
    ("get", "/referrals/{id}/search", Access::ReferralWork, "/referrals/{referral}/search?q=garden", ""),
    ("post", "/connections/{id}/transitions", Access::ConnectionMove, "/connections/{connection}/transitions", "{\"to\": \"introduced\", \"version\": 1}"),
    ("get", "/introductions", Access::GroupEditorOnly, "/introductions", ""),
    ("get", "/reports", Access::Reports, "/reports", ""),
    ("get", "/reports/{name}", Access::Reports, "/reports/first-contact?format=csv", ""),
    ("get", "/data-rights/subject-access", Access::DataRightsSearch, "/data-rights/subject-access?nhs_number=9990000018", ""),
    ("post", "/referrals/{id}/rectify", Access::DataRights, "/referrals/{referral}/rectify", "{\"field\": \"phone\", \"value\": \"01632 960555\", \"reason\": \"\"}"),
    ("post", "/referrals/{id}/restrict", Access::DataRights, "/referrals/{referral}/restrict", "{\"reason\": \"\"}"),
    ("post", "/referrals/{id}/lift-restriction", Access::DataRights, "/referrals/{referral}/lift-restriction", "{\"reason\": \"\"}"),
    ("post", "/referrals/{id}/withdraw-consent", Access::DataRights, "/referrals/{referral}/withdraw-consent", "{\"consent\": \"share\", \"reason\": \"\"}"),
    ("post", "/referrals/{id}/erase", Access::DataRights, "/referrals/{referral}/erase", "{\"basis\": \"never_taken_on\", \"reason\": \"\"}"),
    ("get", "/referrals/{id}/viewings", Access::DataRights, "/referrals/{referral}/viewings", ""),
    ("get", "/openapi.json", Access::Anyone, "/openapi.json", ""),
    // An empty self-referral is refused (422) for everyone and not counted against the address.
    ("post", "/self-referrals", Access::Anyone, "/self-referrals", "{\"given_name\": \"\"}"),
    ("get", "/admin/coverage", Access::Admin, "/admin/coverage", ""),
    // Not an area: the admin's cell is a 422 and the demo coverage stays.
    ("put", "/admin/coverage/{id}", Access::Admin, "/admin/coverage/{stroud_service}", "{\"areas\": [\"nonsense\"]}"),
    ("get", "/triage", Access::Triage, "/triage", ""),
    ("post", "/referrals/{id}/triage", Access::ReferralWork, "/referrals/{referral}/triage", "{\"decision\": \"bogus\", \"version\": 1}"),
    ("post", "/referrals/{id}/merge", Access::ReferralWork, "/referrals/{referral}/merge", "{\"into\": \"nope\", \"version\": 1}"),
    ("post", "/referrals/{id}/flags", Access::ReferralWork, "/referrals/{referral}/flags", "{\"kind\": \"bogus\", \"reason\": \"x\"}"),
    ("post", "/referrals/{id}/safeguarding", Access::ReferralWork, "/referrals/{referral}/safeguarding", "{\"concern\": \"\"}"),
];

/// The Open Referral UK API, under `/oruk`: read-only and open to anyone.
const ORUK: &[Row] = &[
    ("get", "/", Access::Anyone, "/", ""),
    ("get", "/services", Access::Anyone, "/services?search=garden", ""),
    ("get", "/services/{id}", Access::Anyone, "/services/{listing}", ""),
    ("get", "/taxonomies", Access::Anyone, "/taxonomies", ""),
    ("get", "/taxonomies/{id}", Access::Anyone, "/taxonomies/{category_taxonomy}", ""),
    ("get", "/taxonomy_terms", Access::Anyone, "/taxonomy_terms", ""),
    ("get", "/taxonomy_terms/{id}", Access::Anyone, "/taxonomy_terms/{gardening_term}", ""),
    ("get", "/service_at_locations", Access::Anyone, "/service_at_locations?postcode=GL5+1HE&proximity=5000", ""),
    ("get", "/service_at_locations/{id}", Access::Anyone, "/service_at_locations/{service_at_location}", ""),
    ("options", "/{tail:.*}", Access::Anyone, "/services", ""),
];

const PAGES: &[Row] = &[
    ("get", "/healthz", Access::Anyone, "/healthz", ""),
    ("get", "/readyz", Access::Anyone, "/readyz", ""),
    ("get", "/", Access::Anyone, "/?q=garden", ""),
    ("get", "/services/{id}", Access::Anyone, "/services/{listing}", ""),
    ("get", "/services/{id}/print", Access::Anyone, "/services/{listing}/print", ""),
    ("get", "/static/{name}", Access::Anyone, "/static/site.css", ""),
    ("get", "/sign-in", Access::Anyone, "/sign-in", ""),
    ("post", "/sign-in", Access::Anyone, "/sign-in", "email=nobody%40example.org"),
    ("post", "/sign-out", Access::SignedIn, "/sign-out", ""),
    ("get", "/invite/{token}", Access::LinkHolder, "/invite/made-up-token", ""),
    (
        "post",
        "/invite/{token}",
        Access::LinkHolder,
        "/invite/made-up-token",
        "new_password=river+meadow+kettle&confirm=river+meadow+kettle",
    ),
    ("get", "/reset/{token}", Access::LinkHolder, "/reset/made-up-token", ""),
    (
        "post",
        "/reset/{token}",
        Access::LinkHolder,
        "/reset/made-up-token",
        "new_password=river+meadow+kettle&confirm=river+meadow+kettle",
    ),
    ("get", "/account", Access::SignedIn, "/account", ""),
    (
        "post",
        "/account/password",
        Access::SignedIn,
        "/account/password",
        "current_password=wrong&new_password=a&confirm=b",
    ),
    ("post", "/account/totp/start", Access::SignedIn, "/account/totp/start", ""),
    ("post", "/account/notifications", Access::SignedIn, "/account/notifications", "on=nonsense"),
    ("post", "/account/totp/confirm", Access::SignedIn, "/account/totp/confirm", "code=000000"),
    ("post", "/account/totp/disable", Access::SignedIn, "/account/totp/disable", "current_password=wrong"),
    ("get", "/join", Access::Anyone, "/join", ""),
    ("post", "/join", Access::Anyone, "/join", "organisation_name="),
    ("get", "/admin", Access::Admin, "/admin", ""),
    ("post", "/admin/organisations", Access::Admin, "/admin/organisations", "name=&kind=community_org"),
    ("post", "/admin/organisations/{id}/approve", Access::Admin, "/admin/organisations/{admin_org}/approve", ""),
    (
        "post",
        "/admin/organisations/{id}/reject",
        Access::Admin,
        "/admin/organisations/{admin_org}/reject",
        "reason=Matrix",
    ),
    ("post", "/admin/users", Access::Admin, "/admin/users", "email=bad&name=&role=admin&organisation_id=x"),
    ("post", "/admin/users/{id}/disable", Access::Admin, "/admin/users/{victim}/disable", ""),
    ("post", "/admin/users/{id}/enable", Access::Admin, "/admin/users/{victim}/enable", ""),
    ("post", "/admin/users/{id}/reset-link", Access::Admin, "/admin/users/{victim}/reset-link", ""),
    ("post", "/admin/listings/merge", Access::Admin, "/admin/listings/merge", "duplicate=x&keep=y"),
    ("get", "/admin/audit", Access::Admin, "/admin/audit", ""),
    ("get", "/admin/notifications", Access::Admin, "/admin/notifications", ""),
    ("get", "/answer/{token}", Access::LinkHolder, "/answer/made-up-token", ""),
    ("post", "/answer/{token}", Access::LinkHolder, "/answer/made-up-token", "answer=accepted"),
    ("get", "/my-page", Access::Anyone, "/my-page", ""),
    ("get", "/shortlist", Access::Anyone, "/shortlist", ""),
    ("get", "/shortlist/print", Access::Anyone, "/shortlist/print", ""),
    ("post", "/shortlist/add", Access::Anyone, "/shortlist/add", "service_id={own_listing}"),
    ("post", "/shortlist/remove", Access::Anyone, "/shortlist/remove", "service_id={own_listing}"),
    ("post", "/shortlist/clear", Access::Anyone, "/shortlist/clear", ""),
    ("post", "/shortlist/email", Access::Anyone, "/shortlist/email", "email="),
    ("get", "/my-page/{code}", Access::LinkHolder, "/my-page/made-up-code", ""),
    (
        "post",
        "/my-page/{code}/birth-date",
        Access::LinkHolder,
        "/my-page/made-up-code/birth-date",
        "day=1&month=1&year=1950",
    ),
    (
        "post",
        "/my-page/{code}/suggestions/{connection_id}",
        Access::LinkHolder,
        "/my-page/made-up-code/suggestions/{connection}",
        "choice=try",
    ),
    ("post", "/my-page/{code}/contact", Access::LinkHolder, "/my-page/made-up-code/contact", "preferred_contact=phone"),
    ("post", "/my-page/{code}/stop", Access::LinkHolder, "/my-page/made-up-code/stop", ""),
    ("get", "/admin/reminders", Access::Admin, "/admin/reminders", ""),
    ("get", "/still-accurate/{token}", Access::LinkHolder, "/still-accurate/made-up-token", ""),
    ("post", "/still-accurate/{token}", Access::LinkHolder, "/still-accurate/made-up-token", ""),
    ("get", "/unsubscribe/{token}", Access::LinkHolder, "/unsubscribe/made-up-token", ""),
    ("post", "/unsubscribe/{token}", Access::LinkHolder, "/unsubscribe/made-up-token", ""),
    ("get", "/referrals", Access::ReferralList, "/referrals", ""),
    ("get", "/referrals/new", Access::ReferrerOnly, "/referrals/new", ""),
    ("post", "/referrals", Access::ReferrerOnly, "/referrals", "given_name=&reasons=loneliness"),
    ("get", "/referrals/{id}", Access::ReferralRead, "/referrals/{referral}", ""),
    (
        "post",
        "/referrals/{id}/transitions",
        Access::ReferralWorkPage,
        "/referrals/{referral}/transitions",
        "to=contacting&version=1",
    ),
    ("get", "/referrals/{id}/withdraw", Access::ReferralRead, "/referrals/{referral}/withdraw", ""),
    ("post", "/referrals/{id}/withdraw", Access::ReferralWorkPage, "/referrals/{referral}/withdraw", "to=&version=1"),
    ("post", "/referrals/{id}/notes", Access::ReferralWorkPage, "/referrals/{referral}/notes", "body=Matrix+note"),
    (
        "post",
        "/referrals/{id}/contact-attempts",
        Access::ReferralWorkPage,
        "/referrals/{referral}/contact-attempts",
        "method=phone&outcome=no_answer",
    ),
    (
        "post",
        "/referrals/{id}/measures",
        Access::ReferralWorkPage,
        "/referrals/{referral}/measures",
        "instrument=ons4&timepoint=baseline&answers=5&answers=5&answers=5&answers=5",
    ),
    (
        "post",
        "/referrals/{id}/connections",
        Access::ReferralWorkPage,
        "/referrals/{referral}/connections",
        "service_id={own_listing}",
    ),
    (
        "post",
        "/referrals/{id}/meeting",
        Access::ReferralWorkPage,
        "/referrals/{referral}/meeting",
        "at=2030-01-01T10:00&place=Matrix",
    ),
    ("get", "/referrals/{id}/plan", Access::ClinicalRead, "/referrals/{referral}/plan", ""),
    (
        "post",
        "/referrals/{id}/person-link",
        Access::ReferralWorkPage,
        "/referrals/{referral}/person-link",
        "consent=true",
    ),
    (
        "post",
        "/referrals/{id}/person-link/revoke",
        Access::ReferralWorkPage,
        "/referrals/{referral}/person-link/revoke",
        "",
    ),
    (
        "post",
        "/referrals/{id}/plan",
        Access::ReferralWorkPage,
        "/referrals/{referral}/plan",
        "version=0&what_matters=a&goals=b&actions=c",
    ),
    (
        "post",
        "/connections/{id}/transitions",
        Access::ConnectionMove,
        "/connections/{connection}/transitions",
        "to=introduced&version=1",
    ),
    ("get", "/introductions", Access::GroupEditorOnly, "/introductions", ""),
    ("get", "/my/listings", Access::ListingsMine, "/my/listings", ""),
    ("post", "/my/listings/{id}/verify", Access::ListingEdit, "/my/listings/{listing}/verify", ""),
    ("post", "/my/listings/{id}/areas", Access::ListingEdit, "/my/listings/{listing}/areas", "version=999&areas=GL5"),
    (
        "post",
        "/my/listings/{id}/sessions",
        Access::ListingEdit,
        "/my/listings/{listing}/sessions",
        "version=999&day=TU&week=every&opens=10%3A00&closes=12%3A00",
    ),
    (
        "post",
        "/my/listings/{id}",
        Access::ListingEdit,
        "/my/listings/{listing}",
        "version=999&capacity=waitlist&status=active",
    ),
    (
        "post",
        "/my/listings/{id}/terms",
        Access::ListingEdit,
        "/my/listings/{listing}/terms",
        "version=999&categories=gardening",
    ),
    (
        "post",
        "/my/listings/{id}/venue",
        Access::ListingEdit,
        "/my/listings/{listing}/venue",
        "version=999&venue_name=Hall&town=Stroud&postcode=GL5%201HE&free=yes&attending_type=in_person",
    ),
    ("get", "/reports", Access::Reports, "/reports", ""),
    ("get", "/reports/{name}", Access::Reports, "/reports/outcomes", ""),
    ("get", "/data-rights", Access::DataRightsSearch, "/data-rights?nhs_number=9990000018", ""),
    ("get", "/data-rights/referrals/{id}", Access::DataRights, "/data-rights/referrals/{referral}", ""),
    (
        "post",
        "/data-rights/referrals/{id}/rectify",
        Access::DataRights,
        "/data-rights/referrals/{referral}/rectify",
        "field=phone&value=01632+960555&reason=",
    ),
    (
        "post",
        "/data-rights/referrals/{id}/restrict",
        Access::DataRights,
        "/data-rights/referrals/{referral}/restrict",
        "reason=",
    ),
    (
        "post",
        "/data-rights/referrals/{id}/lift-restriction",
        Access::DataRights,
        "/data-rights/referrals/{referral}/lift-restriction",
        "reason=",
    ),
    (
        "post",
        "/data-rights/referrals/{id}/withdraw-consent",
        Access::DataRights,
        "/data-rights/referrals/{referral}/withdraw-consent",
        "consent=share&reason=",
    ),
    (
        "post",
        "/data-rights/referrals/{id}/erase",
        Access::DataRights,
        "/data-rights/referrals/{referral}/erase",
        "basis=never_taken_on&reason=",
    ),
    ("get", "/refer-yourself", Access::Anyone, "/refer-yourself", ""),
    ("post", "/refer-yourself", Access::Anyone, "/refer-yourself", "given_name="),
    ("get", "/admin/coverage", Access::Admin, "/admin/coverage", ""),
    ("post", "/admin/coverage/{id}", Access::Admin, "/admin/coverage/{stroud_service}", "areas=nonsense"),
    ("get", "/triage", Access::Triage, "/triage", ""),
    (
        "post",
        "/referrals/{id}/triage",
        Access::ReferralWorkPage,
        "/referrals/{referral}/triage",
        "decision=bogus&version=1",
    ),
    ("post", "/referrals/{id}/merge", Access::ReferralWorkPage, "/referrals/{referral}/merge", "into=nope&version=1"),
    ("post", "/referrals/{id}/flags", Access::ReferralWorkPage, "/referrals/{referral}/flags", "kind=bogus&reason=x"),
    (
        "post",
        "/referrals/{id}/safeguarding",
        Access::ReferralWorkPage,
        "/referrals/{referral}/safeguarding",
        "concern=",
    ),
];

/// A volunteer whose community group signed itself up and is still waiting for approval.
const PENDING_EDITOR: &str = "pending.editor@example.org";

/// The callers: a label and the e-mail of their account (none for anonymous).
const CALLERS: &[(&str, Option<&str>)] = &[
    ("anonymous", None),
    ("disabled", Some("disabled@demo.example.org")),
    // Holds a correctly signed token (made with the server's key): refused everywhere.
    ("pending_editor", Some(PENDING_EDITOR)),
    ("referrer", Some("gp.referrer@demo.example.org")),
    // A housing team's referrer: a referrer whose organisation is an agency, not a practice.
    ("agency_referrer", Some("housing.officer@demo.example.org")),
    ("link_worker", Some("link.worker@demo.example.org")),
    ("link_worker_lead", Some("lead@demo.example.org")),
    ("group_editor", Some("garden.editor@demo.example.org")),
    ("admin", Some("admin@demo.example.org")),
];

/// What a cell expects. `own` means the record belongs to the demo practice and its link
/// worker service (and, for connections, the gardening club the group editor edits).
fn expected(access: Access, caller: &str, page: bool, own: bool) -> Expect {
    // An agency's referrer may do what a practice's may, and sees none of the demo practice's
    // referrals (its "own" records are the practice's, so another organisation's to it).
    let (caller, own) = if caller == "agency_referrer" { ("referrer", false) } else { (caller, own) };
    let signed_in = !matches!(caller, "anonymous" | "disabled" | "pending_editor");
    let worker = matches!(caller, "link_worker" | "link_worker_lead");
    match access {
        Access::Anyone => Expect::Allowed,
        Access::LinkHolder => Expect::NotFound,
        _ if !signed_in => Expect::SignIn(page),
        Access::SignedIn => Expect::Allowed,
        Access::Admin if caller == "admin" => Expect::Allowed,
        Access::Admin => Expect::Forbidden,
        Access::ReferrerOnly if caller == "referrer" => Expect::Allowed,
        Access::ReferrerOnly => Expect::Forbidden,
        Access::ReferralList if caller == "group_editor" => Expect::Forbidden,
        Access::ReferralList => Expect::Allowed,
        Access::ReferralRead if caller == "admin" || (own && (caller == "referrer" || worker)) => Expect::Allowed,
        Access::ReferralRead => Expect::NotFound,
        Access::ReferralMove if own && worker => Expect::Allowed,
        Access::ReferralMove if own && caller == "admin" => Expect::Conflict,
        Access::ReferralMove if caller == "admin" || (own && caller == "referrer") => Expect::Forbidden,
        Access::ReferralMove => Expect::NotFound,
        Access::ReferralWork if own && worker => Expect::Allowed,
        Access::ReferralWork if caller == "admin" || (own && caller == "referrer") => Expect::Forbidden,
        Access::ReferralWork => Expect::NotFound,
        // The group editor's cell runs after the link workers introduced the connection, so by
        // then the group sees it (and is refused the move to "introduced" with a 409).
        Access::ListingEdit if caller == "admin" || (own && caller == "group_editor") => Expect::Allowed,
        Access::ListingEdit => Expect::NotFound,
        Access::SuggestionAnswer if matches!(caller, "group_editor" | "admin") => Expect::Allowed,
        Access::SuggestionAnswer => Expect::NotFound,
        Access::ListingsMine if matches!(caller, "group_editor" | "admin") => Expect::Allowed,
        Access::ListingsMine => Expect::Forbidden,
        Access::ClinicalRead if own && (caller == "referrer" || worker) => Expect::Allowed,
        Access::ClinicalRead => Expect::NotFound,
        Access::ReferralWorkPage if caller == "admin" || (own && (caller == "referrer" || worker)) => Expect::Visible,
        Access::ReferralWorkPage => Expect::NotFound,
        Access::ConnectionMove if own && (worker || caller == "group_editor") => Expect::Allowed,
        Access::ConnectionMove => Expect::NotFound,
        Access::GroupEditorOnly if caller == "group_editor" => Expect::Allowed,
        Access::GroupEditorOnly => Expect::Forbidden,
        Access::Reports if matches!(caller, "admin" | "link_worker_lead") => Expect::Allowed,
        Access::Reports => Expect::Forbidden,
        Access::DataRightsSearch if matches!(caller, "admin" | "link_worker_lead") => Expect::Allowed,
        Access::DataRightsSearch => Expect::NotFound,
        Access::DataRights if caller == "admin" || (own && caller == "link_worker_lead") => Expect::Allowed,
        Access::DataRights => Expect::NotFound,
        Access::Triage if worker => Expect::Allowed,
        Access::Triage => Expect::Forbidden,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Anything but 401, 403, a sign-in redirect or a 5xx.
    Allowed,
    /// 401 (API) or a redirect to the sign-in page (pages).
    SignIn(bool),
    /// 403.
    Forbidden,
    /// 404.
    NotFound,
    /// 409.
    Conflict,
    /// The record is not hidden: anything but 401, 404, a sign-in redirect or a 5xx.
    Visible,
}

fn check(expect: Expect, answer: &Answer) -> bool {
    let to_sign_in = answer.status == 303
        && answer.header("location").is_some_and(|l| l == "/sign-in" || l.starts_with("/sign-in?next="));
    match expect {
        Expect::Allowed => answer.status < 500 && ![401, 403, 404].contains(&answer.status) && !to_sign_in,
        Expect::SignIn(true) => to_sign_in,
        Expect::SignIn(false) => answer.status == 401,
        Expect::Forbidden => answer.status == 403,
        Expect::NotFound => answer.status == 404,
        Expect::Conflict => answer.status == 409,
        Expect::Visible => answer.status < 500 && ![401, 404].contains(&answer.status) && !to_sign_in,
    }
}

struct Fixture {
    tokens: BTreeMap<&'static str, Option<String>>,
    values: BTreeMap<&'static str, String>,
}

fn fixture(app: &TestApp) -> Fixture {
    let admin = app.login("admin@demo.example.org", DEMO_PASSWORD);
    let me = app.call("GET", "/api/v1/me", Some(&admin), None).json();
    let admin_org = me["organisation_id"].as_str().unwrap().to_string();
    // A disabled account, and a victim for the admin actions.
    let mut ids = Vec::new();
    for email in ["disabled@demo.example.org", "victim@demo.example.org"] {
        let body = serde_json::json!({"email": email, "name": email, "role": "admin", "organisation_id": admin_org});
        let created = app.call("POST", "/api/v1/admin/users", Some(&admin), Some(&body.to_string()));
        assert_eq!(created.status, 201, "{}", created.body);
        let url = created.json()["invitation_url"].as_str().unwrap().to_string();
        let token = url.rsplit('/').next().unwrap().to_string();
        let mut browser = app.browser();
        browser.get(&format!("/invite/{token}"));
        let csrf = browser.csrf();
        let set = browser.post(
            &format!("/invite/{token}"),
            &[("csrf", &csrf), ("new_password", DEMO_PASSWORD), ("confirm", DEMO_PASSWORD)],
        );
        assert_eq!(set.status, 303, "{}", set.body);
        ids.push(created.json()["id"].as_str().unwrap().to_string());
    }
    // A community group that signed itself up and waits for the directory team.
    let body = serde_json::json!({
        "organisation_name": "Matrix Allotment Growers", "organisation_description": "We grow things.",
        "organisation_email": "growers@example.org", "name": "Pat", "email": PENDING_EDITOR,
        "password": "runner beans on a windy hill",
    });
    let signed_up = app.call("POST", "/api/v1/organisations/sign-up", None, Some(&body.to_string()));
    assert_eq!(signed_up.status, 202, "{}", signed_up.body);
    // Records of the group editor's own organisation and of another one.
    let own_listing = backend::directory::seed::service_id("stroud-community-gardening-club-garden");
    let other_listing = backend::directory::seed::service_id("stroud-valleys-mens-shed-workshop");
    let users = app.call("GET", "/api/v1/admin/users", Some(&admin), None).json();
    let other_victim =
        users["users"].as_array().unwrap().iter().find(|u| u["email"] == "shed.editor@demo.example.org").unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
    // Referrals: the demo practice's (own) and one from a practice of another service (other),
    // each open and closed, and a suggested connection on each open one.
    let referrals = referral_fixture(app, &admin, &own_listing, &other_listing);
    let suggestion = app
        .call(
            "POST",
            &format!("/api/v1/services/{own_listing}/suggestions"),
            None,
            Some("{\"body\": \"Closed on Tuesdays now\"}"),
        )
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let lead_id = users["users"].as_array().unwrap().iter().find(|u| u["email"] == "lead@demo.example.org").unwrap()
        ["id"]
        .as_str()
        .unwrap()
        .to_string();
    use backend::directory::taxonomy::{term_id, Vocabulary};
    let service_at_location =
        app.get("/oruk/service_at_locations?per_page=1").json()["contents"][0]["id"].as_str().unwrap().to_string();
    Fixture {
        tokens: BTreeMap::new(),
        values: BTreeMap::from([
            ("category_taxonomy", backend::interop::oruk::taxonomy_id(Vocabulary::Category)),
            ("gardening_term", term_id(Vocabulary::Category, "gardening")),
            ("service_at_location", service_at_location),
            ("own_referral", referrals[0].clone()),
            ("other_referral", referrals[1].clone()),
            ("own_closed_referral", referrals[2].clone()),
            ("other_closed_referral", referrals[3].clone()),
            ("own_connection", referrals[4].clone()),
            ("other_connection", referrals[5].clone()),
            ("referral_body", crate::referrals::referral_body().to_string()),
            ("lead_id", lead_id),
            ("suggestion", suggestion),
            ("admin_org", admin_org),
            ("own_victim", ids[1].clone()),
            ("other_victim", other_victim),
            ("disabled_id", ids[0].clone()),
            ("own_listing", own_listing),
            ("stroud_service", backend::ids::stable_id("demo/stroud-pcn-social-prescribing")),
            ("other_listing", other_listing),
        ]),
    }
    .with_disabled(app, &admin)
}

/// Creates the referrals the matrix reads and works on; answers
/// [own, other, own closed, other closed, own connection, other connection].
fn referral_fixture(app: &TestApp, admin: &str, own_listing: &str, other_listing: &str) -> Vec<String> {
    // One person per referral: a second referral of one person would join the first's case.
    use crate::referrals::{another_person as referral_body, create};
    use serde_json::json;
    let service = app
        .call(
            "POST",
            "/api/v1/admin/organisations",
            Some(admin),
            Some(&json!({"name": "Other PCN Social Prescribing", "kind": "link_worker_service"}).to_string()),
        )
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let practice = app
        .call(
            "POST",
            "/api/v1/admin/organisations",
            Some(admin),
            Some(&json!({"name": "Other Surgery", "kind": "gp_practice", "served_by": service}).to_string()),
        )
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut people = Vec::new();
    for (email, role, org) in
        [("other.gp@example.org", "referrer", &practice), ("other.worker@example.org", "link_worker", &service)]
    {
        let created = app.call(
            "POST",
            "/api/v1/admin/users",
            Some(admin),
            Some(&json!({"email": email, "name": email, "role": role, "organisation_id": org}).to_string()),
        );
        let token = created.json()["invitation_url"].as_str().unwrap().rsplit('/').next().unwrap().to_string();
        let mut browser = app.browser();
        browser.get(&format!("/invite/{token}"));
        let csrf = browser.csrf();
        browser.post(
            &format!("/invite/{token}"),
            &[("csrf", &csrf), ("new_password", DEMO_PASSWORD), ("confirm", DEMO_PASSWORD)],
        );
        people.push(app.login(email, DEMO_PASSWORD));
    }
    let own_gp = app.login("gp.referrer@demo.example.org", DEMO_PASSWORD);
    let own_worker = app.login("link.worker@demo.example.org", DEMO_PASSWORD);
    let mut ids = Vec::new();
    for (gp, _) in [(&own_gp, &own_worker), (&people[0], &people[1])] {
        ids.push(create(app, gp, &referral_body()));
    }
    for (gp, worker) in [(&own_gp, &own_worker), (&people[0], &people[1])] {
        let id = create(app, gp, &referral_body());
        let path = format!("/api/v1/referrals/{id}/transitions");
        app.call("POST", &path, Some(worker), Some(&json!({"to": "accepted", "version": 1}).to_string()));
        app.call("POST", &path, Some(worker), Some(&json!({"to": "in_progress", "version": 2}).to_string()));
        let done = app.call(
            "POST",
            &path,
            Some(worker),
            Some(&json!({"to": "completed", "version": 3, "note": "Finished."}).to_string()),
        );
        assert_eq!(done.status, 200, "{}", done.body);
        ids.push(id);
    }
    let (own_open, other_open) = (ids[0].clone(), ids[1].clone());
    for (referral, worker, listing) in [(&own_open, &own_worker, own_listing), (&other_open, &people[1], other_listing)]
    {
        let added = app.call(
            "POST",
            &format!("/api/v1/referrals/{referral}/connections"),
            Some(worker),
            Some(&json!({"service_id": listing}).to_string()),
        );
        assert_eq!(added.status, 201, "{}", added.body);
        ids.push(added.json()["id"].as_str().unwrap().to_string());
        // A plan, so that reading it is a question of who asks rather than whether it exists.
        let plan =
            json!({"what_matters": "Getting out", "goals": "Walk weekly", "actions": "Try the club", "version": 0});
        let saved =
            app.call("PUT", &format!("/api/v1/referrals/{referral}/plan"), Some(worker), Some(&plan.to_string()));
        assert!(saved.status < 300, "{}", saved.body);
    }
    ids
}

impl Fixture {
    fn with_disabled(mut self, app: &TestApp, admin: &str) -> Self {
        // Take the disabled user's token while active, then disable them.
        let disabled_token = app.login("disabled@demo.example.org", DEMO_PASSWORD);
        let id = self.values["disabled_id"].clone();
        assert_eq!(app.call("POST", &format!("/api/v1/admin/users/{id}/disable"), Some(admin), None).status, 204);
        self.tokens.insert("disabled", Some(disabled_token));
        self
    }

    /// A valid token for the caller right now (made with the server's key at the user's
    /// current token version, so earlier cells that signed out do not matter).
    fn token(&self, app: &TestApp, caller: &str, email: Option<&str>) -> Option<String> {
        if caller == "disabled" {
            return self.tokens["disabled"].clone();
        }
        Some(app.mint_token(email?))
    }

    fn fill(&self, template: &str, ownership: &str) -> String {
        let mut out = template.to_string();
        for record in ["victim", "listing", "referral", "closed_referral", "connection"] {
            out = out.replace(&format!("{{{record}}}"), &format!("{{{ownership}_{record}}}"));
        }
        for (k, v) in &self.values {
            out = out.replace(&format!("{{{k}}}"), v);
        }
        // A placeholder left unfilled would make a cell pass for the wrong reason (a 404).
        assert!(
            !out.contains("{own_") && !out.contains("{other_") && (!out.starts_with('/') || !out.contains('{')),
            "unfilled: {out}"
        );
        out
    }
}

fn request(app: &TestApp, method: &str, path: &str, token: Option<&str>, body: &str, kind: &str) -> Answer {
    if kind != "page" {
        let body = (!body.is_empty() || method == "post").then_some(if body.is_empty() { "{}" } else { body });
        let prefix = if kind == "ORUK" { "/oruk" } else { "/api/v1" };
        return app.call(&method.to_uppercase(), &format!("{prefix}{path}"), token, body);
    }
    // Pages: session cookie, and a valid CSRF cookie and field on every form.
    let browser = "matrix-csrf-token-0123456789-abcdefghijklmnop";
    let csrf = app.csrf_for(token, Some(browser)).unwrap();
    let mut cookie = format!("cg_csrf={browser}");
    if let Some(token) = token {
        cookie.push_str(&format!("; cg_session={token}"));
    }
    let url = format!("{}{path}", app.address);
    let agent = ureq::AgentBuilder::new().redirects(0).build();
    let result = if method == "post" {
        let form = if body.is_empty() { format!("csrf={csrf}") } else { format!("csrf={csrf}&{body}") };
        agent
            .post(&url)
            .set("Cookie", &cookie)
            .set("Content-Type", "application/x-www-form-urlencoded")
            .send_string(&form)
    } else {
        agent.get(&url).set("Cookie", &cookie).call()
    };
    let response = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{path}: {e}"),
    };
    let status = response.status();
    let headers = response
        .headers_names()
        .into_iter()
        .filter_map(|n| response.header(&n).map(|v| (n.clone(), v.to_string())))
        .collect();
    let content_type = response.content_type().to_string();
    Answer { status, body: response.into_string().unwrap_or_default(), content_type, headers }
}

#[test]
fn every_route_every_caller() {
    // Every route has exactly one row, and every row is a route.
    for (specs, rows, kind) in [(API_ROUTES, API, "API"), (PAGE_ROUTES, PAGES, "page"), (ORUK_ROUTES, ORUK, "ORUK")] {
        for spec in specs {
            let n = rows.iter().filter(|(m, p, ..)| *m == spec.method && *p == spec.path).count();
            assert_eq!(n, 1, "{kind} route {} {} needs one row in the authorization matrix", spec.method, spec.path);
        }
        for (m, p, ..) in rows {
            assert!(specs.iter().any(|s| s.method == *m && s.path == *p), "matrix row {m} {p} is not a {kind} route");
        }
    }
    let app = spawn_app();
    let fixture = fixture(&app);
    let mut cells = 0;
    let mut failures = Vec::new();
    for (rows, kind) in [(API, "API"), (PAGES, "page"), (ORUK, "ORUK")] {
        let page = kind == "page";
        for (method, route, access, sample, body) in rows {
            // Routes that name a record run for a record of the caller's own organisation
            // (for the group editor and the admin) and for another organisation's.
            let names_record = ["{victim}", "{listing}", "{referral}", "{closed_referral}", "{connection}"]
                .iter()
                .any(|r| sample.contains(r));
            let ownerships: &[&str] = if names_record { &["own", "other"] } else { &["own"] };
            for ownership in ownerships {
                for (caller, email) in CALLERS {
                    let token = fixture.token(&app, caller, *email);
                    let answer = request(
                        &app,
                        method,
                        &fixture.fill(sample, ownership),
                        token.as_deref(),
                        &fixture.fill(body, ownership),
                        kind,
                    );
                    let expect = expected(*access, caller, page, *ownership == "own");
                    cells += 1;
                    if !check(expect, &answer) {
                        failures.push(format!(
                            "{method} {route} ({ownership} record) as {caller}: expected {expect:?}, got {} {}",
                            answer.status,
                            answer.body.chars().take(120).collect::<String>()
                        ));
                    }
                }
            }
        }
    }
    eprintln!(
        "authorization matrix: {} routes × {} callers × own/other record where one is named = {cells} cells",
        API.len() + PAGES.len() + ORUK.len(),
        CALLERS.len()
    );
    assert!(failures.is_empty(), "{} of {cells} cells failed:\n{}", failures.len(), failures.join("\n"));
}
