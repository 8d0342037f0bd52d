//! Futexes: `futex` (waits and wakes, keyed by the memory a word is in)
//! and robust futex lists (`set_robust_list`, `get_robust_list`, and the
//! walk that marks the locks a thread still holds when it ends).

use crate::clock;
use crate::process::Process;
use crate::signal;
use vessel_linux::{Errno, SysResult};
use vessel_std::os::user::UserSpace;

/// `futex`: WAIT and WAKE (and their BITSET forms, bitsets ignored), on
/// words of this process's memory; the private flag changes nothing
/// (every futex here is private to the memory it is in: the threads and
/// the `CLONE_VM` children that share it share it).
/// `futex(addr, op, value, timeout or value2, addr2, value3)`.
pub fn futex(
    p: &mut Process,
    addr: u64,
    op: u64,
    value: u64,
    timeout: u64,
    value3: u64,
) -> SysResult {
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
    let key = (p.futex_space(), addr);
    match op & FUTEX_CMD_MASK {
        FUTEX_WAIT | FUTEX_WAIT_BITSET => {
            let deadline = if timeout == 0 {
                None
            } else {
                let mut timespec = [0u8; 16];
                p.memory()
                    .space
                    .read_bytes(timeout, &mut timespec)
                    .map_err(|_| Errno::EFAULT)?;
                let secs = u64::from_le_bytes(timespec[..8].try_into().unwrap_or_default());
                let nanos = u64::from_le_bytes(timespec[8..].try_into().unwrap_or_default());
                let span = core::time::Duration::new(secs, nanos.min(999_999_999) as u32);
                // WAIT takes a relative timeout; WAIT_BITSET an absolute
                // one on the monotonic clock.
                let now = vessel_std::time::Instant::now();
                Some(if op & FUTEX_CMD_MASK == FUTEX_WAIT {
                    now + span
                } else {
                    now + span.saturating_sub(clock::monotonic(p))
                })
            };
            let expected = value as u32;
            let waited =
                p.kernel
                    .futex_wait(key, || Ok(futex_word(p, addr)? == expected), deadline);
            match waited {
                // A timed wait is not restarted after a handler (Linux
                // resumes it with the time left if no handler ran; here
                // it waits its whole timeout again).
                Err(Errno::ERESTART) if deadline.is_some() => {
                    Err(signal::interrupted(p, signal::Restart::NoHandler))
                }
                other => other.map(|()| 0),
            }
        }
        FUTEX_WAKE | FUTEX_WAKE_BITSET => Ok(p.kernel.futex_wake(key.0, addr, value as u32)),
        FUTEX_REQUEUE | FUTEX_CMP_REQUEUE => {
            // Waiters that Linux would move to the second futex are woken
            // instead: to them it is a spurious wake-up, which every futex
            // user must handle (they re-check and wait again).
            let command = op & FUTEX_CMD_MASK;
            if command == FUTEX_CMP_REQUEUE && futex_word(p, addr)? != value3 as u32 {
                return Err(Errno::EAGAIN);
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

/// The futex word at `addr` in the process's memory (`EFAULT` if
/// unreadable).
fn futex_word(p: &Process, addr: u64) -> Result<u32, Errno> {
    read_u32(&p.memory().space, addr).ok_or(Errno::EFAULT)
}

fn read_u32(space: &UserSpace, at: u64) -> Option<u32> {
    let mut bytes = [0u8; 4];
    space.read_bytes(at, &mut bytes).ok()?;
    Some(u32::from_le_bytes(bytes))
}

/// `sizeof(struct robust_list_head)`: the list's first entry, the offset
/// from an entry to its futex word, and the entry being locked or
/// unlocked (`list_op_pending`).
const ROBUST_LIST_HEAD_SIZE: u64 = 24;
/// Most entries walked at a thread's end (Linux's `ROBUST_LIST_LIMIT`): a
/// cycle in the list cannot hang it.
const ROBUST_LIST_LIMIT: usize = 2048;
/// Futex word bit: threads wait for the lock.
const FUTEX_WAITERS: u32 = 0x8000_0000;
/// Futex word bit: the owner ended holding the lock.
const FUTEX_OWNER_DIED: u32 = 0x4000_0000;
/// Futex word bits: the owner's thread id.
const FUTEX_TID_MASK: u32 = 0x3fff_ffff;

/// `set_robust_list(head, len)`: the calling thread's list of robust
/// futexes (read only when the thread ends or calls `execve`); `EINVAL`
/// unless `len` is the size of the list head.
pub fn set_robust_list(p: &mut Process, head: u64, len: u64) -> SysResult {
    if len != ROBUST_LIST_HEAD_SIZE {
        return Err(Errno::EINVAL);
    }
    p.kernel.set_robust_list(p.tid, head);
    Ok(0)
}

/// `get_robust_list(tid, head_ptr, len_ptr)`: the list of thread `tid` (0:
/// the caller), of any process (every process is root here); `ESRCH` if
/// there is no such thread.
pub fn get_robust_list(p: &mut Process, tid: u64, head_ptr: u64, len_ptr: u64) -> SysResult {
    let head = match tid as i32 {
        0 => p.kernel.robust_list(p.tid)?,
        tid if tid < 0 => return Err(Errno::ESRCH),
        tid => p.kernel.robust_list(tid as u32)?,
    };
    let space = p.memory().space.clone();
    space
        .write_bytes(len_ptr, &ROBUST_LIST_HEAD_SIZE.to_le_bytes())
        .and_then(|()| space.write_bytes(head_ptr, &head.to_le_bytes()))
        .map_err(|_| Errno::EFAULT)?;
    Ok(0)
}

/// An entry pointer of a robust list: the address (an entry's `next`
/// field) and whether its futex is a priority-inheritance one (bit 0).
fn robust_entry(space: &UserSpace, at: u64) -> Option<(u64, bool)> {
    let word = read_u64(space, at)?;
    Some((word & !1, word & 1 != 0))
}

fn read_u64(space: &UserSpace, at: u64) -> Option<u64> {
    let mut bytes = [0u8; 8];
    space.read_bytes(at, &mut bytes).ok()?;
    Some(u64::from_le_bytes(bytes))
}

/// Marks the robust futexes the calling thread still holds as abandoned,
/// as it ends or calls `execve` (Linux's `exit_robust_list`), and forgets
/// its list. The walk stops at the first unreadable pointer or futex word
/// (the entry being locked or unlocked is then left alone) and after
/// [`ROBUST_LIST_LIMIT`] entries; that entry is handled last.
pub fn exit_robust_list(p: &Process) {
    let Ok(head) = p.kernel.robust_list(p.tid) else {
        return;
    };
    if head == 0 {
        return;
    }
    p.kernel.set_robust_list(p.tid, 0);
    let space = p.memory().space.clone();
    let (Some(mut entry), Some(offset), Some(pending)) = (
        robust_entry(&space, head),
        read_u64(&space, head.wrapping_add(8)),
        robust_entry(&space, head.wrapping_add(16)),
    ) else {
        return;
    };
    let mut limit = ROBUST_LIST_LIMIT;
    while entry.0 != head {
        let next = robust_entry(&space, entry.0);
        if entry.0 != pending.0
            && futex_death(p, &space, entry.0.wrapping_add(offset), entry.1, false).is_none()
        {
            return;
        }
        let Some(next) = next else {
            return;
        };
        entry = next;
        limit -= 1;
        if limit == 0 {
            break;
        }
    }
    if pending.0 != 0 {
        let _ = futex_death(p, &space, pending.0.wrapping_add(offset), pending.1, true);
    }
}

/// Marks the futex word at `addr` abandoned if the calling thread owns it
/// (Linux's `handle_futex_death`): its owner cleared, `FUTEX_OWNER_DIED`
/// set, `FUTEX_WAITERS` kept, and one waiter woken (a
/// priority-inheritance futex's waiters are not: there are none here). A
/// `pending` word already unlocked (0) may have lost its wake-up to the
/// ending thread: one waiter is woken. `None` if the word is misaligned,
/// unreadable, or, when it should change, not writable.
fn futex_death(p: &Process, space: &UserSpace, addr: u64, pi: bool, pending: bool) -> Option<()> {
    if !addr.is_multiple_of(4) {
        return None;
    }
    let wake = || {
        p.kernel.futex_wake(p.futex_space(), addr, 1);
    };
    let word = loop {
        let word = read_u32(space, addr)?;
        if pending && !pi && word == 0 {
            wake();
            return Some(());
        }
        if word & FUTEX_TID_MASK != p.tid {
            return Some(());
        }
        let died = (word & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
        // Not writable: None; changed meanwhile: look again.
        if space.compare_exchange_u32(addr, word, died).ok()?.is_ok() {
            break word;
        }
    };
    if !pi && word & FUTEX_WAITERS != 0 {
        wake();
    }
    Some(())
}
