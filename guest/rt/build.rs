//! Puts `vessel.ld` on the linker search path, so that images link with
//! `-C link-arg=-Tvessel.ld` (set in the guest's `.cargo/config.toml`).
use std::{env, fs, path::PathBuf};

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::copy("vessel.ld", out.join("vessel.ld")).expect("copy vessel.ld");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=vessel.ld");
}
