//! Sending signals: `kill` (to a process, a process group, or every
//! process), `tkill` and `tgkill` (to a thread), `rt_sigqueueinfo` and
//! `rt_tgsigqueueinfo` (with the sender's `siginfo`), with Linux's errors.
//! Every process is root here, so no signal is refused for permission
//! (`EPERM` never happens); the first process is not protected as
//! Linux's init is (it takes the signals any process takes).

use crate::kernel::Kernel;
use crate::process::{Group, Process};
use crate::signal::{self, Cause};
use alloc::sync::Arc;
use vessel_linux::{Errno, SysResult};

/// A signal argument (a C int): `None` for 0 (a probe that only checks
/// the target), `EINVAL` beyond 64.
fn signal_number(signal: u64) -> Result<Option<u8>, Errno> {
    match signal as u32 {
        0 => Ok(None),
        signal => signal::number(u64::from(signal)).map(Some),
    }
}

/// Sends `signal` (if not a probe) to the process `group` (to its thread
/// `tid` if given), from the calling thread, and does what it implies.
fn send(
    p: &Process,
    group: &Group,
    tid: Option<u32>,
    signal: Option<u8>,
    cause: Cause,
) -> Result<(), Errno> {
    let Some(signal) = signal else {
        return Ok(());
    };
    let sent = signal::send_to(group, tid, signal, cause)?;
    signal::settle_sent(&p.kernel, group, sent);
    Ok(())
}

/// Sends to each process of `pids` (zombies take and ignore signals);
/// `ESRCH` if there is none, else the last error if every one failed.
fn send_to_each(
    p: &Process,
    pids: impl IntoIterator<Item = u32>,
    signal: Result<Option<u8>, Errno>,
) -> SysResult {
    let mut result = Err(Errno::ESRCH);
    let mut delivered = false;
    for pid in pids {
        let outcome = signal.and_then(|signal| match p.kernel.process(pid)? {
            Some(group) => send(p, &group, None, signal, Cause::Kill(p.pid())),
            None => Ok(()),
        });
        delivered |= outcome.is_ok();
        result = outcome;
    }
    if delivered { Ok(0) } else { result.map(|()| 0) }
}

/// `kill(pid, signal)`: `pid` > 0 that process (or the process of that
/// thread), 0 the caller's process group, -1 every process but the first
/// and the caller, < -1 process group `-pid`.
pub fn kill(p: &mut Process, pid: u64, signal: u64) -> SysResult {
    let number = signal_number(signal);
    match pid as i32 {
        pid if pid > 0 => {
            let group: Option<Arc<Group>> = p.kernel.process(pid as u32)?;
            let signal = number?;
            if let Some(group) = group {
                send(p, &group, None, signal, Cause::Kill(p.pid()))?;
            }
            Ok(0)
        }
        0 => {
            let pgid = p.kernel.pgid(p.pid())?;
            send_to_each(p, p.kernel.group_members(pgid), number)
        }
        -1 => {
            let me = p.pid();
            let others = p.kernel.all_processes().into_iter();
            send_to_each(p, others.filter(|&pid| pid > 1 && pid != me), number)
        }
        i32::MIN => Err(Errno::ESRCH),
        pgid => send_to_each(p, p.kernel.group_members(pgid.unsigned_abs()), number),
    }
}

/// `tgkill(tgid, tid, signal)`, and `tkill(tid, signal)` (no `tgid`):
/// `signal` to thread `tid`.
pub fn tgkill(p: &mut Process, tgid: Option<u64>, tid: u64, signal: u64) -> SysResult {
    let tid = tid as i32;
    let tgid = tgid.map(|tgid| tgid as i32);
    if tid <= 0 || tgid.is_some_and(|tgid| tgid <= 0) {
        return Err(Errno::EINVAL);
    }
    let (pid, group) = p.kernel.thread(tid as u32).ok_or(Errno::ESRCH)?;
    if tgid.is_some_and(|tgid| tgid as u32 != pid) {
        return Err(Errno::ESRCH);
    }
    let signal = signal_number(signal)?;
    send(p, &group, Some(tid as u32), signal, Cause::Tkill(p.pid()))?;
    Ok(0)
}

/// `rt_sigqueueinfo(tgid, signal, info)`, and `rt_tgsigqueueinfo(tgid,
/// tid, signal, info)` (`tid` given): `signal` with the `siginfo` at
/// `info` (its `si_code`, `si_pid`, `si_uid` and `si_value`; what
/// `sigqueue` sends). As on Linux, a process may not pretend to be the
/// kernel or `tkill` towards another (`si_code` >= 0 or `SI_TKILL`:
/// `EPERM`).
pub fn sigqueueinfo(
    p: &mut Process,
    tgid: u64,
    tid: Option<u64>,
    signal: u64,
    info: u64,
) -> SysResult {
    const SI_TKILL: i32 = -6;
    let mut raw = [0u8; signal::SIGINFO_SIZE];
    p.memory()
        .space
        .read_bytes(info, &mut raw)
        .map_err(|_| Errno::EFAULT)?;
    let word = |at: usize| u32::from_le_bytes([raw[at], raw[at + 1], raw[at + 2], raw[at + 3]]);
    let code = word(8) as i32;
    let (tgid, tid) = (tgid as i32, tid.map(|tid| tid as i32));
    if tgid <= 0 || tid.is_some_and(|tid| tid <= 0) {
        return Err(Errno::EINVAL);
    }
    // Linux compares the target (the thread for rt_tgsigqueueinfo) with
    // the calling thread, before it looks the target up.
    if (code >= 0 || code == SI_TKILL) && tid.unwrap_or(tgid) as u32 != p.tid {
        return Err(Errno::EPERM);
    }
    let signal = signal_number(signal)?;
    let (group, tid) = match tid {
        Some(tid) => {
            let (pid, group) = p.kernel.thread(tid as u32).ok_or(Errno::ESRCH)?;
            if pid != tgid as u32 {
                return Err(Errno::ESRCH);
            }
            (group, Some(tid as u32))
        }
        None => match p.kernel.process(tgid as u32)? {
            Some(group) => (group, None),
            // A zombie takes the signal and ignores it.
            None => return Ok(0),
        },
    };
    let mut value = [0u8; 8];
    value.copy_from_slice(&raw[24..32]);
    let cause = Cause::Queue {
        code,
        pid: word(16),
        uid: word(20),
        value: u64::from_le_bytes(value),
    };
    send(p, &group, tid, signal, cause)?;
    Ok(0)
}

/// Sends `signal` from the kernel (`SI_KERNEL`) to every process of group
/// `pgid`: what the terminal does for Ctrl-C (`SIGINT`), Ctrl-\
/// (`SIGQUIT`) and Ctrl-Z (`SIGTSTP`). Processes that cannot take it any
/// more are skipped.
pub fn signal_group_from_kernel(kernel: &Kernel, pgid: u32, signal: u8) {
    for pid in kernel.group_members(pgid) {
        if let Ok(Some(group)) = kernel.process(pid)
            && let Ok(sent) = signal::send_to(&group, None, signal, Cause::Kernel)
        {
            signal::settle_sent(kernel, &group, sent);
        }
    }
}
