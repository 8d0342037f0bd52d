//! The page tables of a user address space and every operation on them:
//! range walks that go one level-1 table at a time (skipping the parts of
//! a range that have no tables), eager and reserved (demand-paged)
//! mappings, faults, copies, `fork`'s sharing and the teardown.

use super::Fault;
use super::USER_END;
use super::owners;
use super::space::{FaultResolution, MapError, Mapping};
use crate::mem::{PAGE_SIZE, frames, phys_to_virt};
use crate::scan;
use crate::user_entry::{
    Access, AccessKind, COW, COW_WRITABLE, SHARED, allows, fault_around, is_reserved,
    logically_writable, materialised, reserved, rights,
};
use core::ops::Range;
use core::sync::atomic::{AtomicU32, Ordering};
use x86_64::PhysAddr;
use x86_64::structures::paging::page_table::PageTableEntry;
use x86_64::structures::paging::{PageTable, PageTableFlags as Flags};

/// The page tables of a [`UserSpace`](super::UserSpace), reached only
/// through its mutex.
pub(super) struct Tables {
    pml4: u64,
    /// User pages with a frame now.
    pages: u64,
    /// User pages reserved now (no frame yet).
    reserved: u64,
    /// The most user pages with a frame at once.
    peak: u64,
}

/// The table a present, non-huge entry points at.
fn table(phys: u64) -> *mut PageTable {
    phys_to_virt(phys) as *mut PageTable
}

/// Where `[addr, end)` meets `addr`'s level-1 table: the index of `addr`'s
/// entry, and how many entries from there up to `end` or the table's end.
fn table_window(addr: u64, end: u64) -> (usize, usize) {
    let first = indices(addr)[3];
    let count = ((end - addr).div_ceil(PAGE_SIZE) as usize).min(512 - first);
    (first, count)
}

/// The index of the first used entry of the table at `phys` at or after
/// `from` (see [`scan`]).
///
/// The table must be one of a space whose lock the caller holds, so that
/// nothing writes it during the call.
fn next_used(phys: u64, from: usize) -> Option<usize> {
    // SAFETY: `phys` is a page table reachable through the direct map; a
    // PageTableEntry is a transparent u64, so this is its 512 words, only
    // read, and the reference ends with the call (the caller holds the
    // space's lock: no one writes the table meanwhile).
    let words = unsafe { &*entries(phys).cast::<[u64; 512]>() };
    scan::first_used(words, from)
}

/// The entries of the table at `phys` (a `PageTable` is `repr(C)`: its 512
/// entries and nothing else).
fn entries(phys: u64) -> *mut [PageTableEntry; 512] {
    table(phys).cast()
}

fn indices(addr: u64) -> [usize; 4] {
    [
        ((addr >> 39) & 511) as usize,
        ((addr >> 30) & 511) as usize,
        ((addr >> 21) & 511) as usize,
        ((addr >> 12) & 511) as usize,
    ]
}

const USER_TABLE_FLAGS: Flags = Flags::PRESENT
    .union(Flags::WRITABLE)
    .union(Flags::USER_ACCESSIBLE);

/// The pages of `[addr, addr + len)`, widened to whole pages; `BadRange`
/// if the range is empty, wraps or leaves the lower half.
fn page_span(addr: u64, len: u64) -> Result<Range<u64>, MapError> {
    let end = addr.checked_add(len).ok_or(MapError::BadRange)?;
    if len == 0 || end > USER_END {
        return Err(MapError::BadRange);
    }
    // USER_END is page aligned, so the rounded end stays in the lower half.
    Ok((addr & !(PAGE_SIZE - 1))..end.next_multiple_of(PAGE_SIZE))
}

impl Tables {
    /// Empty tables (a PML4 with the kernel half); `None` when out of
    /// memory.
    pub(super) fn new() -> Option<Self> {
        let pml4 = frames::allocate_zeroed()?;
        // SAFETY: the frame was just allocated and zeroed (a valid, empty
        // table), nothing else refers to it, and the direct map covers it.
        let top = unsafe { &mut *table(pml4) };
        if crate::arch::paging::copy_kernel_half(top).is_err() {
            frames::free(pml4, 1);
            return None;
        }
        Some(Self {
            pml4,
            pages: 0,
            reserved: 0,
            peak: 0,
        })
    }

    /// Physical address of the PML4.
    pub(super) fn pml4(&self) -> u64 {
        self.pml4
    }

    /// User pages with a frame now.
    pub(super) fn resident(&self) -> u64 {
        self.pages
    }

    /// User pages reserved now.
    pub(super) fn reserved(&self) -> u64 {
        self.reserved
    }

    /// The most user pages with a frame at once.
    pub(super) fn peak(&self) -> u64 {
        self.peak
    }

    /// Counts `added` more pages with a frame.
    fn count(&mut self, added: u64) {
        self.pages += added;
        self.peak = self.peak.max(self.pages);
    }

    /// The table `depth` levels below the PML4 covering `addr` (its
    /// physical address: 2 for the level-2 table, 3 for the level-1 one),
    /// or, when a table on the way is missing, the first address past the
    /// part of the space that table would cover.
    fn find_table(&self, addr: u64, depth: usize) -> Result<u64, u64> {
        let idx = indices(addr);
        let mut current = self.pml4;
        for (level, &index) in idx[..depth].iter().enumerate() {
            // SAFETY: `current` is a page table of this space (the PML4 or a
            // lower-half table it created), reachable through the direct
            // map; only this module writes its lower half, through `&mut
            // self` under the space's mutex, so no write races with this
            // read. The entry is copied out.
            let entry = unsafe { (&*table(current))[index].clone() };
            if entry.is_unused() {
                let span = 1u64 << (39 - 9 * level);
                return Err((addr & !(span - 1)) + span);
            }
            current = entry.addr().as_u64();
        }
        Ok(current)
    }

    /// The level-1 table covering `addr`, as [`Tables::find_table`] finds
    /// it.
    fn find_level1(&self, addr: u64) -> Result<u64, u64> {
        self.find_table(addr, 3)
    }

    /// The table `depth` levels below the PML4 covering `addr`, made (with
    /// the tables above it) if missing.
    fn make_table(&mut self, addr: u64, depth: usize) -> Result<u64, MapError> {
        let idx = indices(addr);
        let mut current = self.pml4;
        for &index in &idx[..depth] {
            // SAFETY: `current` is a page table of this space (the PML4 or a
            // lower-half table it created), reachable through the direct
            // map; `&mut self` (the space's mutex) gives exclusive access to
            // its tables, and the reference ends within the iteration.
            let entry = unsafe { &mut (&mut *table(current))[index] };
            if entry.is_unused() {
                let frame = frames::allocate_zeroed().ok_or(MapError::OutOfMemory)?;
                entry.set_addr(PhysAddr::new(frame), USER_TABLE_FLAGS);
            }
            current = entry.addr().as_u64();
        }
        Ok(current)
    }

    /// The level-1 table covering `addr`, made (with the tables above it)
    /// if missing.
    fn make_level1(&mut self, addr: u64) -> Result<u64, MapError> {
        self.make_table(addr, 3)
    }

    /// The level-1 entry for `addr`, creating the tables on the way if
    /// `create` (`BadRange` if they are missing and not `create`).
    fn leaf_entry(&mut self, addr: u64, create: bool) -> Result<&mut PageTableEntry, MapError> {
        let level1 = if create {
            self.make_level1(addr)?
        } else {
            self.find_level1(addr).map_err(|_| MapError::BadRange)?
        };
        // SAFETY: `level1` is a level-1 table of this space, reachable
        // through the direct map; the returned reference borrows `self`
        // mutably, which is exclusive access to the space's tables.
        Ok(unsafe { &mut (&mut *table(level1))[indices(addr)[3]] })
    }

    /// Calls `visit(address, entries)` with the level-1 entries of the
    /// pages of `pages` (page-aligned start), one level-1 table at a time
    /// (`address` is that of the first entry), in address order. Parts of
    /// the range whose tables are missing are skipped whole, or with
    /// `create` get them (`OutOfMemory` when no frame is left for one,
    /// after the pages before were visited). An error from `visit` stops
    /// the walk and is returned.
    fn walk_tables<F>(
        &mut self,
        pages: Range<u64>,
        create: bool,
        mut visit: F,
    ) -> Result<(), MapError>
    where
        F: FnMut(u64, &mut [PageTableEntry]) -> Result<(), MapError>,
    {
        let mut addr = pages.start;
        while addr < pages.end {
            let level1 = if create {
                self.make_level1(addr)?
            } else {
                match self.find_level1(addr) {
                    Ok(level1) => level1,
                    Err(next) => {
                        addr = next;
                        continue;
                    }
                }
            };
            let (first, count) = table_window(addr, pages.end);
            // SAFETY: `level1` is a level-1 table of this space, reachable
            // through the direct map (a `PageTable` is `repr(C)`: exactly
            // its 512 entries); `&mut self` gives exclusive access to the
            // space's tables, and `visit` cannot reach them otherwise (it
            // does not get `self`), so this is the only reference to the
            // table while it lives.
            let entries = unsafe { &mut *entries(level1) };
            visit(addr, &mut entries[first..first + count])?;
            addr += count as u64 * PAGE_SIZE;
        }
        Ok(())
    }

    /// Calls `visit(address, entry)` with the level-1 entry of every page
    /// of `pages`, as [`Tables::walk_tables`] walks them.
    fn walk<F>(&mut self, pages: Range<u64>, create: bool, mut visit: F) -> Result<(), MapError>
    where
        F: FnMut(u64, &mut PageTableEntry) -> Result<(), MapError>,
    {
        self.walk_tables(pages, create, |start, entries| {
            let mut address = start;
            for entry in entries {
                visit(address, entry)?;
                address += PAGE_SIZE;
            }
            Ok(())
        })
    }

    /// Calls `visit(address, entries)` with the level-1 entries of the
    /// pages of `pages` (page-aligned start), one level-1 table at a time,
    /// in address order; parts of the range without tables are skipped
    /// whole.
    fn scan_tables<F: FnMut(u64, &[PageTableEntry])>(&self, pages: Range<u64>, mut visit: F) {
        let mut addr = pages.start;
        while addr < pages.end {
            let level1 = match self.find_level1(addr) {
                Ok(level1) => level1,
                Err(next) => {
                    addr = next;
                    continue;
                }
            };
            let (first, count) = table_window(addr, pages.end);
            // SAFETY: `level1` is a level-1 table of this space, reachable
            // through the direct map (a `PageTable` is exactly its 512
            // entries); only this module writes it, through `&mut self`
            // under the space's mutex, so nothing writes it while this
            // shared reference lives.
            let entries = unsafe { &*entries(level1) };
            visit(addr, &entries[first..first + count]);
            addr += count as u64 * PAGE_SIZE;
        }
    }

    /// Calls `visit(address, flags)` for every used (present or reserved)
    /// leaf entry of `pages` (page-aligned start), in address order; parts
    /// of the range without tables are skipped whole.
    pub(super) fn scan(&self, pages: Range<u64>, visit: &mut dyn FnMut(u64, Flags)) {
        self.scan_tables(pages, |start, entries| {
            let mut address = start;
            for entry in entries {
                if !entry.is_unused() {
                    visit(address, entry.flags());
                }
                address += PAGE_SIZE;
            }
        });
    }

    /// How many pages of `pages` are used (present or reserved).
    fn used(&self, pages: Range<u64>) -> u64 {
        let mut used = 0;
        self.scan_tables(pages, |_, entries| {
            used += entries.iter().filter(|entry| !entry.is_unused()).count() as u64;
        });
        used
    }
}

impl Tables {
    /// [`UserSpace::map`](super::UserSpace::map), with the sharing flag.
    pub(super) fn map(
        &mut self,
        addr: u64,
        len: u64,
        writable: bool,
        executable: bool,
        sharing: Flags,
    ) -> Result<(), MapError> {
        let pages = page_span(addr, len)?;
        let mut flags = Flags::PRESENT | Flags::USER_ACCESSIBLE | sharing;
        if writable {
            flags |= Flags::WRITABLE;
        }
        if !executable {
            flags |= Flags::NO_EXECUTE;
        }
        // Check the whole range first, so that a failure maps nothing.
        if self.used(pages.clone()) != 0 {
            return Err(MapError::AlreadyMapped);
        }
        let mut added = 0;
        let mapped = self.walk(pages, true, |_, entry| {
            let frame = frames::allocate_zeroed().ok_or(MapError::OutOfMemory)?;
            // The space is not loaded while its tables change, and loading
            // it flushes the TLB (see `UserSpace`).
            entry.set_addr(PhysAddr::new(frame), flags);
            added += 1;
            Ok(())
        });
        self.count(added);
        mapped
    }

    /// [`UserSpace::reserve`](super::UserSpace::reserve).
    pub(super) fn reserve(&mut self, addr: u64, len: u64, access: Access) -> Result<(), MapError> {
        let pages = page_span(addr, len)?;
        if self.used(pages.clone()) != 0 {
            return Err(MapError::AlreadyMapped);
        }
        // No frame: the CPU faults on the page, and `resolve_fault` gives
        // it one.
        let mut entry = PageTableEntry::new();
        entry.set_addr(PhysAddr::zero(), reserved(access));
        let mut addr = pages.start;
        while addr < pages.end {
            let idx = indices(addr);
            let count = ((pages.end - addr) / PAGE_SIZE).min(512 - idx[3] as u64) as usize;
            let directory = self.make_table(addr, 2)?;
            // SAFETY: `directory` is a level-2 table of this space,
            // reachable through the direct map; `&mut self` gives exclusive
            // access to the space's tables, and nothing else refers to this
            // one while the reference lives.
            let slot = unsafe { &mut (&mut *table(directory))[idx[2]] };
            if slot.is_unused() {
                // A fresh level-1 table, filled before it is linked.
                let level1 = frames::allocate_zeroed().ok_or(MapError::OutOfMemory)?;
                // SAFETY: the frame was just allocated (zeroed: a valid,
                // empty table) and nothing refers to it yet.
                let entries = unsafe { &mut *entries(level1) };
                entries[idx[3]..idx[3] + count].fill(entry.clone());
                slot.set_addr(PhysAddr::new(level1), USER_TABLE_FLAGS);
            } else {
                // SAFETY: the slot points at a level-1 table of this space
                // (exclusive through `&mut self`; `slot` is in another
                // table).
                let entries = unsafe { &mut *entries(slot.addr().as_u64()) };
                entries[idx[3]..idx[3] + count].fill(entry.clone());
            }
            self.reserved += count as u64;
            addr += count as u64 * PAGE_SIZE;
        }
        Ok(())
    }

    /// [`UserSpace::resolve_fault`](super::UserSpace::resolve_fault) for
    /// the page at `page`.
    pub(super) fn resolve_fault(
        &mut self,
        page: u64,
        access: AccessKind,
    ) -> Result<FaultResolution, MapError> {
        let Ok(entry) = self.leaf_entry(page, false) else {
            return Ok(FaultResolution::Unmapped);
        };
        let flags = entry.flags();
        if entry.is_unused() {
            return Ok(FaultResolution::Unmapped);
        }
        if !allows(flags, access) {
            return Ok(FaultResolution::Denied);
        }
        if is_reserved(flags) {
            materialise(entry).ok_or(MapError::OutOfMemory)?;
            self.reserved -= 1;
            self.count(1);
            self.fault_around(page, flags);
        } else if access == AccessKind::Write {
            // A copy-on-write page (anything else that allows the write
            // was made so by another thread since the fault: retried as
            // it is).
            make_private(entry).ok_or(MapError::OutOfMemory)?;
        }
        Ok(FaultResolution::Resolved)
    }

    /// After a fault made the reserved page at `page` present: when the
    /// page before it is present too (a sequential pattern), gives frames
    /// to the reserved pages after it that have the same rights (`flags`),
    /// as `user_entry::fault_around` says, while frames last.
    fn fault_around(&mut self, page: u64, flags: Flags) {
        let index = indices(page)[3];
        let previous_present = index > 0
            && self
                .leaf_entry(page - PAGE_SIZE, false)
                .is_ok_and(|entry| entry.flags().contains(Flags::PRESENT));
        let pages = fault_around(index, previous_present) as u64 - 1;
        if pages == 0 {
            return;
        }
        let mut made = 0;
        let next = page + PAGE_SIZE;
        let _ = self.walk(next..next + pages * PAGE_SIZE, false, |_, entry| {
            if entry.flags() != flags {
                return Err(MapError::AlreadyMapped);
            }
            materialise(entry).ok_or(MapError::OutOfMemory)?;
            made += 1;
            Ok(())
        });
        self.reserved -= made;
        self.count(made);
    }
}

/// Gives a reserved entry a zeroed frame of its own, with the rights it
/// had. `None` when no frame is left (the entry is unchanged).
fn materialise(entry: &mut PageTableEntry) -> Option<()> {
    let frame = frames::allocate_zeroed()?;
    // The space is not loaded while its tables change, and loading it
    // flushes the TLB.
    entry.set_addr(PhysAddr::new(frame), materialised(entry.flags()));
    Some(())
}

/// Makes a copy-on-write entry private to its space: copies the frame if
/// other spaces still share it (else takes it over), and gives the page
/// back its write right. Other entries are left alone. `None` when no frame
/// is left for the copy (the entry is unchanged).
fn make_private(entry: &mut PageTableEntry) -> Option<()> {
    let flags = entry.flags();
    if !flags.contains(COW) {
        return Some(());
    }
    let shared = entry.addr().as_u64();
    let frame = if owners::is_shared(shared) {
        let copy = frames::allocate(1, 1)?;
        // SAFETY: both frames are RAM reachable through the direct map; the
        // source is a user frame this entry maps (shared, so nobody writes
        // it: every owner maps it read-only), the destination was just
        // allocated, so they do not overlap.
        unsafe {
            core::ptr::copy_nonoverlapping(
                phys_to_virt(shared) as *const u8,
                phys_to_virt(copy) as *mut u8,
                PAGE_SIZE as usize,
            );
        }
        owners::release(shared);
        copy
    } else {
        shared
    };
    let mut private = flags - COW - COW_WRITABLE;
    if flags.contains(COW_WRITABLE) {
        private |= Flags::WRITABLE;
    }
    // The space is not loaded while its tables change (its mutex is held by
    // kernel code), and loading it flushes the TLB.
    entry.set_addr(PhysAddr::new(frame), private);
    Some(())
}

/// Gives up a user frame a present leaf entry with `flags` mapped: freed,
/// or for an entry whose frame may have other owners, one owner less.
fn release_frame(frame: u64, flags: Flags) {
    if owners::counted(flags) {
        owners::release(frame);
    } else {
        frames::free(frame, 1);
    }
}

/// Copies between the kernel and user memory.
impl Tables {
    /// Where the byte at user address `addr` is, if its page lets the user
    /// make `access`: `Some(Some(phys))` for a page with a frame,
    /// `Some(None)` for a reserved page (it reads as zeros).
    fn locate(&self, addr: u64, access: AccessKind) -> Option<Option<u64>> {
        if addr >= USER_END {
            return None;
        }
        let level1 = self.find_level1(addr).ok()?;
        // SAFETY: `level1` is a level-1 table of this space (only this
        // module writes it, through `&mut self` under the space's mutex, so
        // no write races with this read); the entry is copied out.
        let entry = unsafe { (&*table(level1))[indices(addr)[3]].clone() };
        let flags = entry.flags();
        if entry.is_unused() || !allows(flags, access) {
            return None;
        }
        if is_reserved(flags) {
            return Some(None);
        }
        Some(Some(entry.addr().as_u64() + (addr & (PAGE_SIZE - 1))))
    }

    /// Checks that every page of `[addr, addr + len)` lets the user make
    /// `access`.
    fn check(&self, addr: u64, len: usize, access: AccessKind) -> Result<(), Fault> {
        if len == 0 {
            return Ok(());
        }
        let last = addr
            .checked_add(len as u64 - 1)
            .filter(|&l| l < USER_END)
            .ok_or(Fault {
                address: addr.max(USER_END),
            })?;
        let mut page = addr & !(PAGE_SIZE - 1);
        while page <= last {
            if self.locate(page, access).is_none() {
                return Err(Fault {
                    address: page.max(addr),
                });
            }
            page += PAGE_SIZE;
        }
        Ok(())
    }

    /// Makes the (mapped) page at `page` writable in place by the kernel: a
    /// reserved page gets its frame, a copy-on-write one a private copy
    /// (the write must not show in the other spaces). `fault` when no
    /// frame is left.
    fn own(&mut self, page: u64, fault: Fault) -> Result<(), Fault> {
        let entry = self.leaf_entry(page, false).map_err(|_| fault)?;
        let was_reserved = is_reserved(entry.flags());
        if was_reserved {
            materialise(entry).ok_or(fault)?;
        }
        make_private(entry).ok_or(fault)?;
        if was_reserved {
            self.reserved -= 1;
            self.count(1);
        }
        Ok(())
    }

    /// Copies `data` to `addr`, whose pages must let the user make `access`.
    pub(super) fn copy_in(
        &mut self,
        addr: u64,
        data: &[u8],
        access: AccessKind,
    ) -> Result<(), Fault> {
        self.check(addr, data.len(), access)?;
        let mut done = 0;
        while done < data.len() {
            let at = addr + done as u64;
            let fault = Fault { address: at };
            self.own(at & !(PAGE_SIZE - 1), fault)?;
            let phys = self.locate(at, access).flatten().ok_or(fault)?;
            let chunk = (PAGE_SIZE - (at & (PAGE_SIZE - 1))).min((data.len() - done) as u64);
            let chunk = chunk as usize;
            // SAFETY: `phys..phys + chunk` lies in one user frame this space
            // owns (locate checked it is mapped), reachable read-write
            // through the direct map; it is not Rust-visible memory of
            // anything else, and `data` cannot overlap it (the direct map of
            // user frames is never handed out as a Rust reference).
            unsafe {
                core::ptr::copy_nonoverlapping(
                    data[done..].as_ptr(),
                    phys_to_virt(phys) as *mut u8,
                    chunk,
                )
            };
            done += chunk;
        }
        Ok(())
    }

    /// [`UserSpace::compare_exchange_u32`](super::UserSpace::compare_exchange_u32).
    pub(super) fn compare_exchange_u32(
        &mut self,
        addr: u64,
        current: u32,
        new: u32,
    ) -> Result<Result<u32, u32>, Fault> {
        let fault = Fault { address: addr };
        if !addr.is_multiple_of(4) {
            return Err(fault);
        }
        self.check(addr, 4, AccessKind::Write)?;
        self.own(addr & !(PAGE_SIZE - 1), fault)?;
        let phys = self
            .locate(addr, AccessKind::Write)
            .flatten()
            .ok_or(fault)?;
        // SAFETY: `phys` is a 4-byte aligned word inside one user frame this
        // space maps writable (locate checked it), reachable read-write
        // through the direct map and never handed out as a Rust reference;
        // user code may access it at the same time, which is why it is
        // accessed atomically.
        let word = unsafe { AtomicU32::from_ptr(phys_to_virt(phys) as *mut u32) };
        Ok(word.compare_exchange(current, new, Ordering::SeqCst, Ordering::SeqCst))
    }

    /// [`UserSpace::read_bytes`](super::UserSpace::read_bytes).
    pub(super) fn read_bytes(&self, addr: u64, buf: &mut [u8]) -> Result<(), Fault> {
        self.check(addr, buf.len(), AccessKind::Read)?;
        let mut done = 0;
        while done < buf.len() {
            let at = addr + done as u64;
            let chunk = (PAGE_SIZE - (at & (PAGE_SIZE - 1))).min((buf.len() - done) as u64);
            let chunk = chunk as usize;
            match self.locate(at, AccessKind::Read) {
                None => return Err(Fault { address: at }),
                // A reserved page: zeros, without giving it a frame.
                Some(None) => buf[done..done + chunk].fill(0),
                // SAFETY: as in `copy_in`, reading. (User code of this space
                // may run concurrently on another task; the bytes are plain
                // data, any value is valid.)
                Some(Some(phys)) => unsafe {
                    core::ptr::copy_nonoverlapping(
                        phys_to_virt(phys) as *const u8,
                        buf[done..].as_mut_ptr(),
                        chunk,
                    )
                },
            }
            done += chunk;
        }
        Ok(())
    }
}

impl Tables {
    /// [`UserSpace::protect`](super::UserSpace::protect).
    pub(super) fn protect(&mut self, addr: u64, len: u64, access: Access) -> Result<(), MapError> {
        let pages = page_span(addr, len)?;
        if self.used(pages.clone()) != (pages.end - pages.start) / PAGE_SIZE {
            return Err(MapError::BadRange);
        }
        self.walk(pages, false, |_, entry| {
            let old = entry.flags();
            if is_reserved(old) {
                // Still no frame: only the rights it will get change.
                entry.set_flags(reserved(access));
                return Ok(());
            }
            let frame = entry.addr();
            let shared = old.contains(COW);
            // A page shared by design stays so, whatever its rights.
            let mut flags = Flags::PRESENT | (old & SHARED);
            if access.readable || access.writable || access.executable {
                flags |= Flags::USER_ACCESSIBLE;
            }
            // A copy-on-write page stays read-only for the CPU; its write
            // right is kept aside until the first write copies it.
            match (access.writable, shared) {
                (true, true) => flags |= COW | COW_WRITABLE,
                (true, false) => flags |= Flags::WRITABLE,
                (false, true) => flags |= COW,
                (false, false) => {}
            }
            if !access.executable {
                flags |= Flags::NO_EXECUTE;
            }
            // The space is not loaded while its tables change, and loading
            // it flushes the TLB.
            entry.set_addr(frame, flags);
            Ok(())
        })
    }

    /// [`UserSpace::unmap`](super::UserSpace::unmap).
    pub(super) fn unmap(&mut self, addr: u64, len: u64) -> Result<(), MapError> {
        let pages = page_span(addr, len)?;
        let mut addr = pages.start;
        while addr < pages.end {
            let directory = match self.find_table(addr, 2) {
                Ok(directory) => directory,
                Err(next) => {
                    addr = next;
                    continue;
                }
            };
            let idx = indices(addr);
            let count = ((pages.end - addr) / PAGE_SIZE).min(512 - idx[3] as u64) as usize;
            addr += count as u64 * PAGE_SIZE;
            // SAFETY: `directory` is a level-2 table of this space,
            // reachable through the direct map; `&mut self` gives exclusive
            // access to the space's tables.
            let slot = unsafe { &mut (&mut *table(directory))[idx[2]] };
            if slot.is_unused() {
                continue;
            }
            let level1 = slot.addr().as_u64();
            // SAFETY: `level1` is a level-1 table of this space, exclusive
            // through `&mut self` (`slot` lies in another table).
            let entries = unsafe { &mut (&mut *entries(level1))[idx[3]..idx[3] + count] };
            for entry in entries.iter() {
                let flags = entry.flags();
                if is_reserved(flags) {
                    self.reserved -= 1;
                } else if !entry.is_unused() {
                    release_frame(entry.addr().as_u64(), flags);
                    self.pages -= 1;
                }
            }
            // The space is not loaded while its tables change, and loading
            // it flushes the TLB; this space refers to the frames no more.
            if count == 512 {
                // The whole table goes, so that later walks (and `fork`)
                // skip its part of the space instead of reading 512 unused
                // entries.
                slot.set_unused();
                frames::free(level1, 1);
            } else {
                entries.fill(PageTableEntry::new());
            }
        }
        Ok(())
    }

    /// [`UserSpace::discard`](super::UserSpace::discard).
    pub(super) fn discard(&mut self, addr: u64, len: u64) -> Result<(), MapError> {
        let pages = page_span(addr, len)?;
        let mut discarded = 0;
        let result = self.walk(pages, false, |_, entry| {
            let flags = entry.flags();
            if entry.is_unused() || is_reserved(flags) || flags.contains(SHARED) {
                return Ok(());
            }
            let frame = entry.addr().as_u64();
            // The space is not loaded while its tables change, and loading
            // it flushes the TLB; this space refers to the frame no more.
            entry.set_addr(PhysAddr::zero(), reserved(rights(flags)));
            release_frame(frame, flags);
            discarded += 1;
            Ok(())
        });
        self.pages -= discarded;
        self.reserved += discarded;
        result
    }

    /// [`UserSpace::query`](super::UserSpace::query).
    pub(super) fn query(&mut self, addr: u64) -> Option<Mapping> {
        if addr >= USER_END {
            return None;
        }
        let entry = self.leaf_entry(addr & !(PAGE_SIZE - 1), false).ok()?;
        if entry.is_unused() {
            return None;
        }
        Some(Mapping::of(entry.flags()))
    }

    /// [`UserSpace::move_pages`](super::UserSpace::move_pages).
    pub(super) fn move_pages(&mut self, from: u64, to: u64, len: u64) -> Result<(), MapError> {
        let first = from & !(PAGE_SIZE - 1);
        let end = from.checked_add(len).ok_or(MapError::BadRange)?;
        let span = end
            .checked_next_multiple_of(PAGE_SIZE)
            .ok_or(MapError::BadRange)?
            - first;
        let to_end = to.checked_add(span).ok_or(MapError::BadRange)?;
        if len == 0
            || !to.is_multiple_of(PAGE_SIZE)
            || first + span > USER_END
            || to_end > USER_END
            || (first < to_end && to < first + span)
        {
            return Err(MapError::BadRange);
        }
        // Check the destination and make its tables first, so that the
        // move itself cannot fail half way.
        if self.used(to..to_end) != 0 {
            return Err(MapError::AlreadyMapped);
        }
        self.walk_tables(to..to_end, true, |_, _| Ok(()))?;
        // The used source entries, gathered first (the walk cannot reach
        // the destination's tables while it holds the source's).
        let mut moved = alloc::vec::Vec::new();
        self.walk(first..first + span, false, |address, source| {
            if !source.is_unused() {
                moved.push((address - first, source.addr(), source.flags()));
                // The frame changes owner entry: it stays referenced once.
                // The space is not loaded while its tables change, and
                // loading it flushes the TLB.
                source.set_unused();
            }
            Ok(())
        })?;
        for (offset, frame, flags) in moved {
            self.leaf_entry(to + offset, true)?.set_addr(frame, flags);
        }
        Ok(())
    }
}

impl Tables {
    /// Maps every user page of these tables at the same address in `child`
    /// (empty tables): a [`SHARED`] entry is copied as it is, sharing the
    /// frame; a reserved entry is copied as it is (each space gets its own
    /// frame on first touch); any other is shared copy-on-write: both
    /// entries lose the hardware write bit and gain [`COW`] (and
    /// [`COW_WRITABLE`] where the page was writable). `None` when memory
    /// runs out for `child`'s tables; what was shared stays shared, and is
    /// released with `child`.
    pub(super) fn share_into(&mut self, child: &mut Tables) -> Option<()> {
        /// Shares the pages below the table at `phys` (at `level`, 4 =
        /// PML4), whose first covered address is `base`, with `child`.
        fn share_tree(
            child: &mut Tables,
            phys: u64,
            level: u8,
            base: u64,
            entries: Range<usize>,
        ) -> Option<()> {
            let span = PAGE_SIZE << (9 * (u32::from(level) - 1));
            let mut from = entries.start;
            while let Some(index) = next_used(phys, from).filter(|&i| i < entries.end) {
                from = index + 1;
                // SAFETY: `phys` is a table of this space, reachable through
                // the direct map; `&mut self` (the space's mutex, held by
                // the caller) gives exclusive access to its lower half. The
                // entry is copied out.
                let entry = unsafe { (&*table(phys))[index].clone() };
                let address = base + index as u64 * span;
                if level > 2 {
                    share_tree(child, entry.addr().as_u64(), level - 1, address, 0..512)?;
                } else {
                    share_level1(child, entry.addr().as_u64(), address)?;
                }
            }
            Some(())
        }
        /// Shares the pages of the level-1 table at `phys`, covering from
        /// `base`, with `child`.
        fn share_level1(child: &mut Tables, phys: u64, base: u64) -> Option<()> {
            let slots = child.make_level1(base).ok()?;
            let (mut present, mut kept) = (0, 0);
            let mut from = 0;
            while let Some(index) = next_used(phys, from) {
                from = index + 1;
                // SAFETY: `phys` is a level-1 table of this space and
                // `slots` one of `child`'s, both reachable through the
                // direct map and distinct (each space has tables of its
                // own); `&mut self` and `&mut child` (both spaces' mutexes,
                // held by the caller) give exclusive access to each, and no
                // other reference to either lives across this iteration.
                let (entry, slot) = unsafe {
                    (
                        &mut (&mut *table(phys))[index],
                        &mut (&mut *table(slots))[index],
                    )
                };
                let mut flags = entry.flags();
                if is_reserved(flags) {
                    slot.set_addr(PhysAddr::zero(), flags);
                    kept += 1;
                    continue;
                }
                if !flags.contains(SHARED) {
                    if logically_writable(flags) {
                        flags |= COW_WRITABLE;
                    }
                    flags = (flags - Flags::WRITABLE) | COW;
                    // The parent is not loaded while its tables change
                    // (fork runs in the kernel), and loading it flushes the
                    // TLB.
                    entry.set_flags(flags);
                }
                slot.set_addr(entry.addr(), flags);
                owners::share(entry.addr().as_u64());
                present += 1;
            }
            child.count(present);
            child.reserved += kept;
            Some(())
        }
        let pml4 = self.pml4;
        share_tree(child, pml4, 4, 0, 0..256)
    }
}

impl Drop for Tables {
    fn drop(&mut self) {
        /// Frees the tables below `phys` (at `level`, 4 = PML4) and their frames.
        fn free_tree(phys: u64, level: u8, range: Range<usize>) {
            let mut from = range.start;
            while let Some(index) = next_used(phys, from).filter(|&i| i < range.end) {
                from = index + 1;
                // SAFETY: `phys` is a table of this space, being torn down
                // with exclusive access (`&mut self` in drop); the entry is
                // copied out.
                let entry = unsafe { (&*table(phys))[index].clone() };
                let child = entry.addr().as_u64();
                if level > 1 {
                    free_tree(child, level - 1, 0..512);
                    frames::free(child, 1);
                } else if !is_reserved(entry.flags()) {
                    release_frame(child, entry.flags());
                }
            }
        }
        // Only the lower half belongs to the space; the upper half is the
        // kernel's. The space is not loaded: run_user borrows it and
        // switches back to the kernel tables before returning, and the
        // tables are dropped with the space.
        free_tree(self.pml4, 4, 0..256);
        frames::free(self.pml4, 1);
    }
}
