//! The delivery worker: one thread per instance, never a request's. It claims due rows in
//! batches, renders and sends each, and records the batch's outcomes in one transaction.
//! Transient failures are tried again with exponential back-off; a permanent one (an invalid
//! address, a refused key) or the last allowed attempt gives up with the reason, which admins
//! see. Between batches it sleeps for the poll interval, or until told to stop.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use chrono::Utc;

use super::messages::{LinkMaker, Renderer};
use super::outbox::{self, Claimed, Outcome};
use super::transport::{Rendered, SendError, Transport};
use super::{preferences, Channel, Template};
use crate::config::notifications::NotificationSettings;
use crate::db::Pool;

/// Rows claimed at once: small enough that a crash re-sends few, large enough that the
/// outcome commit (a disk sync on SQLite) is shared.
const BATCH: i64 = 32;

/// Messages sent at once, each lane on its own connection. One SMTP message costs a round trip
/// plus the server's delayed acknowledgement (lettre writes the body and the closing dot
/// separately, and Nagle's algorithm holds the dot until the body is acknowledged: about 40 ms
/// on Linux), so one connection managed 22 messages a second on loopback.
pub const LANES: usize = 8;

/// The running worker.
pub struct Worker {
    stop: mpsc::Sender<()>,
    thread: Option<JoinHandle<()>>,
}

/// What the worker needs.
pub struct WorkerSetup {
    /// Database connections.
    pub pool: Pool,
    /// Retry and lease settings.
    pub settings: NotificationSettings,
    /// The transport.
    pub transport: Box<dyn Transport>,
    /// For links in messages.
    pub links: LinkMaker,
}

impl Worker {
    /// Starts the worker thread.
    pub fn spawn(setup: WorkerSetup) -> anyhow::Result<Self> {
        let renderer = Arc::new(Renderer::new().map_err(|e| anyhow::anyhow!(e))?);
        let (stop, stopped) = mpsc::channel();
        let thread =
            std::thread::Builder::new().name("notifications".into()).spawn(move || run(setup, &renderer, &stopped))?;
        Ok(Self { stop, thread: Some(thread) })
    }

    /// Asks the worker to stop after the batch in hand and waits for it.
    pub fn shutdown(mut self) {
        let _ = self.stop.send(());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(setup: WorkerSetup, renderer: &Renderer, stopped: &mpsc::Receiver<()>) {
    let poll = Duration::from_millis(setup.settings.poll_ms);
    let lease = chrono::Duration::seconds(setup.settings.lease_seconds);
    loop {
        let claimed = match setup
            .pool
            .get()
            .map_err(|e| e.to_string())
            .and_then(|mut conn| outbox::claim(&mut conn, BATCH, lease).map_err(|e| e.to_string()))
        {
            Ok(rows) => rows,
            Err(error) => {
                tracing::warn!(%error, "notification worker cannot reach the database");
                Vec::new()
            }
        };
        let full = claimed.len() as i64 == BATCH;
        // Opt-outs and preferences are honoured at once: checked now, just before sending.
        let unwanted = if claimed.is_empty() {
            Default::default()
        } else {
            setup
                .pool
                .get()
                .map_err(|e| e.to_string())
                .and_then(|mut conn| preferences::unwanted(&mut conn, &claimed).map_err(|e| e.to_string()))
                .unwrap_or_else(|error| {
                    // Not sent now: the rows stay claimed until their lease lapses, then are checked again.
                    tracing::warn!(%error, "cannot check opt-outs; the batch waits");
                    claimed.iter().map(|row| (row.id.clone(), String::new())).collect()
                })
        };
        let claimed: Vec<Claimed> =
            claimed.into_iter().filter(|row| unwanted.get(&row.id).is_none_or(|reason| !reason.is_empty())).collect();
        if !claimed.is_empty() {
            let lane_size = claimed.len().div_ceil(LANES);
            let setup_ref = &setup;
            let unwanted_ref = &unwanted;
            let outcomes: Vec<(String, Outcome)> = std::thread::scope(|scope| {
                let lanes: Vec<_> = claimed
                    .chunks(lane_size)
                    .map(|lane| {
                        scope.spawn(move || {
                            lane.iter()
                                .map(|row| match unwanted_ref.get(&row.id) {
                                    Some(reason) => (row.id.clone(), Outcome::GaveUp(reason.clone())),
                                    None => (row.id.clone(), deliver(setup_ref, renderer, row)),
                                })
                                .collect::<Vec<_>>()
                        })
                    })
                    .collect();
                // A lane that panicked records nothing: its rows are taken again when the lease lapses.
                lanes.into_iter().filter_map(|lane| lane.join().ok()).flatten().collect()
            });
            if let Err(error) = setup
                .pool
                .get()
                .map_err(|e| e.to_string())
                .and_then(|mut conn| outbox::record(&mut conn, &outcomes).map_err(|e| e.to_string()))
            {
                // The rows stay `sending` until their lease lapses, then are sent again with the
                // same Message-ID / reference.
                tracing::error!(%error, count = outcomes.len(), "cannot record notification outcomes");
            }
        }
        // A full batch means more may be due: go straight on unless told to stop.
        let wait = if full { Duration::ZERO } else { poll };
        match stopped.recv_timeout(wait) {
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
            Err(RecvTimeoutError::Timeout) => {}
        }
    }
}

/// Renders and sends one claimed row.
fn deliver(setup: &WorkerSetup, renderer: &Renderer, row: &Claimed) -> Outcome {
    let give_up = |reason: String| {
        tracing::warn!(notification.id = %row.id, template = %row.template, %reason, "notification given up");
        Outcome::GaveUp(reason)
    };
    let (Some(template), Some(channel)) = (Template::parse(&row.template), Channel::parse(&row.channel)) else {
        return give_up(format!("unknown template {} or channel {}", row.template, row.channel));
    };
    let mut values = match serde_json::from_str::<serde_json::Value>(&row.personalisation) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => return give_up("its values are not a JSON object".into()),
    };
    setup.links.complete(&mut values);
    if channel == Channel::Email && values.get("unsubscribe") == Some(&serde_json::Value::Bool(true)) {
        values.insert("unsubscribe_url".into(), serde_json::Value::String(setup.links.unsubscribe_url(&row.recipient)));
    }
    let (subject, body) = match renderer.render(template, channel, &values) {
        Ok(words) => words,
        Err(reason) => return give_up(reason),
    };
    let message = Rendered {
        id: row.id.clone(),
        key: row.idempotency_key.clone(),
        channel,
        recipient: row.recipient.clone(),
        template: template.name(),
        subject,
        body,
        personalisation: values,
    };
    match setup.transport.send(&message) {
        Ok(provider_id) => {
            tracing::info!(notification.id = %row.id, template = template.name(), attempts = row.attempts, "notification sent");
            Outcome::Sent(provider_id)
        }
        Err(SendError::Permanent(reason)) => give_up(reason),
        Err(SendError::Transient(error)) if row.attempts >= setup.settings.max_attempts => {
            give_up(format!("gave up after {} attempts; the last: {error}", row.attempts))
        }
        Err(SendError::Transient(error)) => {
            let at = Utc::now().naive_utc() + outbox::backoff(setup.settings.backoff_ms, row.attempts);
            tracing::info!(notification.id = %row.id, template = template.name(), attempts = row.attempts, %error, "notification will be tried again");
            Outcome::Retry { error, at }
        }
    }
}
