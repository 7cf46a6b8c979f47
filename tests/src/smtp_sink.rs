//! A small SMTP server on loopback that records what it receives: enough of RFC 5321 for a
//! real client (lettre) to deliver to it (EHLO/HELO, MAIL FROM, RCPT TO, DATA with
//! dot-unstuffing, RSET, NOOP, QUIT). It can be stopped (every open connection is cut, new ones
//! are refused) and started again on the same port, to play a mail server that is down for a
//! while. A recipient containing `reject` is refused with 550, as a server refuses an unknown
//! mailbox. Duplicates are counted by Message-ID.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// One message received.
#[derive(Debug, Clone)]
pub struct Received {
    /// MAIL FROM.
    pub from: String,
    /// RCPT TO (accepted ones).
    pub to: Vec<String>,
    /// The message as sent (headers and body), dot-unstuffed.
    pub data: String,
    /// Its Message-ID header, if any.
    pub message_id: Option<String>,
}

impl Received {
    /// The body as text: quoted-printable decoded when the message says it is.
    pub fn text(&self) -> String {
        let (head, body) = self.data.split_once("\n\n").unwrap_or((&self.data, ""));
        if !head.to_ascii_lowercase().contains("content-transfer-encoding: quoted-printable") {
            return body.to_string();
        }
        let joined = body.replace("=\n", "");
        let bytes = joined.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
                (b'=', Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                }
                (b, _, _) => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

#[derive(Default)]
struct Shared {
    messages: Mutex<Vec<Received>>,
    seen: Mutex<HashMap<String, usize>>,
    open: Mutex<Vec<TcpStream>>,
}

/// The sink.
pub struct SmtpSink {
    port: u16,
    shared: Arc<Shared>,
    running: Option<(Arc<AtomicBool>, JoinHandle<()>)>,
}

impl SmtpSink {
    /// Starts on a free port.
    pub fn start() -> Self {
        let mut sink = Self { port: 0, shared: Arc::new(Shared::default()), running: None };
        sink.listen(0);
        sink
    }

    /// The port (the same across stops and starts).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `smtp://127.0.0.1:PORT?tls=none`, for `COMMONGROUND_SMTP_URL`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}?tls=none", self.port)
    }

    fn listen(&mut self, port: u16) {
        let listener = {
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                match TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))) {
                    Ok(l) => break l,
                    Err(e) if Instant::now() > deadline => panic!("SMTP sink cannot bind port {port}: {e}"),
                    Err(_) => std::thread::sleep(Duration::from_millis(50)),
                }
            }
        };
        self.port = listener.local_addr().map(|a| a.port()).unwrap_or(port);
        let stop = Arc::new(AtomicBool::new(false));
        let (flag, shared) = (stop.clone(), self.shared.clone());
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if flag.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                if let Ok(clone) = stream.try_clone() {
                    shared.open.lock().unwrap().push(clone);
                }
                let shared = shared.clone();
                std::thread::spawn(move || {
                    let _ = converse(stream, &shared);
                });
            }
        });
        self.running = Some((stop, thread));
    }

    /// Stops: refuses new connections and cuts open ones.
    pub fn stop(&mut self) {
        if let Some((stop, thread)) = self.running.take() {
            stop.store(true, Ordering::SeqCst);
            // Wakes the accept loop so it sees the flag and drops the listener.
            let _ = TcpStream::connect(("127.0.0.1", self.port));
            let _ = thread.join();
        }
        for stream in self.shared.open.lock().unwrap().drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    /// Starts again on the same port, keeping what was received.
    pub fn restart(&mut self) {
        self.stop();
        let port = self.port;
        self.listen(port);
    }

    /// Everything received so far.
    pub fn messages(&self) -> Vec<Received> {
        self.shared.messages.lock().unwrap().clone()
    }

    /// How many messages have arrived.
    pub fn count(&self) -> usize {
        self.shared.messages.lock().unwrap().len()
    }

    /// How many messages carried a Message-ID already received.
    pub fn duplicates(&self) -> usize {
        self.shared.seen.lock().unwrap().values().map(|n| n.saturating_sub(1)).sum()
    }

    /// Waits until at least `n` messages have arrived; false on timeout.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.shared.messages.lock().unwrap().len() >= n {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.shared.messages.lock().unwrap().len() >= n
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop();
    }
}

fn converse(stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    // A reply of several lines goes out as several writes: with Nagle's algorithm each waited
    // for the client's delayed acknowledgement (40 ms a message).
    stream.set_nodelay(true)?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let mut say = |line: &str| writer.write_all(format!("{line}\r\n").as_bytes());
    say("220 sink.test ESMTP ready")?;
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_string();
        let upper = command.to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            say("250-sink.test")?;
            say("250-8BITMIME")?;
            say("250 SMTPUTF8")?;
        } else if upper.starts_with("HELO") || upper.starts_with("NOOP") {
            say("250 OK")?;
        } else if upper.starts_with("RSET") {
            (from, to) = (String::new(), Vec::new());
            say("250 OK")?;
        } else if upper.starts_with("MAIL FROM:") {
            from = address(&command[10..]);
            to.clear();
            say("250 OK")?;
        } else if upper.starts_with("RCPT TO:") {
            let rcpt = address(&command[8..]);
            if rcpt.contains("reject") {
                say("550 5.1.1 no such mailbox here")?;
            } else {
                to.push(rcpt);
                say("250 OK")?;
            }
        } else if upper == "DATA" {
            if to.is_empty() {
                say("554 no valid recipients")?;
                continue;
            }
            say("354 end with <CRLF>.<CRLF>")?;
            let mut data = String::new();
            loop {
                line.clear();
                if reader.read_line(&mut line)? == 0 {
                    return Ok(());
                }
                let text = line.trim_end_matches(['\r', '\n']);
                if text == "." {
                    break;
                }
                data.push_str(text.strip_prefix('.').unwrap_or(text));
                data.push('\n');
            }
            let message_id = data
                .lines()
                .take_while(|l| !l.is_empty())
                .find(|l| l.to_ascii_lowercase().starts_with("message-id:"))
                .map(|l| l[11..].trim().to_string());
            if let Some(id) = &message_id {
                *shared.seen.lock().unwrap().entry(id.clone()).or_default() += 1;
            }
            shared.messages.lock().unwrap().push(Received { from: from.clone(), to: to.clone(), data, message_id });
            say("250 OK queued")?;
        } else if upper.starts_with("QUIT") {
            say("221 bye")?;
            return Ok(());
        } else {
            say("502 command not implemented")?;
        }
    }
}

fn address(text: &str) -> String {
    let text = text.trim();
    let inner = text.split_once('<').and_then(|(_, rest)| rest.split_once('>')).map_or(text, |(a, _)| a);
    inner.to_string()
}
