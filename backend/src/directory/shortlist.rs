//! A visitor's shortlist of listings, kept without an account in a signed cookie: the listing
//! ids in the order added, and an HMAC over them with the server's key. Nothing is stored on
//! the server; a cookie that was changed is refused whole (and the visitor told), never
//! partly believed.

use data_encoding::BASE64URL_NOPAD;

use crate::accounts::secrets::{hmac, same};

/// The most listings a shortlist holds (a printed sheet stays readable).
pub const MAX_ITEMS: usize = 30;

/// The cookie's name.
pub const COOKIE: &str = "cg-shortlist";

/// Listing ids, in the order they were added.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shortlist(Vec<String>);

/// Why a cookie was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tampered;

/// Why a listing was not added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

impl Shortlist {
    /// The ids.
    pub fn ids(&self) -> &[String] {
        &self.0
    }

    /// Adds a listing at the end (once).
    pub fn add(&mut self, id: &str) -> Result<(), Full> {
        if self.0.iter().any(|i| i == id) {
            return Ok(());
        }
        if self.0.len() >= MAX_ITEMS {
            return Err(Full);
        }
        self.0.push(id.to_string());
        Ok(())
    }

    /// Takes a listing off.
    pub fn remove(&mut self, id: &str) {
        self.0.retain(|i| i != id);
    }

    /// Keeps only the listings for which `keep` is true (those still shown to the public).
    pub fn retain(&mut self, keep: impl Fn(&str) -> bool) {
        self.0.retain(|i| keep(i));
    }

    fn mac(key: &[u8; 32], joined: &str) -> String {
        BASE64URL_NOPAD.encode(&hmac(key, format!("shortlist {joined}").as_bytes()))
    }

    /// The cookie value.
    pub fn encode(&self, key: &[u8; 32]) -> String {
        let joined = self.0.join(",");
        format!("{joined}.{}", Self::mac(key, &joined))
    }

    /// Reads a cookie value: the signature must match, every id be an id, and there be no more
    /// than [`MAX_ITEMS`].
    pub fn decode(key: &[u8; 32], value: &str) -> Result<Self, Tampered> {
        let (joined, mac) = value.rsplit_once('.').ok_or(Tampered)?;
        if !same(mac, &Self::mac(key, joined)) {
            return Err(Tampered);
        }
        let ids: Vec<String> = joined.split(',').filter(|i| !i.is_empty()).map(str::to_string).collect();
        if ids.len() > MAX_ITEMS || !ids.iter().all(|i| crate::ids::is_id(i)) {
            return Err(Tampered);
        }
        Ok(Self(ids))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "0b6f5a52-6a53-4c43-9d2b-0f3f1c1d2e3f";
    const B: &str = "1c6f5a52-6a53-4c43-9d2b-0f3f1c1d2e3f";

    #[test]
    fn a_shortlist_reads_back_in_order_and_only_with_its_signature() {
        let key = [5u8; 32];
        let mut list = Shortlist::default();
        list.add(B).unwrap();
        list.add(A).unwrap();
        list.add(B).unwrap();
        assert_eq!(list.ids(), [B, A], "in the order added, once each");
        let cookie = list.encode(&key);
        assert_eq!(Shortlist::decode(&key, &cookie), Ok(list.clone()));
        assert_eq!(Shortlist::decode(&[6u8; 32], &cookie), Err(Tampered), "another key");
        let swapped = cookie.replacen(B, A, 1);
        assert_eq!(Shortlist::decode(&key, &swapped), Err(Tampered), "an id changed");
        for junk in ["", ".", "abc", "x.y"] {
            assert_eq!(Shortlist::decode(&key, junk), Err(Tampered), "{junk}");
        }
        assert_eq!(Shortlist::decode(&key, &Shortlist::default().encode(&key)), Ok(Shortlist::default()));
        list.remove(B);
        assert_eq!(list.ids(), [A]);
    }

    #[test]
    fn a_shortlist_holds_thirty() {
        let mut list = Shortlist::default();
        for n in 0..MAX_ITEMS {
            list.add(&format!("{n:08}-6a53-4c43-9d2b-0f3f1c1d2e3f")).unwrap();
        }
        assert_eq!(list.add(A), Err(Full));
        assert_eq!(list.ids().len(), MAX_ITEMS);
    }
}
