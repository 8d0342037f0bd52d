//! The Vessel platform: Vessel's own VMM, reached by hypercalls
//! (vessel-abi): one `out` instruction per request, the argument struct's
//! guest-physical address in RAX. Argument structs and buffers live in
//! statics of the image, whose physical address is known without a
//! page-table walk, and which are the only memory the host is asked to read.

use super::Platform;
use crate::arch::cpu;
use crate::sync::SpinLock;
use core::arch::asm;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, Ordering};
use vessel_abi::hypercall::{
    ConsoleRead, ConsoleWrite, CopyOut, Exit, ExitReason, Header, Number, Status, Stream,
    check_read, check_transfer,
};
use vessel_abi::layout::KERNEL_VIRT_BASE;

/// Physical address of something inside the loaded image.
fn image_phys<T>(pointer: *const T) -> u64 {
    let virt = pointer as u64;
    assert!(
        virt >= KERNEL_VIRT_BASE,
        "hypercall memory must live in the image"
    );
    virt - KERNEL_VIRT_BASE
}

/// Issues hypercall `number` with the argument struct at `args`.
///
/// # Safety
/// `args` must point to a live argument struct of the type `number`
/// expects, inside the image, that nothing else accesses during the call.
unsafe fn hypercall<T>(number: Number, args: *mut T) {
    let phys = image_phys(args);
    // SAFETY: an `out` to a hypercall port only makes the host read the
    // argument struct (and the buffers it names, which the caller owns) and
    // write its `status` field; the pointer is passed in RCX as well, so the
    // compiler treats the struct as possibly written by the instruction.
    unsafe {
        asm!(
            "out dx, eax",
            in("dx") number.port(),
            in("rax") phys,
            in("rcx") args,
            options(nostack, preserves_flags),
        );
    }
}

/// A host-visible console request.
struct ConsoleRequest {
    args: ConsoleWrite,
}

impl ConsoleRequest {
    /// An empty request, all zeros like the other requests of [`VESSEL`],
    /// so that the static lands in `.bss`, not in the image file (`write`
    /// sets the status field before each call).
    const fn new() -> Self {
        Self {
            args: ConsoleWrite {
                header: Header { status: 0 },
                stream: 0,
                reserved: 0,
                buf: 0,
                len: 0,
            },
        }
    }

    /// Writes `bytes` (which must live in the image) to the host's `stream`.
    fn write(&mut self, stream: Stream, bytes: &[u8]) -> Result<(), Status> {
        self.args = ConsoleWrite {
            header: Header::default(),
            stream: stream as u32,
            reserved: 0,
            buf: image_phys(bytes.as_ptr()),
            len: bytes.len() as u64,
        };
        let args = &raw mut self.args;
        // SAFETY: `args` is a ConsoleWrite in `self` (a static in the image,
        // as every `ConsoleRequest` is) borrowed mutably for the call; the
        // buffer is borrowed for the call too.
        unsafe { hypercall(Number::ConsoleWrite, args) };
        // SAFETY: reading back the status the host may have written.
        let status = unsafe { core::ptr::read_volatile(&raw const (*args).header.status) };
        check_transfer(status, bytes.len() as u64).map(drop)
    }
}

/// The exit request. Used once: the first task to exit wins.
struct ExitRequest(UnsafeCell<Exit>);

// SAFETY: only the task that wins `EXITING` touches the cell.
unsafe impl Sync for ExitRequest {}

static EXIT_REQUEST: ExitRequest = ExitRequest(UnsafeCell::new(Exit {
    header: Header {
        status: Status::NotHandled as i64,
    },
    code: 0,
    reason: 0,
    tsc_entry: 0,
    tsc_main: 0,
    tsc_exit: 0,
}));
static EXITING: AtomicBool = AtomicBool::new(false);

/// Bytes one `ConsoleRead` asks for at most.
const READ_BUFFER: usize = 4096;

/// A host-visible console-input request and its buffer.
struct ReadRequest {
    args: ConsoleRead,
    buffer: [u8; READ_BUFFER],
}

impl ReadRequest {
    /// An empty request, all zeros (see [`ConsoleRequest::new`]).
    const fn new() -> Self {
        Self {
            args: ConsoleRead {
                header: Header { status: 0 },
                buf: 0,
                len: 0,
            },
            buffer: [0; READ_BUFFER],
        }
    }

    /// Reads ready host input into `out`: the count, 0 at end of input or
    /// on an error; `None` if the host has none yet (it raises the input
    /// interrupt when it has).
    fn read(&mut self, out: &mut [u8]) -> Option<usize> {
        let len = out.len().min(READ_BUFFER);
        self.args = ConsoleRead {
            header: Header::default(),
            buf: image_phys(self.buffer.as_ptr()),
            len: len as u64,
        };
        let args = &raw mut self.args;
        // SAFETY: `args` is a ConsoleRead in `self` (a static in the image),
        // naming `self.buffer`, also in the image; both are borrowed
        // mutably for the call, so nothing else touches them meanwhile.
        unsafe { hypercall(Number::ConsoleRead, args) };
        // SAFETY: reading back the status the host may have written.
        let status = unsafe { core::ptr::read_volatile(&raw const (*args).header.status) };
        let n = match check_read(status, len as u64) {
            Ok(n) => n,
            Err(Status::WouldBlock) => return None,
            Err(_) => return Some(0),
        };
        // The host wrote the buffer behind the compiler's back: copy it out
        // with volatile reads.
        let buffer = self.buffer.as_ptr();
        for (i, slot) in out[..n as usize].iter_mut().enumerate() {
            // SAFETY: `i < n <= READ_BUFFER`, so the read is inside `buffer`.
            *slot = unsafe { core::ptr::read_volatile(buffer.add(i)) };
        }
        Some(n as usize)
    }
}

/// A host-visible copy-out request and its chunk buffer.
struct CopyOutRequest {
    args: CopyOut,
    buffer: [u8; super::COPY_OUT_CHUNK],
}

impl CopyOutRequest {
    /// An empty request, all zeros (see [`ConsoleRequest::new`]).
    const fn new() -> Self {
        Self {
            args: CopyOut {
                header: Header { status: 0 },
                slot: 0,
                flags: 0,
                buf: 0,
                len: 0,
            },
            buffer: [0; super::COPY_OUT_CHUNK],
        }
    }

    /// Sends `chunk` (at most the buffer's size) for `slot`.
    fn send(&mut self, slot: u32, flags: u32, chunk: &[u8]) -> Result<(), Status> {
        let len = chunk.len().min(self.buffer.len());
        self.buffer[..len].copy_from_slice(&chunk[..len]);
        self.args = CopyOut {
            header: Header::default(),
            slot,
            flags,
            buf: image_phys(self.buffer.as_ptr()),
            len: len as u64,
        };
        let args = &raw mut self.args;
        // SAFETY: `args` is a CopyOut in `self` (a static in the image),
        // naming `self.buffer`, also in the image; both are borrowed
        // mutably for the call, and the host only reads the buffer.
        unsafe { hypercall(Number::CopyOut, args) };
        // SAFETY: reading back the status the host may have written.
        let status = unsafe { core::ptr::read_volatile(&raw const (*args).header.status) };
        check_transfer(status, len as u64).map(drop)
    }
}

/// Vessel's own VMM.
pub(crate) struct Vessel {
    console: SpinLock<ConsoleRequest>,
    input: SpinLock<ReadRequest>,
    copy_out: SpinLock<CopyOutRequest>,
}

/// The one instance.
pub(crate) static VESSEL: Vessel = Vessel {
    console: SpinLock::new(ConsoleRequest::new()),
    input: SpinLock::new(ReadRequest::new()),
    copy_out: SpinLock::new(CopyOutRequest::new()),
};

impl Platform for Vessel {
    fn console_write(&self, stream: Stream, bytes: &[u8]) {
        // If the host cannot write, there is nobody to tell: drop it.
        let _ = self.console.lock().write(stream, bytes);
    }

    fn console_read(&self, buf: &mut [u8]) -> Option<usize> {
        self.input.lock().read(buf)
    }

    fn copy_out(&self, slot: u32, flags: u32, chunk: &[u8]) -> Result<(), Status> {
        self.copy_out.lock().send(slot, flags, chunk)
    }

    fn exit(&self, code: i32, reason: ExitReason) -> ! {
        exit_with(code, reason)
    }
}

/// Ends the VM, telling the host why.
fn exit_with(code: i32, reason: ExitReason) -> ! {
    if EXITING.swap(true, Ordering::AcqRel) {
        cpu::halt_forever();
    }
    let (tsc_entry, tsc_main) = crate::time::stamps();
    let args = EXIT_REQUEST.0.get();
    // SAFETY: this task won `EXITING`, so it alone uses the request, a
    // static in the image.
    unsafe {
        args.write(Exit {
            header: Header::default(),
            code,
            reason: reason as u32,
            tsc_entry,
            tsc_main,
            tsc_exit: cpu::rdtsc(),
        });
        hypercall(Number::Exit, args);
    }
    // The host ignored the exit: make it see a crash rather than hang.
    cpu::triple_fault()
}
