//! The seccomp filter of the vCPU thread.
//!
//! Once the VM is built (memory mapped and registered, image loaded, vCPU
//! configured), the thread that runs the vCPU needs only a handful of
//! system calls: `KVM_RUN` and two register reads on its own vCPU, writes
//! to stdout/stderr for the console, memory management for the allocator,
//! and what tearing the VM down and exiting take. [`apply`] installs a
//! seccomp-BPF filter (built with rust-vmm's `seccompiler`) that allows
//! exactly those, with argument checks where they matter, on the calling
//! thread. Anything else raises `SIGSYS`; the handler [`apply`] installs
//! prints one line naming the system call and ends the process with status
//! [`VIOLATION_STATUS`]. The list, and why each entry is there, is in
//! `docs/threat-model.md`.
//!
//! The filter is per thread (Firecracker's model): other threads of an
//! embedding program are not affected, and it cannot be removed again.

use std::collections::BTreeMap;
use std::os::fd::RawFd;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};

/// Exit status of a process killed for a forbidden system call
/// (128 + `SIGSYS`, what a shell shows for a process killed by `SIGSYS`).
pub const VIOLATION_STATUS: i32 = 128 + libc::SIGSYS;

/// The KVM ioctl numbers the run loop uses.
mod ioctls {
    #![allow(missing_docs)]
    use vmm_sys_util::{ioctl_io_nr, ioctl_ior_nr};

    const KVMIO: u32 = 0xAE;
    ioctl_io_nr!(KVM_RUN, KVMIO, 0x80);
    ioctl_ior_nr!(KVM_GET_REGS, KVMIO, 0x81, kvm_bindings::kvm_regs);
    ioctl_ior_nr!(KVM_GET_SREGS, KVMIO, 0x83, kvm_bindings::kvm_sregs);
}
use ioctls::{KVM_GET_REGS, KVM_GET_SREGS, KVM_RUN};

/// Why the filter could not be built or installed.
#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    /// seccompiler rejected the rules or failed to compile them.
    #[error("cannot build the seccomp filter: {0}")]
    Build(String),
    /// The `SIGSYS` handler could not be installed.
    #[error("cannot install the SIGSYS handler: {0}")]
    Handler(std::io::Error),
    /// `prctl(PR_SET_NO_NEW_PRIVS)` or `seccomp(SECCOMP_SET_MODE_FILTER)` failed.
    #[error("cannot install the seccomp filter: {0}")]
    Install(String),
}

fn build_err(e: impl std::fmt::Display) -> SeccompError {
    SeccompError::Build(e.to_string())
}

/// `arg == value` on the low 32 bits (ints, fds, ioctl requests: the kernel
/// reads these as 32-bit).
fn eq32(arg: u8, value: u64) -> Result<SeccompCondition, SeccompError> {
    SeccompCondition::new(arg, SeccompCmpArgLen::Dword, SeccompCmpOp::Eq, value).map_err(build_err)
}

/// One rule per alternative, each a conjunction of conditions.
fn any_of(alternatives: Vec<Vec<SeccompCondition>>) -> Result<Vec<SeccompRule>, SeccompError> {
    alternatives
        .into_iter()
        .map(|c| SeccompRule::new(c).map_err(build_err))
        .collect()
}

/// One allowed system call: number, name, and rules (alternatives; empty
/// allows the call with any arguments).
pub type Allowed = (i64, &'static str, Vec<SeccompRule>);

/// The allowed system calls.
pub fn allowed_syscalls(vcpu_fd: RawFd) -> Result<Vec<Allowed>, SeccompError> {
    let vcpu_fd = u64::from(vcpu_fd as u32);
    let pid = u64::from(std::process::id());
    let no_exec = || {
        SeccompCondition::new(
            2,
            SeccompCmpArgLen::Dword,
            SeccompCmpOp::MaskedEq(libc::PROT_EXEC as u64),
            0,
        )
        .map_err(build_err)
    };
    Ok(vec![
        // The run loop: KVM_RUN, and registers for RAX (without
        // KVM_CAP_SYNC_REGS) and crash reports, on this vCPU only.
        (
            libc::SYS_ioctl,
            "ioctl",
            any_of(
                [KVM_RUN(), KVM_GET_REGS(), KVM_GET_SREGS()]
                    .into_iter()
                    .map(|req| Ok(vec![eq32(0, vcpu_fd)?, eq32(1, req)?]))
                    .collect::<Result<_, SeccompError>>()?,
            )?,
        ),
        // Console output, messages and --verbose statistics: stdout and
        // stderr only.
        (
            libc::SYS_write,
            "write",
            any_of(vec![vec![eq32(0, 1)?], vec![eq32(0, 2)?]])?,
        ),
        // The heap: never executable memory.
        (libc::SYS_brk, "brk", Vec::new()),
        (libc::SYS_mmap, "mmap", any_of(vec![vec![no_exec()?]])?),
        (libc::SYS_mremap, "mremap", Vec::new()),
        (libc::SYS_munmap, "munmap", Vec::new()),
        (
            libc::SYS_madvise,
            "madvise",
            any_of(vec![vec![eq32(2, libc::MADV_DONTNEED as u64)?]])?,
        ),
        // Locks (stdout's, the allocator's, joining threads).
        (libc::SYS_futex, "futex", Vec::new()),
        (libc::SYS_sched_yield, "sched_yield", Vec::new()),
        // Time (when the vDSO falls back to the system call).
        (libc::SYS_clock_gettime, "clock_gettime", Vec::new()),
        // Touched-memory statistics at the end of the run.
        (libc::SYS_mincore, "mincore", Vec::new()),
        // The --timeout watchdog: its signal handler returns, its timer is
        // deleted at the end.
        (libc::SYS_rt_sigreturn, "rt_sigreturn", Vec::new()),
        (libc::SYS_timer_delete, "timer_delete", Vec::new()),
        // Teardown: closing the vCPU, VM and /dev/kvm descriptors, the end
        // of a thread (its signal stack), exiting.
        (libc::SYS_close, "close", Vec::new()),
        // Debug builds of std check that a descriptor is open before
        // closing it: F_GETFD only.
        (
            libc::SYS_fcntl,
            "fcntl",
            any_of(vec![vec![eq32(1, libc::F_GETFD as u64)?]])?,
        ),
        (libc::SYS_sigaltstack, "sigaltstack", Vec::new()),
        (libc::SYS_exit, "exit", Vec::new()),
        (libc::SYS_exit_group, "exit_group", Vec::new()),
        // abort() after a VMM panic (panic = "abort"): SIGABRT to ourselves.
        (libc::SYS_rt_sigprocmask, "rt_sigprocmask", Vec::new()),
        (libc::SYS_getpid, "getpid", Vec::new()),
        (libc::SYS_gettid, "gettid", Vec::new()),
        (
            libc::SYS_tgkill,
            "tgkill",
            any_of(vec![vec![eq32(0, pid)?, eq32(2, libc::SIGABRT as u64)?]])?,
        ),
    ])
}

/// The name of an allowed system call, or `None`.
pub fn syscall_name(nr: i64) -> Option<&'static str> {
    allowed_syscalls(-1)
        .ok()?
        .into_iter()
        .find(|(n, _, _)| *n == nr)
        .map(|(_, name, _)| name)
}

/// Compiles the filter for a vCPU thread whose vCPU descriptor is `vcpu_fd`.
pub fn filter(vcpu_fd: RawFd) -> Result<BpfProgram, SeccompError> {
    let rules: BTreeMap<i64, Vec<SeccompRule>> = allowed_syscalls(vcpu_fd)?
        .into_iter()
        .map(|(nr, _, rules)| (nr, rules))
        .collect();
    SeccompFilter::new(
        rules,
        SeccompAction::Trap,
        SeccompAction::Allow,
        TargetArch::x86_64,
    )
    .map_err(build_err)?
    .try_into()
    .map_err(build_err)
}

/// Installs the `SIGSYS` handler and the filter on the calling thread.
/// Irreversible: from here on the thread can only run a vCPU, write to
/// stdout/stderr, manage memory and exit.
pub fn apply(vcpu_fd: RawFd) -> Result<(), SeccompError> {
    let program = filter(vcpu_fd)?;
    install_sigsys_handler()?;
    seccompiler::apply_filter(&program).map_err(|e| SeccompError::Install(e.to_string()))
}

fn install_sigsys_handler() -> Result<(), SeccompError> {
    // SAFETY: a zeroed `sigaction` is a valid value (no handler, empty
    // mask, no flags); the fields that matter are set below.
    let mut act: libc::sigaction = unsafe { std::mem::zeroed() };
    act.sa_sigaction = on_sigsys as *const () as usize;
    act.sa_flags = libc::SA_SIGINFO;
    // SAFETY: `act` is a valid, initialised `sigaction`; `on_sigsys` only
    // calls async-signal-safe functions (write, _exit); the old action is
    // not requested (null).
    let rc = unsafe { libc::sigaction(libc::SIGSYS, &act, std::ptr::null_mut()) };
    if rc != 0 {
        return Err(SeccompError::Handler(std::io::Error::last_os_error()));
    }
    Ok(())
}

/// Formats `n` in decimal into `buf`; returns the used tail.
fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[i..];
        }
    }
}

/// A name for the message of a forbidden call (common ones only; the
/// allowed ones can be forbidden with the wrong arguments).
fn name_for_message(nr: i64) -> &'static [u8] {
    match nr {
        libc::SYS_read => b"read (guest input is read by another thread)",
        libc::SYS_write => b"write (to a descriptor other than stdout/stderr)",
        libc::SYS_open => b"open",
        libc::SYS_openat => b"openat",
        libc::SYS_socket => b"socket",
        libc::SYS_connect => b"connect",
        libc::SYS_execve => b"execve",
        libc::SYS_clone => b"clone",
        libc::SYS_clone3 => b"clone3",
        libc::SYS_fork => b"fork",
        libc::SYS_vfork => b"vfork",
        libc::SYS_mprotect => b"mprotect",
        libc::SYS_mmap => b"mmap (of executable memory)",
        libc::SYS_ioctl => b"ioctl (not KVM_RUN/KVM_GET_REGS/KVM_GET_SREGS on the vCPU)",
        libc::SYS_kill => b"kill",
        libc::SYS_tgkill => b"tgkill",
        libc::SYS_ptrace => b"ptrace",
        libc::SYS_fcntl => b"fcntl (other than F_GETFD)",
        _ => b"unknown",
    }
}

/// Offset of `si_syscall` in a `SIGSYS` `siginfo_t` on x86-64: signo,
/// errno, code and padding (16 bytes), then `si_call_addr` (8 bytes).
const SI_SYSCALL_OFFSET: usize = 24;

extern "C" fn on_sigsys(_: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    // Only async-signal-safe calls from here on: no allocation, no locks.
    let nr = if info.is_null() {
        -1
    } else {
        // SAFETY: the kernel passes a valid `siginfo_t` (128 bytes) to an
        // SA_SIGINFO handler; for SIGSYS from seccomp, the 32-bit system
        // call number is at SI_SYSCALL_OFFSET. Read unaligned-safe.
        unsafe {
            info.cast::<u8>()
                .add(SI_SYSCALL_OFFSET)
                .cast::<i32>()
                .read_unaligned()
        }
    };
    let mut num = [0u8; 20];
    let parts: [&[u8]; 5] = [
        b"vessel: seccomp: the VMM made a forbidden system call: ",
        name_for_message(nr.into()),
        b" (number ",
        decimal(u64::from(nr as u32), &mut num),
        b"); stopping (see docs/threat-model.md, or run with --no-seccomp)\n",
    ];
    for part in parts {
        // SAFETY: writing a valid buffer to stderr; write(2) is
        // async-signal-safe and allowed by the filter. Errors are ignored:
        // there is nothing better to do in a signal handler.
        let _ = unsafe { libc::write(2, part.as_ptr().cast(), part.len()) };
    }
    // SAFETY: _exit(2) is async-signal-safe and ends the process at once.
    unsafe { libc::_exit(VIOLATION_STATUS) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_compiles_and_is_small() {
        let prog = filter(7).unwrap();
        assert!(!prog.is_empty());
        // seccomp allows at most 4096 instructions; stay far below.
        assert!(prog.len() < 256, "{} BPF instructions", prog.len());
    }

    #[test]
    fn allowed_list_has_no_dangerous_calls() {
        let names: Vec<&str> = allowed_syscalls(3)
            .unwrap()
            .into_iter()
            .map(|(_, n, _)| n)
            .collect();
        for bad in [
            "open", "openat", "socket", "connect", "execve", "clone", "fork", "mprotect", "ptrace",
            "kill",
        ] {
            assert!(!names.contains(&bad), "{bad} must not be allowed");
        }
        // `read` and `write` only with argument conditions (stdin; stdout
        // and stderr), never unconditionally.
        for (_, name, rules) in allowed_syscalls(3).unwrap() {
            if name == "read" || name == "write" {
                assert!(
                    !rules.is_empty(),
                    "{name} must be restricted to its descriptors"
                );
            }
        }
        assert_eq!(syscall_name(libc::SYS_ioctl), Some("ioctl"));
        assert_eq!(syscall_name(libc::SYS_socket), None);
    }

    #[test]
    fn kvm_ioctl_numbers() {
        assert_eq!(KVM_RUN(), 0xae80);
        assert_eq!(KVM_GET_REGS(), 0x8090_ae81);
        assert_eq!(KVM_GET_SREGS(), 0x8138_ae83);
    }

    #[test]
    fn decimal_formats() {
        let mut b = [0u8; 20];
        assert_eq!(decimal(0, &mut b), b"0");
        assert_eq!(decimal(41, &mut b), b"41");
        assert_eq!(decimal(u64::MAX, &mut b), b"18446744073709551615");
    }
}
