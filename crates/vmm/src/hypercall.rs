//! Decoding and serving hypercalls.
//!
//! A hypercall is an `out` to port [`PORT_BASE`]` + n` with the 64-bit
//! guest-physical address of the argument struct in `RAX`. The argument
//! struct is read from guest memory with bounds checks (any alignment) and
//! decoded field by field; every address and length the guest supplies is
//! checked before use. A request that cannot be served fails with a status;
//! nothing the guest sends can make the host fail.

use std::mem::{offset_of, size_of};

use tracing::trace;
use vessel_abi::hypercall::{
    ConsoleWrite, Exit, ExitReason, MAX_CONSOLE_WRITE, Number, PORT_BASE, Status, Stream,
};
use vm_memory::{Bytes, GuestAddress, GuestMemoryBackend, GuestMemoryMmap};

use crate::console::ConsoleSink;
use crate::stats::ExitCounts;

/// Largest chunk copied out of guest memory at a time.
const COPY_CHUNK: usize = 64 << 10;

/// A guest's request to stop, from the `Exit` hypercall.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExitRequest {
    /// The exit code.
    pub code: i32,
    /// Why the guest ended.
    pub reason: ExitReason,
    /// Guest TSC at its entry point (0 = unknown).
    pub tsc_entry: u64,
    /// Guest TSC when `main` was called (0 = unknown).
    pub tsc_main: u64,
    /// Guest TSC at the exit request (0 = unknown).
    pub tsc_exit: u64,
}

/// What the run loop does after a hypercall.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Resume the guest.
    Continue,
    /// Stop the VM.
    Exit(ExitRequest),
}

/// Serves hypercalls against one guest memory and console.
#[derive(Debug, Default)]
pub struct HypercallServer {
    scratch: Vec<u8>,
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[off..off + 4]);
    u32::from_le_bytes(a)
}

fn u64_at(b: &[u8], off: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[off..off + 8]);
    u64::from_le_bytes(a)
}

/// Writes a status into the header at `gpa`; silently does nothing if the
/// header is not in guest memory.
fn set_status(mem: &GuestMemoryMmap, gpa: u64, status: i64) {
    if mem
        .write_slice(&status.to_le_bytes(), GuestAddress(gpa))
        .is_err()
    {
        trace!(
            gpa,
            "hypercall header outside guest memory: status not written"
        );
    }
}

impl HypercallServer {
    /// A server with no scratch memory allocated yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Serves the hypercall the guest made by writing to `port` (which must
    /// be in the hypercall range) with `gpa` in `RAX`, counting it in
    /// `counts`.
    pub fn handle(
        &mut self,
        port: u16,
        gpa: u64,
        mem: &GuestMemoryMmap,
        console: &mut dyn ConsoleSink,
        counts: &mut ExitCounts,
    ) -> Effect {
        match Number::from_port(port) {
            Some(Number::ConsoleWrite) => {
                counts.console_write += 1;
                let status = self.console_write(gpa, mem, console);
                set_status(mem, gpa, status);
                Effect::Continue
            }
            Some(Number::Exit) => {
                counts.exit += 1;
                match decode_exit(gpa, mem) {
                    Ok(req) => Effect::Exit(req),
                    Err(status) => {
                        set_status(mem, gpa, status as i64);
                        Effect::Continue
                    }
                }
            }
            None => {
                counts.unknown_hypercall += 1;
                trace!(number = port.wrapping_sub(PORT_BASE), "unknown hypercall");
                set_status(mem, gpa, Status::UnknownHypercall as i64);
                Effect::Continue
            }
        }
    }

    /// Serves `ConsoleWrite`; returns the status to store.
    fn console_write(
        &mut self,
        gpa: u64,
        mem: &GuestMemoryMmap,
        console: &mut dyn ConsoleSink,
    ) -> i64 {
        let mut raw = [0u8; size_of::<ConsoleWrite>()];
        if mem.read_slice(&mut raw, GuestAddress(gpa)).is_err() {
            return Status::BadAddress as i64;
        }
        let stream = match u32_at(&raw, offset_of!(ConsoleWrite, stream)) {
            1 => Stream::Stdout,
            2 => Stream::Stderr,
            _ => return Status::BadArgument as i64,
        };
        let buf = u64_at(&raw, offset_of!(ConsoleWrite, buf));
        let len = u64_at(&raw, offset_of!(ConsoleWrite, len));
        if len > MAX_CONSOLE_WRITE {
            return Status::BadLength as i64;
        }
        if len == 0 {
            return 0;
        }
        // len <= 1 MiB, so the usize conversion is lossless.
        if buf.checked_add(len).is_none()
            || !GuestMemoryBackend::check_range(mem, GuestAddress(buf), len as usize)
        {
            return Status::BadAddress as i64;
        }
        let chunk = (len as usize).min(COPY_CHUNK);
        if self.scratch.len() < chunk {
            self.scratch.resize(chunk, 0);
        }
        let mut done = 0u64;
        while done < len {
            let n = ((len - done) as usize).min(COPY_CHUNK);
            let part = &mut self.scratch[..n];
            if mem.read_slice(part, GuestAddress(buf + done)).is_err() {
                return Status::BadAddress as i64;
            }
            if let Err(e) = console.write(stream, part) {
                trace!(error = %e, "console write failed");
                return Status::HostError as i64;
            }
            done += n as u64;
        }
        len as i64
    }
}

/// Decodes an `Exit` request, or the status rejecting it.
fn decode_exit(gpa: u64, mem: &GuestMemoryMmap) -> Result<ExitRequest, Status> {
    let mut raw = [0u8; size_of::<Exit>()];
    mem.read_slice(&mut raw, GuestAddress(gpa))
        .map_err(|_| Status::BadAddress)?;
    let reason = match u32_at(&raw, offset_of!(Exit, reason)) {
        0 => ExitReason::Normal,
        1 => ExitReason::Panic,
        _ => return Err(Status::BadArgument),
    };
    Ok(ExitRequest {
        code: u32_at(&raw, offset_of!(Exit, code)) as i32,
        reason,
        tsc_entry: u64_at(&raw, offset_of!(Exit, tsc_entry)),
        tsc_main: u64_at(&raw, offset_of!(Exit, tsc_main)),
        tsc_exit: u64_at(&raw, offset_of!(Exit, tsc_exit)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::CaptureConsole;
    use std::io;

    const SIZE: u64 = 8 << 20;
    const ARG: u64 = 0x30_0000;
    const BUF: u64 = 0x31_0000;

    fn mem() -> GuestMemoryMmap {
        GuestMemoryMmap::from_ranges(&[(GuestAddress(0), SIZE as usize)]).unwrap()
    }

    fn console_write(m: &GuestMemoryMmap, at: u64, stream: u32, buf: u64, len: u64) {
        let mut raw = Vec::new();
        raw.extend_from_slice(&(Status::NotHandled as i64).to_le_bytes());
        raw.extend_from_slice(&stream.to_le_bytes());
        raw.extend_from_slice(&0u32.to_le_bytes());
        raw.extend_from_slice(&buf.to_le_bytes());
        raw.extend_from_slice(&len.to_le_bytes());
        m.write_slice(&raw, GuestAddress(at)).unwrap();
    }

    fn status(m: &GuestMemoryMmap, at: u64) -> i64 {
        m.read_obj(GuestAddress(at)).unwrap()
    }

    fn call(
        m: &GuestMemoryMmap,
        n: u16,
        gpa: u64,
        c: &mut dyn ConsoleSink,
    ) -> (Effect, ExitCounts) {
        let mut counts = ExitCounts::default();
        let e = HypercallServer::new().handle(PORT_BASE + n, gpa, m, c, &mut counts);
        (e, counts)
    }

    #[test]
    fn console_write_succeeds_at_any_alignment() {
        let m = mem();
        m.write_slice(b"hello", GuestAddress(BUF + 3)).unwrap();
        console_write(&m, ARG + 5, 2, BUF + 3, 5);
        let mut c = CaptureConsole::default();
        let (e, counts) = call(&m, 0, ARG + 5, &mut c);
        assert_eq!(e, Effect::Continue);
        assert_eq!(counts.console_write, 1);
        assert_eq!(status(&m, ARG + 5), 5);
        assert_eq!(c.stderr, b"hello");
        assert!(c.stdout.is_empty());
    }

    #[test]
    fn console_write_large_buffers_arrive_whole() {
        let m = mem();
        let data: Vec<u8> = (0..MAX_CONSOLE_WRITE).map(|i| i as u8).collect();
        m.write_slice(&data, GuestAddress(BUF)).unwrap();
        console_write(&m, ARG, 1, BUF, MAX_CONSOLE_WRITE);
        let mut c = CaptureConsole::default();
        call(&m, 0, ARG, &mut c);
        assert_eq!(status(&m, ARG), MAX_CONSOLE_WRITE as i64);
        assert_eq!(c.stdout, data);
    }

    #[test]
    fn console_write_rejects_bad_requests() {
        let m = mem();
        let mut c = CaptureConsole::default();
        for (stream, buf, len, want) in [
            (3, BUF, 1, Status::BadArgument),
            (0, BUF, 1, Status::BadArgument),
            (1, BUF, MAX_CONSOLE_WRITE + 1, Status::BadLength),
            (1, SIZE - 2, 4, Status::BadAddress),
            (1, SIZE + 0x1000, 4, Status::BadAddress),
            (1, u64::MAX - 1, 4, Status::BadAddress),
            (1, u64::MAX, MAX_CONSOLE_WRITE, Status::BadAddress),
        ] {
            console_write(&m, ARG, stream, buf, len);
            call(&m, 0, ARG, &mut c);
            assert_eq!(
                status(&m, ARG),
                want as i64,
                "stream {stream} buf {buf:#x} len {len:#x}"
            );
        }
        assert!(c.stdout.is_empty() && c.stderr.is_empty());
    }

    #[test]
    fn argument_struct_outside_memory() {
        let m = mem();
        let mut c = CaptureConsole::default();
        for gpa in [SIZE, u64::MAX, u64::MAX - 7, SIZE - 1] {
            assert_eq!(call(&m, 0, gpa, &mut c).0, Effect::Continue);
            assert_eq!(call(&m, 1, gpa, &mut c).0, Effect::Continue);
            assert_eq!(call(&m, 9, gpa, &mut c).0, Effect::Continue);
        }
        // Header inside, rest outside: the status says BadAddress.
        call(&m, 0, SIZE - 8, &mut c);
        assert_eq!(status(&m, SIZE - 8), Status::BadAddress as i64);
        call(&m, 1, SIZE - 16, &mut c);
        assert_eq!(status(&m, SIZE - 16), Status::BadAddress as i64);
    }

    #[test]
    fn unknown_hypercalls_fail() {
        let m = mem();
        let mut c = CaptureConsole::default();
        m.write_obj(Status::NotHandled as i64, GuestAddress(ARG))
            .unwrap();
        let (e, counts) = call(&m, 0x42, ARG, &mut c);
        assert_eq!(e, Effect::Continue);
        assert_eq!(counts.unknown_hypercall, 1);
        assert_eq!(status(&m, ARG), Status::UnknownHypercall as i64);
    }

    #[test]
    fn exit_is_decoded() {
        let m = mem();
        let mut raw = vec![0u8; 40];
        raw[8..12].copy_from_slice(&(-3i32).to_le_bytes());
        raw[12..16].copy_from_slice(&1u32.to_le_bytes());
        raw[16..24].copy_from_slice(&10u64.to_le_bytes());
        raw[24..32].copy_from_slice(&20u64.to_le_bytes());
        raw[32..40].copy_from_slice(&30u64.to_le_bytes());
        m.write_slice(&raw, GuestAddress(ARG + 1)).unwrap();
        let mut c = CaptureConsole::default();
        let (e, counts) = call(&m, 1, ARG + 1, &mut c);
        assert_eq!(counts.exit, 1);
        assert_eq!(
            e,
            Effect::Exit(ExitRequest {
                code: -3,
                reason: ExitReason::Panic,
                tsc_entry: 10,
                tsc_main: 20,
                tsc_exit: 30
            })
        );
        raw[12..16].copy_from_slice(&7u32.to_le_bytes());
        m.write_slice(&raw, GuestAddress(ARG)).unwrap();
        assert_eq!(call(&m, 1, ARG, &mut c).0, Effect::Continue);
        assert_eq!(status(&m, ARG), Status::BadArgument as i64);
    }

    struct Broken;
    impl ConsoleSink for Broken {
        fn write(&mut self, _: Stream, _: &[u8]) -> io::Result<()> {
            Err(io::Error::from(io::ErrorKind::BrokenPipe))
        }
    }

    #[test]
    fn host_write_errors_are_reported() {
        let m = mem();
        console_write(&m, ARG, 1, BUF, 4);
        call(&m, 0, ARG, &mut Broken);
        assert_eq!(status(&m, ARG), Status::HostError as i64);
    }
}
