//! Where things are in the Vessel repository.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// The target triple guest images are built for.
pub const GUEST_TARGET: &str = "x86_64-unknown-none";
/// The host target triple guest pure-logic unit tests run on.
pub const HOST_TARGET: &str = "x86_64-unknown-linux-gnu";
/// The package name of the one guest crate allowed to use `unsafe`.
pub const TRUSTED_GUEST_CRATE: &str = "vessel-rt";

/// The guest binary that is the vessel-linux kernel, embedded in `vessel`.
pub const LINUX_KERNEL_IMAGE: &str = "vessel-linux";

/// Paths of one checkout of the Vessel repository.
#[derive(Clone, Debug)]
pub struct Project {
    root: PathBuf,
}

impl Project {
    /// The checkout this xtask binary was built from.
    pub fn locate() -> Result<Self> {
        let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        let root = manifest_dir
            .parent()
            .context("xtask's manifest directory has no parent")?
            .to_path_buf();
        if !root.join("Cargo.toml").is_file() {
            bail!("no Cargo.toml at the repository root {}", root.display());
        }
        Ok(Self { root })
    }

    /// A project rooted at `root` (used by tests on fixture trees).
    pub fn at(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The repository root (the host workspace).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The host workspace's target directory.
    pub fn target_dir(&self) -> PathBuf {
        self.root.join("target")
    }

    /// The guest workspace directory.
    pub fn guest_dir(&self) -> PathBuf {
        self.root.join("guest")
    }

    /// The guest workspace manifest.
    pub fn guest_manifest(&self) -> PathBuf {
        self.guest_dir().join("Cargo.toml")
    }

    /// Whether the guest workspace exists yet.
    pub fn has_guest(&self) -> bool {
        self.guest_manifest().is_file()
    }

    /// Fails with a clear message when the guest workspace is missing.
    pub fn require_guest(&self) -> Result<()> {
        if !self.has_guest() {
            bail!(
                "the guest workspace is missing: expected {} (the guest kernel and its \
                 examples are built from there)",
                self.guest_manifest().display()
            );
        }
        Ok(())
    }

    /// The target directory guest builds use (`CARGO_TARGET_DIR`).
    pub fn guest_target_dir(&self) -> PathBuf {
        self.target_dir().join("guest")
    }

    /// Where the release build of guest binary `name` lands.
    pub fn guest_image(&self, name: &str) -> PathBuf {
        self.guest_target_dir()
            .join(GUEST_TARGET)
            .join("release")
            .join(name)
    }

    /// Where the release build of host binary `name` lands.
    pub fn host_release_bin(&self, name: &str) -> PathBuf {
        self.target_dir().join("release").join(name)
    }

    /// Host crate directories (`crates/*`).
    pub fn host_crates_dir(&self) -> PathBuf {
        self.root.join("crates")
    }

    /// Directories no source scan descends into, relative to the root.
    pub fn scan_excludes(&self) -> Vec<PathBuf> {
        vec![
            self.root.join("target"),
            self.root.join("xtask").join("tests").join("fixtures"),
        ]
    }

    /// A path relative to the root, for messages.
    pub fn rel<'a>(&self, path: &'a Path) -> &'a Path {
        path.strip_prefix(&self.root).unwrap_or(path)
    }
}
