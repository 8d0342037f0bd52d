//! Open files and file descriptors: the console streams, pipes, devices
//! and the files of the file system ([`Node`]).
//!
//! An open file description ([`File`]) is shared, through `Arc`, by every
//! descriptor that refers to it (after `dup` or `fork`); a pipe end counts
//! as open until the last of them is closed, which is what lets a reader
//! see end of file once every writer is gone.

use crate::fs::Start;
use crate::procfs::ProcFile;
use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};
use vessel_linux::Errno;
use vessel_linux::vfs::{FileType, Ino, Timespec, Vfs};
use vessel_std::sync::{Condvar, Mutex, MutexGuard};
use vessel_std::time::{SystemTime, UNIX_EPOCH};

/// The file system all processes share: one tree (vessel-linux's tmpfs)
/// behind one lock.
pub struct FileSystem {
    vfs: Mutex<Vfs>,
}

impl FileSystem {
    /// A file system holding `vfs`.
    pub fn new(vfs: Vfs) -> Arc<Self> {
        Arc::new(Self {
            vfs: Mutex::new(vfs),
        })
    }

    /// The tree, locked.
    pub fn lock(&self) -> MutexGuard<'_, Vfs> {
        self.vfs.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The wall-clock time, for file timestamps.
pub fn now() -> Timespec {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Timespec {
        secs: since.as_secs() as i64,
        nanos: since.subsec_nanos(),
    }
}

/// A file of the file system open in a process: a regular file, a
/// directory or (with `O_PATH`) anything. Holds a reference that keeps an
/// unlinked file's data alive until the last close.
pub struct Node {
    fs: Arc<FileSystem>,
    /// The file.
    pub ino: Ino,
    /// Its type (a file never changes type).
    pub file_type: FileType,
    /// The file offset; for a directory, the index of the next entry.
    position: Mutex<u64>,
    /// Opened for reading.
    pub readable: bool,
    /// Opened for writing.
    pub writable: bool,
    /// `O_APPEND`: every write goes to the end.
    pub append: bool,
}

impl Node {
    /// Opens `ino`, taking a reference on it.
    pub fn open(
        fs: &Arc<FileSystem>,
        ino: Ino,
        readable: bool,
        writable: bool,
        append: bool,
    ) -> Result<Self, Errno> {
        let file_type = {
            let mut vfs = fs.lock();
            let file_type = vfs.stat(ino)?.file_type;
            vfs.retain(ino);
            file_type
        };
        Ok(Self {
            fs: fs.clone(),
            ino,
            file_type,
            position: Mutex::new(0),
            readable,
            writable,
            append,
        })
    }

    /// The file system the node lives in.
    pub fn fs(&self) -> &Arc<FileSystem> {
        &self.fs
    }

    /// The offset (a directory's next entry index), locked: reads and
    /// writes through one open file description are serialised, as Linux
    /// does for regular files.
    pub fn position(&self) -> MutexGuard<'_, u64> {
        self.position.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reads at most `max` bytes at `offset`.
    pub fn read_at(&self, offset: u64, max: usize) -> Result<Vec<u8>, Errno> {
        if !self.readable {
            return Err(Errno::EBADF);
        }
        if self.file_type == FileType::Directory {
            return Err(Errno::EISDIR);
        }
        self.fs.lock().read(self.ino, offset, max, now())
    }

    /// Writes `data` at `offset`.
    pub fn write_at(&self, offset: u64, data: &[u8]) -> Result<usize, Errno> {
        if !self.writable {
            return Err(Errno::EBADF);
        }
        self.fs.lock().write(self.ino, offset, data, now())
    }

    fn read(&self, max: usize) -> Result<Vec<u8>, Errno> {
        let mut position = self.position();
        let bytes = self.read_at(*position, max)?;
        *position += bytes.len() as u64;
        Ok(bytes)
    }

    fn write(&self, data: &[u8]) -> Result<usize, Errno> {
        let mut position = self.position();
        if self.append && self.writable {
            *position = self.fs.lock().stat(self.ino)?.size;
        }
        let written = self.write_at(*position, data)?;
        *position += written as u64;
        Ok(written)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.fs.lock().release(self.ino);
    }
}

/// A process's working directory: a reference on a directory of the tree
/// (a removed one stays usable as a starting point, where lookups fail).
pub struct WorkingDir {
    fs: Arc<FileSystem>,
    dir: Start,
}

impl WorkingDir {
    /// `dir` (a directory of the tree or of `/proc`) as a working
    /// directory; in `/proc`, the mount point is what is kept alive.
    pub fn new(fs: &Arc<FileSystem>, dir: Start) -> Self {
        fs.lock().retain(dir.tree_ino());
        Self {
            fs: fs.clone(),
            dir,
        }
    }

    /// The directory.
    pub fn start(&self) -> Start {
        self.dir
    }
}

impl Clone for WorkingDir {
    fn clone(&self) -> Self {
        Self::new(&self.fs, self.dir)
    }
}

impl Drop for WorkingDir {
    fn drop(&mut self) {
        self.fs.lock().release(self.dir.tree_ino());
    }
}

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
    /// Its number (`pipe:[N]` in `/proc/PID/fd`).
    id: u64,
}

impl Pipe {
    fn state(&self) -> MutexGuard<'_, PipeState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for the pipe to change; `ERESTART` if a signal interrupts
    /// the wait (or had, before it began).
    fn wait<'a>(
        &self,
        state: MutexGuard<'a, PipeState>,
    ) -> Result<MutexGuard<'a, PipeState>, Errno> {
        if crate::signal::pending() {
            return Err(Errno::ERESTART);
        }
        Ok(self
            .changed
            .wait_interruptible(state)
            .unwrap_or_else(|e| e.into_inner()))
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
            state = self.wait(state)?;
        }
        let n = max.min(state.bytes.len());
        // Copied slice by slice (a byte-by-byte drain costs several
        // instructions a byte, which an emulating KVM makes microseconds).
        let (front, back) = state.bytes.as_slices();
        let from_front = n.min(front.len());
        let mut out = Vec::with_capacity(n);
        out.extend_from_slice(&front[..from_front]);
        out.extend_from_slice(&back[..n - from_front]);
        state.bytes.drain(..n);
        drop(state);
        self.changed.notify_all();
        crate::poll::changed();
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
                state = match self.wait(state) {
                    Ok(state) => state,
                    // Interrupted: what was written counts.
                    Err(e) if written == 0 => return Err(e),
                    Err(_) => return Ok(written),
                };
                continue;
            }
            let n = room.min(data.len() - written);
            state.bytes.extend(&data[written..written + n]);
            written += n;
            self.changed.notify_all();
            crate::poll::changed();
        }
        Ok(written)
    }

    /// The `poll` events of one end, as Linux's `pipe_poll` reports them:
    /// the read end is readable with data, hung up with no writer left;
    /// the write end writable with room for an atomic write, in error
    /// with no reader left.
    fn poll(&self, write_end: bool) -> u16 {
        use crate::poll::{POLLERR, POLLHUP, POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM};
        let state = self.state();
        if write_end {
            let room = PIPE_CAPACITY - state.bytes.len() >= PIPE_BUF;
            let writable = if room { POLLOUT | POLLWRNORM } else { 0 };
            writable | if state.readers == 0 { POLLERR } else { 0 }
        } else {
            let readable = if state.bytes.is_empty() {
                0
            } else {
                POLLIN | POLLRDNORM
            };
            readable | if state.writers == 0 { POLLHUP } else { 0 }
        }
    }
}

/// One end of a pipe, as an open file description.
pub struct PipeEnd {
    pipe: Arc<Pipe>,
    write: bool,
    nonblocking: bool,
}

impl PipeEnd {
    /// The pipe's number.
    pub fn id(&self) -> u64 {
        self.pipe.id
    }
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
        crate::poll::changed();
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
    /// A character device (a device node of the file system).
    Device(Device),
    /// A file of the file system.
    Node(Node),
    /// A file or directory of `/proc`.
    Proc(ProcFile),
}

/// The character devices the kernel serves (their nodes are in `/dev`).
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
    /// `/dev/console`, `/dev/tty`: the console (input from the host's
    /// standard input, output to its standard output).
    Console,
}

impl Device {
    /// The device nodes the kernel makes in `/dev`: name, device number
    /// (as Linux numbers them) and permissions.
    pub const NODES: [(&'static str, u64, u32); 7] = [
        ("null", 0x103, 0o666),
        ("zero", 0x105, 0o666),
        ("full", 0x107, 0o666),
        ("random", 0x108, 0o666),
        ("urandom", 0x109, 0o666),
        ("tty", 0x500, 0o666),
        ("console", 0x501, 0o600),
    ];

    /// The device a node's device number names, if the kernel serves it.
    pub fn from_rdev(rdev: u64) -> Option<Device> {
        match rdev {
            0x103 => Some(Device::Null),
            0x105 => Some(Device::Zero),
            0x107 => Some(Device::Full),
            0x108 | 0x109 => Some(Device::Random),
            0x500 | 0x501 => Some(Device::Console),
            _ => None,
        }
    }

    /// Its name in `/dev`.
    pub fn name(self) -> &'static str {
        let rdev = self.rdev();
        Self::NODES
            .iter()
            .find(|(_, r, _)| *r == rdev)
            .map_or("console", |(name, _, _)| name)
    }

    /// `st_rdev` of the device.
    fn rdev(self) -> u64 {
        match self {
            Device::Null => 0x103,
            Device::Zero => 0x105,
            Device::Full => 0x107,
            Device::Random => 0x109,
            Device::Console => 0x501,
        }
    }
}

impl File {
    /// Reads at most `max` bytes.
    pub fn read(&self, max: usize) -> Result<Vec<u8>, Errno> {
        match self {
            File::Stdin => crate::tty::read(max),
            File::Pipe(end) if !end.write => end.pipe.read(max, end.nonblocking),
            File::Device(Device::Null) => Ok(Vec::new()),
            File::Device(Device::Zero | Device::Full) => Ok(alloc::vec![0u8; max]),
            File::Device(Device::Random) => {
                let mut bytes = alloc::vec![0u8; max];
                crate::random::fill(&mut bytes);
                Ok(bytes)
            }
            File::Device(Device::Console) => File::Stdin.read(max),
            File::Node(node) => node.read(max),
            File::Proc(proc) => proc.read(max),
            _ => Err(Errno::EBADF),
        }
    }

    /// Writes `data`; returns how much was written.
    pub fn write(&self, data: &[u8]) -> Result<usize, Errno> {
        use vessel_rt::console::Stream;
        match self {
            File::Stdout | File::Stderr => {
                let stream = if matches!(self, File::Stdout) {
                    Stream::Stdout
                } else {
                    Stream::Stderr
                };
                crate::tty::write(stream, data);
                Ok(data.len())
            }
            File::Pipe(end) if end.write => end.pipe.write(data, end.nonblocking),
            File::Device(Device::Full) => Err(Errno::ENOSPC),
            File::Device(Device::Console) => File::Stdout.write(data),
            File::Device(_) => Ok(data.len()),
            File::Node(node) => node.write(data),
            File::Proc(proc) => proc.write(data),
            _ => Err(Errno::EBADF),
        }
    }

    /// Whether this is the console (whose ioctls are the terminal's).
    pub fn is_console(&self) -> bool {
        matches!(
            self,
            File::Stdin | File::Stdout | File::Stderr | File::Device(Device::Console)
        )
    }

    /// The `poll` events the file has now (`POLLIN`: a read would not
    /// wait, `POLLOUT`: a write would not, and the hang-up and error
    /// conditions). Files and devices are always ready; console input when
    /// some has arrived (or it ended).
    pub fn poll(&self) -> u16 {
        use crate::poll::{POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM};
        const IN: u16 = POLLIN | POLLRDNORM;
        const OUT: u16 = POLLOUT | POLLWRNORM;
        match self {
            File::Pipe(end) => end.pipe.poll(end.write),
            File::Device(Device::Console) => OUT | File::Stdin.poll(),
            File::Device(_) | File::Node(_) | File::Proc(_) => IN | OUT,
            File::Stdin if crate::tty::readable() => IN,
            File::Stdin => 0,
            File::Stdout | File::Stderr => OUT,
        }
    }

    /// The file type bits of `st_mode`.
    pub fn mode(&self) -> u32 {
        const S_IFCHR: u32 = 0o020_000;
        const S_IFIFO: u32 = 0o010_000;
        const S_IFREG: u32 = 0o100_000;
        const S_IFDIR: u32 = 0o040_000;
        const S_IFLNK: u32 = 0o120_000;
        match self {
            File::Pipe(_) => S_IFIFO | 0o600,
            File::Node(node) => match node.file_type {
                FileType::Regular => S_IFREG,
                FileType::Directory => S_IFDIR,
                FileType::Symlink => S_IFLNK,
                FileType::CharDevice => S_IFCHR,
                FileType::Fifo => S_IFIFO,
            },
            File::Proc(proc) => proc.node.file_type().mode_bits(),
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
            File::Node(node) => {
                const O_APPEND: usize = 0o2000;
                let access = match (node.readable, node.writable) {
                    (true, true) => 2,
                    (false, true) => O_WRONLY,
                    _ => 0,
                };
                access | if node.append { O_APPEND } else { 0 }
            }
            File::Proc(proc) => match proc.access() {
                (true, true) => 2,
                (false, true) => O_WRONLY,
                _ => 0,
            },
        }
    }

    /// `st_rdev`: the device number of a console stream or device file.
    pub fn rdev(&self) -> u64 {
        match self {
            File::Pipe(_) | File::Node(_) | File::Proc(_) => 0,
            File::Device(device) => device.rdev(),
            File::Stdin | File::Stdout | File::Stderr => 0x0501, // /dev/console
        }
    }
}

/// Makes a pipe: its read end and its write end.
pub fn pipe(nonblocking: bool) -> (File, File) {
    static NEXT_ID: AtomicU64 = AtomicU64::new(1);
    let pipe = Arc::new(Pipe {
        state: Mutex::new(PipeState {
            bytes: VecDeque::new(),
            readers: 1,
            writers: 1,
        }),
        changed: Condvar::new(),
        id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
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

    /// The open descriptors, in order.
    pub fn open_fds(&self) -> Vec<usize> {
        let open = self.slots.iter().enumerate().filter(|(_, s)| s.is_some());
        open.map(|(fd, _)| fd).collect()
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
