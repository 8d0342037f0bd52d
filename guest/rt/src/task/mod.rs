//! Kernel tasks: threads of execution with their own stacks, scheduled
//! preemptively, round robin.
//!
//! The interface is deliberately CPU-count agnostic: [`spawn`], [`current`],
//! [`yield_now`], [`sleep_until`], [`JoinHandle::join`] and [`WaitQueue`] say
//! nothing about where a task runs, so a per-CPU scheduler can replace the
//! single run queue without changing their users.
//!
//! Interrupts (in the sense of Java's `Thread.interrupt`, not the CPU's):
//! [`TaskRef::interrupt`] sets a task's interrupt flag and wakes it if it
//! sleeps in an *interruptible* wait ([`WaitQueue::sleep_interruptible_after`],
//! [`sleep_until_interruptible`], `Condvar::wait_interruptible`); such a
//! wait does not sleep at all while the flag is set. The flag stays set
//! until the task clears it ([`clear_interrupt`]). This is what lets a
//! kernel above vessel-rt break a blocked thread out of its wait (a Linux
//! signal) without polling: the sender records why, then interrupts.

mod sched;
mod wait_queue;

pub use sched::{
    clear_interrupt, current, is_interrupted, sleep_until, sleep_until_interruptible, yield_now,
};
pub(crate) use sched::{exit_current, run, timer_interrupt};
pub use wait_queue::WaitQueue;

use crate::arch::context;
use crate::mem::stack::{KernelStack, StackError};
use crate::sync::SpinLock;
use alloc::borrow::Cow;
use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;
use core::cell::UnsafeCell;
use core::fmt;
use core::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};

/// Default stack size of a spawned task.
pub const DEFAULT_STACK_SIZE: usize = 128 * 1024;
/// Stack size of the `main` task.
pub const MAIN_STACK_SIZE: usize = crate::arch::stacks::MAIN_STACK_SIZE;
/// Largest stack a task may have.
pub const MAX_STACK_SIZE: usize = crate::mem::stack::MAX_STACK_SIZE;

/// How a task ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Its function returned.
    Finished,
    /// It panicked; the panic message.
    Panicked(String),
}

/// Why a task could not be spawned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpawnError {
    /// The stack size is zero or above [`MAX_STACK_SIZE`].
    BadStackSize,
    /// No memory for the stack.
    OutOfMemory,
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadStackSize => {
                write!(f, "stack size must be between 1 and {MAX_STACK_SIZE} bytes")
            }
            Self::OutOfMemory => write!(f, "out of memory for the task's stack"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
enum State {
    Ready,
    Running,
    Blocked,
    Dead,
}

type Entry = Box<dyn FnOnce() + Send>;

/// A task. Shared through `Arc`; the scheduler, wait queues and join
/// handles each hold a reference.
pub(crate) struct Task {
    id: u64,
    /// Borrowed for the tasks vessel-rt names itself (no allocation at
    /// boot, where each costs ~150 emulated instructions on some hosts).
    name: Cow<'static, str>,
    state: AtomicU8,
    /// Stack pointer while suspended; only touched by the scheduler with
    /// interrupts disabled.
    saved_rsp: UnsafeCell<u64>,
    /// `None` for the idle task, which runs on the static boot stack.
    stack: Option<KernelStack>,
    entry: SpinLock<Option<Entry>>,
    outcome: SpinLock<Option<Outcome>>,
    joiners: WaitQueue,
    panicking: AtomicBool,
    /// TSC ticks the task ran before it last switched away.
    cpu_ticks: AtomicU64,
    /// TSC value when the task was last switched to.
    running_since: AtomicU64,
    /// Set by [`TaskRef::interrupt`], cleared by the task itself.
    interrupted: AtomicBool,
    /// Whether its current (or last) sleep is interruptible; written by
    /// the task under the scheduler lock as it blocks.
    interruptible: AtomicBool,
}

// SAFETY: all fields are Sync except `saved_rsp`, which only the scheduler
// reads or writes, with interrupts disabled on the one CPU that switches.
unsafe impl Sync for Task {}
// SAFETY: as above; nothing in a task is tied to the task that created it.
unsafe impl Send for Task {}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);
/// Id of the task running the application's `main`.
static MAIN_TASK_ID: AtomicU64 = AtomicU64::new(0);

impl Task {
    fn new(
        name: Cow<'static, str>,
        stack: Option<KernelStack>,
        saved_rsp: u64,
        entry: Option<Entry>,
    ) -> Self {
        Self {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            name,
            state: AtomicU8::new(State::Ready as u8),
            saved_rsp: UnsafeCell::new(saved_rsp),
            stack,
            entry: SpinLock::new(entry),
            outcome: SpinLock::new(None),
            joiners: WaitQueue::new(),
            panicking: AtomicBool::new(false),
            cpu_ticks: AtomicU64::new(0),
            running_since: AtomicU64::new(crate::time::ticks()),
            interrupted: AtomicBool::new(false),
            interruptible: AtomicBool::new(false),
        }
    }

    fn state(&self) -> State {
        match self.state.load(Ordering::Acquire) {
            0 => State::Ready,
            1 => State::Running,
            2 => State::Blocked,
            _ => State::Dead,
        }
    }

    /// One past the top of the task's own stack (`None` for idle).
    fn stack_top(&self) -> Option<u64> {
        self.stack.as_ref().map(KernelStack::top)
    }

    fn set_state(&self, state: State) {
        self.state.store(state as u8, Ordering::Release);
    }
}

/// Information about a task, as seen by others.
#[derive(Clone)]
pub struct TaskRef(Arc<Task>);

impl TaskRef {
    /// The task's unique id (never reused).
    pub fn id(&self) -> u64 {
        self.0.id
    }

    /// The task's name.
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// How long the task has run on a CPU so far (time it was ready or
    /// blocked is not counted; interrupts taken while it ran are).
    pub fn cpu_time(&self) -> core::time::Duration {
        core::time::Duration::from_nanos(crate::time::scale().ticks_to_ns(self.cpu_ticks()))
    }

    /// [`TaskRef::cpu_time`] in TSC ticks (`time::scale()` converts them):
    /// cheap enough to read on every system call.
    pub fn cpu_ticks(&self) -> u64 {
        let task = &self.0;
        // Without disabling interrupts: a switch in between changes
        // `running_since`, and the reading is taken again.
        loop {
            let since = task.running_since.load(Ordering::Acquire);
            let ran = task.cpu_ticks.load(Ordering::Acquire);
            let running = task.state() == State::Running;
            let now = crate::time::ticks();
            if task.running_since.load(Ordering::Acquire) == since {
                return if running {
                    ran.saturating_add(now.saturating_sub(since))
                } else {
                    ran
                };
            }
        }
    }

    /// Interrupts the task: sets its interrupt flag and, if it sleeps in
    /// an interruptible wait, wakes it (to the wait, a spurious wake-up).
    /// Its interruptible waits return at once until it clears the flag.
    pub fn interrupt(&self) {
        sched::interrupt(&self.0);
    }
}

impl fmt::Debug for TaskRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Task")
            .field("id", &self.0.id)
            .field("name", &self.0.name)
            .finish()
    }
}

/// Owns the right to wait for a task's end.
pub struct JoinHandle {
    task: Arc<Task>,
}

impl JoinHandle {
    /// Sleeps until the task has ended and returns how it ended.
    pub fn join(self) -> Outcome {
        let task = &self.task;
        task.joiners.wait_until(|| task.outcome.lock().clone())
    }

    /// The task this handle refers to.
    pub fn task(&self) -> TaskRef {
        TaskRef(self.task.clone())
    }
}

/// Starts a new task named `name` running `f` with a stack of
/// `stack_size` bytes.
pub fn spawn(
    name: impl Into<Cow<'static, str>>,
    stack_size: usize,
    f: impl FnOnce() + Send + 'static,
) -> Result<JoinHandle, SpawnError> {
    let stack = KernelStack::new(stack_size).map_err(|e| match e {
        StackError::BadSize => SpawnError::BadStackSize,
        StackError::OutOfMemory => SpawnError::OutOfMemory,
    })?;
    Ok(start(name.into(), stack, Box::new(f)))
}

/// Makes a task of `entry` on `stack` and puts it on the run queue.
fn start(name: Cow<'static, str>, mut stack: KernelStack, entry: Entry) -> JoinHandle {
    let rsp = context::prepare_stack(stack.words_mut(), task_entry);
    let task = Arc::new(Task::new(name, Some(stack), rsp, Some(entry)));
    sched::make_ready(task.clone());
    JoinHandle { task }
}

/// The `main` task, running `f` on the static main stack (of
/// [`MAIN_STACK_SIZE`] bytes): made running, not ready, for the boot
/// context to become it (see `sched::run`). `None` if called twice.
fn main_task(f: impl FnOnce() + Send + 'static) -> Option<Arc<Task>> {
    let stack = KernelStack::main()?;
    // The saved stack pointer is written by the first switch away from it.
    let task = Task::new("main".into(), Some(stack), 0, Some(Box::new(f)));
    task.set_state(State::Running);
    MAIN_TASK_ID.store(task.id, Ordering::Relaxed);
    Some(Arc::new(task))
}

/// First code a new task runs (through the context-switch trampoline).
extern "C" fn task_entry() -> ! {
    sched::finish_switch();
    run_entry()
}

/// Runs the current task's entry with interrupts enabled, then ends it.
fn run_entry() -> ! {
    crate::arch::cpu::enable_interrupts();
    let entry = sched::current_task().entry.lock().take();
    if let Some(entry) = entry {
        entry();
    }
    exit_current(Outcome::Finished)
}

/// The running task, as the panic handler sees it.
pub(crate) struct Running(Arc<Task>);

impl Running {
    /// Whether this is the task running the application's `main`.
    pub(crate) fn is_main(&self) -> bool {
        self.0.id == MAIN_TASK_ID.load(Ordering::Relaxed)
    }

    /// Marks the task as panicking; returns whether it already was.
    pub(crate) fn start_panicking(&self) -> bool {
        self.0.panicking.swap(true, Ordering::AcqRel)
    }

    /// The task's name.
    pub(crate) fn name(&self) -> &str {
        &self.0.name
    }

    /// The task's name, copied.
    pub(crate) fn name_owned(&self) -> String {
        self.0.name.clone().into_owned()
    }
}

/// The running task, if the scheduler runs and it is not the idle task.
pub(crate) fn current_spawned() -> Option<Running> {
    sched::current_is_spawned_task().map(Running)
}
