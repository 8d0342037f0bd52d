//! What `mount(2)` asks of a new mount: its flags ([`MountFlags`]) and a
//! tmpfs's options ([`TmpfsOptions`]), decoded and checked as Linux does
//! (`fs/namespace.c`, `fs/fs_context.c`, `mm/shmem.c`), and written back
//! as `/proc/mounts` shows them.
//!
//! Nothing is ignored: a flag or option this tree does not implement is
//! refused with `EINVAL`, as Linux refuses an option it does not know.
//! Implemented are the flags `MS_RDONLY`, `MS_NOSUID`, `MS_NODEV`,
//! `MS_NOEXEC`, `MS_SYNCHRONOUS`, `MS_DIRSYNC`, `MS_LAZYTIME` (files live
//! in memory: every write is synchronous and there is nothing to write
//! back), `MS_NOATIME`, `MS_NODIRATIME`, `MS_RELATIME`, `MS_STRICTATIME`
//! and `MS_SILENT`; the generic options ([`MountFlags::apply_generic`]) `ro`, `rw`, `sync`, `async`,
//! `dirsync`, `lazytime`, `nolazytime` and `nomand`; and tmpfs's `size`,
//! `nr_blocks`, `nr_inodes`, `mode`, `uid`, `gid` and `huge=never`.
//! Refused: `MS_MANDLOCK`, `MS_NOSYMFOLLOW`, `MS_POSIXACL`, `MS_I_VERSION`,
//! `MS_REC` and the kernel-internal bits; the options `mand`, `posixacl`,
//! `source`, and tmpfs's other `huge` values, `mpol`, `inode32`,
//! `inode64`, `noswap` and the quota options.

use alloc::string::String;
use core::fmt::Write;

use crate::PAGE_SIZE;
use crate::errno::Errno;

const MS_RDONLY: u64 = 1;
const MS_NOSUID: u64 = 2;
const MS_NODEV: u64 = 4;
const MS_NOEXEC: u64 = 8;
const MS_SYNCHRONOUS: u64 = 16;
const MS_DIRSYNC: u64 = 128;
const MS_NOATIME: u64 = 1024;
const MS_NODIRATIME: u64 = 2048;
const MS_SILENT: u64 = 32768;
const MS_RELATIME: u64 = 1 << 21;
const MS_STRICTATIME: u64 = 1 << 24;
const MS_LAZYTIME: u64 = 1 << 25;
/// The magic number old programs put in the top half of the flags.
const MS_MGC_VAL: u64 = 0xc0ed_0000;
const MS_MGC_MSK: u64 = 0xffff_0000;
/// The flags [`MountFlags::from_bits`] implements.
const IMPLEMENTED: u64 = MS_RDONLY
    | MS_NOSUID
    | MS_NODEV
    | MS_NOEXEC
    | MS_SYNCHRONOUS
    | MS_DIRSYNC
    | MS_NOATIME
    | MS_NODIRATIME
    | MS_SILENT
    | MS_RELATIME
    | MS_STRICTATIME
    | MS_LAZYTIME;

/// `statfs`'s `f_flags` bits (`ST_*`).
const ST_RDONLY: u64 = 1;
const ST_NOSUID: u64 = 2;
const ST_NODEV: u64 = 4;
const ST_NOEXEC: u64 = 8;
const ST_SYNCHRONOUS: u64 = 16;
const ST_VALID: u64 = 0x20;
const ST_NOATIME: u64 = 1024;
const ST_NODIRATIME: u64 = 2048;
const ST_RELATIME: u64 = 4096;

/// Seconds after which `relatime` updates an access time anyway.
const RELATIME_PERIOD: i64 = 24 * 60 * 60;

/// When reads update a file's access time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Atime {
    /// `relatime`, Linux's default: when the access time is not after the
    /// modification or change time, or is a day old.
    #[default]
    Relative,
    /// `strictatime`: on every read.
    Strict,
    /// `noatime`: never.
    Never,
}

impl Atime {
    /// Whether a read at `now` updates access time `atime` of a file last
    /// modified at `mtime` and changed at `ctime`.
    pub fn updates(
        self,
        atime: super::Timespec,
        mtime: super::Timespec,
        ctime: super::Timespec,
        now: super::Timespec,
    ) -> bool {
        let key = |t: super::Timespec| (t.secs, t.nanos);
        match self {
            Atime::Strict => true,
            Atime::Never => false,
            Atime::Relative => {
                key(mtime) >= key(atime)
                    || key(ctime) >= key(atime)
                    || now.secs.saturating_sub(atime.secs) >= RELATIME_PERIOD
            }
        }
    }
}

/// How a mount behaves: what its flags and generic options asked for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MountFlags {
    /// `ro`: changes fail with `EROFS`.
    pub read_only: bool,
    /// `nosuid`: set-user-ID and set-group-ID bits take no effect.
    pub nosuid: bool,
    /// `nodev`: device files cannot be opened (`EACCES`).
    pub nodev: bool,
    /// `noexec`: files cannot be executed (`EACCES`).
    pub noexec: bool,
    /// When access times change.
    pub atime: Atime,
    /// `nodiratime`: directories' access times do not change.
    pub nodiratime: bool,
    /// `sync`: writes are synchronous.
    pub sync: bool,
    /// `dirsync`: directory changes are synchronous.
    pub dirsync: bool,
    /// `lazytime`: times are written back lazily.
    pub lazytime: bool,
}

impl MountFlags {
    /// Decodes `mount(2)`'s flags for a new mount (the magic number in the
    /// top half, `MS_MGC_VAL`, is dropped). `EINVAL` for a flag not
    /// implemented (see the module documentation); the operations other
    /// than a new mount (`MS_REMOUNT`, `MS_BIND`, `MS_MOVE`, propagation)
    /// are the caller's to sort out first.
    pub fn from_bits(bits: u64) -> Result<MountFlags, Errno> {
        let bits = if bits & MS_MGC_MSK == MS_MGC_VAL {
            bits & !MS_MGC_MSK
        } else {
            bits
        };
        if bits & !IMPLEMENTED != 0 {
            return Err(Errno::EINVAL);
        }
        let has = |flag: u64| bits & flag != 0;
        let atime = if has(MS_STRICTATIME) {
            Atime::Strict
        } else if has(MS_NOATIME) {
            Atime::Never
        } else {
            Atime::Relative
        };
        Ok(MountFlags {
            read_only: has(MS_RDONLY),
            nosuid: has(MS_NOSUID),
            nodev: has(MS_NODEV),
            noexec: has(MS_NOEXEC),
            atime,
            nodiratime: has(MS_NODIRATIME),
            sync: has(MS_SYNCHRONOUS),
            dirsync: has(MS_DIRSYNC),
            lazytime: has(MS_LAZYTIME),
        })
    }

    /// The flags as `/proc/mounts` writes them: `rw` or `ro`, then the
    /// file system's flags, then the mount's (`rw,nosuid,relatime`).
    pub fn describe(&self) -> String {
        let mut out = String::from(if self.read_only { "ro" } else { "rw" });
        let atime = match self.atime {
            Atime::Relative => ",relatime",
            Atime::Strict => "",
            Atime::Never => ",noatime",
        };
        let nodiratime = if self.nodiratime { ",nodiratime" } else { "" };
        for (on, text) in [
            (self.sync, ",sync"),
            (self.dirsync, ",dirsync"),
            (self.lazytime, ",lazytime"),
            (self.nosuid, ",nosuid"),
            (self.nodev, ",nodev"),
            (self.noexec, ",noexec"),
        ] {
            if on {
                out.push_str(text);
            }
        }
        // Linux's order: noatime, nodiratime, relatime.
        if self.atime == Atime::Never {
            out.push_str(atime);
            out.push_str(nodiratime);
        } else {
            out.push_str(nodiratime);
            out.push_str(atime);
        }
        out
    }

    /// Applies the mount data of a file system that has no options of its
    /// own (procfs here): only the generic ones (`ro`, `sync`, …); any
    /// other is `EINVAL`.
    pub fn apply_generic(&mut self, data: &[u8]) -> Result<(), Errno> {
        let mut generic = Generic::new(self);
        for (name, _) in split(data) {
            if !generic.apply(name)? {
                return Err(Errno::EINVAL);
            }
        }
        generic.finish(self);
        Ok(())
    }

    /// `statfs`'s `f_flags` for these flags (`ST_VALID` always set).
    pub fn statfs_flags(&self) -> u64 {
        [
            (self.read_only, ST_RDONLY),
            (self.nosuid, ST_NOSUID),
            (self.nodev, ST_NODEV),
            (self.noexec, ST_NOEXEC),
            (self.sync, ST_SYNCHRONOUS),
            (self.atime == Atime::Never, ST_NOATIME),
            (self.nodiratime, ST_NODIRATIME),
            (self.atime == Atime::Relative, ST_RELATIME),
        ]
        .into_iter()
        .filter(|&(on, _)| on)
        .fold(ST_VALID, |flags, (_, bit)| flags | bit)
    }

    /// Whether a read at `now` updates the access time of a file with
    /// these times (`is_dir`: of a directory).
    pub fn updates_atime(
        &self,
        is_dir: bool,
        times: [super::Timespec; 3],
        now: super::Timespec,
    ) -> bool {
        let [atime, mtime, ctime] = times;
        let skipped = self.read_only || (is_dir && self.nodiratime);
        !skipped && self.atime.updates(atime, mtime, ctime, now)
    }
}

/// A tmpfs's options: its size limits and its root directory's mode and
/// owner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TmpfsOptions {
    /// Most pages of file data (`size=`, `nr_blocks=`); `None`: no limit.
    pub max_pages: Option<u64>,
    /// Most inodes (`nr_inodes=`); `None`: no limit.
    pub max_inodes: Option<u64>,
    /// The root directory's permission bits (`mode=`, octal).
    pub mode: u32,
    /// The root directory's owner (`uid=`).
    pub uid: u32,
    /// The root directory's group (`gid=`).
    pub gid: u32,
    /// The limits a mount gets without options (`/proc/mounts` shows the
    /// ones that differ), in pages and inodes; 0 for none.
    defaults: (u64, u64),
}

impl TmpfsOptions {
    /// Linux's defaults on a machine with `ram` bytes of memory: half of
    /// its pages as the data limit and as the inode limit, mode `1777`,
    /// owned by root.
    pub fn defaults(ram: u64) -> TmpfsOptions {
        let half = ram / PAGE_SIZE / 2;
        TmpfsOptions {
            max_pages: Some(half).filter(|&n| n > 0),
            max_inodes: Some(half).filter(|&n| n > 0),
            mode: 0o1777,
            uid: 0,
            gid: 0,
            defaults: (half, half),
        }
    }

    /// No limits, the root directory with mode `mode`, owned by root (the
    /// tree's own root file system).
    pub fn unlimited(mode: u32) -> TmpfsOptions {
        TmpfsOptions {
            max_pages: None,
            max_inodes: None,
            mode,
            uid: 0,
            gid: 0,
            defaults: (0, 0),
        }
    }

    /// Parses a tmpfs's `mount` data (`size=1m,mode=755`: options
    /// separated by commas, empty ones skipped) over the defaults for
    /// `ram` bytes of memory; generic options (`ro`, …) go to `flags`.
    ///
    /// As Linux: `size` is bytes with an optional `k`, `m`, `g`, `t`, `p`
    /// or `e` suffix, or a percentage of memory (`50%`), rounded up to
    /// pages; `nr_blocks` is pages; `nr_inodes` takes the same suffixes;
    /// 0 means no limit. `mode` is octal (`& 0o7777`); `uid` and `gid`
    /// are numbers (decimal, `0x` hex or `0` octal). A bad value, an
    /// option without one, or an unknown option is `EINVAL`.
    pub fn parse(data: &[u8], ram: u64, flags: &mut MountFlags) -> Result<TmpfsOptions, Errno> {
        let mut options = TmpfsOptions::defaults(ram);
        let mut generic = Generic::new(flags);
        for (name, value) in split(data) {
            if generic.apply(name)? {
                continue;
            }
            let value = value.filter(|v| !v.is_empty()).ok_or(Errno::EINVAL)?;
            match name {
                b"size" => {
                    let (amount, rest) = memparse(value);
                    let bytes = match rest {
                        b"" => u128::from(amount),
                        b"%" => u128::from(amount) * u128::from(ram) / 100,
                        _ => return Err(Errno::EINVAL),
                    };
                    let pages = bytes.div_ceil(u128::from(PAGE_SIZE));
                    options.max_pages = limit(u64::try_from(pages).unwrap_or(u64::MAX));
                }
                b"nr_blocks" => {
                    let pages = whole(memparse(value))?;
                    if pages > i64::MAX as u64 {
                        return Err(Errno::EINVAL);
                    }
                    options.max_pages = limit(pages);
                }
                b"nr_inodes" => {
                    // Linux's bound: each inode is accounted 1 KiB.
                    let inodes = whole(memparse(value))?;
                    if inodes > u64::MAX / 1024 {
                        return Err(Errno::EINVAL);
                    }
                    options.max_inodes = limit(inodes);
                }
                b"mode" => {
                    let mode = number(value, 8)?;
                    options.mode = mode & 0o7777;
                }
                b"uid" => options.uid = id(value)?,
                b"gid" => options.gid = id(value)?,
                b"huge" if value == b"never" => {}
                _ => return Err(Errno::EINVAL),
            }
        }
        generic.finish(flags);
        Ok(options)
    }

    /// The options `/proc/mounts` shows after the flags, those that differ
    /// from the defaults: `,size=1024k,nr_inodes=100,mode=755,uid=1,gid=2`.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        let (pages, inodes) = (self.max_pages.unwrap_or(0), self.max_inodes.unwrap_or(0));
        if pages != self.defaults.0 {
            let _ = write!(out, ",size={}k", pages.saturating_mul(PAGE_SIZE / 1024));
        }
        if inodes != self.defaults.1 {
            let _ = write!(out, ",nr_inodes={inodes}");
        }
        if self.mode != 0o1777 {
            let _ = write!(out, ",mode={:03o}", self.mode);
        }
        if self.uid != 0 {
            let _ = write!(out, ",uid={}", self.uid);
        }
        if self.gid != 0 {
            let _ = write!(out, ",gid={}", self.gid);
        }
        out
    }
}

/// The generic options (Linux's `vfs_parse_sb_flag`) seen so far. A
/// read-only mount stays read-only whatever `rw` says; `ro` makes a
/// read-write one read-only.
struct Generic {
    /// The mount itself is read-only (`MS_RDONLY`).
    mount_read_only: bool,
    read_only: bool,
    sync: bool,
    dirsync: bool,
    lazytime: bool,
}

impl Generic {
    fn new(flags: &MountFlags) -> Generic {
        Generic {
            mount_read_only: flags.read_only,
            read_only: flags.read_only,
            sync: flags.sync,
            dirsync: flags.dirsync,
            lazytime: flags.lazytime,
        }
    }

    /// Applies option `name` if it is a generic one (`Ok(true)`);
    /// `EINVAL` for the generic ones not implemented.
    fn apply(&mut self, name: &[u8]) -> Result<bool, Errno> {
        match name {
            b"ro" => self.read_only = true,
            b"rw" => self.read_only = false,
            b"sync" => self.sync = true,
            b"async" => self.sync = false,
            b"dirsync" => self.dirsync = true,
            b"lazytime" => self.lazytime = true,
            b"nolazytime" => self.lazytime = false,
            b"nomand" => {}
            b"mand" | b"posixacl" => return Err(Errno::EINVAL),
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn finish(&self, flags: &mut MountFlags) {
        flags.read_only = self.mount_read_only || self.read_only;
        flags.sync = self.sync;
        flags.dirsync = self.dirsync;
        flags.lazytime = self.lazytime;
    }
}

/// The options of mount data: separated by commas, empty ones skipped,
/// each a name and the value after its first `=`.
fn split(data: &[u8]) -> impl Iterator<Item = (&[u8], Option<&[u8]>)> {
    data.split(|&b| b == b',')
        .filter(|option| !option.is_empty())
        .map(|option| match option.iter().position(|&b| b == b'=') {
            Some(at) => (&option[..at], Some(&option[at + 1..])),
            None => (option, None),
        })
}

/// A limit as tmpfs takes it: 0 is none.
fn limit(value: u64) -> Option<u64> {
    Some(value).filter(|&n| n > 0)
}

/// A [`memparse`] result that must use the whole value.
fn whole((value, rest): (u64, &[u8])) -> Result<u64, Errno> {
    if rest.is_empty() {
        Ok(value)
    } else {
        Err(Errno::EINVAL)
    }
}

/// Linux's `memparse`: a number (`0x` hex, `0` octal, else decimal; no
/// digits reads as 0) and an optional binary suffix `k`, `m`, `g`, `t`,
/// `p`, `e` (either case); returns the value (saturated) and what
/// follows.
fn memparse(text: &[u8]) -> (u64, &[u8]) {
    let (value, rest) = strtoull(text);
    let shift = match rest.first().map(u8::to_ascii_lowercase) {
        Some(b'k') => 10,
        Some(b'm') => 20,
        Some(b'g') => 30,
        Some(b't') => 40,
        Some(b'p') => 50,
        Some(b'e') => 60,
        _ => return (value, rest),
    };
    let value = if value > u64::MAX >> shift {
        u64::MAX
    } else {
        value << shift
    };
    (value, &rest[1..])
}

/// The leading number of `text` in C's base-0 syntax (saturated), and
/// what follows it.
fn strtoull(text: &[u8]) -> (u64, &[u8]) {
    let (radix, digits) = match text {
        [b'0', b'x' | b'X', first, ..] if first.is_ascii_hexdigit() => (16, &text[2..]),
        [b'0', ..] => (8, text),
        _ => (10, text),
    };
    let mut value: u64 = 0;
    let mut used = 0;
    for &byte in digits {
        let Some(digit) = char::from(byte).to_digit(radix) else {
            break;
        };
        value = value
            .saturating_mul(u64::from(radix))
            .saturating_add(u64::from(digit));
        used += 1;
    }
    (value, &digits[used..])
}

/// A whole number in `radix` (an optional `+`, at least one digit) that
/// fits 32 bits, as Linux's `kstrtouint`.
fn number(text: &[u8], radix: u32) -> Result<u32, Errno> {
    let digits = text.strip_prefix(b"+").unwrap_or(text);
    if digits.is_empty() {
        return Err(Errno::EINVAL);
    }
    digits.iter().try_fold(0u32, |value, &byte| {
        let digit = char::from(byte).to_digit(radix).ok_or(Errno::EINVAL)?;
        value
            .checked_mul(radix)
            .and_then(|v| v.checked_add(digit))
            .ok_or(Errno::EINVAL)
    })
}

/// A user or group id: base 0 (`0x` hex, `0` octal, else decimal); `-1`
/// (`4294967295`) is no id and is refused.
fn id(text: &[u8]) -> Result<u32, Errno> {
    let value = match text {
        [b'0', b'x' | b'X', rest @ ..] => number(rest, 16)?,
        [b'0', rest @ ..] if !rest.is_empty() => number(rest, 8)?,
        _ => number(text, 10)?,
    };
    if value == u32::MAX {
        return Err(Errno::EINVAL);
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vfs::Timespec;

    const GIB: u64 = 1 << 30;

    fn parse(data: &str) -> Result<(TmpfsOptions, MountFlags), Errno> {
        let mut flags = MountFlags::default();
        TmpfsOptions::parse(data.as_bytes(), GIB, &mut flags).map(|o| (o, flags))
    }

    #[test]
    fn flags_decode_like_linux() {
        assert_eq!(MountFlags::from_bits(0), Ok(MountFlags::default()));
        // busybox passes MS_SILENT; old programs the magic number.
        assert_eq!(
            MountFlags::from_bits(MS_SILENT | MS_MGC_VAL),
            Ok(MountFlags::default())
        );
        let flags = MountFlags::from_bits(MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC).unwrap();
        assert!(flags.read_only && flags.nosuid && flags.nodev && flags.noexec);
        assert_eq!(flags.describe(), "ro,nosuid,nodev,noexec,relatime");
        assert_eq!(flags.statfs_flags(), 0x20 | 1 | 2 | 4 | 8 | 4096);
        let flags = MountFlags::from_bits(MS_NOATIME | MS_NODIRATIME).unwrap();
        assert_eq!(flags.describe(), "rw,noatime,nodiratime");
        // strictatime wins over noatime, and shows nothing.
        let flags = MountFlags::from_bits(MS_NOATIME | MS_STRICTATIME | MS_SYNCHRONOUS).unwrap();
        assert_eq!(
            (flags.atime, flags.describe()),
            (Atime::Strict, "rw,sync".into())
        );
        assert_eq!(
            MountFlags::from_bits(MS_DIRSYNC | MS_LAZYTIME)
                .unwrap()
                .describe(),
            "rw,dirsync,lazytime,relatime"
        );
        // Not implemented: refused, never ignored.
        for bits in [64, 256, 16384, 1 << 16, 1 << 22, 1 << 23, 1 << 31, 1 << 40] {
            assert_eq!(MountFlags::from_bits(bits), Err(Errno::EINVAL), "{bits:#x}");
        }
    }

    #[test]
    fn atime_policies() {
        let t = |secs| Timespec { secs, nanos: 0 };
        let day = RELATIME_PERIOD;
        assert!(Atime::Strict.updates(t(5), t(1), t(1), t(6)));
        assert!(!Atime::Never.updates(t(1), t(5), t(5), t(6)));
        // relatime: after a change, or once a day.
        assert!(Atime::Relative.updates(t(1), t(5), t(1), t(6)));
        assert!(Atime::Relative.updates(t(5), t(1), t(5), t(6)));
        assert!(!Atime::Relative.updates(t(5), t(1), t(1), t(6)));
        assert!(Atime::Relative.updates(t(5), t(1), t(1), t(5 + day)));
        let ro = MountFlags {
            read_only: true,
            atime: Atime::Strict,
            ..MountFlags::default()
        };
        assert!(!ro.updates_atime(false, [t(1), t(1), t(1)], t(9)));
        let nodiratime = MountFlags {
            nodiratime: true,
            atime: Atime::Strict,
            ..MountFlags::default()
        };
        assert!(!nodiratime.updates_atime(true, [t(1), t(1), t(1)], t(9)));
        assert!(nodiratime.updates_atime(false, [t(1), t(1), t(1)], t(9)));
    }

    #[test]
    fn tmpfs_defaults_are_half_the_memory() {
        let (options, flags) = parse("").unwrap();
        let half = GIB / 4096 / 2;
        assert_eq!(options.max_pages, Some(half));
        assert_eq!(options.max_inodes, Some(half));
        assert_eq!((options.mode, options.uid, options.gid), (0o1777, 0, 0));
        assert_eq!(options.describe(), "");
        assert_eq!(flags, MountFlags::default());
        // Commas alone are empty options.
        assert_eq!(parse(",,").unwrap().0, options);
    }

    #[test]
    fn tmpfs_sizes() {
        let pages = |data: &str| parse(data).unwrap().0.max_pages;
        assert_eq!(pages("size=1m"), Some(256));
        assert_eq!(pages("size=1M"), Some(256));
        assert_eq!(pages("size=4097"), Some(2));
        assert_eq!(pages("size=0x2000"), Some(2));
        assert_eq!(pages("size=010k"), Some(2));
        assert_eq!(pages("size=2g"), Some(2 * GIB / 4096));
        assert_eq!(pages("size=25%"), Some(GIB / 4 / 4096));
        assert_eq!(pages("size=0"), None);
        assert_eq!(pages("nr_blocks=3"), Some(3));
        assert_eq!(pages("nr_blocks=1k"), Some(1024));
        // The last one wins.
        assert_eq!(pages("size=1m,nr_blocks=7"), Some(7));
        assert_eq!(pages("size=99e"), Some(u64::MAX / 4096 + 1));
        let inodes = |data: &str| parse(data).unwrap().0.max_inodes;
        assert_eq!(inodes("nr_inodes=100"), Some(100));
        assert_eq!(inodes("nr_inodes=2k"), Some(2048));
        assert_eq!(inodes("nr_inodes=0"), None);
        // memparse takes the suffix, then the percentage (of 1024 here).
        assert_eq!(pages("size=1k%"), Some(GIB * 1024 / 100 / 4096 + 1));
        for bad in [
            "size",
            "size=",
            "size=1x",
            "size=-1",
            "size=5%%",
            "nr_blocks=1%",
            "nr_blocks=9e",
            "nr_inodes=1%",
            "nr_inodes=17e",
        ] {
            assert_eq!(parse(bad).map(|_| ()), Err(Errno::EINVAL), "{bad}");
        }
    }

    #[test]
    fn tmpfs_mode_and_owner() {
        let (options, _) = parse("mode=755,uid=1000,gid=0x10").unwrap();
        assert_eq!((options.mode, options.uid, options.gid), (0o755, 1000, 16));
        assert_eq!(options.describe(), ",mode=755,uid=1000,gid=16");
        assert_eq!(parse("mode=17777").unwrap().0.mode, 0o7777);
        assert_eq!(parse("mode=0700").unwrap().0.describe(), ",mode=700");
        assert_eq!(parse("mode=1").unwrap().0.describe(), ",mode=001");
        assert_eq!(parse("uid=010").unwrap().0.uid, 8);
        assert_eq!(parse("uid=+5").unwrap().0.uid, 5);
        for bad in [
            "mode=8",
            "mode=",
            "mode=7a",
            "uid=-1",
            "uid=4294967295",
            "gid=4294967296",
            "uid=x",
        ] {
            assert_eq!(parse(bad).map(|_| ()), Err(Errno::EINVAL), "{bad}");
        }
    }

    #[test]
    fn tmpfs_describe_shows_what_differs() {
        let options = parse("size=1m,nr_inodes=10").unwrap().0;
        assert_eq!(options.describe(), ",size=1024k,nr_inodes=10");
        // No limit where the default has one: size=0k.
        assert_eq!(
            parse("size=0,nr_inodes=0").unwrap().0.describe(),
            ",size=0k,nr_inodes=0"
        );
        // The default given explicitly shows nothing.
        assert_eq!(parse("size=50%").unwrap().0.describe(), "");
    }

    #[test]
    fn generic_options_reach_the_flags() {
        let (_, flags) = parse("ro,sync,lazytime,dirsync,nomand").unwrap();
        assert!(flags.read_only && flags.sync && flags.lazytime && flags.dirsync);
        let (_, flags) = parse("ro,rw,sync,async,lazytime,nolazytime").unwrap();
        assert_eq!(flags, MountFlags::default());
        // MS_RDONLY keeps the mount read-only whatever the data says.
        let mut flags = MountFlags::from_bits(MS_RDONLY).unwrap();
        TmpfsOptions::parse(b"rw", GIB, &mut flags).unwrap();
        assert!(flags.read_only);
        let mut flags = MountFlags::default();
        assert_eq!(flags.apply_generic(b"ro,,nolazytime"), Ok(()));
        assert!(flags.read_only);
        for bad in ["mand", "posixacl", "hidepid=2", "size=1m"] {
            let mut flags = MountFlags::default();
            assert_eq!(
                flags.apply_generic(bad.as_bytes()),
                Err(Errno::EINVAL),
                "{bad}"
            );
        }
    }

    #[test]
    fn unknown_tmpfs_options_are_refused() {
        assert!(parse("huge=never").is_ok());
        for bad in [
            "huge=always",
            "mpol=default",
            "inode64",
            "noswap",
            "source=x",
            "usrquota",
            "bogus",
            "Size=1m",
            "mand",
        ] {
            assert_eq!(parse(bad).map(|_| ()), Err(Errno::EINVAL), "{bad}");
        }
    }
}
