//! The system calls of one process: decoding arguments from the registers,
//! checking every user pointer (a bad one is `EFAULT`, never a kernel
//! fault), and the Linux return convention (`-errno` on failure).
//!
//! What each call supports is listed in `vessel_linux::support`, from which
//! the published coverage table is generated; this module implements it.

use crate::file::{self, File};
use crate::kernel::Ended;
use crate::process::{LoadError, Process};
use crate::random;
use crate::signal::{self, Cause};
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use vessel_linux::{Errno, PAGE_SIZE, SysResult, Sysno, errno};
use vessel_std::eprintln;
use vessel_std::os::user::{Access, Fault, MapError};
use vessel_std::time::{SystemTime, UNIX_EPOCH};

/// Largest single read of user memory for a `write` (longer writes are
/// short writes, as Linux allows).
const MAX_IO: u64 = 1 << 20;

/// `AT_EMPTY_PATH`: a `*at` call about the descriptor itself.
const AT_EMPTY_PATH: u64 = 0x1000;

/// A bad user address in a system call's arguments.
fn efault(_: Fault) -> Errno {
    Errno::EFAULT
}

/// What a system call ended.
pub enum Stop {
    /// The calling thread (`exit`), with this code.
    Thread(u8),
    /// The whole process (`exit_group`, a fatal signal).
    Process(Ended),
}

/// Serves the system call the thread just made. Says what it ended, if
/// anything.
pub fn dispatch(p: &mut Process) -> Option<Stop> {
    let (number, a) = p.ctx.syscall_args();
    let result = match number {
        0 => read(p, a[0], a[1], a[2]),
        1 => write(p, a[0], a[1], a[2]),
        9 => mmap(p, a[0], a[1], a[2], a[3], a[4] as i64),
        10 => mprotect(p, a[0], a[1], a[2]),
        11 => munmap(p, a[0], a[1]),
        99 => sysinfo(p, a[0]),
        12 => Ok(brk(p, a[0]) as usize),
        13 => signal::sigaction(p, a[0], a[1], a[2], a[3]),
        14 => signal::sigprocmask(p, a[0], a[1], a[2], a[3]),
        15 => return signal::sigreturn(p).map(Stop::Process),
        16 => ioctl(p, a[0]),
        20 => writev(p, a[0], a[1], a[2]),
        39 => Ok(p.pid() as usize),
        186 => Ok(p.tid as usize), // gettid
        110 => Ok(p.kernel.parent_of(p.pid()) as usize),
        202 => futex(p, a[0], a[1], a[2], a[3], a[5]),
        57 | 58 => fork(p), // fork, vfork (a full copy either way)
        56 => clone(p, a[0], a[1], a[2], a[3], a[4]),
        59 => execve(p, a[0], a[1], a[2]),
        // pid_t arguments are C ints: only the low 32 bits count.
        61 => wait4(p, i64::from(a[0] as i32), a[1], a[2]),
        102 | 104 | 107 | 108 => Ok(0), // getuid, getgid, geteuid, getegid: root
        60 => return Some(Stop::Thread((a[0] & 0xff) as u8)),
        231 => return Some(Stop::Process(Ended::Exited((a[0] & 0xff) as u8))),
        63 => uname(p, a[0]),
        158 => arch_prctl(p, a[0], a[1]),
        218 => {
            p.clear_child_tid = a[0]; // set_tid_address
            Ok(p.tid as usize)
        }
        228 => clock_gettime(p, a[0], a[1]),
        318 => getrandom(p, a[0], a[1]),
        5 => fstat(p, a[0], a[1]),
        24 => {
            vessel_std::thread::yield_now(); // sched_yield
            Ok(0)
        }
        35 => nanosleep(p, a[0]),
        72 => fcntl(p, a[0], a[1], a[2]),
        79 => getcwd(p, a[0], a[1]),
        89 => Err(Errno::ENOENT), // readlink: no file system yet
        157 => prctl(p, a[0], a[1]),
        201 => time(p, a[0]),
        204 => sched_getaffinity(p, a[1], a[2]),
        230 => clock_nanosleep(p, a[1], a[2]),
        2 => open(p, a[0], a[1]),
        257 => open(p, a[1], a[2]), // openat: paths are absolute here
        262 => newfstatat(p, a[0], a[1], a[2], a[3]),
        273 => Ok(0), // set_robust_list: recorded nowhere (one thread)
        7 => poll(p, a[0], a[1]),
        3 => p.fds().close(a[0]).map(|()| 0),
        8 => p.fds().get(a[0]).and(Err(Errno::ESPIPE)), // lseek: pipes and consoles
        22 => pipe2(p, a[0], 0),
        293 => pipe2(p, a[0], a[1]),
        32 => {
            let file = p.fds().get(a[0]);
            file.and_then(|f| p.fds().add(f, false, 0))
        }
        33 => dup2(p, a[0], a[1]),
        292 => dup3(p, a[0], a[1], a[2]),
        131 => sigaltstack(p, a[1]),
        62 | 200 | 234 => {
            // kill(pid, sig), tkill(tid, sig), tgkill(tgid, tid, sig):
            // only the process itself.
            let (target, signal) = if number == 234 {
                (a[1], a[2])
            } else {
                (a[0], a[1])
            };
            signal_self(p, target, signal).map(|raised| {
                if let Some(signal) = raised {
                    let pid = p.pid();
                    let cause = if number == 62 {
                        Cause::Kill(pid)
                    } else {
                        Cause::Tkill(pid)
                    };
                    signal::raise(p, signal, cause);
                }
                0
            })
        }
        302 => prlimit64(p, a[0], a[1], a[2], a[3]),
        _ => {
            // The published table must agree with this match.
            debug_assert!(!vessel_linux::support::is_implemented(number));
            report_unimplemented(p, number);
            Err(Errno::ENOSYS)
        }
    };
    if result == Err(Errno::EPIPE) {
        // Writing to a pipe nobody reads also raises SIGPIPE.
        signal::raise(p, signal::SIGPIPE, Cause::Kernel);
    }
    p.ctx.set_syscall_return(errno::to_ret(result) as u64);
    signal::deliver(p).map(Stop::Process)
}

/// Logs an unimplemented call once, by name, when the kernel is verbose.
fn report_unimplemented(p: &mut Process, number: u64) {
    let first_time = p
        .group
        .reported
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(number);
    if p.kernel.verbose && first_time {
        match Sysno::from_number(number) {
            Some(sysno) => eprintln!("vessel-linux: unimplemented system call {sysno} ({number})"),
            None => eprintln!("vessel-linux: unknown system call number {number}"),
        }
    }
}

/// Reads from a descriptor: the console input (the host's standard input)
/// or a pipe.
fn read(p: &mut Process, fd: u64, buf: u64, len: u64) -> SysResult {
    let file = p.fds().get(fd)?;
    let want = len.min(MAX_IO) as usize;
    if want == 0 {
        return Ok(0);
    }
    // Check the destination before consuming input that could not be
    // delivered.
    p.memory()
        .space
        .write_bytes(buf, &vec![0u8; want])
        .map_err(efault)?;
    let bytes = file.read(want)?;
    p.memory().space.write_bytes(buf, &bytes).map_err(efault)?;
    Ok(bytes.len())
}

fn write(p: &Process, fd: u64, buf: u64, len: u64) -> SysResult {
    let file = p.fds().get(fd)?;
    let len = len.min(MAX_IO);
    let mut bytes = vec![0u8; len as usize];
    p.memory()
        .space
        .read_bytes(buf, &mut bytes)
        .map_err(efault)?;
    file.write(&bytes)
}

fn writev(p: &Process, fd: u64, iov: u64, count: u64) -> SysResult {
    const IOV_MAX: u64 = 1024;
    if count > IOV_MAX {
        return Err(Errno::EINVAL);
    }
    // Gather first, then write once: a pipe sees one write, as on Linux.
    let mut bytes = Vec::new();
    for i in 0..count {
        let mut entry = [0u8; 16];
        p.memory()
            .space
            .read_bytes(iov.wrapping_add(i * 16), &mut entry)
            .map_err(efault)?;
        let base = u64::from_le_bytes(entry[..8].try_into().unwrap_or_default());
        let len = u64::from_le_bytes(entry[8..].try_into().unwrap_or_default());
        if bytes.len() as u64 + len > MAX_IO {
            return Err(Errno::EINVAL);
        }
        let start = bytes.len();
        bytes.resize(start + len as usize, 0);
        p.memory()
            .space
            .read_bytes(base, &mut bytes[start..])
            .map_err(efault)?;
    }
    p.fds().get(fd)?.write(&bytes)
}

/// No descriptor is a terminal here (the console is like a pipe).
fn ioctl(p: &Process, fd: u64) -> SysResult {
    p.fds().get(fd)?;
    Err(Errno::ENOTTY)
}

fn pipe2(p: &mut Process, fds: u64, flags: u64) -> SysResult {
    const O_NONBLOCK: u64 = 0o4000;
    const O_CLOEXEC: u64 = 0o2_000_000;
    if flags & !(O_NONBLOCK | O_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    // Check the destination first: no descriptors leak on EFAULT.
    p.memory()
        .space
        .write_bytes(fds, &[0u8; 8])
        .map_err(efault)?;
    let (read_end, write_end) = file::pipe(flags & O_NONBLOCK != 0);
    let cloexec = flags & O_CLOEXEC != 0;
    let read_fd = p.fds().add(Arc::new(read_end), cloexec, 0)?;
    let write_fd = match p.fds().add(Arc::new(write_end), cloexec, 0) {
        Ok(fd) => fd,
        Err(e) => {
            let _ = p.fds().close(read_fd as u64);
            return Err(e);
        }
    };
    let mut pair = [0u8; 8];
    pair[..4].copy_from_slice(&(read_fd as u32).to_le_bytes());
    pair[4..].copy_from_slice(&(write_fd as u32).to_le_bytes());
    p.memory().space.write_bytes(fds, &pair).map_err(efault)?;
    Ok(0)
}

fn dup3(p: &mut Process, old: u64, new: u64, flags: u64) -> SysResult {
    const O_CLOEXEC: u64 = 0o2_000_000;
    if old == new || flags & !O_CLOEXEC != 0 {
        return Err(Errno::EINVAL);
    }
    p.fds().dup_to(old, new, flags & O_CLOEXEC != 0)
}

fn dup2(p: &mut Process, old: u64, new: u64) -> SysResult {
    if old == new {
        p.fds().get(old)?;
        return Ok(new as usize);
    }
    p.fds().dup_to(old, new, false)
}

/// Moves the program break; returns the (possibly unchanged) break.
fn brk(p: &mut Process, requested: u64) -> u64 {
    let mut memory = p.memory();
    let m = &mut *memory;
    if requested < m.brk_start || requested > m.mmap_next {
        return m.brk;
    }
    let needed = vessel_linux::elf::page_up(requested);
    if needed > m.heap_mapped_end {
        let len = needed - m.heap_mapped_end;
        if m.space.map(m.heap_mapped_end, len, true, false).is_err() {
            return m.brk;
        }
        m.heap_mapped_end = needed;
    }
    m.brk = requested;
    m.brk
}

/// Anonymous private mappings only, placed top-down below `MMAP_TOP`.
fn mmap(p: &mut Process, addr: u64, len: u64, prot: u64, flags: u64, fd: i64) -> SysResult {
    const PROT_WRITE: u64 = 2;
    const PROT_EXEC: u64 = 4;
    const MAP_PRIVATE: u64 = 0x02;
    const MAP_FIXED: u64 = 0x10;
    const MAP_ANONYMOUS: u64 = 0x20;
    if len == 0 || flags & (MAP_PRIVATE | MAP_ANONYMOUS) != MAP_PRIVATE | MAP_ANONYMOUS || fd != -1
    {
        return Err(Errno::EINVAL);
    }
    if flags & MAP_FIXED != 0 || addr != 0 && !addr.is_multiple_of(PAGE_SIZE) {
        return Err(Errno::EINVAL);
    }
    let len = vessel_linux::elf::page_up(len);
    let mut memory = p.memory();
    let m = &mut *memory;
    // Below the lowest mapping so far; a range found in use (the cursor
    // is a hint, the page tables are the truth) is skipped.
    let mut top = m.mmap_next;
    let start = loop {
        let start = top
            .checked_sub(len)
            .filter(|&s| s > m.heap_mapped_end)
            .ok_or(Errno::ENOMEM)?;
        match m
            .space
            .map(start, len, prot & PROT_WRITE != 0, prot & PROT_EXEC != 0)
        {
            Ok(()) => break start,
            Err(MapError::AlreadyMapped) => top = start,
            Err(_) => return Err(Errno::ENOMEM),
        }
    };
    if prot & (PROT_READ | PROT_WRITE | PROT_EXEC) == 0 {
        // PROT_NONE (guard regions): mapped, but no user access.
        m.space
            .protect(start, len, access(prot))
            .map_err(|_| Errno::ENOMEM)?;
    }
    m.mmap_next = start; // start <= top <= the old cursor
    Ok(start as usize)
}

const PROT_READ: u64 = 1;

/// The access rights `prot` (`PROT_*`) asks for.
fn access(prot: u64) -> Access {
    Access {
        readable: prot & PROT_READ != 0,
        writable: prot & 2 != 0,
        executable: prot & 4 != 0,
    }
}

/// Changes the access rights of mapped pages.
fn mprotect(p: &mut Process, addr: u64, len: u64, prot: u64) -> SysResult {
    if !addr.is_multiple_of(PAGE_SIZE) || prot & !7 != 0 {
        return Err(Errno::EINVAL);
    }
    if len == 0 {
        return Ok(0);
    }
    p.memory()
        .space
        .protect(addr, len, access(prot))
        .map_err(|e| match e {
            MapError::BadRange => Errno::ENOMEM,
            _ => Errno::EINVAL,
        })?;
    Ok(0)
}

fn arch_prctl(p: &mut Process, code: u64, addr: u64) -> SysResult {
    const ARCH_SET_FS: u64 = 0x1002;
    const ARCH_GET_FS: u64 = 0x1003;
    match code {
        ARCH_SET_FS if addr < vessel_std::os::user::USER_END => {
            p.ctx.fs_base = addr;
            Ok(0)
        }
        ARCH_SET_FS => Err(Errno::EPERM),
        ARCH_GET_FS => {
            let fs = p.ctx.fs_base.to_le_bytes();
            p.memory().space.write_bytes(addr, &fs).map_err(efault)?;
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

fn uname(p: &mut Process, buf: u64) -> SysResult {
    const FIELD: usize = 65;
    let fields: [&[u8]; 6] = [
        b"Linux",
        b"vessel",
        b"6.1.0-vessel",
        b"#1 Vessel",
        b"x86_64",
        b"(none)",
    ];
    let mut utsname = [0u8; FIELD * 6];
    for (i, field) in fields.iter().enumerate() {
        utsname[i * FIELD..i * FIELD + field.len()].copy_from_slice(field);
    }
    p.memory()
        .space
        .write_bytes(buf, &utsname)
        .map_err(efault)?;
    Ok(0)
}

fn clock_gettime(p: &mut Process, clock: u64, ts: u64) -> SysResult {
    const CLOCK_REALTIME: u64 = 0;
    const CLOCK_MONOTONIC: u64 = 1;
    let now = match clock {
        CLOCK_REALTIME => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default(),
        CLOCK_MONOTONIC => p.group.started.elapsed(),
        _ => return Err(Errno::EINVAL),
    };
    let mut timespec = [0u8; 16];
    timespec[..8].copy_from_slice(&now.as_secs().to_le_bytes());
    timespec[8..].copy_from_slice(&u64::from(now.subsec_nanos()).to_le_bytes());
    p.memory()
        .space
        .write_bytes(ts, &timespec)
        .map_err(efault)?;
    Ok(0)
}

fn getrandom(p: &mut Process, buf: u64, len: u64) -> SysResult {
    let len = len.min(MAX_IO);
    let mut bytes = vec![0u8; len as usize];
    random::fill(&mut bytes);
    p.memory().space.write_bytes(buf, &bytes).map_err(efault)?;
    Ok(len as usize)
}

/// The `struct stat` of an open file: a character device for the console
/// streams, a FIFO for pipes.
fn file_stat(file: &File) -> [u8; 144] {
    let mut stat = [0u8; 144];
    stat[16..20].copy_from_slice(&1u32.to_le_bytes()); // st_nlink (low half)
    stat[24..28].copy_from_slice(&file.mode().to_le_bytes()); // st_mode
    stat[40..48].copy_from_slice(&file.rdev().to_le_bytes()); // st_rdev
    stat[56..64].copy_from_slice(&4096u64.to_le_bytes()); // st_blksize
    stat
}

fn fstat(p: &mut Process, fd: u64, buf: u64) -> SysResult {
    let file = p.fds().get(fd)?;
    p.memory()
        .space
        .write_bytes(buf, &file_stat(&file))
        .map_err(efault)?;
    Ok(0)
}

fn newfstatat(p: &mut Process, dirfd: u64, path: u64, buf: u64, flags: u64) -> SysResult {
    let mut first = [0u8; 1];
    p.memory()
        .space
        .read_bytes(path, &mut first)
        .map_err(efault)?;
    if first[0] == 0 && flags & AT_EMPTY_PATH != 0 {
        return fstat(p, dirfd, buf);
    }
    // No file system yet: every path is missing.
    Err(Errno::ENOENT)
}

fn fcntl(p: &mut Process, fd: u64, command: u64, arg: u64) -> SysResult {
    const F_DUPFD: u64 = 0;
    const F_GETFD: u64 = 1;
    const F_SETFD: u64 = 2;
    const F_GETFL: u64 = 3;
    const F_SETFL: u64 = 4;
    const F_DUPFD_CLOEXEC: u64 = 1030;
    const FD_CLOEXEC: u64 = 1;
    let file = p.fds().get(fd)?;
    match command {
        F_DUPFD | F_DUPFD_CLOEXEC => p.fds().add(file, command == F_DUPFD_CLOEXEC, arg as usize),
        F_GETFD => Ok(usize::from(p.fds().cloexec(fd)?)),
        F_SETFD => p.fds().set_cloexec(fd, arg & FD_CLOEXEC != 0).map(|()| 0),
        F_GETFL => Ok(file.status_flags()),
        F_SETFL => Ok(0), // status flags cannot change yet (O_NONBLOCK is set at pipe2)
        _ => Err(Errno::EINVAL),
    }
}

fn getcwd(p: &mut Process, buf: u64, size: u64) -> SysResult {
    if size < 2 {
        return Err(Errno::ERANGE);
    }
    p.memory().space.write_bytes(buf, b"/\0").map_err(efault)?;
    Ok(2)
}

fn prctl(p: &mut Process, option: u64, arg: u64) -> SysResult {
    const PR_SET_NAME: u64 = 15;
    const PR_GET_NAME: u64 = 16;
    match option {
        PR_SET_NAME => {
            let mut name = [0u8; 16];
            p.memory()
                .space
                .read_bytes(arg, &mut name[..15])
                .map_err(efault)?;
            *p.group.name.lock().unwrap_or_else(|e| e.into_inner()) = name;
            Ok(0)
        }
        PR_GET_NAME => {
            let name = *p.group.name.lock().unwrap_or_else(|e| e.into_inner());
            p.memory().space.write_bytes(arg, &name).map_err(efault)?;
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

fn time(p: &mut Process, tloc: u64) -> SysResult {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    if tloc != 0 {
        p.memory()
            .space
            .write_bytes(tloc, &now.to_le_bytes())
            .map_err(efault)?;
    }
    Ok(now as usize)
}

fn sched_getaffinity(p: &mut Process, size: u64, mask: u64) -> SysResult {
    if size < 8 {
        return Err(Errno::EINVAL);
    }
    p.memory()
        .space
        .write_bytes(mask, &1u64.to_le_bytes())
        .map_err(efault)?;
    Ok(8)
}

/// Reads a `struct timespec` and sleeps that long.
fn sleep_for(p: &Process, request: u64) -> SysResult {
    let mut timespec = [0u8; 16];
    p.memory()
        .space
        .read_bytes(request, &mut timespec)
        .map_err(efault)?;
    let secs = i64::from_le_bytes(timespec[..8].try_into().unwrap_or_default());
    let nanos = i64::from_le_bytes(timespec[8..].try_into().unwrap_or_default());
    if secs < 0 || !(0..1_000_000_000).contains(&nanos) {
        return Err(Errno::EINVAL);
    }
    vessel_std::thread::sleep(core::time::Duration::new(secs as u64, nanos as u32));
    Ok(0)
}

fn nanosleep(p: &mut Process, request: u64) -> SysResult {
    sleep_for(p, request)
}

/// Relative sleeps on any clock (`TIMER_ABSTIME` is not supported).
fn clock_nanosleep(p: &mut Process, flags: u64, request: u64) -> SysResult {
    const TIMER_ABSTIME: u64 = 1;
    if flags & TIMER_ABSTIME != 0 {
        return Err(Errno::EINVAL);
    }
    sleep_for(p, request)
}

/// Limits: no limit, except an 8 MiB stack, as a default Linux reports.
fn prlimit64(p: &mut Process, pid: u64, resource: u64, new: u64, old: u64) -> SysResult {
    const RLIMIT_STACK: u64 = 3;
    const RLIMIT_NLIMITS: u64 = 16;
    if pid > 1 {
        return Err(Errno::ESRCH);
    }
    if resource >= RLIMIT_NLIMITS {
        return Err(Errno::EINVAL);
    }
    if new != 0 {
        return Err(Errno::EPERM);
    }
    if old != 0 {
        let limit = if resource == RLIMIT_STACK {
            8u64 << 20
        } else {
            u64::MAX
        };
        let mut rlimit = [0u8; 16];
        rlimit[..8].copy_from_slice(&limit.to_le_bytes());
        rlimit[8..].copy_from_slice(&u64::MAX.to_le_bytes());
        p.memory().space.write_bytes(old, &rlimit).map_err(efault)?;
    }
    Ok(0)
}

/// Readiness of the standard streams (always ready); other descriptors are
/// invalid. The timeout is not waited for.
fn poll(p: &mut Process, fds: u64, count: u64) -> SysResult {
    const POLLIN: i16 = 0x1;
    const POLLOUT: i16 = 0x4;
    const POLLNVAL: i16 = 0x20;
    const MAX_POLL: u64 = 1024;
    if count > MAX_POLL {
        return Err(Errno::EINVAL);
    }
    let mut ready = 0;
    for i in 0..count {
        let at = fds.wrapping_add(i * 8);
        let mut entry = [0u8; 8];
        p.memory()
            .space
            .read_bytes(at, &mut entry)
            .map_err(efault)?;
        let fd = i32::from_le_bytes(entry[..4].try_into().unwrap_or_default());
        let events = i16::from_le_bytes([entry[4], entry[5]]);
        let revents = match fd {
            fd if fd < 0 => 0,
            fd => match p.fds().get(fd as u64) {
                Ok(file) => {
                    let mut ready = 0;
                    if events & POLLIN != 0 && file.ready(false) {
                        ready |= POLLIN;
                    }
                    if events & POLLOUT != 0 && file.ready(true) {
                        ready |= POLLOUT;
                    }
                    ready
                }
                Err(_) => POLLNVAL,
            },
        };
        if revents != 0 {
            ready += 1;
        }
        p.memory()
            .space
            .write_bytes(at + 6, &revents.to_le_bytes())
            .map_err(efault)?;
    }
    Ok(ready)
}

/// Accepts an alternate signal stack without using it (handlers run on
/// the interrupted stack); reports none as the old one.
fn sigaltstack(p: &mut Process, old: u64) -> SysResult {
    const SS_DISABLE: u32 = 2;
    if old != 0 {
        let mut stack = [0u8; 24];
        stack[8..12].copy_from_slice(&SS_DISABLE.to_le_bytes());
        p.memory().space.write_bytes(old, &stack).map_err(efault)?;
    }
    Ok(0)
}

/// Checks a signal the process sends to itself: the signal to raise, or
/// none for signal 0 (a probe).
fn signal_self(p: &Process, target: u64, signal: u64) -> Result<Option<u8>, Errno> {
    // pid_t is a C int: only the low 32 bits count.
    let target = target as u32;
    if target != p.pid() && target != p.tid && target != 0 {
        return Err(Errno::ESRCH);
    }
    match signal {
        0 => Ok(None),
        _ => signal::number(signal).map(Some),
    }
}

/// `fork` and `vfork`: a new process with a copy of this one.
fn fork(p: &mut Process) -> SysResult {
    let child = p.fork().ok_or(Errno::ENOMEM)?;
    let pid = child.pid();
    child.start();
    Ok(pid as usize)
}

/// `clone`: a thread of this process (`CLONE_VM | CLONE_THREAD`, as
/// pthreads and Rust's std make them) or, without `CLONE_VM`, a process.
fn clone(
    p: &mut Process,
    flags: u64,
    stack: u64,
    parent_tid: u64,
    child_tid: u64,
    tls: u64,
) -> SysResult {
    const CLONE_VM: u64 = 0x100;
    const CLONE_THREAD: u64 = 0x10000;
    const CLONE_SETTLS: u64 = 0x80000;
    const CLONE_PARENT_SETTID: u64 = 0x0010_0000;
    const CLONE_CHILD_CLEARTID: u64 = 0x0020_0000;
    const CLONE_CHILD_SETTID: u64 = 0x0100_0000;
    let thread = flags & CLONE_THREAD != 0;
    if thread != (flags & CLONE_VM != 0) {
        // A thread without shared memory, or shared memory without a
        // thread group (vfork-like sharing): not supported.
        return Err(Errno::EINVAL);
    }
    let mut child = if thread {
        p.new_thread()
    } else {
        p.fork().ok_or(Errno::ENOMEM)?
    };
    if stack != 0 {
        child.ctx.rsp = stack;
    }
    if flags & CLONE_SETTLS != 0 {
        if tls >= vessel_std::os::user::USER_END {
            return Err(Errno::EPERM);
        }
        child.ctx.fs_base = tls;
    }
    let id = child.tid;
    if flags & CLONE_PARENT_SETTID != 0 {
        p.memory()
            .space
            .write_bytes(parent_tid, &id.to_le_bytes())
            .map_err(efault)?;
    }
    if flags & CLONE_CHILD_SETTID != 0 {
        child
            .memory()
            .space
            .write_bytes(child_tid, &id.to_le_bytes())
            .map_err(efault)?;
    }
    if flags & CLONE_CHILD_CLEARTID != 0 {
        child.clear_child_tid = child_tid;
    }
    child.start();
    Ok(id as usize)
}

/// `futex`: WAIT and WAKE (and their BITSET forms, bitsets ignored), on
/// words of this process; the private flag changes nothing (every futex
/// here is private to its process).
/// `futex(addr, op, value, timeout or value2, addr2, value3)`.
fn futex(p: &mut Process, addr: u64, op: u64, value: u64, timeout: u64, value3: u64) -> SysResult {
    const FUTEX_WAIT: u64 = 0;
    const FUTEX_WAKE: u64 = 1;
    const FUTEX_REQUEUE: u64 = 3;
    const FUTEX_CMP_REQUEUE: u64 = 4;
    const FUTEX_WAIT_BITSET: u64 = 9;
    const FUTEX_WAKE_BITSET: u64 = 10;
    const FUTEX_CMD_MASK: u64 = 0x7f; // without PRIVATE and CLOCK_REALTIME
    if !addr.is_multiple_of(4) {
        return Err(Errno::EINVAL);
    }
    let key = (Arc::as_ptr(&p.group) as usize, addr);
    match op & FUTEX_CMD_MASK {
        FUTEX_WAIT | FUTEX_WAIT_BITSET => {
            let deadline = if timeout == 0 {
                None
            } else {
                let mut timespec = [0u8; 16];
                p.memory()
                    .space
                    .read_bytes(timeout, &mut timespec)
                    .map_err(efault)?;
                let secs = u64::from_le_bytes(timespec[..8].try_into().unwrap_or_default());
                let nanos = u64::from_le_bytes(timespec[8..].try_into().unwrap_or_default());
                let span = core::time::Duration::new(secs, nanos.min(999_999_999) as u32);
                // WAIT takes a relative timeout; WAIT_BITSET an absolute
                // one on the monotonic clock (measured from process start).
                let now = vessel_std::time::Instant::now();
                Some(if op & FUTEX_CMD_MASK == FUTEX_WAIT {
                    now + span
                } else {
                    let since_start = p.group.started.elapsed();
                    now + span.saturating_sub(since_start)
                })
            };
            let group = p.group.clone();
            let expected = value as u32;
            p.kernel.futex_wait(
                key,
                || {
                    let mut word = [0u8; 4];
                    let memory = group.memory.lock().unwrap_or_else(|e| e.into_inner());
                    memory.space.read_bytes(addr, &mut word).map_err(efault)?;
                    Ok(u32::from_le_bytes(word) == expected)
                },
                deadline,
            )?;
            Ok(0)
        }
        FUTEX_WAKE | FUTEX_WAKE_BITSET => Ok(p.kernel.futex_wake(key.0, addr, value as u32)),
        FUTEX_REQUEUE | FUTEX_CMP_REQUEUE => {
            // Waiters that Linux would move to the second futex are woken
            // instead: to them it is a spurious wake-up, which every futex
            // user must handle (they re-check and wait again).
            let command = op & FUTEX_CMD_MASK;
            if command == FUTEX_CMP_REQUEUE {
                let mut word = [0u8; 4];
                p.memory()
                    .space
                    .read_bytes(addr, &mut word)
                    .map_err(efault)?;
                if u32::from_le_bytes(word) != value3 as u32 {
                    return Err(Errno::EAGAIN);
                }
            }
            let (wake, moved) = (value as u32, timeout as u32);
            let woken = p.kernel.futex_wake(key.0, addr, wake.saturating_add(moved));
            Ok(if command == FUTEX_REQUEUE {
                woken.min(wake as usize)
            } else {
                woken
            })
        }
        _ => Err(Errno::ENOSYS),
    }
}

fn wait4(p: &mut Process, which: i64, status: u64, options: u64) -> SysResult {
    const WNOHANG: u64 = 1;
    match p.kernel.wait(p.pid(), which, options & WNOHANG != 0)? {
        None => Ok(0),
        Some((pid, ended)) => {
            if status != 0 {
                p.memory()
                    .space
                    .write_bytes(status, &ended.wait_status().to_le_bytes())
                    .map_err(efault)?;
            }
            Ok(pid as usize)
        }
    }
}

/// Longest path or argument string accepted.
const MAX_STRING: usize = 4096;
/// Most `argv` or `envp` entries accepted.
const MAX_STRINGS: usize = 4096;

/// A NUL-terminated string from user memory.
fn read_string(p: &Process, mut addr: u64) -> Result<String, Errno> {
    let mut bytes = Vec::new();
    loop {
        let mut byte = [0u8; 1];
        p.memory()
            .space
            .read_bytes(addr, &mut byte)
            .map_err(efault)?;
        if byte[0] == 0 {
            return String::from_utf8(bytes).map_err(|_| Errno::EINVAL);
        }
        if bytes.len() == MAX_STRING {
            return Err(Errno::E2BIG);
        }
        bytes.push(byte[0]);
        addr = addr.wrapping_add(1);
    }
}

/// A NULL-terminated array of string pointers from user memory.
fn read_strings(p: &Process, mut addr: u64) -> Result<Vec<String>, Errno> {
    let mut strings = Vec::new();
    if addr == 0 {
        return Ok(strings);
    }
    loop {
        let mut pointer = [0u8; 8];
        p.memory()
            .space
            .read_bytes(addr, &mut pointer)
            .map_err(efault)?;
        let pointer = u64::from_le_bytes(pointer);
        if pointer == 0 {
            return Ok(strings);
        }
        if strings.len() == MAX_STRINGS {
            return Err(Errno::E2BIG);
        }
        strings.push(read_string(p, pointer)?);
        addr = addr.wrapping_add(8);
    }
}

/// Runs another program in this process. Only the program `vessel run`
/// was given can be found (there is no file system yet).
fn execve(p: &mut Process, path: u64, argv: u64, envp: u64) -> SysResult {
    let path = read_string(p, path)?;
    let argv = read_strings(p, argv)?;
    let envp = read_strings(p, envp)?;
    let program = p.kernel.executable(&path).ok_or(Errno::ENOENT)?;
    match p.exec(program, &argv, &envp) {
        Ok(()) => Ok(0),
        Err(LoadError::Exec(_)) => Err(Errno::ENOEXEC),
        Err(LoadError::Stack(errno)) => Err(errno),
        Err(_) => Err(Errno::ENOMEM),
    }
}

/// Opens a device file under `/dev`; every other path is missing (there is
/// no file system yet).
fn open(p: &mut Process, path: u64, flags: u64) -> SysResult {
    const O_CREAT: u64 = 0o100;
    const O_DIRECTORY: u64 = 0o200_000;
    const O_CLOEXEC: u64 = 0o2_000_000;
    let mut path = read_string(p, path)?;
    if !path.starts_with('/') {
        // The working directory is always `/`.
        path.insert(0, '/');
    }
    let Some(device) = file::Device::at(&path) else {
        return Err(if flags & O_CREAT != 0 {
            Errno::EROFS
        } else {
            Errno::ENOENT
        });
    };
    if flags & O_DIRECTORY != 0 {
        return Err(Errno::ENOTDIR);
    }
    p.fds()
        .add(Arc::new(File::Device(device)), flags & O_CLOEXEC != 0, 0)
}

/// Unmaps pages and frees their memory (unmapped pages are skipped).
fn munmap(p: &mut Process, addr: u64, len: u64) -> SysResult {
    if !addr.is_multiple_of(PAGE_SIZE) || len == 0 {
        return Err(Errno::EINVAL);
    }
    p.memory()
        .space
        .unmap(addr, len)
        .map_err(|_| Errno::EINVAL)?;
    Ok(0)
}

/// Uptime, memory and the number of processes (`struct sysinfo`).
fn sysinfo(p: &mut Process, buf: u64) -> SysResult {
    let usage = vessel_rt::memory::usage();
    let mut info = [0u8; 112];
    let uptime = p.kernel.booted.elapsed().as_secs();
    info[0..8].copy_from_slice(&uptime.to_le_bytes());
    info[32..40].copy_from_slice(&usage.total.to_le_bytes()); // totalram
    info[40..48].copy_from_slice(&usage.free.to_le_bytes()); // freeram
    let processes = p.kernel.process_count().min(usize::from(u16::MAX)) as u16;
    info[80..82].copy_from_slice(&processes.to_le_bytes()); // procs
    info[104..108].copy_from_slice(&1u32.to_le_bytes()); // mem_unit
    p.memory().space.write_bytes(buf, &info).map_err(efault)?;
    Ok(0)
}
