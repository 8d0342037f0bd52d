//! Bounded property tests of the ELF loader beyond "no panic" (which the
//! unit tests in `loader.rs` cover): heap use stays bounded whatever the
//! headers claim, and every image the loader accepts was placed inside RAM,
//! above the boot area, without overlaps, with its entry in an executable
//! segment.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Cursor;

use proptest::prelude::*;
use vessel_vmm::abi::layout::{IMAGE_MIN_PHYS, KERNEL_VIRT_BASE};
use vessel_vmm::loader;
use vessel_vmm::test_util::{ElfSpec, RawPhdr};
use vm_memory::{GuestAddress, GuestMemoryMmap};

/// Counts live heap bytes per thread (tests run on several threads).
struct Counting;

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

fn adjust(delta: isize) {
    let _ = LIVE.try_with(|live| {
        let now = live.get().saturating_add_signed(delta);
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

// SAFETY: forwards every call to the system allocator unchanged; the
// bookkeeping touches only const-initialised thread-locals (no allocation).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        adjust(layout.size() as isize);
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        adjust(-(layout.size() as isize));
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Heap bytes allocated at the peak of `f`, above what was live before.
fn peak_heap<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(base));
    let out = f();
    (out, PEAK.with(Cell::get) - base)
}

const RAM: u64 = 16 << 20;
/// Largest heap a load may use: the program-header table (256 entries of
/// 56 bytes), a 64 KiB dynamic section, and small change.
const HEAP_BOUND: usize = 256 * 56 + (64 << 10) + (16 << 10);

fn phdr() -> impl Strategy<Value = RawPhdr> {
    let addr = prop_oneof![
        3 => (0u64..0x40_0000).prop_map(|a| a & !0xf),
        1 => any::<u64>(),
    ];
    let size = prop_oneof![3 => 0u64..0x4000, 1 => 0u64..(64 << 20), 1 => any::<u64>()];
    (
        prop_oneof![4 => Just(1u32), 1 => Just(2u32), 1 => any::<u32>()],
        0u32..8,
        prop_oneof![3 => 0u64..0x3000, 1 => any::<u64>()],
        addr,
        size.clone(),
        size,
        any::<bool>(),
    )
        .prop_map(|(p_type, flags, off, phys, filesz, memsz, exec_window)| {
            let vaddr = if exec_window {
                KERNEL_VIRT_BASE.wrapping_add(phys)
            } else {
                phys
            };
            RawPhdr {
                p_type,
                p_flags: flags,
                p_offset: off,
                p_vaddr: vaddr,
                p_paddr: phys,
                p_filesz: filesz,
                p_memsz: memsz,
                p_align: 0x1000,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn accepted_images_are_placed_inside_ram_with_bounded_heap(
        phdrs in proptest::collection::vec(phdr(), 0..6),
        pie in any::<bool>(),
        entry_seg in 0usize..6,
        entry_off in 0u64..0x100,
        phnum_lie in prop_oneof![5 => Just(None), 1 => any::<u16>().prop_map(Some)],
        body in proptest::collection::vec(any::<u8>(), 0..0x3000),
    ) {
        let mut spec = ElfSpec::exec(0);
        if pie {
            spec.e_type = 3;
        }
        spec.entry = phdrs
            .get(entry_seg)
            .map_or(0, |p| p.p_vaddr.wrapping_add(entry_off));
        spec.phdrs = phdrs;
        spec.blobs.push((0x400, body));
        let mut bytes = spec.to_bytes();
        if let Some(n) = phnum_lie {
            bytes[56..58].copy_from_slice(&n.to_le_bytes());
        }
        let mem = GuestMemoryMmap::from_ranges(&[(GuestAddress(0), RAM as usize)]).unwrap();

        let (plan, heap) = peak_heap(|| loader::plan(&mut Cursor::new(&bytes), RAM));
        prop_assert!(heap <= HEAP_BOUND, "plan used {heap} heap bytes");
        let (loaded, heap) = peak_heap(|| loader::load(&mut Cursor::new(&bytes), &mem, RAM));
        prop_assert!(heap <= HEAP_BOUND, "load used {heap} heap bytes");

        prop_assert_eq!(plan.is_ok(), loaded.is_ok() || plan.as_ref().is_ok_and(|p| p.pie));
        if let Ok(plan) = plan {
            let mut end_prev = 0;
            for s in &plan.segments {
                prop_assert!(s.phys >= IMAGE_MIN_PHYS);
                prop_assert!(s.phys >= end_prev, "overlap");
                prop_assert!(s.filesz <= s.memsz);
                let end = s.phys.checked_add(s.memsz).unwrap();
                prop_assert!(end <= RAM);
                prop_assert!(s.file_offset.checked_add(s.filesz).unwrap() <= bytes.len() as u64);
                prop_assert_eq!(s.virt, KERNEL_VIRT_BASE + s.phys);
                end_prev = end;
            }
            prop_assert!(plan.segments.iter().any(|s| s.executable
                && plan.entry >= s.virt
                && plan.entry - s.virt < s.memsz));
        }
    }
}
