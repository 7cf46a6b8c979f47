//! A WGS84 coordinate that is known to be valid.

use serde::Serialize;

/// Latitude and longitude in degrees, in range.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GeoPoint {
    lat: f64,
    lon: f64,
}

/// Why a coordinate was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GeoPointError {
    /// Latitude outside -90..=90 (or not a number).
    #[error("latitude must be between -90 and 90")]
    Latitude,
    /// Longitude outside -180..=180 (or not a number).
    #[error("longitude must be between -180 and 180")]
    Longitude,
}

impl GeoPoint {
    /// A checked point.
    pub fn new(lat: f64, lon: f64) -> Result<Self, GeoPointError> {
        if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
            return Err(GeoPointError::Latitude);
        }
        if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
            return Err(GeoPointError::Longitude);
        }
        Ok(Self { lat, lon })
    }

    /// Latitude in degrees.
    pub fn lat(&self) -> f64 {
        self.lat
    }

    /// Longitude in degrees.
    pub fn lon(&self) -> f64 {
        self.lon
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_ranges() {
        let cases = [
            (51.7, -2.2, true),
            (90.0, 180.0, true),
            (-90.0, -180.0, true),
            (90.1, 0.0, false),
            (-91.0, 0.0, false),
            (0.0, 181.0, false),
            (f64::NAN, 0.0, false),
            (0.0, f64::INFINITY, false),
        ];
        for (lat, lon, ok) in cases {
            assert_eq!(GeoPoint::new(lat, lon).is_ok(), ok, "{lat},{lon}");
        }
    }
}
