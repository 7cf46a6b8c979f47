//! "Where": a full postcode, an outward code (its centroid) or a town or village of the region,
//! to a point with a label and how precise it is.

use diesel::dsl::{avg, count_star};
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::{places, postcodes};
use crate::db::DbConnection;
use crate::domain::postcode::looks_like_postcode;
use crate::domain::{OutwardCode, Postcode};

/// Longest place text accepted.
pub const MAX_QUERY_LEN: usize = 100;

/// How precise a geocoded point is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Precision {
    /// A full postcode: a street or a few buildings.
    Postcode,
    /// The centre of an outward code's postcodes: a town or district.
    OutwardCode,
    /// The centre of a town or village.
    Place,
    /// Coordinates given by the caller.
    Coordinates,
}

/// A resolved place.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Geocoded {
    /// WGS84 latitude.
    pub lat: f64,
    /// WGS84 longitude.
    pub lon: f64,
    /// What was found, for people: "GL5 1HE", "GL5 (area)", "Stroud, Gloucestershire".
    pub label: String,
    /// How precise it is.
    pub precision: Precision,
}

/// Why a place could not be resolved. Each says what to type instead.
#[derive(Debug, thiserror::Error)]
pub enum GeocodeError {
    /// Nothing given.
    #[error("enter a postcode, or a town or village")]
    Empty,
    /// Longer than any place name.
    #[error("too long: enter a postcode, or a town or village")]
    TooLong,
    /// A well-formed postcode that does not exist (or is not loaded).
    #[error("postcode {0} not found")]
    PostcodeNotFound(String),
    /// A well-formed outward code with no postcodes.
    #[error("no postcodes found in {0}")]
    OutwardNotFound(String),
    /// Looks like a postcode but is not one.
    #[error("{0:?} is not a valid postcode (like GL5 1HE)")]
    MalformedPostcode(String),
    /// Not a postcode and not a known town or village.
    #[error("no town or village called {0:?} in the directory's area; try a postcode")]
    PlaceNotFound(String),
    /// The database failed (kept whole, so a lost database is a 503, not a 500).
    #[error("database: {0}")]
    Db(#[from] diesel::result::Error),
}

/// The lookup key of a place name: lower case, letters and digits, single spaces.
pub fn place_key(name: &str) -> String {
    name.to_lowercase()
        .replace(['\'', '’'], "")
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Resolves a postcode, outward code or place name.
pub fn geocode(conn: &mut DbConnection, query: &str) -> Result<Geocoded, GeocodeError> {
    let q = query.trim();
    if q.is_empty() {
        return Err(GeocodeError::Empty);
    }
    if q.chars().count() > MAX_QUERY_LEN {
        return Err(GeocodeError::TooLong);
    }
    if let Ok(postcode) = Postcode::parse(q) {
        let found: Option<(f64, f64)> = postcodes::table
            .find(postcode.as_str())
            .select((postcodes::latitude, postcodes::longitude))
            .first(conn)
            .optional()?;
        return match found {
            Some((lat, lon)) => Ok(Geocoded { lat, lon, label: postcode.to_string(), precision: Precision::Postcode }),
            None => Err(GeocodeError::PostcodeNotFound(postcode.to_string())),
        };
    }
    if let Ok(outward) = OutwardCode::parse(q) {
        let (n, lat, lon): (i64, Option<f64>, Option<f64>) = postcodes::table
            .filter(postcodes::outward.eq(outward.as_str()))
            .select((count_star(), avg(postcodes::latitude), avg(postcodes::longitude)))
            .first(conn)?;
        return match (n, lat, lon) {
            (n, Some(lat), Some(lon)) if n > 0 => {
                Ok(Geocoded { lat, lon, label: format!("{outward} (area)"), precision: Precision::OutwardCode })
            }
            _ => Err(GeocodeError::OutwardNotFound(outward.to_string())),
        };
    }
    let key = place_key(q);
    let place: Option<(String, String, f64, f64)> = places::table
        .filter(places::name_key.eq(&key))
        .select((places::name, places::county, places::latitude, places::longitude))
        .first(conn)
        .optional()?;
    match place {
        Some((name, county, lat, lon)) => {
            Ok(Geocoded { lat, lon, label: format!("{name}, {county}"), precision: Precision::Place })
        }
        None if looks_like_postcode(q) => Err(GeocodeError::MalformedPostcode(q.chars().take(20).collect())),
        None => Err(GeocodeError::PlaceNotFound(q.chars().take(40).collect())),
    }
}

#[cfg(test)]
mod tests {
    use super::place_key;

    #[test]
    fn place_keys_ignore_case_spacing_and_apostrophes() {
        assert_eq!(place_key("Bishop's Cleeve"), "bishops cleeve");
        assert_eq!(place_key("  STROUD "), "stroud");
        assert_eq!(place_key("Stow-on-the-Wold"), "stow on the wold");
        assert_eq!(place_key("Wotton under  Edge"), "wotton under edge");
    }
}
