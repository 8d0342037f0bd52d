//! Waiting for descriptors: `poll`, `ppoll`, `select`, `pselect6`.
//!
//! What a descriptor is ready for comes from [`crate::file::File::poll`].
//! Only pipes change readiness while a process waits (files, devices and
//! the console are always ready), and every change to a pipe calls
//! [`changed`]: a
//! kernel-wide generation count, with one condition variable that waiters
//! sleep on, re-checking their descriptors each time it moves. A wait ends
//! when a descriptor is ready, at the timeout, or when a signal interrupts
//! it (the call then fails with `EINTR`, or starts again if no handler ran,
//! as Linux's `ERESTARTNOHAND`).

use crate::file::{MAX_FDS, OpenFile};
use crate::process::Process;
use crate::signal::{self, Restart};
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use core::time::Duration;
use vessel_linux::{Errno, SysResult};
use vessel_std::sync::{Condvar, Mutex};
use vessel_std::time::Instant;

/// There is data to read.
pub const POLLIN: u16 = 0x1;
/// There is urgent data to read (never, here).
pub const POLLPRI: u16 = 0x2;
/// Writing would not wait.
pub const POLLOUT: u16 = 0x4;
/// An error condition (a pipe's write end with no reader).
pub const POLLERR: u16 = 0x8;
/// Hung up (a pipe's read end with no writer).
pub const POLLHUP: u16 = 0x10;
/// Not an open descriptor.
const POLLNVAL: u16 = 0x20;
/// Normal data to read (as `POLLIN`).
pub const POLLRDNORM: u16 = 0x40;
/// Priority band data to read.
const POLLRDBAND: u16 = 0x80;
/// Writing normal data would not wait (as `POLLOUT`).
pub const POLLWRNORM: u16 = 0x100;
/// Priority band data may be written.
const POLLWRBAND: u16 = 0x200;

/// What `select` counts as readable, writable and exceptional (Linux's
/// `POLLIN_SET`, `POLLOUT_SET`, `POLLEX_SET`).
const SELECT_IN: u16 = POLLRDNORM | POLLRDBAND | POLLIN | POLLHUP | POLLERR;
const SELECT_OUT: u16 = POLLWRBAND | POLLWRNORM | POLLOUT | POLLERR;
const SELECT_EX: u16 = POLLPRI;

/// Changes that may make a waiter's descriptors ready.
struct Changes {
    /// Moves at every change.
    generation: AtomicU64,
    /// Threads waiting (changes take the lock only if there are some).
    waiters: AtomicUsize,
    lock: Mutex<()>,
    changed: Condvar,
}

static CHANGES: Changes = Changes {
    generation: AtomicU64::new(0),
    waiters: AtomicUsize::new(0),
    lock: Mutex::new(()),
    changed: Condvar::new(),
};

/// Something a `poll` or `select` may wait for changed (a pipe's
/// contents, or its number of readers or writers).
pub fn changed() {
    CHANGES.generation.fetch_add(1, Ordering::SeqCst);
    if CHANGES.waiters.load(Ordering::SeqCst) > 0 {
        // A waiter checks the generation under the lock before it sleeps:
        // taking it here means it either saw the change or sleeps already.
        drop(CHANGES.lock.lock());
        CHANGES.changed.notify_all();
    }
}

/// Counts a waiter for as long as it lives.
struct Waiting;

impl Waiting {
    fn new() -> Waiting {
        CHANGES.waiters.fetch_add(1, Ordering::SeqCst);
        Waiting
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        CHANGES.waiters.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Calls `ready` until it gives something, then returns that; `None` at
/// `deadline` (`None`: no deadline), `ERESTART` if a signal interrupts the
/// wait.
fn wait_until<T>(
    deadline: Option<Instant>,
    mut ready: impl FnMut() -> Option<T>,
) -> Result<Option<T>, Errno> {
    let _waiting = Waiting::new();
    loop {
        let seen = CHANGES.generation.load(Ordering::SeqCst);
        if let Some(result) = ready() {
            return Ok(Some(result));
        }
        let now = Instant::now();
        if deadline.is_some_and(|deadline| now >= deadline) {
            return Ok(None);
        }
        if signal::pending() {
            return Err(Errno::ERESTART);
        }
        let guard = CHANGES.lock.lock().unwrap_or_else(|e| e.into_inner());
        if CHANGES.generation.load(Ordering::SeqCst) != seen {
            continue;
        }
        let guard = match deadline {
            None => CHANGES
                .changed
                .wait_interruptible(guard)
                .unwrap_or_else(|e| e.into_inner()),
            Some(deadline) => {
                CHANGES
                    .changed
                    .wait_timeout_interruptible(guard, deadline - now)
                    .unwrap_or_else(|e| e.into_inner())
                    .0
            }
        };
        drop(guard);
    }
}

fn efault<T>(_: T) -> Errno {
    Errno::EFAULT
}

/// A timeout read as a `timespec` (`timeval` if `micros`) at `addr`:
/// `None` for a null pointer (wait forever); `EINVAL` if negative or out
/// of range.
fn read_timeout(p: &Process, addr: u64, micros: bool) -> Result<Option<Duration>, Errno> {
    if addr == 0 {
        return Ok(None);
    }
    let mut raw = [0u8; 16];
    p.memory()
        .space
        .read_bytes(addr, &mut raw)
        .map_err(efault)?;
    let secs = i64::from_le_bytes(raw[..8].try_into().unwrap_or_default());
    let fraction = i64::from_le_bytes(raw[8..].try_into().unwrap_or_default());
    if secs < 0 || fraction < 0 {
        return Err(Errno::EINVAL);
    }
    let (secs, fraction) = (secs as u64, fraction as u64);
    Ok(Some(if micros {
        // select carries whole seconds of microseconds over, as Linux.
        Duration::from_secs(secs).saturating_add(Duration::from_micros(fraction))
    } else if fraction >= 1_000_000_000 {
        return Err(Errno::EINVAL);
    } else {
        Duration::new(secs, fraction as u32)
    }))
}

/// Writes the time left until `deadline` back to the timeout at `addr`,
/// as Linux does (failures are ignored, as there).
fn write_time_left(p: &Process, addr: u64, deadline: Option<Instant>, micros: bool) {
    let (Some(deadline), true) = (deadline, addr != 0) else {
        return;
    };
    let left = deadline.saturating_duration_since(Instant::now());
    let fraction = if micros {
        u64::from(left.subsec_micros())
    } else {
        u64::from(left.subsec_nanos())
    };
    let mut raw = [0u8; 16];
    raw[..8].copy_from_slice(&left.as_secs().to_le_bytes());
    raw[8..].copy_from_slice(&fraction.to_le_bytes());
    let _ = p.memory().space.write_bytes(addr, &raw);
}

/// The deadline `timeout` from now (`None`: none; too far: none).
fn deadline(timeout: Option<Duration>) -> Option<Instant> {
    timeout.and_then(|t| Instant::now().checked_add(t))
}

/// `poll(fds, count, timeout_ms)`: a negative timeout waits forever.
pub fn poll(p: &mut Process, fds: u64, count: u64, timeout_ms: u64) -> SysResult {
    let timeout_ms = timeout_ms as i32;
    let timeout = (timeout_ms >= 0).then(|| Duration::from_millis(timeout_ms as u64));
    let result = poll_fds(p, fds, count, deadline(timeout));
    result.map_err(|e| restartable(p, e))
}

/// `ppoll(fds, count, timeout, sigmask, sigsetsize)`: a `timespec`
/// timeout (null: forever), the time left written back, and a signal mask
/// for the duration of the wait.
pub fn ppoll(
    p: &mut Process,
    fds: u64,
    count: u64,
    timeout: u64,
    sigmask: u64,
    size: u64,
) -> SysResult {
    let deadline = deadline(read_timeout(p, timeout, false)?);
    let mask = read_sigmask(p, sigmask, size)?;
    let result = with_mask(p, mask, |p| poll_fds(p, fds, count, deadline));
    write_time_left(p, timeout, deadline, false);
    result
}

/// The signal set at `addr` (`None` for a null pointer); its size must be
/// 8 bytes.
fn read_sigmask(p: &Process, addr: u64, size: u64) -> Result<Option<u64>, Errno> {
    if addr == 0 {
        return Ok(None);
    }
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    let mut raw = [0u8; 8];
    p.memory()
        .space
        .read_bytes(addr, &mut raw)
        .map_err(efault)?;
    Ok(Some(u64::from_le_bytes(raw)))
}

/// Runs `wait` with signal mask `mask` if there is one: the old mask comes
/// back when the call returns, or after the handler of a signal that
/// interrupted it (as `rt_sigsuspend` does).
fn with_mask(
    p: &mut Process,
    mask: Option<u64>,
    wait: impl FnOnce(&mut Process) -> SysResult,
) -> SysResult {
    if let Some(mask) = mask {
        signal::mask_during_call(p, mask);
    }
    let result = wait(p);
    if result != Err(Errno::ERESTART) {
        signal::restore_call_mask(p);
    }
    result.map_err(|e| restartable(p, e))
}

/// An interrupted wait starts again if no handler ran, else fails with
/// `EINTR` (`ERESTARTNOHAND`).
fn restartable(p: &mut Process, errno: Errno) -> Errno {
    if errno == Errno::ERESTART {
        signal::interrupted(p, Restart::NoHandler)
    } else {
        errno
    }
}

/// Waits for the `count` `struct pollfd`s at `fds`; writes their `revents`
/// and returns how many have any.
fn poll_fds(p: &mut Process, fds: u64, count: u64, deadline: Option<Instant>) -> SysResult {
    if count > MAX_FDS as u64 {
        return Err(Errno::EINVAL);
    }
    let mut raw = vec![0u8; count as usize * 8];
    p.memory().space.read_bytes(fds, &mut raw).map_err(efault)?;
    // Each entry: the file (None for a negative fd, Some(None) for one not
    // open) and the events asked for.
    let entries: Vec<(Option<Option<Arc<OpenFile>>>, u16)> = raw
        .chunks_exact(8)
        .map(|entry| {
            let fd = i32::from_le_bytes([entry[0], entry[1], entry[2], entry[3]]);
            let events = u16::from_le_bytes([entry[4], entry[5]]);
            let file = (fd >= 0).then(|| p.fds().get(fd as u64).ok());
            (file, events)
        })
        .collect();
    let revents = |entries: &[(Option<Option<Arc<OpenFile>>>, u16)]| -> Vec<u16> {
        entries
            .iter()
            .map(|(file, events)| match file {
                None => 0,
                Some(None) => POLLNVAL,
                Some(Some(file)) => file.poll() & (events | POLLERR | POLLHUP),
            })
            .collect()
    };
    let ready = wait_until(deadline, || {
        let revents = revents(&entries);
        revents.iter().any(|&r| r != 0).then_some(revents)
    })?;
    let revents = ready.unwrap_or_else(|| vec![0; entries.len()]);
    for (i, events) in revents.iter().enumerate() {
        p.memory()
            .space
            .write_bytes(fds + i as u64 * 8 + 6, &events.to_le_bytes())
            .map_err(efault)?;
    }
    Ok(revents.iter().filter(|&&r| r != 0).count())
}

/// `select(n, readfds, writefds, exceptfds, timeout)`: a `timeval`
/// timeout (null: forever), the time left written back.
pub fn select(p: &mut Process, n: u64, sets: [u64; 3], timeout: u64) -> SysResult {
    let deadline = deadline(read_timeout(p, timeout, true)?);
    let result = select_fds(p, n, sets, deadline);
    write_time_left(p, timeout, deadline, true);
    result.map_err(|e| restartable(p, e))
}

/// `pselect6(n, readfds, writefds, exceptfds, timeout, sig)`: a `timespec`
/// timeout, and `sig` pointing at a signal mask's address and size.
pub fn pselect6(p: &mut Process, n: u64, sets: [u64; 3], timeout: u64, sig: u64) -> SysResult {
    let deadline = deadline(read_timeout(p, timeout, false)?);
    let mask = if sig == 0 {
        None
    } else {
        let mut raw = [0u8; 16];
        p.memory().space.read_bytes(sig, &mut raw).map_err(efault)?;
        let addr = u64::from_le_bytes(raw[..8].try_into().unwrap_or_default());
        let size = u64::from_le_bytes(raw[8..].try_into().unwrap_or_default());
        read_sigmask(p, addr, size)?
    };
    let result = with_mask(p, mask, |p| select_fds(p, n, sets, deadline));
    write_time_left(p, timeout, deadline, false);
    result
}

/// Waits for the descriptors of the three `fd_set`s (read, write,
/// exceptional) below `n`; writes back the ready ones and returns how many
/// bits are set. `EBADF` if a set names a descriptor that is not open.
fn select_fds(p: &mut Process, n: u64, sets: [u64; 3], deadline: Option<Instant>) -> SysResult {
    if (n as i32) < 0 {
        return Err(Errno::EINVAL);
    }
    let n = (n as usize).min(MAX_FDS);
    let words = n.div_ceil(64);
    let mut wanted = [vec![0u64; words], vec![0u64; words], vec![0u64; words]];
    for (set, &addr) in wanted.iter_mut().zip(&sets) {
        if addr == 0 || words == 0 {
            continue;
        }
        let mut raw = vec![0u8; words * 8];
        p.memory()
            .space
            .read_bytes(addr, &mut raw)
            .map_err(efault)?;
        for (word, bytes) in set.iter_mut().zip(raw.chunks_exact(8)) {
            *word = u64::from_le_bytes(bytes.try_into().unwrap_or_default());
        }
        // Bits at or above n are not looked at.
        if !n.is_multiple_of(64) {
            set[words - 1] &= (1u64 << (n % 64)) - 1;
        }
    }
    let mut files = Vec::new();
    for fd in 0..n {
        let (word, bit) = (fd / 64, 1u64 << (fd % 64));
        if wanted.iter().any(|set| set[word] & bit != 0) {
            files.push((fd, p.fds().get(fd as u64).map_err(|_| Errno::EBADF)?));
        }
    }
    let masks = [SELECT_IN, SELECT_OUT, SELECT_EX];
    let ready = wait_until(deadline, || {
        let mut found = [vec![0u64; words], vec![0u64; words], vec![0u64; words]];
        let mut count = 0;
        for (fd, file) in &files {
            let (word, bit) = (fd / 64, 1u64 << (fd % 64));
            let events = file.poll();
            for ((set, want), mask) in found.iter_mut().zip(&wanted).zip(masks) {
                if want[word] & bit != 0 && events & mask != 0 {
                    set[word] |= bit;
                    count += 1;
                }
            }
        }
        (count > 0).then_some((found, count))
    })?;
    let (found, count) = ready.unwrap_or_else(|| {
        let empty = [vec![0u64; words], vec![0u64; words], vec![0u64; words]];
        (empty, 0)
    });
    for (set, &addr) in found.iter().zip(&sets) {
        if addr == 0 || words == 0 {
            continue;
        }
        let bytes: Vec<u8> = set.iter().flat_map(|w| w.to_le_bytes()).collect();
        p.memory().space.write_bytes(addr, &bytes).map_err(efault)?;
    }
    Ok(count)
}
