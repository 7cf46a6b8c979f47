//! How relevance, distance, freshness and availability blend into one score.

/// Seconds in a day.
pub(crate) const DAY_SECS: i64 = 86_400;

/// Listings unverified for longer than this are flagged and rank lower.
pub const STALE_AFTER_DAYS: i64 = 183;

/// Listings unverified for longer than this are hidden from public searches.
pub const HIDDEN_AFTER_DAYS: i64 = 365;

/// Freshness multiplier: a listing nobody has confirmed for six months sinks, after a year it
/// sinks further (and public searches no longer see it at all).
pub(crate) fn freshness_factor(now: i64, last_verified: i64) -> f64 {
    let age_days = (now - last_verified) / DAY_SECS;
    if age_days <= STALE_AFTER_DAYS {
        1.0
    } else if age_days <= HIDDEN_AFTER_DAYS {
        0.55
    } else {
        0.3
    }
}

/// Distance multiplier: nearer is better, but a good match 15 km away still beats a poor one
/// next door (link workers often travel with people to the right group).
pub(crate) fn distance_factor(distance_km: Option<f64>) -> f64 {
    match distance_km {
        Some(d) => 0.4 + 0.6 * (-d / 10.0).exp(),
        None => 0.4,
    }
}

/// The blended relevance score.
pub(crate) fn blend(
    text_score: f64,
    distance_km: Option<f64>,
    has_origin: bool,
    now: i64,
    last_verified: i64,
    availability: u64,
) -> f64 {
    let distance = if has_origin { distance_factor(distance_km) } else { 1.0 };
    text_score * distance * freshness_factor(now, last_verified) * (availability as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_listings_sink_and_nearer_ranks_higher() {
        let now = 1_000 * DAY_SECS;
        assert!(freshness_factor(now, now - 30 * DAY_SECS) > freshness_factor(now, now - 240 * DAY_SECS));
        assert!(freshness_factor(now, now - 240 * DAY_SECS) > freshness_factor(now, now - 420 * DAY_SECS));
        assert!(distance_factor(Some(1.0)) > distance_factor(Some(9.0)));
        assert!(distance_factor(Some(9.0)) > distance_factor(None));
        let open = blend(1.0, Some(2.0), true, now, now, 1000);
        let full = blend(1.0, Some(2.0), true, now, now, 500);
        assert!(open > full);
    }
}
