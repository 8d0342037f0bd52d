//! Path syntax and the walk that resolves a path up to its last component.
//!
//! Resolution follows Linux's `fs/namei.c`: a path is split at `/` into
//! components, empty ones (repeated slashes) are skipped, `.` stays and
//! `..` goes to the parent (the root's parent is the root). Every
//! component but the last must lead to a directory, following symbolic
//! links: an absolute target restarts at the root, a relative one at the
//! directory holding the link. What to do with the last component (look
//! it up, follow it, create it, remove it) is the caller's choice, so
//! [`Walk::parent`] stops there and reports it with whether a slash
//! followed it. Across the whole resolution at most [`MAX_SYMLINKS`] links
//! are followed.

use alloc::vec;
use alloc::vec::Vec;

use super::{Ino, Vfs};
use crate::errno::Errno;

/// Size of a path buffer, NUL included (`PATH_MAX`): a path or a symbolic
/// link target has at most 4095 bytes.
pub const PATH_MAX: usize = 4096;
/// Longest name of a directory entry in bytes (`NAME_MAX`).
pub const NAME_MAX: usize = 255;
/// Most symbolic links followed while resolving one path (`MAXSYMLINKS`).
pub const MAX_SYMLINKS: u32 = 40;

/// Checks a path (or symbolic link target) as Linux's `getname` does:
/// at most 4095 bytes (`ENAMETOOLONG`), not empty (`ENOENT`). A NUL byte,
/// which a C string cannot carry, is refused with `EINVAL`.
pub(super) fn check(path: &[u8]) -> Result<(), Errno> {
    if path.len() >= PATH_MAX {
        Err(Errno::ENAMETOOLONG)
    } else if path.is_empty() {
        Err(Errno::ENOENT)
    } else if path.contains(&0) {
        Err(Errno::EINVAL)
    } else {
        Ok(())
    }
}

/// The last component of a path (Linux's `LAST_NORM`, `LAST_DOT`,
/// `LAST_DOTDOT`, `LAST_ROOT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Last<'a> {
    /// A name.
    Name(&'a [u8]),
    /// `.`: the directory itself.
    Dot,
    /// `..`: its parent.
    DotDot,
    /// No component at all: the path is `/` (or a link to it).
    Root,
}

impl<'a> Last<'a> {
    fn of(component: &'a [u8]) -> Last<'a> {
        match component {
            b"." => Last::Dot,
            b".." => Last::DotDot,
            name => Last::Name(name),
        }
    }
}

/// Where a walk stopped: the directory holding the last component.
#[derive(Debug)]
pub(super) struct Final<'a> {
    /// The directory the last component is in (or is, for `.` and `/`).
    pub(super) dir: Ino,
    /// The last component.
    pub(super) last: Last<'a>,
    /// Whether a slash followed it: the result must be a directory.
    pub(super) trailing_slash: bool,
}

/// A path resolution in progress.
pub(super) struct Walk<'a> {
    vfs: &'a Vfs,
    /// The directory reached so far.
    dir: Ino,
    /// The text still to walk: the path, then the target of each link
    /// being followed, innermost last.
    pending: Vec<&'a [u8]>,
    /// Links followed so far.
    links: u32,
}

impl<'a> Walk<'a> {
    /// Starts resolving `path`: at the root if it is absolute, else at
    /// `cwd`, which must be a directory.
    pub(super) fn new(vfs: &'a Vfs, cwd: Ino, path: &'a [u8]) -> Result<Walk<'a>, Errno> {
        check(path)?;
        let dir = if path.starts_with(b"/") {
            Vfs::ROOT
        } else {
            vfs.node(cwd)?.dir()?;
            cwd
        };
        Ok(Walk {
            vfs,
            dir,
            pending: vec![path],
            links: 0,
        })
    }

    /// Walks every component but the last, following symbolic links, and
    /// reports the last. Fails with `ENOENT` for a missing component,
    /// `ENOTDIR` for one that is not a directory, `ENAMETOOLONG` for a name
    /// over [`NAME_MAX`] bytes and `ELOOP` past [`MAX_SYMLINKS`] links.
    /// Mounted tmpfs file systems are entered, and `..` leaves their roots
    /// for their mount points' parents. Entering a foreign file system on
    /// the way is `EXDEV` ([`Walk::dir`] is then the mount point and
    /// [`Walk::rest`] what is left to walk there).
    pub(super) fn parent(&mut self) -> Result<Final<'a>, Errno> {
        loop {
            let Some((component, is_last)) = self.next_component() else {
                return Ok(Final {
                    dir: self.dir,
                    last: Last::Root,
                    trailing_slash: true,
                });
            };
            let component = Last::of(component);
            if is_last {
                return Ok(Final {
                    dir: self.dir,
                    last: component,
                    trailing_slash: self.pending.iter().any(|text| !text.is_empty()),
                });
            }
            self.dir = match component {
                Last::Dot | Last::Root => self.dir,
                Last::DotDot => {
                    let parent = self.vfs.up(self.dir)?;
                    self.enter(parent)?
                }
                Last::Name(name) => {
                    let ino = self.vfs.child(self.dir, name)?.ok_or(Errno::ENOENT)?;
                    if let Some(target) = self.vfs.symlink_target(ino) {
                        self.follow(target)?;
                        continue;
                    }
                    self.vfs.node(ino)?.dir()?;
                    self.enter(ino)?
                }
            };
        }
    }

    /// Steps into directory `dir`: onto the root of the tmpfs mounted
    /// there, if any. A foreign file system there is `EXDEV`, with
    /// [`Walk::dir`] the mount point: its owner walks the rest.
    fn enter(&mut self, dir: Ino) -> Result<Ino, Errno> {
        let vfs = self.vfs;
        vfs.cross(dir).map_err(|point| {
            self.dir = point;
            Errno::EXDEV
        })
    }

    /// The directory reached so far (after an `EXDEV` from
    /// [`Walk::parent`]: the mount point).
    pub(super) fn dir(&self) -> Ino {
        self.dir
    }

    /// The text not walked yet, as one relative path (empty if nothing
    /// but slashes is left; a trailing slash is kept).
    pub(super) fn rest(&self) -> Vec<u8> {
        let mut rest = Vec::new();
        // The innermost text (the link being followed) comes first.
        for text in self.pending.iter().rev().filter(|t| !t.is_empty()) {
            if !rest.is_empty() && !text.starts_with(b"/") && rest.last() != Some(&b'/') {
                rest.push(b'/');
            }
            rest.extend_from_slice(text);
        }
        let start = rest.iter().position(|&b| b != b'/').unwrap_or(rest.len());
        rest.split_off(start)
    }

    /// Continues the walk through a symbolic link found as the last
    /// component (in the directory [`Walk::parent`] reported): the next
    /// [`Walk::parent`] resolves `target` in its place.
    pub(super) fn follow(&mut self, target: &'a [u8]) -> Result<(), Errno> {
        self.links += 1;
        if self.links > MAX_SYMLINKS {
            return Err(Errno::ELOOP);
        }
        if target.starts_with(b"/") {
            self.dir = Vfs::ROOT;
        }
        self.pending.push(target);
        Ok(())
    }

    /// The next component and whether it is the last of the whole
    /// resolution (nothing but slashes left anywhere).
    fn next_component(&mut self) -> Option<(&'a [u8], bool)> {
        while let Some(text) = self.pending.last_mut() {
            let start = text.iter().position(|&b| b != b'/').unwrap_or(text.len());
            let rest = &text[start..];
            let end = rest.iter().position(|&b| b == b'/').unwrap_or(rest.len());
            if end == 0 {
                self.pending.pop();
                continue;
            }
            let (component, after) = rest.split_at(end);
            *text = after;
            let is_last = self
                .pending
                .iter()
                .all(|text| text.iter().all(|&b| b == b'/'));
            return Some((component, is_last));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vfs::Timespec;

    const NOW: Timespec = Timespec { secs: 1, nanos: 0 };

    fn walk<'a>(vfs: &'a Vfs, cwd: Ino, path: &'a [u8]) -> Result<Final<'a>, Errno> {
        Walk::new(vfs, cwd, path)?.parent()
    }

    #[test]
    fn check_applies_linux_limits() {
        assert_eq!(check(b""), Err(Errno::ENOENT));
        assert_eq!(check(&[b'a'; PATH_MAX - 1]), Ok(()));
        assert_eq!(check(&[b'a'; PATH_MAX]), Err(Errno::ENAMETOOLONG));
        assert_eq!(check(b"a\0b"), Err(Errno::EINVAL));
    }

    #[test]
    fn reports_the_last_component_and_trailing_slashes() {
        let mut vfs = Vfs::new(NOW);
        let a = vfs.mkdir(Vfs::ROOT, b"a", 0o755, 0, 0, NOW).unwrap();
        let f = walk(&vfs, Vfs::ROOT, b"//a///b").unwrap();
        assert_eq!(
            (f.dir, f.last, f.trailing_slash),
            (a, Last::Name(b"b"), false)
        );
        let f = walk(&vfs, a, b"b//").unwrap();
        assert_eq!(
            (f.dir, f.last, f.trailing_slash),
            (a, Last::Name(b"b"), true)
        );
        let f = walk(&vfs, a, b"./..").unwrap();
        assert_eq!((f.dir, f.last), (a, Last::DotDot));
        let f = walk(&vfs, a, b".").unwrap();
        assert_eq!((f.dir, f.last), (a, Last::Dot));
        let f = walk(&vfs, a, b"///").unwrap();
        assert_eq!((f.dir, f.last), (Vfs::ROOT, Last::Root));
    }

    #[test]
    fn relative_walk_needs_a_directory() {
        let mut vfs = Vfs::new(NOW);
        let file = vfs
            .open(
                Vfs::ROOT,
                b"f",
                crate::vfs::OpenOptions {
                    create: true,
                    ..Default::default()
                },
                0o644,
                0,
                0,
                NOW,
            )
            .unwrap();
        assert_eq!(walk(&vfs, file, b"x").err(), Some(Errno::ENOTDIR));
        assert_eq!(walk(&vfs, 999, b"x").err(), Some(Errno::ENOENT));
        // An absolute path ignores the starting directory.
        assert!(walk(&vfs, file, b"/x").is_ok());
    }
}
