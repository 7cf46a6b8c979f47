//! The one place errors meet HTTP. Use-cases return their own errors; they become an
//! [`AppError`], which renders as the JSON error shape on the API ([`ApiError`]) or as a
//! readable page ([`PageError`]). A 500 is logged here, once, and the person sees a generic
//! message: internals never leak into a response.

use std::collections::BTreeMap;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::domain::FieldErrors;

/// The message for every failed sign-in, whatever the reason.
pub const SIGN_IN_FAILURE: &str = "The e-mail address, password or code is not right.";

/// What went wrong, independent of how it is shown.
#[derive(Debug, Clone)]
pub enum AppError {
    /// The request cannot be understood (400).
    BadRequest {
        /// Machine-readable code.
        code: &'static str,
        /// For people.
        message: String,
        /// Per field.
        fields: FieldErrors,
    },
    /// Understood, but values are not acceptable (422).
    Invalid(FieldErrors),
    /// No such record, or one the caller may not know exists (404).
    NotFound {
        /// For people.
        message: String,
        /// Per field, when a parameter named something that does not exist.
        fields: FieldErrors,
    },
    /// Not signed in, or the token is not valid (401). Pages redirect to the sign-in page.
    SignInRequired(String),
    /// Wrong e-mail, password or code (401), one message whatever the reason.
    SignInFailed,
    /// Signed in but not allowed, for actions on no particular record (403). Records the
    /// caller may not see answer [`AppError::NotFound`] instead.
    Forbidden(String),
    /// Too many attempts (429), with the seconds to wait.
    TooManyRequests(u64),
    /// A conflict (409): a stale version, or a move the status machine refuses (with the
    /// moves that are allowed).
    Conflict {
        /// For people.
        message: String,
        /// Allowed moves, when a move was refused.
        allowed: Vec<String>,
    },
    /// Body too large (413).
    PayloadTooLarge(String),
    /// A dependency (database) is not reachable now (503).
    Unavailable(String),
    /// A bug or an unexpected failure (500): logged with the detail, shown without it.
    Internal(String),
}

impl AppError {
    /// A 404 for a record.
    pub fn not_found(message: impl Into<String>) -> Self {
        AppError::NotFound { message: message.into(), fields: FieldErrors::new() }
    }

    /// A 422 for one field.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        AppError::Invalid(BTreeMap::from([(field.to_string(), message.into())]))
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::NotFound { .. } => StatusCode::NOT_FOUND,
            AppError::SignInRequired(_) | AppError::SignInFailed => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Conflict { .. } => StatusCode::CONFLICT,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            AppError::BadRequest { code, .. } => code,
            AppError::Invalid(_) => "validation_failed",
            AppError::NotFound { .. } => "not_found",
            AppError::SignInRequired(_) => "unauthorized",
            AppError::SignInFailed => "sign_in_failed",
            AppError::Forbidden(_) => "forbidden",
            AppError::TooManyRequests(_) => "too_many_requests",
            AppError::PayloadTooLarge(_) => "payload_too_large",
            AppError::Conflict { allowed, .. } if !allowed.is_empty() => "transition_refused",
            AppError::Conflict { .. } => "conflict",
            AppError::Unavailable(_) => "unavailable",
            AppError::Internal(_) => "internal",
        }
    }

    /// The message shown to people (never internal detail).
    pub fn public_message(&self) -> String {
        match self {
            AppError::BadRequest { message, .. }
            | AppError::NotFound { message, .. }
            | AppError::PayloadTooLarge(message)
            | AppError::Forbidden(message)
            | AppError::Conflict { message, .. } => message.clone(),
            AppError::SignInRequired(_) => "sign in first (your session may have ended)".into(),
            AppError::SignInFailed => SIGN_IN_FAILURE.into(),
            AppError::TooManyRequests(secs) => {
                format!("too many attempts; try again in {} minute(s)", secs.div_ceil(60).max(1))
            }
            AppError::Invalid(fields) => {
                let names: Vec<&str> = fields.keys().map(String::as_str).collect();
                format!("check {}", names.join(", "))
            }
            AppError::Unavailable(_) => {
                "the service is starting or its database is unreachable; try again shortly".into()
            }
            AppError::Internal(_) => "something went wrong on our side; it has been logged".into(),
        }
    }

    /// Field errors, if any.
    pub fn fields(&self) -> FieldErrors {
        match self {
            AppError::BadRequest { fields, .. } | AppError::NotFound { fields, .. } | AppError::Invalid(fields) => {
                fields.clone()
            }
            _ => FieldErrors::new(),
        }
    }

    /// Seconds to send in `Retry-After`, for answers that mean "try again later".
    fn retry_after(&self) -> Option<u64> {
        match self {
            AppError::TooManyRequests(secs) => Some(*secs),
            AppError::Unavailable(_) => Some(RETRY_AFTER_SECS),
            _ => None,
        }
    }

    fn log(&self) {
        match self {
            AppError::Internal(detail) => tracing::error!(error = %detail, "request failed"),
            AppError::Unavailable(detail) => {
                tracing::warn!(error = %detail, "dependency unavailable")
            }
            _ => {}
        }
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code(), self.public_message())
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match e {
            // Two people saving the same thing at once: the second is told, nothing is lost.
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation | DatabaseErrorKind::SerializationFailure, _) => {
                AppError::Conflict {
                    message: "someone else saved this at the same moment; reload and try again".into(),
                    allowed: Vec::new(),
                }
            }
            other if database_unavailable(&other) => AppError::Unavailable(format!("database: {other}")),
            other => AppError::Internal(format!("database: {other}")),
        }
    }
}

/// Seconds a client is asked to wait after a 503.
const RETRY_AFTER_SECS: u64 = 5;

/// True for database errors that say "not now" rather than "wrong": the connection is gone
/// (PostgreSQL stopped, restarted or shut the session down: SQLSTATE class 08, 57P01-57P03),
/// or SQLite cannot take the write (locked past the busy timeout, disk full, I/O error). These
/// answer 503 with Retry-After; the pool reconnects by itself when the database is back.
pub fn database_unavailable(e: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    // diesel keeps PostgreSQL's SQLSTATE for a few classes only (class 08 and a lost connection
    // become ClosedConnection) and SQLite's result code not at all, so the rest is recognised by
    // the engines' fixed messages.
    const MESSAGES: [&str; 16] = [
        // SQLite: SQLITE_BUSY, SQLITE_LOCKED, SQLITE_FULL, SQLITE_IOERR, SQLITE_CANTOPEN.
        "database is locked",
        "database table is locked",
        "database or disk is full",
        "disk i/o error",
        "unable to open database file",
        // PostgreSQL: 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now.
        "terminating connection due to administrator command",
        "terminating connection because of crash of another server process",
        "the database system is shutting down",
        "the database system is starting up",
        "the database system is in recovery mode",
        // libpq, when the server went away mid-session.
        "server closed the connection unexpectedly",
        "no connection to the server",
        "could not receive data from server",
        "could not send data to server",
        "connection to server",
        "ssl connection has been closed unexpectedly",
    ];
    match e {
        Error::DatabaseError(DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand, _) => true,
        Error::DatabaseError(_, info) => {
            let message = info.message().to_ascii_lowercase();
            MESSAGES.iter().any(|m| message.contains(m))
        }
        Error::RollbackErrorOnCommit { commit_error, .. } => database_unavailable(commit_error),
        // A rollback that failed: the connection is gone with the transaction.
        Error::BrokenTransactionManager => true,
        _ => false,
    }
}

impl From<diesel::r2d2::PoolError> for AppError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        AppError::Unavailable(format!("database pool: {e}"))
    }
}

impl From<search_index::SearchError> for AppError {
    fn from(e: search_index::SearchError) -> Self {
        match e {
            // The indexer is rebuilding it from the database: a moment, not a bug.
            search_index::SearchError::Damaged(_) => AppError::Unavailable(e.to_string()),
            e => AppError::Internal(e.to_string()),
        }
    }
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        AppError::Internal(format!("blocking task: {e}"))
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    code: &'a str,
    message: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    fields: FieldErrors,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    allowed: Vec<String>,
}

/// An error answered as JSON: `{"error": {"code", "message", "fields"}}`.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<E: Into<AppError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

/// The JSON error response of an [`AppError`].
pub fn json_response(error: &AppError) -> HttpResponse {
    error.log();
    let mut response = HttpResponse::build(error.status());
    response.insert_header((header::CACHE_CONTROL, "no-store"));
    if let Some(secs) = error.retry_after() {
        response.insert_header((header::RETRY_AFTER, secs.to_string()));
    }
    if matches!(error, AppError::SignInRequired(_)) {
        response.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"commonground\""));
    }
    response.json(ErrorBody {
        error: ErrorDetail {
            code: error.code(),
            message: error.public_message(),
            fields: error.fields(),
            allowed: if let AppError::Conflict { allowed, .. } = error { allowed.clone() } else { Vec::new() },
        },
    })
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.0.status()
    }

    fn error_response(&self) -> HttpResponse {
        json_response(&self.0)
    }
}

/// An error answered as an HTML page.
#[derive(Debug)]
pub struct PageError(pub AppError);

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<E: Into<AppError>> From<E> for PageError {
    fn from(e: E) -> Self {
        PageError(e.into())
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#x27;")
}

/// The HTML error page of an [`AppError`]: self-contained, so it renders even when templates
/// cannot.
pub fn page_response(error: &AppError) -> HttpResponse {
    error.log();
    if matches!(error, AppError::SignInRequired(_)) {
        return HttpResponse::SeeOther().insert_header((header::LOCATION, "/sign-in")).finish();
    }
    let title = match error.status() {
        StatusCode::NOT_FOUND => "Page not found",
        StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => "Please check what you entered",
        StatusCode::PAYLOAD_TOO_LARGE => "That was too large",
        StatusCode::FORBIDDEN => "You cannot do that",
        StatusCode::CONFLICT => "Someone else changed this",
        StatusCode::TOO_MANY_REQUESTS => "Please wait a few minutes",
        StatusCode::SERVICE_UNAVAILABLE => "Not available just now",
        _ => "Sorry, something went wrong",
    };
    let mut items = String::new();
    for (field, message) in error.fields() {
        items.push_str(&format!("<li><strong>{}</strong>: {}</li>", escape(&field), escape(&message)));
    }
    let list = if items.is_empty() { String::new() } else { format!("<ul class=\"error-list\">{items}</ul>") };
    let body = format!(
        "<!doctype html><html lang=\"en-GB\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} – Common Ground</title><link rel=\"stylesheet\" href=\"/static/site.css\"></head><body>\
         <header class=\"site-header\"><a class=\"brand\" href=\"/\">Common Ground</a></header>\
         <main id=\"main\" class=\"page\"><h1>{title}</h1><div class=\"error-summary\" role=\"alert\"><p>{}</p>{list}</div>\
         <p><a href=\"/\">Search the directory</a></p></main></body></html>",
        escape(&error.public_message())
    );
    let mut response = HttpResponse::build(error.status());
    if let Some(secs) = error.retry_after() {
        response.insert_header((header::RETRY_AFTER, secs.to_string()));
    }
    response.content_type("text/html; charset=utf-8").body(body)
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        self.0.status()
    }

    fn error_response(&self) -> HttpResponse {
        page_response(&self.0)
    }
}

/// An error from an extractor (who is asking, which record): an extractor serves API and page
/// handlers alike, so the request's path decides the answer's form, JSON under `/api/` and a
/// page elsewhere.
#[derive(Debug)]
pub struct RequestError {
    /// What went wrong.
    pub error: AppError,
    /// Answer as JSON (an API route) rather than a page.
    pub json: bool,
    /// For a page that needs signing in: the page to go back to afterwards (a path of this
    /// site, checked again by the sign-in page).
    pub next: Option<String>,
}

impl RequestError {
    /// The error, in the form the request's path calls for.
    pub fn for_path(path: &str, error: AppError) -> Self {
        RequestError { error, json: path.starts_with("/api/"), next: None }
    }

    /// As [`RequestError::for_path`]; a page asked for with GET comes back to itself after
    /// signing in.
    pub fn for_request(req: &actix_web::HttpRequest, error: AppError) -> Self {
        let mut answer = Self::for_path(req.path(), error);
        if req.method() == actix_web::http::Method::GET {
            answer.next = Some(req.uri().path_and_query().map_or(req.path(), |p| p.as_str()).to_string());
        }
        answer
    }
}

/// A path of this site that is safe to send someone to after signing in: it starts with one
/// `/`, has no backslash, no scheme and nothing but visible ASCII. Anything else (another
/// site, `//evil.example`, a header break) is refused.
pub fn safe_return_path(next: &str) -> Option<&str> {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/sign-in")
        && next.len() <= 500
        && next.bytes().all(|b| b.is_ascii_graphic() && b != b'\\');
    ok.then_some(next)
}

impl std::fmt::Display for RequestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl ResponseError for RequestError {
    fn status_code(&self) -> StatusCode {
        self.error.status()
    }

    fn error_response(&self) -> HttpResponse {
        if self.json {
            json_response(&self.error)
        } else if let (AppError::SignInRequired(_), Some(next)) = (&self.error, self.next.as_deref()) {
            self.error.log();
            let next: String = form_urlencoded::byte_serialize(next.as_bytes()).collect();
            HttpResponse::SeeOther().insert_header((header::LOCATION, format!("/sign-in?next={next}"))).finish()
        } else {
            page_response(&self.error)
        }
    }
}

#[cfg(test)]
mod tests {
    use diesel::result::{DatabaseErrorKind, Error};

    use super::*;

    fn db(kind: DatabaseErrorKind, message: &str) -> AppError {
        Error::DatabaseError(kind, Box::new(message.to_string())).into()
    }

    #[test]
    fn database_faults_answer_503_and_mistakes_do_not() {
        let unavailable = [
            db(DatabaseErrorKind::ClosedConnection, "server closed the connection unexpectedly"),
            db(DatabaseErrorKind::UnableToSendCommand, "no connection to the server"),
            db(DatabaseErrorKind::Unknown, "terminating connection due to administrator command"),
            db(DatabaseErrorKind::Unknown, "the database system is shutting down"),
            db(DatabaseErrorKind::Unknown, "database is locked"),
            db(DatabaseErrorKind::Unknown, "database or disk is full"),
            db(DatabaseErrorKind::Unknown, "disk I/O error"),
            Error::BrokenTransactionManager.into(),
        ];
        for error in &unavailable {
            assert_eq!(error.status(), StatusCode::SERVICE_UNAVAILABLE, "{error:?}");
            assert_eq!(error.retry_after(), Some(RETRY_AFTER_SECS));
            assert_eq!(json_response(error).headers().get(header::RETRY_AFTER).unwrap(), "5");
            assert_eq!(page_response(error).headers().get(header::RETRY_AFTER).unwrap(), "5");
        }
        let internal = [
            db(DatabaseErrorKind::Unknown, "no such column: nmae"),
            db(DatabaseErrorKind::ForeignKeyViolation, "FOREIGN KEY constraint failed"),
            Error::NotFound.into(),
        ];
        for error in &internal {
            assert_ne!(error.status(), StatusCode::SERVICE_UNAVAILABLE, "{error:?}");
            assert!(json_response(error).headers().get(header::RETRY_AFTER).is_none());
        }
        assert_eq!(db(DatabaseErrorKind::UniqueViolation, "UNIQUE constraint failed").status(), StatusCode::CONFLICT);
    }
}
