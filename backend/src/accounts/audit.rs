//! The audit trail: who did what to which record, when and from where. Append-only (the
//! database refuses updates and deletes), written in the same transaction as the change it
//! records. It never holds a patient's name, NHS number or contact details, a password or a
//! token: `detail` is for codes and ids only.

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use super::CurrentUser;
use crate::db::schema::audit_events;
use crate::db::DbConnection;

/// One thing to record.
#[derive(Debug, Clone, Default)]
pub struct Event<'a> {
    /// Who (none when anonymous or unknown).
    pub actor_id: Option<&'a str>,
    /// Their role then.
    pub actor_role: Option<&'a str>,
    /// What, as `noun.verb`: `sign_in.success`, `user.invite`, `referral.read`.
    pub action: &'a str,
    /// The kind of record.
    pub record_type: Option<&'a str>,
    /// Its id.
    pub record_id: Option<&'a str>,
    /// `ok`, `denied` or `failed`.
    pub outcome: &'a str,
    /// The client address.
    pub ip: Option<&'a str>,
    /// Codes and ids only (a reason code, a changed field's name): never personal data.
    pub detail: Option<&'a str>,
}

impl<'a> Event<'a> {
    /// An event by a signed-in person.
    pub fn by(user: &'a CurrentUser, action: &'a str, ip: Option<&'a str>) -> Self {
        Event {
            actor_id: Some(&user.id),
            actor_role: Some(user.role.as_str()),
            action,
            outcome: "ok",
            ip,
            ..Default::default()
        }
    }

    /// An event by the person a referral is about, on their own page (no account; their role
    /// is recorded as `person`, so "who saw this record" lists them as themselves).
    pub fn by_person(action: &'a str, ip: Option<&'a str>) -> Self {
        Event { actor_role: Some("person"), action, outcome: "ok", ip, ..Default::default() }
    }

    /// About a record.
    pub fn on(mut self, record_type: &'a str, record_id: &'a str) -> Self {
        self.record_type = Some(record_type);
        self.record_id = Some(record_id);
        self
    }

    /// With an outcome other than `ok`.
    pub fn outcome(mut self, outcome: &'a str) -> Self {
        self.outcome = outcome;
        self
    }

    /// With a detail code.
    pub fn detail(mut self, detail: &'a str) -> Self {
        self.detail = Some(detail);
        self
    }
}

/// Appends an event.
pub fn record(conn: &mut DbConnection, event: &Event<'_>) -> QueryResult<()> {
    diesel::insert_into(audit_events::table)
        .values((
            audit_events::at.eq(Utc::now().naive_utc()),
            audit_events::actor_id.eq(event.actor_id),
            audit_events::actor_role.eq(event.actor_role),
            audit_events::action.eq(event.action),
            audit_events::record_type.eq(event.record_type),
            audit_events::record_id.eq(event.record_id),
            audit_events::outcome.eq(event.outcome),
            audit_events::ip.eq(event.ip),
            audit_events::detail.eq(event.detail),
        ))
        .execute(conn)?;
    Ok(())
}

/// A recorded event.
#[derive(Debug, Clone, Queryable, Serialize)]
pub struct AuditRow {
    /// Sequence number.
    pub id: i64,
    /// When (UTC).
    pub at: NaiveDateTime,
    /// Who.
    pub actor_id: Option<String>,
    /// Their role then.
    pub actor_role: Option<String>,
    /// What.
    pub action: String,
    /// Kind of record.
    pub record_type: Option<String>,
    /// Which record.
    pub record_id: Option<String>,
    /// Outcome.
    pub outcome: String,
    /// From where.
    pub ip: Option<String>,
    /// Codes.
    pub detail: Option<String>,
}

/// Filters for browsing the trail.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AuditFilter {
    /// Only this person's actions.
    pub actor_id: Option<String>,
    /// Actions starting with this (`sign_in` finds both outcomes).
    pub action: Option<String>,
    /// Only this record.
    pub record_id: Option<String>,
    /// Only this outcome.
    pub outcome: Option<String>,
    /// Newest first, this many.
    pub limit: i64,
    /// Skipping this many.
    pub offset: i64,
}

/// Events matching the filter, newest first.
pub fn list(conn: &mut DbConnection, filter: &AuditFilter) -> QueryResult<Vec<AuditRow>> {
    let mut query = audit_events::table.into_boxed();
    if let Some(actor) = &filter.actor_id {
        query = query.filter(audit_events::actor_id.eq(actor.clone()));
    }
    if let Some(action) = &filter.action {
        // A prefix match; the user's text is literal (LIKE's wildcards escaped).
        let literal = action.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        query = query.filter(audit_events::action.like(format!("{literal}%")).escape('\\'));
    }
    if let Some(record) = &filter.record_id {
        query = query.filter(audit_events::record_id.eq(record.clone()));
    }
    if let Some(outcome) = &filter.outcome {
        query = query.filter(audit_events::outcome.eq(outcome.clone()));
    }
    query.order(audit_events::id.desc()).limit(filter.limit.clamp(1, 500)).offset(filter.offset.max(0)).load(conn)
}
