//! The file-system calls: paths resolved in the shared tree (vessel-linux's
//! tmpfs, [`vessel_linux::vfs`]) from the working directory or a
//! directory descriptor, opening files, reading directories, metadata, and
//! changing the tree.
//!
//! The tree holds the root tmpfs and every tmpfs mounted in it
//! ([`mount`]): paths cross those mounts inside the tree, and each has its
//! own device number ([`tree_dev`]). `/proc` is a foreign mount of the
//! tree: where a path enters it, [`lookup`] hands the rest to
//! [`crate::procfs`], and back to the tree where a link there leads out.
//! Calls that change the tree fail there as Linux's procfs makes them
//! fail (the tree reports the crossing as `EXDEV`).
//!
//! Every path is copied out of user memory once ([`read_path`]; `EFAULT`
//! for a bad pointer, `ENAMETOOLONG` past `PATH_MAX`), and the tree is
//! locked only for the operation itself, never while user memory is
//! touched.

use crate::file::{Device, File, FileSystem, Node, OpenFile, now};
use crate::process::Process;
use crate::procfs::{self, Walked};
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use vessel_linux::open_flags::{self, O_APPEND, O_DIRECT, O_NOATIME, O_NONBLOCK};
use vessel_linux::vfs::{
    self, FileType, FsId, Ino, MAX_SYMLINKS, MountFlags, OpenOptions, RenameFlags, Resolved, Stat,
    Timespec, TmpfsOptions, Vfs,
};
use vessel_linux::{Errno, SysResult};
use vessel_std::sync::MutexGuard;

/// `dirfd` meaning "the working directory".
const AT_FDCWD: i32 = -100;
const AT_SYMLINK_NOFOLLOW: u64 = 0x100;
const AT_REMOVEDIR: u64 = 0x200;
const AT_SYMLINK_FOLLOW: u64 = 0x400;
const AT_EMPTY_PATH: u64 = 0x1000;
/// Longest path, terminating NUL included.
const PATH_MAX: usize = 4096;

const O_ACCMODE: u64 = 0o3;
const O_WRONLY: u64 = 0o1;
const O_RDWR: u64 = 0o2;
const O_CREAT: u64 = 0o100;
const O_EXCL: u64 = 0o200;
const O_TRUNC: u64 = 0o1000;
const O_DIRECTORY: u64 = 0o200_000;
const O_NOFOLLOW: u64 = 0o400_000;
const O_CLOEXEC: u64 = 0o2_000_000;
const O_PATH: u64 = 0o10_000_000;
const O_TMPFILE: u64 = 0o20_000_000;

/// Makes the tree a process starts with: `/dev` with the device nodes,
/// `/tmp`, the program `vessel run` was given at its path (if absolute,
/// so that links to it and `#!` lines naming it work), and the initial
/// files `vessel run --volume` handed over.
pub fn boot_tree(
    program: (&str, &[u8]),
    initial_files: Option<&[u8]>,
) -> Result<Vfs, vfs::cpio::CpioError> {
    let now = now();
    let mut vfs = Vfs::new(now);
    let root = Vfs::ROOT;
    // Fresh tree, fixed names: these cannot fail.
    if let Ok(dev) = vfs.mkdir(root, b"dev", 0o755, 0, 0, now) {
        for (name, rdev, mode) in Device::NODES {
            let _ = vfs.mknod(
                dev,
                name.as_bytes(),
                FileType::CharDevice,
                mode,
                rdev,
                0,
                0,
                now,
            );
        }
    }
    if let Ok(tmp) = vfs.mkdir(root, b"tmp", 0o777, 0, 0, now) {
        let _ = vfs.chmod(tmp, 0o1777, now);
    }
    let (path, bytes) = program;
    if path.starts_with('/') {
        // Best effort: a path the tree cannot hold only loses the copy.
        let _ = install(&mut vfs, path.as_bytes(), bytes, now);
    }
    if let Some(archive) = initial_files {
        vfs::cpio::unpack(&mut vfs, root, archive, now)?;
    }
    // procfs at /proc (over a directory the initial files made there).
    let proc = match vfs.lookup(root, b"proc", false) {
        Ok(dir) => Ok(dir),
        Err(_) => vfs.mkdir(root, b"proc", 0o555, 0, 0, now),
    };
    if let Ok(proc) = proc {
        let _ = vfs.mount_foreign(proc, b"proc", MountFlags::default());
    }
    Ok(vfs)
}

/// Writes `bytes` as an executable file at absolute `path`, making the
/// directories on the way.
fn install(vfs: &mut Vfs, path: &[u8], bytes: &[u8], now: Timespec) -> Result<(), Errno> {
    let mut dir = Vfs::ROOT;
    let mut parts = path
        .split(|&b| b == b'/')
        .filter(|p| !p.is_empty())
        .peekable();
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            let options = OpenOptions {
                create: true,
                truncate: true,
                write: true,
                ..OpenOptions::default()
            };
            let file = vfs.open(dir, part, options, 0o755, 0, 0, now)?;
            vfs.write(file, 0, bytes, now)?;
            return Ok(());
        }
        dir = match vfs.lookup(dir, part, true) {
            Ok(existing) => existing,
            Err(Errno::ENOENT) => vfs.mkdir(dir, part, 0o755, 0, 0, now)?,
            Err(errno) => return Err(errno),
        };
    }
    Err(Errno::EINVAL)
}

/// A NUL-terminated path from user memory, without the NUL.
pub fn read_path(p: &Process, addr: u64) -> Result<Vec<u8>, Errno> {
    const PAGE: u64 = 4096;
    let mut path = Vec::new();
    let mut at = addr;
    loop {
        // Up to the end of the page: the next one may be unmapped.
        let chunk = (PAGE - at % PAGE) as usize;
        let mut bytes = vec![0u8; chunk];
        p.memory()
            .space
            .read_bytes(at, &mut bytes)
            .map_err(|_| Errno::EFAULT)?;
        if let Some(end) = bytes.iter().position(|&b| b == 0) {
            path.extend_from_slice(&bytes[..end]);
            return Ok(path);
        }
        path.extend_from_slice(&bytes);
        if path.len() >= PATH_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        at = at.checked_add(chunk as u64).ok_or(Errno::EFAULT)?;
    }
}

/// The process's file system.
fn fs(p: &Process) -> &Arc<FileSystem> {
    &p.kernel.fs
}

/// Where relative paths start: a directory of the tree, or one of a
/// `/proc` (the mount point it is on, and the directory there).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// A directory of the tree.
    Tree(Ino),
    /// A directory of the `/proc` mounted on the directory `.0`.
    Proc(Ino, procfs::Node),
}

impl Start {
    /// The directory of the tree to keep alive while it is used (for
    /// `/proc`, the mount point).
    pub fn tree_ino(self) -> Ino {
        match self {
            Start::Tree(ino) | Start::Proc(ino, _) => ino,
        }
    }
}

/// What a path names.
#[derive(Clone)]
pub enum Found {
    /// A file of the tree.
    Tree(Ino),
    /// A file of the `/proc` mounted on the directory `.0`.
    Proc(Ino, procfs::Node),
    /// An open file with no name: a pipe, the console or a device reached
    /// through `/proc/PID/fd`.
    File(Arc<OpenFile>),
}

impl Found {
    /// What an open file is, as a path would name it.
    pub fn of(file: Arc<OpenFile>) -> Found {
        if let Some(node) = file.tree_node() {
            return Found::Tree(node.ino);
        }
        match &**file {
            File::Proc(proc) => Found::Proc(proc.mount, proc.node),
            _ => Found::File(file),
        }
    }
}

/// Resolves `path` from `start`, following a final symbolic link if
/// `follow`, across `/proc` and back.
pub fn lookup(p: &Process, start: Start, path: &[u8], follow: bool) -> Result<Found, Errno> {
    let mut start = start;
    let mut path = path.to_vec();
    if path.starts_with(b"/") {
        start = Start::Tree(Vfs::ROOT);
    }
    // Each round leaves one file system for the other (through a link at
    // least, or `..` of a mount): bounded like links are.
    for _ in 0..=MAX_SYMLINKS {
        let walked = match start {
            Start::Tree(dir) => {
                let resolved = fs(p).lock().resolve(dir, &path, follow)?;
                match resolved {
                    Resolved::Inode(ino) => return Ok(Found::Tree(ino)),
                    Resolved::Mounted { dir, rest } => {
                        procfs::walk(p, dir, procfs::Node::Root, &rest, follow)?
                    }
                }
            }
            Start::Proc(mount, node) => procfs::walk(p, mount, node, &path, follow)?,
        };
        match walked {
            Walked::Found(found) => return Ok(found),
            Walked::Leave(next, rest) => {
                start = next;
                path = rest;
            }
        }
    }
    Err(Errno::ELOOP)
}

/// The directory a `*at` call's relative paths start from.
fn base(p: &Process, dirfd: u64) -> Result<Start, Errno> {
    if dirfd as i32 == AT_FDCWD {
        return Ok(p.cwd());
    }
    match &**p.fds().get(dirfd)? {
        File::Node(node) if node.file_type == FileType::Directory => Ok(Start::Tree(node.ino)),
        File::Proc(proc) if proc.node.file_type() == FileType::Directory => {
            Ok(Start::Proc(proc.mount, proc.node))
        }
        _ => Err(Errno::ENOTDIR),
    }
}

/// The directory of the tree a call that changes the tree starts from;
/// `in_proc` is its error in `/proc`.
fn tree_base(p: &Process, dirfd: u64, in_proc: Errno) -> Result<Ino, Errno> {
    match base(p, dirfd)? {
        Start::Tree(ino) => Ok(ino),
        Start::Proc(..) => Err(in_proc),
    }
}

/// Turns the tree's `EXDEV` (the path enters `/proc`) into `in_proc`, the
/// error Linux's procfs gives for the operation.
fn crossing(in_proc: Errno) -> impl Fn(Errno) -> Errno {
    move |errno| {
        if errno == Errno::EXDEV {
            in_proc
        } else {
            errno
        }
    }
}

/// The file a descriptor refers to in the tree.
fn node_of(p: &Process, fd: u64) -> Result<Ino, Errno> {
    let file = p.fds().get(fd)?;
    if let Some(node) = file.tree_node() {
        return Ok(node.ino);
    }
    match &**file {
        // procfs's attributes do not change.
        File::Proc(_) => Err(Errno::EPERM),
        // Pipes, consoles and devices have no node the caller can change.
        _ => Err(Errno::EINVAL),
    }
}

/// Resolves `path` for a `*at` call that may name `dirfd` itself with
/// `AT_EMPTY_PATH` and may or may not follow a final symlink.
fn resolve_at(
    p: &Process,
    dirfd: u64,
    path: u64,
    flags: u64,
    follow: bool,
) -> Result<Found, Errno> {
    let path = read_path(p, path)?;
    if path.is_empty() && flags & AT_EMPTY_PATH != 0 {
        if dirfd as i32 == AT_FDCWD {
            return Ok(match p.cwd() {
                Start::Tree(ino) => Found::Tree(ino),
                Start::Proc(mount, node) => Found::Proc(mount, node),
            });
        }
        return Ok(Found::of(p.fds().get(dirfd)?));
    }
    let start = base(p, dirfd)?;
    lookup(p, start, &path, follow)
}

/// The inode of a file of the tree; `in_proc` is the error for a file of
/// `/proc` (whose attributes do not change).
fn tree_ino(found: Found, in_proc: Errno) -> Result<Ino, Errno> {
    match found {
        Found::Tree(ino) => Ok(ino),
        Found::Proc(..) => Err(in_proc),
        Found::File(_) => Err(Errno::EINVAL),
    }
}

/// The file offset of a file that has one (of the tree or of `/proc`),
/// locked.
fn position(file: &File) -> Result<MutexGuard<'_, u64>, Errno> {
    match file {
        File::Node(node) => Ok(node.position()),
        File::Proc(proc) => Ok(proc.position()),
        _ => Err(Errno::ESPIPE),
    }
}

/// Reads at most `max` bytes at `offset` of a file that has offsets.
fn read_at(file: &OpenFile, offset: u64, max: usize) -> Result<Vec<u8>, Errno> {
    match &**file {
        File::Node(node) => node.read_at(offset, max, file.has(O_NOATIME)),
        File::Proc(proc) => proc.read_at(offset, max),
        _ => Err(Errno::ESPIPE),
    }
}

/// `openat`: opens (and with `O_CREAT` makes) a file of the tree.
pub fn openat(p: &mut Process, dirfd: u64, path: u64, flags: u64, mode: u64) -> SysResult {
    if flags & O_TMPFILE == O_TMPFILE {
        return Err(Errno::EOPNOTSUPP);
    }
    let path = read_path(p, path)?;
    let start = base(p, dirfd)?;
    let access = flags & O_ACCMODE;
    if access == O_ACCMODE {
        return Err(Errno::EINVAL);
    }
    let path_only = flags & O_PATH != 0;
    let writable = !path_only && (access == O_WRONLY || access == O_RDWR);
    let readable = !path_only && access != O_WRONLY;
    let options = OpenOptions {
        create: !path_only && flags & O_CREAT != 0,
        exclusive: flags & O_EXCL != 0,
        truncate: writable && flags & O_TRUNC != 0,
        directory: flags & O_DIRECTORY != 0,
        nofollow: flags & O_NOFOLLOW != 0,
        write: writable,
    };
    let mode = (mode as u32) & 0o7777 & !p.umask();
    let in_tree = match start {
        Start::Tree(dir) => {
            let mut vfs = fs(p).lock();
            match vfs.open(dir, &path, options, mode, 0, 0, now()) {
                Ok(ino) if vfs.foreign_flags(ino).is_none() => Some((ino, vfs.stat(ino)?)),
                // Into /proc: resolved below, across it.
                Ok(_) | Err(Errno::EXDEV) => None,
                Err(errno) => return Err(errno),
            }
        }
        Start::Proc(..) => None,
    };
    let file = match in_tree {
        Some((ino, stat)) => tree_file(p, ino, &stat, flags, readable, writable)?,
        None => {
            // O_EXCL implies O_NOFOLLOW; procfs makes nothing (ENOENT).
            let exclusive = flags & (O_CREAT | O_EXCL) == O_CREAT | O_EXCL;
            let follow = flags & O_NOFOLLOW == 0 && !exclusive;
            let found = lookup(p, start, &path, follow)?;
            if exclusive {
                return Err(Errno::EEXIST);
            }
            open_found(p, found, flags, readable, writable)?
        }
    };
    let cloexec = flags & O_CLOEXEC != 0;
    let flags = open_flags::kept_at_open(flags);
    // Checked once open, as Linux does (a FIFO's open has waited).
    if flags & O_DIRECT != 0 && !file.supports().direct {
        return Err(Errno::EINVAL);
    }
    p.fds().add(OpenFile::new(file, flags), cloexec, 0)
}

/// The open file for inode `ino` of the tree (attributes `stat`).
fn tree_file(
    p: &Process,
    ino: Ino,
    stat: &Stat,
    flags: u64,
    readable: bool,
    writable: bool,
) -> Result<File, Errno> {
    let path_only = flags & O_PATH != 0;
    Ok(match stat.file_type {
        FileType::CharDevice if !path_only => {
            if fs(p).lock().mount_flags(ino)?.nodev {
                return Err(Errno::EACCES);
            }
            File::Device(Device::from_rdev(stat.rdev).ok_or(Errno::ENXIO)?)
        }
        FileType::Fifo if !path_only => {
            let nonblocking = flags & u64::from(O_NONBLOCK) != 0;
            File::Pipe(fs(p).fifo(ino)?.open(readable, writable, nonblocking)?)
        }
        _ => File::Node(Node::open(fs(p), ino, readable, writable)?),
    })
}

/// Opens what a path resolved across `/proc` names, with `open`'s checks
/// for an existing file.
fn open_found(
    p: &Process,
    found: Found,
    flags: u64,
    readable: bool,
    writable: bool,
) -> Result<File, Errno> {
    let path_only = flags & O_PATH != 0;
    let file_type = match &found {
        Found::Tree(ino) => fs(p).lock().stat(*ino)?.file_type,
        Found::Proc(_, node) => node.file_type(),
        Found::File(file) => FileType::from_mode(file.mode()).unwrap_or(FileType::CharDevice),
    };
    if flags & O_DIRECTORY != 0 && file_type != FileType::Directory {
        return Err(Errno::ENOTDIR);
    }
    if file_type == FileType::Symlink && !path_only {
        return Err(Errno::ELOOP); // O_NOFOLLOW
    }
    if writable && file_type == FileType::Directory {
        return Err(Errno::EISDIR);
    }
    match found {
        Found::Tree(ino) => {
            let stat = {
                let mut vfs = fs(p).lock();
                if writable && flags & O_TRUNC != 0 && file_type == FileType::Regular {
                    vfs.truncate(ino, 0, now())?;
                }
                vfs.stat(ino)?
            };
            tree_file(p, ino, &stat, flags, readable, writable)
        }
        Found::Proc(mount, node) => procfs::open(p, mount, node, readable, writable),
        // A pipe or the console through /proc/PID/fd: Linux opens the
        // same pipe (without waiting, as for a FIFO) or device again.
        Found::File(file) => Ok(match &**file {
            File::Pipe(end) => {
                let nonblocking = flags & u64::from(O_NONBLOCK) != 0;
                File::Pipe(end.pipe().open(readable, writable, nonblocking)?)
            }
            File::Device(device) => File::Device(*device),
            _ => File::Device(Device::Console),
        }),
    }
}

/// Moves a file offset (`lseek`).
pub fn lseek(p: &mut Process, fd: u64, offset: i64, whence: u64) -> SysResult {
    const SEEK_SET: u64 = 0;
    const SEEK_CUR: u64 = 1;
    const SEEK_END: u64 = 2;
    let file = p.fds().get(fd)?;
    let mut position = position(&file)?;
    let origin = match whence {
        SEEK_SET => 0,
        SEEK_CUR => *position as i64,
        SEEK_END => match &**file {
            File::Node(node) => node.fs().lock().stat(node.ino)?.size as i64,
            File::Proc(proc) => proc.size() as i64,
            _ => return Err(Errno::ESPIPE),
        },
        _ => return Err(Errno::EINVAL),
    };
    let target = origin.checked_add(offset).ok_or(Errno::EOVERFLOW)?;
    if target < 0 {
        return Err(Errno::EINVAL);
    }
    *position = target as u64;
    Ok(target as usize)
}

/// `pread64`: reads at an offset without moving the file offset.
pub fn pread(p: &mut Process, fd: u64, buf: u64, len: u64, offset: i64) -> SysResult {
    let file = p.fds().get(fd)?;
    if !matches!(&**file, File::Node(_) | File::Proc(_)) {
        return Err(Errno::ESPIPE);
    }
    if offset < 0 {
        return Err(Errno::EINVAL);
    }
    let want = len.min(crate::syscall::MAX_IO) as usize;
    let bytes = read_at(&file, offset as u64, want)?;
    p.memory()
        .space
        .write_bytes(buf, &bytes)
        .map_err(|_| Errno::EFAULT)?;
    Ok(bytes.len())
}

/// `pwrite64`: writes at an offset without moving the file offset.
pub fn pwrite(p: &mut Process, fd: u64, buf: u64, len: u64, offset: i64) -> SysResult {
    let file = p.fds().get(fd)?;
    let node = match &**file {
        File::Node(node) => node,
        File::Proc(proc) if proc.access().1 => {
            // Only `comm` takes writes, whatever the offset.
            let mut bytes = vec![0u8; len.min(64) as usize];
            p.memory()
                .space
                .read_bytes(buf, &mut bytes)
                .map_err(|_| Errno::EFAULT)?;
            return proc.write(&bytes);
        }
        File::Proc(_) => return Err(Errno::EBADF),
        _ => return Err(Errno::ESPIPE),
    };
    if offset < 0 {
        return Err(Errno::EINVAL);
    }
    let mut bytes = vec![0u8; len.min(crate::syscall::MAX_IO) as usize];
    p.memory()
        .space
        .read_bytes(buf, &mut bytes)
        .map_err(|_| Errno::EFAULT)?;
    node.write_at(offset as u64, &bytes, file.has(O_APPEND))
}

/// Encodes `struct stat` (x86-64 layout, 144 bytes).
pub fn encode_stat(stat: &Stat, dev: u64) -> [u8; 144] {
    let mut out = [0u8; 144];
    let mut put = |at: usize, bytes: &[u8]| out[at..at + bytes.len()].copy_from_slice(bytes);
    put(0, &dev.to_le_bytes());
    put(8, &stat.ino.to_le_bytes());
    put(16, &stat.nlink.to_le_bytes());
    put(24, &stat.mode.to_le_bytes());
    put(28, &stat.uid.to_le_bytes());
    put(32, &stat.gid.to_le_bytes());
    put(40, &stat.rdev.to_le_bytes());
    put(48, &stat.size.to_le_bytes());
    put(56, &4096u64.to_le_bytes()); // st_blksize
    put(64, &stat.blocks.to_le_bytes());
    for (at, time) in [(72, stat.atime), (88, stat.mtime), (104, stat.ctime)] {
        put(at, &time.secs.to_le_bytes());
        put(at + 8, &u64::from(time.nanos).to_le_bytes());
    }
    out
}

/// `st_dev` of the files of the tree's file system `fs`: 0:1 for the
/// root tmpfs, an anonymous device 0:(32 + id) for a mounted one (procfs
/// has 0:22, [`procfs::DEV`]).
pub fn tree_dev(fs: FsId) -> u64 {
    if fs == Vfs::ROOT_FS {
        vfs::makedev(0, 1)
    } else {
        vfs::makedev(0, fs.saturating_add(0x20))
    }
}

/// The attributes of inode `ino` of the tree, and its device.
fn tree_stat(vfs: &Vfs, ino: Ino) -> Result<(Stat, u64), Errno> {
    Ok((vfs.stat(ino)?, tree_dev(vfs.fs_of(ino)?)))
}

/// The metadata of an open file: from the tree (FIFOs included) or `/proc`
/// for their files, made up for pipes, consoles and devices.
pub fn stat_of(file: &File) -> Result<[u8; 144], Errno> {
    if let Some(node) = file.tree_node() {
        let (stat, dev) = tree_stat(&node.fs().lock(), node.ino)?;
        return Ok(encode_stat(&stat, dev));
    }
    match file {
        File::Proc(proc) => Ok(encode_stat(proc.stat(), procfs::DEV)),
        other => Ok(crate::syscall::file_stat(other)),
    }
}

/// The attributes of a file of the tree or of `/proc`, and its device
/// (`None` for an open file with no name).
fn stat_found(p: &Process, found: &Found) -> Result<Option<(Stat, u64)>, Errno> {
    Ok(match found {
        Found::Tree(ino) => Some(tree_stat(&fs(p).lock(), *ino)?),
        Found::Proc(_, node) => Some((procfs::stat(p, *node)?, procfs::DEV)),
        Found::File(_) => None,
    })
}

/// `stat`, `lstat`, `newfstatat`.
pub fn fstatat(p: &mut Process, dirfd: u64, path: u64, buf: u64, flags: u64) -> SysResult {
    let follow = flags & AT_SYMLINK_NOFOLLOW == 0;
    let raw = read_path(p, path)?;
    let stat = if raw.is_empty() && flags & AT_EMPTY_PATH != 0 && dirfd as i32 != AT_FDCWD {
        stat_of(&*p.fds().get(dirfd)?)?
    } else {
        let found = resolve_at(p, dirfd, path, flags, follow)?;
        match (stat_found(p, &found)?, found) {
            (Some((stat, dev)), _) => encode_stat(&stat, dev),
            (None, Found::File(file)) => stat_of(&file)?,
            (None, _) => return Err(Errno::ENOENT),
        }
    };
    p.memory()
        .space
        .write_bytes(buf, &stat)
        .map_err(|_| Errno::EFAULT)?;
    Ok(0)
}

/// `statx` (the basic fields; `mask` is ignored, everything is filled).
pub fn statx(p: &mut Process, dirfd: u64, path: u64, flags: u64, buf: u64) -> SysResult {
    const STATX_BASIC_STATS: u32 = 0x7ff;
    let follow = flags & AT_SYMLINK_NOFOLLOW == 0;
    let raw = read_path(p, path)?;
    let found = if raw.is_empty() && flags & AT_EMPTY_PATH != 0 && dirfd as i32 != AT_FDCWD {
        Found::of(p.fds().get(dirfd)?)
    } else {
        resolve_at(p, dirfd, path, flags, follow)?
    };
    let Some((stat, dev)) = stat_found(p, &found)? else {
        return Err(Errno::EOPNOTSUPP);
    };
    let mut out = [0u8; 256];
    let mut put = |at: usize, bytes: &[u8]| out[at..at + bytes.len()].copy_from_slice(bytes);
    put(0, &STATX_BASIC_STATS.to_le_bytes());
    put(4, &4096u32.to_le_bytes());
    put(16, &(stat.nlink as u32).to_le_bytes());
    put(20, &stat.uid.to_le_bytes());
    put(24, &stat.gid.to_le_bytes());
    put(28, &(stat.mode as u16).to_le_bytes());
    put(32, &stat.ino.to_le_bytes());
    put(40, &stat.size.to_le_bytes());
    put(48, &stat.blocks.to_le_bytes());
    for (at, time) in [(64, stat.atime), (96, stat.ctime), (112, stat.mtime)] {
        put(at, &time.secs.to_le_bytes());
        put(at + 8, &time.nanos.to_le_bytes());
    }
    put(128, &vfs::dev_major(stat.rdev).to_le_bytes());
    put(132, &vfs::dev_minor(stat.rdev).to_le_bytes());
    put(136, &vfs::dev_major(dev).to_le_bytes());
    put(140, &vfs::dev_minor(dev).to_le_bytes());
    p.memory()
        .space
        .write_bytes(buf, &out)
        .map_err(|_| Errno::EFAULT)?;
    Ok(0)
}

/// `access`, `faccessat`, `faccessat2`: the caller is root, so only
/// existence and, for `X_OK`, an execute bit (or a directory) and a mount
/// without `noexec` count; `W_OK` on a read-only mount is `EROFS`.
pub fn faccessat(p: &mut Process, dirfd: u64, path: u64, mode: u64, flags: u64) -> SysResult {
    const X_OK: u64 = 1;
    const W_OK: u64 = 2;
    if mode & !7 != 0 {
        return Err(Errno::EINVAL);
    }
    let follow = flags & AT_SYMLINK_NOFOLLOW == 0;
    let found = resolve_at(p, dirfd, path, flags, follow)?;
    let Some((stat, _)) = stat_found(p, &found)? else {
        return Ok(0); // a pipe or the console: no execute bits to check
    };
    let mount = match found {
        Found::Tree(ino) => fs(p).lock().mount_flags(ino)?,
        Found::Proc(mount, _) => fs(p).lock().foreign_flags(mount).unwrap_or_default(),
        Found::File(_) => MountFlags::default(),
    };
    let regular = stat.file_type == FileType::Regular;
    if mode & X_OK != 0 && regular && mount.noexec {
        return Err(Errno::EACCES);
    }
    if mode & X_OK != 0 && stat.file_type != FileType::Directory && stat.mode & 0o111 == 0 {
        return Err(Errno::EACCES);
    }
    let special = matches!(stat.file_type, FileType::CharDevice | FileType::Fifo);
    if mode & W_OK != 0 && !special && mount.read_only {
        return Err(Errno::EROFS);
    }
    Ok(0)
}

/// The extended-attribute calls (`getxattr`, `setxattr`, `listxattr`,
/// `removexattr`; `target` is a path, followed or not, or a descriptor
/// for their `l` and `f` forms): no file system here keeps extended
/// attributes, so, as on a Linux file system mounted without them, they
/// fail with `EOPNOTSUPP` once the file is found (its lookup errors first).
pub fn no_xattrs(p: &mut Process, target: Target) -> SysResult {
    match target {
        Target::Path { dirfd, path, flags } => {
            resolve_at(p, dirfd, path, flags, flags & AT_SYMLINK_NOFOLLOW == 0)?;
        }
        Target::Fd(fd) => {
            p.fds().get(fd)?;
        }
    }
    Err(Errno::EOPNOTSUPP)
}

/// `getdents64`: the next directory entries that fit in `len` bytes.
pub fn getdents64(p: &mut Process, fd: u64, buf: u64, len: u64) -> SysResult {
    let file = p.fds().get(fd)?;
    let entries = match &**file {
        File::Node(node) if node.file_type == FileType::Directory => {
            node.fs().lock().read_dir(node.ino)?
        }
        File::Proc(proc) if proc.node.file_type() == FileType::Directory => {
            procfs::read_dir(p, proc.mount, proc.node)?
        }
        _ => return Err(Errno::ENOTDIR),
    };
    // Entries keep their offsets while others are added or removed, so a
    // listing resumed after unlinking what was read skips nothing.
    let mut position = position(&file)?;
    let mut out = Vec::new();
    let resume_at = *position;
    for entry in entries.iter().filter(|e| e.offset >= resume_at) {
        // d_ino, d_off, d_reclen, d_type, name, NUL; 8-byte aligned.
        let reclen = (19 + entry.name.len() + 1).next_multiple_of(8);
        if (out.len() + reclen) as u64 > len {
            if out.is_empty() {
                return Err(Errno::EINVAL);
            }
            break;
        }
        let start = out.len();
        out.resize(start + reclen, 0);
        let record = &mut out[start..];
        record[0..8].copy_from_slice(&entry.ino.to_le_bytes());
        record[8..16].copy_from_slice(&(entry.offset + 1).to_le_bytes());
        record[16..18].copy_from_slice(&(reclen as u16).to_le_bytes());
        record[18] = entry.file_type.dirent_type();
        record[19..19 + entry.name.len()].copy_from_slice(&entry.name);
        *position = entry.offset + 1;
    }
    p.memory()
        .space
        .write_bytes(buf, &out)
        .map_err(|_| Errno::EFAULT)?;
    Ok(out.len())
}

/// `getcwd`: the working directory's path, NUL-terminated.
pub fn getcwd(p: &mut Process, buf: u64, size: u64) -> SysResult {
    let mut path = procfs::start_path(p, p.cwd())?;
    path.push(0);
    if (path.len() as u64) > size {
        return Err(Errno::ERANGE);
    }
    p.memory()
        .space
        .write_bytes(buf, &path)
        .map_err(|_| Errno::EFAULT)?;
    Ok(path.len())
}

/// `chdir` and `fchdir`.
pub fn chdir(p: &mut Process, dirfd: u64, path: Option<u64>) -> SysResult {
    let found = match path {
        Some(path) => resolve_at(p, AT_FDCWD as u64, path, 0, true)?,
        None => Found::of(p.fds().get(dirfd)?),
    };
    let dir = match found {
        Found::Tree(ino) if fs(p).lock().stat(ino)?.file_type == FileType::Directory => {
            Start::Tree(ino)
        }
        Found::Proc(mount, node) if node.file_type() == FileType::Directory => {
            Start::Proc(mount, node)
        }
        _ => return Err(Errno::ENOTDIR),
    };
    p.set_cwd(dir);
    Ok(0)
}

/// `mkdir`, `mkdirat`.
pub fn mkdirat(p: &mut Process, dirfd: u64, path: u64, mode: u64) -> SysResult {
    let path = read_path(p, path)?;
    let start = tree_base(p, dirfd, Errno::ENOENT)?;
    let mode = (mode as u32) & 0o7777 & !p.umask();
    fs(p)
        .lock()
        .mkdir(start, &path, mode, 0, 0, now())
        .map_err(crossing(Errno::ENOENT))?;
    Ok(0)
}

/// `mknod`, `mknodat`: makes a FIFO, a regular file (type 0 or
/// `S_IFREG`) or a character device (device number `dev`, as `makedev`
/// encodes it). `EPERM` for a directory and for the block devices and
/// sockets the tree does not hold, `EINVAL` for no type at all.
pub fn mknodat(p: &mut Process, dirfd: u64, path: u64, mode: u64, dev: u64) -> SysResult {
    const S_IFMT: u32 = 0o170_000;
    const S_IFSOCK: u32 = 0o140_000;
    const S_IFBLK: u32 = 0o060_000;
    // mode_t here is a 16-bit umode_t, dev an unsigned int.
    let mode = u32::from(mode as u16);
    let file_type = match mode & S_IFMT {
        0 => FileType::Regular,
        S_IFSOCK | S_IFBLK => return Err(Errno::EPERM),
        bits => match FileType::from_mode(bits) {
            Some(FileType::Directory) => return Err(Errno::EPERM),
            Some(FileType::Symlink) | None => return Err(Errno::EINVAL),
            Some(file_type) => file_type,
        },
    };
    let path = read_path(p, path)?;
    let start = tree_base(p, dirfd, Errno::ENOENT)?;
    let rdev = u64::from(dev as u32);
    let perm = mode & 0o7777 & !p.umask();
    fs(p)
        .lock()
        .mknod(start, &path, file_type, perm, rdev, 0, 0, now())
        .map_err(crossing(Errno::ENOENT))?;
    Ok(0)
}

/// `unlink`, `rmdir`, `unlinkat`.
pub fn unlinkat(p: &mut Process, dirfd: u64, path: u64, flags: u64) -> SysResult {
    if flags & !AT_REMOVEDIR != 0 {
        return Err(Errno::EINVAL);
    }
    let path = read_path(p, path)?;
    let start = tree_base(p, dirfd, Errno::EPERM)?;
    let mut vfs = fs(p).lock();
    if flags & AT_REMOVEDIR != 0 {
        vfs.rmdir(start, &path, now())
    } else {
        vfs.unlink(start, &path, now())
    }
    .map_err(crossing(Errno::EPERM))?;
    Ok(0)
}

/// `rename`, `renameat`, `renameat2`.
pub fn renameat(
    p: &mut Process,
    old_dirfd: u64,
    old: u64,
    new_dirfd: u64,
    new: u64,
    flags: u64,
) -> SysResult {
    const RENAME_NOREPLACE: u64 = 1;
    const RENAME_EXCHANGE: u64 = 2;
    if flags & !(RENAME_NOREPLACE | RENAME_EXCHANGE) != 0
        || flags == RENAME_NOREPLACE | RENAME_EXCHANGE
    {
        return Err(Errno::EINVAL);
    }
    let old = read_path(p, old)?;
    let new = read_path(p, new)?;
    let old_start = tree_base(p, old_dirfd, Errno::EXDEV)?;
    let new_start = tree_base(p, new_dirfd, Errno::EXDEV)?;
    let flags = RenameFlags {
        noreplace: flags & RENAME_NOREPLACE != 0,
        exchange: flags & RENAME_EXCHANGE != 0,
    };
    fs(p)
        .lock()
        .rename(old_start, &old, new_start, &new, flags, now())?;
    Ok(0)
}

/// `link`, `linkat`.
pub fn linkat(
    p: &mut Process,
    old_dirfd: u64,
    old: u64,
    new_dirfd: u64,
    new: u64,
    flags: u64,
) -> SysResult {
    if flags & !(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let old = read_path(p, old)?;
    let new = read_path(p, new)?;
    let old_start = tree_base(p, old_dirfd, Errno::EXDEV)?;
    let new_start = tree_base(p, new_dirfd, Errno::EXDEV)?;
    let follow = flags & AT_SYMLINK_FOLLOW != 0;
    fs(p)
        .lock()
        .link(old_start, &old, new_start, &new, follow, now())?;
    Ok(0)
}

/// `symlink`, `symlinkat`.
pub fn symlinkat(p: &mut Process, target: u64, dirfd: u64, path: u64) -> SysResult {
    let target = read_path(p, target)?;
    if target.is_empty() {
        return Err(Errno::ENOENT);
    }
    let path = read_path(p, path)?;
    let start = tree_base(p, dirfd, Errno::ENOENT)?;
    fs(p)
        .lock()
        .symlink(&target, start, &path, 0, 0, now())
        .map_err(crossing(Errno::ENOENT))?;
    Ok(0)
}

/// `readlink`, `readlinkat`: symbolic links of the tree and of `/proc`.
pub fn readlinkat(p: &mut Process, dirfd: u64, path: u64, buf: u64, size: u64) -> SysResult {
    if size as i64 <= 0 {
        return Err(Errno::EINVAL);
    }
    let target = match resolve_at(p, dirfd, path, AT_EMPTY_PATH, false)? {
        Found::Tree(ino) => fs(p).lock().readlink(ino)?,
        Found::Proc(_, node) => procfs::readlink(p, node)?,
        Found::File(_) => return Err(Errno::EINVAL),
    };
    let n = target.len().min(size as usize);
    p.memory()
        .space
        .write_bytes(buf, &target[..n])
        .map_err(|_| Errno::EFAULT)?;
    Ok(n)
}

/// What a `chmod`/`chown`/`utimensat`-style call applies to: a path
/// (relative to `dirfd`), or the descriptor itself.
pub enum Target {
    /// A path, following a final symlink or not.
    Path {
        /// Directory the path is relative to.
        dirfd: u64,
        /// User address of the path.
        path: u64,
        /// `AT_*` flags.
        flags: u64,
    },
    /// An open descriptor.
    Fd(u64),
}

fn target_ino(p: &Process, target: &Target) -> Result<Ino, Errno> {
    match *target {
        Target::Path { dirfd, path, flags } => tree_ino(
            resolve_at(p, dirfd, path, flags, flags & AT_SYMLINK_NOFOLLOW == 0)?,
            Errno::EPERM,
        ),
        Target::Fd(fd) => node_of(p, fd),
    }
}

/// `chmod`, `fchmod`, `fchmodat`.
pub fn chmod(p: &mut Process, target: Target, mode: u64) -> SysResult {
    let ino = target_ino(p, &target)?;
    fs(p).lock().chmod(ino, mode as u32 & 0o7777, now())?;
    Ok(0)
}

/// `chown`, `fchown`, `lchown`, `fchownat` (`-1` keeps an id).
pub fn chown(p: &mut Process, target: Target, uid: u64, gid: u64) -> SysResult {
    let ino = target_ino(p, &target)?;
    let keep = |id: u64| (id as u32 != u32::MAX).then_some(id as u32);
    fs(p).lock().chown(ino, keep(uid), keep(gid), now())?;
    Ok(0)
}

/// `utimensat` (and `futimens`, its `path == NULL` form).
pub fn utimensat(p: &mut Process, dirfd: u64, path: u64, times: u64, flags: u64) -> SysResult {
    const UTIME_NOW: u64 = (1 << 30) - 1;
    const UTIME_OMIT: u64 = (1 << 30) - 2;
    let target = if path == 0 {
        Target::Fd(dirfd)
    } else {
        Target::Path { dirfd, path, flags }
    };
    let ino = target_ino(p, &target)?;
    let now = now();
    let (atime, mtime) = if times == 0 {
        (Some(now), Some(now))
    } else {
        let mut raw = [0u8; 32];
        p.memory()
            .space
            .read_bytes(times, &mut raw)
            .map_err(|_| Errno::EFAULT)?;
        let time = |at: usize| -> Result<Option<Timespec>, Errno> {
            let secs = i64::from_le_bytes(raw[at..at + 8].try_into().unwrap_or_default());
            let nanos = u64::from_le_bytes(raw[at + 8..at + 16].try_into().unwrap_or_default());
            match nanos {
                UTIME_NOW => Ok(Some(now)),
                UTIME_OMIT => Ok(None),
                n if n < 1_000_000_000 => Ok(Some(Timespec {
                    secs,
                    nanos: n as u32,
                })),
                _ => Err(Errno::EINVAL),
            }
        };
        (time(0)?, time(16)?)
    };
    fs(p).lock().set_times(ino, atime, mtime, now)?;
    Ok(0)
}

/// `truncate` and `ftruncate`.
pub fn truncate(p: &mut Process, target: Target, len: i64) -> SysResult {
    if len < 0 {
        return Err(Errno::EINVAL);
    }
    let ino = match target {
        Target::Fd(fd) => match &**p.fds().get(fd)? {
            File::Node(node) if node.writable => node.ino,
            File::Node(_) => return Err(Errno::EINVAL),
            _ => return Err(Errno::EINVAL),
        },
        path => target_ino(p, &path)?,
    };
    let mut vfs = fs(p).lock();
    if vfs.stat(ino)?.file_type == FileType::Directory {
        return Err(Errno::EISDIR);
    }
    vfs.truncate(ino, len as u64, now())?;
    Ok(0)
}

/// `umask`: sets the creation mask, returns the old one.
pub fn umask(p: &mut Process, mask: u64) -> SysResult {
    Ok(p.set_umask(mask as u32 & 0o777) as usize)
}

/// `statfs`, `fstatfs`: of a tmpfs of the tree (its limits; where it has
/// none, sizes from the guest's memory) or of procfs, with the mount's
/// flags.
pub fn statfs(p: &mut Process, target: Target, buf: u64) -> SysResult {
    const TMPFS_MAGIC: u64 = 0x0102_1994;
    const PAGE: u64 = 4096;
    let found = match target {
        Target::Fd(fd) => Found::of(p.fds().get(fd)?),
        Target::Path { dirfd, path, flags } => {
            let follow = flags & AT_SYMLINK_NOFOLLOW == 0;
            resolve_at(p, dirfd, path, flags, follow)?
        }
    };
    let mut out = [0u8; 120];
    let mut put = |at: usize, value: u64| out[at..at + 8].copy_from_slice(&value.to_le_bytes());
    put(8, PAGE); // f_bsize
    put(64, 255); // f_namelen
    put(72, PAGE); // f_frsize
    match found {
        Found::Proc(mount, _) => {
            let flags = fs(p).lock().foreign_flags(mount).unwrap_or_default();
            put(0, procfs::PROC_SUPER_MAGIC); // f_type
            put(80, flags.statfs_flags()); // f_flags
        }
        Found::Tree(ino) => {
            let info = fs(p).lock().fs_info(ino)?;
            let memory = vessel_rt::memory::usage();
            let (used, free) = (info.usage.bytes / PAGE, memory.free / PAGE);
            let (blocks, bfree) = match info.options.max_pages {
                Some(max) => (max, max.saturating_sub(used)),
                None => (memory.total / PAGE, free),
            };
            let (files, ffree) = match info.options.max_inodes {
                Some(max) => (max, max.saturating_sub(info.usage.inodes)),
                None => (info.usage.inodes + free, free),
            };
            put(0, TMPFS_MAGIC); // f_type
            put(16, blocks); // f_blocks
            put(24, bfree); // f_bfree
            put(32, bfree); // f_bavail
            put(40, files); // f_files
            put(48, ffree); // f_ffree
            put(80, info.flags.statfs_flags()); // f_flags
        }
        // Pipes, the console and devices have no file system here.
        Found::File(_) => return Err(Errno::EINVAL),
    }
    p.memory()
        .space
        .write_bytes(buf, &out)
        .map_err(|_| Errno::EFAULT)?;
    Ok(0)
}

/// `sendfile`: copies from a file of the tree or of `/proc` to any
/// descriptor.
pub fn sendfile(p: &mut Process, out_fd: u64, in_fd: u64, offset: u64, count: u64) -> SysResult {
    let input = p.fds().get(in_fd)?;
    let output = p.fds().get(out_fd)?;
    if !matches!(&**input, File::Node(_) | File::Proc(_)) {
        return Err(Errno::EINVAL);
    }
    let want = count.min(crate::syscall::MAX_IO) as usize;
    if offset == 0 {
        let mut position = position(&input)?;
        let bytes = read_at(&input, *position, want)?;
        let written = output.write(&bytes)?;
        *position += written as u64;
        return Ok(written);
    }
    let mut raw = [0u8; 8];
    p.memory()
        .space
        .read_bytes(offset, &mut raw)
        .map_err(|_| Errno::EFAULT)?;
    let at = i64::from_le_bytes(raw);
    if at < 0 {
        return Err(Errno::EINVAL);
    }
    let bytes = read_at(&input, at as u64, want)?;
    let written = output.write(&bytes)?;
    p.memory()
        .space
        .write_bytes(offset, &(at + written as i64).to_le_bytes())
        .map_err(|_| Errno::EFAULT)?;
    Ok(written)
}

/// The contents of the executable at `path` (for `execve`, and the ELF
/// interpreter a program names): a regular file with an execute bit, on a
/// mount without `noexec`.
pub fn executable(p: &Process, path: &[u8]) -> Result<Vec<u8>, Errno> {
    let Found::Tree(ino) = lookup(p, p.cwd(), path, true)? else {
        return Err(Errno::EACCES);
    };
    read_executable(fs(p), ino)
}

/// [`executable`] before any process exists (the first program's ELF
/// interpreter): `path` is resolved from the root, in the tree only.
pub fn executable_from_root(fs: &FileSystem, path: &[u8]) -> Result<Vec<u8>, Errno> {
    let resolved = fs.lock().resolve(Vfs::ROOT, path, true)?;
    let Resolved::Inode(ino) = resolved else {
        // In `/proc`, where no regular file is.
        return Err(Errno::EACCES);
    };
    read_executable(fs, ino)
}

/// The contents of the file `ino` if it may be executed.
fn read_executable(fs: &FileSystem, ino: Ino) -> Result<Vec<u8>, Errno> {
    let mut vfs = fs.lock();
    let stat = vfs.stat(ino)?;
    if stat.file_type != FileType::Regular || stat.mode & 0o111 == 0 || vfs.mount_flags(ino)?.noexec
    {
        return Err(Errno::EACCES);
    }
    vfs.read(ino, 0, stat.size as usize, now())
}

/// The program `path` names for `execve`: a process's `/proc/PID/exe`
/// (on the way or at the end) is the path of its program, whatever the
/// tree holds; any other path stays as it is.
pub fn program_path(p: &Process, path: &[u8]) -> Vec<u8> {
    let exe = match lookup(p, p.cwd(), path, false) {
        Ok(Found::Proc(_, procfs::Node::PidLink(pid, procfs::PidLink::Exe))) => {
            p.kernel.group(pid).map(|group| group.program().exe.clone())
        }
        _ => None,
    };
    exe.filter(|exe| !exe.is_empty())
        .unwrap_or_else(|| path.to_vec())
}

/// The absolute path of the file `path` names, its symbolic links
/// resolved (what `/proc/PID/exe` shows): `path` itself if that fails.
pub fn real_path(p: &Process, path: &[u8]) -> Vec<u8> {
    let mut path = path.to_vec();
    for _ in 0..MAX_SYMLINKS {
        let (dir, name) = match path.iter().rposition(|&b| b == b'/') {
            Some(0) => (&b"/"[..], &path[1..]),
            Some(at) => (&path[..at], &path[at + 1..]),
            None => (&b"."[..], &path[..]),
        };
        let Ok(Found::Tree(dir)) = lookup(p, p.cwd(), dir, true) else {
            break;
        };
        let vfs = fs(p).lock();
        let (Ok(mut full), Ok(ino)) = (vfs.path_of(dir), vfs.lookup(dir, name, false)) else {
            break;
        };
        if full != b"/" {
            full.push(b'/');
        }
        match vfs.readlink(ino) {
            Ok(target) if target.starts_with(b"/") => path = target,
            Ok(target) => {
                full.extend_from_slice(&target);
                path = full;
            }
            Err(_) => {
                full.extend_from_slice(name);
                return full;
            }
        }
    }
    path
}

/// `mount`: a new tmpfs or procfs on a directory, on top of what is
/// mounted there already (mounts stack). The flags and options are those
/// [`MountFlags`] and [`TmpfsOptions`] implement (others are `EINVAL`);
/// other file system types are `ENODEV`; remounting, bind and move mounts
/// and propagation changes are `EPERM`.
pub fn mount(
    p: &mut Process,
    source: u64,
    target: u64,
    fstype: u64,
    flags: u64,
    data: u64,
) -> SysResult {
    const MS_REMOUNT: u64 = 32;
    const MS_BIND: u64 = 4096;
    const MS_MOVE: u64 = 8192;
    const MS_PROPAGATION: u64 = (1 << 17) | (1 << 18) | (1 << 19) | (1 << 20);
    // The strings first (EFAULT), as Linux copies them before anything.
    let fstype = match fstype {
        0 => None,
        at => Some(read_path(p, at)?),
    };
    let source = match source {
        0 => b"none".to_vec(),
        at => read_path(p, at)?,
    };
    let data = match data {
        0 => Vec::new(),
        // At most a page of options.
        at => read_path(p, at).map_err(|errno| match errno {
            Errno::ENAMETOOLONG => Errno::EINVAL,
            errno => errno,
        })?,
    };
    let target = read_path(p, target)?;
    let point = match lookup(p, p.cwd(), &target, true)? {
        Found::Tree(ino) => ino,
        // On top of a /proc.
        Found::Proc(mount, procfs::Node::Root) => mount,
        Found::Proc(..) => return Err(Errno::EPERM),
        Found::File(_) => return Err(Errno::ENOTDIR),
    };
    if flags & (MS_REMOUNT | MS_BIND | MS_MOVE | MS_PROPAGATION) != 0 {
        return Err(Errno::EPERM);
    }
    let fstype = fstype.ok_or(Errno::EINVAL)?;
    if !matches!(&fstype[..], b"tmpfs" | b"proc") {
        return Err(Errno::ENODEV);
    }
    let mut flags = MountFlags::from_bits(flags)?;
    if fstype == b"tmpfs" {
        let ram = vessel_rt::memory::usage().total;
        let options = TmpfsOptions::parse(&data, ram, &mut flags)?;
        fs(p)
            .lock()
            .mount_tmpfs(point, &source, options, flags, now())?;
    } else {
        flags.apply_generic(&data)?;
        fs(p).lock().mount_foreign(point, &source, flags)?;
    }
    Ok(0)
}

/// `umount2`: unmounts the tmpfs or `/proc` mounted on a directory (the
/// top one where mounts stack). A tmpfs in use (a file open there, a
/// working directory there, a mount inside) is `EBUSY` unless
/// `MNT_DETACH`, which detaches it at once and frees it with the last
/// reference; a `/proc` is always detached at once (what is open there
/// stays usable). `MNT_FORCE` changes nothing, as for Linux's tmpfs and
/// procfs; `MNT_EXPIRE` is `EINVAL` (not implemented). The root is
/// `EBUSY`, a directory that is not a mount `EINVAL`.
pub fn umount2(p: &mut Process, target: u64, flags: u64) -> SysResult {
    const MNT_FORCE: u64 = 1;
    const MNT_DETACH: u64 = 2;
    const UMOUNT_NOFOLLOW: u64 = 8;
    if flags & !(MNT_FORCE | MNT_DETACH | UMOUNT_NOFOLLOW) != 0 {
        return Err(Errno::EINVAL);
    }
    let target = read_path(p, target)?;
    let follow = flags & UMOUNT_NOFOLLOW == 0;
    let dir = match lookup(p, p.cwd(), &target, follow)? {
        Found::Proc(mount, procfs::Node::Root) => mount,
        Found::Tree(Vfs::ROOT) => return Err(Errno::EBUSY),
        Found::Tree(ino) => ino,
        _ => return Err(Errno::EINVAL),
    };
    fs(p).lock().unmount(dir, flags & MNT_DETACH != 0)?;
    Ok(0)
}

/// Hands the host what `vessel run --copy-out` asked for (the guest paths
/// arrive as `VESSEL_COPY_OUT_<slot>` in the kernel's environment): a
/// directory as a cpio archive of its contents, a file as its bytes. A
/// path that does not exist is skipped (the host reports it); a failure is
/// reported on the console.
pub fn copy_out(fs: &FileSystem) {
    for slot in 0u32.. {
        let Ok(path) = vessel_std::env::var(&alloc::format!("VESSEL_COPY_OUT_{slot}")) else {
            break;
        };
        let packed = {
            let mut vfs = fs.lock();
            vfs.lookup(Vfs::ROOT, path.as_bytes(), true)
                .and_then(|ino| match vfs.stat(ino)?.file_type {
                    FileType::Directory => vfs::cpio::pack(&vfs, ino).map(|a| (true, a)),
                    _ => {
                        let size = vfs.stat(ino)?.size as usize;
                        vfs.read(ino, 0, size, now()).map(|b| (false, b))
                    }
                })
        };
        let result = match packed {
            Ok((directory, bytes)) => vessel_rt::platform::copy_out(slot, directory, &bytes)
                .map_err(|status| alloc::format!("the host refused it ({status:?})")),
            Err(Errno::ENOENT) => continue,
            Err(errno) => Err(alloc::format!("{errno}")),
        };
        if let Err(why) = result {
            vessel_std::eprintln!("vessel-linux: cannot copy out {path}: {why}");
        }
    }
}
