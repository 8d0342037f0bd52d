//! Inodes and directories.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;

use super::data::Data;
use super::{FileType, FsId, Ino, Stat, Timespec};
use crate::errno::Errno;

/// Size tmpfs accounts per directory entry (`BOGO_DIRENT_SIZE`): a
/// directory reports `20 * (entries + 2)` bytes, counting `.` and `..`.
const BOGO_DIRENT_SIZE: u64 = 20;

/// One inode.
pub(super) struct Node {
    /// The type, with what only that type has.
    pub(super) kind: Kind,
    /// Permission bits (`0o7777`); the type bits come from `kind`.
    pub(super) perm: u32,
    /// Owner.
    pub(super) uid: u32,
    /// Group.
    pub(super) gid: u32,
    /// Directory entries naming this inode; for a directory, 2 plus its
    /// subdirectories (its own `.` and its entry in the parent), 0 once
    /// removed.
    pub(super) nlink: u64,
    /// References held by the kernel ([`super::Vfs::retain`]): open files,
    /// working directories.
    pub(super) refs: u64,
    /// Last access.
    pub(super) atime: Timespec,
    /// Last modification of the contents.
    pub(super) mtime: Timespec,
    /// Last change of the contents or the metadata.
    pub(super) ctime: Timespec,
    /// The file system it belongs to.
    pub(super) fs: FsId,
}

/// What an inode is, with what only that type has.
pub(super) enum Kind {
    /// A regular file and its bytes.
    Regular(Data),
    /// A directory and its entries.
    Directory(Dir),
    /// A symbolic link and its target (1 to 4095 bytes, no NUL).
    Symlink(Box<[u8]>),
    /// A character device and its device number (`st_rdev` encoding).
    CharDevice(u64),
    /// A named pipe.
    Fifo,
}

impl Node {
    /// A new inode of `kind` in file system `fs`, not yet linked
    /// anywhere.
    pub(super) fn new(
        kind: Kind,
        perm: u32,
        (uid, gid): (u32, u32),
        fs: FsId,
        now: Timespec,
    ) -> Node {
        Node {
            kind,
            perm,
            uid,
            gid,
            nlink: 0,
            refs: 0,
            atime: now,
            mtime: now,
            ctime: now,
            fs,
        }
    }

    /// The file type.
    pub(super) fn file_type(&self) -> FileType {
        match self.kind {
            Kind::Regular(_) => FileType::Regular,
            Kind::Directory(_) => FileType::Directory,
            Kind::Symlink(_) => FileType::Symlink,
            Kind::CharDevice(_) => FileType::CharDevice,
            Kind::Fifo => FileType::Fifo,
        }
    }

    /// Whether this is a directory.
    pub(super) fn is_dir(&self) -> bool {
        matches!(self.kind, Kind::Directory(_))
    }

    /// The directory, or `ENOTDIR`.
    pub(super) fn dir(&self) -> Result<&Dir, Errno> {
        match &self.kind {
            Kind::Directory(dir) => Ok(dir),
            _ => Err(Errno::ENOTDIR),
        }
    }

    /// The directory, or `ENOTDIR`.
    pub(super) fn dir_mut(&mut self) -> Result<&mut Dir, Errno> {
        match &mut self.kind {
            Kind::Directory(dir) => Ok(dir),
            _ => Err(Errno::ENOTDIR),
        }
    }

    /// Records a change of the contents: `mtime` and `ctime`.
    pub(super) fn touch(&mut self, now: Timespec) {
        self.mtime = now;
        self.ctime = now;
    }

    /// The attributes, as inode `ino`.
    pub(super) fn stat(&self, ino: Ino) -> Stat {
        let (size, pages, rdev) = match &self.kind {
            Kind::Regular(data) => (data.size(), data.pages(), 0),
            Kind::Directory(dir) => (BOGO_DIRENT_SIZE * (dir.len() as u64 + 2), 0, 0),
            Kind::Symlink(target) => (target.len() as u64, 0, 0),
            Kind::CharDevice(rdev) => (0, 0, *rdev),
            Kind::Fifo => (0, 0, 0),
        };
        Stat {
            ino,
            file_type: self.file_type(),
            mode: self.file_type().mode_bits() | self.perm,
            nlink: self.nlink,
            uid: self.uid,
            gid: self.gid,
            size,
            blocks: pages * (crate::PAGE_SIZE / 512),
            rdev,
            atime: self.atime,
            mtime: self.mtime,
            ctime: self.ctime,
        }
    }
}

/// The entries of a directory, in a stable order.
///
/// Each entry gets a position when it is added: `.` is 0, `..` is 1, and
/// entries count up from 2, never reused. A `getdents64` offset is such a
/// position, so entries added or removed between two calls neither shift
/// the ones not yet returned nor make them be returned twice (the
/// `readdir` + `unlink` loop of `rm -r`).
pub(super) struct Dir {
    /// The directory holding this one (a file system's root's is itself:
    /// mounts lead out of it, see `mount`). Kept after
    /// removal, so `..` of a removed working directory still leads back.
    pub(super) parent: Ino,
    /// This directory's name in `parent` (empty for the root).
    pub(super) name: Box<[u8]>,
    /// Name to inode and position.
    entries: BTreeMap<Box<[u8]>, (Ino, u64)>,
    /// Position to name.
    order: BTreeMap<u64, Box<[u8]>>,
    /// The position the next entry gets.
    next_position: u64,
}

impl Dir {
    /// An empty directory named `name` in `parent`.
    pub(super) fn new(parent: Ino, name: &[u8]) -> Dir {
        Dir {
            parent,
            name: name.into(),
            entries: BTreeMap::new(),
            order: BTreeMap::new(),
            next_position: 2,
        }
    }

    /// The number of entries (`.` and `..` not counted).
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the directory has no entries but `.` and `..`.
    pub(super) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The inode named `name`.
    pub(super) fn get(&self, name: &[u8]) -> Option<Ino> {
        self.entries.get(name).map(|&(ino, _)| ino)
    }

    /// Adds `name`, which must not exist yet (`EEXIST`), at the next
    /// position (`ENOSPC` once 2^64 positions were used up).
    pub(super) fn insert(&mut self, name: &[u8], ino: Ino) -> Result<(), Errno> {
        if self.entries.contains_key(name) {
            return Err(Errno::EEXIST);
        }
        let position = self.next_position;
        self.next_position = position.checked_add(1).ok_or(Errno::ENOSPC)?;
        self.entries.insert(name.into(), (ino, position));
        self.order.insert(position, name.into());
        Ok(())
    }

    /// Removes `name`, returning the inode it named.
    pub(super) fn remove(&mut self, name: &[u8]) -> Option<Ino> {
        let (ino, position) = self.entries.remove(name)?;
        self.order.remove(&position);
        Some(ino)
    }

    /// Points the existing entry `name` at `ino`, keeping its position;
    /// returns the inode it named before.
    pub(super) fn replace(&mut self, name: &[u8], ino: Ino) -> Option<Ino> {
        let (slot, _) = self.entries.get_mut(name)?;
        Some(core::mem::replace(slot, ino))
    }

    /// The entries as `(position, name, inode)`, by position.
    pub(super) fn iter(&self) -> impl DoubleEndedIterator<Item = (u64, &[u8], Ino)> {
        self.order.iter().filter_map(|(&position, name)| {
            let &(ino, _) = self.entries.get(name)?;
            Some((position, &**name, ino))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn names(dir: &Dir) -> Vec<(u64, &[u8], Ino)> {
        dir.iter().collect()
    }

    #[test]
    fn positions_are_stable_and_never_reused() {
        let mut dir = Dir::new(1, b"d");
        dir.insert(b"b", 10).unwrap();
        dir.insert(b"a", 11).unwrap();
        dir.insert(b"c", 12).unwrap();
        assert_eq!(
            names(&dir),
            [(2, &b"b"[..], 10), (3, b"a", 11), (4, b"c", 12)]
        );
        assert_eq!(dir.remove(b"b"), Some(10));
        dir.insert(b"b", 13).unwrap();
        assert_eq!(
            names(&dir),
            [(3, &b"a"[..], 11), (4, b"c", 12), (5, b"b", 13)]
        );
        assert_eq!(dir.insert(b"a", 14), Err(Errno::EEXIST));
        assert_eq!(dir.len(), 3);
    }

    #[test]
    fn replace_keeps_the_position() {
        let mut dir = Dir::new(1, b"d");
        dir.insert(b"x", 10).unwrap();
        dir.insert(b"y", 11).unwrap();
        assert_eq!(dir.replace(b"x", 20), Some(10));
        assert_eq!(dir.replace(b"z", 20), None);
        assert_eq!(names(&dir), [(2, &b"x"[..], 20), (3, b"y", 11)]);
    }

    #[test]
    fn positions_run_out_with_enospc() {
        let mut dir = Dir::new(1, b"d");
        dir.next_position = u64::MAX;
        assert_eq!(dir.insert(b"x", 10), Err(Errno::ENOSPC));
        assert!(dir.is_empty());
    }
}
