//! The PVH boot protocol's `hvm_start_info`, turned into Vessel boot info.
//!
//! QEMU (`-kernel`), Firecracker and Cloud Hypervisor enter a PVH image in
//! 32-bit protected mode with `EBX` pointing at an `hvm_start_info`: a memory
//! map in E820 form, a command line and boot modules (such as an initrd).
//! vessel-rt converts that into the same [`BootInfo`] the Vessel VMM writes,
//! so the rest of the kernel boots one way. This module is the pure part of
//! the conversion (unit-tested on the host); the entry code and the reads of
//! guest memory live in `arch::pvh` and `platform::pc`.
//!
//! # Command line
//!
//! The command line is split at spaces and tabs; double quotes group words
//! (`"two words"`), and a backslash escapes the next character. Words before
//! a lone `--` are environment entries (`KEY=VALUE`); words after it are the
//! program's arguments, `argv[0]` first. Without `--`, every word is an
//! argument. So `vessel run -e NAME=x hello a b` corresponds to the command
//! line `NAME=x -- hello a b`.

use core::fmt;
use core::ops::Range;
use vessel_abi::boot::{MAX_MEMORY_REGIONS, MemoryKind, MemoryRegion};
use vessel_abi::layout::IMAGE_MIN_PHYS;

/// `hvm_start_info::magic`.
pub const START_INFO_MAGIC: u32 = 0x336e_c578;
/// E820 type of usable RAM.
const E820_RAM: u32 = 1;
const PAGE: u64 = 4096;

/// `struct hvm_start_info` (version 1, with the memory map).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct StartInfo {
    /// [`START_INFO_MAGIC`].
    pub magic: u32,
    /// 0 (no memory map) or 1.
    pub version: u32,
    /// `SIF_*` flags.
    pub flags: u32,
    /// Number of entries at `modlist_paddr`.
    pub nr_modules: u32,
    /// Physical address of the module list.
    pub modlist_paddr: u64,
    /// Physical address of the NUL-terminated command line (0: none).
    pub cmdline_paddr: u64,
    /// Physical address of the ACPI RSDP (0: none).
    pub rsdp_paddr: u64,
    /// Physical address of the memory map (version 1).
    pub memmap_paddr: u64,
    /// Number of memory-map entries.
    pub memmap_entries: u32,
    /// Reserved.
    pub reserved: u32,
}

/// `struct hvm_memmap_table_entry`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemmapEntry {
    /// First byte.
    pub addr: u64,
    /// Length in bytes.
    pub size: u64,
    /// E820 type (1: RAM).
    pub kind: u32,
    /// Reserved.
    pub reserved: u32,
}

/// `struct hvm_modlist_entry`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ModuleEntry {
    /// Physical address of the module.
    pub paddr: u64,
    /// Size in bytes.
    pub size: u64,
    /// Physical address of its command line.
    pub cmdline_paddr: u64,
    /// Reserved.
    pub reserved: u64,
}

/// Why start info was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PvhError {
    /// Not an `hvm_start_info`.
    BadMagic(u32),
    /// Version 0 has no memory map, which Vessel needs.
    NoMemoryMap,
    /// The memory map has no RAM above the image.
    NoUsableMemory,
    /// More regions than the boot info holds.
    TooManyRegions,
    /// The command line does not fit in the argument buffer.
    CommandLineTooLong,
}

impl fmt::Display for PvhError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadMagic(m) => write!(f, "bad hvm_start_info magic {m:#x}"),
            Self::NoMemoryMap => write!(f, "hvm_start_info version 0 has no memory map"),
            Self::NoUsableMemory => write!(f, "the PVH memory map has no usable RAM"),
            Self::TooManyRegions => write!(f, "the PVH memory map has too many regions"),
            Self::CommandLineTooLong => write!(f, "the kernel command line is too long"),
        }
    }
}

/// Checks the start info's header.
pub fn check_start_info(info: &StartInfo) -> Result<(), PvhError> {
    if info.magic != START_INFO_MAGIC {
        return Err(PvhError::BadMagic(info.magic));
    }
    if info.version < 1 || info.memmap_entries == 0 {
        return Err(PvhError::NoMemoryMap);
    }
    Ok(())
}

/// A memory map in Vessel's form.
#[derive(Clone, Copy, Debug)]
pub struct MemoryMap {
    /// The regions, sorted and non-overlapping.
    pub regions: [MemoryRegion; MAX_MEMORY_REGIONS],
    /// Number of valid entries.
    pub count: usize,
    /// One past the highest RAM address.
    pub memory_size: u64,
}

impl MemoryMap {
    fn push(&mut self, start: u64, end: u64, kind: MemoryKind) -> Result<(), PvhError> {
        if start >= end {
            return Ok(());
        }
        // Merge with the previous region when contiguous and of one kind.
        if let Some(last) = self.regions[..self.count].last_mut()
            && last.kind == kind as u32
            && last.start + last.len == start
        {
            last.len += end - start;
            return Ok(());
        }
        let slot = self
            .regions
            .get_mut(self.count)
            .ok_or(PvhError::TooManyRegions)?;
        *slot = MemoryRegion {
            start,
            len: end - start,
            kind: kind as u32,
            reserved: 0,
        };
        self.count += 1;
        Ok(())
    }
}

/// Builds Vessel's memory map from the E820 entries: RAM below
/// [`IMAGE_MIN_PHYS`] and under `reserved` ranges (boot modules) becomes
/// boot data, the image's span becomes image, the rest of RAM is usable.
/// RAM ranges are shrunk to whole pages; other E820 types are left out.
pub fn memory_map(
    entries: &[MemmapEntry],
    image: Range<u64>,
    reserved: &[Range<u64>],
) -> Result<MemoryMap, PvhError> {
    let mut ram: [Range<u64>; MAX_MEMORY_REGIONS] = core::array::from_fn(|_| 0..0);
    let mut ram_count = 0;
    for entry in entries.iter().filter(|e| e.kind == E820_RAM) {
        let start = entry.addr.next_multiple_of(PAGE);
        let end = entry.addr.saturating_add(entry.size) / PAGE * PAGE;
        if start < end {
            *ram.get_mut(ram_count).ok_or(PvhError::TooManyRegions)? = start..end;
            ram_count += 1;
        }
    }
    let ram = &mut ram[..ram_count];
    ram.sort_unstable_by_key(|r| r.start);

    let mut map = MemoryMap {
        regions: [MemoryRegion::default(); MAX_MEMORY_REGIONS],
        count: 0,
        memory_size: 0,
    };
    let image = image.start / PAGE * PAGE..image.end.next_multiple_of(PAGE);
    for range in ram.iter() {
        // Skip what an earlier, overlapping entry already covered.
        let covered = map.regions[..map.count]
            .last()
            .map_or(0, |r| r.start + r.len);
        let mut at = range.start.max(covered);
        while at < range.end {
            let kind = kind_at(at, &image, reserved);
            let next = next_boundary(at, &image, reserved).min(range.end);
            map.push(at, next, kind)?;
            at = next;
        }
        map.memory_size = map.memory_size.max(range.end);
    }
    if !map.regions[..map.count]
        .iter()
        .any(|r| r.kind == MemoryKind::Usable as u32)
    {
        return Err(PvhError::NoUsableMemory);
    }
    Ok(map)
}

fn kind_at(at: u64, image: &Range<u64>, reserved: &[Range<u64>]) -> MemoryKind {
    if image.contains(&at) {
        MemoryKind::Image
    } else if at < IMAGE_MIN_PHYS || reserved.iter().any(|r| r.contains(&at)) {
        MemoryKind::BootData
    } else {
        MemoryKind::Usable
    }
}

/// The next address above `at` where the kind may change.
fn next_boundary(at: u64, image: &Range<u64>, reserved: &[Range<u64>]) -> u64 {
    let page_bounds = |r: &Range<u64>| [r.start / PAGE * PAGE, r.end.next_multiple_of(PAGE)];
    [IMAGE_MIN_PHYS, image.start, image.end]
        .into_iter()
        .chain(reserved.iter().flat_map(page_bounds))
        .filter(|&b| b > at)
        .min()
        .unwrap_or(u64::MAX)
}

/// Arguments and environment packed as Vessel string lists, in one buffer:
/// the arguments first, then the environment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PackedCommandLine {
    /// Bytes of `buffer` holding the arguments.
    pub args_len: usize,
    /// Number of arguments.
    pub args_count: usize,
    /// Bytes after the arguments holding the environment.
    pub env_len: usize,
    /// Number of environment entries.
    pub env_count: usize,
}

/// Splits a kernel command line (see the module docs) into `buffer`.
pub fn pack_command_line(line: &[u8], buffer: &mut [u8]) -> Result<PackedCommandLine, PvhError> {
    let words = || Words { rest: line };
    let separator = words().position(|w| w.as_slice() == b"--");
    let (env_words, arg_words) = match separator {
        Some(i) => (i, Some(i + 1)),
        None => (0, Some(0)),
    };
    let mut out = Packer { buffer, len: 0 };
    let args_count = arg_words.map_or(0, |skip| words().skip(skip).count());
    for word in arg_words
        .map(|skip| words().skip(skip))
        .into_iter()
        .flatten()
    {
        out.push(&word)?;
    }
    let args_len = out.len;
    for word in words().take(env_words) {
        out.push(&word)?;
    }
    Ok(PackedCommandLine {
        args_len,
        args_count,
        env_len: out.len - args_len,
        env_count: env_words,
    })
}

struct Packer<'a> {
    buffer: &'a mut [u8],
    len: usize,
}

impl Packer<'_> {
    fn push(&mut self, word: &Word) -> Result<(), PvhError> {
        let bytes = word.as_slice();
        let end = self.len + bytes.len() + 1;
        let slot = self
            .buffer
            .get_mut(self.len..end)
            .ok_or(PvhError::CommandLineTooLong)?;
        slot[..bytes.len()].copy_from_slice(bytes);
        slot[bytes.len()] = 0;
        self.len = end;
        Ok(())
    }
}

/// Longest word the splitter keeps (longer ones are cut).
const MAX_WORD: usize = 512;

/// One word of the command line, unquoted.
struct Word {
    bytes: [u8; MAX_WORD],
    len: usize,
}

impl Word {
    fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// Splits a command line into words, with quotes and escapes.
struct Words<'a> {
    rest: &'a [u8],
}

impl Iterator for Words<'_> {
    type Item = Word;

    fn next(&mut self) -> Option<Word> {
        let start = self
            .rest
            .iter()
            .position(|b| !matches!(b, b' ' | b'\t' | b'\n'))?;
        let mut bytes = self.rest[start..].iter();
        let mut word = Word {
            bytes: [0; MAX_WORD],
            len: 0,
        };
        let mut quoted = false;
        let mut consumed = start;
        while let Some(&b) = bytes.next() {
            consumed += 1;
            let literal = match b {
                b'"' => {
                    quoted = !quoted;
                    continue;
                }
                b'\\' => match bytes.next() {
                    Some(&escaped) => {
                        consumed += 1;
                        escaped
                    }
                    None => break,
                },
                b' ' | b'\t' | b'\n' if !quoted => break,
                b => b,
            };
            if word.len < MAX_WORD {
                word.bytes[word.len] = literal;
                word.len += 1;
            }
        }
        self.rest = &self.rest[consumed..];
        Some(word)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ram(addr: u64, size: u64) -> MemmapEntry {
        MemmapEntry {
            addr,
            size,
            kind: E820_RAM,
            reserved: 0,
        }
    }

    fn regions(map: &MemoryMap) -> Vec<(u64, u64, u32)> {
        map.regions[..map.count]
            .iter()
            .map(|r| (r.start, r.start + r.len, r.kind))
            .collect()
    }

    const BOOT: u32 = MemoryKind::BootData as u32;
    const IMAGE: u32 = MemoryKind::Image as u32;
    const USABLE: u32 = MemoryKind::Usable as u32;

    #[test]
    fn qemu_like_map_becomes_vessel_regions() {
        // QEMU: RAM below 640 KiB, a reserved BIOS hole, RAM from 1 MiB.
        let entries = [
            ram(0, 0x9fc00),
            MemmapEntry {
                addr: 0x9fc00,
                size: 0x400,
                kind: 2,
                reserved: 0,
            },
            ram(0x10_0000, 0x7f0_0000),
        ];
        let map = memory_map(&entries, 0x20_0000..0x23_2100, &[]).unwrap();
        assert_eq!(
            regions(&map),
            [
                (0, 0x9f000, BOOT),
                (0x10_0000, 0x20_0000, BOOT),
                (0x20_0000, 0x23_3000, IMAGE),
                (0x23_3000, 0x800_0000, USABLE),
            ]
        );
        assert_eq!(map.memory_size, 0x800_0000);
    }

    #[test]
    fn modules_are_kept_out_of_usable_memory() {
        let entries = [ram(0, 0x400_0000)];
        let initrd = [0x300_0000..0x300_1800];
        let map = memory_map(&entries, 0x20_0000..0x21_0000, &initrd).unwrap();
        assert_eq!(
            regions(&map),
            [
                (0, 0x20_0000, BOOT),
                (0x20_0000, 0x21_0000, IMAGE),
                (0x21_0000, 0x300_0000, USABLE),
                (0x300_0000, 0x300_2000, BOOT),
                (0x300_2000, 0x400_0000, USABLE),
            ]
        );
    }

    #[test]
    fn unsorted_and_overlapping_entries_are_tolerated() {
        let entries = [
            ram(0x400_0000, 0x100_0000),
            ram(0, 0x400_1000),
            ram(0x10, 0x20),
        ];
        let map = memory_map(&entries, 0x20_0000..0x20_1000, &[]).unwrap();
        assert_eq!(
            map.regions[map.count - 1].start + map.regions[map.count - 1].len,
            0x500_0000
        );
        assert_eq!(map.memory_size, 0x500_0000);
        let r = regions(&map);
        assert!(
            r.windows(2).all(|w| w[0].1 <= w[1].0),
            "sorted, disjoint: {r:x?}"
        );
    }

    #[test]
    fn refuses_maps_without_usable_ram() {
        let entries = [ram(0, 0x20_0000)];
        assert_eq!(
            memory_map(&entries, 0x20_0000..0x21_0000, &[]).unwrap_err(),
            PvhError::NoUsableMemory
        );
        assert_eq!(
            memory_map(&[], 0..0, &[]).unwrap_err(),
            PvhError::NoUsableMemory
        );
    }

    #[test]
    fn checks_the_header() {
        let mut info = StartInfo {
            magic: START_INFO_MAGIC,
            version: 1,
            memmap_entries: 3,
            ..Default::default()
        };
        assert_eq!(check_start_info(&info), Ok(()));
        info.version = 0;
        assert_eq!(check_start_info(&info), Err(PvhError::NoMemoryMap));
        info.magic = 1;
        assert_eq!(check_start_info(&info), Err(PvhError::BadMagic(1)));
    }

    fn split(line: &str) -> (Vec<String>, Vec<String>) {
        let mut buffer = [0u8; 256];
        let packed = pack_command_line(line.as_bytes(), &mut buffer).unwrap();
        let list = |bytes: &[u8], count| -> Vec<String> {
            crate::boot_info::split_strings(bytes, count as u64)
                .unwrap()
                .map(|s| String::from_utf8(s.to_vec()).unwrap())
                .collect()
        };
        let args = list(&buffer[..packed.args_len], packed.args_count);
        let env = list(
            &buffer[packed.args_len..packed.args_len + packed.env_len],
            packed.env_count,
        );
        (args, env)
    }

    #[test]
    fn splits_command_lines() {
        assert_eq!(
            split("hello a  b"),
            (vec!["hello".into(), "a".into(), "b".into()], vec![])
        );
        assert_eq!(
            split("NAME=x B=\"1 2\" -- hello \"two words\" c\\ d"),
            (
                vec!["hello".into(), "two words".into(), "c d".into()],
                vec!["NAME=x".into(), "B=1 2".into()]
            )
        );
        assert_eq!(split("A=1 --"), (vec![], vec!["A=1".into()]));
        assert_eq!(split("   "), (vec![], vec![]));
        assert_eq!(split("\"\""), (vec![String::new()], vec![]));
    }

    #[test]
    fn refuses_command_lines_that_do_not_fit() {
        let mut buffer = [0u8; 4];
        assert_eq!(
            pack_command_line(b"hello", &mut buffer),
            Err(PvhError::CommandLineTooLong)
        );
        assert!(pack_command_line(b"abc", &mut buffer).is_ok());
    }
}
