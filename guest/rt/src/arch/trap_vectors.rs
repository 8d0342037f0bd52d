//! The vectors vessel-rt installs, in one table that both the kernel and
//! vessel-rt's build script read (the build script `include!`s this file):
//! the build script emits an entry stub per vector and the IDT itself, laid
//! out by the linker from the stubs' addresses, so booting spends no
//! instruction on building the table (each costs about a microsecond where
//! the host emulates kernel code).
//!
//! Plain data (and vessel-abi), so it compiles in the build script too.

/// IST slot (1-based, as the IDT encodes it) of the double-fault stack.
pub const IST_DOUBLE_FAULT: u8 = 1;
/// IST slot of the NMI stack.
pub const IST_NMI: u8 = 2;
/// IST slot of the machine-check stack.
pub const IST_MACHINE_CHECK: u8 = 3;

/// Vector of the LAPIC timer interrupt.
pub const TIMER_VECTOR: u8 = 32;
/// Vector of the host's "console input is ready" interrupt.
pub const INPUT_VECTOR: u8 = vessel_abi::hypercall::INPUT_VECTOR;
/// Vector the LAPIC uses for spurious interrupts.
pub const SPURIOUS_VECTOR: u8 = 0xff;

/// Bytes of the IDT: 256 gates of 16 bytes (absent gates are zero).
pub const IDT_BYTES: usize = 256 * 16;

/// One installed vector.
#[derive(Clone, Copy, Debug)]
pub struct Vector {
    /// The vector number.
    pub number: u8,
    /// Whether the CPU pushes an error code (the stub pushes a zero
    /// otherwise, so every trap frame has the same layout).
    pub error_code: bool,
    /// Interrupt stack slot, or 0 to stay on the current stack.
    pub ist: u8,
}

const fn vector(number: u8, error_code: bool, ist: u8) -> Vector {
    Vector {
        number,
        error_code,
        ist,
    }
}

/// Every installed vector, in ascending order: the 32 architectural
/// exceptions, the timer, the console input interrupt and the spurious
/// vector.
pub const VECTORS: [Vector; 35] = [
    vector(0, false, 0),
    vector(1, false, 0),
    vector(2, false, IST_NMI),
    vector(3, false, 0),
    vector(4, false, 0),
    vector(5, false, 0),
    vector(6, false, 0),
    vector(7, false, 0),
    vector(8, true, IST_DOUBLE_FAULT),
    vector(9, false, 0),
    vector(10, true, 0),
    vector(11, true, 0),
    vector(12, true, 0),
    vector(13, true, 0),
    vector(14, true, 0),
    vector(15, false, 0),
    vector(16, false, 0),
    vector(17, true, 0),
    vector(18, false, IST_MACHINE_CHECK),
    vector(19, false, 0),
    vector(20, false, 0),
    vector(21, true, 0),
    vector(22, false, 0),
    vector(23, false, 0),
    vector(24, false, 0),
    vector(25, false, 0),
    vector(26, false, 0),
    vector(27, false, 0),
    vector(28, false, 0),
    vector(29, true, 0),
    vector(30, true, 0),
    vector(31, false, 0),
    vector(TIMER_VECTOR, false, 0),
    vector(INPUT_VECTOR, false, 0),
    vector(SPURIOUS_VECTOR, false, 0),
];

// Checked when the kernel compiles: the build script lays the gates out in
// table order and a linker script cannot move backwards, so the table must
// ascend; only exceptions (below 32) get an error code from the CPU; and
// every IST slot used is one the TSS sets up.
const _: () = {
    let mut i = 0;
    while i < VECTORS.len() {
        let vector = VECTORS[i];
        assert!(
            i == 0 || VECTORS[i - 1].number < vector.number,
            "VECTORS must ascend"
        );
        assert!(
            !vector.error_code || vector.number < 32,
            "only exceptions have error codes"
        );
        assert!(
            vector.ist <= IST_MACHINE_CHECK,
            "IST slot the TSS does not set"
        );
        i += 1;
    }
};
