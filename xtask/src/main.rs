//! `cargo xtask`: Vessel's developer commands. See `cargo xtask --help`.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};
use xtask::project::Project;
use xtask::{bench, build, check, prereq, profile, run, tcb, test};

/// Vessel developer tooling.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Build everything and boot a guest example with vessel.
    Run(run::RunArgs),
    /// Build the host tools and the guest images (release).
    Build,
    /// Formatting, clippy (host and guest), framekernel and SAFETY rules.
    Check,
    /// Trusted-computing-base report: guest code lines and unsafe per crate.
    Tcb(tcb::TcbArgs),
    /// The whole test suite: prerequisites, check, builds, unit and boot tests.
    Test,
    /// Boot-time, VM-exit, RSS and image-size benchmarks.
    Bench(bench::BenchArgs),
    /// Which guest functions execute the most instructions (a single-step
    /// trace of a guest example or of vessel-linux running a program).
    Profile(profile::ProfileArgs),
    /// Only check (and install where possible) the prerequisites.
    Prereq {
        /// What to prepare for.
        #[arg(long = "for", value_enum, default_value = "test")]
        purpose: prereq::Purpose,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli.command) {
        Ok(code) => ExitCode::from(u8::try_from(code & 0xff).unwrap_or(1)),
        Err(err) => {
            eprintln!("xtask: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn dispatch(command: Command) -> Result<i32> {
    let project = Project::locate()?;
    match command {
        Command::Run(args) => return run::run(&project, &args),
        Command::Build => {
            prereq::ensure(&project, prereq::Purpose::Build)?;
            build::all(&project)?;
        }
        Command::Check => {
            prereq::ensure_rust(&project)?;
            check::run(&project)?;
        }
        Command::Tcb(args) => tcb::run(&project, &args)?,
        Command::Test => test::run(&project)?,
        Command::Bench(args) => bench::run(&project, &args)?,
        Command::Profile(args) => {
            prereq::ensure(&project, prereq::Purpose::Build)?;
            profile::run(&project, &args)?;
        }
        Command::Prereq { purpose } => prereq::ensure(&project, purpose)?,
    }
    Ok(0)
}
