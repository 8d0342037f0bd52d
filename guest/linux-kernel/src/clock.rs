//! Clocks, sleeps and CPU time: `clock_gettime`, `clock_getres`,
//! `gettimeofday`, `time`, `nanosleep`, `clock_nanosleep` and `getrusage`.
//!
//! The wall clock is vessel-rt's; the monotonic clock counts from the
//! kernel's start. There is no suspend, no NTP slewing and no TAI offset,
//! so `CLOCK_BOOTTIME` and `CLOCK_MONOTONIC_RAW` read as `CLOCK_MONOTONIC`,
//! `CLOCK_TAI` as `CLOCK_REALTIME`, and the `_COARSE` clocks are as fine
//! as the others. CPU time is what the threads' vessel-rt tasks ran,
//! charged to user mode while in ring 3 and to the kernel otherwise.

use crate::kernel::Usage;
use crate::process::Process;
use crate::signal::{self, Restart};
use alloc::boxed::Box;
use core::time::Duration;
use vessel_linux::{Errno, SysResult};
use vessel_std::os::user::Fault;
use vessel_std::time::{SystemTime, UNIX_EPOCH};

const CLOCK_REALTIME: i32 = 0;
const CLOCK_MONOTONIC: i32 = 1;
const CLOCK_PROCESS_CPUTIME_ID: i32 = 2;
const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
const CLOCK_MONOTONIC_RAW: i32 = 4;
const CLOCK_REALTIME_COARSE: i32 = 5;
const CLOCK_MONOTONIC_COARSE: i32 = 6;
const CLOCK_BOOTTIME: i32 = 7;
const CLOCK_TAI: i32 = 11;

fn efault(_: Fault) -> Errno {
    Errno::EFAULT
}

/// Which CPU time a CPU clock reads.
#[derive(Clone, Copy, PartialEq, Eq)]
enum CpuClock {
    /// User and system time (`CPUCLOCK_PROF`, `CPUCLOCK_SCHED`).
    All,
    /// User time only (`CPUCLOCK_VIRT`).
    User,
}

/// A clock a clock id names.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Clock {
    Realtime,
    Monotonic,
    /// The process's CPU time.
    Process(CpuClock),
    /// The calling thread's CPU time.
    Thread(CpuClock),
}

/// The clock `id` names, for a caller that is `p`, and whether it is one
/// with a sleep (`clock_nanosleep`) in Linux. `EINVAL` for clocks that do
/// not exist here (among them the alarm clocks, as on a machine with no
/// RTC alarm, and CPU clocks of other processes and threads).
fn clock(p: &Process, id: u64) -> Result<(Clock, bool), Errno> {
    let id = id as i32;
    Ok(match id {
        CLOCK_REALTIME | CLOCK_TAI => (Clock::Realtime, true),
        CLOCK_REALTIME_COARSE => (Clock::Realtime, false),
        CLOCK_MONOTONIC | CLOCK_BOOTTIME => (Clock::Monotonic, true),
        CLOCK_MONOTONIC_RAW | CLOCK_MONOTONIC_COARSE => (Clock::Monotonic, false),
        CLOCK_PROCESS_CPUTIME_ID => (Clock::Process(CpuClock::All), true),
        CLOCK_THREAD_CPUTIME_ID => (Clock::Thread(CpuClock::All), false),
        id if id < 0 => {
            // A CPU clock by id: `~pid << 3 | per_thread << 2 | which`,
            // where which is PROF (0), VIRT (1) or SCHED (2); 3 is a
            // descriptor clock (not supported).
            let which = match id & 3 {
                0 | 2 => CpuClock::All,
                1 => CpuClock::User,
                _ => return Err(Errno::EINVAL),
            };
            let pid = !(id >> 3) as u32;
            if id & 4 != 0 {
                if pid != 0 && pid != p.tid {
                    return Err(Errno::EINVAL);
                }
                // Linux refuses to sleep on a thread's CPU clock: EINVAL.
                (Clock::Thread(which), false)
            } else {
                if pid != 0 && pid != p.pid() {
                    return Err(Errno::EINVAL);
                }
                (Clock::Process(which), true)
            }
        }
        _ => return Err(Errno::EINVAL),
    })
}

/// The time since the Unix epoch.
fn wall_clock() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// The monotonic clock: the time since the kernel started (what futex
/// timeouts on `CLOCK_MONOTONIC` measure from too).
pub fn monotonic(p: &Process) -> Duration {
    p.kernel.booted.elapsed()
}

/// What `clock` reads now.
fn now(p: &mut Process, clock: Clock) -> Duration {
    match clock {
        Clock::Realtime => wall_clock(),
        Clock::Monotonic => monotonic(p),
        Clock::Process(which) => {
            p.charge_cpu(false);
            let (user, system) = p.group.cpu_times();
            match which {
                CpuClock::All => user + system,
                CpuClock::User => user,
            }
        }
        Clock::Thread(which) => {
            p.charge_cpu(false);
            let (user, system) = p.thread_cpu_times();
            match which {
                CpuClock::All => user + system,
                CpuClock::User => user,
            }
        }
    }
}

/// A `struct timespec`.
fn timespec(time: Duration) -> [u8; 16] {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&time.as_secs().to_le_bytes());
    bytes[8..].copy_from_slice(&u64::from(time.subsec_nanos()).to_le_bytes());
    bytes
}

/// A `struct timeval`.
fn timeval(time: Duration) -> [u8; 16] {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&time.as_secs().to_le_bytes());
    bytes[8..].copy_from_slice(&u64::from(time.subsec_micros()).to_le_bytes());
    bytes
}

pub fn clock_gettime(p: &mut Process, id: u64, ts: u64) -> SysResult {
    let (clock, _) = clock(p, id)?;
    let time = now(p, clock);
    p.memory()
        .space
        .write_bytes(ts, &timespec(time))
        .map_err(efault)?;
    Ok(0)
}

/// Every clock here counts nanoseconds.
pub fn clock_getres(p: &mut Process, id: u64, res: u64) -> SysResult {
    clock(p, id)?;
    if res != 0 {
        p.memory()
            .space
            .write_bytes(res, &timespec(Duration::from_nanos(1)))
            .map_err(efault)?;
    }
    Ok(0)
}

/// The wall clock in a `struct timeval`; the time zone is UTC.
pub fn gettimeofday(p: &mut Process, tv: u64, tz: u64) -> SysResult {
    if tv != 0 {
        p.memory()
            .space
            .write_bytes(tv, &timeval(wall_clock()))
            .map_err(efault)?;
    }
    if tz != 0 {
        // struct timezone { tz_minuteswest, tz_dsttime }: UTC, no DST.
        p.memory()
            .space
            .write_bytes(tz, &[0u8; 8])
            .map_err(efault)?;
    }
    Ok(0)
}

pub fn time(p: &mut Process, tloc: u64) -> SysResult {
    let now = wall_clock().as_secs();
    if tloc != 0 {
        p.memory()
            .space
            .write_bytes(tloc, &now.to_le_bytes())
            .map_err(efault)?;
    }
    Ok(now as usize)
}

/// Reads a valid `struct timespec` (`EFAULT`, or `EINVAL` for a negative
/// or out-of-range one).
pub fn read_timespec(p: &Process, at: u64) -> Result<Duration, Errno> {
    let mut bytes = [0u8; 16];
    p.memory()
        .space
        .read_bytes(at, &mut bytes)
        .map_err(efault)?;
    let secs = i64::from_le_bytes(bytes[..8].try_into().unwrap_or_default());
    let nanos = i64::from_le_bytes(bytes[8..].try_into().unwrap_or_default());
    if secs < 0 || !(0..1_000_000_000).contains(&nanos) {
        return Err(Errno::EINVAL);
    }
    Ok(Duration::new(secs as u64, nanos as u32))
}

/// Sleeps until `clock` reads `deadline` (at once if it has); false if a
/// signal interrupted the sleep first.
fn sleep_until(p: &mut Process, clock: Clock, deadline: Duration) -> bool {
    loop {
        let now = now(p, clock);
        if now >= deadline {
            return true;
        }
        let left = deadline - now;
        let step = match clock {
            // CPU time moves only while other threads run: look again
            // every millisecond.
            Clock::Process(_) | Clock::Thread(_) => left.min(Duration::from_millis(1)),
            Clock::Realtime | Clock::Monotonic => left,
        };
        if !vessel_std::thread::sleep_interruptible(step) {
            return false;
        }
    }
}

/// A relative sleep until `clock` reads `deadline`. If a signal
/// interrupts it, the time left goes to `remain` (unless null) and, if no
/// handler runs (the process was stopped and continued), the sleep goes
/// on through `restart_syscall`.
fn sleep_for(p: &mut Process, clock: Clock, deadline: Duration, remain: u64) -> SysResult {
    if sleep_until(p, clock, deadline) {
        return Ok(0);
    }
    if remain != 0 {
        let left = deadline.saturating_sub(now(p, clock));
        p.memory()
            .space
            .write_bytes(remain, &timespec(left))
            .map_err(efault)?;
    }
    let rest = move |p: &mut Process| sleep_for(p, clock, deadline, remain);
    Err(signal::interrupted(p, Restart::Resume(Box::new(rest))))
}

/// `nanosleep(request, remain)`: sleeps at least the time asked, unless
/// a signal's handler interrupts it (`EINTR`, the time left in `remain`).
pub fn nanosleep(p: &mut Process, request: u64, remain: u64) -> SysResult {
    let span = read_timespec(p, request)?;
    let deadline = monotonic(p).saturating_add(span);
    sleep_for(p, Clock::Monotonic, deadline, remain)
}

/// `clock_nanosleep(clock, flags, request, remain)`: a relative sleep, or
/// with `TIMER_ABSTIME` one until the clock reads `request` (which a
/// signal's handler interrupts without writing `remain`).
pub fn clock_nanosleep(
    p: &mut Process,
    id: u64,
    flags: u64,
    request: u64,
    remain: u64,
) -> SysResult {
    const TIMER_ABSTIME: u64 = 1;
    let (clock, sleeps) = clock(p, id)?;
    if !sleeps {
        return Err(match clock {
            // A thread's CPU clock: EINVAL (Linux's posix_cpu_nsleep).
            Clock::Thread(_) if (id as i32) < 0 => Errno::EINVAL,
            _ => Errno::EOPNOTSUPP,
        });
    }
    let span = read_timespec(p, request)?;
    if flags & TIMER_ABSTIME != 0 {
        return match sleep_until(p, clock, span) {
            true => Ok(0),
            false => Err(signal::interrupted(p, Restart::NoHandler)),
        };
    }
    let deadline = now(p, clock).saturating_add(span);
    sleep_for(p, clock, deadline, remain)
}

/// The size of `struct rusage`.
pub const RUSAGE_SIZE: usize = 144;

/// `usage` as a `struct rusage`: the times and `ru_maxrss`; the counters
/// (faults, blocks, context switches...) are not kept and read 0.
pub fn rusage(usage: Usage) -> [u8; RUSAGE_SIZE] {
    let mut bytes = [0u8; RUSAGE_SIZE];
    bytes[..16].copy_from_slice(&timeval(usage.user));
    bytes[16..32].copy_from_slice(&timeval(usage.system));
    bytes[32..40].copy_from_slice(&usage.maxrss_kib.to_le_bytes());
    bytes
}

pub fn getrusage(p: &mut Process, who: u64, buf: u64) -> SysResult {
    const RUSAGE_SELF: i32 = 0;
    const RUSAGE_CHILDREN: i32 = -1;
    const RUSAGE_THREAD: i32 = 1;
    p.charge_cpu(false);
    let usage = match who as i32 {
        RUSAGE_SELF => {
            let (user, system) = p.group.cpu_times();
            Usage {
                user,
                system,
                maxrss_kib: p.group.maxrss_kib(),
            }
        }
        RUSAGE_CHILDREN => *p.group.children.lock().unwrap_or_else(|e| e.into_inner()),
        RUSAGE_THREAD => {
            let (user, system) = p.thread_cpu_times();
            Usage {
                user,
                system,
                maxrss_kib: p.group.maxrss_kib(),
            }
        }
        _ => return Err(Errno::EINVAL),
    };
    p.memory()
        .space
        .write_bytes(buf, &rusage(usage))
        .map_err(efault)?;
    Ok(0)
}
