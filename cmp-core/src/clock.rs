//! Time, as the drivers see it: the protocol machines take `now` as an argument, and the async
//! drivers get it from a [`Clock`] they are given (quinn's runtime does the same), so tests and
//! devices with unusual clocks can drive them with any time they choose.

use std::fmt::Debug;
use std::time::{Instant, SystemTime};

/// Where a driver gets the time from.
pub trait Clock: Send + Sync + Debug {
    /// The wall-clock time: message times, certificate validity, CRL updates.
    fn now(&self) -> SystemTime;

    /// A monotonic instant: deadlines and timeouts.
    fn instant(&self) -> Instant;
}

/// The operating system's clocks.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn instant(&self) -> Instant {
        Instant::now()
    }
}

/// A wall clock shifted by a fixed offset from the system's (monotonic time unchanged): a
/// device whose clock is known to be off, or a test that runs a transaction in the future or
/// the past.
#[derive(Clone, Copy, Debug)]
pub struct OffsetClock {
    /// Added to the system time (negative: subtracted).
    pub offset_secs: i64,
}

impl Clock for OffsetClock {
    fn now(&self) -> SystemTime {
        let d = std::time::Duration::from_secs(self.offset_secs.unsigned_abs());
        let now = SystemTime::now();
        if self.offset_secs >= 0 {
            now.checked_add(d).unwrap_or(now)
        } else {
            now.checked_sub(d).unwrap_or(now)
        }
    }

    fn instant(&self) -> Instant {
        Instant::now()
    }
}
