//! `cargo xtask check`: formatting, clippy on both workspaces, and the
//! framekernel and SAFETY rules (see [`crate::framekernel`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

use crate::cmd::{self, note};
use crate::framekernel::{self, Site, SiteKind};
use crate::project::{Project, TRUSTED_GUEST_CRATE};

/// Runs every check, reporting all failures before failing.
pub fn run(project: &Project) -> Result<()> {
    let mut failures = Vec::new();
    let mut step = |name: &str, result: Result<()>| {
        if let Err(err) = result {
            eprintln!("xtask: check `{name}` FAILED: {err:#}");
            failures.push(name.to_string());
        }
    };
    step("fmt (host)", fmt_host(project));
    step("fmt (guest)", fmt_guest(project));
    step("framekernel", rules(project));
    step("clippy (host)", clippy_host(project));
    step("clippy (guest)", clippy_guest(project));
    if !failures.is_empty() {
        bail!("check failed: {}", failures.join(", "));
    }
    note("check passed: fmt, framekernel and SAFETY rules, clippy (host and guest)");
    Ok(())
}

/// `cargo fmt --check` on the host workspace.
pub fn fmt_host(project: &Project) -> Result<()> {
    cmd::run(cmd::host_cargo(project).args(["fmt", "--check"]))
}

/// `cargo fmt --check` on the guest workspace.
pub fn fmt_guest(project: &Project) -> Result<()> {
    project.require_guest()?;
    // `guest_cargo` runs in guest/; `--manifest-path` to a virtual
    // workspace makes cargo-fmt fail with "Failed to find targets".
    cmd::run(cmd::guest_cargo(project).args(["fmt", "--check"]))
}

/// Clippy on the host workspace, warnings denied.
pub fn clippy_host(project: &Project) -> Result<()> {
    cmd::run(cmd::host_cargo(project).args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))
}

/// Clippy on the guest workspace (for the target its config sets),
/// warnings denied.
pub fn clippy_guest(project: &Project) -> Result<()> {
    project.require_guest()?;
    cmd::run(
        cmd::guest_cargo(project)
            .args(["clippy", "--workspace", "--manifest-path"])
            .arg(project.guest_manifest())
            .args(["--", "-D", "warnings"]),
    )
}

/// The framekernel rule on the guest and the SAFETY rule everywhere; also
/// lists every host `unsafe` site.
pub fn rules(project: &Project) -> Result<()> {
    let excludes = project.scan_excludes();
    let all = framekernel::check_safety_comments(project.root(), &excludes)?;
    let mut violations = all.violations;
    if project.guest_dir().is_dir() {
        let guest = framekernel::check_guest(&project.guest_dir(), TRUSTED_GUEST_CRATE)?;
        violations.extend(guest.violations);
    } else {
        violations.push(framekernel::Violation {
            file: project.guest_dir(),
            line: 0,
            message: "guest directory missing".into(),
        });
    }
    print_sites(project, &all.sites);
    note(format!("framekernel: scanned {} Rust files", all.files));
    if !violations.is_empty() {
        for v in &violations {
            eprintln!(
                "{}:{}: {}",
                project.rel(&v.file).display(),
                v.line,
                v.message
            );
        }
        bail!("{} framekernel/SAFETY violation(s)", violations.len());
    }
    Ok(())
}

/// Prints host `unsafe` sites one per line, and guest ones as counts.
fn print_sites(project: &Project, sites: &[Site]) {
    let host_dir = project.host_crates_dir();
    let (host, guest): (Vec<&Site>, Vec<&Site>) =
        sites.iter().partition(|s| s.file.starts_with(&host_dir));
    if host.is_empty() {
        note("host unsafe sites: none");
    } else {
        note(format!(
            "host unsafe sites ({}), every host FFI edge:",
            host.len()
        ));
        for site in &host {
            let detail = if site.detail.is_empty() {
                String::new()
            } else {
                format!(" {}", site.detail)
            };
            eprintln!(
                "  {}:{}: {}{detail}",
                project.rel(&site.file).display(),
                site.line,
                site.kind
            );
        }
    }
    let mut per_dir: BTreeMap<PathBuf, BTreeMap<SiteKind, usize>> = BTreeMap::new();
    for site in guest {
        let krate = project.rel(&crate_dir_of(&site.file)).to_path_buf();
        *per_dir
            .entry(krate)
            .or_default()
            .entry(site.kind)
            .or_default() += 1;
    }
    for (krate, kinds) in per_dir {
        let counts: Vec<String> = kinds.iter().map(|(k, n)| format!("{n} {k}")).collect();
        note(format!(
            "unsafe sites in {}: {}",
            krate.display(),
            counts.join(", ")
        ));
    }
}

/// The directory of the package a file belongs to (nearest `Cargo.toml`).
fn crate_dir_of(file: &Path) -> PathBuf {
    file.ancestors()
        .skip(1)
        .find(|dir| dir.join("Cargo.toml").is_file())
        .unwrap_or(file)
        .to_path_buf()
}
