//! The run-time limit (`--timeout`): a POSIX timer that signals the vCPU
//! thread.
//!
//! A guest that spins without ever exiting keeps its vCPU thread inside
//! `KVM_RUN`. The watchdog is a `CLOCK_MONOTONIC` timer whose signal
//! ([`signal`], a real-time signal with an empty handler) is directed at the
//! vCPU thread: when it fires, `KVM_RUN` returns `EINTR` and the run loop,
//! seeing the deadline passed, stops the VM. After the first expiry the timer
//! keeps firing every [`REPEAT`], so a signal that lands just before the
//! thread re-enters `KVM_RUN` is followed by another one. No extra thread;
//! all set up before the seccomp filter (only `timer_delete` and
//! `rt_sigreturn` are needed afterwards).

use std::io;
use std::time::{Duration, Instant};

/// Interval between repeated signals once the deadline has passed.
pub const REPEAT: Duration = Duration::from_millis(10);

/// The signal the watchdog sends.
pub fn signal() -> libc::c_int {
    vmm_sys_util::signal::SIGRTMIN()
}

extern "C" fn on_signal(_: libc::c_int, _: *mut libc::siginfo_t, _: *mut libc::c_void) {
    // Nothing to do: the signal only interrupts KVM_RUN.
}

fn timespec(d: Duration) -> libc::timespec {
    libc::timespec {
        tv_sec: libc::time_t::try_from(d.as_secs()).unwrap_or(libc::time_t::MAX),
        tv_nsec: libc::c_long::from(d.subsec_nanos() as i32),
    }
}

/// An armed timer; deleted on drop. Must be dropped on the thread that
/// armed it, before that thread ends.
#[derive(Debug)]
pub struct Watchdog {
    timer: libc::timer_t,
    deadline: Instant,
    limit: Duration,
}

impl Watchdog {
    /// Arms a timer that signals the calling thread after `limit`.
    pub fn arm(limit: Duration) -> io::Result<Self> {
        vmm_sys_util::signal::register_signal_handler(signal(), on_signal)
            .map_err(|e| io::Error::from_raw_os_error(e.errno()))?;
        // The signal must reach this thread: unblock it here.
        vmm_sys_util::signal::unblock_signal(signal())
            .map_err(|e| io::Error::other(format!("cannot unblock the signal: {e}")))?;
        // SAFETY: a zeroed sigevent is valid (SIGEV_SIGNAL with signal 0);
        // the fields used are set below.
        let mut sev: libc::sigevent = unsafe { std::mem::zeroed() };
        sev.sigev_notify = libc::SIGEV_THREAD_ID;
        sev.sigev_signo = signal();
        // SAFETY: gettid has no preconditions.
        sev.sigev_notify_thread_id = unsafe { libc::gettid() };
        let mut timer: libc::timer_t = std::ptr::null_mut();
        // SAFETY: `sev` is initialised and `timer` is a valid place for the
        // new timer id.
        if unsafe { libc::timer_create(libc::CLOCK_MONOTONIC, &mut sev, &mut timer) } != 0 {
            return Err(io::Error::last_os_error());
        }
        let dog = Self {
            timer,
            deadline: Instant::now() + limit,
            // A zero limit would disarm the timer: fire at once instead.
            limit,
        };
        let spec = libc::itimerspec {
            it_interval: timespec(REPEAT),
            it_value: timespec(limit.max(Duration::from_nanos(1))),
        };
        // SAFETY: `timer` was just created; `spec` is initialised; the old
        // value is not requested.
        if unsafe { libc::timer_settime(dog.timer, 0, &spec, std::ptr::null_mut()) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(dog)
    }

    /// Whether the deadline has passed.
    pub fn expired(&self) -> bool {
        Instant::now() >= self.deadline
    }

    /// The limit it was armed with.
    pub fn limit(&self) -> Duration {
        self.limit
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        // SAFETY: `timer` was created by `arm` and is deleted only here.
        unsafe { libc::timer_delete(self.timer) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fires_and_interrupts_a_sleep() {
        let dog = Watchdog::arm(Duration::from_millis(20)).unwrap();
        assert!(!dog.expired());
        let t = Instant::now();
        // A blocking call the signal interrupts (std::thread::sleep would
        // restart): poll(2) with no descriptors.
        // SAFETY: poll with zero descriptors never touches the (null) array.
        let rc = unsafe { libc::poll(std::ptr::null_mut(), 0, 5_000) };
        assert_eq!(rc, -1);
        assert_eq!(io::Error::last_os_error().raw_os_error(), Some(libc::EINTR));
        assert!(t.elapsed() < Duration::from_secs(4));
        assert!(dog.expired());
        assert_eq!(dog.limit(), Duration::from_millis(20));
    }
}
