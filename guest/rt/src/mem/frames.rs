//! The global physical frame allocator: a [`FrameBitmap`] over all guest
//! RAM, stored in the first usable region large enough to hold it.

use super::{PAGE_SIZE, phys_to_virt};
use crate::boot_info::BootParams;
use crate::frames::FrameBitmap;
use crate::sync::SpinLock;

static FRAMES: SpinLock<Option<FrameBitmap<'static>>> = SpinLock::new(None);

/// What free RAM holds when the kernel starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FreeRam {
    /// Zeros: the loader guarantees it (the Vessel VMM hands over fresh
    /// anonymous memory), so frames need no zeroing until first freed.
    Zeroed,
    /// Whatever the firmware or a previous boot left there.
    Unknown,
}

/// Sets up the allocator from the validated memory map.
pub fn init(params: &BootParams, free_ram: FreeRam) {
    let total_frames = (params.ram_end() / PAGE_SIZE) as usize;
    let words = FrameBitmap::words_for(total_frames);
    let storage_bytes = (words as u64 * 8).next_multiple_of(PAGE_SIZE);
    let Some(home) = params.usable().find(|r| r.end - r.start >= storage_bytes) else {
        crate::panic::fatal(format_args!("no usable region can hold the frame bitmap"));
    };
    // SAFETY: `home` is usable RAM that nothing else uses: the bitmap reserves
    // these frames for itself below before any frame is handed out, and the
    // direct map covers all RAM read-write. Alignment: page aligned.
    let storage =
        unsafe { core::slice::from_raw_parts_mut(phys_to_virt(home.start) as *mut u64, words) };
    let free = params.usable().map(|r| {
        (
            frame_number(r.start),
            ((r.end - r.start) / PAGE_SIZE) as usize,
        )
    });
    let mut bitmap = match free_ram {
        FreeRam::Zeroed => FrameBitmap::with_free_ranges_on_zeroed(storage, total_frames, free),
        FreeRam::Unknown => FrameBitmap::with_free_ranges(storage, total_frames, free),
    };
    bitmap.reserve(
        frame_number(home.start),
        (storage_bytes / PAGE_SIZE) as usize,
    );
    // Physical page 0 is never handed out, so a zero address is never valid.
    bitmap.reserve(0, 1);
    if free_ram == FreeRam::Zeroed {
        bitmap.assume_free_frames_zeroed();
    }
    TOTAL_USABLE.store(
        params.usable().map(|r| r.end - r.start).sum(),
        core::sync::atomic::Ordering::Relaxed,
    );
    *FRAMES.lock() = Some(bitmap);
}

fn frame_number(phys: u64) -> usize {
    (phys / PAGE_SIZE) as usize
}

/// Allocates `count` contiguous frames aligned to `align` frames; returns the
/// physical address of the first. The contents are undefined.
pub fn allocate(count: usize, align: usize) -> Option<u64> {
    let first = FRAMES.lock().as_mut()?.allocate(count, align)?;
    Some(first as u64 * PAGE_SIZE)
}

/// Allocates one frame that reads as zero: zeroed, unless it was never
/// handed out since the platform zeroed it.
pub fn allocate_zeroed() -> Option<u64> {
    let (first, pristine) = {
        let mut guard = FRAMES.lock();
        let bitmap = guard.as_mut()?;
        let first = bitmap.allocate(1, 1)?;
        (first, bitmap.is_pristine(first))
    };
    let phys = first as u64 * PAGE_SIZE;
    if !pristine {
        // SAFETY: the frame was just allocated, so nothing else refers to
        // it, and the direct map covers it read-write.
        unsafe { core::ptr::write_bytes(phys_to_virt(phys) as *mut u8, 0, PAGE_SIZE as usize) };
    }
    Some(phys)
}

/// Free and total RAM the frame allocator manages, in bytes.
pub fn usage() -> (u64, u64) {
    FRAMES.lock().as_ref().map_or((0, 0), |bitmap| {
        let free = bitmap.free_frames() as u64 * PAGE_SIZE;
        (
            free,
            TOTAL_USABLE.load(core::sync::atomic::Ordering::Relaxed),
        )
    })
}

/// Bytes of usable RAM at boot.
static TOTAL_USABLE: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

/// Returns `count` frames starting at `phys` to the allocator.
pub fn free(phys: u64, count: usize) {
    if let Some(bitmap) = FRAMES.lock().as_mut() {
        bitmap.release(frame_number(phys), count);
    }
}
