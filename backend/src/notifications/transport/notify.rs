//! GOV.UK Notify's REST API v2 for e-mail and text messages. Each request carries a fresh JWT
//! (HS256, signed with the secret half of the API key, `iss` the service id, `iat` now: Notify
//! refuses one more than 30 seconds old). Notify fills in its own copy of the template from
//! our personalisation; our `reference` is the message's stable reference, so a message sent
//! again after a crash can be matched to the first in Notify's records. 429 and 5xx are tried
//! again later; 400 and 403 never (a bad address, a refused key) and give up with Notify's
//! reason.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde::Serialize;

use super::{message_ref, Rendered, SendError, Transport};
use crate::config::notifications::{parse_notify_key, NotificationSettings};
use crate::notifications::Channel;

/// A Notify client.
pub struct NotifyClient {
    agent: ureq::Agent,
    base: String,
    service_id: String,
    key: EncodingKey,
    templates: BTreeMap<String, String>,
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    iat: i64,
}

impl NotifyClient {
    /// From the settings (the key was checked when they were read).
    pub fn new(settings: &NotificationSettings) -> anyhow::Result<Self> {
        let key = settings.notify_api_key.as_ref().ok_or_else(|| anyhow::anyhow!("no Notify API key"))?;
        let (service_id, secret) = parse_notify_key(key.expose())
            .ok_or_else(|| anyhow::anyhow!("COMMONGROUND_NOTIFY_API_KEY is not a Notify key"))?;
        let tls = native_tls::TlsConnector::new()?;
        let agent = ureq::AgentBuilder::new().tls_connector(Arc::new(tls)).timeout(Duration::from_secs(20)).build();
        Ok(Self {
            agent,
            base: settings.notify_url.clone(),
            service_id,
            key: EncodingKey::from_secret(secret.as_bytes()),
            templates: settings.notify_templates.clone(),
        })
    }

    fn token(&self) -> Result<String, SendError> {
        let claims = Claims { iss: &self.service_id, iat: chrono::Utc::now().timestamp() };
        encode(&Header::new(Algorithm::HS256), &claims, &self.key)
            .map_err(|e| SendError::Permanent(format!("cannot sign the Notify token: {e}")))
    }
}

impl NotifyClient {
    /// A sent message's status in Notify (`GET /v2/notifications/{id}`): `delivered`,
    /// `permanent-failure`, `sending`, ...; none when Notify does not know the id.
    pub fn status(&self, id: &str) -> Result<Option<String>, String> {
        if uuid::Uuid::parse_str(id).is_err() {
            return Ok(None);
        }
        let token = self.token().map_err(|e| format!("{e:?}"))?;
        match self
            .agent
            .get(&format!("{}/v2/notifications/{id}", self.base))
            .set("Authorization", &format!("Bearer {token}"))
            .set("User-Agent", "commonground")
            .call()
        {
            Ok(response) => {
                let json: serde_json::Value =
                    response.into_json().map_err(|e| format!("Notify's answer was not JSON: {e}"))?;
                Ok(json["status"].as_str().map(str::to_string))
            }
            Err(ureq::Error::Status(404, _)) => Ok(None),
            Err(ureq::Error::Status(code, response)) => Err(format!("Notify {code}: {}", notify_reason(response))),
            Err(ureq::Error::Transport(e)) => Err(format!("cannot reach Notify: {}", e.kind())),
        }
    }
}

impl Transport for NotifyClient {
    fn send(&self, message: &Rendered) -> Result<Option<String>, SendError> {
        let template_id = self.templates.get(message.template).ok_or_else(|| {
            SendError::Permanent(format!(
                "no Notify template id for {} (COMMONGROUND_NOTIFY_TEMPLATES)",
                message.template
            ))
        })?;
        let (path, address_field) = match message.channel {
            Channel::Email => ("/v2/notifications/email", "email_address"),
            Channel::Sms => ("/v2/notifications/sms", "phone_number"),
        };
        let body = serde_json::json!({
            address_field: message.recipient,
            "template_id": template_id,
            "personalisation": message.personalisation,
            "reference": message_ref(&message.key),
        });
        let answer = self
            .agent
            .post(&format!("{}{path}", self.base))
            .set("Authorization", &format!("Bearer {}", self.token()?))
            .set("User-Agent", "commonground")
            .send_json(body);
        match answer {
            Ok(response) => {
                let json: serde_json::Value = response
                    .into_json()
                    .map_err(|e| SendError::Transient(format!("Notify's answer was not JSON: {e}")))?;
                Ok(json["id"].as_str().map(str::to_string))
            }
            Err(ureq::Error::Status(code, response)) => {
                let reason = notify_reason(response);
                match code {
                    429 => Err(SendError::Transient(format!("Notify 429 (too many requests): {reason}"))),
                    500..=599 => Err(SendError::Transient(format!("Notify {code}: {reason}"))),
                    _ => Err(SendError::Permanent(format!("Notify {code}: {reason}"))),
                }
            }
            Err(ureq::Error::Transport(e)) => Err(SendError::Transient(format!("cannot reach Notify: {}", e.kind()))),
        }
    }
}

/// Notify's own words for a refusal: `{"errors": [{"error": "...", "message": "..."}]}`.
/// Its messages name the problem ("email_address Not a valid email address"), not the value.
fn notify_reason(response: ureq::Response) -> String {
    let json: serde_json::Value = response.into_json().unwrap_or_default();
    let messages: Vec<String> = json["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["message"].as_str().map(|m| m.chars().take(200).collect()))
        .collect();
    if messages.is_empty() {
        "no reason given".into()
    } else {
        messages.join("; ")
    }
}
