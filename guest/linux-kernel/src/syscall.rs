//! The system calls of one process: decoding arguments from the registers,
//! checking every user pointer (a bad one is `EFAULT`, never a kernel
//! fault), and the Linux return convention (`-errno` on failure).
//!
//! What each call supports is listed in `vessel_linux::support`, from which
//! the published coverage table is generated; this module implements it.

use crate::file::{self, File, OpenFile};
use crate::kernel::Ended;
use crate::process::Process;
use crate::random;
use crate::signal::{self, Cause};
use crate::{clock, fs, futex, jobs, kill, memory, poll, timer};
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;
use vessel_linux::open_flags::{O_NONBLOCK, O_PATH, O_RDONLY, O_WRONLY};
use vessel_linux::{Errno, SysResult, Sysno, errno};
use vessel_std::eprintln;
use vessel_std::os::user::{Access, Fault, MapError};

/// Largest single read of user memory for a `write` (longer writes are
/// short writes, as Linux allows).
pub(crate) const MAX_IO: u64 = 1 << 20;

/// `dirfd` meaning the working directory (`AT_FDCWD`, -100), as passed.
const AT_FDCWD: u64 = -100i64 as u64;
/// `AT_SYMLINK_NOFOLLOW`.
const AT_SYMLINK_NOFOLLOW: u64 = 0x100;
/// `AT_REMOVEDIR`.
const AT_REMOVEDIR: u64 = 0x200;

/// The target of a path-based call.
fn path_target(dirfd: u64, path: u64, flags: u64) -> fs::Target {
    fs::Target::Path { dirfd, path, flags }
}

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
        9 => memory::mmap(p, a[0], a[1], a[2], a[3], a[4], a[5]),
        10 => memory::mprotect(p, a[0], a[1], a[2]),
        11 => memory::munmap(p, a[0], a[1]),
        25 => memory::mremap(p, a[0], a[1], a[2], a[3], a[4]),
        28 => memory::madvise(p, a[0], a[1], a[2]),
        99 => sysinfo(p, a[0]),
        12 => Ok(brk(p, a[0]) as usize),
        13 => signal::sigaction(p, a[0], a[1], a[2], a[3]),
        14 => signal::sigprocmask(p, a[0], a[1], a[2], a[3]),
        15 => return signal::sigreturn(p).map(Stop::Process),
        34 => signal::pause(p),
        37 => timer::alarm(p, a[0]),
        36 => timer::getitimer(p, a[0], a[1]),
        38 => timer::setitimer(p, a[0], a[1], a[2]),
        127 => signal::sigpending(p, a[0], a[1]),
        128 => signal::sigtimedwait(p, a[0], a[1], a[2], a[3]),
        130 => signal::sigsuspend(p, a[0], a[1]),
        219 => signal::restart_syscall(p),
        16 => ioctl(p, a[0], a[1], a[2]),
        19 => readv(p, a[0], a[1], a[2]),
        20 => writev(p, a[0], a[1], a[2]),
        39 => Ok(p.pid() as usize),
        186 => Ok(p.tid as usize), // gettid
        110 => Ok(p.kernel.parent_of(p.pid()) as usize),
        202 => futex::futex(p, a[0], a[1], a[2], a[3], a[5]),
        57 => clone(p, SIGCHLD, 0, 0, 0, 0), // fork
        58 => clone(p, CLONE_VM | CLONE_VFORK | SIGCHLD, 0, 0, 0, 0), // vfork
        56 => clone(p, a[0], a[1], a[2], a[3], a[4]),
        59 => execve(p, a[0], a[1], a[2]),
        // pid_t arguments are C ints: only the low 32 bits count.
        61 => jobs::wait4(p, a[0], a[1], a[2], a[3]),
        247 => jobs::waitid(p, a[0], a[1], a[2], a[3], a[4]),
        109 => jobs::setpgid(p, a[0], a[1]),
        111 => jobs::getpgid(p, 0), // getpgrp
        112 => jobs::setsid(p),
        121 => jobs::getpgid(p, a[0]),
        124 => jobs::getsid(p, a[0]),
        98 => clock::getrusage(p, a[0], a[1]),
        102 | 104 | 107 | 108 => Ok(0), // getuid, getgid, geteuid, getegid: root
        60 => return Some(Stop::Thread((a[0] & 0xff) as u8)),
        231 => return Some(Stop::Process(Ended::Exited((a[0] & 0xff) as u8))),
        63 => uname(p, a[0]),
        158 => arch_prctl(p, a[0], a[1]),
        218 => {
            p.clear_child_tid = a[0]; // set_tid_address
            Ok(p.tid as usize)
        }
        228 => clock::clock_gettime(p, a[0], a[1]),
        229 => clock::clock_getres(p, a[0], a[1]),
        96 => clock::gettimeofday(p, a[0], a[1]),
        318 => getrandom(p, a[0], a[1], a[2]),
        5 => fstat(p, a[0], a[1]),
        4 => fs::fstatat(p, AT_FDCWD, a[0], a[1], 0),
        6 => fs::fstatat(p, AT_FDCWD, a[0], a[1], AT_SYMLINK_NOFOLLOW),
        17 => fs::pread(p, a[0], a[1], a[2], a[3] as i64),
        18 => fs::pwrite(p, a[0], a[1], a[2], a[3] as i64),
        21 => fs::faccessat(p, AT_FDCWD, a[0], a[1], 0),
        269 => fs::faccessat(p, a[0], a[1], a[2], 0),
        439 => fs::faccessat(p, a[0], a[1], a[2], a[3]),
        40 => fs::sendfile(p, a[0], a[1], a[2], a[3]),
        // fsync, fdatasync, syncfs: the files are in memory already.
        74 | 75 | 306 => p.fds().get(a[0]).map(|_| 0),
        162 => Ok(0), // sync
        76 => fs::truncate(p, path_target(AT_FDCWD, a[0], 0), a[1] as i64),
        77 => fs::truncate(p, fs::Target::Fd(a[0]), a[1] as i64),
        217 => fs::getdents64(p, a[0], a[1], a[2]),
        80 => fs::chdir(p, 0, Some(a[0])),
        81 => fs::chdir(p, a[0], None),
        82 => fs::renameat(p, AT_FDCWD, a[0], AT_FDCWD, a[1], 0),
        264 => fs::renameat(p, a[0], a[1], a[2], a[3], 0),
        316 => fs::renameat(p, a[0], a[1], a[2], a[3], a[4]),
        83 => fs::mkdirat(p, AT_FDCWD, a[0], a[1]),
        258 => fs::mkdirat(p, a[0], a[1], a[2]),
        133 => fs::mknodat(p, AT_FDCWD, a[0], a[1], a[2]),
        259 => fs::mknodat(p, a[0], a[1], a[2], a[3]),
        84 => fs::unlinkat(p, AT_FDCWD, a[0], AT_REMOVEDIR),
        87 => fs::unlinkat(p, AT_FDCWD, a[0], 0),
        263 => fs::unlinkat(p, a[0], a[1], a[2]),
        86 => fs::linkat(p, AT_FDCWD, a[0], AT_FDCWD, a[1], 0),
        265 => fs::linkat(p, a[0], a[1], a[2], a[3], a[4]),
        88 => fs::symlinkat(p, a[0], AT_FDCWD, a[1]),
        266 => fs::symlinkat(p, a[0], a[1], a[2]),
        89 => fs::readlinkat(p, AT_FDCWD, a[0], a[1], a[2]),
        267 => fs::readlinkat(p, a[0], a[1], a[2], a[3]),
        90 => fs::chmod(p, path_target(AT_FDCWD, a[0], 0), a[1]),
        91 => fs::chmod(p, fs::Target::Fd(a[0]), a[1]),
        268 => fs::chmod(p, path_target(a[0], a[1], 0), a[2]),
        92 => fs::chown(p, path_target(AT_FDCWD, a[0], 0), a[1], a[2]),
        93 => fs::chown(p, fs::Target::Fd(a[0]), a[1], a[2]),
        94 => fs::chown(
            p,
            path_target(AT_FDCWD, a[0], AT_SYMLINK_NOFOLLOW),
            a[1],
            a[2],
        ),
        260 => fs::chown(p, path_target(a[0], a[1], a[4]), a[2], a[3]),
        280 => fs::utimensat(p, a[0], a[1], a[2], a[3]),
        95 => fs::umask(p, a[0]),
        188 | 191 | 194 | 197 => fs::no_xattrs(p, path_target(AT_FDCWD, a[0], 0)),
        189 | 192 | 195 | 198 => fs::no_xattrs(p, path_target(AT_FDCWD, a[0], AT_SYMLINK_NOFOLLOW)),
        190 | 193 | 196 | 199 => fs::no_xattrs(p, fs::Target::Fd(a[0])),
        137 => fs::statfs(p, path_target(AT_FDCWD, a[0], 0), a[1]),
        138 => fs::statfs(p, fs::Target::Fd(a[0]), a[1]),
        332 => fs::statx(p, a[0], a[1], a[2], a[4]),
        85 => fs::openat(p, AT_FDCWD, a[0], 0o1101, a[1]), // creat: O_CREAT|O_WRONLY|O_TRUNC
        24 => {
            vessel_std::thread::yield_now(); // sched_yield
            Ok(0)
        }
        35 => clock::nanosleep(p, a[0], a[1]),
        72 => fcntl(p, a[0], a[1], a[2]),
        79 => fs::getcwd(p, a[0], a[1]),
        157 => prctl(p, a[0], a[1]),
        201 => clock::time(p, a[0]),
        204 => sched_getaffinity(p, a[1], a[2]),
        230 => clock::clock_nanosleep(p, a[0], a[1], a[2], a[3]),
        2 => fs::openat(p, AT_FDCWD, a[0], a[1], a[2]),
        257 => fs::openat(p, a[0], a[1], a[2], a[3]),
        262 => fs::fstatat(p, a[0], a[1], a[2], a[3]),
        273 => futex::set_robust_list(p, a[0], a[1]),
        274 => futex::get_robust_list(p, a[0], a[1], a[2]),
        7 => poll::poll(p, a[0], a[1], a[2]),
        271 => poll::ppoll(p, a[0], a[1], a[2], a[3], a[4]),
        23 => poll::select(p, a[0], [a[1], a[2], a[3]], a[4]),
        270 => poll::pselect6(p, a[0], [a[1], a[2], a[3]], a[4], a[5]),
        165 => fs::mount(p, a[0], a[1], a[2], a[3], a[4]),
        166 => fs::umount2(p, a[0], a[1]),
        3 => p.fds().close(a[0]).map(|()| 0),
        8 => fs::lseek(p, a[0], a[1] as i64, a[2]),
        22 => pipe2(p, a[0], 0),
        293 => pipe2(p, a[0], a[1]),
        32 => {
            let file = p.fds().get(a[0]);
            file.and_then(|f| p.fds().add(f, false, 0))
        }
        33 => dup2(p, a[0], a[1]),
        292 => dup3(p, a[0], a[1], a[2]),
        131 => signal::sigaltstack(p, a[0], a[1]),
        62 => kill::kill(p, a[0], a[1]),
        200 => kill::tgkill(p, None, a[0], a[1]),
        234 => kill::tgkill(p, Some(a[0]), a[1], a[2]),
        129 => kill::sigqueueinfo(p, a[0], None, a[1], a[2]),
        297 => kill::sigqueueinfo(p, a[0], Some(a[1]), a[2], a[3]),
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
    let result = if result == Err(Errno::ERESTART) {
        // A signal interrupted the call: EINTR, unless delivery decides
        // to make the call again.
        signal::interrupted_call(p, number);
        Err(Errno::EINTR)
    } else {
        signal::not_interrupted(p);
        result
    };
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
    if count > IOV_MAX {
        return Err(Errno::EINVAL);
    }
    // Gather first, then write once: a pipe sees one write, as on Linux.
    let mut bytes = Vec::new();
    for i in 0..count {
        let (base, len) = iovec(p, iov, i)?;
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

/// Most buffers a `readv`/`writev` may name.
const IOV_MAX: u64 = 1024;

/// Entry `index` of the `struct iovec` array at `iov`: (base, length).
fn iovec(p: &Process, iov: u64, index: u64) -> Result<(u64, u64), Errno> {
    let mut entry = [0u8; 16];
    p.memory()
        .space
        .read_bytes(iov.wrapping_add(index * 16), &mut entry)
        .map_err(efault)?;
    let base = u64::from_le_bytes(entry[..8].try_into().unwrap_or_default());
    let len = u64::from_le_bytes(entry[8..].try_into().unwrap_or_default());
    Ok((base, len))
}

/// One read, scattered over the buffers in order (`readv`).
fn readv(p: &mut Process, fd: u64, iov: u64, count: u64) -> SysResult {
    if count > IOV_MAX {
        return Err(Errno::EINVAL);
    }
    let mut buffers = Vec::new();
    let mut total: u64 = 0;
    for i in 0..count {
        let (base, len) = iovec(p, iov, i)?;
        if len > i64::MAX as u64 {
            return Err(Errno::EINVAL); // a negative ssize_t
        }
        buffers.push((base, len));
    }
    // Linux's access_ok: every buffer inside the user range (EFAULT); the
    // total is then capped (a short read), not refused.
    const TASK_SIZE: u64 = 0x7fff_ffff_f000;
    for &(base, len) in &buffers {
        if base > TASK_SIZE || len > TASK_SIZE - base {
            return Err(Errno::EFAULT);
        }
        total = total.saturating_add(len);
    }
    let file = p.fds().get(fd)?;
    let want = total.min(MAX_IO);
    if want == 0 {
        return Ok(0);
    }
    // Check the destinations before consuming input that could not be
    // delivered.
    let mut left = want;
    for &(base, len) in &buffers {
        let part = len.min(left);
        p.memory()
            .space
            .write_bytes(base, &vec![0u8; part as usize])
            .map_err(efault)?;
        left -= part;
    }
    let bytes = file.read(want as usize)?;
    let mut done = 0;
    for &(base, len) in &buffers {
        let part = (len as usize).min(bytes.len() - done);
        p.memory()
            .space
            .write_bytes(base, &bytes[done..done + part])
            .map_err(efault)?;
        done += part;
    }
    Ok(bytes.len())
}

/// The requests every descriptor takes (close-on-exec, `O_NONBLOCK`,
/// `O_ASYNC`; not an `O_PATH` one: `EBADF`), and terminal requests on the
/// console (a terminal with `vessel run -t`, else `ENOTTY` as for a pipe);
/// other descriptors are no terminals.
fn ioctl(p: &Process, fd: u64, request: u64, arg: u64) -> SysResult {
    use crate::tty::{Reply, Request, TERMIOS_SIZE};
    const TCGETS: u64 = 0x5401;
    const TCSETS: u64 = 0x5402;
    const TCSETSW: u64 = 0x5403;
    const TCSETSF: u64 = 0x5404;
    const TIOCGPGRP: u64 = 0x540f;
    const TIOCSPGRP: u64 = 0x5410;
    const TIOCGWINSZ: u64 = 0x5413;
    const TIOCSWINSZ: u64 = 0x5414;
    const FIONREAD: u64 = 0x541b;
    const TIOCSCTTY: u64 = 0x540e;
    const FIONBIO: u64 = 0x5421;
    const FIONCLEX: u64 = 0x5450;
    const FIOCLEX: u64 = 0x5451;
    const FIOASYNC: u64 = 0x5452;
    let file = p.fds().get(fd)?;
    if file.has(O_PATH) {
        return Err(Errno::EBADF);
    }
    let read_user = |len: usize| -> Result<Vec<u8>, Errno> {
        let mut bytes = vec![0u8; len];
        p.memory()
            .space
            .read_bytes(arg, &mut bytes)
            .map_err(efault)?;
        Ok(bytes)
    };
    // An int argument that turns a flag on or off.
    let on = || -> Result<bool, Errno> { Ok(read_user(4)?.iter().any(|&b| b != 0)) };
    // The request number is an unsigned int.
    let request = u64::from(request as u32);
    match request {
        FIOCLEX | FIONCLEX => return p.fds().set_cloexec(fd, request == FIOCLEX).map(|()| 0),
        FIONBIO => {
            file.set_nonblocking(on()?);
            return Ok(0);
        }
        FIOASYNC => return file.set_async(on()?).map(|()| 0),
        FIONREAD if !file.is_console() => {
            let unread = file.unread_bytes()?.ok_or(Errno::ENOTTY)?;
            // An int, as Linux stores it (truncated beyond 2 GiB).
            let count = unread as u32;
            p.memory()
                .space
                .write_bytes(arg, &count.to_le_bytes())
                .map_err(efault)?;
            return Ok(0);
        }
        _ if !file.is_console() => return Err(Errno::ENOTTY),
        _ => {}
    }
    let request = match request {
        TCGETS => Request::GetAttributes,
        TCSETS | TCSETSW | TCSETSF => {
            let mut termios = [0u8; TERMIOS_SIZE];
            termios.copy_from_slice(&read_user(TERMIOS_SIZE)?);
            Request::SetAttributes {
                termios,
                flush: request == TCSETSF,
            }
        }
        TIOCGWINSZ => Request::GetWindowSize,
        TIOCSWINSZ => {
            let size = read_user(4)?;
            Request::SetWindowSize {
                rows: u16::from_le_bytes([size[0], size[1]]),
                columns: u16::from_le_bytes([size[2], size[3]]),
            }
        }
        TIOCGPGRP => Request::GetForeground,
        TIOCSPGRP => {
            let group = read_user(4)?;
            let group = u32::from_le_bytes([group[0], group[1], group[2], group[3]]);
            if !p.kernel.group_exists(group) {
                return Err(Errno::ESRCH);
            }
            Request::SetForeground(group)
        }
        FIONREAD => Request::ReadyBytes,
        // The console is every process's controlling terminal already.
        TIOCSCTTY => {
            crate::tty::control(Request::GetForeground)?;
            return Ok(0);
        }
        // Requests no terminal here knows (as Linux answers them).
        _ => return Err(Errno::ENOTTY),
    };
    match crate::tty::control(request)? {
        Reply::Done => {}
        Reply::Bytes(bytes) => p.memory().space.write_bytes(arg, &bytes).map_err(efault)?,
        Reply::Number(n) => p
            .memory()
            .space
            .write_bytes(arg, &n.to_le_bytes())
            .map_err(efault)?,
    }
    Ok(0)
}

fn pipe2(p: &mut Process, fds: u64, flags: u64) -> SysResult {
    const O_CLOEXEC: u64 = 0o2_000_000;
    // The flags are an int; O_DIRECT (packet mode) is not supported.
    let flags = u64::from(flags as u32);
    if flags & !(u64::from(O_NONBLOCK) | O_CLOEXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    // Check the destination first: no descriptors leak on EFAULT.
    p.memory()
        .space
        .write_bytes(fds, &[0u8; 8])
        .map_err(efault)?;
    let (read_end, write_end) = file::pipe();
    let cloexec = flags & O_CLOEXEC != 0;
    let nonblocking = flags as u32 & O_NONBLOCK;
    let read_fd = p
        .fds()
        .add(OpenFile::new(read_end, O_RDONLY | nonblocking), cloexec, 0)?;
    let write_fd = match p
        .fds()
        .add(OpenFile::new(write_end, O_WRONLY | nonblocking), cloexec, 0)
    {
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
        // The heap's new pages get frames as they are touched.
        let rights = Access {
            readable: true,
            writable: true,
            executable: false,
        };
        match m.space.reserve(m.heap_mapped_end, len, rights) {
            Ok(()) => {}
            Err(MapError::OutOfMemory) => {
                // No page tables for the rest: what was reserved goes.
                let _ = m.space.unmap(m.heap_mapped_end, len);
                return m.brk;
            }
            Err(_) => return m.brk,
        }
        m.heap_mapped_end = needed;
    }
    m.brk = requested;
    m.brk
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

fn getrandom(p: &mut Process, buf: u64, len: u64, flags: u64) -> SysResult {
    const GRND_NONBLOCK: u64 = 1;
    const GRND_RANDOM: u64 = 2;
    const GRND_INSECURE: u64 = 4;
    let flags = flags as u32 as u64;
    if flags & !(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE) != 0
        || flags & (GRND_RANDOM | GRND_INSECURE) == GRND_RANDOM | GRND_INSECURE
    {
        return Err(Errno::EINVAL);
    }
    let len = len.min(MAX_IO);
    let mut bytes = vec![0u8; len as usize];
    random::fill(&mut bytes);
    p.memory().space.write_bytes(buf, &bytes).map_err(efault)?;
    Ok(len as usize)
}

/// The `struct stat` of an open file that is not in the file system: a
/// character device for the console streams and devices, a FIFO for pipes.
pub(crate) fn file_stat(file: &File) -> [u8; 144] {
    let mut stat = [0u8; 144];
    stat[16..20].copy_from_slice(&1u32.to_le_bytes()); // st_nlink (low half)
    stat[24..28].copy_from_slice(&file.mode().to_le_bytes()); // st_mode
    stat[40..48].copy_from_slice(&file.rdev().to_le_bytes()); // st_rdev
    stat[56..64].copy_from_slice(&4096u64.to_le_bytes()); // st_blksize
    stat
}

fn fstat(p: &mut Process, fd: u64, buf: u64) -> SysResult {
    let stat = fs::stat_of(&*p.fds().get(fd)?)?;
    p.memory().space.write_bytes(buf, &stat).map_err(efault)?;
    Ok(0)
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
    // An O_PATH descriptor takes only these.
    let path_commands = [F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_SETFD, F_GETFL];
    if file.has(O_PATH) && !path_commands.contains(&command) {
        return Err(Errno::EBADF);
    }
    match command {
        // The lowest acceptable descriptor is an int, below the limit.
        F_DUPFD | F_DUPFD_CLOEXEC if arg as u32 as usize >= file::MAX_FDS => Err(Errno::EINVAL),
        F_DUPFD | F_DUPFD_CLOEXEC => p.fds().add(file, command == F_DUPFD_CLOEXEC, arg as usize),
        F_GETFD => Ok(usize::from(p.fds().cloexec(fd)?)),
        F_SETFD => p.fds().set_cloexec(fd, arg & FD_CLOEXEC != 0).map(|()| 0),
        F_GETFL => Ok(file.flags() as usize),
        F_SETFL => file.set_status(arg).map(|()| 0),
        _ => Err(Errno::EINVAL),
    }
}

fn prctl(p: &mut Process, option: u64, arg: u64) -> SysResult {
    const PR_SET_PDEATHSIG: u64 = 1;
    const PR_GET_PDEATHSIG: u64 = 2;
    const PR_GET_DUMPABLE: u64 = 3;
    const PR_SET_DUMPABLE: u64 = 4;
    const PR_SET_NAME: u64 = 15;
    const PR_GET_NAME: u64 = 16;
    match option {
        PR_SET_PDEATHSIG => {
            // Sent when the thread that made this process ends; a new
            // thread or process starts without one.
            let signal = match arg {
                0 => 0,
                signal => signal::number(signal)?,
            };
            p.kernel.set_pdeath_signal(p.tid, signal);
            Ok(0)
        }
        PR_GET_PDEATHSIG => {
            let signal = i32::from(p.kernel.pdeath_signal(p.tid)).to_le_bytes();
            p.memory().space.write_bytes(arg, &signal).map_err(efault)?;
            Ok(0)
        }
        PR_GET_DUMPABLE => Ok(usize::from(p.group.dumpable.load(Ordering::Relaxed))),
        PR_SET_DUMPABLE => {
            // 0 or 1 (2, "suid-safe", is for set-user-id programs only).
            if arg > 1 {
                return Err(Errno::EINVAL);
            }
            p.group.dumpable.store(arg as u8, Ordering::Relaxed);
            Ok(0)
        }
        PR_SET_NAME => {
            // Up to 15 bytes, to the first NUL; the rest is NUL padding.
            let mut name = [0u8; 16];
            for (i, byte) in name[..15].iter_mut().enumerate() {
                let mut one = [0u8; 1];
                p.memory()
                    .space
                    .read_bytes(arg.wrapping_add(i as u64), &mut one)
                    .map_err(efault)?;
                if one[0] == 0 {
                    break;
                }
                *byte = one[0];
            }
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

/// Limits, the same for every process: an 8 MiB stack and no core dumps
/// (soft limits), as a default Linux reports, the descriptor table's size,
/// and no limit on the rest.
fn prlimit64(p: &mut Process, pid: u64, resource: u64, new: u64, old: u64) -> SysResult {
    const RLIMIT_STACK: u32 = 3;
    const RLIMIT_CORE: u32 = 4;
    const RLIMIT_NOFILE: u32 = 7;
    const RLIMIT_NLIMITS: u32 = 16;
    match pid as i32 {
        0 => {}
        pid if pid < 0 => return Err(Errno::ESRCH),
        pid => {
            p.kernel.pgid(pid as u32)?;
        }
    }
    let resource = resource as u32;
    if resource >= RLIMIT_NLIMITS {
        return Err(Errno::EINVAL);
    }
    if new != 0 {
        return Err(Errno::EPERM);
    }
    if old != 0 {
        let (soft, hard) = match resource {
            RLIMIT_STACK => (8u64 << 20, u64::MAX),
            RLIMIT_CORE => (0, u64::MAX),
            RLIMIT_NOFILE => (file::MAX_FDS as u64, file::MAX_FDS as u64),
            _ => (u64::MAX, u64::MAX),
        };
        let mut rlimit = [0u8; 16];
        rlimit[..8].copy_from_slice(&soft.to_le_bytes());
        rlimit[8..].copy_from_slice(&hard.to_le_bytes());
        p.memory().space.write_bytes(old, &rlimit).map_err(efault)?;
    }
    Ok(0)
}

/// `clone`: shares memory with the child.
const CLONE_VM: u64 = 0x100;
/// `clone`: the caller waits until the child calls `execve` or ends.
const CLONE_VFORK: u64 = 0x4000;
/// The signal a child process's end sends its parent.
const SIGCHLD: u64 = 17;

/// `clone` (and `fork`, `vfork`): a thread of this process (`CLONE_VM |
/// CLONE_THREAD`, as pthreads and Rust's std make them) or a process, with
/// a copy of this one's memory or, with `CLONE_VM`, the same memory;
/// `CLONE_VFORK` suspends the calling thread until the child calls
/// `execve` or ends. The other sharing flags are not looked at: a process
/// gets copies of the descriptors, the working directory and the signal
/// actions, a thread shares them.
fn clone(
    p: &mut Process,
    flags: u64,
    stack: u64,
    parent_tid: u64,
    child_tid: u64,
    tls: u64,
) -> SysResult {
    const CLONE_THREAD: u64 = 0x10000;
    const CLONE_SETTLS: u64 = 0x80000;
    const CLONE_PARENT_SETTID: u64 = 0x0010_0000;
    const CLONE_CHILD_CLEARTID: u64 = 0x0020_0000;
    const CLONE_CHILD_SETTID: u64 = 0x0100_0000;
    let thread = flags & CLONE_THREAD != 0;
    let share_memory = flags & CLONE_VM != 0;
    if thread && !share_memory {
        return Err(Errno::EINVAL);
    }
    if flags & CLONE_SETTLS != 0 && tls >= vessel_std::os::user::USER_END {
        return Err(Errno::EPERM);
    }
    let mut child = if thread {
        p.new_thread()
    } else {
        p.fork(share_memory).ok_or(Errno::ENOMEM)?
    };
    if stack != 0 {
        child.ctx.rsp = stack;
    }
    if flags & CLONE_SETTLS != 0 {
        child.ctx.fs_base = tls;
    }
    let id = child.tid;
    // As on Linux, the child exists by now: a bad address for its id is
    // not an error.
    if flags & CLONE_PARENT_SETTID != 0 {
        let _ = p.memory().space.write_bytes(parent_tid, &id.to_le_bytes());
    }
    if flags & CLONE_CHILD_SETTID != 0 {
        let _ = child
            .memory()
            .space
            .write_bytes(child_tid, &id.to_le_bytes());
    }
    if flags & CLONE_CHILD_CLEARTID != 0 {
        child.clear_child_tid = child_tid;
    }
    let vfork = (flags & CLONE_VFORK != 0).then(|| child.vfork());
    child.start();
    if let Some(vfork) = vfork {
        vfork.wait(&p.group);
    }
    Ok(id as usize)
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

/// Runs another program in this process: the program `vessel run` was
/// given, or an executable file of the file system; `#!` scripts run
/// their interpreter.
fn execve(p: &mut Process, path: u64, argv: u64, envp: u64) -> SysResult {
    let path = fs::read_path(p, path)?;
    let argv = read_strings(p, argv)?;
    let envp = read_strings(p, envp)?;
    exec_path(p, &path, argv, &envp, 0)
}

/// Most interpreters a `#!` chain may go through (Linux's limit).
const MAX_INTERPRETERS: u32 = 4;

/// Replaces the process's program with the file at `path`.
fn exec_path(
    p: &mut Process,
    path: &[u8],
    argv: Vec<String>,
    envp: &[String],
    depth: u32,
) -> SysResult {
    let path = &fs::program_path(p, path)[..];
    let program: alloc::borrow::Cow<'static, [u8]> = match p.kernel.given_program(path) {
        Some(program) => program.into(),
        None => fs::executable(p, path)?.into(),
    };
    if let Some(script) = vessel_linux::elf::parse_shebang(&program).map_err(|e| e.errno())? {
        if depth == MAX_INTERPRETERS {
            return Err(Errno::ELOOP);
        }
        let args: Vec<&[u8]> = argv.iter().map(|a| a.as_bytes()).collect();
        let interpreter_argv = script
            .argv(path, &args)
            .into_iter()
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let interpreter = script.interpreter.to_vec();
        return exec_path(p, &interpreter, interpreter_argv, envp, depth + 1);
    }
    match p.exec(&program, &argv, envp) {
        Ok(()) => {
            crate::procfs::executed(&p.group, fs::real_path(p, path), &argv);
            Ok(0)
        }
        Err(error) => Err(error.errno()),
    }
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
