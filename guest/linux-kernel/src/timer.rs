//! Interval timers: `alarm`, `setitimer` and `getitimer` for
//! `ITIMER_REAL` (`SIGALRM`, on the monotonic clock), `ITIMER_VIRTUAL`
//! (`SIGVTALRM`, on the process's user CPU time) and `ITIMER_PROF`
//! (`SIGPROF`, on its user and system CPU time).
//!
//! One kernel thread serves every process's timers, started with the
//! first: it sleeps until the earliest time a timer can expire, sends the
//! signals of those that did, re-arms interval timers, and is woken when a
//! timer changes. A CPU-time timer cannot expire sooner than its time left
//! on the wall clock (one CPU), so the thread sleeps that long, then looks
//! at the CPU time the process was charged (at its last switch between
//! user mode and the kernel: the expiry is seen within a time slice, about
//! Linux's tick). A timer belongs to the process: `execve` keeps it,
//! `fork` does not copy it, the end of the process cancels it.

use crate::kernel::Kernel;
use crate::process::{Group, Process};
use crate::signal::{self, Cause};
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};
use core::time::Duration;
use vessel_linux::{Errno, SysResult};
use vessel_std::sync::{Condvar, Mutex, MutexGuard};
use vessel_std::time::Instant;

/// Which of a process's interval timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Which {
    /// `ITIMER_REAL`: wall-clock (monotonic) time, `SIGALRM`.
    Real,
    /// `ITIMER_VIRTUAL`: user CPU time, `SIGVTALRM`.
    Virtual,
    /// `ITIMER_PROF`: user and system CPU time, `SIGPROF`.
    Prof,
}

impl Which {
    /// The timer a `which` argument names (`EINVAL` for another).
    fn from_raw(which: u64) -> Result<Which, Errno> {
        match which as u32 {
            0 => Ok(Which::Real),
            1 => Ok(Which::Virtual),
            2 => Ok(Which::Prof),
            _ => Err(Errno::EINVAL),
        }
    }

    /// What it sends when it expires.
    fn signal(self) -> u8 {
        const SIGVTALRM: u8 = 26;
        const SIGPROF: u8 = 27;
        match self {
            Which::Real => signal::SIGALRM,
            Which::Virtual => SIGVTALRM,
            Which::Prof => SIGPROF,
        }
    }
}

/// A point on a timer's clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Clock {
    /// The monotonic clock (`ITIMER_REAL`).
    Wall(Instant),
    /// CPU time the process used (the CPU-time timers).
    Cpu(Duration),
}

/// An armed timer.
#[derive(Clone, Copy, Debug)]
struct Armed {
    /// When it next expires.
    expires: Clock,
    /// The period after that (zero: once).
    interval: Duration,
}

/// Every process's interval timers, and the thread that serves them.
#[derive(Default)]
pub struct Timers {
    /// Armed timers by pid and kind.
    armed: Mutex<BTreeMap<(u32, Which), Armed>>,
    /// Signalled when a timer changes.
    changed: Condvar,
    /// The serving thread has started.
    started: AtomicBool,
}

/// The time on `which`'s clock for process `group`.
fn clock_now(group: &Group, which: Which) -> Clock {
    let (user, system) = group.cpu_times();
    match which {
        Which::Real => Clock::Wall(Instant::now()),
        Which::Virtual => Clock::Cpu(user),
        Which::Prof => Clock::Cpu(user + system),
    }
}

/// How long from `now` until `expires` (zero if it passed).
fn time_left(expires: Clock, now: Clock) -> Duration {
    match (expires, now) {
        (Clock::Wall(at), Clock::Wall(now)) => at.saturating_duration_since(now),
        (Clock::Cpu(at), Clock::Cpu(now)) => at.saturating_sub(now),
        _ => Duration::ZERO,
    }
}

/// `now` plus `delay` on the same clock; beyond what the clock can hold,
/// decades ahead (never, in practice).
fn later(now: Clock, delay: Duration) -> Clock {
    const FAR: Duration = Duration::from_secs(1 << 30);
    match now {
        Clock::Wall(now) => Clock::Wall(
            now.checked_add(delay)
                .or_else(|| now.checked_add(FAR))
                .unwrap_or(now),
        ),
        Clock::Cpu(now) => Clock::Cpu(now.checked_add(delay).unwrap_or(Duration::MAX)),
    }
}

impl Timers {
    fn armed(&self) -> MutexGuard<'_, BTreeMap<(u32, Which), Armed>> {
        self.armed.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Disarms the timers of `pid` (it ended).
    pub fn cancel(&self, pid: u32) {
        let mut armed = self.armed();
        let before = armed.len();
        armed.retain(|(owner, _), _| *owner != pid);
        if armed.len() != before {
            self.changed.notify_all();
        }
    }

    /// The time left on `group`'s timer `which` and its interval (zero:
    /// disarmed).
    fn get(&self, group: &Group, which: Which) -> (Duration, Duration) {
        let timer = self.armed().get(&(group.pid, which)).copied();
        timer.map_or((Duration::ZERO, Duration::ZERO), |t| {
            // An expired timer about to fire reads 1 µs, as on Linux.
            let left = time_left(t.expires, clock_now(group, which));
            let left = if left.is_zero() {
                Duration::from_micros(1)
            } else {
                left
            };
            (left, t.interval)
        })
    }

    /// Arms (or, with a zero `value`, disarms) `group`'s timer `which`;
    /// returns what it was, as [`Timers::get`].
    fn set(
        &self,
        kernel: &Arc<Kernel>,
        group: &Group,
        which: Which,
        value: Duration,
        interval: Duration,
    ) -> Result<(Duration, Duration), Errno> {
        if !value.is_zero() && !self.started.swap(true, Ordering::AcqRel) {
            let server = kernel.clone();
            let spawned = vessel_std::thread::Builder::new()
                .name("itimers".into())
                .spawn(move || serve(&server));
            if spawned.is_err() {
                self.started.store(false, Ordering::Release);
                return Err(Errno::ENOMEM);
            }
        }
        let old = self.get(group, which);
        {
            let mut armed = self.armed();
            if value.is_zero() {
                armed.remove(&(group.pid, which));
            } else {
                // Linux adds a tick (4 ms at its usual 250 Hz) to the
                // first expiry of a CPU-time timer, so that tick-based
                // accounting never fires it early; reads show it too.
                const TICK: Duration = Duration::from_millis(4);
                let value = if which == Which::Real {
                    value
                } else {
                    value + TICK
                };
                let expires = later(clock_now(group, which), value);
                armed.insert((group.pid, which), Armed { expires, interval });
            }
        }
        self.changed.notify_all();
        Ok(old)
    }
}

/// The timer thread: sends the signals of the timers that expired.
fn serve(kernel: &Arc<Kernel>) {
    let timers = &kernel.timers;
    let mut armed = timers.armed();
    loop {
        // Each timer's time left on its clock, re-arming those that
        // expired; then their signals, without the lock.
        let mut due = Vec::new();
        let mut next_check: Option<Duration> = None;
        let mut ended = Vec::new();
        for (&(pid, which), timer) in armed.iter_mut() {
            let Ok(Some(group)) = kernel.process(pid) else {
                ended.push((pid, which));
                continue;
            };
            let now = clock_now(&group, which);
            let left = time_left(timer.expires, now);
            if !left.is_zero() {
                next_check = Some(next_check.map_or(left, |next| next.min(left)));
                continue;
            }
            due.push((group, which));
            if timer.interval.is_zero() {
                ended.push((pid, which));
                continue;
            }
            timer.expires = later(timer.expires, timer.interval);
            if time_left(timer.expires, now).is_zero() {
                // Expiries missed (the VM or the process did not run):
                // skip them.
                timer.expires = later(now, timer.interval);
            }
            let left = time_left(timer.expires, now);
            next_check = Some(next_check.map_or(left, |next| next.min(left)));
        }
        for key in ended {
            armed.remove(&key);
        }
        if !due.is_empty() {
            drop(armed);
            for (group, which) in due {
                signal::send_from_kernel(kernel, &group, which.signal(), Cause::Kernel);
            }
            armed = timers.armed();
            continue;
        }
        armed = match next_check {
            None => timers
                .changed
                .wait(armed)
                .unwrap_or_else(|e| e.into_inner()),
            Some(left) => {
                let (guard, _) = timers
                    .changed
                    .wait_timeout(armed, left)
                    .unwrap_or_else(|e| e.into_inner());
                guard
            }
        };
    }
}

/// A `struct timeval`.
fn timeval(time: Duration) -> [u8; 16] {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&time.as_secs().to_le_bytes());
    bytes[8..].copy_from_slice(&u64::from(time.subsec_micros()).to_le_bytes());
    bytes
}

/// A valid `struct timeval` (`EINVAL` for a negative or out-of-range one).
fn read_timeval(bytes: &[u8]) -> Result<Duration, Errno> {
    let secs = i64::from_le_bytes(bytes[..8].try_into().unwrap_or_default());
    let micros = i64::from_le_bytes(bytes[8..16].try_into().unwrap_or_default());
    if secs < 0 || !(0..1_000_000).contains(&micros) {
        return Err(Errno::EINVAL);
    }
    Ok(Duration::new(secs as u64, micros as u32 * 1000))
}

/// A `struct itimerval`: the interval, then the value.
fn itimerval((value, interval): (Duration, Duration)) -> [u8; 32] {
    let mut bytes = [0u8; 32];
    bytes[..16].copy_from_slice(&timeval(interval));
    bytes[16..].copy_from_slice(&timeval(value));
    bytes
}

/// `getitimer(which, value)`.
pub fn getitimer(p: &mut Process, which: u64, value: u64) -> SysResult {
    let which = Which::from_raw(which)?;
    let current = p.kernel.timers.get(&p.group, which);
    p.memory()
        .space
        .write_bytes(value, &itimerval(current))
        .map_err(|_| Errno::EFAULT)?;
    Ok(0)
}

/// `setitimer(which, new, old)`: a null `new` disarms.
pub fn setitimer(p: &mut Process, which: u64, new: u64, old: u64) -> SysResult {
    let (value, interval) = if new == 0 {
        (Duration::ZERO, Duration::ZERO)
    } else {
        let mut bytes = [0u8; 32];
        p.memory()
            .space
            .read_bytes(new, &mut bytes)
            .map_err(|_| Errno::EFAULT)?;
        (read_timeval(&bytes[16..])?, read_timeval(&bytes[..16])?)
    };
    let which = Which::from_raw(which)?;
    let previous = p
        .kernel
        .timers
        .set(&p.kernel, &p.group, which, value, interval)?;
    if old != 0 {
        p.memory()
            .space
            .write_bytes(old, &itimerval(previous))
            .map_err(|_| Errno::EFAULT)?;
    }
    Ok(0)
}

/// `alarm(seconds)`: `SIGALRM` in that many seconds (0 cancels); returns
/// the seconds the previous alarm had left, rounded as Linux does (never
/// 0 for one still pending).
pub fn alarm(p: &mut Process, seconds: u64) -> SysResult {
    let seconds = Duration::from_secs(u64::from(seconds as u32));
    let (left, _) =
        p.kernel
            .timers
            .set(&p.kernel, &p.group, Which::Real, seconds, Duration::ZERO)?;
    let nanos = left.subsec_nanos();
    let mut secs = left.as_secs();
    if (secs == 0 && nanos != 0) || nanos >= 500_000_000 {
        secs += 1;
    }
    Ok(secs as usize)
}
