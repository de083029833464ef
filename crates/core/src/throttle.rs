//! Throttling of failed sign-ins and token uses, so tokens and passwords cannot be guessed
//! at network speed.
//!
//! Per key (a client address, or a user name for password sign-in): more than
//! [`MAX_FAILURES`] failures within [`WINDOW`] lock the key for [`LOCKOUT`]. State is in
//! memory: a restart forgets it, which only gives an attacker one more window per restart.
//! The map is bounded, so a flood of distinct keys cannot exhaust memory.

use crate::error::{Error, ErrorKind};
use std::collections::HashMap;
use std::sync::Mutex;
use time::{Duration, OffsetDateTime};

pub const MAX_FAILURES: u32 = 10;
pub const WINDOW: Duration = Duration::minutes(5);
pub const LOCKOUT: Duration = Duration::minutes(5);
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

    /// Counts a failure; true when this failure started a lockout (worth an audit event).
    pub fn failure(&self, key: &str, now: OffsetDateTime) -> bool {
        let Ok(mut entries) = self.entries.lock() else { return false };
        if entries.len() >= MAX_KEYS && !entries.contains_key(key) {
            entries.retain(|_, e| e.locked_until.is_some_and(|u| u > now) || now - e.window_start < WINDOW);
            if entries.len() >= MAX_KEYS {
                return false;
            }
        }
        let e = entries.entry(key.to_string()).or_insert(Entry { window_start: now, failures: 0, locked_until: None });
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

    pub fn success(&self, key: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(key);
        }
    }
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
