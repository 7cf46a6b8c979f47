//! How a rendered message leaves: a development folder, SMTP, or GOV.UK Notify, chosen by the
//! settings. Each transport answers sent, "try again later" or "never" (the worker decides
//! when, and when to give up); none of them logs an address or a body.

mod dev;
pub mod notify;
mod smtp;

use std::path::Path;

pub use dev::DevelopmentOutbox;
pub use notify::NotifyClient;
pub use smtp::Smtp;

use super::Channel;
use crate::config::notifications::{NotificationSettings, TransportKind};

/// A message ready to send.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The outbox row's id.
    pub id: String,
    /// Its idempotency key (SMTP Message-ID and Notify `reference` derive from it).
    pub key: String,
    /// E-mail or text.
    pub channel: Channel,
    /// Address or phone number.
    pub recipient: String,
    /// Template name.
    pub template: &'static str,
    /// E-mail subject (empty for a text).
    pub subject: String,
    /// The words, from our template file.
    pub body: String,
    /// Every value the template filled in, links included (Notify fills its own template).
    pub personalisation: serde_json::Map<String, serde_json::Value>,
}

/// What the transport said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Try again later (the server is down or busy, a timeout, 429, 5xx).
    Transient(String),
    /// Never going to work (an invalid address, a refused key): give up with this reason.
    Permanent(String),
}

/// Sends messages; shared by the worker's sending lanes, so several go at once.
pub trait Transport: Send + Sync {
    /// Sends one message; `Ok` carries the provider's id for it, if it gives one.
    fn send(&self, message: &Rendered) -> Result<Option<String>, SendError>;
}

/// The transport the settings choose.
pub fn from_settings(settings: &NotificationSettings, data_dir: &Path) -> anyhow::Result<Box<dyn Transport>> {
    Ok(match settings.transport() {
        TransportKind::Development => Box::new(DevelopmentOutbox::new(data_dir.join("outbox"))?),
        TransportKind::Smtp => Box::new(Smtp::new(settings)?),
        TransportKind::Notify => Box::new(NotifyClient::new(settings)?),
    })
}

/// A stable Message-ID / reference for an idempotency key: the same message sent again after a
/// crash carries the same id, so a receiving system that de-duplicates can.
pub fn message_ref(key: &str) -> String {
    let digest = <sha2::Sha256 as sha2::Digest>::digest(key.as_bytes());
    data_encoding::HEXLOWER.encode(&digest[..16])
}
