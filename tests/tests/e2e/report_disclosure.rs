//! Reports that cannot re-identify: a count withheld for being small cannot be worked out from
//! the total of its group in the same table (secondary suppression).

use backend::db::schema::referrals;
use chrono::NaiveDate;
use diesel::prelude::*;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, DEMO_PASSWORD};
use crate::referrals::{create, referral_body, ADMIN, GP};

const MARCH_2020: &str = "from=2020-03-01&to=2020-03-31";

/// What a reader works out from a dimension of `equity`: its counts add up to the referrals in
/// the range, so a lone withheld count is the total less the rest.
fn lone_withheld(report: &Value, dimension: &str, total: i64) -> Option<(String, i64)> {
    let rows: Vec<&Value> = report["rows"].as_array().unwrap().iter().filter(|r| r["dimension"] == dimension).collect();
    let hidden: Vec<&&Value> = rows.iter().filter(|r| r["referrals"].is_null()).collect();
    let shown: i64 = rows.iter().filter_map(|r| r["referrals"].as_i64()).sum();
    (hidden.len() == 1).then(|| (hidden[0]["group"].as_str().unwrap().to_string(), total - shown))
}

#[test]
fn equity_does_not_give_a_withheld_age_band_away_through_the_total() {
    let app = spawn_app();
    let gp = app.login(GP, DEMO_PASSWORD);
    let admin = app.login(ADMIN, DEMO_PASSWORD);
    // A cohort made to expose it: eight referrals in March 2020, six people in their sixties and
    // two aged 20. The old report showed 65-74 as 6 and 18-24 as "<5": 8 - 6 = 2.
    let mut conn = app.db();
    for i in 0..8u32 {
        let mut body = referral_body();
        body["nhs_number"] = json!(["999 000 0018", "999 000 0026", "999 000 0034", "999 000 0042"][i as usize % 4]);
        let id = create(&app, &gp, &body);
        let day = NaiveDate::from_ymd_opt(2020, 3, 2 + i).unwrap().and_hms_opt(10, 0, 0).unwrap();
        let born = if i < 2 { NaiveDate::from_ymd_opt(2000, 1, 1) } else { NaiveDate::from_ymd_opt(1954, 1, 1) };
        diesel::update(referrals::table.find(&id))
            .set((referrals::created_at.eq(day), referrals::date_of_birth.eq(born.unwrap())))
            .execute(&mut conn)
            .unwrap();
    }
    let get = |path: &str| {
        let answer = app.call("GET", path, Some(&admin), None);
        assert_eq!(answer.status, 200, "{path}: {}", answer.body);
        answer
    };
    let by_month = get(&format!("/api/v1/reports/referrals-by-month?{MARCH_2020}")).json();
    let total: i64 = by_month["rows"].as_array().unwrap().iter().map(|r| r["referrals"].as_i64().unwrap()).sum();
    assert_eq!(total, 8, "the total is there for anyone with the reports to read");

    let equity = get(&format!("/api/v1/reports/equity?{MARCH_2020}")).json();
    for dimension in ["Age", "Sex", "Ethnicity"] {
        assert_eq!(lone_withheld(&equity, dimension, total), None, "{dimension}: {equity}");
    }
    let band = |group: &str| equity["rows"].as_array().unwrap().iter().find(|r| r["group"] == group).unwrap().clone();
    assert_eq!(
        (band("Age 18-24")["referrals"].clone(), band("Age 18-24")["share"].clone()),
        (Value::Null, Value::Null)
    );
    assert_eq!(band("Age 65-74")["referrals"], Value::Null, "withheld to protect the 2: {equity}");
    assert_eq!(band("Age 65-74")["share"], Value::Null, "a share gives the count away too");
    assert_eq!(band("Sex: Not recorded")["referrals"], 8, "a dimension with nothing small shows everything");

    // On the page and in CSV a count withheld to protect another reads `*`, never `<5`.
    let csv = get(&format!("/api/v1/reports/equity?{MARCH_2020}&format=csv")).body;
    assert!(csv.contains("\"Age\",\"Age 65-74\",\"*\",\"*\""), "{csv}");
    assert!(csv.contains("\"Age\",\"Age 18-24\",\"*\",\"*\""), "{csv}");
    assert!(!csv.contains("\"Age 65-74\",6"), "{csv}");
}

#[test]
fn bad_filters_on_a_protected_report_are_named_and_withhold_nothing_less() {
    let app = spawn_app();
    let admin = app.login(ADMIN, DEMO_PASSWORD);
    for (query, field) in [("from=2020-03-31&to=2020-03-01", "to"), ("format=pdf", "format"), ("to=2020-13-01", "to")] {
        crate::helpers::assert_error(
            &app.call("GET", &format!("/api/v1/reports/equity?{query}"), Some(&admin), None),
            422,
            Some(field),
        );
    }
    // The demo year: no dimension of equity has a lone withheld count.
    let equity = app.call("GET", "/api/v1/reports/equity", Some(&admin), None).json();
    let total: i64 = equity["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["dimension"] == "Sex")
        .map(|r| r["referrals"].as_i64().unwrap_or(0))
        .sum();
    for dimension in ["Age", "Sex", "Ethnicity"] {
        assert_eq!(lone_withheld(&equity, dimension, total), None, "{dimension}: {equity}");
    }
}
