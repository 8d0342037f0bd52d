//! The program's arguments and environment, copied out of the boot data
//! (untrusted host memory) once at boot and validated.

use crate::boot_info::{BootParams, split_strings};
use crate::mem::phys_to_virt;
use crate::sync::SpinLock;
use alloc::string::String;
use alloc::vec::Vec;
use spin::Once;
use vessel_abi::boot::{MemoryKind, StringList};

/// What the boot data handed over, copied once at boot.
struct Environment {
    program: Vec<u8>,
    args: Vec<String>,
    vars: Vec<(String, String)>,
}

static ENVIRONMENT: Once<Environment> = Once::new();
static FILES: SpinLock<Option<Vec<u8>>> = SpinLock::new(None);

/// Copies arguments, environment and the initial program out of the boot
/// data.
pub(crate) fn init(params: &BootParams) {
    let files = params.initial_files;
    if files.len > 0 {
        *FILES.lock() = Some(copy_boot_data(params, files.addr, files.len));
    }
    ENVIRONMENT.call_once(|| {
        let program = params.initial_program;
        Environment {
            program: copy_boot_data(params, program.addr, program.len),
            args: read_list(params, &params.args, "arguments"),
            vars: read_list(params, &params.env, "environment")
                .into_iter()
                .map(|entry| match entry.split_once('=') {
                    Some((key, value)) => (String::from(key), String::from(value)),
                    None => (entry, String::new()),
                })
                .collect(),
        }
    });
}

/// Copies `[addr, addr + len)` out of host-written memory. The range must
/// lie in boot data or the image (boot-info validation ensures it for the
/// ranges the boot info names); anything else is a fatal error.
fn copy_boot_data(params: &BootParams, addr: u64, len: u64) -> Vec<u8> {
    let mut bytes = alloc::vec![0u8; len as usize];
    if len == 0 {
        return bytes;
    }
    if !params.contains(addr, len, &[MemoryKind::BootData, MemoryKind::Image]) {
        crate::panic::fatal(format_args!(
            "boot data at {addr:#x}+{len:#x} is outside boot memory"
        ));
    }
    // SAFETY: `[addr, addr + len)` lies in RAM (checked above), which the
    // direct map covers read-only-or-better; the copy goes into a buffer of
    // exactly `len` bytes that nothing else references.
    unsafe {
        core::ptr::copy_nonoverlapping(
            phys_to_virt(addr) as *const u8,
            bytes.as_mut_ptr(),
            bytes.len(),
        );
    }
    bytes
}

fn read_list(params: &BootParams, list: &StringList, what: &str) -> Vec<String> {
    // An empty list (validated: no bytes, no strings) needs no copy at all.
    if list.len == 0 {
        return Vec::new();
    }
    let bytes = copy_boot_data(params, list.addr, list.len);
    match split_strings(&bytes, list.count) {
        Some(strings) => strings
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect(),
        None => crate::panic::fatal(format_args!("malformed {what} in the boot info")),
    }
}

/// The program the VMM handed over for this kernel to run (the Linux
/// executable given to `vessel run`), if any.
pub fn initial_program() -> Option<&'static [u8]> {
    ENVIRONMENT
        .get()
        .map(|env| env.program.as_slice())
        .filter(|p| !p.is_empty())
}

/// Takes the initial files the VMM handed over (a cpio "newc" archive,
/// from `vessel run --volume`), if any: the first call gets them, so their
/// memory goes back to the heap once the caller has unpacked them.
pub fn take_initial_files() -> Option<Vec<u8>> {
    FILES.lock().take()
}

/// The program's arguments, `argv[0]` first. Invalid UTF-8 is replaced by
/// U+FFFD.
pub fn args() -> &'static [String] {
    ENVIRONMENT.get().map_or(&[], |env| &env.args)
}

/// The environment as `(key, value)` pairs, in the order given.
pub fn vars() -> &'static [(String, String)] {
    ENVIRONMENT.get().map_or(&[], |env| &env.vars)
}

/// The value of environment variable `key`, if set.
pub fn var(key: &str) -> Option<&'static str> {
    vars()
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}
