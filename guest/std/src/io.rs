//! Standard input, shaped like `std::io::Stdin`.
//!
//! Input is the host's standard input (what `vessel run` reads), fetched
//! through vessel-rt's console: a reading thread waits while the other
//! threads run (the host raises an interrupt when input arrives), and the
//! CPU halts if none is left. Reads are buffered in one buffer for the
//! whole program, as std's `Stdin` is: bytes one call fetched and did not
//! return stay for the next, whoever makes it.

use crate::sync::Mutex;
use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// The result of an input operation.
pub type Result<T> = core::result::Result<T, Error>;

/// Why an input operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// A line or text read as a `String` is not UTF-8 (its bytes were
    /// consumed, as std does).
    InvalidData,
}

/// An input error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
}

impl Error {
    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            ErrorKind::InvalidData => f.write_str("stream did not contain valid UTF-8"),
        }
    }
}

impl core::error::Error for Error {}

/// Bytes fetched from the console and not yet returned, shared by every
/// [`Stdin`] handle.
static BUFFERED: Mutex<VecDeque<u8>> = Mutex::new(VecDeque::new());

/// Bytes asked of the console at a time.
const CHUNK: usize = 4096;

/// A handle to the program's standard input (see [`stdin`]).
#[derive(Debug)]
pub struct Stdin {
    _private: (),
}

/// The program's standard input.
pub fn stdin() -> Stdin {
    Stdin { _private: () }
}

impl Stdin {
    /// Reads at most `buf.len()` bytes: what is buffered, else what the
    /// console gives next (waiting for it). 0 at end of input (or for an
    /// empty `buf`).
    pub fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let mut buffered = lock();
        if buffered.is_empty() {
            return Ok(vessel_rt::console::read(buf));
        }
        let n = buf.len().min(buffered.len());
        for (slot, byte) in buf.iter_mut().zip(buffered.drain(..n)) {
            *slot = byte;
        }
        Ok(n)
    }

    /// Appends the next line, its `\n` included, to `line`; the byte count
    /// read, 0 at end of input. The last line may lack its `\n`. A line
    /// that is not UTF-8 is [`ErrorKind::InvalidData`] (and consumed).
    pub fn read_line(&mut self, line: &mut String) -> Result<usize> {
        let mut bytes = Vec::new();
        let mut buffered = lock();
        loop {
            if let Some(end) = buffered.iter().position(|&b| b == b'\n') {
                bytes.extend(buffered.drain(..=end));
                break;
            }
            bytes.extend(buffered.drain(..));
            if !fill(&mut buffered) {
                break;
            }
        }
        drop(buffered);
        let text = String::from_utf8(bytes).map_err(|_| Error {
            kind: ErrorKind::InvalidData,
        })?;
        line.push_str(&text);
        Ok(text.len())
    }

    /// Reads everything up to the end of input and appends it to `buf`;
    /// the byte count.
    pub fn read_to_end(&mut self, buf: &mut Vec<u8>) -> Result<usize> {
        let before = buf.len();
        let mut buffered = lock();
        loop {
            buf.extend(buffered.drain(..));
            if !fill(&mut buffered) {
                return Ok(buf.len() - before);
            }
        }
    }

    /// Reads everything up to the end of input as text, appended to
    /// `text`; [`ErrorKind::InvalidData`] (nothing appended) if it is not
    /// UTF-8.
    pub fn read_to_string(&mut self, text: &mut String) -> Result<usize> {
        let mut bytes = Vec::new();
        self.read_to_end(&mut bytes)?;
        let read = String::from_utf8(bytes).map_err(|_| Error {
            kind: ErrorKind::InvalidData,
        })?;
        text.push_str(&read);
        Ok(read.len())
    }

    /// The lines of the input, without their `\n` (or `\r\n`).
    pub fn lines(self) -> Lines {
        Lines { stdin: self }
    }
}

/// The lines of standard input ([`Stdin::lines`]).
#[derive(Debug)]
pub struct Lines {
    stdin: Stdin,
}

impl Iterator for Lines {
    type Item = Result<String>;

    fn next(&mut self) -> Option<Result<String>> {
        let mut line = String::new();
        match self.stdin.read_line(&mut line) {
            Ok(0) => None,
            Ok(_) => {
                if line.ends_with('\n') {
                    line.pop();
                    if line.ends_with('\r') {
                        line.pop();
                    }
                }
                Some(Ok(line))
            }
            Err(e) => Some(Err(e)),
        }
    }
}

fn lock() -> crate::sync::MutexGuard<'static, VecDeque<u8>> {
    BUFFERED.lock().unwrap_or_else(|e| e.into_inner())
}

/// Fetches the next chunk from the console into `buffered`; `false` at end
/// of input.
fn fill(buffered: &mut VecDeque<u8>) -> bool {
    let mut chunk = [0u8; CHUNK];
    let n = vessel_rt::console::read(&mut chunk);
    buffered.extend(&chunk[..n]);
    n > 0
}
