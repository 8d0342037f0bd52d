//! What vessel-linux supports, call by call: the source of the published
//! coverage table (`docs/linux-syscalls.md`, checked by a test here) and the
//! list the kernel's dispatcher (`guest/linux-kernel/src/syscall.rs`)
//! implements. A call not listed returns `-ENOSYS`.

use crate::syscalls::{Support, Sysno};

/// The status of every implemented call.
const SUPPORTED: &[(Sysno, Support)] = &[
    (
        Sysno::read,
        Support::Partial(
            "the console input (the host's standard input, up to 4 KiB per call; the VM waits while the host does) and pipes; no files",
        ),
    ),
    (
        Sysno::write,
        Support::Partial("the console streams and pipes; no files"),
    ),
    (
        Sysno::readv,
        Support::Partial(
            "the console input and pipes, one read scattered over the buffers; no files",
        ),
    ),
    (
        Sysno::writev,
        Support::Partial("the console streams and pipes, gathered into one write"),
    ),
    (
        Sysno::fstat,
        Support::Partial("the console streams (character devices) and pipes (FIFOs)"),
    ),
    (
        Sysno::newfstatat,
        Support::Partial(
            "AT_EMPTY_PATH on the standard streams; every path is ENOENT (no file system yet)",
        ),
    ),
    (
        Sysno::openat,
        Support::Partial(
            "the devices /dev/null, /dev/zero, /dev/full, /dev/random, /dev/urandom; other paths are ENOENT (no file system yet)",
        ),
    ),
    (
        Sysno::readlink,
        Support::Partial("always ENOENT: no file system yet"),
    ),
    (Sysno::getcwd, Support::Partial("always `/`")),
    (
        Sysno::ioctl,
        Support::Partial("ENOTTY: no descriptor is a terminal yet"),
    ),
    (
        Sysno::fcntl,
        Support::Partial(
            "F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_SETFD, F_GETFL; F_SETFL changes nothing",
        ),
    ),
    (Sysno::brk, Support::Full),
    (
        Sysno::mmap,
        Support::Partial(
            "private anonymous memory (and private /dev/zero), mapped eagerly (no demand paging): placed top-down, at a free hint, or with MAP_FIXED (replacing) and MAP_FIXED_NOREPLACE (EEXIST); PROT_NONE included; no files, no MAP_SHARED (EINVAL), MAP_POPULATE/MAP_NORESERVE/MAP_GROWSDOWN and the like ignored",
        ),
    ),
    (Sysno::munmap, Support::Full),
    (
        Sysno::mprotect,
        Support::Partial(
            "read, write, execute and none on mapped pages; PROT_GROWSDOWN/UP are EINVAL (no mapping grows, not even the stack); a range with a hole changes nothing (Linux changes the part before the hole) and is ENOMEM",
        ),
    ),
    (
        Sysno::mremap,
        Support::Partial(
            "shrink in place, grow in place when the following pages are free, MREMAP_MAYMOVE (the pages move, contents and rights kept), MREMAP_FIXED and MREMAP_DONTUNMAP; with no VMAs, \"one mapping\" means pages mapped with the same rights (EFAULT otherwise); old_len 0 is EINVAL (nothing is shared)",
        ),
    ),
    (
        Sysno::madvise,
        Support::Partial(
            "MADV_DONTNEED (and _LOCKED) zero-fill the pages in place, as private anonymous memory reads back (memory is not freed; ELF segments read zeros too, not the file's contents); paging advice (NORMAL, RANDOM, SEQUENTIAL, WILLNEED, FREE, DONTFORK, DOFORK, KEEPONFORK, MERGEABLE, HUGEPAGE, DONTDUMP, COLD, PAGEOUT, POPULATE_*, COLLAPSE...) is accepted and does nothing (DONTFORK ranges are still copied by fork); MADV_WIPEONFORK and MADV_REMOVE are EINVAL; unmapped pages are ENOMEM",
        ),
    ),
    (
        Sysno::rt_sigaction,
        Support::Partial(
            "handlers (with SA_SIGINFO, SA_RESTORER, SA_NODEFER, SA_RESETHAND), SIG_IGN and SIG_DFL; SA_ONSTACK and SA_RESTART are ignored",
        ),
    ),
    (Sysno::rt_sigprocmask, Support::Full),
    (Sysno::rt_sigreturn, Support::Full),
    (Sysno::exit, Support::Full),
    (Sysno::exit_group, Support::Full),
    (Sysno::getpid, Support::Full),
    (
        Sysno::setpgid,
        Support::Partial(
            "Linux's checks and errors (ESRCH, EPERM for session leaders and other sessions, EACCES after the child's execve); the caller's own thread (not the group leader) is EINVAL as on Linux, but another process's thread is ESRCH (Linux: EINVAL)",
        ),
    ),
    (
        Sysno::getpgid,
        Support::Partial(
            "of any process, or of the caller's own threads; the id of another process's thread is ESRCH",
        ),
    ),
    (Sysno::getpgrp, Support::Full),
    (
        Sysno::setsid,
        Support::Partial("no controlling terminals exist, so none is detached"),
    ),
    (
        Sysno::getsid,
        Support::Partial(
            "of any process, or of the caller's own threads; the id of another process's thread is ESRCH",
        ),
    ),
    (
        Sysno::getrusage,
        Support::Partial(
            "RUSAGE_SELF, RUSAGE_CHILDREN and RUSAGE_THREAD: user and system CPU time (what the threads' tasks ran, in ring 3 and in the kernel; a thread's time in ring 3 is counted when it next enters the kernel) and ru_maxrss (the peak of pages mapped, which overstates Linux's resident peak: every mapping is populated at once); the other fields read 0",
        ),
    ),
    (Sysno::getppid, Support::Full),
    (Sysno::gettid, Support::Full),
    (Sysno::getuid, Support::Full),
    (Sysno::geteuid, Support::Full),
    (Sysno::getgid, Support::Full),
    (Sysno::getegid, Support::Full),
    (Sysno::set_tid_address, Support::Full),
    (
        Sysno::set_robust_list,
        Support::Partial("accepted; the list is not walked at exit"),
    ),
    (
        Sysno::arch_prctl,
        Support::Partial("ARCH_SET_FS and ARCH_GET_FS"),
    ),
    (
        Sysno::prctl,
        Support::Partial(
            "PR_SET_NAME and PR_GET_NAME (one name per process, not per thread), PR_SET_DUMPABLE and PR_GET_DUMPABLE, PR_SET_PDEATHSIG and PR_GET_PDEATHSIG (kept, cleared in children, but never sent: no signals between processes yet); other options EINVAL",
        ),
    ),
    (Sysno::uname, Support::Full),
    (Sysno::close, Support::Full),
    (
        Sysno::sysinfo,
        Support::Partial("uptime, total and free RAM, process count; no load averages or swap"),
    ),
    (
        Sysno::futex,
        Support::Partial(
            "FUTEX_WAIT, FUTEX_WAKE and the BITSET forms (bitsets ignored), with timeouts; FUTEX_REQUEUE and FUTEX_CMP_REQUEUE wake the waiters they would move (a spurious wake-up for them); no WAKE_OP, PI or waitv",
        ),
    ),
    (
        Sysno::open,
        Support::Partial(
            "the devices /dev/null, /dev/zero, /dev/full, /dev/random, /dev/urandom; other paths are ENOENT (no file system yet)",
        ),
    ),
    (Sysno::pipe, Support::Full),
    (
        Sysno::pipe2,
        Support::Partial("O_CLOEXEC and O_NONBLOCK; no O_DIRECT (packet mode)"),
    ),
    (Sysno::dup, Support::Full),
    (Sysno::dup2, Support::Full),
    (Sysno::dup3, Support::Full),
    (
        Sysno::lseek,
        Support::Partial("ESPIPE: only the console and pipes exist, which cannot seek"),
    ),
    (
        Sysno::fork,
        Support::Partial("copies the whole address space at once (no copy-on-write yet)"),
    ),
    (
        Sysno::vfork,
        Support::Partial("a fork: the parent is not suspended"),
    ),
    (
        Sysno::clone,
        Support::Partial(
            "threads (CLONE_VM|CLONE_THREAD with SETTLS, PARENT_SETTID, CHILD_SETTID, CHILD_CLEARTID) and fork-like processes; no other sharing combinations",
        ),
    ),
    (
        Sysno::execve,
        Support::Partial(
            "only the program given to `vessel run` (at its path or /proc/self/exe) can be found: no file system yet; no #! scripts",
        ),
    ),
    (
        Sysno::wait4,
        Support::Partial(
            "exit and signal statuses of children (a pid, any, the caller's process group, or another group), with WNOHANG and the child's rusage (as getrusage fills it); no stopped or continued children (WUNTRACED, WCONTINUED accepted, never reported); no core dumps, so WCOREDUMP is never set",
        ),
    ),
    (
        Sysno::waitid,
        Support::Partial(
            "P_ALL, P_PID and P_PGID with WEXITED, WNOHANG and WNOWAIT; siginfo's signal, errno, code (CLD_EXITED, CLD_KILLED), pid, uid and status as Linux writes them, and the rusage; no stopped or continued children; P_PIDFD is EBADF or EINVAL (no pidfds)",
        ),
    ),
    (
        Sysno::poll,
        Support::Partial(
            "readiness of the console and pipes, without waiting (the timeout is not honoured)",
        ),
    ),
    (
        Sysno::sigaltstack,
        Support::Partial("accepted; handlers run on the interrupted stack"),
    ),
    (
        Sysno::kill,
        Support::Partial("to the process itself only (handled, masked or default action)"),
    ),
    (
        Sysno::tkill,
        Support::Partial("to the process itself only (handled, masked or default action)"),
    ),
    (
        Sysno::tgkill,
        Support::Partial("to the process itself only (handled, masked or default action)"),
    ),
    (
        Sysno::prlimit64,
        Support::Partial(
            "reads the limits, the same for every process (stack 8 MiB soft, core 0 soft, 1024 descriptors, the rest unlimited); changing them is EPERM",
        ),
    ),
    (Sysno::sched_yield, Support::Full),
    (Sysno::sched_getaffinity, Support::Partial("one CPU")),
    (
        Sysno::clock_gettime,
        Support::Partial(
            "REALTIME, MONOTONIC (since the kernel started), PROCESS_CPUTIME_ID, THREAD_CPUTIME_ID and the CPU clocks of the caller's own process and threads; approximations: BOOTTIME and MONOTONIC_RAW read as MONOTONIC (no suspend, no slewing), TAI as REALTIME (no TAI offset), the _COARSE clocks as the precise ones; CPU time counts a thread's time in ring 3 when it next enters the kernel; the alarm clocks and other processes' CPU clocks are EINVAL",
        ),
    ),
    (
        Sysno::clock_getres,
        Support::Partial(
            "1 ns for every clock clock_gettime reads (the _COARSE clocks included, which are not coarse here)",
        ),
    ),
    (
        Sysno::gettimeofday,
        Support::Partial("the time zone is always UTC with no daylight saving time"),
    ),
    (Sysno::time, Support::Full),
    (
        Sysno::nanosleep,
        Support::Partial(
            "no signal interrupts a sleep yet (none comes from elsewhere), so it never ends early and the remaining time is never written",
        ),
    ),
    (
        Sysno::clock_nanosleep,
        Support::Partial(
            "relative and TIMER_ABSTIME sleeps on REALTIME, MONOTONIC, BOOTTIME, TAI and the process's CPU clock (polled every millisecond); EOPNOTSUPP for the clocks Linux cannot sleep on; never interrupted, so the remaining time is never written",
        ),
    ),
    (
        Sysno::getrandom,
        Support::Partial(
            "not cryptographically secure: a xorshift generator seeded from the clocks; the flags (GRND_NONBLOCK, GRND_RANDOM, GRND_INSECURE) are checked as Linux does and change nothing (it never blocks)",
        ),
    ),
];

/// The support status of `sysno`.
pub fn support(sysno: Sysno) -> Support {
    SUPPORTED
        .iter()
        .find(|(s, _)| *s == sysno)
        .map_or(Support::Unsupported, |(_, support)| *support)
}

/// Whether the dispatcher serves `number` (anything else is ENOSYS).
pub fn is_implemented(number: u64) -> bool {
    Sysno::from_number(number).is_some_and(|s| support(s) != Support::Unsupported)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syscalls::coverage_markdown;

    #[test]
    fn every_listed_call_is_listed_once() {
        for (i, (sysno, _)) in SUPPORTED.iter().enumerate() {
            assert!(
                !SUPPORTED[i + 1..].iter().any(|(s, _)| s == sysno),
                "{sysno} twice"
            );
        }
        assert_eq!(support(Sysno::exit_group), Support::Full);
        assert_eq!(support(Sysno::ptrace), Support::Unsupported);
        assert!(is_implemented(231) && !is_implemented(101) && !is_implemented(100_000));
    }

    /// The published table is generated from this module; regenerate it
    /// with `VESSEL_BLESS=1 cargo xtask test` (or this test alone).
    #[test]
    fn published_coverage_table_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/linux-syscalls.md");
        let generated = coverage_markdown(support);
        if std::env::var_os("VESSEL_BLESS").is_some() {
            std::fs::write(path, &generated).unwrap();
        }
        let published = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            published == generated,
            "docs/linux-syscalls.md is out of date: run `VESSEL_BLESS=1 cargo xtask test`"
        );
    }
}
