//! A local HTTP server that answers as GOV.UK Notify's API v2 does, for the e-mail and text
//! endpoints: it checks the JWT (HS256 with the key's secret, `iss` the service id, `iat`
//! within 30 seconds) and answers 201 with Notify's body, 403 with Notify's error for a bad
//! token, 400 for an address containing `invalid`, and on demand (a queue of statuses to
//! answer next) 400, 403, 429 or 500. `GET /v2/notifications/{id}` answers a sent message's
//! status (`sending` until a test sets another), 404 for an id it never gave.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jsonwebtoken::{decode, Algorithm, DecodingKey, Validation};
use serde_json::{json, Value};

/// A service id and secret for tests (the key is `test_key-{service}-{secret}`).
pub const SERVICE_ID: &str = "26785a09-ab16-4eb0-8407-a37497a57506";
/// Its secret.
pub const SECRET: &str = "3d844edf-8d35-48ac-975b-e847b4f122b0";

/// One request Notify accepted or refused.
#[derive(Debug, Clone)]
pub struct Request {
    /// `/v2/notifications/email` or `/v2/notifications/sms`.
    pub path: String,
    /// The JSON body.
    pub body: Value,
    /// The status answered.
    pub status: u16,
    /// When it arrived.
    pub at: Instant,
}

#[derive(Default)]
struct Shared {
    requests: Mutex<Vec<Request>>,
    script: Mutex<VecDeque<u16>>,
    statuses: Mutex<std::collections::HashMap<String, String>>,
}

/// The stand-in.
pub struct NotifyStub {
    port: u16,
    shared: Arc<Shared>,
}

impl NotifyStub {
    /// Starts on a free port.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared::default());
        let serving = shared.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = serving.clone();
                std::thread::spawn(move || {
                    let _ = serve(stream, &shared);
                });
            }
        });
        Self { port, shared }
    }

    /// Its address, for `COMMONGROUND_NOTIFY_URL`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// An API key for it, for `COMMONGROUND_NOTIFY_API_KEY`.
    pub fn api_key() -> String {
        format!("test_key-{SERVICE_ID}-{SECRET}")
    }

    /// Answers the next requests with these statuses (then 201 again).
    pub fn answer_next(&self, statuses: &[u16]) {
        self.shared.script.lock().unwrap().extend(statuses);
    }

    /// What a status look-up of the message `id` answers from now (`delivered`,
    /// `permanent-failure`, ...).
    pub fn set_status(&self, id: &str, status: &str) {
        self.shared.statuses.lock().unwrap().insert(id.to_string(), status.to_string());
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Request> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// Waits until `n` requests were answered 201; false on timeout.
    pub fn wait_for_sent(&self, n: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            let sent = self.shared.requests.lock().unwrap().iter().filter(|r| r.status == 201).count();
            if sent >= n {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[derive(serde::Deserialize)]
struct Claims {
    iss: String,
    iat: i64,
}

fn serve(stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
    let (mut length, mut authorization) = (0usize, String::new());
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').unwrap_or((&line, ""));
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse().unwrap_or(0),
            "authorization" => authorization = value.trim().to_string(),
            _ => {}
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let (status, answer) = respond(&path, &authorization, &body, shared);
    shared.requests.lock().unwrap().push(Request { path, body, status, at: Instant::now() });
    let text = answer.to_string();
    let reason = match status {
        200 => "OK",
        201 => "Created",
        404 => "Not Found",
        400 => "Bad Request",
        403 => "Forbidden",
        429 => "Too Many Requests",
        _ => "Internal Server Error",
    };
    write!(
        writer,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    )
}

fn error(status: u16, kind: &str, message: &str) -> (u16, Value) {
    (status, json!({"status_code": status, "errors": [{"error": kind, "message": message}]}))
}

fn respond(path: &str, authorization: &str, body: &Value, shared: &Shared) -> (u16, Value) {
    let token = authorization.strip_prefix("Bearer ").unwrap_or("");
    let mut validation = Validation::new(Algorithm::HS256);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    let claims = decode::<Claims>(token, &DecodingKey::from_secret(SECRET.as_bytes()), &validation);
    match claims {
        Ok(c) if c.claims.iss == SERVICE_ID && (chrono_now() - c.claims.iat).abs() <= 30 => {}
        Ok(_) => return error(403, "AuthError", "Invalid token: iss or iat not accepted"),
        Err(_) => return error(403, "AuthError", "Invalid token: signature, api token not found"),
    }
    if let Some(status) = shared.script.lock().unwrap().pop_front() {
        return match status {
            400 => error(400, "BadRequestError", "Can't send to this recipient using a team-only API key"),
            403 => error(403, "AuthError", "Invalid token: API key revoked"),
            429 => {
                error(429, "RateLimitError", "Exceeded rate limit for key type LIVE of 3000 requests per 60 seconds")
            }
            _ => error(500, "Exception", "Internal server error"),
        };
    }
    if let Some(id) = path.strip_prefix("/v2/notifications/").filter(|p| !matches!(*p, "email" | "sms")) {
        return match shared.statuses.lock().unwrap().get(id) {
            Some(status) => (200, json!({"id": id, "status": status, "type": "sms"})),
            None if id.starts_with("740e5834-3a29-46b4-9a6f-") => (200, json!({"id": id, "status": "sending"})),
            None => error(404, "NoResultFound", "No result found"),
        };
    }
    let (field, kind) = match path {
        "/v2/notifications/email" => ("email_address", "email"),
        "/v2/notifications/sms" => ("phone_number", "sms"),
        _ => return error(404, "NotFound", "no such endpoint"),
    };
    let address = body[field].as_str().unwrap_or("");
    if address.contains("invalid") || address.is_empty() {
        let what = if kind == "email" {
            "email_address Not a valid email address"
        } else {
            "phone_number Not a UK mobile number"
        };
        return error(400, "ValidationError", what);
    }
    if body["template_id"].as_str().unwrap_or("").is_empty() {
        return error(400, "ValidationError", "template_id is not a valid UUID");
    }
    let id = format!("740e5834-3a29-46b4-9a6f-{:012x}", shared.requests.lock().unwrap().len());
    (
        201,
        json!({
            "id": id,
            "reference": body["reference"],
            "content": {"subject": "Subject", "body": "Body", "from_email": "service@notifications.service.gov.uk"},
            "uri": format!("https://api.notifications.service.gov.uk/v2/notifications/{id}"),
            "template": {"id": body["template_id"], "version": 1, "uri": "https://api.notifications.service.gov.uk/v2/template/x"}
        }),
    )
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}
