//! Memory system calls: `mmap`, `munmap`, `mprotect`, `mremap` and
//! `madvise`, with Linux's argument checks and error numbers.
//!
//! There are no VMAs: the page tables (vessel-rt's [`UserSpace`]) are the
//! truth about what is mapped. Where Linux asks about one VMA, a range of
//! mapped pages with the same access rights and sharing stands for it
//! (Linux merges adjacent anonymous mappings with the same rights into one
//! VMA anyway). Memory is private (copied on write after `fork`), or
//! shared (`MAP_SHARED` anonymous memory: vessel-rt's shared pages, which
//! `fork` keeps shared). A private mapping of a file is a private copy of
//! its bytes; nothing records which file a page came from.
//!
//! Private anonymous memory is paged on demand: `mmap` (and `brk`, the
//! stack and a program's bss) only reserve the pages, and each gets a
//! zeroed frame when first touched (vessel-rt's reserved pages; the fault
//! path in `process` serves the faults). `MAP_POPULATE` maps eagerly.
//! Shared anonymous memory and private copies of files are mapped eagerly:
//! a shared page must be one frame in every process that maps it, which a
//! page reserved separately in each would not be, and a file's copy is
//! filled when mapped.
//!
//! [`UserSpace`]: vessel_std::os::user::UserSpace

use crate::file::{Device, File, OpenFile};
use crate::process::{Memory, Process};
use alloc::vec::Vec;
use vessel_linux::elf::page_up;
use vessel_linux::open_flags::{O_ACCMODE, O_NOATIME, O_RDONLY, O_WRONLY};
use vessel_linux::vfs::FileType;
use vessel_linux::{Errno, PAGE_SIZE, SysResult};
use vessel_std::os::user::{Access, MapError, Mapping};

/// Linux's `TASK_SIZE` on x86-64 with 4-level paging: user mappings end
/// below it.
const TASK_SIZE: u64 = 0x7fff_ffff_f000;
/// Linux's default `vm.mmap_min_addr`: hints below it are raised to it.
const MMAP_MIN_ADDR: u64 = 0x1_0000;

const PROT_READ: u64 = 0x1;
const PROT_WRITE: u64 = 0x2;
const PROT_EXEC: u64 = 0x4;
/// Accepted and ignored on x86-64, as Linux does.
const PROT_SEM: u64 = 0x8;
const PROT_GROWSDOWN: u64 = 0x0100_0000;
const PROT_GROWSUP: u64 = 0x0200_0000;

/// The access rights `prot` (`PROT_*`) asks for.
fn access(prot: u64) -> Access {
    Access {
        readable: prot & PROT_READ != 0,
        writable: prot & PROT_WRITE != 0,
        executable: prot & PROT_EXEC != 0,
    }
}

/// What the pages of a new mapping hold, and who sees them.
enum Backing {
    /// Zeros, private to the process (copied on write after `fork`).
    Private,
    /// Zeros, shared by design: `fork` keeps the pages shared, so parent
    /// and child see each other's writes (`MAP_SHARED` anonymous memory).
    Shared,
    /// A private copy of these bytes of a file, zeros after them.
    Copy(Vec<u8>),
}

impl Backing {
    /// Fresh memory shared as `how` is (for a mapping that grows).
    fn like(how: Mapping) -> Self {
        if how.shared {
            Backing::Shared
        } else {
            Backing::Private
        }
    }
}

/// Maps `[start, start + len)` to fresh pages with `rights`, holding what
/// `backing` says (private zeros only reserved, unless `populate`); on
/// failure nothing of the range stays mapped.
fn map_fresh(
    m: &Memory,
    start: u64,
    len: u64,
    rights: Access,
    backing: &Backing,
    populate: bool,
) -> Result<(), MapError> {
    if matches!(backing, Backing::Private) && !populate {
        let reserved = m.space.reserve(start, len, rights);
        if reserved == Err(MapError::OutOfMemory) {
            // The pages reserved before page tables ran out.
            let _ = m.space.unmap(start, len);
        }
        return reserved;
    }
    let (writable, executable) = (rights.writable, rights.executable);
    let mapped = match backing {
        Backing::Shared => m.space.map_shared(start, len, writable, executable),
        Backing::Private | Backing::Copy(_) => m.space.map(start, len, writable, executable),
    };
    if mapped == Err(MapError::OutOfMemory) {
        // The pages mapped before memory ran out.
        let _ = m.space.unmap(start, len);
    }
    mapped?;
    let filled = match backing {
        // The bytes fit the range just mapped: this cannot fault.
        Backing::Copy(bytes) => m
            .space
            .load_bytes(start, bytes)
            .map_err(|_| MapError::BadRange),
        Backing::Private | Backing::Shared => Ok(()),
    }
    .and_then(|()| {
        if rights.readable || rights.writable || rights.executable {
            Ok(())
        } else {
            // PROT_NONE (guard regions): mapped, but no user access.
            m.space.protect(start, len, rights)
        }
    });
    if filled.is_err() {
        let _ = m.space.unmap(start, len);
    }
    filled
}

/// Whether no page of `[start, start + len)` is mapped.
fn is_free(m: &Memory, start: u64, len: u64) -> bool {
    m.space.regions(start..start + len).is_empty()
}

/// How `[start, start + len)` is mapped if every page of it is mapped the
/// same way (what Linux would see as one VMA), else `None`.
fn uniform(m: &Memory, start: u64, len: u64) -> Option<Mapping> {
    match m.space.regions(start..start + len)[..] {
        [(first, end, how)] if first == start && end == start + len => Some(how),
        _ => None,
    }
}

/// A free range of `len` bytes below the lowest mapping the kernel placed
/// so far (and above the heap), top-down as Linux places them.
fn find_free(m: &Memory, len: u64) -> Result<u64, Errno> {
    let mut top = m.mmap_next;
    'search: loop {
        let start = top
            .checked_sub(len)
            .filter(|&s| s > m.heap_mapped_end)
            .ok_or(Errno::ENOMEM)?;
        // From the top down: the highest mapped run bounds the next try.
        if let Some(&(run, _, _)) = m.space.regions(start..top).last() {
            top = run;
            continue 'search;
        }
        return Ok(start);
    }
}

const MAP_SHARED: u64 = 0x01;
const MAP_PRIVATE: u64 = 0x02;
const MAP_SHARED_VALIDATE: u64 = 0x03;
const MAP_TYPE: u64 = 0x0f;
const MAP_GROWSDOWN: u64 = 0x0100;
/// The flags every file's mapping takes (Linux's `LEGACY_MAP_MASK`):
/// `MAP_SHARED_VALIDATE` refuses any other. SHARED, PRIVATE, FIXED,
/// ANONYMOUS, 32BIT, ABOVE4G, GROWSDOWN, DENYWRITE, EXECUTABLE, LOCKED,
/// NORESERVE, POPULATE, NONBLOCK, STACK, HUGETLB, UNINITIALIZED and the
/// 2 MiB and 1 GiB huge page sizes.
const LEGACY_MAP_MASK: u64 = 0x7c07_f9f3;

/// `mmap(addr, len, prot, flags, fd, offset)`: anonymous memory, private
/// or shared (`MAP_SHARED`: kept shared with children across `fork`), the
/// same from `/dev/zero`, or a private copy of a regular file; placed by
/// the kernel, at a hint when that range is free, or exactly at `addr`
/// with `MAP_FIXED` (replacing what was there) or `MAP_FIXED_NOREPLACE`
/// (`EEXIST` if anything was).
pub fn mmap(
    p: &mut Process,
    addr: u64,
    len: u64,
    prot: u64,
    flags: u64,
    fd: u64,
    offset: u64,
) -> SysResult {
    const MAP_FIXED: u64 = 0x10;
    const MAP_ANONYMOUS: u64 = 0x20;
    const MAP_FIXED_NOREPLACE: u64 = 0x10_0000;
    const MAP_POPULATE: u64 = 0x8000;
    if !offset.is_multiple_of(PAGE_SIZE) {
        return Err(Errno::EINVAL);
    }
    let file = if flags & MAP_ANONYMOUS == 0 {
        let file = p.fds().get(fd)?;
        // An O_PATH descriptor is not one mmap takes (Linux's fget skips
        // it).
        if matches!(&**file, File::Node(node) if !node.readable && !node.writable) {
            return Err(Errno::EBADF);
        }
        Some(file)
    } else {
        None
    };
    if len == 0 {
        return Err(Errno::EINVAL);
    }
    let len = page_up(len);
    if len > TASK_SIZE {
        return Err(Errno::ENOMEM);
    }
    let backing = match file {
        None => match flags & MAP_TYPE {
            MAP_PRIVATE => Backing::Private,
            MAP_SHARED if flags & MAP_GROWSDOWN == 0 => Backing::Shared,
            // MAP_SHARED_VALIDATE included: Linux takes it for files only.
            _ => return Err(Errno::EINVAL),
        },
        Some(file) => file_backing(p, &file, flags, prot, offset, len)?,
    };
    let rights = access(prot);
    // Private anonymous memory is reserved, its pages given frames as they
    // are touched, unless MAP_POPULATE asks for them now.
    let populate = flags & MAP_POPULATE != 0;
    let mut memory = p.memory();
    let m = &mut *memory;
    if flags & (MAP_FIXED | MAP_FIXED_NOREPLACE) != 0 {
        if !addr.is_multiple_of(PAGE_SIZE) {
            return Err(Errno::EINVAL);
        }
        if addr > TASK_SIZE - len {
            return Err(Errno::ENOMEM);
        }
        if flags & MAP_FIXED_NOREPLACE == 0 {
            // MAP_FIXED: whatever was there goes.
            m.space.unmap(addr, len).map_err(|_| Errno::EINVAL)?;
        }
        return match map_fresh(m, addr, len, rights, &backing, populate) {
            Ok(()) => Ok(addr as usize),
            Err(MapError::AlreadyMapped) => Err(Errno::EEXIST),
            Err(_) => Err(Errno::ENOMEM),
        };
    }
    // A hint is rounded down to a page and raised to mmap_min_addr; it is
    // used if that range is free.
    let mut hint = addr & !(PAGE_SIZE - 1);
    if hint != 0 && hint < MMAP_MIN_ADDR {
        hint = MMAP_MIN_ADDR;
    }
    if hint != 0 && hint <= TASK_SIZE - len {
        match map_fresh(m, hint, len, rights, &backing, populate) {
            Ok(()) => return Ok(hint as usize),
            Err(MapError::OutOfMemory) => return Err(Errno::ENOMEM),
            Err(_) => {} // in use: placed like any other mapping
        }
    }
    let start = find_free(m, len)?;
    map_fresh(m, start, len, rights, &backing, populate).map_err(|_| Errno::ENOMEM)?;
    m.mmap_next = m.mmap_next.min(start);
    Ok(start as usize)
}

/// What a mapping of `file` (`mmap` without `MAP_ANONYMOUS`) holds, with
/// Linux's checks in its order: `EOVERFLOW` when the file range passes
/// the largest file offset, `EINVAL` for a bad mapping type,
/// `EOPNOTSUPP` for a flag `MAP_SHARED_VALIDATE` does not know, `EACCES`
/// when the file is not open for reading (or, for a shared mapping that
/// may write, for writing), `EPERM` for an executable mapping of a file
/// on a `noexec` mount (or in `/proc`, which Linux never lets execute),
/// `ENODEV` for a file that cannot be mapped. (`mprotect` adding
/// `PROT_EXEC` later is not refused, as Linux does: pages do not record
/// their file.)
///
/// `/dev/zero` gives anonymous memory (shared with `MAP_SHARED`). A
/// regular file mapped privately gives a copy of its bytes from `offset`
/// as they are now: the rest of the last page, and pages wholly past the
/// end of the file, read zeros (Linux raises `SIGBUS` on those), writes
/// stay in the copy, and later changes to the file do not show (POSIX
/// leaves that unspecified for private mappings). A shared mapping of a
/// regular file is `ENODEV`: its writes would have to reach the file, and
/// pages are not tied to files. Pipes, directories, the console, `/proc`
/// and the other devices have no mapping (`ENODEV`, as Linux, save
/// `/proc`'s own files which Linux fails with `EIO`).
fn file_backing(
    p: &Process,
    file: &OpenFile,
    flags: u64,
    prot: u64,
    offset: u64,
    len: u64,
) -> Result<Backing, Errno> {
    let regular = matches!(&**file, File::Node(node) if node.file_type == FileType::Regular);
    if regular && offset / PAGE_SIZE > (i64::MAX as u64 - len) / PAGE_SIZE {
        return Err(Errno::EOVERFLOW);
    }
    let shared = match flags & MAP_TYPE {
        MAP_PRIVATE => false,
        MAP_SHARED => true,
        MAP_SHARED_VALIDATE if flags & !LEGACY_MAP_MASK != 0 => return Err(Errno::EOPNOTSUPP),
        MAP_SHARED_VALIDATE => true,
        _ => return Err(Errno::EINVAL),
    };
    let open_for = file.flags() & O_ACCMODE;
    if shared && prot & PROT_WRITE != 0 && open_for == O_RDONLY {
        return Err(Errno::EACCES);
    }
    if open_for == O_WRONLY {
        return Err(Errno::EACCES);
    }
    if prot & PROT_EXEC != 0 {
        let noexec = match &**file {
            File::Node(node) => p.kernel.fs.lock().mount_flags(node.ino)?.noexec,
            File::Proc(_) => true,
            _ => false,
        };
        if noexec {
            return Err(Errno::EPERM);
        }
    }
    let backing = match &**file {
        File::Device(Device::Zero) if shared => Backing::Shared,
        File::Device(Device::Zero) => Backing::Private,
        File::Node(node) if regular && !shared => {
            let max = usize::try_from(len).map_err(|_| Errno::ENOMEM)?;
            Backing::Copy(node.read_at(offset, max, file.has(O_NOATIME))?)
        }
        _ => return Err(Errno::ENODEV),
    };
    if flags & MAP_GROWSDOWN != 0 {
        return Err(Errno::EINVAL);
    }
    Ok(backing)
}

/// Unmaps pages and frees their memory (unmapped pages are skipped).
pub fn munmap(p: &mut Process, addr: u64, len: u64) -> SysResult {
    if !addr.is_multiple_of(PAGE_SIZE) || addr > TASK_SIZE || len > TASK_SIZE - addr {
        return Err(Errno::EINVAL);
    }
    let len = page_up(len);
    if len == 0 {
        return Err(Errno::EINVAL);
    }
    p.memory()
        .space
        .unmap(addr, len)
        .map_err(|_| Errno::EINVAL)?;
    Ok(0)
}

/// Changes the access rights of mapped pages.
pub fn mprotect(p: &mut Process, addr: u64, len: u64, prot: u64) -> SysResult {
    let grows = prot & (PROT_GROWSDOWN | PROT_GROWSUP);
    if grows == PROT_GROWSDOWN | PROT_GROWSUP || !addr.is_multiple_of(PAGE_SIZE) {
        return Err(Errno::EINVAL);
    }
    if len == 0 {
        return Ok(0);
    }
    let len = page_up(len);
    if addr.checked_add(len).is_none_or(|end| end <= addr) {
        return Err(Errno::ENOMEM);
    }
    if prot & !(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM | grows) != 0 {
        return Err(Errno::EINVAL);
    }
    if grows != 0 {
        // No mapping here grows (not even the stack): Linux says EINVAL
        // for a VMA that does not.
        return Err(Errno::EINVAL);
    }
    p.memory()
        .space
        .protect(addr, len, access(prot))
        .map_err(|e| match e {
            MapError::BadRange => Errno::ENOMEM,
            _ => Errno::EINVAL,
        })?;
    Ok(0)
}

/// `mremap(old, old_len, new_len, flags, new_addr)`: shrinks in place,
/// grows in place when the pages after are free, or (with
/// `MREMAP_MAYMOVE`) moves the pages to a new range (`MREMAP_FIXED`: that
/// exact one, replacing what was there; `MREMAP_DONTUNMAP`: the old range
/// stays mapped, emptied). The pages grown are fresh zeros, shared if the
/// mapping is (Linux's shared anonymous memory keeps the size it was made
/// with: touching the grown part raises `SIGBUS` there). A shared mapping
/// is not duplicated (`old_len` 0) nor moved with `MREMAP_DONTUNMAP`
/// (Linux leaves the old range viewing the same memory): `EINVAL`, what
/// Linux answers for private mappings and before version 5.13.
pub fn mremap(
    p: &mut Process,
    old: u64,
    old_len: u64,
    new_len: u64,
    flags: u64,
    new_addr: u64,
) -> SysResult {
    const MREMAP_MAYMOVE: u64 = 1;
    const MREMAP_FIXED: u64 = 2;
    const MREMAP_DONTUNMAP: u64 = 4;
    if flags & !(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP) != 0
        || flags & MREMAP_FIXED != 0 && flags & MREMAP_MAYMOVE == 0
        || flags & MREMAP_DONTUNMAP != 0 && (flags & MREMAP_MAYMOVE == 0 || old_len != new_len)
        || !old.is_multiple_of(PAGE_SIZE)
    {
        return Err(Errno::EINVAL);
    }
    let mut old_len = page_up(old_len);
    let new_len = page_up(new_len);
    if new_len == 0 {
        return Err(Errno::EINVAL);
    }
    let mut memory = p.memory();
    let m = &mut *memory;
    let first = m.space.query(old).ok_or(Errno::EFAULT)?;
    if first.shared && flags & MREMAP_DONTUNMAP != 0 {
        return Err(Errno::EINVAL);
    }
    let moving_to = flags & (MREMAP_FIXED | MREMAP_DONTUNMAP) != 0;
    if moving_to {
        if !new_addr.is_multiple_of(PAGE_SIZE)
            || new_len > TASK_SIZE
            || new_addr > TASK_SIZE - new_len
            || old.saturating_add(old_len) > new_addr && new_addr + new_len > old
        {
            return Err(Errno::EINVAL);
        }
        if flags & MREMAP_FIXED != 0 {
            m.space
                .unmap(new_addr, new_len)
                .map_err(|_| Errno::EINVAL)?;
        }
        if old_len > new_len {
            m.space
                .unmap(old + new_len, old_len - new_len)
                .map_err(|_| Errno::EINVAL)?;
            old_len = new_len;
        }
    } else if old_len >= new_len {
        // Shrinking is always allowed; whatever lies beyond goes.
        if old_len > new_len {
            m.space
                .unmap(old + new_len, old_len - new_len)
                .map_err(|_| Errno::EINVAL)?;
        }
        return Ok(old as usize);
    }
    // The old range must be one mapping.
    if old_len == 0 {
        // "Duplicating" a mapping: refused, as Linux does for a private
        // one (for a shared one, see above).
        return Err(Errno::EINVAL);
    }
    if old > TASK_SIZE || old_len > TASK_SIZE - old {
        return Err(Errno::EFAULT);
    }
    let how = uniform(m, old, old_len).ok_or(Errno::EFAULT)?;
    let (rights, fresh) = (how.access, Backing::like(how));
    let old_end = old + old_len;
    if !moving_to {
        // Grow in place when the pages after are free.
        let grown = new_len - old_len;
        if old + new_len <= TASK_SIZE && is_free(m, old_end, grown) {
            return match map_fresh(m, old_end, grown, rights, &fresh, false) {
                Ok(()) => Ok(old as usize),
                Err(_) => Err(Errno::ENOMEM),
            };
        }
        if flags & MREMAP_MAYMOVE == 0 {
            return Err(Errno::ENOMEM);
        }
    }
    // MREMAP_FIXED's address, or MREMAP_DONTUNMAP's hint when it is free.
    let target = if flags & MREMAP_FIXED != 0
        || moving_to && new_addr != 0 && is_free(m, new_addr, new_len)
    {
        new_addr
    } else {
        let start = find_free(m, new_len)?;
        m.mmap_next = m.mmap_next.min(start);
        start
    };
    if new_len > old_len {
        map_fresh(
            m,
            target + old_len,
            new_len - old_len,
            rights,
            &fresh,
            false,
        )
        .map_err(|_| Errno::ENOMEM)?;
    }
    if m.space.move_pages(old, target, old_len).is_err() {
        if new_len > old_len {
            let _ = m.space.unmap(target + old_len, new_len - old_len);
        }
        return Err(Errno::ENOMEM);
    }
    if flags & MREMAP_DONTUNMAP != 0 {
        // The old range stays mapped, and reads as fresh zero pages.
        map_fresh(m, old, old_len, rights, &Backing::Private, false).map_err(|_| Errno::ENOMEM)?;
    }
    Ok(target as usize)
}

/// `madvise(addr, len, advice)`: `MADV_DONTNEED` gives back the frames of
/// the private pages, which read zeros after it (as Linux's private
/// anonymous pages do; a private copy of a file reads zeros too, where
/// Linux reads the file again) and get fresh frames when touched, and
/// leaves shared ones as they are (Linux reads them back from the shared
/// memory); advice that only tunes paging is accepted and changes nothing.
pub fn madvise(p: &mut Process, addr: u64, len: u64, advice: u64) -> SysResult {
    const MADV_DONTNEED: u64 = 4;
    const MADV_REMOVE: u64 = 9;
    const MADV_WIPEONFORK: u64 = 18;
    const MADV_DONTNEED_LOCKED: u64 = 24;
    // NORMAL..WILLNEED, DONTNEED, FREE..COLLAPSE (HWPOISON and
    // SOFT_OFFLINE need memory-failure support: EINVAL, as Linux without
    // it).
    if !matches!(advice, 0..=4 | 8..=25) {
        return Err(Errno::EINVAL);
    }
    if !addr.is_multiple_of(PAGE_SIZE) {
        return Err(Errno::EINVAL);
    }
    let len = len
        .checked_add(PAGE_SIZE - 1)
        .map(|l| l & !(PAGE_SIZE - 1))
        .ok_or(Errno::EINVAL)?;
    let end = addr.checked_add(len).ok_or(Errno::EINVAL)?;
    if len == 0 {
        return Ok(0);
    }
    let memory = p.memory();
    // Unmapped pages are an error (ENOMEM) reported after the mapped ones
    // were advised.
    let last = end.min(TASK_SIZE);
    let regions = memory.space.regions(addr..last);
    let covered: u64 = regions.iter().map(|(start, end, _)| end - start).sum();
    let mapped = covered > 0;
    let all_mapped = end <= TASK_SIZE && covered == last.saturating_sub(addr);
    match advice {
        // Private anonymous memory has no file to punch holes in (EINVAL,
        // as Linux); freeing shared memory's pages (Linux zeroes them for
        // every process) is not supported: EINVAL too.
        MADV_REMOVE if mapped => return Err(Errno::EINVAL),
        // Not supported: a fork would copy the pages (EINVAL so that a
        // caller can fall back).
        MADV_WIPEONFORK if mapped => return Err(Errno::EINVAL),
        MADV_DONTNEED | MADV_DONTNEED_LOCKED if mapped => {
            memory
                .space
                .discard(addr, last - addr)
                .map_err(|_| Errno::EINVAL)?;
        }
        _ => {}
    }
    if all_mapped {
        Ok(0)
    } else {
        Err(Errno::ENOMEM)
    }
}
