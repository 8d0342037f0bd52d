//! Traps: CPU exceptions and interrupts.
//!
//! Every vector vessel-rt installs enters through a small assembly stub that
//! saves all general-purpose registers into a [`TrapFrame`] on the current
//! stack and calls [`dispatch`]. CPU exceptions end the VM with a report
//! (vector, error code, faulting address, registers); the LAPIC timer drives
//! the scheduler. Traps from ring 3 go back to `user::run_user` instead.
//!
//! The IDT is encoded by hand: the `x86_64` crate's typed IDT is built around
//! the unstable `x86-interrupt` ABI, while our handlers are assembly stubs.

use super::gdt::{IST_DOUBLE_FAULT, IST_MACHINE_CHECK, IST_NMI};
use core::cell::UnsafeCell;
use core::fmt;
use spin::Once;
use vessel_abi::layout::GDT_CODE_SELECTOR;
use x86_64::VirtAddr;
use x86_64::structures::DescriptorTablePointer;

/// Vector of the LAPIC timer interrupt.
pub const TIMER_VECTOR: u8 = 32;
/// Vector of the host's "console input is ready" interrupt.
pub const INPUT_VECTOR: u8 = vessel_abi::hypercall::INPUT_VECTOR;
/// Vector the LAPIC uses for spurious interrupts.
pub const SPURIOUS_VECTOR: u8 = 0xff;

/// The registers saved on entry to a trap, lowest address first.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
#[allow(missing_docs)]
pub struct TrapFrame {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rbp: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub rcx: u64,
    pub rbx: u64,
    pub rax: u64,
    /// Pushed by the stub.
    pub vector: u64,
    /// Pushed by the CPU, or zero by the stub for vectors without one.
    pub error_code: u64,
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}

impl fmt::Display for TrapFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows = [
            [
                ("rip", self.rip),
                ("rsp", self.rsp),
                ("rflags", self.rflags),
            ],
            [("rax", self.rax), ("rbx", self.rbx), ("rcx", self.rcx)],
            [("rdx", self.rdx), ("rsi", self.rsi), ("rdi", self.rdi)],
            [("rbp", self.rbp), ("r8", self.r8), ("r9", self.r9)],
            [("r10", self.r10), ("r11", self.r11), ("r12", self.r12)],
            [("r13", self.r13), ("r14", self.r14), ("r15", self.r15)],
        ];
        for row in rows {
            for (name, value) in row {
                write!(f, "  {name:>6}={value:#018x}")?;
            }
            writeln!(f)?;
        }
        write!(f, "  cs={:#x} ss={:#x}", self.cs, self.ss)
    }
}

/// Emits the entry stub of one vector. Vectors for which the CPU pushes no
/// error code push a zero, so every frame has the same layout.
macro_rules! stub {
    ($vector:literal, no_error_code) => {
        concat!(
            ".global vessel_trap_",
            stringify!($vector),
            "\n",
            "vessel_trap_",
            stringify!($vector),
            ":\n",
            "    push 0\n",
            "    push ",
            stringify!($vector),
            "\n",
            "    jmp vessel_trap_common\n",
        )
    };
    ($vector:literal, error_code) => {
        concat!(
            ".global vessel_trap_",
            stringify!($vector),
            "\n",
            "vessel_trap_",
            stringify!($vector),
            ":\n",
            "    push ",
            stringify!($vector),
            "\n",
            "    jmp vessel_trap_common\n",
        )
    };
}

/// Emits one `(vector, stub address)` row of `vessel_trap_table`.
macro_rules! row {
    ($vector:literal) => {
        concat!(
            "    .quad ",
            stringify!($vector),
            ", vessel_trap_",
            stringify!($vector),
            "\n"
        )
    };
}

/// Number of rows in `vessel_trap_table`.
const INSTALLED_VECTORS: usize = 35;

core::arch::global_asm!(
    ".pushsection .text",
    stub!(0, no_error_code),
    stub!(1, no_error_code),
    stub!(2, no_error_code),
    stub!(3, no_error_code),
    stub!(4, no_error_code),
    stub!(5, no_error_code),
    stub!(6, no_error_code),
    stub!(7, no_error_code),
    stub!(8, error_code),
    stub!(9, no_error_code),
    stub!(10, error_code),
    stub!(11, error_code),
    stub!(12, error_code),
    stub!(13, error_code),
    stub!(14, error_code),
    stub!(15, no_error_code),
    stub!(16, no_error_code),
    stub!(17, error_code),
    stub!(18, no_error_code),
    stub!(19, no_error_code),
    stub!(20, no_error_code),
    stub!(21, error_code),
    stub!(22, no_error_code),
    stub!(23, no_error_code),
    stub!(24, no_error_code),
    stub!(25, no_error_code),
    stub!(26, no_error_code),
    stub!(27, no_error_code),
    stub!(28, no_error_code),
    stub!(29, error_code),
    stub!(30, error_code),
    stub!(31, no_error_code),
    stub!(32, no_error_code),
    stub!(33, no_error_code),
    stub!(255, no_error_code),
    "vessel_trap_common:",
    "    push rax",
    "    push rbx",
    "    push rcx",
    "    push rdx",
    "    push rsi",
    "    push rdi",
    "    push rbp",
    "    push r8",
    "    push r9",
    "    push r10",
    "    push r11",
    "    push r12",
    "    push r13",
    "    push r14",
    "    push r15",
    // From ring 3 (RPL of the saved CS): back to `run_user`'s caller.
    "    test byte ptr [rsp + {cs_offset}], 3",
    "    jnz vessel_trap_from_user",
    "    mov rdi, rsp",
    "    cld",
    "    call {dispatch}",
    "    pop r15",
    "    pop r14",
    "    pop r13",
    "    pop r12",
    "    pop r11",
    "    pop r10",
    "    pop r9",
    "    pop r8",
    "    pop rbp",
    "    pop rdi",
    "    pop rsi",
    "    pop rdx",
    "    pop rcx",
    "    pop rbx",
    "    pop rax",
    "    add rsp, 16",
    "    iretq",
    ".popsection",
    ".pushsection .rodata",
    ".balign 8",
    ".global vessel_trap_table",
    "vessel_trap_table:",
    row!(0), row!(1), row!(2), row!(3), row!(4), row!(5), row!(6), row!(7),
    row!(8), row!(9), row!(10), row!(11), row!(12), row!(13), row!(14), row!(15),
    row!(16), row!(17), row!(18), row!(19), row!(20), row!(21), row!(22), row!(23),
    row!(24), row!(25), row!(26), row!(27), row!(28), row!(29), row!(30), row!(31),
    row!(32), row!(33), row!(255),
    ".popsection",
    dispatch = sym dispatch,
    cs_offset = const core::mem::offset_of!(TrapFrame, cs),
);

unsafe extern "C" {
    /// `(vector, stub address)` pairs emitted above.
    static vessel_trap_table: [[u64; 2]; INSTALLED_VECTORS];
}

/// One IDT gate descriptor (64-bit interrupt gate).
#[repr(C)]
#[derive(Clone, Copy)]
struct Gate {
    offset_low: u16,
    selector: u16,
    ist: u8,
    type_attributes: u8,
    offset_mid: u16,
    offset_high: u32,
    reserved: u32,
}

impl Gate {
    const ABSENT: Gate = Gate {
        offset_low: 0,
        selector: 0,
        ist: 0,
        type_attributes: 0,
        offset_mid: 0,
        offset_high: 0,
        reserved: 0,
    };

    /// A present, ring-0, 64-bit interrupt gate (interrupts disabled on entry).
    fn interrupt(handler: u64, ist: u8) -> Gate {
        Gate {
            offset_low: handler as u16,
            selector: GDT_CODE_SELECTOR,
            ist,
            type_attributes: 0x8e,
            offset_mid: (handler >> 16) as u16,
            offset_high: (handler >> 32) as u32,
            reserved: 0,
        }
    }
}

#[repr(C, align(16))]
struct Idt([Gate; 256]);

/// The IDT, in `.bss` (an absent gate is all zeros): filled in place once,
/// gate by gate, rather than built whole and copied, since under an
/// emulating hypervisor every boot instruction and every byte copied counts.
struct IdtCell(UnsafeCell<Idt>);

// SAFETY: the table is written only by `init`, once (guarded by
// `IDT_FILLED`), before `lidt` hands it to the CPU; afterwards nothing
// writes it and only the CPU reads it.
unsafe impl Sync for IdtCell {}

static IDT: IdtCell = IdtCell(UnsafeCell::new(Idt([Gate::ABSENT; 256])));
static IDT_FILLED: Once = Once::new();

/// Fills and loads the IDT.
pub fn init() {
    IDT_FILLED.call_once(|| {
        // SAFETY: `vessel_trap_table` is an initialised, read-only array
        // emitted by the assembly above, with exactly INSTALLED_VECTORS rows.
        let table = unsafe { &vessel_trap_table };
        let idt = IDT.0.get();
        for &[vector, handler] in table {
            let ist = match vector {
                2 => IST_NMI,
                8 => IST_DOUBLE_FAULT,
                18 => IST_MACHINE_CHECK,
                _ => 0,
            };
            // SAFETY: this runs once, before the table is loaded, so nothing
            // else reads or writes it (the index is bounds-checked).
            unsafe { (*idt).0[vector as usize] = Gate::interrupt(handler, ist) };
        }
    });
    let pointer = DescriptorTablePointer {
        limit: (size_of::<Idt>() - 1) as u16,
        base: VirtAddr::from_ptr(IDT.0.get()),
    };
    // SAFETY: the IDT is 'static and every present gate points at a stub
    // that saves state, calls `dispatch` and returns with IRETQ.
    unsafe { x86_64::instructions::tables::lidt(&pointer) };
}

/// Names of the architectural exceptions.
const EXCEPTION_NAMES: [&str; 32] = [
    "divide error (#DE)",
    "debug (#DB)",
    "non-maskable interrupt",
    "breakpoint (#BP)",
    "overflow (#OF)",
    "bound range exceeded (#BR)",
    "invalid opcode (#UD)",
    "device not available (#NM)",
    "double fault (#DF)",
    "coprocessor segment overrun",
    "invalid TSS (#TS)",
    "segment not present (#NP)",
    "stack-segment fault (#SS)",
    "general protection fault (#GP)",
    "page fault (#PF)",
    "reserved",
    "x87 floating-point error (#MF)",
    "alignment check (#AC)",
    "machine check (#MC)",
    "SIMD floating-point exception (#XM)",
    "virtualization exception (#VE)",
    "control protection (#CP)",
    "reserved",
    "reserved",
    "reserved",
    "reserved",
    "reserved",
    "reserved",
    "hypervisor injection (#HV)",
    "VMM communication (#VC)",
    "security exception (#SX)",
    "reserved",
];

/// Called by the stubs with interrupts disabled.
extern "C" fn dispatch(frame: &mut TrapFrame) {
    match frame.vector {
        0..=31 => exception(frame),
        v if interrupt(v as u8) => {}
        v => crate::panic::fatal(format_args!("unexpected interrupt vector {v}\n{frame}")),
    }
}

/// Serves an external interrupt, whether it came in kernel or user mode
/// (interrupts disabled); `false` if `vector` is not one vessel-rt
/// expects.
pub(crate) fn interrupt(vector: u8) -> bool {
    match vector {
        TIMER_VECTOR => {
            super::apic::end_of_interrupt();
            crate::task::timer_interrupt();
        }
        INPUT_VECTOR => {
            super::apic::end_of_interrupt();
            crate::console::input_interrupt();
        }
        SPURIOUS_VECTOR => {}
        _ => return false,
    }
    true
}

/// Reports a CPU exception and ends the VM. In a unikernel every exception
/// is a kernel bug, so this is the panic path.
fn exception(frame: &TrapFrame) -> ! {
    let name = EXCEPTION_NAMES[frame.vector as usize];
    let fault_address = super::cpu::page_fault_address();
    let detail = if frame.vector == 14 || frame.vector == 8 {
        if crate::mem::is_stack_guard(fault_address) {
            "\n  the faulting address is a stack guard page: stack overflow"
        } else {
            ""
        }
    } else {
        ""
    };
    crate::panic::fatal(format_args!(
        "CPU exception: {name}, vector {}, error code {:#x}, faulting address (CR2) {fault_address:#x}{detail}\n{frame}",
        frame.vector, frame.error_code,
    ))
}
