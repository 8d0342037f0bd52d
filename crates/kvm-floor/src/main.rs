//! `kvm-floor [--memory SIZE] [--spin N]`: the benchmark floor for VM
//! start-up.
//!
//! Opens `/dev/kvm`, creates a VM with the same lazily mapped memory size as
//! `vessel run` (default 128 MiB), one vCPU in real mode executing a single
//! `HLT`, runs it to the HLT exit and exits 0. No irqchip, no CPUID, no
//! paging: anything `vessel` takes beyond this is its own overhead.
//!
//! With `--spin N`, the guest first runs a loop of N iterations of two
//! instructions (`dec ecx; jnz`) at CPL 0, and the floor prints what one
//! guest instruction cost, from `KVM_RUN` to the HLT exit: a few tenths of
//! a nanosecond where the CPU runs the guest, about a microsecond where
//! the host's KVM emulates kernel-mode code (as PVM, KVM without hardware
//! virtualisation, does), which is what bounds a guest kernel's speed.

use std::process::ExitCode;
use std::time::{Duration, Instant};

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

/// The guest code: with `spin`, `mov ecx, spin; 1: dec ecx; jnz 1b`
/// (16-bit real mode, operand-size prefixes for 32-bit ECX), then `HLT`.
fn guest_code(spin: Option<u32>) -> Vec<u8> {
    let mut code = Vec::new();
    if let Some(n) = spin {
        code.extend([0x66, 0xb9]);
        code.extend(n.to_le_bytes());
        code.extend([0x66, 0x49, 0x75, 0xfc]);
    }
    code.push(0xf4);
    code
}

/// Runs the VM to its HLT; returns the time `KVM_RUN` took.
fn run(memory: u64, spin: Option<u32>) -> Result<Duration, String> {
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
    mem.write_slice(&guest_code(spin), GuestAddress(CODE_ADDR))
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
    let start = Instant::now();
    loop {
        match vcpu.run() {
            Ok(VcpuExit::Hlt) => return Ok(start.elapsed()),
            Ok(other) => return Err(format!("unexpected exit {other:?}")),
            Err(e) if e.errno() == libc::EINTR => continue,
            Err(e) => return Err(format!("KVM_RUN: {e}")),
        }
    }
}

fn main() -> ExitCode {
    let mut memory = 128u64 << 20;
    let mut spin = None;
    let mut args = std::env::args().skip(1);
    let usage = || {
        eprintln!("usage: kvm-floor [--memory SIZE] [--spin ITERATIONS]");
        ExitCode::from(2)
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--memory" | "-m" => match args.next().as_deref().and_then(parse_size) {
                Some(m) if m >= 4096 => memory = m,
                _ => return usage(),
            },
            "--spin" => match args.next().and_then(|n| n.parse::<u32>().ok()) {
                Some(n) if n > 0 => spin = Some(n),
                _ => return usage(),
            },
            _ => return usage(),
        }
    }
    match run(memory, spin) {
        Ok(elapsed) => {
            if let Some(n) = spin {
                let instructions = 2 * u64::from(n);
                println!(
                    "kvm-floor: spin iterations={n} instructions={instructions} \
                     guest_ns_per_instruction={:.2}",
                    elapsed.as_nanos() as f64 / instructions as f64
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("kvm-floor: {e}");
            ExitCode::FAILURE
        }
    }
}
