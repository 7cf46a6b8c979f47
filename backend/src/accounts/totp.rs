//! Time-based one-time passwords (RFC 6238: HMAC-SHA1, 30-second steps, 6 digits), the second
//! factor people set up with any authenticator app.

use hmac::{Hmac, Mac};
use sha1::Sha1;

/// Seconds per code.
const STEP: u64 = 30;
/// Digits per code.
const DIGITS: u32 = 6;

/// A new random secret, base32 (what authenticator apps take).
pub fn new_secret() -> String {
    data_encoding::BASE32_NOPAD.encode(&crate::accounts::secrets::random_bytes::<20>())
}

fn code_at(secret: &[u8], counter: u64) -> Option<u32> {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret).ok()?;
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = (digest[19] & 0x0f) as usize;
    let binary =
        u32::from_be_bytes([digest[offset] & 0x7f, digest[offset + 1], digest[offset + 2], digest[offset + 3]]);
    Some(binary % 10u32.pow(DIGITS))
}

/// The code for a moment (for tests and set-up checks).
pub fn code(secret_base32: &str, unix_secs: u64) -> Option<String> {
    let secret = data_encoding::BASE32_NOPAD.decode(secret_base32.as_bytes()).ok()?;
    code_at(&secret, unix_secs / STEP).map(|c| format!("{c:06}"))
}

/// Checks a code, allowing one step either side for clock drift.
pub fn verify(secret_base32: &str, code_typed: &str, unix_secs: u64) -> bool {
    let typed: String = code_typed.chars().filter(|c| !c.is_whitespace()).collect();
    if typed.len() != DIGITS as usize || !typed.chars().all(|c| c.is_ascii_digit()) {
        return false;
    }
    let Ok(secret) = data_encoding::BASE32_NOPAD.decode(secret_base32.as_bytes()) else { return false };
    let counter = unix_secs / STEP;
    [counter.saturating_sub(1), counter, counter + 1].into_iter().any(|c| {
        code_at(&secret, c).is_some_and(|expected| {
            use subtle::ConstantTimeEq;
            format!("{expected:06}").as_bytes().ct_eq(typed.as_bytes()).into()
        })
    })
}

/// The `otpauth://` URI authenticator apps scan.
pub fn provisioning_uri(secret_base32: &str, email: &str) -> String {
    let label: String = form_urlencoded::byte_serialize(format!("Common Ground:{email}").as_bytes()).collect();
    format!("otpauth://totp/{label}?secret={secret_base32}&issuer=Common%20Ground&algorithm=SHA1&digits=6&period=30")
}

/// The URI as a QR code, an SVG to put inline in a page.
pub fn qr_svg(uri: &str) -> Option<String> {
    let code = qrcode::QrCode::new(uri.as_bytes()).ok()?;
    Some(code.render::<qrcode::render::svg::Color>().min_dimensions(200, 200).quiet_zone(true).build())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA1, 8 digits truncated to our 6.
    #[test]
    fn rfc_6238_vectors() {
        let secret = data_encoding::BASE32_NOPAD.encode(b"12345678901234567890");
        for (time, expected8) in
            [(59u64, "94287082"), (1_111_111_109, "07081804"), (1_234_567_890, "89005924"), (2_000_000_000, "69279037")]
        {
            assert_eq!(code(&secret, time).unwrap(), expected8[2..], "t={time}");
        }
    }

    #[test]
    fn verify_allows_one_step_of_drift_only() {
        let secret = new_secret();
        let now = 1_800_000_000;
        let current = code(&secret, now).unwrap();
        assert!(verify(&secret, &current, now));
        assert!(verify(&secret, &current, now + 30));
        assert!(!verify(&secret, &current, now + 95));
        assert!(!verify(&secret, "12345", now));
        assert!(!verify(&secret, "abcdef", now));
        assert!(provisioning_uri(&secret, "jo@example.org")
            .starts_with("otpauth://totp/Common+Ground%3Ajo%40example.org?secret="));
        assert!(qr_svg(&provisioning_uri(&secret, "jo@example.org")).unwrap().starts_with("<?xml"));
    }
}
