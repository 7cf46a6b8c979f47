//! Sign-in and public form rate limits, per client address and per account, in memory (each
//! instance counts its own; a restart forgets). A fixed window is enough to turn a
//! password-guessing run into a crawl: five wrong passwords for one account in fifteen minutes,
//! then 429 until the window passes.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Counts events per key in fixed windows.
#[derive(Debug)]
pub struct Limiter {
    max: u32,
    window: Duration,
    counts: Mutex<HashMap<String, (Instant, u32)>>,
}

impl Limiter {
    /// At most `max` events per key per `window`.
    pub fn new(max: u32, window: Duration) -> Self {
        Self { max, window, counts: Mutex::new(HashMap::new()) }
    }

    /// `Err(retry_after)` when the key has used its allowance in the current window.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        let counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        match counts.get(key) {
            // One reading of the clock: two could straddle the window's end and underflow.
            Some((start, n)) if *n >= self.max => match self.window.checked_sub(start.elapsed()) {
                Some(left) if !left.is_zero() => Err(left),
                _ => Ok(()),
            },
            _ => Ok(()),
        }
    }

    /// Counts one event for the key.
    pub fn hit(&self, key: &str) {
        // A lock poisoned elsewhere must not switch limiting off: the map is still usable.
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        if counts.len() > 100_000 {
            // Forget expired windows so the map cannot grow without bound.
            let window = self.window;
            counts.retain(|_, (start, _)| start.elapsed() < window);
        }
        let entry = counts.entry(key.to_string()).or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= self.window {
            *entry = (Instant::now(), 0);
        }
        entry.1 += 1;
    }

    /// Forgets the key (after a successful sign-in).
    pub fn clear(&self, key: &str) {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner).remove(key);
    }
}

/// The sign-in limits.
#[derive(Debug)]
pub struct SignInLimits {
    /// Wrong passwords per account.
    pub per_account: Limiter,
    /// Attempts per client address.
    pub per_ip: Limiter,
    /// Suggestions from the public per client address.
    pub public_forms: Limiter,
    /// Community groups signing up per client address (each hashes a password: costly).
    pub sign_ups: Limiter,
}

impl Default for SignInLimits {
    fn default() -> Self {
        Self {
            per_account: Limiter::new(5, Duration::from_secs(15 * 60)),
            per_ip: Limiter::new(30, Duration::from_secs(5 * 60)),
            public_forms: Limiter::new(10, Duration::from_secs(60 * 60)),
            // A volunteer signs a group up once; a community centre's shared connection a few.
            sign_ups: Limiter::new(5, Duration::from_secs(60 * 60)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sixth_attempt_in_the_window_is_refused() {
        let limiter = Limiter::new(5, Duration::from_secs(60));
        for _ in 0..5 {
            assert!(limiter.check("a").is_ok());
            limiter.hit("a");
        }
        assert!(limiter.check("a").is_err());
        assert!(limiter.check("b").is_ok(), "other keys are unaffected");
        limiter.clear("a");
        assert!(limiter.check("a").is_ok());
    }

    #[test]
    fn the_allowance_returns_when_the_window_ends() {
        let limiter = Limiter::new(1, Duration::from_millis(30));
        limiter.hit("a");
        assert!(limiter.check("a").is_err());
        std::thread::sleep(Duration::from_millis(40));
        assert!(limiter.check("a").is_ok());
    }

    #[test]
    fn a_poisoned_lock_does_not_switch_limiting_off() {
        let limiter = std::sync::Arc::new(Limiter::new(1, Duration::from_secs(60)));
        let holder = limiter.clone();
        let _ = std::thread::spawn(move || {
            let _guard = holder.counts.lock().unwrap();
            panic!("poison the lock");
        })
        .join();
        assert!(limiter.counts.is_poisoned());
        limiter.hit("a");
        assert!(limiter.check("a").is_err(), "still refused after the lock was poisoned");
    }
}
