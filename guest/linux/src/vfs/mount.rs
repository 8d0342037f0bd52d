//! Mount points: directories of this tree where another file system (the
//! kernel's procfs) is mounted.
//!
//! The tree does not know what is mounted: a walk that would enter a mount
//! point stops there. [`Vfs::resolve`] reports the mount point and the
//! rest of the path for the kernel to walk in the mounted file system;
//! every other call that walks a path fails with `EXDEV` there (the kernel
//! turns that into the error Linux gives for the operation on that file
//! system). A mount point cannot be removed or renamed (`EBUSY`) while
//! mounted.

use alloc::vec::Vec;

use super::path::Walk;
use super::{Ino, Vfs};
use crate::errno::Errno;

/// Where a path leads ([`Vfs::resolve`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resolved {
    /// An inode of this tree.
    Inode(Ino),
    /// Into the file system mounted on directory `dir`: `rest` is the path
    /// left to walk from its root (empty for the root itself).
    Mounted {
        /// The mount point.
        dir: Ino,
        /// The rest of the path, relative to the mounted root.
        rest: Vec<u8>,
    },
}

impl Vfs {
    /// Marks directory `dir` as a mount point. Fails with `ENOTDIR` for a
    /// non-directory, `ENOENT` for a removed one, `EBUSY` if it is one
    /// already.
    pub fn mount(&mut self, dir: Ino) -> Result<(), Errno> {
        self.live_dir(dir)?;
        if !self.mounts.insert(dir) {
            return Err(Errno::EBUSY);
        }
        Ok(())
    }

    /// Makes mount point `dir` a plain directory again (`EINVAL` if it is
    /// not a mount point).
    pub fn unmount(&mut self, dir: Ino) -> Result<(), Errno> {
        if self.mounts.remove(&dir) {
            Ok(())
        } else {
            Err(Errno::EINVAL)
        }
    }

    /// Whether `ino` is a mount point.
    pub fn is_mount_point(&self, ino: Ino) -> bool {
        !self.mounts.is_empty() && self.mounts.contains(&ino)
    }

    /// The mount points, in inode order.
    pub fn mount_points(&self) -> impl Iterator<Item = Ino> + '_ {
        self.mounts.iter().copied()
    }

    /// Resolves `path` like [`Vfs::lookup`], but where the walk reaches a
    /// mount point (on the way, or as the last component) says so, with
    /// the rest of the path, instead of failing.
    pub fn resolve(&self, cwd: Ino, path: &[u8], follow_last: bool) -> Result<Resolved, Errno> {
        let mut walk = Walk::new(self, cwd, path)?;
        loop {
            let last = match walk.parent() {
                Ok(last) => last,
                Err(Errno::EXDEV) if self.is_mount_point(walk.dir()) => {
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
            if self.is_mount_point(ino) {
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
        vfs.mount(proc).unwrap();
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
    fn mount_and_unmount() {
        let (mut vfs, proc) = tree();
        assert_eq!(vfs.mount(proc), Err(Errno::EBUSY));
        let f = vfs.lookup(ROOT, b"/tmp/f", true).unwrap();
        assert_eq!(vfs.mount(f), Err(Errno::ENOTDIR));
        assert_eq!(vfs.mount_points().collect::<Vec<_>>(), [proc]);
        vfs.unmount(proc).unwrap();
        assert_eq!(vfs.unmount(proc), Err(Errno::EINVAL));
        assert!(!vfs.is_mount_point(proc));
        assert_eq!(vfs.lookup(ROOT, b"/proc/self", true), Err(Errno::ENOENT));
        vfs.rmdir(ROOT, b"/proc", T0).unwrap();
    }
}
