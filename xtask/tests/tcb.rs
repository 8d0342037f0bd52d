//! The TCB measurement, run on the fixture crates in `tests/fixtures`.

use std::path::Path;

use xtask::project::Project;
use xtask::{source, tcb};

#[test]
fn fixture_crates_are_measured() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let project = Project::at(&fixtures);
    let crates = source::find_crates(&fixtures).unwrap();
    let measured: Vec<tcb::CrateTcb> = crates
        .iter()
        .map(|c| tcb::measure(&project, c).unwrap())
        .collect();
    let by_name = |name: &str| measured.iter().find(|c| c.name == name).unwrap();

    let safe = by_name("safe-crate");
    assert_eq!((safe.files, safe.code_lines, safe.unsafe_blocks), (1, 6, 0));
    assert!(!safe.trusted);

    let rt = by_name("vessel-rt");
    assert!(rt.trusted);
    assert_eq!((rt.unsafe_blocks, rt.other_unsafe), (1, 2));

    let bad = by_name("unsafe-crate");
    assert_eq!(bad.files, 2);
    assert_eq!(bad.unsafe_blocks, 1);

    let table = tcb::table(&measured);
    assert!(table.contains("TCB: vessel-rt is"), "{table}");
    let json = tcb::to_json(&measured);
    assert_eq!(json["crates"].as_array().unwrap().len(), 3);
}
