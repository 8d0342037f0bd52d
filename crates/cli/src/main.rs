//! `vessel`: run Vessel guest images in KVM microVMs.
//!
//! ```text
//! vessel run [--memory SIZE] [--verbose] [--timeout SECS] [--no-seccomp]
//!            [-e KEY=VALUE]... [--volume HOST_DIR:GUEST_DIR]...
//!            [--copy-out GUEST_PATH:HOST_PATH]... [-i] [-t] IMAGE [--] [ARGS...]
//! ```
//!
//! Exit status: the guest's exit code (`& 0xff`); 126 if the guest crashed;
//! 124 if it ran longer than `--timeout`; 125 for any error before the guest
//! runs (bad option, bad image, no KVM); 159 if the VMM made a system call
//! its seccomp filter forbids.

use std::fmt::Write as _;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::error::ErrorKind;
use clap::{Args, Parser, Subcommand};
use vessel_vmm::files::{self, CopyOutTarget, Volume};
use vessel_vmm::{
    GuestEnd, InstructionTrace, IrqChip, MAX_TRACED_INSTRUCTIONS, RunOutcome, Vm, VmConfig,
};

mod size;
mod terminal;

include!(concat!(env!("OUT_DIR"), "/linux_kernel.rs"));

/// Exit status for errors before the guest runs.
const STATUS_ERROR: u8 = 125;
/// Exit status when the guest crashed.
const STATUS_CRASH: u8 = 126;
/// Exit status when the guest ran longer than `--timeout` (as timeout(1)).
const STATUS_TIMEOUT: u8 = 124;

/// Run Vessel guest images in KVM microVMs.
#[derive(Debug, Parser)]
#[command(name = "vessel", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Boot IMAGE in a new microVM and run it to its end.
    Run(RunArgs),
}

#[derive(Debug, Args)]
struct RunArgs {
    /// Guest memory size, e.g. 64M, 1G (K, M, G, T suffixes; powers of 1024).
    #[arg(short, long, value_name = "SIZE", default_value = "128M", value_parser = size::parse_size)]
    memory: u64,
    /// Print timing, exit and memory statistics to stderr when the guest ends.
    #[arg(short, long)]
    verbose: bool,
    /// In-kernel interrupt controllers: `split` (LAPIC only, fast start and
    /// teardown) or `full` (LAPIC, IOAPIC and PIC).
    #[arg(long, value_name = "KIND", default_value = "split", value_parser = ["split", "full"])]
    irqchip: String,
    /// Stop the guest if it runs longer than SECS seconds (decimals allowed);
    /// vessel then exits with status 124.
    #[arg(long, value_name = "SECS", value_parser = parse_timeout)]
    timeout: Option<Duration>,
    /// Do not confine the VMM with its seccomp filter (for debugging).
    #[arg(long)]
    no_seccomp: bool,
    /// Single-step the guest and write the address of every instruction it
    /// executes to FILE, one hexadecimal RIP per line (`cargo xtask
    /// profile` turns it into a profile by function). About 20 µs per
    /// instruction: for profiling, on hosts that emulate guest kernel code.
    #[arg(long, value_name = "FILE")]
    trace_instructions: Option<PathBuf>,
    /// Set an environment variable in the guest (repeatable).
    #[arg(short, long = "env", value_name = "KEY=VALUE", value_parser = parse_env)]
    env: Vec<String>,
    /// Copy a host directory (or file) into the guest's file system at boot
    /// (repeatable; Linux programs only). The guest's files live in memory:
    /// what it writes there is lost at exit unless copied out.
    #[arg(long = "volume", value_name = "HOST_DIR:GUEST_DIR", value_parser = parse_volume)]
    volumes: Vec<Volume>,
    /// When the guest exits cleanly, copy a guest file or directory to the
    /// host (repeatable): a directory's contents go into HOST_PATH (created
    /// if missing), a file replaces HOST_PATH.
    #[arg(long = "copy-out", value_name = "GUEST_PATH:HOST_PATH", value_parser = parse_copy_out)]
    copy_out: Vec<CopyOutTarget>,
    /// Keep standard input attached to the guest (it always is: accepted so
    /// that `-it` reads as with docker).
    #[arg(short, long)]
    interactive: bool,
    /// Give a Linux program a terminal: the guest console gets a line
    /// discipline (echo, editing, Ctrl-C, raw mode on request) and the host
    /// terminal is put in raw mode until the guest ends. Needs a terminal
    /// on standard input.
    #[arg(short, long)]
    tty: bool,
    /// The guest image (an x86-64 ELF): a Vessel image, or a Linux
    /// executable, which runs on the built-in vessel-linux kernel (a
    /// dynamically linked one needs its interpreter and libraries from
    /// --volume).
    image: PathBuf,
    /// Arguments passed to the guest program (argv[1..]).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
}

/// Validates a `KEY=VALUE` environment entry.
fn parse_env(s: &str) -> Result<String, String> {
    match s.split_once('=') {
        Some((key, _)) if !key.is_empty() => Ok(s.to_string()),
        _ => Err(format!("expected KEY=VALUE, got {s:?}")),
    }
}

/// Parses `--volume HOST:GUEST`: the guest path is the absolute path after
/// the last `:` (host paths may contain colons).
fn parse_volume(s: &str) -> Result<Volume, String> {
    let (host, guest) = s
        .rsplit_once(":/")
        .map(|(host, guest)| (host, format!("/{guest}")))
        .filter(|(host, _)| !host.is_empty())
        .ok_or_else(|| format!("expected HOST_DIR:/GUEST_DIR, got {s:?}"))?;
    files::check_guest_path(&guest).map_err(|e| e.to_string())?;
    Ok(Volume {
        host: PathBuf::from(host),
        guest,
    })
}

/// Parses `--copy-out GUEST:HOST`: the guest path is absolute and ends at
/// the first `:`.
fn parse_copy_out(s: &str) -> Result<CopyOutTarget, String> {
    let (guest, host) = s
        .split_once(':')
        .filter(|(guest, host)| guest.starts_with('/') && !host.is_empty())
        .ok_or_else(|| format!("expected /GUEST_PATH:HOST_PATH, got {s:?}"))?;
    files::check_guest_path(guest).map_err(|e| e.to_string())?;
    Ok(CopyOutTarget {
        guest: guest.to_string(),
        host: PathBuf::from(host),
    })
}

/// Parses `--timeout`: positive seconds, decimals allowed.
fn parse_timeout(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| format!("expected a number of seconds, got {s:?}"))?;
    if secs.is_nan() || secs <= 0.0 {
        return Err(format!("the timeout must be positive, got {s:?}"));
    }
    Duration::try_from_secs_f64(secs).map_err(|_| format!("timeout {s:?} is too large"))
}

fn init_logging() {
    // Logging is opt-in (VESSEL_LOG=debug etc.) so the default start-up path
    // stays minimal.
    let Ok(level) = std::env::var("VESSEL_LOG") else {
        return;
    };
    let level = level
        .parse::<tracing_subscriber::filter::LevelFilter>()
        .unwrap_or(tracing_subscriber::filter::LevelFilter::DEBUG);
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .init();
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    init_logging();
    let Command::Run(args) = cli.command;
    match run(args) {
        Ok(status) => ExitCode::from(status),
        Err(e) => {
            eprintln!("vessel: {e:#}");
            ExitCode::from(STATUS_ERROR)
        }
    }
}

/// Reports a command-line error as one line (plus clap's usage line) with
/// status 125; help and version go to stdout with status 0.
fn usage_error(e: clap::Error) -> ExitCode {
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            ExitCode::SUCCESS
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            ExitCode::from(STATUS_ERROR)
        }
        _ => {
            // clap renders "error: ...", maybe indented detail lines, a blank
            // line, "Usage: ..." and a hint; fold the message into one line.
            let text = e.render().to_string();
            let mut message = Vec::new();
            let mut usage = None;
            for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
                if line.starts_with("Usage:") {
                    usage = Some(line.to_string());
                    break;
                }
                if line.starts_with("For more information") {
                    break;
                }
                if line.starts_with("tip:") {
                    continue;
                }
                message.push(line.strip_prefix("error: ").unwrap_or(line));
            }
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "vessel: {}", message.join(" "));
            if let Some(usage) = usage {
                let _ = writeln!(err, "{usage}");
            }
            ExitCode::from(STATUS_ERROR)
        }
    }
}

/// The kernel to boot `image` with: `None` for a Vessel image (booted
/// directly), the embedded vessel-linux kernel for a Linux program.
fn kernel_for(image: &std::path::Path) -> anyhow::Result<Option<&'static [u8]>> {
    use vessel_vmm::loader::{ImageKind, classify};
    match classify(image) {
        Ok(ImageKind::Vessel { abi_version }) if abi_version != vessel_abi::ABI_VERSION => {
            anyhow::bail!(
                "{} is a Vessel image for ABI version {abi_version}; this vessel speaks version {}: rebuild the image",
                image.display(),
                vessel_abi::ABI_VERSION
            )
        }
        Ok(ImageKind::LinuxProgram) => match LINUX_KERNEL {
            Some(kernel) => Ok(Some(kernel)),
            None => anyhow::bail!(
                "{} is a Linux program, but this vessel was built without the vessel-linux kernel (build it with `cargo xtask build`)",
                image.display()
            ),
        },
        // Vessel images, and anything the loader will explain precisely.
        _ => Ok(None),
    }
}

/// Writes an instruction trace, one hexadecimal RIP per line, into `file`
/// (created at `path` before the run, so a bad path fails first).
fn write_trace(path: &Path, mut file: File, trace: &InstructionTrace) -> anyhow::Result<()> {
    let mut text = String::with_capacity(trace.rips.len() * 17);
    for rip in &trace.rips {
        writeln!(text, "{rip:x}").expect("writing to a String cannot fail");
    }
    file.write_all(text.as_bytes())
        .with_context(|| format!("writing the instruction trace to {}", path.display()))?;
    eprintln!(
        "vessel: traced {} guest instructions into {}{}",
        trace.rips.len(),
        path.display(),
        if trace.truncated {
            format!(" (stopped recording at {MAX_TRACED_INSTRUCTIONS})")
        } else {
            String::new()
        }
    );
    Ok(())
}

/// Runs the VM on a new thread and waits for it.
fn run_on_own_thread(config: VmConfig) -> anyhow::Result<RunOutcome> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| Vm::run(config))
            .join()
            .map_err(|_| anyhow::anyhow!("the vCPU thread panicked"))?
            .map_err(Into::into)
    })
}

fn run(args: RunArgs) -> anyhow::Result<u8> {
    let linux_kernel = kernel_for(&args.image)?;
    let mut env = args.env;
    if linux_kernel.is_some() && args.verbose {
        // The kernel reports unimplemented system calls (and strips this).
        env.push("VESSEL_VERBOSE=1".to_string());
    }
    // Raw mode first (before the guest can print), restored when `raw`
    // drops at the end of this function, whatever happens.
    let raw = if args.tty {
        if linux_kernel.is_none() {
            anyhow::bail!("-t needs a Linux program: Vessel images have no terminal support");
        }
        let raw = terminal::RawTerminal::enter()?;
        env.push(format!("VESSEL_TTY={}", raw.size()));
        Some(raw)
    } else {
        None
    };
    let config = VmConfig {
        memory_bytes: args.memory,
        image_path: args.image,
        args: args.args,
        env,
        verbose: args.verbose,
        irqchip: if args.irqchip == "full" {
            IrqChip::Full
        } else {
            IrqChip::Split
        },
        seccomp: !args.no_seccomp,
        timeout: args.timeout,
        linux_kernel,
        volumes: args.volumes,
        copy_out: args.copy_out.clone(),
        trace_instructions: args.trace_instructions.is_some(),
    };
    let trace_file = args
        .trace_instructions
        .as_ref()
        .map(|path| {
            File::create(path)
                .with_context(|| format!("--trace-instructions: cannot create {}", path.display()))
        })
        .transpose()?;
    let outcome = if args.copy_out.is_empty() && raw.is_none() && args.trace_instructions.is_none()
    {
        Vm::run(config)?
    } else {
        // The vCPU thread is confined by seccomp and may neither write
        // files nor restore the terminal: run it on a thread of its own and
        // do those here.
        let outcome = run_on_own_thread(config)?;
        if let (Some(path), Some(file), Some(trace)) =
            (&args.trace_instructions, trace_file, &outcome.trace)
        {
            write_trace(path, file, trace)?;
        }
        if matches!(outcome.end, GuestEnd::Exited { .. }) {
            let missing = files::write_copy_outs(&args.copy_out, outcome.copied_out.clone())?;
            for guest in missing {
                eprintln!("vessel: --copy-out {guest}: the guest sent nothing (no such file?)");
            }
        }
        outcome
    };
    // The terminal is the user's again before anything else is printed.
    drop(raw);
    let status = match &outcome.end {
        GuestEnd::Exited { code, .. } => (*code & 0xff) as u8,
        GuestEnd::Crashed(report) => {
            eprintln!(
                "vessel: guest crashed: {}\n{}",
                report.description, report.registers
            );
            STATUS_CRASH
        }
        GuestEnd::TimedOut { limit, registers } => {
            eprintln!(
                "vessel: guest timed out: still running after {} s (--timeout); stopped it\n{registers}",
                limit.as_secs_f64()
            );
            STATUS_TIMEOUT
        }
    };
    if args.verbose {
        let s = &outcome.stats;
        eprintln!(
            "{}\n{}\n{}",
            s.timing_line(),
            s.exits_line(),
            s.memory_line()
        );
    }
    Ok(status)
}
