//! The words of each message, from `templates/messages/`: `{name}.email.txt` (a `Subject:`
//! line, a blank line, the body) and `{name}.sms.txt`. Plain text, filled in with handlebars
//! in strict mode (a value missing from a row fails the render, and a test, rather than
//! sending a message with a hole in it) and without HTML escaping (it is not HTML).
//!
//! Links are added here, when the message is sent, from the public address: a row holds ids,
//! never a usable link.

use chrono::Utc;
use handlebars::Handlebars;
use serde_json::{Map, Value};

use super::links::{listing_key, sign, AnswerClaims};
use super::{Channel, Template};
use crate::templates::TemplateFiles;

/// The compiled message templates.
pub struct Renderer {
    registry: Handlebars<'static>,
}

/// What links (and the settings a message quotes) are made from.
#[derive(Clone)]
pub struct LinkMaker {
    /// The public base URL, without a trailing slash.
    pub base: String,
    /// The answer links' key.
    pub key: [u8; 32],
    /// Days an answer link works.
    pub answer_days: i64,
    /// Working days to first contact, as the person is told.
    pub contact_days: i64,
    /// The key of people's page codes.
    pub person_key: [u8; 32],
}

impl LinkMaker {
    /// The one-click unsubscribe link for an address (the person's, a group's contact address).
    pub fn unsubscribe_url(&self, address: &str) -> String {
        format!("{}/unsubscribe/{}", self.base, super::links::sign_unsubscribe(&self.key, address))
    }

    /// Adds the links a message may use to its values.
    pub fn complete(&self, values: &mut Map<String, Value>) {
        let base = &self.base;
        values.insert("service_url".into(), Value::String(format!("{base}/")));
        values.insert("sign_in_url".into(), Value::String(format!("{base}/sign-in")));
        values.insert("admin_url".into(), Value::String(format!("{base}/admin")));
        values.insert("contact_days".into(), Value::from(self.contact_days));
        // Filled in by the worker for a message that carries one (see `unsubscribe_url`).
        values.insert("unsubscribe_url".into(), Value::String(String::new()));
        if let Some(id) = values.get("referral_id").and_then(Value::as_str).map(str::to_string) {
            values.insert("referral_url".into(), Value::String(format!("{base}/referrals/{id}")));
        }
        if let Some(link_id) = values.get("person_link_id").and_then(Value::as_str) {
            let code = crate::person::links::code_for(&self.person_key, link_id);
            values.insert("person_url".into(), Value::String(format!("{base}/my-page/{code}")));
            values.insert("person_code".into(), Value::String(code));
        }
        let connection = values.get("connection_id").and_then(Value::as_str).map(str::to_string);
        let version = values.get("connection_version").and_then(Value::as_i64);
        if let (Some(connection_id), Some(version)) = (connection, version) {
            let expires = Utc::now() + chrono::Duration::days(self.answer_days);
            let claims = AnswerClaims {
                connection_id,
                version: i32::try_from(version).unwrap_or_default(),
                user_id: values.get("answer_user_id").and_then(Value::as_str).map(str::to_string),
                expires_at: expires.timestamp(),
            };
            values.insert("answer_url".into(), Value::String(format!("{base}/answer/{}", sign(&self.key, &claims))));
            values.insert("answer_expires".into(), Value::String(expires.format("%-d %B %Y").to_string()));
        }
        let service = values.get("review_service_id").and_then(Value::as_str).map(str::to_string);
        let version = values.get("review_version").and_then(Value::as_i64);
        if let (Some(service_id), Some(version)) = (service, version) {
            let expires = Utc::now() + chrono::Duration::days(self.answer_days);
            let claims = AnswerClaims {
                version: i32::try_from(version).unwrap_or_default(),
                user_id: values.get("review_user_id").and_then(Value::as_str).map(str::to_string),
                expires_at: expires.timestamp(),
                connection_id: service_id,
            };
            let token = sign(&listing_key(&self.key), &claims);
            values.insert("still_accurate_url".into(), Value::String(format!("{base}/still-accurate/{token}")));
            values.insert("changed_url".into(), Value::String(format!("{base}/my/listings")));
            values.insert("link_expires".into(), Value::String(expires.format("%-d %B %Y").to_string()));
        }
    }
}

impl Renderer {
    /// Compiles every message template.
    pub fn new() -> Result<Self, String> {
        let mut registry = Handlebars::new();
        registry.set_strict_mode(true);
        registry.register_escape_fn(handlebars::no_escape);
        for path in TemplateFiles::iter() {
            let Some(name) = path.strip_prefix("messages/").and_then(|n| n.strip_suffix(".txt")) else { continue };
            let file = TemplateFiles::get(&path).ok_or_else(|| format!("{path} missing"))?;
            registry
                .register_template_string(name, String::from_utf8_lossy(&file.data))
                .map_err(|e| format!("{path}: {e}"))?;
        }
        Ok(Self { registry })
    }

    /// Whether a template has words for a channel.
    pub fn has(&self, template: Template, channel: Channel) -> bool {
        self.registry.has_template(&Self::name(template, channel))
    }

    fn name(template: Template, channel: Channel) -> String {
        format!("{}.{}", template.name(), channel.as_str())
    }

    /// The subject (empty for a text) and body.
    pub fn render(
        &self,
        template: Template,
        channel: Channel,
        values: &Map<String, Value>,
    ) -> Result<(String, String), String> {
        let text = self
            .registry
            .render(&Self::name(template, channel), values)
            .map_err(|e| format!("template {}: {}", template.name(), e.reason()))?;
        match channel {
            Channel::Sms => Ok((String::new(), text.trim().to_string())),
            Channel::Email => {
                let (first, body) = text.split_once('\n').unwrap_or((&text, ""));
                let subject = first
                    .strip_prefix("Subject:")
                    .ok_or_else(|| format!("template {}: the first line must be Subject:", template.name()))?;
                Ok((subject.trim().to_string(), body.trim_start_matches('\n').trim_end().to_string() + "\n"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_has_an_email_and_renders_with_its_values() {
        let renderer = Renderer::new().unwrap();
        let links = LinkMaker {
            base: "https://cg.example.org".into(),
            key: [1; 32],
            answer_days: 14,
            contact_days: 5,
            person_key: [2; 32],
        };
        let mut values = serde_json::json!({
            "service_name": "Stroud Men's Shed", "link_worker_service": "Stroud PCN", "first_name": "Ada",
            "connection_id": "0b6f5a52-6a53-4c43-9d2b-0f3f1c1d2e3f", "connection_version": 2, "answer_user_id": null,
            "reference": "CG-0B6F5A52", "referral_id": "0b6f5a52-6a53-4c43-9d2b-0f3f1c1d2e3f",
            "reason": "outside our area", "outcome": "support has finished", "organisation_name": "Bisley Growers", "waited_days": 5,
            "review_service_id": "0b6f5a52-6a53-4c43-9d2b-0f3f1c1d2e3f", "review_version": 3, "review_user_id": "u1",
            "last_verified": "1 June 2026", "ranks_lower_on": "1 December 2026", "hidden_on": "1 June 2027",
            "reminder_number": 1, "reminders": 3,
            "meeting_when": "Tuesday 2 March at 10:00", "meeting_place": "Stroud Library",
            "day": "Tuesday 2 March", "count": 1, "waiting": 2,
            "person_link_id": "1c6f5a52-6a53-4c43-9d2b-0f3f1c1d2e3f",
            "items": [{"reference": "CG-0B6F5A52", "why": "review due",
                "id": "0b6f5a52-6a53-4c43-9d2b-0f3f1c1d2e3f", "name": "Stroud Men's Shed", "when": "every Tuesday",
                "where": "Stroud", "cost": "free", "contact": "01453 000000"}],
        });
        links.complete(values.as_object_mut().unwrap());
        for template in Template::ALL {
            assert!(renderer.has(template, Channel::Email), "{}", template.name());
            let (subject, body) = renderer.render(template, Channel::Email, values.as_object().unwrap()).unwrap();
            assert!(!subject.is_empty() && !body.contains("{{"), "{}: {subject}\n{body}", template.name());
        }
        for template in [Template::ReferralReceived, Template::MeetingReminder, Template::PersonPage] {
            let (_, text) = renderer.render(template, Channel::Sms, values.as_object().unwrap()).unwrap();
            assert!(text.chars().count() <= 306, "a text fits two SMS parts: {text}");
        }
        let (_, text) = renderer.render(Template::PersonPage, Channel::Sms, values.as_object().unwrap()).unwrap();
        assert!(text.contains("https://cg.example.org/my-page/"), "{text}");
        let (_, body) = renderer.render(Template::Introduction, Channel::Email, values.as_object().unwrap()).unwrap();
        assert!(body.contains("https://cg.example.org/answer/"), "{body}");
        let (_, body) = renderer.render(Template::ListingReview, Channel::Email, values.as_object().unwrap()).unwrap();
        assert!(body.contains("https://cg.example.org/still-accurate/"), "{body}");
        values.as_object_mut().unwrap().remove("service_name");
        assert!(renderer.render(Template::Introduction, Channel::Email, values.as_object().unwrap()).is_err());
    }
}
