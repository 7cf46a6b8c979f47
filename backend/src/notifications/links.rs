//! Signed answer links: a group answers an introduction from the e-mail, without signing in.
//!
//! A link names the connection, the version it was at when the link was made, who it was sent
//! to (an editor's user id, or nobody for the group's contact address) and when it expires,
//! with an HMAC over all of it. It works once: answering moves the connection to a new
//! version, after which every link made for the old one is refused, so no table of used links
//! is needed. Links are made when the message is sent (not stored in the outbox), so no
//! usable link sits in the database.

use data_encoding::BASE64URL_NOPAD;

use crate::accounts::secrets::hmac;

/// What an answer link says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerClaims {
    /// The connection (introduction) it answers.
    pub connection_id: String,
    /// Its version when the link was made.
    pub version: i32,
    /// The editor it was sent to; none for the group's contact address.
    pub user_id: Option<String>,
    /// Unix seconds after which it no longer works.
    pub expires_at: i64,
}

/// Why a link was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// Not a link we made, or changed since.
    #[error("this link is not valid")]
    Altered,
    /// Too old.
    #[error("this link has expired")]
    Expired,
}

/// The key of "still accurate" links, derived from the answer links' key so that neither kind
/// of link can stand for the other (their claims have the same shape: a record, its version,
/// the recipient, the expiry).
pub fn listing_key(answer_key: &[u8; 32]) -> [u8; 32] {
    hmac(answer_key, b"commonground listing review links")
}

/// An unsubscribe link's token: the address, with an HMAC under a key of its own. It does not
/// expire (an old e-mail's link must still work) and using it twice does no harm.
pub fn sign_unsubscribe(answer_key: &[u8; 32], address: &str) -> String {
    let key = hmac(answer_key, b"commonground unsubscribe links");
    let address = address.trim().to_lowercase();
    format!(
        "{}.{}",
        BASE64URL_NOPAD.encode(address.as_bytes()),
        BASE64URL_NOPAD.encode(&hmac(&key, address.as_bytes()))
    )
}

/// The address an unsubscribe token is for, if we made it.
pub fn verify_unsubscribe(answer_key: &[u8; 32], token: &str) -> Option<String> {
    let key = hmac(answer_key, b"commonground unsubscribe links");
    let (address, mac) = token.split_once('.')?;
    let address = BASE64URL_NOPAD.decode(address.as_bytes()).ok()?;
    let mac = BASE64URL_NOPAD.decode(mac.as_bytes()).ok()?;
    let expected = hmac(&key, &address);
    if mac.len() != expected.len() || !bool::from(subtle::ConstantTimeEq::ct_eq(&expected[..], &mac[..])) {
        return None;
    }
    String::from_utf8(address).ok()
}

/// Makes a link's token.
pub fn sign(key: &[u8; 32], claims: &AnswerClaims) -> String {
    let payload = format!(
        "{}.{}.{}.{}",
        claims.connection_id,
        claims.version,
        claims.user_id.as_deref().unwrap_or("-"),
        claims.expires_at
    );
    let mac = hmac(key, payload.as_bytes());
    format!("{}.{}", BASE64URL_NOPAD.encode(payload.as_bytes()), BASE64URL_NOPAD.encode(&mac))
}

/// Checks a token: signature first (so nothing of an altered one is believed), then expiry.
pub fn verify(key: &[u8; 32], token: &str, now: i64) -> Result<AnswerClaims, LinkError> {
    let (payload, mac) = token.split_once('.').ok_or(LinkError::Altered)?;
    let payload = BASE64URL_NOPAD.decode(payload.as_bytes()).map_err(|_| LinkError::Altered)?;
    let mac = BASE64URL_NOPAD.decode(mac.as_bytes()).map_err(|_| LinkError::Altered)?;
    let expected = hmac(key, &payload);
    if mac.len() != expected.len() || !bool::from(subtle::ConstantTimeEq::ct_eq(&expected[..], &mac[..])) {
        return Err(LinkError::Altered);
    }
    let text = String::from_utf8(payload).map_err(|_| LinkError::Altered)?;
    let parts: Vec<&str> = text.split('.').collect();
    let [connection_id, version, user, expires] = parts[..] else { return Err(LinkError::Altered) };
    let claims = AnswerClaims {
        connection_id: connection_id.to_string(),
        version: version.parse().map_err(|_| LinkError::Altered)?,
        user_id: (user != "-").then(|| user.to_string()),
        expires_at: expires.parse().map_err(|_| LinkError::Altered)?,
    };
    if !crate::ids::is_id(&claims.connection_id) {
        return Err(LinkError::Altered);
    }
    if now > claims.expires_at {
        return Err(LinkError::Expired);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> AnswerClaims {
        AnswerClaims {
            connection_id: "0b6f5a52-6a53-4c43-9d2b-0f3f1c1d2e3f".into(),
            version: 2,
            user_id: None,
            expires_at: 2_000,
        }
    }

    #[test]
    fn a_link_checks_out_until_it_expires() {
        let key = [7u8; 32];
        let token = sign(&key, &claims());
        assert_eq!(verify(&key, &token, 1_000), Ok(claims()));
        assert_eq!(verify(&key, &token, 2_001), Err(LinkError::Expired));
    }

    #[test]
    fn an_altered_link_or_another_key_is_refused() {
        let key = [7u8; 32];
        let token = sign(&key, &claims());
        assert_eq!(verify(&[8u8; 32], &token, 1_000), Err(LinkError::Altered));
        let mut later = claims();
        later.expires_at = 9_999_999;
        let forged_payload = sign(&key, &later).split_once('.').unwrap().0.to_string();
        let mac = token.split_once('.').unwrap().1;
        assert_eq!(verify(&key, &format!("{forged_payload}.{mac}"), 1_000), Err(LinkError::Altered));
        for junk in ["", ".", "abc", "a.b.c", &token[1..]] {
            assert_eq!(verify(&key, junk, 1_000), Err(LinkError::Altered), "{junk}");
        }
    }
}
