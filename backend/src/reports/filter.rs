//! What a report covers: a date range, optionally one practice, and whose referrals the caller
//! may count (all for admins, their own service's for a link worker lead).

use chrono::{Duration, NaiveDate, Utc};
use diesel::prelude::*;
use serde::Serialize;

use crate::accounts::policy::{allows, Action};
use crate::accounts::{CurrentUser, OrgKind};
use crate::db::schema::{organizations, practice_services};
use crate::db::DbConnection;
use crate::domain::FieldErrors;
use crate::error::AppError;

/// The longest range a report covers: long enough for five years' trends, short enough that a
/// mistyped year is caught rather than silently scanning decades.
pub const MAX_YEARS: i64 = 5;

/// How the report is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// JSON (the API's default).
    Json,
    /// CSV, one table, for a spreadsheet.
    Csv,
    /// A page (the pages' default).
    Html,
}

/// Whose referrals a report counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// The link worker service the report is limited to; `None` for everything (admins).
    pub service_id: Option<String>,
}

impl Scope {
    /// What the caller may see: admins everything, a link worker lead their own service;
    /// anyone else is refused.
    pub fn for_user(user: &CurrentUser) -> Result<Scope, AppError> {
        let service_id = crate::accounts::policy::report_service(user).map(str::to_string);
        if allows(user, Action::ViewReports { service_id: service_id.as_deref() }) {
            Ok(Scope { service_id })
        } else {
            Err(AppError::Forbidden("reports are for administrators and link worker leads".into()))
        }
    }
}

/// The report's range and practice, checked.
#[derive(Debug, Clone, Serialize)]
pub struct Filter {
    /// First day counted.
    pub from: NaiveDate,
    /// Last day counted (inclusive).
    pub to: NaiveDate,
    /// Only this practice's referrals.
    pub practice_id: Option<String>,
    /// How to answer.
    pub format: Format,
}

impl Filter {
    /// Reads `from`, `to` (YYYY-MM-DD; default the last 12 months to today), `practice` and
    /// `format` (`json`, `csv`; pages also `html`) from a query string's pairs.
    pub fn parse(pairs: &[(String, String)], default_format: Format) -> Result<Filter, AppError> {
        let value = |name: &str| {
            pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim().to_string()).filter(|v| !v.is_empty())
        };
        let mut errors = FieldErrors::new();
        let date = |name: &str, errors: &mut FieldErrors| match value(name) {
            None => None,
            Some(text) => match NaiveDate::parse_from_str(&text, "%Y-%m-%d") {
                Ok(d) => Some(d),
                Err(_) => {
                    errors.insert(name.to_string(), "give a date as YYYY-MM-DD, e.g. 2026-04-01".into());
                    None
                }
            },
        };
        let today = Utc::now().date_naive();
        let to_given = date("to", &mut errors);
        let from_given = date("from", &mut errors);
        let to = to_given.unwrap_or(today);
        let from = from_given.unwrap_or(to - Duration::days(364));
        if errors.is_empty() {
            if to < from {
                errors.insert("to".into(), "the end of the range is before its start".into());
            } else if to - from > Duration::days(366 * MAX_YEARS) {
                errors.insert("from".into(), format!("a report covers at most {MAX_YEARS} years"));
            }
        }
        let practice_id = match value("practice") {
            None => None,
            Some(id) if crate::ids::is_id(&id) => Some(id.to_ascii_lowercase()),
            Some(_) => {
                errors.insert("practice".into(), "no practice with that id".into());
                None
            }
        };
        let format = match value("format").as_deref() {
            None => default_format,
            Some("json") => Format::Json,
            Some("csv") => Format::Csv,
            Some("html") if default_format == Format::Html => Format::Html,
            Some(_) => {
                let choices = if default_format == Format::Html { "html, csv or json" } else { "json or csv" };
                errors.insert("format".into(), format!("choose {choices}"));
                default_format
            }
        };
        if errors.is_empty() {
            Ok(Filter { from, to, practice_id, format })
        } else {
            Err(AppError::Invalid(errors))
        }
    }

    /// Refuses a practice the caller may not report on (or that does not exist) with one
    /// message, so the answer tells nothing about other services' practices.
    pub fn check_practice(&self, conn: &mut DbConnection, scope: &Scope) -> Result<(), AppError> {
        let Some(id) = &self.practice_id else { return Ok(()) };
        if practices(conn, scope)?.iter().any(|(p, _)| p == id) {
            Ok(())
        } else {
            Err(AppError::invalid("practice", "no practice with that id"))
        }
    }

    /// The query string that gives this filter again (for links to CSV and JSON).
    pub fn query(&self) -> String {
        let mut query = format!("from={}&to={}", self.from, self.to);
        if let Some(p) = &self.practice_id {
            query.push_str("&practice=");
            query.push_str(p);
        }
        query
    }
}

/// The practices in scope: every GP practice for admins; those the service serves for a lead.
pub fn practices(conn: &mut DbConnection, scope: &Scope) -> Result<Vec<(String, String)>, AppError> {
    let mut query = organizations::table
        .filter(organizations::kind.eq(OrgKind::GpPractice.as_str()))
        .select((organizations::id, organizations::name))
        .order(organizations::name)
        .into_boxed();
    if let Some(service) = &scope.service_id {
        let served = practice_services::table
            .filter(practice_services::service_id.eq(service.clone()))
            .select(practice_services::practice_id);
        query = query.filter(organizations::id.eq_any(served));
    }
    Ok(query.load(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn field_error(result: Result<Filter, AppError>, field: &str) -> bool {
        matches!(result, Err(AppError::Invalid(errors)) if errors.contains_key(field))
    }

    #[test]
    fn defaults_to_the_last_twelve_months_as_json() {
        let f = Filter::parse(&[], Format::Json).unwrap();
        assert_eq!(f.to, Utc::now().date_naive());
        assert_eq!((f.to - f.from).num_days(), 364);
        assert_eq!(f.format, Format::Json);
    }

    #[test]
    fn bad_ranges_and_formats_name_their_field() {
        assert!(field_error(
            Filter::parse(&pairs(&[("from", "2026-05-01"), ("to", "2026-04-01")]), Format::Json),
            "to"
        ));
        assert!(field_error(
            Filter::parse(&pairs(&[("from", "2006-01-01"), ("to", "2026-01-01")]), Format::Json),
            "from"
        ));
        assert!(field_error(Filter::parse(&pairs(&[("from", "1st May")]), Format::Json), "from"));
        assert!(field_error(Filter::parse(&pairs(&[("format", "xml")]), Format::Json), "format"));
        assert!(field_error(Filter::parse(&pairs(&[("format", "html")]), Format::Json), "format"));
        assert!(field_error(Filter::parse(&pairs(&[("practice", "'; drop table")]), Format::Json), "practice"));
        let f = Filter::parse(&pairs(&[("from", "2021-01-01"), ("to", "2025-12-31"), ("format", "csv")]), Format::Html)
            .unwrap();
        assert_eq!((f.format, f.from.to_string()), (Format::Csv, "2021-01-01".to_string()));
    }
}
