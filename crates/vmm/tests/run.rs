//! Boots tiny hand-assembled guests in real KVM VMs.
//!
//! These tests need `/dev/kvm`; without it they fail (never skip). The VMs
//! run with the seccomp filter on, each on a thread of its own.

use std::mem::offset_of;

use vessel_vmm::abi::boot::BootInfo;
use vessel_vmm::abi::hypercall::{ExitReason, PORT_BASE, Status};
use vessel_vmm::abi::layout::{DIRECT_MAP_BASE, IMAGE_MIN_PHYS, KERNEL_VIRT_BASE};
use vessel_vmm::test_util::exec_image;
use vessel_vmm::{CaptureConsole, GuestEnd, RunOutcome, Vm, VmConfig};

/// Guest-physical address of the data area (the image starts at 2 MiB).
const DATA: u64 = IMAGE_MIN_PHYS + 0x800;
const CW_STDOUT: u64 = DATA;
const CW_STDERR: u64 = DATA + 0x20;
const CW_BAD: u64 = DATA + 0x40;
const EXIT: u64 = DATA + 0x80;
const UNKNOWN: u64 = DATA + 0xc0;
const MSG_OUT: u64 = DATA + 0x100;
const MSG_ERR: u64 = DATA + 0x140;
const OUT_TEXT: &[u8] = b"hello from the guest\n";
const ERR_TEXT: &[u8] = b"and to stderr\n";

fn virt(phys: u64) -> u64 {
    KERNEL_VIRT_BASE + phys
}

/// A tiny x86-64 assembler: just the instructions the tests need.
#[derive(Default)]
struct Asm(Vec<u8>);

impl Asm {
    /// `mov rax, imm64`
    fn mov_rax(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&[0x48, 0xb8]);
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    /// `mov dx, imm16; out dx, eax`: a hypercall with RAX = argument GPA.
    fn hypercall(&mut self, number: u16, gpa: u64) -> &mut Self {
        self.mov_rax(gpa);
        self.0.extend_from_slice(&[0x66, 0xba]);
        self.0
            .extend_from_slice(&(PORT_BASE + number).to_le_bytes());
        self.0.push(0xef);
        self
    }
    /// `movabs rax, [addr]`
    fn load_rax(&mut self, addr: u64) -> &mut Self {
        self.0.extend_from_slice(&[0x48, 0xa1]);
        self.0.extend_from_slice(&addr.to_le_bytes());
        self
    }
    /// `movabs [addr], eax`
    fn store_eax(&mut self, addr: u64) -> &mut Self {
        self.0.push(0xa3);
        self.0.extend_from_slice(&addr.to_le_bytes());
        self
    }
    /// Copies the status of the call at `from` into the exit code.
    fn status_to_exit_code(&mut self, from: u64) -> &mut Self {
        self.load_rax(virt(from)).store_eax(virt(EXIT + 8))
    }
    fn raw(&mut self, bytes: &[u8]) -> &mut Self {
        self.0.extend_from_slice(bytes);
        self
    }
    fn exit(&mut self) -> &mut Self {
        self.hypercall(1, EXIT)
    }
}

fn console_write(stream: u32, buf: u64, len: u64) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&(Status::NotHandled as i64).to_le_bytes());
    v.extend_from_slice(&stream.to_le_bytes());
    v.extend_from_slice(&0u32.to_le_bytes());
    v.extend_from_slice(&buf.to_le_bytes());
    v.extend_from_slice(&len.to_le_bytes());
    v
}

/// The image: code at 2 MiB, then the argument structs and messages.
fn image(code: &Asm) -> Vec<u8> {
    assert!(code.0.len() <= 0x800);
    let mut contents = code.0.clone();
    contents.resize(0x800, 0xcc);
    let mut put = |phys: u64, bytes: &[u8]| {
        let off = (phys - IMAGE_MIN_PHYS) as usize;
        if contents.len() < off + bytes.len() {
            contents.resize(off + bytes.len(), 0);
        }
        contents[off..off + bytes.len()].copy_from_slice(bytes);
    };
    put(CW_STDOUT, &console_write(1, MSG_OUT, OUT_TEXT.len() as u64));
    put(CW_STDERR, &console_write(2, MSG_ERR, ERR_TEXT.len() as u64));
    put(CW_BAD, &console_write(1, 0x7fff_ffff_0000, 4));
    let mut exit = (Status::NotHandled as i64).to_le_bytes().to_vec();
    exit.extend_from_slice(&7i32.to_le_bytes());
    exit.extend_from_slice(&0u32.to_le_bytes());
    exit.extend_from_slice(&[0u8; 24]);
    put(EXIT, &exit);
    put(UNKNOWN, &(Status::NotHandled as i64).to_le_bytes());
    put(MSG_OUT, OUT_TEXT);
    put(MSG_ERR, ERR_TEXT);
    exec_image(&contents, 0x4000)
}

fn require_kvm() {
    if let Err(e) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
    {
        panic!("these tests boot real VMs and need KVM: cannot open /dev/kvm: {e}");
    }
}

fn run_with(code: &Asm, args: &[&str]) -> (RunOutcome, CaptureConsole) {
    require_kvm();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("guest");
    std::fs::write(&path, image(code)).unwrap();
    let config = VmConfig::new(&path)
        .with_memory(16 << 20)
        .with_args(args.iter().copied())
        .with_seccomp(true);
    // The seccomp filter confines the thread that runs the vCPU for good:
    // run on a thread of its own, as `vessel run` would confine its process.
    std::thread::spawn(move || {
        let mut console = CaptureConsole::default();
        let outcome = Vm::run_with_console(config, &mut console).expect("VM failed to run");
        (outcome, console)
    })
    .join()
    .expect("vCPU thread panicked")
}

fn run(code: &Asm) -> (RunOutcome, CaptureConsole) {
    run_with(code, &[])
}

fn exit_code(outcome: &RunOutcome) -> i32 {
    match &outcome.end {
        GuestEnd::Exited { code, reason } => {
            assert_eq!(*reason, ExitReason::Normal);
            *code
        }
        GuestEnd::Crashed(report) => panic!("guest crashed: {report}"),
        GuestEnd::TimedOut { .. } => panic!("guest timed out"),
    }
}

#[test]
fn console_writes_and_exit() {
    let (outcome, console) = run(Asm::default()
        .hypercall(0, CW_STDOUT)
        .hypercall(0, CW_STDERR)
        .exit());
    assert_eq!(exit_code(&outcome), 7);
    assert_eq!(console.stdout, OUT_TEXT);
    assert_eq!(console.stderr, ERR_TEXT);
    let s = &outcome.stats;
    assert_eq!(
        (s.exits.console_write, s.exits.exit, s.exits.total()),
        (2, 1, 3)
    );
    assert!(
        s.guest_touched_kib > 0 && s.guest_touched_kib < 1024,
        "{}",
        s.guest_touched_kib
    );
    assert_eq!(s.guest_size_kib, 16 << 10);
    assert!(s.tsc_khz > 0);
    // No TSC stamps in this guest.
    assert_eq!(s.guest_entry_to_main, None);
}

#[test]
fn console_write_status_is_the_length() {
    let (outcome, console) = run(Asm::default()
        .hypercall(0, CW_STDOUT)
        .status_to_exit_code(CW_STDOUT)
        .exit());
    assert_eq!(exit_code(&outcome), OUT_TEXT.len() as i32);
    assert_eq!(console.stdout, OUT_TEXT);
}

#[test]
fn bad_address_write_fails_with_bad_address() {
    let (outcome, console) = run(Asm::default()
        .hypercall(0, CW_BAD)
        .status_to_exit_code(CW_BAD)
        .exit());
    assert_eq!(exit_code(&outcome), Status::BadAddress as i32);
    assert!(console.stdout.is_empty());
}

#[test]
fn unknown_hypercall_fails() {
    let (outcome, _) = run(Asm::default()
        .hypercall(0x42, UNKNOWN)
        .status_to_exit_code(UNKNOWN)
        .exit());
    assert_eq!(exit_code(&outcome), Status::UnknownHypercall as i32);
    assert_eq!(outcome.stats.exits.unknown_hypercall, 1);
}

#[test]
fn argument_struct_outside_memory_is_survived() {
    let (outcome, _) = run(Asm::default()
        .hypercall(0, u64::MAX - 3)
        .hypercall(1, 0x7fff_ffff_fff0)
        .exit());
    assert_eq!(exit_code(&outcome), 7);
    assert_eq!(outcome.stats.exits.exit, 2);
}

#[test]
fn other_port_io_is_ignored_and_reads_all_ones() {
    // xor eax, eax; out 0x80, al; in al, 0x71 -> exit code 0xff.
    let (outcome, _) = run(Asm::default()
        .raw(&[0x31, 0xc0, 0xe6, 0x80, 0xe4, 0x71])
        .store_eax(virt(EXIT + 8))
        .exit());
    assert_eq!(exit_code(&outcome), 0xff);
    assert_eq!(outcome.stats.exits.io_other, 2);
}

#[test]
fn boot_info_is_reachable_through_the_direct_map() {
    // rax = DIRECT_MAP_BASE + rdi; eax = boot_info.args.count.
    let count = (offset_of!(BootInfo, args) + 16) as u32;
    let mut asm = Asm::default();
    asm.mov_rax(DIRECT_MAP_BASE)
        .raw(&[0x48, 0x01, 0xf8, 0x8b, 0x80])
        .raw(&count.to_le_bytes());
    asm.store_eax(virt(EXIT + 8)).exit();
    let (outcome, _) = run_with(&asm, &["one", "two"]);
    assert_eq!(exit_code(&outcome), 3);
}

#[test]
fn triple_fault_is_a_crash_with_registers() {
    // No IDT (limit 0): a page fault (nothing is mapped at 0) cannot be
    // delivered -> #DF -> triple fault.
    let (outcome, _) = run(Asm::default()
        .mov_rax(0xdead_beef)
        .raw(&[0x48, 0x8b, 0x1c, 0x25, 0x10, 0, 0, 0]));
    let GuestEnd::Crashed(report) = outcome.end else {
        panic!("expected a crash, got {:?}", outcome.end);
    };
    assert!(
        report.description.contains("triple fault"),
        "{}",
        report.description
    );
    assert_eq!(report.registers.rax, 0xdead_beef);
    assert_eq!(report.registers.cr3, 0x1000);
    assert_ne!(report.registers.efer & (1 << 10), 0, "long mode active");
    assert!(report.to_string().contains("rip="));
    assert_eq!(outcome.stats.exits.other, 1);
}

#[test]
fn errors_before_the_guest_runs() {
    require_kvm();
    let err = Vm::run(VmConfig::new("/nonexistent/guest"))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "cannot load image /nonexistent/guest: cannot open: No such file or directory (os error 2)"
    );
    let err = Vm::run(VmConfig::new("/nonexistent/guest").with_memory(3 << 10))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "guest memory size 3 KiB is too small: the minimum is 8 MiB"
    );
}

#[test]
fn int3_without_idt_is_a_crash() {
    // Depending on the host, KVM reports this as a triple fault or as an
    // emulation failure; either way the guest crashed and the host is fine.
    let (outcome, _) = run(Asm::default().mov_rax(0xfeed).raw(&[0xcc]));
    let GuestEnd::Crashed(report) = outcome.end else {
        panic!("expected a crash, got {:?}", outcome.end);
    };
    assert_eq!(report.registers.rax, 0xfeed);
}
