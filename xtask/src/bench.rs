//! `cargo xtask bench`: boot-time, exit-count and footprint benchmarks.
//!
//! In one run, interleaved `runs` times: (a) `vessel run <hello>` wall time
//! from spawn to exit, (b) `kvm-floor --memory <same>` wall time (the
//! cheapest possible KVM VM: create, one `HLT`, exit), (c) `vessel run
//! --verbose <hello>` under GNU time for vessel's own breakdown, VM exits,
//! touched guest memory and the process's peak RSS, (d) the same image on
//! QEMU's `microvm` machine through the PVH entry (`tools/qemu-run`, KVM,
//! minimal devices). Then (e) `kvm-floor --spin`: what one guest
//! kernel-mode instruction costs on this host's KVM, the figure that
//! explains the others where the host emulates kernel mode. Results are
//! printed and written to
//! `target/bench/boot.json`. Benchmarks report; they never fail because a
//! target is missed. `--linux` runs the OS-latency benchmark of Linux
//! programs instead ([`crate::bench_linux`], `target/bench/linux.json`).

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::build;
use crate::cmd::{self, note};
use crate::prereq::{self, Purpose};
use crate::project::Project;

/// GNU time, which reports a child's peak RSS without `unsafe` on our side.
const GNU_TIME: &str = "/usr/bin/time";

/// Target: hello's p50 boot within this factor of the KVM floor's.
pub const TARGET_RATIO: f64 = 1.5;
/// Target: at most this many VM exits for hello.
pub const TARGET_EXITS: u64 = 10;
/// Target: stripped hello image at most this many bytes.
pub const TARGET_IMAGE_BYTES: u64 = 256 * 1024;
/// Target: vessel's peak RSS at most this much above the touched guest memory.
pub const TARGET_RSS_ABOVE_TOUCHED_KIB: u64 = 3 * 1024;
/// Target: vessel boots the image at least this many times faster than QEMU
/// microvm (p50 against p50).
pub const TARGET_VS_QEMU: f64 = 15.0;

/// Arguments of `cargo xtask bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Measured runs of each kind (interleaved), after `--warmup` unmeasured ones.
    #[arg(long, default_value_t = 30)]
    pub runs: usize,
    /// Unmeasured warm-up runs of each kind.
    #[arg(long, default_value_t = 3)]
    pub warmup: usize,
    /// Guest memory for both vessel and the KVM floor (vessel's default is 128 MiB).
    #[arg(long, default_value = "128M")]
    pub memory: String,
    /// Guest example to boot.
    #[arg(long, default_value = "hello")]
    pub example: String,
    /// Skip building (use what is in target/).
    #[arg(long)]
    pub no_build: bool,
    /// Instead of the boot benchmark: OS latency of the same static Linux
    /// binary natively and under `vessel run` (`target/bench/linux.json`).
    #[arg(long)]
    pub linux: bool,
    /// Options of `--linux`.
    #[command(flatten)]
    pub linux_opts: crate::bench_linux::LinuxArgs,
}

/// Summary statistics of a sample, in the sample's unit.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stats {
    /// Median (nearest rank).
    pub p50: f64,
    /// 90th percentile (nearest rank).
    pub p90: f64,
    /// Minimum.
    pub min: f64,
    /// Maximum.
    pub max: f64,
    /// Sample size.
    pub n: usize,
}

impl Stats {
    /// Statistics of `values`; `None` when empty.
    pub fn of(values: &[f64]) -> Option<Self> {
        if values.is_empty() {
            return None;
        }
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        Some(Self {
            p50: percentile(&sorted, 50.0),
            p90: percentile(&sorted, 90.0),
            min: sorted[0],
            max: sorted[sorted.len() - 1],
            n: sorted.len(),
        })
    }

    fn to_json(self, digits: i32) -> Value {
        let r = |v: f64| round(v, digits);
        json!({"p50": r(self.p50), "p90": r(self.p90), "min": r(self.min), "max": r(self.max), "n": self.n})
    }
}

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// `v` rounded to `digits` decimal places.
pub fn round(v: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (v * f).round() / f
}

/// Parses one `[vessel] NAME: key=value ...` line into its name and fields.
pub fn parse_vessel_line(line: &str) -> Option<(String, BTreeMap<String, u64>)> {
    let rest = line.trim().strip_prefix("[vessel] ")?;
    let (name, fields) = rest.split_once(':')?;
    let mut map = BTreeMap::new();
    for field in fields.split_whitespace() {
        let (key, value) = field.split_once('=')?;
        map.insert(key.to_string(), value.parse().ok()?);
    }
    Some((name.trim().to_string(), map))
}

/// The `[vessel]` summary lines of one verbose run, by name.
pub fn parse_verbose(stderr: &str) -> BTreeMap<String, BTreeMap<String, u64>> {
    stderr.lines().filter_map(parse_vessel_line).collect()
}

/// Wall time of running `cmd` to completion, in milliseconds, requiring
/// exit status 0.
pub fn wall_ms(cmd: &mut Command) -> Result<f64> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let start = Instant::now();
    let status = cmd
        .status()
        .with_context(|| format!("starting `{}`", cmd::describe(cmd)))?;
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    if !status.success() {
        bail!("`{}` exited with {status}", cmd::describe(cmd));
    }
    Ok(ms)
}

/// What one verbose run reported.
struct Verbose {
    lines: BTreeMap<String, BTreeMap<String, u64>>,
    rss_kib: Option<u64>,
}

fn verbose_run(vessel: &Path, memory: &str, image: &Path, rss_file: &Path) -> Result<Verbose> {
    let use_time = Path::new(GNU_TIME).is_file();
    let mut cmd = if use_time {
        let mut c = Command::new(GNU_TIME);
        c.args(["-f", "%M", "-o"]).arg(rss_file).arg(vessel);
        c
    } else {
        Command::new(vessel)
    };
    cmd.args(["run", "--verbose", "--memory", memory])
        .arg(image)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let out = cmd
        .output()
        .with_context(|| format!("starting `{}`", cmd::describe(&cmd)))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        bail!(
            "`{}` exited with {}: {}",
            cmd::describe(&cmd),
            out.status,
            stderr.trim()
        );
    }
    let rss_kib = if use_time {
        fs::read_to_string(rss_file)
            .ok()
            .and_then(|s| s.lines().last().and_then(|l| l.trim().parse().ok()))
    } else {
        None
    };
    Ok(Verbose {
        lines: parse_verbose(&stderr),
        rss_kib,
    })
}

/// The machine the numbers come from.
pub fn machine() -> Value {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split_once(':')))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    let virtualized = cpuinfo
        .lines()
        .find(|l| l.starts_with("flags"))
        .is_some_and(|l| l.split_whitespace().any(|f| f == "hypervisor"));
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into());
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    json!({
        "cpu": cpu,
        "cpus": cpus,
        "kernel": kernel,
        "host_is_a_vm": virtualized,
    })
}

/// Collects one field of one `[vessel]` line across runs.
fn field(runs: &[Verbose], line: &str, key: &str) -> Vec<f64> {
    runs.iter()
        .filter_map(|r| r.lines.get(line).and_then(|m| m.get(key)))
        .map(|v| *v as f64)
        .collect()
}

/// `cargo xtask bench`.
pub fn run(project: &Project, args: &BenchArgs) -> Result<()> {
    if args.runs == 0 {
        bail!("--runs must be at least 1");
    }
    prereq::ensure(project, Purpose::Bench)?;
    if args.linux {
        if !args.no_build {
            // The guest first: `vessel` embeds the vessel-linux kernel.
            build::guest_release(project)?;
            build::host_release_packages(project, &["vessel"])?;
        }
        return crate::bench_linux::run(project, &args.linux_opts);
    }
    if !args.no_build {
        build::guest_release(project)?;
        build::host_release_packages(project, &["vessel", "kvm-floor"])?;
    }
    let report = measure(project, args)?;
    print_report(&report);
    let path = project.target_dir().join("bench").join("boot.json");
    fs::write(&path, serde_json::to_string_pretty(&report)? + "\n")
        .with_context(|| format!("writing {}", path.display()))?;
    note(format!("wrote {}", path.display()));
    Ok(())
}

/// Runs the measurements on already built binaries and returns the
/// summary that `run` prints and writes.
pub fn measure(project: &Project, args: &BenchArgs) -> Result<Value> {
    let vessel = project.host_release_bin("vessel");
    let floor = project.host_release_bin("kvm-floor");
    for bin in [&vessel, &floor] {
        if !bin.is_file() {
            bail!("{} was not built", bin.display());
        }
    }
    let image = build::guest_image(project, &args.example)?;
    let out_dir = project.target_dir().join("bench");
    fs::create_dir_all(&out_dir)?;
    let rss_file = out_dir.join("rss.tmp");

    let hello_cmd = || {
        let mut c = Command::new(&vessel);
        c.args(["run", "--memory", &args.memory]).arg(&image);
        c
    };
    let floor_cmd = || {
        let mut c = Command::new(&floor);
        c.args(["--memory", &args.memory]);
        c
    };
    let qemu_run = project.root().join("tools/qemu-run");
    let qemu_cmd = || {
        let mut c = Command::new(&qemu_run);
        c.args(["--machine", "microvm", "--memory", &args.memory])
            .arg(&image);
        c
    };

    note(format!(
        "bench: {} warm-up + {} measured runs each of `{}`, `{}`, `{}`, and a verbose run",
        args.warmup,
        args.runs,
        cmd::describe(&hello_cmd()),
        cmd::describe(&floor_cmd()),
        cmd::describe(&qemu_cmd())
    ));
    for _ in 0..args.warmup {
        wall_ms(&mut hello_cmd())?;
        wall_ms(&mut floor_cmd())?;
        wall_ms(&mut qemu_cmd())?;
    }
    let mut samples = Samples::default();
    let mut verbose = Vec::new();
    for i in 0..args.runs {
        // Rotate the order so no measure always runs right after another.
        for slot in 0..3 {
            match (i + slot) % 3 {
                0 => samples.hello.push(wall_ms(&mut hello_cmd())?),
                1 => samples.floor.push(wall_ms(&mut floor_cmd())?),
                _ => samples.qemu.push(wall_ms(&mut qemu_cmd())?),
            }
        }
        verbose.push(verbose_run(&vessel, &args.memory, &image, &rss_file)?);
    }
    let _ = fs::remove_file(&rss_file);
    for _ in 0..SPIN_RUNS {
        samples
            .ring0_ns
            .push(spin_ns_per_instruction(&floor, &args.memory)?);
    }
    summarize(project, args, &image, &samples, &verbose)
}

/// Runs of `kvm-floor --spin` (its figure is steady; three give a median).
const SPIN_RUNS: usize = 3;
/// Loop iterations of `kvm-floor --spin`: 0.2 ms where the CPU runs the
/// guest, a few hundred ms where the host emulates kernel-mode code.
const SPIN_ITERATIONS: u32 = 100_000;

/// What one guest kernel-mode instruction costs on this host's KVM, in ns
/// (`kvm-floor --spin`).
fn spin_ns_per_instruction(floor: &Path, memory: &str) -> Result<f64> {
    let mut cmd = Command::new(floor);
    cmd.args(["--memory", memory, "--spin", &SPIN_ITERATIONS.to_string()]);
    let out = cmd
        .output()
        .with_context(|| format!("starting `{}`", cmd::describe(&cmd)))?;
    if !out.status.success() {
        bail!("`{}` exited with {}", cmd::describe(&cmd), out.status);
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout
        .split_whitespace()
        .find_map(|word| word.strip_prefix("guest_ns_per_instruction="))
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("no guest_ns_per_instruction in `{}`", stdout.trim()))
}

/// Wall times (ms) of the three measures.
#[derive(Default)]
struct Samples {
    hello: Vec<f64>,
    floor: Vec<f64>,
    qemu: Vec<f64>,
    /// ns per guest kernel-mode instruction (`kvm-floor --spin`).
    ring0_ns: Vec<f64>,
}

fn summarize(
    project: &Project,
    args: &BenchArgs,
    image: &Path,
    samples: &Samples,
    verbose: &[Verbose],
) -> Result<Value> {
    let hello = Stats::of(&samples.hello).context("no hello samples")?;
    let qemu = Stats::of(&samples.qemu).context("no QEMU samples")?;
    let vs_qemu = qemu.p50 / hello.p50;
    let floor = Stats::of(&samples.floor).context("no floor samples")?;
    let ratio = hello.p50 / floor.p50;
    let ring0 = Stats::of(&samples.ring0_ns).context("no spin samples")?;
    let exits = Stats::of(&field(verbose, "exits", "total"));
    let touched = Stats::of(&field(verbose, "memory", "guest_touched_kib"));
    let rss_values: Vec<f64> = verbose
        .iter()
        .filter_map(|v| v.rss_kib)
        .map(|v| v as f64)
        .collect();
    let rss = Stats::of(&rss_values);
    let image_bytes = fs::metadata(image)?.len();

    let mut breakdown = serde_json::Map::new();
    for line in ["timing", "exits", "memory"] {
        let keys: Vec<String> = verbose
            .iter()
            .flat_map(|v| {
                v.lines
                    .get(line)
                    .into_iter()
                    .flat_map(|m| m.keys().cloned())
            })
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut fields = serde_json::Map::new();
        for key in keys {
            if let Some(s) = Stats::of(&field(verbose, line, &key)) {
                fields.insert(key, s.to_json(1));
            }
        }
        breakdown.insert(line.to_string(), Value::Object(fields));
    }

    // Exit counts and touched memory are deterministic; report the worst run.
    let exits_max = exits.map(|s| s.max as u64);
    let touched_kib = touched.map(|s| s.max as u64);
    let rss_kib = rss.map(|s| s.p50 as u64);
    let rss_above = match (rss_kib, touched_kib) {
        (Some(r), Some(t)) => Some(r as i64 - t as i64),
        _ => None,
    };
    let met = |v: Option<bool>| v.map_or(Value::Null, Value::Bool);
    Ok(json!({
        "machine": machine(),
        "example": args.example,
        "image": project.rel(image).display().to_string(),
        "memory": args.memory,
        "runs": args.runs,
        "warmup": args.warmup,
        "hello_ms_p50": round(hello.p50, 3),
        "hello_ms_p90": round(hello.p90, 3),
        "hello_ms_min": round(hello.min, 3),
        "floor_ms_p50": round(floor.p50, 3),
        "floor_ms_p90": round(floor.p90, 3),
        "floor_ms_min": round(floor.min, 3),
        "ratio_p50": round(ratio, 3),
        "qemu_microvm_ms_p50": round(qemu.p50, 3),
        "qemu_microvm_ms_p90": round(qemu.p90, 3),
        "qemu_microvm_ms_min": round(qemu.min, 3),
        "vessel_vs_qemu_ratio": round(vs_qemu, 3),
        "guest_kernel_ns_per_instruction": round(ring0.p50, 1),
        "exits": exits_max,
        "rss_kib": rss_kib,
        "rss_kib_stats": rss.map(|s| s.to_json(0)),
        "rss_source": if rss.is_some() { "GNU time %M (peak RSS of the vessel process)" } else { "unavailable (no /usr/bin/time)" },
        "guest_touched_kib": touched_kib,
        "rss_above_touched_kib": rss_above,
        "image_bytes": image_bytes,
        "verbose_breakdown": Value::Object(breakdown),
        "targets": {
            "ratio_p50": {"target": format!("<= {TARGET_RATIO}"), "value": round(ratio, 3), "met": ratio <= TARGET_RATIO},
            "vessel_vs_qemu_ratio": {"target": format!(">= {TARGET_VS_QEMU}"), "value": round(vs_qemu, 3), "met": vs_qemu >= TARGET_VS_QEMU},
            "exits": {"target": format!("<= {TARGET_EXITS}"), "value": exits_max, "met": met(exits_max.map(|e| e <= TARGET_EXITS))},
            "image_bytes": {"target": format!("<= {TARGET_IMAGE_BYTES}"), "value": image_bytes, "met": image_bytes <= TARGET_IMAGE_BYTES},
            "rss_above_touched_kib": {"target": format!("<= {TARGET_RSS_ABOVE_TOUCHED_KIB}"), "value": rss_above, "met": met(rss_above.map(|r| r <= TARGET_RSS_ABOVE_TOUCHED_KIB as i64))},
        },
    }))
}

/// The fields of the `[vessel] timing:` line, in the order vessel prints them.
const TIMING_ORDER: &[&str] = &[
    "vm_create_us",
    "load_us",
    "vcpu_setup_us",
    "run_us",
    "guest_entry_to_main_us",
    "main_to_exit_us",
    "total_us",
];

/// A JSON scalar as a table cell (`-` for null).
/// Prints the `targets` object of a report: value, goal and whether it
/// was met (`n/a` when it could not be measured), values formatted by
/// `value`.
pub fn print_targets(report: &Value, value: impl Fn(&Value) -> String) {
    println!(
        "\n{:<24} {:>12} {:>14} {:>6}",
        "target", "value", "goal", "met"
    );
    if let Some(targets) = report["targets"].as_object() {
        for (name, t) in targets {
            let met = match t["met"].as_bool() {
                Some(true) => "yes",
                Some(false) => "NO",
                None => "n/a",
            };
            println!(
                "{name:<24} {:>12} {:>14} {met:>6}",
                value(&t["value"]),
                cell(&t["target"])
            );
        }
    }
}

fn cell(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn row(label: &str, a: &Value, b: &Value, c: &Value) {
    println!(
        "{label:<28} {:>10} {:>10} {:>10}",
        cell(a),
        cell(b),
        cell(c)
    );
}

/// Prints a summary produced by [`measure`] as tables.
pub fn print_report(report: &Value) {
    let m = &report["machine"];
    let nested = if m["host_is_a_vm"].as_bool() == Some(true) {
        ", nested: the host is itself a VM"
    } else {
        ""
    };
    println!(
        "\nmachine: {} ({} CPUs{nested}), Linux {}",
        cell(&m["cpu"]),
        cell(&m["cpus"]),
        cell(&m["kernel"])
    );
    println!(
        "runs: {} measured (+{} warm-up), memory {}, image {} ({} bytes)\n",
        cell(&report["runs"]),
        cell(&report["warmup"]),
        cell(&report["memory"]),
        cell(&report["image"]),
        cell(&report["image_bytes"])
    );
    println!(
        "{:<28} {:>10} {:>10} {:>10}",
        "wall time (ms)", "p50", "p90", "min"
    );
    for (label, key) in [
        ("vessel run hello", "hello"),
        ("kvm-floor", "floor"),
        ("qemu microvm hello", "qemu_microvm"),
    ] {
        row(
            label,
            &report[format!("{key}_ms_p50")],
            &report[format!("{key}_ms_p90")],
            &report[format!("{key}_ms_min")],
        );
    }
    println!(
        "\none guest kernel-mode instruction (kvm-floor --spin): {} ns",
        cell(&report["guest_kernel_ns_per_instruction"])
    );
    if let Some(timing) = report["verbose_breakdown"]["timing"].as_object() {
        println!("\nvessel --verbose breakdown (µs):");
        println!("{:<28} {:>10} {:>10} {:>10}", "phase", "p50", "p90", "min");
        let mut keys: Vec<&str> = TIMING_ORDER
            .iter()
            .copied()
            .filter(|k| timing.contains_key(*k))
            .collect();
        keys.extend(
            timing
                .keys()
                .map(String::as_str)
                .filter(|k| !TIMING_ORDER.contains(k)),
        );
        for key in keys {
            let s = &timing[key];
            row(key, &s["p50"], &s["p90"], &s["min"]);
        }
    }
    print_targets(report, cell);
    println!(
        "\nrss_kib={} guest_touched_kib={} exits={} (RSS: {})",
        cell(&report["rss_kib"]),
        cell(&report["guest_touched_kib"]),
        cell(&report["exits"]),
        cell(&report["rss_source"])
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let s = Stats::of(&[5.0, 1.0, 3.0, 2.0, 4.0]).unwrap();
        assert_eq!((s.p50, s.p90, s.min, s.max), (3.0, 5.0, 1.0, 5.0));
        let s = Stats::of(&(1..=30).map(f64::from).collect::<Vec<_>>()).unwrap();
        assert_eq!((s.p50, s.p90), (15.0, 27.0));
        assert!(Stats::of(&[]).is_none());
    }

    #[test]
    fn arguments_are_consistent() {
        use clap::{CommandFactory, Parser};
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            bench: BenchArgs,
        }
        Cli::command().debug_assert();
        let cli = Cli::parse_from(["bench", "--linux", "--linux-runs", "5", "--runs", "7"]);
        assert!(cli.bench.linux);
        assert_eq!((cli.bench.linux_opts.linux_runs, cli.bench.runs), (5, 7));
        assert_eq!(cli.bench.linux_opts.linux_memory, "512M");
    }

    #[test]
    fn verbose_lines_parse() {
        let stderr = "hello\n\
            [vessel] timing: vm_create_us=120 load_us=30 vcpu_setup_us=5 run_us=900 guest_entry_to_main_us=40 main_to_exit_us=50 total_us=1100\n\
            [vessel] exits: total=3 console_write=1 exit=1 unknown_hypercall=0 io_other=0 mmio=0 hlt=0 other=1\n\
            [vessel] memory: guest_size_kib=65536 guest_touched_kib=812\n";
        let lines = parse_verbose(stderr);
        assert_eq!(lines["timing"]["total_us"], 1100);
        assert_eq!(lines["exits"]["total"], 3);
        assert_eq!(lines["memory"]["guest_touched_kib"], 812);
        assert!(parse_vessel_line("[vessel] error: bad thing").is_none());
    }
}
