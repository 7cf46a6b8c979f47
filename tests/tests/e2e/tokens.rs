//! Access tokens that must never be accepted: every one answers 401.

use jsonwebtoken::{encode, EncodingKey, Header};
use serde_json::json;

use crate::helpers::{assert_error, spawn_app, DEMO_PASSWORD};

fn b64(bytes: &[u8]) -> String {
    data_encoding::BASE64URL_NOPAD.encode(bytes)
}

#[test]
fn forged_expired_and_malformed_tokens_are_refused() {
    let app = spawn_app();
    let good = app.login("link.worker@demo.example.org", DEMO_PASSWORD);
    assert_eq!(app.call("GET", "/api/v1/me", Some(&good), None).status, 200);
    let me = app.call("GET", "/api/v1/me", Some(&good), None).json();
    let sub = me["id"].as_str().unwrap().to_string();
    let secret = std::fs::read_to_string(app.data_dir.path().join("jwt-secret"))
        .expect("development generates the signing secret");
    let key = EncodingKey::from_secret(secret.trim().as_bytes());
    let now = chrono::Utc::now().timestamp();
    let claims = |overrides: serde_json::Value| {
        let mut c = json!({"iss": "commonground", "aud": "commonground", "sub": sub, "exp": now + 600, "iat": now, "auth_time": now, "ver": 0, "jti": "t"});
        for (k, v) in overrides.as_object().unwrap() {
            if v.is_null() {
                c.as_object_mut().unwrap().remove(k);
            } else {
                c[k] = v.clone();
            }
        }
        c
    };
    let sign = |c: serde_json::Value| encode(&Header::default(), &c, &key).unwrap();
    // The same claims, correctly signed, are accepted (so the refusals below are for the
    // reason given, not something else).
    assert_eq!(app.call("GET", "/api/v1/me", Some(&sign(claims(json!({})))), None).status, 200);

    let header_payload = |alg: &str, c: &serde_json::Value| {
        format!("{}.{}", b64(json!({"alg": alg, "typ": "JWT"}).to_string().as_bytes()), b64(c.to_string().as_bytes()))
    };
    let signature = good.rsplit('.').next().unwrap();
    let cases: Vec<(&str, String)> = vec![
        ("alg none", format!("{}.", header_payload("none", &claims(json!({}))))),
        ("alg none with a signature", format!("{}.{signature}", header_payload("none", &claims(json!({}))))),
        ("RS256 header on an HMAC signature", format!("{}.{signature}", header_payload("RS256", &claims(json!({}))))),
        (
            "wrong key",
            encode(
                &Header::default(),
                &claims(json!({})),
                &EncodingKey::from_secret(b"another-secret-another-secret-xx"),
            )
            .unwrap(),
        ),
        ("expired beyond leeway", sign(claims(json!({"exp": now - 120, "iat": now - 1000})))),
        ("exp as a string", sign(claims(json!({"exp": (now + 600).to_string()})))),
        ("missing exp", sign(claims(json!({"exp": null})))),
        ("missing aud", sign(claims(json!({"aud": null})))),
        ("wrong aud", sign(claims(json!({"aud": "someone-else"})))),
        ("missing iss", sign(claims(json!({"iss": null})))),
        ("wrong iss", sign(claims(json!({"iss": "evil"})))),
        ("missing sub", sign(claims(json!({"sub": null})))),
        ("unknown user", sign(claims(json!({"sub": "00000000-0000-4000-8000-000000000000"})))),
        ("old token version", sign(claims(json!({"ver": -1})))),
        ("session older than the limit", sign(claims(json!({"auth_time": now - 48 * 3600})))),
        ("truncated", good[..good.len() - 10].to_string()),
        ("garbage", "not.a.token".to_string()),
        ("empty", String::new()),
        ("huge", "a".repeat(8000)),
    ];
    for (name, token) in cases {
        let answer = app.call("GET", "/api/v1/me", Some(&token), None);
        assert_eq!(answer.status, 401, "{name}: {}", answer.body);
        assert_error(&answer, 401, None);
    }
    // A token issued before logout.
    let before = app.login("link.worker@demo.example.org", DEMO_PASSWORD);
    let other = app.login("link.worker@demo.example.org", DEMO_PASSWORD);
    assert_eq!(app.call("POST", "/api/v1/auth/logout", Some(&other), None).status, 204);
    assert_error(&app.call("GET", "/api/v1/me", Some(&before), None), 401, None);
    // Refresh gives a working token; a refused token cannot refresh.
    let fresh = app.login("link.worker@demo.example.org", DEMO_PASSWORD);
    let refreshed = app.call("POST", "/api/v1/auth/refresh", Some(&fresh), None);
    assert_eq!(refreshed.status, 200);
    let renewed = refreshed.json()["token"].as_str().unwrap().to_string();
    assert_eq!(app.call("GET", "/api/v1/me", Some(&renewed), None).status, 200);
    assert_error(&app.call("POST", "/api/v1/auth/refresh", Some(&before), None), 401, None);
}

/// The signing key and the claims of a link worker's token, to forge correctly signed tokens.
fn forge(app: &crate::helpers::TestApp) -> (EncodingKey, serde_json::Value) {
    let good = app.login("link.worker@demo.example.org", DEMO_PASSWORD);
    let me = app.call("GET", "/api/v1/me", Some(&good), None).json();
    let secret = std::fs::read_to_string(app.data_dir.path().join("jwt-secret")).unwrap();
    let now = chrono::Utc::now().timestamp();
    let claims = json!({"iss": "commonground", "aud": "commonground", "sub": me["id"], "exp": now + 600,
        "iat": now, "auth_time": now, "ver": 0, "jti": "t"});
    (EncodingKey::from_secret(secret.trim().as_bytes()), claims)
}

#[test]
fn tokens_not_yet_valid_or_issued_in_the_future_are_refused() {
    let app = spawn_app();
    let (key, base) = forge(&app);
    let now = chrono::Utc::now().timestamp();
    let with = |k: &str, v: i64| {
        let mut c = base.clone();
        c[k] = json!(v);
        encode(&Header::default(), &c, &key).unwrap()
    };
    // Within the leeway for clock differences, and a past nbf: accepted.
    assert_eq!(app.call("GET", "/api/v1/me", Some(&with("nbf", now - 5)), None).status, 200);
    assert_eq!(app.call("GET", "/api/v1/me", Some(&with("iat", now + 10)), None).status, 200);
    for (name, token) in [
        ("nbf an hour ahead", with("nbf", now + 3600)),
        ("nbf ten minutes ahead", with("nbf", now + 600)),
        ("iat an hour ahead", with("iat", now + 3600)),
        ("iat ten minutes ahead", with("iat", now + 600)),
        ("auth_time an hour ahead", with("auth_time", now + 3600)),
    ] {
        let answer = app.call("GET", "/api/v1/me", Some(&token), None);
        assert_error(&answer, 401, None);
        assert_eq!(answer.status, 401, "{name}");
    }
}

/// A request the way a browser on another site would send it: the session cookie only,
/// with that site's Origin.
fn cookie_only(app: &crate::helpers::TestApp, method: &str, path: &str, token: &str) -> u16 {
    let request = ureq::AgentBuilder::new()
        .redirects(0)
        .build()
        .request(method, &format!("{}{path}", app.address))
        .set("Cookie", &format!("cg_session={token}"))
        .set("Origin", "https://attacker.example");
    let result = if method == "GET" { request.call() } else { request.send_string("") };
    match result {
        Ok(r) => r.status(),
        Err(ureq::Error::Status(code, _)) => code,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn the_api_takes_the_session_cookie_for_reading_only() {
    let app = spawn_app();
    let admin = app.login("admin@demo.example.org", DEMO_PASSWORD);
    let users = app.call("GET", "/api/v1/admin/users", Some(&admin), None).json();
    let worker =
        users["users"].as_array().unwrap().iter().find(|u| u["email"] == "link.worker@demo.example.org").unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
    let disable = format!("/api/v1/admin/users/{worker}/disable");
    // The page cookie cannot change anything through the API: a forged cross-site POST gets 401.
    for (method, path) in [("POST", disable.as_str()), ("POST", "/api/v1/auth/logout"), ("DELETE", disable.as_str())] {
        let status = cookie_only(&app, method, path, &admin);
        assert!(status == 401 || status == 404 || status == 405, "{method} {path} with only the cookie: {status}");
    }
    assert_eq!(cookie_only(&app, "POST", &disable, &admin), 401);
    let worker_token = app.login("link.worker@demo.example.org", DEMO_PASSWORD);
    assert_eq!(app.call("GET", "/api/v1/me", Some(&worker_token), None).status, 200, "not disabled");
    assert_eq!(app.call("GET", "/api/v1/me", Some(&admin), None).status, 200, "not signed out");
    // Reading with the cookie still works (a signed-in person opening an API link).
    assert_eq!(cookie_only(&app, "GET", "/api/v1/me", &admin), 200);
    // With the bearer token the same request is made.
    assert_eq!(app.call("POST", &disable, Some(&admin), None).status, 204);
}
