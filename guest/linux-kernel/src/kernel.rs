//! State the processes share: the process table (who is whose child, who
//! has ended and with what status) and the executable files.

use crate::file::FileSystem;
use crate::process::Group;
use crate::signal::{self, Cause};
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::time::Duration;
use vessel_linux::Errno;
use vessel_std::sync::{Condvar, Mutex, MutexGuard};

/// How a process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    /// It called `exit`/`exit_group` with this code (low byte).
    Exited(u8),
    /// A signal's default action killed it.
    Signaled(u8),
}

impl Ended {
    /// The status as a shell reports it: the code, or 128 + the signal.
    pub fn shell_status(self) -> u8 {
        match self {
            Ended::Exited(code) => code,
            Ended::Signaled(signal) => 128 + signal,
        }
    }

    /// The status `wait4` stores (`WEXITSTATUS`/`WTERMSIG` encoding).
    pub fn wait_status(self) -> u32 {
        match self {
            Ended::Exited(code) => u32::from(code) << 8,
            Ended::Signaled(signal) => u32::from(signal),
        }
    }
}

/// The pid of the first process, which other orphans are given to.
pub const INIT_PID: u32 = 1;

/// Resources a process used (`struct rusage`'s meaningful part).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// CPU time in user mode.
    pub user: Duration,
    /// CPU time in the kernel on its behalf.
    pub system: Duration,
    /// The most memory it had mapped at once, in KiB.
    pub maxrss_kib: u64,
}

impl Usage {
    /// What Linux adds up for `RUSAGE_CHILDREN`: times summed, the
    /// largest peak kept.
    pub fn add(&mut self, other: Usage) {
        self.user += other.user;
        self.system += other.system;
        self.maxrss_kib = self.maxrss_kib.max(other.maxrss_kib);
    }
}

/// Which children a wait is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    /// Any child.
    Any,
    /// The child with this pid.
    Pid(u32),
    /// Any child in this process group.
    Group(u32),
}

/// What a wait reports about a child.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// It ended.
    Ended(Ended),
    /// A signal stopped it.
    Stopped(u8),
    /// `SIGCONT` continued it.
    Continued,
}

impl Event {
    /// The status `wait4` stores (`WIFEXITED`/`WIFSIGNALED`/`WIFSTOPPED`/
    /// `WIFCONTINUED` encodings).
    pub fn wait_status(self) -> u32 {
        match self {
            Event::Ended(ended) => ended.wait_status(),
            Event::Stopped(signal) => u32::from(signal) << 8 | 0x7f,
            Event::Continued => 0xffff,
        }
    }
}

/// The events a wait is for (`WEXITED`, `WUNTRACED`/`WSTOPPED`,
/// `WCONTINUED`).
#[derive(Clone, Copy, Debug)]
pub struct WaitFor {
    pub exited: bool,
    pub stopped: bool,
    pub continued: bool,
}

/// What the process table says of one process (for `/proc`).
#[derive(Clone, Copy, Debug)]
pub struct TableEntry {
    /// Its pid.
    pub pid: u32,
    /// Its parent's pid (0 for the first process).
    pub parent: u32,
    /// Its process group.
    pub pgid: u32,
    /// Its session.
    pub sid: u32,
    /// How it ended, if it did (a zombie).
    pub ended: Option<Ended>,
}

/// A child a wait found.
#[derive(Clone, Copy, Debug)]
pub struct Waited {
    /// Its pid.
    pub pid: u32,
    /// What happened to it.
    pub event: Event,
    /// What it and the children it waited for used.
    pub usage: Usage,
}

struct Entry {
    parent: u32,
    /// The thread of the parent that made it (its parent-death signal
    /// comes when that thread ends).
    parent_thread: u32,
    ended: Option<Ended>,
    /// Its process group.
    pgid: u32,
    /// Its session.
    sid: u32,
    /// It has called `execve` (its parent may no longer move it to
    /// another group).
    execed: bool,
    /// What it used, recorded when it ends.
    usage: Usage,
    /// The process, while it runs (for signals sent to it).
    group: Weak<Group>,
    /// It stopped with this signal and its parent has not been told by a
    /// wait yet (`WUNTRACED`).
    stop_report: Option<u8>,
    /// It continued and its parent has not been told yet (`WCONTINUED`).
    continue_report: bool,
}

/// What the table keeps of one running thread.
#[derive(Clone, Copy)]
struct ThreadEntry {
    /// Its process.
    pid: u32,
    /// `prctl(PR_SET_PDEATHSIG)`: sent to its process when the thread
    /// that made that process ends (0: none).
    pdeath_signal: u8,
    /// `set_robust_list`: its list of held robust futexes (0: none).
    robust_list: u64,
}

impl ThreadEntry {
    fn new(pid: u32) -> Self {
        Self {
            pid,
            pdeath_signal: 0,
            robust_list: 0,
        }
    }
}

struct Table {
    next_pid: u32,
    processes: BTreeMap<u32, Entry>,
    /// Every running thread, by thread id.
    threads: BTreeMap<u32, ThreadEntry>,
}

/// Threads waiting on one futex word.
#[derive(Default)]
struct FutexQueue {
    waiters: usize,
    /// Wake-ups granted and not yet taken by a waiter.
    granted: usize,
}

/// A futex word: the process it belongs to and its address there.
type FutexKey = (usize, u64);

/// The kernel's shared state.
pub struct Kernel {
    table: Mutex<Table>,
    /// Signalled whenever a process ends.
    ended: Condvar,
    /// Futex words with waiters.
    futexes: Mutex<BTreeMap<FutexKey, FutexQueue>>,
    /// Signalled whenever a futex is woken.
    futex_woken: Condvar,
    /// Where the program `vessel run` was given lives (and `/proc/self/exe`).
    program_path: String,
    program: &'static [u8],
    /// Report unimplemented system calls.
    pub verbose: bool,
    /// The file system all processes share.
    pub fs: Arc<FileSystem>,
    /// When the kernel started (`sysinfo`'s uptime).
    pub booted: vessel_std::time::Instant,
    /// The processes' interval timers (`alarm`, `setitimer`).
    pub timers: crate::timer::Timers,
}

impl Kernel {
    /// A kernel whose only executable file is `program`, at `program_path`.
    pub fn new(
        program_path: String,
        program: &'static [u8],
        verbose: bool,
        fs: Arc<FileSystem>,
    ) -> Arc<Kernel> {
        Arc::new(Kernel {
            table: Mutex::new(Table {
                next_pid: INIT_PID,
                processes: BTreeMap::new(),
                threads: BTreeMap::new(),
            }),
            ended: Condvar::new(),
            futexes: Mutex::new(BTreeMap::new()),
            futex_woken: Condvar::new(),
            program_path,
            program,
            verbose,
            fs,
            booted: vessel_std::time::Instant::now(),
            timers: crate::timer::Timers::default(),
        })
    }

    fn table(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a new process, child of `parent` made by its thread
    /// `parent_thread`, in its parent's process group and session (the
    /// first process leads a session and a group of its own); returns its
    /// pid.
    pub fn new_pid(&self, parent: u32, parent_thread: u32) -> u32 {
        let mut table = self.table();
        let pid = table.next_pid;
        table.next_pid += 1;
        let (pgid, sid) = table
            .processes
            .get(&parent)
            .map_or((pid, pid), |p| (p.pgid, p.sid));
        table.processes.insert(
            pid,
            Entry {
                parent,
                parent_thread,
                ended: None,
                pgid,
                sid,
                execed: false,
                usage: Usage::default(),
                group: Weak::new(),
                stop_report: None,
                continue_report: false,
            },
        );
        pid
    }

    /// Links pid `pid` to its process, and its first thread to it.
    pub fn attach(&self, pid: u32, group: &Arc<Group>) {
        let mut table = self.table();
        if let Some(entry) = table.processes.get_mut(&pid) {
            entry.group = Arc::downgrade(group);
        }
        table.threads.insert(pid, ThreadEntry::new(pid));
    }

    /// Records that thread `tid` belongs to process `pid`.
    pub fn add_thread(&self, tid: u32, pid: u32) {
        self.table().threads.insert(tid, ThreadEntry::new(pid));
    }

    /// Forgets thread `tid` (it ended). The processes it made go to
    /// another thread of its process or, if it was the last, to the first
    /// process; each of their threads that asked for a parent-death signal
    /// (`PR_SET_PDEATHSIG`) has it sent to its process, as Linux does when
    /// the *thread* that made a process ends.
    pub fn remove_thread(&self, tid: u32) {
        let (pid, signals) = {
            let mut table = self.table();
            let Some(pid) = table.threads.remove(&tid).map(|t| t.pid) else {
                return;
            };
            let (parent, parent_thread) = table
                .threads
                .iter()
                .find(|(_, t)| t.pid == pid)
                .map_or((INIT_PID, INIT_PID), |(&other, _)| (pid, other));
            let mut orphans = Vec::new();
            for (&child, entry) in table.processes.iter_mut() {
                if entry.parent == pid && entry.parent_thread == tid && entry.ended.is_none() {
                    entry.parent = parent;
                    entry.parent_thread = parent_thread;
                    orphans.push((child, entry.group.clone()));
                }
            }
            let mut signals = Vec::new();
            for (child, group) in orphans {
                for thread in table.threads.values().filter(|t| t.pid == child) {
                    if thread.pdeath_signal != 0 {
                        signals.push((group.clone(), thread.pdeath_signal));
                    }
                }
            }
            (pid, signals)
        };
        // Linux's SEND_SIG_NOINFO: SI_USER, from the ending thread's process.
        for (group, signal) in signals {
            if let Some(group) = group.upgrade() {
                signal::send_from_kernel(self, &group, signal, Cause::Kill(pid));
            }
        }
    }

    /// Sets the parent-death signal of thread `tid` (0: none).
    pub fn set_pdeath_signal(&self, tid: u32, signal: u8) {
        if let Some(thread) = self.table().threads.get_mut(&tid) {
            thread.pdeath_signal = signal;
        }
    }

    /// The parent-death signal of thread `tid` (0: none).
    pub fn pdeath_signal(&self, tid: u32) -> u8 {
        self.table()
            .threads
            .get(&tid)
            .map_or(0, |t| t.pdeath_signal)
    }

    /// Sets the robust futex list of thread `tid` (0: none).
    pub fn set_robust_list(&self, tid: u32, head: u64) {
        if let Some(thread) = self.table().threads.get_mut(&tid) {
            thread.robust_list = head;
        }
    }

    /// The robust futex list of thread `tid`: 0 for a thread that has
    /// ended while its process has not been reaped (Linux forgets the list
    /// at the end), `ESRCH` if there is no such thread.
    pub fn robust_list(&self, tid: u32) -> Result<u64, Errno> {
        let table = self.table();
        match table.threads.get(&tid) {
            Some(thread) => Ok(thread.robust_list),
            None if table.processes.contains_key(&tid) => Ok(0),
            None => Err(Errno::ESRCH),
        }
    }

    /// The process `pid` names, for a signal: `Ok(None)` if it has ended
    /// (a zombie, which takes signals and ignores them), `ESRCH` if there
    /// is no such process. A thread id names its process, as on Linux.
    pub fn process(&self, pid: u32) -> Result<Option<Arc<Group>>, Errno> {
        let table = self.table();
        let pid = match table.processes.contains_key(&pid) {
            true => pid,
            false => table.threads.get(&pid).ok_or(Errno::ESRCH)?.pid,
        };
        let entry = table.processes.get(&pid).ok_or(Errno::ESRCH)?;
        Ok(entry.group.upgrade().filter(|_| entry.ended.is_none()))
    }

    /// The running thread `tid`: its process id and its process.
    pub fn thread(&self, tid: u32) -> Option<(u32, Arc<Group>)> {
        let table = self.table();
        let pid = table.threads.get(&tid)?.pid;
        let group = table.processes.get(&pid)?.group.upgrade()?;
        Some((pid, group))
    }

    /// The processes (and zombies) of process group `pgid`.
    pub fn group_members(&self, pgid: u32) -> Vec<u32> {
        let table = self.table();
        table
            .processes
            .iter()
            .filter(|(_, e)| e.pgid == pgid)
            .map(|(pid, _)| *pid)
            .collect()
    }

    /// Every process (and zombie).
    pub fn all_processes(&self) -> Vec<u32> {
        self.table().processes.keys().copied().collect()
    }

    /// Whether the process group of `pid` is orphaned: no member has a
    /// parent in another group of the same session (so nobody could
    /// continue it after a terminal's stop signal).
    pub fn orphaned_group(&self, pid: u32) -> bool {
        let table = self.table();
        let Some(pgid) = table.processes.get(&pid).map(|e| e.pgid) else {
            return true;
        };
        !table.processes.values().any(|e| {
            e.pgid == pgid
                && e.ended.is_none()
                && table
                    .processes
                    .get(&e.parent)
                    .is_some_and(|parent| parent.pgid != pgid && parent.sid == e.sid)
        })
    }

    /// Records that `pid` stopped with `signal`: its parent's waits
    /// (`WUNTRACED`) and `SIGCHLD` (`CLD_STOPPED`) hear of it.
    pub fn child_stopped(&self, pid: u32, signal: u8) {
        const CLD_STOPPED: i32 = 5;
        let parent = {
            let mut table = self.table();
            let Some(entry) = table.processes.get_mut(&pid) else {
                return;
            };
            entry.stop_report = Some(signal);
            entry.continue_report = false;
            let parent = entry.parent;
            table.processes.get(&parent).and_then(|e| e.group.upgrade())
        };
        self.ended.notify_all();
        self.tell_parent_of_stop(parent, pid, CLD_STOPPED, i32::from(signal));
    }

    /// Records that `pid` continued: its parent's waits (`WCONTINUED`)
    /// and `SIGCHLD` (`CLD_CONTINUED`) hear of it.
    pub fn child_continued(&self, pid: u32) {
        const CLD_CONTINUED: i32 = 6;
        let parent = {
            let mut table = self.table();
            let Some(entry) = table.processes.get_mut(&pid) else {
                return;
            };
            entry.stop_report = None;
            entry.continue_report = true;
            let parent = entry.parent;
            table.processes.get(&parent).and_then(|e| e.group.upgrade())
        };
        self.ended.notify_all();
        self.tell_parent_of_stop(parent, pid, CLD_CONTINUED, i32::from(signal::SIGCONT));
    }

    /// `SIGCHLD` for a child that stopped or continued, unless the parent
    /// asked not to hear (`SA_NOCLDSTOP`).
    fn tell_parent_of_stop(&self, parent: Option<Arc<Group>>, pid: u32, code: i32, status: i32) {
        if let Some(parent) = parent
            && !signal::child_policy(&parent).no_stop_signal
        {
            let cause = Cause::Child { pid, code, status };
            signal::send_from_kernel(self, &parent, signal::SIGCHLD, cause);
        }
    }

    /// Whether process group `pgid` has a member that has not ended.
    pub fn group_exists(&self, pgid: u32) -> bool {
        self.table()
            .processes
            .values()
            .any(|e| e.pgid == pgid && e.ended.is_none())
    }

    /// The process group of `pid` (`getpgid`): `ESRCH` if there is no
    /// such process.
    pub fn pgid(&self, pid: u32) -> Result<u32, Errno> {
        let table = self.table();
        table
            .processes
            .get(&pid)
            .map(|e| e.pgid)
            .ok_or(Errno::ESRCH)
    }

    /// The session of `pid` (`getsid`): `ESRCH` if there is no such process.
    pub fn sid(&self, pid: u32) -> Result<u32, Errno> {
        let table = self.table();
        table.processes.get(&pid).map(|e| e.sid).ok_or(Errno::ESRCH)
    }

    /// `setpgid(pid, pgid)` made by `caller` (both already resolved from
    /// 0), with Linux's checks in Linux's order.
    pub fn set_pgid(&self, caller: u32, pid: u32, pgid: u32) -> Result<(), Errno> {
        let mut table = self.table();
        let (caller_sid, target) = {
            let me = table.processes.get(&caller).ok_or(Errno::ESRCH)?;
            let target = table.processes.get(&pid).ok_or(Errno::ESRCH)?;
            (me.sid, target)
        };
        if pid != caller {
            if target.parent != caller {
                return Err(Errno::ESRCH);
            }
            if target.sid != caller_sid {
                return Err(Errno::EPERM);
            }
            if target.execed {
                return Err(Errno::EACCES);
            }
        }
        if target.sid == pid {
            // A session leader cannot move.
            return Err(Errno::EPERM);
        }
        if pgid != pid
            && !table
                .processes
                .values()
                .any(|e| e.pgid == pgid && e.sid == caller_sid)
        {
            // Only into a group that exists in the caller's session.
            return Err(Errno::EPERM);
        }
        if let Some(entry) = table.processes.get_mut(&pid) {
            entry.pgid = pgid;
        }
        Ok(())
    }

    /// `setsid()` made by `pid`: a new session and group led by it;
    /// `EPERM` if a process group with its id exists already.
    pub fn set_sid(&self, pid: u32) -> Result<u32, Errno> {
        let mut table = self.table();
        if table.processes.values().any(|e| e.pgid == pid) {
            return Err(Errno::EPERM);
        }
        let entry = table.processes.get_mut(&pid).ok_or(Errno::ESRCH)?;
        entry.sid = pid;
        entry.pgid = pid;
        Ok(pid)
    }

    /// Records that `pid` called `execve`.
    pub fn execed(&self, pid: u32) {
        if let Some(entry) = self.table().processes.get_mut(&pid) {
            entry.execed = true;
        }
    }

    /// Records what `pid` used, as it ends (before [`Kernel::exited`]).
    pub fn record_usage(&self, pid: u32, usage: Usage) {
        if let Some(entry) = self.table().processes.get_mut(&pid) {
            entry.usage = usage;
        }
    }

    /// A new thread id (from the pid space, as on Linux; threads are not
    /// processes, so `wait4` never sees them).
    pub fn new_tid(&self) -> u32 {
        let mut table = self.table();
        let tid = table.next_pid;
        table.next_pid += 1;
        tid
    }

    /// Waits until process `pid` has ended, without reaping it.
    pub fn wait_for_end(&self, pid: u32) -> Ended {
        let mut table = self.table();
        loop {
            if let Some(Some(how)) = table.processes.get(&pid).map(|e| e.ended) {
                return how;
            }
            table = self.ended.wait(table).unwrap_or_else(|e| e.into_inner());
        }
    }

    fn futexes(&self) -> MutexGuard<'_, BTreeMap<FutexKey, FutexQueue>> {
        self.futexes.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `FUTEX_WAIT`: sleeps on the futex `(space, addr)` if `still_expected()`
    /// (checked under the futex lock, so no wake-up is lost) until woken or
    /// until `deadline`. `EAGAIN` if the word had changed, `ETIMEDOUT` at the
    /// deadline, `ERESTART` if a signal interrupts it; spurious returns are
    /// allowed, as on Linux.
    pub fn futex_wait(
        &self,
        key: FutexKey,
        still_expected: impl FnOnce() -> Result<bool, Errno>,
        deadline: Option<vessel_std::time::Instant>,
    ) -> Result<(), Errno> {
        let mut futexes = self.futexes();
        if !still_expected()? {
            return Err(Errno::EAGAIN);
        }
        futexes.entry(key).or_default().waiters += 1;
        let result = loop {
            let queue = futexes.get_mut(&key).expect("a waiter keeps its queue");
            if queue.granted > 0 {
                queue.granted -= 1;
                break Ok(());
            }
            if signal::pending() {
                break Err(Errno::ERESTART);
            }
            match deadline {
                None => {
                    futexes = self
                        .futex_woken
                        .wait_interruptible(futexes)
                        .unwrap_or_else(|e| e.into_inner());
                }
                Some(deadline) => {
                    let now = vessel_std::time::Instant::now();
                    if now >= deadline {
                        break Err(Errno::ETIMEDOUT);
                    }
                    let (guard, _) = self
                        .futex_woken
                        .wait_timeout_interruptible(futexes, deadline - now)
                        .unwrap_or_else(|e| e.into_inner());
                    futexes = guard;
                }
            }
        };
        let queue = futexes.get_mut(&key).expect("a waiter keeps its queue");
        queue.waiters -= 1;
        if queue.waiters == 0 {
            futexes.remove(&key);
        }
        result
    }

    /// `FUTEX_WAKE`: wakes up to `count` waiters of `(space, addr)`;
    /// returns how many.
    pub fn futex_wake(&self, space: usize, addr: u64, count: u32) -> usize {
        let mut futexes = self.futexes();
        let Some(queue) = futexes.get_mut(&(space, addr)) else {
            return 0;
        };
        let woken = (queue.waiters - queue.granted).min(count as usize);
        queue.granted += woken;
        drop(futexes);
        if woken > 0 {
            self.futex_woken.notify_all();
        }
        woken
    }

    /// Processes that exist (running, or ended and not yet reaped).
    pub fn process_count(&self) -> usize {
        self.table().processes.len()
    }

    /// The parent of `pid` (0 for the first process).
    pub fn parent_of(&self, pid: u32) -> u32 {
        self.table().processes.get(&pid).map_or(0, |e| e.parent)
    }

    /// What the table says of process `pid` (running, or ended and not
    /// reaped), for `/proc`.
    pub fn table_entry(&self, pid: u32) -> Option<TableEntry> {
        let table = self.table();
        let e = table.processes.get(&pid)?;
        Some(TableEntry {
            pid,
            parent: e.parent,
            pgid: e.pgid,
            sid: e.sid,
            ended: e.ended,
        })
    }

    /// The shared state of process `pid`, while it has one (until it
    /// ended and its last thread let go).
    pub fn group(&self, pid: u32) -> Option<Arc<Group>> {
        self.table().processes.get(&pid)?.group.upgrade()
    }

    /// The last pid (or thread id) given out.
    pub fn last_pid(&self) -> u32 {
        self.table().next_pid - 1
    }

    /// Records that `pid` ended; its children go to the first process. Its
    /// parent gets `SIGCHLD` (`CLD_EXITED` or `CLD_KILLED`), unless it
    /// ignores it; if it ignores it or asked for `SA_NOCLDWAIT`, the child
    /// is reaped at once instead of staying a zombie.
    pub fn exited(&self, pid: u32, how: Ended) {
        const CLD_EXITED: i32 = 1;
        const CLD_KILLED: i32 = 2;
        let parent = {
            let mut table = self.table();
            let mut parent = 0;
            if let Some(entry) = table.processes.get_mut(&pid) {
                entry.ended = Some(how);
                entry.stop_report = None;
                entry.continue_report = false;
                parent = entry.parent;
            }
            for entry in table.processes.values_mut() {
                if entry.parent == pid {
                    entry.parent = INIT_PID;
                    entry.parent_thread = INIT_PID;
                }
            }
            table.processes.get(&parent).and_then(|e| e.group.upgrade())
        };
        self.timers.cancel(pid);
        if let Some(parent) = parent {
            let policy = signal::child_policy(&parent);
            if policy.ignored || policy.no_zombies {
                self.table().processes.remove(&pid);
            }
            if !policy.ignored {
                let (code, status) = match how {
                    Ended::Exited(code) => (CLD_EXITED, i32::from(code)),
                    Ended::Signaled(signal) => (CLD_KILLED, i32::from(signal)),
                };
                let cause = Cause::Child { pid, code, status };
                signal::send_from_kernel(self, &parent, signal::SIGCHLD, cause);
            }
        }
        self.ended.notify_all();
    }

    /// Waits for a child of `parent` that `which` selects to end (or to
    /// stop or continue, as `wait_for` says) and, if `reap`, reaps an
    /// ended one (else it stays waitable, `WNOWAIT`; a stop or continue
    /// is reported once unless `WNOWAIT`). `Ok(None)` if `nohang` and
    /// nothing happened yet; `ECHILD` if no child is selected; `ERESTART`
    /// if a signal interrupts the wait.
    pub fn wait(
        &self,
        parent: u32,
        which: Which,
        nohang: bool,
        reap: bool,
        wait_for: WaitFor,
    ) -> Result<Option<Waited>, Errno> {
        let matches = |pid: u32, e: &Entry| {
            e.parent == parent
                && match which {
                    Which::Any => true,
                    Which::Pid(wanted) => pid == wanted,
                    Which::Group(pgid) => e.pgid == pgid,
                }
        };
        let mut table = self.table();
        loop {
            let found = table
                .processes
                .iter_mut()
                .filter(|(pid, e)| matches(**pid, e))
                .find_map(|(pid, e)| {
                    let event = match e.ended {
                        Some(ended) if wait_for.exited => Event::Ended(ended),
                        Some(_) => return None,
                        None if wait_for.stopped && e.stop_report.is_some() => {
                            let signal = e.stop_report?;
                            if reap {
                                e.stop_report = None;
                            }
                            Event::Stopped(signal)
                        }
                        None if wait_for.continued && e.continue_report => {
                            if reap {
                                e.continue_report = false;
                            }
                            Event::Continued
                        }
                        None => return None,
                    };
                    Some((*pid, event, e.usage, e.group.clone()))
                });
            if let Some((pid, event, usage, group)) = found {
                if reap && matches!(event, Event::Ended(_)) {
                    table.processes.remove(&pid);
                }
                drop(table);
                // A child still running reports what it used so far.
                let usage = group.upgrade().map_or(usage, |g| g.usage());
                return Ok(Some(Waited { pid, event, usage }));
            }
            let waiting_for_any = table.processes.iter().any(|(pid, e)| matches(*pid, e));
            if !waiting_for_any {
                return Err(Errno::ECHILD);
            }
            if nohang {
                return Ok(None);
            }
            if signal::pending() {
                return Err(Errno::ERESTART);
            }
            table = self
                .ended
                .wait_interruptible(table)
                .unwrap_or_else(|e| e.into_inner());
        }
    }

    /// The program `vessel run` was given, if `path` names it (by the path
    /// it was given as; `/proc/PID/exe` is resolved before); other
    /// executables are files of the file system.
    pub fn given_program(&self, path: &[u8]) -> Option<&'static [u8]> {
        (path == self.program_path.as_bytes()).then_some(self.program)
    }

    /// The path the program `vessel run` was given as.
    pub fn program_path(&self) -> &str {
        &self.program_path
    }
}
