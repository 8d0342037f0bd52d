//! The scheduler: one run queue, round robin with a time slice, sleeping
//! tasks ordered by deadline, and an idle task that halts the CPU.
//!
//! The timer is tickless: the LAPIC is armed only for the next sleeper's
//! deadline or, when other tasks are waiting to run, the end of the current
//! time slice. A lone task that never sleeps takes no timer interrupts.
//!
//! Locking discipline: the scheduler lock is an interrupt-disabling spin
//! lock. Code that switches tasks disables interrupts first, takes the lock
//! only to pick the next task, releases it, and then switches; the next task
//! finishes the switch (drops what the previous one left behind) before it
//! enables interrupts again.

use super::{Outcome, State, Task, TaskRef};
use crate::arch::{apic, context, cpu};
use crate::sync::SpinLock;
use crate::time::{self, Instant};
use alloc::collections::{BinaryHeap, VecDeque};
use alloc::sync::Arc;
use core::cmp::{Ordering, Reverse};
use core::sync::atomic::Ordering as AtomicOrdering;
use core::time::Duration;

/// How long a task runs before others that are ready get the CPU.
const TIME_SLICE: Duration = Duration::from_millis(10);

struct Sleeper {
    deadline: u64,
    task: Arc<Task>,
}

impl PartialEq for Sleeper {
    fn eq(&self, other: &Self) -> bool {
        self.deadline == other.deadline
    }
}
impl Eq for Sleeper {}
impl PartialOrd for Sleeper {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Sleeper {
    fn cmp(&self, other: &Self) -> Ordering {
        self.deadline.cmp(&other.deadline)
    }
}

struct Scheduler {
    current: Arc<Task>,
    idle: Arc<Task>,
    ready: VecDeque<Arc<Task>>,
    sleepers: BinaryHeap<Reverse<Sleeper>>,
    /// The task switched away from, kept alive until the switch is complete
    /// (a dead task's stack must outlive the switch off it).
    previous: Option<Arc<Task>>,
    /// TSC value at which the current task's time slice ends.
    slice_end: u64,
    slice_ticks: u64,
}

static SCHEDULER: SpinLock<Option<Scheduler>> = SpinLock::new(None);

fn with_scheduler<R>(f: impl FnOnce(&mut Scheduler) -> R) -> R {
    let mut guard = SCHEDULER.lock();
    let scheduler = guard
        .as_mut()
        .expect("the scheduler runs once boot has finished");
    f(scheduler)
}

/// Starts scheduling: the boot context becomes the `main` task, by leaving
/// the boot stack for main's static stack, and the idle task starts on the
/// boot stack left behind. No context switch, no run-queue round trip: at
/// boot, under an emulating hypervisor, those are hundreds of instructions.
pub(crate) fn run(main: impl FnOnce() + Send + 'static) -> ! {
    let Some(main) = super::main_task(main) else {
        crate::panic::fatal(format_args!("the scheduler was started twice"));
    };
    let main_top = main
        .stack_top()
        .expect("the main task has a stack of its own");
    // Its frame goes on the boot stack once the boot context has left it.
    let idle = Arc::new(Task::new("idle".into(), None, 0, None));
    let now = time::ticks();
    let slice_ticks = time::scale().ns_to_ticks(TIME_SLICE.as_nanos() as u64);
    *SCHEDULER.lock() = Some(Scheduler {
        current: main,
        idle,
        // Room for a few tasks up front: growing from empty on the first
        // spawn costs more than this allocation.
        ready: VecDeque::with_capacity(4),
        sleepers: BinaryHeap::new(),
        previous: None,
        slice_end: now.saturating_add(slice_ticks),
        slice_ticks,
    });
    // SAFETY: main's stack is its own static one, mapped and unused (the
    // task was just made and never ran); nothing of the boot stack is used
    // after this: `start_main` does not return.
    unsafe { context::jump_to_stack(main_top, start_main) }
}

/// The `main` task's first code, on its own stack (interrupts disabled):
/// readies the idle task on the boot stack, then runs `main`.
extern "C" fn start_main() -> ! {
    // SAFETY: the boot context jumped off the boot stack for good (see
    // `run`): nothing runs on it or refers into it until the idle task
    // first runs from the frame written here.
    let boot_stack = unsafe { crate::arch::stacks::BOOT_STACK.words_mut() };
    let rsp = context::prepare_stack(boot_stack, idle_entry);
    with_scheduler(|s| {
        // SAFETY: the idle task has never run, so nothing else reads or
        // writes its saved RSP; the scheduler lock is held.
        unsafe { *s.idle.saved_rsp.get() = rsp };
    });
    super::run_entry()
}

/// The idle task: halts until an interrupt when nothing is ready, and
/// gives the CPU to whatever is.
extern "C" fn idle_entry() -> ! {
    finish_switch();
    loop {
        cpu::disable_interrupts();
        if with_scheduler(|s| s.ready.is_empty()) {
            cpu::enable_interrupts_and_halt();
        } else {
            switch(false);
        }
    }
}

/// The running task.
pub fn current() -> TaskRef {
    TaskRef(current_task())
}

pub(super) fn current_task() -> Arc<Task> {
    with_scheduler(|s| s.current.clone())
}

/// Whether the scheduler is running and the current task was spawned (not
/// the boot/idle context).
pub(crate) fn current_is_spawned_task() -> Option<Arc<Task>> {
    let guard = SCHEDULER.try_lock()?;
    let s = guard.as_ref()?;
    (!Arc::ptr_eq(&s.current, &s.idle)).then(|| s.current.clone())
}

/// Puts a new or woken task on the run queue.
pub(super) fn make_ready(task: Arc<Task>) {
    with_scheduler(|s| {
        task.set_state(State::Ready);
        s.ready.push_back(task);
        arm_timer(s, time::ticks());
    });
}

/// Wakes `task` if it is blocked; does nothing otherwise.
pub(super) fn wake(task: &Arc<Task>) {
    with_scheduler(|s| {
        if task.state() == State::Blocked {
            task.set_state(State::Ready);
            s.ready.push_back(task.clone());
            arm_timer(s, time::ticks());
        }
    });
}

/// Gives the CPU to the next ready task, if any.
pub fn yield_now() {
    let enabled = cpu::interrupts_enabled();
    cpu::disable_interrupts();
    switch(true);
    if enabled {
        cpu::enable_interrupts();
    }
}

/// Sleeps until the monotonic clock reaches `deadline`.
pub fn sleep_until(deadline: Instant) {
    while Instant::now() < deadline {
        let enabled = cpu::interrupts_enabled();
        cpu::disable_interrupts();
        block_current(Some(deadline), false);
        if enabled {
            cpu::enable_interrupts();
        }
    }
}

/// Sleeps until the monotonic clock reaches `deadline` or the task is
/// interrupted ([`super::TaskRef::interrupt`]); returns whether the whole
/// time passed (false: interrupted first, or the flag was already set).
pub fn sleep_until_interruptible(deadline: Instant) -> bool {
    loop {
        if is_interrupted() {
            return false;
        }
        if Instant::now() >= deadline {
            return true;
        }
        let enabled = cpu::interrupts_enabled();
        cpu::disable_interrupts();
        block_current(Some(deadline), true);
        if enabled {
            cpu::enable_interrupts();
        }
    }
}

/// Whether the running task's interrupt flag is set.
pub fn is_interrupted() -> bool {
    with_scheduler(|s| s.current.interrupted.load(AtomicOrdering::Acquire))
}

/// Clears the running task's interrupt flag; returns whether it was set.
pub fn clear_interrupt() -> bool {
    with_scheduler(|s| s.current.interrupted.swap(false, AtomicOrdering::AcqRel))
}

/// Sets `task`'s interrupt flag and wakes it if it sleeps interruptibly.
/// Under the scheduler lock, so that a task about to block interruptibly
/// either sees the flag or is already blocked when it is woken.
pub(super) fn interrupt(task: &Arc<Task>) {
    with_scheduler(|s| {
        task.interrupted.store(true, AtomicOrdering::Release);
        if task.state() == State::Blocked && task.interruptible.load(AtomicOrdering::Relaxed) {
            task.set_state(State::Ready);
            s.ready.push_back(task.clone());
            arm_timer(s, time::ticks());
        }
    });
}

/// Blocks the current task until something wakes it or `deadline` passes
/// (or, if `interruptible`, until it is interrupted: an interruptible
/// block with the interrupt flag set returns at once). Interrupts must be
/// disabled. Returns with them still disabled.
pub(super) fn block_current(deadline: Option<Instant>, interruptible: bool) {
    let blocked = with_scheduler(|s| {
        if interruptible && s.current.interrupted.load(AtomicOrdering::Acquire) {
            return false;
        }
        s.current
            .interruptible
            .store(interruptible, AtomicOrdering::Relaxed);
        s.current.set_state(State::Blocked);
        if let Some(deadline) = deadline {
            let deadline = deadline.ticks();
            s.sleepers.push(Reverse(Sleeper {
                deadline,
                task: s.current.clone(),
            }));
            arm_timer(s, time::ticks());
        }
        true
    });
    if blocked {
        switch(false);
    }
}

/// Ends the current task with `outcome` and never returns.
pub(crate) fn exit_current(outcome: Outcome) -> ! {
    let task = current_task();
    *task.outcome.lock() = Some(outcome);
    cpu::disable_interrupts();
    task.set_state(State::Dead);
    task.joiners.wake_all();
    drop(task);
    switch(false);
    unreachable!("a dead task was resumed");
}

/// Called from the timer interrupt (interrupts disabled): wakes sleepers
/// whose deadline passed and preempts the current task at the end of its
/// slice.
pub(crate) fn timer_interrupt() {
    let now = time::ticks();
    let preempt = with_scheduler(|s| {
        while let Some(Reverse(first)) = s.sleepers.peek() {
            if first.deadline > now {
                break;
            }
            let Some(Reverse(Sleeper { task, .. })) = s.sleepers.pop() else {
                break;
            };
            if task.state() == State::Blocked {
                task.set_state(State::Ready);
                s.ready.push_back(task);
            }
        }
        let idle = Arc::ptr_eq(&s.current, &s.idle);
        let preempt = !s.ready.is_empty() && (idle || now >= s.slice_end);
        arm_timer(s, now);
        preempt
    });
    if preempt {
        switch(true);
    }
}

/// Arms the LAPIC timer for the next event the scheduler needs.
fn arm_timer(s: &Scheduler, now: u64) {
    let sleeper = s.sleepers.peek().map(|Reverse(first)| first.deadline);
    let running_task = !Arc::ptr_eq(&s.current, &s.idle);
    let slice = (running_task && !s.ready.is_empty()).then_some(s.slice_end);
    if let Some(deadline) = sleeper.into_iter().chain(slice).min() {
        apic::arm_timer(deadline, now);
    }
}

/// Switches to the next ready task (or idle). If `requeue`, the current
/// task goes to the back of the run queue. Interrupts must be disabled.
fn switch(requeue: bool) {
    let switch_pointers = with_scheduler(|s| {
        let next = match s.ready.pop_front() {
            Some(next) => next,
            None if s.current.state() == State::Running && requeue => return None,
            None => s.idle.clone(),
        };
        if Arc::ptr_eq(&next, &s.current) {
            next.set_state(State::Running);
            return None;
        }
        let previous = core::mem::replace(&mut s.current, next);
        let was_idle = Arc::ptr_eq(&previous, &s.idle);
        if previous.state() == State::Running {
            previous.set_state(State::Ready);
            if requeue && !was_idle {
                s.ready.push_back(previous.clone());
            }
        }
        s.current.set_state(State::Running);
        let now = time::ticks();
        // CPU time: the previous task ran from its switch-in until now.
        let ran = now.saturating_sub(previous.running_since.load(AtomicOrdering::Relaxed));
        previous.cpu_ticks.fetch_add(ran, AtomicOrdering::Relaxed);
        s.current.running_since.store(now, AtomicOrdering::Relaxed);
        s.slice_end = now.saturating_add(s.slice_ticks);
        arm_timer(s, now);
        let save = previous.saved_rsp.get();
        // SAFETY: `next` is not running, so its saved RSP is stable; we hold
        // the scheduler lock with interrupts disabled.
        let load = unsafe { *s.current.saved_rsp.get() };
        s.previous = Some(previous);
        Some((save, load))
    });
    if let Some((save, load)) = switch_pointers {
        // SAFETY: interrupts are disabled; `load` was saved by `switch` or
        // made by `prepare_stack` for a task that is not running, whose stack
        // lives as long as its `Task` (held by the scheduler); `save` points
        // into the previous task, kept alive in `previous` until the next
        // task calls `finish_switch`.
        unsafe { context::switch(save, load) };
        finish_switch();
    }
}

/// Completes a switch on the new task's side: drops the previous task's
/// reference (freeing its stack if it died).
pub(super) fn finish_switch() {
    let previous = with_scheduler(|s| s.previous.take());
    drop(previous);
}
