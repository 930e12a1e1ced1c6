//! The injectable wall clock (STYLE habit 9): domain code receives instants, services hold a
//! [`SharedClock`], and tests move time with [`OffsetClock`] or [`FixedClock`].

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};

pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> DateTime<Utc>;
}

pub type SharedClock = Arc<dyn Clock>;

/// The real clock: the only place the system time is read.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

pub fn system() -> SharedClock {
    Arc::new(SystemClock)
}

/// System time shifted by an adjustable offset: time keeps flowing (timeouts, ordering of ids
/// still behave) while tests jump to deadlines or across months.
#[derive(Debug, Default)]
pub struct OffsetClock {
    /// Microseconds: an i64 covers ±292 000 years of offset.
    offset_micros: AtomicI64,
}

impl OffsetClock {
    pub fn starting_at(instant: DateTime<Utc>) -> Self {
        let clock = Self::default();
        clock.set(instant);
        clock
    }

    /// From now on, `now()` continues from `instant`.
    pub fn set(&self, instant: DateTime<Utc>) {
        let offset = (instant - SystemClock.now()).num_microseconds().unwrap_or(0);
        self.offset_micros.store(offset, Ordering::SeqCst);
    }

    pub fn advance(&self, by: Duration) {
        let by = by.num_microseconds().unwrap_or(0);
        // fetch_update keeps concurrent advances additive and saturates instead of wrapping.
        let _ = self
            .offset_micros
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |o| Some(o.saturating_add(by)));
    }

    pub fn offset(&self) -> Duration {
        Duration::microseconds(self.offset_micros.load(Ordering::SeqCst))
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> DateTime<Utc> {
        let now = SystemClock.now();
        now.checked_add_signed(self.offset()).unwrap_or(now)
    }
}

/// A clock that only moves when told to, for fully deterministic tests.
#[derive(Debug)]
pub struct FixedClock {
    now: Mutex<DateTime<Utc>>,
}

impl FixedClock {
    pub fn at(instant: DateTime<Utc>) -> Self {
        Self {
            now: Mutex::new(instant),
        }
    }

    pub fn set(&self, instant: DateTime<Utc>) {
        *self.now.lock().unwrap_or_else(|e| e.into_inner()) = instant;
    }

    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        *now = now.checked_add_signed(by).unwrap_or(*now);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        // A poisoned lock still holds a valid instant.
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn offset_clock_starts_at_and_advances() {
        let start = utc("2026-03-29T00:00:00Z");
        let clock = Arc::new(OffsetClock::starting_at(start));
        let shared: SharedClock = clock.clone();
        let t0 = shared.now();
        assert!(t0 >= start && t0 - start < Duration::seconds(5));
        clock.advance(Duration::days(30));
        let t1 = shared.now();
        assert!(t1 - t0 >= Duration::days(30));
        assert!(t1 - t0 < Duration::days(30) + Duration::seconds(5));
        clock.set(utc("2020-01-01T00:00:00Z"));
        assert!(shared.now() < utc("2020-01-01T00:00:05Z"));
    }

    #[test]
    fn offset_clock_is_shareable_across_threads() {
        let clock = Arc::new(OffsetClock::starting_at(utc("2026-01-01T00:00:00Z")));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let c = clock.clone();
                std::thread::spawn(move || c.advance(Duration::hours(1)))
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert!(clock.now() >= utc("2026-01-01T04:00:00Z"));
    }

    #[test]
    fn fixed_clock_moves_only_when_told() {
        let clock = FixedClock::at(utc("2026-10-25T00:00:00Z"));
        assert_eq!(clock.now(), utc("2026-10-25T00:00:00Z"));
        clock.advance(Duration::hours(3));
        assert_eq!(clock.now(), utc("2026-10-25T03:00:00Z"));
        clock.set(utc("2027-01-01T00:00:00Z"));
        assert_eq!(clock.now(), utc("2027-01-01T00:00:00Z"));
    }

    #[test]
    fn system_clock_is_shared() {
        let clock = system();
        let a = clock.now();
        assert!(clock.now() >= a);
    }
}
