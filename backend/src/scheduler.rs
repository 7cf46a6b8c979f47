//! Jobs that run because time has passed, not because someone did something: reminders today,
//! and any periodic work a part of the service needs (retention, feed sync).
//!
//! A job is a plain function `fn(&mut DbConnection, &Settings, now) -> anyhow::Result<usize>`
//! that does whatever is due at `now` and returns how many things it did (messages queued,
//! rows removed). It must be safe to run at any moment, twice, or on two instances at once:
//! mark what it has dealt with in the same transaction as the work, and queue messages with
//! idempotency keys (see [`crate::notifications::due`]). To add one, write the function in your
//! own module and add a line to [`JOBS`].
//!
//! Each instance runs a [`Scheduler`]: one thread that wakes every
//! `COMMONGROUND_SCHEDULER_SECONDS` and runs each job whose own interval has passed, never on a
//! request's thread. `commonground run-jobs` runs them all once, now (or at `--now`, for tests
//! and for an operator checking what a date would bring).

use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDateTime, Utc};

use crate::config::Settings;
use crate::db::{DbConnection, Pool};

/// A job's function: does what is due at `now`; returns how many things it did.
pub type JobFn = fn(&mut DbConnection, &Settings, NaiveDateTime) -> anyhow::Result<usize>;

/// A periodic job.
pub struct Job {
    /// Its name, for logs and `run-jobs --job`.
    pub name: &'static str,
    /// What it does, for `run-jobs --list`.
    pub about: &'static str,
    /// Seconds between runs on one instance (it may run more often: after a restart, or on
    /// another instance), from the settings; 0 turns the job off.
    pub every_seconds: fn(&Settings) -> u64,
    /// The work.
    pub run: JobFn,
}

/// Every job, in the order they run.
pub const JOBS: &[Job] = &[
    Job {
        name: "introduction_reminders",
        about: "remind groups of unanswered introductions; tell the link worker after twice as long",
        every_seconds: |_| 600,
        run: crate::notifications::due::introduction_reminders,
    },
    Job {
        name: "listing_reviews",
        about: "remind editors of listings nearing six months unverified, with a one-click \"still accurate\" link",
        every_seconds: |_| 3600,
        run: crate::notifications::due::listing_reviews,
    },
    Job {
        name: "meeting_reminders",
        about: "remind the person of a booked meeting the day before (with consent, by their channel)",
        every_seconds: |_| 600,
        run: crate::notifications::due::meeting_reminders,
    },
    Job {
        name: "link_worker_digests",
        about: "each morning, tell each link worker what needs attention in their caseload (nothing if nothing does)",
        every_seconds: |_| 1800,
        run: crate::notifications::due::link_worker_digests,
    },
    Job {
        name: "notify_statuses",
        about: "ask GOV.UK Notify how sent messages went: delivered, or given up with its reason (Notify only)",
        every_seconds: |_| 900,
        run: crate::notifications::due::notify_statuses,
    },
    Job {
        name: "retention",
        about:
            "anonymise closed referrals past their retention period (COMMONGROUND_RETENTION_INTERVAL_HOURS; 0 is off)",
        every_seconds: crate::retention::every_seconds,
        run: crate::retention::scheduled,
    },
];

/// What one job did.
#[derive(Debug)]
pub struct Ran {
    /// The job.
    pub name: &'static str,
    /// How many things it did, or why it failed.
    pub result: Result<usize, String>,
}

/// Runs every job (or the one named) once, at `now`. An unknown name is an error naming the
/// jobs there are; a job that fails does not stop the others.
pub fn run_once(
    conn: &mut DbConnection,
    settings: &Settings,
    now: NaiveDateTime,
    only: Option<&str>,
) -> Result<Vec<Ran>, String> {
    if let Some(name) = only {
        if !JOBS.iter().any(|job| job.name == name) {
            let known: Vec<&str> = JOBS.iter().map(|job| job.name).collect();
            return Err(format!("no job called {name:?}; the jobs are: {}", known.join(", ")));
        }
    }
    Ok(JOBS
        .iter()
        .filter(|job| only.is_none_or(|name| name == job.name))
        .map(|job| Ran { name: job.name, result: (job.run)(conn, settings, now).map_err(|e| format!("{e:#}")) })
        .collect())
}

/// Reads a `--now`: RFC 3339 (`2027-03-01T09:00:00Z`, any offset) or a UTC date and time
/// without an offset (`2027-03-01T09:00:00`, `2027-03-01 09:00`).
pub fn parse_now(text: &str) -> Result<NaiveDateTime, String> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc).naive_utc());
    }
    ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .ok_or_else(|| format!("{text:?} is not a date and time such as 2027-03-01T09:00:00Z"))
}

/// The running scheduler thread.
pub struct Scheduler {
    stop: mpsc::Sender<()>,
    thread: Option<JoinHandle<()>>,
}

impl Scheduler {
    /// Starts the thread: it runs each due job at once, then wakes every `tick`.
    pub fn spawn(pool: Pool, settings: Settings, tick: Duration) -> anyhow::Result<Self> {
        let (stop, stopped) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("scheduler".into())
            .spawn(move || run(&pool, &settings, tick, &stopped))?;
        Ok(Self { stop, thread: Some(thread) })
    }

    /// Asks the thread to stop after the job in hand and waits for it.
    pub fn shutdown(mut self) {
        let _ = self.stop.send(());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(pool: &Pool, settings: &Settings, tick: Duration, stopped: &mpsc::Receiver<()>) {
    let mut last: Vec<Option<Instant>> = vec![None; JOBS.len()];
    loop {
        for (job, last) in JOBS.iter().zip(last.iter_mut()) {
            let every = (job.every_seconds)(settings);
            if every == 0 || last.is_some_and(|at| at.elapsed() < Duration::from_secs(every)) {
                continue;
            }
            let result = pool.get().map_err(|e| e.to_string()).and_then(|mut conn| {
                (job.run)(&mut conn, settings, Utc::now().naive_utc()).map_err(|e| format!("{e:#}"))
            });
            match result {
                Ok(0) => {}
                Ok(count) => tracing::info!(job = job.name, count, "scheduled job done"),
                // Tried again at the next tick, not after its whole interval.
                Err(error) => {
                    tracing::warn!(job = job.name, %error, "scheduled job failed");
                    continue;
                }
            }
            *last = Some(Instant::now());
            if matches!(stopped.try_recv(), Ok(()) | Err(mpsc::TryRecvError::Disconnected)) {
                return;
            }
        }
        match stopped.recv_timeout(tick) {
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
            Err(RecvTimeoutError::Timeout) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_is_read_with_or_without_an_offset() {
        let nine = NaiveDateTime::parse_from_str("2027-03-01 09:00:00", "%Y-%m-%d %H:%M:%S").unwrap();
        assert_eq!(parse_now("2027-03-01T09:00:00Z"), Ok(nine));
        assert_eq!(parse_now("2027-03-01T10:00:00+01:00"), Ok(nine));
        assert_eq!(parse_now(" 2027-03-01 09:00 "), Ok(nine));
        for bad in
            ["", "tomorrow", "2027-02-30T09:00:00", "2027-03-01", "2027-03-01T09:00:00\u{0}", "9".repeat(500).as_str()]
        {
            assert!(parse_now(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn job_names_are_unique() {
        let mut names: Vec<&str> = JOBS.iter().map(|job| job.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), JOBS.len());
    }
}
