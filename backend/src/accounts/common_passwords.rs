//! The passwords attackers try first: a list of 49,233 passwords seen most often in public
//! breaches (the list of the `@zxcvbn-ts/language-common` package, MIT licence; see the README's
//! design note), shipped gzipped inside the binary and loaded once, on first use. A password is
//! refused when it is a list word, or one with digits or symbols added at either end, or one
//! repeated (`letmeinletmein99`), whatever its length and case.

use std::collections::HashSet;
use std::io::Read;
use std::sync::OnceLock;

/// One password a line, lowercase, most common first.
const LIST_GZ: &[u8] = include_bytes!("common-passwords.txt.gz");

fn list() -> &'static HashSet<String> {
    static LIST: OnceLock<HashSet<String>> = OnceLock::new();
    LIST.get_or_init(|| {
        let mut text = String::new();
        // The list is part of the binary and checked by a test; if it could not be read the
        // length rules still apply, and the failure is logged once.
        if let Err(e) = flate2::read::GzDecoder::new(LIST_GZ).read_to_string(&mut text) {
            tracing::error!(error = %e, "the common-password list could not be read");
        }
        text.lines().filter(|l| !l.is_empty()).map(str::to_string).collect()
    })
}

/// The shortest unit the text is a repetition of (`abcabc` → `abc`), or the text itself.
fn unrepeated(text: &str) -> &str {
    let n = text.len();
    (1..=n / 2)
        .filter(|unit| n.is_multiple_of(*unit) && text.is_char_boundary(*unit))
        .find(|unit| text.as_bytes().chunks(*unit).all(|chunk| chunk == &text.as_bytes()[..*unit]))
        .map_or(text, |unit| &text[..unit])
}

/// Without the digits and symbols people add at either end to meet a rule (`Password1!`).
fn core(text: &str) -> &str {
    text.trim_matches(|c: char| !c.is_alphabetic())
}

/// The forms of a password a guesser would also try: lowercased, without separators, without
/// added digits and symbols, and a repeated word once.
pub fn variants(password: &str) -> Vec<String> {
    let lower = password.to_lowercase();
    let squeezed: String = lower.chars().filter(|c| !matches!(c, ' ' | '-' | '_' | '.')).collect();
    let mut out = Vec::new();
    for text in [lower.as_str(), squeezed.as_str()] {
        for form in [text, core(text), unrepeated(text), core(unrepeated(text)), unrepeated(core(text))] {
            if !form.is_empty() && !out.iter().any(|o| o == form) {
                out.push(form.to_string());
            }
        }
    }
    out
}

/// Whether the password is a common one, or one dressed up (see the module doc).
pub fn is_common(password: &str) -> bool {
    let list = list();
    variants(password).iter().any(|form| list.contains(form))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_shipped_and_loads() {
        assert!(list().len() > 40_000, "{}", list().len());
        assert!(list().contains("password") && list().contains("letmein") && list().contains("1qaz2wsx"));
    }

    #[test]
    fn common_passwords_dressed_up_are_still_common() {
        for weak in [
            "passwordpassword",
            "Password1234567890",
            "letmeinletmein99",
            "LETMEIN",
            "!!Sunshine2024!!",
            "football-football",
            "qwertyuiop123",
            "iloveyouiloveyou",
            "dragon dragon dragon",
        ] {
            assert!(is_common(weak), "{weak}");
        }
        for good in ["green valley tea party", "river meadow kettle 42", "runner beans on a windy hill", "tK9#vq2!Lm0p"]
        {
            assert!(!is_common(good), "{good}");
        }
    }

    #[test]
    fn repeats_and_cores() {
        assert_eq!(unrepeated("abcabcabc"), "abc");
        assert_eq!(unrepeated("abcab"), "abcab");
        assert_eq!(unrepeated("ééé"), "é");
        assert_eq!(core("--Pass1!"), "Pass");
        assert_eq!(core("12345"), "");
    }
}
