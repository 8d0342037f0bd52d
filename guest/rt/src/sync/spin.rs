//! Interrupt-safe spin locks.
//!
//! Taking the lock disables interrupts on this CPU and releasing it restores
//! the previous state, so an interrupt handler (the timer, which may switch
//! tasks) can never find a lock held by the code it interrupted. This is the
//! lock under the scheduler, the heap and every wait queue.

use crate::arch::cpu;
use core::sync::atomic::{AtomicBool, Ordering};

/// The raw lock behind [`SpinLock`]; also the lock of the global allocator.
pub struct RawIrqSpin {
    locked: AtomicBool,
    /// Whether interrupts were enabled when the current holder locked.
    interrupts_were_enabled: AtomicBool,
}

// SAFETY: `lock` returns only once this CPU owns `locked` (acquire ordering),
// `unlock` releases it (release ordering); so at most one holder at a time,
// and the holder's writes are visible to the next.
unsafe impl lock_api::RawMutex for RawIrqSpin {
    #[allow(clippy::declare_interior_mutable_const)]
    const INIT: Self = Self {
        locked: AtomicBool::new(false),
        interrupts_were_enabled: AtomicBool::new(false),
    };

    type GuardMarker = lock_api::GuardNoSend;

    fn lock(&self) {
        while !self.try_lock() {
            core::hint::spin_loop();
        }
    }

    fn try_lock(&self) -> bool {
        let enabled = cpu::interrupts_enabled();
        cpu::disable_interrupts();
        let acquired = self
            .locked
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok();
        if acquired {
            self.interrupts_were_enabled
                .store(enabled, Ordering::Relaxed);
        } else if enabled {
            cpu::enable_interrupts();
        }
        acquired
    }

    unsafe fn unlock(&self) {
        let enable = self.interrupts_were_enabled.load(Ordering::Relaxed);
        self.locked.store(false, Ordering::Release);
        if enable {
            cpu::enable_interrupts();
        }
    }
}

/// A spin lock that keeps interrupts disabled while held.
pub type SpinLock<T> = lock_api::Mutex<RawIrqSpin, T>;
/// The guard of a [`SpinLock`].
pub type SpinLockGuard<'a, T> = lock_api::MutexGuard<'a, RawIrqSpin, T>;

/// Runs `f` with interrupts disabled, restoring the previous state after.
pub fn without_interrupts<R>(f: impl FnOnce() -> R) -> R {
    let enabled = cpu::interrupts_enabled();
    cpu::disable_interrupts();
    let result = f();
    if enabled {
        cpu::enable_interrupts();
    }
    result
}
