//! Passwords: argon2id with OWASP's parameters (19 MiB, 2 iterations, 1 lane), and the rules a
//! new password must meet.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// Shortest password accepted.
pub const MIN_LEN: usize = 12;
/// Longest password accepted (hashing cost is bounded).
pub const MAX_LEN: usize = 256;

fn hasher() -> Argon2<'static> {
    // OWASP Password Storage Cheat Sheet: argon2id, m=19456 KiB, t=2, p=1.
    let params = Params::new(19_456, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password (PHC string with its own salt).
pub fn hash(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    hasher().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| e.to_string())
}

/// Checks a password against a stored hash.
pub fn verify(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|parsed| hasher().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// A hash to verify against when the account does not exist, so a wrong e-mail takes as long
/// as a wrong password and timing does not tell which.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash("not-a-real-password-for-timing").unwrap_or_default())
}

/// The answer for a password on the common-password list (or a dressed-up one).
pub const TOO_COMMON: &str =
    "that password is too common: it is on the lists people use to guess passwords. A few unrelated words together work well";

/// Why a new password is refused: too short or long, too common (see
/// [`super::common_passwords`]), or made of the person's own name or e-mail address.
pub fn check_new(password: &str, email: &str, name: &str) -> Result<(), String> {
    let len = password.chars().count();
    if len < MIN_LEN {
        return Err(format!("use at least {MIN_LEN} characters (a few words together work well)"));
    }
    if len > MAX_LEN {
        return Err(format!("use at most {MAX_LEN} characters"));
    }
    let lower = password.to_lowercase();
    let local = email.split('@').next().unwrap_or("").to_lowercase();
    if !local.is_empty() && local.len() >= 4 && lower.contains(&local) {
        return Err("do not use your e-mail address in your password".into());
    }
    if is_personal(password, email, name) {
        return Err("do not use your name or e-mail address as your password".into());
    }
    if super::common_passwords::is_common(password) {
        return Err(TOO_COMMON.into());
    }
    if password.chars().collect::<std::collections::HashSet<_>>().len() < 5 {
        return Err("use more different characters".into());
    }
    Ok(())
}

/// Whether the password is the person's name (whole, or one part of it dressed up) or e-mail.
fn is_personal(password: &str, email: &str, name: &str) -> bool {
    let squeeze = |t: &str| -> String { t.to_lowercase().chars().filter(|c| c.is_alphanumeric()).collect() };
    let full_name = squeeze(name);
    if full_name.chars().count() >= 4 && squeeze(password).contains(&full_name) {
        return true;
    }
    let mut personal: Vec<String> = name.split_whitespace().map(squeeze).filter(|p| p.chars().count() >= 3).collect();
    personal.push(email.trim().to_lowercase());
    let forms = super::common_passwords::variants(password);
    forms.iter().any(|form| personal.iter().any(|p| p == form || squeeze(form.as_str()) == *p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_differ() {
        let a = hash("correct horse battery staple").unwrap();
        let b = hash("correct horse battery staple").unwrap();
        assert_ne!(a, b, "salted");
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
        assert!(verify("correct horse battery staple", &a));
        assert!(!verify("correct horse battery stapler", &a));
        assert!(!verify("anything", "not a hash"));
    }

    #[test]
    fn new_password_rules() {
        assert!(check_new("short", "a@b.org", "A B").is_err());
        assert!(check_new("password12345", "a@b.org", "A B").is_err());
        assert!(check_new("aaaaaaaaaaaaaaaa", "a@b.org", "A B").is_err());
        assert!(check_new("jo.bloggs-garden-2026", "jo.bloggs@example.org", "Jo Bloggs").is_err());
        assert!(check_new(&"x".repeat(300), "a@b.org", "A B").is_err());
        assert!(check_new("green valley tea party", "jo@example.org", "Jo Bloggs").is_ok());
    }

    #[test]
    fn common_and_personal_passwords_are_refused() {
        for weak in ["passwordpassword", "Password1234567890", "letmeinletmein99"] {
            assert_eq!(check_new(weak, "pat@example.org", "Pat Green"), Err(TOO_COMMON.to_string()), "{weak}");
        }
        assert!(check_new("Bartholomew Featherstone", "bf@example.org", "Bartholomew Featherstone").is_err());
        assert!(check_new("Featherstone2026!!", "bf@example.org", "Bartholomew Featherstone").is_err());
        assert!(check_new("pat@example.org123", "pat@example.org", "Pat Green").is_err());
        assert!(check_new("my garden by the featherstone river", "bf@example.org", "Bartholomew Featherstone").is_ok());
    }
}
