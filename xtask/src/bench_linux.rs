//! `cargo xtask bench --linux`: OS latency of Linux programs, natively on
//! the host and under `vessel run`, with the same static binary in one run.
//!
//! `xtask/bench/oslat.c` (compiled with `musl-gcc -static -O2` into
//! `target/bench/oslat`) takes a measure and an iteration count, times its
//! own loop with `clock_gettime(CLOCK_MONOTONIC)` and prints ns/op; it runs
//! alternately natively and as `vessel run --memory SIZE target/bench/oslat
//! MEASURE N`. A static `true` (`xtask/bench/true.c`) is timed end to end,
//! spawn to exit, natively and under `vessel run` (default guest memory).
//! Process measures (pipe ping-pong, fork, fork+execve) run the same way:
//! `oslat` forks its own children and execs `/proc/self/exe`. The summary is printed and written to
//! `target/bench/linux.json`; missed targets do not fail the command.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::{Map, Value, json};

use crate::bench::{self, Stats, round};
use crate::cmd::{self, note};
use crate::project::Project;

/// Target: `getppid` under vessel no slower than native (ratio).
pub const TARGET_GETPPID_RATIO: f64 = 1.0;
/// Target: a pipe round trip under vessel no slower than native (ratio).
pub const TARGET_PIPE_RATIO: f64 = 1.0;
/// Target: fork and exec within this factor of native.
pub const TARGET_FORK_EXEC_RATIO: f64 = 1.5;
/// Target: `vessel run` of a static `true`, end to end, p50, in ms.
pub const TARGET_TRUE_MS: f64 = 10.0;
/// Target: file metadata operations and pipe bandwidth no worse than
/// native (ratio of time per operation).
pub const TARGET_FILE_RATIO: f64 = 1.0;
/// Target: the 200-process busybox script within this factor of native.
pub const TARGET_SCRIPT_RATIO: f64 = 1.5;
/// The busybox script of the process-heavy measure: 200 processes.
const SCRIPT: &str = "for i in $(/bin/busybox seq 200); do /bin/busybox true; done";
/// The file measures, by key: judged against [`TARGET_FILE_RATIO`].
const FILE_KEYS: &[&str] = &[
    "open_close",
    "stat",
    "read_4k",
    "write_4k",
    "create_delete",
    "pipe_bandwidth_64k",
];

/// Options of `cargo xtask bench --linux`.
#[derive(Clone, Debug, clap::Args)]
pub struct LinuxArgs {
    /// With --linux: guest memory for `vessel run` (vessel-linux's munmap
    /// keeps memory mapped, so the mmap measure needs room).
    #[arg(long, default_value = "512M")]
    pub linux_memory: String,
    /// With --linux: runs of each oslat measure on each side (median ns/op
    /// is reported).
    #[arg(long, default_value_t = 3)]
    pub linux_runs: usize,
    /// With --linux: measured end-to-end runs of the static `true` on each side.
    #[arg(long, default_value_t = 30)]
    pub true_runs: usize,
    /// With --linux: unmeasured warm-up runs of the static `true` on each side.
    #[arg(long, default_value_t = 3)]
    pub true_warmup: usize,
    /// With --linux: runs of the 200-process busybox script on each side
    /// (minutes per run under an emulating KVM).
    #[arg(long, default_value_t = 1)]
    pub script_runs: usize,
}

impl Default for LinuxArgs {
    fn default() -> Self {
        Self {
            linux_memory: "512M".into(),
            linux_runs: 3,
            true_runs: 30,
            true_warmup: 3,
            script_runs: 1,
        }
    }
}

/// One loop measure of `oslat`.
#[derive(Clone, Copy, Debug)]
pub struct Measure {
    /// Key in the JSON and in the table.
    pub key: &'static str,
    /// The measure name `oslat` takes.
    pub oslat: &'static str,
    /// What one operation is.
    pub what: &'static str,
    /// Iterations natively.
    pub native_iterations: u64,
    /// Iterations under vessel (guest code may run under KVM's instruction
    /// emulator at ~1.5 µs per instruction: keep these small).
    pub vessel_iterations: u64,
}

/// The loop measures that vessel-linux supports today.
pub const MEASURES: &[Measure] = &[
    Measure {
        key: "getppid",
        oslat: "getppid",
        what: "getppid system call round trip",
        native_iterations: 1_000_000,
        vessel_iterations: 2_000,
    },
    Measure {
        key: "clock_gettime",
        oslat: "clock_gettime",
        what: "clock_gettime(CLOCK_MONOTONIC) (vDSO natively, a system call under vessel)",
        native_iterations: 1_000_000,
        vessel_iterations: 2_000,
    },
    Measure {
        key: "mmap_touch_munmap_4mib",
        oslat: "mmap",
        what: "mmap 4 MiB anonymous, write every 4 KiB page, munmap",
        native_iterations: 200,
        vessel_iterations: 5,
    },
    Measure {
        key: "pipe_round_trip",
        oslat: "pipe",
        what: "one byte to a child process over a pipe and back",
        native_iterations: 100_000,
        vessel_iterations: 100,
    },
    Measure {
        key: "context_switch",
        oslat: "ctxsw",
        what: "switch between two processes (half a pipe round trip)",
        native_iterations: 100_000,
        vessel_iterations: 100,
    },
    Measure {
        key: "fork_exit_wait",
        oslat: "fork",
        what: "fork, the child exits, the parent waits",
        native_iterations: 500,
        vessel_iterations: 5,
    },
    Measure {
        key: "fork_execve_wait",
        oslat: "forkexec",
        what: "fork, the child execs a program that exits, the parent waits",
        native_iterations: 500,
        vessel_iterations: 5,
    },
    Measure {
        key: "open_close",
        oslat: "openclose",
        what: "open and close an existing file (tmpfs under vessel)",
        native_iterations: 100_000,
        vessel_iterations: 100,
    },
    Measure {
        key: "stat",
        oslat: "stat",
        what: "stat a file",
        native_iterations: 100_000,
        vessel_iterations: 100,
    },
    Measure {
        key: "read_4k",
        oslat: "read4k",
        what: "pread 4 KiB of a file",
        native_iterations: 100_000,
        vessel_iterations: 100,
    },
    Measure {
        key: "write_4k",
        oslat: "write4k",
        what: "pwrite 4 KiB into a file",
        native_iterations: 100_000,
        vessel_iterations: 100,
    },
    Measure {
        key: "create_delete",
        oslat: "createdelete",
        what: "create an empty file, close it, delete it (per file)",
        native_iterations: 10_000,
        vessel_iterations: 50,
    },
    Measure {
        key: "user_compute",
        oslat: "compute",
        what: "1,000 dependent multiply-adds in user mode, no system call",
        native_iterations: 100_000,
        vessel_iterations: 100_000,
    },
    Measure {
        key: "pipe_bandwidth_64k",
        oslat: "pipebw",
        what: "64 KiB through a pipe to a child process (GB/s = 65536 / ns)",
        native_iterations: 10_000,
        vessel_iterations: 3,
    },
];

/// The two benchmark programs, compiled.
#[derive(Clone, Debug)]
pub struct Programs {
    /// `oslat MEASURE N`.
    pub oslat: PathBuf,
    /// The static `true`.
    pub true_bin: PathBuf,
}

/// Compiles `xtask/bench/{oslat,true}.c` with `musl-gcc -static -O2` into
/// `target/bench/`.
pub fn compile(project: &Project) -> Result<Programs> {
    let src = project.root().join("xtask").join("bench");
    let out = project.target_dir().join("bench");
    fs::create_dir_all(&out)?;
    let mut built = Vec::new();
    for name in ["oslat", "true"] {
        let bin = out.join(name);
        cmd::run(
            Command::new("musl-gcc")
                .args(["-static", "-O2", "-Wall", "-Wextra", "-o"])
                .arg(&bin)
                .arg(src.join(format!("{name}.c"))),
        )?;
        built.push(bin);
    }
    let true_bin = built.pop().context("true was not built")?;
    let oslat = built.pop().context("oslat was not built")?;
    Ok(Programs { oslat, true_bin })
}

/// The ns/op an `oslat` run printed (`... ns_per_op=X`).
pub fn parse_ns_per_op(stdout: &str) -> Option<f64> {
    stdout
        .split_whitespace()
        .find_map(|t| t.strip_prefix("ns_per_op="))
        .and_then(|v| v.parse().ok())
}

/// Runs `cmd`, requiring exit status 0, and returns the ns/op it printed.
fn ns_per_op(cmd: &mut Command) -> Result<f64> {
    let out = cmd::output(cmd)?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "`{}` exited with {}: {}{}",
            cmd::describe(cmd),
            out.status,
            stdout.trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    parse_ns_per_op(&stdout)
        .with_context(|| format!("`{}` printed no ns_per_op: {stdout}", cmd::describe(cmd)))
}

/// Takes `runs` samples of each side, alternating which goes first (so
/// neither always runs on a warmer or a busier machine).
fn interleaved(
    runs: usize,
    mut native: impl FnMut() -> Result<f64>,
    mut vessel: impl FnMut() -> Result<f64>,
) -> Result<(Vec<f64>, Vec<f64>)> {
    let (mut natives, mut vessels) = (Vec::with_capacity(runs), Vec::with_capacity(runs));
    for i in 0..runs {
        if i % 2 == 0 {
            natives.push(native()?);
            vessels.push(vessel()?);
        } else {
            vessels.push(vessel()?);
            natives.push(native()?);
        }
    }
    Ok((natives, vessels))
}

fn ratio(native: f64, vessel: f64) -> Option<f64> {
    (native > 0.0).then(|| vessel / native)
}

/// `cargo xtask bench --linux` on built programs and `vessel`: runs the
/// measures and returns the summary that is printed and written.
pub fn measure(project: &Project, args: &LinuxArgs, programs: &Programs) -> Result<Value> {
    if args.linux_runs == 0 || args.true_runs == 0 || args.script_runs == 0 {
        bail!("--linux-runs, --true-runs and --script-runs must be at least 1");
    }
    let vessel = project.host_release_bin("vessel");
    if !vessel.is_file() {
        bail!("{} was not built", vessel.display());
    }
    let under_vessel = |program: &Path| {
        let mut c = Command::new(&vessel);
        c.args(["run", "--memory", &args.linux_memory]).arg(program);
        c
    };
    // `true` runs as a user would run it: with vessel's default guest size.
    let true_under_vessel = || {
        let mut c = Command::new(&vessel);
        c.arg("run").arg(&programs.true_bin);
        c
    };

    let mut report = Map::new();
    report.insert("machine".into(), bench::machine());
    report.insert("date".into(), json!(today()));
    report.insert("memory".into(), json!(args.linux_memory));
    report.insert("runs".into(), json!(args.linux_runs));
    report.insert(
        "programs".into(),
        json!({
            "oslat": project.rel(&programs.oslat).display().to_string(),
            "true": project.rel(&programs.true_bin).display().to_string(),
            "compiler": "musl-gcc -static -O2",
        }),
    );

    for m in MEASURES {
        note(format!(
            "bench --linux: {} ({} runs each side: {} iterations natively, {} under vessel)",
            m.key, args.linux_runs, m.native_iterations, m.vessel_iterations
        ));
        let (native, guest) = interleaved(
            args.linux_runs,
            || {
                let mut native_cmd = Command::new(&programs.oslat);
                // File measures work in the working directory: natively,
                // target/bench (under vessel, the guest's tmpfs root).
                native_cmd.current_dir(project.target_dir().join("bench"));
                native_cmd.args([m.oslat, &m.native_iterations.to_string()]);
                ns_per_op(&mut native_cmd)
            },
            || {
                let mut vessel_cmd = under_vessel(&programs.oslat);
                vessel_cmd.args([m.oslat, &m.vessel_iterations.to_string()]);
                ns_per_op(&mut vessel_cmd)
            },
        )?;
        let n = Stats::of(&native).context("no native samples")?;
        let v = Stats::of(&guest).context("no vessel samples")?;
        report.insert(
            m.key.into(),
            json!({
                "what": m.what,
                "unit": "ns/op (median over runs)",
                "native_ns": round(n.p50, 1),
                "vessel_ns": round(v.p50, 1),
                "ratio": ratio(n.p50, v.p50).map(|r| round(r, 2)),
                "native_iterations": m.native_iterations,
                "vessel_iterations": m.vessel_iterations,
                "native_samples_ns": native.iter().map(|x| round(*x, 1)).collect::<Vec<_>>(),
                "vessel_samples_ns": guest.iter().map(|x| round(*x, 1)).collect::<Vec<_>>(),
            }),
        );
    }

    note(format!(
        "bench --linux: static true end to end, {} warm-up + {} measured runs each side",
        args.true_warmup, args.true_runs
    ));
    let native_true = || Command::new(&programs.true_bin);
    for _ in 0..args.true_warmup {
        bench::wall_ms(&mut native_true())?;
        bench::wall_ms(&mut true_under_vessel())?;
    }
    let (native, guest) = interleaved(
        args.true_runs,
        || bench::wall_ms(&mut native_true()),
        || bench::wall_ms(&mut true_under_vessel()),
    )?;
    let n = Stats::of(&native).context("no native true samples")?;
    let v = Stats::of(&guest).context("no vessel true samples")?;
    report.insert(
        "true_end_to_end".into(),
        json!({
            "what": "spawn to exit of a static `int main(){return 0;}`: native exec vs `vessel run` (default guest memory)",
            "unit": "ns, p50 wall time",
            "native_ns": round(n.p50 * 1e6, 0),
            "vessel_ns": round(v.p50 * 1e6, 0),
            "ratio": ratio(n.p50, v.p50).map(|r| round(r, 2)),
            "runs": args.true_runs,
            "warmup": args.true_warmup,
            "native_ms": {"p50": round(n.p50, 3), "p90": round(n.p90, 3), "min": round(n.min, 3)},
            "vessel_ms": {"p50": round(v.p50, 3), "p90": round(v.p90, 3), "min": round(v.min, 3)},
        }),
    );
    report.insert("true_end_to_end_ms_p50".into(), json!(round(v.p50, 3)));

    note(format!(
        "bench --linux: busybox script running 200 processes, {} runs each side",
        args.script_runs
    ));
    let busybox = Path::new("/bin/busybox");
    let native_script = || {
        let mut c = Command::new(busybox);
        c.args(["sh", "-c", SCRIPT]);
        c
    };
    let vessel_script = || {
        let mut c = under_vessel(busybox);
        c.args(["sh", "-c", SCRIPT]);
        c
    };
    let (native, guest) = interleaved(
        args.script_runs,
        || bench::wall_ms(&mut native_script()),
        || bench::wall_ms(&mut vessel_script()),
    )?;
    let ns = Stats::of(&native).context("no native script samples")?;
    let vs = Stats::of(&guest).context("no vessel script samples")?;
    report.insert(
        "busybox_200_processes".into(),
        json!({
            "what": format!("`busybox sh -c '{SCRIPT}'` end to end (vessel: boot included)"),
            "unit": "ms, p50 wall time",
            "native_ms": round(ns.p50, 1),
            "vessel_ms": round(vs.p50, 1),
            "ratio": ratio(ns.p50, vs.p50).map(|r| round(r, 2)),
            "runs": args.script_runs,
        }),
    );

    let getppid = report["getppid"]["ratio"].as_f64();
    let pipe = report["pipe_round_trip"]["ratio"].as_f64();
    // fork and exec: the slower of the two ratios.
    let fork_exec = report["fork_exit_wait"]["ratio"]
        .as_f64()
        .zip(report["fork_execve_wait"]["ratio"].as_f64())
        .map(|(a, b)| a.max(b));
    let true_ms = v.p50;
    let met = |v: Option<bool>| v.map_or(Value::Null, Value::Bool);
    // Files and pipe bandwidth: the worst of their ratios.
    let files = FILE_KEYS
        .iter()
        .map(|key| report[*key]["ratio"].as_f64())
        .collect::<Option<Vec<f64>>>()
        .map(|ratios| ratios.into_iter().fold(0.0, f64::max));
    let script = report["busybox_200_processes"]["ratio"].as_f64();
    report.insert(
        "targets".into(),
        json!({
            "getppid_ratio": {"target": format!("<= {TARGET_GETPPID_RATIO}"), "value": getppid, "met": met(getppid.map(|r| r <= TARGET_GETPPID_RATIO))},
            "pipe_round_trip_ratio": {"target": format!("<= {TARGET_PIPE_RATIO}"), "value": pipe, "met": met(pipe.map(|r| r <= TARGET_PIPE_RATIO))},
            "fork_exec_ratio": {"target": format!("<= {TARGET_FORK_EXEC_RATIO}"), "value": fork_exec, "met": met(fork_exec.map(|r| r <= TARGET_FORK_EXEC_RATIO))},
            "true_end_to_end_ms_p50": {"target": format!("<= {TARGET_TRUE_MS}"), "value": round(true_ms, 3), "met": true_ms <= TARGET_TRUE_MS},
            "files_and_pipe_bandwidth_worst_ratio": {"target": format!("<= {TARGET_FILE_RATIO}"), "value": files, "met": met(files.map(|r| r <= TARGET_FILE_RATIO))},
            "busybox_200_processes_ratio": {"target": format!("<= {TARGET_SCRIPT_RATIO}"), "value": script, "met": met(script.map(|r| r <= TARGET_SCRIPT_RATIO))},
        }),
    );
    Ok(Value::Object(report))
}

/// Today's date (UTC) from `date`, or `unknown`.
fn today() -> String {
    cmd::stdout(Command::new("date").args(["-u", "+%Y-%m-%d"]))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

/// A number as a table cell, with a unit suffix, or `-`.
fn num(v: &Value, suffix: &str) -> String {
    match v.as_f64() {
        Some(x) if x >= 100.0 => format!("{x:.0}{suffix}"),
        Some(x) => format!("{x:.1}{suffix}"),
        None => "-".into(),
    }
}

/// Prints a summary produced by [`measure`] as a table.
pub fn print_report(report: &Value) {
    let m = &report["machine"];
    println!(
        "\nmachine: {} ({} CPUs{}), Linux {}, {}",
        m["cpu"].as_str().unwrap_or("?"),
        m["cpus"],
        if m["host_is_a_vm"].as_bool() == Some(true) {
            ", nested: the host is itself a VM"
        } else {
            ""
        },
        m["kernel"].as_str().unwrap_or("?"),
        report["date"].as_str().unwrap_or("?"),
    );
    println!(
        "same static binary natively and under `vessel run --memory {}` (true: default memory)\n",
        report["memory"].as_str().unwrap_or("?")
    );
    println!(
        "{:<34} {:>14} {:>14} {:>10}",
        "measure", "native", "vessel", "ratio"
    );
    for m in MEASURES {
        let r = &report[m.key];
        println!(
            "{:<34} {:>14} {:>14} {:>10}",
            format!("{} (ns/op)", m.key),
            num(&r["native_ns"], ""),
            num(&r["vessel_ns"], ""),
            num(&r["ratio"], "x")
        );
    }
    let t = &report["true_end_to_end"];
    println!(
        "{:<34} {:>14} {:>14} {:>10}",
        "static true end to end (ms, p50)",
        format!("{:.3}", t["native_ms"]["p50"].as_f64().unwrap_or(f64::NAN)),
        format!("{:.3}", t["vessel_ms"]["p50"].as_f64().unwrap_or(f64::NAN)),
        num(&t["ratio"], "x")
    );
    let b = &report["busybox_200_processes"];
    println!(
        "{:<34} {:>14} {:>14} {:>10}",
        "busybox 200 processes (ms, p50)",
        num(&b["native_ms"], ""),
        num(&b["vessel_ms"], ""),
        num(&b["ratio"], "x")
    );
    bench::print_targets(report, |v| num(v, ""));
}

/// Compiles the programs, measures, prints, and writes
/// `target/bench/linux.json` (after `bench::run` built vessel).
pub fn run(project: &Project, args: &LinuxArgs) -> Result<()> {
    let programs = compile(project)?;
    let report = measure(project, args, &programs)?;
    print_report(&report);
    let path = project.target_dir().join("bench").join("linux.json");
    fs::write(&path, serde_json::to_string_pretty(&report)? + "\n")
        .with_context(|| format!("writing {}", path.display()))?;
    note(format!("wrote {}", path.display()));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oslat_output_parses() {
        let line = "oslat measure=getppid iterations=2000 total_ns=581199922 ns_per_op=290600.0\n";
        assert_eq!(parse_ns_per_op(line), Some(290600.0));
        assert_eq!(parse_ns_per_op("nothing here"), None);
    }

    #[test]
    fn measures_cover_the_issue_list() {
        let keys: Vec<&str> = MEASURES.iter().map(|m| m.key).collect();
        for key in [
            "getppid",
            "mmap_touch_munmap_4mib",
            "pipe_round_trip",
            "context_switch",
            "fork_exit_wait",
            "fork_execve_wait",
            "open_close",
            "stat",
            "read_4k",
            "write_4k",
            "create_delete",
            "pipe_bandwidth_64k",
        ] {
            assert!(keys.contains(&key), "{key}");
        }
        // Kernel work may be emulated under vessel: few iterations. Plain
        // user-mode code is not (that is what `user_compute` shows).
        assert!(
            MEASURES
                .iter()
                .filter(|m| m.key != "user_compute")
                .all(|m| m.vessel_iterations <= 2_000)
        );
        assert!(keys.contains(&"user_compute"));
    }
}
