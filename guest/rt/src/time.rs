//! Time from the TSC, whose frequency the host reports in the boot info (no
//! calibration loops): a monotonic [`Instant`] and the wall clock.

use crate::arch::cpu;
use crate::boot_info::BootParams;
use crate::time_conv::TscScale;
use core::ops::{Add, Sub};
use core::sync::atomic::{AtomicU64, Ordering};
use core::time::Duration;
use spin::Once;

struct Clock {
    scale: TscScale,
    wall_clock_ns: u64,
    boot_tsc: u64,
}

static CLOCK: Once<Clock> = Once::new();
static TSC_ENTRY: AtomicU64 = AtomicU64::new(0);
static TSC_MAIN: AtomicU64 = AtomicU64::new(0);

/// Sets the clock up from the boot info; `tsc_entry` is the TSC at entry.
pub(crate) fn init(params: &BootParams, tsc_entry: u64) {
    TSC_ENTRY.store(tsc_entry, Ordering::Relaxed);
    CLOCK.call_once(|| Clock {
        scale: TscScale::new(params.tsc_khz),
        wall_clock_ns: params.wall_clock_ns,
        boot_tsc: params.boot_tsc,
    });
}

fn clock() -> &'static Clock {
    CLOCK
        .get()
        .expect("the clock is set up at boot, before any task runs")
}

/// The current TSC value.
pub fn ticks() -> u64 {
    cpu::rdtsc()
}

/// The TSC scale.
pub fn scale() -> TscScale {
    clock().scale
}

/// Records that the application's `main` is about to run.
pub(crate) fn mark_main() {
    TSC_MAIN.store(ticks(), Ordering::Relaxed);
}

/// TSC stamps of entry and of `main`, for the exit report to the host.
pub(crate) fn stamps() -> (u64, u64) {
    (
        TSC_ENTRY.load(Ordering::Relaxed),
        TSC_MAIN.load(Ordering::Relaxed),
    )
}

/// Nanoseconds since the Unix epoch.
pub fn wall_clock_ns() -> u64 {
    let clock = clock();
    let elapsed = ticks().saturating_sub(clock.boot_tsc);
    clock
        .wall_clock_ns
        .saturating_add(clock.scale.ticks_to_ns(elapsed))
}

/// A point on the monotonic clock (TSC based, never goes backwards).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant {
    ticks: u64,
}

impl Instant {
    /// Now.
    pub fn now() -> Self {
        Self { ticks: ticks() }
    }

    /// The raw TSC value.
    pub(crate) fn ticks(self) -> u64 {
        self.ticks
    }

    /// Time from `earlier` to `self`, or `None` if `earlier` is later.
    pub fn checked_duration_since(self, earlier: Instant) -> Option<Duration> {
        let ticks = self.ticks.checked_sub(earlier.ticks)?;
        Some(Duration::from_nanos(scale().ticks_to_ns(ticks)))
    }

    /// Time from `earlier` to `self`, zero if `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        self.checked_duration_since(earlier).unwrap_or_default()
    }

    /// `self + duration`, or `None` on overflow.
    pub fn checked_add(self, duration: Duration) -> Option<Instant> {
        let ns = u64::try_from(duration.as_nanos()).ok()?;
        Some(Self {
            ticks: self.ticks.checked_add(scale().ns_to_ticks(ns))?,
        })
    }

    /// `self - duration`, or `None` on underflow.
    pub fn checked_sub(self, duration: Duration) -> Option<Instant> {
        let ns = u64::try_from(duration.as_nanos()).ok()?;
        Some(Self {
            ticks: self.ticks.checked_sub(scale().ns_to_ticks(ns))?,
        })
    }

    /// Time elapsed since `self`.
    pub fn elapsed(self) -> Duration {
        Instant::now().saturating_duration_since(self)
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    /// Panics on overflow, like std's `Instant`.
    fn add(self, duration: Duration) -> Instant {
        self.checked_add(duration)
            .expect("overflow when adding a duration to an instant")
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;
    /// Panics on underflow, like std's `Instant`.
    fn sub(self, duration: Duration) -> Instant {
        self.checked_sub(duration)
            .expect("overflow when subtracting a duration from an instant")
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    /// Saturates at zero, like std's `Instant`.
    fn sub(self, earlier: Instant) -> Duration {
        self.saturating_duration_since(earlier)
    }
}
