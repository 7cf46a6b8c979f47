//! How relevance, distance, freshness and availability blend into one score.

/// Seconds in a day.
pub(crate) const DAY_SECS: i64 = 86_400;

/// Listings unverified for longer than this are flagged and rank lower.
pub const STALE_AFTER_DAYS: i64 = 183;

/// Listings unverified for longer than this are hidden from public searches.
pub const HIDDEN_AFTER_DAYS: i64 = 365;

/// A listing fits the words closely when it covers at least this share of the need (see
/// `text::TextQuery::weigh`); below, it is a partial match, shown after the close ones and
/// labelled, and a search with no close match says so.
pub const CLOSE_FIT: f32 = 0.5;

/// Taken from a partial match's score so it ranks after every close match (scores of close
/// matches are at most about 1.05).
pub(crate) const PARTIAL_SINK: f64 = 2.0;

/// Distance multiplier: among listings that fit about equally the nearer comes first; a listing
/// that fits much better can still come first from farther away (a quarter better fit
/// outweighs about 5 km, see the README's blend).
pub(crate) fn distance_factor(distance_km: Option<f64>) -> f64 {
    match distance_km {
        Some(d) => DISTANCE_FLOOR + (1.0 - DISTANCE_FLOOR) * (-d / DISTANCE_SCALE_KM).exp(),
        None => DISTANCE_FLOOR,
    }
}

/// What distance can take away at most: a listing far away keeps this share of its score.
const DISTANCE_FLOOR: f64 = 0.3;

/// How fast distance counts: at this many km a listing has lost about two thirds of what
/// distance can take.
const DISTANCE_SCALE_KM: f64 = 8.0;

/// Freshness multiplier of a listing unverified for six months: it ranks lower among equals,
/// and is flagged, but does not lose to an equal listing three times as far away.
const STALE: f64 = 0.8;

/// Freshness multiplier at one "now": a listing nobody has confirmed for six months sinks, after
/// a year it sinks further (and public searches no longer see it at all). Ages count in whole
/// days; two comparisons a listing, no division.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Freshness {
    stale_before: i64,
    hidden_before: i64,
}

impl Freshness {
    /// Thresholds for `now`.
    pub fn at(now: i64) -> Self {
        // Stale once its age in whole days passes the limit: 183 days and 23 hours is still fresh.
        Self {
            stale_before: now - (STALE_AFTER_DAYS + 1) * DAY_SECS + 1,
            hidden_before: now - (HIDDEN_AFTER_DAYS + 1) * DAY_SECS + 1,
        }
    }

    /// The freshness multiplier of a listing last verified at `last_verified`.
    #[inline]
    pub fn factor(&self, last_verified: i64) -> f64 {
        if last_verified >= self.stale_before {
            1.0
        } else if last_verified >= self.hidden_before {
            STALE
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
    fn freshness_steps_at_whole_days() {
        let now = 20_000 * DAY_SECS + 12_345;
        let fresh = Freshness::at(now);
        let at_age = |days: i64, secs: i64| fresh.factor(now - days * DAY_SECS - secs);
        assert_eq!(at_age(0, 0), 1.0);
        assert_eq!(at_age(-3, 0), 1.0, "a date in the future is fresh");
        assert_eq!(at_age(STALE_AFTER_DAYS, DAY_SECS - 1), 1.0);
        assert_eq!(at_age(STALE_AFTER_DAYS + 1, 0), STALE);
        assert_eq!(at_age(HIDDEN_AFTER_DAYS, DAY_SECS - 1), STALE);
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
