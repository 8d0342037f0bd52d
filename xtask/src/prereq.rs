//! Prerequisites: the Rust target and components, `/dev/kvm`, and the few
//! Debian packages some commands need. Each is checked first and installed
//! only when missing; `/dev/kvm` cannot be installed, so its absence fails
//! with an explanation (it is never skipped).

use std::fs::OpenOptions;
use std::path::Path;
use std::process::Command;

use anyhow::{Result, bail};

use crate::cmd::{self, note};
use crate::project::{GUEST_TARGET, Project};

/// What the prerequisites are checked for: each purpose needs a different set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Purpose {
    /// Building host and guest.
    Build,
    /// Booting a guest (`cargo xtask run`).
    Run,
    /// Booting a guest on QEMU (`cargo xtask run --hypervisor qemu`).
    RunQemu,
    /// The whole test suite (`cargo xtask test`).
    Test,
    /// Benchmarks (`cargo xtask bench`).
    Bench,
}

impl Purpose {
    fn needs_kvm(self) -> bool {
        !matches!(self, Purpose::Build)
    }
}

/// A program the project needs from Debian, and for which purposes.
#[derive(Debug)]
pub struct AptNeed {
    /// The program (a name on `PATH`, or an absolute path) whose presence
    /// shows the package is installed.
    pub program: &'static str,
    /// The Debian package that provides it.
    pub package: &'static str,
    /// The purposes that need it.
    pub needed_for: &'static [Purpose],
}

/// Every Debian package any xtask command needs: the single list to extend
/// (e.g. `qemu-system-x86` for the PVH boot tests, `musl-tools` and
/// `busybox-static` for Linux-compatibility tests).
pub const APT_NEEDS: &[AptNeed] = &[
    AptNeed {
        // GNU time reports the peak RSS of the `vessel` process (`%M`).
        program: "/usr/bin/time",
        package: "time",
        needed_for: &[Purpose::Bench],
    },
    AptNeed {
        // The same images boot on QEMU (microvm, q35) through PVH.
        program: "qemu-system-x86_64",
        package: "qemu-system-x86",
        needed_for: &[Purpose::Test, Purpose::Bench, Purpose::RunQemu],
    },
    AptNeed {
        // Compiles the C programs of the Linux conformance tests and the
        // OS-latency benchmark (`bench --linux`).
        program: "musl-gcc",
        package: "musl-tools",
        needed_for: &[Purpose::Test, Purpose::Bench],
    },
    AptNeed {
        // Compiles the dynamically linked (glibc) and static-PIE programs
        // of the Linux conformance tests...
        program: "gcc",
        package: "gcc",
        needed_for: &[Purpose::Test],
    },
    AptNeed {
        // ...against glibc's headers and libraries.
        program: "/usr/lib/x86_64-linux-gnu/libc.so",
        package: "libc6-dev",
        needed_for: &[Purpose::Test],
    },
    AptNeed {
        // Debian's busybox-static, run unmodified under vessel-linux.
        program: "/bin/busybox",
        package: "busybox-static",
        needed_for: &[Purpose::Test],
    },
];

/// Rust targets: the guest's, and the static Linux one the conformance tests
/// compile Rust programs for (run natively and under vessel-linux).
const RUST_TARGETS: &[&str] = &[GUEST_TARGET, "x86_64-unknown-linux-musl"];

/// Rust components every workflow needs.
const RUST_COMPONENTS: &[&str] = &["rustfmt", "clippy"];

/// Ensures everything `purpose` needs is present, installing what can be.
pub fn ensure(project: &Project, purpose: Purpose) -> Result<()> {
    ensure_rust(project)?;
    if purpose.needs_kvm() {
        check_kvm()?;
    }
    ensure_apt(purpose)?;
    Ok(())
}

/// Ensures the guest target and the components are installed, for the
/// toolchain of the host workspace and (if it pins its own) of the guest.
pub fn ensure_rust(project: &Project) -> Result<()> {
    if !cmd::have_program("rustup") {
        bail!(
            "rustup is not on PATH; Vessel needs a rustup-managed toolchain to add the \
             `{GUEST_TARGET}` target (install rustup from your distribution or rustup.rs)"
        );
    }
    let mut dirs = vec![project.root().to_path_buf()];
    let guest = project.guest_dir();
    if guest.join("rust-toolchain.toml").is_file() || guest.join("rust-toolchain").is_file() {
        dirs.push(guest);
    }
    for dir in dirs {
        ensure_rust_in(&dir)?;
    }
    Ok(())
}

fn rustup(dir: &Path) -> Command {
    let mut cmd = Command::new("rustup");
    cmd.current_dir(dir).env_remove("RUSTUP_TOOLCHAIN");
    cmd
}

fn ensure_rust_in(dir: &Path) -> Result<()> {
    let targets = cmd::stdout(rustup(dir).args(["target", "list", "--installed"]))?;
    for target in RUST_TARGETS {
        if !targets.lines().any(|t| t.trim() == *target) {
            note(format!("installing rust target {target}"));
            cmd::run(rustup(dir).args(["target", "add", target]))?;
        }
    }
    let components = cmd::stdout(rustup(dir).args(["component", "list", "--installed"]))?;
    for component in RUST_COMPONENTS {
        // Installed components are listed as `<name>-<host triple>`.
        let installed = components
            .lines()
            .any(|c| c.trim() == *component || c.trim().starts_with(&format!("{component}-")));
        if !installed {
            note(format!("installing rust component {component}"));
            cmd::run(rustup(dir).args(["component", "add", component]))?;
        }
    }
    Ok(())
}

/// Fails with an explanation unless `/dev/kvm` can be opened read-write.
pub fn check_kvm() -> Result<()> {
    let path = Path::new("/dev/kvm");
    match OpenOptions::new().read(true).write(true).open(path) {
        Ok(_) => Ok(()),
        Err(err) => {
            let listing = Command::new("ls")
                .args(["-la", "/dev/kvm"])
                .output()
                .map(|o| {
                    format!(
                        "{}{}",
                        String::from_utf8_lossy(&o.stdout),
                        String::from_utf8_lossy(&o.stderr)
                    )
                })
                .unwrap_or_else(|e| format!("(could not run ls: {e})"));
            bail!(
                "/dev/kvm is not usable: {err}\n\
                 `ls -la /dev/kvm`: {}\n\
                 Vessel boots guests with KVM, so the tests and `run` need read-write \
                 access to /dev/kvm: enable virtualization (VT-x/AMD-V, or nested \
                 virtualization in a VM), load kvm_intel/kvm_amd, and add your user to \
                 the group that owns /dev/kvm (usually `kvm`), then log in again.",
                listing.trim()
            )
        }
    }
}

/// Installs, with apt, the Debian packages `purpose` needs that are missing.
pub fn ensure_apt(purpose: Purpose) -> Result<()> {
    let missing: Vec<&AptNeed> = APT_NEEDS
        .iter()
        .filter(|need| need.needed_for.contains(&purpose) && !cmd::have_program(need.program))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let packages: Vec<&str> = missing.iter().map(|need| need.package).collect();
    if !cmd::have_program("apt-get") {
        bail!(
            "missing programs {:?}; install the packages {:?} with your package manager",
            missing.iter().map(|n| n.program).collect::<Vec<_>>(),
            packages
        );
    }
    note(format!(
        "installing Debian packages: {}",
        packages.join(" ")
    ));
    cmd::run(
        Command::new("apt-get")
            .arg("update")
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )?;
    cmd::run(
        Command::new("apt-get")
            .args(["install", "-y", "--no-install-recommends"])
            .args(&packages)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )?;
    Ok(())
}
