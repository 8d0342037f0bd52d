//! Linux processes and threads: a process ([`Group`]) owns the memory and
//! descriptors its threads ([`Process`], one per vessel-rt task) share.

use crate::file::{FdTable, WorkingDir};
use crate::fs::Start;
use crate::kernel::{Ended, Kernel, Usage};
use crate::signal::{self, Actions, Cause, Shared, ThreadSignals};
use crate::{futex, random, syscall};
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use core::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use core::time::Duration;
use vessel_linux::elf::{self, ElfError, InterpreterError, LoadPlan, Perms};
use vessel_linux::vfs::Vfs;
use vessel_linux::{Errno, PAGE_SIZE, stack};
use vessel_std::os::user::{
    Access, AccessKind, Fault, FaultResolution, MapError, UserContext, UserExit, UserSpace,
    run_user,
};
use vessel_std::sync::{Condvar, Mutex, MutexGuard};

/// One past the top of the main thread's stack.
pub const STACK_TOP: u64 = 0x7fff_ffff_f000;
/// Size of the main thread's stack (mapped up front).
const STACK_SIZE: u64 = 1 << 20;
/// Anonymous `mmap` regions are placed below this address, growing down.
const MMAP_TOP: u64 = 0x7f00_0000_0000;

/// The memory of a process: its address space and where its heap and
/// anonymous mappings are.
pub struct Memory {
    /// The address space, shared with the threads running in it (which
    /// hold no lock on this struct while they run user code).
    pub space: Arc<UserSpace>,
    /// Start of the heap (`brk` never goes below it).
    pub brk_start: u64,
    /// The current program break.
    pub brk: u64,
    /// End of the memory mapped for the heap (page aligned, >= `brk`).
    pub heap_mapped_end: u64,
    /// The next anonymous mapping ends here.
    pub mmap_next: u64,
}

/// The memory of a process, as its threads hold it: shared with the
/// processes `clone(CLONE_VM)` made (`vfork`), until one calls `execve`
/// (Linux's `mm_struct`).
pub type Mm = Arc<Mutex<Memory>>;

/// What the threads of a process share (a Linux thread group).
pub struct Group {
    /// The process id (the first thread's id).
    pub pid: u32,
    /// Its memory (`execve` replaces it; each thread keeps a handle it
    /// renews before it runs user code).
    mm: Mutex<Mm>,
    /// Its open file descriptors.
    pub fds: Mutex<FdTable>,
    /// System calls already reported as unimplemented.
    pub reported: Mutex<BTreeSet<u64>>,
    /// The name `prctl(PR_SET_NAME)` gave it (NUL-padded).
    pub name: Mutex<[u8; 16]>,
    /// Set by `exit_group` (or a fatal signal): how the whole process
    /// ends; its other threads are interrupted and stop before they run
    /// user code again.
    ending: Mutex<Option<Ended>>,
    /// Whether [`Group::ending`] holds a value (set with it, never
    /// cleared): its threads read this on every way back to user mode
    /// without taking the lock.
    ended: AtomicBool,
    /// What each signal does.
    actions: Mutex<Actions>,
    /// Its threads' masks and pending signals, what the process has
    /// pending, whether it is stopped (what senders see).
    pub signals: Mutex<Shared>,
    /// Whether [`Group::signals`] may hold something to deliver: set (under
    /// that lock) when a signal is queued or the process stops, cleared
    /// by `signal::deliver` when it finds every queue empty. While clear,
    /// the way back to user mode takes no lock (most system calls).
    pub signals_waiting: AtomicBool,
    /// Signalled when the stopped process continues or ends.
    pub resumed: Condvar,
    /// Threads still running.
    threads: AtomicUsize,
    /// `prctl(PR_SET_DUMPABLE)`: 1 by default, reset to 1 by `execve`.
    pub dumpable: AtomicU8,
    /// CPU time its threads spent in user mode, in TSC ticks.
    user_ticks: AtomicU64,
    /// CPU time its threads spent in the kernel, in TSC ticks.
    system_ticks: AtomicU64,
    /// The largest peak of the address spaces it had before `execve`s.
    maxrss_kib: AtomicU64,
    /// What the children it waited for used (`RUSAGE_CHILDREN`).
    pub children: Mutex<Usage>,
    /// The working directory (threads share it: `CLONE_FS`).
    cwd: Mutex<WorkingDir>,
    /// The file-creation mask.
    umask: AtomicU32,
    /// Its program's path and arguments (for `/proc`).
    program: Mutex<crate::procfs::Program>,
    /// When it was made (`fork`).
    pub started: vessel_std::time::Instant,
}

impl Group {
    /// Its memory.
    pub fn mm(&self) -> Mm {
        self.mm.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The working directory.
    pub fn cwd(&self) -> Start {
        self.cwd.lock().unwrap_or_else(|e| e.into_inner()).start()
    }

    /// Threads still running.
    pub fn threads(&self) -> usize {
        self.threads.load(Ordering::Relaxed)
    }

    /// Its program's path and arguments (for `/proc`).
    pub fn program(&self) -> MutexGuard<'_, crate::procfs::Program> {
        self.program.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How the process ends, once `exit_group` or a fatal signal said so.
    pub fn ending(&self) -> Option<Ended> {
        if !self.ended.load(Ordering::SeqCst) {
            return None;
        }
        *self.ending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The signal dispositions.
    pub fn actions(&self) -> MutexGuard<'_, Actions> {
        self.actions.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Ends the whole process with `how` (the first reason wins): its
    /// threads are interrupted, and a stopped process wakes to end.
    pub fn end(&self, how: Ended) {
        self.ending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert(how);
        self.ended.store(true, Ordering::SeqCst);
        signal::interrupt_all(self);
    }

    /// CPU time its threads used so far, in user mode and in the kernel
    /// (what they are using right now is counted at their next switch
    /// between the two).
    pub fn cpu_times(&self) -> (Duration, Duration) {
        (
            ticks_to_duration(self.user_ticks.load(Ordering::Relaxed)),
            ticks_to_duration(self.system_ticks.load(Ordering::Relaxed)),
        )
    }

    /// The most memory it had mapped at once, in KiB (`ru_maxrss`).
    pub fn maxrss_kib(&self) -> u64 {
        let now = self
            .mm()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .space
            .peak_pages()
            * (PAGE_SIZE / 1024);
        now.max(self.maxrss_kib.load(Ordering::Relaxed))
    }

    /// What the process used, with the children it waited for
    /// (`RUSAGE_BOTH`: what its parent's wait reports).
    pub fn usage(&self) -> Usage {
        let (user, system) = self.cpu_times();
        let mut usage = Usage {
            user,
            system,
            maxrss_kib: self.maxrss_kib(),
        };
        usage.add(*self.children.lock().unwrap_or_else(|e| e.into_inner()));
        usage
    }
}

/// One thread of a running program.
pub struct Process {
    /// Its thread id (the pid, for the first thread).
    pub tid: u32,
    /// The process it belongs to.
    pub group: Arc<Group>,
    /// The state all processes share.
    pub kernel: Arc<Kernel>,
    /// Its process's memory (renewed from the group's before it runs user
    /// code: another thread's `execve` replaces it).
    mm: Mm,
    /// Its registers.
    pub ctx: UserContext,
    /// Where to write 0 (and wake a futex waiter) when the thread ends
    /// (`CLONE_CHILD_CLEARTID`, `set_tid_address`).
    pub clear_child_tid: u64,
    /// Its own signal state (the alternate stack, how an interrupted
    /// call goes on); its mask and pending signals are in the group's.
    pub signals: ThreadSignals,
    /// For a child of `vfork`: its parent waits until this is dropped
    /// (when it calls `execve` or ends).
    vfork: Option<VforkRelease>,
    /// CPU time this thread spent in user mode, in TSC ticks.
    user_ticks: u64,
    /// CPU time this thread spent in the kernel, in TSC ticks.
    system_ticks: u64,
    /// The thread's CPU clock (its vessel-rt task), once it runs.
    cpu_clock: Option<vessel_rt::task::TaskRef>,
    /// The CPU clock's reading when time was last charged.
    cpu_mark: u64,
}

/// CPU time counted in TSC ticks, as a duration.
fn ticks_to_duration(ticks: u64) -> Duration {
    Duration::from_nanos(vessel_rt::time::scale().ticks_to_ns(ticks))
}

/// A parent thread's wait for its `vfork` child (`clone(CLONE_VFORK)`):
/// the child shares its memory, so the parent runs again only once the
/// child calls `execve` or ends.
#[derive(Default)]
pub struct Vfork {
    /// The child has let go.
    released: Mutex<bool>,
    /// Signalled when it does.
    done: Condvar,
}

impl Vfork {
    /// Waits until the child lets go or the caller's process ends: as
    /// Linux's, the wait is killable only; other signals wait until after
    /// (they stay pending, and are delivered as the call returns).
    pub fn wait(&self, group: &Group) {
        let mut released = self.released.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            // Cleared before the checks: an ending after them interrupts
            // the wait.
            vessel_std::thread::clear_interrupt();
            if *released || group.ending().is_some() {
                return;
            }
            released = self
                .done
                .wait_interruptible(released)
                .unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// Held by a `vfork` child: dropping it lets the parent go.
struct VforkRelease(Arc<Vfork>);

impl Drop for VforkRelease {
    fn drop(&mut self) {
        *self.0.released.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.0.done.notify_all();
    }
}

/// Why a program could not be started.
#[derive(Debug)]
pub enum LoadError {
    /// Not an executable we can run.
    Exec(ElfError),
    /// The ELF interpreter the program names (this path) cannot be read.
    NoInterpreter(Vec<u8>, Errno),
    /// The ELF interpreter the program names (this path) cannot be used.
    BadInterpreter(Vec<u8>, InterpreterError),
    /// The initial stack could not be built (too many arguments).
    Stack(Errno),
    /// Mapping memory failed.
    Map(MapError),
    /// Copying into the new address space failed.
    Copy(Fault),
    /// No memory for the address space.
    OutOfMemory,
}

impl LoadError {
    /// The error number `execve` reports.
    pub fn errno(&self) -> Errno {
        match self {
            Self::Exec(e) => e.errno(),
            Self::NoInterpreter(_, errno) | Self::Stack(errno) => *errno,
            Self::BadInterpreter(_, e) => e.errno(),
            Self::Map(_) | Self::Copy(_) | Self::OutOfMemory => Errno::ENOMEM,
        }
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exec(e) => write!(f, "{e}"),
            Self::NoInterpreter(path, Errno::ENOENT) => write!(
                f,
                "its interpreter {} is missing (bring it in with --volume)",
                String::from_utf8_lossy(path)
            ),
            Self::NoInterpreter(path, errno) => write!(
                f,
                "its interpreter {} cannot be read: {errno}",
                String::from_utf8_lossy(path)
            ),
            Self::BadInterpreter(path, e) => write!(
                f,
                "its interpreter {} cannot be used: {e}",
                String::from_utf8_lossy(path)
            ),
            Self::Stack(e) => write!(f, "cannot build the initial stack: {e}"),
            Self::Map(e) => write!(f, "cannot map memory: {e:?}"),
            Self::Copy(e) => write!(f, "cannot copy the program in: {e}"),
            Self::OutOfMemory => write!(f, "out of memory"),
        }
    }
}

impl Process {
    /// Loads `program` (a Linux executable, and its ELF interpreter from
    /// the file system) into a fresh address space with `argv` and `envp`
    /// on its stack.
    pub fn load(
        program: &[u8],
        argv: &[String],
        envp: &[String],
        pid: u32,
        kernel: Arc<Kernel>,
    ) -> Result<Self, LoadError> {
        let (memory, ctx) = load_image(program, argv, envp, |path| {
            crate::fs::executable_from_root(&kernel.fs, path)
        })?;
        Ok(Self::first_thread(
            pid,
            kernel,
            Arc::new(Mutex::new(memory)),
            FdTable::console(),
            ctx,
        ))
    }

    /// The first thread of a new process.
    fn first_thread(pid: u32, kernel: Arc<Kernel>, mm: Mm, fds: FdTable, ctx: UserContext) -> Self {
        let group = Arc::new(Group {
            pid,
            mm: Mutex::new(mm.clone()),
            fds: Mutex::new(fds),
            reported: Mutex::new(BTreeSet::new()),
            name: Mutex::new([0; 16]),
            ending: Mutex::new(None),
            ended: AtomicBool::new(false),
            actions: Mutex::new(Actions::default()),
            signals: Mutex::new(Shared::default()),
            signals_waiting: AtomicBool::new(true),
            resumed: Condvar::new(),
            threads: AtomicUsize::new(1),
            dumpable: AtomicU8::new(1),
            user_ticks: AtomicU64::new(0),
            system_ticks: AtomicU64::new(0),
            maxrss_kib: AtomicU64::new(0),
            children: Mutex::new(Usage::default()),
            cwd: Mutex::new(WorkingDir::new(&kernel.fs, Start::Tree(Vfs::ROOT))),
            umask: AtomicU32::new(0o022),
            program: Mutex::new(crate::procfs::Program::default()),
            started: vessel_std::time::Instant::now(),
        });
        signal::add_thread(&group, pid, 0);
        kernel.attach(pid, &group);
        Self {
            tid: pid,
            group,
            kernel,
            mm,
            ctx,
            clear_child_tid: 0,
            signals: ThreadSignals::default(),
            vfork: None,
            user_ticks: 0,
            system_ticks: 0,
            cpu_clock: None,
            cpu_mark: 0,
        }
    }

    /// The working directory (in the tree, or in `/proc`).
    pub fn cwd(&self) -> Start {
        self.group.cwd()
    }

    /// Changes the working directory (of every thread of the process).
    pub fn set_cwd(&self, dir: Start) {
        let dir = WorkingDir::new(&self.kernel.fs, dir);
        *self.group.cwd.lock().unwrap_or_else(|e| e.into_inner()) = dir;
    }

    /// The file-creation mask.
    pub fn umask(&self) -> u32 {
        self.group.umask.load(Ordering::Relaxed)
    }

    /// Sets the file-creation mask; returns the old one.
    pub fn set_umask(&self, mask: u32) -> u32 {
        self.group.umask.swap(mask, Ordering::Relaxed)
    }

    /// Charges the CPU time this thread used since the last charge to user
    /// mode or to the kernel, for it and for its process.
    /// (Twice per system call: kept to a TSC read and a few additions.)
    pub fn charge_cpu(&mut self, user: bool) {
        let Some(clock) = &self.cpu_clock else {
            return;
        };
        let now = clock.cpu_ticks();
        let used = now.saturating_sub(self.cpu_mark);
        self.cpu_mark = now;
        if user {
            self.user_ticks += used;
            self.group.user_ticks.fetch_add(used, Ordering::Relaxed);
        } else {
            self.system_ticks += used;
            self.group.system_ticks.fetch_add(used, Ordering::Relaxed);
        }
    }

    /// CPU time this thread used so far, in user mode and in the kernel.
    pub fn thread_cpu_times(&self) -> (Duration, Duration) {
        (
            ticks_to_duration(self.user_ticks),
            ticks_to_duration(self.system_ticks),
        )
    }

    /// The process's memory.
    pub fn memory(&self) -> MutexGuard<'_, Memory> {
        self.mm.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What names the process's memory in futex keys: the threads and
    /// processes that share it (`CLONE_VM`) share its futexes.
    pub fn futex_space(&self) -> usize {
        Arc::as_ptr(&self.mm) as usize
    }

    /// The process's file descriptors.
    pub fn fds(&self) -> MutexGuard<'_, FdTable> {
        self.group.fds.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.group.pid
    }

    /// Runs the thread to its end, then lets go of it (and of the
    /// process's memory, if it was the last user). Returns how the process
    /// ended if this was its last thread.
    pub fn run(mut self) -> Option<Ended> {
        self.run_in_place()
    }

    /// Runs the thread to its end, keeping it (see [`Process::run`]).
    pub fn run_in_place(&mut self) -> Option<Ended> {
        let clock = vessel_rt::task::current();
        self.cpu_mark = clock.cpu_ticks();
        self.cpu_clock = Some(clock);
        // Senders can interrupt it from now on; what came before is
        // delivered before its first instruction.
        signal::attach(self);
        if let Some(how) = signal::deliver(self) {
            self.group.end(how);
        }
        let ended = loop {
            if let Some(how) = self.group.ending() {
                break how;
            }
            // The other threads may map and unmap while this one runs:
            // the memory lock is held only to take the space (of the
            // memory another thread's execve may have put in place).
            self.mm = self.group.mm();
            let space = self.memory().space.clone();
            self.charge_cpu(false);
            let exit = run_user(&space, &mut self.ctx);
            self.charge_cpu(true);
            drop(space);
            match exit {
                UserExit::Syscall => match syscall::dispatch(self) {
                    Some(syscall::Stop::Thread(code)) => break Ended::Exited(code),
                    Some(syscall::Stop::Process(how)) => {
                        self.group.end(how);
                        break how;
                    }
                    None => {}
                },
                UserExit::Fault {
                    vector,
                    error_code,
                    address,
                } => {
                    // A page fault: a reserved page to give a frame, a
                    // copy-on-write page to copy, or a real fault (and
                    // its si_code).
                    let mut code = signal::fault_code(vector);
                    if vector == PAGE_FAULT {
                        let access = AccessKind::of_page_fault(error_code);
                        let space = self.memory().space.clone();
                        match space.resolve_fault(address, access) {
                            Ok(FaultResolution::Resolved) => continue,
                            Ok(FaultResolution::Unmapped) => code = SEGV_MAPERR,
                            Ok(FaultResolution::Denied) => code = SEGV_ACCERR,
                            Err(_) => {
                                // Out of memory for the page: the process
                                // dies, as Linux's OOM killer would end it.
                                const SIGKILL: u8 = 9;
                                vessel_std::eprintln!(
                                    "[vessel-linux] out of memory: killed process {} \
                                     (page fault at {address:#x}, {} KiB resident)",
                                    self.pid(),
                                    space.mapped_pages() * (PAGE_SIZE / 1024)
                                );
                                self.group.end(Ended::Signaled(SIGKILL));
                                break Ended::Signaled(SIGKILL);
                            }
                        }
                    }
                    let signal = signal_for(vector);
                    let how = if signal::is_caught(self, signal) {
                        signal::raise(self, signal, Cause::Fault { code, address });
                        signal::deliver(self)
                    } else {
                        if self.kernel.verbose {
                            vessel_std::eprintln!(
                                "[vessel-linux] tid {}: signal {signal} for exception {vector} \
                                 (error code {error_code:#x}) at rip {:#x}, address {address:#x}, rsp {:#x}",
                                self.tid,
                                self.ctx.rip,
                                self.ctx.rsp
                            );
                        }
                        Some(Ended::Signaled(signal))
                    };
                    if let Some(how) = how {
                        self.group.end(how);
                        break how;
                    }
                }
                UserExit::Interrupted => {
                    // Preempted: a signal from elsewhere may be waiting.
                    if let Some(how) = signal::deliver(self) {
                        self.group.end(how);
                        break how;
                    }
                }
            }
        };
        self.release_memory();
        signal::detach(self);
        self.charge_cpu(false);
        let last = self.group.threads.fetch_sub(1, Ordering::AcqRel) == 1;
        if last {
            self.kernel.record_usage(self.pid(), self.group.usage());
        }
        last.then(|| self.group.ending().unwrap_or(ended))
    }

    /// The thread lets go of its memory, as it ends or calls `execve`
    /// (Linux's `mm_release`): the robust futexes it holds are marked
    /// abandoned, its `CLONE_CHILD_CLEARTID` word is cleared (and a joiner
    /// woken), and a `vfork` parent waiting for it goes on.
    fn release_memory(&mut self) {
        futex::exit_robust_list(self);
        if self.clear_child_tid != 0 {
            let _ = self
                .memory()
                .space
                .write_bytes(self.clear_child_tid, &0u32.to_le_bytes());
            self.kernel
                .futex_wake(self.futex_space(), self.clear_child_tid, 1);
            self.clear_child_tid = 0;
        }
        self.vfork = None;
    }

    /// A new thread of this process (`clone` with `CLONE_THREAD`): same
    /// memory and descriptors, registers copied with a 0 result.
    pub fn new_thread(&self) -> Process {
        self.group.threads.fetch_add(1, Ordering::AcqRel);
        let mut ctx = self.ctx.clone();
        ctx.set_syscall_return(0);
        let tid = self.kernel.new_tid();
        signal::add_thread(&self.group, tid, signal::mask(self));
        self.kernel.add_thread(tid, self.pid());
        Process {
            tid,
            group: self.group.clone(),
            kernel: self.kernel.clone(),
            mm: self.mm.clone(),
            ctx,
            clear_child_tid: 0,
            signals: ThreadSignals::for_thread(),
            vfork: None,
            user_ticks: 0,
            system_ticks: 0,
            cpu_clock: None,
            cpu_mark: 0,
        }
    }

    /// A copy of this process as `fork` makes it: a new pid, a copy of the
    /// address space (the calling thread only) or, if `share_memory`
    /// (`CLONE_VM`), the same memory, the same registers except a 0 result.
    pub fn fork(&self, share_memory: bool) -> Option<Process> {
        let mm = if share_memory {
            self.mm.clone()
        } else {
            let parent = self.memory();
            Arc::new(Mutex::new(Memory {
                space: Arc::new(parent.space.fork()?),
                brk_start: parent.brk_start,
                brk: parent.brk,
                heap_mapped_end: parent.heap_mapped_end,
                mmap_next: parent.mmap_next,
            }))
        };
        let mut ctx = self.ctx.clone();
        ctx.set_syscall_return(0);
        let pid = self.kernel.new_pid(self.pid(), self.tid);
        let fds = self.fds().clone();
        let mut child = Process::first_thread(pid, self.kernel.clone(), mm, fds, ctx);
        *child.group.actions() = self.group.actions().clone();
        signal::set_mask(&child, signal::mask(self));
        child.signals = self.signals.for_fork();
        child.set_cwd(self.cwd());
        child.set_umask(self.umask());
        *child.group.name.lock().unwrap_or_else(|e| e.into_inner()) =
            *self.group.name.lock().unwrap_or_else(|e| e.into_inner());
        let program = self.group.program().clone();
        *child.group.program() = program;
        child.group.dumpable.store(
            self.group.dumpable.load(Ordering::Relaxed),
            Ordering::Relaxed,
        );
        Some(child)
    }

    /// Makes this new process a child of `vfork`: the returned wait ends
    /// when it calls `execve` or ends.
    pub fn vfork(&mut self) -> Arc<Vfork> {
        let vfork = Arc::new(Vfork::default());
        self.vfork = Some(VforkRelease(vfork.clone()));
        vfork
    }

    /// Starts the thread on a task of its own; when the process's last
    /// thread ends, the kernel records how.
    pub fn start(self) {
        const SIGKILL: u8 = 9;
        let pid = self.pid();
        let kernel = self.kernel.clone();
        let on_task = self.kernel.clone();
        let group = self.group.clone();
        let spawned = vessel_std::thread::Builder::new()
            .name(alloc::format!("tid {}", self.tid))
            .spawn(move || {
                if let Some(ended) = self.run() {
                    on_task.exited(pid, ended);
                }
            });
        if spawned.is_err() {
            // No memory for its task: the process dies, as if killed.
            group.end(Ended::Signaled(SIGKILL));
            if group.threads.fetch_sub(1, Ordering::AcqRel) == 1 {
                kernel.exited(pid, Ended::Signaled(SIGKILL));
            }
        }
    }

    /// Replaces the program this process runs (`execve`): a fresh address
    /// space and registers; the pid, the name and the descriptors stay
    /// (close-on-exec ones are closed). The old memory is let go (see
    /// [`Process::release_memory`]: a `vfork` parent goes on); a process
    /// that shared it keeps it. Other threads are not stopped yet.
    pub fn exec(
        &mut self,
        program: &[u8],
        argv: &[String],
        envp: &[String],
    ) -> Result<(), LoadError> {
        let (memory, ctx) = load_image(program, argv, envp, |path| {
            crate::fs::executable(self, path)
        })?;
        // `ru_maxrss` remembers the old image's peak.
        let old_peak = self.group.maxrss_kib();
        self.group.maxrss_kib.fetch_max(old_peak, Ordering::Relaxed);
        self.release_memory();
        self.mm = Arc::new(Mutex::new(memory));
        *self.group.mm.lock().unwrap_or_else(|e| e.into_inner()) = self.mm.clone();
        self.kernel.execed(self.pid());
        self.group.dumpable.store(1, Ordering::Relaxed);
        self.fds().close_on_exec();
        self.ctx = ctx;
        let kept = self.group.actions().after_exec();
        *self.group.actions() = kept;
        self.signals.exec();
        Ok(())
    }
}

// The interpreter's place lies above the kernel's mmap area (mappings it
// places go below MMAP_TOP) and below the stack.
const _: () = assert!(MMAP_TOP <= elf::INTERP_BASE && elf::INTERP_END <= STACK_TOP - STACK_SIZE);

/// Loads `program` (a Linux executable) into a fresh address space with
/// `argv` and `envp` on its stack; returns the memory and the first
/// registers. A dynamically linked program's ELF interpreter is read with
/// `open` (from the file system, as `execve` reads a program) and loaded
/// too: the process starts there.
fn load_image(
    program: &[u8],
    argv: &[String],
    envp: &[String],
    open: impl Fn(&[u8]) -> Result<Vec<u8>, Errno>,
) -> Result<(Memory, UserContext), LoadError> {
    let plan = elf::parse(program).map_err(LoadError::Exec)?;
    let interpreter = match &plan.interpreter {
        None => None,
        Some(path) => {
            let file = open(path).map_err(|errno| LoadError::NoInterpreter(path.clone(), errno))?;
            let interpreter = elf::parse_interpreter(&file, &plan)
                .map_err(|e| LoadError::BadInterpreter(path.clone(), e))?;
            Some((interpreter, file))
        }
    };
    let space = UserSpace::new().ok_or(LoadError::OutOfMemory)?;
    map_image(&space, &plan, program)?;
    if let Some((interpreter, file)) = &interpreter {
        map_image(&space, interpreter, file)?;
    }

    // The stack's pages get frames as they are touched (the arguments'
    // pages at the top right away, as they are written).
    let stack_rights = Access {
        readable: true,
        writable: true,
        executable: plan.exec_stack,
    };
    space
        .reserve(STACK_TOP - STACK_SIZE, STACK_SIZE, stack_rights)
        .map_err(LoadError::Map)?;
    let mut random_bytes = [0u8; 16];
    random::fill(&mut random_bytes);
    let argv: Vec<&[u8]> = argv.iter().map(|a| a.as_bytes()).collect();
    let envp: Vec<&[u8]> = envp.iter().map(|e| e.as_bytes()).collect();
    let execfn = argv.first().copied().unwrap_or(b"program");
    let interpreter = interpreter.map(|(plan, _)| plan);
    let aux = stack::AuxInfo::new(&plan, interpreter.as_ref(), 0, signal::MAX_FRAME_SIZE);
    let image = stack::build(
        STACK_TOP,
        &argv,
        &envp,
        execfn,
        &random_bytes,
        &aux,
        stack::DEFAULT_ARG_LIMIT,
    )
    .map_err(LoadError::Stack)?;
    space
        .write_bytes(image.base, &image.bytes)
        .map_err(LoadError::Copy)?;

    let memory = Memory {
        space: Arc::new(space),
        brk_start: plan.brk_start,
        brk: plan.brk_start,
        heap_mapped_end: plan.brk_start,
        mmap_next: MMAP_TOP,
    };
    let entry = interpreter.map_or(plan.entry, |interpreter| interpreter.entry);
    Ok((memory, UserContext::new(entry, image.rsp)))
}

/// Maps the segments `plan` describes and copies `file`'s bytes in. Pages
/// that hold file bytes get frames now; the pages after them (bss: zeros)
/// are reserved, and get frames when touched.
fn map_image(space: &UserSpace, plan: &LoadPlan, file: &[u8]) -> Result<(), LoadError> {
    // A page shared by two segments gets the union of their rights; it is
    // backed now if either has file bytes in it.
    let mut pages: BTreeMap<u64, (Perms, bool)> = BTreeMap::new();
    for segment in &plan.segments {
        let file_pages = segment.file_page_range();
        for page in segment.page_range().step_by(PAGE_SIZE as usize) {
            let (perms, backed) = pages.entry(page).or_default();
            perms.write |= segment.perms.write;
            perms.exec |= segment.perms.exec;
            *backed |= file_pages.contains(&page);
        }
    }
    // Runs of consecutive pages mapped the same way, one call each.
    let mut runs: Vec<(u64, u64, Perms, bool)> = Vec::new();
    for (&page, &(perms, backed)) in &pages {
        match runs.last_mut() {
            Some((_, end, p, b)) if *end == page && (*p, *b) == (perms, backed) => {
                *end += PAGE_SIZE;
            }
            _ => runs.push((page, page + PAGE_SIZE, perms, backed)),
        }
    }
    for (start, end, perms, backed) in runs {
        let len = end - start;
        let mapped = if backed {
            space.map(start, len, perms.write, perms.exec)
        } else {
            let rights = Access {
                readable: true,
                writable: perms.write,
                executable: perms.exec,
            };
            space.reserve(start, len, rights)
        };
        mapped.map_err(LoadError::Map)?;
    }
    for segment in &plan.segments {
        space
            .load_bytes(segment.vaddr, &file[segment.file_range()])
            .map_err(LoadError::Copy)?;
    }
    Ok(())
}

/// The page-fault exception vector.
const PAGE_FAULT: u8 = 14;
/// `si_code` of a SIGSEGV for an address nothing maps.
const SEGV_MAPERR: i32 = 1;
/// `si_code` of a SIGSEGV for an access the page's rights refuse.
const SEGV_ACCERR: i32 = 2;

/// The signal Linux sends for a CPU exception in user mode.
fn signal_for(vector: u8) -> u8 {
    const SIGILL: u8 = 4;
    const SIGTRAP: u8 = 5;
    const SIGBUS: u8 = 7;
    const SIGFPE: u8 = 8;
    const SIGSEGV: u8 = 11;
    match vector {
        0 | 16 | 19 => SIGFPE,
        1 | 3 => SIGTRAP,
        6 => SIGILL,
        17 => SIGBUS,
        _ => SIGSEGV,
    }
}
