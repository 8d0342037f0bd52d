//! `vessel run -t`: the console as a terminal. Each case runs vessel under
//! `script(1)` (util-linux), which gives it a pseudo-terminal and feeds it
//! what the test types, as a person at a terminal would.

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::thread::sleep;
use std::time::Duration;

fn vessel() -> &'static str {
    env!("CARGO_BIN_EXE_vessel")
}

/// Runs `command` in a pseudo-terminal, typing each of `keys` after a
/// pause (the guest boots meanwhile; typed bytes wait in the terminal).
fn in_terminal(command: &str, keys: &[&[u8]]) -> Output {
    let mut child = Command::new("script")
        .args(["-qefc", command, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script(1) from util-linux");
    let mut input = child.stdin.take().expect("piped stdin");
    for key in keys {
        sleep(Duration::from_millis(700));
        input.write_all(key).expect("typing");
        input.flush().expect("typing");
    }
    sleep(Duration::from_millis(700));
    drop(input);
    child.wait_with_output().expect("script ends")
}

#[test]
fn an_interactive_shell_runs_commands_and_exits_with_their_status() {
    let out = in_terminal(
        &format!("{} run -it /bin/busybox sh", vessel()),
        &[b"echo hello from $((6*7))\r", b"stty size\r", b"exit 3\r"],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(text.contains("hello from 42\r\n"), "{text}");
    // script(1)'s pseudo-terminal is 24 rows by 80 columns.
    assert!(text.contains("24 80\r\n"), "{text}");
}

#[test]
fn canonical_mode_echoes_edits_and_ends_at_eof() {
    // Typed: "abx", erase, "c", Enter, "def", ^D (ends a partial line),
    // ^D again (end of file).
    let out = in_terminal(
        &format!("{} run -t /bin/busybox cat", vessel()),
        &[b"abx\x7fc\r", b"def\x04", b"\x04"],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    // The echo of the line as edited (x erased) and cat's copy of it, and
    // "def" twice (echo, copy): the order of echo and output depends on
    // when cat reads.
    assert!(text.contains("abx\x08 \x08c\r\n"), "{text:?}");
    assert!(text.contains("abc\r\n"), "{text:?}");
    assert_eq!(text.matches("def").count(), 2, "{text:?}");
}

#[test]
fn ctrl_c_interrupts_the_program_reading_the_terminal() {
    // cat is reading when ^C arrives: SIGINT to the foreground group ends
    // it, and vessel reports 128 + 2 as a shell would.
    let out = in_terminal(
        &format!("{} run -t /bin/busybox cat", vessel()),
        &[b"abc\x03"],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(130), "{text:?}");
    assert!(text.contains("abc^C\r\n"), "{text:?}");
}

#[test]
fn the_host_terminal_is_restored() {
    let out = in_terminal(
        &format!("stty -g; {} run -t /bin/busybox true; stty -g", vessel()),
        &[],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    assert_eq!(lines.len(), 2, "{text:?}");
    assert_eq!(lines[0], lines[1], "settings before and after differ");
}

#[test]
fn a_terminal_is_required() {
    let out = Command::new(vessel())
        .args(["run", "-t", "/bin/busybox", "true"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("-t needs a terminal"), "{stderr}");
}
