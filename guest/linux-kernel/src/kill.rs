//! Sending signals: `kill` (to a process, a process group, or every
//! process), `tkill` and `tgkill` (to a thread), with Linux's errors.
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
