//! x86-64 specifics: CPU instructions, descriptor tables, traps, the local
//! APIC, page tables and context switching. Nothing outside vessel-rt sees
//! this module; the rest of the crate uses the narrow functions it exports.

pub mod apic;
pub mod context;
pub mod cpu;
pub mod entry;
pub mod gdt;
pub mod paging;
pub mod pvh;
pub mod stacks;
pub mod trap;
pub mod trap_vectors;
pub mod tsc;
