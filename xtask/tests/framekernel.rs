//! The framekernel and SAFETY checkers, run on the fixture crates in
//! `tests/fixtures`.

use std::path::{Path, PathBuf};

use xtask::framekernel::{self, SiteKind};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn lines_of(report: &framekernel::Report, file: &str) -> Vec<usize> {
    report
        .violations
        .iter()
        .filter(|v| v.file.ends_with(file))
        .map(|v| v.line)
        .collect()
}

#[test]
fn unsafe_crate_is_reported_with_file_and_line() {
    let report = framekernel::check_guest(&fixture("unsafe-crate"), "vessel-rt").unwrap();
    for v in &report.violations {
        eprintln!("{v}");
    }
    // lib.rs: missing forbid (line 1), unsafe block, unsafe attribute, extern block.
    assert_eq!(lines_of(&report, "src/lib.rs"), vec![10, 14, 18, 1]);
    // sneaky.rs: unsafe impl, unsafe fn, global_asm!, unsafe in a macro.
    assert_eq!(lines_of(&report, "src/sneaky.rs"), vec![5, 7, 9, 13]);
    assert!(
        report
            .violations
            .iter()
            .any(|v| v.message.contains("lacks `#![forbid(unsafe_code)]`"))
    );
    assert!(
        report
            .violations
            .iter()
            .all(|v| v.to_string().contains(".rs:"))
    );
}

#[test]
fn safe_crate_passes() {
    let report = framekernel::check_guest(&fixture("safe-crate"), "vessel-rt").unwrap();
    assert!(report.violations.is_empty(), "{:?}", report.violations);
    assert_eq!(report.files, 1);
}

#[test]
fn trusted_crate_may_use_documented_unsafe() {
    let guest = framekernel::check_guest(&fixture("trusted-rt"), "vessel-rt").unwrap();
    assert!(guest.violations.is_empty(), "{:?}", guest.violations);
    let safety = framekernel::check_safety_comments(&fixture("trusted-rt"), &[]).unwrap();
    assert!(safety.violations.is_empty(), "{:?}", safety.violations);
    let kinds: Vec<SiteKind> = safety.sites.iter().map(|s| s.kind).collect();
    assert_eq!(
        kinds,
        vec![SiteKind::Block, SiteKind::Impl, SiteKind::Attribute]
    );
}

#[test]
fn undocumented_unsafe_is_reported_anywhere() {
    // In unsafe-crate, `unsafe impl Send` (sneaky.rs:5) has no SAFETY comment;
    // the block in lib.rs has one.
    let report = framekernel::check_safety_comments(&fixture("unsafe-crate"), &[]).unwrap();
    let found: Vec<String> = report
        .violations
        .iter()
        .map(|v| {
            format!(
                "{}:{}",
                v.file.file_name().unwrap().to_string_lossy(),
                v.line
            )
        })
        .collect();
    assert_eq!(found, vec!["sneaky.rs:5"]);
}

#[test]
fn fixtures_are_skipped_by_project_scans() {
    let project = xtask::project::Project::locate().unwrap();
    assert!(
        project
            .scan_excludes()
            .contains(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"))
    );
}
