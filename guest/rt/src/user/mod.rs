//! User mode: running code in ring 3 in an address space of its own, in the
//! spirit of Asterinas OSTD's `UserMode`/`UserContext`.
//!
//! A kernel service owns a [`UserSpace`] (the lower half of a PML4 whose
//! upper half is the kernel's) and a [`UserContext`] (the user's registers),
//! and calls [`run_user`] in a loop. Each call enters ring 3 with IRETQ and
//! returns to its caller, on the caller's kernel stack, when the user code
//!
//! * makes a `syscall` ([`UserExit::Syscall`]; the registers are in the
//!   context, the service answers by editing `rax` and calling again),
//! * takes a CPU exception ([`UserExit::Fault`], with CR2 for a page fault),
//! * or is interrupted by the timer ([`UserExit::Interrupted`]; the
//!   scheduler may have run other tasks in between).
//!
//! Mechanism: the entry assembly pushes the callee-saved registers, records
//! the resulting stack pointer as the place to come back to (a static for
//! the single CPU, and TSS `rsp0`, so the CPU lands just below it on a trap
//! from ring 3), loads the user registers and IRETQs. `syscall` enters at
//! `vessel_syscall_entry` (MSR_LSTAR) with interrupts masked (MSR_FMASK),
//! switches to that stack, saves the user registers into the context and
//! "returns" from the entry function. Traps from ring 3 reach the ordinary
//! trap stubs, which see RPL 3 in the saved CS and jump to
//! `vessel_trap_from_user`: it copies the trap frame into the context and
//! returns the same way. Kernel traps are unchanged.
//!
//! The x87/SSE registers are saved in the context (FXSAVE) when user code
//! leaves and restored when it enters; the kernel is soft-float and never
//! touches them. [`UserSpace`] (in `space`) is the address-space half.

mod owners;
mod space;
mod tables;

pub use crate::user_entry::{Access, AccessKind};
pub use space::{Fault, FaultResolution, MapError, Mapping, UserSpace};

use crate::arch::cpu;
use crate::arch::gdt::{TSS, TSS_RSP0_OFFSET};
use crate::arch::trap::TrapFrame;
use core::fmt;
use core::mem::offset_of;
use x86_64::PhysAddr;
use x86_64::registers::control::{Cr3, Cr3Flags};
use x86_64::structures::paging::PhysFrame;

/// One past the highest user address (the lower canonical half).
pub const USER_END: u64 = 0x0000_8000_0000_0000;

const MSR_EFER: u32 = 0xc000_0080;
const MSR_STAR: u32 = 0xc000_0081;
const MSR_LSTAR: u32 = 0xc000_0082;
const MSR_FMASK: u32 = 0xc000_0084;
const MSR_FS_BASE: u32 = 0xc000_0100;
const EFER_SCE: u64 = 1;

/// User code selector (GDT entry 4, RPL 3).
const USER_CS: u64 = 0x23;
/// User data selector (GDT entry 3, RPL 3).
const USER_SS: u64 = 0x1b;

const RFLAGS_IF: u64 = 1 << 9;
/// Flags user code may set: CF, PF, AF, ZF, SF, DF, OF, AC. (Never IOPL,
/// NT, TF, VM or the like; IF is always set so the timer can preempt.)
const RFLAGS_USER: u64 = 0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x400 | 0x800 | (1 << 18);
/// RFLAGS bits SYSCALL clears: TF, DF, IF, IOPL, NT, AC.
const FMASK: u64 = 0x100 | 0x400 | 0x200 | 0x3000 | 0x4000 | 0x40000;

/// What `vessel_enter_user` returns when the user made a system call.
const EXIT_SYSCALL: u64 = 0;
/// What `vessel_enter_user` returns after a trap (vector in the context).
const EXIT_TRAP: u64 = 1;

/// The registers of a user thread.
#[repr(C)]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct UserContext {
    pub rax: u64,
    pub rbx: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rsi: u64,
    pub rdi: u64,
    pub rbp: u64,
    pub rsp: u64,
    pub r8: u64,
    pub r9: u64,
    pub r10: u64,
    pub r11: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
    pub rip: u64,
    pub rflags: u64,
    /// Base of the FS segment (thread-local storage).
    pub fs_base: u64,
    /// Filled by the trap path: vector, error code, CR2.
    trap_vector: u64,
    trap_error_code: u64,
    trap_address: u64,
    /// The x87/SSE registers of the thread, saved when it leaves user mode
    /// and restored when it enters it (the kernel itself never uses them).
    fpu: FpuState,
}

/// The FXSAVE image of the x87 and SSE registers.
#[repr(C, align(16))]
#[derive(Clone, PartialEq, Eq)]
struct FpuState([u8; FPU_IMAGE_SIZE]);

impl Default for FpuState {
    /// The state after `FNINIT` with SSE exceptions masked: FCW 0x037F,
    /// MXCSR 0x1F80, as Linux starts a program.
    fn default() -> Self {
        let mut image = [0u8; 512];
        image[0..2].copy_from_slice(&0x037fu16.to_le_bytes());
        image[24..28].copy_from_slice(&0x1f80u32.to_le_bytes());
        Self(image)
    }
}

impl fmt::Debug for FpuState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FpuState { .. }")
    }
}

impl UserContext {
    /// A context that starts at `rip` with stack pointer `rsp`, other
    /// registers zero.
    pub fn new(rip: u64, rsp: u64) -> Self {
        Self {
            rip,
            rsp,
            rflags: RFLAGS_IF,
            ..Self::default()
        }
    }

    /// The system call number (`rax`) and its six arguments (`rdi`, `rsi`,
    /// `rdx`, `r10`, `r8`, `r9`), as the Linux x86-64 ABI passes them.
    pub fn syscall_args(&self) -> (u64, [u64; 6]) {
        (
            self.rax,
            [self.rdi, self.rsi, self.rdx, self.r10, self.r8, self.r9],
        )
    }

    /// Sets the system call's return value (`rax`).
    pub fn set_syscall_return(&mut self, value: u64) {
        self.rax = value;
    }

    /// The thread's x87/SSE registers as an FXSAVE image (what a signal
    /// frame carries).
    pub fn fpu_image(&self) -> [u8; FPU_IMAGE_SIZE] {
        self.fpu.0
    }

    /// Replaces the thread's x87/SSE registers with an FXSAVE `image` from
    /// user memory. MXCSR bits the CPU does not support (which would make
    /// FXRSTOR fault in the kernel) are cleared.
    pub fn set_fpu_image(&mut self, image: &[u8; FPU_IMAGE_SIZE]) {
        // MXCSR_MASK as FXSAVE reported it for this CPU; zero means the
        // architectural default (every bit but DAZ).
        let reported = u32::from_le_bytes(self.fpu.0[28..32].try_into().unwrap_or([0; 4]));
        let supported = if reported == 0 { 0xffbf } else { reported };
        let mut image = *image;
        let mxcsr = u32::from_le_bytes(image[24..28].try_into().unwrap_or([0; 4])) & supported;
        image[24..28].copy_from_slice(&mxcsr.to_le_bytes());
        image[28..32].copy_from_slice(&self.fpu.0[28..32]);
        self.fpu = FpuState(image);
    }
}

/// Size of an FXSAVE image of the x87/SSE registers.
pub const FPU_IMAGE_SIZE: usize = 512;

/// Why [`run_user`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserExit {
    /// The user code executed `syscall`; `rip` is past the instruction.
    Syscall,
    /// A CPU exception in user mode; `rip` is the faulting instruction.
    Fault {
        /// The exception vector (14 for a page fault, 13 for #GP...).
        vector: u8,
        /// The error code the CPU pushed, or 0.
        error_code: u64,
        /// For a page fault, the faulting address (CR2); otherwise 0.
        address: u64,
    },
    /// An interrupt arrived (the timer's, or the host's input interrupt);
    /// the scheduler may have run other tasks.
    Interrupted,
}

/// Sets up the SYSCALL entry (MSR_STAR, LSTAR, FMASK; EFER.SCE).
pub(crate) fn init() {
    let star = (0x10u64 << 48) | (0x08u64 << 32);
    // SAFETY: these MSRs exist on every x86-64 CPU. STAR names the kernel
    // code selector (0x08, SS 0x10) and the user base 0x10 (SYSRET would
    // use SS 0x1b, CS 0x23), matching the GDT; LSTAR points at the entry
    // stub below, which switches to a kernel stack before touching memory;
    // FMASK clears IF so no interrupt arrives on the user stack. EFER.SCE
    // only enables the SYSCALL instruction.
    unsafe {
        cpu::write_msr(MSR_STAR, star);
        cpu::write_msr(MSR_LSTAR, vessel_syscall_entry as *const () as u64);
        cpu::write_msr(MSR_FMASK, FMASK);
        let efer = cpu::read_msr(MSR_EFER);
        cpu::write_msr(MSR_EFER, efer | EFER_SCE);
    }
}

/// Runs `ctx` in ring 3 in `space` until it makes a system call, faults or
/// is interrupted; see the module documentation.
///
/// A context whose `rip`, `rsp` or `fs_base` is not a lower-half address is
/// not entered: it is reported as a general-protection fault (vector 13).
pub fn run_user(space: &UserSpace, ctx: &mut UserContext) -> UserExit {
    if ctx.rip >= USER_END || ctx.rsp >= USER_END || ctx.fs_base >= USER_END {
        return UserExit::Fault {
            vector: 13,
            error_code: 0,
            address: 0,
        };
    }
    ctx.rflags = (ctx.rflags & RFLAGS_USER) | RFLAGS_IF | 0x2;
    let enabled = cpu::interrupts_enabled();
    cpu::disable_interrupts();
    let user_tables = PhysFrame::containing_address(PhysAddr::new(space.pml4()));
    let kernel_tables =
        PhysFrame::containing_address(PhysAddr::new(crate::arch::paging::kernel_pml4()));
    // SAFETY: FXRSTOR/FXSAVE read and write exactly the 512-byte, 16-byte
    // aligned FPU image inside `ctx` (an image FXSAVE made, or a valid
    // initial one with reserved MXCSR bits clear).
    // FS_BASE is not used by the kernel; the value is canonical
    // (checked above). The user tables map the kernel half exactly as the
    // kernel tables do (copied PML4 entries, global kernel pages), so every
    // kernel address stays valid while they are loaded, and `space`
    // outlives the call. `ctx` is a valid, exclusive context; the assembly
    // saves and restores the callee-saved registers and returns here with
    // interrupts disabled.
    let kind = unsafe {
        cpu::write_msr(MSR_FS_BASE, ctx.fs_base);
        Cr3::write(user_tables, Cr3Flags::empty());
        // The FPU/SSE registers are the thread's from here until the save
        // below; interrupts are off throughout, so no other task runs
        // in between, and the kernel (soft-float) never touches them.
        core::arch::asm!("fxrstor64 [{}]", in(reg) &raw const ctx.fpu, options(nostack, readonly));
        let kind = vessel_enter_user(ctx);
        core::arch::asm!("fxsave64 [{}]", in(reg) &raw mut ctx.fpu, options(nostack));
        Cr3::write(kernel_tables, Cr3Flags::empty());
        kind
    };
    let exit = if kind == EXIT_SYSCALL {
        UserExit::Syscall
    } else {
        let vector = ctx.trap_vector as u8;
        match vector {
            // An NMI: nothing to do but resume.
            2 => UserExit::Interrupted,
            v if v >= 32 && crate::arch::trap::interrupt(v) => UserExit::Interrupted,
            // Some hypervisors (kvm_pvm emulating a non-PVM guest) perform
            // SYSCALL's jump to LSTAR without the switch to ring 0, so the
            // fetch of the entry faults from ring 3. RCX and R11 hold what
            // SYSCALL saved; finish its job here. (User code that jumps to
            // the entry itself gets exactly what a SYSCALL would give it.)
            14 if ctx.rip == vessel_syscall_entry as *const () as u64 => {
                ctx.rip = ctx.rcx;
                ctx.rflags = ctx.r11;
                UserExit::Syscall
            }
            _ => UserExit::Fault {
                vector,
                error_code: ctx.trap_error_code,
                address: ctx.trap_address,
            },
        }
    };
    if enabled {
        cpu::enable_interrupts();
    }
    exit
}

/// Called by `vessel_trap_from_user` on the kernel stack, below the trap
/// frame, interrupts disabled: copies the frame into the running context.
extern "C" fn save_user_trap(frame: &TrapFrame, ctx: *mut UserContext) {
    // SAFETY: `ctx` is the context `run_user` passed to `vessel_enter_user`,
    // exclusively borrowed for the duration of that call, which has not
    // returned (the user code was running).
    let ctx = unsafe { &mut *ctx };
    ctx.rax = frame.rax;
    ctx.rbx = frame.rbx;
    ctx.rcx = frame.rcx;
    ctx.rdx = frame.rdx;
    ctx.rsi = frame.rsi;
    ctx.rdi = frame.rdi;
    ctx.rbp = frame.rbp;
    ctx.rsp = frame.rsp;
    ctx.r8 = frame.r8;
    ctx.r9 = frame.r9;
    ctx.r10 = frame.r10;
    ctx.r11 = frame.r11;
    ctx.r12 = frame.r12;
    ctx.r13 = frame.r13;
    ctx.r14 = frame.r14;
    ctx.r15 = frame.r15;
    ctx.rip = frame.rip;
    ctx.rflags = frame.rflags;
    ctx.trap_vector = frame.vector;
    ctx.trap_error_code = frame.error_code;
    ctx.trap_address = if frame.vector == 14 {
        cpu::page_fault_address()
    } else {
        0
    };
}

unsafe extern "C" {
    /// Enters ring 3 with the registers of `ctx`; returns EXIT_SYSCALL or
    /// EXIT_TRAP once the user code leaves, with its registers in `ctx`.
    fn vessel_enter_user(ctx: *mut UserContext) -> u64;
    fn vessel_syscall_entry();
}

core::arch::global_asm!(
    ".pushsection .bss",
    ".balign 8",
    // Kernel stack pointer to come back to (the slot holding the context
    // pointer, above the saved callee-saved registers). Single CPU.
    "vessel_user_kernel_rsp: .quad 0",
    // The user's RSP between SYSCALL and its save into the context.
    "vessel_user_scratch_rsp: .quad 0",
    ".popsection",
    ".pushsection .text",
    ".global vessel_enter_user",
    "vessel_enter_user:",
    "    push rbp",
    "    push rbx",
    "    push r12",
    "    push r13",
    "    push r14",
    "    push r15",
    "    push rdi",
    // RSP is now 16-byte aligned: the trap frame from ring 3 goes below it.
    "    mov [rip + vessel_user_kernel_rsp], rsp",
    "    mov [rip + {tss} + {rsp0}], rsp",
    "    push {user_ss}",
    "    push qword ptr [rdi + {rsp}]",
    "    push qword ptr [rdi + {rflags}]",
    "    push {user_cs}",
    "    push qword ptr [rdi + {rip}]",
    "    mov rax, [rdi + {rax}]",
    "    mov rbx, [rdi + {rbx}]",
    "    mov rcx, [rdi + {rcx}]",
    "    mov rdx, [rdi + {rdx}]",
    "    mov rsi, [rdi + {rsi}]",
    "    mov rbp, [rdi + {rbp}]",
    "    mov r8, [rdi + {r8}]",
    "    mov r9, [rdi + {r9}]",
    "    mov r10, [rdi + {r10}]",
    "    mov r11, [rdi + {r11}]",
    "    mov r12, [rdi + {r12}]",
    "    mov r13, [rdi + {r13}]",
    "    mov r14, [rdi + {r14}]",
    "    mov r15, [rdi + {r15}]",
    "    mov rdi, [rdi + {rdi}]",
    "    iretq",
    // SYSCALL: RCX = user RIP, R11 = user RFLAGS, interrupts masked.
    ".global vessel_syscall_entry",
    "vessel_syscall_entry:",
    "    mov [rip + vessel_user_scratch_rsp], rsp",
    "    mov rsp, [rip + vessel_user_kernel_rsp]",
    "    push rdi",
    "    mov rdi, [rsp + 8]",
    "    mov [rdi + {rax}], rax",
    "    mov [rdi + {rbx}], rbx",
    "    mov [rdi + {rcx}], rcx",
    "    mov [rdi + {rdx}], rdx",
    "    mov [rdi + {rsi}], rsi",
    "    mov [rdi + {rbp}], rbp",
    "    mov [rdi + {r8}], r8",
    "    mov [rdi + {r9}], r9",
    "    mov [rdi + {r10}], r10",
    "    mov [rdi + {r11}], r11",
    "    mov [rdi + {r12}], r12",
    "    mov [rdi + {r13}], r13",
    "    mov [rdi + {r14}], r14",
    "    mov [rdi + {r15}], r15",
    "    mov [rdi + {rip}], rcx",
    "    mov [rdi + {rflags}], r11",
    "    pop rax",
    "    mov [rdi + {rdi}], rax",
    "    mov rax, [rip + vessel_user_scratch_rsp]",
    "    mov [rdi + {rsp}], rax",
    "    mov eax, {exit_syscall}",
    "vessel_user_return:",
    "    cld",
    "    add rsp, 8",
    "    pop r15",
    "    pop r14",
    "    pop r13",
    "    pop r12",
    "    pop rbx",
    "    pop rbp",
    "    ret",
    // Jumped to from the trap stubs, after pushing the GPRs, when the saved
    // CS has RPL 3. RSP points at the trap frame (16-byte aligned).
    ".global vessel_trap_from_user",
    "vessel_trap_from_user:",
    "    mov rdi, rsp",
    "    mov rsi, [rip + vessel_user_kernel_rsp]",
    "    mov rsi, [rsi]",
    "    cld",
    "    call {save}",
    "    mov rsp, [rip + vessel_user_kernel_rsp]",
    "    mov eax, {exit_trap}",
    "    jmp vessel_user_return",
    ".popsection",
    tss = sym TSS,
    rsp0 = const TSS_RSP0_OFFSET,
    user_ss = const USER_SS,
    user_cs = const USER_CS,
    exit_syscall = const EXIT_SYSCALL,
    exit_trap = const EXIT_TRAP,
    save = sym save_user_trap,
    rax = const offset_of!(UserContext, rax),
    rbx = const offset_of!(UserContext, rbx),
    rcx = const offset_of!(UserContext, rcx),
    rdx = const offset_of!(UserContext, rdx),
    rsi = const offset_of!(UserContext, rsi),
    rdi = const offset_of!(UserContext, rdi),
    rbp = const offset_of!(UserContext, rbp),
    rsp = const offset_of!(UserContext, rsp),
    r8 = const offset_of!(UserContext, r8),
    r9 = const offset_of!(UserContext, r9),
    r10 = const offset_of!(UserContext, r10),
    r11 = const offset_of!(UserContext, r11),
    r12 = const offset_of!(UserContext, r12),
    r13 = const offset_of!(UserContext, r13),
    r14 = const offset_of!(UserContext, r14),
    r15 = const offset_of!(UserContext, r15),
    rip = const offset_of!(UserContext, rip),
    rflags = const offset_of!(UserContext, rflags),
);
