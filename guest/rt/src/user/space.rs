//! User address spaces: page tables whose lower half maps a program's
//! memory, eagerly or on demand, with safe copies in and out of it.

use super::USER_END;
use super::tables::Tables;
use crate::mem::PAGE_SIZE;
use crate::sync::Mutex;
use crate::user_entry::{Access, AccessKind, SHARED, rights};
use core::fmt;
use core::ops::Range;
use x86_64::structures::paging::PageTableFlags as Flags;

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

/// Why [`UserSpace::map`] (or another change of the mappings) failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapError {
    /// The range is empty, not in the lower half, or overflows.
    BadRange,
    /// A page of the range is already mapped (pages before it were mapped).
    AlreadyMapped,
    /// Out of frames (pages before the failure were mapped).
    OutOfMemory,
}

/// How [`UserSpace::resolve_fault`] answered a page fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultResolution {
    /// The page now allows the access: the instruction can be retried.
    Resolved,
    /// Nothing is mapped there (Linux's `SEGV_MAPERR`).
    Unmapped,
    /// The page is mapped, but its rights refuse the access (Linux's
    /// `SEGV_ACCERR`).
    Denied,
}

/// A user address space: a PML4 whose lower half maps user pages (frames it
/// owns, alone or with the spaces [`UserSpace::fork`] made, or reserved
/// pages that get a frame when first touched) and whose upper half is the
/// kernel's. Dropping it frees the lower-half page tables and the user
/// frames no other space maps.
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
/// is loaded (vessel-rt makes all of them before the first space).
pub struct UserSpace {
    /// Physical address of the PML4 (fixed for the life of the space).
    pml4: u64,
    /// The lower-half tables: every change and every copy goes through them.
    tables: Mutex<Tables>,
}

impl UserSpace {
    /// An empty address space; `None` when out of memory.
    pub fn new() -> Option<Self> {
        let tables = Tables::new()?;
        Some(Self {
            pml4: tables.pml4(),
            tables: Mutex::new(tables),
        })
    }

    /// Physical address of the PML4, for loading the space into CR3.
    pub(super) fn pml4(&self) -> u64 {
        self.pml4
    }

    /// Maps `[addr, addr + len)`, widened to whole pages, to fresh zeroed
    /// frames private to this space, user-accessible, writable and/or
    /// executable as asked. Maps nothing if a page of the range is already
    /// mapped (or reserved).
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
    /// pages shared; [`UserSpace::discard`] leaves them alone.
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

    /// Reserves `[addr, addr + len)`, widened to whole pages, for private
    /// memory with rights `access`, without giving it frames: each page
    /// reads as zeros and gets a zeroed frame of its own when first touched
    /// (by the user, through [`UserSpace::resolve_fault`], or by a kernel
    /// copy into it). Until then it costs no frame, but is mapped for every
    /// other purpose ([`UserSpace::query`], [`UserSpace::protect`],
    /// [`UserSpace::fork`]...). Reserves nothing if a page of the range is
    /// already mapped; `OutOfMemory` when page tables cannot be made (pages
    /// before the failure stay reserved).
    pub fn reserve(&self, addr: u64, len: u64, access: Access) -> Result<(), MapError> {
        self.tables.lock().reserve(addr, len, access)
    }

    /// Copies `data` to user memory at `addr`: every byte must be mapped
    /// user-writable, or nothing is written and the first bad address is
    /// returned. Reserved pages get their frames (if frames run out, the
    /// pages before the one that could not get one were written).
    pub fn write_bytes(&self, addr: u64, data: &[u8]) -> Result<(), Fault> {
        self.tables.lock().copy_in(addr, data, AccessKind::Write)
    }

    /// Copies `data` to user memory at `addr` whatever the pages' write
    /// permission (they must be mapped): how a loader fills read-only and
    /// execute-only segments. The user program's view of the permissions
    /// is unchanged.
    pub fn load_bytes(&self, addr: u64, data: &[u8]) -> Result<(), Fault> {
        self.tables.lock().copy_in(addr, data, AccessKind::Read)
    }

    /// Copies user memory at `addr` into `buf`: every byte must be mapped
    /// user-readable, or the first bad address is returned. Reserved pages
    /// read as zeros (and stay without a frame).
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
    /// for the kernel but faults any user access; a reserved page stays
    /// reserved. Fails, changing nothing, if a page of the range is not
    /// mapped.
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
    /// [`UserSpace::resolve_fault`]), every reserved page is reserved in
    /// the copy too (each space gets its own frame when it touches it), and
    /// every page mapped with [`UserSpace::map_shared`] stays shared
    /// (writes by either space show in the other), with the same access
    /// rights. Only the page tables are copied. `None` when memory runs
    /// out (nothing is leaked: the partial copy is dropped).
    pub fn fork(&self) -> Option<UserSpace> {
        let child = UserSpace::new()?;
        self.tables.lock().share_into(&mut child.tables.lock())?;
        Some(child)
    }

    /// Handles a user page fault at `addr` from an `access` the CPU
    /// refused: a reserved page whose rights allow it gets a zeroed frame
    /// (and, on a sequential pattern, a few reserved pages after it do too:
    /// see `user_entry::FAULT_AROUND`); a copy-on-write page its owner may
    /// write gets a copy of its own (or takes the frame over when no other
    /// space still shares it). `OutOfMemory` when no frame is left.
    pub fn resolve_fault(
        &self,
        addr: u64,
        access: AccessKind,
    ) -> Result<FaultResolution, MapError> {
        if addr >= USER_END {
            return Ok(FaultResolution::Unmapped);
        }
        self.tables
            .lock()
            .resolve_fault(addr & !(PAGE_SIZE - 1), access)
    }

    /// How the page holding `addr` is mapped, or `None` if it is not (a
    /// page mapped with no access is `Some`, its rights all false; a
    /// reserved page is mapped).
    pub fn query(&self, addr: u64) -> Option<Mapping> {
        self.tables.lock().query(addr)
    }

    /// Moves the pages of `[from, from + len)` (widened to whole pages) to
    /// the same offsets from `to` (page aligned), frames, contents, rights
    /// and sharing included (reserved pages stay reserved); unmapped pages
    /// stay unmapped. Fails, moving nothing, if the ranges overlap or leave
    /// the lower half (`BadRange`), if a destination page is mapped
    /// (`AlreadyMapped`) or if page tables cannot be allocated
    /// (`OutOfMemory`).
    pub fn move_pages(&self, from: u64, to: u64, len: u64) -> Result<(), MapError> {
        self.tables.lock().move_pages(from, to, len)
    }

    /// Gives back the frames of the private pages of `[addr, addr + len)`
    /// (widened to whole pages), whatever their access rights: they become
    /// reserved with the same rights, and read as zeros until touched again
    /// (a page still shared copy-on-write just lets go of the shared
    /// frame). Pages mapped with [`UserSpace::map_shared`] keep their
    /// contents: other spaces may see them, and their memory outlives any
    /// one view of it (as a Linux kernel's shared anonymous memory does).
    /// Unmapped pages are skipped.
    pub fn discard(&self, addr: u64, len: u64) -> Result<(), MapError> {
        self.tables.lock().discard(addr, len)
    }

    /// User pages with a frame now (resident).
    pub fn mapped_pages(&self) -> u64 {
        self.tables.lock().resident()
    }

    /// User pages reserved now, without a frame yet.
    pub fn reserved_pages(&self) -> u64 {
        self.tables.lock().reserved()
    }

    /// The most user pages this space has had frames for at once.
    pub fn peak_pages(&self) -> u64 {
        self.tables.lock().peak()
    }

    /// The mapped (or reserved) user pages of `range` as runs of
    /// consecutive pages mapped the same way (rights and sharing), in
    /// address order: `(start, end, how)`. The page tables are the only
    /// record of what is mapped, so this is what a Linux kernel's list of
    /// mappings (`/proc/PID/maps`) can be made from. Tables that do not
    /// exist are skipped whole, so a sparse range is quick to scan.
    pub fn regions(&self, range: Range<u64>) -> alloc::vec::Vec<(u64, u64, Mapping)> {
        let mut runs: alloc::vec::Vec<(u64, u64, Mapping)> = alloc::vec::Vec::new();
        let start = range.start & !(PAGE_SIZE - 1);
        let end = range.end.min(USER_END);
        if start >= end {
            return runs;
        }
        self.tables.lock().scan(start..end, &mut |page, flags| {
            let how = Mapping::of(flags);
            match runs.last_mut() {
                Some((_, end, run)) if *end == page && *run == how => *end += PAGE_SIZE,
                _ => runs.push((page, page + PAGE_SIZE, how)),
            }
        });
        runs
    }
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
    /// How a used (present or reserved) leaf entry with `flags` maps its
    /// page.
    pub(super) fn of(flags: Flags) -> Self {
        Mapping {
            access: rights(flags),
            shared: flags.contains(SHARED),
        }
    }
}
