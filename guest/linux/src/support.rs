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
            "anonymous private mappings only, placed by the kernel (PROT_NONE included); no MAP_FIXED, no files, no shared memory",
        ),
    ),
    (Sysno::munmap, Support::Full),
    (
        Sysno::mprotect,
        Support::Partial(
            "read, write, execute and none on mapped pages; PROT_GROWSDOWN/UP unsupported",
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
        Support::Partial("PR_SET_NAME and PR_GET_NAME"),
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
            "exit and signal statuses of children; no stopped children (WUNTRACED), no rusage",
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
            "reads limits of the calling process (8 MiB stack, the rest unlimited); no changes",
        ),
    ),
    (Sysno::sched_yield, Support::Full),
    (Sysno::sched_getaffinity, Support::Partial("one CPU")),
    (
        Sysno::clock_gettime,
        Support::Partial("CLOCK_REALTIME and CLOCK_MONOTONIC"),
    ),
    (Sysno::time, Support::Full),
    (
        Sysno::nanosleep,
        Support::Partial("the remaining time is not written back (no signals interrupt it)"),
    ),
    (
        Sysno::clock_nanosleep,
        Support::Partial("relative sleeps only, no TIMER_ABSTIME"),
    ),
    (
        Sysno::getrandom,
        Support::Partial(
            "not cryptographically secure: a xorshift generator seeded from the clocks",
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
