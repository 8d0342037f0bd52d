//! A hostile guest: hand-assembled x86-64 code that attacks the host–guest
//! boundary with malformed hypercalls and stray port and MMIO accesses,
//! records what the host answered, reports the record on stdout and exits
//! with code 0.
//!
//! Each recorded answer is one little-endian `i64` in a results table (a
//! hypercall status, or the value an `in` or MMIO read returned), written to
//! stdout with one final `ConsoleWrite`. [`HostileGuest`] knows the expected
//! table, the expected stderr (two probes write their own argument struct
//! there) and the expected VM-exit counts, so tests can compare exactly.
//!
//! The guest runs in a VM of [`MEMORY`] bytes (the probes aim at its end).
//! Everything it does is a handful of instructions: under an emulating
//! hypervisor it still finishes in milliseconds.

use vessel_abi::hypercall::{MAX_CONSOLE_WRITE, Number, PORT_BASE, Status};
use vessel_abi::layout::{DIRECT_MAP_BASE, IMAGE_MIN_PHYS, KERNEL_VIRT_BASE};

use super::exec_image;
use crate::stats::ExitCounts;

/// Guest RAM the hostile guest must run with (16 MiB).
pub const MEMORY: u64 = 16 << 20;

const B: u64 = IMAGE_MIN_PHYS;
/// Argument structs and buffers.
const ARGS: u64 = B + 0x1000;
/// The results table.
const RESULTS: u64 = B + 0x2000;
/// Most results.
const MAX_RESULTS: u64 = 0x1000 / 8;
/// The guest's own page-directory-pointer table and page directory, used to
/// map addresses with no RAM behind them.
const PDPT: u64 = B + 0x3000;
const PD: u64 = B + 0x4000;
const IMAGE_SIZE: u64 = 0x5000;
/// The PML4 slot the guest takes over (unused by the boot page tables).
const PML4_SLOT: u64 = 255;
/// Virtual address of that slot's window (sign extension not needed: < 2^47).
const WINDOW: u64 = PML4_SLOT << 39;
const MIB2: u64 = 2 << 20;
/// Physical 2 MiB pages mapped at `WINDOW + i * 2 MiB`.
const WINDOW_PAGES: [u64; 4] = [
    0xd000_0000,   // the MMIO hole below 4 GiB
    0x1_0000_0000, // above 4 GiB: no RAM in a 16 MiB VM
    MEMORY - MIB2, // the last 2 MiB of RAM ...
    MEMORY,        // ... directly followed by nothing
];
/// An unassigned I/O port (COM1: vessel emulates no UART).
const COM1: u16 = 0x3f8;

fn virt(phys: u64) -> u64 {
    KERNEL_VIRT_BASE + phys
}

/// One recorded answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Probe {
    /// What the guest tried.
    pub name: String,
    /// The documented answer (a [`Status`], a byte count, or a value read).
    pub expected: i64,
}

/// The hostile guest image and what it must observe.
#[derive(Clone, Debug)]
pub struct HostileGuest {
    /// The ELF image.
    pub image: Vec<u8>,
    /// The recorded answers, in table order.
    pub probes: Vec<Probe>,
    /// Bytes the guest's successful stderr writes produce.
    pub expected_stderr: Vec<u8>,
    /// VM exits a run must count.
    pub expected_exits: ExitCounts,
}

impl HostileGuest {
    /// The results table the guest writes to stdout if every answer is the
    /// documented one.
    pub fn expected_stdout(&self) -> Vec<u8> {
        self.probes
            .iter()
            .flat_map(|p| p.expected.to_le_bytes())
            .collect()
    }

    /// Compares a run's stdout with the expected table; the error lists
    /// every probe that got another answer.
    pub fn check_stdout(&self, stdout: &[u8]) -> Result<(), String> {
        if stdout.len() != self.probes.len() * 8 {
            return Err(format!(
                "stdout has {} bytes, expected a table of {} results ({} bytes)",
                stdout.len(),
                self.probes.len(),
                self.probes.len() * 8
            ));
        }
        let wrong: Vec<String> = self
            .probes
            .iter()
            .zip(stdout.chunks_exact(8))
            .filter_map(|(p, raw)| {
                let got = i64::from_le_bytes(raw.try_into().unwrap_or_default());
                (got != p.expected).then(|| {
                    format!(
                        "{}: got {got} ({got:#x}), expected {} ({:#x})",
                        p.name, p.expected, p.expected
                    )
                })
            })
            .collect();
        if wrong.is_empty() {
            Ok(())
        } else {
            Err(wrong.join("\n"))
        }
    }
}

/// A console-write argument struct as the guest lays it out.
fn console_write(stream: u32, buf: u64, len: u64) -> [u8; 32] {
    let mut v = [0u8; 32];
    v[..8].copy_from_slice(&(Status::NotHandled as i64).to_le_bytes());
    v[8..12].copy_from_slice(&stream.to_le_bytes());
    v[16..24].copy_from_slice(&buf.to_le_bytes());
    v[24..32].copy_from_slice(&len.to_le_bytes());
    v
}

/// An exit argument struct.
/// A `CopyOut` argument struct.
fn copy_out_args(slot: u32, flags: u32, buf: u64, len: u64) -> [u8; 32] {
    let mut v = [0u8; 32];
    v[..8].copy_from_slice(&(Status::NotHandled as i64).to_le_bytes());
    v[8..12].copy_from_slice(&slot.to_le_bytes());
    v[12..16].copy_from_slice(&flags.to_le_bytes());
    v[16..24].copy_from_slice(&buf.to_le_bytes());
    v[24..32].copy_from_slice(&len.to_le_bytes());
    v
}

fn exit_args(code: i32, reason: u32) -> [u8; 40] {
    let mut v = [0u8; 40];
    v[..8].copy_from_slice(&(Status::NotHandled as i64).to_le_bytes());
    v[8..12].copy_from_slice(&code.to_le_bytes());
    v[12..16].copy_from_slice(&reason.to_le_bytes());
    v
}

struct Builder {
    code: Vec<u8>,
    /// Image contents from `B` (code is copied in at the end).
    data: Vec<u8>,
    next_arg: u64,
    probes: Vec<Probe>,
    stderr: Vec<u8>,
    exits: ExitCounts,
}

impl Builder {
    fn new() -> Self {
        Self {
            code: Vec::new(),
            data: vec![0; IMAGE_SIZE as usize],
            next_arg: ARGS,
            probes: Vec::new(),
            stderr: Vec::new(),
            exits: ExitCounts::default(),
        }
    }

    fn emit(&mut self, bytes: &[u8]) -> &mut Self {
        self.code.extend_from_slice(bytes);
        self
    }

    fn put(&mut self, phys: u64, bytes: &[u8]) {
        let off = (phys - B) as usize;
        self.data[off..off + bytes.len()].copy_from_slice(bytes);
    }

    /// Places `bytes` in the argument area at `misalign` bytes past a
    /// 64-byte boundary; returns its guest-physical address.
    fn arg(&mut self, bytes: &[u8], misalign: u64) -> u64 {
        let gpa = self.next_arg + misalign;
        self.next_arg += (misalign + bytes.len() as u64).div_ceil(64) * 64;
        assert!(self.next_arg <= RESULTS, "argument area full");
        self.put(gpa, bytes);
        gpa
    }

    /// `mov rax, imm64`
    fn mov_rax(&mut self, v: u64) -> &mut Self {
        self.emit(&[0x48, 0xb8]).emit(&v.to_le_bytes())
    }

    /// `mov rbx, imm64`
    fn mov_rbx(&mut self, v: u64) -> &mut Self {
        self.emit(&[0x48, 0xbb]).emit(&v.to_le_bytes())
    }

    /// `mov dx, imm16`
    fn mov_dx(&mut self, port: u16) -> &mut Self {
        self.emit(&[0x66, 0xba]).emit(&port.to_le_bytes())
    }

    /// `xor eax, eax` (clears all of RAX)
    fn clear_rax(&mut self) -> &mut Self {
        self.emit(&[0x31, 0xc0])
    }

    /// A hypercall: `out dx, eax` to `PORT_BASE + number` with RAX = `gpa`.
    fn hypercall(&mut self, number: u16, gpa: u64) -> &mut Self {
        self.mov_rax(gpa).mov_dx(PORT_BASE + number).emit(&[0xef]);
        match number {
            0 => self.exits.console_write += 1,
            1 => self.exits.exit += 1,
            2 => self.exits.console_read += 1,
            3 => self.exits.copy_out += 1,
            _ => self.exits.unknown_hypercall += 1,
        }
        self
    }

    /// Appends RAX to the results table as probe `name`.
    fn record_rax(&mut self, name: impl Into<String>, expected: i64) -> &mut Self {
        let slot = RESULTS + 8 * self.probes.len() as u64;
        assert!((self.probes.len() as u64) < MAX_RESULTS);
        self.probes.push(Probe {
            name: name.into(),
            expected,
        });
        // movabs [slot], rax
        self.emit(&[0x48, 0xa3]).emit(&virt(slot).to_le_bytes())
    }

    /// Appends the i64 at virtual address `va` (a status header) to the
    /// results table.
    fn record_at(&mut self, name: impl Into<String>, va: u64, expected: Status) -> &mut Self {
        // movabs rax, [va]
        self.emit(&[0x48, 0xa1]).emit(&va.to_le_bytes());
        self.record_rax(name, expected as i64)
    }

    /// A hypercall whose argument struct lies in the image, its status
    /// recorded.
    fn call_recorded(
        &mut self,
        name: &str,
        number: u16,
        args: &[u8],
        misalign: u64,
        expected: i64,
    ) -> u64 {
        let gpa = self.arg(args, misalign);
        self.hypercall(number, gpa);
        // movabs rax, [gpa]; record
        self.emit(&[0x48, 0xa1]).emit(&virt(gpa).to_le_bytes());
        self.record_rax(name, expected);
        gpa
    }

    fn console_probe(&mut self, name: &str, stream: u32, buf: u64, len: u64, want: Status) {
        self.call_recorded(
            name,
            Number::ConsoleWrite as u16,
            &console_write(stream, buf, len),
            0,
            want as i64,
        );
    }
}

/// Builds the hostile guest.
pub fn hostile_guest() -> HostileGuest {
    let mut g = Builder::new();
    let cw = Number::ConsoleWrite as u16;
    let exit = Number::Exit as u16;
    let max = MAX_CONSOLE_WRITE;
    let msg = g.arg(b"odd!\n", 0);

    // --- ConsoleWrite with bad fields (argument struct in RAM).
    g.console_probe("console write: stream 0", 0, msg, 5, Status::BadArgument);
    g.console_probe("console write: stream 3", 3, msg, 5, Status::BadArgument);
    g.console_probe(
        "console write: stream u32::MAX",
        u32::MAX,
        msg,
        5,
        Status::BadArgument,
    );
    g.console_probe(
        "console write: len MAX_CONSOLE_WRITE + 1",
        1,
        msg,
        max + 1,
        Status::BadLength,
    );
    g.console_probe(
        "console write: len u64::MAX",
        1,
        msg,
        u64::MAX,
        Status::BadLength,
    );
    g.console_probe(
        "console write: buffer just past the end of RAM",
        1,
        MEMORY,
        4,
        Status::BadAddress,
    );
    g.console_probe(
        "console write: buffer straddling the end of RAM",
        1,
        MEMORY - 2,
        4,
        Status::BadAddress,
    );
    g.console_probe(
        "console write: buffer in the MMIO hole",
        1,
        0xd000_0000,
        16,
        Status::BadAddress,
    );
    g.console_probe(
        "console write: buffer above 4 GiB",
        1,
        1 << 32,
        16,
        Status::BadAddress,
    );
    g.console_probe(
        "console write: buf + len wraps (u64::MAX - 1, 4)",
        1,
        u64::MAX - 1,
        4,
        Status::BadAddress,
    );
    g.console_probe(
        "console write: buf + len wraps (u64::MAX - 0xff, MAX_CONSOLE_WRITE)",
        1,
        u64::MAX - 0xff,
        max,
        Status::BadAddress,
    );
    g.console_probe(
        "console write: len 0 at u64::MAX writes nothing",
        1,
        u64::MAX,
        0,
        Status::Ok,
    );

    // --- Alignment and overlap: these succeed, with the byte count.
    let odd = g.arg(b"odd!\n", 3);
    g.call_recorded(
        "console write: unaligned struct and buffer",
        cw,
        &console_write(2, odd, 5),
        5,
        5,
    );
    g.stderr.extend_from_slice(b"odd!\n");
    // The buffer is the argument struct itself: the host reads the struct
    // once, then copies the buffer (the struct as the guest wrote it).
    let at = g.next_arg + 1;
    let own = console_write(2, at, 32);
    g.call_recorded(
        "console write: buffer is its own argument struct",
        cw,
        &own,
        1,
        32,
    );
    g.stderr.extend_from_slice(&own);
    let at = g.next_arg + 7;
    let own = console_write(2, at + 4, 8);
    g.call_recorded(
        "console write: buffer overlaps the status header",
        cw,
        &own,
        7,
        8,
    );
    g.stderr.extend_from_slice(&own[4..12]);

    // --- Argument structs at the end of RAM (header inside, rest outside).
    for (name, number, offset) in [
        ("console write: argument struct at RAM end - 8", cw, 8),
        ("console write: argument struct at RAM end - 31", cw, 31),
        ("exit: argument struct at RAM end - 16", exit, 16),
    ] {
        let gpa = MEMORY - offset;
        g.hypercall(number, gpa);
        g.record_at(name, DIRECT_MAP_BASE + gpa, Status::BadAddress);
    }

    // A header that itself straddles the end of RAM: the host must not
    // write any part of a status. The qword at RAM end - 8 (the status of
    // the first probe above) must stay as it was.
    g.hypercall(cw, MEMORY - 3);
    g.record_at(
        "console write: header straddling the end of RAM leaves RAM untouched",
        DIRECT_MAP_BASE + MEMORY - 8,
        Status::BadAddress,
    );

    // --- Argument structs entirely outside RAM: no status can be written;
    // the host must simply carry on (counted, not recorded).
    for gpa in [MEMORY, 0xd000_0000, 1 << 32, u64::MAX - 7, u64::MAX] {
        g.hypercall(cw, gpa);
    }
    g.hypercall(exit, MEMORY + 0x1000);
    g.hypercall(0x42, u64::MAX);

    // --- Unknown hypercall numbers in the range, and bad exit requests.
    let header = (Status::NotHandled as i64).to_le_bytes();
    for n in [4u16, 0x80, 0xff] {
        g.call_recorded(
            &format!("hypercall number {n:#x}"),
            n,
            &header,
            0,
            Status::UnknownHypercall as i64,
        );
    }
    // --- CopyOut with no --copy-out slots, a chunk too large, a buffer
    // outside RAM.
    let copy_out = Number::CopyOut as u16;
    for (name, args, want) in [
        (
            "copy out: no such slot",
            copy_out_args(0, 2, 0, 0),
            Status::BadArgument,
        ),
        (
            "copy out: chunk above the maximum",
            copy_out_args(0, 2, 0, (1 << 20) + 1),
            Status::BadLength,
        ),
        (
            "copy out: buffer outside RAM",
            copy_out_args(0, 2, MEMORY - 4, 8),
            Status::BadAddress,
        ),
    ] {
        g.call_recorded(name, copy_out, &args, 0, want as i64);
    }
    // A one-byte `out dx, al` to an unassigned hypercall port.
    let gpa = g.arg(&header, 0);
    g.mov_rax(gpa).mov_dx(PORT_BASE + 0x10).emit(&[0xee]);
    g.exits.unknown_hypercall += 1;
    g.record_at(
        "hypercall number 0x10 with a one-byte out",
        virt(gpa),
        Status::UnknownHypercall,
    );
    g.call_recorded(
        "exit: reason 2",
        exit,
        &exit_args(3, 2),
        0,
        Status::BadArgument as i64,
    );
    g.call_recorded(
        "exit: reason u32::MAX, unaligned",
        exit,
        &exit_args(3, u32::MAX),
        1,
        Status::BadArgument as i64,
    );

    // --- Port I/O to nothing: writes are ignored, reads return all ones.
    g.mov_dx(COM1).clear_rax();
    g.emit(&[0xee]).emit(&[0x66, 0xef]).emit(&[0xef]); // out dx, al/ax/eax
    g.emit(&[0xe6, 0x80]); // out 0x80, al
    g.exits.io_other += 4;
    for (name, insn, want) in [
        ("in al, dx from COM1", &[0xec][..], 0xff),
        ("in ax, dx from COM1", &[0x66, 0xed][..], 0xffff),
        ("in eax, dx from COM1", &[0xed][..], 0xffff_ffff),
        ("in al, 0x71 (CMOS)", &[0xe4, 0x71][..], 0xff),
        ("in al, 0x21 (PIC, not emulated)", &[0xe4, 0x21][..], 0xff),
    ] {
        g.clear_rax().emit(insn);
        g.exits.io_other += 1;
        g.record_rax(name, want);
    }
    for (name, port, want) in [
        ("in eax, dx from port 0xffff", 0xffff, 0xffff_ffff),
        ("in eax, dx from a hypercall port", PORT_BASE, 0xffff_ffff),
        ("in eax, dx from PCI config data 0xcfc", 0xcfc, 0xffff_ffff),
    ] {
        g.mov_dx(port).clear_rax().emit(&[0xed]);
        g.exits.io_other += 1;
        g.record_rax(name, want);
    }

    // --- MMIO to nothing. Map WINDOW_PAGES through the guest's own page
    // tables (PML4 slot PML4_SLOT), then read and write them.
    g.put(PDPT, &(PD | 3).to_le_bytes());
    for (i, phys) in WINDOW_PAGES.iter().enumerate() {
        // Present, writable, 2 MiB page.
        g.put(PD + 8 * i as u64, &(phys | 0x83).to_le_bytes());
    }
    g.emit(&[0x0f, 0x20, 0xd8]); // mov rax, cr3
    g.emit(&[0x48, 0x25, 0x00, 0xf0, 0xff, 0xff]); // and rax, -4096
    g.mov_rbx(DIRECT_MAP_BASE).emit(&[0x48, 0x01, 0xd8]); // add rax, rbx
    g.emit(&[0x48, 0xb9]).emit(&(PDPT | 3).to_le_bytes()); // mov rcx, PDPT | 3
    g.emit(&[0x48, 0x89, 0x88]) // mov [rax + slot * 8], rcx
        .emit(&((PML4_SLOT * 8) as u32).to_le_bytes());
    g.emit(&[0x0f, 0x20, 0xd8, 0x0f, 0x22, 0xd8]); // mov rax, cr3; mov cr3, rax
    for (page, what) in [(0u64, "the MMIO hole (0xd0000000)"), (1, "4 GiB")] {
        let va = WINDOW + page * MIB2 + 0x10;
        g.mov_rbx(va);
        for (size, insn, want) in [
            (1, &[0x8a, 0x03][..], 0xff_i64),     // mov al, [rbx]
            (2, &[0x66, 0x8b, 0x03][..], 0xffff), // mov ax, [rbx]
            (4, &[0x8b, 0x03][..], 0xffff_ffff),  // mov eax, [rbx]
            (8, &[0x48, 0x8b, 0x03][..], -1),     // mov rax, [rbx]
        ] {
            g.clear_rax().emit(insn);
            g.exits.mmio += 1;
            g.record_rax(format!("{size}-byte MMIO read at {what}"), want);
        }
        // mov [rbx], al / ax / eax / rax
        g.emit(&[0x88, 0x03, 0x66, 0x89, 0x03, 0x89, 0x03, 0x48, 0x89, 0x03]);
        g.exits.mmio += 4;
    }
    // An 8-byte read whose first half is the last 4 bytes of RAM and whose
    // second half is past the end of RAM. First make the RAM half known.
    g.mov_rbx(DIRECT_MAP_BASE + MEMORY - 4);
    g.emit(&[0xc7, 0x03]).emit(&0x1122_3344u32.to_le_bytes()); // mov dword [rbx], imm32
    g.mov_rbx(WINDOW + 3 * MIB2 - 4);
    g.clear_rax().emit(&[0x48, 0x8b, 0x03]);
    g.exits.mmio += 1;
    g.record_rax(
        "8-byte read straddling the end of RAM",
        0xffff_ffff_1122_3344_u64 as i64,
    );

    // --- Report and exit cleanly.
    let table_len = 8 * g.probes.len() as u64;
    let report = g.arg(&console_write(1, RESULTS, table_len), 0);
    g.hypercall(cw, report);
    let done = g.arg(&exit_args(0, 0), 0);
    g.hypercall(exit, done);
    g.emit(&[0xf4]); // hlt: not reached

    assert!(g.code.len() <= 0x1000, "code is {} bytes", g.code.len());
    let mut contents = std::mem::take(&mut g.data);
    contents[..g.code.len()].copy_from_slice(&g.code);
    HostileGuest {
        image: exec_image(&contents, IMAGE_SIZE),
        probes: g.probes,
        expected_stderr: g.stderr,
        expected_exits: g.exits,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_and_checks() {
        let g = hostile_guest();
        assert!(g.probes.len() > 40, "{}", g.probes.len());
        g.check_stdout(&g.expected_stdout()).unwrap();
        let mut bad = g.expected_stdout();
        bad[0] ^= 1;
        let err = g.check_stdout(&bad).unwrap_err();
        assert!(err.starts_with("console write: stream 0: got"), "{err}");
        assert!(g.check_stdout(b"short").is_err());
        assert!(g.expected_exits.io_other > 10);
    }
}
