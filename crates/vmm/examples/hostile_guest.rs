//! Writes the hostile guest image (malformed hypercalls, stray port and MMIO
//! accesses; see `vessel_vmm::test_util::hostile`):
//! `cargo run -p vessel-vmm --example hostile_guest -- OUT`, then
//! `vessel run --memory 16M OUT | xxd` shows the answers it recorded.

fn main() {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "hostile-guest.elf".into());
    let guest = vessel_vmm::test_util::hostile::hostile_guest();
    if let Err(e) = std::fs::write(&out, &guest.image) {
        eprintln!("hostile_guest: cannot write {out}: {e}");
        std::process::exit(1);
    }
    for (i, p) in guest.probes.iter().enumerate() {
        println!("{:4} {:#018x} {}", i * 8, p.expected, p.name);
    }
}
