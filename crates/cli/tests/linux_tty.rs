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

/// Runs `command` in a pseudo-terminal; for each step, waits until the
/// output shows its marker (after the previous step's), then types its
/// keys. Returns the status and
/// all the output. For input whose effect depends on what the guest is
/// doing when it arrives (a ^C must find the job running).
fn in_terminal_after(command: &str, steps: &[(&str, &[u8])]) -> (Option<i32>, String) {
    use std::io::Read;
    use std::sync::{Arc, Mutex};
    use std::time::Instant;
    let mut child = Command::new("script")
        .args(["-qefc", command, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("script(1) from util-linux");
    let output = Arc::new(Mutex::new(Vec::new()));
    let reader = {
        let output = Arc::clone(&output);
        let mut stdout = child.stdout.take().expect("piped stdout");
        std::thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(n @ 1..) = stdout.read(&mut chunk) {
                output.lock().unwrap().extend_from_slice(&chunk[..n]);
            }
        })
    };
    let text = || String::from_utf8_lossy(&output.lock().unwrap()).into_owned();
    let mut input = child.stdin.take().expect("piped stdin");
    let mut seen = 0;
    for (marker, keys) in steps {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let text = text();
            if let Some(at) = text.get(seen..).and_then(|rest| rest.find(marker)) {
                seen += at + marker.len();
                break;
            }
            assert!(Instant::now() < deadline, "no {marker:?} in {text:?}");
            sleep(Duration::from_millis(50));
        }
        input.write_all(keys).expect("typing");
        input.flush().expect("typing");
    }
    sleep(Duration::from_millis(700));
    drop(input);
    let status = child.wait().expect("script ends").code();
    reader.join().expect("the reader thread");
    (status, text())
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
fn ctrl_c_reaches_a_program_that_is_not_reading() {
    // sleep never reads the terminal: the typed ^C must still become
    // SIGINT (before, input reached the guest only when a program read).
    let out = in_terminal(
        &format!("{} run -t /bin/busybox sleep 60", vessel()),
        &[b"\x03"],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(130), "{text:?}");
    assert!(text.contains("^C"), "{text:?}");
}

#[test]
fn ctrl_c_stops_a_foreground_job_and_the_shell_carries_on() {
    // The job says when it runs (and so is the terminal's foreground
    // group): only then is ^C typed.
    let (status, text) = in_terminal_after(
        &format!("{} run -it /bin/busybox sh", vessel()),
        &[
            (
                "/ # ",
                b"sh -c 'echo job runs; exec sleep 60'; echo not interrupted\r",
            ),
            ("job runs\r\n", b"\x03"),
            ("/ # ", b"echo back $?\r"),
            ("/ # ", b"exit 4\r"),
        ],
    );
    assert_eq!(status, Some(4), "status {status:?}: {text:?}");
    assert!(text.contains("back 130\r\n"), "{text:?}");
    assert!(!text.contains("\nnot interrupted"), "{text:?}");
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
