//! Reports for commissioners and link worker leads: what happened to the referrals received in a
//! date range (a cohort), and what link workers searched for and did not find.
//!
//! Every report is one table (so its CSV opens as one sheet in a spreadsheet), a chart drawn from
//! two of its columns, and a sentence saying what it shows. Counts from 1 to 4 that describe
//! people (reasons, equity, outcomes, unmet need by area) are withheld: `null` in JSON, `<5` on
//! pages and in CSV; a mean or median of fewer than 5 people is withheld the same way. Where a
//! table's counts add up to a total a reader knows (the age bands of `equity`), more are withheld
//! so a withheld one cannot be worked out from the rest (`suppression`); those read `*`.

pub mod chart;
pub mod filter;
mod load;
pub mod suppression;
mod tables;

use serde::Serialize;
use serde_json::{Map, Value};

pub use filter::{Filter, Format, Scope};

use crate::accounts::CurrentUser;
use crate::db::DbConnection;
use crate::directory::taxonomy::Taxonomy;
use crate::domain::Thresholds;
use crate::error::AppError;

/// Counts below this that describe people are withheld.
pub const SMALL_NUMBER: i64 = 5;

/// Every report, in the order the overview page shows them: (name, title).
pub const REPORTS: &[(&str, &str)] = &[
    ("referrals-by-month", "Referrals by month"),
    ("first-contact", "Days from referral to first contact"),
    ("outcomes", "Wellbeing change (ONS4 and SWEMWBS)"),
    ("endings", "How referrals ended"),
    ("referrals-by-practice", "Referrals by practice"),
    ("referrals-by-source", "Referrals by source"),
    ("risk-flags", "Risk and safeguarding flags"),
    ("referrals-by-reason", "Referrals by reason"),
    ("referrals-by-status", "Referrals by status now"),
    ("connections-by-asset", "Connections per community asset"),
    ("connections-by-category", "Connections per category"),
    ("group-response", "How fast groups answer introductions"),
    ("choices", "What people chose from their suggestions"),
    ("equity", "Who is referred"),
    ("unmet-need", "Unmet need: searches that found nothing"),
];

/// One value in a report's table.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// A label.
    Text(String),
    /// A count.
    Count(i64),
    /// A measured number (days, a mean, a change), rounded to one decimal place.
    Number(f64),
    /// A share of a whole, in per cent, rounded to one decimal place.
    Percent(f64),
    /// Withheld: fewer than [`SMALL_NUMBER`] people.
    Suppressed,
    /// Withheld so that a withheld count cannot be worked out from the total of its group: it may
    /// be small or not (see [`suppression`]).
    Withheld,
    /// Nothing to show (not recorded, or not known).
    Empty,
}

impl Cell {
    /// A count of people, withheld when from 1 to 4.
    pub fn people(n: i64) -> Cell {
        if n > 0 && n < SMALL_NUMBER {
            Cell::Suppressed
        } else {
            Cell::Count(n)
        }
    }

    /// A figure computed from `n` people, withheld when fewer than 5 (and empty when none).
    pub fn from_people(n: usize, value: Option<f64>) -> Cell {
        match value {
            None => Cell::Empty,
            Some(_) if (n as i64) < SMALL_NUMBER => Cell::Suppressed,
            Some(v) => Cell::Number(round1(v)),
        }
    }

    /// How the cell reads on a page and in CSV.
    pub fn display(&self) -> String {
        match self {
            Cell::Text(t) => t.clone(),
            Cell::Count(n) => n.to_string(),
            Cell::Number(v) => format!("{v:.1}"),
            Cell::Percent(v) => format!("{v:.1}%"),
            Cell::Suppressed => format!("<{SMALL_NUMBER}"),
            Cell::Withheld => "*".to_string(),
            Cell::Empty => String::new(),
        }
    }

    /// The value to draw in a chart (withheld and empty cells draw no bar).
    pub fn value(&self) -> Option<f64> {
        match self {
            Cell::Count(n) => Some(*n as f64),
            Cell::Number(v) | Cell::Percent(v) => Some(*v),
            _ => None,
        }
    }

    fn json(&self) -> Value {
        match self {
            Cell::Text(t) => Value::String(t.clone()),
            Cell::Count(n) => Value::from(*n),
            Cell::Number(v) | Cell::Percent(v) => Value::from(*v),
            Cell::Suppressed | Cell::Withheld | Cell::Empty => Value::Null,
        }
    }
}

/// Rounds to one decimal place.
pub fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// A column: a key for JSON and a label for people.
#[derive(Debug, Clone, Serialize)]
pub struct Column {
    /// Key in JSON rows.
    pub key: &'static str,
    /// Heading on pages and in CSV.
    pub label: &'static str,
}

/// Which columns the chart draws.
#[derive(Debug, Clone)]
pub struct ChartSpec {
    /// Column of the bar labels.
    pub label: usize,
    /// Column of the bar values.
    pub value: usize,
    /// The value axis' title.
    pub axis: &'static str,
}

/// One report, computed.
#[derive(Debug, Clone)]
pub struct Report {
    /// Its name in URLs.
    pub name: &'static str,
    /// Its title.
    pub title: &'static str,
    /// What it shows and how it is counted, in a sentence or two.
    pub about: String,
    /// The columns.
    pub columns: Vec<Column>,
    /// The rows.
    pub rows: Vec<Vec<Cell>>,
    /// The chart, if the report has one.
    pub chart: Option<ChartSpec>,
    /// Headline figures for the overview ("median 3 days").
    pub headline: Vec<(String, String)>,
}

impl Report {
    /// The report as JSON: rows as objects keyed by column.
    pub fn to_json(&self, filter: &Filter) -> Value {
        let rows: Vec<Value> = self
            .rows
            .iter()
            .map(|row| {
                let mut object = Map::new();
                for (column, cell) in self.columns.iter().zip(row) {
                    object.insert(column.key.to_string(), cell.json());
                }
                Value::Object(object)
            })
            .collect();
        serde_json::json!({
            "report": self.name,
            "title": self.title,
            "about": self.about,
            "from": filter.from,
            "to": filter.to,
            "practice_id": filter.practice_id,
            "suppression": format!("counts of people from 1 to {} and figures from fewer than {} people are null, and so are the counts withheld so that those cannot be worked out from a total", SMALL_NUMBER - 1, SMALL_NUMBER),
            "columns": self.columns,
            "rows": rows,
        })
    }

    /// The report as CSV: a heading row, then the rows. Numbers are written as numbers (so a
    /// spreadsheet can sum them), shares without the `%`, withheld values as `<5`.
    pub fn to_csv(&self) -> String {
        let mut out = crate::spreadsheet::line(self.columns.iter().map(|c| c.label));
        for row in &self.rows {
            let cells: Vec<String> = row
                .iter()
                .map(|cell| match cell {
                    Cell::Text(_) | Cell::Suppressed | Cell::Withheld => crate::spreadsheet::field(&cell.display()),
                    Cell::Count(n) => n.to_string(),
                    Cell::Number(v) | Cell::Percent(v) => format!("{v:.1}"),
                    Cell::Empty => String::new(),
                })
                .collect();
            out.push_str(&cells.join(","));
            out.push_str("\r\n");
        }
        out
    }

    /// The chart as an SVG element (labelled axes, a title and a text alternative).
    pub fn svg(&self) -> Option<String> {
        let spec = self.chart.as_ref()?;
        let bars: Vec<chart::Bar> = self
            .rows
            .iter()
            .map(|row| chart::Bar {
                label: row.get(spec.label).map(Cell::display).unwrap_or_default(),
                value: row.get(spec.value).and_then(Cell::value),
                shown: row.get(spec.value).map(Cell::display).unwrap_or_default(),
            })
            .collect();
        let label_heading = self.columns.get(spec.label).map(|c| c.label).unwrap_or("");
        Some(chart::bar_chart(&format!("chart-{}", self.name), self.title, label_heading, spec.axis, &bars))
    }
}

/// The title of a report, if it exists.
pub fn title(name: &str) -> Option<&'static str> {
    REPORTS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// Computes one report for the caller, within what they may see.
pub fn run(
    conn: &mut DbConnection,
    user: &CurrentUser,
    taxonomy: &Taxonomy,
    thresholds: &Thresholds,
    name: &str,
    filter: &Filter,
) -> Result<Report, AppError> {
    let scope = Scope::for_user(user)?;
    let Some(name) = REPORTS.iter().map(|(n, _)| *n).find(|n| *n == name) else {
        let names: Vec<&str> = REPORTS.iter().map(|(n, _)| *n).collect();
        return Err(AppError::not_found(format!("no report called that; the reports are: {}", names.join(", "))));
    };
    filter.check_practice(conn, &scope)?;
    let data = load::Data::load(conn, &scope, filter, name)?;
    Ok(tables::build(name, &data, taxonomy, thresholds))
}

/// Computes every report (the overview page).
pub fn run_all(
    conn: &mut DbConnection,
    user: &CurrentUser,
    taxonomy: &Taxonomy,
    thresholds: &Thresholds,
    filter: &Filter,
) -> Result<Vec<Report>, AppError> {
    let scope = Scope::for_user(user)?;
    filter.check_practice(conn, &scope)?;
    let data = load::Data::load(conn, &scope, filter, "all")?;
    Ok(REPORTS.iter().map(|(name, _)| tables::build(name, &data, taxonomy, thresholds)).collect())
}

/// The practices the caller may filter by: (id, name).
pub fn practices(conn: &mut DbConnection, user: &CurrentUser) -> Result<Vec<(String, String)>, AppError> {
    let scope = Scope::for_user(user)?;
    filter::practices(conn, &scope)
}
