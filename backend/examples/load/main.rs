//! Load benchmark: starts the server as a child process on a fresh data folder (the first start
//! seeds the demo directory), then drives it over loopback with kept-alive, gzip-accepting
//! connections, as browsers and API clients do.
//!
//! ```sh
//! cargo run --release -p backend --example load            # about 95 s
//! LOAD_SECONDS=2 cargo run --release -p backend --example load
//! ```
//!
//! Each step runs 1, 8, 32 and 128 connections for `LOAD_SECONDS` (default 5) of searches
//! (`/api/v1/services?q=..&near=GL5 1AA`), listings (the API's and the public page, in turn) and
//! signed-in reads (`/api/v1/referrals` with a bearer token from one sign-in), each connection
//! sending its next request when the last is answered. Then a fixed rate of 1,000 searches a
//! second over 8 connections, timed from when each request was due (so a slow answer delays
//! the ones after it and counts against them too). Peak RSS is the server process's own
//! (`VmHWM`, reset before each step). Prints a markdown table.
//!
//! The server runs without a log subscriber below `warn`, so the figures leave out the cost of
//! writing a log line per request.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod client;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use backend::config::Settings;
use backend::startup::Application;
use client::Conn;

// The same allocator as the `commonground` binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CONNECTIONS: [usize; 4] = [1, 8, 32, 128];
const QUERIES: [&str; 12] = [
    "walking",
    "gardening",
    "men's shed",
    "diabetes",
    "art",
    "singing for the brain",
    "coffee morning",
    "exercise",
    "carers support",
    "",
    "yoga",
    "befriending",
];
const RATE: u64 = 1_000;
const RATE_CONNECTIONS: u64 = 8;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--serve") {
        serve(args.get(2).expect("--serve DIR"));
        return;
    }
    let seconds: u64 = std::env::var("LOAD_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(5).clamp(1, 60);
    let step = Duration::from_secs(seconds);
    let dir = tempfile::tempdir().expect("temp dir");
    let started = Instant::now();
    let (mut server, addr) = start_server(dir.path());
    let pid = server.id();
    println!(
        "server pid {pid} on {addr}, started in {:.1} s; load average {}",
        started.elapsed().as_secs_f64(),
        loadavg()
    );
    let result = std::panic::catch_unwind(|| run(addr, pid, step));
    let _ = server.kill();
    let _ = server.wait();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

fn run(addr: SocketAddr, pid: u32, step: Duration) {
    let token = sign_in(addr);
    let ids = listing_ids(addr);
    println!("{} listings to read; signed in; {} s a step\n", ids.len(), step.as_secs());
    println!("| load | connections | requests/s | p50 ms | p99 ms | errors (or not sent in time) | server peak RSS MiB | server threads |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    let mut peak_at_128 = 0;
    for &connections in &CONNECTIONS {
        for kind in [Kind::Search, Kind::Listing, Kind::SignedIn] {
            reset_peak(pid);
            let stats = closed_loop(addr, connections, step, kind, &token, &ids);
            let peak = status_kib(pid, "VmHWM:") / 1024;
            if connections == 128 {
                peak_at_128 = peak_at_128.max(peak);
            }
            row(kind.name(), &connections.to_string(), &stats, peak, status_kib(pid, "Threads:"));
        }
    }
    reset_peak(pid);
    let stats = fixed_rate(addr, Duration::from_secs(10));
    let peak = status_kib(pid, "VmHWM:") / 1024;
    row(&format!("search at {RATE}/s"), &RATE_CONNECTIONS.to_string(), &stats, peak, status_kib(pid, "Threads:"));
    std::thread::sleep(Duration::from_secs(10));
    println!(
        "\nPeak RSS at 128 connections: {peak_at_128} MiB. Ten seconds after the load: RSS {} MiB, {} threads. Load average {}.",
        status_kib(pid, "VmRSS:") / 1024,
        status_kib(pid, "Threads:"),
        loadavg()
    );
}

fn row(load: &str, connections: &str, stats: &Stats, peak_mib: u64, threads: u64) {
    println!(
        "| {load} | {connections} | {:.0} | {:.2} | {:.2} | {} | {peak_mib} | {threads} |",
        stats.rate, stats.p50_ms, stats.p99_ms, stats.errors
    );
}

/// The child: a server on `dir` until killed.
fn serve(dir: &str) {
    let settings =
        Settings { bind: "127.0.0.1:0".into(), data_dir: dir.into(), log: "warn".into(), ..Settings::default() };
    backend::telemetry::init(&settings);
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(settings, &mut std::io::sink()).expect("server starts");
        println!("listening {}", app.port());
        app.run_until_stopped().await.expect("server runs");
    });
}

fn start_server(dir: &std::path::Path) -> (Child, SocketAddr) {
    let mut child = Command::new(std::env::current_exe().expect("own path"))
        .arg("--serve")
        .arg(dir)
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the server");
    // The server's log lines share its standard output: pass them on to standard error.
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut port = None;
    for line in lines.by_ref().take(1000) {
        let Ok(line) = line else { break };
        match line.trim().strip_prefix("listening ").and_then(|p| p.parse::<u16>().ok()) {
            Some(p) => {
                port = Some(p);
                break;
            }
            None => eprintln!("{line}"),
        }
    }
    let Some(port) = port else {
        let _ = child.kill();
        panic!("the server did not start")
    };
    std::thread::spawn(move || lines.map_while(Result::ok).for_each(|line| eprintln!("{line}")));
    (child, SocketAddr::from(([127, 0, 0, 1], port)))
}

fn sign_in(addr: SocketAddr) -> String {
    let body = serde_json::json!({"email": "link.worker@demo.example.org", "password": backend::accounts::demo::DEMO_PASSWORD});
    let answer = Conn::new(addr)
        .send("POST", "/api/v1/auth/login", "Content-Type: application/json\r\n", body.to_string().as_bytes())
        .expect("sign in");
    assert_eq!(answer.status, 200, "sign in: {}", String::from_utf8_lossy(&answer.body));
    let json: serde_json::Value = serde_json::from_slice(&answer.body).expect("JSON");
    json["token"].as_str().expect("a token").to_string()
}

fn listing_ids(addr: SocketAddr) -> Vec<String> {
    let answer = Conn::new(addr).send("GET", "/api/v1/services?near=GL5%201AA&per_page=50", "", b"").expect("search");
    let json: serde_json::Value = serde_json::from_slice(&answer.body).expect("JSON");
    let ids: Vec<String> = json["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter_map(|r| r["id"].as_str().map(str::to_string))
        .collect();
    assert!(!ids.is_empty(), "the demo directory has listings near GL5 1AA");
    ids
}

#[derive(Clone, Copy)]
enum Kind {
    Search,
    Listing,
    SignedIn,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Search => "search",
            Kind::Listing => "listing (API and page)",
            Kind::SignedIn => "signed-in referrals list",
        }
    }
}

fn search_path(n: usize) -> String {
    let q: String = form_urlencoded::byte_serialize(QUERIES[n % QUERIES.len()].as_bytes()).collect();
    format!("/api/v1/services?q={q}&near=GL5%201AA")
}

/// The `n`th request of a connection.
fn request(kind: Kind, n: usize, ids: &[String]) -> String {
    match kind {
        Kind::Search => search_path(n),
        Kind::Listing if n.is_multiple_of(2) => format!("/api/v1/services/{}", ids[(n / 2) % ids.len()]),
        Kind::Listing => format!("/services/{}", ids[(n / 2) % ids.len()]),
        Kind::SignedIn => "/api/v1/referrals".to_string(),
    }
}

struct Stats {
    rate: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: usize,
}

fn stats(mut micros: Vec<u32>, errors: usize, elapsed: Duration) -> Stats {
    micros.sort_unstable();
    let at = |q: f64| micros.get(((micros.len() as f64 * q) as usize).min(micros.len().saturating_sub(1)));
    Stats {
        rate: micros.len() as f64 / elapsed.as_secs_f64(),
        p50_ms: at(0.50).map_or(f64::NAN, |&m| f64::from(m) / 1000.0),
        p99_ms: at(0.99).map_or(f64::NAN, |&m| f64::from(m) / 1000.0),
        errors,
    }
}

/// `connections` clients, each sending its next request as soon as the last is answered.
fn closed_loop(addr: SocketAddr, connections: usize, step: Duration, kind: Kind, token: &str, ids: &[String]) -> Stats {
    let extra = match kind {
        Kind::SignedIn => format!("Accept-Encoding: gzip\r\nAuthorization: Bearer {token}\r\n"),
        _ => "Accept-Encoding: gzip\r\n".to_string(),
    };
    let started = Instant::now();
    let end = started + step;
    let results: Vec<(Vec<u32>, usize)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..connections)
            .map(|c| {
                let extra = &extra;
                scope.spawn(move || {
                    let mut conn = Conn::new(addr);
                    let (mut micros, mut errors) = (Vec::new(), 0);
                    let mut n = c * 7;
                    while Instant::now() < end {
                        let sent = Instant::now();
                        match conn.send("GET", &request(kind, n, ids), extra, b"") {
                            Ok(a) if a.status == 200 => micros.push(sent.elapsed().as_micros() as u32),
                            _ => errors += 1,
                        }
                        n += 1;
                    }
                    (micros, errors)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("client thread")).collect()
    });
    let elapsed = started.elapsed();
    let errors = results.iter().map(|(_, e)| e).sum();
    stats(results.into_iter().flat_map(|(m, _)| m).collect(), errors, elapsed)
}

/// Searches at a fixed rate, each timed from when it was due.
fn fixed_rate(addr: SocketAddr, length: Duration) -> Stats {
    let period = Duration::from_micros(1_000_000 * RATE_CONNECTIONS / RATE);
    let started = Instant::now() + Duration::from_millis(20);
    let end = started + length;
    let results: Vec<(Vec<u32>, usize)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..RATE_CONNECTIONS)
            .map(|c| {
                scope.spawn(move || {
                    let mut conn = Conn::new(addr);
                    let (mut micros, mut errors) = (Vec::new(), 0);
                    let offset = period * c as u32 / RATE_CONNECTIONS as u32;
                    for n in 0u32.. {
                        let due = started + offset + period * n;
                        if due >= end {
                            break;
                        }
                        // A server that cannot keep up would keep this going long past its
                        // length: what was not sent by twice the length counts as failed.
                        if Instant::now() >= end + length {
                            errors += (end - due).as_micros().div_ceil(period.as_micros()) as usize;
                            break;
                        }
                        if let Some(wait) = due.checked_duration_since(Instant::now()) {
                            std::thread::sleep(wait);
                        }
                        match conn.send("GET", &search_path(n as usize + c as usize), "Accept-Encoding: gzip\r\n", b"")
                        {
                            Ok(a) if a.status == 200 => micros.push(due.elapsed().as_micros() as u32),
                            _ => errors += 1,
                        }
                    }
                    (micros, errors)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("client thread")).collect()
    });
    let elapsed = started.elapsed();
    let errors = results.iter().map(|(_, e)| e).sum();
    stats(results.into_iter().flat_map(|(m, _)| m).collect(), errors, elapsed)
}

/// Resets the process's peak RSS to its current RSS (Linux `clear_refs` 5).
fn reset_peak(pid: u32) {
    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
}

/// A number from `/proc/<pid>/status` (kiB for sizes).
fn status_kib(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}
