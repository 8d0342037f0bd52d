//! Synchronisation, shaped like `std::sync`.
//!
//! Locks are never poisoned (a panicking thread does not unwind), but the
//! `LockResult` signatures are kept so code written for std compiles as is.

pub mod mpsc;

pub use alloc::sync::{Arc, Weak};
pub use core::sync::atomic;

use core::fmt;
use core::ops::{Deref, DerefMut};
use core::time::Duration;
use vessel_rt::sync as rt;
use vessel_rt::time::Instant;

/// Never constructed: Vessel locks cannot be poisoned.
pub struct PoisonError<T>(T);

impl<T> PoisonError<T> {
    /// The guard inside.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for PoisonError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PoisonError")
    }
}

impl<T> fmt::Display for PoisonError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("poisoned lock")
    }
}

/// The result of locking, as in std.
pub type LockResult<T> = Result<T, PoisonError<T>>;

/// A mutual-exclusion lock; waiting threads sleep.
#[derive(Default)]
pub struct Mutex<T: ?Sized> {
    inner: rt::Mutex<T>,
}

impl<T> Mutex<T> {
    /// A new, unlocked mutex.
    pub const fn new(value: T) -> Self {
        Self {
            inner: rt::Mutex::new(value),
        }
    }

    /// Consumes the mutex, returning its value.
    pub fn into_inner(self) -> LockResult<T> {
        Ok(self.inner.into_inner())
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Locks the mutex, sleeping until it is free.
    pub fn lock(&self) -> LockResult<MutexGuard<'_, T>> {
        Ok(MutexGuard {
            inner: self.inner.lock(),
        })
    }

    /// Locks the mutex if it is free.
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        self.inner.try_lock().map(|inner| MutexGuard { inner })
    }

    /// Mutable access without locking.
    pub fn get_mut(&mut self) -> LockResult<&mut T> {
        Ok(self.inner.get_mut())
    }
}

impl<T: ?Sized> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

/// Access to a locked [`Mutex`]; unlocks on drop.
pub struct MutexGuard<'a, T: ?Sized> {
    inner: rt::MutexGuard<'a, T>,
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.inner
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.inner
    }
}

/// Whether a timed wait ended by timeout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitTimeoutResult(bool);

impl WaitTimeoutResult {
    /// True if the wait timed out.
    pub fn timed_out(&self) -> bool {
        self.0
    }
}

/// A condition variable.
#[derive(Default)]
pub struct Condvar {
    inner: rt::Condvar,
}

impl Condvar {
    /// A new condition variable.
    pub const fn new() -> Self {
        Self {
            inner: rt::Condvar::new(),
        }
    }

    /// Unlocks, waits for a notification, and locks again.
    pub fn wait<'a, T: ?Sized>(&self, guard: MutexGuard<'a, T>) -> LockResult<MutexGuard<'a, T>> {
        Ok(MutexGuard {
            inner: self.inner.wait(guard.inner),
        })
    }

    /// Waits while `condition` holds.
    pub fn wait_while<'a, T, F>(
        &self,
        mut guard: MutexGuard<'a, T>,
        mut condition: F,
    ) -> LockResult<MutexGuard<'a, T>>
    where
        F: FnMut(&mut T) -> bool,
    {
        while condition(&mut guard) {
            guard = self.wait(guard)?;
        }
        Ok(guard)
    }

    /// Waits for a notification or until `timeout` has passed.
    pub fn wait_timeout<'a, T: ?Sized>(
        &self,
        guard: MutexGuard<'a, T>,
        timeout: Duration,
    ) -> LockResult<(MutexGuard<'a, T>, WaitTimeoutResult)> {
        let Some(deadline) = Instant::now().checked_add(timeout) else {
            let guard = self.wait(guard).unwrap_or_else(PoisonError::into_inner);
            return Ok((guard, WaitTimeoutResult(false)));
        };
        let (inner, timed_out) = self.inner.wait_until(guard.inner, deadline);
        Ok((MutexGuard { inner }, WaitTimeoutResult(timed_out)))
    }

    /// Like [`Condvar::wait`], but also returns when the thread is
    /// interrupted (a Vessel extension, see
    /// [`crate::thread::Thread::interrupt`]), and does not sleep at all
    /// while its interrupt flag is set: check the condition, then
    /// [`crate::thread::is_interrupted`], in a loop.
    pub fn wait_interruptible<'a, T: ?Sized>(
        &self,
        guard: MutexGuard<'a, T>,
    ) -> LockResult<MutexGuard<'a, T>> {
        Ok(MutexGuard {
            inner: self.inner.wait_interruptible(guard.inner, None),
        })
    }

    /// [`Condvar::wait_interruptible`] that also gives up after `timeout`.
    pub fn wait_timeout_interruptible<'a, T: ?Sized>(
        &self,
        guard: MutexGuard<'a, T>,
        timeout: Duration,
    ) -> LockResult<(MutexGuard<'a, T>, WaitTimeoutResult)> {
        let deadline = Instant::now().checked_add(timeout);
        let inner = self.inner.wait_interruptible(guard.inner, deadline);
        let timed_out = deadline.is_some_and(|d| Instant::now() >= d);
        Ok((MutexGuard { inner }, WaitTimeoutResult(timed_out)))
    }

    /// Wakes one waiter.
    pub fn notify_one(&self) {
        self.inner.notify_one();
    }

    /// Wakes all waiters.
    pub fn notify_all(&self) {
        self.inner.notify_all();
    }
}
