//! The seccomp filter refuses what the vCPU thread must not do.
//!
//! Each check runs in a child process (this test binary, re-executed with
//! `VESSEL_SECCOMP_CHILD` naming what to do), because a seccomp filter
//! cannot be removed once installed. The child installs exactly the filter
//! `vessel run` installs (`vessel_vmm::seccomp::apply`) and then makes one
//! system call; the parent checks how the child ended.

use std::process::{Command, Output};

use vessel_vmm::seccomp::{self, VIOLATION_STATUS};

const CHILD_ENV: &str = "VESSEL_SECCOMP_CHILD";
/// A descriptor number standing for the vCPU in the filter.
const VCPU_FD: i32 = 1000;

/// In the child: installs the filter on this thread, then does `action`.
fn child(action: &str) -> ! {
    seccomp::apply(VCPU_FD).expect("apply the filter");
    match action {
        "socket" => {
            // SAFETY: socket(2) has no memory arguments.
            let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0) };
            eprintln!("socket returned {fd}");
        }
        "openat" => {
            let path = c"/etc/hostname";
            // SAFETY: `path` is a valid NUL-terminated string.
            let fd = unsafe { libc::openat(libc::AT_FDCWD, path.as_ptr(), libc::O_RDONLY) };
            eprintln!("openat returned {fd}");
        }
        "write-fd3" => {
            // SAFETY: writes 1 byte from a valid buffer.
            let n = unsafe { libc::write(3, b"x".as_ptr().cast(), 1) };
            eprintln!("write(3) returned {n}");
        }
        "read-stdin" => {
            let mut byte = [0u8; 1];
            // SAFETY: reads at most 1 byte into a valid buffer.
            let n = unsafe { libc::read(0, byte.as_mut_ptr().cast(), 1) };
            eprintln!("read(0) returned {n}");
        }
        "mmap-exec" => {
            // SAFETY: an anonymous private mapping at a kernel-chosen address.
            let p = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    4096,
                    libc::PROT_READ | libc::PROT_EXEC,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                )
            };
            eprintln!("mmap returned {p:?}");
        }
        "ioctl-other" => {
            // KVM_CREATE_VCPU (0xae41) on the vCPU descriptor number.
            // SAFETY: no memory is passed.
            let rc = unsafe { libc::ioctl(VCPU_FD, 0xae41, 0) };
            eprintln!("ioctl returned {rc}");
        }
        "allowed" => {
            // What the run loop does besides KVM_RUN: console writes, heap
            // growth and release, the clock, KVM_RUN on the vCPU (the
            // descriptor is not open: EBADF, but the filter lets it through).
            println!("stdout works");
            eprintln!("stderr works");
            let big = vec![1u8; 8 << 20];
            let small: Vec<Box<[u8; 64]>> = (0..1000).map(|_| Box::new([0; 64])).collect();
            let _ = std::time::Instant::now();
            // SAFETY: KVM_RUN takes no pointer argument.
            let rc = unsafe { libc::ioctl(VCPU_FD, 0xae80, 0) };
            assert_eq!(rc, -1);
            assert_eq!(
                std::io::Error::last_os_error().raw_os_error(),
                Some(libc::EBADF)
            );
            drop((big, small));
            std::process::exit(0);
        }
        other => panic!("unknown child action {other}"),
    }
    std::process::exit(0);
}

fn run_child(action: &str) -> Output {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "seccomp_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, action)
        .output()
        .expect("run the child")
}

/// The child entry point (does nothing when run normally).
#[test]
fn seccomp_child() {
    if let Ok(action) = std::env::var(CHILD_ENV) {
        child(&action);
    }
}

fn assert_refused(action: &str, name: &str) {
    let out = run_child(action);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(VIOLATION_STATUS),
        "{action}: child ended with {:?}; stderr:\n{stderr}",
        out.status
    );
    assert!(
        stderr.contains(&format!(
            "vessel: seccomp: the VMM made a forbidden system call: {name}"
        )),
        "{action}: stderr:\n{stderr}"
    );
    assert!(
        !stderr.contains("returned"),
        "{action}: the call went through: {stderr}"
    );
}

#[test]
fn socket_is_refused() {
    assert_refused("socket", "socket (number 41)");
}

#[test]
fn openat_is_refused() {
    assert_refused("openat", "openat (number 257)");
}

#[test]
fn writes_to_other_descriptors_are_refused() {
    assert_refused(
        "write-fd3",
        "write (to a descriptor other than stdout/stderr)",
    );
}

#[test]
fn reads_are_refused_even_from_stdin() {
    assert_refused("read-stdin", "read (guest input is read by another thread)");
}

#[test]
fn executable_memory_is_refused() {
    assert_refused("mmap-exec", "mmap (of executable memory)");
}

#[test]
fn other_ioctls_are_refused() {
    assert_refused("ioctl-other", "ioctl (not KVM_RUN");
}

#[test]
fn what_the_run_loop_needs_is_allowed() {
    let out = run_child("allowed");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr:\n{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("stdout works"));
    assert!(stderr.contains("stderr works"));
}
