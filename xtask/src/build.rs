//! Building the host tools and the guest images.

use std::path::PathBuf;

use anyhow::{Result, bail};

use crate::cmd::{self, note};
use crate::project::{GUEST_TARGET, Project};
use crate::source;

/// Builds the whole host workspace (except xtask) in release mode.
pub fn host_release(project: &Project) -> Result<()> {
    note("building host (release)");
    cmd::run(cmd::host_cargo(project).args([
        "build",
        "--release",
        "--workspace",
        "--exclude",
        "xtask",
    ]))
}

/// Builds the given host packages in release mode.
pub fn host_release_packages(project: &Project, packages: &[&str]) -> Result<()> {
    let known: Vec<String> = source::find_crates(&project.host_crates_dir())?
        .into_iter()
        .map(|c| c.name)
        .collect();
    for package in packages {
        if !known.iter().any(|k| k == package) {
            bail!(
                "host package `{package}` does not exist (yet): no crates/*/Cargo.toml names it \
                 (host packages: {})",
                known.join(", ")
            );
        }
    }
    note(format!("building host (release): {}", packages.join(", ")));
    let mut cargo = cmd::host_cargo(project);
    cargo.args(["build", "--release"]);
    for package in packages {
        cargo.args(["--package", package]);
    }
    cmd::run(&mut cargo)
}

/// Builds the whole guest workspace (kernel and examples) in release mode.
pub fn guest_release(project: &Project) -> Result<()> {
    project.require_guest()?;
    note(format!("building guest for {GUEST_TARGET} (release)"));
    let manifest = project.guest_manifest();
    cmd::run(
        cmd::guest_cargo(project)
            .args(["build", "--release", "--workspace", "--manifest-path"])
            .arg(&manifest),
    )
}

/// The path of a built guest image, or an error listing the built ones.
pub fn guest_image(project: &Project, example: &str) -> Result<PathBuf> {
    let image = project.guest_image(example);
    if image.is_file() {
        return Ok(image);
    }
    let dir = image.parent().map(PathBuf::from).unwrap_or_default();
    let mut available: Vec<String> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.contains('.'))
        .collect();
    available.sort();
    bail!(
        "guest image `{example}` was not built: {} does not exist (built images: {})",
        image.display(),
        if available.is_empty() {
            "none".to_string()
        } else {
            available.join(", ")
        }
    )
}

/// `cargo xtask build`: host release and guest release.
pub fn all(project: &Project) -> Result<()> {
    // The guest first: `vessel` embeds the vessel-linux kernel image.
    guest_release(project)?;
    host_release(project)?;
    note("build finished");
    Ok(())
}
