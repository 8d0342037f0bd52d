//! Frames mapped by more than one leaf entry (the software flags that say
//! how are in `user_entry`).
//!
//! A user frame normally has one owner: the one leaf entry that maps it.
//! Two kinds of entries share their frame with others:
//!
//! * copy-on-write ([`COW`]): `fork` makes parent and child map the same
//!   private frames read-only; the first write by either copies the frame;
//! * shared by design ([`SHARED`]): memory mapped with
//!   `UserSpace::map_shared`, which `fork` maps in the child as it is, so
//!   that writes by either space are seen by the other.
//!
//! One table counts, per frame of either kind, the owners beyond the first
//! (a frame is never of both kinds: a shared entry is never made
//! copy-on-write). A frame with no entry here has a single owner (the last
//! one left after the others copied, unmapped or dropped it): a copy-on-write
//! owner may then write it in place, and unmapping it frees it.

use crate::mem::frames;
use crate::sync::SpinLock;
use crate::user_entry::{COW, SHARED};
use alloc::collections::BTreeMap;
use x86_64::structures::paging::PageTableFlags as Flags;

/// Whether the frame of a leaf entry with `flags` may have other owners,
/// counted here (else the entry is its only owner).
pub(super) fn counted(flags: Flags) -> bool {
    flags.intersects(COW | SHARED)
}

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
