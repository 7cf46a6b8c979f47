//! Checks of contact details that people type: web addresses and phone numbers. Used by
//! listings, sign-up, referrals and imports alike.

/// Whether a web address is safe to link to: http or https only (never `javascript:` or `data:`).
pub fn safe_url(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://"))
        && lower.len() > 10
        && !lower.contains(char::is_whitespace)
}

/// Whether a phone number looks like a UK one: 10 to 13 digits, with spaces, `+`, `-` or
/// brackets between them.
pub fn valid_phone(phone: &str) -> bool {
    let digits = phone.chars().filter(char::is_ascii_digit).count();
    (10..=13).contains(&digits) && phone.trim().chars().all(|c| c.is_ascii_digit() || " +-()".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_addresses_and_phone_numbers() {
        assert!(safe_url("https://example.org/club"));
        for bad in ["javascript:alert(1)", "data:text/html,x", "http://a b.org", "https://x"] {
            assert!(!safe_url(bad), "{bad}");
        }
        for good in ["01632 960123", "+44 1632 960123", "(01632) 960-123"] {
            assert!(valid_phone(good), "{good}");
        }
        for bad in ["123", "01632 960123 ext 4", "phone me"] {
            assert!(!valid_phone(bad), "{bad}");
        }
    }
}
