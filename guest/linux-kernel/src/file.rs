//! Open files and file descriptors: the console streams and pipes.
//!
//! An open file description ([`File`]) is shared, through `Arc`, by every
//! descriptor that refers to it (after `dup` or `fork`); a pipe end counts
//! as open until the last of them is closed, which is what lets a reader
//! see end of file once every writer is gone.

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec::Vec;
use vessel_linux::Errno;
use vessel_std::sync::{Condvar, Mutex, MutexGuard};

/// Bytes a pipe holds before writers wait (Linux's default, 64 KiB).
pub const PIPE_CAPACITY: usize = 64 * 1024;
/// Writes of at most this many bytes are atomic (`PIPE_BUF`).
pub const PIPE_BUF: usize = 4096;
/// Most descriptors a process may have open.
pub const MAX_FDS: usize = 1024;

struct PipeState {
    bytes: VecDeque<u8>,
    readers: usize,
    writers: usize,
}

/// A pipe: a bounded byte queue between writers and readers.
pub struct Pipe {
    state: Mutex<PipeState>,
    changed: Condvar,
}

impl Pipe {
    fn state(&self) -> MutexGuard<'_, PipeState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn wait<'a>(&self, state: MutexGuard<'a, PipeState>) -> MutexGuard<'a, PipeState> {
        self.changed.wait(state).unwrap_or_else(|e| e.into_inner())
    }

    /// Reads at most `max` bytes; waits for data unless `nonblocking`; an
    /// empty result means end of file (no writer left).
    fn read(&self, max: usize, nonblocking: bool) -> Result<Vec<u8>, Errno> {
        let mut state = self.state();
        while state.bytes.is_empty() {
            if state.writers == 0 {
                return Ok(Vec::new());
            }
            if nonblocking {
                return Err(Errno::EAGAIN);
            }
            state = self.wait(state);
        }
        let n = max.min(state.bytes.len());
        let out: Vec<u8> = state.bytes.drain(..n).collect();
        drop(state);
        self.changed.notify_all();
        Ok(out)
    }

    /// Writes `data`, waiting for room; small writes are never interleaved
    /// with others. `EPIPE` when no reader is left.
    fn write(&self, data: &[u8], nonblocking: bool) -> Result<usize, Errno> {
        let mut written = 0;
        let mut state = self.state();
        while written < data.len() {
            if state.readers == 0 {
                return if written > 0 {
                    Ok(written)
                } else {
                    Err(Errno::EPIPE)
                };
            }
            let room = PIPE_CAPACITY - state.bytes.len();
            let atomic = data.len() <= PIPE_BUF;
            let needed = if atomic { data.len() } else { 1 };
            if room < needed {
                if nonblocking {
                    return if written > 0 {
                        Ok(written)
                    } else {
                        Err(Errno::EAGAIN)
                    };
                }
                state = self.wait(state);
                continue;
            }
            let n = room.min(data.len() - written);
            state.bytes.extend(&data[written..written + n]);
            written += n;
            self.changed.notify_all();
        }
        Ok(written)
    }

    /// Whether a read would not wait.
    fn readable(&self) -> bool {
        let state = self.state();
        !state.bytes.is_empty() || state.writers == 0
    }

    /// Whether a write would not wait.
    fn writable(&self) -> bool {
        let state = self.state();
        state.readers == 0 || state.bytes.len() < PIPE_CAPACITY
    }
}

/// One end of a pipe, as an open file description.
pub struct PipeEnd {
    pipe: Arc<Pipe>,
    write: bool,
    nonblocking: bool,
}

impl Drop for PipeEnd {
    fn drop(&mut self) {
        let mut state = self.pipe.state();
        if self.write {
            state.writers -= 1;
        } else {
            state.readers -= 1;
        }
        drop(state);
        self.pipe.changed.notify_all();
    }
}

/// An open file description.
pub enum File {
    /// The console input (the host's standard input).
    Stdin,
    /// The console output.
    Stdout,
    /// The console error output.
    Stderr,
    /// One end of a pipe.
    Pipe(PipeEnd),
    /// A device file under `/dev`.
    Device(Device),
}

/// The character devices of `/dev` (no file system yet: these are found
/// by path directly).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Device {
    /// `/dev/null`: reads end at once, writes vanish.
    Null,
    /// `/dev/zero`: reads give zeros, writes vanish.
    Zero,
    /// `/dev/full`: reads give zeros, writes fail with `ENOSPC`.
    Full,
    /// `/dev/random`, `/dev/urandom`: reads give random bytes.
    Random,
}

impl Device {
    /// The device at `path`, if it is one of these.
    pub fn at(path: &str) -> Option<Device> {
        match path {
            "/dev/null" => Some(Device::Null),
            "/dev/zero" => Some(Device::Zero),
            "/dev/full" => Some(Device::Full),
            "/dev/random" | "/dev/urandom" => Some(Device::Random),
            _ => None,
        }
    }

    /// `st_rdev` (major, minor as Linux numbers them).
    fn rdev(self) -> u64 {
        let (major, minor) = match self {
            Device::Null => (1, 3),
            Device::Zero => (1, 5),
            Device::Full => (1, 7),
            Device::Random => (1, 9),
        };
        (major << 8) | minor
    }
}

impl File {
    /// Reads at most `max` bytes.
    pub fn read(&self, max: usize) -> Result<Vec<u8>, Errno> {
        match self {
            File::Stdin => {
                let mut bytes = alloc::vec![0u8; max.min(4096)];
                let n = vessel_rt::console::read(&mut bytes);
                bytes.truncate(n);
                Ok(bytes)
            }
            File::Pipe(end) if !end.write => end.pipe.read(max, end.nonblocking),
            File::Device(Device::Null) => Ok(Vec::new()),
            File::Device(Device::Zero | Device::Full) => Ok(alloc::vec![0u8; max]),
            File::Device(Device::Random) => {
                let mut bytes = alloc::vec![0u8; max];
                crate::random::fill(&mut bytes);
                Ok(bytes)
            }
            _ => Err(Errno::EBADF),
        }
    }

    /// Writes `data`; returns how much was written.
    pub fn write(&self, data: &[u8]) -> Result<usize, Errno> {
        use vessel_rt::console::{self, Stream};
        match self {
            File::Stdout => {
                console::write_bytes(Stream::Stdout, data);
                Ok(data.len())
            }
            File::Stderr => {
                console::write_bytes(Stream::Stderr, data);
                Ok(data.len())
            }
            File::Pipe(end) if end.write => end.pipe.write(data, end.nonblocking),
            File::Device(Device::Full) => Err(Errno::ENOSPC),
            File::Device(_) => Ok(data.len()),
            _ => Err(Errno::EBADF),
        }
    }

    /// Whether `read` (or, if `write`, `write`) would not wait.
    pub fn ready(&self, write: bool) -> bool {
        match self {
            File::Pipe(end) if write == end.write => {
                if write {
                    end.pipe.writable()
                } else {
                    end.pipe.readable()
                }
            }
            File::Pipe(_) => false,
            File::Device(_) => true,
            File::Stdin => !write,
            File::Stdout | File::Stderr => write,
        }
    }

    /// The file type bits of `st_mode`.
    pub fn mode(&self) -> u32 {
        const S_IFCHR: u32 = 0o020_000;
        const S_IFIFO: u32 = 0o010_000;
        match self {
            File::Pipe(_) => S_IFIFO | 0o600,
            _ => S_IFCHR | 0o620,
        }
    }

    /// The `O_*` access mode and status flags (`F_GETFL`).
    pub fn status_flags(&self) -> usize {
        const O_WRONLY: usize = 1;
        const O_NONBLOCK: usize = 0o4000;
        match self {
            File::Stdin => 0,
            File::Stdout | File::Stderr => O_WRONLY,
            File::Pipe(end) => {
                usize::from(end.write) | if end.nonblocking { O_NONBLOCK } else { 0 }
            }
            File::Device(_) => 2, // O_RDWR
        }
    }

    /// `st_rdev`: the device number of a console stream or device file.
    pub fn rdev(&self) -> u64 {
        match self {
            File::Pipe(_) => 0,
            File::Device(device) => device.rdev(),
            File::Stdin | File::Stdout | File::Stderr => 0x0501, // /dev/console
        }
    }
}

/// Makes a pipe: its read end and its write end.
pub fn pipe(nonblocking: bool) -> (File, File) {
    let pipe = Arc::new(Pipe {
        state: Mutex::new(PipeState {
            bytes: VecDeque::new(),
            readers: 1,
            writers: 1,
        }),
        changed: Condvar::new(),
    });
    let end = |write| {
        File::Pipe(PipeEnd {
            pipe: pipe.clone(),
            write,
            nonblocking,
        })
    };
    (end(false), end(true))
}

/// A descriptor's entry: the open file and its close-on-exec flag.
#[derive(Clone)]
struct Slot {
    file: Arc<File>,
    cloexec: bool,
}

/// A process's file descriptors.
#[derive(Clone)]
pub struct FdTable {
    slots: Vec<Option<Slot>>,
}

impl FdTable {
    /// Descriptors 0, 1 and 2 on the console.
    pub fn console() -> Self {
        let slot = |file| {
            Some(Slot {
                file: Arc::new(file),
                cloexec: false,
            })
        };
        Self {
            slots: alloc::vec![slot(File::Stdin), slot(File::Stdout), slot(File::Stderr)],
        }
    }

    /// The open file behind `fd`.
    pub fn get(&self, fd: u64) -> Result<Arc<File>, Errno> {
        let slot = self
            .slots
            .get(fd as usize)
            .and_then(Option::as_ref)
            .ok_or(Errno::EBADF)?;
        Ok(slot.file.clone())
    }

    /// Installs `file` at the lowest free descriptor at or above `min`.
    pub fn add(&mut self, file: Arc<File>, cloexec: bool, min: usize) -> Result<usize, Errno> {
        let free = (min..MAX_FDS).find(|&fd| self.slots.get(fd).is_none_or(Option::is_none));
        let fd = free.ok_or(Errno::EMFILE)?;
        if fd >= self.slots.len() {
            self.slots.resize(fd + 1, None);
        }
        self.slots[fd] = Some(Slot { file, cloexec });
        Ok(fd)
    }

    /// Makes `new` refer to what `old` refers to (closing `new` first).
    pub fn dup_to(&mut self, old: u64, new: u64, cloexec: bool) -> Result<usize, Errno> {
        let file = self.get(old)?;
        let new = new as usize;
        if new >= MAX_FDS {
            return Err(Errno::EBADF);
        }
        if new >= self.slots.len() {
            self.slots.resize(new + 1, None);
        }
        self.slots[new] = Some(Slot { file, cloexec });
        Ok(new)
    }

    /// Closes `fd`.
    pub fn close(&mut self, fd: u64) -> Result<(), Errno> {
        let slot = self.slots.get_mut(fd as usize).ok_or(Errno::EBADF)?;
        slot.take().map(drop).ok_or(Errno::EBADF)
    }

    /// The close-on-exec flag of `fd`.
    pub fn cloexec(&self, fd: u64) -> Result<bool, Errno> {
        let slot = self
            .slots
            .get(fd as usize)
            .and_then(Option::as_ref)
            .ok_or(Errno::EBADF)?;
        Ok(slot.cloexec)
    }

    /// Sets the close-on-exec flag of `fd`.
    pub fn set_cloexec(&mut self, fd: u64, cloexec: bool) -> Result<(), Errno> {
        let slot = self
            .slots
            .get_mut(fd as usize)
            .and_then(Option::as_mut)
            .ok_or(Errno::EBADF)?;
        slot.cloexec = cloexec;
        Ok(())
    }

    /// Closes every close-on-exec descriptor (`execve`).
    pub fn close_on_exec(&mut self) {
        for slot in &mut self.slots {
            if slot.as_ref().is_some_and(|s| s.cloexec) {
                *slot = None;
            }
        }
    }
}
