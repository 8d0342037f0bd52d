//! The kernel heap: the `talc` allocator, fed with physically contiguous
//! runs of frames (through the direct map) whenever it runs out.
//!
//! The heap starts empty and grows on demand, so a small program touches
//! only the memory it uses. When no frames are left, allocation fails and
//! Rust reports "memory allocation of N bytes failed" through the panic path.

use super::{PAGE_SIZE, frames, phys_to_virt};
use crate::sync::spin::RawIrqSpin;
use core::alloc::Layout;
use core::ptr::NonNull;
use talc::base::Talc;
use talc::base::binning::Binning;
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

#[global_allocator]
static ALLOCATOR: talc::TalcLock<RawIrqSpin, FrameSource> = talc::TalcLock::new(FrameSource::new());
