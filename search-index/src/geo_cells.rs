//! Geography: points, exact great-circle distance, and the grid cells used to pick candidates.
//!
//! tantivy has no geographic query. Each location is indexed as a term per grid level
//! (`"2:1234:-56"`); a radius search ORs the terms of the cells that cover the circle's bounding
//! box at the coarsest level that still needs only a few cells, and the collector then checks the
//! exact distance against each location's packed coordinates. Cells over-cover, never
//! under-cover, so no listing inside the radius is missed and none outside it is returned.

use geo::{Distance, Haversine, Point};

/// Grid cell sizes in degrees, finest first (about 1.1 km, 5.5 km, 22 km and 110 km of latitude).
pub(crate) const CELL_LEVELS: [f64; 4] = [0.01, 0.05, 0.2, 1.0];

/// Most cells a radius query may OR together before a coarser level is used.
const MAX_CELLS: usize = 48;

/// A WGS84 coordinate that is known to be valid.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GeoPoint {
    lat: f64,
    lon: f64,
}

impl GeoPoint {
    /// A point, refused when latitude is outside -90..=90 or longitude outside -180..=180.
    pub fn new(lat: f64, lon: f64) -> crate::error::Result<Self> {
        if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
            return Err(crate::SearchError::InvalidCoordinate(format!("latitude {lat}")));
        }
        if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
            return Err(crate::SearchError::InvalidCoordinate(format!("longitude {lon}")));
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

    /// Packs the point into one u64 (32 bits each, about 5 mm resolution) for a fast field.
    pub(crate) fn pack(&self) -> u64 {
        let lat = ((self.lat + 90.0) / 180.0 * f64::from(u32::MAX)).round() as u64;
        let lon = ((self.lon + 180.0) / 360.0 * f64::from(u32::MAX)).round() as u64;
        (lat << 32) | lon
    }

    /// The inverse of [`GeoPoint::pack`].
    pub(crate) fn unpack(packed: u64) -> Self {
        let lat = (packed >> 32) as f64 / f64::from(u32::MAX) * 180.0 - 90.0;
        let lon = (packed & 0xFFFF_FFFF) as f64 / f64::from(u32::MAX) * 360.0 - 180.0;
        Self { lat, lon }
    }

    /// A key that orders points along a Z-order curve of cells of 0.01 degree (about 1 km):
    /// points near each other mostly have keys near each other.
    ///
    /// Add listings to an index in this order (a rebuild does) and a circle's listings get runs
    /// of neighbouring document ids, which a radius search jumps between instead of reading
    /// every posting block of a common word.
    pub fn map_order(&self) -> u64 {
        let y = ((self.lat + 90.0) * 100.0) as u32;
        let x = ((self.lon + 180.0) * 100.0) as u32;
        // Interleave the bits: x in the even positions, y in the odd ones.
        (0..32).fold(0u64, |key, bit| {
            key | (u64::from((x >> bit) & 1) << (2 * bit)) | (u64::from((y >> bit) & 1) << (2 * bit + 1))
        })
    }

    /// The cell terms of this point, one per level.
    pub(crate) fn cell_terms(&self) -> Vec<String> {
        CELL_LEVELS
            .iter()
            .enumerate()
            .map(|(level, size)| cell_term(level, cell_index(self.lat, *size), cell_index(self.lon, *size)))
            .collect()
    }
}

/// Great-circle (haversine) distance in kilometres.
pub fn distance_km(a: GeoPoint, b: GeoPoint) -> f64 {
    Haversine::distance(Point::new(a.lon, a.lat), Point::new(b.lon, b.lat)) / 1000.0
}

/// Mean earth radius in km, as `geo`'s haversine uses.
const EARTH_RADIUS_KM: f64 = 6371.0088;

/// Circles up to this radius may use [`Origin::approx_km`]; its error bound is checked up to
/// here (see the tests), beyond it every distance is computed exactly.
const APPROX_MAX_KM: f64 = 300.0;

/// Bound on the flat-earth approximation's error within [`APPROX_MAX_KM`]: relative part.
const APPROX_REL_ERROR: f64 = 0.003;

/// Bound on the flat-earth approximation's error: absolute part, km.
const APPROX_ABS_ERROR: f64 = 0.001;

/// Distances from one origin, for checking many listings against one circle.
///
/// Haversine needs four transcendental functions per listing; a wide search in a city weighs
/// tens of thousands of listings. The flat-earth (equirectangular, at the pair's mean latitude)
/// approximation needs none, and within 300 km it is within 0.3% of haversine. So a listing is
/// inside when the approximation is clearly inside, outside when clearly outside, and only the
/// ones near the edge pay for haversine: the radius is exact. Returned distances and nearest-first
/// order use haversine; the approximation only feeds the relevance blend's distance decay.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Origin {
    point: GeoPoint,
    lat_rad: f64,
    sin_lat: f64,
    cos_lat: f64,
}

impl Origin {
    /// Prepares distances from `point`.
    pub fn new(point: GeoPoint) -> Self {
        let lat_rad = point.lat.to_radians();
        Self { point, lat_rad, sin_lat: lat_rad.sin(), cos_lat: lat_rad.cos() }
    }

    /// The exact (haversine) distance to `p`, km.
    pub fn exact_km(&self, p: GeoPoint) -> f64 {
        distance_km(self.point, p)
    }

    /// The flat-earth approximation of the distance to `p`, km (see the type's notes).
    #[inline]
    pub fn approx_km(&self, p: GeoPoint) -> f64 {
        let dlat = p.lat.to_radians() - self.lat_rad;
        let mut dlon = p.lon - self.point.lon;
        if dlon > 180.0 {
            dlon -= 360.0;
        } else if dlon < -180.0 {
            dlon += 360.0;
        }
        // cos of the mean latitude, to first order: no trigonometry per listing.
        let cos_mean = self.cos_lat - self.sin_lat * dlat / 2.0;
        let x = dlon.to_radians() * cos_mean;
        EARTH_RADIUS_KM * (x * x + dlat * dlat).sqrt()
    }

    /// Whether `p` is within `radius_km`, exactly, and its approximate distance.
    #[inline]
    pub fn within(&self, p: GeoPoint, radius_km: f64) -> (bool, f64) {
        let approx = self.approx_km(p);
        if radius_km > APPROX_MAX_KM || approx > APPROX_MAX_KM {
            let exact = self.exact_km(p);
            return (exact <= radius_km, exact);
        }
        let margin = approx * APPROX_REL_ERROR + APPROX_ABS_ERROR;
        if approx + margin < radius_km {
            (true, approx)
        } else if approx - margin > radius_km {
            (false, approx)
        } else {
            (self.exact_km(p) <= radius_km, approx)
        }
    }
}

fn cell_index(degrees: f64, size: f64) -> i64 {
    (degrees / size).floor() as i64
}

fn cell_term(level: usize, lat_index: i64, lon_index: i64) -> String {
    format!("{level}:{lat_index}:{lon_index}")
}

/// The cell terms covering a circle, at the finest level needing at most [`MAX_CELLS`] cells.
pub(crate) fn covering_cells(center: GeoPoint, radius_km: f64) -> Vec<String> {
    // Degrees of latitude are ~111.2 km everywhere; degrees of longitude shrink with cos(lat), so
    // use the latitude of the circle's edge nearest a pole to be sure the box is wide enough.
    let dlat = radius_km / 111.0 + 1e-6;
    let edge_lat = (center.lat.abs() + dlat).min(89.9);
    let dlon = (radius_km / (111.0 * edge_lat.to_radians().cos()) + 1e-6).min(180.0);
    let (min_lat, max_lat) = ((center.lat - dlat).max(-90.0), (center.lat + dlat).min(90.0));
    let (min_lon, max_lon) = (center.lon - dlon, center.lon + dlon);
    for (level, size) in CELL_LEVELS.iter().enumerate() {
        let lat_range = cell_index(min_lat, *size)..=cell_index(max_lat, *size);
        let lon_range = cell_index(min_lon, *size)..=cell_index(max_lon, *size);
        let count = lat_range.clone().count() * lon_range.clone().count();
        if count <= MAX_CELLS || level == CELL_LEVELS.len() - 1 {
            let mut cells = Vec::with_capacity(count);
            for lat in lat_range {
                for lon in lon_range.clone() {
                    cells.push(cell_term(level, lat, wrap_lon_index(lon, *size)));
                }
            }
            cells.sort();
            cells.dedup();
            return cells;
        }
    }
    Vec::new()
}

/// Longitude cells wrap at the antimeridian.
fn wrap_lon_index(index: i64, size: f64) -> i64 {
    let per_turn = (360.0 / size).round() as i64;
    let min = (-180.0 / size).floor() as i64;
    (index - min).rem_euclid(per_turn) + min
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_out_of_range_coordinates() {
        assert!(GeoPoint::new(91.0, 0.0).is_err());
        assert!(GeoPoint::new(-90.5, 0.0).is_err());
        assert!(GeoPoint::new(0.0, 180.5).is_err());
        assert!(GeoPoint::new(f64::NAN, 0.0).is_err());
        assert!(GeoPoint::new(51.74, -2.2).is_ok());
    }

    #[test]
    fn packing_keeps_millimetre_precision() {
        let p = GeoPoint::new(51.743_612, -2.206_803).unwrap();
        let q = GeoPoint::unpack(p.pack());
        assert!(distance_km(p, q) < 0.001, "{q:?}");
    }

    #[test]
    fn flat_earth_approximation_stays_within_its_bound() {
        // Pseudo-random pairs over Great Britain's latitudes and well beyond, out to the largest
        // distance the approximation is used for: the bound `within` relies on must hold.
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut worst: f64 = 0.0;
        for _ in 0..200_000 {
            let origin = GeoPoint::new(-70.0 + 140.0 * next(), -179.0 + 358.0 * next()).unwrap();
            let (d, bearing) = (APPROX_MAX_KM * next().powi(2), std::f64::consts::TAU * next());
            let lat = (origin.lat + d / 111.2 * bearing.cos()).clamp(-89.0, 89.0);
            let lon = origin.lon + d / (111.2 * lat.to_radians().cos()) * bearing.sin();
            let lon = if lon > 180.0 {
                lon - 360.0
            } else if lon < -180.0 {
                lon + 360.0
            } else {
                lon
            };
            let p = GeoPoint::new(lat, lon).unwrap();
            let o = Origin::new(origin);
            let (exact, approx) = (o.exact_km(p), o.approx_km(p));
            if approx > APPROX_MAX_KM {
                continue;
            }
            let error = (approx - exact).abs();
            assert!(error <= approx * APPROX_REL_ERROR + APPROX_ABS_ERROR, "{origin:?} {p:?}: {approx} vs {exact}");
            worst = worst.max(error / exact.max(1e-9));
        }
        assert!(worst > 0.0);
    }

    #[test]
    fn map_order_keeps_neighbours_near() {
        let stroud = GeoPoint::new(51.7436, -2.2068).unwrap();
        let next_door = GeoPoint::new(51.7437, -2.2069).unwrap();
        let cirencester = GeoPoint::new(51.7184, -1.9686).unwrap();
        let edinburgh = GeoPoint::new(55.9533, -3.1883).unwrap();
        let gap = |a: GeoPoint, b: GeoPoint| a.map_order().abs_diff(b.map_order());
        assert!(gap(stroud, next_door) < gap(stroud, cirencester));
        assert!(gap(stroud, cirencester) < gap(stroud, edinburgh));
        // The corners of the world are ordered, not wrapped.
        assert!(GeoPoint::new(-90.0, -180.0).unwrap().map_order() < GeoPoint::new(90.0, 180.0).unwrap().map_order());
    }

    #[test]
    fn within_is_exact_at_the_edge() {
        let origin = Origin::new(GeoPoint::new(51.7436, -2.2068).unwrap());
        let cirencester = GeoPoint::new(51.7184, -1.9686).unwrap();
        let exact = origin.exact_km(cirencester);
        assert!(origin.within(cirencester, exact + 1e-6).0);
        assert!(!origin.within(cirencester, exact - 1e-6).0);
        assert!(origin.within(cirencester, 1000.0).0);
        assert!(!origin.within(cirencester, 1.0).0);
    }

    #[test]
    fn stroud_to_cirencester_is_about_eighteen_km() {
        let stroud = GeoPoint::new(51.7436, -2.2068).unwrap();
        let cirencester = GeoPoint::new(51.7184, -1.9686).unwrap();
        let d = distance_km(stroud, cirencester);
        assert!((16.0..18.0).contains(&d), "{d}");
    }

    #[test]
    fn covering_cells_contain_every_point_inside_the_radius() {
        let centre = GeoPoint::new(51.7436, -2.2068).unwrap();
        for radius in [0.5, 3.0, 10.0, 25.0, 80.0, 200.0] {
            let cells = covering_cells(centre, radius);
            assert!(!cells.is_empty() && cells.len() <= MAX_CELLS.max(cells.len()));
            // Walk a ring just inside the radius: every point's cell at the chosen level must be
            // one of the covering cells.
            let level: usize = cells[0].split(':').next().unwrap().parse().unwrap();
            for step in 0..360 {
                let bearing = f64::from(step).to_radians();
                let d = radius * 0.999;
                let lat = centre.lat + (d / 111.2) * bearing.cos();
                let lon = centre.lon + d / (111.2 * lat.to_radians().cos()) * bearing.sin();
                let p = GeoPoint::new(lat, lon).unwrap();
                if distance_km(centre, p) <= radius {
                    let term = &p.cell_terms()[level];
                    assert!(cells.contains(term), "radius {radius}: {term} missing");
                }
            }
        }
    }
}
