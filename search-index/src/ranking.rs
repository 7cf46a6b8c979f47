//! How relevance, distance, freshness and availability blend into one score.

/// Seconds in a day.
pub(crate) const DAY_SECS: i64 = 86_400;

/// Listings unverified for longer than this are flagged and rank lower.
pub const STALE_AFTER_DAYS: i64 = 183;

/// Listings unverified for longer than this are hidden from public searches.
pub const HIDDEN_AFTER_DAYS: i64 = 365;

/// Distance multiplier: nearer is better, but a good match 15 km away still beats a poor one
/// next door (link workers often travel with people to the right group).
pub(crate) fn distance_factor(distance_km: Option<f64>) -> f64 {
    match distance_km {
        Some(d) => 0.4 + 0.6 * (-d / 10.0).exp(),
        None => 0.4,
    }
}

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
            0.55
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
        assert_eq!(at_age(STALE_AFTER_DAYS + 1, 0), 0.55);
        assert_eq!(at_age(HIDDEN_AFTER_DAYS, DAY_SECS - 1), 0.55);
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
