//! Settings for what leaves Common Ground: which transport delivers e-mail and text messages,
//! and how the delivery worker retries. In the config file they sit under `[notifications]`;
//! in the environment each is a `COMMONGROUND_*` variable (see the README).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{ConfigError, Secret};

/// Which transport delivers, chosen from what is configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// Nothing configured: each message is written to `data/outbox/` (and a log line).
    Development,
    /// `smtp_url` set: e-mail over SMTP (text messages cannot be sent).
    Smtp,
    /// `notify_api_key` set: e-mail and text messages through GOV.UK Notify.
    Notify,
}

/// The notification settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotificationSettings {
    /// `smtp://user:password@host:587` (STARTTLS required), `smtps://...:465` (TLS from the
    /// start) or `smtp://host:25?tls=none` (plain, for a relay on the same machine or tests).
    pub smtp_url: Option<Secret>,
    /// The From address of e-mail sent over SMTP.
    pub mail_from: String,
    /// A GOV.UK Notify API key, `{key_name}-{service_id}-{secret}`.
    pub notify_api_key: Option<Secret>,
    /// Notify's address (another one only for tests).
    pub notify_url: String,
    /// Notify template ids by our template name (`introduction=6b1c...`).
    pub notify_templates: BTreeMap<String, String>,
    /// Attempts before a message is given up.
    pub max_attempts: i32,
    /// The first retry's delay, milliseconds; each further one doubles, up to an hour.
    pub backoff_ms: i64,
    /// How often the worker looks for due messages, milliseconds.
    pub poll_ms: u64,
    /// How long a claimed message may stay `sending` before another worker takes it over
    /// (its claimer died), seconds.
    pub lease_seconds: i64,
    /// Days an introduction's answer link works.
    pub answer_link_days: i64,
    /// Whether this instance runs a delivery worker (another instance may do the sending).
    pub worker: bool,
    /// How often this instance's scheduler wakes to run due jobs (reminders), seconds; 0 runs
    /// no scheduler here (another instance, or `commonground run-jobs` from cron, does).
    pub scheduler_seconds: u64,
    /// Reminders a listing's editors get as it nears six months unverified (0 sends none).
    pub listing_reminders: i64,
    /// Days between them; the last falls this many days before six months.
    pub listing_reminder_days: i64,
}

impl Default for NotificationSettings {
    fn default() -> Self {
        Self {
            smtp_url: None,
            mail_from: "Common Ground <no-reply@commonground.invalid>".into(),
            notify_api_key: None,
            notify_url: "https://api.notifications.service.gov.uk".into(),
            notify_templates: BTreeMap::new(),
            max_attempts: 10,
            backoff_ms: 30_000,
            poll_ms: 1_000,
            lease_seconds: 300,
            answer_link_days: 14,
            worker: true,
            scheduler_seconds: 60,
            listing_reminders: 3,
            listing_reminder_days: 14,
        }
    }
}

impl NotificationSettings {
    /// The transport in use.
    pub fn transport(&self) -> TransportKind {
        if self.notify_api_key.is_some() {
            TransportKind::Notify
        } else if self.smtp_url.is_some() {
            TransportKind::Smtp
        } else {
            TransportKind::Development
        }
    }

    /// Applies one environment variable if it is one of ours; `Ok(false)` if it is not.
    pub(super) fn apply_env(&mut self, name: &str, value: &str) -> Result<bool, ConfigError> {
        let bad = |message: &str| ConfigError::Env { name: name.to_string(), message: message.to_string() };
        let number = |low: i64, high: i64, what: &str| {
            value
                .parse::<i64>()
                .ok()
                .filter(|n| (low..=high).contains(n))
                .ok_or_else(|| bad(&format!("expected {what} from {low} to {high}")))
        };
        match name {
            "COMMONGROUND_SMTP_URL" => {
                if !(value.starts_with("smtp://") || value.starts_with("smtps://")) {
                    return Err(bad("expected smtp://host:port or smtps://host:port"));
                }
                self.smtp_url = Some(Secret::new(value));
            }
            "COMMONGROUND_MAIL_FROM" => {
                if !value.contains('@') {
                    return Err(bad("expected an address such as Common Ground <no-reply@example.org>"));
                }
                self.mail_from = value.to_string();
            }
            "COMMONGROUND_NOTIFY_API_KEY" => {
                if parse_notify_key(value).is_none() {
                    return Err(bad("expected Notify's key: name, then the service id, then the secret"));
                }
                self.notify_api_key = Some(Secret::new(value));
            }
            "COMMONGROUND_NOTIFY_URL" => {
                if !(value.starts_with("https://") || value.starts_with("http://")) {
                    return Err(bad("expected an https:// address"));
                }
                self.notify_url = value.trim_end_matches('/').to_string();
            }
            "COMMONGROUND_NOTIFY_TEMPLATES" => {
                let mut map = BTreeMap::new();
                for pair in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    let (template, id) =
                        pair.split_once('=').ok_or_else(|| bad("expected name=template-id pairs, comma-separated"))?;
                    if !crate::notifications::Template::ALL.iter().any(|t| t.name() == template.trim()) {
                        return Err(bad(&format!("unknown template {:?}", template.trim())));
                    }
                    map.insert(template.trim().to_string(), id.trim().to_string());
                }
                self.notify_templates = map;
            }
            "COMMONGROUND_NOTIFICATIONS_MAX_ATTEMPTS" => self.max_attempts = number(1, 50, "attempts")? as i32,
            "COMMONGROUND_NOTIFICATIONS_BACKOFF_MS" => self.backoff_ms = number(10, 3_600_000, "milliseconds")?,
            "COMMONGROUND_NOTIFICATIONS_POLL_MS" => self.poll_ms = number(10, 60_000, "milliseconds")? as u64,
            "COMMONGROUND_NOTIFICATIONS_LEASE_SECONDS" => self.lease_seconds = number(1, 86_400, "seconds")?,
            "COMMONGROUND_ANSWER_LINK_DAYS" => self.answer_link_days = number(1, 60, "days")?,
            "COMMONGROUND_NOTIFICATIONS_WORKER" => self.worker = !matches!(value, "0" | "false" | "no" | "off"),
            "COMMONGROUND_LISTING_REMINDERS" => self.listing_reminders = number(0, 6, "reminders")?,
            "COMMONGROUND_LISTING_REMINDER_DAYS" => self.listing_reminder_days = number(1, 30, "days")?,
            "COMMONGROUND_SCHEDULER_SECONDS" => self.scheduler_seconds = number(0, 86_400, "seconds")? as u64,
            _ => return Ok(false),
        }
        Ok(true)
    }
}

/// A Notify API key's service id (the JWT's `iss`) and secret (its signing key): the last two
/// UUIDs of `{key_name}-{service_id}-{secret}` (the name may itself hold hyphens).
pub fn parse_notify_key(key: &str) -> Option<(String, String)> {
    let key = key.trim();
    if key.len() < 73 || !key.is_char_boundary(key.len() - 73) {
        return None;
    }
    let tail = &key[key.len() - 73..];
    let (service, secret) = (&tail[..36], &tail[37..]);
    let uuid = |s: &str| uuid::Uuid::parse_str(s).is_ok() && s.len() == 36;
    (tail.as_bytes()[36] == b'-' && uuid(service) && uuid(secret)).then(|| (service.to_string(), secret.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notify_keys_split_into_service_and_secret() {
        let key = "my-test_key-26785a09-ab16-4eb0-8407-a37497a57506-3d844edf-8d35-48ac-975b-e847b4f122b0";
        let (service, secret) = parse_notify_key(key).unwrap();
        assert_eq!(service, "26785a09-ab16-4eb0-8407-a37497a57506");
        assert_eq!(secret, "3d844edf-8d35-48ac-975b-e847b4f122b0");
        assert!(parse_notify_key("short").is_none());
        assert!(parse_notify_key(&key.replace("-3d84", "_3d84")).is_none());
    }

    #[test]
    fn the_transport_follows_what_is_configured() {
        let mut s = NotificationSettings::default();
        assert_eq!(s.transport(), TransportKind::Development);
        assert!(s.apply_env("COMMONGROUND_SMTP_URL", "smtp://mail.example.org:587").unwrap());
        assert_eq!(s.transport(), TransportKind::Smtp);
        assert!(s.apply_env("COMMONGROUND_SMTP_URL", "http://x").is_err());
        assert!(s.apply_env("COMMONGROUND_NOTIFY_TEMPLATES", "introduction=abc,nonsense=1").is_err());
        assert!(!s.apply_env("COMMONGROUND_SOMETHING_ELSE", "1").unwrap());
        assert!(s.apply_env("COMMONGROUND_SCHEDULER_SECONDS", "0").unwrap());
        assert_eq!(s.scheduler_seconds, 0);
        for bad in ["-1", "soon", "86401", ""] {
            assert!(s.apply_env("COMMONGROUND_SCHEDULER_SECONDS", bad).is_err(), "{bad}");
        }
        assert!(s.apply_env("COMMONGROUND_LISTING_REMINDERS", "0").unwrap());
        for bad in ["7", "-1", "three"] {
            assert!(s.apply_env("COMMONGROUND_LISTING_REMINDERS", bad).is_err(), "{bad}");
        }
        for bad in ["0", "31", "1.5"] {
            assert!(s.apply_env("COMMONGROUND_LISTING_REMINDER_DAYS", bad).is_err(), "{bad}");
        }
    }
}
