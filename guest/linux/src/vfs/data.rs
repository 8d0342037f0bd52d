//! The contents of a regular file, held sparsely page by page.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::collections::btree_map::Entry;
use alloc::vec;
use alloc::vec::Vec;

use crate::PAGE_SIZE;

/// [`PAGE_SIZE`] as a length.
const PAGE: usize = PAGE_SIZE as usize;

/// The bytes of a regular file.
///
/// Only pages that were written are held; a missing page is a hole and
/// reads as zeros, so a write at a huge offset costs one page.
///
/// Invariant: no held page lies wholly at or beyond `size`, and every byte
/// of a held page at or beyond `size` is zero. Growing the file (by a write
/// past the end or by truncate) therefore exposes zeros without touching
/// any page.
#[derive(Default)]
pub(super) struct Data {
    size: u64,
    pages: BTreeMap<u64, Box<[u8]>>,
}

impl Data {
    /// The file size in bytes.
    pub(super) fn size(&self) -> u64 {
        self.size
    }

    /// The number of pages held (holes excluded).
    pub(super) fn pages(&self) -> u64 {
        self.pages.len() as u64
    }

    /// Up to `len` bytes from `offset`: short at the end of the file, empty
    /// at or past it. Holes read as zeros.
    pub(super) fn read(&self, offset: u64, len: usize) -> Vec<u8> {
        let available = self.size.saturating_sub(offset);
        let n = usize::try_from(available).map_or(len, |available| available.min(len));
        let mut out = vec![0; n];
        if n == 0 {
            return out;
        }
        // `offset < size` here, and `size` fits in an `i64`: no overflow.
        let end = offset + n as u64;
        let first = offset / PAGE_SIZE;
        let last = (end - 1) / PAGE_SIZE;
        for (&index, page) in self.pages.range(first..=last) {
            let page_start = index * PAGE_SIZE;
            let from = offset.max(page_start);
            let to = end.min(page_start + PAGE_SIZE);
            out[(from - offset) as usize..(to - offset) as usize]
                .copy_from_slice(&page[(from - page_start) as usize..(to - page_start) as usize]);
        }
        out
    }

    /// Writes `bytes` at `offset`, allocating at most `new_pages` pages,
    /// and returns how many bytes were written: all of them, or fewer when
    /// the page budget ran out. The caller keeps `offset + bytes.len()`
    /// within the maximum file size.
    pub(super) fn write(&mut self, offset: u64, bytes: &[u8], mut new_pages: u64) -> usize {
        let mut done = 0;
        while done < bytes.len() {
            let pos = offset + done as u64;
            let within = (pos % PAGE_SIZE) as usize;
            let n = (PAGE - within).min(bytes.len() - done);
            let page = match self.pages.entry(pos / PAGE_SIZE) {
                Entry::Occupied(page) => page.into_mut(),
                Entry::Vacant(_) if new_pages == 0 => break,
                Entry::Vacant(slot) => {
                    new_pages -= 1;
                    slot.insert(vec![0; PAGE].into_boxed_slice())
                }
            };
            page[within..within + n].copy_from_slice(&bytes[done..done + n]);
            done += n;
        }
        self.size = self.size.max(offset + done as u64);
        done
    }

    /// Sets the size to `len`. Shrinking frees the pages past the new end
    /// and zeroes the tail of the last page; growing leaves a hole. Returns
    /// the number of pages freed.
    pub(super) fn truncate(&mut self, len: u64) -> u64 {
        let before = self.pages();
        if len < self.size {
            drop(self.pages.split_off(&len.div_ceil(PAGE_SIZE)));
            let within = (len % PAGE_SIZE) as usize;
            if within != 0
                && let Some(page) = self.pages.get_mut(&(len / PAGE_SIZE))
            {
                page[within..].fill(0);
            }
        }
        self.size = len;
        before - self.pages()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_reads_nothing() {
        let data = Data::default();
        assert_eq!(data.size(), 0);
        assert!(data.read(0, 10).is_empty());
        assert!(data.read(u64::MAX, usize::MAX).is_empty());
    }

    #[test]
    fn write_then_read_across_pages() {
        let mut data = Data::default();
        let bytes: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        assert_eq!(data.write(100, &bytes, u64::MAX), bytes.len());
        assert_eq!(data.size(), 10_100);
        assert_eq!(data.pages(), 3);
        assert_eq!(data.read(100, 10_000), bytes);
        // Short at the end, zeros before the first write.
        assert_eq!(data.read(10_000, 500).len(), 100);
        assert_eq!(data.read(0, 100), vec![0; 100]);
        assert_eq!(data.read(4000, 200), &bytes[3900..4100]);
    }

    #[test]
    fn holes_read_as_zeros_and_cost_nothing() {
        let mut data = Data::default();
        let offset = 1 << 40;
        assert_eq!(data.write(offset, b"end", u64::MAX), 3);
        assert_eq!(data.size(), offset + 3);
        assert_eq!(data.pages(), 1);
        assert_eq!(data.read(offset - 2, 5), b"\0\0end");
        assert_eq!(data.read(12345, 8), [0; 8]);
    }

    #[test]
    fn page_budget_makes_a_short_write() {
        let mut data = Data::default();
        assert_eq!(data.write(10, &[1; 3 * PAGE], 1), PAGE - 10);
        assert_eq!(data.size(), PAGE as u64);
        assert_eq!(data.pages(), 1);
        // Rewriting a held page needs no budget.
        assert_eq!(data.write(0, &[2; PAGE], 0), PAGE);
        assert_eq!(data.write(PAGE as u64, b"x", 0), 0);
    }

    #[test]
    fn truncate_frees_pages_and_zeroes_the_tail() {
        let mut data = Data::default();
        data.write(0, &[7; 3 * PAGE], u64::MAX);
        assert_eq!(data.truncate(PAGE as u64 + 10), 1);
        assert_eq!(data.pages(), 2);
        // Growing again exposes zeros, not the old bytes.
        assert_eq!(data.truncate(3 * PAGE as u64), 0);
        assert_eq!(
            data.read(PAGE as u64, 20),
            [&[7; 10][..], &[0; 10][..]].concat()
        );
        assert_eq!(data.read(2 * PAGE as u64, PAGE), vec![0; PAGE]);
        assert_eq!(data.truncate(0), 2);
        assert_eq!(data.pages(), 0);
    }

    #[test]
    fn truncate_at_a_page_boundary_keeps_the_page_before() {
        let mut data = Data::default();
        data.write(0, &[1; 2 * PAGE], u64::MAX);
        assert_eq!(data.truncate(PAGE as u64), 1);
        assert_eq!(data.read(0, 2 * PAGE), vec![1; PAGE]);
    }
}
