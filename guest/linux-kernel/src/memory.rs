//! Memory system calls: `mmap`, `munmap`, `mprotect`, `mremap` and
//! `madvise`, with Linux's argument checks and error numbers.
//!
//! There are no VMAs: the page tables (vessel-rt's [`UserSpace`]) are the
//! truth about what is mapped. Where Linux asks about one VMA, a range of
//! mapped pages with the same access rights stands for it (Linux merges
//! adjacent anonymous mappings with the same rights into one VMA anyway).
//! Every mapping is anonymous, private, and mapped eagerly (no demand
//! paging yet).
//!
//! [`UserSpace`]: vessel_std::os::user::UserSpace

use crate::file::{Device, File};
use crate::process::{Memory, Process};
use vessel_linux::elf::page_up;
use vessel_linux::{Errno, PAGE_SIZE, SysResult};
use vessel_std::os::user::{Access, MapError};

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

/// Maps `[start, start + len)` to fresh zeroed pages with `rights`; on
/// failure nothing of the range stays mapped.
fn map_fresh(m: &Memory, start: u64, len: u64, rights: Access) -> Result<(), MapError> {
    let result = m
        .space
        .map(start, len, rights.writable, rights.executable)
        .and_then(|()| {
            if rights.readable || rights.writable || rights.executable {
                Ok(())
            } else {
                // PROT_NONE (guard regions): mapped, but no user access.
                m.space.protect(start, len, rights)
            }
        });
    if result == Err(MapError::OutOfMemory) {
        // The pages mapped before memory ran out.
        let _ = m.space.unmap(start, len);
    }
    result
}

/// Whether no page of `[start, start + len)` is mapped.
fn is_free(m: &Memory, start: u64, len: u64) -> bool {
    (start..start + len)
        .step_by(PAGE_SIZE as usize)
        .all(|page| m.space.query(page).is_none())
}

/// The rights of `[start, start + len)` if every page of it is mapped with
/// the same ones (what Linux would see as one VMA), else `None`.
fn uniform(m: &Memory, start: u64, len: u64) -> Option<Access> {
    let rights = m.space.query(start)?;
    (start..start + len)
        .step_by(PAGE_SIZE as usize)
        .all(|page| m.space.query(page) == Some(rights))
        .then_some(rights)
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
        // From the top down: the highest mapped page bounds the next try.
        let mut page = top;
        while page > start {
            page -= PAGE_SIZE;
            if m.space.query(page).is_some() {
                top = page;
                continue 'search;
            }
        }
        return Ok(start);
    }
}

/// `mmap(addr, len, prot, flags, fd, offset)`: private anonymous memory
/// (or private `/dev/zero`, the same thing), placed by the kernel, at a
/// hint when that range is free, or exactly at `addr` with `MAP_FIXED`
/// (replacing what was there) or `MAP_FIXED_NOREPLACE` (`EEXIST` if
/// anything was).
pub fn mmap(
    p: &mut Process,
    addr: u64,
    len: u64,
    prot: u64,
    flags: u64,
    fd: u64,
    offset: u64,
) -> SysResult {
    const MAP_SHARED: u64 = 0x01;
    const MAP_PRIVATE: u64 = 0x02;
    const MAP_SHARED_VALIDATE: u64 = 0x03;
    const MAP_TYPE: u64 = 0x0f;
    const MAP_FIXED: u64 = 0x10;
    const MAP_ANONYMOUS: u64 = 0x20;
    const MAP_FIXED_NOREPLACE: u64 = 0x10_0000;
    if !offset.is_multiple_of(PAGE_SIZE) {
        return Err(Errno::EINVAL);
    }
    if flags & MAP_ANONYMOUS == 0 {
        // Only `/dev/zero` can be mapped: privately, it is anonymous
        // memory. Other files have no mapping yet.
        let file = p.fds().get(fd)?;
        if !matches!(*file, File::Device(Device::Zero)) {
            return Err(Errno::ENODEV);
        }
    }
    if len == 0 {
        return Err(Errno::EINVAL);
    }
    let len = page_up(len);
    if len > TASK_SIZE {
        return Err(Errno::ENOMEM);
    }
    match flags & MAP_TYPE {
        MAP_PRIVATE => {}
        // Shared memory (kept shared across fork) is not supported yet.
        MAP_SHARED | MAP_SHARED_VALIDATE => return Err(Errno::EINVAL),
        _ => return Err(Errno::EINVAL),
    }
    let rights = access(prot);
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
        return match map_fresh(m, addr, len, rights) {
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
        match map_fresh(m, hint, len, rights) {
            Ok(()) => return Ok(hint as usize),
            Err(MapError::OutOfMemory) => return Err(Errno::ENOMEM),
            Err(_) => {} // in use: placed like any other mapping
        }
    }
    let start = find_free(m, len)?;
    map_fresh(m, start, len, rights).map_err(|_| Errno::ENOMEM)?;
    m.mmap_next = m.mmap_next.min(start);
    Ok(start as usize)
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
/// stays mapped, emptied).
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
    if m.space.query(old).is_none() {
        return Err(Errno::EFAULT);
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
        // "Duplicating" a private mapping: refused, as Linux does.
        return Err(Errno::EINVAL);
    }
    if old > TASK_SIZE || old_len > TASK_SIZE - old {
        return Err(Errno::EFAULT);
    }
    let rights = uniform(m, old, old_len).ok_or(Errno::EFAULT)?;
    let old_end = old + old_len;
    if !moving_to {
        // Grow in place when the pages after are free.
        let grown = new_len - old_len;
        if old + new_len <= TASK_SIZE && is_free(m, old_end, grown) {
            return match map_fresh(m, old_end, grown, rights) {
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
        map_fresh(m, target + old_len, new_len - old_len, rights).map_err(|_| Errno::ENOMEM)?;
    }
    if m.space.move_pages(old, target, old_len).is_err() {
        if new_len > old_len {
            let _ = m.space.unmap(target + old_len, new_len - old_len);
        }
        return Err(Errno::ENOMEM);
    }
    if flags & MREMAP_DONTUNMAP != 0 {
        // The old range stays mapped, and reads as fresh zero pages.
        map_fresh(m, old, old_len, rights).map_err(|_| Errno::ENOMEM)?;
    }
    Ok(target as usize)
}

/// `madvise(addr, len, advice)`: `MADV_DONTNEED` zero-fills the pages (as
/// Linux's private anonymous pages read back after it); advice that only
/// tunes paging is accepted and changes nothing.
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
    let (mut mapped, mut all_mapped) = (false, end <= TASK_SIZE);
    for page in (addr..last).step_by(PAGE_SIZE as usize) {
        if memory.space.query(page).is_some() {
            mapped = true;
        } else {
            all_mapped = false;
        }
    }
    match advice {
        // Anonymous memory has no file to punch holes in.
        MADV_REMOVE if mapped => return Err(Errno::EINVAL),
        // Not supported: a fork would copy the pages (EINVAL so that a
        // caller can fall back).
        MADV_WIPEONFORK if mapped => return Err(Errno::EINVAL),
        MADV_DONTNEED | MADV_DONTNEED_LOCKED if mapped => {
            memory
                .space
                .zero(addr, last - addr)
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
