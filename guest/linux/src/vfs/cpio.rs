//! SVR4 "newc" cpio archives, as the Linux initramfs and `cpio -H newc`
//! use them: [`unpack`] one into a [`Vfs`], [`pack`] a subtree into one.
//!
//! An archive is a sequence of entries, each:
//!
//! ```text
//! header   110 bytes: magic "070701", then 13 fields of 8 hex digits:
//!          ino mode uid gid nlink mtime filesize devmajor devminor
//!          rdevmajor rdevminor namesize check
//! name     namesize bytes, NUL included; zero padding to a multiple of 4
//!          (counted from the start of the archive)
//! data     filesize bytes (a symbolic link's target); padding to 4
//! ```
//!
//! ending with an entry named `TRAILER!!!`. Hard links share `ino` (and
//! the device numbers) with `nlink > 1`; the data travels with one of the
//! entries, the last by convention. The `070702` ("crc") variant is the
//! same with `check` holding the 32-bit sum of a regular file's data
//! bytes.
//!
//! Unpacking never trusts the archive: every length is checked against
//! the bytes present, names that are absolute or contain `..` are refused,
//! and symbolic links on the way to an entry are not followed, so nothing
//! is written outside the target directory.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::fmt;

use super::data::Data;
use super::node::{Dir, Kind};
use super::{
    FileType, Ino, PATH_MAX, PERM_MASK, Timespec, Vfs, dev_major, dev_minor, makedev, path,
};
use crate::errno::Errno;

/// Magic of the newc format.
const NEWC: &[u8; 6] = b"070701";
/// Magic of the newc format with checksums.
const NEWC_CRC: &[u8; 6] = b"070702";
/// Magic of the old portable ("odc") format, which we do not read.
const ODC: &[u8; 6] = b"070707";
/// Size of an entry header.
const HEADER_LEN: usize = 110;
/// Name of the entry that ends an archive.
const TRAILER: &[u8] = b"TRAILER!!!";
/// Header field names, in archive order, for error messages.
const FIELDS: [&str; 13] = [
    "c_ino",
    "c_mode",
    "c_uid",
    "c_gid",
    "c_nlink",
    "c_mtime",
    "c_filesize",
    "c_devmajor",
    "c_devminor",
    "c_rdevmajor",
    "c_rdevminor",
    "c_namesize",
    "c_check",
];

/// Why an archive could not be unpacked. `offset` is the byte offset in
/// the archive of the entry's header (or of the part named).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CpioError {
    /// The archive ends inside an entry, or before a `TRAILER!!!` entry.
    Truncated {
        /// Where the part that does not fit starts.
        offset: usize,
        /// Which part: `"header"`, `"name"` or `"data"`.
        part: &'static str,
        /// The archive's length.
        len: usize,
    },
    /// An entry does not start with `070701` or `070702`.
    BadMagic {
        /// Where the entry starts.
        offset: usize,
        /// The six bytes found instead.
        found: [u8; 6],
    },
    /// A header field is not 8 hexadecimal digits.
    BadField {
        /// Where the entry starts.
        offset: usize,
        /// The field's name (`"c_filesize"`, …).
        field: &'static str,
    },
    /// An entry's name is malformed or unsafe.
    BadName {
        /// Where the entry starts.
        offset: usize,
        /// The name (without its NUL).
        name: Vec<u8>,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An entry is of a type this file system cannot hold (block device,
    /// socket) or of no type at all.
    UnsupportedType {
        /// Where the entry starts.
        offset: usize,
        /// The entry's name.
        name: Vec<u8>,
        /// The entry's `c_mode`.
        mode: u32,
    },
    /// A `070702` entry's data does not match its checksum.
    BadChecksum {
        /// Where the entry starts.
        offset: usize,
        /// The entry's name.
        name: Vec<u8>,
        /// The header's `c_check`.
        expected: u32,
        /// The sum of the data bytes.
        computed: u32,
    },
    /// The file system refused the entry (e.g. `ENOTDIR` for a path
    /// through a non-directory or a symbolic link, `ENOTEMPTY` when a
    /// non-empty directory would be replaced, `ENOSPC`).
    Fs {
        /// Where the entry starts.
        offset: usize,
        /// The entry's name.
        name: Vec<u8>,
        /// The error.
        errno: Errno,
    },
}

impl fmt::Display for CpioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CpioError::Truncated {
                offset,
                part: "header",
                len,
            } if offset >= len => {
                write!(
                    f,
                    "cpio archive ends at byte {len} without a TRAILER!!! entry"
                )
            }
            CpioError::Truncated { offset, part, len } => write!(
                f,
                "cpio archive truncated: the {part} at byte {offset} runs past its end at byte {len}"
            ),
            CpioError::BadMagic { offset, found } if found == ODC => write!(
                f,
                "cpio entry at byte {offset}: old portable format (070707); only newc (070701) is read, use `cpio -H newc`"
            ),
            CpioError::BadMagic { offset, found } => write!(
                f,
                "cpio entry at byte {offset}: bad magic \"{}\" (expected 070701 or 070702)",
                found.escape_ascii()
            ),
            CpioError::BadField { offset, field } => {
                write!(
                    f,
                    "cpio entry at byte {offset}: header field {field} is not 8 hex digits"
                )
            }
            CpioError::BadName {
                offset,
                name,
                reason,
            } => {
                write!(
                    f,
                    "cpio entry at byte {offset}: name \"{}\" {reason}",
                    name.escape_ascii()
                )
            }
            CpioError::UnsupportedType { offset, name, mode } => write!(
                f,
                "cpio entry \"{}\" at byte {offset}: unsupported file type (mode {mode:o})",
                name.escape_ascii()
            ),
            CpioError::BadChecksum {
                offset,
                name,
                expected,
                computed,
            } => write!(
                f,
                "cpio entry \"{}\" at byte {offset}: data sums to {computed:#010x}, header says {expected:#010x}",
                name.escape_ascii()
            ),
            CpioError::Fs {
                offset,
                name,
                errno,
            } => {
                write!(
                    f,
                    "cpio entry \"{}\" at byte {offset}: {errno}",
                    name.escape_ascii()
                )
            }
        }
    }
}

impl core::error::Error for CpioError {}

/// The fields of an entry header.
struct Header {
    ino: u32,
    mode: u32,
    uid: u32,
    gid: u32,
    nlink: u32,
    mtime: u32,
    filesize: u32,
    devmajor: u32,
    devminor: u32,
    rdevmajor: u32,
    rdevminor: u32,
    namesize: u32,
    check: u32,
}

impl Header {
    /// The fields in archive order, for writing.
    fn fields(&self) -> [u32; 13] {
        [
            self.ino,
            self.mode,
            self.uid,
            self.gid,
            self.nlink,
            self.mtime,
            self.filesize,
            self.devmajor,
            self.devminor,
            self.rdevmajor,
            self.rdevminor,
            self.namesize,
            self.check,
        ]
    }
}

/// One entry of an archive, checked against the archive's bounds.
struct Entry<'a> {
    /// Where its header starts.
    offset: usize,
    header: Header,
    /// Whether it is a `070702` entry.
    crc: bool,
    /// The name, without its NUL.
    name: &'a [u8],
    /// The data (empty for the trailer).
    data: &'a [u8],
    /// Where the next entry starts.
    next: usize,
}

impl<'a> Entry<'a> {
    /// Parses the entry at `offset`.
    fn parse(archive: &'a [u8], offset: usize) -> Result<Entry<'a>, CpioError> {
        let len = archive.len();
        let truncated = |offset, part| CpioError::Truncated { offset, part, len };
        let header_end = offset
            .checked_add(HEADER_LEN)
            .ok_or(truncated(offset, "header"))?;
        let raw = archive
            .get(offset..header_end)
            .ok_or(truncated(offset, "header"))?;
        let (magic, digits) = raw.split_at(6);
        let crc = match magic {
            m if m == NEWC => false,
            m if m == NEWC_CRC => true,
            _ => {
                let mut found = [0; 6];
                found.copy_from_slice(magic);
                return Err(CpioError::BadMagic { offset, found });
            }
        };
        let field = |index: usize| {
            let digits = &digits[index * 8..index * 8 + 8];
            hex(digits).ok_or(CpioError::BadField {
                offset,
                field: FIELDS[index],
            })
        };
        let header = Header {
            ino: field(0)?,
            mode: field(1)?,
            uid: field(2)?,
            gid: field(3)?,
            nlink: field(4)?,
            mtime: field(5)?,
            filesize: field(6)?,
            devmajor: field(7)?,
            devminor: field(8)?,
            rdevmajor: field(9)?,
            rdevminor: field(10)?,
            namesize: field(11)?,
            check: field(12)?,
        };

        let namesize = header.namesize as usize;
        let name_end = header_end.saturating_add(namesize);
        let raw = archive
            .get(header_end..name_end)
            .ok_or(truncated(header_end, "name"))?;
        let bad_name = |name: &[u8], reason| CpioError::BadName {
            offset,
            name: name.to_vec(),
            reason,
        };
        let name = match raw.split_last() {
            None => return Err(bad_name(raw, "is empty (c_namesize 0)")),
            Some((0, name)) => name,
            Some(_) => return Err(bad_name(raw, "is not NUL-terminated")),
        };
        if namesize > PATH_MAX {
            return Err(bad_name(name, "is longer than PATH_MAX"));
        }
        if name.contains(&0) {
            return Err(bad_name(name, "contains a NUL byte"));
        }
        if name == TRAILER {
            return Ok(Entry {
                offset,
                header,
                crc,
                name,
                data: &[],
                next: name_end,
            });
        }

        let data_start = align4(name_end);
        let data_end = data_start.saturating_add(header.filesize as usize);
        let data = archive
            .get(data_start..data_end)
            .ok_or(truncated(data_start, "data"))?;
        Ok(Entry {
            offset,
            header,
            crc,
            name,
            data,
            next: align4(data_end),
        })
    }
}

/// The value of 8 hexadecimal digits (either case).
fn hex(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0u32, |value, &digit| {
        Some(value << 4 | char::from(digit).to_digit(16)?)
    })
}

/// `n` rounded up to a multiple of 4 (`n` is at most an archive's length:
/// no overflow).
fn align4(n: usize) -> usize {
    n.next_multiple_of(4)
}

/// The components of an entry name relative to the target directory:
/// empty ones and `.` dropped; absolute names and `..` refused.
fn components(name: &[u8]) -> Result<Vec<&[u8]>, &'static str> {
    if name.starts_with(b"/") {
        return Err("is absolute");
    }
    let mut components = Vec::new();
    for component in name.split(|&b| b == b'/') {
        match component {
            b"" | b"." => {}
            b".." => return Err("has a \"..\" component"),
            component => components.push(component),
        }
    }
    Ok(components)
}

/// Unpacks a newc (or crc) archive into directory `into`, as the Linux
/// initramfs does, and returns the number of entries (the trailer not
/// counted).
///
/// Directories, regular files, symbolic links, character devices and
/// named pipes are created with the archive's mode, owner and
/// modification time (also used as access time); the change time is
/// `now`. Entries sharing `c_ino` with `c_nlink > 1` become hard links to
/// the first of them, and a later one's data replaces the contents.
/// Missing parent directories are created (mode `0o755`, owner 0). An
/// existing directory is kept and takes the entry's attributes; any other
/// existing name is replaced. Directory times are set last, so that
/// creating their contents does not disturb them. An entry named `.`
/// gives `into` its attributes.
///
/// Stops at `TRAILER!!!`. Fails, leaving the entries before in place, on
/// the first entry that is truncated or malformed, has an absolute name
/// or a `..` component, is of an unsupported type, or would be reached
/// through a non-directory (a symbolic link included: nothing is written
/// outside `into`).
pub fn unpack(vfs: &mut Vfs, into: Ino, archive: &[u8], now: Timespec) -> Result<usize, CpioError> {
    if let Err(errno) = vfs.live_dir(into) {
        return Err(CpioError::Fs {
            offset: 0,
            name: b".".to_vec(),
            errno,
        });
    }
    let mut unpacker = Unpacker {
        vfs,
        into,
        now,
        links: BTreeMap::new(),
        dir_times: Vec::new(),
    };
    let mut offset = 0;
    let mut count = 0;
    let result = loop {
        let entry = match Entry::parse(archive, offset) {
            Ok(entry) if entry.name == TRAILER => break Ok(count),
            Ok(entry) => entry,
            Err(error) => break Err(error),
        };
        if let Err(error) = unpacker.entry(&entry) {
            break Err(error);
        }
        count += 1;
        offset = entry.next;
    };
    unpacker.set_dir_times();
    result
}

/// The state of one [`unpack`].
struct Unpacker<'v> {
    vfs: &'v mut Vfs,
    into: Ino,
    now: Timespec,
    /// First inode made for each hard-link group: (c_ino, c_devmajor,
    /// c_devminor).
    links: BTreeMap<(u32, u32, u32), Ino>,
    /// Directories and the modification time to give them at the end.
    dir_times: Vec<(Ino, Timespec)>,
}

impl Unpacker<'_> {
    /// Unpacks one entry.
    fn entry(&mut self, entry: &Entry<'_>) -> Result<(), CpioError> {
        let header = &entry.header;
        let (offset, name) = (entry.offset, entry.name);
        let components = components(name).map_err(|reason| CpioError::BadName {
            offset,
            name: name.to_vec(),
            reason,
        })?;
        let file_type =
            FileType::from_mode(header.mode).ok_or_else(|| CpioError::UnsupportedType {
                offset,
                name: name.to_vec(),
                mode: header.mode,
            })?;
        if components.is_empty() && file_type != FileType::Directory {
            let reason = "names the target directory but is not a directory";
            return Err(CpioError::BadName {
                offset,
                name: name.to_vec(),
                reason,
            });
        }
        if entry.crc && file_type == FileType::Regular {
            let computed = entry
                .data
                .iter()
                .fold(0u32, |sum, &b| sum.wrapping_add(u32::from(b)));
            if computed != header.check {
                let (name, expected) = (name.to_vec(), header.check);
                return Err(CpioError::BadChecksum {
                    offset,
                    name,
                    expected,
                    computed,
                });
            }
        }
        self.place(entry, file_type, &components)
            .map_err(|errno| CpioError::Fs {
                offset,
                name: name.to_vec(),
                errno,
            })
    }

    /// Creates (or updates) the inode of an entry and sets its attributes.
    fn place(
        &mut self,
        entry: &Entry<'_>,
        file_type: FileType,
        components: &[&[u8]],
    ) -> Result<(), Errno> {
        let header = &entry.header;
        let now = self.now;
        let perm = header.mode & PERM_MASK;
        let (uid, gid) = (header.uid, header.gid);
        let ino = match components.split_last() {
            None => self.into,
            Some((name, parents)) => {
                let dir = self.parents(parents)?;
                match file_type {
                    FileType::Directory => match self.vfs.child(dir, name)? {
                        Some(existing) if self.vfs.node(existing)?.is_dir() => existing,
                        _ => {
                            self.clear(dir, name)?;
                            let kind = Kind::Directory(Dir::new(dir, name));
                            self.vfs.create(dir, name, kind, perm, uid, gid, now)?
                        }
                    },
                    FileType::Regular => self.regular(entry, dir, name)?,
                    FileType::Symlink => {
                        path::check(entry.data)?;
                        self.clear(dir, name)?;
                        let kind = Kind::Symlink(entry.data.into());
                        self.vfs.create(dir, name, kind, 0o777, uid, gid, now)?
                    }
                    FileType::CharDevice => {
                        self.clear(dir, name)?;
                        let kind = Kind::CharDevice(makedev(header.rdevmajor, header.rdevminor));
                        self.vfs.create(dir, name, kind, perm, uid, gid, now)?
                    }
                    FileType::Fifo => {
                        self.clear(dir, name)?;
                        self.vfs
                            .create(dir, name, Kind::Fifo, perm, uid, gid, now)?
                    }
                }
            }
        };
        let mtime = Timespec {
            secs: i64::from(header.mtime),
            nanos: 0,
        };
        let node = self.vfs.node_mut(ino)?;
        if !matches!(node.kind, Kind::Symlink(_)) {
            node.perm = perm;
        }
        node.uid = uid;
        node.gid = gid;
        node.ctime = now;
        if node.is_dir() {
            self.dir_times.push((ino, mtime));
        } else {
            node.atime = mtime;
            node.mtime = mtime;
        }
        Ok(())
    }

    /// Creates or links a regular file and stores its data.
    fn regular(&mut self, entry: &Entry<'_>, dir: Ino, name: &[u8]) -> Result<Ino, Errno> {
        let header = &entry.header;
        let now = self.now;
        let group = (header.ino, header.devmajor, header.devminor);
        let linked = self.links.get(&group).copied().filter(|&ino| {
            header.nlink > 1
                && matches!(
                    self.vfs.node(ino).map(|node| &node.kind),
                    Ok(Kind::Regular(_))
                )
        });
        let ino = match linked {
            Some(ino) if self.vfs.child(dir, name)? == Some(ino) => ino,
            Some(ino) => {
                self.clear(dir, name)?;
                self.vfs.link_entry(dir, name, ino, now)?;
                ino
            }
            None => {
                self.clear(dir, name)?;
                let kind = Kind::Regular(Data::default());
                let ino = self
                    .vfs
                    .create(dir, name, kind, 0, header.uid, header.gid, now)?;
                if header.nlink > 1 {
                    self.links.insert(group, ino);
                }
                ino
            }
        };
        if !entry.data.is_empty() {
            self.vfs.truncate(ino, 0, now)?;
            if self.vfs.write(ino, 0, entry.data, now)? < entry.data.len() {
                return Err(Errno::ENOSPC);
            }
        }
        Ok(ino)
    }

    /// Walks (creating as needed) the directories `parents` below `into`,
    /// following no symbolic link.
    fn parents(&mut self, parents: &[&[u8]]) -> Result<Ino, Errno> {
        let mut dir = self.into;
        for &name in parents {
            dir = match self.vfs.child(dir, name)? {
                Some(ino) if self.vfs.node(ino)?.is_dir() => ino,
                Some(_) => return Err(Errno::ENOTDIR),
                None => {
                    let kind = Kind::Directory(Dir::new(dir, name));
                    self.vfs.create(dir, name, kind, 0o755, 0, 0, self.now)?
                }
            };
        }
        Ok(dir)
    }

    /// Removes an existing entry `name` of `dir` to make room for a new
    /// one (`ENOTEMPTY` for a non-empty directory).
    fn clear(&mut self, dir: Ino, name: &[u8]) -> Result<(), Errno> {
        let Some(ino) = self.vfs.child(dir, name)? else {
            return Ok(());
        };
        if let Ok(existing) = self.vfs.node(ino)?.dir()
            && !existing.is_empty()
        {
            return Err(Errno::ENOTEMPTY);
        }
        self.vfs.drop_entry(dir, name, self.now)
    }

    /// Gives the directories unpacked their modification times, now that
    /// nothing more is created in them.
    fn set_dir_times(&mut self) {
        for &(ino, mtime) in &self.dir_times {
            if let Ok(node) = self.vfs.node_mut(ino) {
                node.atime = mtime;
                node.mtime = mtime;
            }
        }
    }
}

/// Packs the subtree under directory `dir` into a newc archive: an entry
/// `.` for `dir` itself, then every inode below, names relative to `dir`,
/// parents before their contents, a directory's entries in their
/// [`read_dir`](Vfs::read_dir) order; then `TRAILER!!!`.
///
/// Hard links get one archive inode number (numbers are assigned from 1 in
/// order) and the data travels with the last of their entries, as GNU
/// cpio writes it. Modification times outside `0..2^32` seconds are
/// clamped, nanoseconds dropped (the format has no room for them).
///
/// Fails with `ENOTDIR`/`ENOENT` if `dir` is not a live directory,
/// `EFBIG` for a file of 4 GiB or more and `ENAMETOOLONG` for a name of
/// 4096 bytes or more, which the format cannot carry. Reading does not
/// change access times.
pub fn pack(vfs: &Vfs, dir: Ino) -> Result<Vec<u8>, Errno> {
    let entries = walk_tree(vfs, dir)?;
    let mut last_link: BTreeMap<Ino, usize> = BTreeMap::new();
    for (index, &(_, ino)) in entries.iter().enumerate() {
        last_link.insert(ino, index);
    }
    let mut numbers: BTreeMap<Ino, u32> = BTreeMap::new();
    let mut out = Vec::new();
    for (index, (name, ino)) in entries.iter().enumerate() {
        let next = u32::try_from(numbers.len() + 1).map_err(|_| Errno::EOVERFLOW)?;
        let number = *numbers.entry(*ino).or_insert(next);
        let node = vfs.node(*ino)?;
        let stat = node.stat(*ino);
        let contents;
        let data: &[u8] = match &node.kind {
            Kind::Regular(file) if last_link.get(ino) == Some(&index) => {
                let size = u32::try_from(file.size()).map_err(|_| Errno::EFBIG)?;
                contents = file.read(0, size as usize);
                &contents
            }
            Kind::Symlink(target) => target,
            _ => &[],
        };
        let header = Header {
            ino: number,
            mode: stat.mode,
            uid: stat.uid,
            gid: stat.gid,
            nlink: u32::try_from(stat.nlink).unwrap_or(u32::MAX),
            mtime: u32::try_from(stat.mtime.secs.max(0)).unwrap_or(u32::MAX),
            filesize: u32::try_from(data.len()).map_err(|_| Errno::EFBIG)?,
            devmajor: 0,
            devminor: 0,
            rdevmajor: dev_major(stat.rdev),
            rdevminor: dev_minor(stat.rdev),
            namesize: u32::try_from(name.len() + 1).map_err(|_| Errno::ENAMETOOLONG)?,
            check: 0,
        };
        write_entry(&mut out, &header, name, data);
    }
    let trailer = Header {
        ino: 0,
        mode: 0,
        uid: 0,
        gid: 0,
        nlink: 1,
        mtime: 0,
        filesize: 0,
        devmajor: 0,
        devminor: 0,
        rdevmajor: 0,
        rdevminor: 0,
        namesize: TRAILER.len() as u32 + 1,
        check: 0,
    };
    write_entry(&mut out, &trailer, TRAILER, &[]);
    Ok(out)
}

/// The names (relative to `dir`, `.` for itself) and inodes of the subtree
/// under `dir`, parents first.
fn walk_tree(vfs: &Vfs, dir: Ino) -> Result<Vec<(Vec<u8>, Ino)>, Errno> {
    let mut entries = Vec::from([(b".".to_vec(), dir)]);
    let mut stack = Vec::new();
    push_children(vfs, dir, &[], &mut stack)?;
    while let Some((name, ino)) = stack.pop() {
        if vfs.node(ino)?.is_dir() {
            push_children(vfs, ino, &name, &mut stack)?;
        }
        entries.push((name, ino));
    }
    Ok(entries)
}

/// Pushes the entries of directory `dir` (named `prefix`) so that they pop
/// in directory order.
fn push_children(
    vfs: &Vfs,
    dir: Ino,
    prefix: &[u8],
    stack: &mut Vec<(Vec<u8>, Ino)>,
) -> Result<(), Errno> {
    for (_, name, ino) in vfs.live_dir(dir)?.iter().rev() {
        let mut path = Vec::with_capacity(prefix.len() + 1 + name.len());
        if !prefix.is_empty() {
            path.extend_from_slice(prefix);
            path.push(b'/');
        }
        path.extend_from_slice(name);
        if path.len() >= PATH_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        stack.push((path, ino));
    }
    Ok(())
}

/// Appends one entry: header, name, data, each padded to 4 bytes.
fn write_entry(out: &mut Vec<u8>, header: &Header, name: &[u8], data: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    out.extend_from_slice(NEWC);
    for value in header.fields() {
        out.extend(
            (0..8)
                .rev()
                .map(|nibble| DIGITS[(value >> (nibble * 4)) as usize & 0xf]),
        );
    }
    out.extend_from_slice(name);
    out.push(0);
    out.resize(align4(out.len()), 0);
    out.extend_from_slice(data);
    out.resize(align4(out.len()), 0);
}

#[cfg(test)]
mod tests {
    use super::super::{OpenOptions, RenameFlags, Stat};
    use super::*;
    use alloc::format;
    use alloc::string::ToString;
    use alloc::vec;
    use core::slice;

    const T0: Timespec = Timespec {
        secs: 1_700_000_000,
        nanos: 0,
    };
    const T1: Timespec = Timespec {
        secs: 1_800_000_000,
        nanos: 0,
    };
    const ROOT: Ino = Vfs::ROOT;

    /// One newc entry, written independently of `write_entry`.
    fn entry(name: &str, mode: u32, ino: u32, nlink: u32, data: &[u8]) -> Vec<u8> {
        let header = format!(
            "070701{ino:08x}{mode:08x}{:08x}{:08x}{nlink:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}",
            1000,
            100,
            1_600_000_000,
            data.len(),
            8,
            1,
            4,
            64,
            name.len() + 1,
            0
        );
        let mut out = header.into_bytes();
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        while out.len() % 4 != 0 {
            out.push(0);
        }
        out.extend_from_slice(data);
        while out.len() % 4 != 0 {
            out.push(0);
        }
        out
    }

    fn archive(entries: &[Vec<u8>]) -> Vec<u8> {
        let mut out = entries.concat();
        out.extend(entry("TRAILER!!!", 0, 0, 1, b""));
        out
    }

    fn unpack_fresh(bytes: &[u8]) -> (Vfs, Result<usize, CpioError>) {
        let mut vfs = Vfs::new(T0);
        let result = unpack(&mut vfs, ROOT, bytes, T1);
        (vfs, result)
    }

    #[test]
    fn unpacks_every_type() {
        let bytes = archive(&[
            entry(".", 0o040_700, 1, 2, b""),
            entry("bin", 0o040_755, 2, 2, b""),
            entry("bin/busybox", 0o104_755, 3, 1, b"\x7fELF..."),
            entry("bin/sh", 0o120_777, 4, 1, b"busybox"),
            entry("dev/console", 0o020_600, 5, 1, b""),
            entry("./run//fifo", 0o010_644, 6, 1, b""),
        ]);
        let (mut vfs, result) = unpack_fresh(&bytes);
        assert_eq!(result, Ok(6));
        let root = vfs.stat(ROOT).unwrap();
        assert_eq!(
            (root.mode, root.uid, root.gid, root.mtime.secs),
            (0o040_700, 1000, 100, 1_600_000_000)
        );
        let busybox = vfs.lookup(ROOT, b"/bin/sh", true).unwrap();
        let st = vfs.stat(busybox).unwrap();
        assert_eq!(
            (st.mode, st.uid, st.gid, st.size),
            (0o104_755, 1000, 100, 7)
        );
        assert_eq!(
            (st.mtime.secs, st.atime.secs, st.ctime),
            (1_600_000_000, 1_600_000_000, T1)
        );
        assert_eq!(vfs.read(busybox, 0, 100, T1).unwrap(), b"\x7fELF...");
        let sh = vfs.lookup(ROOT, b"/bin/sh", false).unwrap();
        assert_eq!(vfs.readlink(sh).unwrap(), b"busybox");
        let console = vfs
            .stat(vfs.lookup(ROOT, b"/dev/console", false).unwrap())
            .unwrap();
        assert_eq!((console.mode, console.rdev), (0o020_600, makedev(4, 64)));
        // Implied parents get mode 0755, owner 0 and the unpack time.
        let dev = vfs.stat(vfs.lookup(ROOT, b"/dev", false).unwrap()).unwrap();
        assert_eq!((dev.mode, dev.uid, dev.mtime), (0o040_755, 0, T1));
        let fifo = vfs
            .stat(vfs.lookup(ROOT, b"/run/fifo", false).unwrap())
            .unwrap();
        assert_eq!(fifo.file_type, FileType::Fifo);
        // Directory times are set after their contents were made.
        let bin = vfs.stat(vfs.lookup(ROOT, b"/bin", false).unwrap()).unwrap();
        assert_eq!(bin.mtime.secs, 1_600_000_000);
    }

    #[test]
    fn hard_links_become_links() {
        // GNU cpio's layout: data with the last entry of the group.
        let bytes = archive(&[
            entry("a", 0o100_644, 9, 3, b""),
            entry("b", 0o100_644, 9, 3, b""),
            entry("d/c", 0o100_644, 9, 3, b"shared"),
            entry("solo", 0o100_644, 10, 1, b"x"),
        ]);
        let (vfs, result) = unpack_fresh(&bytes);
        assert_eq!(result, Ok(4));
        let a = vfs.lookup(ROOT, b"a", false).unwrap();
        assert_eq!(vfs.lookup(ROOT, b"b", false), Ok(a));
        assert_eq!(vfs.lookup(ROOT, b"d/c", false), Ok(a));
        let st = vfs.stat(a).unwrap();
        assert_eq!((st.nlink, st.size), (3, 6));
        assert_eq!(
            vfs.stat(vfs.lookup(ROOT, b"solo", false).unwrap())
                .unwrap()
                .nlink,
            1
        );
    }

    #[test]
    fn existing_names_are_replaced_directories_kept() {
        let mut vfs = Vfs::new(T0);
        vfs.mkdir(ROOT, b"etc", 0o700, 0, 0, T0).unwrap();
        vfs.mkdir(ROOT, b"etc/keep", 0o700, 0, 0, T0).unwrap();
        let old = vfs.symlink(b"x", ROOT, b"etc/f", 0, 0, T0).unwrap();
        let bytes = archive(&[
            entry("etc", 0o040_755, 1, 2, b""),
            entry("etc/f", 0o100_600, 2, 1, b"new"),
        ]);
        assert_eq!(unpack(&mut vfs, ROOT, &bytes, T1), Ok(2));
        let etc = vfs.lookup(ROOT, b"etc", false).unwrap();
        assert_eq!(vfs.stat(etc).unwrap().mode, 0o040_755);
        assert!(vfs.lookup(ROOT, b"etc/keep", false).is_ok());
        assert_eq!(vfs.stat(old), Err(Errno::ENOENT));
        let f = vfs.lookup(ROOT, b"etc/f", false).unwrap();
        assert_eq!(vfs.read(f, 0, 10, T1).unwrap(), b"new");
        // A non-empty directory is not replaced by a file.
        let bytes = archive(&[entry("etc", 0o100_644, 1, 1, b"")]);
        assert_eq!(
            unpack(&mut vfs, ROOT, &bytes, T1),
            Err(CpioError::Fs {
                offset: 0,
                name: b"etc".to_vec(),
                errno: Errno::ENOTEMPTY
            })
        );
    }

    #[test]
    fn unpacks_into_a_subdirectory() {
        let mut vfs = Vfs::new(T0);
        let dir = vfs.mkdir(ROOT, b"initrd", 0o755, 0, 0, T0).unwrap();
        let bytes = archive(&[entry("sub/file", 0o100_644, 1, 1, b"x")]);
        assert_eq!(unpack(&mut vfs, dir, &bytes, T1), Ok(1));
        assert!(vfs.lookup(ROOT, b"/initrd/sub/file", false).is_ok());
        let file = vfs.lookup(ROOT, b"/initrd/sub/file", false).unwrap();
        let error = unpack(&mut vfs, file, &bytes, T1).unwrap_err();
        assert_eq!(
            error,
            CpioError::Fs {
                offset: 0,
                name: b".".to_vec(),
                errno: Errno::ENOTDIR
            }
        );
    }

    #[test]
    fn rejects_names_escaping_the_target() {
        for (name, reason) in [
            ("../x", "has a \"..\" component"),
            ("a/../../x", "has a \"..\" component"),
            ("/etc/passwd", "is absolute"),
        ] {
            let bytes = archive(&[
                entry("ok", 0o100_644, 1, 1, b""),
                entry(name, 0o100_644, 2, 1, b"pwned"),
            ]);
            let (vfs, result) = unpack_fresh(&bytes);
            let offset = entry("ok", 0o100_644, 1, 1, b"").len();
            assert_eq!(
                result,
                Err(CpioError::BadName {
                    offset,
                    name: name.as_bytes().to_vec(),
                    reason
                }),
                "{name}"
            );
            // Nothing was written for it, anywhere.
            assert_eq!(vfs.usage().inodes, 2);
        }
    }

    #[test]
    fn does_not_follow_symlinks_out_of_the_target() {
        let mut vfs = Vfs::new(T0);
        let jail = vfs.mkdir(ROOT, b"jail", 0o755, 0, 0, T0).unwrap();
        vfs.mkdir(ROOT, b"etc", 0o755, 0, 0, T0).unwrap();
        let bytes = archive(&[
            entry("esc", 0o120_777, 1, 1, b"/etc"),
            entry("esc/passwd", 0o100_644, 2, 1, b"x"),
        ]);
        let error = unpack(&mut vfs, jail, &bytes, T1).unwrap_err();
        assert!(
            matches!(
                error,
                CpioError::Fs {
                    errno: Errno::ENOTDIR,
                    ..
                }
            ),
            "{error:?}"
        );
        assert_eq!(vfs.lookup(ROOT, b"/etc/passwd", false), Err(Errno::ENOENT));
        // Nor one already there.
        vfs.symlink(b"/etc", jail, b"pre", 0, 0, T0).unwrap();
        let bytes = archive(&[entry("pre/shadow", 0o100_644, 2, 1, b"x")]);
        assert!(unpack(&mut vfs, jail, &bytes, T1).is_err());
        assert_eq!(vfs.lookup(ROOT, b"/etc/shadow", false), Err(Errno::ENOENT));
    }

    #[test]
    fn truncated_archives_fail_precisely() {
        let first = entry("file", 0o100_644, 1, 1, b"0123456789");
        let bytes = archive(slice::from_ref(&first));
        let len = first.len();
        // Cut inside the first header, its name, its data.
        for (cut, offset, part) in [(50, 0, "header"), (112, 110, "name"), (120, 116, "data")] {
            let (_, result) = unpack_fresh(&bytes[..cut]);
            assert_eq!(
                result,
                Err(CpioError::Truncated {
                    offset,
                    part,
                    len: cut
                }),
                "cut at {cut}"
            );
        }
        // No trailer at all, or a cut trailer.
        let (_, result) = unpack_fresh(&bytes[..len]);
        assert_eq!(
            result,
            Err(CpioError::Truncated {
                offset: len,
                part: "header",
                len
            })
        );
        let (_, result) = unpack_fresh(&bytes[..len + 100]);
        assert_eq!(
            result,
            Err(CpioError::Truncated {
                offset: len,
                part: "header",
                len: len + 100
            })
        );
        assert_eq!(
            unpack_fresh(&[]).1,
            Err(CpioError::Truncated {
                offset: 0,
                part: "header",
                len: 0
            })
        );
        // Every prefix fails without panicking until the trailer's name is
        // complete (its padding is not needed).
        let trailer_end = len + 110 + b"TRAILER!!!\0".len();
        for cut in 0..trailer_end {
            assert!(unpack_fresh(&bytes[..cut]).1.is_err(), "cut at {cut}");
        }
        for cut in trailer_end..=bytes.len() {
            assert_eq!(unpack_fresh(&bytes[..cut]).1, Ok(1), "cut at {cut}");
        }
    }

    #[test]
    fn garbled_headers_fail_precisely() {
        let good = entry("f", 0o100_644, 1, 1, b"");
        let mut bytes = archive(slice::from_ref(&good));
        bytes[0..6].copy_from_slice(b"070707");
        assert_eq!(
            unpack_fresh(&bytes).1,
            Err(CpioError::BadMagic {
                offset: 0,
                found: *b"070707"
            })
        );
        let mut bytes = archive(slice::from_ref(&good));
        bytes[6 + 6 * 8 + 3] = b'g';
        assert_eq!(
            unpack_fresh(&bytes).1,
            Err(CpioError::BadField {
                offset: 0,
                field: "c_filesize"
            })
        );
        let mut bytes = archive(slice::from_ref(&good));
        bytes[6 + 8] = b'+';
        assert_eq!(
            unpack_fresh(&bytes).1,
            Err(CpioError::BadField {
                offset: 0,
                field: "c_mode"
            })
        );
        // Name size 0, name without its NUL, huge sizes.
        let with = |field: usize, value: &str| {
            let mut bytes = archive(slice::from_ref(&good));
            bytes[6 + field * 8..6 + field * 8 + 8].copy_from_slice(value.as_bytes());
            unpack_fresh(&bytes).1
        };
        let bad_name = |name: &[u8], reason| {
            Err(CpioError::BadName {
                offset: 0,
                name: name.to_vec(),
                reason,
            })
        };
        assert_eq!(
            with(11, "00000000"),
            bad_name(b"", "is empty (c_namesize 0)")
        );
        assert_eq!(
            with(11, "00000001"),
            bad_name(b"f", "is not NUL-terminated")
        );
        let len = bytes.len();
        assert_eq!(
            with(11, "FFFFFFFF"),
            Err(CpioError::Truncated {
                offset: 110,
                part: "name",
                len
            })
        );
        assert_eq!(
            with(6, "ffffffff"),
            Err(CpioError::Truncated {
                offset: 112,
                part: "data",
                len
            })
        );
        // Unsupported types: block device, socket, none.
        for mode in ["000061a4", "0000c1a4", "000001a4"] {
            let error = with(1, mode).unwrap_err();
            assert!(
                matches!(error, CpioError::UnsupportedType { offset: 0, .. }),
                "{error:?}"
            );
        }
    }

    #[test]
    fn crc_archives_are_checked() {
        let mut good = entry("f", 0o100_644, 1, 1, b"\x01\x02\xff");
        good[5] = b'2';
        good[6 + 12 * 8..6 + 13 * 8].copy_from_slice(b"00000102");
        assert_eq!(unpack_fresh(&archive(slice::from_ref(&good))).1, Ok(1));
        good[6 + 12 * 8 + 7] = b'3';
        assert_eq!(
            unpack_fresh(&archive(&[good])).1,
            Err(CpioError::BadChecksum {
                offset: 0,
                name: b"f".to_vec(),
                expected: 0x103,
                computed: 0x102
            })
        );
    }

    #[test]
    fn errors_display_precisely() {
        let cases = [
            (
                CpioError::Truncated {
                    offset: 116,
                    part: "data",
                    len: 120,
                },
                "cpio archive truncated: the data at byte 116 runs past its end at byte 120",
            ),
            (
                CpioError::Truncated {
                    offset: 40,
                    part: "header",
                    len: 40,
                },
                "cpio archive ends at byte 40 without a TRAILER!!! entry",
            ),
            (
                CpioError::BadMagic {
                    offset: 8,
                    found: *b"\x1f\x8b\x08\0\0\0",
                },
                "cpio entry at byte 8: bad magic \"\\x1f\\x8b\\x08\\x00\\x00\\x00\" (expected 070701 or 070702)",
            ),
            (
                CpioError::BadName {
                    offset: 0,
                    name: b"../x".to_vec(),
                    reason: "has a \"..\" component",
                },
                "cpio entry at byte 0: name \"../x\" has a \"..\" component",
            ),
            (
                CpioError::Fs {
                    offset: 4,
                    name: b"a/b".to_vec(),
                    errno: Errno::ENOTDIR,
                },
                "cpio entry \"a/b\" at byte 4: ENOTDIR (Not a directory)",
            ),
            (
                CpioError::UnsupportedType {
                    offset: 0,
                    name: b"sda".to_vec(),
                    mode: 0o060_660,
                },
                "cpio entry \"sda\" at byte 0: unsupported file type (mode 60660)",
            ),
        ];
        for (error, text) in cases {
            assert_eq!(error.to_string(), text);
        }
        assert!(
            CpioError::BadMagic {
                offset: 0,
                found: *b"070707"
            }
            .to_string()
            .contains("-H newc")
        );
    }

    /// Everything `pack` keeps: the attributes but inode numbers, access and
    /// change times and blocks (holes are not kept: unpacking writes every
    /// byte), and the contents.
    fn snapshot(vfs: &mut Vfs, dir: Ino) -> Vec<(Vec<u8>, Stat, Vec<u8>)> {
        let mut out = Vec::new();
        let mut stack = vec![(b".".to_vec(), dir)];
        while let Some((name, ino)) = stack.pop() {
            let mut stat = vfs.stat(ino).unwrap();
            let bytes = match stat.file_type {
                FileType::Regular => vfs.read(ino, 0, usize::MAX, T0).unwrap(),
                FileType::Symlink => vfs.readlink(ino).unwrap(),
                FileType::Directory => {
                    for e in vfs.read_dir(ino).unwrap().into_iter().skip(2) {
                        stack.push(([&name[..], b"/", &e.name].concat(), e.ino));
                    }
                    Vec::new()
                }
                _ => Vec::new(),
            };
            (stat.ino, stat.atime, stat.ctime, stat.blocks) = (0, T0, T0, 0);
            out.push((name, stat, bytes));
        }
        out
    }

    fn sample_tree() -> Vfs {
        let mut vfs = Vfs::new(T0);
        let t = |secs| Timespec { secs, nanos: 0 };
        let create = OpenOptions {
            create: true,
            write: true,
            ..Default::default()
        };
        let etc = vfs.mkdir(ROOT, b"etc", 0o750, 0, 10, T0).unwrap();
        let passwd = vfs.open(etc, b"passwd", create, 0o644, 0, 0, T0).unwrap();
        vfs.write(passwd, 0, b"root:x:0:0::/root:/bin/sh\n", T0)
            .unwrap();
        let big = vfs.open(ROOT, b"big", create, 0o600, 7, 8, T0).unwrap();
        vfs.write(big, 70_000, b"tail", T0).unwrap();
        vfs.write(big, 1, b"head", T0).unwrap();
        vfs.open(ROOT, b"empty", create, 0o4755, 0, 0, T0).unwrap();
        vfs.link(ROOT, b"etc/passwd", ROOT, b"hard", false, T0)
            .unwrap();
        vfs.link(ROOT, b"etc/passwd", etc, b"hard2", false, T0)
            .unwrap();
        vfs.symlink(b"../big", etc, b"rel", 3, 4, T0).unwrap();
        vfs.symlink(b"/etc/passwd", ROOT, b"abs", 0, 0, T0).unwrap();
        vfs.mknod(
            ROOT,
            b"tty",
            FileType::CharDevice,
            0o620,
            makedev(5, 0),
            0,
            5,
            T0,
        )
        .unwrap();
        vfs.mknod(ROOT, b"fifo", FileType::Fifo, 0o600, 0, 0, 0, T0)
            .unwrap();
        vfs.mkdir(ROOT, b"a", 0o1777, 0, 0, T0).unwrap();
        vfs.mkdir(ROOT, b"a/b", 0o700, 0, 0, T0).unwrap();
        vfs.mkdir(ROOT, b"a/b/c", 0o700, 0, 0, T0).unwrap();
        vfs.rename(ROOT, b"a/b", ROOT, b"a/renamed", RenameFlags::default(), T0)
            .unwrap();
        for (i, path) in [
            "etc/passwd",
            "big",
            "etc/rel",
            "a/renamed/c",
            "a",
            "etc",
            ".",
        ]
        .iter()
        .enumerate()
        {
            let ino = vfs.lookup(ROOT, path.as_bytes(), false).unwrap();
            vfs.set_times(ino, None, Some(t(1_000_000 + i as i64)), T0)
                .unwrap();
        }
        vfs
    }

    #[test]
    fn pack_then_unpack_round_trips() {
        let mut vfs = sample_tree();
        let bytes = pack(&vfs, ROOT).unwrap();
        assert_eq!(bytes.len() % 4, 0);
        let (mut copy, result) = unpack_fresh(&bytes);
        assert_eq!(result, Ok(14));
        assert_eq!(snapshot(&mut copy, ROOT), snapshot(&mut vfs, ROOT));
        let passwd = copy.lookup(ROOT, b"etc/passwd", false).unwrap();
        assert_eq!(copy.lookup(ROOT, b"hard", false), Ok(passwd));
        assert_eq!(copy.lookup(ROOT, b"etc/hard2", false), Ok(passwd));
        assert_eq!(copy.stat(passwd).unwrap().nlink, 3);
        // Holes come back as holes only where never written: the file is
        // whole again, byte for byte.
        let big = copy.lookup(ROOT, b"big", false).unwrap();
        assert_eq!(copy.read(big, 70_000, 10, T0).unwrap(), b"tail");
        // Packing the copy gives the same archive.
        assert_eq!(pack(&copy, ROOT).unwrap(), bytes);
    }

    #[test]
    fn pack_writes_the_newc_layout() {
        let mut vfs = Vfs::new(T0);
        let create = OpenOptions {
            create: true,
            write: true,
            ..Default::default()
        };
        let f = vfs.open(ROOT, b"f", create, 0o644, 1000, 100, T0).unwrap();
        vfs.write(f, 0, b"abcde", T0).unwrap();
        let bytes = pack(&vfs, ROOT).unwrap();
        let dot = entry(".", 0o040_755, 1, 2, b"");
        let mut expected_f = entry("f", 0o100_644, 2, 1, b"abcde");
        // The helper's fixed fields differ: mtime and devices.
        expected_f[6 + 5 * 8..6 + 6 * 8].copy_from_slice(format!("{:08X}", T0.secs).as_bytes());
        expected_f[6 + 7 * 8..6 + 11 * 8].copy_from_slice(b"00000000000000000000000000000000");
        let f_start = dot.len();
        assert_eq!(&bytes[..6], b"070701");
        assert_eq!(
            bytes[f_start..f_start + expected_f.len()].to_ascii_uppercase(),
            expected_f.to_ascii_uppercase()
        );
        assert!(bytes.ends_with(b"TRAILER!!!\0\0\0\0"));
    }

    #[test]
    fn pack_a_subtree() {
        let mut vfs = sample_tree();
        let etc = vfs.lookup(ROOT, b"etc", false).unwrap();
        let bytes = pack(&vfs, etc).unwrap();
        let (mut copy, result) = unpack_fresh(&bytes);
        assert_eq!(result, Ok(4));
        // Two of the three links were inside: they stay linked, as two.
        let mut expected = snapshot(&mut vfs, etc);
        for (name, stat, _) in &mut expected {
            if name == b"./passwd" || name == b"./hard2" {
                stat.nlink = 2;
            }
        }
        assert_eq!(snapshot(&mut copy, ROOT), expected);
        let passwd = copy.lookup(ROOT, b"passwd", false).unwrap();
        assert_eq!(copy.lookup(ROOT, b"hard2", false), Ok(passwd));
        assert_eq!(
            pack(&vfs, vfs.lookup(ROOT, b"big", false).unwrap()),
            Err(Errno::ENOTDIR)
        );
    }

    #[test]
    fn pack_refuses_files_over_4_gib() {
        let mut vfs = Vfs::new(T0);
        let create = OpenOptions {
            create: true,
            write: true,
            ..Default::default()
        };
        let f = vfs.open(ROOT, b"huge", create, 0o644, 0, 0, T0).unwrap();
        vfs.write(f, 1 << 32, b"x", T0).unwrap();
        assert_eq!(pack(&vfs, ROOT), Err(Errno::EFBIG));
    }
}
