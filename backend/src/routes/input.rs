//! The one edge where text enters: JSON bodies ([`Json`]), page forms ([`PageForm`])
//! and query strings ([`query_pairs`](super::query_pairs)). Each refuses control characters
//! before anything reads the values: a C0 control other than tab, line feed and carriage
//! return is a 422 naming the field (the JSON error shape on the API, a readable page for
//! pages). PostgreSQL cannot store a NUL in text, so without this a NUL in any field was a
//! 500 there; and no person types an escape or a backspace into a form.

use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;

use actix_web::{web, FromRequest, HttpRequest};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{ApiError, AppError, PageError};
use crate::routes::session::check_csrf;

/// What a refused field is told.
pub const REFUSED: &str = "must not contain control characters";

/// Whether a character is refused in text: C0 controls except tab, line feed, carriage return.
pub fn is_refused(c: char) -> bool {
    c < ' ' && !matches!(c, '\t' | '\n' | '\r')
}

/// Whether text holds a refused character.
pub fn has_refused(text: &str) -> bool {
    text.chars().any(is_refused)
}

/// The 422 for a field holding a refused character.
pub fn refused(field: &str) -> AppError {
    // The field name is the caller's text too: show it without its control characters.
    let shown: String = field.chars().filter(|c| !is_refused(*c)).collect();
    AppError::invalid(if shown.is_empty() { "(field name)" } else { &shown }, REFUSED)
}

/// Checks (name, value) pairs from a form or a query string.
pub fn check_pairs(pairs: &[(String, String)]) -> Result<(), AppError> {
    match pairs.iter().find(|(k, v)| has_refused(k) || has_refused(v)) {
        Some((k, _)) => Err(refused(k)),
        None => Ok(()),
    }
}

/// The path (`sessions[0].notes`) of the first string or key in a JSON value holding a
/// refused character.
pub fn refused_in_json(value: &Value) -> Option<String> {
    fn walk(value: &Value, path: &str) -> Option<String> {
        match value {
            Value::String(s) => has_refused(s).then(|| path.to_string()),
            Value::Array(items) => items.iter().enumerate().find_map(|(i, v)| walk(v, &format!("{path}[{i}]"))),
            Value::Object(map) => map.iter().find_map(|(k, v)| {
                let inner = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                if has_refused(k) {
                    Some(inner)
                } else {
                    walk(v, &inner)
                }
            }),
            _ => None,
        }
    }
    walk(value, "")
}

type Extracted<T, E> = Pin<Box<dyn Future<Output = Result<T, E>>>>;

/// A JSON body, refused with a 422 when any string in it holds a control character; use
/// instead of `web::Json` (the same `JsonConfig` limits and errors apply).
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    /// The value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Json<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = actix_web::Error;
    type Future = Extracted<Self, Self::Error>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let body = web::Json::<Value>::from_request(req, payload);
        Box::pin(async move {
            let value = body.await?.into_inner();
            if let Some(field) = refused_in_json(&value) {
                return Err(ApiError(refused(&field)).into());
            }
            serde_json::from_value(value).map(Json).map_err(|e| {
                ApiError(AppError::BadRequest {
                    code: "malformed_json",
                    message: format!("the body is not valid JSON: {e}"),
                    fields: Default::default(),
                })
                .into()
            })
        })
    }
}

/// A submitted page form, read into `T` once three checks pass: no field holds a control
/// character (else a 422 page naming it), the `csrf` field is the token of this session or
/// browser (else a 403 page), and the fields read into `T` (else a 400 page). A repeated field
/// (checkboxes) reads into a `Vec`, and an empty field into `None`; `csrf` is taken out first.
///
/// `T` is the API's own input struct wherever the page asks the same questions, so a page and
/// the API cannot drift apart; a page that lays its questions out differently (one row per
/// session, say) has a form struct of its own that converts into the API's.
#[derive(Debug)]
pub struct PageForm<T>(pub T);

impl<T> PageForm<T> {
    /// The value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for PageForm<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for PageForm<T> {
    type Error = actix_web::Error;
    type Future = Extracted<Self, Self::Error>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        // `web::Form` for the body, so the `FormConfig` limit, content type and errors apply.
        let body = web::Form::<Vec<(String, String)>>::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let mut pairs = body.await?.into_inner();
            check_pairs(&pairs).map_err(PageError)?;
            let token = pairs.iter().position(|(k, _)| k == "csrf").map(|i| pairs.remove(i).1).unwrap_or_default();
            check_csrf(&req, &token).map_err(PageError)?;
            Ok(PageForm(read_form(&pairs).map_err(PageError)?))
        })
    }
}

/// A form that is only a button (sign out, approve): nothing to read but its CSRF token.
#[derive(Debug, serde::Deserialize)]
pub struct Button {}

/// Reads checked pairs into `T`; a value that does not fit its field (a word where a number
/// goes) is a 400 saying so.
pub fn read_form<T: DeserializeOwned>(pairs: &[(String, String)]) -> Result<T, AppError> {
    let encoded = serde_html_form::to_string(pairs).map_err(|e| AppError::Internal(e.to_string()))?;
    serde_html_form::from_str(&encoded).map_err(|e| AppError::BadRequest {
        code: "malformed_form",
        message: format!("the form could not be read ({e}); go back, check what you typed and try again"),
        fields: Default::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_refused_except_tab_and_line_ends() {
        for c in (0u8..0x20).map(char::from) {
            assert_eq!(is_refused(c), !matches!(c, '\t' | '\n' | '\r'), "{:?}", c);
        }
        assert!(!has_refused("Café ☕ — line one\r\n\tline two \u{7f}"));
        assert!(has_refused("a\u{0}b"));
    }

    #[test]
    fn the_refused_field_is_named_by_its_path() {
        let value = serde_json::json!({"ok": "fine", "sessions": [{"notes": "x"}, {"notes": "a\u{1b}[2J"}]});
        assert_eq!(refused_in_json(&value).as_deref(), Some("sessions[1].notes"));
        assert_eq!(refused_in_json(&serde_json::json!({"a\u{0}": 1})).as_deref(), Some("a\u{0}"));
        assert_eq!(refused_in_json(&serde_json::json!(["\u{0}"])).as_deref(), Some("[0]"));
        assert_eq!(refused_in_json(&serde_json::json!({"n": 1, "b": true, "s": "\t"})), None);
        assert!(matches!(refused("a\u{0}"), AppError::Invalid(f) if f.contains_key("a")));
    }
}
