//! What a listing's editors send and how it is checked, for a new listing and an edit alike:
//! the venue they type, text lengths, the web address, e-mail and phone, the age range and the
//! chosen categories and audiences. Each check adds a field error in the words the person needs.

use serde::Deserialize;

use super::taxonomy::{Taxonomy, Vocabulary};
use crate::domain::contact::{safe_url, valid_phone};
use crate::domain::FieldErrors;

/// Longest description accepted.
pub const MAX_DESCRIPTION: usize = 20_000;

/// Where a listing happens, as typed.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewLocation {
    /// Venue name.
    pub name: String,
    /// Street address.
    #[serde(default)]
    pub address: String,
    /// Town or village.
    pub town: String,
    /// Postcode (must be found).
    pub postcode: String,
    /// Accessibility feature slugs.
    #[serde(default)]
    pub accessibility: Vec<String>,
    /// Show the address only on request.
    #[serde(default)]
    pub masked: bool,
}

/// A text of at most `max` characters (counted as typed).
pub fn too_long(errors: &mut FieldErrors, name: &str, value: &str, max: usize) {
    if value.chars().count() > max {
        errors.insert(name.into(), format!("at most {max} characters"));
    }
}

/// An edited text, when given: not empty when `required`, at most `max` characters once trimmed.
pub fn check_text(errors: &mut FieldErrors, name: &str, value: &Option<String>, required: bool, max: usize) {
    if let Some(v) = value {
        let trimmed = v.trim();
        if required && trimmed.is_empty() {
            errors.insert(name.into(), "this cannot be empty".into());
        } else if trimmed.chars().count() > max {
            errors.insert(name.into(), format!("at most {max} characters"));
        }
    }
}

/// A value given and not blank.
fn given(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.trim().is_empty())
}

/// The web address, e-mail and phone, each when given and not blank (blank clears it).
pub fn check_contacts(errors: &mut FieldErrors, url: Option<&str>, email: Option<&str>, phone: Option<&str>) {
    if given(url).is_some_and(|u| !safe_url(u)) {
        errors.insert("url".into(), "must be a web address starting with https:// or http://".into());
    }
    if given(email).is_some_and(|m| !crate::accounts::users::valid_email(m)) {
        errors.insert("email".into(), "enter an e-mail address like name@example.org".into());
    }
    if given(phone).is_some_and(|p| !valid_phone(p)) {
        errors.insert("phone".into(), "enter a UK phone number like 01632 960123".into());
    }
}

/// The ages given are 0 to 120, and the range they make with the ages kept (`minimum` and
/// `maximum`: given or as stored) is not upside down. An age out of range is the error shown.
pub fn check_ages(
    errors: &mut FieldErrors,
    given: (Option<i32>, Option<i32>),
    minimum: Option<i32>,
    maximum: Option<i32>,
) {
    if let (Some(lo), Some(hi)) = (minimum, maximum) {
        if lo > hi {
            errors.insert("maximum_age".into(), "must not be below the minimum age".into());
        }
    }
    for (name, age) in [("minimum_age", given.0), ("maximum_age", given.1)] {
        if age.is_some_and(|a| !(0..=120).contains(&a)) {
            errors.insert(name.into(), "must be between 0 and 120".into());
        }
    }
}

/// The vocabulary term ids for a listing's chosen categories (each with its parent, so a search
/// for "gardening" finds "allotments") and audiences, sorted; unknown slugs are field errors.
pub fn resolve_terms(
    taxonomy: &Taxonomy,
    categories: &[String],
    audiences: &[String],
    errors: &mut FieldErrors,
) -> Vec<String> {
    let mut term_ids = Vec::new();
    for slug in categories {
        match taxonomy.by_slug(Vocabulary::Category, slug) {
            Some(term) => {
                term_ids.push(term.id.clone());
                term_ids.extend(term.parent_id.clone());
            }
            None => {
                errors.insert(
                    "categories".into(),
                    format!("unknown category {:?}", slug.chars().take(40).collect::<String>()),
                );
            }
        }
    }
    for slug in audiences {
        match taxonomy.by_slug(Vocabulary::Audience, slug) {
            Some(term) => term_ids.push(term.id.clone()),
            None => {
                errors.insert(
                    "audiences".into(),
                    format!("unknown audience {:?}", slug.chars().take(40).collect::<String>()),
                );
            }
        }
    }
    term_ids.sort();
    term_ids.dedup();
    term_ids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_web_addresses_are_safe_links() {
        assert!(safe_url("https://garden.example.org"));
        assert!(safe_url("http://garden.example.org/page"));
        for bad in [
            "javascript:alert(1)",
            "JAVASCRIPT:alert(1)",
            "data:text/html;base64,AAAA",
            "ftp://x.example.org",
            "https://",
            "www.example.org",
            "https://a b.org",
        ] {
            assert!(!safe_url(bad), "{bad}");
        }
        assert_eq!(crate::spreadsheet::field("=SUM(A1)"), "\"'=SUM(A1)\"");
        assert_eq!(crate::spreadsheet::field("Say \"hi\""), "\"Say \"\"hi\"\"\"");
    }

    #[test]
    fn contacts_and_ages_are_checked_once_for_create_and_edit() {
        let mut errors = FieldErrors::new();
        check_contacts(&mut errors, Some("javascript:x"), Some("not an address"), Some("12"));
        assert_eq!(errors.keys().collect::<Vec<_>>(), ["email", "phone", "url"]);
        let mut errors = FieldErrors::new();
        check_contacts(&mut errors, Some(" "), Some(""), None);
        assert!(errors.is_empty(), "blank clears: {errors:?}");
        let mut errors = FieldErrors::new();
        check_ages(&mut errors, (None, Some(10)), Some(18), Some(10));
        assert_eq!(errors["maximum_age"], "must not be below the minimum age");
        let mut errors = FieldErrors::new();
        check_ages(&mut errors, (Some(50), Some(-1)), Some(50), Some(-1));
        assert_eq!(errors["maximum_age"], "must be between 0 and 120");
        let mut errors = FieldErrors::new();
        check_ages(&mut errors, (Some(0), Some(120)), Some(0), Some(120));
        assert!(errors.is_empty());
    }
}
