//! Threads: preemptively scheduled kernel tasks with std's interface.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;
use core::any::Any;
use core::fmt;
use core::time::Duration;
use vessel_rt::sync::SpinLock;
use vessel_rt::task::{self, Outcome, SpawnError, TaskRef};
use vessel_rt::time::Instant;

/// What [`JoinHandle::join`] returns: the thread's value, or the payload of
/// its panic (a `String` holding the panic message).
pub type Result<T> = core::result::Result<T, Box<dyn Any + Send + 'static>>;

/// A handle to a thread.
#[derive(Clone, Debug)]
pub struct Thread {
    task: TaskRef,
}

impl Thread {
    /// The thread's name, if it has one (`main` has).
    pub fn name(&self) -> Option<&str> {
        let name = self.task.name();
        (!name.is_empty()).then_some(name)
    }

    /// The thread's unique id.
    pub fn id(&self) -> ThreadId {
        ThreadId(self.task.id())
    }

    /// How long the thread has run on a CPU so far (not counting the
    /// time it waited to run or was blocked).
    pub fn cpu_time(&self) -> Duration {
        self.task.cpu_time()
    }

    /// Interrupts the thread (a Vessel extension, as Java's
    /// `Thread.interrupt`): sets its interrupt flag and wakes it from an
    /// interruptible wait ([`sleep_interruptible`],
    /// [`crate::sync::Condvar::wait_interruptible`]). The flag stays set
    /// until the thread calls [`clear_interrupt`].
    pub fn interrupt(&self) {
        self.task.interrupt();
    }
}

/// A unique thread identifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ThreadId(u64);

impl ThreadId {
    /// The id as a number.
    pub fn as_u64(&self) -> u64 {
        self.0
    }
}

/// The calling thread.
pub fn current() -> Thread {
    Thread {
        task: task::current(),
    }
}

/// Sleeps for at least `duration`.
pub fn sleep(duration: Duration) {
    let deadline = Instant::now().checked_add(duration);
    match deadline {
        Some(deadline) => task::sleep_until(deadline),
        // Too far in the future to represent: sleep "forever".
        None => loop {
            task::sleep_until(Instant::now() + Duration::from_secs(86_400));
        },
    }
}

/// Sleeps for at least `duration` unless the thread is interrupted
/// ([`Thread::interrupt`]) first; returns whether the whole time passed.
/// Does not sleep at all while the thread's interrupt flag is set.
pub fn sleep_interruptible(duration: Duration) -> bool {
    match Instant::now().checked_add(duration) {
        Some(deadline) => task::sleep_until_interruptible(deadline),
        None => loop {
            let day = Instant::now() + Duration::from_secs(86_400);
            if !task::sleep_until_interruptible(day) {
                return false;
            }
        },
    }
}

/// Whether the calling thread's interrupt flag is set.
pub fn is_interrupted() -> bool {
    task::is_interrupted()
}

/// Clears the calling thread's interrupt flag; returns whether it was set.
pub fn clear_interrupt() -> bool {
    task::clear_interrupt()
}

/// Lets other threads run.
pub fn yield_now() {
    task::yield_now();
}

/// Configures a new thread.
#[derive(Debug, Default)]
pub struct Builder {
    name: Option<String>,
    stack_size: Option<usize>,
}

/// Why a thread could not be started.
#[derive(Debug)]
pub struct SpawnFailed(SpawnError);

impl fmt::Display for SpawnFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "failed to spawn thread: {}", self.0)
    }
}

impl core::error::Error for SpawnFailed {}

impl Builder {
    /// A builder with default settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// Names the thread (shown in panic messages).
    pub fn name(mut self, name: String) -> Self {
        self.name = Some(name);
        self
    }

    /// Sets the stack size in bytes (default 128 KiB).
    pub fn stack_size(mut self, size: usize) -> Self {
        self.stack_size = Some(size);
        self
    }

    /// Starts the thread.
    pub fn spawn<F, T>(self, f: F) -> core::result::Result<JoinHandle<T>, SpawnFailed>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let packet = Arc::new(SpinLock::new(None));
        let result = packet.clone();
        let stack_size = self.stack_size.unwrap_or(task::DEFAULT_STACK_SIZE);
        let name = self.name.unwrap_or_default();
        let handle = task::spawn(name, stack_size, move || {
            let value = f();
            *result.lock() = Some(value);
        })
        .map_err(SpawnFailed)?;
        Ok(JoinHandle { handle, packet })
    }
}

/// Starts a thread running `f`.
///
/// # Panics
/// If the thread cannot be started (out of memory), as std does.
pub fn spawn<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    Builder::new().spawn(f).unwrap_or_else(|e| panic!("{e}"))
}

/// Owns the right to join a thread.
pub struct JoinHandle<T> {
    handle: task::JoinHandle,
    packet: Arc<SpinLock<Option<T>>>,
}

impl<T> JoinHandle<T> {
    /// Waits for the thread to finish; returns its value, or `Err` with the
    /// panic message if it panicked.
    pub fn join(self) -> Result<T> {
        match self.handle.join() {
            Outcome::Finished => {
                let value = self.packet.lock().take();
                Ok(value.expect("a finished thread stored its value"))
            }
            Outcome::Panicked(message) => Err(Box::new(message)),
        }
    }

    /// The thread.
    pub fn thread(&self) -> Thread {
        Thread {
            task: self.handle.task(),
        }
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("thread", &self.thread())
            .finish()
    }
}
