//! Embeds the vessel-linux kernel image in the `vessel` binary, so that
//! `vessel run PROGRAM` can run Linux programs with no extra file.
//!
//! `cargo xtask build` (and `test`, `run`, `bench`) builds the guest first
//! and points `VESSEL_LINUX_KERNEL` at the kernel image. A plain `cargo
//! build` without it makes a `vessel` that runs Vessel images only and says
//! so when given a Linux program.
use std::{env, fs, path::PathBuf};

fn main() {
    println!("cargo:rerun-if-env-changed=VESSEL_LINUX_KERNEL");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let code = match env::var_os("VESSEL_LINUX_KERNEL").map(PathBuf::from) {
        Some(kernel) if kernel.is_file() => {
            println!("cargo:rerun-if-changed={}", kernel.display());
            format!(
                "Some(include_bytes!({:?}))",
                kernel
                    .canonicalize()
                    .expect("kernel path")
                    .display()
                    .to_string()
            )
        }
        _ => "None".to_string(),
    };
    fs::write(
        out.join("linux_kernel.rs"),
        format!("/// The embedded vessel-linux kernel, if this build has one.\npub const LINUX_KERNEL: Option<&[u8]> = {code};\n"),
    )
    .expect("write linux_kernel.rs");
}
