//! The flags of an open file description (Linux's `f_flags`): which of
//! `open`'s flags it keeps, and how `fcntl(F_SETFL)`, `FIONBIO` and
//! `FIOASYNC` change them.
//!
//! An open file description holds its access mode and status flags in one
//! word, which `fcntl(F_GETFL)` returns as is; every descriptor `dup` or
//! `fork` made of it shares that word.

use crate::Errno;

/// The access mode bits.
pub const O_ACCMODE: u32 = 0o3;
/// Open for reading only.
pub const O_RDONLY: u32 = 0;
/// Open for writing only.
pub const O_WRONLY: u32 = 0o1;
/// Open for reading and writing.
pub const O_RDWR: u32 = 0o2;
/// Every write goes to the end of the file.
pub const O_APPEND: u32 = 0o2000;
/// Reads and writes that would wait fail with `EAGAIN` instead.
pub const O_NONBLOCK: u32 = 0o4000;
/// Writes complete as data integrity (kept; a tmpfs has nothing to sync).
pub const O_DSYNC: u32 = 0o10000;
/// Signal-driven I/O (`FASYNC`).
pub const O_ASYNC: u32 = 0o20000;
/// Direct I/O, past the page cache (a tmpfs's files take it as buffered).
pub const O_DIRECT: u32 = 0o40000;
/// Offsets past 2 GiB allowed (x86-64's `open` always sets it).
pub const O_LARGEFILE: u32 = 0o100000;
/// Opening must find a directory.
pub const O_DIRECTORY: u32 = 0o200000;
/// A final symbolic link is not followed.
pub const O_NOFOLLOW: u32 = 0o400000;
/// Reads do not set the access time.
pub const O_NOATIME: u32 = 0o1000000;
/// File integrity on every write (`__O_SYNC` with `O_DSYNC`).
pub const O_SYNC: u32 = 0o4010000;
/// A descriptor that only names a file.
pub const O_PATH: u32 = 0o10000000;

/// `O_SYNC`'s own bit (`__O_SYNC`).
const SYNC_BIT: u32 = 0o4000000;
/// What an open file description keeps of `open`'s flags (Linux's
/// `VALID_OPEN_FLAGS` less `O_CREAT`, `O_EXCL`, `O_NOCTTY`, `O_TRUNC`,
/// `O_CLOEXEC` and `O_TMPFILE`, which act at open only).
const KEPT: u32 = O_ACCMODE
    | O_APPEND
    | O_NONBLOCK
    | O_SYNC
    | O_ASYNC
    | O_DIRECT
    | O_LARGEFILE
    | O_DIRECTORY
    | O_NOFOLLOW
    | O_NOATIME
    | O_PATH;
/// What `O_PATH` keeps.
const KEPT_WITH_PATH: u32 = O_PATH | O_DIRECTORY | O_NOFOLLOW;
/// What `F_SETFL` changes (Linux's `SETFL_MASK`; `O_ASYNC` aside).
const SETFL_MASK: u32 = O_APPEND | O_NONBLOCK | O_DIRECT | O_NOATIME;

/// The flags an open file description made by `open` with `flags` has:
/// unknown bits and the flags that act at open only dropped, `O_SYNC`
/// implying `O_DSYNC`, `O_LARGEFILE` added (x86-64's `open` forces it);
/// with `O_PATH` only `O_PATH`, `O_DIRECTORY` and `O_NOFOLLOW` stay.
pub const fn kept_at_open(flags: u64) -> u32 {
    let flags = flags as u32;
    if flags & O_PATH != 0 {
        return flags & KEPT_WITH_PATH;
    }
    let flags = flags | O_LARGEFILE;
    let flags = if flags & SYNC_BIT != 0 {
        flags | O_DSYNC
    } else {
        flags
    };
    flags & KEPT
}

/// Whether a description with `flags` may be read (`FMODE_READ`).
pub const fn readable(flags: u32) -> bool {
    flags & O_PATH == 0 && flags & O_ACCMODE != O_WRONLY
}

/// Whether a description with `flags` may be written (`FMODE_WRITE`).
pub const fn writable(flags: u32) -> bool {
    flags & O_PATH == 0 && flags & O_ACCMODE != O_RDONLY
}

/// What an open file supports of the flags `F_SETFL` may change.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Supports {
    /// `O_DIRECT` (Linux's `FMODE_CAN_ODIRECT`; else `EINVAL`).
    pub direct: bool,
    /// `O_ASYNC` (the file has a `fasync` operation: pipes, terminals;
    /// else `F_SETFL` leaves the flag and `FIOASYNC` is `ENOTTY`).
    pub fasync: bool,
}

/// `fcntl(F_SETFL, requested)` on a description with `current` flags:
/// the new flags. `O_APPEND`, `O_NONBLOCK`, `O_DIRECT` and `O_NOATIME`
/// take the requested values, `O_ASYNC` too where the file supports it;
/// the access mode and the other flags stay. `EINVAL` for `O_DIRECT`
/// where the file does not take it. (Every process is root, so
/// `O_NOATIME` is always allowed; an `O_PATH` descriptor is refused
/// before, with `EBADF`.)
pub fn set_status(current: u32, requested: u64, supports: Supports) -> Result<u32, Errno> {
    // The argument is an unsigned int.
    let requested = requested as u32;
    if requested & O_DIRECT != 0 && !supports.direct {
        return Err(Errno::EINVAL);
    }
    let mask = if supports.fasync {
        SETFL_MASK | O_ASYNC
    } else {
        SETFL_MASK
    };
    Ok(requested & mask | current & !mask)
}

/// `ioctl(FIOASYNC)`: the flags with `O_ASYNC` set or cleared; `ENOTTY`
/// to change it where the file does not support it.
pub fn set_async(current: u32, on: bool, supports: Supports) -> Result<u32, Errno> {
    let flags = if on {
        current | O_ASYNC
    } else {
        current & !O_ASYNC
    };
    if flags != current && !supports.fasync {
        return Err(Errno::ENOTTY);
    }
    Ok(flags)
}

#[cfg(test)]
mod tests {
    use super::*;

    const O_CREAT: u64 = 0o100;
    const O_EXCL: u64 = 0o200;
    const O_NOCTTY: u64 = 0o400;
    const O_TRUNC: u64 = 0o1000;
    const O_CLOEXEC: u64 = 0o2000000;

    // The expected values are what Linux 6.18 reports for the same opens.
    #[test]
    fn open_keeps_the_status_flags() {
        let created = O_RDWR as u64 | O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC | O_NOCTTY;
        assert_eq!(kept_at_open(created), 0o100002);
        let flags = O_WRONLY | O_APPEND | O_NONBLOCK | O_SYNC | O_NOATIME;
        assert_eq!(kept_at_open(u64::from(flags)), 0o5116001);
        assert_eq!(kept_at_open(u64::from(SYNC_BIT)), 0o4110000);
        assert_eq!(kept_at_open(u64::from(O_ASYNC)), 0o120000);
        assert_eq!(kept_at_open(0x4000_0000 | 0o40000000), 0o100000);
        let path = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_RDWR | O_APPEND;
        assert_eq!(kept_at_open(u64::from(path) | O_CLOEXEC), 0o10600000);
        assert_eq!(kept_at_open(u64::from(O_PATH)), O_PATH);
    }

    #[test]
    fn access_modes() {
        assert!(readable(O_RDONLY) && !writable(O_RDONLY));
        assert!(!readable(O_WRONLY) && writable(O_WRONLY));
        assert!(readable(O_RDWR) && writable(O_RDWR));
        assert!(!readable(O_PATH) && !writable(O_PATH | O_RDWR));
    }

    #[test]
    fn setfl_changes_only_the_status_flags() {
        let file = Supports {
            direct: true,
            fasync: false,
        };
        let all = u64::from(!O_DIRECT);
        assert_eq!(set_status(0o100002, all, file), Ok(0o1106002));
        assert_eq!(set_status(0o1106002, 0, file), Ok(0o100002));
        assert_eq!(
            set_status(0o100002, u64::from(O_DIRECT), file),
            Ok(0o140002)
        );
        // O_ASYNC stays as it was without fasync (set at open, it stays).
        assert_eq!(set_status(0o100002, u64::from(O_ASYNC), file), Ok(0o100002));
        assert_eq!(set_status(0o120000, 0, file), Ok(0o120000));
        // O_SYNC cannot change; the argument is an int.
        assert_eq!(set_status(0o4110002, 1 << 32, file), Ok(0o4110002));
        let device = Supports::default();
        let direct = u64::from(O_DIRECT);
        assert_eq!(set_status(0o100002, direct, device), Err(Errno::EINVAL));
    }

    #[test]
    fn async_where_the_file_supports_it() {
        let pipe = Supports {
            direct: false,
            fasync: true,
        };
        assert_eq!(set_status(0, u64::from(O_ASYNC), pipe), Ok(O_ASYNC));
        assert_eq!(set_async(O_WRONLY, true, pipe), Ok(O_WRONLY | O_ASYNC));
        assert_eq!(set_async(O_ASYNC, false, pipe), Ok(0));
        let file = Supports::default();
        assert_eq!(set_async(0, true, file), Err(Errno::ENOTTY));
        assert_eq!(set_async(0, false, file), Ok(0));
        assert_eq!(set_async(O_ASYNC, true, file), Ok(O_ASYNC));
    }
}
