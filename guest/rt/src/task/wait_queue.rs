//! Wait queues: where tasks sleep until a condition they wait for may hold.

use super::{Task, sched};
use crate::arch::cpu;
use crate::sync::SpinLock;
use crate::time::Instant;
use alloc::collections::VecDeque;
use alloc::sync::Arc;

/// A queue of sleeping tasks.
///
/// Wake-ups may be spurious: every waiter re-checks its condition.
#[derive(Default)]
pub struct WaitQueue {
    waiters: SpinLock<VecDeque<Arc<Task>>>,
}

impl WaitQueue {
    /// An empty queue.
    pub const fn new() -> Self {
        Self {
            waiters: SpinLock::new(VecDeque::new()),
        }
    }

    /// Sleeps until `condition` returns `Some`, and returns its value.
    ///
    /// The condition is checked with interrupts disabled, and the task is
    /// queued before they are enabled again, so a wake-up between the check
    /// and the sleep cannot be lost.
    pub fn wait_until<R>(&self, mut condition: impl FnMut() -> Option<R>) -> R {
        loop {
            let enabled = cpu::interrupts_enabled();
            cpu::disable_interrupts();
            let ready = condition();
            if ready.is_none() {
                self.sleep_after(|| {}, None);
            }
            if enabled {
                cpu::enable_interrupts();
            }
            if let Some(value) = ready {
                return value;
            }
        }
    }

    /// Queues the current task, runs `release` (e.g. unlocking a mutex),
    /// then sleeps until woken or until `deadline`.
    pub fn sleep_after(&self, release: impl FnOnce(), deadline: Option<Instant>) {
        self.sleep(release, deadline, false);
    }

    /// Like [`WaitQueue::sleep_after`], but the task's interrupt
    /// ([`super::TaskRef::interrupt`]) also wakes it, and it does not sleep
    /// at all if its interrupt flag is set. The caller checks the flag
    /// ([`super::is_interrupted`]) when it wakes.
    pub fn sleep_interruptible_after(&self, release: impl FnOnce(), deadline: Option<Instant>) {
        self.sleep(release, deadline, true);
    }

    fn sleep(&self, release: impl FnOnce(), deadline: Option<Instant>, interruptible: bool) {
        let enabled = cpu::interrupts_enabled();
        cpu::disable_interrupts();
        let me = sched::current_task();
        self.waiters.lock().push_back(me.clone());
        release();
        sched::block_current(deadline, interruptible);
        // Woken by a timeout or spuriously: leave the queue so that a later
        // wake-up goes to a task that is still waiting.
        self.waiters.lock().retain(|t| !Arc::ptr_eq(t, &me));
        if enabled {
            cpu::enable_interrupts();
        }
    }

    /// Wakes the task that has waited longest. Returns whether there was one.
    pub fn wake_one(&self) -> bool {
        let task = self.waiters.lock().pop_front();
        task.inspect(sched::wake).is_some()
    }

    /// Wakes every waiting task.
    pub fn wake_all(&self) {
        let waiters = core::mem::take(&mut *self.waiters.lock());
        waiters.iter().for_each(sched::wake);
    }
}
