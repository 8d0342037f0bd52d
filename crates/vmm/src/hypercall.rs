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
    ConsoleRead, ConsoleWrite, CopyOut, Exit, ExitReason, MAX_CONSOLE_READ, MAX_CONSOLE_WRITE,
    MAX_COPY_OUT_CHUNK, Number, PORT_BASE, Status, Stream,
};
use vm_memory::{Bytes, GuestAddress, GuestMemoryBackend, GuestMemoryMmap};

use crate::console::ConsoleSink;
use crate::files::{CopyOutStore, Transfer};
use crate::input::InputWaker;
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
    copy_out: CopyOutStore,
    /// Raises the guest's input interrupt after a `WouldBlock` read.
    input_waker: InputWaker,
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

/// Writes a status into the header at `gpa`; does nothing at all if the
/// header is not entirely in guest memory. (The range is checked first:
/// `write_slice` would write the bytes that fit before failing, leaving a
/// torn status in the guest's last bytes of RAM.)
fn set_status(mem: &GuestMemoryMmap, gpa: u64, status: i64) {
    let bytes = status.to_le_bytes();
    if !GuestMemoryBackend::check_range(mem, GuestAddress(gpa), bytes.len())
        || mem.write_slice(&bytes, GuestAddress(gpa)).is_err()
    {
        trace!(
            gpa,
            "hypercall header outside guest memory: status not written"
        );
    }
}

impl HypercallServer {
    /// A server with no scratch memory allocated yet and no copy-out
    /// slots.
    pub fn new() -> Self {
        Self::default()
    }

    /// A server accepting `CopyOut` transfers for `slots` slots, holding at
    /// most `limit` bytes of them.
    pub fn with_copy_out(slots: usize, limit: u64) -> Self {
        Self {
            copy_out: CopyOutStore::new(slots, limit),
            ..Self::default()
        }
    }

    /// Sets how the guest is told that input it waited for arrived.
    pub fn with_input_waker(mut self, waker: InputWaker) -> Self {
        self.input_waker = waker;
        self
    }

    /// The complete copy-out transfers, by slot.
    pub fn into_copy_outs(self) -> Vec<Option<Transfer>> {
        self.copy_out.into_transfers()
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
            Some(Number::ConsoleRead) => {
                counts.console_read += 1;
                let status = self.console_read(gpa, mem, console);
                set_status(mem, gpa, status);
                Effect::Continue
            }
            Some(Number::CopyOut) => {
                counts.copy_out += 1;
                let status = self.copy_out(gpa, mem);
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
        if let Err(status) = check_buffer(mem, buf, len, MAX_CONSOLE_WRITE) {
            return status as i64;
        }
        if len == 0 {
            return 0;
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

impl HypercallServer {
    /// Serves `ConsoleRead`; returns the status to store.
    fn console_read(
        &mut self,
        gpa: u64,
        mem: &GuestMemoryMmap,
        console: &mut dyn ConsoleSink,
    ) -> i64 {
        let mut raw = [0u8; size_of::<ConsoleRead>()];
        if mem.read_slice(&mut raw, GuestAddress(gpa)).is_err() {
            return Status::BadAddress as i64;
        }
        let buf = u64_at(&raw, offset_of!(ConsoleRead, buf));
        let len = u64_at(&raw, offset_of!(ConsoleRead, len));
        if let Err(status) = check_buffer(mem, buf, len, MAX_CONSOLE_READ) {
            return status as i64;
        }
        if len == 0 {
            return 0;
        }
        if self.scratch.len() < len as usize {
            self.scratch.resize(len as usize, 0);
        }
        let part = &mut self.scratch[..len as usize];
        let n = match console.read(part, &self.input_waker) {
            Ok(n) => n.min(part.len()),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                return Status::WouldBlock as i64;
            }
            Err(e) => {
                trace!(error = %e, "console read failed");
                return Status::HostError as i64;
            }
        };
        if mem.write_slice(&part[..n], GuestAddress(buf)).is_err() {
            return Status::BadAddress as i64;
        }
        n as i64
    }
}

impl HypercallServer {
    /// Serves `CopyOut`; returns the status to store.
    fn copy_out(&mut self, gpa: u64, mem: &GuestMemoryMmap) -> i64 {
        let mut raw = [0u8; size_of::<CopyOut>()];
        if mem.read_slice(&mut raw, GuestAddress(gpa)).is_err() {
            return Status::BadAddress as i64;
        }
        let slot = u32_at(&raw, offset_of!(CopyOut, slot));
        let flags = u32_at(&raw, offset_of!(CopyOut, flags));
        let buf = u64_at(&raw, offset_of!(CopyOut, buf));
        let len = u64_at(&raw, offset_of!(CopyOut, len));
        if let Err(status) = check_buffer(mem, buf, len, MAX_COPY_OUT_CHUNK) {
            return status as i64;
        }
        if self.scratch.len() < len as usize {
            self.scratch.resize(len as usize, 0);
        }
        let chunk = &mut self.scratch[..len as usize];
        if mem.read_slice(chunk, GuestAddress(buf)).is_err() {
            return Status::BadAddress as i64;
        }
        match self.copy_out.append(slot, flags, chunk) {
            Ok(()) => len as i64,
            Err(status) => status as i64,
        }
    }
}

/// Checks a guest buffer named by a request: at most `max` bytes, inside
/// guest memory, no wrap-around. An empty buffer is always valid.
fn check_buffer(mem: &GuestMemoryMmap, buf: u64, len: u64, max: u64) -> Result<(), Status> {
    if len > max {
        return Err(Status::BadLength);
    }
    // len <= max (at most 1 MiB), so the usize conversion is lossless.
    if len > 0
        && (buf.checked_add(len).is_none()
            || !GuestMemoryBackend::check_range(mem, GuestAddress(buf), len as usize))
    {
        return Err(Status::BadAddress);
    }
    Ok(())
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

    fn console_read(m: &GuestMemoryMmap, at: u64, buf: u64, len: u64) {
        let mut raw = Vec::new();
        raw.extend_from_slice(&(Status::NotHandled as i64).to_le_bytes());
        raw.extend_from_slice(&buf.to_le_bytes());
        raw.extend_from_slice(&len.to_le_bytes());
        m.write_slice(&raw, GuestAddress(at)).unwrap();
    }

    #[test]
    fn console_read_delivers_input_then_end_of_input() {
        let m = mem();
        let mut c = CaptureConsole::default();
        c.stdin.extend(b"hello");
        console_read(&m, ARG, BUF, 3);
        call(&m, 2, ARG, &mut c);
        assert_eq!(status(&m, ARG), 3);
        console_read(&m, ARG, BUF + 3, 100);
        call(&m, 2, ARG, &mut c);
        assert_eq!(status(&m, ARG), 2);
        let mut got = [0u8; 5];
        m.read_slice(&mut got, GuestAddress(BUF)).unwrap();
        assert_eq!(&got, b"hello");
        console_read(&m, ARG, BUF, 100);
        call(&m, 2, ARG, &mut c);
        assert_eq!(status(&m, ARG), 0, "end of input");
    }

    #[test]
    fn console_read_rejects_bad_requests() {
        let m = mem();
        let mut c = CaptureConsole::default();
        c.stdin.extend(b"secret");
        for (buf, len, want) in [
            (BUF, MAX_CONSOLE_READ + 1, Status::BadLength),
            (SIZE - 2, 4, Status::BadAddress),
            (u64::MAX - 1, 4, Status::BadAddress),
        ] {
            console_read(&m, ARG, buf, len);
            call(&m, 2, ARG, &mut c);
            assert_eq!(status(&m, ARG), want as i64, "buf {buf:#x} len {len:#x}");
        }
        assert_eq!(c.stdin.len(), 6, "no input is consumed by a rejected read");
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

    mod props {
        //! Property tests: random argument structs at random addresses
        //! against a small two-region memory (with a hole between), checked
        //! against a reference model of the ABI. The host never panics,
        //! writes nothing but the 8-byte status (and only inside memory), and
        //! answers with exactly the documented status.

        use super::*;
        use proptest::prelude::*;

        const REGIONS: [(u64, u64); 2] = [(0, 0x1_0000), (0x2_0000, 0x3_0000)];

        fn small_mem() -> GuestMemoryMmap {
            let spec: Vec<_> = REGIONS
                .iter()
                .map(|&(s, e)| (GuestAddress(s), (e - s) as usize))
                .collect();
            GuestMemoryMmap::from_ranges(&spec).unwrap()
        }

        fn snapshot(m: &GuestMemoryMmap) -> Vec<u8> {
            let mut out = Vec::new();
            for &(s, e) in &REGIONS {
                let mut v = vec![0u8; (e - s) as usize];
                m.read_slice(&mut v, GuestAddress(s)).unwrap();
                out.extend(v);
            }
            out
        }

        /// Whether `[a, a + len)` lies inside one region.
        fn in_mem(a: u64, len: u64) -> bool {
            let Some(end) = a.checked_add(len) else {
                return false;
            };
            REGIONS.iter().any(|&(s, e)| a >= s && end <= e)
        }

        /// Addresses near every region edge, and anywhere.
        fn address() -> impl Strategy<Value = u64> {
            let edges: Vec<u64> = REGIONS
                .iter()
                .flat_map(|&(s, e)| [s, e])
                .chain([u64::MAX, 1 << 32])
                .collect();
            prop_oneof![
                3 => (proptest::sample::select(edges), -48i64..48)
                    .prop_map(|(edge, d)| edge.wrapping_add_signed(d)),
                2 => 0u64..0x3_1000,
                1 => any::<u64>(),
            ]
        }

        fn length() -> impl Strategy<Value = u64> {
            prop_oneof![
                3 => 0u64..64,
                1 => Just(MAX_CONSOLE_WRITE),
                1 => Just(MAX_CONSOLE_WRITE + 1),
                1 => 0u64..0x2_0000,
                1 => any::<u64>(),
            ]
        }

        fn stream() -> impl Strategy<Value = u32> {
            prop_oneof![4 => 1u32..3, 1 => any::<u32>()]
        }

        /// The status the ABI documents for a request (None: none written).
        fn model(
            m: &GuestMemoryMmap,
            number: u16,
            gpa: u64,
        ) -> (Option<i64>, Option<Vec<u8>>, Option<ExitRequest>) {
            let header = in_mem(gpa, 8);
            let st = |s: Status| header.then_some(s as i64);
            match number {
                0 => {
                    if !in_mem(gpa, 32) {
                        return (st(Status::BadAddress), None, None);
                    }
                    let mut raw = [0u8; 32];
                    m.read_slice(&mut raw, GuestAddress(gpa)).unwrap();
                    let stream = u32_at(&raw, 8);
                    let (buf, len) = (u64_at(&raw, 16), u64_at(&raw, 24));
                    if stream != 1 && stream != 2 {
                        return (st(Status::BadArgument), None, None);
                    }
                    if len > MAX_CONSOLE_WRITE {
                        return (st(Status::BadLength), None, None);
                    }
                    if len == 0 {
                        return (Some(0), None, None);
                    }
                    if !in_mem(buf, len) {
                        return (st(Status::BadAddress), None, None);
                    }
                    let mut bytes = vec![0u8; len as usize];
                    m.read_slice(&mut bytes, GuestAddress(buf)).unwrap();
                    let mut tagged = vec![stream as u8];
                    tagged.extend(bytes);
                    (Some(len as i64), Some(tagged), None)
                }
                1 => {
                    if !in_mem(gpa, 40) {
                        return (st(Status::BadAddress), None, None);
                    }
                    match decode_exit(gpa, m) {
                        Ok(req) => (None, None, Some(req)),
                        Err(s) => (st(s), None, None),
                    }
                }
                2 => {
                    // ConsoleRead, with no input: a valid request reads 0.
                    if !in_mem(gpa, 24) {
                        return (st(Status::BadAddress), None, None);
                    }
                    let mut raw = [0u8; 24];
                    m.read_slice(&mut raw, GuestAddress(gpa)).unwrap();
                    let (buf, len) = (u64_at(&raw, 8), u64_at(&raw, 16));
                    if len > MAX_CONSOLE_READ {
                        return (st(Status::BadLength), None, None);
                    }
                    if len > 0 && !in_mem(buf, len) {
                        return (st(Status::BadAddress), None, None);
                    }
                    (Some(0), None, None)
                }
                3 => {
                    // CopyOut, to a server with no copy-out slots.
                    if !in_mem(gpa, 32) {
                        return (st(Status::BadAddress), None, None);
                    }
                    let mut raw = [0u8; 32];
                    m.read_slice(&mut raw, GuestAddress(gpa)).unwrap();
                    let (buf, len) = (u64_at(&raw, 16), u64_at(&raw, 24));
                    if len > MAX_COPY_OUT_CHUNK {
                        return (st(Status::BadLength), None, None);
                    }
                    if len > 0 && !in_mem(buf, len) {
                        return (st(Status::BadAddress), None, None);
                    }
                    (st(Status::BadArgument), None, None)
                }
                _ => (st(Status::UnknownHypercall), None, None),
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

            #[test]
            fn decoder_matches_the_model(
                number in prop_oneof![6 => 0u16..4, 1 => 4u16..0x100],
                gpa in address(),
                stream in stream(),
                reserved in any::<u32>(),
                buf in address(),
                len in length(),
                code in any::<i32>(),
                reason in prop_oneof![3 => 0u32..2, 1 => any::<u32>()],
                noise in any::<[u8; 8]>(),
            ) {
                let m = small_mem();
                // Fill some memory so buffers have content.
                for &(s, _) in &REGIONS {
                    m.write_slice(&[0x5a; 0x100], GuestAddress(s)).unwrap();
                }
                // The argument struct, as far as it lies in memory. Console
                // and exit layouts differ; write the one the number uses.
                let mut raw = Vec::new();
                raw.extend_from_slice(&noise);
                if number == 1 {
                    raw.extend_from_slice(&code.to_le_bytes());
                    raw.extend_from_slice(&reason.to_le_bytes());
                    raw.extend_from_slice(&buf.to_le_bytes());
                    raw.extend_from_slice(&len.to_le_bytes());
                    raw.extend_from_slice(&noise);
                } else {
                    raw.extend_from_slice(&stream.to_le_bytes());
                    raw.extend_from_slice(&reserved.to_le_bytes());
                    raw.extend_from_slice(&buf.to_le_bytes());
                    raw.extend_from_slice(&len.to_le_bytes());
                }
                for (i, b) in raw.iter().enumerate() {
                    if let Some(a) = gpa.checked_add(i as u64) {
                        let _ = m.write_slice(&[*b], GuestAddress(a));
                    }
                }
                let (want_status, want_out, want_exit) = model(&m, number, gpa);
                let before = snapshot(&m);

                let mut console = CaptureConsole::default();
                let mut counts = ExitCounts::default();
                let effect = HypercallServer::new().handle(
                    PORT_BASE + number, gpa, &m, &mut console, &mut counts,
                );
                prop_assert_eq!(counts.total(), 1);

                // Effect and console output.
                match want_exit {
                    Some(req) => prop_assert_eq!(effect, Effect::Exit(req)),
                    None => prop_assert_eq!(effect, Effect::Continue),
                }
                match want_out {
                    Some(tagged) => {
                        let (which, bytes) = (tagged[0], &tagged[1..]);
                        let (got, other) = if which == 1 {
                            (&console.stdout, &console.stderr)
                        } else {
                            (&console.stderr, &console.stdout)
                        };
                        prop_assert_eq!(got.as_slice(), bytes);
                        prop_assert!(other.is_empty());
                    }
                    None => prop_assert!(console.stdout.is_empty() && console.stderr.is_empty()),
                }

                // Memory: only the status header may change, to the status.
                let after = snapshot(&m);
                let mut expected = before.clone();
                if let Some(status) = want_status {
                    let mut off = 0u64;
                    for &(s, e) in &REGIONS {
                        if gpa >= s && gpa + 8 <= e {
                            let o = (off + gpa - s) as usize;
                            expected[o..o + 8].copy_from_slice(&status.to_le_bytes());
                        }
                        off += e - s;
                    }
                }
                prop_assert!(after == expected, "memory changed beyond the status header");
            }
        }
    }
}
