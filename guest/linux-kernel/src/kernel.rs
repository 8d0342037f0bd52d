//! State the processes share: the process table (who is whose child, who
//! has ended and with what status) and the executable files.

use crate::file::FileSystem;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::Arc;
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

/// A child a wait found.
#[derive(Clone, Copy, Debug)]
pub struct Waited {
    /// Its pid.
    pub pid: u32,
    /// How it ended.
    pub ended: Ended,
    /// What it and the children it waited for used.
    pub usage: Usage,
}

struct Entry {
    parent: u32,
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
}

struct Table {
    next_pid: u32,
    processes: BTreeMap<u32, Entry>,
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
            }),
            ended: Condvar::new(),
            futexes: Mutex::new(BTreeMap::new()),
            futex_woken: Condvar::new(),
            program_path,
            program,
            verbose,
            fs,
            booted: vessel_std::time::Instant::now(),
        })
    }

    fn table(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a new process, child of `parent`, in its parent's
    /// process group and session (the first process leads a session and
    /// a group of its own); returns its pid.
    pub fn new_pid(&self, parent: u32) -> u32 {
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
                ended: None,
                pgid,
                sid,
                execed: false,
                usage: Usage::default(),
            },
        );
        pid
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
    /// deadline; spurious returns are allowed, as on Linux.
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
            match deadline {
                None => {
                    futexes = self
                        .futex_woken
                        .wait(futexes)
                        .unwrap_or_else(|e| e.into_inner());
                }
                Some(deadline) => {
                    let now = vessel_std::time::Instant::now();
                    if now >= deadline {
                        break Err(Errno::ETIMEDOUT);
                    }
                    let (guard, _) = self
                        .futex_woken
                        .wait_timeout(futexes, deadline - now)
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

    /// Records that `pid` ended; its children go to the first process.
    pub fn exited(&self, pid: u32, how: Ended) {
        let mut table = self.table();
        if let Some(entry) = table.processes.get_mut(&pid) {
            entry.ended = Some(how);
        }
        for entry in table.processes.values_mut() {
            if entry.parent == pid {
                entry.parent = INIT_PID;
            }
        }
        drop(table);
        self.ended.notify_all();
    }

    /// Waits for a child of `parent` that `which` selects to end and, if
    /// `reap`, reaps it (else it stays waitable, `WNOWAIT`). Ended children
    /// count only if `exited` (`WEXITED`; without it nothing else can be
    /// waited for yet, so the wait lasts as long as the children do).
    /// `Ok(None)` if `nohang` and none has ended yet; `ECHILD` if no child
    /// is selected.
    pub fn wait(
        &self,
        parent: u32,
        which: Which,
        nohang: bool,
        reap: bool,
        exited: bool,
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
            let ended = table
                .processes
                .iter()
                .filter(|_| exited)
                .find(|(pid, e)| matches(**pid, e) && e.ended.is_some())
                .and_then(|(pid, e)| {
                    e.ended.map(|ended| Waited {
                        pid: *pid,
                        ended,
                        usage: e.usage,
                    })
                });
            if let Some(waited) = ended {
                if reap {
                    table.processes.remove(&waited.pid);
                }
                return Ok(Some(waited));
            }
            let waiting_for_any = table.processes.iter().any(|(pid, e)| matches(*pid, e));
            if !waiting_for_any {
                return Err(Errno::ECHILD);
            }
            if nohang {
                return Ok(None);
            }
            table = self.ended.wait(table).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// The program `vessel run` was given, if `path` names it (by the path
    /// it was given as, or `/proc/self/exe`); other executables are files
    /// of the file system.
    pub fn given_program(&self, path: &[u8]) -> Option<&'static [u8]> {
        (path == self.program_path.as_bytes() || path == b"/proc/self/exe").then_some(self.program)
    }

    /// The path the program `vessel run` was given as.
    pub fn program_path(&self) -> &str {
        &self.program_path
    }
}
