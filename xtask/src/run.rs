//! `cargo xtask run`: build everything and boot one guest example.

use std::process::Command;

use anyhow::Result;

use crate::build;
use crate::cmd::{self, note};
use crate::prereq::{self, Purpose};
use crate::project::Project;

/// Arguments of `cargo xtask run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Guest example to boot (a binary of guest/examples).
    #[arg(long, default_value = "hello")]
    pub example: String,
    /// Guest memory size, passed to `vessel run --memory` (e.g. 64M).
    #[arg(long)]
    pub memory: Option<String>,
    /// Ask vessel to print its timing, exit and memory summary.
    #[arg(long)]
    pub verbose: bool,
    /// Where to boot: `vessel` (the Vessel VMM), `qemu` (QEMU microvm) or
    /// `qemu-q35`, the last two through the PVH entry (`tools/qemu-run`).
    #[arg(long, default_value = "vessel", value_parser = ["vessel", "qemu", "qemu-q35"])]
    pub hypervisor: String,
    /// Arguments for the guest program (after `--`).
    #[arg(last = true)]
    pub args: Vec<String>,
}

/// Builds host and guest, boots the example and returns vessel's exit code.
pub fn run(project: &Project, args: &RunArgs) -> Result<i32> {
    let on_qemu = args.hypervisor != "vessel";
    prereq::ensure(
        project,
        if on_qemu {
            Purpose::RunQemu
        } else {
            Purpose::Run
        },
    )?;
    build::guest_release(project)?;
    if !on_qemu {
        build::host_release_packages(project, &["vessel"])?;
    }
    let image = build::guest_image(project, &args.example)?;
    let mut vessel = if on_qemu {
        let mut qemu = Command::new(project.root().join("tools/qemu-run"));
        let machine = if args.hypervisor == "qemu-q35" {
            "q35"
        } else {
            "microvm"
        };
        qemu.args(["--machine", machine]);
        qemu
    } else {
        let mut vessel = Command::new(project.host_release_bin("vessel"));
        vessel.arg("run");
        vessel
    };
    if let Some(memory) = &args.memory {
        vessel.args(["--memory", memory]);
    }
    if args.verbose && !on_qemu {
        vessel.arg("--verbose");
    }
    vessel.arg(&image).arg("--").args(&args.args);
    let status = cmd::status(&mut vessel)?;
    let code = exit_code(status);
    if code != 0 {
        note(format!("the guest exited with status {code}"));
    }
    Ok(code)
}

/// A process exit code for `status`: the code, or 128 + signal number.
pub fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(1)
}
