//! What vessel-linux supports, call by call: the source of the published
//! coverage table (`docs/linux-syscalls.md`, checked by a test here) and the
//! list the kernel's dispatcher (`guest/linux-kernel/src/syscall.rs`)
//! implements. A call not listed returns `-ENOSYS`.

use crate::syscalls::{Support, Sysno};

/// The status of every implemented call.
const SUPPORTED: &[(Sysno, Support)] = &[
    (
        Sysno::read,
        Support::Partial(
            "files of the tmpfs, the console input (the host's standard input; with -t through the line discipline), pipes and the /dev devices; at most 1 MiB per call; a signal interrupts a pipe or console read (EINTR, or restarted after an SA_RESTART handler); O_NONBLOCK (EAGAIN) on pipes, FIFOs and the console input",
        ),
    ),
    (
        Sysno::write,
        Support::Partial(
            "files of the tmpfs (O_APPEND honoured), the console streams, pipes and FIFOs (O_NONBLOCK: EAGAIN) and the /dev devices; EBADF unless open for writing; at most 1 MiB per call; a signal interrupts a pipe write that waits for room (what was written counts, else EINTR or restarted)",
        ),
    ),
    (
        Sysno::readv,
        Support::Partial("as read: one read scattered over the buffers"),
    ),
    (
        Sysno::writev,
        Support::Partial("as write: the buffers gathered into one write"),
    ),
    (
        Sysno::fstat,
        Support::Partial(
            "files of the tmpfs (FIFOs included) in full; the console streams and devices as character devices and pipes as FIFOs, with made-up fields (no inode numbers or times)",
        ),
    ),
    (
        Sysno::newfstatat,
        Support::Partial(
            "paths of the tmpfs and of /proc from the working directory or a directory descriptor, AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH; st_dev is 1 for the root tmpfs, 32+n for the tmpfs with id n (anonymous devices, major 0), 0x16 for /proc; AT_NO_AUTOMOUNT ignored",
        ),
    ),
    (
        Sysno::openat,
        Support::Partial(
            "files of the tmpfs: O_CREAT, O_EXCL, O_TRUNC, O_APPEND, O_DIRECTORY, O_NOFOLLOW, O_CLOEXEC, O_PATH, the umask; the status flags kept as Linux keeps them (F_GETFL: O_LARGEFILE added, O_NONBLOCK, O_NOATIME honoured; O_SYNC, O_DSYNC, O_ASYNC recorded; O_DIRECT on regular files only, else EINVAL); FIFOs as Linux opens them (O_RDONLY waits for a writer and O_WRONLY for a reader, interruptibly, O_RDWR never; with O_NONBLOCK a reader goes on alone and a writer with no reader is ENXIO; one pipe per FIFO, its data gone with the last close); the device nodes of /dev (null, zero, full, random, urandom, tty and console: the console); /proc (contents made at open, read like a file; writing is EACCES except /proc/PID/comm; /proc/PID/fd/N opens what the descriptor has open: the same pipe, without waiting, or the console again, as a new open file description); no O_TMPFILE (EOPNOTSUPP); O_CREAT through a /proc link back into the tmpfs (/proc/self/cwd/new) is ENOENT; no permission checks (every process is root)",
        ),
    ),
    (
        Sysno::readlink,
        Support::Partial(
            "symbolic links of the tmpfs and of /proc (self, mounts, PID/exe, PID/cwd, PID/root, PID/fd/N: a path, pipe:[N], /dev/console)",
        ),
    ),
    (Sysno::getcwd, Support::Full),
    (
        Sysno::ioctl,
        Support::Partial(
            "on every descriptor FIONBIO, FIOCLEX, FIONCLEX and FIOASYNC (ENOTTY on files with no O_ASYNC: all but pipes, FIFOs, the console and the random devices; O_ASYNC is recorded, SIGIO never sent: there is no F_SETOWN); FIONREAD on pipes (either end) and regular files (size minus offset); terminal requests on the console with `vessel run -t`: TCGETS, TCSETS/W/F, TIOCGWINSZ, TIOCSWINSZ, TIOCGPGRP, TIOCSPGRP, TIOCSCTTY, FIONREAD; ENOTTY otherwise (and on every descriptor without -t); EBADF on O_PATH descriptors; no pseudo-terminals",
        ),
    ),
    (
        Sysno::fcntl,
        Support::Partial(
            "F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_SETFD, F_GETFL, F_SETFL (O_APPEND, O_NONBLOCK, O_NOATIME, O_DIRECT on regular files, else EINVAL: pipes too, no packet mode; O_ASYNC where Linux takes it, recorded only), in the open file description that dup and fork share; EBADF for the others on O_PATH descriptors; no locks, leases, owners or pipe sizes (EINVAL)",
        ),
    ),
    (Sysno::brk, Support::Full),
    (
        Sysno::mmap,
        Support::Partial(
            "anonymous memory, private or MAP_SHARED (stays shared with children across fork), the same from /dev/zero, and private mappings of regular files (a copy of the file's bytes at map time: later changes to the file do not show, pages wholly past its end read zeros where Linux raises SIGBUS), private anonymous memory paged on demand (reserved at mmap, each page zeroed when first touched; MAP_POPULATE maps at once), MAP_SHARED anonymous memory and file copies mapped at once: placed top-down, at a free hint, or with MAP_FIXED (replacing) and MAP_FIXED_NOREPLACE (EEXIST); PROT_NONE included; Linux's EACCES, EBADF (O_PATH), EPERM (PROT_EXEC of a file on a noexec mount or in /proc), ENODEV (pipes, directories, devices), EOVERFLOW and MAP_SHARED_VALIDATE's EOPNOTSUPP; no MAP_SHARED of a regular file (ENODEV: writes would not reach the file); MAP_NORESERVE and the like ignored",
        ),
    ),
    (Sysno::munmap, Support::Full),
    (
        Sysno::mprotect,
        Support::Partial(
            "read, write, execute and none on mapped pages; PROT_GROWSDOWN/UP are EINVAL (no mapping grows, not even the stack); a range with a hole changes nothing (Linux changes the part before the hole) and is ENOMEM; adding PROT_EXEC to a mapping of a file on a noexec mount is allowed (Linux: EACCES; pages do not record their file)",
        ),
    ),
    (
        Sysno::mremap,
        Support::Partial(
            "shrink in place, grow in place when the following pages are free, MREMAP_MAYMOVE (the pages move, contents, rights and sharing kept), MREMAP_FIXED and MREMAP_DONTUNMAP; with no VMAs, \"one mapping\" means pages mapped with the same rights and sharing (EFAULT otherwise); grown pages are zeros (shared for a shared mapping, where Linux raises SIGBUS past the original size; a grown file mapping does not read the file); old_len 0 (duplicating a shared mapping) and MREMAP_DONTUNMAP of a shared mapping are EINVAL",
        ),
    ),
    (
        Sysno::madvise,
        Support::Partial(
            "MADV_DONTNEED (and _LOCKED) give back the frames of private pages, which read zeros and get fresh frames when touched again, as private anonymous memory does (ELF segments and private file mappings read zeros too, not the file's contents), and leave MAP_SHARED pages' contents as Linux does; paging advice (NORMAL, RANDOM, SEQUENTIAL, WILLNEED, FREE, DONTFORK, DOFORK, KEEPONFORK, MERGEABLE, HUGEPAGE, DONTDUMP, COLD, PAGEOUT, POPULATE_*, COLLAPSE...) is accepted and does nothing (DONTFORK ranges are still copied by fork); MADV_WIPEONFORK and MADV_REMOVE are EINVAL (MADV_REMOVE of MAP_SHARED memory, which Linux frees and zeroes, too); unmapped pages are ENOMEM",
        ),
    ),
    (
        Sysno::rt_sigaction,
        Support::Partial(
            "handlers (SA_SIGINFO, SA_RESTORER, SA_NODEFER, SA_RESETHAND, SA_RESTART, SA_ONSTACK), SIG_IGN (which discards the pending signal) and SIG_DFL; for SIGCHLD, SA_NOCLDSTOP, SA_NOCLDWAIT and SIG_IGN (children reaped at once); unknown flags cleared, as Linux does; no core dumps (the core default action ends the process as terminate does)",
        ),
    ),
    (Sysno::rt_sigprocmask, Support::Full),
    (Sysno::rt_sigreturn, Support::Full),
    (Sysno::rt_sigpending, Support::Full),
    (Sysno::rt_sigsuspend, Support::Full),
    (
        Sysno::rt_sigtimedwait,
        Support::Partial(
            "takes a pending signal of the set (standard signals coalesce, real-time ones queue), waiting up to the timeout; EAGAIN at the timeout, EINTR if another signal's handler runs (never restarted, as on Linux); siginfo as delivery fills it (sigqueue's si_value included)",
        ),
    ),
    (Sysno::pause, Support::Full),
    (Sysno::alarm, Support::Full),
    (
        Sysno::setitimer,
        Support::Partial(
            "ITIMER_REAL (SIGALRM on the monotonic clock), ITIMER_VIRTUAL (SIGVTALRM on user CPU time) and ITIMER_PROF (SIGPROF on user and system CPU time), kept across execve, not inherited by fork; a CPU-time timer's first expiry gets a 4 ms tick added, as Linux does, and its expiry is seen within a time slice (CPU time is charged when a thread enters or leaves the kernel)",
        ),
    ),
    (
        Sysno::getitimer,
        Support::Partial("the three timers, as setitimer"),
    ),
    (
        Sysno::restart_syscall,
        Support::Partial(
            "resumes a sleep (nanosleep, relative clock_nanosleep) that a stop interrupted, for the time left; EINTR otherwise",
        ),
    ),
    (Sysno::exit, Support::Full),
    (Sysno::exit_group, Support::Full),
    (Sysno::getpid, Support::Full),
    (
        Sysno::setpgid,
        Support::Partial(
            "Linux's checks and errors (ESRCH, EPERM for session leaders and other sessions, EACCES after the child's execve); the caller's own thread (not the group leader) is EINVAL as on Linux, but another process's thread is ESRCH (Linux: EINVAL)",
        ),
    ),
    (
        Sysno::getpgid,
        Support::Partial(
            "of any process, or of the caller's own threads; the id of another process's thread is ESRCH",
        ),
    ),
    (Sysno::getpgrp, Support::Full),
    (
        Sysno::setsid,
        Support::Partial("no controlling terminals exist, so none is detached"),
    ),
    (
        Sysno::getsid,
        Support::Partial(
            "of any process, or of the caller's own threads; the id of another process's thread is ESRCH",
        ),
    ),
    (
        Sysno::getrusage,
        Support::Partial(
            "RUSAGE_SELF, RUSAGE_CHILDREN and RUSAGE_THREAD: user and system CPU time (what the threads' tasks ran, in ring 3 and in the kernel; a thread's time in ring 3 is counted when it next enters the kernel) and ru_maxrss (the peak of pages mapped, which overstates Linux's resident peak: every mapping is populated at once); the other fields read 0",
        ),
    ),
    (Sysno::getppid, Support::Full),
    (Sysno::gettid, Support::Full),
    (Sysno::getuid, Support::Full),
    (Sysno::geteuid, Support::Full),
    (Sysno::getgid, Support::Full),
    (Sysno::getegid, Support::Full),
    (Sysno::set_tid_address, Support::Full),
    (
        Sysno::set_robust_list,
        Support::Partial(
            "the list is walked when the thread ends or calls execve, as Linux's (2048 entries at most, stops at a bad pointer): each futex word the thread owns gets FUTEX_OWNER_DIED and one waiter woken; a waiter in a process that shares the word through MAP_SHARED memory, not through CLONE_VM, is not woken (futexes are keyed by address space)",
        ),
    ),
    (Sysno::get_robust_list, Support::Full),
    (
        Sysno::arch_prctl,
        Support::Partial("ARCH_SET_FS and ARCH_GET_FS"),
    ),
    (
        Sysno::prctl,
        Support::Partial(
            "PR_SET_NAME and PR_GET_NAME (one name per process, not per thread; execve sets it to argv[0]'s base name), PR_SET_DUMPABLE and PR_GET_DUMPABLE, PR_SET_PDEATHSIG and PR_GET_PDEATHSIG (sent, SI_USER from the parent, when the thread that made the process ends; cleared in new threads and processes); other options EINVAL",
        ),
    ),
    (Sysno::uname, Support::Full),
    (Sysno::close, Support::Full),
    (
        Sysno::stat,
        Support::Partial("as newfstatat, from the working directory"),
    ),
    (
        Sysno::lstat,
        Support::Partial("as newfstatat, without following a final symbolic link"),
    ),
    (
        Sysno::statx,
        Support::Partial(
            "the basic fields of tmpfs and /proc files (the mask is ignored, all are filled; no birth time); AT_EMPTY_PATH on a descriptor of the console, a pipe or a device is EOPNOTSUPP",
        ),
    ),
    (
        Sysno::pread64,
        Support::Partial("files of the tmpfs and /proc; ESPIPE for the console, pipes and devices"),
    ),
    (
        Sysno::pwrite64,
        Support::Partial(
            "files of the tmpfs (with O_APPEND at the end, as Linux); ESPIPE for the console, pipes and devices",
        ),
    ),
    (
        Sysno::access,
        Support::Partial("existence, and an execute bit for X_OK (every process is root)"),
    ),
    (
        Sysno::faccessat,
        Support::Partial("as access, relative to a directory descriptor"),
    ),
    (
        Sysno::faccessat2,
        Support::Partial(
            "as access, with AT_SYMLINK_NOFOLLOW and AT_EMPTY_PATH; AT_EACCESS changes nothing (root)",
        ),
    ),
    (Sysno::getdents64, Support::Full),
    (Sysno::chdir, Support::Full),
    (Sysno::fchdir, Support::Full),
    (Sysno::mkdir, Support::Full),
    (Sysno::mkdirat, Support::Full),
    (
        Sysno::mknod,
        Support::Partial("as mknodat, from the working directory"),
    ),
    (
        Sysno::mknodat,
        Support::Partial(
            "FIFOs, regular files (S_IFREG or no type) and character devices (served when /dev has them: open of another is ENXIO), the umask; EPERM for directories and for block devices and sockets (the tmpfs does not hold them), EINVAL for no type",
        ),
    ),
    (Sysno::rmdir, Support::Full),
    (Sysno::unlink, Support::Full),
    (Sysno::unlinkat, Support::Full),
    (Sysno::rename, Support::Full),
    (Sysno::renameat, Support::Full),
    (
        Sysno::renameat2,
        Support::Partial("RENAME_NOREPLACE and RENAME_EXCHANGE; no RENAME_WHITEOUT (EINVAL)"),
    ),
    (Sysno::link, Support::Full),
    (Sysno::linkat, Support::Full),
    (Sysno::symlink, Support::Full),
    (Sysno::symlinkat, Support::Full),
    (
        Sysno::readlinkat,
        Support::Partial("as readlink, relative to a directory descriptor"),
    ),
    (Sysno::chmod, Support::Full),
    (
        Sysno::fchmod,
        Support::Partial("files of the tmpfs; EINVAL for the console, pipes and devices"),
    ),
    (Sysno::fchmodat, Support::Full),
    (Sysno::chown, Support::Full),
    (
        Sysno::fchown,
        Support::Partial("files of the tmpfs; EINVAL for the console, pipes and devices"),
    ),
    (Sysno::lchown, Support::Full),
    (Sysno::fchownat, Support::Full),
    (Sysno::utimensat, Support::Full),
    (Sysno::truncate, Support::Full),
    (
        Sysno::ftruncate,
        Support::Partial("files of the tmpfs opened for writing; EINVAL otherwise"),
    ),
    (
        Sysno::fsync,
        Support::Partial("nothing to do: files live in memory (there is no disk)"),
    ),
    (
        Sysno::fdatasync,
        Support::Partial("nothing to do: files live in memory (there is no disk)"),
    ),
    (
        Sysno::syncfs,
        Support::Partial("nothing to do: files live in memory (there is no disk)"),
    ),
    (
        Sysno::sync,
        Support::Partial("nothing to do: files live in memory (there is no disk)"),
    ),
    (Sysno::umask, Support::Full),
    (
        Sysno::setxattr,
        Support::Partial(
            "no file system here keeps extended attributes: EOPNOTSUPP once the file is found (its lookup errors first), as on a Linux file system without them",
        ),
    ),
    (
        Sysno::lsetxattr,
        Support::Partial(
            "no file system here keeps extended attributes: EOPNOTSUPP once the file is found (its lookup errors first), as on a Linux file system without them",
        ),
    ),
    (
        Sysno::getxattr,
        Support::Partial(
            "no file system here keeps extended attributes: EOPNOTSUPP once the file is found (its lookup errors first), as on a Linux file system without them",
        ),
    ),
    (
        Sysno::lgetxattr,
        Support::Partial(
            "no file system here keeps extended attributes: EOPNOTSUPP once the file is found (its lookup errors first), as on a Linux file system without them",
        ),
    ),
    (
        Sysno::listxattr,
        Support::Partial(
            "no file system here keeps extended attributes: EOPNOTSUPP once the file is found (its lookup errors first), as on a Linux file system without them",
        ),
    ),
    (
        Sysno::llistxattr,
        Support::Partial(
            "no file system here keeps extended attributes: EOPNOTSUPP once the file is found (its lookup errors first), as on a Linux file system without them",
        ),
    ),
    (
        Sysno::removexattr,
        Support::Partial(
            "no file system here keeps extended attributes: EOPNOTSUPP once the file is found (its lookup errors first), as on a Linux file system without them",
        ),
    ),
    (
        Sysno::lremovexattr,
        Support::Partial(
            "no file system here keeps extended attributes: EOPNOTSUPP once the file is found (its lookup errors first), as on a Linux file system without them",
        ),
    ),
    (
        Sysno::fsetxattr,
        Support::Partial(
            "no file system here keeps extended attributes: EOPNOTSUPP for an open descriptor, EBADF otherwise",
        ),
    ),
    (
        Sysno::fgetxattr,
        Support::Partial(
            "no file system here keeps extended attributes: EOPNOTSUPP for an open descriptor, EBADF otherwise",
        ),
    ),
    (
        Sysno::flistxattr,
        Support::Partial(
            "no file system here keeps extended attributes: EOPNOTSUPP for an open descriptor, EBADF otherwise",
        ),
    ),
    (
        Sysno::fremovexattr,
        Support::Partial(
            "no file system here keeps extended attributes: EOPNOTSUPP for an open descriptor, EBADF otherwise",
        ),
    ),
    (
        Sysno::statfs,
        Support::Partial(
            "a tmpfs of the tree (its size= and nr_inodes= limits; where it has none, sizes from the guest's free memory) and procfs, f_flags from the mount (ST_RDONLY, ST_NOSUID, ST_NODEV, ST_NOEXEC, ST_NOATIME, ST_RELATIME, …); f_fsid 0",
        ),
    ),
    (
        Sysno::fstatfs,
        Support::Partial("as statfs, for descriptors of tmpfs and /proc files"),
    ),
    (
        Sysno::sendfile,
        Support::Partial(
            "from a file of the tmpfs or /proc to any descriptor, at most 1 MiB per call",
        ),
    ),
    (
        Sysno::creat,
        Support::Partial("as openat with O_CREAT|O_WRONLY|O_TRUNC"),
    ),
    (
        Sysno::sysinfo,
        Support::Partial("uptime, total and free RAM, process count; no load averages or swap"),
    ),
    (
        Sysno::futex,
        Support::Partial(
            "FUTEX_WAIT, FUTEX_WAKE and the BITSET forms (bitsets ignored), with timeouts; FUTEX_REQUEUE and FUTEX_CMP_REQUEUE wake the waiters they would move (a spurious wake-up for them); a signal interrupts a wait (EINTR, or restarted as Linux does; a timed wait that a stop interrupted starts over with its whole timeout); no WAKE_OP, PI or waitv",
        ),
    ),
    (
        Sysno::open,
        Support::Partial("as openat, from the working directory"),
    ),
    (Sysno::pipe, Support::Full),
    (
        Sysno::pipe2,
        Support::Partial("O_CLOEXEC and O_NONBLOCK; no O_DIRECT (packet mode)"),
    ),
    (Sysno::dup, Support::Full),
    (Sysno::dup2, Support::Full),
    (Sysno::dup3, Support::Full),
    (
        Sysno::lseek,
        Support::Partial(
            "files and directories of the tmpfs and /proc: SEEK_SET, SEEK_CUR, SEEK_END (no SEEK_DATA/SEEK_HOLE: EINVAL); ESPIPE on the console, pipes and devices",
        ),
    ),
    (
        Sysno::fork,
        Support::Partial(
            "memory shared copy-on-write (page tables copied; a page is copied at its first write), MAP_SHARED memory stays shared; the calling thread only, as Linux; no MADV_DONTFORK/WIPEONFORK",
        ),
    ),
    (Sysno::vfork, Support::Full),
    (
        Sysno::clone,
        Support::Partial(
            "threads (CLONE_VM|CLONE_THREAD with SETTLS, PARENT_SETTID, CHILD_SETTID, CHILD_CLEARTID) and processes with a copy of the memory or, with CLONE_VM, the same memory; CLONE_VFORK suspends the caller until the child calls execve or ends (only a fatal signal ends the wait); CLONE_FILES, CLONE_FS, CLONE_SIGHAND and CLONE_SYSVSEM are ignored (a process gets copies, a thread shares), as are the other flags and the exit signal (always SIGCHLD)",
        ),
    ),
    (
        Sysno::execve,
        Support::Partial(
            "executables of the tmpfs (an execute bit needed) and /proc/PID/exe (the program that process runs); #! scripts, up to 4 interpreters deep (ELOOP beyond); static and dynamically linked ELF programs (PT_INTERP: the interpreter, e.g. glibc's ld.so, is read from the file system, loaded at 0x7f0000000000 and entered with AT_BASE, AT_ENTRY and AT_PHDR set; as Linux: a missing one ENOENT, not executable EACCES, shorter than an ELF header EIO, not a valid ELF ELIBBAD, a bad PT_INTERP ENOEXEC or EIO; unlike Linux, an interpreter that is not ET_DYN or has PT_INTERP itself is ELIBBAD); the process's name (comm) becomes argv[0]'s base name, not the executable's as on Linux",
        ),
    ),
    (
        Sysno::wait4,
        Support::Partial(
            "exit and signal statuses of children (a pid, any, the caller's process group, or another group), stopped (WUNTRACED) and continued (WCONTINUED) ones, with WNOHANG and the child's rusage (as getrusage fills it); a signal interrupts the wait (EINTR, or restarted after an SA_RESTART handler); no core dumps, so WCOREDUMP is never set; no ptrace stops",
        ),
    ),
    (
        Sysno::waitid,
        Support::Partial(
            "P_ALL, P_PID and P_PGID with WEXITED, WSTOPPED, WCONTINUED, WNOHANG and WNOWAIT; siginfo's signal, errno, code (CLD_EXITED, CLD_KILLED, CLD_STOPPED, CLD_CONTINUED), pid, uid and status as Linux writes them, and the rusage; interrupted by signals as wait4; P_PIDFD is EBADF or EINVAL (no pidfds)",
        ),
    ),
    (
        Sysno::poll,
        Support::Partial(
            "waits, with the timeout, for pipes (data, room for an atomic write, POLLHUP, POLLERR) and console input; files and devices are always ready; POLLNVAL; a signal interrupts the wait (EINTR after a handler, else restarted with the whole timeout)",
        ),
    ),
    (
        Sysno::ppoll,
        Support::Partial(
            "as poll, with a timespec timeout (the time left written back) and a signal mask for the wait",
        ),
    ),
    (
        Sysno::select,
        Support::Partial(
            "as poll for the three sets (EBADF for a closed descriptor; no exceptional conditions ever), the time left written back",
        ),
    ),
    (
        Sysno::pselect6,
        Support::Partial("as select, with a timespec timeout and a signal mask for the wait"),
    ),
    (
        Sysno::mount,
        Support::Partial(
            "tmpfs and procfs on any directory, on top of what is mounted there (mounts stack; umount2 shows the one below again). A tmpfs: its own device and root (mode 1777 unless mode=), what was there hidden until unmounted, rename/link across EXDEV, .. of its root the mount point's parent; options size= (bytes with k/m/g/t/p/e, or % of memory; default half the memory; ENOSPC when full), nr_blocks=, nr_inodes=, mode=, uid=, gid=, huge=never. Flags and generic options: MS_RDONLY/ro (EROFS), MS_NOSUID, MS_NODEV (EACCES opening devices), MS_NOEXEC (EACCES from execve and access X_OK, EPERM from mmap PROT_EXEC; mprotect adding PROT_EXEC is not refused), MS_NOATIME, MS_NODIRATIME, MS_RELATIME (the default), MS_STRICTATIME, MS_SYNCHRONOUS/sync, MS_DIRSYNC, MS_LAZYTIME, MS_SILENT. Other flags and options EINVAL (MS_MANDLOCK, MS_NOSYMFOLLOW, MS_POSIXACL, MS_I_VERSION, MS_REC; procfs's hidepid/gid/subset; tmpfs's mpol, inode32/64, noswap, quotas, other huge values; source=); other types ENODEV; MS_REMOUNT, MS_BIND, MS_MOVE and propagation changes EPERM",
        ),
    ),
    (
        Sysno::umount2,
        Support::Partial(
            "tmpfs and procfs mounts (the top one where mounts stack). A tmpfs in use (an open file or a working directory in it, a mount inside) is EBUSY unless MNT_DETACH: then it is detached at once with the mounts inside, stays usable through what refers to it (getcwd there is ENOENT: unreachable) and is freed with the last reference; procfs always lazily (no EBUSY). MNT_FORCE changes nothing (as on Linux for these), UMOUNT_NOFOLLOW, MNT_EXPIRE EINVAL; the root is EBUSY, other paths EINVAL",
        ),
    ),
    (
        Sysno::sigaltstack,
        Support::Partial(
            "SA_ONSTACK handlers run on it; SS_DISABLE, SS_AUTODISARM, EPERM while on it, ENOMEM below MINSIGSTKSZ (2048: no check against the larger AVX frames, which are not saved here)",
        ),
    ),
    (
        Sysno::kill,
        Support::Partial(
            "to a process (or the process of a thread id), the caller's process group, another group, or every process (-1: all but the first and the caller); a zombie takes and ignores signals; every process is root, so never EPERM; the first process is not protected as Linux's init is (it takes the default actions)",
        ),
    ),
    (Sysno::tkill, Support::Full),
    (Sysno::tgkill, Support::Full),
    (
        Sysno::rt_sigqueueinfo,
        Support::Partial(
            "to a process, with the sender's si_code, si_pid, si_uid and si_value (what sigqueue sends: handlers and rt_sigtimedwait see them); EPERM for si_code >= 0 or SI_TKILL towards another thread, as Linux; the other siginfo fields are not carried",
        ),
    ),
    (
        Sysno::rt_tgsigqueueinfo,
        Support::Partial("as rt_sigqueueinfo, to one thread of a process"),
    ),
    (
        Sysno::prlimit64,
        Support::Partial(
            "reads the limits, the same for every process (stack 8 MiB soft, core 0 soft, 1024 descriptors, the rest unlimited); changing them is EPERM",
        ),
    ),
    (Sysno::sched_yield, Support::Full),
    (Sysno::sched_getaffinity, Support::Partial("one CPU")),
    (
        Sysno::clock_gettime,
        Support::Partial(
            "REALTIME, MONOTONIC (since the kernel started), PROCESS_CPUTIME_ID, THREAD_CPUTIME_ID and the CPU clocks of the caller's own process and threads; approximations: BOOTTIME and MONOTONIC_RAW read as MONOTONIC (no suspend, no slewing), TAI as REALTIME (no TAI offset), the _COARSE clocks as the precise ones; CPU time counts a thread's time in ring 3 when it next enters the kernel; the alarm clocks and other processes' CPU clocks are EINVAL",
        ),
    ),
    (
        Sysno::clock_getres,
        Support::Partial(
            "1 ns for every clock clock_gettime reads (the _COARSE clocks included, which are not coarse here)",
        ),
    ),
    (
        Sysno::gettimeofday,
        Support::Partial("the time zone is always UTC with no daylight saving time"),
    ),
    (Sysno::time, Support::Full),
    (Sysno::nanosleep, Support::Full),
    (
        Sysno::clock_nanosleep,
        Support::Partial(
            "relative and TIMER_ABSTIME sleeps on REALTIME, MONOTONIC, BOOTTIME, TAI and the process's CPU clock (polled every millisecond); EOPNOTSUPP for the clocks Linux cannot sleep on; a signal's handler interrupts it (EINTR; the time left written for a relative sleep), a stop and continue resumes it",
        ),
    ),
    (
        Sysno::getrandom,
        Support::Partial(
            "not cryptographically secure: a xorshift generator seeded from the clocks; the flags (GRND_NONBLOCK, GRND_RANDOM, GRND_INSECURE) are checked as Linux does and change nothing (it never blocks)",
        ),
    ),
];

/// The support status of `sysno`.
pub fn support(sysno: Sysno) -> Support {
    SUPPORTED
        .iter()
        .find(|(s, _)| *s == sysno)
        .map_or(Support::Unsupported, |(_, support)| *support)
}

/// Whether the dispatcher serves `number` (anything else is ENOSYS).
pub fn is_implemented(number: u64) -> bool {
    Sysno::from_number(number).is_some_and(|s| support(s) != Support::Unsupported)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syscalls::coverage_markdown;

    #[test]
    fn every_listed_call_is_listed_once() {
        for (i, (sysno, _)) in SUPPORTED.iter().enumerate() {
            assert!(
                !SUPPORTED[i + 1..].iter().any(|(s, _)| s == sysno),
                "{sysno} twice"
            );
        }
        assert_eq!(support(Sysno::exit_group), Support::Full);
        assert_eq!(support(Sysno::ptrace), Support::Unsupported);
        assert!(is_implemented(231) && !is_implemented(101) && !is_implemented(100_000));
    }

    /// The published table is generated from this module; regenerate it
    /// with `VESSEL_BLESS=1 cargo xtask test` (or this test alone).
    #[test]
    fn published_coverage_table_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/linux-syscalls.md");
        let generated = coverage_markdown(support);
        if std::env::var_os("VESSEL_BLESS").is_some() {
            std::fs::write(path, &generated).unwrap();
        }
        let published = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            published == generated,
            "docs/linux-syscalls.md is out of date: run `VESSEL_BLESS=1 cargo xtask test`"
        );
    }
}
