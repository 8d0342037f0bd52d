//! `cargo xtask tcb`: how much of the guest is trusted.
//!
//! Counts code lines (see [`crate::source::code_lines`]: no blank or
//! comment lines, no test-only items, no `tests/`, `benches/`, `examples/`
//! directories or build scripts) of every crate linked into guest images:
//! the guest workspace's crates plus `vessel-abi`, which the kernel shares
//! with the host. The trusted computing base in the framekernel sense is
//! `vessel-rt`, the only crate allowed `unsafe`.

use std::fmt::Write as _;
use std::fs;

use anyhow::{Context, Result};
use serde_json::json;

use crate::cmd::note;
use crate::framekernel::{self, SiteKind};
use crate::project::{Project, TRUSTED_GUEST_CRATE};
use crate::source::{self, CrateInfo, SourceFile};

/// Arguments of `cargo xtask tcb`.
#[derive(Debug, Default, clap::Args)]
pub struct TcbArgs {
    /// Also write the report to target/tcb.json.
    #[arg(long)]
    pub json: bool,
}

/// Measurements of one crate.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CrateTcb {
    /// Package name.
    pub name: String,
    /// Directory, relative to the repository root.
    pub path: String,
    /// Whether it may use `unsafe` (it is the trusted crate).
    pub trusted: bool,
    /// Number of source files counted.
    pub files: usize,
    /// Code lines.
    pub code_lines: usize,
    /// `unsafe { }` blocks.
    pub unsafe_blocks: usize,
    /// `unsafe fn`s, impls, traits, extern blocks, unsafe attributes and
    /// assembly macros.
    pub other_unsafe: usize,
}

/// Measures one crate.
pub fn measure(project: &Project, krate: &CrateInfo) -> Result<CrateTcb> {
    let mut tcb = CrateTcb {
        name: krate.name.clone(),
        path: project.rel(&krate.dir).display().to_string(),
        trusted: krate.name == TRUSTED_GUEST_CRATE,
        ..CrateTcb::default()
    };
    for path in krate.product_files()? {
        let file = SourceFile::read(&path)?;
        tcb.files += 1;
        tcb.code_lines += source::code_lines(&file)?;
        let excluded = source::test_only_ranges(&file.ast);
        for site in framekernel::sites(&file) {
            if excluded
                .iter()
                .any(|(a, b)| *a <= site.line && site.line <= *b)
            {
                continue;
            }
            if site.kind == SiteKind::Block {
                tcb.unsafe_blocks += 1;
            } else {
                tcb.other_unsafe += 1;
            }
        }
    }
    Ok(tcb)
}

/// Measures every crate linked into guest images.
pub fn measure_all(project: &Project) -> Result<Vec<CrateTcb>> {
    project.require_guest()?;
    let mut crates = Vec::new();
    let abi = project.host_crates_dir().join("abi");
    if abi.join("Cargo.toml").is_file() {
        crates.extend(source::find_crates(&abi)?);
    }
    crates.extend(source::find_crates(&project.guest_dir())?);
    let mut out = crates
        .iter()
        .map(|krate| measure(project, krate))
        .collect::<Result<Vec<_>>>()?;
    // Trusted first, then by size.
    out.sort_by(|a, b| {
        b.trusted
            .cmp(&a.trusted)
            .then(b.code_lines.cmp(&a.code_lines))
            .then(a.name.cmp(&b.name))
    });
    Ok(out)
}

fn percent(part: usize, total: usize) -> f64 {
    if total == 0 {
        0.0
    } else {
        100.0 * part as f64 / total as f64
    }
}

/// Renders the report as a table.
pub fn table(crates: &[CrateTcb]) -> String {
    let total: usize = crates.iter().map(|c| c.code_lines).sum();
    let trusted: usize = crates
        .iter()
        .filter(|c| c.trusted)
        .map(|c| c.code_lines)
        .sum();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<16} {:<26} {:>7} {:>6} {:>7} {:>7} {:>7}",
        "crate", "path", "trusted", "files", "lines", "% total", "unsafe{}"
    );
    for c in crates {
        let _ = writeln!(
            out,
            "{:<16} {:<26} {:>7} {:>6} {:>7} {:>6.1}% {:>7}{}",
            c.name,
            c.path,
            if c.trusted { "yes" } else { "no" },
            c.files,
            c.code_lines,
            percent(c.code_lines, total),
            c.unsafe_blocks,
            if c.other_unsafe > 0 {
                format!("  (+{} other unsafe sites)", c.other_unsafe)
            } else {
                String::new()
            }
        );
    }
    let blocks: usize = crates.iter().map(|c| c.unsafe_blocks).sum();
    let _ = writeln!(
        out,
        "{:<16} {:<26} {:>7} {:>6} {:>7} {:>6.1}% {:>7}",
        "total",
        "",
        "",
        crates.iter().map(|c| c.files).sum::<usize>(),
        total,
        100.0,
        blocks
    );
    let _ = writeln!(
        out,
        "\nTCB: {TRUSTED_GUEST_CRATE} is {trusted} of {total} guest code lines ({:.1}%).",
        percent(trusted, total)
    );
    out
}

/// The report as JSON.
pub fn to_json(crates: &[CrateTcb]) -> serde_json::Value {
    let total: usize = crates.iter().map(|c| c.code_lines).sum();
    let trusted: usize = crates
        .iter()
        .filter(|c| c.trusted)
        .map(|c| c.code_lines)
        .sum();
    json!({
        "trusted_crate": TRUSTED_GUEST_CRATE,
        "trusted_lines": trusted,
        "total_lines": total,
        "trusted_percent": (percent(trusted, total) * 10.0).round() / 10.0,
        "counting": "non-blank, non-comment lines; #[cfg(test)]/#[test] items, tests/, benches/, examples/ dirs and build.rs excluded",
        "crates": crates.iter().map(|c| json!({
            "name": c.name,
            "path": c.path,
            "trusted": c.trusted,
            "files": c.files,
            "code_lines": c.code_lines,
            "percent_of_total": (percent(c.code_lines, total) * 10.0).round() / 10.0,
            "unsafe_blocks": c.unsafe_blocks,
            "other_unsafe_sites": c.other_unsafe,
        })).collect::<Vec<_>>(),
    })
}

/// `cargo xtask tcb`.
pub fn run(project: &Project, args: &TcbArgs) -> Result<()> {
    let crates = measure_all(project)?;
    print!("{}", table(&crates));
    if args.json {
        let path = project.target_dir().join("tcb.json");
        fs::create_dir_all(project.target_dir())?;
        let text = serde_json::to_string_pretty(&to_json(&crates))?;
        fs::write(&path, text + "\n").with_context(|| format!("writing {}", path.display()))?;
        note(format!("wrote {}", path.display()));
    }
    Ok(())
}
