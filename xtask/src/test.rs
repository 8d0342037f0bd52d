//! `cargo xtask test`: the whole test suite, in order, stopping at the
//! first failure.

use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use crate::cmd::{self, note};
use crate::prereq::{self, Purpose};
use crate::project::{HOST_TARGET, Project};
use crate::{build, check, source};

/// Guest crates whose pure logic is unit-tested on the host, when present.
/// (vessel-std is a thin layer over vessel-rt's hardware-bound modules, so it
/// does not build for the host; its behaviour is tested by booting examples.)
const GUEST_HOST_TESTED: &[&str] = &["vessel-rt", "vessel-linux"];

type Step<'a> = (&'static str, Box<dyn FnOnce() -> Result<()> + 'a>);

/// Runs every step; prints a summary of what ran.
pub fn run(project: &Project) -> Result<()> {
    let steps: Vec<Step> = vec![
        (
            "prerequisites",
            Box::new(|| prereq::ensure(project, Purpose::Test)),
        ),
        (
            "check (fmt, framekernel, clippy)",
            Box::new(|| check::run(project)),
        ),
        // The guest first: `vessel` embeds the vessel-linux kernel image.
        (
            "build guest (release)",
            Box::new(|| build::guest_release(project)),
        ),
        ("build host tests", Box::new(|| build_host_tests(project))),
        (
            "guest unit tests on the host",
            Box::new(|| guest_unit_tests(project)),
        ),
        (
            "host tests (boot guest images)",
            Box::new(|| host_tests(project)),
        ),
        ("xtask tests", Box::new(|| xtask_tests(project))),
    ];
    let total = steps.len();
    let started = Instant::now();
    let mut done: Vec<(&str, Duration)> = Vec::new();
    for (name, step) in steps {
        note(format!("== test step {}/{total}: {name}", done.len() + 1));
        let t = Instant::now();
        let result = step();
        let elapsed = t.elapsed();
        if let Err(err) = result {
            print_summary(&done, Some((name, elapsed)), started.elapsed());
            bail!("test step `{name}` failed: {err:#}");
        }
        done.push((name, elapsed));
    }
    print_summary(&done, None, started.elapsed());
    Ok(())
}

fn print_summary(done: &[(&str, Duration)], failed: Option<(&str, Duration)>, total: Duration) {
    eprintln!("\nxtask test summary:");
    for (name, time) in done {
        eprintln!("  ok      {name:<36} {:>7.1}s", time.as_secs_f64());
    }
    if let Some((name, time)) = failed {
        eprintln!("  FAILED  {name:<36} {:>7.1}s", time.as_secs_f64());
    }
    let verdict = if failed.is_some() {
        "FAILED"
    } else {
        "all passed"
    };
    eprintln!("  {verdict} in {:.1}s", total.as_secs_f64());
}

fn build_host_tests(project: &Project) -> Result<()> {
    cmd::run(cmd::host_cargo(project).args(["test", "--workspace", "--no-run"]))
}

fn guest_unit_tests(project: &Project) -> Result<()> {
    let present: Vec<String> = source::find_crates(&project.guest_dir())?
        .into_iter()
        .map(|c| c.name)
        .filter(|name| GUEST_HOST_TESTED.contains(&name.as_str()))
        .collect();
    if present.is_empty() {
        bail!("none of the guest crates {GUEST_HOST_TESTED:?} exists");
    }
    let mut cargo = cmd::guest_cargo(project);
    cargo
        .arg("test")
        .arg("--manifest-path")
        .arg(project.guest_manifest());
    for name in &present {
        cargo.args(["--package", name]);
    }
    cargo.args(["--target", HOST_TARGET]);
    cmd::run(&mut cargo)
}

fn host_tests(project: &Project) -> Result<()> {
    cmd::run(cmd::host_cargo(project).args(["test", "--workspace", "--exclude", "xtask"]))
}

fn xtask_tests(project: &Project) -> Result<()> {
    cmd::run(cmd::host_cargo(project).args(["test", "--package", "xtask"]))
}
