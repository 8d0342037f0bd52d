//! vCPU state: CPUID, the 64-bit entry registers, the TSC and register dumps.

use std::fmt;

use kvm_bindings::{
    CpuId, KVM_MAX_CPUID_ENTRIES, Msrs, kvm_msr_entry, kvm_regs, kvm_segment, kvm_sregs,
};
use kvm_ioctls::{Kvm, VcpuFd};
use vessel_abi::layout::{DIRECT_MAP_BASE, GDT_CODE_SELECTOR, GDT_DATA_SELECTOR};

use crate::boot::{GDT_ADDR, GDT_ENTRIES, PML4_ADDR};
use crate::error::VmmError;

/// CR0: protection enable.
pub const CR0_PE: u64 = 1 << 0;
/// CR0: monitor coprocessor.
pub const CR0_MP: u64 = 1 << 1;
/// CR0: extension type.
pub const CR0_ET: u64 = 1 << 4;
/// CR0: numeric error.
pub const CR0_NE: u64 = 1 << 5;
/// CR0: write protect.
pub const CR0_WP: u64 = 1 << 16;
/// CR0: paging.
pub const CR0_PG: u64 = 1 << 31;
/// CR4: physical address extension.
pub const CR4_PAE: u64 = 1 << 5;
/// CR4: global pages.
pub const CR4_PGE: u64 = 1 << 7;
/// CR4: FXSAVE/FXRSTOR and SSE.
pub const CR4_OSFXSR: u64 = 1 << 9;
/// CR4: unmasked SIMD exceptions.
pub const CR4_OSXMMEXCPT: u64 = 1 << 10;
/// EFER: `syscall`/`sysret`.
pub const EFER_SCE: u64 = 1 << 0;
/// EFER: long mode enable.
pub const EFER_LME: u64 = 1 << 8;
/// EFER: long mode active.
pub const EFER_LMA: u64 = 1 << 10;
/// EFER: no-execute enable.
pub const EFER_NXE: u64 = 1 << 11;
/// `IA32_TSC` MSR.
pub const MSR_IA32_TSC: u32 = 0x10;

/// CPUID leaf 1 ECX: TSC-deadline timer.
const CPUID_1_ECX_TSC_DEADLINE: u32 = 1 << 24;
/// CPUID leaf 1 ECX: running under a hypervisor.
const CPUID_1_ECX_HYPERVISOR: u32 = 1 << 31;

/// The CPUID the guest sees: KVM's supported set with the TSC-deadline and
/// hypervisor bits set and initial APIC id 0 (x2APIC kept as supported).
pub fn guest_cpuid(kvm: &Kvm) -> Result<CpuId, VmmError> {
    let mut cpuid = kvm
        .get_supported_cpuid(KVM_MAX_CPUID_ENTRIES)
        .map_err(|e| VmmError::kvm("KVM_GET_SUPPORTED_CPUID", e))?;
    for entry in cpuid.as_mut_slice() {
        match entry.function {
            1 => {
                entry.ecx |= CPUID_1_ECX_TSC_DEADLINE | CPUID_1_ECX_HYPERVISOR;
                // EBX[31:24]: initial APIC id.
                entry.ebx &= 0x00ff_ffff;
            }
            // x2APIC id of the topology leaves.
            0xb | 0x1f => entry.edx = 0,
            _ => {}
        }
    }
    Ok(cpuid)
}

fn code_segment() -> kvm_segment {
    kvm_segment {
        base: 0,
        limit: 0xffff_ffff,
        selector: GDT_CODE_SELECTOR,
        type_: 0xb,
        present: 1,
        dpl: 0,
        db: 0,
        s: 1,
        l: 1,
        g: 1,
        avl: 0,
        unusable: 0,
        padding: 0,
    }
}

fn data_segment() -> kvm_segment {
    kvm_segment {
        selector: GDT_DATA_SELECTOR,
        type_: 0x3,
        db: 1,
        l: 0,
        ..code_segment()
    }
}

/// Turns `sregs` (as KVM reset them) into the Vessel entry state: 64-bit long
/// mode, paging on with the boot page tables, segments from the boot GDT.
pub fn long_mode_sregs(mut sregs: kvm_sregs) -> kvm_sregs {
    sregs.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
    sregs.cr4 = CR4_PAE | CR4_PGE | CR4_OSFXSR | CR4_OSXMMEXCPT;
    sregs.efer = EFER_LME | EFER_LMA | EFER_NXE | EFER_SCE;
    sregs.cr3 = PML4_ADDR;
    sregs.cs = code_segment();
    let data = data_segment();
    sregs.ds = data;
    sregs.es = data;
    sregs.ss = data;
    sregs.fs = data;
    sregs.gs = data;
    // GDTR holds a linear address: use the direct map.
    sregs.gdt.base = DIRECT_MAP_BASE + GDT_ADDR;
    sregs.gdt.limit = (GDT_ENTRIES.len() * 8 - 1) as u16;
    sregs.idt.base = 0;
    sregs.idt.limit = 0;
    sregs
}

/// The entry general registers.
pub fn entry_regs(entry: u64, boot_info: u64) -> kvm_regs {
    kvm_regs {
        rip: entry,
        rdi: boot_info,
        rflags: 0x2,
        rsp: 0,
        ..Default::default()
    }
}

/// Reads the guest's `IA32_TSC`.
pub fn read_guest_tsc(vcpu: &VcpuFd) -> Result<u64, VmmError> {
    let mut msrs = Msrs::from_entries(&[kvm_msr_entry {
        index: MSR_IA32_TSC,
        ..Default::default()
    }])
    .map_err(|e| {
        VmmError::kvm(
            "building the MSR list",
            std::io::Error::other(format!("{e:?}")),
        )
    })?;
    let n = vcpu
        .get_msrs(&mut msrs)
        .map_err(|e| VmmError::kvm("KVM_GET_MSRS", e))?;
    match msrs.as_slice().first() {
        Some(e) if n == 1 => Ok(e.data),
        _ => Err(VmmError::kvm(
            "KVM_GET_MSRS",
            std::io::Error::other("IA32_TSC not read"),
        )),
    }
}

/// The registers of a stopped vCPU.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(missing_docs)] // register names
pub struct RegisterDump {
    pub rip: u64,
    pub rsp: u64,
    pub rflags: u64,
    pub rax: u64,
    pub rbx: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rsi: u64,
    pub rdi: u64,
    pub rbp: u64,
    pub r8: u64,
    pub r9: u64,
    pub r10: u64,
    pub r11: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
    pub cr0: u64,
    pub cr2: u64,
    pub cr3: u64,
    pub cr4: u64,
    pub efer: u64,
}

impl RegisterDump {
    /// Builds a dump from KVM register state.
    pub fn new(r: &kvm_regs, s: &kvm_sregs) -> Self {
        Self {
            rip: r.rip,
            rsp: r.rsp,
            rflags: r.rflags,
            rax: r.rax,
            rbx: r.rbx,
            rcx: r.rcx,
            rdx: r.rdx,
            rsi: r.rsi,
            rdi: r.rdi,
            rbp: r.rbp,
            r8: r.r8,
            r9: r.r9,
            r10: r.r10,
            r11: r.r11,
            r12: r.r12,
            r13: r.r13,
            r14: r.r14,
            r15: r.r15,
            cr0: s.cr0,
            cr2: s.cr2,
            cr3: s.cr3,
            cr4: s.cr4,
            efer: s.efer,
        }
    }

    /// Reads the registers of `vcpu` (zeros for what cannot be read).
    pub fn read(vcpu: &VcpuFd) -> Self {
        let regs = vcpu.get_regs().unwrap_or_default();
        let sregs = vcpu.get_sregs().unwrap_or_default();
        Self::new(&regs, &sregs)
    }
}

impl fmt::Display for RegisterDump {
    /// Multi-line dump, four registers per line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows: [[(&str, u64); 4]; 6] = [
            [
                ("rip", self.rip),
                ("rsp", self.rsp),
                ("rflags", self.rflags),
                ("rax", self.rax),
            ],
            [
                ("rbx", self.rbx),
                ("rcx", self.rcx),
                ("rdx", self.rdx),
                ("rsi", self.rsi),
            ],
            [
                ("rdi", self.rdi),
                ("rbp", self.rbp),
                ("r8", self.r8),
                ("r9", self.r9),
            ],
            [
                ("r10", self.r10),
                ("r11", self.r11),
                ("r12", self.r12),
                ("r13", self.r13),
            ],
            [
                ("r14", self.r14),
                ("r15", self.r15),
                ("cr0", self.cr0),
                ("cr2", self.cr2),
            ],
            [
                ("cr3", self.cr3),
                ("cr4", self.cr4),
                ("efer", self.efer),
                ("", 0),
            ],
        ];
        for (i, row) in rows.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            let mut first = true;
            for (name, value) in row.iter().filter(|(n, _)| !n.is_empty()) {
                if !first {
                    write!(f, "  ")?;
                }
                first = false;
                write!(f, "{name:>6}={value:#018x}")?;
            }
        }
        Ok(())
    }
}

/// Why and where a guest crashed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrashReport {
    /// One-line description (e.g. `triple fault (KVM_EXIT_SHUTDOWN)`).
    pub description: String,
    /// The vCPU registers at the crash.
    pub registers: RegisterDump,
}

impl fmt::Display for CrashReport {
    /// The description, then the register dump.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}\n{}", self.description, self.registers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sregs_enter_long_mode() {
        let s = long_mode_sregs(kvm_sregs::default());
        assert_eq!(s.cr0 & (CR0_PE | CR0_PG), CR0_PE | CR0_PG);
        assert_eq!(
            s.efer & (EFER_LME | EFER_LMA | EFER_NXE),
            EFER_LME | EFER_LMA | EFER_NXE
        );
        assert_eq!(s.cs.selector, 0x08);
        assert_eq!(s.cs.l, 1);
        assert_eq!(s.ss.selector, 0x10);
        assert_eq!(s.gdt.limit, 23);
        assert_eq!(s.idt.limit, 0);
        // The code descriptor in the GDT matches the cached one.
        assert_eq!((GDT_ENTRIES[1] >> 40) & 0xff, 0x9b);
        assert_eq!((GDT_ENTRIES[1] >> 53) & 1, 1, "L bit");
    }

    #[test]
    fn dump_lists_every_register() {
        let d = RegisterDump {
            rip: 0x1234,
            efer: 0xd01,
            ..Default::default()
        };
        let text = d.to_string();
        for name in [
            "rip", "rsp", "rflags", "r15", "cr0", "cr2", "cr3", "cr4", "efer",
        ] {
            assert!(
                text.contains(&format!("{name}=")),
                "{name} missing in {text}"
            );
        }
        assert!(text.contains("rip=0x0000000000001234"));
    }
}
