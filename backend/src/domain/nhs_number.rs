//! NHS numbers: ten digits, the last a modulus 11 check digit (weights 10 to 2 on the first
//! nine; check = 11 - (sum mod 11), where 11 means 0 and 10 means the number is invalid).
//! 999 000 0000 to 999 999 9999 are never issued and are safe for tests and demos.

use std::fmt;

/// A valid NHS number (digits only inside; shown as `999 123 4560`).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct NhsNumber(String);

/// Why a number was refused, in words for the person typing it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NhsNumberError {
    /// Not ten digits (spaces and dashes allowed).
    #[error("an NHS number has 10 digits")]
    Length,
    /// Something other than digits, spaces or dashes.
    #[error("an NHS number has only digits")]
    NotDigits,
    /// The check digit would be 10: no number has that.
    #[error("this is not a valid NHS number: check it against the person's record")]
    NoValidCheckDigit,
    /// The check digit does not match.
    #[error("this is not a valid NHS number: a digit may be mistyped, check it against the person's record")]
    CheckDigit,
}

impl NhsNumber {
    /// Parses `9991234560`, `999 123 4560` or `999-123-4560`.
    pub fn parse(input: &str) -> Result<Self, NhsNumberError> {
        let trimmed = input.trim();
        if trimmed.chars().any(|c| !(c.is_ascii_digit() || c == ' ' || c == '-')) {
            return Err(NhsNumberError::NotDigits);
        }
        let digits: Vec<u32> = trimmed.chars().filter_map(|c| c.to_digit(10)).collect();
        if digits.len() != 10 {
            return Err(NhsNumberError::Length);
        }
        let sum: u32 = digits[..9].iter().zip((2..=10).rev()).map(|(d, w)| d * w).sum();
        let check = match 11 - (sum % 11) {
            11 => 0,
            10 => return Err(NhsNumberError::NoValidCheckDigit),
            n => n,
        };
        if check != digits[9] {
            return Err(NhsNumberError::CheckDigit);
        }
        Ok(Self(digits.iter().map(|d| char::from_digit(*d, 10).unwrap_or('0')).collect()))
    }

    /// The ten digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True for the never-issued 999 range used in tests and demos.
    pub fn is_test_number(&self) -> bool {
        self.0.starts_with("999")
    }

    /// The check digit for nine digits, if one exists (for generating test numbers).
    pub fn check_digit(first_nine: &[u32; 9]) -> Option<u32> {
        let sum: u32 = first_nine.iter().zip((2..=10).rev()).map(|(d, w)| d * w).sum();
        match 11 - (sum % 11) {
            11 => Some(0),
            10 => None,
            n => Some(n),
        }
    }
}

impl fmt::Display for NhsNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", &self.0[..3], &self.0[3..6], &self.0[6..])
    }
}

impl fmt::Debug for NhsNumber {
    /// Never the number itself: debug output ends up in logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NhsNumber([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_numbers_in_any_spacing() {
        for input in ["9434765919", "943 476 5919", "943-476-5919", " 9434765919 ", "9990000018"] {
            assert!(NhsNumber::parse(input).is_ok(), "{input}");
        }
        assert_eq!(NhsNumber::parse("9434765919").unwrap().to_string(), "943 476 5919");
        assert_eq!(format!("{:?}", NhsNumber::parse("9434765919").unwrap()), "NhsNumber([redacted])");
    }

    #[test]
    fn invalid_numbers_say_why() {
        assert_eq!(NhsNumber::parse("9434765918"), Err(NhsNumberError::CheckDigit));
        assert_eq!(NhsNumber::parse("943476591"), Err(NhsNumberError::Length), "9 digits");
        assert_eq!(NhsNumber::parse("94347659190"), Err(NhsNumberError::Length), "11 digits");
        assert_eq!(NhsNumber::parse("94347A5919"), Err(NhsNumberError::NotDigits));
        assert_eq!(NhsNumber::parse(""), Err(NhsNumberError::Length));
        // 1000000060: the weighted sum of the first nine digits is 10 + 6*3 = 28... find a
        // number whose check would be 10 and make sure it is refused for that reason.
        let no_check = (0..1000u32)
            .map(|n| {
                let s = format!("999{n:06}");
                let d: Vec<u32> = s.chars().filter_map(|c| c.to_digit(10)).collect();
                [d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8]]
            })
            .find(|nine| NhsNumber::check_digit(nine).is_none())
            .unwrap();
        let text: String = no_check.iter().map(|d| char::from_digit(*d, 10).unwrap()).collect::<String>() + "0";
        assert_eq!(NhsNumber::parse(&text), Err(NhsNumberError::NoValidCheckDigit));
    }
}
