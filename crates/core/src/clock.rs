//! Time as a parameter.
//!
//! Nothing in riskops reads the system clock directly (clippy's `disallowed-methods` bans
//! it); services ask an injected [`Clock`], so tests can fix or move time for windows,
//! token expiry, approvals and audit timestamps.

use std::sync::Mutex;
use time::OffsetDateTime;

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> OffsetDateTime;
}

/// The real clock, truncated to microseconds so that every backend stores times exactly.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // the one place that reads the real clock
    fn now(&self) -> OffsetDateTime {
        truncate_to_micros(OffsetDateTime::now_utc())
    }
}

/// A clock that only moves when told to; for tests.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<OffsetDateTime>,
}

impl ManualClock {
    pub fn new(start: OffsetDateTime) -> Self {
        ManualClock { now: Mutex::new(truncate_to_micros(start)) }
    }

    pub fn set(&self, to: OffsetDateTime) {
        if let Ok(mut now) = self.now.lock() {
            *now = truncate_to_micros(to);
        }
    }

    pub fn advance(&self, by: time::Duration) {
        if let Ok(mut now) = self.now.lock() {
            *now = truncate_to_micros(*now + by);
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        match self.now.lock() {
            Ok(now) => *now,
            Err(poisoned) => *poisoned.into_inner(),
        }
    }
}

/// PostgreSQL keeps microseconds; dropping the nanoseconds up front keeps a time equal to
/// itself after a round trip through either store (the audit hash depends on it).
pub fn truncate_to_micros(t: OffsetDateTime) -> OffsetDateTime {
    let micros = t.nanosecond() / 1_000 * 1_000;
    t.replace_nanosecond(micros).unwrap_or(t).to_offset(time::UtcOffset::UTC)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::new(datetime!(2026-01-01 00:00:00.123456789 UTC));
        assert_eq!(clock.now(), datetime!(2026-01-01 00:00:00.123456 UTC));
        clock.advance(time::Duration::hours(1));
        assert_eq!(clock.now(), datetime!(2026-01-01 01:00:00.123456 UTC));
    }
}
