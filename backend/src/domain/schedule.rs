//! When a community session happens: weekly ("every Tuesday 10:00-12:00") or on the nth
//! weekday of the month ("2nd and 4th Thursday", "last Friday"), perhaps only between two dates
//! ("this summer only"), said in plain words and exported as HSDS schedules (freq, byday,
//! opens_at, closes_at, valid_from, valid_to).

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Weekday};

/// How often a session repeats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frequency {
    /// Every week on the given days.
    Weekly,
    /// On the given weeks of the month (1-4, or -1 for the last).
    Monthly(Vec<i8>),
}

/// A repeating session, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// Weekly or monthly.
    pub frequency: Frequency,
    /// Days of the week, Monday first.
    pub days: Vec<Weekday>,
    /// Start time.
    pub opens_at: NaiveTime,
    /// End time, after the start.
    pub closes_at: NaiveTime,
    /// The dates it runs between (open at both ends unless set with [`Schedule::between`]).
    pub valid: ValidDates,
}

/// The dates a session runs between, either end open: "from 1 June 2027 until 31 August 2027".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ValidDates {
    /// The first date it runs.
    pub from: Option<NaiveDate>,
    /// The last date it runs, not before the first.
    pub to: Option<NaiveDate>,
}

impl ValidDates {
    /// Checks a pair of dates: the last may not be before the first.
    pub fn new(from: Option<NaiveDate>, to: Option<NaiveDate>) -> Result<Self, ScheduleError> {
        match (from, to) {
            (Some(from), Some(to)) if to < from => Err(ScheduleError::EndsBeforeStarts),
            _ => Ok(Self { from, to }),
        }
    }

    /// Parses ISO dates (`2027-06-01`); a blank or missing one leaves that end open.
    pub fn parse(from: Option<&str>, to: Option<&str>) -> Result<Self, ScheduleError> {
        let date = |text: Option<&str>| -> Result<Option<NaiveDate>, ScheduleError> {
            match text.map(str::trim).filter(|t| !t.is_empty()) {
                None => Ok(None),
                // Exactly ten characters: chrono would also take years of five digits or more.
                Some(t) if t.len() == 10 => {
                    NaiveDate::parse_from_str(t, "%Y-%m-%d").map(Some).map_err(|_| ScheduleError::Date)
                }
                Some(_) => Err(ScheduleError::Date),
            }
        };
        Self::new(date(from)?, date(to)?)
    }

    /// Plain words, or `None` when both ends are open.
    pub fn describe(&self) -> Option<String> {
        let day = |d: NaiveDate| d.format("%-d %B %Y").to_string();
        match (self.from, self.to) {
            (None, None) => None,
            (Some(from), None) => Some(format!("from {}", day(from))),
            (None, Some(to)) => Some(format!("until {}", day(to))),
            (Some(from), Some(to)) => Some(format!("from {} until {}", day(from), day(to))),
        }
    }

    fn contains(&self, date: NaiveDate) -> bool {
        self.from.is_none_or(|from| date >= from) && self.to.is_none_or(|to| date <= to)
    }
}

/// Why a schedule was refused; each names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// No day, or a day that is not MO..SU.
    #[error("days must be one or more of MO TU WE TH FR SA SU")]
    Days,
    /// Not HH:MM.
    #[error("times must be 24-hour HH:MM")]
    Time,
    /// Closing at or before opening.
    #[error("the closing time must be after the opening time")]
    ClosesBeforeOpens,
    /// A week of the month other than 1-4 or -1 (a 5th Tuesday is not in every month).
    #[error("week of the month must be 1, 2, 3, 4 or last")]
    WeekOfMonth,
    /// Frequency other than weekly or monthly.
    #[error("frequency must be weekly or monthly")]
    Frequency,
    /// A first or last date that is not a date.
    #[error("dates must be written like 2027-06-01")]
    Date,
    /// The last date before the first.
    #[error("the last date must not be before the first")]
    EndsBeforeStarts,
}

/// Parses `MO`..`SU` (HSDS byday codes).
pub fn parse_day(code: &str) -> Option<Weekday> {
    Some(match code.trim().to_ascii_uppercase().as_str() {
        "MO" => Weekday::Mon,
        "TU" => Weekday::Tue,
        "WE" => Weekday::Wed,
        "TH" => Weekday::Thu,
        "FR" => Weekday::Fri,
        "SA" => Weekday::Sat,
        "SU" => Weekday::Sun,
        _ => return None,
    })
}

/// The HSDS byday code of a day.
pub fn day_code(day: Weekday) -> &'static str {
    ["MO", "TU", "WE", "TH", "FR", "SA", "SU"][day.num_days_from_monday() as usize]
}

fn day_name(day: Weekday) -> &'static str {
    ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"][day.num_days_from_monday() as usize]
}

fn ordinal(week: i8) -> &'static str {
    match week {
        1 => "1st",
        2 => "2nd",
        3 => "3rd",
        4 => "4th",
        _ => "last",
    }
}

fn join_words(words: &[String]) -> String {
    match words {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

impl Schedule {
    /// Parses the stored form: `freq` WEEKLY/MONTHLY, `byday` "TU,TH", `week_of_month` "2,4".
    pub fn parse(
        freq: &str,
        byday: &str,
        week_of_month: Option<&str>,
        opens: &str,
        closes: &str,
    ) -> Result<Self, ScheduleError> {
        let days: Option<Vec<Weekday>> = byday.split(',').filter(|d| !d.trim().is_empty()).map(parse_day).collect();
        let mut days = days.filter(|d| !d.is_empty()).ok_or(ScheduleError::Days)?;
        days.sort_by_key(|d| d.num_days_from_monday());
        days.dedup();
        let frequency = match freq.to_ascii_uppercase().as_str() {
            "WEEKLY" => Frequency::Weekly,
            "MONTHLY" => {
                let weeks: Option<Vec<i8>> = week_of_month
                    .unwrap_or("")
                    .split(',')
                    .filter(|w| !w.trim().is_empty())
                    .map(|w| w.trim().parse::<i8>().ok().filter(|n| (1..=4).contains(n) || *n == -1))
                    .collect();
                let mut weeks = weeks.filter(|w| !w.is_empty()).ok_or(ScheduleError::WeekOfMonth)?;
                weeks.sort_by_key(|w| if *w == -1 { 5 } else { *w });
                weeks.dedup();
                Frequency::Monthly(weeks)
            }
            _ => return Err(ScheduleError::Frequency),
        };
        let parse_time = |t: &str| NaiveTime::parse_from_str(t.trim(), "%H:%M").map_err(|_| ScheduleError::Time);
        let (opens_at, closes_at) = (parse_time(opens)?, parse_time(closes)?);
        if closes_at <= opens_at {
            return Err(ScheduleError::ClosesBeforeOpens);
        }
        Ok(Self { frequency, days, opens_at, closes_at, valid: ValidDates::default() })
    }

    /// The same session, running only between these dates.
    pub fn between(self, valid: ValidDates) -> Self {
        Self { valid, ..self }
    }

    /// Plain words: "Every Tuesday, 10:00 to 12:00"; "2nd and 4th Thursday of the month, ...";
    /// with its dates when it has any: "..., from 1 June 2027 until 31 August 2027".
    pub fn describe(&self) -> String {
        let days: Vec<String> = self.days.iter().map(|d| day_name(*d).to_string()).collect();
        let when = match &self.frequency {
            Frequency::Weekly => format!("Every {}", join_words(&days)),
            Frequency::Monthly(weeks) => {
                let weeks: Vec<String> = weeks.iter().map(|w| ordinal(*w).to_string()).collect();
                let mut text = format!("{} {} of the month", join_words(&weeks), join_words(&days));
                if let Some(first) = text.get(0..1) {
                    text = first.to_uppercase() + &text[1..];
                }
                text
            }
        };
        let times = format!("{when}, {} to {}", self.opens_at.format("%H:%M"), self.closes_at.format("%H:%M"));
        match self.valid.describe() {
            Some(dates) => format!("{times}, {dates}"),
            None => times,
        }
    }

    /// The next start at or after `now` (within 70 days of now, or of the first date when that
    /// is later), on a date the session runs.
    pub fn next_after(&self, now: NaiveDateTime) -> Option<NaiveDateTime> {
        let first = self.valid.from.map_or(now.date(), |from| from.max(now.date()));
        (0..70).map(|offset| first + Duration::days(offset)).find_map(|date| {
            let start = date.and_time(self.opens_at);
            (start >= now && self.occurs_on(date)).then_some(start)
        })
    }

    fn occurs_on(&self, date: NaiveDate) -> bool {
        if !self.days.contains(&date.weekday()) || !self.valid.contains(date) {
            return false;
        }
        match &self.frequency {
            Frequency::Weekly => true,
            Frequency::Monthly(weeks) => {
                let nth = ((date.day() - 1) / 7 + 1) as i8;
                let is_last = (date + Duration::days(7)).month() != date.month();
                weeks.iter().any(|w| *w == nth || (*w == -1 && is_last))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weekly_and_monthly_in_plain_words() {
        let s = Schedule::parse("WEEKLY", "TU", None, "10:00", "12:00").unwrap();
        assert_eq!(s.describe(), "Every Tuesday, 10:00 to 12:00");
        let s = Schedule::parse("WEEKLY", "TH,TU", None, "18:30", "20:00").unwrap();
        assert_eq!(s.describe(), "Every Tuesday and Thursday, 18:30 to 20:00");
        let s = Schedule::parse("MONTHLY", "TH", Some("2,4"), "14:00", "16:00").unwrap();
        assert_eq!(s.describe(), "2nd and 4th Thursday of the month, 14:00 to 16:00");
        let s = Schedule::parse("MONTHLY", "FR", Some("-1"), "10:00", "11:30").unwrap();
        assert_eq!(s.describe(), "Last Friday of the month, 10:00 to 11:30");
    }

    #[test]
    fn bad_schedules_name_the_problem() {
        assert_eq!(Schedule::parse("WEEKLY", "", None, "10:00", "12:00"), Err(ScheduleError::Days));
        assert_eq!(Schedule::parse("WEEKLY", "XX", None, "10:00", "12:00"), Err(ScheduleError::Days));
        assert_eq!(Schedule::parse("WEEKLY", "TU", None, "12:00", "10:00"), Err(ScheduleError::ClosesBeforeOpens));
        assert_eq!(Schedule::parse("WEEKLY", "TU", None, "10am", "12:00"), Err(ScheduleError::Time));
        assert_eq!(Schedule::parse("MONTHLY", "TU", Some("5"), "10:00", "12:00"), Err(ScheduleError::WeekOfMonth));
        assert_eq!(Schedule::parse("DAILY", "TU", None, "10:00", "12:00"), Err(ScheduleError::Frequency));
    }

    #[test]
    fn next_session() {
        // 2026-11-22 is a Sunday.
        let now = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap().and_hms_opt(9, 0, 0).unwrap();
        let weekly = Schedule::parse("WEEKLY", "TU", None, "10:00", "12:00").unwrap();
        assert_eq!(weekly.next_after(now).unwrap().date(), NaiveDate::from_ymd_opt(2026, 11, 24).unwrap());
        let last_friday = Schedule::parse("MONTHLY", "FR", Some("-1"), "10:00", "11:00").unwrap();
        assert_eq!(last_friday.next_after(now).unwrap().date(), NaiveDate::from_ymd_opt(2026, 11, 27).unwrap());
        let second_thursday = Schedule::parse("MONTHLY", "TH", Some("2"), "10:00", "11:00").unwrap();
        assert_eq!(second_thursday.next_after(now).unwrap().date(), NaiveDate::from_ymd_opt(2026, 12, 10).unwrap());
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn a_summer_only_session() {
        let summer = ValidDates::parse(Some("2027-06-01"), Some("2027-08-31")).unwrap();
        assert_eq!(summer, ValidDates { from: Some(day(2027, 6, 1)), to: Some(day(2027, 8, 31)) });
        let s = Schedule::parse("WEEKLY", "TU", None, "10:00", "12:00").unwrap().between(summer);
        assert_eq!(s.describe(), "Every Tuesday, 10:00 to 12:00, from 1 June 2027 until 31 August 2027");
        // Before the summer: the first Tuesday of June, not next week.
        let now = day(2026, 11, 22).and_hms_opt(9, 0, 0).unwrap();
        assert_eq!(s.next_after(now).unwrap().date(), day(2027, 6, 1));
        // In it: next week; after it: none.
        let july = day(2027, 7, 1).and_hms_opt(9, 0, 0).unwrap();
        assert_eq!(s.next_after(july).unwrap().date(), day(2027, 7, 6));
        let late_august = day(2027, 8, 31).and_hms_opt(13, 0, 0).unwrap();
        assert_eq!(s.next_after(late_august), None, "31 August is a Tuesday, but the session is over");
    }

    #[test]
    fn dates_open_at_either_end() {
        let from = ValidDates::parse(Some("2027-06-01"), Some(" ")).unwrap();
        assert_eq!(from.describe().as_deref(), Some("from 1 June 2027"));
        let until = ValidDates::parse(None, Some("2027-08-31")).unwrap();
        assert_eq!(until.describe().as_deref(), Some("until 31 August 2027"));
        assert_eq!(ValidDates::parse(Some(""), None).unwrap().describe(), None);
        let same_day = ValidDates::parse(Some("2027-06-01"), Some("2027-06-01"));
        assert!(same_day.is_ok(), "a one-day event");
    }

    #[test]
    fn bad_dates_name_the_problem() {
        for (from, to, why) in [
            ("2027-08-31", "2027-06-01", ScheduleError::EndsBeforeStarts),
            ("2027-13-01", "", ScheduleError::Date),
            ("2027-02-30", "", ScheduleError::Date),
            ("01/06/2027", "", ScheduleError::Date),
            ("", "next summer", ScheduleError::Date),
            ("+12027-06-01", "", ScheduleError::Date),
        ] {
            assert_eq!(ValidDates::parse(Some(from), Some(to)), Err(why), "{from} {to}");
        }
    }
}
