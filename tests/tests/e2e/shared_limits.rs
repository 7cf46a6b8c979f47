//! Allowances shared by every instance on one database (several instances behind a balancer
//! give an attacker no more attempts), and the client address behind trusted proxies only.

use serde_json::json;

use crate::helpers::{assert_error, spawn_app, spawn_app_with, spawn_second, TestApp, DEMO_PASSWORD};

const REFERRER: &str = "gp.referrer@demo.example.org";

fn wrong_password(app: &TestApp) -> u16 {
    let body = json!({"email": REFERRER, "password": "not the right one"}).to_string();
    app.call("POST", "/api/v1/auth/login", None, Some(&body)).status
}

#[test]
fn two_instances_share_the_sign_in_allowance() {
    let first = spawn_app();
    let second = spawn_second(&first);
    for attempt in 0..5 {
        let app = if attempt % 2 == 0 { &first } else { &second };
        assert_eq!(wrong_password(app), 401, "attempt {attempt}");
    }
    // Three were on the first instance and two on the second: the allowance of five is used up
    // on both.
    assert_eq!(wrong_password(&second), 429);
    assert_eq!(wrong_password(&first), 429);
    let right = json!({"email": REFERRER, "password": DEMO_PASSWORD}).to_string();
    assert_error(&second.call("POST", "/api/v1/auth/login", None, Some(&right)), 429, None);
    // Another account is unaffected, on either instance.
    first.login("link.worker@demo.example.org", DEMO_PASSWORD);
    second.login("link.worker@demo.example.org", DEMO_PASSWORD);
}

/// A listing to suggest a change to.
fn a_listing(app: &TestApp) -> String {
    app.get("/api/v1/services?per_page=1").json()["results"][0]["id"].as_str().unwrap().to_string()
}

fn suggest(app: &TestApp, listing: &str, forwarded_for: Option<&str>) -> u16 {
    let mut request = ureq::AgentBuilder::new()
        .build()
        .post(&format!("{}/api/v1/services/{listing}/suggestions", app.address))
        .set("Content-Type", "application/json");
    if let Some(address) = forwarded_for {
        request = request.set("X-Forwarded-For", address);
    }
    match request.send_string(r#"{"body": "The phone number has changed"}"#) {
        Ok(r) => r.status(),
        Err(ureq::Error::Status(code, _)) => code,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn two_instances_share_the_public_suggestion_allowance() {
    let first = spawn_app();
    let second = spawn_second(&first);
    let listing = a_listing(&first);
    for n in 0..10 {
        let app = if n < 5 { &first } else { &second };
        assert_eq!(suggest(app, &listing, None), 201, "suggestion {n}");
    }
    assert_eq!(suggest(&first, &listing, None), 429);
    assert_eq!(suggest(&second, &listing, None), 429);
}

#[test]
fn a_forwarded_address_from_an_untrusted_peer_is_ignored() {
    let app = spawn_app();
    let listing = a_listing(&app);
    for n in 0..10 {
        assert_eq!(suggest(&app, &listing, Some(&format!("203.0.113.{n}"))), 201, "suggestion {n}");
    }
    // Each claimed a different address; all came from 127.0.0.1, whose allowance is used up.
    assert_eq!(suggest(&app, &listing, Some("198.51.100.7")), 429);
    assert_eq!(suggest(&app, &listing, None), 429);
}

#[test]
fn behind_a_trusted_proxy_each_client_has_its_own_allowance() {
    let app = spawn_app_with(|settings| {
        settings.trusted_proxies = "127.0.0.1, 10.0.0.0/8".parse().unwrap();
    });
    let listing = a_listing(&app);
    for n in 0..10 {
        // The client, then a second trusted proxy in front (right-most untrusted counts).
        assert_eq!(suggest(&app, &listing, Some("203.0.113.5, 10.1.2.3")), 201, "suggestion {n}");
    }
    assert_eq!(suggest(&app, &listing, Some("203.0.113.5")), 429);
    // A client that claims to be someone else in front of its own address is still itself.
    assert_eq!(suggest(&app, &listing, Some("198.51.100.99, 203.0.113.5")), 429);
    // Another client through the same proxy has its own allowance.
    assert_eq!(suggest(&app, &listing, Some("198.51.100.7")), 201);
    // The proxy's own requests (no header) are the proxy's.
    assert_eq!(suggest(&app, &listing, None), 201);
}

#[test]
fn parallel_guesses_on_two_instances_get_no_more_than_the_allowance() {
    let first = spawn_app();
    let second = spawn_second(&first);
    let answers: Vec<u16> = std::thread::scope(|scope| {
        let guesses: Vec<_> = (0..16)
            .map(|n| {
                let app = if n % 2 == 0 { &first } else { &second };
                scope.spawn(move || wrong_password(app))
            })
            .collect();
        guesses.into_iter().map(|g| g.join().unwrap()).collect()
    });
    let wrong = answers.iter().filter(|s| **s == 401).count();
    let refused = answers.iter().filter(|s| **s == 429).count();
    assert_eq!(wrong + refused, 16, "{answers:?}");
    assert!((1..=5).contains(&wrong), "at most five guesses were checked, however parallel: {answers:?}");
}

/// A suggestion sent over a raw socket, so the `X-Forwarded-For` value can hold bytes that are
/// not text (as a client can send and a proxy passes on, adding the address it saw).
fn suggest_raw(app: &TestApp, listing: &str, forwarded_for: &[u8]) -> u16 {
    use std::io::{Read, Write};
    let host = app.address.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    let body = br#"{"body": "The phone number has changed"}"#;
    let mut request = format!(
        "POST /api/v1/services/{listing}/suggestions HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\nX-Forwarded-For: ",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(forwarded_for);
    request.extend_from_slice(b"\r\n\r\n");
    request.extend_from_slice(body);
    stream.write_all(&request).unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0)
}

#[test]
fn bytes_a_client_writes_in_x_forwarded_for_cannot_make_it_the_proxy() {
    let app = spawn_app_with(|settings| {
        settings.trusted_proxies = "127.0.0.1".parse().unwrap();
    });
    let listing = a_listing(&app);
    for n in 0..10 {
        // What the client wrote (not text), then the address the proxy saw.
        assert_eq!(suggest_raw(&app, &listing, b"\xff\xfe, 203.0.113.9"), 201, "suggestion {n}");
    }
    // Counted against the client, whatever it wrote in front...
    assert_eq!(suggest(&app, &listing, Some("203.0.113.9")), 429);
    // ...and not against the proxy, whose everyone else's requests come through.
    assert_eq!(suggest(&app, &listing, None), 201);
}
