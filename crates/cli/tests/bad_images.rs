//! Runs the `vessel` binary on bad images and options: each must fail with
//! status 125 and one precise line on stderr. Also checks the statuses of
//! guests that run (exit code, crash).
//!
//! Needs `/dev/kvm` (images are loaded after the VM is created); without it
//! these tests fail, they never skip.

use std::path::Path;
use std::process::{Command, Output};

use vessel_vmm::abi::layout::{IMAGE_MIN_PHYS, KERNEL_VIRT_BASE};
use vessel_vmm::test_util::{ElfSpec, RawPhdr, exec_image, hello_image};

fn vessel(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vessel"))
        .args(args)
        .output()
        .expect("cannot run vessel")
}

fn require_kvm() {
    if let Err(e) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
    {
        panic!("these tests need KVM: cannot open /dev/kvm: {e}");
    }
}

/// Asserts status 125, empty stdout and exactly `message` (one line) on stderr.
fn assert_error(out: &Output, message: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "stderr: {stderr}");
    assert_eq!(stderr, format!("vessel: {message}\n"));
    assert!(out.stdout.is_empty());
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.to_str().unwrap().to_string()
}

fn valid_spec() -> ElfSpec {
    let virt = KERNEL_VIRT_BASE + IMAGE_MIN_PHYS;
    let mut spec = ElfSpec::exec(virt);
    spec.phdrs
        .push(RawPhdr::load(5, 0x1000, virt, IMAGE_MIN_PHYS, 2, 2));
    spec.blobs.push((0x1000, vec![0xeb, 0xfe]));
    spec
}

#[test]
fn missing_file() {
    require_kvm();
    let out = vessel(&["run", "/nonexistent/image"]);
    assert_error(
        &out,
        "cannot load image /nonexistent/image: cannot open: No such file or directory (os error 2)",
    );
}

#[test]
fn text_file() {
    require_kvm();
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "notes.txt", b"just some text\n");
    assert_error(
        &vessel(&["run", &p]),
        &format!("cannot load image {p}: not an ELF file"),
    );
}

#[test]
fn elf32() {
    require_kvm();
    let dir = tempfile::tempdir().unwrap();
    let mut spec = valid_spec();
    spec.class = 1;
    let p = write(dir.path(), "elf32", &spec.to_bytes());
    assert_error(
        &vessel(&["run", &p]),
        &format!("cannot load image {p}: not a 64-bit ELF file (ELFCLASS32, 32-bit)"),
    );
}

#[test]
fn aarch64() {
    require_kvm();
    let dir = tempfile::tempdir().unwrap();
    let mut spec = valid_spec();
    spec.machine = 183;
    let p = write(dir.path(), "arm", &spec.to_bytes());
    assert_error(
        &vessel(&["run", &p]),
        &format!("cannot load image {p}: not an x86_64 ELF file (machine is AARCH64, 183)"),
    );
}

#[test]
fn entry_outside_segments() {
    require_kvm();
    let dir = tempfile::tempdir().unwrap();
    let mut spec = valid_spec();
    spec.entry = KERNEL_VIRT_BASE + 0x40_0000;
    let p = write(dir.path(), "entry", &spec.to_bytes());
    assert_error(
        &vessel(&["run", &p]),
        &format!(
            "cannot load image {p}: entry point 0xffffffff80400000 is not inside an executable loadable segment"
        ),
    );
}

#[test]
fn image_too_big_for_memory() {
    require_kvm();
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "big", &exec_image(&[0xeb, 0xfe], 16 << 20));
    assert_error(
        &vessel(&["run", "--memory", "8M", &p]),
        &format!(
            "cannot load image {p}: image does not fit in memory: it needs 18 MiB of guest memory (it ends at 0x1200000) but the VM has 8 MiB"
        ),
    );
}

#[test]
fn memory_too_small() {
    let out = vessel(&["run", "--memory", "3K", "whatever"]);
    assert_error(
        &out,
        "guest memory size 3 KiB is too small: the minimum is 8 MiB",
    );
}

#[test]
fn usage_errors_exit_125() {
    for args in [
        &["run", "--memory", "12Q", "x"][..],
        &["run", "--bogus", "x"],
        &["run"],
        &["frobnicate"],
        &["run", "-e", "NOEQUALS", "x"],
    ] {
        let out = vessel(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(125), "{args:?}: {stderr}");
        assert!(stderr.starts_with("vessel: "), "{args:?}: {stderr}");
    }
}

#[test]
fn guest_exit_code_and_output() {
    require_kvm();
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "hello", &hello_image(b"hi\n", 0x105));
    let out = vessel(&["run", "--verbose", &p, "--", "a", "--b"]);
    assert_eq!(
        out.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, b"hi\n");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 3, "{stderr}");
    let keys = |line: &str, prefix: &str| -> Vec<String> {
        let rest = line
            .strip_prefix(prefix)
            .unwrap_or_else(|| panic!("{line}"));
        rest.split(' ')
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap();
                v.parse::<u64>().unwrap();
                k.to_string()
            })
            .collect()
    };
    assert_eq!(
        keys(lines[0], "[vessel] timing: "),
        [
            "vm_create_us",
            "load_us",
            "vcpu_setup_us",
            "run_us",
            "guest_entry_to_main_us",
            "main_to_exit_us",
            "total_us"
        ]
    );
    assert_eq!(
        lines[1],
        "[vessel] exits: total=2 console_write=1 exit=1 unknown_hypercall=0 io_other=0 mmio=0 hlt=0 other=0 console_read=0 copy_out=0"
    );
    assert_eq!(
        keys(lines[2], "[vessel] memory: "),
        ["guest_size_kib", "guest_touched_kib"]
    );
    assert!(lines[2].starts_with("[vessel] memory: guest_size_kib=131072 "));
}

#[test]
fn guest_crash_exits_126() {
    require_kvm();
    let dir = tempfile::tempdir().unwrap();
    // mov rbx, [0x10]: nothing is mapped there and there is no IDT.
    let p = write(
        dir.path(),
        "crash",
        &exec_image(&[0x48, 0x8b, 0x1c, 0x25, 0x10, 0, 0, 0], 8),
    );
    let out = vessel(&["run", &p]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(126), "{stderr}");
    assert!(
        stderr.starts_with("vessel: guest crashed: triple fault"),
        "{stderr}"
    );
    assert!(stderr.contains("rip=0xffffffff80200000"), "{stderr}");
    assert!(stderr.contains("cr3=0x0000000000001000"), "{stderr}");
}
