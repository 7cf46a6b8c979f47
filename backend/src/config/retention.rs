//! How long a closed referral's personal data is kept (see `crate::retention`). In the config
//! file the settings sit under `[retention]`; in the environment each is a `COMMONGROUND_*`
//! variable. The defaults follow the NHS England Records Management Code of Practice 2023's
//! retention schedule for health records: adult records "8 years after the conclusion of
//! treatment"; children's records "until the 25th birthday, or 26th if the young person was 17
//! at the conclusion of treatment" (or 8 years, whichever is longer).

use serde::Deserialize;

use super::ConfigError;

/// The retention settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionSettings {
    /// Years after a referral closed before its personal data is removed.
    pub years: i64,
    /// For someone under 18 when the referral closed: kept at least until this birthday (one
    /// more if they were 17).
    pub child_until_age: i64,
    /// How often the server runs the job, hours; 0 runs none on this instance (another
    /// instance, or `commonground retention` from a timer, does it).
    pub interval_hours: u64,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        Self { years: 8, child_until_age: 25, interval_hours: 24 }
    }
}

impl RetentionSettings {
    /// Applies one environment variable if it is a retention setting (`Ok(true)`).
    pub fn apply_env(&mut self, name: &str, value: &str) -> Result<bool, ConfigError> {
        let bad = |message: &str| ConfigError::Env { name: name.to_string(), message: message.to_string() };
        match name {
            "COMMONGROUND_RETENTION_YEARS" => {
                self.years = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=100).contains(n))
                    .ok_or_else(|| bad("expected years from 1 to 100"))?
            }
            "COMMONGROUND_RETENTION_CHILD_AGE" => {
                self.child_until_age = value
                    .parse()
                    .ok()
                    .filter(|n| (18..=100).contains(n))
                    .ok_or_else(|| bad("expected an age from 18 to 100"))?
            }
            "COMMONGROUND_RETENTION_INTERVAL_HOURS" => {
                self.interval_hours =
                    value.parse().ok().filter(|n| *n <= 24 * 365).ok_or_else(|| bad("expected hours, 0 for none"))?
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_settings_are_checked_by_name() {
        let mut s = RetentionSettings::default();
        assert_eq!((s.years, s.child_until_age, s.interval_hours), (8, 25, 24));
        assert!(s.apply_env("COMMONGROUND_RETENTION_YEARS", "10").unwrap());
        assert_eq!(s.years, 10);
        assert!(s.apply_env("COMMONGROUND_RETENTION_YEARS", "0").is_err());
        assert!(s.apply_env("COMMONGROUND_RETENTION_YEARS", "eight").is_err());
        assert!(s.apply_env("COMMONGROUND_RETENTION_CHILD_AGE", "16").is_err());
        assert!(s.apply_env("COMMONGROUND_RETENTION_INTERVAL_HOURS", "0").unwrap());
        assert_eq!(s.interval_hours, 0);
        assert!(!s.apply_env("COMMONGROUND_BIND", "x").unwrap());
    }
}
