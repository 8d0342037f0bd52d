//! Synchronisation: interrupt-safe spin locks for short critical sections,
//! and blocking primitives (wait queues, mutex, condition variable) that put
//! the waiting task to sleep instead of spinning.

mod condvar;
mod mutex;
pub mod spin;

pub use crate::task::WaitQueue;
pub use condvar::Condvar;
pub use mutex::{Mutex, MutexGuard};
pub use spin::{SpinLock, SpinLockGuard};
