//! Time: a monotonic [`Instant`] and the wall clock [`SystemTime`].

pub use core::time::Duration;
pub use vessel_rt::time::Instant;

use core::fmt;
use core::ops::{Add, Sub};

/// A point on the wall clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SystemTime {
    since_epoch: Duration,
}

/// The Unix epoch, 1970-01-01 00:00:00 UTC.
pub const UNIX_EPOCH: SystemTime = SystemTime {
    since_epoch: Duration::ZERO,
};

/// `duration_since` was asked about a later time; holds how much later.
#[derive(Clone, Debug)]
pub struct SystemTimeError(Duration);

impl SystemTimeError {
    /// How far the other time lies in the future.
    pub fn duration(&self) -> Duration {
        self.0
    }
}

impl fmt::Display for SystemTimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("second time provided was later than self")
    }
}

impl SystemTime {
    /// The Unix epoch.
    pub const UNIX_EPOCH: SystemTime = UNIX_EPOCH;

    /// Now, from the host's wall clock at boot plus the TSC since.
    pub fn now() -> SystemTime {
        SystemTime {
            since_epoch: Duration::from_nanos(vessel_rt::time::wall_clock_ns()),
        }
    }

    /// Time from `earlier` to `self`.
    pub fn duration_since(&self, earlier: SystemTime) -> Result<Duration, SystemTimeError> {
        self.since_epoch
            .checked_sub(earlier.since_epoch)
            .ok_or_else(|| SystemTimeError(earlier.since_epoch - self.since_epoch))
    }

    /// Time since `self`.
    pub fn elapsed(&self) -> Result<Duration, SystemTimeError> {
        SystemTime::now().duration_since(*self)
    }
}

impl Add<Duration> for SystemTime {
    type Output = SystemTime;
    fn add(self, d: Duration) -> SystemTime {
        SystemTime {
            since_epoch: self.since_epoch + d,
        }
    }
}

impl Sub<Duration> for SystemTime {
    type Output = SystemTime;
    fn sub(self, d: Duration) -> SystemTime {
        SystemTime {
            since_epoch: self.since_epoch - d,
        }
    }
}
