//! Signals: dispositions, masks, pending signals, delivery to handlers
//! (the x86-64 signal frame and `rt_sigreturn`), default actions
//! (terminate, ignore, stop and continue), interrupted system calls, and
//! the calls that wait for signals (`rt_sigsuspend`, `pause`,
//! `rt_sigtimedwait`) or look at them (`rt_sigpending`, `sigaltstack`).
//! Sending is in `kill.rs`.
//!
//! Dispositions belong to the process, masks and private pending signals
//! to each thread; what a sender must see (masks, both pending sets, the
//! threads' tasks, whether the process is stopped) sits in one [`Shared`]
//! per process, under one lock. A sender queues the signal, then
//! *interrupts* a thread that does not block it (vessel-rt's task
//! interrupt): that thread's interruptible wait (pipes, `wait4`, sleeps,
//! futexes, `pause`...) returns `ERESTART`, and on its way back to user
//! mode [`deliver`] runs the handler and decides, as Linux does, whether
//! the call returns `EINTR` or starts again (`SA_RESTART`, or no handler
//! ran).

use crate::kernel::{Ended, Kernel};
use crate::process::{Group, Process};
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;
use core::time::Duration;
use vessel_linux::{Errno, SysResult};
use vessel_std::os::user::FPU_IMAGE_SIZE;
use vessel_std::sync::MutexGuard;
use vessel_std::thread::Thread;

/// `SIGKILL`: cannot be caught, blocked or ignored.
pub const SIGKILL: u8 = 9;
/// `SIGSEGV`: a bad memory access (and a bad signal frame).
pub const SIGSEGV: u8 = 11;
/// `SIGPIPE`: a write to a pipe nobody reads.
pub const SIGPIPE: u8 = 13;
/// `SIGALRM`: `alarm` and `ITIMER_REAL`.
pub const SIGALRM: u8 = 14;
/// `SIGCHLD`: a child ended, stopped or continued.
pub const SIGCHLD: u8 = 17;
/// `SIGCONT`: continue a stopped process.
pub const SIGCONT: u8 = 18;
/// `SIGSTOP`: cannot be caught, blocked or ignored.
pub const SIGSTOP: u8 = 19;
/// The stop signals a terminal sends (`SIGTSTP`, `SIGTTIN`, `SIGTTOU`).
const SIGTSTP: u8 = 20;
const SIGTTIN: u8 = 21;
const SIGTTOU: u8 = 22;

/// `sa_handler` value: the default action.
const SIG_DFL: u64 = 0;
/// `sa_handler` value: ignore the signal.
const SIG_IGN: u64 = 1;
/// `sa_flags`: no `SIGCHLD` when a child stops or continues.
const SA_NOCLDSTOP: u64 = 1;
/// `sa_flags`: children are reaped when they end (no zombies).
const SA_NOCLDWAIT: u64 = 2;
/// `sa_flags`: run the handler on the alternate signal stack.
const SA_ONSTACK: u64 = 0x0800_0000;
/// `sa_flags`: restart system calls the signal interrupts.
const SA_RESTART: u64 = 0x1000_0000;
/// `sa_flags`: `sa_restorer` is set (musl and glibc always set it).
const SA_RESTORER: u64 = 0x0400_0000;
/// `sa_flags`: do not block the signal while its handler runs.
const SA_NODEFER: u64 = 0x4000_0000;
/// `sa_flags`: restore the default action on entry to the handler.
const SA_RESETHAND: u64 = 0x8000_0000;
/// The `sa_flags` Linux knows (`UAPI_SA_FLAGS`, with `SA_SIGINFO` and
/// `SA_EXPOSE_TAGBITS`); others are cleared, which is how a program tells
/// which flags the kernel supports (`SA_UNSUPPORTED`).
const KNOWN_FLAGS: u64 = SA_NOCLDSTOP
    | SA_NOCLDWAIT
    | 4
    | 0x800
    | SA_ONSTACK
    | SA_RESTART
    | SA_NODEFER
    | SA_RESETHAND
    | SA_RESTORER;

/// Highest signal number.
const NSIG: u64 = 64;
/// The first real-time signal: these queue, the others coalesce.
const SIGRTMIN: u8 = 32;
/// Most real-time signals queued per queue (Linux's `RLIMIT_SIGPENDING`
/// is larger; the limit only keeps a flood from exhausting memory).
const MAX_QUEUED: usize = 1024;
/// Size of the `struct sigaction` the kernel reads and writes.
const SIGACTION_SIZE: usize = 32;
/// Size of a `siginfo_t`.
pub const SIGINFO_SIZE: usize = 128;
/// `restart_syscall`'s number, which an interrupted sleep resumes with.
const NR_RESTART_SYSCALL: u64 = 219;
/// Length of the `syscall` instruction (rewound to restart a call).
const SYSCALL_LEN: u64 = 2;

/// What a signal does when it arrives (`struct sigaction`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Action {
    handler: u64,
    flags: u64,
    restorer: u64,
    mask: u64,
}

impl Action {
    fn from_bytes(b: &[u8; SIGACTION_SIZE]) -> Self {
        let word = |i: usize| u64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]));
        Self {
            handler: word(0),
            flags: word(1),
            restorer: word(2),
            mask: word(3),
        }
    }

    fn to_bytes(self) -> [u8; SIGACTION_SIZE] {
        let mut b = [0; SIGACTION_SIZE];
        for (i, w) in [self.handler, self.flags, self.restorer, self.mask]
            .into_iter()
            .enumerate()
        {
            b[i * 8..i * 8 + 8].copy_from_slice(&w.to_le_bytes());
        }
        b
    }

    /// Whether `signal` with this action is thrown away (ignored, or
    /// ignored by default).
    fn ignores(self, signal: u8) -> bool {
        signal != SIGKILL
            && signal != SIGSTOP
            && (self.handler == SIG_IGN
                || (self.handler == SIG_DFL && default_action(signal) == DefaultAction::Ignore))
    }
}

/// The dispositions of a process's 64 signals.
#[derive(Clone, Debug)]
pub struct Actions([Action; NSIG as usize]);

impl Default for Actions {
    fn default() -> Self {
        Self([Action::default(); NSIG as usize])
    }
}

impl Actions {
    fn get(&self, signal: u8) -> Action {
        self.0[usize::from(signal - 1)]
    }

    /// What `execve` keeps: ignored signals stay ignored, handlers reset.
    pub fn after_exec(&self) -> Self {
        let mut next = Self::default();
        for (new, old) in next.0.iter_mut().zip(self.0.iter()) {
            if old.handler == SIG_IGN {
                new.handler = SIG_IGN;
            }
        }
        next
    }
}

/// What a parent asked for about its children (its `SIGCHLD` action).
#[derive(Clone, Copy, Debug)]
pub struct ChildPolicy {
    /// `SIGCHLD` is ignored: nothing is sent, ended children are reaped.
    pub ignored: bool,
    /// `SA_NOCLDWAIT`: ended children are reaped at once.
    pub no_zombies: bool,
    /// `SA_NOCLDSTOP`: no `SIGCHLD` for children stopping or continuing.
    pub no_stop_signal: bool,
}

/// The parent side of `group`'s `SIGCHLD` action.
pub fn child_policy(group: &Group) -> ChildPolicy {
    let action = group.actions().get(SIGCHLD);
    ChildPolicy {
        ignored: action.handler == SIG_IGN,
        no_zombies: action.flags & SA_NOCLDWAIT != 0,
        no_stop_signal: action.flags & SA_NOCLDSTOP != 0,
    }
}

/// The bit of `signal` in a signal set.
fn bit(signal: u8) -> u64 {
    1 << (signal - 1)
}

/// Signals that can never be blocked.
const UNBLOCKABLE: u64 = (1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1));
/// The signals of CPU exceptions, delivered before others.
const SYNCHRONOUS: u64 = (1 << 3) | (1 << 4) | (1 << 6) | (1 << 7) | (1 << 10) | (1 << 30);
/// The stop signals.
const STOP_SIGNALS: u64 =
    (1 << (SIGSTOP - 1)) | (1 << (SIGTSTP - 1)) | (1 << (SIGTTIN - 1)) | (1 << (SIGTTOU - 1));

/// What a signal does by default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DefaultAction {
    /// Ends the process (`WTERMSIG`; no core dumps are written).
    Terminate,
    /// Nothing.
    Ignore,
    /// Stops the process until `SIGCONT`.
    Stop,
}

fn default_action(signal: u8) -> DefaultAction {
    match signal {
        // SIGCHLD, SIGCONT (whose continuing happens as it is sent),
        // SIGURG, SIGWINCH.
        17 | 18 | 23 | 28 => DefaultAction::Ignore,
        _ if STOP_SIGNALS & bit(signal) != 0 => DefaultAction::Stop,
        _ => DefaultAction::Terminate,
    }
}

/// A signal number from a system call argument (1..=64).
pub fn number(signal: u64) -> Result<u8, Errno> {
    match signal {
        1..=NSIG => Ok(signal as u8),
        _ => Err(Errno::EINVAL),
    }
}

/// Why a signal is raised: the `si_code` and the address or sender.
#[derive(Clone, Copy, Debug)]
pub enum Cause {
    /// `kill` (`SI_USER`) from this pid.
    Kill(u32),
    /// `tkill`/`tgkill` (`SI_TKILL`) from this pid.
    Tkill(u32),
    /// The kernel (`SIGPIPE`, `SIGALRM`).
    Kernel,
    /// A CPU exception with this `si_code` at this address.
    Fault { code: i32, address: u64 },
    /// A child (`SIGCHLD`): its pid, `CLD_*` code and status.
    Child { pid: u32, code: i32, status: i32 },
    /// `rt_sigqueueinfo`/`rt_tgsigqueueinfo` (`sigqueue`): the sender's
    /// `si_code`, `si_pid`, `si_uid` and `si_value`, as it gave them.
    Queue {
        code: i32,
        pid: u32,
        uid: u32,
        value: u64,
    },
}

/// A raised signal, waiting for delivery.
#[derive(Clone, Copy, Debug)]
pub struct Pending {
    signal: u8,
    cause: Cause,
}

/// What senders see of one thread.
#[derive(Debug)]
struct ThreadState {
    /// Blocked signals.
    mask: u64,
    /// Blocked signals `rt_sigtimedwait` waits for: they wake the thread,
    /// but are not fatal to it (Linux's `real_blocked`).
    awaited: u64,
    /// Signals sent to this thread.
    pending: Vec<Pending>,
    /// Its task, once it runs (to interrupt it).
    thread: Option<Thread>,
}

impl ThreadState {
    /// Whether a sent `signal` should wake this thread.
    fn wants(&self, signal: u8) -> bool {
        self.mask & bit(signal) == 0 || self.awaited & bit(signal) != 0
    }

    fn interrupt(&self) {
        if let Some(thread) = &self.thread {
            thread.interrupt();
        }
    }
}

/// The signal state of a process that its threads and the senders share,
/// behind [`Group::signals`].
#[derive(Debug, Default)]
pub struct Shared {
    /// Signals sent to the process: any thread not blocking one takes it.
    pending: Vec<Pending>,
    /// Its threads, by thread id.
    threads: BTreeMap<u32, ThreadState>,
    /// Stopped by this signal, until `SIGCONT` (or the end).
    stopped: Option<u8>,
}

impl Shared {
    /// Adds thread `tid` with signal mask `mask`.
    pub fn add_thread(&mut self, tid: u32, mask: u64) {
        self.threads.insert(
            tid,
            ThreadState {
                mask: mask & !UNBLOCKABLE,
                awaited: 0,
                pending: Vec::new(),
                thread: None,
            },
        );
    }

    /// Forgets thread `tid` (it ended); its private signals vanish.
    pub fn remove_thread(&mut self, tid: u32) {
        self.threads.remove(&tid);
    }

    /// Interrupts every thread but `except`.
    fn interrupt_all(&self, except: Option<u32>) {
        self.threads
            .iter()
            .filter(|(tid, _)| Some(**tid) != except)
            .for_each(|(_, t)| t.interrupt());
    }

    /// Whether no signal is queued anywhere and the process is not stopped.
    fn is_quiet(&self) -> bool {
        self.stopped.is_none()
            && self.pending.is_empty()
            && self.threads.values().all(|t| t.pending.is_empty())
    }

    /// Removes the pending signals in `set` from every queue.
    fn discard(&mut self, set: u64) {
        self.pending.retain(|q| set & bit(q.signal) == 0);
        for thread in self.threads.values_mut() {
            thread.pending.retain(|q| set & bit(q.signal) == 0);
        }
    }
}

/// The lock on `group`'s shared signal state.
fn shared(group: &Group) -> MutexGuard<'_, Shared> {
    group.signals.lock().unwrap_or_else(|e| e.into_inner())
}

/// How a system call interrupted by a signal goes on.
pub enum Restart {
    /// It starts again if no handler ran or the handler has `SA_RESTART`,
    /// else it fails with `EINTR` (Linux's `ERESTARTSYS`; the default).
    Sys,
    /// It starts again only if no handler ran (`ERESTARTNOHAND`).
    NoHandler,
    /// It fails with `EINTR` if a handler ran; else `restart_syscall`
    /// resumes it with this (`ERESTART_RESTARTBLOCK`).
    Resume(Resumption),
}

/// What `restart_syscall` runs: the rest of an interrupted call.
pub type Resumption = Box<dyn FnOnce(&mut Process) -> SysResult + Send>;

/// An alternate signal stack (`sigaltstack`).
#[derive(Clone, Copy, Debug, Default)]
struct AltStack {
    sp: u64,
    size: u64,
    /// The flags given (`SS_DISABLE`, `SS_AUTODISARM`...).
    flags: u32,
}

const SS_ONSTACK: u32 = 1;
const SS_DISABLE: u32 = 2;
const SS_AUTODISARM: u32 = 1 << 31;
/// The smallest alternate stack accepted (`MINSIGSTKSZ`).
const MINSIGSTKSZ: u64 = 2048;

impl AltStack {
    /// Whether `sp` is within the stack (`__on_sig_stack`).
    fn contains(&self, sp: u64) -> bool {
        sp > self.sp && sp - self.sp <= self.size
    }

    /// Whether a thread at `sp` runs on the stack (`on_sig_stack`: never
    /// with `SS_AUTODISARM`).
    fn holds(&self, sp: u64) -> bool {
        self.flags & SS_AUTODISARM == 0 && self.contains(sp)
    }

    /// `sas_ss_flags`: what `sigaltstack` reports for a thread at `sp`.
    fn state(&self, sp: u64) -> u32 {
        if self.size == 0 {
            SS_DISABLE
        } else if self.holds(sp) {
            SS_ONSTACK
        } else {
            0
        }
    }

    /// A `stack_t` of this stack with `flags`.
    fn to_bytes(self, flags: u32) -> [u8; 24] {
        let mut b = [0u8; 24];
        b[..8].copy_from_slice(&self.sp.to_le_bytes());
        b[8..12].copy_from_slice(&flags.to_le_bytes());
        b[16..].copy_from_slice(&self.size.to_le_bytes());
        b
    }

    /// The `stack_t` `sigaltstack` reports to a thread at `sp`.
    fn report(self, sp: u64) -> [u8; 24] {
        self.to_bytes(self.state(sp) | (self.flags & SS_AUTODISARM))
    }
}

/// The calling thread's own signal state (no other thread touches it).
#[derive(Default)]
pub struct ThreadSignals {
    /// The mask `rt_sigsuspend` replaced, restored after the handler (its
    /// frame saves this one).
    saved_mask: Option<u64>,
    /// The alternate signal stack.
    altstack: AltStack,
    /// How the running system call goes on if it returns `ERESTART`.
    restart: Option<Restart>,
    /// The system call a signal interrupted (its number), and how it goes
    /// on, until [`deliver`] decides.
    interrupted: Option<(u64, Restart)>,
    /// What `restart_syscall` resumes.
    resumption: Option<Resumption>,
}

impl ThreadSignals {
    /// A new thread's (`clone` of a thread): no alternate stack.
    pub fn for_thread() -> Self {
        Self::default()
    }

    /// A forked child's: the same alternate stack.
    pub fn for_fork(&self) -> Self {
        Self {
            altstack: self.altstack,
            ..Self::default()
        }
    }

    /// After `execve`: no alternate stack.
    pub fn exec(&mut self) {
        self.altstack = AltStack::default();
    }
}

/// Says how the running call goes on if a signal interrupts it, and
/// returns the `ERESTART` that reports the interruption.
pub fn interrupted(p: &mut Process, restart: Restart) -> Errno {
    p.signals.restart = Some(restart);
    Errno::ERESTART
}

/// Whether the calling thread was interrupted (a signal may be waiting
/// for it, or its process is ending): an interruptible wait stops.
pub fn pending() -> bool {
    vessel_std::thread::is_interrupted()
}

/// The calling thread's signal mask.
pub fn mask(p: &Process) -> u64 {
    shared(&p.group).threads.get(&p.tid).map_or(0, |t| t.mask)
}

/// Sets the calling thread's signal mask (SIGKILL and SIGSTOP stay
/// unblocked).
pub fn set_mask(p: &Process, mask: u64) {
    if let Some(t) = shared(&p.group).threads.get_mut(&p.tid) {
        t.mask = mask & !UNBLOCKABLE;
    }
}

/// Adds thread `tid` of `group`, with signal mask `mask`.
pub fn add_thread(group: &Group, tid: u32, mask: u64) {
    shared(group).add_thread(tid, mask);
}

/// Makes the calling thread known to senders as running on the current
/// task.
pub fn attach(p: &Process) {
    if let Some(t) = shared(&p.group).threads.get_mut(&p.tid) {
        t.thread = Some(vessel_std::thread::current());
    }
}

/// The calling thread ends: no signal reaches it any more (its private
/// pending ones vanish).
pub fn detach(p: &Process) {
    shared(&p.group).remove_thread(p.tid);
    p.kernel.remove_thread(p.tid);
}

/// Interrupts every thread of `group`: it is ending or stopping.
pub fn interrupt_all(group: &Group) {
    shared(group).interrupt_all(None);
    group.resumed.notify_all();
}

/// `rt_sigaction(signal, act, oldact, sigsetsize)`.
pub fn sigaction(
    p: &mut Process,
    signal: u64,
    act: u64,
    old: u64,
    size: u64,
) -> Result<usize, Errno> {
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    let signal = number(signal)?;
    let new = if act != 0 {
        let mut b = [0; SIGACTION_SIZE];
        p.memory()
            .space
            .read_bytes(act, &mut b)
            .map_err(|_| Errno::EFAULT)?;
        if signal == SIGKILL || signal == SIGSTOP {
            return Err(Errno::EINVAL);
        }
        Some(Action::from_bytes(&b))
    } else {
        None
    };
    let previous = {
        let mut actions = p.group.actions();
        let previous = actions.get(signal);
        if let Some(mut new) = new {
            new.mask &= !UNBLOCKABLE;
            new.flags &= KNOWN_FLAGS;
            actions.0[usize::from(signal - 1)] = new;
            if new.ignores(signal) {
                // Setting SIG_IGN (or SIG_DFL for a signal ignored by
                // default) discards the signal where it is pending.
                drop(actions);
                shared(&p.group).discard(bit(signal));
            }
        }
        previous
    };
    if old != 0 {
        p.memory()
            .space
            .write_bytes(old, &previous.to_bytes())
            .map_err(|_| Errno::EFAULT)?;
    }
    Ok(0)
}

/// Reads a `sigset_t` of `size` bytes (8 on x86-64).
fn read_set(p: &Process, at: u64) -> Result<u64, Errno> {
    let mut b = [0; 8];
    p.memory()
        .space
        .read_bytes(at, &mut b)
        .map_err(|_| Errno::EFAULT)?;
    Ok(u64::from_le_bytes(b))
}

/// `rt_sigprocmask(how, set, oldset, sigsetsize)`.
pub fn sigprocmask(
    p: &mut Process,
    how: u64,
    set: u64,
    old: u64,
    size: u64,
) -> Result<usize, Errno> {
    const SIG_BLOCK: u64 = 0;
    const SIG_UNBLOCK: u64 = 1;
    const SIG_SETMASK: u64 = 2;
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    let previous = mask(p);
    if set != 0 {
        let set = read_set(p, set)?;
        let mask = match how {
            SIG_BLOCK => previous | set,
            SIG_UNBLOCK => previous & !set,
            SIG_SETMASK => set,
            _ => return Err(Errno::EINVAL),
        };
        set_mask(p, mask);
    }
    if old != 0 {
        p.memory()
            .space
            .write_bytes(old, &previous.to_le_bytes())
            .map_err(|_| Errno::EFAULT)?;
    }
    Ok(0)
}

/// `rt_sigpending(set, sigsetsize)`: the pending signals the thread
/// blocks, its own and its process's.
pub fn sigpending(p: &mut Process, set: u64, size: u64) -> SysResult {
    if size > 8 {
        return Err(Errno::EINVAL);
    }
    let pending = {
        let shared = shared(&p.group);
        let Some(me) = shared.threads.get(&p.tid) else {
            return Ok(0);
        };
        let all = me
            .pending
            .iter()
            .chain(&shared.pending)
            .fold(0, |set, q| set | bit(q.signal));
        all & me.mask
    };
    p.memory()
        .space
        .write_bytes(set, &pending.to_le_bytes()[..size as usize])
        .map_err(|_| Errno::EFAULT)?;
    Ok(0)
}

/// `rt_sigsuspend(mask, sigsetsize)`: waits with `mask` for a signal that
/// runs a handler (the old mask comes back with the handler's return).
pub fn sigsuspend(p: &mut Process, set: u64, size: u64) -> SysResult {
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    let set = read_set(p, set)?;
    let old = mask(p);
    set_mask(p, set);
    p.signals.saved_mask = Some(old);
    wait_for_signal(p);
    Err(interrupted(p, Restart::NoHandler))
}

/// `ppoll` and `pselect6`: `set` is the calling thread's mask while the
/// call waits; the old one comes back when the call returns
/// ([`restore_call_mask`]) or, if a signal interrupts it, after that
/// signal's handler ran (as for `rt_sigsuspend`).
pub fn mask_during_call(p: &mut Process, set: u64) {
    let old = mask(p);
    set_mask(p, set);
    p.signals.saved_mask = Some(old);
}

/// The call that [`mask_during_call`] changed the mask for returns
/// without a signal: the old mask comes back now.
pub fn restore_call_mask(p: &mut Process) {
    if let Some(old) = p.signals.saved_mask.take() {
        set_mask(p, old);
    }
}

/// `pause()`: waits for a signal that runs a handler or ends the process.
pub fn pause(p: &mut Process) -> SysResult {
    wait_for_signal(p);
    Err(interrupted(p, Restart::NoHandler))
}

/// Sleeps until a signal the thread does not block is pending (one may be
/// already: `rt_sigsuspend`'s mask can unblock it).
fn wait_for_signal(p: &Process) {
    let deliverable = {
        let shared = shared(&p.group);
        shared.threads.get(&p.tid).is_some_and(|me| {
            me.pending
                .iter()
                .chain(&shared.pending)
                .any(|q| me.mask & bit(q.signal) == 0)
        })
    };
    if !deliverable {
        while vessel_std::thread::sleep_interruptible(Duration::MAX) {}
    }
}

/// Takes the next pending signal among `wanted` from `queue`: the CPU
/// exceptions' first, then the lowest number (Linux's order).
fn take(queue: &mut Vec<Pending>, wanted: u64) -> Option<Pending> {
    let mut set = queue
        .iter()
        .fold(0, |set, q| set | (bit(q.signal) & wanted));
    if set & SYNCHRONOUS != 0 {
        set &= SYNCHRONOUS;
    }
    if set == 0 {
        return None;
    }
    let signal = set.trailing_zeros() as u8 + 1;
    let i = queue.iter().position(|q| q.signal == signal)?;
    Some(queue.remove(i))
}

/// Takes the next pending signal among `wanted` for thread `tid`: its own
/// first, then its process's.
fn dequeue(shared: &mut Shared, tid: u32, wanted: u64) -> Option<Pending> {
    let own = shared
        .threads
        .get_mut(&tid)
        .and_then(|me| take(&mut me.pending, wanted));
    own.or_else(|| take(&mut shared.pending, wanted))
}

/// `rt_sigtimedwait(set, info, timeout, sigsetsize)`: takes a pending
/// signal of `set` (waiting up to `timeout` for one), without running its
/// handler; `EAGAIN` at the timeout, `EINTR` if another signal's handler
/// runs first.
pub fn sigtimedwait(p: &mut Process, set: u64, info: u64, timeout: u64, size: u64) -> SysResult {
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    let wanted = read_set(p, set)? & !UNBLOCKABLE;
    let timeout = match timeout {
        0 => None,
        at => Some(crate::clock::read_timespec(p, at)?),
    };
    let deadline = timeout.map(|t| vessel_std::time::Instant::now().checked_add(t));
    let found = {
        let mut taken = dequeue(&mut shared(&p.group), p.tid, wanted);
        if taken.is_none() && timeout != Some(Duration::ZERO) {
            if let Some(me) = shared(&p.group).threads.get_mut(&p.tid) {
                me.awaited = wanted;
            }
            loop {
                taken = dequeue(&mut shared(&p.group), p.tid, wanted);
                if taken.is_some() || vessel_std::thread::is_interrupted() {
                    break;
                }
                let left = match deadline {
                    None | Some(None) => Duration::MAX,
                    Some(Some(deadline)) => {
                        let now = vessel_std::time::Instant::now();
                        if now >= deadline {
                            break;
                        }
                        deadline - now
                    }
                };
                vessel_std::thread::sleep_interruptible(left);
            }
            if let Some(me) = shared(&p.group).threads.get_mut(&p.tid) {
                me.awaited = 0;
            }
            if taken.is_none() {
                taken = dequeue(&mut shared(&p.group), p.tid, wanted);
            }
        }
        taken
    };
    match found {
        Some(Pending { signal, cause }) => {
            if info != 0 {
                p.memory()
                    .space
                    .write_bytes(info, &siginfo(signal, cause))
                    .map_err(|_| Errno::EFAULT)?;
            }
            Ok(usize::from(signal))
        }
        // Linux never restarts it: EINTR even under SA_RESTART.
        None if vessel_std::thread::is_interrupted() => Err(Errno::EINTR),
        None => Err(Errno::EAGAIN),
    }
}

/// `sigaltstack(ss, old_ss)`.
pub fn sigaltstack(p: &mut Process, new: u64, old: u64) -> SysResult {
    let current = p.signals.altstack;
    if new != 0 {
        let mut b = [0u8; 24];
        p.memory()
            .space
            .read_bytes(new, &mut b)
            .map_err(|_| Errno::EFAULT)?;
        let sp = u64::from_le_bytes(b[..8].try_into().unwrap_or_default());
        let flags = u32::from_le_bytes(b[8..12].try_into().unwrap_or_default());
        let size = u64::from_le_bytes(b[16..].try_into().unwrap_or_default());
        set_altstack(p, sp, flags, size)?;
    }
    if old != 0 {
        p.memory()
            .space
            .write_bytes(old, &current.report(p.ctx.rsp))
            .map_err(|_| Errno::EFAULT)?;
    }
    Ok(0)
}

/// Linux's `do_sigaltstack` for a new stack.
fn set_altstack(p: &mut Process, sp: u64, flags: u32, size: u64) -> Result<(), Errno> {
    if p.signals.altstack.holds(p.ctx.rsp) {
        return Err(Errno::EPERM);
    }
    let mode = flags & !SS_AUTODISARM;
    if mode != SS_DISABLE && mode != SS_ONSTACK && mode != 0 {
        return Err(Errno::EINVAL);
    }
    p.signals.altstack = if mode == SS_DISABLE {
        AltStack {
            sp: 0,
            size: 0,
            flags,
        }
    } else {
        if size < MINSIGSTKSZ {
            return Err(Errno::ENOMEM);
        }
        AltStack { sp, size, flags }
    };
    Ok(())
}

/// Raises `signal` for the calling thread (a fault, `SIGPIPE`); it is
/// delivered by [`deliver`] on the way back to user mode unless blocked.
pub fn raise(p: &mut Process, signal: u8, cause: Cause) {
    let mut shared = shared(&p.group);
    if let Some(me) = shared.threads.get_mut(&p.tid) {
        enqueue(&mut me.pending, signal, cause);
        p.group.signals_waiting.store(true, Ordering::SeqCst);
    }
}

/// Adds a signal to a queue: a standard signal already there is not
/// queued twice, real-time ones queue up to a limit.
fn enqueue(queue: &mut Vec<Pending>, signal: u8, cause: Cause) {
    let queued = if signal < SIGRTMIN {
        queue.iter().any(|q| q.signal == signal)
    } else {
        queue.len() >= MAX_QUEUED
    };
    if !queued {
        queue.push(Pending { signal, cause });
    }
}

/// What sending a signal to a process did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sent {
    /// It was queued, ignored, or the process is ending.
    Done,
    /// It continued the stopped process (`SIGCONT`): its parent hears.
    Continued,
    /// It ends the process (a fatal default action).
    Fatal(u8),
}

/// Sends `signal` to the process `group`, or to its thread `tid`: Linux's
/// `prepare_signal` (stop and continue act as they are sent), then the
/// queue, then a thread that does not block it is interrupted (or, if the
/// default action ends the process, the whole process ends). `ESRCH` if
/// thread `tid` is gone. The caller tells the parent of a continue
/// ([`Sent::Continued`]) and ends a process for [`Sent::Fatal`].
pub fn send_to(group: &Group, tid: Option<u32>, signal: u8, cause: Cause) -> Result<Sent, Errno> {
    let action = group.actions().get(signal);
    let mut shared = shared(group);
    if let Some(tid) = tid
        && !shared.threads.contains_key(&tid)
    {
        return Err(Errno::ESRCH);
    }
    if group.ending().is_some() || shared.threads.is_empty() {
        return Ok(Sent::Done);
    }
    let mut sent = Sent::Done;
    if STOP_SIGNALS & bit(signal) != 0 {
        shared.discard(bit(SIGCONT));
    } else if signal == SIGCONT {
        shared.discard(STOP_SIGNALS);
        if shared.stopped.take().is_some() {
            group.resumed.notify_all();
            sent = Sent::Continued;
        }
    }
    // Blocked signals are kept even if ignored: the action may change
    // before they are unblocked.
    let blocked = match tid {
        Some(tid) => shared.threads.get(&tid).is_some_and(|t| !t.wants(signal)),
        None => shared.threads.values().all(|t| !t.wants(signal)),
    };
    if action.ignores(signal) && !blocked {
        return Ok(sent);
    }
    match tid {
        Some(tid) => {
            if let Some(t) = shared.threads.get_mut(&tid) {
                enqueue(&mut t.pending, signal, cause);
            }
        }
        None => enqueue(&mut shared.pending, signal, cause),
    }
    // Before the target is interrupted: its way back to user mode clears
    // its interrupt, then reads this.
    group.signals_waiting.store(true, Ordering::SeqCst);
    // The thread to wake: the one named, else the main thread, else any
    // that does not block the signal; none while the process is stopped
    // (the signal waits for SIGCONT), unless it is SIGKILL.
    if shared.stopped.is_some() && signal != SIGKILL {
        return Ok(sent);
    }
    let target = match tid {
        Some(tid) => shared.threads.get(&tid).filter(|t| t.wants(signal)),
        None => shared
            .threads
            .get(&group.pid)
            .filter(|t| t.wants(signal))
            .or_else(|| shared.threads.values().find(|t| t.wants(signal))),
    };
    let Some(target) = target else {
        return Ok(sent);
    };
    let fatal = signal == SIGKILL
        || (action.handler == SIG_DFL
            && default_action(signal) == DefaultAction::Terminate
            && target.mask & bit(signal) == 0);
    if fatal {
        return Ok(Sent::Fatal(signal));
    }
    target.interrupt();
    Ok(sent)
}

/// Delivers the pending signals the thread does not block, on its way
/// back to user mode: ignored ones vanish, a stop signal stops the process
/// until `SIGCONT`, a default action that ends the process is returned, a
/// handler gets a frame on the user stack (the thread resumes in it).
/// Settles an interrupted system call: `EINTR`, or started again.
pub fn deliver(p: &mut Process) -> Option<Ended> {
    vessel_std::thread::clear_interrupt();
    // Nothing queued, nothing to settle or restore: most system calls.
    // A signal sent from now on interrupts the thread again, which sends
    // it back here before it runs user code.
    if !p.group.signals_waiting.load(Ordering::SeqCst)
        && p.signals.interrupted.is_none()
        && p.signals.saved_mask.is_none()
    {
        return None;
    }
    loop {
        if p.group.ending().is_some() {
            // The thread ends at the top of its loop.
            return None;
        }
        let next = {
            let mut shared = shared(&p.group);
            while shared.stopped.is_some() && p.group.ending().is_none() {
                shared = p
                    .group
                    .resumed
                    .wait(shared)
                    .unwrap_or_else(|e| e.into_inner());
            }
            let mask = shared.threads.get(&p.tid).map_or(0, |t| t.mask);
            let next = dequeue(&mut shared, p.tid, !mask);
            if next.is_none() && shared.is_quiet() {
                p.group.signals_waiting.store(false, Ordering::SeqCst);
            }
            next
        };
        let Some(Pending { signal, cause }) = next else {
            break;
        };
        let action = p.group.actions().get(signal);
        match action.handler {
            _ if action.ignores(signal) => {}
            SIG_DFL | SIG_IGN if default_action(signal) == DefaultAction::Stop => {
                // A terminal's stop signals do nothing to an orphaned
                // process group (nobody could continue it).
                if signal == SIGSTOP || !p.kernel.orphaned_group(p.pid()) {
                    stop(p, signal);
                }
            }
            SIG_DFL | SIG_IGN => return Some(Ended::Signaled(signal)),
            handler => {
                settle_interrupted(p, Some(action));
                if enter_handler(p, signal, cause, action, handler).is_err() {
                    // No room for the frame: Linux kills with SIGSEGV.
                    return Some(Ended::Signaled(SIGSEGV));
                }
                if action.flags & SA_RESETHAND != 0 {
                    p.group.actions().0[usize::from(signal - 1)] = Action::default();
                }
            }
        }
    }
    settle_interrupted(p, None);
    if let Some(mask) = p.signals.saved_mask.take() {
        set_mask(p, mask);
    }
    None
}

/// Decides how an interrupted system call goes on, once it is known
/// whether a handler runs (`action`) or not: its result becomes `EINTR`,
/// or the thread is set to make the call again.
fn settle_interrupted(p: &mut Process, action: Option<Action>) {
    let Some((number, restart)) = p.signals.interrupted.take() else {
        return;
    };
    let again = match (&restart, action) {
        (Restart::Sys, Some(action)) => action.flags & SA_RESTART != 0,
        (_, Some(_)) => false,
        (_, None) => true,
    };
    if !again {
        // The dispatcher already put EINTR in the result register.
        return;
    }
    p.ctx.rip = p.ctx.rip.wrapping_sub(SYSCALL_LEN);
    p.ctx.rax = match restart {
        Restart::Resume(rest) => {
            p.signals.resumption = Some(rest);
            NR_RESTART_SYSCALL
        }
        _ => number,
    };
}

/// Records that system call `number` was interrupted (it returned
/// `ERESTART`), for [`deliver`] to settle.
pub fn interrupted_call(p: &mut Process, number: u64) {
    let restart = p.signals.restart.take().unwrap_or(Restart::Sys);
    p.signals.interrupted = Some((number, restart));
}

/// Forgets how a call would have restarted (it was not interrupted).
pub fn not_interrupted(p: &mut Process) {
    p.signals.restart = None;
}

/// `restart_syscall`: resumes the call a signal interrupted (a sleep), or
/// `EINTR` if there is none.
pub fn restart_syscall(p: &mut Process) -> SysResult {
    match p.signals.resumption.take() {
        Some(rest) => rest(p),
        None => Err(Errno::EINTR),
    }
}

/// Stops the process with `signal`: every thread waits in [`deliver`]
/// until `SIGCONT`; the parent hears of it.
fn stop(p: &mut Process, signal: u8) {
    {
        let mut shared = shared(&p.group);
        if shared.stopped.is_some() {
            return;
        }
        shared.stopped = Some(signal);
        p.group.signals_waiting.store(true, Ordering::SeqCst);
        shared.interrupt_all(Some(p.tid));
    }
    p.kernel.child_stopped(p.pid(), signal);
}

/// Whether a fault's signal would run a handler (else it ends the process
/// at once, without being queued behind other signals).
pub fn is_caught(p: &Process, signal: u8) -> bool {
    let handler = p.group.actions().get(signal).handler;
    handler != SIG_DFL && handler != SIG_IGN && mask(p) & bit(signal) == 0
}

/// The `siginfo_t` of a signal.
pub fn siginfo(signal: u8, cause: Cause) -> [u8; SIGINFO_SIZE] {
    let mut info = [0u8; SIGINFO_SIZE];
    put32(&mut info, 0, i32::from(signal));
    let (code, word) = match cause {
        Cause::Kill(pid) => (0, u64::from(pid)),
        Cause::Tkill(pid) => (-6, u64::from(pid)),
        Cause::Kernel => (0x80, 0),
        Cause::Fault { code, address } => (code, address),
        Cause::Child { pid, code, status } => {
            put32(&mut info, 24, status);
            (code, u64::from(pid))
        }
        Cause::Queue {
            code,
            pid,
            uid,
            value,
        } => {
            put(&mut info, 24, value);
            (code, u64::from(pid) | u64::from(uid) << 32)
        }
    };
    put32(&mut info, 8, code);
    // si_pid and si_uid (0: root), or si_addr.
    put(&mut info, 16, word);
    info
}

// The x86-64 `rt_sigframe`: the return address (sa_restorer), the
// `ucontext` and the `siginfo`, with the FXSAVE image below them.
/// Offset of `struct ucontext` in the frame.
const UC: usize = 8;
/// Offset of `uc_stack` in the ucontext.
const STACK: usize = 16;
/// Offset of `uc_mcontext` (`struct sigcontext`) in the ucontext.
const MCONTEXT: usize = 40;
/// Offset of `uc_sigmask` in the ucontext.
const SIGMASK: usize = MCONTEXT + 256;
/// Size of the kernel's `struct ucontext`.
const UCONTEXT_SIZE: usize = SIGMASK + 8;
/// Offset of `siginfo` in the frame.
const SIGINFO: usize = UC + UCONTEXT_SIZE;
/// Size of the frame above the FPU image.
const FRAME_SIZE: usize = SIGINFO + SIGINFO_SIZE;
/// The most stack a signal frame takes, its alignment included: the FPU
/// image (64-byte aligned), then the frame (its return address 8 below a
/// 16-byte boundary), as `enter_handler` lays them out. The initial stack
/// reports it as `AT_MINSIGSTKSZ`.
pub const MAX_FRAME_SIZE: u64 = (FPU_IMAGE_SIZE + 63 + FRAME_SIZE + 15 + 8) as u64;
/// Bytes below the interrupted stack pointer that belong to it.
const RED_ZONE: u64 = 128;

/// The sigcontext registers, in `struct sigcontext` order.
fn registers(p: &Process) -> [u64; 18] {
    let c = &p.ctx;
    [
        c.r8, c.r9, c.r10, c.r11, c.r12, c.r13, c.r14, c.r15, c.rdi, c.rsi, c.rbp, c.rbx, c.rdx,
        c.rax, c.rcx, c.rsp, c.rip, c.rflags,
    ]
}

fn set_registers(p: &mut Process, r: &[u64; 18]) {
    let c = &mut p.ctx;
    [
        c.r8, c.r9, c.r10, c.r11, c.r12, c.r13, c.r14, c.r15, c.rdi, c.rsi, c.rbp, c.rbx, c.rdx,
        c.rax, c.rcx, c.rsp, c.rip, c.rflags,
    ] = *r;
}

fn put(frame: &mut [u8], at: usize, value: u64) {
    frame[at..at + 8].copy_from_slice(&value.to_le_bytes());
}

fn put32(frame: &mut [u8], at: usize, value: i32) {
    frame[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

fn get(frame: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(frame[at..at + 8].try_into().unwrap_or([0; 8]))
}

/// Builds the signal frame on the user stack (or the alternate stack,
/// for `SA_ONSTACK`) and points the thread at the handler.
fn enter_handler(
    p: &mut Process,
    signal: u8,
    cause: Cause,
    action: Action,
    handler: u64,
) -> Result<(), Errno> {
    let interrupted_sp = p.ctx.rsp;
    let altstack = p.signals.altstack;
    let mut sp = interrupted_sp.checked_sub(RED_ZONE).ok_or(Errno::EFAULT)?;
    let on_altstack = altstack.holds(sp);
    let entering_altstack = action.flags & SA_ONSTACK != 0 && altstack.state(sp) == 0;
    if entering_altstack {
        sp = altstack.sp.wrapping_add(altstack.size);
    }
    let fpstate = sp.checked_sub(FPU_IMAGE_SIZE as u64).ok_or(Errno::EFAULT)? & !63;
    let frame_at = (fpstate
        .checked_sub(FRAME_SIZE as u64)
        .ok_or(Errno::EFAULT)?
        & !15)
        .checked_sub(8)
        .ok_or(Errno::EFAULT)?;
    if (on_altstack || entering_altstack) && !altstack.contains(frame_at) {
        // The frame would overflow the alternate stack.
        return Err(Errno::EFAULT);
    }

    let mask = mask(p);
    let saved_mask = p.signals.saved_mask.take().unwrap_or(mask);
    let mut frame = alloc::vec![0u8; FRAME_SIZE];
    put(
        &mut frame,
        0,
        if action.flags & SA_RESTORER != 0 {
            action.restorer
        } else {
            0
        },
    );
    // uc_stack: the alternate stack as set, restored by rt_sigreturn.
    frame[UC + STACK..UC + STACK + 24].copy_from_slice(&altstack.to_bytes(altstack.flags));
    let mc = UC + MCONTEXT;
    for (i, value) in registers(p).into_iter().enumerate() {
        put(&mut frame, mc + i * 8, value);
    }
    // cs, gs, fs, ss (16 bits each) at 144: the user selectors.
    frame[mc + 144..mc + 146].copy_from_slice(&0x33u16.to_le_bytes());
    frame[mc + 150..mc + 152].copy_from_slice(&0x2bu16.to_le_bytes());
    put(&mut frame, mc + 168, saved_mask); // oldmask
    put(&mut frame, mc + 184, fpstate);
    put(&mut frame, UC + SIGMASK, saved_mask);
    frame[SIGINFO..].copy_from_slice(&siginfo(signal, cause));
    if let Cause::Fault { address, .. } = cause {
        put(&mut frame, mc + 176, address); // cr2
    }

    {
        let memory = p.memory();
        memory
            .space
            .write_bytes(fpstate, &p.ctx.fpu_image())
            .map_err(|_| Errno::EFAULT)?;
        memory
            .space
            .write_bytes(frame_at, &frame)
            .map_err(|_| Errno::EFAULT)?;
    }
    if altstack.flags & SS_AUTODISARM != 0 {
        p.signals.altstack = AltStack::default();
    }
    let blocked = if action.flags & SA_NODEFER != 0 {
        0
    } else {
        bit(signal)
    };
    set_mask(p, mask | action.mask | blocked);
    let c = &mut p.ctx;
    c.rsp = frame_at;
    c.rip = handler;
    c.rdi = u64::from(signal);
    c.rsi = frame_at + SIGINFO as u64;
    c.rdx = frame_at + UC as u64;
    c.rax = 0;
    Ok(())
}

/// `rt_sigreturn`: restores the registers, mask, alternate stack and FPU
/// state the frame at the stack pointer saved. A frame that cannot be
/// read kills with SIGSEGV.
pub fn sigreturn(p: &mut Process) -> Option<Ended> {
    // The handler's `ret` popped the return address: rsp is the ucontext.
    let uc_at = p.ctx.rsp;
    let mut uc = [0u8; UCONTEXT_SIZE];
    let mut fpu = [0u8; FPU_IMAGE_SIZE];
    let read = {
        let memory = p.memory();
        memory.space.read_bytes(uc_at, &mut uc).and_then(|()| {
            let fpstate = get(&uc, MCONTEXT + 184);
            if fpstate == 0 {
                Ok(false)
            } else {
                memory.space.read_bytes(fpstate, &mut fpu).map(|()| true)
            }
        })
    };
    let Ok(has_fpu) = read else {
        return Some(Ended::Signaled(SIGSEGV));
    };
    let mut r = [0u64; 18];
    for (i, value) in r.iter_mut().enumerate() {
        *value = get(&uc, MCONTEXT + i * 8);
    }
    set_registers(p, &r);
    if has_fpu {
        p.ctx.set_fpu_image(&fpu);
    }
    set_mask(p, get(&uc, SIGMASK));
    // The alternate stack as it was (errors other than EFAULT ignored,
    // as Linux does).
    let flags = u32::from_le_bytes(uc[STACK + 8..STACK + 12].try_into().unwrap_or_default());
    let _ = set_altstack(p, get(&uc, STACK), flags, get(&uc, STACK + 16));
    deliver(p)
}

/// The `si_code` Linux reports with the signal of CPU exception `vector`
/// (a page fault's depends on the page: the fault path knows it).
pub fn fault_code(vector: u8) -> i32 {
    match vector {
        0 => 1,    // FPE_INTDIV
        6 => 2,    // ILL_ILLOPN
        _ => 0x80, // SI_KERNEL
    }
}

/// Sends `signal` from the kernel's side (`SIGCHLD`, `SIGALRM`) to the
/// process `group`, ending it or telling its parent as needed.
pub fn send_from_kernel(kernel: &Kernel, group: &Group, signal: u8, cause: Cause) {
    if let Ok(sent) = send_to(group, None, signal, cause) {
        settle_sent(kernel, group, sent);
    }
}

/// Does what sending left to the caller: ending the process, or telling
/// its parent it continued.
pub fn settle_sent(kernel: &Kernel, group: &Group, sent: Sent) {
    match sent {
        Sent::Done => {}
        Sent::Continued => kernel.child_continued(group.pid),
        Sent::Fatal(signal) => group.end(Ended::Signaled(signal)),
    }
}
