//! procfs: `/proc`, made from the kernel's state when it is looked at.
//!
//! The tree (vessel-linux's tmpfs) has `/proc` as a foreign mount
//! ([`vessel_linux::vfs::Vfs::mount_foreign`]); a path that enters it is walked
//! here ([`walk`]) from the node the tree stopped at. A node ([`Node`])
//! names what it shows (a process by pid, one of its files), never holds
//! it: every lookup asks the kernel again, so a process that ended is gone.
//!
//! A file's contents are made when it is opened (a snapshot, read like a
//! regular file, with `lseek` and `pread`); a directory lists what exists
//! when it is read. Symbolic links: `self` (the caller's pid), `mounts`
//! (`self/mounts`), and per process `exe`, `cwd`, `root` and `fd/N`, which
//! lead where Linux's "magic" links lead: the open file itself, a pipe
//! included.
//!
//! What is approximate, because the kernel does not keep it: a process is
//! `R` when it is the one looking, `Z` once it ended, else `S`; load
//! averages are 0; idle time is the uptime less the CPU time of the
//! processes alive; signal masks, page faults and context switches read 0.

use crate::file::{self, File, OpenFile};
use crate::fs::{Found, Start};
use crate::kernel::TableEntry;
use crate::process::{Group, Process};
use alloc::format;
use alloc::string::String;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::fmt::Write;
use core::time::Duration;
use vessel_linux::Errno;
use vessel_linux::vfs::{DirEntry, FileType, Ino, MAX_SYMLINKS, Stat, Timespec, Vfs};
use vessel_std::sync::{Mutex, MutexGuard};

/// `st_dev` of `/proc`'s files (procfs has an anonymous device on Linux
/// too; the tmpfs is device 1).
pub const DEV: u64 = 0x16;
/// `statfs`'s `f_type` for procfs.
pub const PROC_SUPER_MAGIC: u64 = 0x9fa0;
/// Clock ticks per second in `/proc` (`USER_HZ`).
const HZ: u128 = 100;

/// What the `exe` link and `cmdline` of a process show: set when it
/// starts a program (`execve`, or the first program).
#[derive(Clone, Default)]
pub struct Program {
    /// The executable's path, symbolic links resolved.
    pub exe: Vec<u8>,
    /// The arguments, each followed by a NUL.
    pub cmdline: Vec<u8>,
}

/// Records that `group` now runs the program at `exe` (absolute, links
/// resolved) with `argv`: its `exe` link, `cmdline`, and its name, which
/// is the base name of `argv[0]` (of `exe` without arguments), cut to 15
/// bytes. (Linux names a process after the path `execve` was given, so
/// that busybox's applets, run through `/proc/self/exe`, are all "exe";
/// the name a program calls itself by says more.)
pub fn executed(group: &Group, exe: Vec<u8>, argv: &[String]) {
    let mut cmdline = Vec::new();
    for arg in argv {
        cmdline.extend_from_slice(arg.as_bytes());
        cmdline.push(0);
    }
    let called = argv.first().map_or(&exe[..], |arg| arg.as_bytes());
    let base = called.rsplit(|&b| b == b'/').next().unwrap_or(called);
    let mut name = [0u8; 16];
    for (slot, &byte) in name[..15].iter_mut().zip(base) {
        *slot = byte;
    }
    *group.name.lock().unwrap_or_else(|e| e.into_inner()) = name;
    *group.program() = Program { exe, cmdline };
}

/// A file of `/proc` at its root.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Global {
    /// `cpuinfo`.
    Cpuinfo,
    /// `filesystems`.
    Filesystems,
    /// `loadavg`.
    Loadavg,
    /// `meminfo`.
    Meminfo,
    /// `mounts`: a link to `self/mounts`.
    Mounts,
    /// `stat`.
    Stat,
    /// `uptime`.
    Uptime,
    /// `version`.
    Version,
}

/// A regular file of a process's directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PidFile {
    /// `cmdline`.
    Cmdline,
    /// `comm` (writable: renames the process).
    Comm,
    /// `maps`.
    Maps,
    /// `mounts`.
    Mounts,
    /// `stat`.
    Stat,
    /// `statm`.
    Statm,
    /// `status`.
    Status,
}

/// A symbolic link of a process's directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PidLink {
    /// `cwd`: the working directory.
    Cwd,
    /// `exe`: the program.
    Exe,
    /// `root`: the root directory.
    Root,
}

/// A file or directory of `/proc`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Node {
    /// `/proc` itself.
    Root,
    /// `/proc/self`, a link to the caller's pid.
    SelfLink,
    /// A file at the root.
    Global(Global),
    /// `/proc/PID`.
    Pid(u32),
    /// `/proc/PID/<file>`.
    PidFile(u32, PidFile),
    /// `/proc/PID/<link>`.
    PidLink(u32, PidLink),
    /// `/proc/PID/fd`.
    FdDir(u32),
    /// `/proc/PID/fd/N`.
    Fd(u32, u32),
}

/// The root's fixed entries, in listing order.
const ROOT_ENTRIES: [(&str, Node); 9] = [
    ("self", Node::SelfLink),
    ("cpuinfo", Node::Global(Global::Cpuinfo)),
    ("filesystems", Node::Global(Global::Filesystems)),
    ("loadavg", Node::Global(Global::Loadavg)),
    ("meminfo", Node::Global(Global::Meminfo)),
    ("mounts", Node::Global(Global::Mounts)),
    ("stat", Node::Global(Global::Stat)),
    ("uptime", Node::Global(Global::Uptime)),
    ("version", Node::Global(Global::Version)),
];

/// A process directory's entries, in listing order.
fn pid_entries(pid: u32) -> [(&'static str, Node); 11] {
    [
        ("cmdline", Node::PidFile(pid, PidFile::Cmdline)),
        ("comm", Node::PidFile(pid, PidFile::Comm)),
        ("cwd", Node::PidLink(pid, PidLink::Cwd)),
        ("exe", Node::PidLink(pid, PidLink::Exe)),
        ("fd", Node::FdDir(pid)),
        ("maps", Node::PidFile(pid, PidFile::Maps)),
        ("mounts", Node::PidFile(pid, PidFile::Mounts)),
        ("root", Node::PidLink(pid, PidLink::Root)),
        ("stat", Node::PidFile(pid, PidFile::Stat)),
        ("statm", Node::PidFile(pid, PidFile::Statm)),
        ("status", Node::PidFile(pid, PidFile::Status)),
    ]
}

/// Directory offset of the first process in the root's listing (the fixed
/// entries come before, `.` and `..` at 0 and 1).
const FIRST_PID_OFFSET: u64 = 256;
/// Directory offset of descriptor 0 in an `fd` listing.
const FIRST_FD_OFFSET: u64 = 2;

impl Node {
    /// The node's type.
    pub fn file_type(self) -> FileType {
        match self {
            Node::Root | Node::Pid(_) | Node::FdDir(_) => FileType::Directory,
            Node::SelfLink | Node::Global(Global::Mounts) | Node::PidLink(..) | Node::Fd(..) => {
                FileType::Symlink
            }
            Node::Global(_) | Node::PidFile(..) => FileType::Regular,
        }
    }

    /// The process the node belongs to, if any.
    fn pid(self) -> Option<u32> {
        match self {
            Node::Pid(pid)
            | Node::PidFile(pid, _)
            | Node::PidLink(pid, _)
            | Node::FdDir(pid)
            | Node::Fd(pid, _) => Some(pid),
            _ => None,
        }
    }

    /// Its inode number (unique within `/proc`, whose device is [`DEV`]).
    fn ino(self) -> Ino {
        let index = |node: Node, entries: &[(&str, Node)]| {
            entries.iter().position(|(_, n)| *n == node).unwrap_or(0) as u64 + 1
        };
        match self {
            Node::Root => 1,
            Node::SelfLink | Node::Global(_) => 0x100 + index(self, &ROOT_ENTRIES),
            Node::Pid(pid) => u64::from(pid) << 16,
            Node::PidFile(pid, _) | Node::PidLink(pid, _) | Node::FdDir(pid) => {
                u64::from(pid) << 16 | index(self, &pid_entries(pid))
            }
            Node::Fd(pid, fd) => u64::from(pid) << 16 | 0x8000 | u64::from(fd),
        }
    }

    /// Its parent directory (the root's is outside `/proc`).
    fn parent(self) -> Option<Node> {
        match self {
            Node::Root => None,
            Node::SelfLink | Node::Global(_) | Node::Pid(_) => Some(Node::Root),
            Node::PidFile(pid, _) | Node::PidLink(pid, _) | Node::FdDir(pid) => {
                Some(Node::Pid(pid))
            }
            Node::Fd(pid, _) => Some(Node::FdDir(pid)),
        }
    }

    /// Its path below `/proc` (empty for the root).
    fn path(self) -> String {
        match self {
            Node::Root => String::new(),
            Node::Pid(pid) => format!("/{pid}"),
            Node::FdDir(pid) => format!("/{pid}/fd"),
            Node::Fd(pid, fd) => format!("/{pid}/fd/{fd}"),
            Node::SelfLink | Node::Global(_) => {
                let name = ROOT_ENTRIES.iter().find(|(_, n)| *n == self);
                format!("/{}", name.map_or("", |(name, _)| name))
            }
            Node::PidFile(pid, _) | Node::PidLink(pid, _) => {
                let entries = pid_entries(pid);
                let name = entries.iter().find(|(_, n)| *n == self);
                format!("/{pid}/{}", name.map_or("", |(name, _)| name))
            }
        }
    }
}

/// A process as `/proc` sees it.
struct Target {
    entry: TableEntry,
    /// Its shared state, unless it ended.
    group: Option<Arc<Group>>,
}

impl Target {
    fn zombie(&self) -> bool {
        self.entry.ended.is_some() || self.group.is_none()
    }
}

/// Process `pid`, if it exists (running, or ended and not reaped).
fn target(p: &Process, pid: u32) -> Result<Target, Errno> {
    let entry = p.kernel.table_entry(pid).ok_or(Errno::ENOENT)?;
    Ok(Target {
        entry,
        group: p.kernel.group(pid),
    })
}

/// The group of a running process (`ENOENT` once it ended).
fn live_group(p: &Process, pid: u32) -> Result<Arc<Group>, Errno> {
    target(p, pid)?.group.ok_or(Errno::ENOENT)
}

/// Checks that `node` exists now (its process, its descriptor).
fn check(p: &Process, node: Node) -> Result<(), Errno> {
    match node {
        Node::Fd(pid, fd) => {
            live_group(p, pid)?
                .fds
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(u64::from(fd))
                .map_err(|_| Errno::ENOENT)?;
        }
        Node::FdDir(pid) | Node::PidLink(pid, PidLink::Exe | PidLink::Cwd) => {
            live_group(p, pid)?;
        }
        other => {
            if let Some(pid) = other.pid() {
                target(p, pid)?;
            }
        }
    }
    Ok(())
}

/// The entry `name` of directory `node`.
fn child(p: &Process, node: Node, name: &[u8]) -> Result<Node, Errno> {
    let child = match node {
        Node::Root => match ROOT_ENTRIES.iter().find(|(n, _)| n.as_bytes() == name) {
            Some((_, node)) => *node,
            None => Node::Pid(number(name).ok_or(Errno::ENOENT)?),
        },
        Node::Pid(pid) => pid_entries(pid)
            .iter()
            .find(|(n, _)| n.as_bytes() == name)
            .map(|(_, node)| *node)
            .ok_or(Errno::ENOENT)?,
        Node::FdDir(pid) => Node::Fd(pid, number(name).ok_or(Errno::ENOENT)?),
        _ => return Err(Errno::ENOTDIR),
    };
    check(p, child)?;
    Ok(child)
}

/// A decimal number without sign or leading zeros, as `/proc` names
/// processes and descriptors.
fn number(name: &[u8]) -> Option<u32> {
    if name.is_empty()
        || (name[0] == b'0' && name.len() > 1)
        || !name.iter().all(u8::is_ascii_digit)
    {
        return None;
    }
    core::str::from_utf8(name).ok()?.parse().ok()
}

/// Where a symbolic link of `/proc` leads.
enum Link {
    /// Another node of `/proc` (a relative target).
    Proc(Node),
    /// A path, resolved from the root.
    Path(Vec<u8>),
    /// Straight to a file (Linux's "magic" links: `cwd`, `fd/N`).
    Found(Found),
}

/// What link `node` leads to.
fn link(p: &Process, node: Node) -> Result<Link, Errno> {
    Ok(match node {
        Node::SelfLink => Link::Proc(Node::Pid(p.pid())),
        Node::Global(Global::Mounts) => Link::Proc(Node::PidFile(p.pid(), PidFile::Mounts)),
        Node::PidLink(_, PidLink::Root) => Link::Found(Found::Tree(Vfs::ROOT)),
        Node::PidLink(pid, PidLink::Exe) => {
            let group = live_group(p, pid)?;
            let exe = group.program().exe.clone();
            if exe.is_empty() {
                return Err(Errno::ENOENT);
            }
            Link::Path(exe)
        }
        Node::PidLink(pid, PidLink::Cwd) => {
            let group = live_group(p, pid)?;
            Link::Found(match group.cwd() {
                Start::Tree(ino) => Found::Tree(ino),
                Start::Proc(mount, node) => Found::Proc(mount, node),
            })
        }
        Node::Fd(pid, fd) => Link::Found(Found::of(fd_file(p, pid, fd)?)),
        _ => return Err(Errno::EINVAL),
    })
}

/// What descriptor `fd` of live process `pid` has open; `ENOENT` if none.
fn fd_file(p: &Process, pid: u32, fd: u32) -> Result<Arc<OpenFile>, Errno> {
    live_group(p, pid)?
        .fds
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(u64::from(fd))
        .map_err(|_| Errno::ENOENT)
}

/// The text of link `node` (`readlink`).
pub fn readlink(p: &Process, node: Node) -> Result<Vec<u8>, Errno> {
    check(p, node)?;
    Ok(match node {
        Node::SelfLink => format!("{}", p.pid()).into_bytes(),
        Node::Global(Global::Mounts) => b"self/mounts".to_vec(),
        Node::PidLink(_, PidLink::Root) => b"/".to_vec(),
        Node::PidLink(pid, PidLink::Exe) => match link(p, Node::PidLink(pid, PidLink::Exe))? {
            Link::Path(path) => path,
            _ => return Err(Errno::ENOENT),
        },
        Node::PidLink(pid, PidLink::Cwd) => {
            let group = live_group(p, pid)?;
            start_path(p, group.cwd())?
        }
        Node::Fd(pid, fd) => {
            let file = fd_file(p, pid, fd)?;
            describe(p, &file)
        }
        _ => return Err(Errno::EINVAL),
    })
}

/// The path of a directory where paths may start (a working directory).
pub fn start_path(p: &Process, start: Start) -> Result<Vec<u8>, Errno> {
    match start {
        Start::Tree(ino) => p.kernel.fs.lock().path_of(ino),
        Start::Proc(mount, node) => Ok(proc_path(p, mount, node)),
    }
}

/// The absolute path of `node` of the `/proc` mounted at `mount`.
fn proc_path(p: &Process, mount: Ino, node: Node) -> Vec<u8> {
    let mut path = p
        .kernel
        .fs
        .lock()
        .path_of(mount)
        .unwrap_or_else(|_| b"/proc".to_vec());
    if path == b"/" {
        path.clear();
    }
    path.extend_from_slice(node.path().as_bytes());
    if path.is_empty() {
        path.push(b'/');
    }
    path
}

/// What `/proc/PID/fd/N` says an open file is.
fn describe(p: &Process, file: &File) -> Vec<u8> {
    if let Some(node) = file.tree_node() {
        let vfs = p.kernel.fs.lock();
        return vfs
            .find_path(node.ino)
            .unwrap_or_else(|| format!("/(inode {}) (deleted)", node.ino).into_bytes());
    }
    match file {
        File::Proc(proc) => proc_path(p, proc.mount, proc.node),
        File::Pipe(end) => format!("pipe:[{}]", end.id()).into_bytes(),
        File::Device(device) => format!("/dev/{}", device.name()).into_bytes(),
        _ => b"/dev/console".to_vec(),
    }
}

/// How a walk in `/proc` ended.
pub enum Walked {
    /// At this file.
    Found(Found),
    /// It leaves `/proc`: the rest of the path is to be resolved from
    /// `start`.
    Leave(Start, Vec<u8>),
}

/// Walks `path` (relative) from `node` of the `/proc` mounted at `mount`,
/// following a final symbolic link if `follow`.
pub fn walk(
    p: &Process,
    mount: Ino,
    node: Node,
    path: &[u8],
    follow: bool,
) -> Result<Walked, Errno> {
    let mut node = node;
    let components: Vec<&[u8]> = path
        .split(|&b| b == b'/')
        .filter(|c| !c.is_empty())
        .collect();
    let trailing_slash = path.ends_with(b"/");
    let mut links = 0;
    let rest = |from: usize| {
        let mut rest = components[from..].join(&b'/');
        if trailing_slash && !rest.is_empty() {
            rest.push(b'/');
        }
        rest
    };
    check(p, node)?;
    for (i, &component) in components.iter().enumerate() {
        let last = i + 1 == components.len();
        match component {
            b"." => {}
            b".." => match node.parent() {
                Some(parent) => node = parent,
                None => {
                    let parent = p.kernel.fs.lock().parent_of(mount)?;
                    let mut rest = rest(i + 1);
                    if rest.is_empty() {
                        rest.push(b'.');
                    }
                    return Ok(Walked::Leave(Start::Tree(parent), rest));
                }
            },
            name => {
                if node.file_type() != FileType::Directory {
                    return Err(Errno::ENOTDIR);
                }
                let next = child(p, node, name)?;
                if next.file_type() != FileType::Symlink || (last && !follow && !trailing_slash) {
                    node = next;
                    continue;
                }
                links += 1;
                if links > MAX_SYMLINKS {
                    return Err(Errno::ELOOP);
                }
                match link(p, next)? {
                    Link::Proc(target) => node = target,
                    Link::Path(target) => {
                        let mut path = target;
                        let rest = rest(i + 1);
                        if !rest.is_empty() {
                            path.push(b'/');
                            path.extend_from_slice(&rest);
                        }
                        return Ok(Walked::Leave(Start::Tree(Vfs::ROOT), path));
                    }
                    Link::Found(Found::Proc(_, target)) => node = target,
                    Link::Found(found) if last => return Ok(Walked::Found(found)),
                    Link::Found(Found::Tree(ino)) => {
                        return Ok(Walked::Leave(Start::Tree(ino), rest(i + 1)));
                    }
                    Link::Found(Found::File(_)) => return Err(Errno::ENOTDIR),
                }
            }
        }
    }
    if trailing_slash && node.file_type() != FileType::Directory {
        return Err(Errno::ENOTDIR);
    }
    Ok(Walked::Found(Found::Proc(mount, node)))
}

/// The wall-clock time the kernel started.
fn boot_time(p: &Process) -> Duration {
    let now = file::now();
    let now = Duration::new(now.secs.max(0) as u64, now.nanos);
    now.saturating_sub(p.kernel.booted.elapsed())
}

fn timespec(at: Duration) -> Timespec {
    Timespec {
        secs: at.as_secs() as i64,
        nanos: at.subsec_nanos(),
    }
}

/// The attributes of `node`.
pub fn stat(p: &Process, node: Node) -> Result<Stat, Errno> {
    check(p, node)?;
    let file_type = node.file_type();
    let perm = match node {
        Node::PidFile(_, PidFile::Comm) => 0o644,
        Node::Fd(pid, fd) => {
            let file = live_group(p, pid)?
                .fds
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(u64::from(fd))
                .map_err(|_| Errno::ENOENT)?;
            match file.flags() & 3 {
                0 => 0o500,
                1 => 0o300,
                _ => 0o700,
            }
        }
        _ => match file_type {
            FileType::Directory => 0o555,
            FileType::Symlink => 0o777,
            _ => 0o444,
        },
    };
    // Times: when the process started (its files), or the kernel.
    let boot = boot_time(p);
    let time = match node.pid().and_then(|pid| p.kernel.group(pid)) {
        Some(group) => boot + group.started.saturating_duration_since(p.kernel.booted),
        None => boot,
    };
    let time = timespec(time);
    Ok(Stat {
        ino: node.ino(),
        file_type,
        mode: file_type.mode_bits() | perm,
        nlink: if file_type == FileType::Directory {
            2
        } else {
            1
        },
        uid: 0,
        gid: 0,
        size: 0,
        blocks: 0,
        rdev: 0,
        atime: time,
        mtime: time,
        ctime: time,
    })
}

/// The entries of directory `node`, `.` and `..` first, each with its
/// directory offset (stable: a pid or a descriptor number decides it).
pub fn read_dir(p: &Process, mount: Ino, node: Node) -> Result<Vec<DirEntry>, Errno> {
    check(p, node)?;
    let entry = |offset: u64, name: &[u8], node: Node| DirEntry {
        ino: node.ino(),
        name: name.to_vec(),
        file_type: node.file_type(),
        offset,
    };
    let mut entries = Vec::new();
    entries.push(entry(0, b".", node));
    let up = match node.parent() {
        Some(parent) => entry(1, b"..", parent),
        None => DirEntry {
            ino: p.kernel.fs.lock().parent_of(mount).unwrap_or(Vfs::ROOT),
            name: b"..".to_vec(),
            file_type: FileType::Directory,
            offset: 1,
        },
    };
    entries.push(up);
    match node {
        Node::Root => {
            for (i, (name, node)) in ROOT_ENTRIES.iter().enumerate() {
                entries.push(entry(2 + i as u64, name.as_bytes(), *node));
            }
            for pid in p.kernel.all_processes() {
                let name = format!("{pid}");
                let offset = FIRST_PID_OFFSET + u64::from(pid);
                entries.push(entry(offset, name.as_bytes(), Node::Pid(pid)));
            }
        }
        Node::Pid(pid) => {
            for (i, (name, node)) in pid_entries(pid).iter().enumerate() {
                entries.push(entry(2 + i as u64, name.as_bytes(), *node));
            }
        }
        Node::FdDir(pid) => {
            let fds = live_group(p, pid)?
                .fds
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .open_fds();
            for fd in fds {
                let name = format!("{fd}");
                let offset = FIRST_FD_OFFSET + fd as u64;
                entries.push(entry(offset, name.as_bytes(), Node::Fd(pid, fd as u32)));
            }
        }
        _ => return Err(Errno::ENOTDIR),
    }
    Ok(entries)
}

/// An open file of `/proc`: a snapshot of a file's contents, or a
/// directory (listed when read).
pub struct ProcFile {
    /// The mount point of the `/proc` it is in.
    pub mount: Ino,
    /// What it is.
    pub node: Node,
    contents: Vec<u8>,
    /// Its attributes when it was opened (`fstat`).
    stat: Stat,
    position: Mutex<u64>,
    /// Opened for reading.
    readable: bool,
    /// For `comm` opened for writing: whose name a write sets.
    renames: Option<Weak<Group>>,
}

impl ProcFile {
    /// The offset (a directory's next entry offset), locked.
    pub fn position(&self) -> MutexGuard<'_, u64> {
        self.position.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether it was opened for reading, for writing.
    pub fn access(&self) -> (bool, bool) {
        (self.readable, self.renames.is_some())
    }

    /// Its attributes (as when it was opened).
    pub fn stat(&self) -> &Stat {
        &self.stat
    }

    /// The size of the snapshot.
    pub fn size(&self) -> u64 {
        self.contents.len() as u64
    }

    /// Reads at most `max` bytes at `offset`.
    pub fn read_at(&self, offset: u64, max: usize) -> Result<Vec<u8>, Errno> {
        if !self.readable {
            return Err(Errno::EBADF);
        }
        if self.node.file_type() == FileType::Directory {
            return Err(Errno::EISDIR);
        }
        let start = (offset.min(self.size())) as usize;
        let end = start.saturating_add(max).min(self.contents.len());
        Ok(self.contents[start..end].to_vec())
    }

    /// Reads at most `max` bytes at the file offset, moving it.
    pub fn read(&self, max: usize) -> Result<Vec<u8>, Errno> {
        let mut position = self.position();
        let bytes = self.read_at(*position, max)?;
        *position += bytes.len() as u64;
        Ok(bytes)
    }

    /// Writes `data`: only `comm` takes writes (a new name, as
    /// `PR_SET_NAME` sets it).
    pub fn write(&self, data: &[u8]) -> Result<usize, Errno> {
        let Some(group) = &self.renames else {
            return Err(Errno::EBADF);
        };
        let group = group.upgrade().ok_or(Errno::ESRCH)?;
        let text = data.strip_suffix(b"\n").unwrap_or(data);
        let mut name = [0u8; 16];
        for (slot, &byte) in name[..15]
            .iter_mut()
            .zip(text.iter().take_while(|&&b| b != 0))
        {
            *slot = byte;
        }
        *group.name.lock().unwrap_or_else(|e| e.into_inner()) = name;
        Ok(data.len())
    }
}

/// Opens `node` of the `/proc` mounted at `mount`; `writable` asks for
/// writing (only `comm` allows it: `EACCES` elsewhere, `EISDIR` for a
/// directory, `EROFS` on a read-only mount). A regular file's contents
/// are made now.
pub fn open(
    p: &Process,
    mount: Ino,
    node: Node,
    readable: bool,
    writable: bool,
) -> Result<File, Errno> {
    check(p, node)?;
    let file_type = node.file_type();
    if writable {
        match node {
            _ if file_type == FileType::Directory => return Err(Errno::EISDIR),
            Node::PidFile(_, PidFile::Comm) => {
                let flags = p.kernel.fs.lock().foreign_flags(mount);
                if flags.is_some_and(|flags| flags.read_only) {
                    return Err(Errno::EROFS);
                }
            }
            _ => return Err(Errno::EACCES),
        }
    }
    let renames = match node {
        Node::PidFile(pid, PidFile::Comm) if writable => Some(Arc::downgrade(&live_group(p, pid)?)),
        _ => None,
    };
    let contents = if file_type == FileType::Regular && readable {
        contents(p, node)?
    } else {
        Vec::new()
    };
    Ok(File::Proc(ProcFile {
        mount,
        node,
        stat: stat(p, node)?,
        contents,
        position: Mutex::new(0),
        readable,
        renames,
    }))
}

/// The contents of regular file `node`, now.
fn contents(p: &Process, node: Node) -> Result<Vec<u8>, Errno> {
    let text = match node {
        Node::Global(Global::Cpuinfo) => cpuinfo(),
        Node::Global(Global::Filesystems) => String::from("nodev\ttmpfs\nnodev\tproc\n"),
        Node::Global(Global::Loadavg) => loadavg(p),
        Node::Global(Global::Meminfo) => meminfo(p),
        Node::Global(Global::Stat) => global_stat(p),
        Node::Global(Global::Uptime) => uptime(p),
        Node::Global(Global::Version) => String::from(
            "Linux version 6.1.0-vessel (vessel@vessel) (rustc, vessel-linux) #1 Vessel\n",
        ),
        Node::PidFile(_, PidFile::Mounts) => mounts(p),
        Node::PidFile(pid, file) => {
            let target = target(p, pid)?;
            match file {
                PidFile::Cmdline => {
                    return Ok(target
                        .group
                        .map_or_else(Vec::new, |g| g.program().cmdline.clone()));
                }
                PidFile::Comm => {
                    let mut name = name_of(&target);
                    name.push('\n');
                    name
                }
                PidFile::Maps => maps(&target),
                PidFile::Stat => pid_stat(p, &target),
                PidFile::Statm => statm(&target),
                PidFile::Status => status(p, &target),
                PidFile::Mounts => mounts(p),
            }
        }
        _ => return Err(Errno::EINVAL),
    };
    Ok(text.into_bytes())
}

/// A process's name (`comm`), as text.
fn name_of(target: &Target) -> String {
    // A zombie's state is gone with its memory: no name is left.
    let name = match &target.group {
        Some(group) => *group.name.lock().unwrap_or_else(|e| e.into_inner()),
        None => [0; 16],
    };
    let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
    String::from_utf8_lossy(&name[..end]).into_owned()
}

/// A process's state letter and word.
fn state(p: &Process, target: &Target) -> (char, &'static str) {
    if target.zombie() {
        ('Z', "zombie")
    } else if target.entry.pid == p.pid() {
        ('R', "running")
    } else {
        ('S', "sleeping")
    }
}

/// A duration in clock ticks.
fn ticks(time: Duration) -> u128 {
    time.as_millis() * HZ / 1000
}

/// What a process's memory looks like: pages with a frame now (resident)
/// and at most, pages mapped in all (resident or reserved: the virtual
/// size), the start of its heap and the program break.
struct MemoryFigures {
    pages: u64,
    peak: u64,
    size: u64,
    brk_start: u64,
    brk: u64,
}

fn memory(group: &Group) -> MemoryFigures {
    let mm = group.mm();
    let memory = mm.lock().unwrap_or_else(|e| e.into_inner());
    MemoryFigures {
        pages: memory.space.mapped_pages(),
        peak: memory.space.peak_pages(),
        size: memory.space.mapped_pages() + memory.space.reserved_pages(),
        brk_start: memory.brk_start,
        brk: memory.brk,
    }
}

/// `/proc/PID/stat`.
fn pid_stat(p: &Process, target: &Target) -> String {
    let entry = &target.entry;
    let (state, _) = state(p, target);
    let (utime, stime, cutime, cstime, threads, start, vsize, rss, brk) = match &target.group {
        Some(group) => {
            let (user, system) = group.cpu_times();
            let children = *group.children.lock().unwrap_or_else(|e| e.into_inner());
            let memory = memory(group);
            (
                ticks(user),
                ticks(system),
                ticks(children.user),
                ticks(children.system),
                group.threads(),
                ticks(group.started.saturating_duration_since(p.kernel.booted)),
                memory.size * 4096,
                memory.pages,
                memory.brk_start,
            )
        }
        None => (0, 0, 0, 0, 1, 0, 0, 0, 0),
    };
    let stack = if target.group.is_some() {
        crate::process::STACK_TOP
    } else {
        0
    };
    let exit_code = entry.ended.map_or(0, |ended| ended.wait_status());
    format!(
        "{pid} ({name}) {state} {ppid} {pgid} {sid} 0 -1 4194304 0 0 0 0 {utime} {stime} \
         {cutime} {cstime} 20 0 {threads} 0 {start} {vsize} {rss} 18446744073709551615 1 1 \
         {stack} 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 {brk} 0 0 0 0 {exit_code}\n",
        pid = entry.pid,
        name = name_of(target),
        ppid = entry.parent,
        pgid = entry.pgid,
        sid = entry.sid,
    )
}

/// `/proc/PID/statm`: sizes in pages.
fn statm(target: &Target) -> String {
    let Some(group) = &target.group else {
        return String::from("0 0 0 0 0 0 0\n");
    };
    let memory = memory(group);
    let data = (memory.brk - memory.brk_start).div_ceil(4096);
    format!("{} {} 0 0 0 {data} 0\n", memory.size, memory.pages)
}

/// `/proc/PID/status`.
fn status(p: &Process, target: &Target) -> String {
    let entry = &target.entry;
    let (letter, word) = state(p, target);
    let mut out = String::new();
    let _ = write!(
        out,
        "Name:\t{name}\nState:\t{letter} ({word})\nTgid:\t{pid}\nNgid:\t0\nPid:\t{pid}\n\
         PPid:\t{ppid}\nTracerPid:\t0\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n",
        name = name_of(target),
        pid = entry.pid,
        ppid = entry.parent,
    );
    let fd_size = target.group.as_ref().map_or(0, |group| {
        let fds = group.fds.lock().unwrap_or_else(|e| e.into_inner());
        fds.open_fds()
            .last()
            .map_or(0, |&fd| fd + 1)
            .next_multiple_of(64)
    });
    let _ = write!(
        out,
        "FDSize:\t{fd_size}\nGroups:\t\nNStgid:\t{pid}\nNSpid:\t{pid}\nNSpgid:\t{pgid}\n\
         NSsid:\t{sid}\n",
        pid = entry.pid,
        pgid = entry.pgid,
        sid = entry.sid,
    );
    let threads = match &target.group {
        Some(group) => {
            let memory = memory(group);
            let kib = |pages: u64| pages * 4;
            let lines = [
                // No peak of the virtual size is kept: the resident peak
                // or the size now, whichever is more, bounds it from below.
                ("VmPeak", kib(memory.peak.max(memory.size))),
                ("VmSize", kib(memory.size)),
                ("VmLck", 0),
                ("VmPin", 0),
                ("VmHWM", kib(memory.peak)),
                ("VmRSS", kib(memory.pages)),
                ("RssAnon", kib(memory.pages)),
                ("RssFile", 0),
                ("RssShmem", 0),
                ("VmData", (memory.brk - memory.brk_start).div_ceil(1024)),
                ("VmSwap", 0),
            ];
            for (name, value) in lines {
                let _ = writeln!(out, "{name}:\t{value:8} kB");
            }
            group.threads()
        }
        None => 1,
    };
    let _ = write!(
        out,
        "Threads:\t{threads}\nSigQ:\t0/0\nSigPnd:\t0000000000000000\nShdPnd:\t0000000000000000\n\
         SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\nSigCgt:\t0000000000000000\n\
         CapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\nCapEff:\t000001ffffffffff\n\
         CapBnd:\t000001ffffffffff\nCapAmb:\t0000000000000000\nNoNewPrivs:\t0\nSeccomp:\t0\n\
         Cpus_allowed:\t1\nCpus_allowed_list:\t0\nvoluntary_ctxt_switches:\t0\n\
         nonvoluntary_ctxt_switches:\t0\n"
    );
    out
}

/// `/proc/PID/maps`: the runs of pages mapped with the same rights and
/// sharing (there are no VMAs; the page tables are the record), `s` for
/// shared memory, `p` for private. Everything reads as anonymous (a
/// private copy of a file is not named after it); the heap and the main
/// stack are named.
fn maps(target: &Target) -> String {
    let Some(group) = &target.group else {
        return String::new();
    };
    let (regions, brk_start, heap_end) = {
        let mm = group.mm();
        let memory = mm.lock().unwrap_or_else(|e| e.into_inner());
        (
            memory.space.regions(0..vessel_std::os::user::USER_END),
            memory.brk_start,
            memory.heap_mapped_end,
        )
    };
    let stack_top = crate::process::STACK_TOP;
    let mut out = String::new();
    for (start, end, how) in regions {
        let access = how.access;
        let rights = [
            if access.readable { 'r' } else { '-' },
            if access.writable { 'w' } else { '-' },
            if access.executable { 'x' } else { '-' },
            if how.shared { 's' } else { 'p' },
        ];
        let rights: String = rights.iter().collect();
        let name = if start >= brk_start && end <= heap_end && heap_end > brk_start {
            "[heap]"
        } else if end == stack_top {
            "[stack]"
        } else {
            ""
        };
        let line = format!("{start:08x}-{end:08x} {rights} 00000000 00:00 0");
        if name.is_empty() {
            let _ = writeln!(out, "{line}");
        } else {
            let _ = writeln!(out, "{line:<72} {name}");
        }
    }
    out
}

/// `/proc/PID/mounts` (and `/proc/mounts`): the root tmpfs, then every
/// mount in the order they were made, as Linux writes them: source,
/// mount point, type, flags and a tmpfs's options that are not the
/// defaults (`none /mnt tmpfs rw,relatime,size=1024k 0 0`).
fn mounts(p: &Process) -> String {
    let vfs = p.kernel.fs.lock();
    let root = vfs.mount_flags(Vfs::ROOT).unwrap_or_default();
    let mut out = format!("tmpfs / tmpfs {} 0 0\n", root.describe());
    for mount in vfs.mounts() {
        let Ok(path) = vfs.path_of(mount.point) else {
            continue;
        };
        let (fstype, options) = match mount.tmpfs {
            Some((_, options)) => ("tmpfs", options.describe()),
            None => ("proc", String::new()),
        };
        let _ = writeln!(
            out,
            "{} {} {fstype} {}{options} 0 0",
            escape(mount.source),
            escape(&path),
            mount.flags.describe(),
        );
    }
    out
}

/// A path as `/proc/mounts` writes it: space, tab, newline and backslash
/// as octal escapes.
fn escape(path: &[u8]) -> String {
    let mut out = String::new();
    for &byte in path {
        match byte {
            b' ' | b'\t' | b'\n' | b'\\' => {
                let _ = write!(out, "\\{byte:03o}");
            }
            _ => out.push(char::from(byte)),
        }
    }
    out
}

/// Memory figures for `meminfo`: total, free, and what files hold, in
/// KiB.
fn memory_kib(p: &Process) -> (u64, u64, u64) {
    let usage = vessel_rt::memory::usage();
    let files = p.kernel.fs.lock().usage().bytes;
    (usage.total / 1024, usage.free / 1024, files / 1024)
}

/// `/proc/meminfo`: the RAM vessel-rt manages; the tmpfs's data counts as
/// shared memory and page cache (it cannot be reclaimed: it is all there
/// is), there is no swap.
fn meminfo(p: &Process) -> String {
    let (total, free, files) = memory_kib(p);
    let lines = [
        ("MemTotal", total),
        ("MemFree", free),
        ("MemAvailable", free),
        ("Buffers", 0),
        ("Cached", files),
        ("SwapCached", 0),
        ("Active", 0),
        ("Inactive", 0),
        ("SwapTotal", 0),
        ("SwapFree", 0),
        ("Dirty", 0),
        ("Writeback", 0),
        (
            "AnonPages",
            total.saturating_sub(free).saturating_sub(files),
        ),
        ("Mapped", 0),
        ("Shmem", files),
        ("SReclaimable", 0),
        ("CommitLimit", total),
        ("Committed_AS", total.saturating_sub(free)),
    ];
    let mut out = String::new();
    for (name, value) in lines {
        let _ = writeln!(out, "{:<16}{value:>8} kB", format!("{name}:"));
    }
    out
}

/// CPU time of the processes alive (with the children they waited for).
fn busy(p: &Process) -> (Duration, Duration) {
    let (mut user, mut system) = (Duration::ZERO, Duration::ZERO);
    for pid in p.kernel.all_processes() {
        if let Some(group) = p.kernel.group(pid) {
            let usage = group.usage();
            user += usage.user;
            system += usage.system;
        }
    }
    (user, system)
}

/// `/proc/uptime`: seconds since boot, and idle seconds (the uptime less
/// the CPU time the processes alive used).
fn uptime(p: &Process) -> String {
    let up = p.kernel.booted.elapsed();
    let (user, system) = busy(p);
    let idle = up.saturating_sub(user + system);
    let hundredths = |d: Duration| d.as_millis() / 10;
    format!(
        "{}.{:02} {}.{:02}\n",
        hundredths(up) / 100,
        hundredths(up) % 100,
        hundredths(idle) / 100,
        hundredths(idle) % 100
    )
}

/// `/proc/loadavg`: no load is tracked (0.00); running and total threads,
/// and the last pid given out.
fn loadavg(p: &Process) -> String {
    let threads: usize = p
        .kernel
        .all_processes()
        .into_iter()
        .filter_map(|pid| p.kernel.group(pid))
        .map(|group| group.threads())
        .sum();
    format!("0.00 0.00 0.00 1/{threads} {}\n", p.kernel.last_pid())
}

/// `/proc/stat`: one CPU; its user and system time are the processes'
/// (as `uptime`), idle the rest.
fn global_stat(p: &Process) -> String {
    let up = p.kernel.booted.elapsed();
    let (user, system) = busy(p);
    let idle = up.saturating_sub(user + system);
    let (user, system, idle) = (ticks(user), ticks(system), ticks(idle));
    let cpu = format!("{user} 0 {system} {idle} 0 0 0 0 0 0");
    format!(
        "cpu  {cpu}\ncpu0 {cpu}\nintr 0\nctxt 0\nbtime {}\nprocesses {}\nprocs_running 1\n\
         procs_blocked 0\nsoftirq 0 0 0 0 0 0 0 0 0 0 0\n",
        boot_time(p).as_secs(),
        p.kernel.last_pid(),
    )
}

/// `/proc/cpuinfo`: the one CPU, as CPUID describes it.
fn cpuinfo() -> String {
    use core::arch::x86_64::__cpuid;
    let leaf0 = __cpuid(0);
    let mut vendor = Vec::new();
    for word in [leaf0.ebx, leaf0.edx, leaf0.ecx] {
        vendor.extend_from_slice(&word.to_le_bytes());
    }
    let leaf1 = __cpuid(1);
    let base_family = (leaf1.eax >> 8) & 0xf;
    let family = if base_family == 0xf {
        base_family + ((leaf1.eax >> 20) & 0xff)
    } else {
        base_family
    };
    let mut model = (leaf1.eax >> 4) & 0xf;
    if base_family == 0x6 || base_family == 0xf {
        model |= ((leaf1.eax >> 16) & 0xf) << 4;
    }
    let stepping = leaf1.eax & 0xf;
    let max_extended = __cpuid(0x8000_0000).eax;
    let mut brand = Vec::new();
    if max_extended >= 0x8000_0004 {
        for leaf in 0x8000_0002..=0x8000_0004 {
            let r = __cpuid(leaf);
            for word in [r.eax, r.ebx, r.ecx, r.edx] {
                brand.extend_from_slice(&word.to_le_bytes());
            }
        }
    }
    let brand = String::from_utf8_lossy(&brand);
    let brand = brand.trim_matches(|c: char| c == '\0' || c == ' ');
    let (physical, virtual_bits) = if max_extended >= 0x8000_0008 {
        let r = __cpuid(0x8000_0008);
        (r.eax & 0xff, (r.eax >> 8) & 0xff)
    } else {
        (36, 48)
    };
    let mhz = vessel_rt::time::scale().khz() as f64 / 1000.0;
    let flags = cpu_flags(leaf1.edx, leaf1.ecx, leaf0.eax, max_extended);
    format!(
        "processor\t: 0\nvendor_id\t: {vendor}\ncpu family\t: {family}\nmodel\t\t: {model}\n\
         model name\t: {brand}\nstepping\t: {stepping}\ncpu MHz\t\t: {mhz:.3}\n\
         physical id\t: 0\nsiblings\t: 1\ncore id\t\t: 0\ncpu cores\t: 1\napicid\t\t: 0\n\
         initial apicid\t: 0\nfpu\t\t: yes\nfpu_exception\t: yes\ncpuid level\t: {level}\n\
         wp\t\t: yes\nflags\t\t: {flags}\nbogomips\t: {bogomips:.2}\nclflush size\t: 64\n\
         cache_alignment\t: 64\naddress sizes\t: {physical} bits physical, {virtual_bits} bits virtual\n\
         power management:\n\n",
        vendor = String::from_utf8_lossy(&vendor),
        level = leaf0.eax,
        bogomips = mhz * 2.0,
    )
}

/// The CPUID feature flags Linux names, those this CPU has.
fn cpu_flags(edx1: u32, ecx1: u32, max_leaf: u32, max_extended: u32) -> String {
    const EDX1: [(u32, &str); 27] = [
        (0, "fpu"),
        (1, "vme"),
        (2, "de"),
        (3, "pse"),
        (4, "tsc"),
        (5, "msr"),
        (6, "pae"),
        (7, "mce"),
        (8, "cx8"),
        (9, "apic"),
        (11, "sep"),
        (12, "mtrr"),
        (13, "pge"),
        (14, "mca"),
        (15, "cmov"),
        (16, "pat"),
        (17, "pse36"),
        (19, "clflush"),
        (21, "dts"),
        (22, "acpi"),
        (23, "mmx"),
        (24, "fxsr"),
        (25, "sse"),
        (26, "sse2"),
        (27, "ss"),
        (28, "ht"),
        (29, "tm"),
    ];
    const ECX1: [(u32, &str); 22] = [
        (0, "pni"),
        (1, "pclmulqdq"),
        (3, "monitor"),
        (5, "vmx"),
        (6, "smx"),
        (9, "ssse3"),
        (12, "fma"),
        (13, "cx16"),
        (17, "pcid"),
        (19, "sse4_1"),
        (20, "sse4_2"),
        (21, "x2apic"),
        (22, "movbe"),
        (23, "popcnt"),
        (24, "tsc_deadline_timer"),
        (25, "aes"),
        (26, "xsave"),
        (27, "osxsave"),
        (28, "avx"),
        (29, "f16c"),
        (30, "rdrand"),
        (31, "hypervisor"),
    ];
    const EBX7: [(u32, &str); 12] = [
        (0, "fsgsbase"),
        (3, "bmi1"),
        (4, "hle"),
        (5, "avx2"),
        (7, "smep"),
        (8, "bmi2"),
        (9, "erms"),
        (10, "invpcid"),
        (16, "avx512f"),
        (18, "rdseed"),
        (19, "adx"),
        (20, "smap"),
    ];
    const EDX_EXT: [(u32, &str); 4] = [(11, "syscall"), (20, "nx"), (27, "rdtscp"), (29, "lm")];
    const ECX_EXT: [(u32, &str); 3] = [(0, "lahf_lm"), (5, "abm"), (8, "3dnowprefetch")];
    let mut names = Vec::new();
    let mut add = |word: u32, table: &[(u32, &'static str)]| {
        for &(bit, name) in table {
            if word & (1 << bit) != 0 {
                names.push(name);
            }
        }
    };
    add(edx1, &EDX1);
    if max_extended >= 0x8000_0001 {
        let r = core::arch::x86_64::__cpuid(0x8000_0001);
        add(r.edx, &EDX_EXT);
        add(ecx1, &ECX1);
        add(r.ecx, &ECX_EXT);
    } else {
        add(ecx1, &ECX1);
    }
    if max_leaf >= 7 {
        add(core::arch::x86_64::__cpuid_count(7, 0).ebx, &EBX7);
    }
    names.join(" ")
}
