//! Each report's table, counted from the loaded rows. Pure functions of [`Data`], so the
//! counting rules (what is paired, what is withheld) are tested without a database.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{Datelike, NaiveDate};

use super::load::{ConnectionRow, Data};
use super::{Cell, ChartSpec, Column, Report};
use crate::directory::taxonomy::{Taxonomy, Vocabulary};
use crate::domain::measures::{Ons4, Swemwbs};
use crate::domain::referral_status::ReferralStatus;
use crate::domain::Thresholds;

/// Builds the named report.
pub fn build(name: &'static str, data: &Data, taxonomy: &Taxonomy, thresholds: &Thresholds) -> Report {
    let title = super::title(name).unwrap_or(name);
    let mut report = match name {
        "referrals-by-month" => by_month(data),
        "referrals-by-practice" => by_practice(data),
        "referrals-by-source" => by_source(data),
        "risk-flags" => risk_flags(data),
        "referrals-by-reason" => by_reason(data, taxonomy),
        "referrals-by-status" => by_status(data),
        "first-contact" => first_contact(data),
        "endings" => endings(data),
        "outcomes" => outcomes(data),
        "connections-by-asset" => connections_by_asset(data),
        "connections-by-category" => connections_by_category(data, taxonomy),
        "group-response" => group_response(data, thresholds),
        "equity" => equity(data),
        "choices" => choices(data),
        _ => unmet_need(data, taxonomy),
    };
    report.name = name;
    report.title = title;
    report
}

fn columns(list: &[(&'static str, &'static str)]) -> Vec<Column> {
    list.iter().map(|(key, label)| Column { key, label }).collect()
}

fn report(about: &str, cols: &[(&'static str, &'static str)], chart: Option<ChartSpec>) -> Report {
    Report {
        name: "",
        title: "",
        about: about.to_string(),
        columns: columns(cols),
        rows: Vec::new(),
        chart,
        headline: Vec::new(),
    }
}

fn chart(label: usize, value: usize, axis: &'static str) -> Option<ChartSpec> {
    Some(ChartSpec { label, value, axis })
}

/// The `p`th percentile (0-100) by linear interpolation between the nearest ranks.
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = (p / 100.0) * (sorted.len() - 1) as f64;
    let (low, high) = (rank.floor() as usize, rank.ceil() as usize);
    Some(sorted[low] + (sorted[high] - sorted[low]) * (rank - low as f64))
}

fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

fn share(part: i64, whole: i64) -> Cell {
    if whole == 0 {
        Cell::Empty
    } else {
        Cell::Percent(super::round1(100.0 * part as f64 / whole as f64))
    }
}

fn days_between(from: chrono::NaiveDateTime, to: chrono::NaiveDateTime) -> f64 {
    (to - from).num_minutes() as f64 / (24.0 * 60.0)
}

fn status_label(status: &str) -> String {
    let words = status.replace('_', " ");
    let mut chars = words.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

fn by_month(data: &Data) -> Report {
    let mut r = report(
        "Referrals received each month in the range (entered-in-error excluded).",
        &[("month", "Month"), ("referrals", "Referrals")],
        chart(0, 1, "Referrals"),
    );
    let mut counts: BTreeMap<(i32, u32), i64> = BTreeMap::new();
    for referral in &data.referrals {
        *counts.entry((referral.created_at.year(), referral.created_at.month())).or_default() += 1;
    }
    // Every month of the range, the empty ones too, so a gap shows as a gap.
    if let (Some(first), Some(last)) = (data.referrals.first(), data.referrals.last()) {
        let (mut year, mut month) = (first.created_at.year(), first.created_at.month());
        let end = (last.created_at.year(), last.created_at.month());
        while (year, month) <= end {
            let n = counts.get(&(year, month)).copied().unwrap_or(0);
            let label = NaiveDate::from_ymd_opt(year, month, 1).map(|d| d.format("%b %Y").to_string());
            r.rows.push(vec![Cell::Text(label.unwrap_or_default()), Cell::Count(n)]);
            (year, month) = if month == 12 { (year + 1, 1) } else { (year, month + 1) };
        }
    }
    r.headline.push(("Referrals".into(), data.referrals.len().to_string()));
    r
}

fn by_practice(data: &Data) -> Report {
    let mut r = report(
        "Referrals received from each practice in the range.",
        &[("practice", "Practice"), ("referrals", "Referrals"), ("share", "Share of referrals")],
        chart(0, 1, "Referrals"),
    );
    let mut counts: HashMap<&str, i64> = HashMap::new();
    for referral in &data.referrals {
        *counts.entry(referral.practice_id.as_str()).or_default() += 1;
    }
    let total = data.referrals.len() as i64;
    let mut rows: Vec<(String, i64)> = counts
        .into_iter()
        .map(|(id, n)| (data.practice_names.get(id).cloned().unwrap_or_else(|| id.to_string()), n))
        .collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    r.rows = rows.into_iter().map(|(name, n)| vec![Cell::Text(name), Cell::Count(n), share(n, total)]).collect();
    r
}

/// Where referrals came from: each kind of source (GP practice, an agency, the person
/// themselves) and each referring organisation. Organisations, not people: nothing withheld.
fn by_source(data: &Data) -> Report {
    let mut r = report(
        "Referrals received from each kind of source and each referring organisation in the range.",
        &[
            ("source", "Source"),
            ("organisation", "Organisation"),
            ("referrals", "Referrals"),
            ("share", "Share of referrals"),
        ],
        chart(1, 2, "Referrals"),
    );
    let mut counts: HashMap<(&str, &str), i64> = HashMap::new();
    for referral in &data.referrals {
        *counts.entry((referral.source_kind.as_str(), referral.practice_id.as_str())).or_default() += 1;
    }
    let total = data.referrals.len() as i64;
    let mut rows: Vec<(String, String, i64)> = counts
        .into_iter()
        .map(|((kind, id), n)| {
            let label = crate::referrals::view::source_label(kind);
            (label, data.practice_names.get(id).cloned().unwrap_or_else(|| id.to_string()), n)
        })
        .collect();
    rows.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)).then(a.1.cmp(&b.1)));
    let mut kinds: BTreeMap<String, i64> = BTreeMap::new();
    for (kind, _, n) in &rows {
        *kinds.entry(kind.clone()).or_default() += n;
    }
    r.rows = rows
        .into_iter()
        .map(|(kind, name, n)| vec![Cell::Text(kind), Cell::Text(name), Cell::Count(n), share(n, total)])
        .collect();
    for (kind, n) in kinds {
        r.headline.push((kind, n.to_string()));
    }
    r
}

/// How many people in the cohort carry each flag: counts only, never who; 1 to 4 withheld.
fn risk_flags(data: &Data) -> Report {
    let mut r = report(
        "People referred in the range with each risk or safeguarding flag (a person with two flags counts under each). Counts under 5 are withheld.",
        &[("flag", "Flag"), ("people", "People")],
        chart(0, 1, "People"),
    );
    let mut people: BTreeMap<&str, HashSet<&str>> = BTreeMap::new();
    for (referral, kind) in &data.flags {
        people.entry(kind.as_str()).or_default().insert(referral.as_str());
    }
    for (kind, label) in crate::referrals::risk_flags::KINDS {
        let n = people.get(kind).map_or(0, |p| p.len() as i64);
        r.rows.push(vec![Cell::Text(label.to_string()), Cell::people(n)]);
    }
    let flagged: HashSet<&str> = data.flags.iter().map(|(r, _)| r.as_str()).collect();
    r.headline.push(("People with a flag".into(), Cell::people(flagged.len() as i64).display()));
    r
}

fn by_reason(data: &Data, taxonomy: &Taxonomy) -> Report {
    let mut r = report(
        "Why people were referred: a referral with two reasons counts under each. Counts under 5 are withheld.",
        &[("reason", "Reason"), ("referrals", "Referrals")],
        chart(0, 1, "Referrals"),
    );
    let mut counts: HashMap<&str, i64> = HashMap::new();
    for (_, term) in &data.reasons {
        *counts.entry(term.as_str()).or_default() += 1;
    }
    let mut rows: Vec<(String, i64)> = counts
        .into_iter()
        .map(|(id, n)| (taxonomy.by_id(id).map(|t| t.name.clone()).unwrap_or_else(|| "Other".into()), n))
        .collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    r.rows = rows.into_iter().map(|(name, n)| vec![Cell::Text(name), Cell::people(n)]).collect();
    r
}

fn by_status(data: &Data) -> Report {
    let mut r = report(
        "Where the referrals received in the range are now.",
        &[("status", "Status"), ("referrals", "Referrals")],
        chart(0, 1, "Referrals"),
    );
    for status in ReferralStatus::ALL.into_iter().filter(|s| *s != ReferralStatus::EnteredInError) {
        let n = data.referrals.iter().filter(|r| r.status == status.as_str()).count() as i64;
        r.rows.push(vec![Cell::Text(status_label(status.as_str())), Cell::Count(n)]);
    }
    r
}

fn first_contact(data: &Data) -> Report {
    let mut r = report(
        "Days from the referral to the first contact with the person, for those contacted. \
         A median from fewer than 5 people is withheld.",
        &[
            ("practice", "Practice"),
            ("referrals", "Referrals"),
            ("contacted", "Contacted"),
            ("median_days", "Median days"),
            ("p90_days", "90th percentile days"),
        ],
        chart(0, 3, "Median days to first contact"),
    );
    let row = |name: String, referrals: Vec<&super::load::ReferralRow>| {
        let days: Vec<f64> = referrals
            .iter()
            .filter_map(|r| r.first_contact_at.map(|at| days_between(r.created_at, at).max(0.0)))
            .collect();
        vec![
            Cell::Text(name),
            Cell::Count(referrals.len() as i64),
            Cell::Count(days.len() as i64),
            Cell::from_people(days.len(), percentile(&days, 50.0)),
            Cell::from_people(days.len(), percentile(&days, 90.0)),
        ]
    };
    let all = row("All practices".into(), data.referrals.iter().collect());
    r.headline.push(("Median days to first contact".into(), all[3].display()));
    r.headline.push(("90% first contacted within (days)".into(), all[4].display()));
    r.rows.push(all);
    let mut by_practice: BTreeMap<String, Vec<&super::load::ReferralRow>> = BTreeMap::new();
    for referral in &data.referrals {
        let name = data.practice_names.get(&referral.practice_id).cloned().unwrap_or_default();
        by_practice.entry(name).or_default().push(referral);
    }
    for (name, referrals) in by_practice {
        r.rows.push(row(name, referrals));
    }
    r
}

fn endings(data: &Data) -> Report {
    let mut r = report(
        "How the referrals received in the range ended; shares are of those that have ended.",
        &[("outcome", "Outcome"), ("referrals", "Referrals"), ("share_of_ended", "Share of ended")],
        chart(0, 2, "Share of ended referrals (%)"),
    );
    use ReferralStatus::{Cancelled, Completed, Declined, Rejected, UnableToContact};
    let ended = [Completed, Declined, UnableToContact, Rejected, Cancelled].map(ReferralStatus::as_str);
    let count = |status: &str| data.referrals.iter().filter(|r| r.status == status).count() as i64;
    let total_ended: i64 = ended.iter().map(|s| count(s)).sum();
    for status in ended {
        let n = count(status);
        r.rows.push(vec![Cell::Text(status_label(status)), Cell::Count(n), share(n, total_ended)]);
        if status == Completed.as_str() {
            r.headline.push(("Completed".into(), share(n, total_ended).display()));
        }
    }
    let open = data.referrals.len() as i64 - total_ended;
    r.rows.push(vec![Cell::Text("Still open".into()), Cell::Count(open), Cell::Empty]);
    r
}

/// The first baseline and the last follow-up of one instrument for each referral that has both.
fn paired<'a>(data: &'a Data, instrument: &str) -> Vec<(&'a str, &'a str)> {
    let mut baseline: HashMap<&str, &str> = HashMap::new();
    let mut follow_up: HashMap<&str, &str> = HashMap::new();
    // Rows are in time order: keep the first baseline, overwrite to the last follow-up.
    for m in data.measures.iter().filter(|m| m.instrument == instrument) {
        match m.timepoint.as_str() {
            "baseline" => {
                baseline.entry(m.referral_id.as_str()).or_insert(m.answers.as_str());
            }
            "follow_up" => {
                follow_up.insert(m.referral_id.as_str(), m.answers.as_str());
            }
            _ => {}
        }
    }
    let mut pairs: Vec<(&str, &str)> =
        baseline.iter().filter_map(|(id, b)| follow_up.get(id).map(|f| (*b, *f))).collect();
    pairs.sort();
    pairs
}

fn answers(text: &str) -> Vec<i64> {
    text.split(',').filter_map(|a| a.trim().parse().ok()).collect()
}

fn outcomes(data: &Data) -> Report {
    let mut r = report(
        "Change in wellbeing for people measured at the start and again later (only paired measures: \
         the first baseline and the last follow-up). ONS4 items are 0-10 and never summed; for anxiety a \
         fall is an improvement. SWEMWBS is the metric score (7-35). Figures from fewer than 5 people are withheld.",
        &[
            ("measure", "Measure"),
            ("people", "People (paired)"),
            ("mean_start", "Mean at start"),
            ("mean_follow_up", "Mean at follow-up"),
            ("mean_change", "Mean change"),
        ],
        chart(0, 4, "Mean change (follow-up minus start)"),
    );
    let ons4: Vec<(Ons4, Ons4)> = paired(data, "ons4")
        .into_iter()
        .filter_map(|(b, f)| Some((Ons4::from_answers(&answers(b)).ok()?, Ons4::from_answers(&answers(f)).ok()?)))
        .collect();
    let labels = ["ONS4 life satisfaction", "ONS4 worthwhile", "ONS4 happy yesterday", "ONS4 anxious yesterday"];
    for (item, label) in labels.into_iter().enumerate() {
        let start: Vec<f64> = ons4.iter().map(|(b, _)| f64::from(b.answers()[item])).collect();
        let end: Vec<f64> = ons4.iter().map(|(_, f)| f64::from(f.answers()[item])).collect();
        let change: Vec<f64> = ons4.iter().map(|(b, f)| f64::from(f.change_from(b)[item])).collect();
        let n = ons4.len();
        let row = vec![
            Cell::Text(label.into()),
            Cell::people(n as i64),
            Cell::from_people(n, mean(&start)),
            Cell::from_people(n, mean(&end)),
            Cell::from_people(n, mean(&change)),
        ];
        if item == 0 {
            r.headline.push(("Life satisfaction change".into(), signed(&row[4])));
            r.headline.push(("People measured twice".into(), row[1].display()));
        }
        r.rows.push(row);
    }
    let swemwbs: Vec<(f64, f64)> = paired(data, "swemwbs")
        .into_iter()
        .filter_map(|(b, f)| {
            Some((Swemwbs::from_answers(&answers(b)).ok()?.metric, Swemwbs::from_answers(&answers(f)).ok()?.metric))
        })
        .collect();
    let n = swemwbs.len();
    let start: Vec<f64> = swemwbs.iter().map(|p| p.0).collect();
    let end: Vec<f64> = swemwbs.iter().map(|p| p.1).collect();
    let change: Vec<f64> = swemwbs.iter().map(|p| p.1 - p.0).collect();
    r.rows.push(vec![
        Cell::Text("SWEMWBS metric score".into()),
        Cell::people(n as i64),
        Cell::from_people(n, mean(&start)),
        Cell::from_people(n, mean(&end)),
        Cell::from_people(n, mean(&change)),
    ]);
    r
}

fn signed(cell: &Cell) -> String {
    match cell {
        Cell::Number(v) if *v > 0.0 => format!("+{v:.1}"),
        other => other.display(),
    }
}

/// Connection statuses as report columns, in the order a group answers.
const ANSWERS: [(&str, &str); 6] = [
    ("introduced", "Awaiting answer"),
    ("accepted", "Accepted"),
    ("waitlisted", "Waitlisted"),
    ("declined", "Declined"),
    ("attended", "Attended"),
    ("did_not_attend", "Did not attend"),
];

fn answer_cells(connections: &[&ConnectionRow]) -> Vec<Cell> {
    let mut cells = vec![Cell::Count(connections.len() as i64)];
    for (status, _) in ANSWERS {
        cells.push(Cell::Count(connections.iter().filter(|c| c.status == status).count() as i64));
    }
    cells
}

fn answer_columns(first: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut cols = first.to_vec();
    cols.push(("connections", "Connections"));
    cols.extend(ANSWERS.iter().map(|(k, l)| (*k, *l)));
    cols
}

fn connections_by_asset(data: &Data) -> Report {
    let cols = answer_columns(&[("asset", "Community asset"), ("organisation", "Organisation")]);
    let mut r = report(
        "Connections link workers made to each listing for the referrals in the range, and where each stands now.",
        &cols,
        chart(0, 2, "Connections"),
    );
    let mut by_service: BTreeMap<(&str, &str), Vec<&ConnectionRow>> = BTreeMap::new();
    for c in &data.connections {
        by_service.entry((c.service_name.as_str(), c.organisation_name.as_str())).or_default().push(c);
    }
    let mut rows: Vec<Vec<Cell>> = by_service
        .into_iter()
        .map(|((service, org), list)| {
            let mut row = vec![Cell::Text(service.into()), Cell::Text(org.into())];
            row.extend(answer_cells(&list));
            row
        })
        .collect();
    rows.sort_by(|a, b| b[2].value().partial_cmp(&a[2].value()).unwrap_or(std::cmp::Ordering::Equal));
    r.rows = rows;
    r.headline.push(("Connections".into(), data.connections.len().to_string()));
    r
}

fn connections_by_category(data: &Data, taxonomy: &Taxonomy) -> Report {
    let cols = answer_columns(&[("category", "Category")]);
    let mut r = report(
        "Connections by the top-level category of the listing connected to (a listing in two categories counts \
         under each).",
        &cols,
        chart(0, 1, "Connections"),
    );
    let mut categories: HashMap<&str, HashSet<String>> = HashMap::new();
    for (service, term) in &data.service_terms {
        let Some(mut t) = taxonomy.by_id(term).filter(|t| t.vocabulary == Vocabulary::Category.as_str()) else {
            continue;
        };
        while let Some(parent) = taxonomy.parent(t) {
            t = parent;
        }
        categories.entry(service.as_str()).or_default().insert(t.name.clone());
    }
    let mut by_category: BTreeMap<String, Vec<&ConnectionRow>> = BTreeMap::new();
    for c in &data.connections {
        for name in categories.get(c.service_id.as_str()).into_iter().flatten() {
            by_category.entry(name.clone()).or_default().push(c);
        }
    }
    let mut rows: Vec<Vec<Cell>> = by_category
        .into_iter()
        .map(|(name, list)| {
            let mut row = vec![Cell::Text(name)];
            row.extend(answer_cells(&list));
            row
        })
        .collect();
    rows.sort_by(|a, b| b[1].value().partial_cmp(&a[1].value()).unwrap_or(std::cmp::Ordering::Equal));
    r.rows = rows;
    r
}

fn group_response(data: &Data, thresholds: &Thresholds) -> Report {
    let mut r = report(
        &format!(
            "Days from a link worker's introduction to the group's first answer, per organisation; \
             \"waiting too long\" counts introductions unanswered for more than {} days.",
            thresholds.introduction_days
        ),
        &[
            ("organisation", "Organisation"),
            ("introductions", "Introductions"),
            ("answered", "Answered"),
            ("median_days", "Median days to answer"),
            ("p90_days", "90th percentile days"),
            ("waiting_too_long", "Waiting too long"),
        ],
        chart(0, 3, "Median days to answer"),
    );
    // Keyed by name then id: sorted by name, and two organisations of one name kept apart.
    let mut by_org: BTreeMap<(&str, &str), Vec<&ConnectionRow>> = BTreeMap::new();
    for c in data.connections.iter().filter(|c| c.introduced_at.is_some()) {
        by_org.entry((c.organisation_name.as_str(), c.organisation_id.as_str())).or_default().push(c);
    }
    let mut all_days = Vec::new();
    for ((org, _), list) in by_org {
        let days: Vec<f64> =
            list.iter().filter_map(|c| Some(days_between(c.introduced_at?, c.answered_at?).max(0.0))).collect();
        let waiting = list
            .iter()
            .filter(|c| {
                c.status == "introduced"
                    && c.introduced_at
                        .is_some_and(|at| days_between(at, data.now) > thresholds.introduction_days as f64)
            })
            .count();
        r.rows.push(vec![
            Cell::Text(org.into()),
            Cell::Count(list.len() as i64),
            Cell::Count(days.len() as i64),
            percentile(&days, 50.0).map_or(Cell::Empty, |v| Cell::Number(super::round1(v))),
            percentile(&days, 90.0).map_or(Cell::Empty, |v| Cell::Number(super::round1(v))),
            Cell::Count(waiting as i64),
        ]);
        all_days.extend(days);
    }
    if let Some(median) = percentile(&all_days, 50.0) {
        r.headline.push(("Median days for a group to answer".into(), format!("{median:.1}")));
    }
    r
}

/// Age bands as NHS reports use them.
const AGE_BANDS: [(u32, u32, &str); 9] = [
    (0, 17, "Under 18"),
    (18, 24, "18-24"),
    (25, 34, "25-34"),
    (35, 44, "35-44"),
    (45, 54, "45-54"),
    (55, 64, "55-64"),
    (65, 74, "65-74"),
    (75, 84, "75-84"),
    (85, 200, "85 and over"),
];

/// What people said on their own page about the suggestions made to them: how many answered,
/// how many wanted to try, and why the rest were "not for me" (no identities; small numbers
/// withheld, and a share with them).
fn choices(data: &Data) -> Report {
    let mut r = report(
        "Suggestions link workers made for the referrals in the range, and what the people answered on their own page.",
        &[("what", "What"), ("count", "Suggestions"), ("share", "Share of those answered")],
        chart(0, 1, "Suggestions"),
    );
    let count = |choice: &str| data.connections.iter().filter(|c| c.person_choice.as_deref() == Some(choice)).count();
    let answered = data.connections.iter().filter(|c| c.person_choice.is_some()).count() as i64;
    let people_share = |n: i64| match Cell::people(n) {
        Cell::Suppressed => Cell::Suppressed,
        _ => share(n, answered),
    };
    let (tried, not_for_me) = (count("try") as i64, count("not_for_me") as i64);
    r.rows.push(vec![Cell::Text("Suggested".into()), Cell::people(data.connections.len() as i64), Cell::Empty]);
    r.rows.push(vec![Cell::Text("Answered by the person".into()), Cell::people(answered), Cell::Empty]);
    r.rows.push(vec![Cell::Text("I'd like to try this".into()), Cell::people(tried), people_share(tried)]);
    r.rows.push(vec![Cell::Text("Not for me".into()), Cell::people(not_for_me), people_share(not_for_me)]);
    for (code, words) in crate::person::page::NOT_FOR_ME_REASONS {
        let n = data
            .connections
            .iter()
            .filter(|c| c.person_choice.as_deref() == Some("not_for_me") && c.person_reason.as_deref() == Some(code))
            .count() as i64;
        r.rows.push(vec![
            Cell::Text(format!("Not for me: {}", words.to_lowercase())),
            Cell::people(n),
            people_share(n),
        ]);
    }
    r.headline.push((
        "Answered".into(),
        if answered < super::SMALL_NUMBER && answered > 0 { "<5".into() } else { answered.to_string() },
    ));
    r
}

fn equity(data: &Data) -> Report {
    let mut r = report(
        "Who is referred: age at referral, sex and ethnicity where recorded. Counts under 5 are withheld, and \
         so is the next smallest count of the same dimension where needed (shown *), so a withheld count cannot \
         be worked out from the total. Practice population profiles are not loaded yet, so there is no \
         comparison column.",
        &[("dimension", "Dimension"), ("group", "Group"), ("referrals", "Referrals"), ("share", "Share")],
        chart(1, 2, "Referrals"),
    );
    let total = data.referrals.len() as i64;
    // Each dimension's groups add up to the total, so each is protected as one group.
    let push = |r: &mut Report, dimension: &str, groups: Vec<(String, i64)>| {
        let first = r.rows.len();
        let counts: Vec<i64> = groups.iter().map(|(_, n)| *n).collect();
        for (group, n) in groups {
            r.rows.push(vec![Cell::Text(dimension.into()), Cell::Text(group), Cell::Count(n), share(n, total)]);
        }
        let rows: Vec<usize> = (first..r.rows.len()).collect();
        super::suppression::protect(&mut r.rows, &rows, &counts, 2, &[3]);
    };
    let ages = AGE_BANDS
        .iter()
        .map(|(low, high, label)| {
            let n = data
                .referrals
                .iter()
                .filter(|p| {
                    let age = p.created_at.date().years_since(p.date_of_birth).unwrap_or(0);
                    (*low..=*high).contains(&age)
                })
                .count() as i64;
            (format!("Age {label}"), n)
        })
        .collect();
    push(&mut r, "Age", ages);
    let tally = |r: &mut Report, dimension: &str, value: fn(&super::load::ReferralRow) -> Option<&String>| {
        let mut counts: BTreeMap<String, i64> = BTreeMap::new();
        for p in &data.referrals {
            let key = value(p).filter(|v| !v.trim().is_empty()).map(|v| status_label(v));
            *counts.entry(key.unwrap_or_else(|| "Not recorded".into())).or_default() += 1;
        }
        push(r, dimension, counts.into_iter().map(|(group, n)| (format!("{dimension}: {group}"), n)).collect());
    };
    tally(&mut r, "Sex", |p| p.sex.as_ref());
    tally(&mut r, "Ethnicity", |p| p.ethnicity.as_ref());
    r
}

fn unmet_need(data: &Data, taxonomy: &Taxonomy) -> Report {
    let mut r = report(
        "Searches link workers made inside referrals that found nothing within the radius, by category and area \
         (postcode district). Searches never record the person; counts under 5 are withheld, and searches by \
         words alone are shown by their words only when 5 or more found nothing. Searches are not tied to a \
         practice, so the practice filter does not apply here.",
        &[
            ("category", "Looking for"),
            ("area", "Area"),
            ("found_nothing", "Searches that found nothing"),
            ("searches", "Searches in all"),
        ],
        chart(0, 2, "Searches that found nothing"),
    );
    // (what, area) -> (found nothing, all)
    let mut counts: BTreeMap<(String, String), (i64, i64)> = BTreeMap::new();
    for search in &data.searches {
        let area = search.outward_code.clone().unwrap_or_else(|| "Unknown".into());
        let mut what: Vec<String> = search
            .categories
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|slug| taxonomy.by_slug(Vocabulary::Category, slug).map(|t| t.name.clone()).unwrap_or(slug.into()))
            .collect();
        if what.is_empty() {
            what.push(format!("“{}”", search.query.trim().to_lowercase()));
        }
        for w in what {
            let entry = counts.entry((w, area.clone())).or_default();
            entry.1 += 1;
            if search.results == 0 {
                entry.0 += 1;
            }
        }
    }
    let mut other = (0i64, 0i64);
    let mut rows: Vec<(String, String, i64, i64)> = Vec::new();
    for ((what, area), (nothing, all)) in counts {
        if nothing == 0 {
            continue;
        }
        if what.starts_with('“') && nothing < super::SMALL_NUMBER {
            other.0 += nothing;
            other.1 += all;
        } else {
            rows.push((what, area, nothing, all));
        }
    }
    if other.0 > 0 {
        rows.push(("Other searches by words".into(), "Any".into(), other.0, other.1));
    }
    rows.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)).then(a.1.cmp(&b.1)));
    let found_nothing: i64 = rows.iter().map(|r| r.2).sum();
    r.headline.push(("Searches that found nothing".into(), Cell::people(found_nothing).display()));
    let nothing: Vec<i64> = rows.iter().map(|r| r.2).collect();
    r.rows = rows
        .into_iter()
        .map(|(what, area, nothing, all)| {
            vec![Cell::Text(what), Cell::Text(area), Cell::people(nothing), Cell::people(all)]
        })
        .collect();
    // The rows add up to the headline: protect the withheld ones from it.
    let every: Vec<usize> = (0..r.rows.len()).collect();
    super::suppression::protect(&mut r.rows, &every, &nothing, 2, &[]);
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::load::{MeasureRow, ReferralRow, SearchRow};

    fn at(day: u32) -> chrono::NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 3, day).unwrap().and_hms_opt(9, 0, 0).unwrap()
    }

    fn referral(id: &str, day: u32, contact_after_days: Option<i64>) -> ReferralRow {
        ReferralRow {
            id: id.into(),
            practice_id: "p".into(),
            status: "in_progress".into(),
            created_at: at(day),
            first_contact_at: contact_after_days.map(|d| at(day) + chrono::Duration::days(d)),
            date_of_birth: NaiveDate::from_ymd_opt(1950, 6, 1).unwrap(),
            sex: Some("female".into()),
            ethnicity: None,
            source_kind: "gp_practice".into(),
        }
    }

    #[test]
    fn referrals_by_source_counts_each_kind_and_organisation() {
        let mut data = Data::default();
        for (i, (kind, org)) in
            [("gp_practice", "p"), ("housing", "h"), ("housing", "h"), ("the_public", "self")].iter().enumerate()
        {
            let mut row = referral(&format!("r{i}"), 1, None);
            row.source_kind = kind.to_string();
            row.practice_id = org.to_string();
            data.referrals.push(row);
        }
        data.practice_names.insert("h".into(), "Stroud Housing".into());
        let r = by_source(&data);
        assert_eq!(r.rows[0][0], Cell::Text("Housing".into()));
        assert_eq!(r.rows[0][1], Cell::Text("Stroud Housing".into()));
        assert_eq!(r.rows[0][2], Cell::Count(2));
        assert!(r.rows.iter().any(|row| row[0] == Cell::Text("Self-referral".into()) && row[2] == Cell::Count(1)));
        assert!(r.headline.contains(&("GP practice".to_string(), "1".to_string())));
    }

    fn measure(id: &str, timepoint: &str, answers: &str) -> MeasureRow {
        MeasureRow {
            referral_id: id.into(),
            instrument: "ons4".into(),
            timepoint: timepoint.into(),
            answers: answers.into(),
        }
    }

    #[test]
    fn percentiles_interpolate_between_ranks() {
        assert_eq!(percentile(&[], 50.0), None);
        assert_eq!(percentile(&[3.0], 90.0), Some(3.0));
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 50.0), Some(2.5));
        let ten: Vec<f64> = (1..=10).map(f64::from).collect();
        assert!((percentile(&ten, 90.0).unwrap() - 9.1).abs() < 1e-9);
    }

    #[test]
    fn first_contact_withholds_a_median_of_fewer_than_five() {
        let mut data = Data {
            referrals: (1..=4).map(|i| referral(&format!("r{i}"), i, Some(i64::from(i)))).collect(),
            ..Data::default()
        };
        let r = first_contact(&data);
        assert_eq!(r.rows[0][3], Cell::Suppressed);
        data.referrals.push(referral("r5", 5, Some(10)));
        data.referrals.push(referral("r6", 6, None));
        let r = first_contact(&data);
        assert_eq!(r.rows[0][1], Cell::Count(6));
        assert_eq!(r.rows[0][2], Cell::Count(5));
        assert_eq!(r.rows[0][3], Cell::Number(3.0), "median of 1,2,3,4,10 days");
    }

    #[test]
    fn outcomes_count_only_paired_measures_first_baseline_last_follow_up() {
        let mut data = Data::default();
        for i in 0..5 {
            let id = format!("r{i}");
            data.measures.push(measure(&id, "baseline", "4,4,4,8"));
            data.measures.push(measure(&id, "baseline", "9,9,9,0")); // a second baseline is ignored
            data.measures.push(measure(&id, "follow_up", "5,5,5,7"));
            data.measures.push(measure(&id, "follow_up", "6,6,6,6")); // the last follow-up counts
        }
        data.measures.push(measure("unpaired", "baseline", "0,0,0,10"));
        let r = outcomes(&data);
        assert_eq!(r.rows[0][1], Cell::Count(5));
        assert_eq!(r.rows[0][2], Cell::Number(4.0));
        assert_eq!(r.rows[0][4], Cell::Number(2.0));
        assert_eq!(r.rows[3][4], Cell::Number(-2.0), "anxiety fell by 2");
        assert_eq!(r.rows[4][1], Cell::Count(0), "no SWEMWBS pairs");
        data.measures.retain(|m| m.referral_id != "r4");
        let r = outcomes(&data);
        assert_eq!((r.rows[0][1].clone(), r.rows[0][4].clone()), (Cell::Suppressed, Cell::Suppressed));
    }

    #[test]
    fn unmet_need_counts_empty_searches_by_category_and_area_and_hides_rare_words() {
        let taxonomy = Taxonomy::default();
        let search = |categories: &str, query: &str, area: &str, results: i32| SearchRow {
            query: query.into(),
            categories: categories.into(),
            outward_code: Some(area.into()),
            results,
        };
        let mut data = Data::default();
        for _ in 0..6 {
            data.searches.push(search("men-s-sheds", "", "GL11", 0));
        }
        data.searches.push(search("men-s-sheds", "", "GL11", 3));
        data.searches.push(search("", "Pottery for my neighbour Mrs Smith", "GL5", 0));
        let r = unmet_need(&data, &taxonomy);
        assert_eq!(r.rows.len(), 2);
        assert_eq!(r.rows[0][1], Cell::Text("GL11".into()));
        // The 6 is withheld too: the headline (7) less 6 would give the 1 away.
        assert_eq!((r.rows[0][2].clone(), r.rows[0][3].clone()), (Cell::Withheld, Cell::Count(7)));
        assert_eq!(r.rows[1][0], Cell::Text("Other searches by words".into()));
        assert_eq!(r.rows[1][2], Cell::Withheld);
        assert_eq!(r.headline[0].1, "7");
        let text: String = r.rows.iter().flatten().map(Cell::display).collect();
        assert!(!text.contains("Smith"), "words typed in a single search are never shown");
    }

    #[test]
    fn equity_withholds_small_groups_and_their_share() {
        let mut data =
            Data { referrals: (1..=6).map(|i| referral(&format!("r{i}"), i, None)).collect(), ..Data::default() };
        data.referrals[0].sex = Some("male".into());
        let r = equity(&data);
        let row = |group: &str| r.rows.iter().find(|row| row[1] == Cell::Text(group.into())).unwrap().clone();
        assert_eq!(row("Age 75-84")[2], Cell::Count(6));
        // Female (5) is withheld with Male (1): 6 referrals less 5 would give the 1 away.
        assert_eq!((row("Sex: Female")[2].clone(), row("Sex: Female")[3].clone()), (Cell::Withheld, Cell::Withheld));
        assert_eq!((row("Sex: Male")[2].clone(), row("Sex: Male")[3].clone()), (Cell::Withheld, Cell::Withheld));
        assert_eq!(row("Ethnicity: Not recorded")[2], Cell::Count(6));
    }

    /// What a reader can work out: in each dimension the counts add up to the referrals in the
    /// range (which other reports show), so a lone withheld count is the total less the rest, and
    /// a share gives its count away the same way.
    fn worked_out(r: &Report, total: i64) -> Vec<(String, i64)> {
        let mut found = Vec::new();
        for dimension in ["Age", "Sex", "Ethnicity"] {
            let rows: Vec<&Vec<Cell>> = r.rows.iter().filter(|row| row[0] == Cell::Text(dimension.into())).collect();
            let hidden: Vec<&&Vec<Cell>> = rows.iter().filter(|row| row[2].value().is_none()).collect();
            let shown: i64 = rows.iter().filter_map(|row| row[2].value()).map(|v| v as i64).sum();
            let rest = total - shown;
            // One withheld: it is the rest. Several, all ones or all fours of "<5": each is known.
            let all_small = hidden.iter().all(|row| row[2] == Cell::Suppressed);
            let k = hidden.len() as i64;
            if k == 1 || (k > 1 && (rest == k || (all_small && rest == 4 * k))) {
                for row in hidden {
                    found.push((row[1].display(), rest / k));
                }
            }
            for row in &rows {
                if let (None, Cell::Percent(p)) = (row[2].value(), &row[3]) {
                    found.push((row[1].display(), (p * total as f64 / 100.0).round() as i64));
                }
            }
        }
        found
    }

    #[test]
    fn equity_age_bands_do_not_give_a_withheld_band_away_through_the_total() {
        // 20 referrals: 17 aged 75-84 and 3 teenagers. Sex is recorded for all, so the total (20)
        // is in the table; before secondary suppression the "<5" under-18 band was 20 - 17 = 3.
        let mut data =
            Data { referrals: (1..=20).map(|i| referral(&format!("r{i}"), i, None)).collect(), ..Data::default() };
        for p in &mut data.referrals[..3] {
            p.date_of_birth = NaiveDate::from_ymd_opt(2010, 6, 1).unwrap();
        }
        data.referrals[3].ethnicity = Some("white_british".into());
        let r = equity(&data);
        let total: i64 = r
            .rows
            .iter()
            .filter(|row| row[0] == Cell::Text("Sex".into()))
            .filter_map(|row| row[2].value())
            .map(|v| v as i64)
            .sum();
        assert_eq!(total, 20, "the total is there to read");
        assert_eq!(worked_out(&r, total), Vec::<(String, i64)>::new(), "{:?}", r.rows);
        let row = |group: &str| r.rows.iter().find(|row| row[1] == Cell::Text(group.into())).unwrap().clone();
        assert_eq!(row("Age Under 18")[2], Cell::Withheld);
        assert_eq!(row("Age 75-84")[2], Cell::Withheld);
        assert_eq!(row("Age 25-34")[2], Cell::Count(0), "a zero says nothing and stays");
        assert_eq!(row("Ethnicity: Not recorded")[2], Cell::Withheld, "19 withheld to protect the 1");
    }
}
