//! Demo accounts for the seed region, one per role, created only in development on a first
//! start (never in production). Their e-mail addresses are on example.org and the password is
//! printed at start and in the README.

use diesel::prelude::*;

use super::{organisations, password, users, OrgKind, Role};
use crate::db::schema::organizations;
use crate::db::DbConnection;
use crate::ids::stable_id;

/// The password of every demo account.
pub const DEMO_PASSWORD: &str = "green-valley-tea-party";

/// A demo account, for printing.
#[derive(Debug, Clone)]
pub struct DemoAccount {
    /// Sign-in e-mail.
    pub email: &'static str,
    /// Role.
    pub role: Role,
    /// What the role is called here ("Housing referrer" for an agency's referrer).
    pub role_label: String,
    /// Organisation name.
    pub organisation: String,
}

/// (key, name, kind) of the demo organisations that are not in the directory seed.
const ORGS: [(&str, &str, OrgKind); 5] = [
    (
        "demo/stroud-pcn-social-prescribing",
        "Stroud and Berkeley Vale PCN Social Prescribing",
        OrgKind::LinkWorkerService,
    ),
    ("demo/beeches-green-surgery", "Beeches Green Surgery, Stroud", OrgKind::GpPractice),
    ("demo/locking-hill-surgery", "Locking Hill Surgery, Stroud", OrgKind::GpPractice),
    ("demo/gloucestershire-icb-directory", "Gloucestershire ICB Directory Team", OrgKind::AdminBody),
    ("demo/stroud-district-housing", "Stroud District Council Housing Advice", OrgKind::Housing),
];

/// The postcode districts the demo link worker service covers: Gloucestershire's (the rest of
/// the seed region has no service in the demo, so a postcode there is told where to go instead).
pub const DEMO_COVERAGE: [&str; 27] = [
    "GL1", "GL2", "GL3", "GL4", "GL5", "GL6", "GL7", "GL8", "GL9", "GL10", "GL11", "GL12", "GL13", "GL14", "GL15",
    "GL16", "GL17", "GL18", "GL19", "GL20", "GL50", "GL51", "GL52", "GL53", "GL54", "GL55", "GL56",
];

/// (e-mail, name, role, organisation key; `seed:` keys are directory organisations).
const PEOPLE: [(&str, &str, Role, &str); 8] = [
    ("gp.referrer@demo.example.org", "Sam Referrer (Beeches Green)", Role::Referrer, "demo/beeches-green-surgery"),
    ("gp.locking@demo.example.org", "Alex Referrer (Locking Hill)", Role::Referrer, "demo/locking-hill-surgery"),
    ("link.worker@demo.example.org", "Jordan Link Worker", Role::LinkWorker, "demo/stroud-pcn-social-prescribing"),
    ("lead@demo.example.org", "Morgan Lead", Role::LinkWorkerLead, "demo/stroud-pcn-social-prescribing"),
    (
        "garden.editor@demo.example.org",
        "Robin Editor (gardening club)",
        Role::GroupEditor,
        "seed:stroud-community-gardening-club",
    ),
    ("shed.editor@demo.example.org", "Casey Editor (men's shed)", Role::GroupEditor, "seed:stroud-valleys-mens-shed"),
    ("admin@demo.example.org", "Avery Admin", Role::Admin, "demo/gloucestershire-icb-directory"),
    ("housing.officer@demo.example.org", "Riley Housing Officer", Role::Referrer, "demo/stroud-district-housing"),
];

fn org_id(key: &str) -> String {
    match key.strip_prefix("seed:") {
        Some(seed_key) => stable_id(&format!("organisation/{seed_key}")),
        None => stable_id(key),
    }
}

/// Creates the demo organisations and accounts that are missing; returns every demo account.
/// Accounts whose directory organisation is not seeded are skipped.
pub fn ensure(conn: &mut DbConnection) -> Result<Vec<DemoAccount>, diesel::result::Error> {
    let service_id = org_id(ORGS[0].0);
    for (key, name, kind) in ORGS {
        let id = org_id(key);
        if organisations::get(conn, &id)?.is_none() {
            let served_by = (kind == OrgKind::GpPractice).then_some(service_id.as_str());
            organisations::create(conn, &id, name, kind, served_by)?;
        }
    }
    crate::referrals::routing::seed_areas(conn, &service_id, &DEMO_COVERAGE)?;
    let hash = password::hash(DEMO_PASSWORD).map_err(|e| diesel::result::Error::QueryBuilderError(e.into()))?;
    let mut accounts = Vec::new();
    for (email, name, role, org_key) in PEOPLE {
        let organisation_id = org_id(org_key);
        let organisation: Option<String> =
            organizations::table.find(&organisation_id).select(organizations::name).first(conn).optional()?;
        let Some(organisation) = organisation else { continue };
        if users::by_email(conn, email)?.is_none() {
            users::create(conn, &organisation_id, email, name, role, Some(&hash))?;
        }
        let role_label = role_label(conn, role, &organisation_id)?;
        accounts.push(DemoAccount { email, role, role_label, organisation });
    }
    Ok(accounts)
}

/// The demo accounts that exist (for printing on later starts).
pub fn existing(conn: &mut DbConnection) -> Result<Vec<DemoAccount>, diesel::result::Error> {
    let mut accounts = Vec::new();
    for (email, _, role, org_key) in PEOPLE {
        if users::by_email(conn, email)?.is_some() {
            let organisation: Option<String> =
                organizations::table.find(org_id(org_key)).select(organizations::name).first(conn).optional()?;
            let role_label = role_label(conn, role, &org_id(org_key))?;
            accounts.push(DemoAccount { email, role, role_label, organisation: organisation.unwrap_or_default() });
        }
    }
    Ok(accounts)
}

/// A role as the demo list prints it: an agency's referrer is "Housing referrer", not a GP's.
fn role_label(conn: &mut DbConnection, role: Role, organisation_id: &str) -> Result<String, diesel::result::Error> {
    let kind: Option<String> =
        organizations::table.find(organisation_id).select(organizations::kind).first(conn).optional()?;
    Ok(match kind.as_deref().and_then(OrgKind::parse) {
        Some(kind) if role == Role::Referrer && kind.is_agency() => format!("{} referrer", kind.label()),
        _ => role.label().to_string(),
    })
}
