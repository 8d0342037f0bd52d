//! The console: standard output and standard error of the guest, and its
//! standard input.
//!
//! Output is batched so that a VM exit carries a whole buffer, never a byte:
//! standard output is line buffered (flushed when a write ends with a line
//! written, or the buffer fills), standard error is flushed at the end of
//! every write, after any pending standard output, so the two interleave in
//! order.

use crate::sync::{Mutex, SpinLock};
use crate::task::WaitQueue;
use crate::{platform, scan};
use core::fmt::{self, Write};
use core::sync::atomic::{AtomicBool, Ordering};
pub use vessel_abi::hypercall::Stream;

const BUFFER_SIZE: usize = 4096;

struct Console {
    buffer: [u8; BUFFER_SIZE],
    len: usize,
    stream: Stream,
    /// Where in `buffer` the current write began (0 once it was flushed
    /// part way).
    write_start: usize,
    /// Whether the part of the current write flushed part way held a
    /// newline.
    saw_newline: bool,
}

impl Console {
    const fn new() -> Self {
        Self {
            buffer: [0; BUFFER_SIZE],
            len: 0,
            stream: Stream::Stdout,
            write_start: 0,
            saw_newline: false,
        }
    }

    fn flush(&mut self) {
        if self.len > 0 {
            platform::current().console_write(self.stream, &self.buffer[..self.len]);
            self.len = 0;
        }
        self.write_start = 0;
    }

    /// Starts a write to `stream`.
    fn begin_write(&mut self, stream: Stream) {
        if self.stream != stream {
            self.flush();
            self.stream = stream;
        }
        self.write_start = self.len;
        self.saw_newline = false;
    }

    /// Whether the current write has written a newline so far. One scan
    /// per write, not one per piece of a formatted write.
    fn wrote_newline(&self) -> bool {
        self.saw_newline || scan::contains_byte(&self.buffer[self.write_start..self.len], b'\n')
    }

    /// Ends a write: standard error is flushed, standard output if a line
    /// was written.
    fn finish_write(&mut self) {
        if self.stream == Stream::Stderr || self.wrote_newline() {
            self.flush();
        }
    }

    fn put(&mut self, bytes: &[u8]) {
        match self.buffer.get_mut(self.len..self.len + bytes.len()) {
            // The common case: the bytes fit.
            Some(room) => {
                room.copy_from_slice(bytes);
                self.len += bytes.len();
            }
            None => self.put_in_pieces(bytes),
        }
    }

    /// Puts bytes that overflow the buffer: fills it, flushes, repeats.
    #[inline(never)]
    fn put_in_pieces(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            if self.len == BUFFER_SIZE {
                self.saw_newline = self.wrote_newline();
                self.flush();
            }
            let n = bytes.len().min(BUFFER_SIZE - self.len);
            self.buffer[self.len..self.len + n].copy_from_slice(&bytes[..n]);
            self.len += n;
            bytes = &bytes[n..];
        }
    }
}

impl Write for Console {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.put(s.as_bytes());
        Ok(())
    }

    /// One character (formatting writes quotes and escapes this way):
    /// without the default's round trip through `write_str`.
    fn write_char(&mut self, c: char) -> fmt::Result {
        self.put(c.encode_utf8(&mut [0; 4]).as_bytes());
        Ok(())
    }
}

static CONSOLE: SpinLock<Console> = SpinLock::new(Console::new());
/// A second console for reports made while the first is locked (a panic
/// inside `print!`, an exception in the middle of a write).
static EMERGENCY: SpinLock<Console> = SpinLock::new(Console::new());
static EMERGENCY_IN_USE: AtomicBool = AtomicBool::new(false);

/// Shows the console buffers to the host (a no-op unless the platform keeps
/// guest memory private from the host, as confidential VMs do).
pub(crate) fn init() {
    for console in [&CONSOLE, &EMERGENCY] {
        // The address only: no need to take the lock.
        let buffer = console.data_ptr() as u64 + core::mem::offset_of!(Console, buffer) as u64;
        let phys = buffer - vessel_abi::layout::KERNEL_VIRT_BASE;
        platform::current().share_with_host(phys, BUFFER_SIZE as u64);
    }
}

/// Writes formatted text to standard output.
pub fn print(args: fmt::Arguments<'_>) {
    write(Stream::Stdout, args);
}

/// Writes formatted text to standard error.
pub fn eprint(args: fmt::Arguments<'_>) {
    write(Stream::Stderr, args);
}

fn write(stream: Stream, args: fmt::Arguments<'_>) {
    let mut console = CONSOLE.lock();
    console.begin_write(stream);
    let _ = console.write_fmt(args);
    console.finish_write();
}

/// Writes raw bytes (not necessarily UTF-8) to `stream`, with the same
/// buffering as the `print` family: how a kernel passes on what its user
/// programs write.
pub fn write_bytes(stream: Stream, bytes: &[u8]) {
    let mut console = CONSOLE.lock();
    console.begin_write(stream);
    console.put(bytes);
    console.finish_write();
}

/// Reads console input (the host's standard input) into `buf`: the byte
/// count, 0 at end of input. Pending standard output is flushed first, so a
/// prompt appears before the read waits. Only the calling task waits: the
/// host answers at once (with input, or "none yet"), and raises the input
/// interrupt when input arrives; the other tasks run meanwhile, and the
/// CPU halts if there are none. Tasks that read at the same time take
/// turns.
pub fn read(buf: &mut [u8]) -> usize {
    flush();
    // One reader talks to the host at a time, so the arrival flag below
    // has one owner: it clears it before each request, and only an
    // interrupt raised after that request sets it.
    let _turn = INPUT_TURN.lock();
    loop {
        INPUT_ARRIVED.store(false, Ordering::SeqCst);
        if let Some(n) = platform::current().console_read(buf) {
            return n;
        }
        INPUT_WAITERS.wait_until(|| INPUT_ARRIVED.load(Ordering::SeqCst).then_some(()));
    }
}

/// Held by the task reading console input.
static INPUT_TURN: Mutex<()> = Mutex::new(());
/// Set by the input interrupt.
static INPUT_ARRIVED: AtomicBool = AtomicBool::new(false);
/// Where a reader waits for the input interrupt.
static INPUT_WAITERS: WaitQueue = WaitQueue::new();

/// The host's input interrupt (interrupts disabled): input it had none
/// of arrived.
pub(crate) fn input_interrupt() {
    INPUT_ARRIVED.store(true, Ordering::SeqCst);
    INPUT_WAITERS.wake_all();
}

/// Flushes buffered standard output.
pub fn flush() {
    if let Some(mut console) = CONSOLE.try_lock() {
        console.flush();
    }
}

/// Writes a report to standard error even if the console is locked (by
/// the code that failed). Used by the panic and exception paths.
pub(crate) fn report(args: fmt::Arguments<'_>) {
    if let Some(mut console) = CONSOLE.try_lock() {
        console.begin_write(Stream::Stderr);
        let _ = console.write_fmt(args);
        console.flush();
        return;
    }
    if EMERGENCY_IN_USE.swap(true, Ordering::Acquire) {
        return;
    }
    if let Some(mut console) = EMERGENCY.try_lock() {
        console.stream = Stream::Stderr;
        let _ = console.write_fmt(args);
        console.flush();
    }
    EMERGENCY_IN_USE.store(false, Ordering::Release);
}
