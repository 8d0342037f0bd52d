//! The Vessel entry point: the VMM starts the image here, already in 64-bit
//! mode with paging on, `RDI` = guest-physical address of the boot info.

use super::stacks::{BOOT_STACK, BOOT_STACK_SIZE, GUARD_SIZE};

core::arch::global_asm!(
    // Marks the file as a Vessel image speaking this ABI version (see
    // vessel_abi::note): `vessel run` boots it directly rather than as a
    // Linux program.
    ".pushsection .note.vessel, \"a\", @note",
    ".balign 4",
    ".long 7",
    ".long 4",
    ".long {note_type}",
    ".asciz \"Vessel\"",
    ".balign 4",
    ".long {abi_version}",
    ".popsection",
    ".section .text.entry, \"ax\"",
    ".global _start",
    "_start:",
    "    cli",
    "    cld",
    // The first timestamp of the guest's life, for the host's timing report.
    "    rdtsc",
    "    shl rdx, 32",
    "    or rax, rdx",
    "    mov rsi, rax",
    "    lea rsp, [rip + {stack} + {stack_top}]",
    "    xor ebp, ebp",
    // boot(boot_info_phys = RDI, tsc_entry = RSI) never returns.
    "    call {boot}",
    "    ud2",
    stack = sym BOOT_STACK,
    stack_top = const GUARD_SIZE + BOOT_STACK_SIZE,
    boot = sym crate::boot::boot,
    note_type = const vessel_abi::note::ABI_VERSION_TYPE,
    abi_version = const vessel_abi::ABI_VERSION,
);
