//! Signal dispositions, masks and delivery to handlers: `rt_sigaction`,
//! `rt_sigprocmask`, the x86-64 signal frame and `rt_sigreturn`.
//!
//! Signals a thread raises for itself (`kill`/`tkill`/`tgkill` of its own
//! process, `SIGPIPE`, CPU exceptions) are delivered when it next returns
//! to user mode; a blocked signal stays pending until it is unblocked.
//! Signals between processes, `SA_ONSTACK` (handlers run on the current
//! stack) and stop/continue are not implemented.

use crate::kernel::Ended;
use crate::process::Process;
use vessel_linux::Errno;
use vessel_std::os::user::FPU_IMAGE_SIZE;

/// `SIGKILL`: cannot be caught, blocked or ignored.
pub const SIGKILL: u8 = 9;
/// `SIGSEGV`: a bad memory access (and a bad signal frame).
pub const SIGSEGV: u8 = 11;
/// `SIGPIPE`: a write to a pipe nobody reads.
pub const SIGPIPE: u8 = 13;
/// `SIGSTOP`: cannot be caught, blocked or ignored.
const SIGSTOP: u8 = 19;

/// `sa_handler` value: the default action.
const SIG_DFL: u64 = 0;
/// `sa_handler` value: ignore the signal.
const SIG_IGN: u64 = 1;
/// `sa_flags`: `sa_restorer` is set (musl and glibc always set it).
const SA_RESTORER: u64 = 0x0400_0000;
/// `sa_flags`: do not block the signal while its handler runs.
const SA_NODEFER: u64 = 0x4000_0000;
/// `sa_flags`: restore the default action on entry to the handler.
const SA_RESETHAND: u64 = 0x8000_0000;

/// Highest signal number.
const NSIG: u64 = 64;
/// Size of the `struct sigaction` the kernel reads and writes.
const SIGACTION_SIZE: usize = 32;

/// What a signal does when it arrives (`struct sigaction`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Action {
    handler: u64,
    flags: u64,
    restorer: u64,
    mask: u64,
}

impl Action {
    fn from_bytes(b: &[u8; SIGACTION_SIZE]) -> Self {
        let word = |i: usize| u64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]));
        Self {
            handler: word(0),
            flags: word(1),
            restorer: word(2),
            mask: word(3),
        }
    }

    fn to_bytes(self) -> [u8; SIGACTION_SIZE] {
        let mut b = [0; SIGACTION_SIZE];
        for (i, w) in [self.handler, self.flags, self.restorer, self.mask]
            .into_iter()
            .enumerate()
        {
            b[i * 8..i * 8 + 8].copy_from_slice(&w.to_le_bytes());
        }
        b
    }
}

/// The dispositions of a process's 64 signals.
#[derive(Clone, Debug)]
pub struct Actions([Action; NSIG as usize]);

impl Default for Actions {
    fn default() -> Self {
        Self([Action::default(); NSIG as usize])
    }
}

impl Actions {
    fn get(&self, signal: u8) -> Action {
        self.0[usize::from(signal - 1)]
    }

    /// What `execve` keeps: ignored signals stay ignored, handlers reset.
    pub fn after_exec(&self) -> Self {
        let mut next = Self::default();
        for (new, old) in next.0.iter_mut().zip(self.0.iter()) {
            if old.handler == SIG_IGN {
                new.handler = SIG_IGN;
            }
        }
        next
    }
}

/// The bit of `signal` in a signal set.
fn bit(signal: u8) -> u64 {
    1 << (signal - 1)
}

/// Signals that can never be blocked.
const UNBLOCKABLE: u64 = (1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1));

/// Whether the default action of `signal` is to do nothing.
fn ignored_by_default(signal: u8) -> bool {
    // SIGCHLD, SIGCONT, SIGURG, SIGWINCH.
    matches!(signal, 17 | 18 | 23 | 28)
}

/// A signal number from a system call argument (1..=64).
pub fn number(signal: u64) -> Result<u8, Errno> {
    match signal {
        1..=NSIG => Ok(signal as u8),
        _ => Err(Errno::EINVAL),
    }
}

/// Why a signal is raised: the `si_code` and the address or sender.
#[derive(Clone, Copy, Debug)]
pub enum Cause {
    /// `kill` (`SI_USER`) from this pid.
    Kill(u32),
    /// `tkill`/`tgkill` (`SI_TKILL`) from this pid.
    Tkill(u32),
    /// The kernel (`SIGPIPE`).
    Kernel,
    /// A CPU exception with this `si_code` at this address.
    Fault { code: i32, address: u64 },
}

/// A signal raised for a thread, waiting for delivery.
#[derive(Clone, Copy, Debug)]
pub struct Pending {
    signal: u8,
    cause: Cause,
}

/// The per-thread signal state.
#[derive(Clone, Debug, Default)]
pub struct ThreadSignals {
    /// Blocked signals.
    pub mask: u64,
    /// Raised and not yet delivered (at most one of each signal).
    pending: alloc::vec::Vec<Pending>,
}

impl ThreadSignals {
    /// A new thread's: the creator's mask, nothing pending.
    pub fn inherit(&self) -> Self {
        Self {
            mask: self.mask,
            pending: alloc::vec::Vec::new(),
        }
    }
}

/// `rt_sigaction(signal, act, oldact, sigsetsize)`.
pub fn sigaction(
    p: &mut Process,
    signal: u64,
    act: u64,
    old: u64,
    size: u64,
) -> Result<usize, Errno> {
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    let signal = number(signal)?;
    let new = if act != 0 {
        let mut b = [0; SIGACTION_SIZE];
        p.memory()
            .space
            .read_bytes(act, &mut b)
            .map_err(|_| Errno::EFAULT)?;
        if signal == SIGKILL || signal == SIGSTOP {
            return Err(Errno::EINVAL);
        }
        Some(Action::from_bytes(&b))
    } else {
        None
    };
    let previous = {
        let mut actions = p.group.actions();
        let previous = actions.get(signal);
        if let Some(mut new) = new {
            new.mask &= !UNBLOCKABLE;
            actions.0[usize::from(signal - 1)] = new;
        }
        previous
    };
    if old != 0 {
        p.memory()
            .space
            .write_bytes(old, &previous.to_bytes())
            .map_err(|_| Errno::EFAULT)?;
    }
    Ok(0)
}

/// `rt_sigprocmask(how, set, oldset, sigsetsize)`.
pub fn sigprocmask(
    p: &mut Process,
    how: u64,
    set: u64,
    old: u64,
    size: u64,
) -> Result<usize, Errno> {
    const SIG_BLOCK: u64 = 0;
    const SIG_UNBLOCK: u64 = 1;
    const SIG_SETMASK: u64 = 2;
    if size != 8 {
        return Err(Errno::EINVAL);
    }
    let previous = p.signals.mask;
    if set != 0 {
        let mut b = [0; 8];
        p.memory()
            .space
            .read_bytes(set, &mut b)
            .map_err(|_| Errno::EFAULT)?;
        let set = u64::from_le_bytes(b);
        let mask = match how {
            SIG_BLOCK => previous | set,
            SIG_UNBLOCK => previous & !set,
            SIG_SETMASK => set,
            _ => return Err(Errno::EINVAL),
        };
        p.signals.mask = mask & !UNBLOCKABLE;
    }
    if old != 0 {
        p.memory()
            .space
            .write_bytes(old, &previous.to_le_bytes())
            .map_err(|_| Errno::EFAULT)?;
    }
    Ok(0)
}

/// Raises `signal` for the calling thread; it is delivered by [`deliver`]
/// on the way back to user mode unless blocked.
pub fn raise(p: &mut Process, signal: u8, cause: Cause) {
    if !p.signals.pending.iter().any(|q| q.signal == signal) {
        p.signals.pending.push(Pending { signal, cause });
    }
}

/// Delivers the unblocked pending signals: ignored ones vanish, a default
/// action that ends the process is returned, a handler gets a frame on the
/// user stack (the thread resumes in it).
pub fn deliver(p: &mut Process) -> Option<Ended> {
    while let Some(i) = p
        .signals
        .pending
        .iter()
        .position(|q| q.signal == SIGKILL || p.signals.mask & bit(q.signal) == 0)
    {
        let Pending { signal, cause } = p.signals.pending.remove(i);
        let action = p.group.actions().get(signal);
        match action.handler {
            SIG_IGN if signal != SIGKILL => {}
            SIG_DFL if ignored_by_default(signal) => {}
            SIG_DFL | SIG_IGN => return Some(Ended::Signaled(signal)),
            handler => {
                if enter_handler(p, signal, cause, action, handler).is_err() {
                    // No room for the frame: Linux kills with SIGSEGV.
                    return Some(Ended::Signaled(SIGSEGV));
                }
                if action.flags & SA_RESETHAND != 0 {
                    p.group.actions().0[usize::from(signal - 1)] = Action::default();
                }
            }
        }
    }
    None
}

/// Whether a fault's signal would run a handler (else it ends the process
/// at once, without being queued behind other signals).
pub fn is_caught(p: &Process, signal: u8) -> bool {
    let handler = p.group.actions().get(signal).handler;
    handler != SIG_DFL && handler != SIG_IGN && p.signals.mask & bit(signal) == 0
}

// The x86-64 `rt_sigframe`: the return address (sa_restorer), the
// `ucontext` and the `siginfo`, with the FXSAVE image below them.
/// Offset of `struct ucontext` in the frame.
const UC: usize = 8;
/// Offset of `uc_mcontext` (`struct sigcontext`) in the ucontext.
const MCONTEXT: usize = 40;
/// Offset of `uc_sigmask` in the ucontext.
const SIGMASK: usize = MCONTEXT + 256;
/// Size of the kernel's `struct ucontext`.
const UCONTEXT_SIZE: usize = SIGMASK + 8;
/// Offset of `siginfo` in the frame.
const SIGINFO: usize = UC + UCONTEXT_SIZE;
/// Size of the frame above the FPU image.
const FRAME_SIZE: usize = SIGINFO + 128;
/// Bytes below the interrupted stack pointer that belong to it.
const RED_ZONE: u64 = 128;

/// The sigcontext registers, in `struct sigcontext` order.
fn registers(p: &Process) -> [u64; 18] {
    let c = &p.ctx;
    [
        c.r8, c.r9, c.r10, c.r11, c.r12, c.r13, c.r14, c.r15, c.rdi, c.rsi, c.rbp, c.rbx, c.rdx,
        c.rax, c.rcx, c.rsp, c.rip, c.rflags,
    ]
}

fn set_registers(p: &mut Process, r: &[u64; 18]) {
    let c = &mut p.ctx;
    [
        c.r8, c.r9, c.r10, c.r11, c.r12, c.r13, c.r14, c.r15, c.rdi, c.rsi, c.rbp, c.rbx, c.rdx,
        c.rax, c.rcx, c.rsp, c.rip, c.rflags,
    ] = *r;
}

fn put(frame: &mut [u8], at: usize, value: u64) {
    frame[at..at + 8].copy_from_slice(&value.to_le_bytes());
}

fn put32(frame: &mut [u8], at: usize, value: i32) {
    frame[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

fn get(frame: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(frame[at..at + 8].try_into().unwrap_or([0; 8]))
}

/// Builds the signal frame on the user stack and points the thread at
/// the handler.
fn enter_handler(
    p: &mut Process,
    signal: u8,
    cause: Cause,
    action: Action,
    handler: u64,
) -> Result<(), Errno> {
    let fpstate = p
        .ctx
        .rsp
        .checked_sub(RED_ZONE + FPU_IMAGE_SIZE as u64)
        .ok_or(Errno::EFAULT)?
        & !63;
    let frame_at = (fpstate
        .checked_sub(FRAME_SIZE as u64)
        .ok_or(Errno::EFAULT)?
        & !15)
        .checked_sub(8)
        .ok_or(Errno::EFAULT)?;

    let mut frame = alloc::vec![0u8; FRAME_SIZE];
    put(
        &mut frame,
        0,
        if action.flags & SA_RESTORER != 0 {
            action.restorer
        } else {
            0
        },
    );
    let mc = UC + MCONTEXT;
    for (i, value) in registers(p).into_iter().enumerate() {
        put(&mut frame, mc + i * 8, value);
    }
    // cs, gs, fs, ss (16 bits each) at 144: the user selectors.
    frame[mc + 144..mc + 146].copy_from_slice(&0x33u16.to_le_bytes());
    frame[mc + 150..mc + 152].copy_from_slice(&0x2bu16.to_le_bytes());
    put(&mut frame, mc + 168, p.signals.mask); // oldmask
    put(&mut frame, mc + 184, fpstate);
    put(&mut frame, UC + SIGMASK, p.signals.mask);

    put32(&mut frame, SIGINFO, i32::from(signal));
    let (code, word) = match cause {
        Cause::Kill(pid) => (0, u64::from(pid)),
        Cause::Tkill(pid) => (-6, u64::from(pid)),
        Cause::Kernel => (0x80, 0),
        Cause::Fault { code, address } => (code, address),
    };
    put32(&mut frame, SIGINFO + 8, code);
    put(&mut frame, SIGINFO + 16, word);
    if let Cause::Fault { address, .. } = cause {
        put(&mut frame, mc + 176, address); // cr2
    }

    {
        let memory = p.memory();
        memory
            .space
            .write_bytes(fpstate, &p.ctx.fpu_image())
            .map_err(|_| Errno::EFAULT)?;
        memory
            .space
            .write_bytes(frame_at, &frame)
            .map_err(|_| Errno::EFAULT)?;
    }
    p.signals.mask |= action.mask
        | if action.flags & SA_NODEFER != 0 {
            0
        } else {
            bit(signal)
        };
    p.signals.mask &= !UNBLOCKABLE;
    let c = &mut p.ctx;
    c.rsp = frame_at;
    c.rip = handler;
    c.rdi = u64::from(signal);
    c.rsi = frame_at + SIGINFO as u64;
    c.rdx = frame_at + UC as u64;
    c.rax = 0;
    Ok(())
}

/// `rt_sigreturn`: restores the registers, mask and FPU state the frame at
/// the stack pointer saved. A frame that cannot be read kills with SIGSEGV.
pub fn sigreturn(p: &mut Process) -> Option<Ended> {
    // The handler's `ret` popped the return address: rsp is the ucontext.
    let uc_at = p.ctx.rsp;
    let mut uc = [0u8; UCONTEXT_SIZE];
    let mut fpu = [0u8; FPU_IMAGE_SIZE];
    let read = {
        let memory = p.memory();
        memory.space.read_bytes(uc_at, &mut uc).and_then(|()| {
            let fpstate = get(&uc, MCONTEXT + 184);
            if fpstate == 0 {
                Ok(false)
            } else {
                memory.space.read_bytes(fpstate, &mut fpu).map(|()| true)
            }
        })
    };
    let Ok(has_fpu) = read else {
        return Some(Ended::Signaled(SIGSEGV));
    };
    let mut r = [0u64; 18];
    for (i, value) in r.iter_mut().enumerate() {
        *value = get(&uc, MCONTEXT + i * 8);
    }
    set_registers(p, &r);
    if has_fpu {
        p.ctx.set_fpu_image(&fpu);
    }
    p.signals.mask = get(&uc, SIGMASK) & !UNBLOCKABLE;
    deliver(p)
}

/// The `si_code` Linux reports with the signal of CPU exception `vector`.
pub fn fault_code(vector: u8, error_code: u64) -> i32 {
    match vector {
        0 => 1,                         // FPE_INTDIV
        6 => 2,                         // ILL_ILLOPN
        14 if error_code & 1 != 0 => 2, // SEGV_ACCERR
        14 => 1,                        // SEGV_MAPERR
        _ => 0x80,                      // SI_KERNEL
    }
}
