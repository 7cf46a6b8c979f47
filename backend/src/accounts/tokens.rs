//! Access tokens: JWTs signed with HS256 (the algorithm pinned: `none`, RS256 and anything else
//! are refused), with `iss`, `aud`, `sub`, `exp` and `iat` all required; a token is refused before
//! its `nbf`, and one claiming to be issued (or signed in) in the future, beyond a small leeway
//! for clock differences between instances. A token carries the
//! user's token version; signing out, being disabled or changing the password bumps it, which
//! revokes every earlier token at once.

use std::path::Path;

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::config::{Environment, Secret, Settings};

/// Issuer and audience of every token.
pub const ISSUER: &str = "commonground";
/// Audience of every token.
pub const AUDIENCE: &str = "commonground";
/// Leeway for clock differences, in seconds.
const LEEWAY_SECS: i64 = 30;

/// The claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// The user id.
    pub sub: String,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// When the person signed in (renewals keep it; sessions end `session_hours` after it).
    pub auth_time: i64,
    /// The user's token version when issued.
    pub ver: i32,
    /// Token id.
    pub jti: String,
}

/// Why a token was refused (all answer 401; the reason is for logs only).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("token refused: {0}")]
pub struct TokenError(pub String);

/// Signing and checking keys with the validation rules.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    /// As `validation`, without the time checks: for telling whose a (perhaps expired) session
    /// cookie is, never for letting anyone in.
    identity: Validation,
    /// Lifetime of one token.
    pub ttl_secs: i64,
    /// Longest a session may be renewed for after signing in.
    pub session_secs: i64,
    /// Key for CSRF tokens, derived from the signing secret (so a CSRF token is never a
    /// signature over anything a token could carry).
    csrf_key: [u8; 32],
    /// Key for introductions' answer links, derived likewise (a link is never a token).
    answer_link_key: [u8; 32],
    /// Key for the codes of people's own pages and their devices' cookies, derived likewise.
    person_key: [u8; 32],
    /// Key for visitors' shortlist cookies, derived likewise.
    shortlist_key: [u8; 32],
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKeys").field("ttl_secs", &self.ttl_secs).finish_non_exhaustive()
    }
}

impl TokenKeys {
    /// Keys from a secret (at least 32 bytes).
    pub fn new(secret: &[u8], ttl_minutes: i64, session_hours: i64) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iat", "sub", "iss", "aud"]);
        validation.leeway = LEEWAY_SECS.unsigned_abs();
        validation.validate_exp = true;
        // `nbf` is optional (we do not issue it) but, when present, binding.
        validation.validate_nbf = true;
        let mut identity = validation.clone();
        identity.validate_exp = false;
        identity.validate_nbf = false;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            identity,
            ttl_secs: ttl_minutes * 60,
            session_secs: session_hours * 3600,
            csrf_key: super::secrets::hmac(secret, b"commonground csrf key v1"),
            answer_link_key: super::secrets::hmac(secret, b"commonground answer link key v1"),
            person_key: super::secrets::hmac(secret, b"commonground person page key v1"),
            shortlist_key: super::secrets::hmac(secret, b"commonground shortlist key v1"),
        }
    }

    /// The key that signs and checks introductions' answer links.
    pub fn answer_link_key(&self) -> &[u8; 32] {
        &self.answer_link_key
    }

    /// The key that makes the codes of people's own pages and checks their devices' cookies.
    pub fn person_key(&self) -> &[u8; 32] {
        &self.person_key
    }

    /// The key that signs visitors' shortlist cookies.
    pub fn shortlist_key(&self) -> &[u8; 32] {
        &self.shortlist_key
    }

    /// The CSRF token for what a form is bound to (a session's identity or a browser's random
    /// value): an HMAC only this server can make, base64url.
    pub fn csrf_tag(&self, binding: &str) -> String {
        data_encoding::BASE64URL_NOPAD.encode(&super::secrets::hmac(&self.csrf_key, binding.as_bytes()))
    }

    /// Issues a token.
    pub fn issue(&self, user_id: &str, version: i32, auth_time: i64, now: i64) -> Result<(String, i64), TokenError> {
        let exp = now + self.ttl_secs;
        let claims = Claims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: user_id.into(),
            exp,
            iat: now,
            auth_time,
            ver: version,
            jti: crate::ids::new_id(),
        };
        let token =
            encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).map_err(|e| TokenError(e.to_string()))?;
        Ok((token, exp))
    }

    /// Checks signature, algorithm and claims; the caller then checks the user and version.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        if token.len() > 4096 {
            return Err(TokenError("too long".into()));
        }
        let claims = decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|d| d.claims)
            .map_err(|e| TokenError(e.to_string()))?;
        // jsonwebtoken checks `exp` and `nbf` only. A token "issued" in the future would outlive
        // its lifetime and a future `auth_time` would stretch the session limit: only a forger
        // (or a badly wrong clock) makes either.
        let latest = chrono::Utc::now().timestamp() + LEEWAY_SECS;
        if claims.iat > latest || claims.auth_time > latest {
            return Err(TokenError("issued in the future".into()));
        }
        Ok(claims)
    }
}

impl TokenKeys {
    /// The claims of a token this server signed, expired or not: whose session a form belongs
    /// to. Never a sign-in: use [`TokenKeys::verify`] for that.
    pub fn verify_signature(&self, token: &str) -> Result<Claims, TokenError> {
        if token.len() > 4096 {
            return Err(TokenError("too long".into()));
        }
        decode::<Claims>(token, &self.decoding, &self.identity).map(|d| d.claims).map_err(|e| TokenError(e.to_string()))
    }
}

/// Why the signing secret could not be had.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// Production needs `COMMONGROUND_JWT_SECRET`.
    #[error("COMMONGROUND_JWT_SECRET must be set in production (at least 32 characters)")]
    Missing,
    /// Too short to be safe.
    #[error("COMMONGROUND_JWT_SECRET must be at least 32 characters")]
    TooShort,
    /// The generated secret could not be stored.
    #[error("cannot store the generated signing secret in {0}: {1}")]
    Store(String, std::io::Error),
}

/// The signing secret: from configuration, or in development generated once and kept in the
/// data folder (readable by the owner only).
pub fn signing_secret(settings: &Settings) -> Result<Secret, SecretError> {
    if let Some(secret) = settings.jwt_secret.as_ref().map(|s| s.expose().to_string()) {
        if secret.len() < 32 {
            return Err(SecretError::TooShort);
        }
        return Ok(Secret::new(secret));
    }
    if settings.env == Environment::Production {
        return Err(SecretError::Missing);
    }
    let path = settings.data_dir.join("jwt-secret");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        if existing.trim().len() >= 32 {
            return Ok(Secret::new(existing.trim()));
        }
    }
    let secret = super::secrets::random_token();
    write_private(&path, &secret).map_err(|e| SecretError::Store(path.display().to_string(), e))?;
    Ok(Secret::new(secret))
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    use std::io::Write;
    options.open(path)?.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_tokens_verify_and_carry_the_version() {
        let keys = TokenKeys::new(&[7u8; 32], 15, 12);
        let now = chrono::Utc::now().timestamp();
        let (token, exp) = keys.issue("user-1", 3, now, now).unwrap();
        assert_eq!(exp, now + 900);
        let claims = keys.verify(&token).unwrap();
        assert_eq!((claims.sub.as_str(), claims.ver), ("user-1", 3));
        let other = TokenKeys::new(&[8u8; 32], 15, 12);
        assert!(other.verify(&token).is_err(), "wrong key");
        let (old, _) = keys.issue("user-1", 3, now - 7200, now - 3600).unwrap();
        assert!(keys.verify(&old).is_err(), "expired beyond leeway");
        let (future, _) = keys.issue("user-1", 3, now, now + 600).unwrap();
        assert!(keys.verify(&future).is_err(), "issued in the future");
        let (ahead, _) = keys.issue("user-1", 3, now + 600, now).unwrap();
        assert!(keys.verify(&ahead).is_err(), "signed in in the future");
    }
}
