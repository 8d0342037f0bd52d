//! Frames shared copy-on-write between address spaces after `fork`.
//!
//! A user frame normally has one owner: the one leaf entry that maps it.
//! `fork` makes parent and child map the same frames read-only, marked
//! [`COW`]; this table counts, per shared frame, the owners beyond the
//! first. A frame with no entry here has a single owner (the last one left
//! after the others copied or dropped it), which may write it in place.

use crate::mem::frames;
use crate::sync::SpinLock;
use alloc::collections::BTreeMap;
use x86_64::structures::paging::PageTableFlags as Flags;

/// Leaf-entry flag (ignored by the CPU): the frame may be shared, copy it
/// before writing.
pub(super) const COW: Flags = Flags::BIT_9;
/// Leaf-entry flag (ignored by the CPU): on a [`COW`] entry, whether the
/// page is writable for its owner (the hardware bit stays clear while the
/// frame may be shared).
pub(super) const COW_WRITABLE: Flags = Flags::BIT_10;

/// Extra owners of each shared frame, by physical address.
static EXTRA_OWNERS: SpinLock<BTreeMap<u64, u32>> = SpinLock::new(BTreeMap::new());

/// Records one more owner of `frame`.
pub(super) fn share(frame: u64) {
    *EXTRA_OWNERS.lock().entry(frame).or_insert(0) += 1;
}

/// Whether `frame` has owners besides the caller.
pub(super) fn is_shared(frame: u64) -> bool {
    EXTRA_OWNERS.lock().contains_key(&frame)
}

/// Drops one owner of `frame`, freeing it when that was the last.
pub(super) fn release(frame: u64) {
    let last = {
        let mut owners = EXTRA_OWNERS.lock();
        match owners.get_mut(&frame) {
            Some(1) => {
                owners.remove(&frame);
                false
            }
            Some(extra) => {
                *extra -= 1;
                false
            }
            None => true,
        }
    };
    if last {
        frames::free(frame, 1);
    }
}
