//! `kvm-floor [--memory SIZE]`: the benchmark floor for VM start-up.
//!
//! Opens `/dev/kvm`, creates a VM with the same lazily mapped memory size as
//! `vessel run` (default 128 MiB), one vCPU in real mode executing a single
//! `HLT`, runs it to the HLT exit and exits 0. No irqchip, no CPUID, no
//! paging: anything `vessel` takes beyond this is its own overhead.

use std::process::ExitCode;

use kvm_bindings::kvm_userspace_memory_region;
use kvm_ioctls::{Kvm, VcpuExit};
use vm_memory::{Bytes, GuestAddress, GuestMemoryBackend, GuestMemoryMmap, GuestMemoryRegion};

/// Where the `HLT` is placed (and `CS:IP` points).
const CODE_ADDR: u64 = 0x1000;

fn parse_size(s: &str) -> Option<u64> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let shift = match unit.to_ascii_lowercase().as_str() {
        "" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        _ => return None,
    };
    n.parse::<u64>().ok()?.checked_mul(1 << shift)
}

fn run(memory: u64) -> Result<(), String> {
    let kvm = Kvm::new().map_err(|e| format!("cannot open /dev/kvm: {e}"))?;
    let vm = kvm.create_vm().map_err(|e| format!("KVM_CREATE_VM: {e}"))?;
    let len = usize::try_from(memory).map_err(|e| e.to_string())?;
    let mem = GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0), len)])
        .map_err(|e| format!("mmap: {e}"))?;
    let region = mem.iter().next().ok_or("no memory region")?;
    let host = region
        .get_host_address(vm_memory::MemoryRegionAddress(0))
        .map_err(|e| e.to_string())?;
    let desc = kvm_userspace_memory_region {
        slot: 0,
        flags: 0,
        guest_phys_addr: 0,
        memory_size: memory,
        userspace_addr: host as u64,
    };
    // SAFETY: the mapping `host..host + memory` is owned by `mem`, which is
    // dropped after `vm` at the end of this function (reverse declaration
    // order), so KVM never accesses freed memory.
    unsafe { vm.set_user_memory_region(desc) }
        .map_err(|e| format!("KVM_SET_USER_MEMORY_REGION: {e}"))?;
    mem.write_slice(&[0xf4], GuestAddress(CODE_ADDR))
        .map_err(|e| e.to_string())?;

    let mut vcpu = vm
        .create_vcpu(0)
        .map_err(|e| format!("KVM_CREATE_VCPU: {e}"))?;
    let mut sregs = vcpu
        .get_sregs()
        .map_err(|e| format!("KVM_GET_SREGS: {e}"))?;
    sregs.cs.base = 0;
    sregs.cs.selector = 0;
    vcpu.set_sregs(&sregs)
        .map_err(|e| format!("KVM_SET_SREGS: {e}"))?;
    let mut regs = vcpu.get_regs().map_err(|e| format!("KVM_GET_REGS: {e}"))?;
    regs.rip = CODE_ADDR;
    regs.rflags = 2;
    vcpu.set_regs(&regs)
        .map_err(|e| format!("KVM_SET_REGS: {e}"))?;
    loop {
        match vcpu.run() {
            Ok(VcpuExit::Hlt) => return Ok(()),
            Ok(other) => return Err(format!("unexpected exit {other:?}")),
            Err(e) if e.errno() == libc::EINTR => continue,
            Err(e) => return Err(format!("KVM_RUN: {e}")),
        }
    }
}

fn main() -> ExitCode {
    let mut memory = 128u64 << 20;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = match arg.as_str() {
            "--memory" | "-m" => args.next(),
            a => a.strip_prefix("--memory=").map(str::to_string),
        };
        match value.as_deref().and_then(parse_size) {
            Some(m) if m >= 4096 => memory = m,
            _ => {
                eprintln!("usage: kvm-floor [--memory SIZE]");
                return ExitCode::from(2);
            }
        }
    }
    match run(memory) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kvm-floor: {e}");
            ExitCode::FAILURE
        }
    }
}
