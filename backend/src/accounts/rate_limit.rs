//! Sign-in and public form rate limits, per client address and per account, counted in the
//! database so that every instance on it draws on one allowance: behind a load balancer, N
//! instances must not give an attacker N times the attempts. A fixed window is enough to turn a
//! password-guessing run into a crawl: five wrong passwords for one account in fifteen minutes,
//! then 429 until the window passes.
//!
//! One row per key and window in `rate_limits`, counted by an upsert that is atomic on both
//! engines (`INSERT ... ON CONFLICT DO UPDATE SET count = count + 1`). Keys are stored as
//! SHA-256 hashes, so the table holds no e-mail or address. Old windows are pruned now and then
//! by the requests themselves.

use std::time::Duration;

use chrono::Utc;
use diesel::prelude::*;
use diesel::QueryResult;

use crate::db::schema::rate_limits;
use crate::db::DbConnection;

/// Windows older than this are deleted (longer than the longest window).
const KEEP_SECS: i64 = 24 * 3600;

/// Counts events per key in fixed windows, in the database.
#[derive(Debug, Clone)]
pub struct Limiter {
    name: &'static str,
    max: i32,
    window_secs: i64,
}

impl Limiter {
    /// At most `max` events per key per `window`; `name` keeps limiters' keys apart.
    pub fn new(name: &'static str, max: i32, window: Duration) -> Self {
        let window_secs = i64::try_from(window.as_secs()).unwrap_or(KEEP_SECS).clamp(1, KEEP_SECS);
        Self { name, max, window_secs }
    }

    fn key(&self, key: &str) -> String {
        super::secrets::token_hash(&format!("{}\0{key}", self.name))
    }

    fn window_start(&self, now: i64) -> i64 {
        now - now.rem_euclid(self.window_secs)
    }

    /// `Some(wait)` when the key has used its allowance in the current window.
    pub fn check(&self, conn: &mut DbConnection, key: &str) -> QueryResult<Option<Duration>> {
        self.refusal(conn, key, |count| count >= self.max)
    }

    fn refusal(&self, conn: &mut DbConnection, key: &str, over: impl Fn(i32) -> bool) -> QueryResult<Option<Duration>> {
        let now = Utc::now().timestamp();
        let start = self.window_start(now);
        let count: Option<i32> =
            rate_limits::table.find((self.key(key), start)).select(rate_limits::count).first(conn).optional()?;
        Ok(count.filter(|n| over(*n)).map(|_| {
            let left = (start + self.window_secs - now).max(1);
            Duration::from_secs(left.unsigned_abs())
        }))
    }

    /// Counts one event for the key (and now and then forgets old windows).
    pub fn hit(&self, conn: &mut DbConnection, key: &str) -> QueryResult<()> {
        let now = Utc::now().timestamp();
        let row = (
            rate_limits::key.eq(self.key(key)),
            rate_limits::window_start.eq(self.window_start(now)),
            rate_limits::count.eq(1),
        );
        let one_more = rate_limits::count.eq(rate_limits::count + 1);
        let conflict = (rate_limits::key, rate_limits::window_start);
        match conn {
            DbConnection::Sqlite(c) => diesel::insert_into(rate_limits::table)
                .values(row)
                .on_conflict(conflict)
                .do_update()
                .set(one_more)
                .execute(c)?,
            DbConnection::Pg(c) => diesel::insert_into(rate_limits::table)
                .values(row)
                .on_conflict(conflict)
                .do_update()
                .set(one_more)
                .execute(c)?,
        };
        // About one hit in 64 prunes: cheap (an indexed range delete) and bounded by traffic.
        if super::secrets::random_bytes::<1>()[0] < 4 {
            prune(conn, now)?;
        }
        Ok(())
    }

    /// Counts one event for the key and answers `Some(wait)` when that went over the
    /// allowance: counting first closes the gap a burst of parallel requests would otherwise
    /// slip through between looking and counting (at worst one refused too many, never one
    /// allowed too many).
    pub fn take(&self, conn: &mut DbConnection, key: &str) -> QueryResult<Option<Duration>> {
        self.hit(conn, key)?;
        self.refusal(conn, key, |count| count > self.max)
    }

    /// Gives back one event counted in the current window: for a step that was right but not
    /// yet the end (a correct password before its code), so a person with a second factor
    /// spends one attempt per sign-in, not two.
    pub fn give_back(&self, conn: &mut DbConnection, key: &str) -> QueryResult<()> {
        let start = self.window_start(Utc::now().timestamp());
        diesel::update(
            rate_limits::table
                .filter(rate_limits::key.eq(self.key(key)))
                .filter(rate_limits::window_start.eq(start))
                .filter(rate_limits::count.gt(0)),
        )
        .set(rate_limits::count.eq(rate_limits::count - 1))
        .execute(conn)?;
        Ok(())
    }

    /// Forgets the key (after a successful sign-in).
    pub fn clear(&self, conn: &mut DbConnection, key: &str) -> QueryResult<()> {
        diesel::delete(rate_limits::table.filter(rate_limits::key.eq(self.key(key)))).execute(conn)?;
        Ok(())
    }
}

/// Deletes windows that ended long ago; returns how many rows went.
pub fn prune(conn: &mut DbConnection, now: i64) -> QueryResult<usize> {
    diesel::delete(rate_limits::table.filter(rate_limits::window_start.lt(now - KEEP_SECS))).execute(conn)
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
    /// Codes of people's pages that matched nothing, per client address (against guessing).
    pub person_codes: Limiter,
    /// People referring themselves per client address.
    pub self_referrals: Limiter,
}

impl Default for SignInLimits {
    fn default() -> Self {
        Self {
            per_account: Limiter::new("sign_in.account", 5, Duration::from_secs(15 * 60)),
            per_ip: Limiter::new("sign_in.address", 30, Duration::from_secs(5 * 60)),
            public_forms: Limiter::new("suggestion.address", 10, Duration::from_secs(60 * 60)),
            // A volunteer signs a group up once; a community centre's shared connection a few.
            sign_ups: Limiter::new("sign_up.address", 5, Duration::from_secs(60 * 60)),
            // A person mistypes a printed code a few times; a guesser needs billions of tries.
            person_codes: Limiter::new("person_code.address", 10, Duration::from_secs(60 * 60)),
            self_referrals: Limiter::new(
                "self_referral.address",
                crate::referrals::self_referral::PER_HOUR,
                Duration::from_secs(60 * 60),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn database() -> (tempfile::TempDir, DbConnection) {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = crate::db::DatabaseUrl::Sqlite(dir.path().join("limits.db")).connect().unwrap();
        crate::db::migrations::run_pending(&mut conn).unwrap();
        (dir, conn)
    }

    #[test]
    fn the_sixth_attempt_in_the_window_is_refused() {
        let (_dir, mut conn) = database();
        let limiter = Limiter::new("test", 5, Duration::from_secs(600));
        for _ in 0..5 {
            assert_eq!(limiter.check(&mut conn, "a").unwrap(), None);
            limiter.hit(&mut conn, "a").unwrap();
        }
        let wait = limiter.check(&mut conn, "a").unwrap().expect("refused");
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(600), "{wait:?}");
        assert_eq!(limiter.check(&mut conn, "b").unwrap(), None, "other keys are unaffected");
        let other = Limiter::new("other", 5, Duration::from_secs(600));
        assert_eq!(other.check(&mut conn, "a").unwrap(), None, "other limiters are unaffected");
        limiter.clear(&mut conn, "a").unwrap();
        assert_eq!(limiter.check(&mut conn, "a").unwrap(), None);
    }

    #[test]
    fn taking_counts_first_and_refuses_past_the_allowance() {
        let (_dir, mut conn) = database();
        let limiter = Limiter::new("test", 3, Duration::from_secs(600));
        for _ in 0..3 {
            assert_eq!(limiter.take(&mut conn, "a").unwrap(), None);
        }
        assert!(limiter.take(&mut conn, "a").unwrap().is_some(), "the fourth is refused");
        assert!(limiter.check(&mut conn, "a").unwrap().is_some());
    }

    #[test]
    fn keys_are_stored_hashed_and_old_windows_pruned() {
        let (_dir, mut conn) = database();
        let limiter = Limiter::new("test", 1, Duration::from_secs(60));
        limiter.hit(&mut conn, "jo@example.org").unwrap();
        let keys: Vec<String> = rate_limits::table.select(rate_limits::key).load(&mut conn).unwrap();
        assert_eq!(keys.len(), 1);
        assert!(!keys[0].contains("jo@") && keys[0].len() == 64, "{keys:?}");
        let now = Utc::now().timestamp();
        assert_eq!(prune(&mut conn, now).unwrap(), 0, "the current window stays");
        assert_eq!(prune(&mut conn, now + KEEP_SECS + 120).unwrap(), 1, "a day later it goes");
    }
}
