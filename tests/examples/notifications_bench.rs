//! Notification delivery benchmark: 10,000 queued e-mails delivered over SMTP to the loopback
//! sink by the server's own worker (the rate), and the p99 of creating a referral over HTTP
//! while that queue drains compared with an idle queue (one referral every 20 ms in both), in
//! one run.
//!
//! ```sh
//! cargo run --release -p tests --example notifications_bench
//! BENCH_MESSAGES=2000 cargo run --release -p tests --example notifications_bench
//! ```
//! On SQLite in a temporary folder by default; `COMMONGROUND_BENCH_DATABASE_URL=postgres://...`
//! runs it on an empty PostgreSQL database instead.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::mpsc;
use std::time::{Duration, Instant};

use backend::config::{Environment, Secret, Settings};
use backend::notifications::{enqueue, Audience, Channel, Outgoing, Template};
use backend::startup::Application;
use serde_json::json;
use tests::smtp_sink::SmtpSink;

fn referral() -> String {
    let born = chrono::Utc::now().date_naive() - chrono::Duration::days(60 * 365);
    json!({
        "given_name": "Bench", "family_name": "Person", "date_of_birth": born.format("%Y-%m-%d").to_string(),
        "nhs_number": "999 000 0018", "postcode": "GL5 1HE", "phone": "01632 960555", "preferred_contact": "phone",
        "reasons": ["loneliness"], "referrer_words": "Benchmark referral", "urgency": "routine",
        "consent_referral": true, "consent_share": false
    })
    .to_string()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn create_referrals(agent: &ureq::Agent, base: &str, token: &str, until: impl Fn(usize) -> bool) -> Vec<f64> {
    let body = referral();
    let mut times = Vec::new();
    // Paced, as a busy service's referrals arrive (one every 20 ms), not a flood.
    let mut next = Instant::now();
    while !until(times.len()) {
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
        next += Duration::from_millis(20);
        let started = Instant::now();
        let answer = agent
            .post(&format!("{base}/api/v1/referrals"))
            .set("Authorization", &format!("Bearer {token}"))
            .set("Content-Type", "application/json")
            .send_string(&body)
            .expect("referral created");
        assert_eq!(answer.status(), 201);
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(|a, b| a.total_cmp(b));
    times
}

fn main() {
    let messages: usize = std::env::var("BENCH_MESSAGES").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let sink = SmtpSink::start();
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings {
        bind: "127.0.0.1:0".into(),
        data_dir: dir.path().to_path_buf(),
        database_url: std::env::var("COMMONGROUND_BENCH_DATABASE_URL").ok().map(Secret::new),
        env: Environment::Development,
        log: "warn".into(),
        ..Settings::default()
    };
    settings.notifications.smtp_url = Some(Secret::new(sink.url()));
    settings.notifications.poll_ms = 100;
    let database = settings.database();
    eprintln!("starting the server (first start seeds the demo region) ...");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let app = Application::build(settings, &mut std::io::sink()).expect("server starts");
            tx.send(app.port()).unwrap();
            let _ = app.run_until_stopped().await;
        })
    });
    let port = rx.recv().unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let agent = ureq::AgentBuilder::new().build();
    let login = agent
        .post(&format!("{base}/api/v1/auth/login"))
        .send_json(json!({"email": "gp.referrer@demo.example.org", "password": backend::accounts::demo::DEMO_PASSWORD}))
        .unwrap()
        .into_json::<serde_json::Value>()
        .unwrap();
    let token = login["token"].as_str().unwrap().to_string();

    // Warm up, then referral creation with an idle outbox.
    create_referrals(&agent, &base, &token, |n| n >= 50);
    let idle = create_referrals(&agent, &base, &token, |n| n >= 500);

    // Queue the messages in one transaction, as a burst of events would, and time the drain.
    let mut conn = database.connect().unwrap();
    backend::db::write(&mut conn, |conn| -> diesel::QueryResult<()> {
        for n in 0..messages {
            enqueue(
                conn,
                &Outgoing {
                    key: format!("bench:{n}"),
                    channel: Channel::Email,
                    audience: Audience::Admin,
                    recipient: format!("admin{n}@example.org"),
                    template: Template::GroupWaiting,
                    personalisation: json!({"organisation_name": format!("Bench group {n}")}),
                },
            )?;
        }
        Ok(())
    })
    .unwrap();
    let queued = Instant::now();
    let during = create_referrals(&agent, &base, &token, |_| sink.count() >= messages);
    assert!(sink.wait_for(messages, Duration::from_secs(600)), "all delivered");
    let drained = queued.elapsed().as_secs_f64();

    println!("notifications: {messages} delivered over SMTP to the loopback sink in {drained:.1} s: {:.0} messages/s; duplicates {}", messages as f64 / drained, sink.duplicates());
    println!(
        "referral creation (POST /api/v1/referrals), ms: idle queue p50 {:.1} p99 {:.1} (n={}); while draining p50 {:.1} p99 {:.1} (n={})",
        percentile(&idle, 0.5),
        percentile(&idle, 0.99),
        idle.len(),
        percentile(&during, 0.5),
        percentile(&during, 0.99),
        during.len()
    );
}
