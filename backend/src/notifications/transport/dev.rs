//! The development transport (the default): each message is a file in `data/outbox/`, so a
//! new user can read what would have been sent. One file per idempotency key: sending again
//! after a crash rewrites the same file rather than adding a second.

use std::path::PathBuf;

use super::{message_ref, Rendered, SendError, Transport};
use crate::notifications::Channel;

/// Writes messages to a folder.
pub struct DevelopmentOutbox {
    dir: PathBuf,
}

impl DevelopmentOutbox {
    /// Creates the folder if needed.
    pub fn new(dir: PathBuf) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&dir)?;
        Ok(Self { dir })
    }
}

impl Transport for DevelopmentOutbox {
    fn send(&self, message: &Rendered) -> Result<Option<String>, SendError> {
        let reference = message_ref(&message.key);
        let (name, text) = match message.channel {
            Channel::Email => (
                format!("{}-{reference}.eml", message.template),
                format!(
                    "To: {}\nSubject: {}\nMessage-ID: <{reference}@commonground>\nContent-Type: text/plain; charset=utf-8\n\n{}",
                    message.recipient, message.subject, message.body
                ),
            ),
            Channel::Sms => {
                (format!("{}-{reference}.sms.txt", message.template), format!("To: {}\n\n{}", message.recipient, message.body))
            }
        };
        let path = self.dir.join(name);
        // Written beside and renamed, so a reader never sees half a message.
        let partial = path.with_extension("partial");
        std::fs::write(&partial, text)
            .and_then(|()| std::fs::rename(&partial, &path))
            .map_err(|e| SendError::Transient(format!("cannot write to the development outbox: {e}")))?;
        // The file name, never the address: the log is no place for personal data.
        tracing::info!(notification.id = %message.id, template = message.template, file = %path.display(), "message written to the development outbox");
        Ok(None)
    }
}
