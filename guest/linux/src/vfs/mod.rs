//! An in-memory file system (tmpfs): inodes, path resolution and the
//! operations behind Linux's file system calls, and [`cpio`] archives to
//! fill it from an initramfs or to save it.
//!
//! [`Vfs`] is plain data. It does no locking (the kernel wraps the whole
//! `Vfs` in one mutex), reads no clock (every call that changes a time
//! takes `now`) and checks no permissions (credentials are the kernel's;
//! calls that create a file take its owner). Inodes are named by [`Ino`];
//! an inode number is never reused while the `Vfs` lives, so a stale one
//! fails with `ENOENT` instead of reaching another file.
//!
//! Failures are the [`Errno`]s Linux reports for the same request on tmpfs,
//! checked in the order Linux checks them (`fs/namei.c`, `mm/shmem.c`,
//! `fs/libfs.c`), so software probing for a particular error sees it.
//!
//! An inode lives while a directory entry names it (`nlink > 0`) or the
//! kernel holds a reference to it ([`Vfs::retain`], for open files and
//! working directories): a file unlinked while open stays readable and
//! writable until its last [`Vfs::release`]. A directory removed while
//! referenced is empty for good: lookups and creations in it fail with
//! `ENOENT`, as do [`Vfs::read_dir`] and [`Vfs::path_of`], while `..`
//! still leads to its former parent.
//!
//! The parts:
//! * `path`: path syntax, limits ([`PATH_MAX`], [`NAME_MAX`],
//!   [`MAX_SYMLINKS`]) and the walk to a path's last component.
//! * `superblock`: the file systems of the tree (the root tmpfs and one
//!   per tmpfs mount): each inode's, with its limits, flags and accounting.
//! * `mount`: mounting them, and foreign ones (the kernel's procfs) where
//!   walks stop ([`Vfs::resolve`] says where, and with what rest of the
//!   path); stacking, `..` out of a mounted root, unmounting (lazily too).
//! * `options`: `mount`'s flags ([`MountFlags`]) and tmpfs's options
//!   ([`TmpfsOptions`]), parsed and shown as Linux does.
//! * `namespace`: resolving, creating, linking, unlinking and renaming
//!   names ([`Vfs::lookup`], [`Vfs::open`], [`Vfs::rename`], …).
//! * `node`: inodes and directories; `data`: the sparse contents of
//!   regular files.
//! * This module: the types, and the calls on an inode ([`Vfs::read`],
//!   [`Vfs::write`], [`Vfs::stat`], …).
//! * [`cpio`]: the SVR4 "newc" archive format.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use crate::errno::Errno;

pub mod cpio;
mod data;
mod mount;
mod namespace;
mod node;
mod options;
mod path;
mod superblock;

pub use cpio::CpioError;
pub use mount::{MAX_MOUNTS, MountEntry, MountId, Resolved};
pub use options::{Atime, MountFlags, TmpfsOptions};
pub use path::{MAX_SYMLINKS, NAME_MAX, PATH_MAX};
pub use superblock::{FsId, FsInfo, MAX_FILE_SYSTEMS};

use node::{Dir, Kind, Node};

/// An inode number.
pub type Ino = u64;

/// Largest size of a regular file (Linux's `MAX_LFS_FILESIZE`, what tmpfs
/// allows): a write or truncate beyond it fails with `EFBIG`.
pub const MAX_FILE_SIZE: u64 = i64::MAX as u64;

/// File type bits of `st_mode` (`S_IFMT`).
const S_IFMT: u32 = 0o170_000;
/// Set-user-ID bit.
const S_ISUID: u32 = 0o4000;
/// Set-group-ID bit.
const S_ISGID: u32 = 0o2000;
/// Group execute bit.
const S_IXGRP: u32 = 0o010;
/// The permission bits a mode may carry (`S_IALLUGO`).
const PERM_MASK: u32 = 0o7777;

/// A point in time: seconds and nanoseconds since the Unix epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timespec {
    /// Seconds (negative before 1970).
    pub secs: i64,
    /// Nanoseconds, below 1 000 000 000.
    pub nanos: u32,
}

/// The type of an inode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileType {
    /// A regular file.
    Regular,
    /// A directory.
    Directory,
    /// A symbolic link.
    Symlink,
    /// A character device.
    CharDevice,
    /// A named pipe.
    Fifo,
}

impl FileType {
    /// The type's `S_IFMT` bits of `st_mode` (`S_IFREG`, `S_IFDIR`, …).
    pub const fn mode_bits(self) -> u32 {
        match self {
            FileType::Fifo => 0o010_000,
            FileType::CharDevice => 0o020_000,
            FileType::Directory => 0o040_000,
            FileType::Regular => 0o100_000,
            FileType::Symlink => 0o120_000,
        }
    }

    /// The type a mode's `S_IFMT` bits name; `None` for block devices,
    /// sockets and values that are no type.
    pub const fn from_mode(mode: u32) -> Option<FileType> {
        match mode & S_IFMT {
            0o010_000 => Some(FileType::Fifo),
            0o020_000 => Some(FileType::CharDevice),
            0o040_000 => Some(FileType::Directory),
            0o100_000 => Some(FileType::Regular),
            0o120_000 => Some(FileType::Symlink),
            _ => None,
        }
    }

    /// The `d_type` of a `getdents64` record (`DT_REG`, `DT_DIR`, …).
    pub const fn dirent_type(self) -> u8 {
        match self {
            FileType::Fifo => 1,
            FileType::CharDevice => 2,
            FileType::Directory => 4,
            FileType::Regular => 8,
            FileType::Symlink => 10,
        }
    }
}

/// Encodes a device number as `st_rdev` does (glibc's `makedev`; equal to
/// Linux's `new_encode_dev` for majors below 4096).
pub const fn makedev(major: u32, minor: u32) -> u64 {
    let (major, minor) = (major as u64, minor as u64);
    ((major & 0xffff_f000) << 32)
        | ((major & 0xfff) << 8)
        | ((minor & 0xffff_ff00) << 12)
        | (minor & 0xff)
}

/// The major number of a device number made by [`makedev`].
pub const fn dev_major(dev: u64) -> u32 {
    (((dev >> 32) & 0xffff_f000) | ((dev >> 8) & 0xfff)) as u32
}

/// The minor number of a device number made by [`makedev`].
pub const fn dev_minor(dev: u64) -> u32 {
    (((dev >> 12) & 0xffff_ff00) | (dev & 0xff)) as u32
}

/// The attributes of an inode, as `stat` reports them (`st_dev` and
/// `st_blksize` are the kernel's).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stat {
    /// Inode number.
    pub ino: Ino,
    /// File type.
    pub file_type: FileType,
    /// The full `st_mode`: type bits and permission bits.
    pub mode: u32,
    /// Number of names (for a directory: 2 plus its subdirectories).
    pub nlink: u64,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Size in bytes: a regular file's length, a symbolic link's target
    /// length, tmpfs's 20 bytes per entry for a directory (`.` and `..`
    /// included), 0 for devices and pipes.
    pub size: u64,
    /// 512-byte units of data actually held (holes are free).
    pub blocks: u64,
    /// Device number of a character device ([`makedev`]), else 0.
    pub rdev: u64,
    /// Last access.
    pub atime: Timespec,
    /// Last modification of the contents.
    pub mtime: Timespec,
    /// Last change of the contents or attributes.
    pub ctime: Timespec,
}

/// One entry of a directory listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    /// The inode it names.
    pub ino: Ino,
    /// The name (no `/`, no NUL).
    pub name: Vec<u8>,
    /// The type of that inode.
    pub file_type: FileType,
    /// The entry's position in the directory: `.` is 0, `..` is 1, the
    /// others count up in the order they were added, and a position is
    /// never reused. Use it, not the index in the listing, as the
    /// directory offset: resuming at offset `o` means skipping entries
    /// whose `offset < o`, and `d_off` of an entry is its `offset + 1`.
    /// Entries added or removed in between then neither shift the rest nor
    /// repeat them.
    pub offset: u64,
}

/// How [`Vfs::open`] opens (the file system part of `open`'s flags).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpenOptions {
    /// `O_CREAT`: create a regular file if the name is missing.
    pub create: bool,
    /// `O_EXCL` (with `create`): fail with `EEXIST` if the name exists,
    /// even as a symbolic link, which is then not followed.
    pub exclusive: bool,
    /// `O_TRUNC`: empty an existing regular file.
    pub truncate: bool,
    /// `O_DIRECTORY`: fail with `ENOTDIR` unless the result is a
    /// directory.
    pub directory: bool,
    /// `O_NOFOLLOW`: fail with `ELOOP` if the last component is a
    /// symbolic link.
    pub nofollow: bool,
    /// The access mode includes writing (`O_WRONLY` or `O_RDWR`).
    pub write: bool,
}

/// `renameat2` flags.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RenameFlags {
    /// `RENAME_NOREPLACE`: fail with `EEXIST` if the new name exists.
    pub noreplace: bool,
    /// `RENAME_EXCHANGE`: swap the two names, which must both exist.
    pub exchange: bool,
}

/// What a file system holds ([`Vfs::fs_info`]), or all of them
/// ([`Vfs::usage`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Usage {
    /// Inodes alive (including unlinked ones still referenced).
    pub inodes: u64,
    /// Bytes of file data held: whole pages, holes excluded.
    pub bytes: u64,
}

/// An in-memory file system: a tree of inodes under [`Vfs::ROOT`], and
/// the tmpfs file systems mounted in it.
pub struct Vfs {
    nodes: BTreeMap<Ino, Node>,
    /// The number the next inode gets.
    next_ino: Ino,
    /// The file systems: the root one, mounted and detached ones.
    file_systems: BTreeMap<superblock::FsId, superblock::Fs>,
    /// The mounts, by id.
    mounts: BTreeMap<MountId, mount::Mount>,
    /// Mount points and the mounts on each, the visible one last.
    covered: BTreeMap<Ino, Vec<MountId>>,
    /// The id the next mount gets.
    next_mount: MountId,
}

impl Vfs {
    /// The root directory.
    pub const ROOT: Ino = 1;

    /// An empty file system: the root directory, mode `0o755`, owned by
    /// user and group 0; no limits, read-write, access times `relatime`.
    pub fn new(now: Timespec) -> Vfs {
        let root_fs = superblock::Fs::new(
            Vfs::ROOT,
            TmpfsOptions::unlimited(0o755),
            MountFlags::default(),
        );
        let kind = Kind::Directory(Dir::new(Vfs::ROOT, b""));
        let mut root = Node::new(kind, 0o755, (0, 0), Vfs::ROOT_FS, now);
        root.nlink = 2;
        Vfs {
            nodes: BTreeMap::from([(Vfs::ROOT, root)]),
            next_ino: Vfs::ROOT + 1,
            file_systems: BTreeMap::from([(Vfs::ROOT_FS, root_fs)]),
            mounts: BTreeMap::new(),
            covered: BTreeMap::new(),
            next_mount: 1,
        }
    }

    /// The attributes of `ino` (`ENOENT` if it does not exist).
    pub fn stat(&self, ino: Ino) -> Result<Stat, Errno> {
        Ok(self.node(ino)?.stat(ino))
    }

    /// The target of symbolic link `ino` (`EINVAL` if it is not one).
    pub fn readlink(&self, ino: Ino) -> Result<Vec<u8>, Errno> {
        self.node(ino)?;
        self.symlink_target(ino)
            .map(<[u8]>::to_vec)
            .ok_or(Errno::EINVAL)
    }

    /// Reads up to `buf_len` bytes at `offset` of regular file `ino`: short
    /// at the end of the file, empty at or past it; holes read as zeros.
    /// Unless `buf_len` is 0, sets the access time as the file system's
    /// flags say ([`MountFlags::updates_atime`]). Fails with `EISDIR` for
    /// a directory, `EINVAL` for other non-regular files.
    ///
    /// The result is allocated, so the caller bounds `buf_len` (by the
    /// user buffer, or by reading in chunks).
    pub fn read(
        &mut self,
        ino: Ino,
        offset: u64,
        buf_len: usize,
        now: Timespec,
    ) -> Result<Vec<u8>, Errno> {
        let bytes = self.read_noatime(ino, offset, buf_len)?;
        let node = self.node(ino)?;
        if buf_len != 0 && self.updates_atime(node, now) {
            self.node_mut(ino)?.atime = now;
        }
        Ok(bytes)
    }

    /// Reads as [`Vfs::read`] does, leaving the access time (`O_NOATIME`).
    pub fn read_noatime(&self, ino: Ino, offset: u64, buf_len: usize) -> Result<Vec<u8>, Errno> {
        match &self.node(ino)?.kind {
            Kind::Regular(data) => Ok(data.read(offset, buf_len)),
            Kind::Directory(_) => Err(Errno::EISDIR),
            _ => Err(Errno::EINVAL),
        }
    }

    /// Writes `data` at `offset` of regular file `ino`, extending it; a
    /// gap before `offset` becomes a hole. Returns the bytes written, fewer
    /// than asked when the write would cross [`MAX_FILE_SIZE`] or the
    /// limit runs out midway. Sets the modification and change times.
    ///
    /// An empty write does nothing. Fails with `EISDIR` for a directory,
    /// `EINVAL` for other non-regular files, `EROFS` on a read-only file
    /// system, `EFBIG` at or past [`MAX_FILE_SIZE`], `ENOSPC` if the
    /// limit allows no byte at all.
    pub fn write(
        &mut self,
        ino: Ino,
        offset: u64,
        data: &[u8],
        now: Timespec,
    ) -> Result<usize, Errno> {
        let fs = self.node(ino)?.fs;
        let budget = self.free_pages(fs);
        let read_only = self.check_writable(ino);
        let node = self.node_mut(ino)?;
        let file = match &mut node.kind {
            Kind::Regular(file) => file,
            Kind::Directory(_) => return Err(Errno::EISDIR),
            _ => return Err(Errno::EINVAL),
        };
        if data.is_empty() {
            return Ok(0);
        }
        read_only?;
        if offset >= MAX_FILE_SIZE {
            return Err(Errno::EFBIG);
        }
        let room = MAX_FILE_SIZE - offset;
        let len = usize::try_from(room).map_or(data.len(), |room| room.min(data.len()));
        let before = file.pages();
        let written = file.write(offset, &data[..len], budget);
        let added = file.pages() - before;
        if written == 0 {
            return Err(Errno::ENOSPC);
        }
        node.touch(now);
        self.count_pages(fs, added, 0);
        Ok(written)
    }

    /// Sets the size of regular file `ino` to `len`: shrinking frees the
    /// pages past the end, growing adds a hole. Sets the modification and
    /// change times if the size changes. Fails with `EISDIR` for a
    /// directory, `EINVAL` for other non-regular files, `EROFS` on a
    /// read-only file system, `EFBIG` past [`MAX_FILE_SIZE`].
    pub fn truncate(&mut self, ino: Ino, len: u64, now: Timespec) -> Result<(), Errno> {
        let read_only = self.check_writable(ino);
        let node = self.node_mut(ino)?;
        let fs = node.fs;
        let file = match &mut node.kind {
            Kind::Regular(file) => file,
            Kind::Directory(_) => return Err(Errno::EISDIR),
            _ => return Err(Errno::EINVAL),
        };
        read_only?;
        if len > MAX_FILE_SIZE {
            return Err(Errno::EFBIG);
        }
        if len != file.size() {
            let freed = file.truncate(len);
            node.touch(now);
            self.count_pages(fs, 0, freed);
        }
        Ok(())
    }

    /// Lists directory `ino`: `.` and `..` first, then the entries in the
    /// order they were added (see [`DirEntry::offset`]). Fails with
    /// `ENOTDIR` for a non-directory, `ENOENT` for a removed directory.
    /// Does not set the access time.
    pub fn read_dir(&self, ino: Ino) -> Result<Vec<DirEntry>, Errno> {
        let dir = self.live_dir(ino)?;
        let mut entries = Vec::with_capacity(dir.len() + 2);
        for (offset, name, ino) in [(0, &b"."[..], ino), (1, b"..", dir.parent)] {
            let file_type = FileType::Directory;
            entries.push(DirEntry {
                ino,
                name: name.to_vec(),
                file_type,
                offset,
            });
        }
        for (offset, name, ino) in dir.iter() {
            let file_type = self.node(ino)?.file_type();
            entries.push(DirEntry {
                ino,
                name: name.to_vec(),
                file_type,
                offset,
            });
        }
        Ok(entries)
    }

    /// Sets the permission bits (`0o7777`) and the change time. Fails with
    /// `EROFS` on a read-only file system, then `EOPNOTSUPP` for a
    /// symbolic link, whose mode is always `0o777`.
    pub fn chmod(&mut self, ino: Ino, mode: u32, now: Timespec) -> Result<(), Errno> {
        self.check_writable(ino)?;
        let node = self.node_mut(ino)?;
        if let Kind::Symlink(_) = node.kind {
            return Err(Errno::EOPNOTSUPP);
        }
        node.perm = mode & PERM_MASK;
        node.ctime = now;
        Ok(())
    }

    /// Sets the owner and/or group (`None` keeps it) and the change time.
    /// As on Linux, this clears the set-user-ID bit of a non-directory, and
    /// its set-group-ID bit if group execute is set. `EROFS` on a
    /// read-only file system.
    pub fn chown(
        &mut self,
        ino: Ino,
        uid: Option<u32>,
        gid: Option<u32>,
        now: Timespec,
    ) -> Result<(), Errno> {
        self.check_writable(ino)?;
        let node = self.node_mut(ino)?;
        if let Some(uid) = uid {
            node.uid = uid;
        }
        if let Some(gid) = gid {
            node.gid = gid;
        }
        if !node.is_dir() {
            node.perm &= !S_ISUID;
            if node.perm & S_IXGRP != 0 {
                node.perm &= !S_ISGID;
            }
        }
        node.ctime = now;
        Ok(())
    }

    /// Sets the access and/or modification time (`None` keeps it, like
    /// `UTIME_OMIT`) and, unless both are `None`, the change time. Fails
    /// with `EINVAL` for nanoseconds out of range, then `EROFS` on a
    /// read-only file system.
    pub fn set_times(
        &mut self,
        ino: Ino,
        atime: Option<Timespec>,
        mtime: Option<Timespec>,
        now: Timespec,
    ) -> Result<(), Errno> {
        if [atime, mtime]
            .into_iter()
            .flatten()
            .any(|t| t.nanos >= 1_000_000_000)
        {
            return Err(Errno::EINVAL);
        }
        self.check_writable(ino)?;
        let node = self.node_mut(ino)?;
        if atime.is_none() && mtime.is_none() {
            return Ok(());
        }
        if let Some(atime) = atime {
            node.atime = atime;
        }
        if let Some(mtime) = mtime {
            node.mtime = mtime;
        }
        node.ctime = now;
        Ok(())
    }

    /// The absolute path of directory `ino`, for `getcwd` (through the
    /// mount points of the file systems on the way). Fails with `ENOTDIR`
    /// for a non-directory, `ENOENT` once it was removed or its file
    /// system detached (unreachable), `ENAMETOOLONG` if the path exceeds
    /// 4095 bytes.
    pub fn path_of(&self, ino: Ino) -> Result<Vec<u8>, Errno> {
        let mut names = Vec::new();
        let mut len = 0;
        let mut dir = ino;
        // A live directory's parents lead to the root in fewer steps than
        // there are inodes and mounts; the bound only guards the loop.
        for _ in 0..self.nodes.len() + self.mounts.len() {
            if dir == Vfs::ROOT {
                break;
            }
            let this = self.live_dir(dir)?;
            if this.parent == dir {
                // The root of a mounted file system: on to its mount point.
                dir = self.mount_point_of(dir).ok_or(Errno::ENOENT)?;
                continue;
            }
            len += this.name.len() + 1;
            names.push(&this.name);
            dir = this.parent;
        }
        if dir != Vfs::ROOT {
            return Err(Errno::ENOENT);
        }
        self.live_dir(Vfs::ROOT)?;
        if len >= PATH_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        if names.is_empty() {
            return Ok(b"/".to_vec());
        }
        let mut path = Vec::with_capacity(len);
        for name in names.iter().rev() {
            path.push(b'/');
            path.extend_from_slice(name);
        }
        Ok(path)
    }

    /// A path naming `ino` (any type): the first name found walking its
    /// file system from its root; `None` if no name is left (a file
    /// unlinked while open, or its file system detached) or the path
    /// would be too long. Directories are found at once
    /// ([`Vfs::path_of`]); other files take a search of their file
    /// system, so this is for rare questions (what a descriptor refers
    /// to).
    pub fn find_path(&self, ino: Ino) -> Option<Vec<u8>> {
        let node = self.node(ino).ok()?;
        if node.is_dir() {
            return self.path_of(ino).ok();
        }
        let root = self.file_systems.get(&node.fs)?.root;
        let mut prefix = self.path_of(root).ok()?;
        if prefix == b"/" {
            prefix.clear();
        }
        let mut stack = alloc::vec![(root, prefix)];
        while let Some((dir, path)) = stack.pop() {
            let Ok(entries) = self.live_dir(dir) else {
                continue;
            };
            for (_, name, child) in entries.iter() {
                let mut child_path = path.clone();
                child_path.push(b'/');
                child_path.extend_from_slice(name);
                if child_path.len() >= PATH_MAX {
                    continue;
                }
                if child == ino {
                    return Some(child_path);
                }
                if self.node(child).is_ok_and(Node::is_dir) {
                    stack.push((child, child_path));
                }
            }
        }
        None
    }

    /// What `..` of directory `dir` leads to: its parent (the root's is
    /// the root; a removed directory's is the one it was removed from; a
    /// mounted root's is its mount point's), and what is mounted there.
    /// Fails with `ENOTDIR` for a non-directory, `ENOENT` if that parent
    /// is gone too.
    pub fn parent_of(&self, dir: Ino) -> Result<Ino, Errno> {
        self.dotdot(dir)
    }

    /// Takes a reference to `ino` (an open file, a working directory): it
    /// stays alive, even with no name left, until the matching
    /// [`Vfs::release`]. No effect on an inode that does not exist.
    pub fn retain(&mut self, ino: Ino) {
        if let Some(node) = self.nodes.get_mut(&ino) {
            node.refs = node.refs.saturating_add(1);
            let fs = node.fs;
            self.count_ref(fs, 1);
        }
    }

    /// Drops a reference taken with [`Vfs::retain`], freeing the inode if
    /// it was the last and no name is left, and its file system if that
    /// is detached and this was the last reference to it.
    pub fn release(&mut self, ino: Ino) {
        if let Some(node) = self.nodes.get_mut(&ino)
            && node.refs > 0
        {
            node.refs -= 1;
            let fs = node.fs;
            self.free_if_unused(ino);
            self.count_ref(fs, -1);
        }
    }

    // Helpers for the submodules.

    /// Inode `ino`, or `ENOENT`.
    fn node(&self, ino: Ino) -> Result<&Node, Errno> {
        self.nodes.get(&ino).ok_or(Errno::ENOENT)
    }

    /// Inode `ino`, or `ENOENT`.
    fn node_mut(&mut self, ino: Ino) -> Result<&mut Node, Errno> {
        self.nodes.get_mut(&ino).ok_or(Errno::ENOENT)
    }

    /// Directory `ino` if it was not removed: `ENOTDIR`, `ENOENT`.
    fn live_dir(&self, ino: Ino) -> Result<&Dir, Errno> {
        let node = self.node(ino)?;
        let dir = node.dir()?;
        if node.nlink == 0 {
            return Err(Errno::ENOENT);
        }
        Ok(dir)
    }

    /// The entry `name` of directory `dir`: `Ok(None)` if there is none,
    /// `ENOENT` in a removed directory, `ENAMETOOLONG` for a name over
    /// [`NAME_MAX`] bytes.
    fn child(&self, dir: Ino, name: &[u8]) -> Result<Option<Ino>, Errno> {
        let dir = self.live_dir(dir)?;
        if name.len() > NAME_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        Ok(dir.get(name))
    }

    /// What `..` of directory `dir` is: [`Vfs::up`], then onto what is
    /// mounted there.
    fn dotdot(&self, dir: Ino) -> Result<Ino, Errno> {
        Ok(self.crossed(self.up(dir)?))
    }

    /// The target of `ino` if it is a symbolic link.
    fn symlink_target(&self, ino: Ino) -> Option<&[u8]> {
        match &self.nodes.get(&ino)?.kind {
            Kind::Symlink(target) => Some(target),
            _ => None,
        }
    }

    /// Frees `ino` if nothing names or references it any more.
    fn free_if_unused(&mut self, ino: Ino) {
        let unused = self
            .nodes
            .get(&ino)
            .is_some_and(|node| node.nlink == 0 && node.refs == 0);
        if !unused {
            return;
        }
        if let Some(node) = self.nodes.remove(&ino) {
            if let Kind::Regular(data) = &node.kind {
                self.count_pages(node.fs, 0, data.pages());
            }
            self.unreserve_inode(node.fs);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Timespec = Timespec {
        secs: 100,
        nanos: 0,
    };
    const T1: Timespec = Timespec {
        secs: 200,
        nanos: 5,
    };
    const T2: Timespec = Timespec {
        secs: 300,
        nanos: 7,
    };

    fn create(vfs: &mut Vfs, path: &[u8]) -> Ino {
        let options = OpenOptions {
            create: true,
            write: true,
            ..Default::default()
        };
        vfs.open(Vfs::ROOT, path, options, 0o644, 1000, 1000, T0)
            .unwrap()
    }

    #[test]
    fn new_has_a_root() {
        let vfs = Vfs::new(T0);
        let st = vfs.stat(Vfs::ROOT).unwrap();
        assert_eq!(st.file_type, FileType::Directory);
        assert_eq!(st.mode, 0o040_755);
        assert_eq!((st.uid, st.gid, st.nlink, st.size), (0, 0, 2, 40));
        assert_eq!((st.atime, st.mtime, st.ctime), (T0, T0, T0));
        assert_eq!(
            vfs.usage(),
            Usage {
                inodes: 1,
                bytes: 0,
            }
        );
        assert_eq!(vfs.stat(12345), Err(Errno::ENOENT));
    }

    #[test]
    fn file_types_map_to_linux_numbers() {
        for ft in [
            FileType::Regular,
            FileType::Directory,
            FileType::Symlink,
            FileType::CharDevice,
            FileType::Fifo,
        ] {
            assert_eq!(FileType::from_mode(ft.mode_bits() | 0o755), Some(ft));
        }
        assert_eq!(FileType::Regular.mode_bits(), 0o100_000);
        assert_eq!(FileType::Symlink.dirent_type(), 10);
        assert_eq!(FileType::Directory.dirent_type(), 4);
        assert_eq!(FileType::from_mode(0o060_644), None); // block device
        assert_eq!(FileType::from_mode(0o140_644), None); // socket
        assert_eq!(FileType::from_mode(0o644), None);
    }

    #[test]
    fn device_numbers_encode_like_glibc() {
        assert_eq!(makedev(1, 3), 0x103);
        assert_eq!(makedev(136, 0x1234), 0x0120_8834);
        let dev = makedev(0xabcde, 0x1234_5678);
        assert_eq!((dev_major(dev), dev_minor(dev)), (0xabcde, 0x1234_5678));
    }

    #[test]
    fn write_read_and_times() {
        let mut vfs = Vfs::new(T0);
        let f = create(&mut vfs, b"f");
        assert_eq!(vfs.write(f, 0, b"hello world", T1), Ok(11));
        let st = vfs.stat(f).unwrap();
        assert_eq!(
            (st.size, st.blocks, st.mtime, st.ctime, st.atime),
            (11, 8, T1, T1, T0)
        );
        assert_eq!(vfs.read_noatime(f, 0, 5).unwrap(), b"hello");
        assert_eq!(vfs.stat(f).unwrap().atime, T0);
        assert_eq!(vfs.read(f, 6, 100, T2).unwrap(), b"world");
        assert_eq!(vfs.stat(f).unwrap().atime, T2);
        assert_eq!(vfs.read(f, 11, 10, T2).unwrap(), b"");
        assert_eq!(vfs.read(f, u64::MAX, 10, T2).unwrap(), b"");
        // Zero-length calls change nothing.
        assert_eq!(vfs.read(f, 0, 0, T0).unwrap(), b"");
        assert_eq!(vfs.write(f, u64::MAX, b"", T0), Ok(0));
        let st = vfs.stat(f).unwrap();
        assert_eq!((st.atime, st.mtime), (T2, T1));
    }

    #[test]
    fn read_and_write_refuse_non_files() {
        let mut vfs = Vfs::new(T0);
        let d = vfs.mkdir(Vfs::ROOT, b"d", 0o755, 0, 0, T0).unwrap();
        let p = vfs
            .mknod(Vfs::ROOT, b"p", FileType::Fifo, 0o644, 0, 0, 0, T0)
            .unwrap();
        assert_eq!(vfs.read(d, 0, 1, T0), Err(Errno::EISDIR));
        assert_eq!(vfs.write(d, 0, b"x", T0), Err(Errno::EISDIR));
        assert_eq!(vfs.truncate(d, 0, T0), Err(Errno::EISDIR));
        assert_eq!(vfs.read(p, 0, 1, T0), Err(Errno::EINVAL));
        assert_eq!(vfs.write(p, 0, b"x", T0), Err(Errno::EINVAL));
        assert_eq!(vfs.truncate(p, 0, T0), Err(Errno::EINVAL));
        assert_eq!(vfs.read(999, 0, 1, T0), Err(Errno::ENOENT));
    }

    #[test]
    fn sparse_write_at_a_huge_offset_costs_one_page() {
        let mut vfs = Vfs::new(T0);
        let f = create(&mut vfs, b"sparse");
        let tib = 1 << 40;
        assert_eq!(vfs.write(f, tib, b"x", T1), Ok(1));
        let st = vfs.stat(f).unwrap();
        assert_eq!((st.size, st.blocks), (tib + 1, 8));
        assert_eq!(vfs.usage().bytes, 4096);
        assert_eq!(vfs.read(f, tib - 3, 10, T1).unwrap(), b"\0\0\0x");
        assert_eq!(vfs.read(f, 1 << 30, 4, T1).unwrap(), [0; 4]);
    }

    #[test]
    fn maximum_file_size_gives_efbig() {
        let mut vfs = Vfs::new(T0);
        let f = create(&mut vfs, b"big");
        assert_eq!(vfs.write(f, MAX_FILE_SIZE, b"x", T1), Err(Errno::EFBIG));
        assert_eq!(vfs.write(f, u64::MAX, b"x", T1), Err(Errno::EFBIG));
        // A write crossing the limit is cut short at it.
        assert_eq!(vfs.write(f, MAX_FILE_SIZE - 2, b"abcd", T1), Ok(2));
        assert_eq!(vfs.stat(f).unwrap().size, MAX_FILE_SIZE);
        assert_eq!(vfs.truncate(f, MAX_FILE_SIZE + 1, T1), Err(Errno::EFBIG));
        assert_eq!(vfs.truncate(f, 0, T1), Ok(()));
        assert_eq!(vfs.usage().bytes, 0);
    }

    #[test]
    fn truncate_shrinks_then_grows_with_zeros() {
        let mut vfs = Vfs::new(T0);
        let f = create(&mut vfs, b"f");
        vfs.write(f, 0, &[0xaa; 10000], T0).unwrap();
        assert_eq!(vfs.usage().bytes, 3 * 4096);
        vfs.truncate(f, 5000, T1).unwrap();
        assert_eq!(vfs.usage().bytes, 2 * 4096);
        let st = vfs.stat(f).unwrap();
        assert_eq!((st.size, st.mtime, st.ctime), (5000, T1, T1));
        vfs.truncate(f, 10000, T2).unwrap();
        let bytes = vfs.read(f, 0, 20000, T2).unwrap();
        assert_eq!(bytes.len(), 10000);
        assert!(bytes[..5000].iter().all(|&b| b == 0xaa));
        assert!(bytes[5000..].iter().all(|&b| b == 0));
        assert_eq!(vfs.usage().bytes, 2 * 4096);
        // Same size: times stay.
        vfs.truncate(f, 10000, T0).unwrap();
        assert_eq!(vfs.stat(f).unwrap().mtime, T2);
    }

    #[test]
    fn limit_gives_short_writes_then_enospc() {
        let mut vfs = Vfs::new(T0);
        vfs.set_limit(Some(2 * 4096 + 100));
        let f = create(&mut vfs, b"f");
        assert_eq!(vfs.write(f, 4000, &[1; 10000], T1), Ok(2 * 4096 - 4000));
        assert_eq!(vfs.write(f, 3 * 4096, b"x", T1), Err(Errno::ENOSPC));
        // Rewriting held pages still works; freeing makes room.
        assert_eq!(vfs.write(f, 0, b"abc", T1), Ok(3));
        vfs.truncate(f, 0, T1).unwrap();
        assert_eq!(vfs.write(f, 3 * 4096, b"x", T1), Ok(1));
        assert_eq!(
            vfs.usage(),
            Usage {
                inodes: 2,
                bytes: 4096,
            }
        );
        let info = vfs.fs_info(f).unwrap();
        assert_eq!((info.id, info.usage), (Vfs::ROOT_FS, vfs.usage()));
        assert_eq!(info.options.max_pages, Some(2));
        vfs.set_limit(None);
        assert_eq!(vfs.fs_info(f).unwrap().options.max_pages, None);
    }

    #[test]
    fn chmod_chown_and_set_times() {
        let mut vfs = Vfs::new(T0);
        let f = create(&mut vfs, b"f");
        vfs.chmod(f, 0o106_755, T1).unwrap();
        let st = vfs.stat(f).unwrap();
        assert_eq!((st.mode, st.ctime), (0o100_000 | 0o6755, T1));
        // chown clears set-user-ID, and set-group-ID as group execute is set.
        vfs.chown(f, Some(5), None, T2).unwrap();
        let st = vfs.stat(f).unwrap();
        assert_eq!(
            (st.uid, st.gid, st.mode & 0o7777, st.ctime),
            (5, 1000, 0o755, T2)
        );
        vfs.chmod(f, 0o2640, T0).unwrap();
        vfs.chown(f, None, Some(7), T0).unwrap();
        assert_eq!(vfs.stat(f).unwrap().mode & 0o7777, 0o2640);
        // Directories keep both bits.
        let d = vfs.mkdir(Vfs::ROOT, b"d", 0o6755, 0, 0, T0).unwrap();
        vfs.chmod(d, 0o6755, T0).unwrap();
        vfs.chown(d, Some(1), Some(1), T0).unwrap();
        assert_eq!(vfs.stat(d).unwrap().mode & 0o7777, 0o6755);

        let l = vfs.symlink(b"f", Vfs::ROOT, b"l", 0, 0, T0).unwrap();
        assert_eq!(vfs.chmod(l, 0o600, T1), Err(Errno::EOPNOTSUPP));
        assert_eq!(vfs.chown(l, Some(3), Some(4), T1), Ok(()));

        vfs.set_times(f, Some(T1), None, T2).unwrap();
        let st = vfs.stat(f).unwrap();
        assert_eq!((st.atime, st.mtime, st.ctime), (T1, T0, T2));
        vfs.set_times(f, None, None, T0).unwrap();
        assert_eq!(vfs.stat(f).unwrap().ctime, T2);
        let bad = Timespec {
            secs: 0,
            nanos: 1_000_000_000,
        };
        assert_eq!(vfs.set_times(f, None, Some(bad), T0), Err(Errno::EINVAL));
        assert_eq!(vfs.set_times(999, Some(T0), None, T0), Err(Errno::ENOENT));
    }

    #[test]
    fn readlink_needs_a_symlink() {
        let mut vfs = Vfs::new(T0);
        let l = vfs
            .symlink(b"../some/where", Vfs::ROOT, b"l", 0, 0, T0)
            .unwrap();
        assert_eq!(vfs.readlink(l).unwrap(), b"../some/where");
        let st = vfs.stat(l).unwrap();
        assert_eq!((st.mode, st.size), (0o120_777, 13));
        assert_eq!(vfs.readlink(Vfs::ROOT), Err(Errno::EINVAL));
        assert_eq!(vfs.readlink(999), Err(Errno::ENOENT));
    }

    #[test]
    fn read_dir_lists_dots_first_then_in_order_added() {
        let mut vfs = Vfs::new(T0);
        let d = vfs.mkdir(Vfs::ROOT, b"d", 0o755, 0, 0, T0).unwrap();
        let z = vfs.mkdir(d, b"z", 0o755, 0, 0, T0).unwrap();
        let a = create(&mut vfs, b"d/a");
        let l = vfs.symlink(b"a", d, b"m", 0, 0, T0).unwrap();
        let listing = vfs.read_dir(d).unwrap();
        let got: Vec<_> = listing
            .iter()
            .map(|e| (e.name.as_slice(), e.ino, e.file_type, e.offset))
            .collect();
        assert_eq!(
            got,
            [
                (&b"."[..], d, FileType::Directory, 0),
                (b"..", Vfs::ROOT, FileType::Directory, 1),
                (b"z", z, FileType::Directory, 2),
                (b"a", a, FileType::Regular, 3),
                (b"m", l, FileType::Symlink, 4),
            ]
        );
        assert_eq!(vfs.stat(d).unwrap().size, 5 * 20);
        // The root's ".." is the root.
        assert_eq!(vfs.read_dir(Vfs::ROOT).unwrap()[1].ino, Vfs::ROOT);
        assert_eq!(vfs.read_dir(a), Err(Errno::ENOTDIR));
    }

    #[test]
    fn offsets_survive_removal_during_listing() {
        // The `rm -r` pattern: list a batch, unlink it, list from the next
        // offset. No entry may be skipped.
        let mut vfs = Vfs::new(T0);
        let d = vfs.mkdir(Vfs::ROOT, b"d", 0o755, 0, 0, T0).unwrap();
        for i in 0..10u8 {
            vfs.mknod(d, &[b'f', b'0' + i], FileType::Regular, 0o644, 0, 0, 0, T0)
                .unwrap();
        }
        let mut pos = 0;
        let mut seen = 0;
        loop {
            let batch: Vec<DirEntry> = vfs
                .read_dir(d)
                .unwrap()
                .into_iter()
                .filter(|e| e.offset >= pos)
                .take(3)
                .collect();
            if batch.is_empty() {
                break;
            }
            for e in &batch {
                pos = e.offset + 1;
                if e.name != b"." && e.name != b".." {
                    vfs.unlink(d, &e.name, T1).unwrap();
                    seen += 1;
                }
            }
        }
        assert_eq!(seen, 10);
        assert_eq!(vfs.rmdir(Vfs::ROOT, b"d", T1), Ok(()));
    }

    #[test]
    fn unlinked_open_file_lives_until_released() {
        let mut vfs = Vfs::new(T0);
        let f = create(&mut vfs, b"f");
        vfs.write(f, 0, b"data", T0).unwrap();
        vfs.retain(f);
        vfs.retain(f);
        vfs.unlink(Vfs::ROOT, b"f", T1).unwrap();
        assert_eq!(vfs.lookup(Vfs::ROOT, b"f", true), Err(Errno::ENOENT));
        assert_eq!(vfs.stat(f).unwrap().nlink, 0);
        assert_eq!(vfs.read(f, 0, 10, T1).unwrap(), b"data");
        assert_eq!(vfs.write(f, 4, b"!", T1), Ok(1));
        vfs.release(f);
        assert_eq!(vfs.read(f, 0, 10, T1).unwrap(), b"data!");
        assert_eq!(
            vfs.usage(),
            Usage {
                inodes: 2,
                bytes: 4096,
            }
        );
        vfs.release(f);
        assert_eq!(vfs.stat(f), Err(Errno::ENOENT));
        assert_eq!(
            vfs.usage(),
            Usage {
                inodes: 1,
                bytes: 0,
            }
        );
        // Stray calls on a freed inode are harmless.
        vfs.release(f);
        vfs.retain(f);
        assert_eq!(vfs.usage().inodes, 1);
    }

    #[test]
    fn unreferenced_file_is_freed_on_unlink() {
        let mut vfs = Vfs::new(T0);
        let f = create(&mut vfs, b"f");
        vfs.write(f, 0, b"data", T0).unwrap();
        vfs.unlink(Vfs::ROOT, b"f", T1).unwrap();
        assert_eq!(vfs.stat(f), Err(Errno::ENOENT));
        assert_eq!(vfs.usage().bytes, 0);
    }

    #[test]
    fn path_of_follows_renames() {
        let mut vfs = Vfs::new(T0);
        assert_eq!(vfs.path_of(Vfs::ROOT).unwrap(), b"/");
        let a = vfs.mkdir(Vfs::ROOT, b"a", 0o755, 0, 0, T0).unwrap();
        let b = vfs.mkdir(a, b"b", 0o755, 0, 0, T0).unwrap();
        let c = vfs.mkdir(b, b"c", 0o755, 0, 0, T0).unwrap();
        assert_eq!(vfs.path_of(c).unwrap(), b"/a/b/c");
        vfs.rename(Vfs::ROOT, b"a", Vfs::ROOT, b"x", RenameFlags::default(), T1)
            .unwrap();
        assert_eq!(vfs.path_of(c).unwrap(), b"/x/b/c");
        vfs.rename(
            Vfs::ROOT,
            b"x/b",
            Vfs::ROOT,
            b"y",
            RenameFlags::default(),
            T1,
        )
        .unwrap();
        assert_eq!(vfs.path_of(c).unwrap(), b"/y/c");
        assert_eq!(vfs.parent_of(b), Ok(Vfs::ROOT));
        assert_eq!(vfs.parent_of(Vfs::ROOT), Ok(Vfs::ROOT));
        let f = create(&mut vfs, b"f");
        assert_eq!(vfs.path_of(f), Err(Errno::ENOTDIR));
        assert_eq!(vfs.parent_of(f), Err(Errno::ENOTDIR));
    }

    #[test]
    fn removed_working_directory() {
        let mut vfs = Vfs::new(T0);
        let a = vfs.mkdir(Vfs::ROOT, b"a", 0o755, 0, 0, T0).unwrap();
        let gone = vfs.mkdir(a, b"gone", 0o755, 0, 0, T0).unwrap();
        vfs.retain(gone);
        vfs.rmdir(a, b"gone", T1).unwrap();
        assert_eq!(vfs.stat(gone).unwrap().nlink, 0);
        assert_eq!(vfs.stat(a).unwrap().nlink, 2);
        assert_eq!(vfs.path_of(gone), Err(Errno::ENOENT));
        assert_eq!(vfs.read_dir(gone), Err(Errno::ENOENT));
        assert_eq!(vfs.lookup(gone, b"x", true), Err(Errno::ENOENT));
        assert_eq!(vfs.mkdir(gone, b"x", 0o755, 0, 0, T1), Err(Errno::ENOENT));
        let create = OpenOptions {
            create: true,
            ..Default::default()
        };
        assert_eq!(
            vfs.open(gone, b"x", create, 0o644, 0, 0, T1),
            Err(Errno::ENOENT)
        );
        // "." is itself, ".." still leads back.
        assert_eq!(vfs.lookup(gone, b".", true), Ok(gone));
        assert_eq!(vfs.lookup(gone, b"..", true), Ok(a));
        assert_eq!(vfs.parent_of(gone), Ok(a));
        vfs.release(gone);
        assert_eq!(vfs.stat(gone), Err(Errno::ENOENT));
    }

    #[test]
    fn path_of_refuses_paths_over_path_max() {
        let mut vfs = Vfs::new(T0);
        let name = [b'n'; 255];
        let mut dir = Vfs::ROOT;
        for _ in 0..15 {
            dir = vfs.mkdir(dir, &name, 0o755, 0, 0, T0).unwrap();
        }
        assert_eq!(vfs.path_of(dir).unwrap().len(), 15 * 256);
        let dir = vfs.mkdir(dir, &name, 0o755, 0, 0, T0).unwrap();
        assert_eq!(vfs.path_of(dir), Err(Errno::ENAMETOOLONG));
    }
}
