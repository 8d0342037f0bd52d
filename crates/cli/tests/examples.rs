//! Boots every guest example in a real KVM microVM through the `vessel`
//! binary and checks its output and exit status.
//!
//! The images come from the guest workspace, built by `cargo xtask build`
//! or `cargo xtask test` into `target/guest`. Without `/dev/kvm` these tests
//! fail (vessel exits 125 with a message); they never skip.

use std::path::PathBuf;
use std::process::{Command, Output};

fn image(name: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/guest/x86_64-unknown-none/release")
        .join(name);
    assert!(
        path.exists(),
        "guest image {} is missing: build the guest first (cargo xtask build)",
        path.display()
    );
    path
}

fn vessel(args: &[&str], image_name: &str, guest_args: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_vessel"))
        .arg("run")
        .args(args)
        .arg(image(image_name))
        .arg("--")
        .args(guest_args)
        .output()
        .expect("run vessel");
    eprintln!(
        "stderr of {image_name}:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("utf-8 stdout")
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("utf-8 stderr")
}

#[test]
fn hello_prints_greeting_and_args() {
    let out = vessel(&[], "hello", &["one", "two words"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        stdout(&out),
        "Hello, world! This is a Vessel unikernel.\nargs: [\"hello\", \"one\", \"two words\"]\n"
    );
}

#[test]
fn hello_sees_environment() {
    let out = vessel(&["-e", "NAME=Vessel", "--env", "OTHER=x=y"], "hello", &[]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stdout(&out).starts_with("Hello, Vessel! "),
        "{}",
        stdout(&out)
    );
}

#[test]
fn hello_verbose_reports_timing_exits_and_memory() {
    let out = vessel(&["--verbose", "--memory", "64M"], "hello", &[]);
    assert_eq!(out.status.code(), Some(0));
    let err = stderr(&out);
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
fn threads_join_with_results_and_survive_a_panicking_thread() {
    let out = vessel(&[], "threads", &[]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    for (worker, primes) in [(0, 367), (1, 302), (2, 281), (3, 279)] {
        assert!(
            text.contains(&format!("worker {worker}: {primes} primes\n")),
            "{text}"
        );
    }
    assert!(text.contains("total: 1229 primes below 10000\n"), "{text}");
    assert!(
        text.contains("panicked thread joined with: worker failed on purpose\n"),
        "{text}"
    );
    let err = stderr(&out);
    assert!(
        err.contains("thread '<unnamed>' panicked at examples/threads/src/main.rs:"),
        "{err}"
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

#[test]
fn sleep_takes_at_least_the_requested_time() {
    let out = vessel(&[], "sleep", &["50"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
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

#[test]
fn main_returning_an_error_exits_1_with_the_error() {
    let out = vessel(&[], "sleep", &["soon"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("Error: \"bad duration \\\"soon\\\": invalid digit"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn panic_exits_101_with_message_and_location() {
    let out = vessel(&[], "panic", &[]);
    assert_eq!(out.status.code(), Some(101));
    assert_eq!(stdout(&out), "about to panic\n");
    let err = stderr(&out);
    assert!(
        err.contains("thread 'main' panicked at examples/panic/src/main.rs:12:5:\n"),
        "{err}"
    );
    assert!(err.contains("deliberate panic: answer was None\n"), "{err}");
}

#[test]
fn stack_overflow_is_caught_by_the_guard_page() {
    let out = vessel(&[], "overflow", &[]);
    assert_eq!(out.status.code(), Some(101));
    let err = stderr(&out);
    assert!(err.contains("CPU exception: "), "{err}");
    assert!(err.contains("stack guard page: stack overflow"), "{err}");
    assert!(err.contains("rip=0x"), "registers are reported: {err}");
}

#[test]
fn heap_exhaustion_is_reported_as_a_panic() {
    let out = vessel(&["--memory", "32M"], "oom", &[]);
    assert_eq!(out.status.code(), Some(101));
    assert!(
        stdout(&out).contains("holding 16 MiB\n"),
        "the heap grew first: {}",
        stdout(&out)
    );
    let err = stderr(&out);
    assert!(
        err.contains("memory allocation of 1048576 bytes failed"),
        "{err}"
    );
}
