//! User address spaces: page tables whose lower half maps a program's
//! memory, with safe copies in and out of it.

use super::USER_END;
use super::owners::{self, COW, COW_WRITABLE, SHARED};
use crate::mem::{PAGE_SIZE, frames, phys_to_virt};
use crate::sync::Mutex;
use core::fmt;
use core::iter::StepBy;
use core::ops::Range;
use core::sync::atomic::{AtomicU32, Ordering};
use x86_64::PhysAddr;
use x86_64::structures::paging::page_table::PageTableEntry;
use x86_64::structures::paging::{PageTable, PageTableFlags as Flags};

/// A user address or range that is not mapped (or not writable, for a
/// write, or outside the lower half).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fault {
    /// The first address that could not be accessed.
    pub address: u64,
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad user address {:#x}", self.address)
    }
}

/// Why [`UserSpace::map`] failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapError {
    /// The range is empty, not in the lower half, or overflows.
    BadRange,
    /// A page of the range is already mapped (pages before it were mapped).
    AlreadyMapped,
    /// Out of frames (pages before the failure were mapped).
    OutOfMemory,
}

/// A user address space: a PML4 whose lower half maps user pages (frames it
/// owns, alone or with the spaces [`UserSpace::fork`] made) and whose upper
/// half is the kernel's. Dropping it frees the lower-half page tables and
/// the user frames no other space maps.
///
/// Every method takes `&self`: the threads of a process share one space
/// (behind an `Arc`), and a thread running user code holds no lock on it,
/// so the others can map, unmap and copy meanwhile. The tables are guarded
/// by a mutex of their own; they change only while the space is not loaded
/// on the CPU (the kernel runs on its own tables, and on the one CPU user
/// code never runs while kernel code does), and loading a space flushes
/// its stale TLB entries. (SMP will need TLB shootdowns here.)
///
/// The kernel half is copied when the space is made: kernel mappings that
/// need a PML4 entry of their own after that are not seen while the space
/// is loaded (vessel-rt makes all of them at boot).
pub struct UserSpace {
    /// Physical address of the PML4 (fixed for the life of the space).
    pml4: u64,
    /// The lower-half tables: every change and every copy goes through them.
    tables: Mutex<Tables>,
}

/// The page tables of a [`UserSpace`], reached only through its mutex.
struct Tables {
    pml4: u64,
    /// User pages mapped now.
    pages: u64,
    /// The most user pages mapped at once.
    peak: u64,
}

/// The table a present, non-huge entry points at.
fn table(phys: u64) -> *mut PageTable {
    phys_to_virt(phys) as *mut PageTable
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

impl UserSpace {
    /// An empty address space; `None` when out of memory.
    pub fn new() -> Option<Self> {
        let pml4 = frames::allocate_zeroed()?;
        // SAFETY: the frame was just allocated and zeroed (a valid, empty
        // table), nothing else refers to it, and the direct map covers it.
        let top = unsafe { &mut *table(pml4) };
        crate::arch::paging::copy_kernel_half(top);
        Some(Self {
            pml4,
            tables: Mutex::new(Tables {
                pml4,
                pages: 0,
                peak: 0,
            }),
        })
    }

    /// Physical address of the PML4, for loading the space into CR3.
    pub(super) fn pml4(&self) -> u64 {
        self.pml4
    }

    /// Maps `[addr, addr + len)`, widened to whole pages, to fresh zeroed
    /// frames private to this space, user-accessible, writable and/or
    /// executable as asked. Maps nothing if a page of the range is already
    /// mapped.
    pub fn map(
        &self,
        addr: u64,
        len: u64,
        writable: bool,
        executable: bool,
    ) -> Result<(), MapError> {
        self.tables
            .lock()
            .map(addr, len, writable, executable, Flags::empty())
    }

    /// Like [`UserSpace::map`], but the frames are shared by design:
    /// [`UserSpace::fork`] maps them in the child as they are (not
    /// copy-on-write), so that writes by either space are seen by the
    /// other, and a frame is freed when the last space that maps it unmaps
    /// it. [`UserSpace::protect`] and [`UserSpace::move_pages`] keep the
    /// pages shared; [`UserSpace::zero`] leaves them alone.
    pub fn map_shared(
        &self,
        addr: u64,
        len: u64,
        writable: bool,
        executable: bool,
    ) -> Result<(), MapError> {
        self.tables
            .lock()
            .map(addr, len, writable, executable, SHARED)
    }

    /// Copies `data` to user memory at `addr`: every byte must be mapped
    /// user-writable, or nothing is written and the first bad address is
    /// returned.
    pub fn write_bytes(&self, addr: u64, data: &[u8]) -> Result<(), Fault> {
        self.tables.lock().copy_in(addr, data, true)
    }

    /// Copies `data` to user memory at `addr` whatever the pages' write
    /// permission (they must be mapped): how a loader fills read-only and
    /// execute-only segments. The user program's view of the permissions
    /// is unchanged.
    pub fn load_bytes(&self, addr: u64, data: &[u8]) -> Result<(), Fault> {
        self.tables.lock().copy_in(addr, data, false)
    }

    /// Copies user memory at `addr` into `buf`: every byte must be mapped
    /// user-readable, or the first bad address is returned.
    pub fn read_bytes(&self, addr: u64, buf: &mut [u8]) -> Result<(), Fault> {
        self.tables.lock().read_bytes(addr, buf)
    }

    /// Atomically replaces the 32-bit word at `addr` (4-byte aligned,
    /// mapped user-writable) with `new` if it holds `current`, as user code
    /// changing it at the same time would (a futex word): `Ok(Ok(current))`
    /// if it was replaced, `Ok(Err(actual))` if it held `actual`, a fault
    /// if the word is not writable or not aligned.
    pub fn compare_exchange_u32(
        &self,
        addr: u64,
        current: u32,
        new: u32,
    ) -> Result<Result<u32, u32>, Fault> {
        self.tables.lock().compare_exchange_u32(addr, current, new)
    }

    /// Changes the access rights of the mapped pages of `[addr, addr +
    /// len)` (widened to whole pages). An inaccessible page stays mapped
    /// for the kernel but faults any user access. Fails, changing nothing,
    /// if a page of the range is not mapped.
    pub fn protect(&self, addr: u64, len: u64, access: Access) -> Result<(), MapError> {
        self.tables.lock().protect(addr, len, access)
    }

    /// Unmaps the pages of `[addr, addr + len)` (widened to whole pages)
    /// and frees their frames, once no other space maps them; pages that
    /// are not mapped are skipped, as Linux's `munmap` does.
    pub fn unmap(&self, addr: u64, len: u64) -> Result<(), MapError> {
        self.tables.lock().unmap(addr, len)
    }

    /// A copy of this address space, as `fork` makes it: every private
    /// user page is shared copy-on-write (mapped read-only in both spaces;
    /// the first write to it, by either, copies it: see
    /// [`UserSpace::resolve_write_fault`]), and every page mapped with
    /// [`UserSpace::map_shared`] stays shared (writes by either space show
    /// in the other), with the same access rights. Only the page tables
    /// are copied. `None` when memory runs out
    /// (nothing is leaked: the partial copy is dropped).
    pub fn fork(&self) -> Option<UserSpace> {
        let child = UserSpace::new()?;
        self.tables.lock().share_into(&mut child.tables.lock())?;
        Some(child)
    }

    /// Handles a write fault at `addr` (a page fault with the present and
    /// write bits in its error code): if the page is a copy-on-write page
    /// its owner may write, gives this space its own copy (or, when no
    /// other space still shares the frame, takes the frame over) and
    /// returns `Ok(true)`: the write can be retried. `Ok(false)` if it is
    /// not such a page (a real protection fault); `OutOfMemory` when no
    /// frame is left for the copy.
    pub fn resolve_write_fault(&self, addr: u64) -> Result<bool, MapError> {
        if addr >= USER_END {
            return Ok(false);
        }
        let mut tables = self.tables.lock();
        let Ok(entry) = tables.leaf_entry(addr & !(PAGE_SIZE - 1), false) else {
            return Ok(false);
        };
        let flags = entry.flags();
        if !flags.contains(Flags::PRESENT | Flags::USER_ACCESSIBLE | COW | COW_WRITABLE) {
            return Ok(false);
        }
        make_private(entry).ok_or(MapError::OutOfMemory)?;
        Ok(true)
    }

    /// How the page holding `addr` is mapped, or `None` if it is not (a
    /// page mapped with no access is `Some`, its rights all false).
    pub fn query(&self, addr: u64) -> Option<Mapping> {
        self.tables.lock().query(addr)
    }

    /// Moves the pages of `[from, from + len)` (widened to whole pages) to
    /// the same offsets from `to` (page aligned), frames, contents, rights
    /// and sharing included; unmapped pages stay unmapped. Fails, moving
    /// nothing, if the ranges overlap or leave the lower half
    /// (`BadRange`), if a destination page is mapped (`AlreadyMapped`) or
    /// if page tables cannot be allocated (`OutOfMemory`).
    pub fn move_pages(&self, from: u64, to: u64, len: u64) -> Result<(), MapError> {
        self.tables.lock().move_pages(from, to, len)
    }

    /// Fills the private mapped pages of `[addr, addr + len)` (widened to
    /// whole pages) with zeros, whatever their access rights (a page still
    /// shared copy-on-write gets a zeroed frame of its own). Pages mapped
    /// with [`UserSpace::map_shared`] keep their contents: other spaces
    /// may see them, and their memory outlives any one view of it (as a
    /// Linux kernel's shared anonymous memory does). Unmapped pages are
    /// skipped.
    pub fn zero(&self, addr: u64, len: u64) -> Result<(), MapError> {
        self.tables.lock().zero(addr, len)
    }

    /// User pages mapped now.
    pub fn mapped_pages(&self) -> u64 {
        self.tables.lock().pages
    }

    /// The most user pages this space has had mapped at once.
    pub fn peak_pages(&self) -> u64 {
        self.tables.lock().peak
    }

    /// The mapped user pages as runs of consecutive pages mapped the same
    /// way (rights and sharing), in address order: `(start, end, how)`.
    /// The page tables are the only record of what is mapped, so this is
    /// what a Linux kernel's list of mappings (`/proc/PID/maps`) can be
    /// made from.
    pub fn regions(&self) -> alloc::vec::Vec<(u64, u64, Mapping)> {
        let mut runs = alloc::vec::Vec::new();
        let tables = self.tables.lock();
        tables.visit(
            tables.pml4,
            4,
            0,
            0..256,
            &mut |page, how| match runs.last_mut() {
                Some((_, end, run)) if *end == page && *run == how => {
                    *end += PAGE_SIZE;
                }
                _ => runs.push((page, page + PAGE_SIZE, how)),
            },
        );
        runs
    }
}

impl Tables {
    fn map(
        &mut self,
        addr: u64,
        len: u64,
        writable: bool,
        executable: bool,
        sharing: Flags,
    ) -> Result<(), MapError> {
        let pages = page_range(addr, len)?;
        let mut flags = Flags::PRESENT | Flags::USER_ACCESSIBLE | sharing;
        if writable {
            flags |= Flags::WRITABLE;
        }
        if !executable {
            flags |= Flags::NO_EXECUTE;
        }
        // Check the whole range first, so that a failure maps nothing.
        for page in pages.clone() {
            if self
                .leaf_entry(page, false)
                .is_ok_and(|entry| !entry.is_unused())
            {
                return Err(MapError::AlreadyMapped);
            }
        }
        for page in pages {
            let entry = self.leaf_entry(page, true)?;
            let frame = frames::allocate_zeroed().ok_or(MapError::OutOfMemory)?;
            // The space is not loaded while its tables change, and loading
            // it flushes the TLB (see `UserSpace`).
            entry.set_addr(PhysAddr::new(frame), flags);
            self.count(1);
        }
        Ok(())
    }

    /// Counts `added` newly mapped pages.
    fn count(&mut self, added: u64) {
        self.pages += added;
        self.peak = self.peak.max(self.pages);
    }

    /// The level-1 entry for `addr`, creating the tables on the way if
    /// `create`.
    fn leaf_entry(
        &mut self,
        addr: u64,
        create: bool,
    ) -> Result<&mut x86_64::structures::paging::page_table::PageTableEntry, MapError> {
        let idx = indices(addr);
        let mut current = self.pml4;
        for &index in &idx[..3] {
            // SAFETY: `current` is a page table of this space (the PML4 or a
            // lower-half table it created), reachable through the direct
            // map; `&mut self` (the space's mutex) gives exclusive access to
            // its tables.
            let entry = unsafe { &mut (&mut *table(current))[index] };
            if entry.is_unused() {
                if !create {
                    return Err(MapError::BadRange);
                }
                let frame = frames::allocate_zeroed().ok_or(MapError::OutOfMemory)?;
                entry.set_addr(PhysAddr::new(frame), USER_TABLE_FLAGS);
            }
            current = entry.addr().as_u64();
        }
        // SAFETY: as above, for the level-1 table.
        Ok(unsafe { &mut (&mut *table(current))[idx[3]] })
    }

    /// The physical address backing user address `addr`, if it is mapped
    /// user-accessible (and writable, if `write`).
    fn translate(&self, addr: u64, write: bool) -> Option<u64> {
        if addr >= USER_END {
            return None;
        }
        let idx = indices(addr);
        let mut current = self.pml4;
        for (level, &index) in idx.iter().enumerate() {
            // SAFETY: `current` is a page table of this space (only this
            // module writes its lower half, through `&mut self` under the
            // space's mutex, so no write races with this read); the entry
            // is copied out.
            let entry = unsafe { (&*table(current))[index].clone() };
            let flags = entry.flags();
            if !flags.contains(Flags::PRESENT | Flags::USER_ACCESSIBLE) {
                return None;
            }
            if level == 3 {
                if write && !logically_writable(flags) {
                    return None;
                }
                return Some(entry.addr().as_u64() + (addr & (PAGE_SIZE - 1)));
            }
            current = entry.addr().as_u64();
        }
        None
    }

    fn copy_in(&mut self, addr: u64, data: &[u8], require_writable: bool) -> Result<(), Fault> {
        self.check(addr, data.len(), require_writable)?;
        let mut done = 0;
        while done < data.len() {
            let at = addr + done as u64;
            // A frame shared copy-on-write is copied first: the write must
            // not show in the other spaces.
            let entry = self
                .leaf_entry(at & !(PAGE_SIZE - 1), false)
                .map_err(|_| Fault { address: at })?;
            make_private(entry).ok_or(Fault { address: at })?;
            let phys = self
                .translate(at, require_writable)
                .ok_or(Fault { address: at })?;
            let chunk = (PAGE_SIZE - (at & (PAGE_SIZE - 1))).min((data.len() - done) as u64);
            let chunk = chunk as usize;
            // SAFETY: `phys..phys + chunk` lies in one user frame this space
            // owns (translate checked it is mapped), reachable read-write
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

    fn compare_exchange_u32(
        &mut self,
        addr: u64,
        current: u32,
        new: u32,
    ) -> Result<Result<u32, u32>, Fault> {
        let fault = Fault { address: addr };
        if !addr.is_multiple_of(4) {
            return Err(fault);
        }
        self.check(addr, 4, true)?;
        // A frame shared copy-on-write is copied first, as for any write.
        let entry = self
            .leaf_entry(addr & !(PAGE_SIZE - 1), false)
            .map_err(|_| fault)?;
        make_private(entry).ok_or(fault)?;
        let phys = self.translate(addr, true).ok_or(fault)?;
        // SAFETY: `phys` is a 4-byte aligned word inside one user frame this
        // space maps writable (translate checked it), reachable read-write
        // through the direct map and never handed out as a Rust reference;
        // user code may access it at the same time, which is why it is
        // accessed atomically.
        let word = unsafe { AtomicU32::from_ptr(phys_to_virt(phys) as *mut u32) };
        Ok(word.compare_exchange(current, new, Ordering::SeqCst, Ordering::SeqCst))
    }

    fn read_bytes(&self, addr: u64, buf: &mut [u8]) -> Result<(), Fault> {
        self.check(addr, buf.len(), false)?;
        let mut done = 0;
        while done < buf.len() {
            let at = addr + done as u64;
            let phys = self.translate(at, false).ok_or(Fault { address: at })?;
            let chunk = (PAGE_SIZE - (at & (PAGE_SIZE - 1))).min((buf.len() - done) as u64);
            let chunk = chunk as usize;
            // SAFETY: as in `copy_in`, reading. (User code of this space
            // may run concurrently on another task; the bytes are plain data,
            // any value is valid.)
            unsafe {
                core::ptr::copy_nonoverlapping(
                    phys_to_virt(phys) as *const u8,
                    buf[done..].as_mut_ptr(),
                    chunk,
                )
            };
            done += chunk;
        }
        Ok(())
    }

    /// Checks that every page of `[addr, addr + len)` is accessible.
    fn check(&self, addr: u64, len: usize, write: bool) -> Result<(), Fault> {
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
            if self.translate(page, write).is_none() {
                return Err(Fault {
                    address: page.max(addr),
                });
            }
            page += PAGE_SIZE;
        }
        Ok(())
    }
}

impl Tables {
    fn protect(&mut self, addr: u64, len: u64, access: Access) -> Result<(), MapError> {
        let pages = page_range(addr, len)?;
        for page in pages.clone() {
            let entry = self.leaf_entry(page, false)?;
            if entry.is_unused() {
                return Err(MapError::BadRange);
            }
        }
        for page in pages {
            let entry = self.leaf_entry(page, false)?;
            let frame = entry.addr();
            let shared = entry.flags().contains(COW);
            // A page shared by design stays so, whatever its rights.
            let mut flags = Flags::PRESENT | (entry.flags() & SHARED);
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
        }
        Ok(())
    }
}

impl Tables {
    fn unmap(&mut self, addr: u64, len: u64) -> Result<(), MapError> {
        for page in page_range(addr, len)? {
            let Ok(entry) = self.leaf_entry(page, false) else {
                continue;
            };
            if entry.is_unused() {
                continue;
            }
            let frame = entry.addr().as_u64();
            let flags = entry.flags();
            // The space is not loaded while its tables change, and loading
            // it flushes the TLB; this space refers to the frame no more.
            entry.set_unused();
            release_frame(frame, flags);
            self.pages -= 1;
        }
        Ok(())
    }

    fn query(&mut self, addr: u64) -> Option<Mapping> {
        if addr >= USER_END {
            return None;
        }
        let entry = self.leaf_entry(addr & !(PAGE_SIZE - 1), false).ok()?;
        if entry.is_unused() {
            return None;
        }
        Some(Mapping::of(entry.flags()))
    }

    fn move_pages(&mut self, from: u64, to: u64, len: u64) -> Result<(), MapError> {
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
        for offset in (0..span).step_by(PAGE_SIZE as usize) {
            if self
                .leaf_entry(to + offset, false)
                .is_ok_and(|entry| !entry.is_unused())
            {
                return Err(MapError::AlreadyMapped);
            }
        }
        for offset in (0..span).step_by(PAGE_SIZE as usize) {
            self.leaf_entry(to + offset, true)?;
        }
        for offset in (0..span).step_by(PAGE_SIZE as usize) {
            let Ok(source) = self.leaf_entry(first + offset, false) else {
                continue;
            };
            if source.is_unused() {
                continue;
            }
            let (frame, flags) = (source.addr(), source.flags());
            // The frame changes owner entry: it stays referenced once. The
            // space is not loaded while its tables change, and loading it
            // flushes the TLB.
            source.set_unused();
            self.leaf_entry(to + offset, true)?.set_addr(frame, flags);
        }
        Ok(())
    }

    fn zero(&mut self, addr: u64, len: u64) -> Result<(), MapError> {
        for page in page_range(addr, len)? {
            let Ok(entry) = self.leaf_entry(page, false) else {
                continue;
            };
            if entry.is_unused() || entry.flags().contains(SHARED) {
                continue;
            }
            make_private(entry).ok_or(MapError::OutOfMemory)?;
            let frame = entry.addr().as_u64();
            // SAFETY: `frame` is a whole user frame this space owns (a
            // present leaf entry of its tables, which `&mut self` holds),
            // reachable read-write through the direct map; no Rust
            // reference to it exists (user frames are only reached through
            // raw copies like this one).
            unsafe {
                core::ptr::write_bytes(phys_to_virt(frame) as *mut u8, 0, PAGE_SIZE as usize)
            };
        }
        Ok(())
    }
}

/// Access rights for [`UserSpace::protect`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Access {
    /// The user may read.
    pub readable: bool,
    /// The user may write.
    pub writable: bool,
    /// The user may execute.
    pub executable: bool,
}

/// How a user page is mapped, as [`UserSpace::query`] and
/// [`UserSpace::regions`] report it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mapping {
    /// Its access rights.
    pub access: Access,
    /// Whether it was mapped with [`UserSpace::map_shared`] (or inherited
    /// from such a page by [`UserSpace::fork`]): its frame is shared by
    /// design, not copy-on-write.
    pub shared: bool,
}

impl Mapping {
    /// How a present leaf entry with `flags` maps its page.
    fn of(flags: Flags) -> Self {
        let user = flags.contains(Flags::USER_ACCESSIBLE);
        Mapping {
            access: Access {
                readable: user,
                writable: user && logically_writable(flags),
                executable: user && !flags.contains(Flags::NO_EXECUTE),
            },
            shared: flags.contains(SHARED),
        }
    }
}

impl Tables {
    /// Calls `page(address, rights)` for every mapped page below the table
    /// at `phys` (at `level`, 4 = PML4, covering from `base`), in address
    /// order.
    fn visit(
        &self,
        phys: u64,
        level: u8,
        base: u64,
        entries: core::ops::Range<usize>,
        page: &mut dyn FnMut(u64, Mapping),
    ) {
        let span = PAGE_SIZE << (9 * (u32::from(level) - 1));
        for index in entries {
            // SAFETY: `phys` is a table of this space, reachable through the
            // direct map; only this module writes its lower half, through
            // `&mut self` under the space's mutex (held by the caller as
            // `&self`), so no write races with this read. The entry is
            // copied out.
            let entry = unsafe { (&*table(phys))[index].clone() };
            if entry.is_unused() {
                continue;
            }
            let address = base + index as u64 * span;
            if level > 1 {
                self.visit(entry.addr().as_u64(), level - 1, address, 0..512, page);
                continue;
            }
            page(address, Mapping::of(entry.flags()));
        }
    }

    /// Maps every user page of these tables at the same address in `child`
    /// (empty tables), sharing the frame: a [`SHARED`] entry is copied as
    /// it is; any other is shared copy-on-write: both entries lose the
    /// hardware write bit and gain [`COW`] (and [`COW_WRITABLE`] where the
    /// page was writable). `None` when memory runs out for `child`'s
    /// tables; what was shared stays shared, and is released with `child`.
    fn share_into(&mut self, child: &mut Tables) -> Option<()> {
        /// Shares the pages below the table at `phys` (at `level`, 4 =
        /// PML4), whose first covered address is `base`, with `child`.
        fn share_tree(
            child: &mut Tables,
            phys: u64,
            level: u8,
            base: u64,
            entries: core::ops::Range<usize>,
        ) -> Option<()> {
            let span = PAGE_SIZE << (9 * (u32::from(level) - 1));
            for index in entries {
                // SAFETY: `phys` is a table of this space, reachable through
                // the direct map; `&mut self` (the space's mutex, held by
                // the caller) gives exclusive access to its lower half.
                let entry = unsafe { &mut (&mut *table(phys))[index] };
                if entry.is_unused() {
                    continue;
                }
                let address = base + index as u64 * span;
                if level > 1 {
                    share_tree(child, entry.addr().as_u64(), level - 1, address, 0..512)?;
                    continue;
                }
                let slot = child.leaf_entry(address, true).ok()?;
                let mut flags = entry.flags();
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
                child.count(1);
            }
            Some(())
        }
        let pml4 = self.pml4;
        share_tree(child, pml4, 4, 0, 0..256)
    }
}

/// The pages of `[addr, addr + len)`, widened to whole pages; `BadRange`
/// if the range is empty, wraps or leaves the lower half.
fn page_range(addr: u64, len: u64) -> Result<StepBy<Range<u64>>, MapError> {
    let end = addr.checked_add(len).ok_or(MapError::BadRange)?;
    if len == 0 || end > USER_END {
        return Err(MapError::BadRange);
    }
    Ok(((addr & !(PAGE_SIZE - 1))..end).step_by(PAGE_SIZE as usize))
}

/// Whether a leaf entry's page may be written by its owner: writable for
/// the CPU, or copy-on-write with the write right kept aside.
fn logically_writable(flags: Flags) -> bool {
    flags.contains(Flags::WRITABLE) || flags.contains(COW | COW_WRITABLE)
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

/// Gives up a user frame a leaf entry with `flags` mapped: freed, or for
/// an entry whose frame may have other owners, one owner less.
fn release_frame(frame: u64, flags: Flags) {
    if owners::counted(flags) {
        owners::release(frame);
    } else {
        frames::free(frame, 1);
    }
}

impl Drop for Tables {
    fn drop(&mut self) {
        /// Frees the tables below `phys` (at `level`, 4 = PML4) and their frames.
        fn free_tree(phys: u64, level: u8, entries: core::ops::Range<usize>) {
            for index in entries {
                // SAFETY: `phys` is a table of this space, being torn down
                // with exclusive access (`&mut self` in drop); the entry is
                // copied out.
                let entry = unsafe { (&*table(phys))[index].clone() };
                if entry.is_unused() {
                    continue;
                }
                let child = entry.addr().as_u64();
                if level > 1 {
                    free_tree(child, level - 1, 0..512);
                    frames::free(child, 1);
                } else {
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
