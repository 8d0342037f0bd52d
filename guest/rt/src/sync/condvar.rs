//! A condition variable for [`Mutex`].

use super::{Mutex, MutexGuard};
use crate::task::WaitQueue;
use crate::time::Instant;

/// Lets tasks sleep until another task signals that a condition may hold.
/// Spurious wake-ups are possible: wait in a loop, as with std's `Condvar`.
#[derive(Default)]
pub struct Condvar {
    waiters: WaitQueue,
}

impl Condvar {
    /// A new condition variable.
    pub const fn new() -> Self {
        Self {
            waiters: WaitQueue::new(),
        }
    }

    /// Unlocks the guard's mutex, sleeps until notified, and locks it again.
    pub fn wait<'a, T: ?Sized>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        let mutex = MutexGuard::mutex(&guard);
        self.waiters.sleep_after(|| drop(guard), None);
        mutex.lock()
    }

    /// Like [`Condvar::wait`], but gives up at `deadline`. Returns the guard
    /// and whether the deadline passed.
    pub fn wait_until<'a, T: ?Sized>(
        &self,
        guard: MutexGuard<'a, T>,
        deadline: Instant,
    ) -> (MutexGuard<'a, T>, bool) {
        let mutex: &'a Mutex<T> = MutexGuard::mutex(&guard);
        self.waiters.sleep_after(|| drop(guard), Some(deadline));
        let guard = mutex.lock();
        (guard, Instant::now() >= deadline)
    }

    /// Like [`Condvar::wait`] (with an optional deadline), but an interrupt
    /// of the task ([`crate::task::TaskRef::interrupt`]) also ends the wait,
    /// which does not sleep at all while the task's interrupt flag is set.
    /// The caller tells why it woke by checking its condition, the flag
    /// ([`crate::task::is_interrupted`]) and the time.
    pub fn wait_interruptible<'a, T: ?Sized>(
        &self,
        guard: MutexGuard<'a, T>,
        deadline: Option<Instant>,
    ) -> MutexGuard<'a, T> {
        let mutex = MutexGuard::mutex(&guard);
        self.waiters
            .sleep_interruptible_after(|| drop(guard), deadline);
        mutex.lock()
    }

    /// Wakes one waiting task.
    pub fn notify_one(&self) {
        self.waiters.wake_one();
    }

    /// Wakes every waiting task.
    pub fn notify_all(&self) {
        self.waiters.wake_all();
    }
}
