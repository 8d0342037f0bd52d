//! Kernel stacks for tasks: each lives in its own slot of a dedicated
//! virtual region, with an unmapped guard page below it, so an overflow
//! faults (and is reported as one) instead of corrupting memory. The
//! `main` task's stack is the exception: a static one in the image (with
//! its own guard page), so booting maps no stack.

use super::{PAGE_SIZE, frames};
use crate::arch::paging;
use crate::arch::stacks::MAIN_STACK;
use crate::sync::SpinLock;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};

/// Start of the stack region (its own PML4 slot, away from everything else).
pub(crate) const REGION_BASE: u64 = 0xffff_c000_0000_0000;
/// Virtual size of one slot: the largest stack plus its guard page.
const SLOT_SIZE: u64 = 4 << 20;
/// Number of slots (the region spans 512 GiB).
const SLOT_COUNT: u64 = (1 << 39) / SLOT_SIZE;
/// Largest stack a task may ask for.
pub const MAX_STACK_SIZE: usize = (SLOT_SIZE - PAGE_SIZE) as usize;

struct Slots {
    next_unused: u64,
    free: Vec<u64>,
}

static SLOTS: SpinLock<Slots> = SpinLock::new(Slots {
    next_unused: 0,
    free: Vec::new(),
});

/// Why a stack could not be made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StackError {
    /// Zero or more than [`MAX_STACK_SIZE`].
    BadSize,
    /// Out of frames or of stack slots.
    OutOfMemory,
}

/// Stacks at least this large get one 2 MiB page, when a 2 MiB-aligned run
/// of frames is free: one page-table write instead of 128 or more, which
/// under an emulating hypervisor is most of the cost of starting a task.
/// The stack is then 2 MiB, with the rest of its slot (2 MiB) as guard.
const HUGE_STACK_THRESHOLD: u64 = 512 * 1024;

/// A mapped kernel stack with a guard page below it; unmapped on drop
/// (unless static).
pub struct KernelStack {
    /// Lowest mapped address; `[bottom, top)` is mapped.
    bottom: u64,
    /// One past the highest byte (16-byte aligned).
    top: u64,
    backing: Backing,
}

/// Where a stack's memory comes from.
enum Backing {
    /// A slot of the stack region, mapped in 4 KiB pages.
    Pages { slot: u64 },
    /// A slot of the stack region, mapped as one 2 MiB page.
    HugePage { slot: u64 },
    /// The static `main` stack, never unmapped.
    Static,
}

/// Whether the static `main` stack has been handed out.
static MAIN_STACK_TAKEN: AtomicBool = AtomicBool::new(false);

impl KernelStack {
    /// Maps a stack of `size` bytes (rounded up to whole pages).
    pub fn new(size: usize) -> Result<Self, StackError> {
        if size == 0 || size > MAX_STACK_SIZE {
            return Err(StackError::BadSize);
        }
        let slot = {
            let mut slots = SLOTS.lock();
            match slots.free.pop() {
                Some(slot) => slot,
                None if slots.next_unused < SLOT_COUNT => {
                    slots.next_unused += 1;
                    slots.next_unused - 1
                }
                None => return Err(StackError::OutOfMemory),
            }
        };
        let top = slot_top(slot);
        if size as u64 >= HUGE_STACK_THRESHOLD
            && let Some(stack) = Self::new_huge(slot)
        {
            return Ok(stack);
        }
        let pages = (size as u64).div_ceil(PAGE_SIZE);
        let bottom = top - pages * PAGE_SIZE;
        // One contiguous run when memory allows (one bitmap search), else
        // frame by frame.
        let run = frames::allocate(pages as usize, 1);
        let mut taken = 0;
        let mapped = paging::map_kernel_range(bottom, pages, paging::Protection::ReadWrite, || {
            let frame = match run {
                Some(first) => first + taken * PAGE_SIZE,
                None => frames::allocate(1, 1)?,
            };
            taken += 1;
            Some(frame)
        });
        let stack = KernelStack {
            bottom,
            top,
            backing: Backing::Pages { slot },
        };
        if mapped < pages {
            // Out of frames (or of memory for page tables): dropping the
            // stack unmaps and frees what was mapped; frames of the run that
            // were never mapped go back too. (Frame by frame, every frame
            // taken was mapped: a fresh slot has no mappings to collide with.)
            drop(stack);
            if let Some(first) = run {
                frames::free(first + mapped * PAGE_SIZE, (pages - mapped) as usize);
            }
            return Err(StackError::OutOfMemory);
        }
        Ok(stack)
    }

    /// A 2 MiB stack at the top of `slot`, mapped as one page, if a
    /// 2 MiB-aligned run of frames is free.
    fn new_huge(slot: u64) -> Option<Self> {
        let frames_per_page = (paging::HUGE_PAGE / PAGE_SIZE) as usize;
        let phys = frames::allocate(frames_per_page, frames_per_page)?;
        let bottom = slot_top(slot) - paging::HUGE_PAGE;
        match paging::map_kernel_huge_page(bottom, phys, paging::Protection::ReadWrite) {
            Ok(()) => Some(KernelStack {
                bottom,
                top: slot_top(slot),
                backing: Backing::HugePage { slot },
            }),
            Err(_) => {
                frames::free(phys, frames_per_page);
                None
            }
        }
    }

    /// The static stack of the `main` task, the first time it is asked
    /// for (`None` after).
    pub fn main() -> Option<Self> {
        if MAIN_STACK_TAKEN.swap(true, Ordering::AcqRel) {
            return None;
        }
        Some(KernelStack {
            bottom: MAIN_STACK.bottom(),
            top: MAIN_STACK.top(),
            backing: Backing::Static,
        })
    }

    /// One past the highest byte of the stack (16-byte aligned).
    pub fn top(&self) -> u64 {
        self.top
    }

    /// The stack's memory, as words, for writing a task's initial frame.
    pub fn words_mut(&mut self) -> &mut [u64] {
        let len = ((self.top - self.bottom) / 8) as usize;
        // SAFETY: `[bottom, top)` is mapped read-write, to frames this stack
        // owns exclusively (a slot's, or the static `main` stack, handed out
        // once), and `&mut self` guarantees no other reference from Rust
        // code. (Once the task runs, the CPU uses it through RSP only.)
        unsafe { core::slice::from_raw_parts_mut(self.bottom as *mut u64, len) }
    }
}

impl Drop for KernelStack {
    fn drop(&mut self) {
        let slot = match self.backing {
            Backing::Static => return,
            Backing::HugePage { slot } => {
                if let Some(frame) = paging::unmap_kernel_huge_page(self.bottom) {
                    frames::free(frame, (paging::HUGE_PAGE / PAGE_SIZE) as usize);
                }
                slot
            }
            Backing::Pages { slot } => {
                for virt in (self.bottom..self.top).step_by(PAGE_SIZE as usize) {
                    if let Some(frame) = paging::unmap_kernel_page(virt) {
                        frames::free(frame, 1);
                    }
                }
                slot
            }
        };
        SLOTS.lock().free.push(slot);
    }
}

fn slot_top(slot: u64) -> u64 {
    REGION_BASE + (slot + 1) * SLOT_SIZE
}

/// Whether `address` is in the stack region. The region holds nothing but
/// stacks, each with unmapped space below it down to the guard page at the
/// bottom of its slot, so a fault there is a stack overflow.
pub fn is_guard(address: u64) -> bool {
    (REGION_BASE..REGION_BASE + SLOT_COUNT * SLOT_SIZE).contains(&address)
}
