//! Interval timers: `alarm`, `setitimer` and `getitimer` for `ITIMER_REAL`
//! (`SIGALRM`, on the monotonic clock).
//!
//! One kernel thread serves every process's timer, started with the
//! first: it sleeps until the earliest expiry, sends `SIGALRM`, re-arms
//! interval timers, and is woken when a timer changes. A timer belongs to
//! the process: `execve` keeps it, `fork` does not copy it, the end of
//! the process cancels it. The CPU-time timers (`ITIMER_VIRTUAL`,
//! `ITIMER_PROF`) are not implemented (`EINVAL`).

use crate::kernel::Kernel;
use crate::process::Process;
use crate::signal::{self, Cause};
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};
use core::time::Duration;
use vessel_linux::{Errno, SysResult};
use vessel_std::sync::{Condvar, Mutex, MutexGuard};
use vessel_std::time::Instant;

/// An armed `ITIMER_REAL`.
#[derive(Clone, Copy, Debug)]
struct RealTimer {
    /// When it next sends `SIGALRM`.
    expires: Instant,
    /// The period after that (zero: once).
    interval: Duration,
}

/// Every process's `ITIMER_REAL`, and the thread that serves them.
#[derive(Default)]
pub struct Timers {
    /// Armed timers by pid.
    armed: Mutex<BTreeMap<u32, RealTimer>>,
    /// Signalled when a timer changes.
    changed: Condvar,
    /// The serving thread has started.
    started: AtomicBool,
}

impl Timers {
    fn armed(&self) -> MutexGuard<'_, BTreeMap<u32, RealTimer>> {
        self.armed.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Disarms the timer of `pid` (it ended).
    pub fn cancel(&self, pid: u32) {
        if self.armed().remove(&pid).is_some() {
            self.changed.notify_all();
        }
    }

    /// The time left on `pid`'s timer and its interval (zero: disarmed).
    fn get(&self, pid: u32) -> (Duration, Duration) {
        let timer = self.armed().get(&pid).copied();
        timer.map_or((Duration::ZERO, Duration::ZERO), |t| {
            // An expired timer about to fire reads 1 µs, as on Linux.
            let left = t
                .expires
                .checked_duration_since(Instant::now())
                .filter(|left| !left.is_zero())
                .unwrap_or(Duration::from_micros(1));
            (left, t.interval)
        })
    }

    /// Arms (or, with a zero `value`, disarms) `pid`'s timer; returns what
    /// it was, as [`Timers::get`].
    fn set(
        &self,
        kernel: &Arc<Kernel>,
        pid: u32,
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
        let old = self.get(pid);
        {
            let mut armed = self.armed();
            if value.is_zero() {
                armed.remove(&pid);
            } else {
                let expires = Instant::now()
                    .checked_add(value)
                    .unwrap_or_else(|| Instant::now() + Duration::from_secs(1 << 40));
                armed.insert(pid, RealTimer { expires, interval });
            }
        }
        self.changed.notify_all();
        Ok(old)
    }
}

/// The timer thread: sends `SIGALRM` to processes whose timer expired.
fn serve(kernel: &Arc<Kernel>) {
    let timers = &kernel.timers;
    let mut armed = timers.armed();
    loop {
        let now = Instant::now();
        let due: Vec<u32> = armed
            .iter()
            .filter(|(_, t)| t.expires <= now)
            .map(|(pid, _)| *pid)
            .collect();
        if !due.is_empty() {
            for pid in &due {
                if let Some(timer) = armed.get_mut(pid) {
                    if timer.interval.is_zero() {
                        armed.remove(pid);
                    } else {
                        timer.expires = timer.expires + timer.interval;
                        if timer.expires <= now {
                            // Expiries missed (the VM did not run): skip.
                            timer.expires = now + timer.interval;
                        }
                    }
                }
            }
            drop(armed);
            for pid in due {
                if let Ok(Some(group)) = kernel.process(pid) {
                    signal::send_from_kernel(kernel, &group, signal::SIGALRM, Cause::Kernel);
                }
            }
            armed = timers.armed();
            continue;
        }
        armed = match armed.values().map(|t| t.expires).min() {
            None => timers
                .changed
                .wait(armed)
                .unwrap_or_else(|e| e.into_inner()),
            Some(next) => {
                let left = next.saturating_duration_since(now);
                let (guard, _) = timers
                    .changed
                    .wait_timeout(armed, left)
                    .unwrap_or_else(|e| e.into_inner());
                guard
            }
        };
    }
}

const ITIMER_REAL: u64 = 0;

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

/// The timer `which` names: `ITIMER_REAL`; the CPU-time ones
/// (`ITIMER_VIRTUAL`, `ITIMER_PROF`) are not implemented and are `EINVAL`,
/// as an unknown one.
fn check(which: u64) -> Result<(), Errno> {
    match which as u32 as u64 {
        ITIMER_REAL => Ok(()),
        _ => Err(Errno::EINVAL),
    }
}

/// `getitimer(which, value)`.
pub fn getitimer(p: &mut Process, which: u64, value: u64) -> SysResult {
    check(which)?;
    let current = p.kernel.timers.get(p.pid());
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
    check(which)?;
    let previous = p.kernel.timers.set(&p.kernel, p.pid(), value, interval)?;
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
    let (left, _) = p
        .kernel
        .timers
        .set(&p.kernel, p.pid(), seconds, Duration::ZERO)?;
    let nanos = left.subsec_nanos();
    let mut secs = left.as_secs();
    if (secs == 0 && nanos != 0) || nanos >= 500_000_000 {
        secs += 1;
    }
    Ok(secs as usize)
}
