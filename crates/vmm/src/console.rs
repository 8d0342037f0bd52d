//! Where guest console output goes.

use std::io::{self, Write};

use vessel_abi::hypercall::Stream;

/// Receives the bytes of `ConsoleWrite` hypercalls. A write error makes the
/// hypercall fail with `HostError`.
pub trait ConsoleSink {
    /// Writes all of `bytes` to `stream`. A large guest write may arrive in
    /// several consecutive calls.
    fn write(&mut self, stream: Stream, bytes: &[u8]) -> io::Result<()>;

    /// Reads guest input (the host's standard input) into `buf`; 0 at end
    /// of input. Sinks that have no input report end of input.
    fn read(&mut self, _buf: &mut [u8]) -> io::Result<usize> {
        Ok(0)
    }
}

/// The default sink: the host process's stdout and stderr, unbuffered (each
/// call is written and flushed before the guest continues).
#[derive(Clone, Copy, Debug, Default)]
pub struct StdConsole;

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

    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        io::Read::read(&mut io::stdin().lock(), buf)
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

    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.stdin.len());
        for (slot, byte) in buf.iter_mut().zip(self.stdin.drain(..n)) {
            *slot = byte;
        }
        Ok(n)
    }
}
