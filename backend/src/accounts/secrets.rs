//! Random secrets and their hashes: the signing key, link tokens, CSRF tokens; HMAC.

use sha2::{Digest, Sha256};

/// Cryptographically random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    // getrandom only fails when the OS has no entropy source; a zeroed key must then never be
    // used, so fall back to a fresh UUID's randomness (also from the OS) rather than zeros.
    if getrandom::getrandom(&mut buf).is_err() {
        for chunk in buf.chunks_mut(16) {
            let id = uuid::Uuid::new_v4();
            chunk.copy_from_slice(&id.as_bytes()[..chunk.len()]);
        }
    }
    buf
}

/// A random token for a URL or a cookie (256 bits, base64url).
pub fn random_token() -> String {
    data_encoding::BASE64URL_NOPAD.encode(&random_bytes::<32>())
}

/// What is stored instead of a token: its SHA-256, hex.
pub fn token_hash(token: &str) -> String {
    data_encoding::HEXLOWER.encode(&Sha256::digest(token.as_bytes()))
}

/// HMAC-SHA256 of the data under the key.
pub fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    use hmac::Mac;
    match hmac::Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.finalize().into_bytes().into()
        }
        // HMAC takes keys of any length, so this cannot happen; stay keyed all the same.
        Err(_) => Sha256::new().chain_update(key).chain_update([0u8]).chain_update(data).finalize().into(),
    }
}

/// Compares secrets in constant time.
pub fn same(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}
