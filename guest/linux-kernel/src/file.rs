//! Open files and file descriptors: the console streams, pipes, devices
//! and the files of the file system ([`Node`]).
//!
//! An open file description ([`OpenFile`]: what is open, a [`File`], and
//! its status flags) is shared, through `Arc`, by every descriptor that
//! refers to it (after `dup` or `fork`); a pipe end counts as open until
//! the last of them is closed, which is what lets a reader see end of file
//! once every writer is gone. A named pipe (FIFO) of the file system is a
//! [`Pipe`] shared by everyone who has it open ([`FileSystem::fifo`]).

use crate::fs::Start;
use crate::procfs::ProcFile;
use alloc::collections::{BTreeMap, VecDeque};
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::ops::Deref;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use vessel_linux::Errno;
use vessel_linux::open_flags::{
    self, O_APPEND, O_NOATIME, O_NONBLOCK, O_RDONLY, O_WRONLY, Supports,
};
use vessel_linux::vfs::{FileType, Ino, Timespec, Vfs};
use vessel_std::sync::{Condvar, Mutex, MutexGuard};
use vessel_std::time::{SystemTime, UNIX_EPOCH};

/// The file system all processes share: one tree (vessel-linux's tmpfs)
/// behind one lock, and the pipes of its FIFOs.
pub struct FileSystem {
    vfs: Mutex<Vfs>,
    /// The pipe of each FIFO someone has open.
    fifos: Mutex<BTreeMap<Ino, Weak<Pipe>>>,
}

impl FileSystem {
    /// A file system holding `vfs`.
    pub fn new(vfs: Vfs) -> Arc<Self> {
        Arc::new(Self {
            vfs: Mutex::new(vfs),
            fifos: Mutex::new(BTreeMap::new()),
        })
    }

    /// The tree, locked.
    pub fn lock(&self) -> MutexGuard<'_, Vfs> {
        self.vfs.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn fifos(&self) -> MutexGuard<'_, BTreeMap<Ino, Weak<Pipe>>> {
        self.fifos.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The pipe of FIFO `ino`: the one its openers share while any of
    /// them has it open, else a new, empty one (what the last one held
    /// went with its last close, as on Linux).
    pub fn fifo(self: &Arc<Self>, ino: Ino) -> Result<Arc<Pipe>, Errno> {
        let mut fifos = self.fifos();
        if let Some(pipe) = fifos.get(&ino).and_then(Weak::upgrade) {
            return Ok(pipe);
        }
        let pipe = Pipe::new(Some(Node::open(self, ino, false, false)?));
        fifos.insert(ino, Arc::downgrade(&pipe));
        Ok(pipe)
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
}

impl Node {
    /// Opens `ino`, taking a reference on it.
    pub fn open(
        fs: &Arc<FileSystem>,
        ino: Ino,
        readable: bool,
        writable: bool,
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

    /// Reads at most `max` bytes at `offset`; sets the access time unless
    /// `noatime` (`O_NOATIME`).
    pub fn read_at(&self, offset: u64, max: usize, noatime: bool) -> Result<Vec<u8>, Errno> {
        if !self.readable {
            return Err(Errno::EBADF);
        }
        if self.file_type == FileType::Directory {
            return Err(Errno::EISDIR);
        }
        if noatime {
            self.fs.lock().read_noatime(self.ino, offset, max)
        } else {
            self.fs.lock().read(self.ino, offset, max, now())
        }
    }

    /// Writes `data` at `offset`, or with `append` (`O_APPEND`, which
    /// Linux's `pwrite` honours too) at the end of the file.
    pub fn write_at(&self, offset: u64, data: &[u8], append: bool) -> Result<usize, Errno> {
        Ok(self.write_from(offset, data, append)?.1)
    }

    /// Writes as [`Node::write_at`]; returns where the write began and
    /// how much it wrote.
    fn write_from(&self, offset: u64, data: &[u8], append: bool) -> Result<(u64, usize), Errno> {
        if !self.writable {
            return Err(Errno::EBADF);
        }
        let mut vfs = self.fs.lock();
        let offset = if append {
            vfs.stat(self.ino)?.size
        } else {
            offset
        };
        Ok((offset, vfs.write(self.ino, offset, data, now())?))
    }

    fn read(&self, max: usize, noatime: bool) -> Result<Vec<u8>, Errno> {
        let mut position = self.position();
        let bytes = self.read_at(*position, max, noatime)?;
        *position += bytes.len() as u64;
        Ok(bytes)
    }

    fn write(&self, data: &[u8], append: bool) -> Result<usize, Errno> {
        let mut position = self.position();
        let (start, written) = self.write_from(*position, data, append)?;
        *position = start + written as u64;
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
    /// How many times the pipe was opened for reading (Linux's
    /// `r_counter`): a FIFO's writer waits for it to move.
    reads_opened: u64,
    /// How many times it was opened for writing (`w_counter`).
    writes_opened: u64,
}

impl PipeState {
    /// How many ends of the other kind than `read` are open, and how many
    /// times one was opened.
    fn partners(&self, read: bool) -> (usize, u64) {
        if read {
            (self.writers, self.writes_opened)
        } else {
            (self.readers, self.reads_opened)
        }
    }
}

/// A pipe: a bounded byte queue between writers and readers; anonymous
/// (`pipe`) or the pipe of a FIFO of the file system.
pub struct Pipe {
    state: Mutex<PipeState>,
    changed: Condvar,
    /// Its number (`pipe:[N]` in `/proc/PID/fd`).
    id: u64,
    /// The FIFO it is the pipe of, kept open while the pipe lives.
    fifo: Option<Node>,
}

impl Pipe {
    /// A pipe no one has open yet.
    fn new(fifo: Option<Node>) -> Arc<Pipe> {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        Arc::new(Pipe {
            state: Mutex::new(PipeState {
                bytes: VecDeque::new(),
                readers: 0,
                writers: 0,
                reads_opened: 0,
                writes_opened: 0,
            }),
            changed: Condvar::new(),
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            fifo,
        })
    }

    fn state(&self) -> MutexGuard<'_, PipeState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Wakes whoever waits for the pipe or polls it.
    fn notify(&self) {
        self.changed.notify_all();
        crate::poll::changed();
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

    /// Opens an end of the pipe for reading, writing or both, as Linux's
    /// `fifo_open` does. A FIFO opened for one of them waits until the
    /// other side has been opened too (`ERESTART` if a signal interrupts
    /// the wait), unless `nonblocking`: then a reader goes on alone and a
    /// writer with no reader fails with `ENXIO`. An anonymous pipe
    /// (reopened through `/proc/PID/fd`) never waits.
    pub fn open(
        self: &Arc<Self>,
        read: bool,
        write: bool,
        nonblocking: bool,
    ) -> Result<PipeEnd, Errno> {
        let state = self.state();
        let (partners, partner_opens) = state.partners(read);
        let alone = self.fifo.is_some() && read != write && partners == 0;
        if alone && write && nonblocking {
            return Err(Errno::ENXIO);
        }
        let writers_seen = if alone && nonblocking {
            partner_opens
        } else {
            0
        };
        let end = self.new_end(state, read, write, writers_seen);
        if alone && !nonblocking {
            let mut state = self.state();
            while state.partners(read).1 == partner_opens {
                // Interrupted, the end is dropped: it counts no more.
                state = self.wait(state)?;
            }
        }
        Ok(end)
    }

    /// A new end, counted in (`state` is the pipe's, locked).
    fn new_end(
        self: &Arc<Self>,
        mut state: MutexGuard<'_, PipeState>,
        read: bool,
        write: bool,
        writers_seen: u64,
    ) -> PipeEnd {
        if read {
            state.readers += 1;
            state.reads_opened += 1;
        }
        if write {
            state.writers += 1;
            state.writes_opened += 1;
        }
        drop(state);
        self.notify();
        PipeEnd {
            pipe: self.clone(),
            read,
            write,
            writers_seen,
        }
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
        self.notify();
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
            self.notify();
        }
        Ok(written)
    }

    /// The `poll` events of `end`, as Linux's `pipe_poll` reports them:
    /// for reading, readable with data, hung up with no writer left (once
    /// one came, for a FIFO opened without waiting for one); for writing,
    /// writable with room for an atomic write, in error with no reader
    /// left.
    fn poll(&self, end: &PipeEnd) -> u16 {
        use crate::poll::{POLLERR, POLLHUP, POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM};
        let state = self.state();
        let mut events = 0;
        if end.read {
            if !state.bytes.is_empty() {
                events |= POLLIN | POLLRDNORM;
            }
            if state.writers == 0 && state.writes_opened != end.writers_seen {
                events |= POLLHUP;
            }
        }
        if end.write {
            if PIPE_CAPACITY - state.bytes.len() >= PIPE_BUF {
                events |= POLLOUT | POLLWRNORM;
            }
            if state.readers == 0 {
                events |= POLLERR;
            }
        }
        events
    }
}

impl Drop for Pipe {
    fn drop(&mut self) {
        if let Some(fifo) = &self.fifo {
            // Forgotten unless a new opener has made the FIFO a new pipe.
            let mut fifos = fifo.fs.fifos();
            if fifos.get(&fifo.ino).is_some_and(|p| p.strong_count() == 0) {
                fifos.remove(&fifo.ino);
            }
        }
    }
}

/// One end of a pipe (for reading, writing or, a FIFO, both).
pub struct PipeEnd {
    pipe: Arc<Pipe>,
    read: bool,
    write: bool,
    /// How many writers a FIFO reader that did not wait for one had seen
    /// come (Linux's `f_pipe`): it reports no hang-up until another
    /// comes. 0 otherwise.
    writers_seen: u64,
}

impl PipeEnd {
    /// The pipe's number.
    pub fn id(&self) -> u64 {
        self.pipe.id
    }

    /// The pipe.
    pub fn pipe(&self) -> &Arc<Pipe> {
        &self.pipe
    }
}

impl Drop for PipeEnd {
    fn drop(&mut self) {
        let mut state = self.pipe.state();
        if self.read {
            state.readers -= 1;
        }
        if self.write {
            state.writers -= 1;
        }
        drop(state);
        self.pipe.notify();
    }
}

/// What an open file description has open.
pub enum File {
    /// The console input (the host's standard input).
    Stdin,
    /// The console output.
    Stdout,
    /// The console error output.
    Stderr,
    /// One end of a pipe or FIFO.
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
    /// The file of the tree this has open: a file or directory (or
    /// anything, with `O_PATH`), or the FIFO a pipe end belongs to.
    pub fn tree_node(&self) -> Option<&Node> {
        match self {
            File::Node(node) => Some(node),
            File::Pipe(end) => end.pipe.fifo.as_ref(),
            _ => None,
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
            File::Pipe(end) => end.pipe.poll(end),
            File::Device(Device::Console) => OUT | File::Stdin.poll(),
            File::Device(_) | File::Node(_) | File::Proc(_) => IN | OUT,
            File::Stdin if crate::tty::readable() => IN,
            File::Stdin => 0,
            File::Stdout | File::Stderr => OUT,
        }
    }

    /// `FIONREAD` on a file that is not the console: the bytes a pipe
    /// holds (either end, as Linux), or a regular file's size minus the
    /// offset (negative past the end, as Linux computes it); `None`
    /// (`ENOTTY`) for anything else.
    pub fn unread_bytes(&self) -> Result<Option<i64>, Errno> {
        Ok(match self {
            File::Pipe(end) => Some(end.pipe.state().bytes.len() as i64),
            File::Node(node) if node.file_type == FileType::Regular => {
                let size = node.fs().lock().stat(node.ino)?.size;
                Some(size as i64 - *node.position() as i64)
            }
            _ => None,
        })
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

    /// `st_rdev`: the device number of a console stream or device file.
    pub fn rdev(&self) -> u64 {
        match self {
            File::Pipe(_) | File::Node(_) | File::Proc(_) => 0,
            File::Device(device) => device.rdev(),
            File::Stdin | File::Stdout | File::Stderr => 0x0501, // /dev/console
        }
    }

    /// What the file supports of the status flags `F_SETFL` changes:
    /// direct I/O on regular files (a tmpfs takes it as buffered I/O; not
    /// the packet mode it means on pipes), `O_ASYNC` where Linux has a
    /// `fasync` operation (pipes, terminals, the random devices).
    pub fn supports(&self) -> Supports {
        Supports {
            direct: matches!(self, File::Node(node) if node.file_type == FileType::Regular),
            fasync: self.is_console()
                || matches!(self, File::Pipe(_) | File::Device(Device::Random)),
        }
    }
}

/// An open file description (Linux's `struct file`): what is open and its
/// access mode and status flags (`F_GETFL`, as `open` kept them and
/// `F_SETFL` changed them; [`vessel_linux::open_flags`]).
pub struct OpenFile {
    file: File,
    flags: AtomicU32,
}

impl Deref for OpenFile {
    type Target = File;

    fn deref(&self) -> &File {
        &self.file
    }
}

impl OpenFile {
    /// `file`, open with access mode and status flags `flags`.
    pub fn new(file: File, flags: u32) -> Arc<Self> {
        Arc::new(Self {
            file,
            flags: AtomicU32::new(flags),
        })
    }

    /// The access mode and status flags (`F_GETFL`).
    pub fn flags(&self) -> u32 {
        self.flags.load(Ordering::Relaxed)
    }

    /// Whether the status flag `flag` is set.
    pub fn has(&self, flag: u32) -> bool {
        self.flags() & flag != 0
    }

    /// Changes the flags with `change` (given the current ones and what
    /// the file supports), atomically; its error changes nothing.
    fn update(&self, change: impl Fn(u32, Supports) -> Result<u32, Errno>) -> Result<(), Errno> {
        let supports = self.file.supports();
        let mut current = self.flags();
        loop {
            let new = change(current, supports)?;
            match self
                .flags
                .compare_exchange(current, new, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return Ok(()),
                Err(now) => current = now,
            }
        }
    }

    /// `fcntl(F_SETFL)`: sets the changeable status flags to `requested`'s
    /// ([`open_flags::set_status`]).
    pub fn set_status(&self, requested: u64) -> Result<(), Errno> {
        self.update(|current, supports| open_flags::set_status(current, requested, supports))
    }

    /// `ioctl(FIONBIO)`: sets or clears `O_NONBLOCK`.
    pub fn set_nonblocking(&self, on: bool) {
        if on {
            self.flags.fetch_or(O_NONBLOCK, Ordering::Relaxed);
        } else {
            self.flags.fetch_and(!O_NONBLOCK, Ordering::Relaxed);
        }
    }

    /// `ioctl(FIOASYNC)`: sets or clears `O_ASYNC` (`ENOTTY` where the
    /// file does not support it).
    pub fn set_async(&self, on: bool) -> Result<(), Errno> {
        self.update(|current, supports| open_flags::set_async(current, on, supports))
    }

    /// Reads at most `max` bytes: `EBADF` unless open for reading; waits
    /// for a pipe's or the console's input unless `O_NONBLOCK` (then
    /// `EAGAIN`).
    pub fn read(&self, max: usize) -> Result<Vec<u8>, Errno> {
        let flags = self.flags();
        if !open_flags::readable(flags) {
            return Err(Errno::EBADF);
        }
        let nonblocking = flags & O_NONBLOCK != 0;
        match &self.file {
            File::Stdin | File::Device(Device::Console) => crate::tty::read(max, nonblocking),
            File::Pipe(end) => end.pipe.read(max, nonblocking),
            File::Device(Device::Null) => Ok(Vec::new()),
            File::Device(Device::Zero | Device::Full) => Ok(alloc::vec![0u8; max]),
            File::Device(Device::Random) => {
                let mut bytes = alloc::vec![0u8; max];
                crate::random::fill(&mut bytes);
                Ok(bytes)
            }
            File::Node(node) => node.read(max, flags & O_NOATIME != 0),
            File::Proc(proc) => proc.read(max),
            File::Stdout | File::Stderr => Err(Errno::EBADF),
        }
    }

    /// Writes `data` (`EBADF` unless open for writing); returns how much
    /// was written. A pipe write waits for room unless `O_NONBLOCK`; a
    /// file's goes to its end with `O_APPEND`.
    pub fn write(&self, data: &[u8]) -> Result<usize, Errno> {
        use vessel_rt::console::Stream;
        let flags = self.flags();
        if !open_flags::writable(flags) {
            return Err(Errno::EBADF);
        }
        match &self.file {
            File::Stdout | File::Device(Device::Console) => {
                crate::tty::write(Stream::Stdout, data);
                Ok(data.len())
            }
            File::Stderr => {
                crate::tty::write(Stream::Stderr, data);
                Ok(data.len())
            }
            File::Pipe(end) => end.pipe.write(data, flags & O_NONBLOCK != 0),
            File::Device(Device::Full) => Err(Errno::ENOSPC),
            File::Device(_) => Ok(data.len()),
            File::Node(node) => node.write(data, flags & O_APPEND != 0),
            File::Proc(proc) => proc.write(data),
            File::Stdin => Err(Errno::EBADF),
        }
    }
}

/// Makes a pipe: its read end and its write end.
pub fn pipe() -> (File, File) {
    let pipe = Pipe::new(None);
    let end = |read| File::Pipe(pipe.new_end(pipe.state(), read, !read, 0));
    (end(true), end(false))
}

/// The flags of the console streams as every process starts with them.
const CONSOLE_FLAGS: [u32; 3] = [O_RDONLY, O_WRONLY, O_WRONLY];

/// A descriptor's entry: the open file and its close-on-exec flag.
#[derive(Clone)]
struct Slot {
    file: Arc<OpenFile>,
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
        let streams = [File::Stdin, File::Stdout, File::Stderr];
        let slots = streams.into_iter().zip(CONSOLE_FLAGS).map(|(file, flags)| {
            Some(Slot {
                file: OpenFile::new(file, flags),
                cloexec: false,
            })
        });
        Self {
            slots: slots.collect(),
        }
    }

    /// The open descriptors, in order.
    pub fn open_fds(&self) -> Vec<usize> {
        let open = self.slots.iter().enumerate().filter(|(_, s)| s.is_some());
        open.map(|(fd, _)| fd).collect()
    }

    /// The open file behind `fd`.
    pub fn get(&self, fd: u64) -> Result<Arc<OpenFile>, Errno> {
        let slot = self
            .slots
            .get(fd as usize)
            .and_then(Option::as_ref)
            .ok_or(Errno::EBADF)?;
        Ok(slot.file.clone())
    }

    /// Installs `file` at the lowest free descriptor at or above `min`.
    pub fn add(&mut self, file: Arc<OpenFile>, cloexec: bool, min: usize) -> Result<usize, Errno> {
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
