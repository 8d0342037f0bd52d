//! What a leaf entry of a user address space says: the software flags
//! vessel-rt keeps in it, the access rights it grants, and how a page fault
//! on a reserved entry is answered. Pure logic over entry flags, so that it
//! is unit-tested on the host (the address spaces themselves, in `user`,
//! exist only on the bare-metal target).
//!
//! A leaf entry is one of three kinds:
//!
//! * unused (all zero): nothing is mapped there;
//! * reserved ([`RESERVED`], not present): the page belongs to the program,
//!   with the rights the entry carries (`USER_ACCESSIBLE` for any access,
//!   `WRITABLE`, `NO_EXECUTE`: the bits the CPU would read if it were
//!   present, which it ignores while it is not), but it has no frame yet;
//!   the first access gives it a zeroed one (demand paging);
//! * present: the page has a frame.

use x86_64::structures::paging::PageTableFlags as Flags;

/// Leaf-entry flag (ignored by the CPU): the frame may be shared, copy it
/// before writing.
pub(crate) const COW: Flags = Flags::BIT_9;
/// Leaf-entry flag (ignored by the CPU): on a [`COW`] entry, whether the
/// page is writable for its owner (the hardware bit stays clear while the
/// frame may be shared).
pub(crate) const COW_WRITABLE: Flags = Flags::BIT_10;
/// Leaf-entry flag (ignored by the CPU): the frame is shared by design;
/// every owner maps it with its own rights and writes it in place.
pub(crate) const SHARED: Flags = Flags::BIT_11;
/// Leaf-entry flag of a not-present entry (the CPU ignores every other bit
/// of such an entry): the page is reserved, its frame made on first touch.
/// Bits 9–11 are taken above; 52 is the first of the bits a present entry
/// leaves to software too, so the flag could stay on a present entry
/// without meaning anything to the CPU (it never does: see
/// [`materialised`]).
pub(crate) const RESERVED: Flags = Flags::BIT_52;

/// How many pages a fault on a reserved page may make present: the faulting
/// one and, when the page before it is present (a sequential pattern: a
/// buffer filled upwards is one, scattered touches and a stack growing down
/// are not), the reserved pages after it in the same level-1 table, up to
/// this many in all.
///
/// Measured under this machine's emulating KVM (`vessel run` of a musl
/// program touching 1024 fresh pages): a page given a frame eagerly
/// (`MAP_POPULATE`) costs ~1.0 ms (frame allocation and zeroing), a page
/// given one by a fault ~3.2 ms (touched backwards, no fault-around), so
/// the fault itself is ~2.2 ms. Fault-around of n pages makes a sequential
/// fill cost ~1.0 + 2.2/n ms a page: 8 gave 1.45 ms a page (2.2x faster
/// than one page per fault), 16 gave 1.38 ms. Every page made present but
/// never touched
/// wastes ~1.0 ms and 4 KiB, so the window is modest and only opened on a
/// sequential pattern: 16 bounds the waste to 15 pages (60 KiB, ~15 ms)
/// per run, while sparse touches zero exactly the pages touched.
pub(crate) const FAULT_AROUND: usize = 16;

/// Access rights of a user page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Access {
    /// The user may read.
    pub readable: bool,
    /// The user may write.
    pub writable: bool,
    /// The user may execute.
    pub executable: bool,
}

/// A kind of access to a user page: what a page fault was, or what a
/// kernel copy does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessKind {
    /// A load.
    Read,
    /// A store.
    Write,
    /// An instruction fetch.
    Execute,
}

impl AccessKind {
    /// The access a page fault's error code describes (bit 1: a write, bit
    /// 4: an instruction fetch).
    pub fn of_page_fault(error_code: u64) -> Self {
        if error_code & 0b1_0000 != 0 {
            AccessKind::Execute
        } else if error_code & 0b10 != 0 {
            AccessKind::Write
        } else {
            AccessKind::Read
        }
    }
}

/// Whether a leaf entry with `flags` is reserved (no frame yet).
pub(crate) fn is_reserved(flags: Flags) -> bool {
    flags.contains(RESERVED) && !flags.contains(Flags::PRESENT)
}

/// The flags of a reserved entry granting `access`.
pub(crate) fn reserved(access: Access) -> Flags {
    let mut flags = RESERVED;
    if access.readable || access.writable || access.executable {
        flags |= Flags::USER_ACCESSIBLE;
    }
    if access.writable {
        flags |= Flags::WRITABLE;
    }
    if !access.executable {
        flags |= Flags::NO_EXECUTE;
    }
    flags
}

/// The flags of the present entry a reserved entry with `flags` becomes
/// once its page has a (private) frame: same rights.
pub(crate) fn materialised(flags: Flags) -> Flags {
    (flags - RESERVED) | Flags::PRESENT
}

/// Whether a leaf entry's page may be written by its owner: writable for
/// the CPU (or, reserved, once present), or copy-on-write with the write
/// right kept aside.
pub(crate) fn logically_writable(flags: Flags) -> bool {
    flags.contains(Flags::WRITABLE) || flags.contains(COW | COW_WRITABLE)
}

/// The rights a used (present or reserved) leaf entry with `flags` grants
/// its owner.
pub(crate) fn rights(flags: Flags) -> Access {
    let user = flags.contains(Flags::USER_ACCESSIBLE);
    Access {
        readable: user,
        writable: user && logically_writable(flags),
        executable: user && !flags.contains(Flags::NO_EXECUTE),
    }
}

/// Whether a used leaf entry with `flags` lets its owner make `access`.
pub(crate) fn allows(flags: Flags, access: AccessKind) -> bool {
    let rights = rights(flags);
    match access {
        AccessKind::Read => rights.readable,
        AccessKind::Write => rights.writable,
        AccessKind::Execute => rights.executable,
    }
}

/// How many reserved pages to make present for a fault on the page at
/// `index` of its level-1 table: 1, or up to [`FAULT_AROUND`] (not past the
/// table's end) when `previous_present` says the page before is present.
pub(crate) fn fault_around(index: usize, previous_present: bool) -> usize {
    if previous_present {
        FAULT_AROUND.min(512 - index)
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: Access = Access {
        readable: true,
        writable: true,
        executable: true,
    };
    const READ_ONLY: Access = Access {
        readable: true,
        writable: false,
        executable: false,
    };
    const NONE: Access = Access {
        readable: false,
        writable: false,
        executable: false,
    };

    #[test]
    fn a_reserved_entry_is_not_present_and_keeps_its_rights() {
        for access in [ALL, READ_ONLY, NONE] {
            let flags = reserved(access);
            assert!(!flags.contains(Flags::PRESENT));
            assert!(is_reserved(flags));
            assert_eq!(rights(flags), access);
        }
    }

    #[test]
    fn a_materialised_entry_is_present_with_the_same_rights() {
        for access in [ALL, READ_ONLY, NONE] {
            let flags = materialised(reserved(access));
            assert!(flags.contains(Flags::PRESENT));
            assert!(!is_reserved(flags));
            assert!(!flags.intersects(RESERVED | COW | SHARED));
            assert_eq!(rights(flags), access);
        }
    }

    #[test]
    fn rights_decide_which_faults_are_served() {
        let read_only = reserved(READ_ONLY);
        assert!(allows(read_only, AccessKind::Read));
        assert!(!allows(read_only, AccessKind::Write));
        assert!(!allows(read_only, AccessKind::Execute));
        let none = reserved(NONE);
        for access in [AccessKind::Read, AccessKind::Write, AccessKind::Execute] {
            assert!(!allows(none, access));
            assert!(allows(reserved(ALL), access));
        }
        // A copy-on-write page is writable for its owner, not for the CPU.
        let cow = Flags::PRESENT | Flags::USER_ACCESSIBLE | COW | COW_WRITABLE;
        assert!(allows(cow, AccessKind::Write));
        assert!(!allows(cow - COW_WRITABLE, AccessKind::Write));
    }

    #[test]
    fn page_fault_error_codes_name_the_access() {
        assert_eq!(AccessKind::of_page_fault(0x4), AccessKind::Read);
        assert_eq!(AccessKind::of_page_fault(0x6), AccessKind::Write);
        assert_eq!(AccessKind::of_page_fault(0x7), AccessKind::Write);
        assert_eq!(AccessKind::of_page_fault(0x14), AccessKind::Execute);
    }

    #[test]
    fn fault_around_only_follows_a_sequential_pattern_within_the_table() {
        assert_eq!(fault_around(0, false), 1);
        assert_eq!(fault_around(100, false), 1);
        assert_eq!(fault_around(100, true), FAULT_AROUND);
        assert_eq!(fault_around(510, true), 2);
        assert_eq!(fault_around(511, true), 1);
    }
}
