//! Process groups, sessions and waiting for children: `setpgid`,
//! `getpgid`, `getpgrp`, `setsid`, `getsid`, `wait4` and `waitid`.
//!
//! The groups and sessions live in the kernel's process table; this module
//! decodes the arguments the way Linux does.

use crate::clock;
use crate::kernel::{Ended, Event, WaitFor, Waited, Which};
use crate::process::Process;
use vessel_linux::{Errno, SysResult};
use vessel_std::os::user::Fault;

fn efault(_: Fault) -> Errno {
    Errno::EFAULT
}

/// `__WNOTHREAD`, `__WCLONE`, `__WALL`: options both waits accept.
const WNOTHREAD: u64 = 0x2000_0000;
const WALL: u64 = 0x4000_0000;
const WCLONE: u64 = 0x8000_0000;
const WNOHANG: u64 = 1;

/// A pid argument (a C int) that names the caller's own process when 0 or
/// its own thread id.
fn target(p: &Process, pid: u64) -> Result<u32, Errno> {
    match pid as i32 {
        0 => Ok(p.pid()),
        pid if pid < 0 => Err(Errno::ESRCH),
        pid if pid as u32 == p.tid => Ok(p.pid()),
        pid => Ok(pid as u32),
    }
}

pub fn setpgid(p: &mut Process, pid: u64, pgid: u64) -> SysResult {
    let pid = match pid as i32 {
        0 => p.pid() as i32,
        pid => pid,
    };
    let pgid = match pgid as i32 {
        0 => pid,
        pgid => pgid,
    };
    if pgid < 0 {
        return Err(Errno::EINVAL);
    }
    if pid < 0 {
        return Err(Errno::ESRCH);
    }
    if pid as u32 == p.tid && p.tid != p.pid() {
        // The caller's own thread, not the thread group's leader.
        return Err(Errno::EINVAL);
    }
    p.kernel.set_pgid(p.pid(), pid as u32, pgid as u32)?;
    Ok(0)
}

pub fn getpgid(p: &mut Process, pid: u64) -> SysResult {
    let pid = target(p, pid)?;
    p.kernel.pgid(pid).map(|pgid| pgid as usize)
}

pub fn getsid(p: &mut Process, pid: u64) -> SysResult {
    let pid = target(p, pid)?;
    p.kernel.sid(pid).map(|sid| sid as usize)
}

pub fn setsid(p: &mut Process) -> SysResult {
    p.kernel.set_sid(p.pid()).map(|sid| sid as usize)
}

/// Adds a reaped child's usage to the caller's `RUSAGE_CHILDREN`.
fn reaped(p: &Process, waited: &Waited) {
    p.group
        .children
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .add(waited.usage);
}

/// Writes `waited`'s usage as a `struct rusage` at `ru`, if not null.
fn write_rusage(p: &Process, ru: u64, waited: &Waited) -> Result<(), Errno> {
    if ru != 0 {
        p.memory()
            .space
            .write_bytes(ru, &clock::rusage(waited.usage))
            .map_err(efault)?;
    }
    Ok(())
}

/// `wait4(pid, status, options, rusage)`: `pid` > 0 that child, -1 any,
/// 0 any in the caller's process group, < -1 any in group `-pid`.
pub fn wait4(p: &mut Process, pid: u64, status: u64, options: u64, ru: u64) -> SysResult {
    const WUNTRACED: u64 = 2;
    const WCONTINUED: u64 = 8;
    if options & !(WNOHANG | WUNTRACED | WCONTINUED | WNOTHREAD | WCLONE | WALL) != 0 {
        return Err(Errno::EINVAL);
    }
    let which = match pid as i32 {
        i32::MIN => return Err(Errno::ESRCH),
        -1 => Which::Any,
        0 => Which::Group(p.kernel.pgid(p.pid())?),
        pid if pid < 0 => Which::Group(pid.unsigned_abs()),
        pid => Which::Pid(pid as u32),
    };
    if options & (WCLONE | WALL) == WCLONE {
        // Only children that report their end with another signal than
        // SIGCHLD: there are none (every child here uses SIGCHLD).
        return Err(Errno::ECHILD);
    }
    let wait_for = WaitFor {
        exited: true,
        stopped: options & WUNTRACED != 0,
        continued: options & WCONTINUED != 0,
    };
    let Some(waited) = p
        .kernel
        .wait(p.pid(), which, options & WNOHANG != 0, true, wait_for)?
    else {
        return Ok(0);
    };
    if matches!(waited.event, Event::Ended(_)) {
        reaped(p, &waited);
    }
    if status != 0 {
        p.memory()
            .space
            .write_bytes(status, &waited.event.wait_status().to_le_bytes())
            .map_err(efault)?;
    }
    write_rusage(p, ru, &waited)?;
    Ok(waited.pid as usize)
}

/// `waitid(idtype, id, infop, options, rusage)` for `P_ALL`, `P_PID` and
/// `P_PGID`, with `WEXITED`, `WSTOPPED`, `WCONTINUED`, `WNOHANG` and
/// `WNOWAIT`; the `siginfo_t` gets the fields Linux writes (signal, errno,
/// code, pid, uid, status).
pub fn waitid(
    p: &mut Process,
    idtype: u64,
    id: u64,
    infop: u64,
    options: u64,
    ru: u64,
) -> SysResult {
    const SIGCHLD: i32 = 17;
    const SIGCONT: i32 = 18;
    const CLD_EXITED: i32 = 1;
    const CLD_KILLED: i32 = 2;
    const CLD_STOPPED: i32 = 5;
    const CLD_CONTINUED: i32 = 6;
    // Whatever happens, Linux then writes these siginfo fields (zeros
    // unless a child was found), and a bad `infop` makes it EFAULT.
    let found = wait_id(p, idtype, id, options, ru);
    let (head, tail) = match &found {
        Ok(Some(waited)) => {
            let (code, status) = match waited.event {
                Event::Ended(Ended::Exited(code)) => (CLD_EXITED, i32::from(code)),
                Event::Ended(Ended::Signaled(signal)) => (CLD_KILLED, i32::from(signal)),
                Event::Stopped(signal) => (CLD_STOPPED, i32::from(signal)),
                Event::Continued => (CLD_CONTINUED, SIGCONT),
            };
            ([SIGCHLD, 0, code], [waited.pid as i32, 0, status])
        }
        _ => ([0; 3], [0; 3]),
    };
    if infop != 0 {
        // si_signo, si_errno, si_code; then si_pid, si_uid, si_status.
        let bytes = |words: [i32; 3]| {
            let mut b = [0u8; 12];
            for (i, w) in words.iter().enumerate() {
                b[i * 4..i * 4 + 4].copy_from_slice(&w.to_le_bytes());
            }
            b
        };
        let memory = p.memory();
        memory
            .space
            .write_bytes(infop, &bytes(head))
            .map_err(efault)?;
        memory
            .space
            .write_bytes(infop.wrapping_add(16), &bytes(tail))
            .map_err(efault)?;
    }
    found.map(|_| 0)
}

/// The waiting part of `waitid`: the child found, if any (and its rusage
/// written).
fn wait_id(
    p: &mut Process,
    idtype: u64,
    id: u64,
    options: u64,
    ru: u64,
) -> Result<Option<Waited>, Errno> {
    const WSTOPPED: u64 = 2;
    const WEXITED: u64 = 4;
    const WCONTINUED: u64 = 8;
    const WNOWAIT: u64 = 0x0100_0000;
    const P_ALL: i32 = 0;
    const P_PID: i32 = 1;
    const P_PGID: i32 = 2;
    const P_PIDFD: i32 = 3;
    let known = WNOHANG | WNOWAIT | WEXITED | WSTOPPED | WCONTINUED | WNOTHREAD | WCLONE | WALL;
    if options & !known != 0 || options & (WEXITED | WSTOPPED | WCONTINUED) == 0 {
        return Err(Errno::EINVAL);
    }
    let id = id as i32;
    let which = match idtype as i32 {
        P_ALL => Which::Any,
        P_PID if id <= 0 => return Err(Errno::EINVAL),
        P_PID => Which::Pid(id as u32),
        P_PGID if id < 0 => return Err(Errno::EINVAL),
        P_PGID if id == 0 => Which::Group(p.kernel.pgid(p.pid())?),
        P_PGID => Which::Group(id as u32),
        P_PIDFD => {
            // No descriptor is a pidfd.
            p.fds().get(id as u32 as u64)?;
            return Err(Errno::EINVAL);
        }
        _ => return Err(Errno::EINVAL),
    };
    if options & (WCLONE | WALL) == WCLONE {
        return Err(Errno::ECHILD);
    }
    let reap = options & WNOWAIT == 0;
    let wait_for = WaitFor {
        exited: options & WEXITED != 0,
        stopped: options & WSTOPPED != 0,
        continued: options & WCONTINUED != 0,
    };
    let waited = p
        .kernel
        .wait(p.pid(), which, options & WNOHANG != 0, reap, wait_for)?;
    if let Some(waited) = &waited {
        if reap && matches!(waited.event, Event::Ended(_)) {
            reaped(p, waited);
        }
        write_rusage(p, ru, waited)?;
    }
    Ok(waited)
}
