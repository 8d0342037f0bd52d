//! `cargo xtask profile`: which guest functions execute the most
//! instructions.
//!
//! Where the host emulates guest kernel code (this project's development
//! machines: `kvm_pvm` runs guest user mode natively and guest kernel mode
//! one instruction at a time), a guest's kernel-mode cost is its
//! instruction count. `profile` builds the guest with symbols (the release
//! profile without stripping, into `target/guest-symbols`: the same code at
//! the same addresses), runs it under `vessel run --trace-instructions`
//! (single-stepping, about 20 µs per instruction), and counts the traced
//! instructions per function with the symbol table (`nm`, from binutils).
//! For a Linux program the vessel-linux kernel is the guest: `vessel` is
//! built with the symbol-carrying kernel embedded, into
//! `target/profile-host`. User-mode instructions do not appear where the
//! host runs them natively.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::cmd::{self, note};
use crate::project::{GUEST_TARGET, LINUX_KERNEL_IMAGE, Project};

/// Options of `cargo xtask profile`.
#[derive(Clone, Debug, clap::Args)]
pub struct ProfileArgs {
    /// The guest example (a Vessel image) to profile.
    #[arg(long, default_value = "hello", conflicts_with = "linux")]
    pub example: String,
    /// Profile the vessel-linux kernel running this Linux program instead.
    #[arg(long, value_name = "PROGRAM")]
    pub linux: Option<PathBuf>,
    /// How many functions to list.
    #[arg(long, default_value_t = 25)]
    pub top: usize,
    /// Arguments for the guest program.
    #[arg(last = true)]
    pub args: Vec<String>,
}

/// Builds, traces and prints the profile.
pub fn run(project: &Project, args: &ProfileArgs) -> Result<()> {
    if !cmd::have_program("nm") {
        bail!("`nm` is missing: install binutils (apt-get install binutils)");
    }
    let package = match &args.linux {
        Some(_) => "vessel-linux-kernel",
        None => args.example.as_str(),
    };
    let symbols_dir = project.target_dir().join("guest-symbols");
    note(format!(
        "building {package} with symbols into {}",
        symbols_dir.display()
    ));
    cmd::run(
        cmd::guest_cargo(project)
            .env("CARGO_TARGET_DIR", &symbols_dir)
            .env("CARGO_PROFILE_RELEASE_STRIP", "false")
            .env("CARGO_PROFILE_RELEASE_DEBUG", "line-tables-only")
            .args(["build", "--release", "--package", package]),
    )?;
    let image_name = if args.linux.is_some() {
        LINUX_KERNEL_IMAGE
    } else {
        package
    };
    let elf = symbols_dir
        .join(GUEST_TARGET)
        .join("release")
        .join(image_name);
    let vessel = build_vessel(project, args.linux.is_some().then_some(elf.as_path()))?;

    let out_dir = project.target_dir().join("profile");
    std::fs::create_dir_all(&out_dir)?;
    let trace_path = out_dir.join("trace.txt");
    let mut run = Command::new(&vessel);
    run.arg("run").arg("--trace-instructions").arg(&trace_path);
    run.arg(args.linux.as_deref().unwrap_or(&elf));
    run.args(&args.args);
    note(format!("tracing: {}", cmd::describe(&run)));
    // The guest's exit status is its own business; only a trace matters.
    cmd::status(&mut run)?;

    let trace = std::fs::read_to_string(&trace_path)
        .with_context(|| format!("reading {}", trace_path.display()))?;
    let rips = parse_trace(&trace)?;
    if rips.is_empty() {
        bail!("vessel traced no instruction (see its message above)");
    }
    let symbols = parse_nm(&cmd::stdout(
        Command::new("nm")
            .args(["-C", "-n", "--defined-only"])
            .arg(&elf),
    )?);
    let counts = instructions_per_function(&symbols, &rips);
    print_profile(&counts, rips.len(), args.top);
    note(format!(
        "trace: {} ({} instructions)",
        trace_path.display(),
        rips.len()
    ));
    Ok(())
}

/// `vessel` in release mode; with `kernel`, built into `target/profile-host`
/// with that vessel-linux kernel embedded, so that the traced kernel is the
/// one whose symbols are read.
fn build_vessel(project: &Project, kernel: Option<&Path>) -> Result<PathBuf> {
    let mut cargo = cmd::host_cargo(project);
    cargo.args(["build", "--release", "--package", "vessel"]);
    let target = match kernel {
        Some(kernel) => {
            let dir = project.target_dir().join("profile-host");
            cargo
                .env("CARGO_TARGET_DIR", &dir)
                .env("VESSEL_LINUX_KERNEL", kernel);
            dir
        }
        None => project.target_dir(),
    };
    note("building vessel (release)");
    cmd::run(&mut cargo)?;
    Ok(target.join("release").join("vessel"))
}

/// The RIPs of a trace file (one hexadecimal address per line).
pub fn parse_trace(text: &str) -> Result<Vec<u64>> {
    text.lines()
        .filter(|line| !line.is_empty())
        .map(|line| {
            u64::from_str_radix(line, 16).with_context(|| format!("bad trace line `{line}`"))
        })
        .collect()
}

/// Code symbols of `nm -C -n --defined-only` output: (address, name),
/// sorted by address.
pub fn parse_nm(text: &str) -> Vec<(u64, String)> {
    let mut symbols: Vec<(u64, String)> = text
        .lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, ' ');
            let address = u64::from_str_radix(parts.next()?, 16).ok()?;
            let kind = parts.next()?;
            let name = parts.next()?;
            matches!(kind, "t" | "T" | "w" | "W").then(|| (address, name.to_string()))
        })
        .collect();
    symbols.sort_by_key(|&(address, _)| address);
    symbols
}

/// Instructions per function (the last symbol at or below each RIP),
/// most first; RIPs below every symbol count as `?`.
pub fn instructions_per_function(symbols: &[(u64, String)], rips: &[u64]) -> Vec<(String, u64)> {
    let mut counts: HashMap<&str, u64> = HashMap::new();
    for &rip in rips {
        let index = symbols.partition_point(|&(address, _)| address <= rip);
        let name = index.checked_sub(1).map_or("?", |i| symbols[i].1.as_str());
        *counts.entry(name).or_default() += 1;
    }
    let mut sorted: Vec<(String, u64)> = counts
        .into_iter()
        .map(|(name, n)| (name.to_string(), n))
        .collect();
    sorted.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    sorted
}

fn print_profile(counts: &[(String, u64)], total: usize, top: usize) {
    println!("\n{total} guest instructions traced\n");
    println!("{:>9} {:>6}  function", "instr", "%");
    for (name, n) in counts.iter().take(top) {
        let share = 100.0 * *n as f64 / total.max(1) as f64;
        let name: String = name.chars().take(110).collect();
        println!("{n:>9} {share:>5.1}%  {name}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_instructions_per_enclosing_function() {
        let symbols = parse_nm(
            "ffffffff80200000 T _start\n\
             ffffffff80200040 t vessel_rt::boot::boot\n\
             ffffffff80300000 r SOME_DATA\n\
             ffffffff80200100 t core::fmt::write\n",
        );
        assert_eq!(symbols.len(), 3, "data symbols are left out");
        let rips = parse_trace(
            "ffffffff80200001\nffffffff80200040\nffffffff80200041\nffffffff80200150\n1000\n",
        )
        .unwrap();
        let counts = instructions_per_function(&symbols, &rips);
        assert_eq!(
            counts,
            vec![
                ("vessel_rt::boot::boot".to_string(), 2),
                ("?".to_string(), 1),
                ("_start".to_string(), 1),
                ("core::fmt::write".to_string(), 1),
            ]
        );
    }

    #[test]
    fn a_malformed_trace_is_an_error() {
        assert!(parse_trace("ffff\nnot-hex\n").is_err());
    }
}
