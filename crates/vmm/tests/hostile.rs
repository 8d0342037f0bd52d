//! Boots the hostile guest (`vessel_vmm::test_util::hostile`) in a real KVM
//! VM with the seccomp filter on: every malformed hypercall gets its
//! documented status, stray port and MMIO accesses read as all ones, the
//! exit statistics count every access, and the guest exits cleanly.
//!
//! Needs `/dev/kvm`; without it the tests fail (never skip).

use std::time::{Duration, Instant};

use vessel_vmm::abi::hypercall::ExitReason;
use vessel_vmm::test_util::exec_image;
use vessel_vmm::test_util::hostile::{self, HostileGuest};
use vessel_vmm::{CaptureConsole, GuestEnd, RunOutcome, Vm, VmConfig};

fn require_kvm() {
    if let Err(e) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
    {
        panic!("these tests boot real VMs and need KVM: cannot open /dev/kvm: {e}");
    }
}

/// Runs `image` on a fresh thread confined by the seccomp filter (as
/// `vessel run` does), so the test thread itself stays unconfined.
fn run_confined(image: &[u8], timeout: Option<Duration>) -> (RunOutcome, CaptureConsole) {
    require_kvm();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hostile");
    std::fs::write(&path, image).unwrap();
    let config = VmConfig::new(&path)
        .with_memory(hostile::MEMORY)
        .with_seccomp(true)
        .with_timeout(timeout);
    std::thread::spawn(move || {
        let mut console = CaptureConsole::default();
        let outcome = Vm::run_with_console(config, &mut console).expect("VM failed to run");
        (outcome, console)
    })
    .join()
    .expect("vCPU thread panicked")
}

#[test]
fn hostile_guest_gets_documented_answers_and_exits_cleanly() {
    let guest: HostileGuest = hostile::hostile_guest();
    let (outcome, console) = run_confined(&guest.image, Some(Duration::from_secs(30)));
    let stderr = String::from_utf8_lossy(&console.stderr);
    match &outcome.end {
        GuestEnd::Exited { code, reason } => {
            assert_eq!(
                (*code, *reason),
                (0, ExitReason::Normal),
                "stderr: {stderr}"
            )
        }
        other => panic!("the hostile guest did not exit cleanly: {other:?}"),
    }
    if let Err(wrong) = guest.check_stdout(&console.stdout) {
        panic!("wrong answers:\n{wrong}");
    }
    assert_eq!(console.stderr, guest.expected_stderr);
    assert_eq!(outcome.stats.exits, guest.expected_exits);
}

#[test]
fn spinning_guest_is_stopped_by_the_timeout() {
    // jmp $
    let image = exec_image(&[0xeb, 0xfe], 0x1000);
    let started = Instant::now();
    let (outcome, _) = run_confined(&image, Some(Duration::from_millis(300)));
    let elapsed = started.elapsed();
    let GuestEnd::TimedOut { limit, registers } = outcome.end else {
        panic!("expected a timeout, got {:?}", outcome.end);
    };
    assert_eq!(limit, Duration::from_millis(300));
    assert_eq!(registers.rip, 0xffff_ffff_8020_0000);
    assert!(elapsed >= limit, "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
}
