//! Writes a tiny hand-assembled guest image that prints a line and exits
//! with code 7: `cargo run -p vessel-vmm --example tiny_guest -- OUT`.

fn main() {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "tiny-guest.elf".into());
    let image = vessel_vmm::test_util::hello_image(b"hello from a tiny guest\n", 7);
    if let Err(e) = std::fs::write(&out, image) {
        eprintln!("tiny_guest: cannot write {out}: {e}");
        std::process::exit(1);
    }
}
