//! Mounts: directories of the tree where another file system shows.
//!
//! Two kinds. A tmpfs of this tree ([`Vfs::mount_tmpfs`]: a new file
//! system with its own root, see `superblock`) is entered by walks as
//! Linux enters a mount: the mount point leads to its root, and `..` of
//! that root to the mount point's parent. A foreign file system, which
//! the tree knows nothing of (the kernel's procfs, [`Vfs::mount_foreign`]),
//! stops walks: [`Vfs::resolve`] reports the mount point and the rest of
//! the path for the kernel to walk there, and every other call that walks
//! a path fails with `EXDEV` (the kernel turns that into the error Linux
//! gives for the operation on that file system).
//!
//! What a mount hides stays as it was and shows again when the mount
//! goes; a working directory that was in there stays there, and relative
//! paths from it see the hidden files (as on Linux). Mounts stack: a new
//! mount where one is already visible goes on top of it (on the root of
//! the tmpfs there, or on the same directory as the foreign mount), and
//! unmounting the top one shows the one below. A mount point cannot be
//! removed or renamed (`EBUSY`) while something is mounted on it.
//!
//! Unmounting ([`Vfs::unmount`]) a tmpfs that is in use (an inode of it
//! retained, or a mount inside it) is `EBUSY`, unless lazy: then it is
//! detached with every mount inside it, and lives on unreachable by path
//! until the last reference goes (see `superblock`). A foreign mount is
//! always unmounted at once: the tree cannot tell whether it is in use.

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;

use super::node::{Dir, Kind, Node};
use super::options::{MountFlags, TmpfsOptions};
use super::path::Walk;
use super::superblock::{Fs, FsId};
use super::{Ino, Timespec, Vfs};
use crate::errno::Errno;

/// Identifies a mount: later mounts have larger ids.
pub type MountId = u64;

/// Most mounts at once (Linux's default `fs.mount-max`); one more is
/// `ENOSPC`.
pub const MAX_MOUNTS: usize = 100_000;

/// Where a path leads ([`Vfs::resolve`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolved {
    /// An inode of this tree.
    Inode(Ino),
    /// Into the foreign file system mounted on directory `dir`: `rest` is
    /// the path left to walk from its root (empty for the root itself).
    Mounted {
        /// The mount point.
        dir: Ino,
        /// The rest of the path, relative to the mounted root.
        rest: Vec<u8>,
    },
}

/// A mount, as [`Vfs::mounts`] lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MountEntry<'a> {
    /// Its id.
    pub id: MountId,
    /// The directory it is mounted on.
    pub point: Ino,
    /// What `mount` was given as the source (`none`, `proc`, …).
    pub source: &'a [u8],
    /// Its flags.
    pub flags: MountFlags,
    /// For a tmpfs, its id and options; `None` for a foreign file system.
    pub tmpfs: Option<(FsId, &'a TmpfsOptions)>,
}

/// One mount.
pub(super) struct Mount {
    /// The directory it is on.
    point: Ino,
    /// The source `mount` was given.
    source: Box<[u8]>,
    /// What is mounted.
    what: What,
}

/// What is mounted.
#[derive(Clone, Copy)]
enum What {
    /// A tmpfs of this tree.
    Tmpfs(FsId),
    /// A file system the kernel walks, with these flags.
    Foreign(MountFlags),
}

impl Vfs {
    /// Mounts a new, empty tmpfs on directory `dir`: its root gets the
    /// mode and owner of `options`, which also sets its limits; `source`
    /// is what `/proc/mounts` names it by. Returns the new file system.
    ///
    /// Fails with `ENOTDIR` for a non-directory, `ENOENT` for a removed
    /// one, `EINVAL` for a directory of a detached file system, `ENOSPC`
    /// past [`MAX_MOUNTS`] mounts, `EMFILE` past
    /// [`super::MAX_FILE_SYSTEMS`] file systems.
    pub fn mount_tmpfs(
        &mut self,
        dir: Ino,
        source: &[u8],
        options: TmpfsOptions,
        flags: MountFlags,
        now: Timespec,
    ) -> Result<FsId, Errno> {
        self.check_mount_point(dir)?;
        let id = self.free_fs_id()?;
        let root = self.next_ino;
        let next_ino = root.checked_add(1).ok_or(Errno::ENOSPC)?;
        let kind = Kind::Directory(Dir::new(root, b""));
        let mut node = Node::new(kind, options.mode, (options.uid, options.gid), id, now);
        node.nlink = 2;
        self.nodes.insert(root, node);
        self.next_ino = next_ino;
        let mut fs = Fs::new(root, options, flags);
        fs.mount = Some(self.add_mount(dir, source, What::Tmpfs(id)));
        self.file_systems.insert(id, fs);
        Ok(id)
    }

    /// Mounts a foreign file system (with `flags`) on directory `dir`:
    /// walks stop there. Fails as [`Vfs::mount_tmpfs`].
    pub fn mount_foreign(
        &mut self,
        dir: Ino,
        source: &[u8],
        flags: MountFlags,
    ) -> Result<MountId, Errno> {
        self.check_mount_point(dir)?;
        Ok(self.add_mount(dir, source, What::Foreign(flags)))
    }

    /// Unmounts what a path reaching directory `dir` shows: the foreign
    /// file system on top of `dir` if there is one, else the tmpfs whose
    /// root `dir` is (`EINVAL` if neither: not a mount).
    ///
    /// A tmpfs that is in use (an inode of it retained, or a mount inside
    /// it) is `EBUSY`, unless `lazy` (`MNT_DETACH`): then it and every
    /// mount inside it are detached at once, and each is freed when
    /// nothing references it any more.
    pub fn unmount(&mut self, dir: Ino, lazy: bool) -> Result<(), Errno> {
        if let Some(id) = self.top(dir)
            && self.foreign_flags(dir).is_some()
        {
            self.detach(id);
            return Ok(());
        }
        let fs_id = self.node(dir)?.fs;
        let fs = self.fs_record(fs_id)?;
        let Some(id) = fs.mount.filter(|_| fs.root == dir) else {
            return Err(Errno::EINVAL);
        };
        if !lazy && (fs.refs > 0 || !self.mounts_in(fs_id).is_empty()) {
            return Err(Errno::EBUSY);
        }
        self.detach(id);
        Ok(())
    }

    /// Whether something is mounted on `ino`.
    pub fn is_mount_point(&self, ino: Ino) -> bool {
        !self.covered.is_empty() && self.covered.contains_key(&ino)
    }

    /// The flags of the foreign file system walks stop at on `ino`, if
    /// one is mounted there, on top.
    pub fn foreign_flags(&self, ino: Ino) -> Option<MountFlags> {
        match self.mounts.get(&self.top(ino)?)?.what {
            What::Foreign(flags) => Some(flags),
            What::Tmpfs(_) => None,
        }
    }

    /// The mounts, oldest first (as `/proc/mounts` lists them; the root
    /// file system is not one).
    pub fn mounts(&self) -> impl Iterator<Item = MountEntry<'_>> {
        self.mounts.iter().filter_map(|(&id, mount)| {
            let (flags, tmpfs) = match mount.what {
                What::Tmpfs(fs_id) => {
                    let fs = self.file_systems.get(&fs_id)?;
                    (fs.flags, Some((fs_id, &fs.options)))
                }
                What::Foreign(flags) => (flags, None),
            };
            Some(MountEntry {
                id,
                point: mount.point,
                source: &mount.source,
                flags,
                tmpfs,
            })
        })
    }

    /// Resolves `path` like [`Vfs::lookup`], but where the walk reaches a
    /// foreign mount point (on the way, or as the last component) says
    /// so, with the rest of the path, instead of failing.
    pub fn resolve(&self, cwd: Ino, path: &[u8], follow_last: bool) -> Result<Resolved, Errno> {
        let mut walk = Walk::new(self, cwd, path)?;
        loop {
            let last = match walk.parent() {
                Ok(last) => last,
                Err(Errno::EXDEV) if self.foreign_flags(walk.dir()).is_some() => {
                    return Ok(Resolved::Mounted {
                        dir: walk.dir(),
                        rest: walk.rest(),
                    });
                }
                Err(errno) => return Err(errno),
            };
            let ino = self.last_ino(&last)?.ok_or(Errno::ENOENT)?;
            if let Some(target) = self.symlink_target(ino)
                && (follow_last || last.trailing_slash)
            {
                walk.follow(target)?;
                continue;
            }
            if self.foreign_flags(ino).is_some() {
                return Ok(Resolved::Mounted {
                    dir: ino,
                    rest: Vec::new(),
                });
            }
            if last.trailing_slash && !self.node(ino)?.is_dir() {
                return Err(Errno::ENOTDIR);
            }
            return Ok(Resolved::Inode(ino));
        }
    }

    // Helpers for the other submodules.

    /// What a walk stepping into directory `dir` reaches: the root of the
    /// tmpfs visible there (through every mount stacked on it), or `dir`
    /// itself; `Err` with the mount point where a foreign file system is
    /// on top.
    pub(super) fn cross(&self, dir: Ino) -> Result<Ino, Ino> {
        let mut dir = dir;
        // Each step goes one mount up: bounded by their number.
        for _ in 0..=self.mounts.len() {
            let Some(mount) = self.top(dir).and_then(|id| self.mounts.get(&id)) else {
                break;
            };
            match mount.what {
                What::Tmpfs(fs) => match self.file_systems.get(&fs) {
                    Some(fs) => dir = fs.root,
                    None => break,
                },
                What::Foreign(_) => return Err(dir),
            }
        }
        Ok(dir)
    }

    /// [`Vfs::cross`], stopping at a foreign mount point alike.
    pub(super) fn crossed(&self, dir: Ino) -> Ino {
        self.cross(dir).unwrap_or_else(|point| point)
    }

    /// The parent of directory `dir` before mounts on it are crossed: out
    /// of the roots of mounted file systems to their mount points first;
    /// the tree's root, and a detached file system's, are their own
    /// parents.
    pub(super) fn up(&self, dir: Ino) -> Result<Ino, Errno> {
        let mut dir = dir;
        for _ in 0..=self.mounts.len() {
            let parent = self.node(dir)?.dir()?.parent;
            if parent != dir {
                self.node(parent)?;
                return Ok(parent);
            }
            match self.mount_point_of(dir) {
                Some(point) => dir = point,
                None => break,
            }
        }
        Ok(dir)
    }

    /// The mount point of the tmpfs whose root `root` is, if it is
    /// mounted.
    pub(super) fn mount_point_of(&self, root: Ino) -> Option<Ino> {
        let fs = self.file_systems.get(&self.nodes.get(&root)?.fs)?;
        if fs.root != root {
            return None;
        }
        Some(self.mounts.get(&fs.mount?)?.point)
    }

    /// The visible mount on `ino`.
    fn top(&self, ino: Ino) -> Option<MountId> {
        if self.covered.is_empty() {
            return None;
        }
        self.covered.get(&ino)?.last().copied()
    }

    /// Checks that a mount may go on `dir`: a live directory of a mounted
    /// file system, with room for one more mount.
    fn check_mount_point(&self, dir: Ino) -> Result<(), Errno> {
        self.live_dir(dir)?;
        let fs_id = self.node(dir)?.fs;
        if fs_id != Vfs::ROOT_FS && self.fs_record(fs_id)?.mount.is_none() {
            return Err(Errno::EINVAL);
        }
        if self.mounts.len() >= MAX_MOUNTS {
            return Err(Errno::ENOSPC);
        }
        Ok(())
    }

    /// Records a mount of `what` on top of `dir`.
    fn add_mount(&mut self, dir: Ino, source: &[u8], what: What) -> MountId {
        let id = self.next_mount;
        self.next_mount += 1;
        let source = source.into();
        self.mounts.insert(
            id,
            Mount {
                point: dir,
                source,
                what,
            },
        );
        self.covered.entry(dir).or_default().push(id);
        id
    }

    /// The mounts whose mount points are in file system `fs`.
    fn mounts_in(&self, fs: FsId) -> Vec<MountId> {
        self.mounts
            .iter()
            .filter(|(_, mount)| self.nodes.get(&mount.point).is_some_and(|n| n.fs == fs))
            .map(|(&id, _)| id)
            .collect()
    }

    /// Takes mount `id` away with every mount inside it; a tmpfs nothing
    /// references any more is freed.
    fn detach(&mut self, id: MountId) {
        let mut work = vec![id];
        while let Some(id) = work.pop() {
            let Some(mount) = self.mounts.remove(&id) else {
                continue;
            };
            if let Some(stack) = self.covered.get_mut(&mount.point) {
                stack.retain(|&other| other != id);
                if stack.is_empty() {
                    self.covered.remove(&mount.point);
                }
            }
            if let What::Tmpfs(fs) = mount.what {
                work.extend(self.mounts_in(fs));
                if let Some(record) = self.file_systems.get_mut(&fs) {
                    record.mount = None;
                }
                self.free_fs_if_unused(fs);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vfs::{OpenOptions, RenameFlags, Timespec};

    const T0: Timespec = Timespec { secs: 10, nanos: 0 };
    const ROOT: Ino = Vfs::ROOT;

    /// `/proc` mounted, `/tmp/f` a file, `/tmp/p -> /proc`, `/tmp/s ->
    /// /proc/self`.
    fn tree() -> (Vfs, Ino) {
        let mut vfs = Vfs::new(T0);
        let proc = vfs.mkdir(ROOT, b"proc", 0o555, 0, 0, T0).unwrap();
        vfs.mkdir(ROOT, b"tmp", 0o777, 0, 0, T0).unwrap();
        let create = OpenOptions {
            create: true,
            write: true,
            ..OpenOptions::default()
        };
        vfs.open(ROOT, b"tmp/f", create, 0o644, 0, 0, T0).unwrap();
        vfs.symlink(b"/proc", ROOT, b"tmp/p", 0, 0, T0).unwrap();
        vfs.symlink(b"/proc/self", ROOT, b"tmp/s", 0, 0, T0)
            .unwrap();
        vfs.mount_foreign(proc, b"proc", MountFlags::default())
            .unwrap();
        (vfs, proc)
    }

    fn mounted(dir: Ino, rest: &[u8]) -> Resolved {
        Resolved::Mounted {
            dir,
            rest: rest.to_vec(),
        }
    }

    #[test]
    fn resolve_stops_at_mount_points() {
        let (vfs, proc) = tree();
        let tmp = vfs.lookup(ROOT, b"/tmp", true).unwrap();
        let f = vfs.lookup(ROOT, b"/tmp/f", true).unwrap();
        assert_eq!(vfs.resolve(ROOT, b"/tmp/f", true), Ok(Resolved::Inode(f)));
        assert_eq!(vfs.resolve(ROOT, b"/proc", true), Ok(mounted(proc, b"")));
        assert_eq!(vfs.resolve(ROOT, b"proc/", true), Ok(mounted(proc, b"")));
        assert_eq!(
            vfs.resolve(ROOT, b"/proc/self/stat", true),
            Ok(mounted(proc, b"self/stat"))
        );
        assert_eq!(
            vfs.resolve(tmp, b"../proc//1/fd/", false),
            Ok(mounted(proc, b"1/fd/"))
        );
        assert_eq!(vfs.resolve(ROOT, b"/proc/.", true), Ok(mounted(proc, b".")));
        // Through symbolic links, followed or not at the end.
        assert_eq!(vfs.resolve(ROOT, b"/tmp/p", true), Ok(mounted(proc, b"")));
        let link = vfs.lookup(ROOT, b"/tmp/p", false).unwrap();
        assert_eq!(
            vfs.resolve(ROOT, b"/tmp/p", false),
            Ok(Resolved::Inode(link))
        );
        assert_eq!(
            vfs.resolve(ROOT, b"/tmp/p/meminfo", false),
            Ok(mounted(proc, b"meminfo"))
        );
        assert_eq!(
            vfs.resolve(ROOT, b"/tmp/s/fd/0", true),
            Ok(mounted(proc, b"self/fd/0"))
        );
        assert_eq!(vfs.resolve(ROOT, b"/nope/x", true), Err(Errno::ENOENT));
    }

    #[test]
    fn other_calls_refuse_to_cross() {
        let (mut vfs, proc) = tree();
        assert_eq!(vfs.lookup(ROOT, b"/proc/self", true), Err(Errno::EXDEV));
        assert_eq!(vfs.lookup(ROOT, b"/tmp/s", true), Err(Errno::EXDEV));
        assert_eq!(vfs.lookup(ROOT, b"/proc", true), Ok(proc));
        assert_eq!(
            vfs.mkdir(ROOT, b"/proc/x", 0o755, 0, 0, T0),
            Err(Errno::EXDEV)
        );
        assert_eq!(vfs.unlink(ROOT, b"/proc/meminfo", T0), Err(Errno::EXDEV));
        assert_eq!(vfs.rmdir(ROOT, b"/proc", T0), Err(Errno::EBUSY));
        let flags = RenameFlags::default();
        assert_eq!(
            vfs.rename(ROOT, b"/proc", ROOT, b"/moved", flags, T0),
            Err(Errno::EBUSY)
        );
        vfs.mkdir(ROOT, b"empty", 0o755, 0, 0, T0).unwrap();
        assert_eq!(
            vfs.rename(ROOT, b"/empty", ROOT, b"/proc", flags, T0),
            Err(Errno::EBUSY)
        );
        // Nothing was made under the mount point.
        assert_eq!(vfs.read_dir(proc).unwrap().len(), 2);
    }

    #[test]
    fn find_path_names_any_inode() {
        let (mut vfs, proc) = tree();
        let f = vfs.lookup(ROOT, b"/tmp/f", true).unwrap();
        let tmp = vfs.lookup(ROOT, b"/tmp", true).unwrap();
        assert_eq!(vfs.find_path(f).as_deref(), Some(&b"/tmp/f"[..]));
        assert_eq!(vfs.find_path(tmp).as_deref(), Some(&b"/tmp"[..]));
        assert_eq!(vfs.find_path(proc).as_deref(), Some(&b"/proc"[..]));
        vfs.retain(f);
        vfs.unlink(ROOT, b"/tmp/f", T0).unwrap();
        assert_eq!(vfs.find_path(f), None);
        assert_eq!(vfs.find_path(999), None);
    }

    #[test]
    fn foreign_mounts_stack_and_unmount() {
        let (mut vfs, proc) = tree();
        let flags = MountFlags::default();
        // A second one goes on top of the first.
        vfs.mount_foreign(proc, b"again", flags).unwrap();
        let f = vfs.lookup(ROOT, b"/tmp/f", true).unwrap();
        assert_eq!(vfs.mount_foreign(f, b"x", flags), Err(Errno::ENOTDIR));
        let listed: Vec<_> = vfs
            .mounts()
            .map(|m| (m.point, m.source.to_vec(), m.tmpfs.is_none()))
            .collect();
        assert_eq!(
            listed,
            [
                (proc, b"proc".to_vec(), true),
                (proc, b"again".to_vec(), true)
            ]
        );
        vfs.unmount(proc, false).unwrap();
        assert!(vfs.is_mount_point(proc));
        assert_eq!(vfs.mounts().next().map(|m| m.source), Some(&b"proc"[..]));
        vfs.unmount(proc, false).unwrap();
        assert_eq!(vfs.unmount(proc, false), Err(Errno::EINVAL));
        assert!(!vfs.is_mount_point(proc));
        assert_eq!(vfs.lookup(ROOT, b"/proc/self", true), Err(Errno::ENOENT));
        vfs.rmdir(ROOT, b"/proc", T0).unwrap();
    }

    const T1: Timespec = Timespec { secs: 20, nanos: 0 };
    const CREATE: OpenOptions = OpenOptions {
        create: true,
        exclusive: false,
        truncate: false,
        directory: false,
        nofollow: false,
        write: true,
    };

    fn options(mode: u32) -> TmpfsOptions {
        let mut options = TmpfsOptions::defaults(1 << 30);
        options.mode = mode;
        options
    }

    /// `/mnt` holding `old`, with a tmpfs (mode 1777) mounted on it.
    fn mounted_tmpfs() -> (Vfs, Ino, FsId) {
        let (mut vfs, _) = tree();
        let mnt = vfs.mkdir(ROOT, b"mnt", 0o755, 0, 0, T0).unwrap();
        vfs.open(ROOT, b"/mnt/old", CREATE, 0o644, 0, 0, T0)
            .unwrap();
        let fs = vfs
            .mount_tmpfs(mnt, b"none", options(0o1777), MountFlags::default(), T1)
            .unwrap();
        (vfs, mnt, fs)
    }

    #[test]
    fn tmpfs_hides_what_was_there_until_unmounted() {
        let (mut vfs, mnt, fs) = mounted_tmpfs();
        let root = vfs.lookup(ROOT, b"/mnt", true).unwrap();
        assert_ne!(root, mnt);
        let st = vfs.stat(root).unwrap();
        assert_eq!((st.mode, st.nlink, st.uid, st.ctime), (0o041_777, 2, 0, T1));
        assert_eq!(vfs.read_dir(root).unwrap().len(), 2);
        assert_eq!(vfs.lookup(ROOT, b"/mnt/old", true), Err(Errno::ENOENT));
        let new = vfs
            .open(ROOT, b"/mnt/new", CREATE, 0o644, 0, 0, T1)
            .unwrap();
        vfs.write(new, 0, b"data", T1).unwrap();
        assert_eq!((vfs.fs_of(new), vfs.fs_of(mnt)), (Ok(fs), Ok(Vfs::ROOT_FS)));
        assert_eq!(
            vfs.resolve(ROOT, b"/mnt/new", true),
            Ok(Resolved::Inode(new))
        );
        assert_eq!(vfs.path_of(root).unwrap(), b"/mnt");
        assert_eq!(vfs.find_path(new).as_deref(), Some(&b"/mnt/new"[..]));
        // The mount point cannot go while mounted.
        assert_eq!(vfs.rmdir(ROOT, b"/mnt", T1), Err(Errno::EBUSY));
        let entry = vfs.mounts().last().unwrap();
        assert_eq!((entry.point, entry.source), (mnt, &b"none"[..]));
        assert_eq!(entry.tmpfs.map(|(id, _)| id), Some(fs));
        let before = vfs.usage();
        vfs.unmount(root, false).unwrap();
        // Back as it was; the tmpfs and its data are gone.
        assert_eq!(vfs.lookup(ROOT, b"/mnt", true), Ok(mnt));
        assert!(vfs.lookup(ROOT, b"/mnt/old", true).is_ok());
        assert_eq!(vfs.lookup(ROOT, b"/mnt/new", true), Err(Errno::ENOENT));
        assert_eq!(vfs.stat(new), Err(Errno::ENOENT));
        assert_eq!(vfs.inodes_of(fs), []);
        let after = vfs.usage();
        assert_eq!((after.inodes, after.bytes), (before.inodes - 2, 0));
        assert_eq!(vfs.unmount(mnt, false), Err(Errno::EINVAL));
        assert_eq!(vfs.mounts().count(), 1);
    }

    #[test]
    fn names_do_not_cross_file_systems() {
        let (mut vfs, _, _) = mounted_tmpfs();
        vfs.open(ROOT, b"/mnt/a", CREATE, 0o644, 0, 0, T1).unwrap();
        vfs.mkdir(ROOT, b"/mnt/d", 0o755, 0, 0, T1).unwrap();
        let flags = RenameFlags::default();
        assert_eq!(
            vfs.rename(ROOT, b"/mnt/a", ROOT, b"/tmp/a", flags, T1),
            Err(Errno::EXDEV)
        );
        assert_eq!(
            vfs.rename(ROOT, b"/tmp/f", ROOT, b"/mnt/f", flags, T1),
            Err(Errno::EXDEV)
        );
        // EXDEV comes before the checks of the names.
        assert_eq!(
            vfs.rename(ROOT, b"/mnt/..", ROOT, b"/tmp/x", flags, T1),
            Err(Errno::EXDEV)
        );
        assert_eq!(
            vfs.rename(ROOT, b"/mnt/nope", ROOT, b"/x", flags, T1),
            Err(Errno::EXDEV)
        );
        assert_eq!(
            vfs.link(ROOT, b"/mnt/a", ROOT, b"/tmp/a", false, T1),
            Err(Errno::EXDEV)
        );
        assert_eq!(
            vfs.link(ROOT, b"/tmp/f", ROOT, b"/mnt/f", false, T1),
            Err(Errno::EXDEV)
        );
        // ... but after EEXIST.
        assert_eq!(
            vfs.link(ROOT, b"/mnt/a", ROOT, b"/tmp/f", false, T1),
            Err(Errno::EEXIST)
        );
        // Within the mounted file system, as usual.
        vfs.rename(ROOT, b"/mnt/a", ROOT, b"/mnt/d/b", flags, T1)
            .unwrap();
        vfs.link(ROOT, b"/mnt/d/b", ROOT, b"/mnt/c", false, T1)
            .unwrap();
        // Its root cannot move or be replaced.
        assert_eq!(
            vfs.rename(ROOT, b"/mnt", ROOT, b"/moved", flags, T1),
            Err(Errno::EBUSY)
        );
        assert_eq!(
            vfs.rename(ROOT, b"/mnt/d", ROOT, b"/mnt/d/e", flags, T1),
            Err(Errno::EINVAL)
        );
    }

    #[test]
    fn dotdot_leaves_a_mounted_root() {
        let (mut vfs, mnt, _) = mounted_tmpfs();
        let root = vfs.lookup(ROOT, b"/mnt", true).unwrap();
        let sub = vfs.mkdir(root, b"sub", 0o755, 0, 0, T1).unwrap();
        assert_eq!(vfs.lookup(root, b"..", true), Ok(ROOT));
        assert_eq!(
            vfs.lookup(sub, b"../../tmp", true),
            vfs.lookup(ROOT, b"/tmp", true)
        );
        assert_eq!(vfs.lookup(sub, b"../../mnt/sub", true), Ok(sub));
        assert_eq!(vfs.parent_of(root), Ok(ROOT));
        assert_eq!(vfs.path_of(sub).unwrap(), b"/mnt/sub");
        // Listed, the root's ".." is itself (Linux's too).
        assert_eq!(vfs.read_dir(root).unwrap()[1].ino, root);
        // From the hidden directory (a working directory from before the
        // mount), relative paths see what is hidden; ".." leads out.
        assert!(vfs.lookup(mnt, b"old", true).is_ok());
        assert_eq!(vfs.lookup(mnt, b".", true), Ok(mnt));
        assert_eq!(vfs.lookup(mnt, b"../mnt", true), Ok(root));
        assert_eq!(vfs.path_of(mnt).unwrap(), b"/mnt");
        // A mount deeper than the root: ".." leads to its parent, onto what
        // is mounted there.
        let d = vfs.mkdir(root, b"d", 0o755, 0, 0, T1).unwrap();
        let flags = MountFlags::default();
        vfs.mount_tmpfs(d, b"inner", options(0o755), flags, T1)
            .unwrap();
        let inner = vfs.lookup(ROOT, b"/mnt/d", true).unwrap();
        assert_eq!(vfs.lookup(inner, b"..", true), Ok(root));
        assert_eq!(vfs.lookup(inner, b"../..", true), Ok(ROOT));
        assert_eq!(vfs.path_of(inner).unwrap(), b"/mnt/d");
    }

    #[test]
    fn mounts_stack() {
        let (mut vfs, mnt, first) = mounted_tmpfs();
        let flags = MountFlags::default();
        let root1 = vfs.lookup(ROOT, b"/mnt", true).unwrap();
        vfs.open(ROOT, b"/mnt/one", CREATE, 0o644, 0, 0, T1)
            .unwrap();
        let second = vfs
            .mount_tmpfs(root1, b"two", options(0o700), flags, T1)
            .unwrap();
        assert_ne!(first, second);
        let root2 = vfs.lookup(ROOT, b"/mnt/", true).unwrap();
        assert_eq!(vfs.stat(root2).unwrap().mode, 0o040_700);
        assert_eq!(vfs.lookup(ROOT, b"/mnt/one", true), Err(Errno::ENOENT));
        assert_eq!(vfs.lookup(root2, b"..", true), Ok(ROOT));
        assert_eq!(vfs.path_of(root2).unwrap(), b"/mnt");
        // procfs on top of both, and away again.
        vfs.mount_foreign(root2, b"proc", flags).unwrap();
        assert_eq!(
            vfs.resolve(ROOT, b"/mnt/self", true),
            Ok(Resolved::Mounted {
                dir: root2,
                rest: b"self".to_vec()
            })
        );
        vfs.unmount(root2, false).unwrap();
        // Unmounting the top shows the one below, then what was there.
        vfs.unmount(root2, false).unwrap();
        assert!(vfs.lookup(ROOT, b"/mnt/one", true).is_ok());
        assert_eq!(vfs.inodes_of(second), []);
        vfs.unmount(root1, false).unwrap();
        assert!(vfs.lookup(ROOT, b"/mnt/old", true).is_ok());
        assert_eq!(vfs.lookup(ROOT, b"/mnt", true), Ok(mnt));
        // A tmpfs on top of a foreign file system, alike.
        let proc = vfs.lookup(ROOT, b"/proc", true).unwrap();
        let fs = vfs
            .mount_tmpfs(proc, b"t", options(0o755), flags, T1)
            .unwrap();
        // Ids of file systems that are gone are given again.
        assert_eq!(fs, first);
        let over = vfs.lookup(ROOT, b"/proc/", true).unwrap();
        assert_eq!(vfs.fs_of(over), Ok(fs));
        vfs.unmount(over, false).unwrap();
        assert_eq!(
            vfs.resolve(ROOT, b"/proc", true),
            Ok(Resolved::Mounted {
                dir: proc,
                rest: Vec::new()
            })
        );
    }

    #[test]
    fn busy_unmount_and_lazy_detach() {
        let (mut vfs, _, fs) = mounted_tmpfs();
        let root = vfs.lookup(ROOT, b"/mnt", true).unwrap();
        let f = vfs.open(ROOT, b"/mnt/f", CREATE, 0o644, 0, 0, T1).unwrap();
        vfs.write(f, 0, b"kept", T1).unwrap();
        // An open file: busy.
        vfs.retain(f);
        assert_eq!(vfs.unmount(root, false), Err(Errno::EBUSY));
        vfs.release(f);
        // A working directory: busy.
        vfs.retain(root);
        assert_eq!(vfs.unmount(root, false), Err(Errno::EBUSY));
        vfs.release(root);
        // A mount inside: busy.
        let d = vfs.mkdir(root, b"d", 0o755, 0, 0, T1).unwrap();
        let flags = MountFlags::default();
        let inner = vfs
            .mount_tmpfs(d, b"in", options(0o755), flags, T1)
            .unwrap();
        assert_eq!(vfs.unmount(root, false), Err(Errno::EBUSY));
        let inner_root = vfs.lookup(ROOT, b"/mnt/d", true).unwrap();
        let g = vfs.open(inner_root, b"g", CREATE, 0o644, 0, 0, T1).unwrap();
        // Lazily: detached at once, with the mount inside, and usable
        // while referenced.
        vfs.retain(f);
        vfs.retain(g);
        vfs.unmount(root, true).unwrap();
        assert!(vfs.lookup(ROOT, b"/mnt/old", true).is_ok());
        assert_eq!(vfs.mounts().count(), 1);
        assert_eq!(vfs.read(f, 0, 10, T1).unwrap(), b"kept");
        assert_eq!(vfs.write(f, 4, b"!", T1), Ok(1));
        assert_eq!(vfs.lookup(root, b"f", true), Ok(f));
        assert_eq!(vfs.lookup(root, b"..", true), Ok(root));
        assert_eq!(vfs.path_of(root), Err(Errno::ENOENT));
        assert_eq!(vfs.find_path(f), None);
        // Nothing can be mounted there any more.
        let sub = vfs.mkdir(root, b"sub", 0o755, 0, 0, T1).unwrap();
        assert_eq!(
            vfs.mount_tmpfs(sub, b"x", options(0o755), flags, T1),
            Err(Errno::EINVAL)
        );
        assert_eq!(vfs.mount_foreign(sub, b"x", flags), Err(Errno::EINVAL));
        assert_eq!(vfs.unmount(root, true), Err(Errno::EINVAL));
        // The last reference frees each file system with all it holds.
        vfs.release(f);
        assert_eq!(vfs.inodes_of(fs), []);
        assert_eq!(vfs.stat(sub), Err(Errno::ENOENT));
        assert!(!vfs.inodes_of(inner).is_empty());
        vfs.release(g);
        assert_eq!(vfs.inodes_of(inner), []);
        assert_eq!(vfs.usage().bytes, 0);
    }

    #[test]
    fn lazy_unmount_of_an_unused_tmpfs_frees_it_at_once() {
        let (mut vfs, _, fs) = mounted_tmpfs();
        let root = vfs.lookup(ROOT, b"/mnt", true).unwrap();
        vfs.open(root, b"f", CREATE, 0o644, 0, 0, T1).unwrap();
        vfs.unmount(root, true).unwrap();
        assert_eq!(vfs.inodes_of(fs), []);
    }
}
