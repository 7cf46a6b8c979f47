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
