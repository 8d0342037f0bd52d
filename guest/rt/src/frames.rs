//! The physical frame allocator's bookkeeping: one bit per 4 KiB frame.
//!
//! Written by hand because it must work before any heap exists (its storage
//! is carved out of the first usable region) and must hand out physically
//! contiguous, aligned runs for the heap and for page tables; the frame
//! allocator crates we looked at either need a heap (buddy allocators on
//! `BTreeSet`) or cannot allocate contiguous runs.
//!
//! This module is pure logic over a `&mut [u64]`, unit-tested on the host;
//! `mem` wraps it in a lock and places it in guest memory.

use crate::scan;

/// A set bit means "in use or not RAM"; a clear bit means free.
pub struct FrameBitmap<'a> {
    words: &'a mut [u64],
    frames: usize,
    free: usize,
    /// Where the next search starts (next fit keeps allocation O(1) on average).
    hint: usize,
    /// Free frames from here up have never been handed out since they last
    /// read as zero (see [`FrameBitmap::assume_free_frames_zeroed`]), so
    /// they need no zeroing: under an emulating hypervisor, zeroing a page
    /// costs about as much as a VM exit. `frames` when nothing is known.
    pristine_from: usize,
}

impl<'a> FrameBitmap<'a> {
    /// Takes over `words` to track `frames` frames, all initially in use.
    ///
    /// # Panics
    /// If `words` is too small for `frames` bits.
    pub fn new(words: &'a mut [u64], frames: usize) -> Self {
        assert!(words.len() * 64 >= frames, "frame bitmap storage too small");
        words.fill(u64::MAX);
        Self {
            words,
            frames,
            free: 0,
            hint: 0,
            pristine_from: frames,
        }
    }

    /// Takes over `words` to track `frames` frames, of which exactly those
    /// in `free` (non-overlapping `(first, count)` ranges) are free.
    ///
    /// Faster than [`FrameBitmap::new`] plus [`FrameBitmap::release`]: whole
    /// words are filled in bulk, with no per-bit bookkeeping. Boot runs this
    /// once over all of RAM, before anything else.
    pub fn with_free_ranges(
        words: &'a mut [u64],
        frames: usize,
        free: impl Iterator<Item = (usize, usize)>,
    ) -> Self {
        let mut bitmap = Self::new(words, frames);
        bitmap.hint = frames;
        for (first, count) in free {
            let end = first.saturating_add(count).min(frames);
            if first >= end {
                continue;
            }
            bitmap.hint = bitmap.hint.min(first);
            let (head_end, tail_start) = (first.next_multiple_of(64).min(end), end / 64 * 64);
            if head_end < tail_start {
                bitmap.set_range(first, head_end - first, false);
                bitmap.words[head_end / 64..tail_start / 64].fill(0);
                bitmap.free += tail_start - head_end;
                bitmap.set_range(tail_start, end - tail_start, false);
            } else {
                bitmap.set_range(first, end - first, false);
            }
        }
        bitmap
    }

    /// Like [`FrameBitmap::with_free_ranges`], for storage that already
    /// reads as zero (every frame free) and free ranges sorted by address:
    /// marks only what lies between them in use, a few words where a fill
    /// of the whole bitmap would write every one (0.5 KiB per 128 MiB of
    /// RAM, a boot cost under an emulating hypervisor). Unsorted or
    /// overlapping ranges take the general path.
    pub fn with_free_ranges_on_zeroed(
        words: &'a mut [u64],
        frames: usize,
        free: impl Iterator<Item = (usize, usize)> + Clone,
    ) -> Self {
        let sorted = free
            .clone()
            .try_fold(0usize, |end, (first, count)| {
                (first >= end).then(|| first.saturating_add(count))
            })
            .is_some();
        if !sorted {
            return Self::with_free_ranges(words, frames, free);
        }
        assert!(words.len() * 64 >= frames, "frame bitmap storage too small");
        debug_assert!(words.iter().all(|&w| w == 0), "storage must read as zero");
        let mut bitmap = Self {
            words,
            frames,
            free: frames,
            // Searches start at the first free frame, not across the used
            // frames below it (boot data and the image, on every boot).
            hint: free.clone().next().map_or(frames, |(first, _)| first),
            pristine_from: frames,
        };
        let mut used_from = 0;
        for (first, count) in free {
            bitmap.take(used_from, first.saturating_sub(used_from));
            used_from = first.saturating_add(count);
        }
        bitmap.take(used_from, frames.saturating_sub(used_from));
        // Bits past the last frame, in the last word: in use, as `new` has them.
        if !frames.is_multiple_of(64) {
            bitmap.words[frames / 64] |= u64::MAX << (frames % 64);
        }
        bitmap.words[frames.div_ceil(64)..].fill(u64::MAX);
        bitmap
    }

    /// Number of bitmap words needed for `frames` frames.
    pub const fn words_for(frames: usize) -> usize {
        frames.div_ceil(64)
    }

    /// Number of free frames.
    pub fn free_frames(&self) -> usize {
        self.free
    }

    /// Marks `[first, first + count)` free. Frames beyond the tracked range
    /// are ignored.
    pub fn release(&mut self, first: usize, count: usize) {
        self.set_range(first, count, false);
        self.hint = self.hint.min(first);
        // The frames may have been written: no free frame at or below them
        // counts as pristine any more (the frames between lose nothing but
        // a zeroing they could have skipped).
        let end = first.saturating_add(count).min(self.frames);
        self.pristine_from = self.pristine_from.max(end);
    }

    /// Records that every frame free right now reads as zero (the platform
    /// guarantees it for RAM it hands over, as the Vessel VMM does), so
    /// [`FrameBitmap::is_pristine`] can vouch for them until they are freed
    /// again.
    pub fn assume_free_frames_zeroed(&mut self) {
        self.pristine_from = 0;
    }

    /// Whether a run starting at frame `first`, just allocated, still reads
    /// as zero: it lies wholly above every frame freed since the platform
    /// zeroed RAM, so none of it was handed out before.
    pub fn is_pristine(&self, first: usize) -> bool {
        first >= self.pristine_from
    }

    /// Marks `[first, first + count)` in use.
    pub fn reserve(&mut self, first: usize, count: usize) {
        self.set_range(first, count, true);
    }

    /// Marks `[first, first + count)` in use, knowing all of it is free (a
    /// run just found free, a gap of a bitmap that starts all free): no
    /// bit counting, which without POPCNT in the baseline target costs
    /// dozens of instructions a word, emulated at boot.
    fn take(&mut self, first: usize, count: usize) {
        let end = first.saturating_add(count).min(self.frames);
        if first >= end {
            return;
        }
        let (first_word, last_word) = (first / 64, (end - 1) / 64);
        let head = u64::MAX << (first % 64);
        let tail = u64::MAX >> (63 - (end - 1) % 64);
        if first_word == last_word {
            self.words[first_word] |= head & tail;
        } else {
            self.words[first_word] |= head;
            self.words[first_word + 1..last_word].fill(u64::MAX);
            self.words[last_word] |= tail;
        }
        self.free -= end - first;
    }

    /// Sets or clears a range of bits a whole word at a time where it can:
    /// boot marks all of RAM free, and on a small VM this is most of its work.
    fn set_range(&mut self, first: usize, count: usize, used: bool) {
        let end = first.saturating_add(count).min(self.frames);
        let mut frame = first;
        while frame < end {
            let (word, bit) = (frame / 64, frame % 64);
            let bits = (end - frame).min(64 - bit);
            let mask = if bits == 64 {
                u64::MAX
            } else {
                ((1u64 << bits) - 1) << bit
            };
            let old = self.words[word];
            // The bits that change state; counted only when some but not
            // all of them do (no POPCNT in the baseline target: counting
            // is dozens of instructions, and freeing frames is common).
            let changing = if used { !old & mask } else { old & mask };
            let changed = match changing {
                0 => 0,
                c if c == mask => bits,
                c => c.count_ones() as usize,
            };
            if used {
                self.words[word] = old | mask;
                self.free -= changed;
            } else {
                self.words[word] = old & !mask;
                self.free += changed;
            }
            frame += bits;
        }
    }

    /// Allocates `count` contiguous frames whose first frame number is a
    /// multiple of `align` (a power of two). Returns the first frame number.
    pub fn allocate(&mut self, count: usize, align: usize) -> Option<usize> {
        if count == 0 || count > self.free || !align.is_power_of_two() {
            return None;
        }
        let found = self
            .find_run(self.hint, self.frames, count, align)
            .or_else(|| self.find_run(0, self.hint.saturating_add(count), count, align))?;
        self.take(found, count);
        self.hint = found + count;
        Some(found)
    }

    /// First-fit search for a free aligned run starting in `[from, to)`.
    fn find_run(&self, from: usize, to: usize, count: usize, align: usize) -> Option<usize> {
        let to = to.min(self.frames);
        let mut start = from.next_multiple_of(align);
        while start.checked_add(count)? <= self.frames && start < to {
            match self.first_used(start, start + count) {
                None => return Some(start),
                // Skip the used frames from there a word at a time: a run
                // of hundreds (the boot data, the image) is a few steps,
                // not hundreds (under an emulating hypervisor the first
                // heap allocation spent 5 ms stepping over them one by one).
                Some(used) => start = self.first_free(used + 1).next_multiple_of(align),
            }
        }
        None
    }

    /// The first free frame at or after `from` (`frames` if none): the
    /// bits of the first word, then whole words with one string
    /// instruction (boot data and the image are hundreds of used frames).
    fn first_free(&self, from: usize) -> usize {
        if from >= self.frames {
            return self.frames;
        }
        let (first_word, last_word) = (from / 64, (self.frames - 1) / 64);
        let head = !self.words[first_word] >> (from % 64);
        let found = if head != 0 {
            from + head.trailing_zeros() as usize
        } else {
            let rest = &self.words[first_word + 1..=last_word];
            match scan::first_other_than(rest, u64::MAX) {
                Some(i) => (first_word + 1 + i) * 64 + (!rest[i]).trailing_zeros() as usize,
                None => self.frames,
            }
        };
        found.min(self.frames)
    }

    /// The first used frame in `[from, to)`: the bits of the first word,
    /// then whole words with one string instruction (a 2 MiB run is eight
    /// words), then the bits of the last.
    fn first_used(&self, from: usize, to: usize) -> Option<usize> {
        if from >= to {
            return None;
        }
        let (first_word, last_word) = (from / 64, (to - 1) / 64);
        let in_range = |found: usize| (found < to).then_some(found);
        let head = self.words[first_word] >> (from % 64);
        if head != 0 {
            return in_range(from + head.trailing_zeros() as usize);
        }
        if first_word == last_word {
            return None;
        }
        let word =
            first_word + 1 + scan::first_other_than(&self.words[first_word + 1..=last_word], 0)?;
        in_range(word * 64 + self.words[word].trailing_zeros() as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocates_and_frees() {
        let mut words = vec![0; FrameBitmap::words_for(1000)];
        let mut bm = FrameBitmap::new(&mut words, 1000);
        assert_eq!(bm.allocate(1, 1), None, "everything starts in use");
        bm.release(10, 100);
        assert_eq!(bm.free_frames(), 100);
        assert_eq!(bm.allocate(1, 1), Some(10));
        assert_eq!(bm.allocate(8, 8), Some(16), "aligned run");
        assert_eq!(bm.free_frames(), 91);
        bm.release(10, 1);
        assert_eq!(bm.allocate(1, 1), Some(10), "freed frames are reused");
    }

    #[test]
    fn long_used_runs_are_skipped_and_runs_still_found_first_fit() {
        let mut words = vec![0; FrameBitmap::words_for(4096)];
        let mut bm = FrameBitmap::new(&mut words, 4096);
        // 0..600 used (boot data, image), a hole in the free space at 650.
        bm.release(600, 3496);
        bm.reserve(650, 1);
        assert_eq!(bm.allocate(64, 1), Some(651), "600..650 is too short");
        assert_eq!(bm.allocate(50, 1), Some(715), "next fit from the last run");
        assert_eq!(bm.allocate(8, 8), Some(768), "aligned");
        assert_eq!(bm.allocate(50, 1), Some(776));
        bm.reserve(826, 4096 - 826);
        assert_eq!(bm.allocate(50, 1), Some(600), "wraps around to the hole");
        assert_eq!(bm.allocate(3, 1), Some(765), "what the alignment left");
        assert_eq!(bm.allocate(1, 1), None);
    }

    #[test]
    fn finds_runs_across_holes_and_reports_exhaustion() {
        let mut words = vec![0; 2];
        let mut bm = FrameBitmap::new(&mut words, 128);
        bm.release(0, 128);
        bm.reserve(5, 1);
        assert_eq!(bm.allocate(10, 1), Some(6));
        assert_eq!(bm.allocate(5, 1), Some(16));
        assert_eq!(bm.allocate(200, 1), None);
        assert_eq!(bm.allocate(108, 1), None, "112 free, but not contiguous");
        assert_eq!(bm.allocate(107, 1), Some(21));
        assert_eq!(bm.allocate(5, 1), Some(0), "wraps around to the start");
        assert_eq!(bm.free_frames(), 0);
    }

    #[test]
    fn bulk_construction_matches_bit_by_bit() {
        let ranges = [(3usize, 5usize), (64, 64), (130, 200), (900, 500)];
        let mut bulk_words = vec![0; FrameBitmap::words_for(1000)];
        let bulk = FrameBitmap::with_free_ranges(&mut bulk_words, 1000, ranges.into_iter());
        let bulk_free = bulk.free_frames();
        let mut slow_words = vec![0; FrameBitmap::words_for(1000)];
        let mut slow = FrameBitmap::new(&mut slow_words, 1000);
        for (first, count) in ranges {
            slow.release(first, count);
        }
        assert_eq!(bulk_free, slow.free_frames());
        assert_eq!(bulk_free, 5 + 64 + 200 + 100);
        assert_eq!(bulk_words, slow_words);
    }

    #[test]
    fn construction_on_zeroed_storage_matches_the_general_one() {
        for ranges in [
            vec![(3usize, 5usize), (64, 64), (130, 200), (900, 500)],
            vec![(0, 1000)],
            vec![],
            vec![(900, 50), (3, 5)],
            vec![(10, 100), (50, 10)],
        ] {
            let mut general_words = vec![0; FrameBitmap::words_for(1000) + 1];
            let general =
                FrameBitmap::with_free_ranges(&mut general_words, 1000, ranges.iter().copied());
            let general_free = general.free_frames();
            let mut zeroed_words = vec![0; FrameBitmap::words_for(1000) + 1];
            let zeroed = FrameBitmap::with_free_ranges_on_zeroed(
                &mut zeroed_words,
                1000,
                ranges.iter().copied(),
            );
            assert_eq!(zeroed.free_frames(), general_free, "{ranges:?}");
            assert_eq!(zeroed_words, general_words, "{ranges:?}");
        }
    }

    #[test]
    fn frames_are_pristine_until_freed_once() {
        let mut words = vec![0; FrameBitmap::words_for(256)];
        let mut bm = FrameBitmap::with_free_ranges(&mut words, 256, [(16, 240)].into_iter());
        let a = bm.allocate(4, 1).unwrap();
        assert!(
            !bm.is_pristine(a),
            "nothing is known until the platform says so"
        );
        bm.release(a, 4);
        bm.assume_free_frames_zeroed();
        let a = bm.allocate(4, 1).unwrap();
        assert!(bm.is_pristine(a));
        let b = bm.allocate(4, 1).unwrap();
        assert!(bm.is_pristine(b));
        bm.release(a, 4);
        assert_eq!(bm.allocate(4, 1), Some(a), "freed frames are reused first");
        assert!(!bm.is_pristine(a), "a freed frame may hold old data");
        let c = bm.allocate(4, 1).unwrap();
        assert_eq!(c, b + 4);
        assert!(bm.is_pristine(c), "above every freed frame: untouched");
        bm.release(c, 4);
        assert_eq!(bm.allocate(4, 1), Some(c));
        assert!(!bm.is_pristine(c));
        let high = bm.allocate(8, 16).unwrap();
        assert!(high >= c + 4 && bm.is_pristine(high));
    }

    #[test]
    fn ignores_out_of_range_and_bad_alignment() {
        let mut words = vec![0; 1];
        let mut bm = FrameBitmap::new(&mut words, 64);
        bm.release(60, 100);
        assert_eq!(bm.free_frames(), 4);
        assert_eq!(bm.allocate(1, 3), None);
        assert_eq!(bm.allocate(4, 4), Some(60));
        assert_eq!(bm.allocate(1, 1), None);
    }

    #[test]
    fn frame_searches_match_a_bit_by_bit_search() {
        // A xorshift generator: reproducible pseudo-random bitmaps.
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let frames = 64 * 8;
        for _ in 0..2000 {
            // Runs of free and of used words, and sparse bits of each.
            let mut words: Vec<u64> = (0..8)
                .map(|_| match next() % 6 {
                    0 => next() & next() & next(),
                    1 => !(next() & next() & next()),
                    2 | 3 => u64::MAX,
                    _ => 0,
                })
                .collect();
            let copy = words.clone();
            let bitmap = FrameBitmap {
                words: &mut words,
                frames,
                free: 0,
                hint: 0,
                pristine_from: frames,
            };
            let from = (next() % frames as u64) as usize;
            let to = from + (next() % (frames - from) as u64) as usize;
            let bit = |f: usize| copy[f / 64] >> (f % 64) & 1;
            let expected = (from..to).find(|&f| bit(f) == 1);
            assert_eq!(
                bitmap.first_used(from, to),
                expected,
                "[{from}, {to}) of {copy:x?}"
            );
            let free = (from..frames).find(|&f| bit(f) == 0).unwrap_or(frames);
            assert_eq!(bitmap.first_free(from), free, "from {from} of {copy:x?}");
        }
    }
}
