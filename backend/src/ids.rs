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
