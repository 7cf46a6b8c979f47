//! How relevance, distance, freshness and availability blend into one score.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// Seconds in a day.
pub(crate) const DAY_SECS: i64 = 86_400;

/// Listings unverified for longer than this are flagged and rank lower.
pub const STALE_AFTER_DAYS: i64 = 183;

/// Listings unverified for longer than this are hidden from public searches.
pub const HIDDEN_AFTER_DAYS: i64 = 365;

/// The blend's settings. The defaults are the ones the judged set chose (see the README's sweep);
/// [`set_blend`] changes them for the whole process, for the evaluation's sweep only.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Blend {
    /// A listing fits the words closely when it covers at least this share of the need (see
    /// `text::TextQuery::weigh`); below, it is a partial match, shown after the close ones and
    /// labelled, and a search with no close match says so.
    pub close_fit: f32,
    /// How fast distance counts: at this many km a listing has lost about two thirds of what
    /// distance can take.
    pub distance_scale_km: f64,
    /// What distance can take away at most: a listing far away keeps this share of its score.
    pub distance_floor: f64,
    /// Freshness multiplier of a listing unverified for six months: it ranks lower among
    /// equals, and is flagged, but does not lose to an equal listing three times as far away.
    pub stale: f64,
}

impl Blend {
    /// The settings searches use unless [`set_blend`] changed them.
    pub const DEFAULT: Blend = Blend { close_fit: 0.5, distance_scale_km: 8.0, distance_floor: 0.3, stale: 0.8 };
}

impl Default for Blend {
    fn default() -> Self {
        Self::DEFAULT
    }
}

static CLOSE_FIT_BITS: AtomicU32 = AtomicU32::new(0x3f00_0000); // 0.5
static DISTANCE_SCALE_BITS: AtomicU64 = AtomicU64::new(0x4020_0000_0000_0000); // 8.0
static DISTANCE_FLOOR_BITS: AtomicU64 = AtomicU64::new(0x3fd3_3333_3333_3333); // 0.3
static STALE_BITS: AtomicU64 = AtomicU64::new(0x3fe9_9999_9999_999a); // 0.8

/// Changes the blend for every later search in this process. For the relevance evaluation's
/// sweep (`cargo run -p tests --example relevance -- --sweep`); the server never calls it.
#[doc(hidden)]
pub fn set_blend(blend: Blend) {
    CLOSE_FIT_BITS.store(blend.close_fit.to_bits(), Ordering::Relaxed);
    DISTANCE_SCALE_BITS.store(blend.distance_scale_km.to_bits(), Ordering::Relaxed);
    DISTANCE_FLOOR_BITS.store(blend.distance_floor.to_bits(), Ordering::Relaxed);
    STALE_BITS.store(blend.stale.to_bits(), Ordering::Relaxed);
}

/// The blend searches use now.
pub fn blend_settings() -> Blend {
    Blend {
        close_fit: f32::from_bits(CLOSE_FIT_BITS.load(Ordering::Relaxed)),
        distance_scale_km: f64::from_bits(DISTANCE_SCALE_BITS.load(Ordering::Relaxed)),
        distance_floor: f64::from_bits(DISTANCE_FLOOR_BITS.load(Ordering::Relaxed)),
        stale: f64::from_bits(STALE_BITS.load(Ordering::Relaxed)),
    }
}

/// A listing fitting at least this share of the need is a close match (see [`Blend::close_fit`]).
pub fn close_fit() -> f32 {
    f32::from_bits(CLOSE_FIT_BITS.load(Ordering::Relaxed))
}

/// Taken from a partial match's score so it ranks after every close match (scores of close
/// matches are at most about 1.05).
pub(crate) const PARTIAL_SINK: f64 = 2.0;

/// Distance multiplier: among listings that fit about equally the nearer comes first; a listing
/// that fits much better can still come first from farther away (a quarter better fit
/// outweighs about 5 km, see the README's blend).
pub(crate) fn distance_factor(distance_km: Option<f64>) -> f64 {
    let floor = f64::from_bits(DISTANCE_FLOOR_BITS.load(Ordering::Relaxed));
    match distance_km {
        Some(d) => {
            let scale = f64::from_bits(DISTANCE_SCALE_BITS.load(Ordering::Relaxed));
            floor + (1.0 - floor) * (-d / scale).exp()
        }
        None => floor,
    }
}

/// Freshness multiplier at one "now": a listing nobody has confirmed for six months sinks, after
/// a year it sinks further (and public searches no longer see it at all). Ages count in whole
/// days; two comparisons a listing, no division.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Freshness {
    stale_before: i64,
    hidden_before: i64,
    stale: f64,
}

impl Freshness {
    /// Thresholds for `now`.
    pub fn at(now: i64) -> Self {
        // Stale once its age in whole days passes the limit: 183 days and 23 hours is still fresh.
        Self {
            stale_before: now - (STALE_AFTER_DAYS + 1) * DAY_SECS + 1,
            hidden_before: now - (HIDDEN_AFTER_DAYS + 1) * DAY_SECS + 1,
            stale: f64::from_bits(STALE_BITS.load(Ordering::Relaxed)),
        }
    }

    /// The freshness multiplier of a listing last verified at `last_verified`.
    #[inline]
    pub fn factor(&self, last_verified: i64) -> f64 {
        if last_verified >= self.stale_before {
            1.0
        } else if last_verified >= self.hidden_before {
            self.stale
        } else {
            0.3
        }
    }
}

/// The blended relevance score.
pub(crate) fn blend(
    text_score: f64,
    distance_km: Option<f64>,
    has_origin: bool,
    freshness: f64,
    availability: u64,
) -> f64 {
    let distance = if has_origin { distance_factor(distance_km) } else { 1.0 };
    text_score * distance * freshness * (availability as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_blend_starts_at_its_defaults() {
        // The atomics' starting bits are the defaults written out.
        assert_eq!(blend_settings(), Blend::DEFAULT);
        assert_eq!(close_fit(), Blend::DEFAULT.close_fit);
    }

    #[test]
    fn freshness_steps_at_whole_days() {
        let now = 20_000 * DAY_SECS + 12_345;
        let fresh = Freshness::at(now);
        let at_age = |days: i64, secs: i64| fresh.factor(now - days * DAY_SECS - secs);
        assert_eq!(at_age(0, 0), 1.0);
        assert_eq!(at_age(-3, 0), 1.0, "a date in the future is fresh");
        assert_eq!(at_age(STALE_AFTER_DAYS, DAY_SECS - 1), 1.0);
        assert_eq!(at_age(STALE_AFTER_DAYS + 1, 0), Blend::DEFAULT.stale);
        assert_eq!(at_age(HIDDEN_AFTER_DAYS, DAY_SECS - 1), Blend::DEFAULT.stale);
        assert_eq!(at_age(HIDDEN_AFTER_DAYS + 1, 0), 0.3);
    }

    #[test]
    fn stale_listings_sink_and_nearer_ranks_higher() {
        let now = 1_000 * DAY_SECS;
        let fresh = Freshness::at(now);
        assert!(fresh.factor(now - 30 * DAY_SECS) > fresh.factor(now - 240 * DAY_SECS));
        assert!(fresh.factor(now - 240 * DAY_SECS) > fresh.factor(now - 420 * DAY_SECS));
        assert!(distance_factor(Some(1.0)) > distance_factor(Some(9.0)));
        assert!(distance_factor(Some(9.0)) > distance_factor(None));
        let open = blend(1.0, Some(2.0), true, fresh.factor(now), 1000);
        let full = blend(1.0, Some(2.0), true, fresh.factor(now), 500);
        assert!(open > full);
    }
}
