//! The file systems of the tree: the root tmpfs ([`Vfs::ROOT_FS`]) and
//! one more per tmpfs mount ([`Vfs::mount_tmpfs`]). Each has its own root
//! directory, limits, flags and accounting; every inode belongs to one
//! ([`Vfs::fs_of`]), and names never cross between them (`EXDEV`).
//!
//! A file system lives while it is mounted. Once unmounted
//! ([`Vfs::unmount`]) it lives on, detached, while the kernel holds
//! references to its inodes ([`Vfs::retain`]): open files and working
//! directories there stay usable. When the last goes, all its inodes and
//! their data are freed at once.

use super::node::Node;
use super::options::{MountFlags, TmpfsOptions};
use super::{Ino, MountId, Timespec, Usage, Vfs};
use crate::errno::Errno;

/// Identifies a file system of the tree. Ids of file systems that are
/// gone are given again, as Linux gives device numbers again.
pub type FsId = u32;

/// Most file systems alive at once; one more is `EMFILE` (Linux's limit
/// of anonymous device numbers, which each tmpfs takes one of).
pub const MAX_FILE_SYSTEMS: usize = 1 << 20;

/// What [`Vfs::fs_info`] says about a file system (`statfs`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FsInfo {
    /// Which file system.
    pub id: FsId,
    /// What it holds.
    pub usage: Usage,
    /// Its options (limits, root mode and owner).
    pub options: TmpfsOptions,
    /// Its flags.
    pub flags: MountFlags,
}

/// One file system of the tree.
pub(super) struct Fs {
    /// Its root directory.
    pub(super) root: Ino,
    /// Limits, and the mode and owner its root was made with.
    pub(super) options: TmpfsOptions,
    /// How it behaves (read-only, access times, …).
    pub(super) flags: MountFlags,
    /// Data pages its regular files hold.
    pub(super) pages: u64,
    /// Inodes alive in it.
    pub(super) inodes: u64,
    /// References the kernel holds on its inodes, all together.
    pub(super) refs: u64,
    /// The mount that shows it; `None` for the root file system, and once
    /// it is detached.
    pub(super) mount: Option<MountId>,
}

impl Fs {
    /// A file system with root directory `root` (its one inode so far).
    pub(super) fn new(root: Ino, options: TmpfsOptions, flags: MountFlags) -> Fs {
        Fs {
            root,
            options,
            flags,
            pages: 0,
            inodes: 1,
            refs: 0,
            mount: None,
        }
    }
}

impl Vfs {
    /// The file system the tree starts with, whose root is [`Vfs::ROOT`].
    pub const ROOT_FS: FsId = 0;

    /// Limits the root file system's data to `bytes` (rounded down to
    /// whole pages), or lifts the limit. Writes needing a page beyond it
    /// fail with `ENOSPC` (or are short); data already held stays.
    pub fn set_limit(&mut self, bytes: Option<u64>) {
        if let Some(fs) = self.file_systems.get_mut(&Vfs::ROOT_FS) {
            fs.options.max_pages = bytes.map(|bytes| bytes / crate::PAGE_SIZE);
        }
    }

    /// What all file systems of the tree hold together, detached ones
    /// included (the memory files take).
    pub fn usage(&self) -> Usage {
        let pages = self.file_systems.values().map(|fs| fs.pages).sum::<u64>();
        Usage {
            inodes: self.nodes.len() as u64,
            bytes: pages * crate::PAGE_SIZE,
        }
    }

    /// The file system inode `ino` belongs to (`ENOENT` if there is no
    /// such inode).
    pub fn fs_of(&self, ino: Ino) -> Result<FsId, Errno> {
        Ok(self.node(ino)?.fs)
    }

    /// The flags of the file system `ino` belongs to.
    pub fn mount_flags(&self, ino: Ino) -> Result<MountFlags, Errno> {
        Ok(self.fs_record(self.node(ino)?.fs)?.flags)
    }

    /// What the file system `ino` belongs to holds, its options and flags.
    pub fn fs_info(&self, ino: Ino) -> Result<FsInfo, Errno> {
        let id = self.node(ino)?.fs;
        let fs = self.fs_record(id)?;
        Ok(FsInfo {
            id,
            usage: Usage {
                inodes: fs.inodes,
                bytes: fs.pages * crate::PAGE_SIZE,
            },
            options: fs.options.clone(),
            flags: fs.flags,
        })
    }

    // Helpers for the other submodules.

    /// File system `id` (`ENOENT` if it is gone).
    pub(super) fn fs_record(&self, id: FsId) -> Result<&Fs, Errno> {
        self.file_systems.get(&id).ok_or(Errno::ENOENT)
    }

    /// `EROFS` if the file system `ino` belongs to is read-only.
    pub(super) fn check_writable(&self, ino: Ino) -> Result<(), Errno> {
        if self.mount_flags(ino)?.read_only {
            Err(Errno::EROFS)
        } else {
            Ok(())
        }
    }

    /// Whether a read at `now` updates the access time of `node`.
    pub(super) fn updates_atime(&self, node: &Node, now: Timespec) -> bool {
        self.fs_record(node.fs).is_ok_and(|fs| {
            fs.flags
                .updates_atime(node.is_dir(), [node.atime, node.mtime, node.ctime], now)
        })
    }

    /// How many more data pages file system `id` allows.
    pub(super) fn free_pages(&self, id: FsId) -> u64 {
        self.fs_record(id).map_or(0, |fs| {
            fs.options
                .max_pages
                .map_or(u64::MAX, |max| max.saturating_sub(fs.pages))
        })
    }

    /// Records `added` more and `freed` fewer data pages in file system
    /// `id`.
    pub(super) fn count_pages(&mut self, id: FsId, added: u64, freed: u64) {
        if let Some(fs) = self.file_systems.get_mut(&id) {
            fs.pages = fs.pages.saturating_add(added).saturating_sub(freed);
        }
    }

    /// Takes one inode of file system `id`'s allowance (`ENOSPC` if none
    /// is left).
    pub(super) fn reserve_inode(&mut self, id: FsId) -> Result<(), Errno> {
        let fs = self.file_systems.get_mut(&id).ok_or(Errno::ENOENT)?;
        if fs.options.max_inodes.is_some_and(|max| fs.inodes >= max) {
            return Err(Errno::ENOSPC);
        }
        fs.inodes += 1;
        Ok(())
    }

    /// Gives back an inode taken with [`Vfs::reserve_inode`].
    pub(super) fn unreserve_inode(&mut self, id: FsId) {
        if let Some(fs) = self.file_systems.get_mut(&id) {
            fs.inodes = fs.inodes.saturating_sub(1);
        }
    }

    /// Adds `delta` (±1) to the references held on file system `id`'s
    /// inodes; a detached one is freed when they reach 0.
    pub(super) fn count_ref(&mut self, id: FsId, delta: i64) {
        if let Some(fs) = self.file_systems.get_mut(&id) {
            fs.refs = fs.refs.saturating_add_signed(delta);
        }
        self.free_fs_if_unused(id);
    }

    /// The smallest id no file system has (`EMFILE` past
    /// [`MAX_FILE_SYSTEMS`]).
    pub(super) fn free_fs_id(&self) -> Result<FsId, Errno> {
        if self.file_systems.len() >= MAX_FILE_SYSTEMS {
            return Err(Errno::EMFILE);
        }
        // Ids are dense from 0: the first gap, or the next after them.
        let mut next: FsId = 0;
        for &id in self.file_systems.keys() {
            if id != next {
                break;
            }
            next += 1;
        }
        Ok(next)
    }

    /// Frees file system `id` with all its inodes if it is detached and
    /// nothing references it any more.
    pub(super) fn free_fs_if_unused(&mut self, id: FsId) {
        let unused = self
            .file_systems
            .get(&id)
            .is_some_and(|fs| id != Vfs::ROOT_FS && fs.mount.is_none() && fs.refs == 0);
        if unused {
            self.nodes.retain(|_, node| node.fs != id);
            self.file_systems.remove(&id);
        }
    }

    /// The inodes of file system `id`, for tests.
    #[cfg(test)]
    pub(super) fn inodes_of(&self, id: FsId) -> alloc::vec::Vec<Ino> {
        self.nodes
            .iter()
            .filter(|(_, node)| node.fs == id)
            .map(|(&ino, _)| ino)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vfs::{Atime, FileType, OpenOptions, RenameFlags};

    const T0: Timespec = Timespec { secs: 10, nanos: 0 };
    const T1: Timespec = Timespec { secs: 20, nanos: 0 };
    const T2: Timespec = Timespec { secs: 30, nanos: 0 };
    const ROOT: Ino = Vfs::ROOT;
    const WRITE: OpenOptions = OpenOptions {
        create: false,
        exclusive: false,
        truncate: false,
        directory: false,
        nofollow: false,
        write: true,
    };
    const CREATE: OpenOptions = OpenOptions {
        create: true,
        ..WRITE
    };

    /// A tree with `/mnt` and a tmpfs mounted there with `data` and
    /// `flags`; returns it and the mounted root.
    fn mounted(data: &str, flags: MountFlags) -> (Vfs, Ino) {
        let mut vfs = Vfs::new(T0);
        let mnt = vfs.mkdir(ROOT, b"mnt", 0o755, 0, 0, T0).unwrap();
        let mut flags = flags;
        let options = TmpfsOptions::parse(data.as_bytes(), 1 << 30, &mut flags).unwrap();
        vfs.mount_tmpfs(mnt, b"none", options, flags, T0).unwrap();
        let root = vfs.lookup(ROOT, b"/mnt", true).unwrap();
        (vfs, root)
    }

    #[test]
    fn size_limits_data_per_file_system() {
        let (mut vfs, root) = mounted("size=8k", MountFlags::default());
        let f = vfs.open(root, b"f", CREATE, 0o644, 0, 0, T1).unwrap();
        assert_eq!(vfs.write(f, 0, &[1; 10000], T1), Ok(8192));
        assert_eq!(vfs.write(f, 8192, b"x", T1), Err(Errno::ENOSPC));
        // The root file system has no limit.
        let g = vfs.open(ROOT, b"g", CREATE, 0o644, 0, 0, T1).unwrap();
        assert_eq!(vfs.write(g, 0, &[1; 10000], T1), Ok(10000));
        let info = vfs.fs_info(f).unwrap();
        assert_eq!(
            info.usage,
            Usage {
                inodes: 2,
                bytes: 8192
            }
        );
        assert_eq!(info.options.max_pages, Some(2));
        assert_eq!(vfs.fs_info(g).unwrap().usage.bytes, 3 * 4096);
        assert_eq!(
            vfs.usage(),
            Usage {
                inodes: 5,
                bytes: 5 * 4096
            }
        );
        vfs.truncate(f, 0, T1).unwrap();
        assert_eq!(vfs.fs_info(f).unwrap().usage.bytes, 0);
    }

    #[test]
    fn nr_inodes_limits_inodes() {
        let (mut vfs, root) = mounted("nr_inodes=3", MountFlags::default());
        // The root is one.
        vfs.mkdir(root, b"d", 0o755, 0, 0, T1).unwrap();
        vfs.symlink(b"d", root, b"l", 0, 0, T1).unwrap();
        assert_eq!(
            vfs.open(root, b"f", CREATE, 0o644, 0, 0, T1),
            Err(Errno::ENOSPC)
        );
        assert_eq!(
            vfs.mknod(root, b"p", FileType::Fifo, 0o644, 0, 0, 0, T1),
            Err(Errno::ENOSPC)
        );
        // EEXIST first, and links take no inode.
        assert_eq!(vfs.mkdir(root, b"d", 0o755, 0, 0, T1), Err(Errno::EEXIST));
        vfs.link(root, b"l", root, b"l2", false, T1).unwrap();
        vfs.unlink(root, b"l", T1).unwrap();
        vfs.unlink(root, b"l2", T1).unwrap();
        vfs.open(root, b"f", CREATE, 0o644, 0, 0, T1).unwrap();
        assert_eq!(vfs.fs_info(root).unwrap().usage.inodes, 3);
    }

    #[test]
    fn read_only_refuses_changes_with_erofs() {
        let (vfs, root) = mounted("ro", MountFlags::default());
        assert!(vfs.mount_flags(root).unwrap().read_only);
        // A read-only tmpfs starts empty: fill a read-write one, then make
        // it read-only.
        let (mut vfs, root) = mounted("", MountFlags::default());
        let f = vfs.open(root, b"f", CREATE, 0o644, 0, 0, T0).unwrap();
        let id = vfs.fs_of(root).unwrap();
        if let Some(fs) = vfs.file_systems.get_mut(&id) {
            fs.flags.read_only = true;
        }
        let flags = RenameFlags::default();
        assert_eq!(vfs.open(root, b"f", WRITE, 0, 0, 0, T1), Err(Errno::EROFS));
        assert_eq!(
            vfs.open(root, b"new", CREATE, 0, 0, 0, T1),
            Err(Errno::EROFS)
        );
        let read = OpenOptions::default();
        assert_eq!(vfs.open(root, b"f", read, 0, 0, 0, T1), Ok(f));
        assert_eq!(vfs.open(root, b"f", CREATE, 0, 0, 0, T1), Err(Errno::EROFS));
        assert_eq!(vfs.mkdir(root, b"d", 0o755, 0, 0, T1), Err(Errno::EROFS));
        // EEXIST before EROFS, EROFS before ENOENT.
        assert_eq!(vfs.mkdir(root, b"f", 0o755, 0, 0, T1), Err(Errno::EEXIST));
        assert_eq!(vfs.unlink(root, b"nope", T1), Err(Errno::EROFS));
        assert_eq!(vfs.rmdir(root, b"nope", T1), Err(Errno::EROFS));
        assert_eq!(vfs.rmdir(root, b".", T1), Err(Errno::EINVAL));
        assert_eq!(vfs.symlink(b"x", root, b"l", 0, 0, T1), Err(Errno::EROFS));
        assert_eq!(
            vfs.link(root, b"f", root, b"g", false, T1),
            Err(Errno::EROFS)
        );
        assert_eq!(
            vfs.rename(root, b"f", root, b"g", flags, T1),
            Err(Errno::EROFS)
        );
        assert_eq!(
            vfs.rename(root, b"f", root, b".", flags, T1),
            Err(Errno::EBUSY)
        );
        assert_eq!(vfs.write(f, 0, b"x", T1), Err(Errno::EROFS));
        assert_eq!(vfs.truncate(f, 0, T1), Err(Errno::EROFS));
        assert_eq!(vfs.truncate(root, 0, T1), Err(Errno::EISDIR));
        assert_eq!(vfs.chmod(f, 0o600, T1), Err(Errno::EROFS));
        assert_eq!(vfs.chown(f, Some(1), None, T1), Err(Errno::EROFS));
        assert_eq!(vfs.set_times(f, Some(T1), None, T1), Err(Errno::EROFS));
        // Reading works, and leaves the access time alone.
        assert_eq!(vfs.read(f, 0, 10, T2), Ok(Vec::new()));
        let st = vfs.stat(f).unwrap();
        assert_eq!((st.atime, st.mode), (T0, 0o100_644));
        // The file system outside is writable still.
        assert!(vfs.mkdir(ROOT, b"d", 0o755, 0, 0, T1).is_ok());
    }

    #[test]
    fn access_times_follow_the_flags() {
        let read_at = |flags: MountFlags| {
            let (mut vfs, root) = mounted("", flags);
            let f = vfs.open(root, b"f", CREATE, 0o644, 0, 0, T0).unwrap();
            vfs.write(f, 0, b"x", T0).unwrap();
            vfs.read(f, 0, 1, T1).unwrap();
            let first = vfs.stat(f).unwrap().atime;
            vfs.read(f, 0, 1, T2).unwrap();
            (first, vfs.stat(f).unwrap().atime)
        };
        let with = |atime| MountFlags {
            atime,
            ..MountFlags::default()
        };
        assert_eq!(read_at(with(Atime::Strict)), (T1, T2));
        // relatime: once after each change (or a day).
        assert_eq!(read_at(with(Atime::Relative)), (T1, T1));
        assert_eq!(read_at(with(Atime::Never)), (T0, T0));
    }

    #[test]
    fn file_system_ids_are_dense() {
        let mut vfs = Vfs::new(T0);
        let flags = MountFlags::default();
        let mut ids = Vec::new();
        for name in [&b"a"[..], b"b", b"c"] {
            let dir = vfs.mkdir(ROOT, name, 0o755, 0, 0, T0).unwrap();
            let options = TmpfsOptions::defaults(1 << 30);
            ids.push(vfs.mount_tmpfs(dir, b"t", options, flags, T0).unwrap());
        }
        assert_eq!(ids, [1, 2, 3]);
        let b = vfs.lookup(ROOT, b"/b", true).unwrap();
        vfs.unmount(b, false).unwrap();
        assert_eq!(vfs.free_fs_id(), Ok(2));
        assert_eq!(vfs.fs_of(ROOT), Ok(Vfs::ROOT_FS));
        assert_eq!(vfs.fs_of(999), Err(Errno::ENOENT));
    }
}
