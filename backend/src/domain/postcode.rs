//! UK postcodes: full ("GL5 1HE") and outward codes ("GL5"), in any case and spacing.

use std::fmt;

/// A full UK postcode in canonical form: upper case, one space before the inward code.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Postcode(String);

/// The outward part of a postcode (area and district), e.g. `GL5` or `SW1A`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OutwardCode(String);

/// Why a postcode was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a UK postcode (like GL5 1HE)")]
pub struct PostcodeError(pub String);

fn compact(input: &str) -> String {
    input.chars().filter(|c| !c.is_whitespace()).flat_map(char::to_uppercase).collect()
}

/// Outward codes: A9, A99, AA9, AA99, A9A, AA9A.
fn is_outward(s: &str) -> bool {
    let b = s.as_bytes();
    let alpha = |i: usize| b.get(i).is_some_and(u8::is_ascii_alphabetic);
    let digit = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    match b.len() {
        2 => alpha(0) && digit(1),
        3 => (alpha(0) && digit(1) && (digit(2) || alpha(2))) || (alpha(0) && alpha(1) && digit(2)),
        4 => alpha(0) && alpha(1) && digit(2) && (digit(3) || alpha(3)),
        _ => false,
    }
}

impl Postcode {
    /// Parses a full postcode in any case and spacing.
    pub fn parse(input: &str) -> Result<Self, PostcodeError> {
        let s = compact(input);
        if s.len() < 5 || s.len() > 7 || !s.is_ascii() {
            return Err(PostcodeError(input.trim().chars().take(20).collect()));
        }
        let (outward, inward) = s.split_at(s.len() - 3);
        let ib = inward.as_bytes();
        let inward_ok = ib[0].is_ascii_digit() && ib[1].is_ascii_alphabetic() && ib[2].is_ascii_alphabetic();
        if !inward_ok || !is_outward(outward) {
            return Err(PostcodeError(input.trim().chars().take(20).collect()));
        }
        Ok(Self(format!("{outward} {inward}")))
    }

    /// The canonical text, e.g. `GL5 1HE`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The outward code, e.g. `GL5`.
    pub fn outward(&self) -> OutwardCode {
        OutwardCode(self.0.split(' ').next().unwrap_or_default().to_string())
    }
}

impl OutwardCode {
    /// Parses an outward code on its own, e.g. `gl5`.
    pub fn parse(input: &str) -> Result<Self, PostcodeError> {
        let s = compact(input);
        if s.is_ascii() && is_outward(&s) {
            Ok(Self(s))
        } else {
            Err(PostcodeError(input.trim().chars().take(20).collect()))
        }
    }

    /// The canonical text, e.g. `GL5`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Postcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for OutwardCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// True when the text looks like the start of a postcode (letters then a digit), so a failed
/// lookup can say "postcode not found" rather than "place not found".
pub fn looks_like_postcode(input: &str) -> bool {
    let s = compact(input);
    let mut chars = s.chars();
    matches!((chars.next(), s.chars().any(|c| c.is_ascii_digit())), (Some(c), true) if c.is_ascii_alphabetic())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_postcodes_in_any_spacing_and_case() {
        for (input, canonical) in [
            ("GL5 1HE", "GL5 1HE"),
            ("gl51he", "GL5 1HE"),
            ("  Gl5   1he ", "GL5 1HE"),
            ("OX1 2JD", "OX1 2JD"),
            ("SW1A 1AA", "SW1A 1AA"),
            ("W1A 0AX", "W1A 0AX"),
            ("M1 1AE", "M1 1AE"),
            ("GL50 1AA", "GL50 1AA"),
        ] {
            assert_eq!(Postcode::parse(input).unwrap().as_str(), canonical, "{input}");
        }
    }

    #[test]
    fn malformed_postcodes_are_refused() {
        for input in ["", "GL5", "GL5 1H", "12345", "GL5 1HEX", "GLX5 1HE", "G 1HE", "GL5 HHE", "ÅL5 1HE", "GL5-1HE!"]
        {
            assert!(Postcode::parse(input).is_err(), "{input}");
        }
    }

    #[test]
    fn outward_codes() {
        assert_eq!(OutwardCode::parse("gl5").unwrap().as_str(), "GL5");
        assert_eq!(OutwardCode::parse("GL50").unwrap().as_str(), "GL50");
        assert_eq!(OutwardCode::parse("sw1a").unwrap().as_str(), "SW1A");
        assert!(OutwardCode::parse("Stroud").is_err());
        assert_eq!(Postcode::parse("GL5 1HE").unwrap().outward().as_str(), "GL5");
        assert!(looks_like_postcode("ZZ9 9ZZ"));
        assert!(!looks_like_postcode("Stroud"));
    }
}
