//! The `vessel` binary against hostile guests: the guest of
//! `vessel_vmm::test_util::hostile` (malformed hypercalls, stray port and
//! MMIO accesses) and a guest that spins forever. Seccomp is on, as by
//! default.
//!
//! Needs `/dev/kvm`; without it these tests fail, they never skip.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use vessel_vmm::RunStats;
use vessel_vmm::test_util::exec_image;
use vessel_vmm::test_util::hostile::{self, hostile_guest};

fn require_kvm() {
    if let Err(e) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
    {
        panic!("these tests need KVM: cannot open /dev/kvm: {e}");
    }
}

fn vessel(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vessel"))
        .args(args)
        .output()
        .expect("cannot run vessel")
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.to_str().unwrap().to_string()
}

fn memory_arg() -> String {
    format!("{}M", hostile::MEMORY >> 20)
}

#[test]
fn hostile_guest_exits_cleanly_with_documented_answers() {
    require_kvm();
    let guest = hostile_guest();
    let dir = tempfile::tempdir().unwrap();
    let image = write(dir.path(), "hostile", &guest.image);
    for extra in [&[][..], &["--no-seccomp"][..]] {
        let mut args = vec!["run", "--verbose", "--memory"];
        let memory = memory_arg();
        args.push(&memory);
        args.extend_from_slice(extra);
        args.push(&image);
        let out = vessel(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{extra:?}: stderr:\n{stderr}");
        if let Err(wrong) = guest.check_stdout(&out.stdout) {
            panic!("{extra:?}: wrong answers:\n{wrong}");
        }
        // stderr: the guest's own writes, then the three --verbose lines.
        let n = guest.expected_stderr.len();
        assert_eq!(&out.stderr[..n], &guest.expected_stderr[..]);
        let verbose = String::from_utf8_lossy(&out.stderr[n..]);
        let expected_exits = RunStats {
            exits: guest.expected_exits,
            ..Default::default()
        }
        .exits_line();
        assert!(
            verbose.lines().any(|l| l == expected_exits),
            "{extra:?}: expected {expected_exits:?} in:\n{verbose}"
        );
    }
}

#[test]
fn spinning_guest_is_stopped_with_status_124() {
    require_kvm();
    let dir = tempfile::tempdir().unwrap();
    // jmp $
    let image = write(dir.path(), "spin", &exec_image(&[0xeb, 0xfe], 0x1000));
    let started = Instant::now();
    let out = vessel(&["run", "--timeout", "0.5", &image]);
    let elapsed = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(124), "stderr:\n{stderr}");
    assert!(
        stderr.starts_with(
            "vessel: guest timed out: still running after 0.5 s (--timeout); stopped it\n"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("rip=0xffffffff80200000"), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(elapsed >= Duration::from_millis(500), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
}

#[test]
fn bad_timeouts_are_usage_errors() {
    for bad in ["0", "-1", "soon", "NaN", "1e300"] {
        let out = vessel(&["run", &format!("--timeout={bad}"), "/nonexistent"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(125), "{bad}: {stderr}");
        assert!(
            stderr.starts_with("vessel: invalid value"),
            "{bad}: {stderr}"
        );
    }
}
