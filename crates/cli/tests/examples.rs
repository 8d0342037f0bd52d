//! Boots every guest example in a real microVM and checks its output and
//! exit status, on each hypervisor Vessel supports: the Vessel VMM (through
//! the `vessel` binary) and QEMU through the PVH entry (`tools/qemu-run`,
//! `microvm` machine, plus a `q35` smoke test). The same image, unchanged,
//! must behave the same everywhere.
//!
//! The images come from the guest workspace, built by `cargo xtask build`
//! or `cargo xtask test` into `target/guest`. Without `/dev/kvm` the Vessel
//! runs fail (vessel exits 125 with a message) and QEMU falls back to TCG;
//! nothing is skipped.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Where an image is booted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Hypervisor {
    Vessel,
    QemuMicrovm,
    QemuQ35,
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn image(name: &str) -> PathBuf {
    let path = repo()
        .join("target/guest/x86_64-unknown-none/release")
        .join(name);
    assert!(
        path.exists(),
        "guest image {} is missing: build the guest first (cargo xtask build)",
        path.display()
    );
    path
}

/// What a boot printed and how it ended.
struct Run {
    status: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    /// Everything the guest printed (on QEMU both streams share the serial
    /// line, which arrives on stdout).
    fn console(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

fn boot(hypervisor: Hypervisor, options: &[&str], image_name: &str, args: &[&str]) -> Run {
    let mut command = match hypervisor {
        Hypervisor::Vessel => {
            let mut c = Command::new(env!("CARGO_BIN_EXE_vessel"));
            c.arg("run");
            c
        }
        Hypervisor::QemuMicrovm | Hypervisor::QemuQ35 => {
            let mut c = Command::new(repo().join("tools/qemu-run"));
            let machine = if hypervisor == Hypervisor::QemuQ35 {
                "q35"
            } else {
                "microvm"
            };
            c.args(["--machine", machine]);
            c
        }
    };
    let output: Output = command
        .args(options)
        .arg(image(image_name))
        .arg("--")
        .args(args)
        .output()
        .expect("start the hypervisor");
    let run = Run {
        status: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    eprintln!(
        "{hypervisor:?} {image_name}: status {:?}\n{}",
        run.status,
        run.console()
    );
    run
}

/// Runs each named check on the Vessel VMM and on QEMU microvm.
macro_rules! on_every_hypervisor {
    ($($check:ident),* $(,)?) => {
        mod vessel {
            $( #[test] fn $check() { super::$check(super::Hypervisor::Vessel) } )*
        }
        mod qemu_microvm {
            $( #[test] fn $check() { super::$check(super::Hypervisor::QemuMicrovm) } )*
        }
    };
}

on_every_hypervisor!(
    hello_prints_greeting_and_args,
    hello_sees_environment,
    threads_join_with_results_and_survive_a_panicking_thread,
    sleep_takes_at_least_the_requested_time,
    main_returning_an_error_exits_1_with_the_error,
    panic_exits_101_with_message_and_location,
    stack_overflow_is_caught_by_the_guard_page,
    heap_exhaustion_is_reported_as_a_panic,
    small_block_exhaustion_is_reported_as_a_panic,
    usermode_runs_ring3_code_and_catches_its_faults,
);

fn usermode_runs_ring3_code_and_catches_its_faults(hv: Hypervisor) {
    let out = boot(hv, &[], "usermode", &[]);
    assert_eq!(out.status, Some(0), "{}", out.console());
    assert_eq!(
        out.stdout,
        "hello from ring 3\n\
         user program exited with code 7\n\
         unmapped read: fault vector 14, error code 0x4, address 0xdead000, rip 0x400000\n\
         read_bytes(0xdead000): bad user address 0xdead000\n\
         read_bytes(0xffff800000000000): bad user address 0xffff800000000000\n\
         hlt: fault vector 13, error code 0x0, address 0x0, rip 0x400000\n\
         spinning program preempted: true, still at 0x400000\n\
         after the child wrote: shared c, private p\n\
         child's read-only view: shared true, sees P, discard kept it\n\
         after the child went: parent's page !, shared true\n\
         reserved 64 pages, 2 with frames, reads 0\n\
         user program exited with code 0\n\
         user write served by 1 fault: byte 42, 3 pages with frames\n\
         read-only reserved page: write Ok(Denied), read Ok(Resolved); unmapped: Ok(Unmapped)\n\
         fork: child has 61 reserved and 5 with frames, wrote c, parent sees 0\n\
         discard: 64 reserved, 2 with frames, reads 0\n\
         unmap: 0 reserved, mapped false\n"
    );
}

fn hello_prints_greeting_and_args(hv: Hypervisor) {
    let out = boot(hv, &[], "hello", &["one", "two words"]);
    assert_eq!(out.status, Some(0));
    assert_eq!(
        out.stdout,
        "Hello, world! This is a Vessel unikernel.\nargs: [\"hello\", \"one\", \"two words\"]\n"
    );
}

fn hello_sees_environment(hv: Hypervisor) {
    let out = boot(
        hv,
        &["-e", "NAME=Vessel", "--env", "OTHER=x=y"],
        "hello",
        &[],
    );
    assert_eq!(out.status, Some(0));
    assert!(out.stdout.starts_with("Hello, Vessel! "), "{}", out.stdout);
}

fn threads_join_with_results_and_survive_a_panicking_thread(hv: Hypervisor) {
    let out = boot(hv, &[], "threads", &[]);
    let text = out.console();
    assert_eq!(out.status, Some(0), "{text}");
    for (worker, primes) in [(0, 367), (1, 302), (2, 281), (3, 279)] {
        assert!(
            text.contains(&format!("worker {worker}: {primes} primes\n")),
            "{text}"
        );
    }
    assert!(text.contains("total: 1229 primes below 10000\n"), "{text}");
    assert!(
        text.contains("try_lock on a held mutex refused 3 of 3 times\n"),
        "{text}"
    );
    assert!(
        text.contains("panicked thread joined with: worker failed on purpose\n"),
        "{text}"
    );
    assert!(
        text.contains("thread '<unnamed>' panicked at examples/threads/src/main.rs:"),
        "{text}"
    );
}

/// Parses "slept N us (clock)" from the sleep example's output.
fn slept_us(text: &str, clock: &str) -> u64 {
    let suffix = format!(" us ({clock})");
    text.lines()
        .find_map(|l| l.strip_prefix("slept ")?.strip_suffix(&suffix))
        .unwrap_or_else(|| panic!("no {clock} line in {text}"))
        .parse()
        .unwrap()
}

fn sleep_takes_at_least_the_requested_time(hv: Hypervisor) {
    let out = boot(hv, &[], "sleep", &["50"]);
    let text = out.stdout;
    assert_eq!(out.status, Some(0), "{text}");
    assert!(slept_us(&text, "monotonic") >= 50_000, "{text}");
    assert!(slept_us(&text, "wall clock") >= 50_000, "{text}");
    let unix: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("unix time at start: ")?.strip_suffix(" s"))
        .unwrap()
        .parse()
        .unwrap();
    let host_now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    assert!(
        host_now.as_secs().abs_diff(unix) < 60,
        "guest wall clock {unix} is off"
    );
}

fn main_returning_an_error_exits_1_with_the_error(hv: Hypervisor) {
    let out = boot(hv, &[], "sleep", &["soon"]);
    assert_eq!(out.status, Some(1));
    let text = out.console();
    assert!(
        text.contains("Error: \"bad duration \\\"soon\\\": invalid digit"),
        "{text}"
    );
}

fn panic_exits_101_with_message_and_location(hv: Hypervisor) {
    let out = boot(hv, &[], "panic", &[]);
    assert_eq!(out.status, Some(101));
    assert!(out.stdout.starts_with("about to panic\n"), "{}", out.stdout);
    let text = out.console();
    assert!(
        text.contains("thread 'main' panicked at examples/panic/src/main.rs:12:5:\n"),
        "{text}"
    );
    assert!(
        text.contains("deliberate panic: answer was None\n"),
        "{text}"
    );
}

fn stack_overflow_is_caught_by_the_guard_page(hv: Hypervisor) {
    let out = boot(hv, &[], "overflow", &[]);
    assert_eq!(out.status, Some(101));
    let text = out.console();
    assert!(text.contains("CPU exception: "), "{text}");
    assert!(text.contains("stack guard page: stack overflow"), "{text}");
    assert!(text.contains("rip=0x"), "registers are reported: {text}");
}

fn heap_exhaustion_is_reported_as_a_panic(hv: Hypervisor) {
    exhaustion_is_reported(hv, "32M", &[], "holding 16384 KiB\n", 1 << 20);
}

/// The same with small blocks, which come from per-size-class free lists:
/// their memory runs out as cleanly.
fn small_block_exhaustion_is_reported_as_a_panic(hv: Hypervisor) {
    exhaustion_is_reported(hv, "16M", &["small"], "holding 4096 KiB\n", 512);
}

/// Boots `oom` with `args` in `memory`: it prints `holding` as the heap
/// grows, then fails to allocate `block` bytes, a panic (status 101).
fn exhaustion_is_reported(
    hv: Hypervisor,
    memory: &str,
    args: &[&str],
    holding: &str,
    block: usize,
) {
    let out = boot(hv, &["--memory", memory], "oom", args);
    assert_eq!(out.status, Some(101));
    let text = out.console();
    assert!(text.contains(holding), "the heap grew first: {text}");
    let failure = format!("memory allocation of {block} bytes failed");
    assert!(text.contains(&failure), "{text}");
}

/// Boots, on QEMU microvm with `options` (CPU features hidden), `sleep`
/// (a timer that never fired would hang it), `threads`, and `usermode`,
/// whose spinning ring-3 program ends only if the timer preempts it.
fn the_lapic_timer_drives_sleep_and_preemption_with(options: &[&str]) {
    let out = boot(Hypervisor::QemuMicrovm, options, "sleep", &["50"]);
    assert_eq!(out.status, Some(0), "{}", out.console());
    assert!(
        slept_us(&out.stdout, "monotonic") >= 50_000,
        "{}",
        out.stdout
    );
    let out = boot(Hypervisor::QemuMicrovm, options, "threads", &[]);
    assert_eq!(out.status, Some(0), "{}", out.console());
    assert!(out.stdout.contains("total: 1229 primes below 10000\n"));
    let out = boot(Hypervisor::QemuMicrovm, options, "usermode", &[]);
    assert_eq!(out.status, Some(0), "{}", out.console());
    assert!(
        out.stdout
            .contains("spinning program preempted: true, still at 0x400000\n"),
        "{}",
        out.stdout
    );
}

#[test]
fn without_tsc_deadline_the_lapic_one_shot_timer_drives_sleep_and_preemption() {
    // vessel-rt calibrates the LAPIC timer against the TSC and arms it in
    // one-shot mode; writing the missing TSC-deadline MSR would crash the
    // guest.
    the_lapic_timer_drives_sleep_and_preemption_with(&["--no-tsc-deadline"]);
}

#[test]
fn without_x2apic_the_xapic_mmio_page_drives_sleep_and_preemption() {
    // vessel-rt keeps the LAPIC in xAPIC mode and reaches its registers
    // through the MMIO page; the timer stays in TSC-deadline mode. An x2APIC
    // MSR access would crash the guest; a lost EOI would stop the timer.
    the_lapic_timer_drives_sleep_and_preemption_with(&["--no-x2apic"]);
}

#[test]
fn without_x2apic_or_tsc_deadline_the_one_shot_timer_runs_through_mmio() {
    // Calibration, arming and EOI all through the xAPIC MMIO page.
    the_lapic_timer_drives_sleep_and_preemption_with(&["--no-x2apic", "--no-tsc-deadline"]);
}

#[test]
fn hello_boots_on_qemu_q35_through_firmware() {
    let out = boot(Hypervisor::QemuQ35, &[], "hello", &["q35"]);
    assert_eq!(out.status, Some(0));
    assert!(
        out.stdout
            .ends_with("Hello, world! This is a Vessel unikernel.\nargs: [\"hello\", \"q35\"]\n"),
        "{}",
        out.stdout
    );
}

#[test]
fn vessel_verbose_reports_timing_exits_and_memory() {
    let out = boot(
        Hypervisor::Vessel,
        &["--verbose", "--memory", "64M"],
        "hello",
        &[],
    );
    assert_eq!(out.status, Some(0));
    let err = out.stderr;
    let exits = err
        .lines()
        .find_map(|l| l.strip_prefix("[vessel] exits: total="))
        .expect("exits line");
    let total: u32 = exits.split_whitespace().next().unwrap().parse().unwrap();
    assert!(total >= 2, "at least one console write and the exit: {err}");
    assert!(err.contains("[vessel] timing: vm_create_us="), "{err}");
    assert!(
        err.contains("[vessel] memory: guest_size_kib=65536 "),
        "{err}"
    );
}

#[test]
fn trace_instructions_records_every_guest_instruction_from_entry_to_exit() {
    let dir = repo().join("target/tmp");
    std::fs::create_dir_all(&dir).unwrap();
    let trace = dir.join("hello-trace.txt");
    let out = boot(
        Hypervisor::Vessel,
        &["--trace-instructions", trace.to_str().unwrap()],
        "hello",
        &["traced"],
    );
    assert_eq!(out.status, Some(0), "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "Hello, world! This is a Vessel unikernel.\nargs: [\"hello\", \"traced\"]\n"
    );
    let rips: Vec<u64> = std::fs::read_to_string(&trace)
        .unwrap()
        .lines()
        .map(|l| u64::from_str_radix(l, 16).expect("one hexadecimal RIP per line"))
        .collect();
    assert!(
        out.stderr
            .contains(&format!("traced {} guest instructions", rips.len())),
        "{}",
        out.stderr
    );
    // Boot to exit is thousands of instructions, all in the image, which
    // runs in the top 2 GiB.
    assert!(rips.len() > 1_000, "{} instructions", rips.len());
    assert!(rips.iter().all(|&rip| rip >= 0xffff_ffff_8000_0000));

    let bad = boot(
        Hypervisor::Vessel,
        &["--trace-instructions", "/nonexistent/dir/trace.txt"],
        "hello",
        &[],
    );
    assert_eq!(bad.status, Some(125));
    assert!(bad.stdout.is_empty(), "refused before the guest runs");
    assert!(
        bad.stderr
            .contains("cannot create /nonexistent/dir/trace.txt"),
        "{}",
        bad.stderr
    );
}

/// Runs `image_name` on the Vessel VMM with `input` on its standard input.
fn boot_with_input(image_name: &str, input: &[u8]) -> Run {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_vessel"))
        .arg("run")
        .arg(image(image_name))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start vessel");
    let mut stdin = child.stdin.take().expect("piped stdin");
    stdin.write_all(input).expect("write the input");
    drop(stdin);
    let output = child.wait_with_output().expect("wait for vessel");
    Run {
        status: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

#[test]
fn wc_reads_standard_input_through_vessel_std() {
    // 5,000 lines (23,893 bytes): several console reads of 4 KiB.
    let numbers: String = (1..=5_000).map(|n| format!("{n}\n")).collect();
    let run = boot_with_input("wc", numbers.as_bytes());
    assert_eq!(run.status, Some(0), "{}", run.console());
    assert_eq!(run.stdout, "5000 5000 23893\nlongest line: \"1000\"\n");
    let run = boot_with_input("wc", b"two words\nno newline");
    assert_eq!(run.stdout, "1 4 20\nlongest line: \"no newline\"\n");
    let run = boot_with_input("wc", b"");
    assert_eq!(run.stdout, "0 0 0\nlongest line: \"\"\n");
    let run = boot_with_input("wc", b"\xff\xfe\n");
    assert_eq!(run.status, Some(1), "{}", run.console());
    assert!(
        run.stderr.contains("stream did not contain valid UTF-8"),
        "{}",
        run.stderr
    );
}
