//! Record ids: random UUID v4 for new records, UUID v5 (stable) for seeded ones, so loading the
//! seed twice updates in place.

use uuid::Uuid;

/// Namespace for Common Ground's stable ids.
const NAMESPACE: Uuid = Uuid::from_u128(0x5c0e7a1d_8f3b_4c2e_9a61_c0770e6d2b11);

/// A new random id.
pub fn new_id() -> String {
    Uuid::new_v4().to_string()
}

/// The same id for the same key, always.
pub fn stable_id(key: &str) -> String {
    Uuid::new_v5(&NAMESPACE, key.as_bytes()).to_string()
}

/// True when the text is a UUID (so a bad id in a URL is a 400/404, never a query error).
pub fn is_id(text: &str) -> bool {
    Uuid::parse_str(text).is_ok()
}

/// Declares a record id type: a lower-case UUID, checked once where it enters (the path), so
/// a use-case handed one never sees a malformed id.
macro_rules! record_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// What the id names, for "no referral with that id".
            pub const WHAT: &'static str = $what;

            /// `None` unless the text is a UUID.
            pub fn parse(text: &str) -> Option<Self> {
                is_id(text).then(|| Self(text.to_ascii_lowercase()))
            }

            /// A new random id, for a record being created.
            #[expect(clippy::new_without_default, reason = "a fresh id is made on purpose, never by default")]
            pub fn new() -> Self {
                Self(new_id())
            }

            /// The id as stored.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        // Merges (whose ids are pasted into a form) and internal helpers take `&str`: a typed id
        // lends its text where one is asked for.
        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

record_id!(
    /// A referral.
    ReferralId,
    "referral"
);
record_id!(
    /// A directory listing (an ORUK service).
    ServiceId,
    "listing"
);
record_id!(
    /// A group's answer loop for one referral and one listing.
    ConnectionId,
    "connection"
);
record_id!(
    /// An organisation (practice, link worker service, community group, directory team).
    OrganisationId,
    "organisation"
);
record_id!(
    /// A user account.
    UserId,
    "user"
);
record_id!(
    /// A suggested change to a listing.
    SuggestionId,
    "suggestion"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_ids_are_lower_case_uuids_only() {
        let upper = "5C0E7A1D-8F3B-4C2E-9A61-C0770E6D2B11";
        assert_eq!(ReferralId::parse(upper).map(|id| id.to_string()), Some(upper.to_ascii_lowercase()));
        for bad in ["", "1", "not-a-uuid", "5c0e7a1d-8f3b-4c2e-9a61-c0770e6d2b1", "5c0e7a1d\u{0}"] {
            assert!(ServiceId::parse(bad).is_none(), "{bad:?}");
        }
        let fresh = new_id();
        assert_eq!(UserId::parse(&fresh).as_deref(), Some(fresh.as_str()));
    }
}
