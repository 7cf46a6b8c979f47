//! Who does not want what. An address that followed an e-mail's unsubscribe link (the person
//! referred, a group's contact address) gets nothing more; a user turns off the messages of
//! their role on `/account`. Both are honoured at once: the delivery worker checks each claimed
//! row just before sending and gives up those nobody wants, whenever they were queued.

use std::collections::HashMap;

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::outbox::Claimed;
use super::Template;
use crate::accounts::audit::{self, Event};
use crate::accounts::{CurrentUser, Role};
use crate::db::schema::{notification_opt_outs, notification_preferences, users};
use crate::db::{self, DbConnection};
use crate::error::AppError;

/// The messages a role gets, with how `/account` names them.
pub fn choices(role: Role) -> &'static [(Template, &'static str)] {
    match role {
        Role::GroupEditor => &[
            (Template::Introduction, "A link worker introduces someone to our group"),
            (Template::IntroductionReminder, "A reminder when an introduction is still unanswered"),
            (Template::ListingReview, "A reminder to check our listings are still accurate"),
            (Template::GroupApproved, "Our group's sign-up was approved"),
            (Template::GroupTurnedDown, "Our group's sign-up was turned down"),
        ],
        Role::LinkWorker | Role::LinkWorkerLead => &[
            (
                Template::LinkWorkerDigest,
                "Each morning, what needs attention in my caseload (nothing when nothing does)",
            ),
            (Template::IntroductionUnanswered, "A group has not answered my introduction"),
        ],
        Role::Referrer => &[
            (Template::ReferralAccepted, "My referral was accepted"),
            (Template::ReferralRejected, "My referral was rejected"),
            (Template::ReferralClosed, "My referral was closed"),
        ],
        Role::Admin => &[(Template::GroupWaiting, "A group is waiting for approval")],
    }
}

/// One choice as `/account` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Preference {
    /// The message's name.
    pub template: &'static str,
    /// What it is.
    pub label: &'static str,
    /// Sent to me.
    pub on: bool,
}

/// The signed-in user's choices.
pub fn load(conn: &mut DbConnection, user: &CurrentUser) -> QueryResult<Vec<Preference>> {
    let off: Vec<String> = notification_preferences::table
        .filter(notification_preferences::user_id.eq(&user.id))
        .select(notification_preferences::template)
        .load(conn)?;
    Ok(choices(user.role)
        .iter()
        .map(|(template, label)| Preference {
            template: template.name(),
            label,
            on: !off.iter().any(|t| t == template.name()),
        })
        .collect())
}

/// The preferences form: the messages left on (ticked boxes).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PreferencesForm {
    /// Names of the messages to receive.
    #[serde(default)]
    pub on: Vec<String>,
}

/// Saves them: what is not ticked is turned off. A name that is not one of the role's messages
/// is refused. Audited.
pub fn save(
    conn: &mut DbConnection,
    user: &CurrentUser,
    form: &PreferencesForm,
    ip: Option<&str>,
) -> Result<(), AppError> {
    let choices = choices(user.role);
    if let Some(bad) = form.on.iter().find(|name| !choices.iter().any(|(t, _)| t.name() == name.as_str())) {
        let shown: String = bad.chars().take(40).collect();
        return Err(AppError::invalid("on", format!("{shown:?} is not one of your messages")));
    }
    db::write(conn, |conn| -> Result<(), AppError> {
        diesel::delete(notification_preferences::table.filter(notification_preferences::user_id.eq(&user.id)))
            .execute(conn)?;
        for (template, _) in choices.iter().filter(|(t, _)| !form.on.iter().any(|on| on == t.name())) {
            diesel::insert_into(notification_preferences::table)
                .values((
                    notification_preferences::user_id.eq(&user.id),
                    notification_preferences::template.eq(template.name()),
                ))
                .execute(conn)?;
        }
        audit::record(conn, &Event::by(user, "account.notifications", ip).on("user", &user.id))?;
        Ok(())
    })
}

/// Records that an address wants nothing more (twice is the same as once). Audited without the
/// address.
pub fn opt_out(conn: &mut DbConnection, address: &str, ip: Option<&str>) -> QueryResult<()> {
    let address = address.trim().to_lowercase();
    let now = Utc::now().naive_utc();
    db::write(conn, |conn| {
        let row = (notification_opt_outs::address.eq(&address), notification_opt_outs::at.eq(now));
        match conn {
            DbConnection::Sqlite(c) => {
                diesel::insert_into(notification_opt_outs::table).values(row).on_conflict_do_nothing().execute(c)?
            }
            DbConnection::Pg(c) => {
                diesel::insert_into(notification_opt_outs::table).values(row).on_conflict_do_nothing().execute(c)?
            }
        };
        audit::record(
            conn,
            &Event {
                actor_id: None,
                actor_role: None,
                action: "notification.unsubscribe",
                record_type: None,
                record_id: None,
                outcome: "ok",
                ip,
                detail: None,
            },
        )
    })
}

/// When an address unsubscribed, if it did.
pub fn opted_out_at(conn: &mut DbConnection, address: &str) -> QueryResult<Option<NaiveDateTime>> {
    notification_opt_outs::table
        .find(address.trim().to_lowercase())
        .select(notification_opt_outs::at)
        .first(conn)
        .optional()
}

/// Of claimed rows, those nobody wants any more, with why (for admins; no address in it).
pub fn unwanted(conn: &mut DbConnection, rows: &[Claimed]) -> QueryResult<HashMap<String, String>> {
    let mut unwanted = HashMap::new();
    if rows.is_empty() {
        return Ok(unwanted);
    }
    let addresses: Vec<String> = rows.iter().map(|r| r.recipient.trim().to_lowercase()).collect();
    let opted: Vec<String> = notification_opt_outs::table
        .filter(notification_opt_outs::address.eq_any(&addresses))
        .select(notification_opt_outs::address)
        .load(conn)?;
    let turned_off: Vec<(String, String)> = users::table
        .inner_join(notification_preferences::table.on(notification_preferences::user_id.eq(users::id)))
        .filter(users::email.eq_any(&addresses))
        .select((users::email, notification_preferences::template))
        .load(conn)?;
    for row in rows {
        let address = row.recipient.trim().to_lowercase();
        if opted.contains(&address) {
            unwanted.insert(row.id.clone(), "the recipient unsubscribed".to_string());
        } else if turned_off
            .iter()
            .any(|(email, template)| email.to_lowercase() == address && *template == row.template)
        {
            unwanted.insert(row.id.clone(), "the recipient turned this message off".to_string());
        }
    }
    Ok(unwanted)
}

/// Whether a user turned a message off.
pub fn turned_off(conn: &mut DbConnection, user_id: &str, template: Template) -> QueryResult<bool> {
    Ok(notification_preferences::table
        .filter(notification_preferences::user_id.eq(user_id))
        .filter(notification_preferences::template.eq(template.name()))
        .count()
        .get_result::<i64>(conn)?
        > 0)
}

/// The demo's link workers have a made-up caseload: their daily digest starts off (a new user
/// can turn it on at `/account` to see one).
pub fn demo_digests_off(conn: &mut DbConnection) -> QueryResult<usize> {
    let workers: Vec<String> = users::table
        .filter(users::role.eq_any([Role::LinkWorker.as_str(), Role::LinkWorkerLead.as_str()]))
        .select(users::id)
        .load(conn)?;
    let mut off = 0;
    for user_id in workers {
        if !turned_off(conn, &user_id, Template::LinkWorkerDigest)? {
            off += diesel::insert_into(notification_preferences::table)
                .values((
                    notification_preferences::user_id.eq(&user_id),
                    notification_preferences::template.eq(Template::LinkWorkerDigest.name()),
                ))
                .execute(conn)?;
        }
    }
    Ok(off)
}
