//! Names: resolving paths, and creating, linking, unlinking and renaming
//! directory entries.
//!
//! Each call resolves its paths first (with `&self`), then changes the
//! tree; the checks and their order follow `fs/namei.c` (`do_mkdirat`,
//! `do_unlinkat`, `do_rmdir`, `do_linkat`, `do_renameat2`, `path_openat`)
//! and tmpfs (`mm/shmem.c`, `fs/libfs.c`).

use alloc::vec::Vec;

use super::data::Data;
use super::node::{Dir, Kind, Node};
use super::path::{self, Final, Last, Walk};
use super::{FileType, Ino, OpenOptions, PERM_MASK, RenameFlags, S_ISGID, Timespec, Vfs};
use crate::errno::Errno;

/// Permission bits `mkdir` keeps (`S_IRWXUGO | S_ISVTX`).
const MKDIR_MASK: u32 = 0o1777;

/// What [`Vfs::open`] found at the end of its path.
enum OpenTarget {
    /// An existing inode; `trailing_slash` demands a directory.
    Existing { ino: Ino, trailing_slash: bool },
    /// A missing name in a live directory, to create.
    Missing { dir: Ino, name: Vec<u8> },
}

impl Vfs {
    /// Resolves `path` (absolute, or relative to directory `cwd`) to an
    /// inode. A final symbolic link is followed if `follow_last` (`stat`
    /// versus `lstat`) or if a slash follows it.
    ///
    /// Fails with `ENOENT` for an empty path or a missing component,
    /// `ENOTDIR` when a non-directory is walked through or carries a
    /// trailing slash, `ENAMETOOLONG` for a path of 4096 bytes or more or a
    /// component over 255, `ELOOP` after [`super::MAX_SYMLINKS`] links.
    ///
    /// Walks enter mounted tmpfs file systems ([`Vfs::mount_tmpfs`]), a
    /// mount point as the last component included. Every call here that
    /// walks a path fails with `EXDEV` where the walk would enter a
    /// foreign file system ([`Vfs::mount_foreign`]); [`Vfs::resolve`] says
    /// where instead. A foreign mount point as the last component is
    /// returned as the directory it is in this tree.
    pub fn lookup(&self, cwd: Ino, path: &[u8], follow_last: bool) -> Result<Ino, Errno> {
        let mut walk = Walk::new(self, cwd, path)?;
        loop {
            let last = walk.parent()?;
            let ino = self.last_ino(&last)?.ok_or(Errno::ENOENT)?;
            if let Some(target) = self.symlink_target(ino)
                && (follow_last || last.trailing_slash)
            {
                walk.follow(target)?;
                continue;
            }
            if last.trailing_slash && !self.node(ino)?.is_dir() {
                return Err(Errno::ENOTDIR);
            }
            return Ok(ino);
        }
    }

    /// Opens `path`, creating a regular file with permission bits `mode`
    /// (after the caller applied its umask) owned by `uid`/`gid` if
    /// `options.create` and the name is missing. Returns the inode; the
    /// caller [retains](Vfs::retain) it for as long as the file is open.
    ///
    /// As Linux: `O_CREAT|O_DIRECTORY` is `EINVAL`; `O_CREAT` with a
    /// trailing slash or on a directory is `EISDIR`; `O_EXCL` fails with
    /// `EEXIST` on any existing name, a dangling symbolic link included
    /// (without `O_EXCL`, a dangling link's target is created);
    /// `O_DIRECTORY` or a trailing slash on a non-directory is `ENOTDIR`;
    /// `O_NOFOLLOW` on a symbolic link is `ELOOP`; writing or truncating
    /// a directory is `EISDIR`. On a read-only file system, creating a
    /// file and opening a regular one for writing are `EROFS`. `O_TRUNC`
    /// empties an existing regular file (and sets its modification time,
    /// even if it was empty) and is ignored for devices and pipes.
    #[allow(clippy::too_many_arguments)] // open(2)'s inputs plus the owner
    pub fn open(
        &mut self,
        cwd: Ino,
        path: &[u8],
        options: OpenOptions,
        mode: u32,
        uid: u32,
        gid: u32,
        now: Timespec,
    ) -> Result<Ino, Errno> {
        if options.create && options.directory {
            return Err(Errno::EINVAL);
        }
        match self.open_target(cwd, path, options)? {
            OpenTarget::Missing { dir, name } => {
                self.check_writable(dir)?;
                let kind = Kind::Regular(Data::default());
                self.create(dir, &name, kind, mode & PERM_MASK, uid, gid, now)
            }
            OpenTarget::Existing {
                ino,
                trailing_slash,
            } => {
                let node = self.node(ino)?;
                if options.create && options.exclusive {
                    return Err(Errno::EEXIST);
                }
                if options.create && node.is_dir() {
                    return Err(Errno::EISDIR);
                }
                if (options.directory || trailing_slash) && !node.is_dir() {
                    return Err(Errno::ENOTDIR);
                }
                match node.kind {
                    Kind::Symlink(_) => return Err(Errno::ELOOP),
                    Kind::Directory(_) if options.write || options.truncate => {
                        return Err(Errno::EISDIR);
                    }
                    Kind::Regular(_) if options.write || options.truncate => {
                        self.check_writable(ino)?;
                        if options.truncate {
                            self.truncate(ino, 0, now)?;
                            self.node_mut(ino)?.touch(now);
                        }
                    }
                    _ => {}
                }
                Ok(ino)
            }
        }
    }

    /// Creates directory `path` with permission bits `mode & 0o1777`,
    /// owned by `uid`/`gid` (the group and set-group-ID bit come from the
    /// parent if it has set-group-ID). A trailing slash is allowed.
    /// Fails with `EEXIST` if the name exists (even as a dangling
    /// symbolic link) or is `.`, `..` or `/`.
    pub fn mkdir(
        &mut self,
        cwd: Ino,
        path: &[u8],
        mode: u32,
        uid: u32,
        gid: u32,
        now: Timespec,
    ) -> Result<Ino, Errno> {
        let (dir, name) = self.create_target(cwd, path, true)?;
        let kind = Kind::Directory(Dir::new(dir, &name));
        self.create(dir, &name, kind, mode & MKDIR_MASK, uid, gid, now)
    }

    /// Creates a character device (with device number `rdev`), a named
    /// pipe or an empty regular file at `path`, with permission bits
    /// `mode & 0o7777`, owned by `uid`/`gid`. `rdev` is ignored but for
    /// devices. As Linux's `mknod`: `EPERM` for a directory, `EINVAL` for a
    /// symbolic link, `EEXIST` if the name exists, `ENOENT` for a missing
    /// name with a trailing slash.
    #[allow(clippy::too_many_arguments)] // mknod(2)'s inputs plus the owner
    pub fn mknod(
        &mut self,
        cwd: Ino,
        path: &[u8],
        file_type: FileType,
        mode: u32,
        rdev: u64,
        uid: u32,
        gid: u32,
        now: Timespec,
    ) -> Result<Ino, Errno> {
        let kind = match file_type {
            FileType::Regular => Kind::Regular(Data::default()),
            FileType::CharDevice => Kind::CharDevice(rdev),
            FileType::Fifo => Kind::Fifo,
            FileType::Directory => return Err(Errno::EPERM),
            FileType::Symlink => return Err(Errno::EINVAL),
        };
        let (dir, name) = self.create_target(cwd, path, false)?;
        self.create(dir, &name, kind, mode & PERM_MASK, uid, gid, now)
    }

    /// Creates symbolic link `path` pointing at `target` (not resolved
    /// now). Fails with `ENOENT` for an empty target, `ENAMETOOLONG` for
    /// one of 4096 bytes or more, and as [`Vfs::mknod`] for `path`.
    pub fn symlink(
        &mut self,
        target: &[u8],
        cwd: Ino,
        path: &[u8],
        uid: u32,
        gid: u32,
        now: Timespec,
    ) -> Result<Ino, Errno> {
        path::check(target)?;
        let (dir, name) = self.create_target(cwd, path, false)?;
        self.create(
            dir,
            &name,
            Kind::Symlink(target.into()),
            0o777,
            uid,
            gid,
            now,
        )
    }

    /// Adds the name `new` for the inode at `old` (its final symbolic link
    /// followed if `follow`, as `AT_SYMLINK_FOLLOW`). Fails with `EEXIST`
    /// if `new` exists, `EROFS` on a read-only file system, then `EXDEV`
    /// if they are in different file systems, then `EPERM` if `old` is a
    /// directory.
    pub fn link(
        &mut self,
        old_cwd: Ino,
        old: &[u8],
        new_cwd: Ino,
        new: &[u8],
        follow: bool,
        now: Timespec,
    ) -> Result<(), Errno> {
        let ino = self.lookup(old_cwd, old, follow)?;
        let (dir, name) = self.create_target(new_cwd, new, false)?;
        if self.fs_of(ino)? != self.fs_of(dir)? {
            return Err(Errno::EXDEV);
        }
        self.link_entry(dir, &name, ino, now)
    }

    /// Removes the name `path` of a non-directory; the inode is freed once
    /// no name and no reference is left. Fails with `EISDIR` for `.`,
    /// `..` and `/`, then `EROFS` on a read-only file system, then
    /// `EISDIR` for a directory, `ENOTDIR` for a non-directory with a
    /// trailing slash.
    pub fn unlink(&mut self, cwd: Ino, path: &[u8], now: Timespec) -> Result<(), Errno> {
        let (dir, name) = {
            let last = self.walk(cwd, path)?;
            let Last::Name(name) = last.last else {
                return Err(Errno::EISDIR);
            };
            self.check_writable(last.dir)?;
            let ino = self.child(last.dir, name)?.ok_or(Errno::ENOENT)?;
            if self.node(ino)?.is_dir() {
                return Err(Errno::EISDIR);
            }
            if last.trailing_slash {
                return Err(Errno::ENOTDIR);
            }
            (last.dir, name.to_vec())
        };
        self.drop_entry(dir, &name, now)
    }

    /// Removes the empty directory `path`. Fails with `ENOTDIR` for a
    /// non-directory (a symbolic link to a directory included),
    /// `ENOTEMPTY` if it has entries, and as Linux for the special final
    /// components: `EINVAL` for `.`, `ENOTEMPTY` for `..`, `EBUSY` for `/`
    /// (these first, then `EROFS` on a read-only file system) and for a
    /// mount point.
    pub fn rmdir(&mut self, cwd: Ino, path: &[u8], now: Timespec) -> Result<(), Errno> {
        let (dir, name) = {
            let last = self.walk(cwd, path)?;
            let name = match last.last {
                Last::Name(name) => name,
                Last::Dot => return Err(Errno::EINVAL),
                Last::DotDot => return Err(Errno::ENOTEMPTY),
                Last::Root => return Err(Errno::EBUSY),
            };
            self.check_writable(last.dir)?;
            let ino = self.child(last.dir, name)?.ok_or(Errno::ENOENT)?;
            if self.is_mount_point(ino) {
                return Err(Errno::EBUSY);
            }
            if !self.node(ino)?.dir()?.is_empty() {
                return Err(Errno::ENOTEMPTY);
            }
            (last.dir, name.to_vec())
        };
        self.drop_entry(dir, &name, now)
    }

    /// Renames `old` to `new` with Linux's `renameat2` semantics.
    ///
    /// An existing `new` is replaced atomically: a non-directory by a
    /// non-directory, an empty directory by a directory (`EISDIR`,
    /// `ENOTDIR` for mismatched types, `ENOTEMPTY` for a non-empty one).
    /// Two names of the same inode: nothing happens. Moving a directory
    /// into itself or below is `EINVAL`; replacing an ancestor of `old` is
    /// `ENOTEMPTY`. `.`, `..` or `/` as either last component is `EBUSY`
    /// (`EEXIST` for `new` with `noreplace`). A trailing slash on a
    /// non-directory is `ENOTDIR`. `noreplace` fails with `EEXIST` if `new`
    /// exists; `exchange` swaps two existing names of any types (`ENOENT`
    /// if `new` is missing); both at once is `EINVAL`. A mount point cannot
    /// move or be replaced (`EBUSY`). Directories in different file
    /// systems are `EXDEV` (before all else but path errors); a read-only
    /// file system is `EROFS` (after the checks of `.`, `..` and `/`).
    pub fn rename(
        &mut self,
        old_cwd: Ino,
        old: &[u8],
        new_cwd: Ino,
        new: &[u8],
        flags: RenameFlags,
        now: Timespec,
    ) -> Result<(), Errno> {
        if flags.noreplace && flags.exchange {
            return Err(Errno::EINVAL);
        }
        let (old_dir, old_name, src, new_dir, new_name, dst) = {
            let from = self.walk(old_cwd, old)?;
            let to = self.walk(new_cwd, new)?;
            if self.fs_of(from.dir)? != self.fs_of(to.dir)? {
                return Err(Errno::EXDEV);
            }
            let Last::Name(old_name) = from.last else {
                return Err(Errno::EBUSY);
            };
            let Last::Name(new_name) = to.last else {
                return Err(if flags.noreplace {
                    Errno::EEXIST
                } else {
                    Errno::EBUSY
                });
            };
            self.check_writable(from.dir)?;
            let src = self.child(from.dir, old_name)?.ok_or(Errno::ENOENT)?;
            let dst = self.child(to.dir, new_name)?;
            if self.is_mount_point(src) || dst.is_some_and(|dst| self.is_mount_point(dst)) {
                return Err(Errno::EBUSY);
            }
            if flags.noreplace && dst.is_some() {
                return Err(Errno::EEXIST);
            }
            if flags.exchange {
                let dst = dst.ok_or(Errno::ENOENT)?;
                if !self.node(dst)?.is_dir() && to.trailing_slash {
                    return Err(Errno::ENOTDIR);
                }
            }
            let src_is_dir = self.node(src)?.is_dir();
            if !src_is_dir && (from.trailing_slash || (!flags.exchange && to.trailing_slash)) {
                return Err(Errno::ENOTDIR);
            }
            if src_is_dir && self.is_ancestor(src, to.dir) {
                return Err(Errno::EINVAL);
            }
            if let Some(dst) = dst
                && self.node(dst)?.is_dir()
                && self.is_ancestor(dst, from.dir)
            {
                return Err(if flags.exchange {
                    Errno::EINVAL
                } else {
                    Errno::ENOTEMPTY
                });
            }
            (
                from.dir,
                old_name.to_vec(),
                src,
                to.dir,
                new_name.to_vec(),
                dst,
            )
        };
        if dst == Some(src) {
            return Ok(());
        }
        match dst {
            None => {
                self.add_entry(new_dir, &new_name, src)?;
                self.remove_entry(old_dir, &old_name)?;
            }
            Some(dst) if flags.exchange => {
                self.replace_entry(old_dir, &old_name, dst)?;
                self.replace_entry(new_dir, &new_name, src)?;
                self.node_mut(dst)?.ctime = now;
            }
            Some(dst) => {
                let src_is_dir = self.node(src)?.is_dir();
                match &self.node(dst)?.kind {
                    Kind::Directory(_) if !src_is_dir => return Err(Errno::EISDIR),
                    Kind::Directory(dir) if !dir.is_empty() => return Err(Errno::ENOTEMPTY),
                    Kind::Directory(_) => {}
                    _ if src_is_dir => return Err(Errno::ENOTDIR),
                    _ => {}
                }
                self.replace_entry(new_dir, &new_name, src)?;
                self.remove_entry(old_dir, &old_name)?;
                self.drop_link(dst, now);
            }
        }
        self.node_mut(src)?.ctime = now;
        self.node_mut(old_dir)?.touch(now);
        self.node_mut(new_dir)?.touch(now);
        Ok(())
    }

    // Building blocks, also used by `cpio`.

    /// Creates an inode of `kind` named `name` in live directory `dir`,
    /// which must not have that name, in `dir`'s file system (`ENOSPC`
    /// if its inode limit is reached). Applies set-group-ID inheritance:
    /// in a set-group-ID directory the new inode gets the directory's
    /// group, and a new directory the bit too.
    #[allow(clippy::too_many_arguments)] // the new inode's attributes
    pub(super) fn create(
        &mut self,
        dir: Ino,
        name: &[u8],
        kind: Kind,
        perm: u32,
        uid: u32,
        gid: u32,
        now: Timespec,
    ) -> Result<Ino, Errno> {
        let parent = self.node(dir)?;
        let is_dir = matches!(kind, Kind::Directory(_));
        let (perm, gid) = match parent.perm & S_ISGID != 0 {
            true if is_dir => (perm | S_ISGID, parent.gid),
            true => (perm, parent.gid),
            false => (perm, gid),
        };
        let fs = parent.fs;
        let ino = self.next_ino;
        let next_ino = ino.checked_add(1).ok_or(Errno::ENOSPC)?;
        self.reserve_inode(fs)?;
        let mut node = Node::new(kind, perm, (uid, gid), fs, now);
        node.nlink = if is_dir { 2 } else { 1 };
        self.nodes.insert(ino, node);
        if let Err(errno) = self.add_entry(dir, name, ino) {
            self.nodes.remove(&ino);
            self.unreserve_inode(fs);
            return Err(errno);
        }
        self.next_ino = next_ino;
        self.node_mut(dir)?.touch(now);
        Ok(ino)
    }

    /// Adds the name `name` in live directory `dir` for existing
    /// non-directory `ino` (`EPERM` for a directory).
    pub(super) fn link_entry(
        &mut self,
        dir: Ino,
        name: &[u8],
        ino: Ino,
        now: Timespec,
    ) -> Result<(), Errno> {
        let node = self.node(ino)?;
        if node.is_dir() {
            return Err(Errno::EPERM);
        }
        let nlink = node.nlink.checked_add(1).ok_or(Errno::EMLINK)?;
        self.add_entry(dir, name, ino)?;
        let node = self.node_mut(ino)?;
        node.nlink = nlink;
        node.ctime = now;
        self.node_mut(dir)?.touch(now);
        Ok(())
    }

    /// Removes the entry `name` of `dir` (whichever type it names; a
    /// directory must be empty) and drops that link.
    pub(super) fn drop_entry(&mut self, dir: Ino, name: &[u8], now: Timespec) -> Result<(), Errno> {
        let ino = self.remove_entry(dir, name)?;
        self.node_mut(dir)?.touch(now);
        self.drop_link(ino, now);
        Ok(())
    }

    /// Resolves all but the last component of `path`.
    fn walk<'a>(&'a self, cwd: Ino, path: &'a [u8]) -> Result<Final<'a>, Errno> {
        Walk::new(self, cwd, path)?.parent()
    }

    /// The inode a walk's last component names, if any, mounts on it
    /// crossed (`..` of the root is the root; `.` and `/` are the
    /// directory itself, as Linux, which crosses no mount there).
    pub(super) fn last_ino(&self, last: &Final<'_>) -> Result<Option<Ino>, Errno> {
        match last.last {
            Last::Name(name) => Ok(self.child(last.dir, name)?.map(|ino| self.crossed(ino))),
            Last::Dot | Last::Root => Ok(Some(last.dir)),
            Last::DotDot => self.dotdot(last.dir).map(Some),
        }
    }

    /// Resolves the path to create a name at, as Linux's `filename_create`:
    /// the directory and the missing name. `EEXIST` if it exists or is
    /// `.`, `..`, `/`; with a trailing slash, unless a directory is being
    /// made, `ENOENT`; then `EROFS` on a read-only file system.
    fn create_target(
        &self,
        cwd: Ino,
        path: &[u8],
        want_dir: bool,
    ) -> Result<(Ino, Vec<u8>), Errno> {
        let last = self.walk(cwd, path)?;
        let Last::Name(name) = last.last else {
            return Err(Errno::EEXIST);
        };
        match self.child(last.dir, name)? {
            Some(_) => Err(Errno::EEXIST),
            None if last.trailing_slash && !want_dir => Err(Errno::ENOENT),
            None => {
                self.check_writable(last.dir)?;
                Ok((last.dir, name.to_vec()))
            }
        }
    }

    /// The resolution half of [`Vfs::open`].
    fn open_target(
        &self,
        cwd: Ino,
        path: &[u8],
        options: OpenOptions,
    ) -> Result<OpenTarget, Errno> {
        // O_EXCL implies O_NOFOLLOW.
        let exclusive = options.create && options.exclusive;
        let follow = !(options.nofollow || exclusive);
        let mut walk = Walk::new(self, cwd, path)?;
        loop {
            let last = walk.parent()?;
            if options.create && last.trailing_slash && matches!(last.last, Last::Name(_)) {
                return Err(Errno::EISDIR);
            }
            match self.last_ino(&last)? {
                Some(ino) => {
                    if let Some(target) = self.symlink_target(ino)
                        && (follow || last.trailing_slash)
                    {
                        walk.follow(target)?;
                        continue;
                    }
                    let trailing_slash = last.trailing_slash;
                    return Ok(OpenTarget::Existing {
                        ino,
                        trailing_slash,
                    });
                }
                None if options.create => {
                    let Last::Name(name) = last.last else {
                        return Err(Errno::ENOENT);
                    };
                    let (dir, name) = (last.dir, name.to_vec());
                    return Ok(OpenTarget::Missing { dir, name });
                }
                None => return Err(Errno::ENOENT),
            }
        }
    }

    /// Whether directory `ancestor` is `dir` or one of its ancestors in
    /// its file system.
    fn is_ancestor(&self, ancestor: Ino, mut dir: Ino) -> bool {
        // The bound only guards the loop: parents reach the root sooner.
        for _ in 0..self.nodes.len() {
            if dir == ancestor {
                return true;
            }
            match self.node(dir).and_then(Node::dir) {
                // A file system's root is its own parent.
                Ok(this) if this.parent != dir => dir = this.parent,
                _ => return false,
            }
        }
        false
    }

    /// Adds the entry `name` -> `ino` to `dir`; a subdirectory counts in
    /// `dir`'s link count and learns its new place.
    fn add_entry(&mut self, dir: Ino, name: &[u8], ino: Ino) -> Result<(), Errno> {
        let is_dir = self.node(ino)?.is_dir();
        let parent = self.node_mut(dir)?;
        parent.dir_mut()?.insert(name, ino)?;
        if is_dir {
            parent.nlink = parent.nlink.saturating_add(1);
            self.move_dir(ino, dir, name)?;
        }
        Ok(())
    }

    /// Removes the entry `name` of `dir`, returning the inode it named.
    fn remove_entry(&mut self, dir: Ino, name: &[u8]) -> Result<Ino, Errno> {
        let ino = self
            .node_mut(dir)?
            .dir_mut()?
            .remove(name)
            .ok_or(Errno::ENOENT)?;
        if self.node(ino)?.is_dir() {
            let parent = self.node_mut(dir)?;
            parent.nlink = parent.nlink.saturating_sub(1);
        }
        Ok(ino)
    }

    /// Points the existing entry `name` of `dir` at `ino`, returning the
    /// inode it named before.
    fn replace_entry(&mut self, dir: Ino, name: &[u8], ino: Ino) -> Result<Ino, Errno> {
        let is_dir = self.node(ino)?.is_dir();
        let old = self
            .node_mut(dir)?
            .dir_mut()?
            .replace(name, ino)
            .ok_or(Errno::ENOENT)?;
        let was_dir = self.node(old)?.is_dir();
        let parent = self.node_mut(dir)?;
        parent.nlink = parent
            .nlink
            .saturating_sub(u64::from(was_dir))
            .saturating_add(u64::from(is_dir));
        if is_dir {
            self.move_dir(ino, dir, name)?;
        }
        Ok(old)
    }

    /// Records that directory `ino` is now `name` in `parent`.
    fn move_dir(&mut self, ino: Ino, parent: Ino, name: &[u8]) -> Result<(), Errno> {
        let dir = self.node_mut(ino)?.dir_mut()?;
        dir.parent = parent;
        dir.name = name.into();
        Ok(())
    }

    /// Drops one name of `ino` (all of a directory's: it is removed) and
    /// frees it if that was the last name and nothing references it.
    fn drop_link(&mut self, ino: Ino, now: Timespec) {
        if let Ok(node) = self.node_mut(ino) {
            node.nlink = if node.is_dir() {
                0
            } else {
                node.nlink.saturating_sub(1)
            };
            node.ctime = now;
            self.free_if_unused(ino);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{MAX_SYMLINKS, Usage};
    use super::*;
    use alloc::vec;

    const T0: Timespec = Timespec { secs: 10, nanos: 0 };
    const T1: Timespec = Timespec { secs: 20, nanos: 0 };
    const ROOT: Ino = Vfs::ROOT;

    const CREATE: OpenOptions = OpenOptions {
        create: true,
        exclusive: false,
        truncate: false,
        directory: false,
        nofollow: false,
        write: true,
    };
    const EXCL: OpenOptions = OpenOptions {
        exclusive: true,
        ..CREATE
    };
    const READ: OpenOptions = OpenOptions {
        create: false,
        exclusive: false,
        truncate: false,
        directory: false,
        nofollow: false,
        write: false,
    };

    /// A tree: /a/b/file ("hello"), /a/empty/, /top (file).
    fn tree() -> Vfs {
        let mut vfs = Vfs::new(T0);
        vfs.mkdir(ROOT, b"a", 0o755, 0, 0, T0).unwrap();
        vfs.mkdir(ROOT, b"a/b", 0o755, 0, 0, T0).unwrap();
        vfs.mkdir(ROOT, b"a/empty", 0o755, 0, 0, T0).unwrap();
        let f = vfs
            .open(ROOT, b"a/b/file", CREATE, 0o644, 0, 0, T0)
            .unwrap();
        vfs.write(f, 0, b"hello", T0).unwrap();
        vfs.open(ROOT, b"top", CREATE, 0o644, 0, 0, T0).unwrap();
        vfs
    }

    fn ino(vfs: &Vfs, path: &[u8]) -> Ino {
        vfs.lookup(ROOT, path, false).unwrap()
    }

    fn nlink(vfs: &Vfs, path: &[u8]) -> u64 {
        vfs.stat(ino(vfs, path)).unwrap().nlink
    }

    fn rename(vfs: &mut Vfs, old: &[u8], new: &[u8]) -> Result<(), Errno> {
        vfs.rename(ROOT, old, ROOT, new, RenameFlags::default(), T1)
    }

    #[test]
    fn lookup_dots_and_slashes() {
        let vfs = tree();
        let a = ino(&vfs, b"a");
        let b = ino(&vfs, b"a/b");
        let file = ino(&vfs, b"a/b/file");
        assert_eq!(vfs.lookup(ROOT, b"/", true), Ok(ROOT));
        assert_eq!(vfs.lookup(ROOT, b"..", true), Ok(ROOT));
        assert_eq!(vfs.lookup(b, b"/../../a/./b/..", true), Ok(a));
        assert_eq!(vfs.lookup(b, b"../../../..", true), Ok(ROOT));
        assert_eq!(vfs.lookup(a, b"b//file", true), Ok(file));
        assert_eq!(vfs.lookup(a, b"./b/", true), Ok(b));
        assert_eq!(vfs.lookup(ROOT, b"a//b///", true), Ok(b));
        assert_eq!(vfs.lookup(b, b".", true), Ok(b));
    }

    #[test]
    fn lookup_errors() {
        let vfs = tree();
        assert_eq!(vfs.lookup(ROOT, b"", true), Err(Errno::ENOENT));
        assert_eq!(vfs.lookup(ROOT, b"nope", true), Err(Errno::ENOENT));
        assert_eq!(vfs.lookup(ROOT, b"nope/x", true), Err(Errno::ENOENT));
        // A file in the middle, or with a trailing slash.
        assert_eq!(vfs.lookup(ROOT, b"top/x", true), Err(Errno::ENOTDIR));
        assert_eq!(vfs.lookup(ROOT, b"top/", true), Err(Errno::ENOTDIR));
        assert_eq!(vfs.lookup(ROOT, b"top/.", true), Err(Errno::ENOTDIR));
        assert_eq!(vfs.lookup(ROOT, b"a/b/file/..", true), Err(Errno::ENOTDIR));
        // Name and path length limits.
        let long = vec![b'x'; 256];
        assert_eq!(vfs.lookup(ROOT, &long, true), Err(Errno::ENAMETOOLONG));
        assert_eq!(vfs.lookup(ROOT, &long[..255], true), Err(Errno::ENOENT));
        let mut path = b"a/".repeat(2047);
        path.push(b'b');
        assert_eq!(path.len(), 4095);
        assert_eq!(vfs.lookup(ROOT, &path, true), Err(Errno::ENOENT));
        path.push(b'/');
        assert_eq!(vfs.lookup(ROOT, &path, true), Err(Errno::ENAMETOOLONG));
        let mut deep = b"./".repeat(2047);
        deep.push(b'a');
        assert_eq!(vfs.lookup(ROOT, &deep, true), Ok(ino(&vfs, b"a")));
    }

    #[test]
    fn symlinks_absolute_and_relative() {
        let mut vfs = tree();
        let b = ino(&vfs, b"a/b");
        let file = ino(&vfs, b"a/b/file");
        // Relative targets start in the link's directory, not the caller's.
        vfs.symlink(b"b/file", ROOT, b"a/rel", 0, 0, T0).unwrap();
        vfs.symlink(b"/a/b", ROOT, b"a/b/abs", 0, 0, T0).unwrap();
        vfs.symlink(b"../top", ROOT, b"a/up", 0, 0, T0).unwrap();
        assert_eq!(vfs.lookup(ROOT, b"a/rel", true), Ok(file));
        assert_eq!(vfs.lookup(b, b"../rel", true), Ok(file));
        assert_eq!(vfs.lookup(ROOT, b"a/up", true), Ok(ino(&vfs, b"top")));
        assert_eq!(vfs.lookup(ROOT, b"a/b/abs/abs/abs/file", true), Ok(file));
        // lstat versus stat, and a trailing slash forcing the follow.
        let link = vfs.lookup(ROOT, b"a/b/abs", false).unwrap();
        assert_eq!(vfs.stat(link).unwrap().file_type, FileType::Symlink);
        assert_eq!(vfs.lookup(ROOT, b"a/b/abs", true), Ok(b));
        assert_eq!(vfs.lookup(ROOT, b"a/b/abs/", false), Ok(b));
        // A link to a file with a trailing slash.
        assert_eq!(vfs.lookup(ROOT, b"a/rel/", true), Err(Errno::ENOTDIR));
        // Dangling.
        vfs.symlink(b"missing", ROOT, b"dangling", 0, 0, T0)
            .unwrap();
        assert_eq!(vfs.lookup(ROOT, b"dangling", true), Err(Errno::ENOENT));
        assert!(vfs.lookup(ROOT, b"dangling", false).is_ok());
        // A link to "/" and a link whose target ends in a slash.
        vfs.symlink(b"/", ROOT, b"a/root", 0, 0, T0).unwrap();
        assert_eq!(vfs.lookup(ROOT, b"a/root", true), Ok(ROOT));
        assert_eq!(vfs.lookup(ROOT, b"a/root/a/b", true), Ok(b));
        vfs.symlink(b"top/", ROOT, b"slashed", 0, 0, T0).unwrap();
        assert_eq!(vfs.lookup(ROOT, b"slashed", true), Err(Errno::ENOTDIR));
        assert!(vfs.lookup(ROOT, b"slashed", false).is_ok());
    }

    #[test]
    fn symlink_loops_give_eloop() {
        let mut vfs = tree();
        vfs.symlink(b"self", ROOT, b"self", 0, 0, T0).unwrap();
        vfs.symlink(b"ping", ROOT, b"pong", 0, 0, T0).unwrap();
        vfs.symlink(b"pong", ROOT, b"ping", 0, 0, T0).unwrap();
        assert_eq!(vfs.lookup(ROOT, b"self", true), Err(Errno::ELOOP));
        assert_eq!(vfs.lookup(ROOT, b"ping/x", false), Err(Errno::ELOOP));
        assert!(vfs.lookup(ROOT, b"ping", false).is_ok());
        // A chain of exactly MAX_SYMLINKS links resolves, one more does not.
        vfs.symlink(b"a", ROOT, b"l0", 0, 0, T0).unwrap();
        for i in 1..=MAX_SYMLINKS {
            let target = alloc::format!("l{}", i - 1);
            let name = alloc::format!("l{i}");
            vfs.symlink(target.as_bytes(), ROOT, name.as_bytes(), 0, 0, T0)
                .unwrap();
        }
        assert_eq!(vfs.lookup(ROOT, b"l39", true), Ok(ino(&vfs, b"a")));
        assert_eq!(vfs.lookup(ROOT, b"l39/b", true), Ok(ino(&vfs, b"a/b")));
        assert_eq!(vfs.lookup(ROOT, b"l40", true), Err(Errno::ELOOP));
        assert_eq!(vfs.lookup(ROOT, b"l40/b", true), Err(Errno::ELOOP));
        assert!(vfs.lookup(ROOT, b"l40", false).is_ok());
    }

    #[test]
    fn symlink_target_is_checked() {
        let mut vfs = tree();
        assert_eq!(vfs.symlink(b"", ROOT, b"l", 0, 0, T0), Err(Errno::ENOENT));
        let long = vec![b'x'; 4096];
        assert_eq!(
            vfs.symlink(&long, ROOT, b"l", 0, 0, T0),
            Err(Errno::ENAMETOOLONG)
        );
        assert!(vfs.symlink(&long[..4095], ROOT, b"l", 0, 0, T0).is_ok());
        assert_eq!(vfs.symlink(b"x", ROOT, b"l", 0, 0, T0), Err(Errno::EEXIST));
        assert_eq!(
            vfs.symlink(b"x", ROOT, b"new/", 0, 0, T0),
            Err(Errno::ENOENT)
        );
    }

    #[test]
    fn open_create_and_exclusive() {
        let mut vfs = tree();
        let f = vfs
            .open(ROOT, b"a/new", EXCL, 0o7644 | 0o100_000, 5, 6, T1)
            .unwrap();
        let st = vfs.stat(f).unwrap();
        assert_eq!(
            (st.mode, st.uid, st.gid, st.nlink, st.size),
            (0o107_644, 5, 6, 1, 0)
        );
        let a = vfs.stat(ino(&vfs, b"a")).unwrap();
        assert_eq!((a.mtime, a.ctime), (T1, T1));
        assert_eq!(
            vfs.open(ROOT, b"a/new", EXCL, 0o644, 0, 0, T1),
            Err(Errno::EEXIST)
        );
        assert_eq!(vfs.open(ROOT, b"a/new", CREATE, 0o600, 0, 0, T1), Ok(f));
        assert_eq!(
            vfs.open(ROOT, b"a/missing", READ, 0, 0, 0, T1),
            Err(Errno::ENOENT)
        );
        assert_eq!(
            vfs.open(ROOT, b"missing/x", CREATE, 0, 0, 0, T1),
            Err(Errno::ENOENT)
        );
        // O_CREAT on a directory, "." or with a trailing slash.
        assert_eq!(
            vfs.open(ROOT, b"a", CREATE, 0, 0, 0, T1),
            Err(Errno::EISDIR)
        );
        assert_eq!(
            vfs.open(ROOT, b"a/.", CREATE, 0, 0, 0, T1),
            Err(Errno::EISDIR)
        );
        assert_eq!(vfs.open(ROOT, b"/", EXCL, 0, 0, 0, T1), Err(Errno::EEXIST));
        assert_eq!(
            vfs.open(ROOT, b"newdir/", CREATE, 0, 0, 0, T1),
            Err(Errno::EISDIR)
        );
        assert_eq!(
            vfs.open(ROOT, b"top/", CREATE, 0, 0, 0, T1),
            Err(Errno::EISDIR)
        );
        let both = OpenOptions {
            directory: true,
            ..CREATE
        };
        assert_eq!(vfs.open(ROOT, b"x", both, 0, 0, 0, T1), Err(Errno::EINVAL));
    }

    #[test]
    fn open_through_symlinks() {
        let mut vfs = tree();
        vfs.symlink(b"a/b/created", ROOT, b"dangling", 0, 0, T0)
            .unwrap();
        vfs.symlink(b"top", ROOT, b"to_top", 0, 0, T0).unwrap();
        vfs.symlink(b"a", ROOT, b"to_a", 0, 0, T0).unwrap();
        // O_EXCL does not follow: a dangling link is an existing name.
        assert_eq!(
            vfs.open(ROOT, b"dangling", EXCL, 0o644, 0, 0, T1),
            Err(Errno::EEXIST)
        );
        // Plain O_CREAT creates the target.
        let f = vfs
            .open(ROOT, b"dangling", CREATE, 0o644, 0, 0, T1)
            .unwrap();
        assert_eq!(vfs.lookup(ROOT, b"a/b/created", false), Ok(f));
        // O_NOFOLLOW on a link: ELOOP, with or without O_CREAT.
        let nofollow = OpenOptions {
            nofollow: true,
            ..READ
        };
        assert_eq!(
            vfs.open(ROOT, b"to_top", nofollow, 0, 0, 0, T1),
            Err(Errno::ELOOP)
        );
        let create_nofollow = OpenOptions {
            nofollow: true,
            ..CREATE
        };
        assert_eq!(
            vfs.open(ROOT, b"to_top", create_nofollow, 0, 0, 0, T1),
            Err(Errno::ELOOP)
        );
        // ...but a trailing slash forces the follow.
        assert_eq!(
            vfs.open(ROOT, b"to_a/", nofollow, 0, 0, 0, T1),
            Ok(ino(&vfs, b"a"))
        );
        // O_DIRECTORY is checked before O_NOFOLLOW.
        let dir_nofollow = OpenOptions {
            directory: true,
            ..nofollow
        };
        assert_eq!(
            vfs.open(ROOT, b"to_a", dir_nofollow, 0, 0, 0, T1),
            Err(Errno::ENOTDIR)
        );
        assert_eq!(
            vfs.open(ROOT, b"to_top", READ, 0, 0, 0, T1),
            Ok(ino(&vfs, b"top"))
        );
    }

    #[test]
    fn open_directories_and_truncation() {
        let mut vfs = tree();
        let a = ino(&vfs, b"a");
        let directory = OpenOptions {
            directory: true,
            ..READ
        };
        assert_eq!(vfs.open(ROOT, b"a", directory, 0, 0, 0, T1), Ok(a));
        assert_eq!(
            vfs.open(ROOT, b"top", directory, 0, 0, 0, T1),
            Err(Errno::ENOTDIR)
        );
        assert_eq!(
            vfs.open(ROOT, b"top/", READ, 0, 0, 0, T1),
            Err(Errno::ENOTDIR)
        );
        let write = OpenOptions {
            write: true,
            ..READ
        };
        assert_eq!(vfs.open(ROOT, b"a", write, 0, 0, 0, T1), Err(Errno::EISDIR));
        let truncate = OpenOptions {
            truncate: true,
            ..READ
        };
        assert_eq!(
            vfs.open(ROOT, b"a", truncate, 0, 0, 0, T1),
            Err(Errno::EISDIR)
        );
        // O_TRUNC empties a file even when opened read-only, and sets mtime.
        let f = vfs.open(ROOT, b"a/b/file", truncate, 0, 0, 0, T1).unwrap();
        let st = vfs.stat(f).unwrap();
        assert_eq!((st.size, st.mtime, st.ctime), (0, T1, T1));
        assert_eq!(vfs.usage().bytes, 0);
        // O_TRUNC on a pipe is ignored.
        let p = vfs
            .mknod(ROOT, b"p", FileType::Fifo, 0o600, 0, 0, 0, T0)
            .unwrap();
        assert_eq!(vfs.open(ROOT, b"p", truncate, 0, 0, 0, T1), Ok(p));
        assert_eq!(vfs.stat(p).unwrap().mtime, T0);
    }

    #[test]
    fn mkdir_rules() {
        let mut vfs = tree();
        let d = vfs.mkdir(ROOT, b"a/new/", 0o7777, 3, 4, T1).unwrap();
        let st = vfs.stat(d).unwrap();
        assert_eq!((st.mode, st.nlink, st.uid, st.gid), (0o041_777, 2, 3, 4));
        assert_eq!(nlink(&vfs, b"a"), 5);
        for path in [&b"a"[..], b"a/new", b"/", b".", b"a/..", b"top"] {
            assert_eq!(
                vfs.mkdir(ROOT, path, 0o755, 0, 0, T1),
                Err(Errno::EEXIST),
                "{path:?}"
            );
        }
        vfs.symlink(b"nowhere", ROOT, b"dangling", 0, 0, T0)
            .unwrap();
        assert_eq!(
            vfs.mkdir(ROOT, b"dangling", 0o755, 0, 0, T1),
            Err(Errno::EEXIST)
        );
        assert_eq!(
            vfs.mkdir(ROOT, b"top/x", 0o755, 0, 0, T1),
            Err(Errno::ENOTDIR)
        );
        assert_eq!(
            vfs.mkdir(ROOT, &[b'x'; 256], 0o755, 0, 0, T1),
            Err(Errno::ENAMETOOLONG)
        );
    }

    #[test]
    fn setgid_directories_pass_on_their_group() {
        let mut vfs = tree();
        // mkdir drops set-group-ID from the mode it is given; chmod sets it.
        let shared = vfs.mkdir(ROOT, b"shared", 0o2775, 0, 50, T0).unwrap();
        assert_eq!(vfs.stat(shared).unwrap().mode & 0o7777, 0o775);
        vfs.chmod(shared, 0o2775, T0).unwrap();
        let sub = vfs.mkdir(ROOT, b"shared/sub", 0o755, 7, 7, T0).unwrap();
        let f = vfs
            .open(ROOT, b"shared/f", CREATE, 0o644, 7, 7, T0)
            .unwrap();
        let sub = vfs.stat(sub).unwrap();
        assert_eq!((sub.gid, sub.uid, sub.mode & 0o7777), (50, 7, 0o2755));
        let f = vfs.stat(f).unwrap();
        assert_eq!((f.gid, f.mode & 0o7777), (50, 0o644));
    }

    #[test]
    fn mknod_rules() {
        let mut vfs = tree();
        let null = vfs
            .mknod(
                ROOT,
                b"null",
                FileType::CharDevice,
                0o666,
                super::super::makedev(1, 3),
                0,
                0,
                T0,
            )
            .unwrap();
        let st = vfs.stat(null).unwrap();
        assert_eq!((st.mode, st.rdev, st.size), (0o020_666, 0x103, 0));
        let p = vfs
            .mknod(ROOT, b"fifo", FileType::Fifo, 0o644, 99, 0, 0, T0)
            .unwrap();
        assert_eq!(vfs.stat(p).unwrap().rdev, 0);
        let r = vfs
            .mknod(ROOT, b"reg", FileType::Regular, 0o600, 0, 0, 0, T0)
            .unwrap();
        assert_eq!(vfs.stat(r).unwrap().mode, 0o100_600);
        let mknod = |vfs: &mut Vfs, path: &[u8], ft| vfs.mknod(ROOT, path, ft, 0o644, 0, 0, 0, T0);
        assert_eq!(
            mknod(&mut vfs, b"d", FileType::Directory),
            Err(Errno::EPERM)
        );
        assert_eq!(mknod(&mut vfs, b"l", FileType::Symlink), Err(Errno::EINVAL));
        assert_eq!(mknod(&mut vfs, b"null", FileType::Fifo), Err(Errno::EEXIST));
        assert_eq!(mknod(&mut vfs, b"x/", FileType::Fifo), Err(Errno::ENOENT));
        assert_eq!(
            mknod(&mut vfs, b"null/", FileType::Fifo),
            Err(Errno::EEXIST)
        );
    }

    #[test]
    fn hard_links_count_and_share_data() {
        let mut vfs = tree();
        let file = ino(&vfs, b"a/b/file");
        vfs.link(ROOT, b"a/b/file", ROOT, b"a/second", false, T1)
            .unwrap();
        vfs.link(ROOT, b"a/second", ROOT, b"third", false, T1)
            .unwrap();
        assert_eq!(ino(&vfs, b"third"), file);
        let st = vfs.stat(file).unwrap();
        assert_eq!((st.nlink, st.ctime), (3, T1));
        vfs.write(file, 5, b"!", T1).unwrap();
        assert_eq!(vfs.read(ino(&vfs, b"third"), 0, 10, T1).unwrap(), b"hello!");
        vfs.unlink(ROOT, b"a/b/file", T1).unwrap();
        assert_eq!(nlink(&vfs, b"third"), 2);
        vfs.unlink(ROOT, b"third", T1).unwrap();
        assert_eq!(nlink(&vfs, b"a/second"), 1);
        assert_eq!(vfs.read(file, 0, 10, T1).unwrap(), b"hello!");
        vfs.unlink(ROOT, b"a/second", T1).unwrap();
        assert_eq!(vfs.stat(file), Err(Errno::ENOENT));
    }

    #[test]
    fn link_errors_and_symlink_following() {
        let mut vfs = tree();
        assert_eq!(
            vfs.link(ROOT, b"a", ROOT, b"a2", false, T1),
            Err(Errno::EPERM)
        );
        // EEXIST is checked before EPERM.
        assert_eq!(
            vfs.link(ROOT, b"a", ROOT, b"top", false, T1),
            Err(Errno::EEXIST)
        );
        assert_eq!(
            vfs.link(ROOT, b"missing", ROOT, b"x", false, T1),
            Err(Errno::ENOENT)
        );
        assert_eq!(
            vfs.link(ROOT, b"top/", ROOT, b"x", false, T1),
            Err(Errno::ENOTDIR)
        );
        assert_eq!(
            vfs.link(ROOT, b"top", ROOT, b"x/", false, T1),
            Err(Errno::ENOENT)
        );
        let l = vfs.symlink(b"top", ROOT, b"l", 0, 0, T0).unwrap();
        vfs.link(ROOT, b"l", ROOT, b"l2", false, T1).unwrap();
        assert_eq!(ino(&vfs, b"l2"), l);
        vfs.link(ROOT, b"l", ROOT, b"t2", true, T1).unwrap();
        assert_eq!(ino(&vfs, b"t2"), ino(&vfs, b"top"));
    }

    #[test]
    fn unlink_rules() {
        let mut vfs = tree();
        assert_eq!(vfs.unlink(ROOT, b"a", T1), Err(Errno::EISDIR));
        assert_eq!(vfs.unlink(ROOT, b"a/", T1), Err(Errno::EISDIR));
        assert_eq!(vfs.unlink(ROOT, b".", T1), Err(Errno::EISDIR));
        assert_eq!(vfs.unlink(ROOT, b"/", T1), Err(Errno::EISDIR));
        assert_eq!(vfs.unlink(ROOT, b"top/", T1), Err(Errno::ENOTDIR));
        assert_eq!(vfs.unlink(ROOT, b"nope", T1), Err(Errno::ENOENT));
        // A link to a directory is removed itself, not followed.
        vfs.symlink(b"a", ROOT, b"to_a", 0, 0, T0).unwrap();
        assert_eq!(vfs.unlink(ROOT, b"to_a/", T1), Err(Errno::ENOTDIR));
        vfs.unlink(ROOT, b"to_a", T1).unwrap();
        assert!(vfs.lookup(ROOT, b"a", true).is_ok());
        vfs.unlink(ROOT, b"top", T1).unwrap();
        let root = vfs.stat(ROOT).unwrap();
        assert_eq!((root.mtime, root.ctime), (T1, T1));
        assert_eq!(
            vfs.usage(),
            Usage {
                inodes: 5,
                bytes: 4096,
            }
        );
    }

    #[test]
    fn rmdir_rules() {
        let mut vfs = tree();
        assert_eq!(vfs.rmdir(ROOT, b"a", T1), Err(Errno::ENOTEMPTY));
        assert_eq!(vfs.rmdir(ROOT, b"a/b", T1), Err(Errno::ENOTEMPTY));
        assert_eq!(vfs.rmdir(ROOT, b"top", T1), Err(Errno::ENOTDIR));
        assert_eq!(vfs.rmdir(ROOT, b"nope", T1), Err(Errno::ENOENT));
        assert_eq!(vfs.rmdir(ROOT, b"/", T1), Err(Errno::EBUSY));
        assert_eq!(vfs.rmdir(ROOT, b"a/empty/.", T1), Err(Errno::EINVAL));
        assert_eq!(vfs.rmdir(ROOT, b"a/empty/..", T1), Err(Errno::ENOTEMPTY));
        vfs.symlink(b"a/empty", ROOT, b"to_empty", 0, 0, T0)
            .unwrap();
        assert_eq!(vfs.rmdir(ROOT, b"to_empty", T1), Err(Errno::ENOTDIR));
        assert_eq!(vfs.rmdir(ROOT, b"to_empty/", T1), Err(Errno::ENOTDIR));
        assert_eq!(nlink(&vfs, b"a"), 4);
        vfs.rmdir(ROOT, b"a/empty/", T1).unwrap();
        assert_eq!(nlink(&vfs, b"a"), 3);
        assert_eq!(vfs.lookup(ROOT, b"a/empty", true), Err(Errno::ENOENT));
    }

    #[test]
    fn rename_moves_and_replaces() {
        let mut vfs = tree();
        let file = ino(&vfs, b"a/b/file");
        let top = ino(&vfs, b"top");
        // A file over a file: the replaced one is freed.
        rename(&mut vfs, b"a/b/file", b"top").unwrap();
        assert_eq!(ino(&vfs, b"top"), file);
        assert_eq!(vfs.stat(top), Err(Errno::ENOENT));
        assert_eq!(vfs.lookup(ROOT, b"a/b/file", true), Err(Errno::ENOENT));
        // A directory to a new name elsewhere: parents' link counts move.
        let b = ino(&vfs, b"a/b");
        rename(&mut vfs, b"a/b", b"moved").unwrap();
        assert_eq!(ino(&vfs, b"moved"), b);
        assert_eq!((nlink(&vfs, b"a"), vfs.stat(ROOT).unwrap().nlink), (3, 4));
        assert_eq!(vfs.lookup(b, b"..", true), Ok(ROOT));
        // A directory over an empty directory.
        rename(&mut vfs, b"moved", b"a/empty").unwrap();
        assert_eq!(ino(&vfs, b"a/empty"), b);
        assert_eq!((nlink(&vfs, b"a"), vfs.stat(ROOT).unwrap().nlink), (3, 3));
        assert_eq!(vfs.lookup(b, b"..", true), Ok(ino(&vfs, b"a")));
        let st = vfs.stat(b).unwrap();
        assert_eq!(st.ctime, T1);
        assert_eq!(vfs.usage().inodes, 4);
    }

    #[test]
    fn rename_errors() {
        let mut vfs = tree();
        vfs.mkdir(ROOT, b"full", 0o755, 0, 0, T0).unwrap();
        vfs.mkdir(ROOT, b"full/x", 0o755, 0, 0, T0).unwrap();
        assert_eq!(rename(&mut vfs, b"nope", b"x"), Err(Errno::ENOENT));
        assert_eq!(rename(&mut vfs, b"top", b"nope/x"), Err(Errno::ENOENT));
        assert_eq!(rename(&mut vfs, b"top", b"a"), Err(Errno::EISDIR));
        assert_eq!(rename(&mut vfs, b"a/empty", b"top"), Err(Errno::ENOTDIR));
        assert_eq!(rename(&mut vfs, b"a/empty", b"full"), Err(Errno::ENOTEMPTY));
        // Into its own subtree, or onto an ancestor.
        assert_eq!(rename(&mut vfs, b"a", b"a/b/inside"), Err(Errno::EINVAL));
        assert_eq!(rename(&mut vfs, b"a", b"a/inside"), Err(Errno::EINVAL));
        assert_eq!(rename(&mut vfs, b"a/b", b"a/b/c/d"), Err(Errno::ENOENT));
        assert_eq!(rename(&mut vfs, b"a/b/file", b"a"), Err(Errno::ENOTEMPTY));
        assert_eq!(rename(&mut vfs, b"a/empty", b"a"), Err(Errno::ENOTEMPTY));
        // Special last components.
        assert_eq!(rename(&mut vfs, b"a/.", b"x"), Err(Errno::EBUSY));
        assert_eq!(rename(&mut vfs, b"/", b"x"), Err(Errno::EBUSY));
        assert_eq!(rename(&mut vfs, b"top", b"a/.."), Err(Errno::EBUSY));
        let noreplace = RenameFlags {
            noreplace: true,
            exchange: false,
        };
        assert_eq!(
            vfs.rename(ROOT, b"top", ROOT, b".", noreplace, T1),
            Err(Errno::EEXIST)
        );
        // Trailing slashes on non-directories.
        assert_eq!(rename(&mut vfs, b"top/", b"x"), Err(Errno::ENOTDIR));
        assert_eq!(rename(&mut vfs, b"top", b"x/"), Err(Errno::ENOTDIR));
        assert_eq!(rename(&mut vfs, b"a/empty/", b"x/"), Ok(()));
        assert_eq!(nlink(&vfs, b"a"), 3);
    }

    #[test]
    fn rename_same_inode_is_a_no_op() {
        let mut vfs = tree();
        vfs.link(ROOT, b"top", ROOT, b"also", false, T0).unwrap();
        rename(&mut vfs, b"top", b"also").unwrap();
        assert_eq!(ino(&vfs, b"top"), ino(&vfs, b"also"));
        assert_eq!(nlink(&vfs, b"top"), 2);
        rename(&mut vfs, b"a", b"a").unwrap();
        rename(&mut vfs, b"a/b", b"a/./b/").unwrap();
        assert_eq!(vfs.stat(ino(&vfs, b"a")).unwrap().mtime, T0);
    }

    #[test]
    fn rename_noreplace() {
        let mut vfs = tree();
        let flags = RenameFlags {
            noreplace: true,
            exchange: false,
        };
        assert_eq!(
            vfs.rename(ROOT, b"top", ROOT, b"a", flags, T1),
            Err(Errno::EEXIST)
        );
        assert_eq!(
            vfs.rename(ROOT, b"top", ROOT, b"a/b/file", flags, T1),
            Err(Errno::EEXIST)
        );
        assert_eq!(vfs.rename(ROOT, b"top", ROOT, b"new", flags, T1), Ok(()));
        let both = RenameFlags {
            noreplace: true,
            exchange: true,
        };
        assert_eq!(
            vfs.rename(ROOT, b"new", ROOT, b"x", both, T1),
            Err(Errno::EINVAL)
        );
    }

    #[test]
    fn rename_exchange() {
        let mut vfs = tree();
        let flags = RenameFlags {
            noreplace: false,
            exchange: true,
        };
        let top = ino(&vfs, b"top");
        let b = ino(&vfs, b"a/b");
        assert_eq!(
            vfs.rename(ROOT, b"top", ROOT, b"missing", flags, T1),
            Err(Errno::ENOENT)
        );
        assert_eq!(
            vfs.rename(ROOT, b"a", ROOT, b"top/", flags, T1),
            Err(Errno::ENOTDIR)
        );
        assert_eq!(
            vfs.rename(ROOT, b"a", ROOT, b"a/b", flags, T1),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            vfs.rename(ROOT, b"a/b", ROOT, b"a", flags, T1),
            Err(Errno::EINVAL)
        );
        // A file and a directory in different parents trade places.
        vfs.rename(ROOT, b"top", ROOT, b"a/b", flags, T1).unwrap();
        assert_eq!((ino(&vfs, b"top"), ino(&vfs, b"a/b")), (b, top));
        assert_eq!((vfs.stat(ROOT).unwrap().nlink, nlink(&vfs, b"a")), (4, 3));
        assert_eq!(vfs.path_of(b).unwrap(), b"/top");
        assert_eq!(
            vfs.lookup(ROOT, b"top/file", true)
                .map(|f| vfs.stat(f).unwrap().size),
            Ok(5)
        );
        assert_eq!(vfs.stat(top).unwrap().ctime, T1);
        // Two directories: a directory with a trailing slash is fine.
        vfs.rename(ROOT, b"top/", ROOT, b"a/empty/", flags, T1)
            .unwrap();
        assert_eq!(ino(&vfs, b"a/empty"), b);
        assert_eq!((vfs.stat(ROOT).unwrap().nlink, nlink(&vfs, b"a")), (4, 3));
    }

    #[test]
    fn rename_into_removed_directory_fails() {
        let mut vfs = tree();
        let gone = ino(&vfs, b"a/empty");
        vfs.retain(gone);
        vfs.rmdir(ROOT, b"a/empty", T1).unwrap();
        assert_eq!(
            vfs.rename(ROOT, b"top", gone, b"x", RenameFlags::default(), T1),
            Err(Errno::ENOENT)
        );
        assert_eq!(
            vfs.link(ROOT, b"top", gone, b"x", false, T1),
            Err(Errno::ENOENT)
        );
    }
}
