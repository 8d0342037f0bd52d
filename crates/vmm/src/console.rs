//! Where guest console output goes, and where its input comes from.

use std::io::{self, Write};

use vessel_abi::hypercall::Stream;

use crate::input::{InputPump, InputWaker};

/// Receives the bytes of `ConsoleWrite` hypercalls. A write error makes the
/// hypercall fail with `HostError`.
pub trait ConsoleSink {
    /// Writes all of `bytes` to `stream`. A large guest write may arrive in
    /// several consecutive calls.
    fn write(&mut self, stream: Stream, bytes: &[u8]) -> io::Result<()>;

    /// Reads guest input into `buf` without waiting: the byte count, 0 at
    /// end of input. If none is ready yet, fails with
    /// [`io::ErrorKind::WouldBlock`] and calls `waker` once some is (the
    /// guest runs on meanwhile; see [`crate::input`]). Sinks that have no
    /// input report end of input.
    fn read(&mut self, _buf: &mut [u8], _waker: &InputWaker) -> io::Result<usize> {
        Ok(0)
    }
}

/// The default sink: the host process's stdout and stderr, unbuffered (each
/// call is written and flushed before the guest continues), and its
/// standard input, read by an [`InputPump`] (whose thread starts with the
/// console, so before the vCPU thread is confined, and touches stdin only
/// once the guest first reads).
#[derive(Debug)]
pub struct StdConsole {
    input: io::Result<InputPump>,
}

impl StdConsole {
    /// The host's standard streams.
    pub fn new() -> Self {
        Self {
            input: InputPump::spawn(io::stdin()),
        }
    }
}

impl Default for StdConsole {
    fn default() -> Self {
        Self::new()
    }
}

impl ConsoleSink for StdConsole {
    fn write(&mut self, stream: Stream, bytes: &[u8]) -> io::Result<()> {
        match stream {
            Stream::Stdout => {
                let mut out = io::stdout().lock();
                out.write_all(bytes)?;
                out.flush()
            }
            Stream::Stderr => io::stderr().lock().write_all(bytes),
        }
    }

    fn read(&mut self, buf: &mut [u8], waker: &InputWaker) -> io::Result<usize> {
        match &self.input {
            Ok(pump) => pump.try_read(buf, waker),
            // No thread for the pump: the error, every time.
            Err(e) => Err(io::Error::new(e.kind(), e.to_string())),
        }
    }
}

/// A sink that keeps everything in memory (for tests and embedders).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CaptureConsole {
    /// Bytes written to stdout.
    pub stdout: Vec<u8>,
    /// Bytes written to stderr.
    pub stderr: Vec<u8>,
    /// Input the guest reads, front first.
    pub stdin: std::collections::VecDeque<u8>,
}

impl ConsoleSink for CaptureConsole {
    fn write(&mut self, stream: Stream, bytes: &[u8]) -> io::Result<()> {
        match stream {
            Stream::Stdout => self.stdout.extend_from_slice(bytes),
            Stream::Stderr => self.stderr.extend_from_slice(bytes),
        }
        Ok(())
    }

    /// All of the input is there from the start: never `WouldBlock`.
    fn read(&mut self, buf: &mut [u8], _waker: &InputWaker) -> io::Result<usize> {
        let n = buf.len().min(self.stdin.len());
        for (slot, byte) in buf.iter_mut().zip(self.stdin.drain(..n)) {
            *slot = byte;
        }
        Ok(n)
    }
}
