//! The kernel heap: the `talc` allocator, fed with physically contiguous
//! runs of frames (through the direct map) whenever it runs out, behind
//! per-size-class free lists for small requests (see `size_classes`).
//!
//! The heap starts empty and grows on demand, so a small program touches
//! only the memory it uses. When no frames are left, allocation fails and
//! Rust reports "memory allocation of N bytes failed" through the panic path.

use super::{PAGE_SIZE, frames, phys_to_virt};
use crate::size_classes::{ARENA_SIZE, SLAB_SIZE, SizeClasses, class_of};
use crate::sync::spin::SpinLock;
use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use core::ptr::{NonNull, null_mut};
use talc::base::Talc;
use talc::base::binning::{Binning, DefaultBinning};
use talc::source::Source;

/// Smallest amount the heap grows by.
const MIN_GROWTH: usize = 256 * 1024;

/// Grows the heap from the frame allocator.
#[derive(Debug)]
pub struct FrameSource {
    /// End of the most recent heap, to extend it when new frames are adjacent.
    heap_end: usize,
    /// Bytes handed to the heap so far.
    total: usize,
}

impl FrameSource {
    const fn new() -> Self {
        Self {
            heap_end: 0,
            total: 0,
        }
    }
}

// SAFETY: `acquire` only claims memory it just took from the frame
// allocator (so nothing else uses it), mapped read-write by the direct map,
// and never touches the allocator that called it.
unsafe impl Source for FrameSource {
    fn acquire<B: Binning>(talc: &mut Talc<Self, B>, layout: Layout) -> Result<(), ()> {
        // Room for the request at any alignment plus the allocator's tags.
        let needed = layout
            .size()
            .checked_add(layout.align())
            .and_then(|n| n.checked_add(PAGE_SIZE as usize))
            .ok_or(())?
            .next_multiple_of(PAGE_SIZE as usize);
        // Whole pages only: the heap must never spill into a frame it does
        // not own.
        let preferred = needed
            .max(MIN_GROWTH)
            .max(talc.source.total / 2)
            .next_multiple_of(PAGE_SIZE as usize);
        let (phys, size) = [preferred, needed]
            .into_iter()
            .find_map(|size| Some((frames::allocate(size / PAGE_SIZE as usize, 1)?, size)))
            .ok_or(())?;
        let base = phys_to_virt(phys) as usize;
        let new_end = (base + size) as *mut u8;
        talc.source.total += size;
        let last_end = NonNull::new(talc.source.heap_end as *mut u8);
        let heap_end = match last_end {
            // SAFETY: `old_end` is the heap end talc returned last time, and
            // `[old_end, new_end)` is fresh memory from the frame allocator.
            Some(old_end) if old_end.as_ptr() as usize == base => unsafe {
                talc.extend(old_end, new_end)
            },
            // SAFETY: `[base, new_end)` is fresh, exclusively owned memory.
            _ => unsafe { talc.claim(base as *mut u8, size) }.ok_or(())?,
        };
        talc.source.heap_end = heap_end.as_ptr() as usize;
        Ok(())
    }
}

/// Everything the heap owns: the small-block classes and the general
/// allocator for every larger block.
struct Heap {
    small: SizeClasses,
    /// Whether the small-block classes have had [`FIRST_ARENA`].
    first_arena_taken: bool,
    talc: Talc<FrameSource, DefaultBinning>,
}

/// The small-block classes' first arena, in the image's .bss: the first
/// allocations at boot need no frame allocation (a few hundred emulated
/// instructions on some hosts).
#[repr(C, align(4096))]
struct FirstArena(UnsafeCell<[u8; ARENA_SIZE]>);

// SAFETY: the heap hands the arena out once (`first_arena_taken`, under
// the heap lock) and from then on owns it like frames it allocated.
unsafe impl Sync for FirstArena {}

static FIRST_ARENA: FirstArena = FirstArena(UnsafeCell::new([0; ARENA_SIZE]));

// SAFETY: the heap holds addresses of memory it owns exclusively (its
// frames), not references into any task's data; it may move between CPUs
// and tasks, always behind the lock.
unsafe impl Send for Heap {}

impl Heap {
    /// A block for `layout` (of non-zero size), or `None` when memory is
    /// exhausted.
    ///
    /// # Safety
    /// `layout.size()` is non-zero.
    unsafe fn allocate(&mut self, layout: Layout) -> Option<NonNull<u8>> {
        let Some(class) = class_of(layout) else {
            // SAFETY: the size is non-zero (the caller's promise).
            return unsafe { self.allocate_large(layout) };
        };
        let block = self.small.allocate(
            class,
            // SAFETY: the head of a free list is a freed block of at
            // least 16 bytes, aligned to its size, whose first word
            // `deallocate` set to the next block's address.
            |block| unsafe { (block as *const usize).read() },
            // Memory owned from now on by the cache, read-write and page
            // aligned: the static first arena, then fresh frames through
            // the direct map: an arena, or a single slab when no run that
            // long is free.
            || {
                if !core::mem::replace(&mut self.first_arena_taken, true) {
                    return Some((FIRST_ARENA.0.get() as usize, ARENA_SIZE));
                }
                [ARENA_SIZE, SLAB_SIZE].into_iter().find_map(|size| {
                    let phys = frames::allocate(size / PAGE_SIZE as usize, 1)?;
                    Some((phys_to_virt(phys) as usize, size))
                })
            },
        )?;
        NonNull::new(block as *mut u8)
    }

    /// A block for a large `layout` from talc. Kept out of line so the
    /// small path stays short (no register spills for talc's search).
    ///
    /// # Safety
    /// `layout.size()` is non-zero.
    #[inline(never)]
    unsafe fn allocate_large(&mut self, layout: Layout) -> Option<NonNull<u8>> {
        // SAFETY: the size is non-zero (the caller's promise).
        unsafe { self.talc.allocate(layout) }
    }

    /// Frees `pointer`.
    ///
    /// # Safety
    /// `pointer` came from [`Heap::allocate`] with this `layout` and is
    /// not used after.
    unsafe fn deallocate(&mut self, pointer: *mut u8, layout: Layout) {
        match class_of(layout) {
            Some(class) => self.small.free(class, pointer as usize, |block, next| {
                // SAFETY: `block` is the caller's freed block of this
                // class: at least 16 bytes, aligned to its size, and no
                // longer used by anyone but the free list.
                unsafe { (block as *mut usize).write(next) }
            }),
            // SAFETY: a large block came from talc with this layout.
            None => unsafe { self.deallocate_large(pointer, layout) },
        }
    }

    /// Frees a large block; out of line like [`Heap::allocate_large`].
    ///
    /// # Safety
    /// `pointer` came from talc with this `layout` and is not used after.
    #[inline(never)]
    unsafe fn deallocate_large(&mut self, pointer: *mut u8, layout: Layout) {
        // SAFETY: the caller's promise.
        unsafe { self.talc.deallocate(pointer, layout) }
    }
}

/// The global allocator: the [`Heap`] behind an interrupt-safe lock.
struct GlobalHeap(SpinLock<Heap>);

// SAFETY: `alloc` hands out blocks the heap owns and no other live
// allocation overlaps (talc's guarantee for large blocks; for small ones a
// block is either carved once from a slab or reused after its free), each
// aligned to `layout` (a class block is aligned to its power-of-two size,
// which is at least the alignment) and at least `layout.size()` long.
// `realloc` keeps the contents up to the smaller size.
unsafe impl GlobalAlloc for GlobalHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: `GlobalAlloc` callers never ask for zero bytes.
        unsafe { self.0.lock().allocate(layout) }.map_or(null_mut(), NonNull::as_ptr)
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        // SAFETY: the caller passes a block `alloc` returned for `layout`.
        unsafe { self.0.lock().deallocate(pointer, layout) }
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller promises the new size, rounded up to the
        // alignment, does not overflow `isize`.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        let in_place = match (class_of(layout), class_of(new_layout)) {
            // The block already fits the new size.
            (Some(old), Some(new)) => old == new,
            // SAFETY: a large block came from talc with `layout`, and the
            // new size is non-zero (the caller's promise).
            (None, None) => unsafe {
                let mut heap = self.0.lock();
                heap.talc.try_realloc_in_place(pointer, layout, new_size)
            },
            // Between a class and talc: always moves.
            _ => false,
        };
        if in_place {
            return pointer;
        }
        // SAFETY: the new size is non-zero (the caller's promise).
        let moved = unsafe { self.alloc(new_layout) };
        if !moved.is_null() {
            // SAFETY: both blocks are live, distinct, and at least this
            // long; then the old one is freed with the layout it had.
            unsafe {
                core::ptr::copy_nonoverlapping(pointer, moved, layout.size().min(new_size));
                self.dealloc(pointer, layout);
            }
        }
        moved
    }
}

#[global_allocator]
static ALLOCATOR: GlobalHeap = GlobalHeap(SpinLock::new(Heap {
    small: SizeClasses::new(),
    first_arena_taken: false,
    talc: Talc::new(FrameSource::new()),
}));
