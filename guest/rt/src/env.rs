//! The program's arguments and environment, copied out of the boot data
//! (untrusted host memory) once at boot and validated.

use crate::boot_info::{BootParams, split_strings};
use crate::mem::phys_to_virt;
use alloc::string::String;
use alloc::vec::Vec;
use spin::Once;
use vessel_abi::boot::StringList;

static ARGS: Once<Vec<String>> = Once::new();
static PROGRAM: Once<Vec<u8>> = Once::new();
static VARS: Once<Vec<(String, String)>> = Once::new();

/// Copies arguments, environment and the initial program out of the boot
/// data.
pub(crate) fn init(params: &BootParams) {
    PROGRAM.call_once(|| {
        let blob = params.initial_program;
        let mut bytes = alloc::vec![0u8; blob.len as usize];
        if blob.len > 0 {
            // SAFETY: boot-info validation checked that the blob lies in a
            // boot-data region of RAM, covered by the direct map; the copy
            // goes into a buffer of exactly `len` bytes.
            unsafe {
                core::ptr::copy_nonoverlapping(
                    phys_to_virt(blob.addr) as *const u8,
                    bytes.as_mut_ptr(),
                    bytes.len(),
                );
            }
        }
        bytes
    });
    ARGS.call_once(|| read_list(&params.args, "arguments").collect());
    VARS.call_once(|| {
        read_list(&params.env, "environment")
            .map(|entry| match entry.split_once('=') {
                Some((key, value)) => (String::from(key), String::from(value)),
                None => (entry, String::new()),
            })
            .collect()
    });
}

fn read_list(list: &StringList, what: &str) -> impl Iterator<Item = String> {
    let mut bytes = alloc::vec![0u8; list.len as usize];
    if list.len > 0 {
        // SAFETY: boot-info validation checked that `[addr, addr + len)` lies
        // in a boot-data region of RAM, which the direct map covers; the copy
        // is read-only and goes into a buffer of exactly `len` bytes.
        unsafe {
            core::ptr::copy_nonoverlapping(
                phys_to_virt(list.addr) as *const u8,
                bytes.as_mut_ptr(),
                bytes.len(),
            );
        }
    }
    let strings: Vec<String> = match split_strings(&bytes, list.count) {
        Some(strings) => strings
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect(),
        None => crate::panic::fatal(format_args!("malformed {what} in the boot info")),
    };
    strings.into_iter()
}

/// The program the VMM handed over for this kernel to run (the Linux
/// executable given to `vessel run`), if any.
pub fn initial_program() -> Option<&'static [u8]> {
    PROGRAM.get().filter(|p| !p.is_empty()).map(Vec::as_slice)
}

/// The program's arguments, `argv[0]` first. Invalid UTF-8 is replaced by
/// U+FFFD.
pub fn args() -> &'static [String] {
    ARGS.get().map_or(&[], Vec::as_slice)
}

/// The environment as `(key, value)` pairs, in the order given.
pub fn vars() -> &'static [(String, String)] {
    VARS.get().map_or(&[], Vec::as_slice)
}

/// The value of environment variable `key`, if set.
pub fn var(key: &str) -> Option<&'static str> {
    vars()
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}
