//! The benchmark drivers, run against fake `vessel`, `kvm-floor`,
//! `tools/qemu-run`, `oslat` and `true` scripts in a temporary project tree
//! (no KVM or musl-gcc needed).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use xtask::bench::{self, BenchArgs};
use xtask::bench_linux::{self, LinuxArgs, Programs};
use xtask::project::Project;

fn script(path: &Path, body: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn bench_summarizes_fake_runs() {
    let root = std::env::temp_dir().join(format!("xtask-bench-test-{}", std::process::id()));
    let _ = fs::remove_dir_all(&root);
    let project = Project::at(&root);
    script(
        &project.host_release_bin("vessel"),
        r#"case "$2" in
--verbose)
  echo "[vessel] timing: vm_create_us=100 load_us=20 vcpu_setup_us=5 run_us=300 guest_entry_to_main_us=10 main_to_exit_us=30 total_us=425" >&2
  echo "[vessel] exits: total=4 console_write=2 exit=1 unknown_hypercall=0 io_other=0 mmio=0 hlt=0 other=1" >&2
  echo "[vessel] memory: guest_size_kib=65536 guest_touched_kib=900" >&2;;
esac
echo hello"#,
    );
    script(
        &project.host_release_bin("kvm-floor"),
        r#"case "$3" in
--spin) echo "kvm-floor: spin iterations=$4 instructions=200000 guest_ns_per_instruction=712.50";;
esac"#,
    );
    script(&root.join("tools/qemu-run"), "sleep 0.05; echo hello");
    let image = project.guest_image("hello");
    fs::create_dir_all(image.parent().unwrap()).unwrap();
    fs::write(&image, vec![0u8; 4096]).unwrap();

    let args = BenchArgs {
        runs: 3,
        warmup: 1,
        memory: "64M".into(),
        example: "hello".into(),
        no_build: true,
        linux: false,
        linux_opts: bench_linux::LinuxArgs::default(),
    };
    let report = bench::measure(&project, &args).unwrap();
    bench::print_report(&report);
    fs::remove_dir_all(&root).unwrap();

    assert_eq!(report["exits"], 4);
    assert_eq!(report["guest_touched_kib"], 900);
    assert_eq!(report["image_bytes"], 4096);
    assert_eq!(report["targets"]["exits"]["met"], true);
    assert_eq!(report["targets"]["image_bytes"]["met"], true);
    assert_eq!(
        report["verbose_breakdown"]["timing"]["total_us"]["p50"],
        425.0
    );
    assert!(report["qemu_microvm_ms_p50"].as_f64().unwrap() >= 50.0);
    assert!(report["vessel_vs_qemu_ratio"].as_f64().unwrap() > 0.0);
    for key in ["hello_ms_p50", "floor_ms_p50", "ratio_p50"] {
        assert!(report[key].as_f64().unwrap() > 0.0, "{key}");
    }
    if Path::new("/usr/bin/time").is_file() {
        assert!(report["rss_kib"].as_u64().unwrap() > 0);
        assert!(report["rss_above_touched_kib"].is_i64());
    }
    assert!(report["machine"]["cpu"].is_string());
    assert_eq!(report["guest_kernel_ns_per_instruction"], 712.5);
}

#[test]
fn bench_linux_summarizes_fake_runs() {
    let root = std::env::temp_dir().join(format!("xtask-bench-linux-test-{}", std::process::id()));
    let _ = fs::remove_dir_all(&root);
    let project = Project::at(&root);
    // Fake vessel: `run [--memory SIZE] PROGRAM ARGS...` runs PROGRAM directly,
    // telling it it is "under vessel".
    script(
        &project.host_release_bin("vessel"),
        r#"[ "$1" = run ] || exit 9
shift
[ "$1" = --memory ] && shift 2
UNDER_FAKE_VESSEL=1 exec "$@""#,
    );
    // Fake oslat: 100 ns/op natively, 50 ns/op under vessel, for getppid;
    // 1000 natively and 4000 under vessel otherwise.
    let oslat = root.join("target/bench/oslat");
    script(
        &oslat,
        r#"case "$1:$UNDER_FAKE_VESSEL" in
getppid:1) ns=50.0;; getppid:*) ns=100.0;;
*:1) ns=4000.0;; *) ns=1000.0;;
esac
echo "oslat measure=$1 iterations=$2 total_ns=1 ns_per_op=$ns""#,
    );
    let true_bin = root.join("target/bench/true");
    script(&true_bin, "exit 0");

    let args = LinuxArgs {
        linux_memory: "512M".into(),
        linux_runs: 2,
        true_runs: 3,
        true_warmup: 1,
        script_runs: 1,
    };
    let report = bench_linux::measure(&project, &args, &Programs { oslat, true_bin }).unwrap();
    bench_linux::print_report(&report);
    fs::remove_dir_all(&root).unwrap();

    assert_eq!(report["getppid"]["native_ns"], 100.0);
    assert_eq!(report["getppid"]["vessel_ns"], 50.0);
    assert_eq!(report["getppid"]["ratio"], 0.5);
    assert_eq!(report["mmap_touch_munmap_4mib"]["ratio"], 4.0);
    assert_eq!(report["clock_gettime"]["vessel_ns"], 4000.0);
    assert_eq!(report["targets"]["getppid_ratio"]["met"], true);
    for key in [
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
        assert_eq!(report[key]["ratio"], 4.0, "{key}");
    }
    assert_eq!(
        report["targets"]["files_and_pipe_bandwidth_worst_ratio"]["value"],
        4.0
    );
    assert_eq!(
        report["targets"]["files_and_pipe_bandwidth_worst_ratio"]["met"],
        false
    );
    // The fake vessel runs busybox natively too: both sides measured.
    assert!(
        report["busybox_200_processes"]["vessel_ms"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    assert!(report["targets"]["busybox_200_processes_ratio"]["value"].is_f64());
    assert_eq!(report["targets"]["pipe_round_trip_ratio"]["value"], 4.0);
    assert_eq!(report["targets"]["pipe_round_trip_ratio"]["met"], false);
    assert_eq!(report["targets"]["fork_exec_ratio"]["value"], 4.0);
    assert_eq!(report["targets"]["fork_exec_ratio"]["met"], false);
    let true_ms = report["true_end_to_end_ms_p50"].as_f64().unwrap();
    assert!(true_ms > 0.0);
    assert_eq!(
        report["targets"]["true_end_to_end_ms_p50"]["met"],
        true_ms <= bench_linux::TARGET_TRUE_MS
    );
    assert!(report["true_end_to_end"]["native_ns"].as_f64().unwrap() > 0.0);
}
