//! One person, one case. A new referral for someone who already has an open case (the same NHS
//! number; or the same family name, date of birth and postcode) joins that case instead of
//! starting a second one: its `case_id` names the case, it goes to the case's service, and the
//! case's history says "also referred by Housing". Only a single certain match joins: two open
//! cases that both match (a tie), and near-misses (the same date of birth and postcode with a
//! family name one or two letters different, or the same NHS number with another date of birth)
//! are offered to the link worker, who merges by hand (both histories kept), never silently.
//!
//! Two referrals of one person sent at the same moment make one case: the match and the insert
//! run in one write transaction, which SQLite serialises (`BEGIN IMMEDIATE`) and which on
//! PostgreSQL first takes transaction-scoped advisory locks on the person's date of birth and
//! NHS number, so the second waits for the first to commit and then finds its case.

use chrono::{NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use serde::{Deserialize, Serialize};

use super::model::ReferralRow;
use super::transitions::stale;
use crate::accounts::audit::{self, Event};
use crate::accounts::CurrentUser;
use crate::db::schema::{organizations, referral_events, referrals};
use crate::db::{self, DbConnection};
use crate::domain::referral_status::ReferralStatus;
use crate::error::AppError;
use crate::ids::ReferralId;

/// The statuses of an open case.
pub const OPEN: [&str; 5] = ["received", "accepted", "contacting", "in_progress", "on_hold"];

/// Who a referral is about, as matching reads it.
#[derive(Debug, Clone)]
pub struct Person<'a> {
    /// NHS number, ten digits, or empty (a self-referral may not know it).
    pub nhs_number: &'a str,
    /// Family name as typed.
    pub family_name: &'a str,
    /// Date of birth.
    pub date_of_birth: NaiveDate,
    /// Canonical postcode (`GL7 1AA`).
    pub postcode: &'a str,
}

/// How sure a match is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Likeness {
    /// Certainly the same person: joins without asking (when it is the only one).
    Same,
    /// Perhaps the same person: offered, never joined without the link worker.
    Perhaps,
}

fn folded(name: &str) -> String {
    name.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

/// Edit distance between two short strings (names).
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let here = row[j + 1];
            row[j + 1] = (previous + usize::from(ca != *cb)).min(row[j] + 1).min(row[j + 1] + 1);
            previous = here;
        }
    }
    row[b.len()]
}

/// Whether a referral is about the person, and how sure, with why (for the link worker).
pub fn compare(person: &Person<'_>, row: &ReferralRow) -> Option<(Likeness, &'static str)> {
    let same_nhs = !person.nhs_number.is_empty() && person.nhs_number == row.nhs_number;
    let same_dob = person.date_of_birth == row.date_of_birth;
    let same_postcode = person.postcode == row.postcode;
    let (a, b) = (folded(person.family_name), folded(&row.family_name));
    if same_nhs && same_dob {
        return Some((Likeness::Same, "the same NHS number"));
    }
    // Two NHS numbers are two people (twins share the rest), so only offered.
    let nhs_differ = !person.nhs_number.is_empty() && !row.nhs_number.is_empty() && !same_nhs;
    if same_dob && same_postcode && a == b {
        return Some(if nhs_differ {
            (Likeness::Perhaps, "the same family name, date of birth and postcode, another NHS number")
        } else {
            (Likeness::Same, "the same family name, date of birth and postcode")
        });
    }
    if same_nhs {
        return Some((Likeness::Perhaps, "the same NHS number, another date of birth"));
    }
    if same_dob && same_postcode && distance(&a, &b) <= 2 {
        return Some((Likeness::Perhaps, "the same date of birth and postcode, a family name spelt differently"));
    }
    if same_dob && a == b && !person.nhs_number.is_empty() && row.nhs_number.is_empty() {
        return Some((Likeness::Perhaps, "the same family name and date of birth, another postcode"));
    }
    None
}

/// A stable 64-bit key for an advisory lock (FNV-1a: the same on every instance and build).
fn lock_key(text: &str) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash as i64
}

/// Inside a write transaction: makes another transaction about the same person wait until
/// this one ends (PostgreSQL; SQLite's write transaction already holds the only write lock).
pub fn lock_person(conn: &mut DbConnection, person: &Person<'_>) -> QueryResult<()> {
    if !db::is_postgres(conn) {
        return Ok(());
    }
    let mut keys = vec![lock_key(&format!("referral-person/dob/{}", person.date_of_birth))];
    if !person.nhs_number.is_empty() {
        keys.push(lock_key(&format!("referral-person/nhs/{}", person.nhs_number)));
    }
    // Always in the same order, so two transactions never wait for each other.
    keys.sort_unstable();
    for key in keys {
        diesel::sql_query("SELECT pg_advisory_xact_lock($1)").bind::<BigInt, _>(key).execute(conn)?;
    }
    Ok(())
}

/// Open cases (not joined to another) that may be about the person.
fn candidates(conn: &mut DbConnection, person: &Person<'_>) -> QueryResult<Vec<ReferralRow>> {
    let mut query = referrals::table
        .filter(referrals::case_id.is_null())
        .filter(referrals::status.eq_any(OPEN))
        .select(ReferralRow::as_select())
        .into_boxed();
    query = if person.nhs_number.is_empty() {
        query.filter(referrals::date_of_birth.eq(person.date_of_birth))
    } else {
        query.filter(
            referrals::date_of_birth
                .eq(person.date_of_birth)
                .or(referrals::nhs_number.eq(person.nhs_number.to_string())),
        )
    };
    query.order(referrals::created_at).limit(200).load(conn)
}

/// The open case a new referral for the person joins: the only certain match, if there is one.
pub fn case_for(conn: &mut DbConnection, person: &Person<'_>) -> QueryResult<Option<ReferralRow>> {
    let mut same: Vec<ReferralRow> = candidates(conn, person)?
        .into_iter()
        .filter(|row| matches!(compare(person, row), Some((Likeness::Same, _))))
        .collect();
    Ok(if same.len() == 1 { same.pop() } else { None })
}

/// Another open case that may be about the same person, offered to the link worker.
#[derive(Debug, Clone, Serialize)]
pub struct PossibleMatch {
    /// Its id.
    pub id: String,
    /// The person's name there.
    pub name: String,
    /// Date of birth there.
    pub date_of_birth: NaiveDate,
    /// Postcode there.
    pub postcode: String,
    /// Its status.
    pub status: String,
    /// Why it may be the same person.
    pub why: &'static str,
    /// When it was referred.
    pub created_at: NaiveDateTime,
}

/// The open cases of the same service that may be about this referral's person (ties and
/// near-misses alike), for its link workers.
pub fn possible_matches(conn: &mut DbConnection, row: &ReferralRow) -> QueryResult<Vec<PossibleMatch>> {
    if row.case_id.is_some() || !OPEN.contains(&row.status.as_str()) {
        return Ok(Vec::new());
    }
    let person = Person {
        nhs_number: &row.nhs_number,
        family_name: &row.family_name,
        date_of_birth: row.date_of_birth,
        postcode: &row.postcode,
    };
    Ok(candidates(conn, &person)?
        .into_iter()
        .filter(|other| other.id != row.id && other.service_id == row.service_id)
        .filter_map(|other| {
            compare(&person, &other).map(|(_, why)| PossibleMatch {
                name: format!("{} {}", other.given_name, other.family_name),
                date_of_birth: other.date_of_birth,
                postcode: other.postcode.clone(),
                status: other.status.clone(),
                created_at: other.created_at,
                id: other.id,
                why,
            })
        })
        .collect())
}

/// A referral joined to a case: "also referred by Housing, 3 December".
#[derive(Debug, Clone, Serialize)]
pub struct AlsoReferred {
    /// The joined referral (its own page and history).
    pub id: String,
    /// "Housing", "GP practice", "Self-referral".
    pub source: String,
    /// The referring organisation.
    pub organisation: String,
    /// When.
    pub at: NaiveDateTime,
}

/// The referrals joined to a case, oldest first.
pub fn also_referred(conn: &mut DbConnection, case_id: &str) -> QueryResult<Vec<AlsoReferred>> {
    let rows: Vec<(String, String, String, NaiveDateTime)> = referrals::table
        .inner_join(organizations::table.on(organizations::id.eq(referrals::practice_id)))
        .filter(referrals::case_id.eq(case_id))
        .order(referrals::created_at)
        .select((referrals::id, referrals::source_kind, organizations::name, referrals::created_at))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, kind, organisation, at)| AlsoReferred {
            id,
            source: super::view::source_label(&kind),
            organisation,
            at,
        })
        .collect())
}

/// "Also referred by Housing, 3 December" for each of these cases: (case id, label).
pub fn also_referred_labels(conn: &mut DbConnection, case_ids: &[String]) -> QueryResult<Vec<(String, String)>> {
    let mut out = Vec::new();
    for chunk in case_ids.chunks(500) {
        let rows: Vec<(Option<String>, String, NaiveDateTime)> = referrals::table
            .filter(referrals::case_id.eq_any(chunk))
            .order(referrals::created_at)
            .select((referrals::case_id, referrals::source_kind, referrals::created_at))
            .load(conn)?;
        out.extend(rows.into_iter().filter_map(|(case, kind, at)| {
            case.map(|c| (c, format!("{}, {}", super::view::source_label(&kind), at.format("%-d %B"))))
        }));
    }
    Ok(out)
}

/// The case a referral joined, if it did.
pub fn case_of(conn: &mut DbConnection, id: &str) -> QueryResult<Option<String>> {
    Ok(referrals::table.find(id).select(referrals::case_id).first::<Option<String>>(conn).optional()?.flatten())
}

/// Writes the case's history row for a referral that joined it.
pub fn record_joined(
    conn: &mut DbConnection,
    case: &ReferralRow,
    actor_id: &str,
    source: &str,
    organisation: &str,
    at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(referral_events::table)
        .values((
            referral_events::referral_id.eq(&case.id),
            referral_events::at.eq(at),
            referral_events::actor_id.eq(actor_id),
            referral_events::from_status.eq(Some(&case.status)),
            referral_events::to_status.eq(&case.status),
            referral_events::note
                .eq(Some(format!("Also referred by {source} ({organisation}), {}", at.format("%-d %B")))),
        ))
        .execute(conn)?;
    Ok(())
}

/// A link worker's merge: this referral joins another open case of the same person.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Merge {
    /// The open case it joins.
    pub into: String,
    /// The version of this referral the caller read.
    pub version: i32,
}

/// Merges a referral into another open case of its service: it joins that case (its history
/// kept and shown there), referrals joined to it follow, and both histories say so. Answers
/// this referral's new version.
pub fn merge(
    conn: &mut DbConnection,
    user: &CurrentUser,
    id: &ReferralId,
    m: &Merge,
    ip: Option<&str>,
) -> Result<i32, AppError> {
    let row = super::load_workable(conn, user, id.as_str())?;
    let into = m.into.trim().to_ascii_lowercase();
    if !crate::ids::is_id(&into) {
        return Err(AppError::invalid("into", "choose the case to merge into"));
    }
    if into == row.id {
        return Err(AppError::invalid("into", "a referral cannot be merged into itself"));
    }
    let case = super::load_visible(conn, user, &into).map_err(|_| AppError::invalid("into", "no such case here"))?;
    if case.service_id != row.service_id {
        return Err(AppError::invalid("into", "no such case here"));
    }
    if row.case_id.is_some() {
        return Err(AppError::Conflict {
            message: "this referral is already part of a case".into(),
            allowed: Vec::new(),
        });
    }
    if case.case_id.is_some() || !OPEN.contains(&case.status.as_str()) {
        return Err(AppError::Conflict {
            message: "merge into an open case (this one is closed or part of another case)".into(),
            allowed: Vec::new(),
        });
    }
    if m.version != row.version {
        return Err(stale(row.version));
    }
    let status = ReferralStatus::parse(&row.status).map(|s| s.as_str()).unwrap_or("received");
    let now = Utc::now().naive_utc();
    db::write(conn, |conn| -> Result<i32, AppError> {
        let updated =
            diesel::update(referrals::table.filter(referrals::id.eq(&row.id)).filter(referrals::version.eq(m.version)))
                .set((
                    referrals::case_id.eq(Some(&case.id)),
                    referrals::version.eq(m.version + 1),
                    referrals::updated_at.eq(now),
                ))
                .execute(conn)?;
        if updated != 1 {
            return Err(stale(m.version + 1));
        }
        diesel::update(referrals::table.filter(referrals::case_id.eq(&row.id)))
            .set(referrals::case_id.eq(Some(&case.id)))
            .execute(conn)?;
        let day = |at: NaiveDateTime| at.format("%-d %B").to_string();
        for (on, from, note) in [
            (&row.id, status, format!("Merged into the case referred on {}", day(case.created_at))),
            (
                &case.id,
                case.status.as_str(),
                format!(
                    "Merged: the referral from {} of {} joined this case",
                    super::view::source_label(&row.source_kind),
                    day(row.created_at)
                ),
            ),
        ] {
            diesel::insert_into(referral_events::table)
                .values((
                    referral_events::referral_id.eq(on),
                    referral_events::at.eq(now),
                    referral_events::actor_id.eq(&user.id),
                    referral_events::from_status.eq(Some(from)),
                    referral_events::to_status.eq(from),
                    referral_events::note.eq(Some(note)),
                ))
                .execute(conn)?;
        }
        let detail = format!("into {}", case.id);
        audit::record(conn, &Event::by(user, "referral.merge", ip).on("referral", &row.id).detail(&detail))?;
        Ok(m.version + 1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(nhs: &str, family: &str, dob: (i32, u32, u32), postcode: &str) -> ReferralRow {
        let at = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap().and_hms_opt(9, 0, 0).unwrap();
        ReferralRow {
            id: "r".into(),
            practice_id: "p".into(),
            service_id: "s".into(),
            referrer_id: "u".into(),
            owner_id: None,
            status: "received".into(),
            version: 1,
            urgency: "routine".into(),
            given_name: "Margaret".into(),
            family_name: family.into(),
            date_of_birth: NaiveDate::from_ymd_opt(dob.0, dob.1, dob.2).unwrap(),
            nhs_number: nhs.into(),
            postcode: postcode.into(),
            outward_code: "GL5".into(),
            latitude: None,
            longitude: None,
            phone: None,
            email: None,
            preferred_contact: "phone".into(),
            contact_times: None,
            language: None,
            interpreter_needed: false,
            access_needs: None,
            do_not_contact_directly: false,
            sex: None,
            ethnicity: None,
            referrer_words: String::new(),
            what_matters: None,
            risk_notes: None,
            consent_referral: true,
            consent_share: false,
            first_contact_at: None,
            review_date: None,
            created_at: at,
            updated_at: at,
            contact_stopped_at: None,
            source_kind: "gp_practice".into(),
            case_id: None,
        }
    }

    #[test]
    fn the_same_person_joins_and_a_near_miss_is_only_offered() {
        let person = Person {
            nhs_number: "9990000018",
            family_name: "O'Brien",
            date_of_birth: NaiveDate::from_ymd_opt(1950, 6, 1).unwrap(),
            postcode: "GL5 1HE",
        };
        let same = |r: &ReferralRow| compare(&person, r).map(|(l, _)| l);
        assert_eq!(same(&row("9990000018", "Other", (1950, 6, 1), "GL7 1AA")), Some(Likeness::Same));
        assert_eq!(same(&row("", "obrien", (1950, 6, 1), "GL5 1HE")), Some(Likeness::Same), "names fold");
        assert_eq!(same(&row("9990000026", "OBrian", (1950, 6, 1), "GL5 1HE")), Some(Likeness::Perhaps), "a typo");
        assert_eq!(same(&row("9990000018", "O'Brien", (1951, 6, 1), "GL5 1HE")), Some(Likeness::Perhaps));
        assert_eq!(same(&row("9990000026", "Smith", (1950, 6, 1), "GL5 1HE")), None);
        assert_eq!(same(&row("9990000026", "O'Brien", (1950, 6, 2), "GL5 1HE")), None);
        assert_eq!(same(&row("9990000026", "O'Brien", (1950, 6, 1), "GL7 1AA")), None, "two NHS numbers");
        assert_eq!(same(&row("9990000026", "O'Brien", (1950, 6, 1), "GL5 1HE")), Some(Likeness::Perhaps), "twins?");
        let unknown = Person { nhs_number: "", ..person.clone() };
        assert_eq!(compare(&unknown, &row("9990000026", "O'Brien", (1950, 6, 1), "GL7 1AA")), None);
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("", "ab"), 2);
        assert_eq!(lock_key("a"), lock_key("a"));
        assert_ne!(lock_key("a"), lock_key("b"));
    }
}
