//! Running external commands with a visible trace.

use std::ffi::OsStr;
use std::process::{Command, ExitStatus, Output};

use anyhow::{Context, Result, bail};

use crate::project::Project;

/// Prints an `xtask:` progress line.
pub fn note(message: impl AsRef<str>) {
    eprintln!("xtask: {}", message.as_ref());
}

/// Renders a command the way a shell user would type it.
pub fn describe(cmd: &Command) -> String {
    let mut parts = Vec::new();
    if let Some(dir) = cmd.get_current_dir() {
        parts.push(format!("(cd {} &&", dir.display()));
    }
    for (key, value) in cmd.get_envs() {
        if let Some(value) = value {
            parts.push(format!(
                "{}={}",
                key.to_string_lossy(),
                value.to_string_lossy()
            ));
        }
    }
    let program = std::path::Path::new(cmd.get_program());
    if program.file_name().is_some_and(|name| name == "cargo") {
        parts.push("cargo".into());
    } else {
        parts.push(program.display().to_string());
    }
    parts.extend(cmd.get_args().map(quote));
    let mut line = parts.join(" ");
    if cmd.get_current_dir().is_some() {
        line.push(')');
    }
    line
}

fn quote(arg: &OsStr) -> String {
    let s = arg.to_string_lossy();
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_=./:,+@%".contains(c))
    {
        s.into_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Runs `cmd` with inherited stdio and returns its status.
pub fn status(cmd: &mut Command) -> Result<ExitStatus> {
    note(format!("$ {}", describe(cmd)));
    cmd.status()
        .with_context(|| format!("could not start `{}`", describe(cmd)))
}

/// Runs `cmd` with inherited stdio and fails unless it succeeds.
pub fn run(cmd: &mut Command) -> Result<()> {
    let status = status(cmd)?;
    if !status.success() {
        bail!("`{}` failed ({status})", describe(cmd));
    }
    Ok(())
}

/// Runs `cmd` quietly and returns its captured output (any exit status).
pub fn output(cmd: &mut Command) -> Result<Output> {
    cmd.output()
        .with_context(|| format!("could not start `{}`", describe(cmd)))
}

/// Runs `cmd` quietly and returns its stdout, failing unless it succeeds.
pub fn stdout(cmd: &mut Command) -> Result<String> {
    let out = output(cmd)?;
    if !out.status.success() {
        bail!(
            "`{}` failed ({}): {}",
            describe(cmd),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Whether `program` can be found on `PATH` (or exists, for a path).
pub fn have_program(program: &str) -> bool {
    if program.contains('/') {
        return std::path::Path::new(program).is_file();
    }
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
        .unwrap_or(false)
}

/// A `cargo` command for the host workspace, run from the repository root,
/// with its target directory pinned to `<root>/target`.
pub fn host_cargo(project: &Project) -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(project.root());
    // Paths like target/release/vessel must hold even if the caller points
    // cargo elsewhere.
    if std::env::var_os("CARGO_TARGET_DIR").is_some() {
        cmd.env("CARGO_TARGET_DIR", project.target_dir());
    }
    // `vessel` embeds the vessel-linux kernel when it has been built (the
    // guest is built first): see crates/cli/build.rs.
    let kernel = project.guest_image(crate::project::LINUX_KERNEL_IMAGE);
    if kernel.is_file() {
        cmd.env("VESSEL_LINUX_KERNEL", kernel);
    }
    cmd
}

/// A `cargo` command for the guest workspace, run from `guest/` so that
/// `guest/.cargo/config.toml` (target, linker flags) applies, with
/// `CARGO_TARGET_DIR=<root>/target/guest`.
pub fn guest_cargo(project: &Project) -> Command {
    let guest = project.guest_dir();
    // Go through the rustup proxy so a guest `rust-toolchain.toml`, if any,
    // picks the toolchain rather than whatever ran xtask.
    let mut cmd = Command::new("cargo");
    if guest.join("rust-toolchain.toml").is_file() || guest.join("rust-toolchain").is_file() {
        cmd.env_remove("RUSTUP_TOOLCHAIN");
    }
    cmd.current_dir(&guest)
        .env("CARGO_TARGET_DIR", project.guest_target_dir());
    cmd
}
