//! Per-size-class free lists in front of the general heap allocator.
//!
//! Most kernel allocations are small (a task, a boxed closure, a string, a
//! `Vec` of a few entries) and of a handful of sizes. A general allocator
//! (talc: bins, boundary tags, coalescing) spends about 150 instructions on
//! each, which where the host emulates kernel code costs more than a
//! microsecond per instruction. Here a small request is rounded up to a
//! power of two from 16 to 2048 bytes and served from that class's free list
//! or carved from the class's current slab: about 20 instructions. Written
//! by hand because no maintained `no_std` crate offers just this front end
//! over an allocator of our choosing; it is the classic segregated-fit
//! cache (as in a slab or SLUB allocator), kept deliberately simple.
//!
//! A freed small block goes back to its class's list, never to the general
//! allocator: memory taken for a class stays in it, bounded by the peak of
//! small allocations of that size. Slabs are carved from arenas the heap
//! takes straight from the frame allocator.
//!
//! This module holds only the bookkeeping, on addresses; the heap supplies
//! the arenas and is the one to read and write freed blocks' link words, so
//! the logic is unit-tested on the host.

use core::alloc::Layout;

/// Smallest class: 16 bytes (a link word needs 8; 16 keeps the alignment
/// `Layout` most often asks for).
const SMALLEST_SHIFT: u32 = 4;
/// Largest size served from a class (larger requests go to the general
/// allocator).
pub(crate) const LARGEST_SMALL: usize = 2048;
/// Number of classes: 16, 32, 64, 128, 256, 512, 1024, 2048 bytes.
pub(crate) const CLASS_COUNT: usize = 8;
/// What a class takes when it runs dry: a slab, aligned to its size so that
/// every block in it is aligned to its own (power-of-two) size.
pub(crate) const SLAB_SIZE: usize = 4096;
/// What the cache asks the frame allocator for when its slabs run out: an
/// arena of slabs, aligned to [`SLAB_SIZE`] (a single slab will do when
/// memory is too fragmented for a whole arena). One arena serves every
/// class, so booting costs one frame allocation, not one per class.
pub(crate) const ARENA_SIZE: usize = 16 * SLAB_SIZE;

/// The class serving `layout`, if it is small: the smallest power of two
/// at least its size and its alignment (and at least 16).
pub(crate) fn class_of(layout: Layout) -> Option<usize> {
    let size = layout.size().max(layout.align());
    if size > LARGEST_SMALL {
        return None;
    }
    let rounded_shift = usize::BITS - (size.max(1 << SMALLEST_SHIFT) - 1).leading_zeros();
    Some((rounded_shift - SMALLEST_SHIFT) as usize)
}

/// Size in bytes of the blocks of `class`.
pub(crate) const fn block_size(class: usize) -> usize {
    1 << (class as u32 + SMALLEST_SHIFT)
}

/// One class's free list and slab.
#[derive(Clone, Copy, Debug)]
struct Class {
    /// First free block, or 0. Each free block's first word holds the next.
    free: usize,
    /// Next never-used byte of the current slab.
    bump: usize,
    /// End of the current slab.
    end: usize,
}

/// The free lists and slabs of every class, and the arena slabs come from.
#[derive(Debug)]
pub(crate) struct SizeClasses {
    classes: [Class; CLASS_COUNT],
    /// Next never-used slab of the current arena.
    arena_bump: usize,
    /// End of the current arena.
    arena_end: usize,
}

impl SizeClasses {
    /// No blocks and no slabs yet.
    pub(crate) const fn new() -> Self {
        Self {
            classes: [Class {
                free: 0,
                bump: 0,
                end: 0,
            }; CLASS_COUNT],
            arena_bump: 0,
            arena_end: 0,
        }
    }

    /// A block of `class`: the head of its free list (whose link word
    /// `read_link` reads), else the next block of its slab, else the first
    /// block of a new slab, from a new arena if need be: `new_arena` gives
    /// the address and size of unused memory aligned to a slab, a whole
    /// number of slabs (at most [`ARENA_SIZE`] is asked for), or `None`
    /// when memory is exhausted.
    pub(crate) fn allocate(
        &mut self,
        class: usize,
        read_link: impl FnOnce(usize) -> usize,
        new_arena: impl FnOnce() -> Option<(usize, usize)>,
    ) -> Option<usize> {
        let entry = &mut self.classes[class];
        let size = block_size(class);
        if entry.free != 0 {
            let block = entry.free;
            entry.free = read_link(block);
            return Some(block);
        }
        if entry.bump == entry.end {
            // Blocks divide a slab exactly: nothing of the old one is left.
            if self.arena_bump == self.arena_end {
                let (start, size) = new_arena()?;
                debug_assert!(size >= SLAB_SIZE && size.is_multiple_of(SLAB_SIZE));
                self.arena_bump = start;
                self.arena_end = start + size;
            }
            entry.bump = self.arena_bump;
            entry.end = self.arena_bump + SLAB_SIZE;
            self.arena_bump += SLAB_SIZE;
        }
        let block = entry.bump;
        entry.bump += size;
        Some(block)
    }

    /// Puts `block` of `class` on the class's free list, through
    /// `write_link(block, next)` storing the old head in the block.
    pub(crate) fn free(
        &mut self,
        class: usize,
        block: usize,
        write_link: impl FnOnce(usize, usize),
    ) {
        let entry = &mut self.classes[class];
        write_link(block, entry.free);
        entry.free = block;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn layout(size: usize, align: usize) -> Layout {
        Layout::from_size_align(size, align).unwrap()
    }

    #[test]
    fn classes_round_up_to_powers_of_two() {
        assert_eq!(class_of(layout(1, 1)), Some(0));
        assert_eq!(class_of(layout(16, 8)), Some(0));
        assert_eq!(class_of(layout(17, 1)), Some(1));
        assert_eq!(class_of(layout(24, 8)), Some(1));
        assert_eq!(class_of(layout(8, 64)), Some(2));
        assert_eq!(class_of(layout(300, 8)), Some(5));
        assert_eq!(class_of(layout(512, 8)), Some(5));
        assert_eq!(class_of(layout(2048, 8)), Some(7));
        assert_eq!(class_of(layout(513, 8)), Some(6));
        assert_eq!(class_of(layout(2049, 8)), None);
        assert_eq!(class_of(layout(8, 4096)), None);
        for class in 0..CLASS_COUNT {
            assert_eq!(class_of(layout(block_size(class), 1)), Some(class));
        }
        assert_eq!(block_size(CLASS_COUNT - 1), LARGEST_SMALL);
    }

    /// Simulates the heap on top of the cache: link words in a map.
    struct Model {
        classes: SizeClasses,
        links: HashMap<usize, usize>,
        next_arena: usize,
        arenas: usize,
    }

    impl Model {
        fn new() -> Self {
            Self {
                classes: SizeClasses::new(),
                links: HashMap::new(),
                next_arena: 0x10_0000,
                arenas: 0,
            }
        }

        fn alloc(&mut self, class: usize) -> usize {
            let links = &mut self.links;
            let next_arena = &mut self.next_arena;
            let arenas = &mut self.arenas;
            self.classes
                .allocate(
                    class,
                    |block| links.remove(&block).expect("freed block has a link"),
                    || {
                        let arena = *next_arena;
                        // A gap between arenas, so running past one shows.
                        *next_arena += 2 * ARENA_SIZE;
                        *arenas += 1;
                        Some((arena, ARENA_SIZE))
                    },
                )
                .expect("the model never runs out")
        }

        fn free(&mut self, class: usize, block: usize) {
            let links = &mut self.links;
            self.classes.free(class, block, |block, next| {
                links.insert(block, next);
            });
        }
    }

    #[test]
    fn blocks_are_aligned_distinct_and_inside_their_slab() {
        let mut model = Model::new();
        for class in 0..CLASS_COUNT {
            let size = block_size(class);
            let per_slab = SLAB_SIZE / size;
            let blocks: Vec<usize> = (0..per_slab * 2 + 1).map(|_| model.alloc(class)).collect();
            let mut sorted = blocks.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(
                sorted.len(),
                blocks.len(),
                "class {class} handed a block twice"
            );
            for pair in sorted.windows(2) {
                assert!(pair[1] - pair[0] >= size, "class {class} blocks overlap");
            }
            for block in &blocks {
                assert_eq!(block % size, 0, "class {class} block {block:#x} misaligned");
                let arena_offset = (block - 0x10_0000) % (2 * ARENA_SIZE);
                assert!(
                    arena_offset + size <= ARENA_SIZE,
                    "block {block:#x} outside its arena"
                );
            }
        }
        // Three slabs per class for two slabs' worth of blocks plus one,
        // sixteen slabs per arena.
        assert_eq!(
            model.arenas,
            (3 * CLASS_COUNT).div_ceil(ARENA_SIZE / SLAB_SIZE)
        );
    }

    #[test]
    fn freed_blocks_are_reused_last_in_first_out_without_new_slabs() {
        let mut model = Model::new();
        let blocks: Vec<usize> = (0..10).map(|_| model.alloc(2)).collect();
        for &block in &blocks {
            model.free(2, block);
        }
        let arenas = model.arenas;
        let again: Vec<usize> = (0..10).map(|_| model.alloc(2)).collect();
        let mut reversed = blocks.clone();
        reversed.reverse();
        assert_eq!(again, reversed);
        assert_eq!(model.arenas, arenas);
        // The list is empty again: the next block is carved anew.
        let fresh = model.alloc(2);
        assert!(!blocks.contains(&fresh));
    }

    #[test]
    fn exhausted_memory_fails_the_request_and_keeps_the_class_usable() {
        let mut classes = SizeClasses::new();
        assert_eq!(classes.allocate(3, |_| unreachable!(), || None), None);
        let arena = 0x20_0000;
        let single_slab = || Some((arena, SLAB_SIZE));
        assert_eq!(
            classes.allocate(3, |_| unreachable!(), single_slab),
            Some(arena)
        );
        // A one-slab arena is used up by one class: the next class needs
        // another, and memory is out.
        assert_eq!(classes.allocate(4, |_| unreachable!(), || None), None);
        let next = arena + 2 * SLAB_SIZE;
        let whole = || Some((next, ARENA_SIZE));
        assert_eq!(classes.allocate(4, |_| unreachable!(), whole), Some(next));
        // The next class takes the arena's next slab.
        assert_eq!(
            classes.allocate(5, |_| unreachable!(), || None),
            Some(next + SLAB_SIZE)
        );
    }

    #[test]
    fn classes_do_not_share_free_blocks() {
        let mut model = Model::new();
        let small = model.alloc(0);
        model.free(0, small);
        let other = model.alloc(1);
        assert_ne!(other, small);
        assert_eq!(model.alloc(0), small);
    }
}
