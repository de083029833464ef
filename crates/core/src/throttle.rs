//! Throttling of failed sign-ins and token uses, so tokens and passwords cannot be guessed
//! at network speed.
//!
//! Two policies share one bounded map of keys:
//! - **lockout** ([`Throttle::failure`]), per client address: more than [`MAX_FAILURES`]
//!   failures within [`WINDOW`] lock the client out for [`LOCKOUT`]. It stops a guesser.
//! - **backoff** ([`Throttle::backoff`]), per (client, user name) for password sign-in:
//!   after [`BACKOFF_FREE`] failures each further one makes that pair wait twice as long
//!   ([`BACKOFF_START`], doubling, at most [`LOCKOUT`]), until [`BACKOFF_MEMORY`] passes
//!   without one. It slows guessing one name from one place.
//!
//! Nothing is ever keyed by the name alone: a lock on a name would let anyone who knows
//! it keep its owner out (the right password from another client must work).
//!
//! State is in memory: a restart forgets it, which only gives an attacker one more window
//! per restart. The map is bounded, so a flood of distinct keys cannot exhaust memory.

use crate::error::{Error, ErrorKind};
use std::collections::HashMap;
use std::sync::Mutex;
use time::{Duration, OffsetDateTime};

pub const MAX_FAILURES: u32 = 10;
pub const WINDOW: Duration = Duration::minutes(5);
pub const LOCKOUT: Duration = Duration::minutes(5);
/// Failures of one (client, name) pair answered without a wait.
pub const BACKOFF_FREE: u32 = 3;
/// The wait after the first failure past [`BACKOFF_FREE`]; it doubles with each further one.
pub const BACKOFF_START: Duration = Duration::seconds(1);
/// A pair's failures are forgotten once this passes without a new one.
pub const BACKOFF_MEMORY: Duration = Duration::hours(1);
const MAX_KEYS: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Entry {
    window_start: OffsetDateTime,
    failures: u32,
    locked_until: Option<OffsetDateTime>,
}

#[derive(Debug, Default)]
pub struct Throttle {
    entries: Mutex<HashMap<String, Entry>>,
}

impl Throttle {
    /// Refuses a key that is locked out.
    pub fn check(&self, key: &str, now: OffsetDateTime) -> Result<(), Error> {
        let Ok(entries) = self.entries.lock() else { return Ok(()) };
        if let Some(until) = entries.get(key).and_then(|e| e.locked_until)
            && now < until
        {
            let secs = (until - now).whole_seconds().max(1);
            return Err(Error::new(ErrorKind::RateLimited, format!("too many failed attempts; try again in {secs} s")));
        }
        Ok(())
    }

    /// Counts a failure under the lockout policy; true when this failure started a lockout
    /// (worth an audit event).
    pub fn failure(&self, key: &str, now: OffsetDateTime) -> bool {
        let Ok(mut entries) = self.entries.lock() else { return false };
        let Some(e) = entry(&mut entries, key, now) else { return false };
        if now - e.window_start >= WINDOW || e.locked_until.is_some_and(|u| now >= u) {
            *e = Entry { window_start: now, failures: 0, locked_until: None };
        }
        e.failures += 1;
        if e.failures > MAX_FAILURES && e.locked_until.is_none() {
            e.locked_until = Some(now + LOCKOUT);
            return true;
        }
        false
    }

    /// Counts a failure under the backoff policy and returns how long the key must now wait
    /// ([`Throttle::check`] refuses it until then).
    pub fn backoff(&self, key: &str, now: OffsetDateTime) -> Duration {
        let Ok(mut entries) = self.entries.lock() else { return Duration::ZERO };
        let Some(e) = entry(&mut entries, key, now) else { return Duration::ZERO };
        // For a backoff key, `window_start` is the latest failure: quiet since then forgets.
        if now - e.window_start >= BACKOFF_MEMORY {
            *e = Entry { window_start: now, failures: 0, locked_until: None };
        }
        e.window_start = now;
        e.failures = e.failures.saturating_add(1);
        let wait = backoff_wait(e.failures);
        e.locked_until = (wait > Duration::ZERO).then_some(now + wait);
        wait
    }

    pub fn success(&self, key: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(key);
        }
    }
}

/// The key's entry, made if missing; `None` when the map is full of live entries.
fn entry<'a>(entries: &'a mut HashMap<String, Entry>, key: &str, now: OffsetDateTime) -> Option<&'a mut Entry> {
    if entries.len() >= MAX_KEYS && !entries.contains_key(key) {
        entries.retain(|_, e| e.locked_until.is_some_and(|u| u > now) || now - e.window_start < WINDOW);
        if entries.len() >= MAX_KEYS {
            return None;
        }
    }
    Some(entries.entry(key.to_string()).or_insert(Entry { window_start: now, failures: 0, locked_until: None }))
}

/// The wait after the `failures`-th failure of a backoff key.
fn backoff_wait(failures: u32) -> Duration {
    let Some(past_free) = failures.checked_sub(BACKOFF_FREE + 1) else { return Duration::ZERO };
    // 2^9 s already exceeds the cap, so larger exponents need not be computed.
    let doubled = BACKOFF_START * 2_i32.pow(past_free.min(9));
    doubled.min(LOCKOUT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_many_failures_lock_the_key_for_a_while() {
        let t = Throttle::default();
        let t0 = OffsetDateTime::UNIX_EPOCH;
        for i in 0..MAX_FAILURES {
            assert!(t.check("a", t0).is_ok(), "attempt {i}");
            assert!(!t.failure("a", t0));
        }
        assert!(t.failure("a", t0), "the failure past the limit starts the lockout");
        assert_eq!(t.check("a", t0).unwrap_err().kind, ErrorKind::RateLimited);
        assert!(t.check("b", t0).is_ok(), "other keys are not affected");
        assert!(t.check("a", t0 + LOCKOUT).is_ok(), "the lockout ends");
    }

    #[test]
    fn backoff_doubles_the_wait_up_to_the_lockout_and_is_forgotten_after_quiet() {
        let t = Throttle::default();
        let mut now = OffsetDateTime::UNIX_EPOCH;
        let mut waits = Vec::new();
        for _ in 0..15 {
            assert!(t.check("pair", now).is_ok(), "a pair may try again once its wait is over");
            let wait = t.backoff("pair", now);
            if wait > Duration::ZERO {
                assert_eq!(t.check("pair", now).unwrap_err().kind, ErrorKind::RateLimited);
                assert!(t.check("other pair", now).is_ok(), "other pairs are not affected");
            }
            waits.push(wait.whole_seconds());
            now += wait;
        }
        assert_eq!(waits, [0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]);
        // An hour of quiet forgets the failures.
        now += BACKOFF_MEMORY;
        assert_eq!(t.backoff("pair", now), Duration::ZERO);
        t.success("pair");
        assert!(t.check("pair", now).is_ok());
    }

    #[test]
    fn failures_spread_over_time_do_not_lock() {
        let t = Throttle::default();
        let mut now = OffsetDateTime::UNIX_EPOCH;
        for _ in 0..3 * MAX_FAILURES {
            assert!(!t.failure("a", now));
            now += WINDOW / (MAX_FAILURES as i32 / 2);
        }
        assert!(t.check("a", now).is_ok());
    }
}
