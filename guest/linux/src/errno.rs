//! Linux error numbers and the syscall return convention.
//!
//! A Linux system call returns one machine word in `rax`. Success is any
//! value outside `-4095..=-1`; failure is `-errno` (Linux reserves the top
//! 4095 values of the address space, `MAX_ERRNO`, for this). Services in
//! this crate return [`SysResult`] and the dispatcher turns it into the
//! register value with [`to_ret`].
//!
//! Values are those of the kernel's `include/uapi/asm-generic/errno-base.h`
//! and `errno.h`, which x86-64 uses unchanged. Aliases (`EWOULDBLOCK`,
//! `EDEADLOCK`, `ENOTSUP`) are associated constants, not variants, so each
//! variant has exactly one number.

use core::fmt;

/// Largest errno value a syscall may return (`MAX_ERRNO`): return values in
/// `-MAX_ERRNO..=-1` are errors, everything else is a result.
pub const MAX_ERRNO: usize = 4095;

/// The result of a syscall service: a non-negative value or an error.
pub type SysResult = Result<usize, Errno>;

macro_rules! errnos {
    ($($name:ident = $value:literal, $text:literal;)*) => {
        /// A Linux error number (positive, as in C's `errno`).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(i32)]
        pub enum Errno {
            $(
                #[doc = concat!($text, " (", stringify!($value), ").")]
                $name = $value,
            )*
        }

        impl Errno {
            /// Every error number, in ascending order.
            pub const ALL: &'static [Errno] = &[$(Errno::$name),*];

            /// The error for a positive errno value, if Linux defines one.
            pub const fn from_code(code: i32) -> Option<Errno> {
                match code {
                    $($value => Some(Errno::$name),)*
                    _ => None,
                }
            }

            /// The symbolic name, e.g. `"ENOENT"`.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Errno::$name => stringify!($name),)*
                }
            }

            /// The C library's description, e.g. `"No such file or directory"`.
            pub const fn description(self) -> &'static str {
                match self {
                    $(Errno::$name => $text,)*
                }
            }
        }
    };
}

errnos! {
    EPERM = 1, "Operation not permitted";
    ENOENT = 2, "No such file or directory";
    ESRCH = 3, "No such process";
    EINTR = 4, "Interrupted system call";
    EIO = 5, "Input/output error";
    ENXIO = 6, "No such device or address";
    E2BIG = 7, "Argument list too long";
    ENOEXEC = 8, "Exec format error";
    EBADF = 9, "Bad file descriptor";
    ECHILD = 10, "No child processes";
    EAGAIN = 11, "Resource temporarily unavailable";
    ENOMEM = 12, "Cannot allocate memory";
    EACCES = 13, "Permission denied";
    EFAULT = 14, "Bad address";
    ENOTBLK = 15, "Block device required";
    EBUSY = 16, "Device or resource busy";
    EEXIST = 17, "File exists";
    EXDEV = 18, "Invalid cross-device link";
    ENODEV = 19, "No such device";
    ENOTDIR = 20, "Not a directory";
    EISDIR = 21, "Is a directory";
    EINVAL = 22, "Invalid argument";
    ENFILE = 23, "Too many open files in system";
    EMFILE = 24, "Too many open files";
    ENOTTY = 25, "Inappropriate ioctl for device";
    ETXTBSY = 26, "Text file busy";
    EFBIG = 27, "File too large";
    ENOSPC = 28, "No space left on device";
    ESPIPE = 29, "Illegal seek";
    EROFS = 30, "Read-only file system";
    EMLINK = 31, "Too many links";
    EPIPE = 32, "Broken pipe";
    EDOM = 33, "Numerical argument out of domain";
    ERANGE = 34, "Numerical result out of range";
    EDEADLK = 35, "Resource deadlock avoided";
    ENAMETOOLONG = 36, "File name too long";
    ENOLCK = 37, "No locks available";
    ENOSYS = 38, "Function not implemented";
    ENOTEMPTY = 39, "Directory not empty";
    ELOOP = 40, "Too many levels of symbolic links";
    ENOMSG = 42, "No message of desired type";
    EIDRM = 43, "Identifier removed";
    ECHRNG = 44, "Channel number out of range";
    EL2NSYNC = 45, "Level 2 not synchronized";
    EL3HLT = 46, "Level 3 halted";
    EL3RST = 47, "Level 3 reset";
    ELNRNG = 48, "Link number out of range";
    EUNATCH = 49, "Protocol driver not attached";
    ENOCSI = 50, "No CSI structure available";
    EL2HLT = 51, "Level 2 halted";
    EBADE = 52, "Invalid exchange";
    EBADR = 53, "Invalid request descriptor";
    EXFULL = 54, "Exchange full";
    ENOANO = 55, "No anode";
    EBADRQC = 56, "Invalid request code";
    EBADSLT = 57, "Invalid slot";
    EBFONT = 59, "Bad font file format";
    ENOSTR = 60, "Device not a stream";
    ENODATA = 61, "No data available";
    ETIME = 62, "Timer expired";
    ENOSR = 63, "Out of streams resources";
    ENONET = 64, "Machine is not on the network";
    ENOPKG = 65, "Package not installed";
    EREMOTE = 66, "Object is remote";
    ENOLINK = 67, "Link has been severed";
    EADV = 68, "Advertise error";
    ESRMNT = 69, "Srmount error";
    ECOMM = 70, "Communication error on send";
    EPROTO = 71, "Protocol error";
    EMULTIHOP = 72, "Multihop attempted";
    EDOTDOT = 73, "RFS specific error";
    EBADMSG = 74, "Bad message";
    EOVERFLOW = 75, "Value too large for defined data type";
    ENOTUNIQ = 76, "Name not unique on network";
    EBADFD = 77, "File descriptor in bad state";
    EREMCHG = 78, "Remote address changed";
    ELIBACC = 79, "Can not access a needed shared library";
    ELIBBAD = 80, "Accessing a corrupted shared library";
    ELIBSCN = 81, ".lib section in a.out corrupted";
    ELIBMAX = 82, "Attempting to link in too many shared libraries";
    ELIBEXEC = 83, "Cannot exec a shared library directly";
    EILSEQ = 84, "Invalid or incomplete multibyte or wide character";
    ERESTART = 85, "Interrupted system call should be restarted";
    ESTRPIPE = 86, "Streams pipe error";
    EUSERS = 87, "Too many users";
    ENOTSOCK = 88, "Socket operation on non-socket";
    EDESTADDRREQ = 89, "Destination address required";
    EMSGSIZE = 90, "Message too long";
    EPROTOTYPE = 91, "Protocol wrong type for socket";
    ENOPROTOOPT = 92, "Protocol not available";
    EPROTONOSUPPORT = 93, "Protocol not supported";
    ESOCKTNOSUPPORT = 94, "Socket type not supported";
    EOPNOTSUPP = 95, "Operation not supported";
    EPFNOSUPPORT = 96, "Protocol family not supported";
    EAFNOSUPPORT = 97, "Address family not supported by protocol";
    EADDRINUSE = 98, "Address already in use";
    EADDRNOTAVAIL = 99, "Cannot assign requested address";
    ENETDOWN = 100, "Network is down";
    ENETUNREACH = 101, "Network is unreachable";
    ENETRESET = 102, "Network dropped connection on reset";
    ECONNABORTED = 103, "Software caused connection abort";
    ECONNRESET = 104, "Connection reset by peer";
    ENOBUFS = 105, "No buffer space available";
    EISCONN = 106, "Transport endpoint is already connected";
    ENOTCONN = 107, "Transport endpoint is not connected";
    ESHUTDOWN = 108, "Cannot send after transport endpoint shutdown";
    ETOOMANYREFS = 109, "Too many references: cannot splice";
    ETIMEDOUT = 110, "Connection timed out";
    ECONNREFUSED = 111, "Connection refused";
    EHOSTDOWN = 112, "Host is down";
    EHOSTUNREACH = 113, "No route to host";
    EALREADY = 114, "Operation already in progress";
    EINPROGRESS = 115, "Operation now in progress";
    ESTALE = 116, "Stale file handle";
    EUCLEAN = 117, "Structure needs cleaning";
    ENOTNAM = 118, "Not a XENIX named type file";
    ENAVAIL = 119, "No XENIX semaphores available";
    EISNAM = 120, "Is a named type file";
    EREMOTEIO = 121, "Remote I/O error";
    EDQUOT = 122, "Disk quota exceeded";
    ENOMEDIUM = 123, "No medium found";
    EMEDIUMTYPE = 124, "Wrong medium type";
    ECANCELED = 125, "Operation canceled";
    ENOKEY = 126, "Required key not available";
    EKEYEXPIRED = 127, "Key has expired";
    EKEYREVOKED = 128, "Key has been revoked";
    EKEYREJECTED = 129, "Key was rejected by service";
    EOWNERDEAD = 130, "Owner died";
    ENOTRECOVERABLE = 131, "State not recoverable";
    ERFKILL = 132, "Operation not possible due to RF-kill";
    EHWPOISON = 133, "Memory page has hardware error";
}

impl Errno {
    /// `EWOULDBLOCK` is the same number as `EAGAIN` on Linux.
    pub const EWOULDBLOCK: Errno = Errno::EAGAIN;
    /// `EDEADLOCK` is the same number as `EDEADLK` on x86-64.
    pub const EDEADLOCK: Errno = Errno::EDEADLK;
    /// `ENOTSUP` is the same number as `EOPNOTSUPP` on Linux.
    pub const ENOTSUP: Errno = Errno::EOPNOTSUPP;

    /// The positive errno value.
    pub const fn code(self) -> i32 {
        self as i32
    }

    /// The value a failing syscall puts in `rax`: `-errno`.
    pub const fn as_ret(self) -> isize {
        -(self as i32 as isize)
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.description())
    }
}

/// Turns a service's result into the syscall return register value.
///
/// A success value must be a valid result, i.e. not in the error range;
/// one that is (only possible for a value `>= usize::MAX - 4094`, which no
/// service should produce) is reported as `EOVERFLOW` rather than being
/// misread as an error by user space.
pub fn to_ret(result: SysResult) -> isize {
    match result {
        Ok(value) if value > usize::MAX - MAX_ERRNO => Errno::EOVERFLOW.as_ret(),
        Ok(value) => value as isize,
        Err(errno) => errno.as_ret(),
    }
}

/// Reads a syscall return value the way libc does: values in
/// `-4095..=-1` are errors. An error number Linux does not define is
/// reported as `Err(None)`.
pub fn from_ret(ret: isize) -> Result<usize, Option<Errno>> {
    if (-(MAX_ERRNO as isize)..0).contains(&ret) {
        Err(Errno::from_code(-ret as i32))
    } else {
        Ok(ret as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_have_linux_values() {
        assert_eq!(Errno::EPERM.code(), 1);
        assert_eq!(Errno::ENOENT.code(), 2);
        assert_eq!(Errno::E2BIG.code(), 7);
        assert_eq!(Errno::ENOEXEC.code(), 8);
        assert_eq!(Errno::EFAULT.code(), 14);
        assert_eq!(Errno::EINVAL.code(), 22);
        assert_eq!(Errno::ENOSYS.code(), 38);
        assert_eq!(Errno::ELOOP.code(), 40);
        assert_eq!(Errno::ENOMSG.code(), 42);
        assert_eq!(Errno::EBFONT.code(), 59);
        assert_eq!(Errno::EOVERFLOW.code(), 75);
        assert_eq!(Errno::EOPNOTSUPP.code(), 95);
        assert_eq!(Errno::ETIMEDOUT.code(), 110);
        assert_eq!(Errno::ECANCELED.code(), 125);
        assert_eq!(Errno::EHWPOISON.code(), 133);
        assert_eq!(Errno::EWOULDBLOCK, Errno::EAGAIN);
        assert_eq!(Errno::EDEADLOCK.code(), 35);
        assert_eq!(Errno::ENOTSUP.code(), 95);
    }

    #[test]
    fn every_value_1_to_133_except_the_two_holes() {
        // Linux leaves 41 and 58 unused (the old EWOULDBLOCK/EDEADLOCK slots).
        assert_eq!(Errno::ALL.len(), 131);
        for code in 1..=133 {
            let e = Errno::from_code(code);
            assert_eq!(e.is_none(), code == 41 || code == 58, "code {code}");
            if let Some(e) = e {
                assert_eq!(e.code(), code);
                assert!(e.name().starts_with('E'));
                assert!(!e.description().is_empty());
            }
        }
        assert_eq!(Errno::from_code(0), None);
        assert_eq!(Errno::from_code(134), None);
        assert!(Errno::ALL.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn return_convention_round_trips() {
        assert_eq!(Errno::ENOSYS.as_ret(), -38);
        assert_eq!(to_ret(Err(Errno::EBADF)), -9);
        assert_eq!(to_ret(Ok(0)), 0);
        assert_eq!(to_ret(Ok(12345)), 12345);
        // A huge (e.g. mmap) address is still a success value...
        let high = usize::MAX - MAX_ERRNO;
        assert_eq!(from_ret(to_ret(Ok(high))), Ok(high));
        // ...but a value that would alias an errno is refused.
        assert_eq!(to_ret(Ok(usize::MAX)), -75);
        for &e in Errno::ALL {
            assert_eq!(from_ret(to_ret(Err(e))), Err(Some(e)));
        }
        assert_eq!(from_ret(-4095), Err(None));
        assert_eq!(from_ret(-4096), Ok((-4096isize) as usize));
    }

    #[test]
    fn display_names_the_error() {
        let s = alloc::format!("{}", Errno::ENOEXEC);
        assert_eq!(s, "ENOEXEC (Exec format error)");
    }
}
