//! Logging with tracing: pretty for people, JSON for collectors. Log lines never carry a
//! patient's name, NHS number, contact details, a password or a token.
//!
//! Two guarantees beyond the format:
//! - Libraries that dump the data they handle at debug and trace (handlebars logs every render
//!   context, i.e. whole patient records) are capped, whatever filter the operator sets.
//! - Writing the log can never fail or hold up a request: lines go through a bounded queue to
//!   a writer thread that ignores write errors (a full disk, a closed pipe). When the queue is
//!   full, lines are dropped and counted, and the count is logged when the writer catches up.
//!   Before this, a failed write made tracing-subscriber report it with `eprintln!`, which
//!   panics when stderr fails too (the same full disk): the request's work was committed but
//!   its answer was lost.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter, Layer};

use crate::config::{LogFormat, Settings};

/// Lines waiting for the writer thread before new ones are dropped.
const QUEUE_LINES: usize = 10_000;

/// The most each third-party target may log, whatever `COMMONGROUND_LOG` says: these write the
/// data they handle (handlebars: whole render contexts; tantivy: documents and every commit;
/// the HTTP stack: request heads with their paths, which hold link tokens).
const CAPS: &[(&str, LevelFilter)] = &[
    ("handlebars", LevelFilter::WARN),
    ("tantivy", LevelFilter::INFO),
    ("diesel", LevelFilter::WARN),
    ("actix_http", LevelFilter::INFO),
    ("actix_web", LevelFilter::INFO),
    ("actix_server", LevelFilter::INFO),
    ("h2", LevelFilter::INFO),
    ("mio", LevelFilter::INFO),
    ("ureq", LevelFilter::INFO),
    ("rustls", LevelFilter::INFO),
];

/// Installs the global subscriber writing to stdout (once; later calls are ignored). Keep the
/// guard until the program ends: dropping it waits (briefly) for queued lines to be written.
pub fn init(settings: &Settings) -> LogGuard {
    init_with_writer(settings, std::io::stdout)
}

/// As [`init`], writing to `writer` instead of stdout.
pub fn init_with_writer<W>(settings: &Settings, writer: W) -> LogGuard
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    // tantivy logs every commit at info; that is noise for the person running the server.
    let directives =
        if settings.log.contains("tantivy") { settings.log.clone() } else { format!("{},tantivy=warn", settings.log) };
    let filter = EnvFilter::try_new(&directives).unwrap_or_else(|_| EnvFilter::new("info,tantivy=warn"));
    let caps = CAPS
        .iter()
        .fold(Targets::new().with_default(LevelFilter::TRACE), |t, (target, level)| t.with_target(*target, *level));
    let (queue, guard) = Queue::start(writer);
    let layer = match settings.log_format {
        LogFormat::Pretty => fmt::layer().with_target(false).with_writer(queue).log_internal_errors(false).boxed(),
        LogFormat::Json => fmt::layer().json().with_writer(queue).log_internal_errors(false).boxed(),
    };
    let result = tracing_subscriber::registry().with(layer.with_filter(filter).with_filter(caps)).try_init();
    // A second init (tests start many apps in one process) is harmless.
    drop(result);
    guard
}

/// For tests: quiet unless `COMMONGROUND_TEST_LOG` is set.
pub fn init_for_test() {
    let filter = std::env::var("COMMONGROUND_TEST_LOG").unwrap_or_else(|_| "off".into());
    drop(fmt().with_env_filter(EnvFilter::new(filter)).with_test_writer().try_init());
}

enum Message {
    Line(Vec<u8>),
    Flush(mpsc::SyncSender<()>),
}

/// The sending end of the log queue; the subscriber's writer.
struct Queue {
    sender: mpsc::SyncSender<Message>,
    dropped: Arc<AtomicU64>,
}

impl Queue {
    fn start<W>(writer: W) -> (Self, LogGuard)
    where
        W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
    {
        let (sender, receiver) = mpsc::sync_channel(QUEUE_LINES);
        let dropped = Arc::new(AtomicU64::new(0));
        let counted = dropped.clone();
        let spawned = std::thread::Builder::new().name("log-writer".into()).spawn(move || {
            for message in receiver {
                let mut out = writer.make_writer();
                match message {
                    Message::Line(line) => {
                        let lost = counted.swap(0, Ordering::Relaxed);
                        if lost > 0 {
                            let _ = writeln!(out, "log: {lost} line(s) dropped: the log could not keep up");
                        }
                        let _ = out.write_all(&line);
                    }
                    Message::Flush(done) => {
                        let _ = out.flush();
                        let _ = done.send(());
                    }
                }
            }
        });
        if let Err(e) = spawned {
            // Nothing will be logged; say so once (and carry on: serving matters more).
            let _ = writeln!(std::io::stderr(), "warning: cannot start the log writer: {e}");
        }
        (Queue { sender: sender.clone(), dropped }, LogGuard { sender })
    }
}

/// One event's line, handed to the queue; never fails and never waits.
struct QueueWriter<'a>(&'a Queue);

impl Write for QueueWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.0.sender.try_send(Message::Line(buf.to_vec())).is_err() {
            self.0.dropped.fetch_add(1, Ordering::Relaxed);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Queue {
    type Writer = QueueWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        QueueWriter(self)
    }
}

/// Keeps the log writer's queue open; dropping it waits up to a second for queued lines.
pub struct LogGuard {
    sender: mpsc::SyncSender<Message>,
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        let (done, wait) = mpsc::sync_channel(1);
        if self.sender.send(Message::Flush(done)).is_ok() {
            let _ = wait.recv_timeout(Duration::from_secs(1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Failing;

    impl Write for Failing {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk full"))
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Err(std::io::Error::other("disk full"))
        }
    }

    #[test]
    fn a_failing_writer_never_fails_a_log_write() {
        let (queue, guard) = Queue::start(|| Failing);
        for _ in 0..(QUEUE_LINES * 2) {
            queue.make_writer().write_all(b"line\n").unwrap();
        }
        drop(guard);
    }
}
