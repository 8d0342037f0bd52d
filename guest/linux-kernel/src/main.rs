//! The vessel-linux kernel: boots on vessel-rt, takes the static Linux
//! program `vessel run` handed over, and runs it in ring 3, serving its
//! system calls. Built by `cargo xtask` and embedded in the `vessel` binary.
//!
//! Safe Rust only: everything that touches hardware is vessel-rt's.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

mod clock;
mod file;
mod fs;
mod futex;
mod jobs;
mod kernel;
mod kill;
mod memory;
mod poll;
mod process;
mod procfs;
mod random;
mod signal;
mod syscall;
mod timer;
mod tty;

use vessel_std::process::ExitCode;
use vessel_std::{env, eprintln};

#[vessel_std::main]
fn main() -> ExitCode {
    let Some(program) = vessel_rt::env::initial_program() else {
        eprintln!("vessel-linux: no program to run (start me with `vessel run PROGRAM`)");
        return ExitCode::from(127);
    };
    let argv: alloc::vec::Vec<_> = env::args().collect();
    // `VESSEL_*` entries are for the kernel (`vessel run --verbose` sets
    // VESSEL_VERBOSE=1); the program gets the rest.
    let verbose = env::var("VESSEL_VERBOSE").is_ok_and(|v| v == "1");
    let envp: alloc::vec::Vec<_> = env::vars()
        .filter(|(k, _)| !k.starts_with("VESSEL_"))
        .map(|(k, v)| alloc::format!("{k}={v}"))
        .collect();
    let path = argv.first().cloned().unwrap_or_default();
    let files = vessel_rt::env::take_initial_files();
    let tree = match fs::boot_tree((&path, program), files.as_deref()) {
        Ok(tree) => tree,
        Err(error) => {
            eprintln!("vessel-linux: cannot unpack the initial files (--volume): {error}");
            return ExitCode::from(125);
        }
    };
    drop(files);
    let kernel = kernel::Kernel::new(path, program, verbose, file::FileSystem::new(tree));
    let pid = kernel.new_pid(0, 0);
    match process::Process::load(program, &argv, &envp, pid, kernel.clone()) {
        Ok(mut process) => {
            // The console, a terminal with `-t`, once the first process
            // exists: typed signals (Ctrl-C...) go to the foreground
            // process group, which is its group at first.
            let signals = kernel.clone();
            tty::init(
                env::var("VESSEL_TTY")
                    .ok()
                    .as_deref()
                    .and_then(tty::parse_size),
                pid,
                Some(alloc::boxed::Box::new(move |pgid, signal| {
                    kill::signal_group_from_kernel(&signals, pgid, signal)
                })),
            );
            let exe = fs::real_path(&process, kernel.program_path().as_bytes());
            procfs::executed(&process.group, exe, &argv);
            // The first thread runs here; if it ends before the others, the
            // last one to end records how the process ended.
            let ended = match process.run_in_place() {
                Some(ended) => {
                    kernel.exited(pid, ended);
                    ended
                }
                None => kernel.wait_for_end(pid),
            };
            fs::copy_out(&kernel.fs);
            // The VM ends with the first process: nothing needs its memory
            // back, and tearing its address space down would cost tens of
            // thousands of instructions, emulated on some hosts.
            core::mem::forget(process);
            ExitCode::from(ended.shell_status())
        }
        Err(error) => {
            let name = argv.first().map_or("program", |a| a.as_str());
            eprintln!("vessel-linux: cannot execute {name}: {error}");
            // A shell reports 126 for "found but cannot execute".
            ExitCode::from(126)
        }
    }
}
