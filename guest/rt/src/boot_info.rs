//! Validation of the boot information the host hands over.
//!
//! The host is untrusted (the confidential-VM threat model): the guest copies
//! the [`BootInfo`] out of shared memory once and checks every field here
//! before anything uses it. What comes out is a [`BootParams`] whose
//! invariants the rest of vessel-rt relies on.

use core::fmt;
use vessel_abi::boot::{
    BOOT_INFO_MAGIC, Blob, BootInfo, MAX_MEMORY_REGIONS, MemoryKind, MemoryRegion, StringList,
};

/// Size of a page frame.
pub const PAGE_SIZE: u64 = 4096;
/// Most guest memory vessel-rt accepts (1 TiB, the size of its direct map).
pub const MAX_MEMORY: u64 = 1 << 40;
/// Lowest plausible TSC frequency (1 MHz).
const MIN_TSC_KHZ: u64 = 1_000;
/// Highest plausible TSC frequency (100 GHz).
const MAX_TSC_KHZ: u64 = 100_000_000;

/// A validated memory region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    /// First byte (page aligned).
    pub start: u64,
    /// One past the last byte (page aligned, greater than `start`).
    pub end: u64,
    /// What the region holds.
    pub kind: MemoryKind,
}

/// Boot information that passed validation.
#[derive(Clone, Copy, Debug)]
pub struct BootParams {
    /// The memory map as the boot info gave it, the first `region_count`
    /// validated (kept raw: building typed copies of every slot is a loop
    /// of dozens of emulated instructions at boot).
    regions: [MemoryRegion; MAX_MEMORY_REGIONS],
    region_count: usize,
    /// Total guest memory in bytes.
    pub memory_size: u64,
    /// Program arguments (validated to lie inside boot data).
    pub args: StringList,
    /// Environment strings (validated to lie inside boot data).
    pub env: StringList,
    /// TSC frequency in kHz (within a plausible range).
    pub tsc_khz: u64,
    /// Wall-clock nanoseconds since the Unix epoch at `boot_tsc`.
    pub wall_clock_ns: u64,
    /// Guest TSC at `wall_clock_ns`.
    pub boot_tsc: u64,
    /// The program handed over for the kernel to run (validated to lie in
    /// boot data), or an empty blob.
    pub initial_program: Blob,
    /// The initial files (a cpio "newc" archive, validated to lie in boot
    /// data), or an empty blob.
    pub initial_files: Blob,
}

impl BootParams {
    /// The memory map, sorted and non-overlapping.
    pub fn regions(&self) -> impl Iterator<Item = Region> + Clone {
        self.regions[..self.region_count].iter().filter_map(|raw| {
            // Every kind was checked by `validate`: none is skipped.
            let kind = MemoryKind::from_raw(raw.kind)?;
            Some(Region {
                start: raw.start,
                end: raw.start + raw.len,
                kind,
            })
        })
    }

    /// The regions of free RAM.
    pub fn usable(&self) -> impl Iterator<Item = Region> + Clone {
        self.regions().filter(|r| r.kind == MemoryKind::Usable)
    }

    /// Whether `[addr, addr + len)` lies inside one region of one of `kinds`.
    pub fn contains(&self, addr: u64, len: u64, kinds: &[MemoryKind]) -> bool {
        in_region(self, addr, len, kinds)
    }

    /// One past the highest RAM address in the memory map.
    pub fn ram_end(&self) -> u64 {
        self.regions[..self.region_count]
            .last()
            .map_or(0, |r| r.start + r.len)
    }
}

/// Why boot information was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BootInfoError {
    /// The magic number is wrong (not a Vessel boot info).
    BadMagic(u64),
    /// The host speaks another ABI version.
    VersionMismatch {
        /// Version found in the boot info.
        found: u32,
    },
    /// More regions than the struct holds, or none.
    BadRegionCount(u32),
    /// A region is empty, unaligned, wraps or exceeds the memory size.
    BadRegion(usize),
    /// A region has a kind this ABI does not define.
    UnknownKind(usize),
    /// Regions are unsorted or overlap.
    RegionsOverlap(usize),
    /// No usable memory at all.
    NoUsableMemory,
    /// The memory size is zero, unaligned or beyond [`MAX_MEMORY`].
    BadMemorySize(u64),
    /// The argument or environment strings are outside the boot data.
    StringsOutOfBounds,
    /// The TSC frequency is implausible.
    BadTscFrequency(u64),
    /// The initial program is not inside boot data.
    ProgramOutOfBounds,
    /// The initial files are not inside boot data.
    FilesOutOfBounds,
}

impl fmt::Display for BootInfoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadMagic(m) => write!(f, "bad boot-info magic {m:#x}"),
            Self::VersionMismatch { found } => write!(
                f,
                "boot info is ABI version {found}, this kernel speaks {}",
                vessel_abi::ABI_VERSION
            ),
            Self::BadRegionCount(n) => write!(f, "bad memory-region count {n}"),
            Self::BadRegion(i) => write!(f, "memory region {i} is malformed"),
            Self::UnknownKind(i) => write!(f, "memory region {i} has an unknown kind"),
            Self::RegionsOverlap(i) => write!(f, "memory region {i} overlaps or is out of order"),
            Self::NoUsableMemory => write!(f, "the memory map has no usable memory"),
            Self::BadMemorySize(s) => write!(f, "bad memory size {s:#x}"),
            Self::StringsOutOfBounds => write!(f, "argument or environment strings out of bounds"),
            Self::BadTscFrequency(k) => write!(f, "implausible TSC frequency {k} kHz"),
            Self::ProgramOutOfBounds => write!(f, "the initial program lies outside boot data"),
            Self::FilesOutOfBounds => write!(f, "the initial files lie outside boot data"),
        }
    }
}

/// Checks a copy of the boot information.
pub fn validate(info: &BootInfo) -> Result<BootParams, BootInfoError> {
    if info.magic != BOOT_INFO_MAGIC {
        return Err(BootInfoError::BadMagic(info.magic));
    }
    if info.abi_version != vessel_abi::ABI_VERSION {
        return Err(BootInfoError::VersionMismatch {
            found: info.abi_version,
        });
    }
    let size = info.memory_size;
    if size == 0 || !size.is_multiple_of(PAGE_SIZE) || size > MAX_MEMORY {
        return Err(BootInfoError::BadMemorySize(size));
    }
    let count = info.memory_region_count;
    if count == 0 || count as usize > MAX_MEMORY_REGIONS {
        return Err(BootInfoError::BadRegionCount(count));
    }
    let mut previous_end = 0;
    for (i, raw) in info.memory_regions[..count as usize].iter().enumerate() {
        MemoryKind::from_raw(raw.kind).ok_or(BootInfoError::UnknownKind(i))?;
        let end = raw
            .start
            .checked_add(raw.len)
            .ok_or(BootInfoError::BadRegion(i))?;
        let aligned = raw.start.is_multiple_of(PAGE_SIZE) && raw.len.is_multiple_of(PAGE_SIZE);
        if raw.len == 0 || !aligned || end > MAX_MEMORY {
            return Err(BootInfoError::BadRegion(i));
        }
        if raw.start < previous_end {
            return Err(BootInfoError::RegionsOverlap(i));
        }
        previous_end = end;
    }
    let params = BootParams {
        regions: info.memory_regions,
        region_count: count as usize,
        memory_size: size,
        args: info.args,
        env: info.env,
        tsc_khz: info.tsc_khz,
        wall_clock_ns: info.wall_clock_ns,
        boot_tsc: info.boot_tsc,
        initial_program: info.initial_program,
        initial_files: info.initial_files,
    };
    if params.usable().next().is_none() {
        return Err(BootInfoError::NoUsableMemory);
    }
    for list in [&info.args, &info.env] {
        check_strings(list, &params)?;
    }
    let in_boot_data = |blob: &Blob| {
        blob.len == 0 || in_region(&params, blob.addr, blob.len, &[MemoryKind::BootData])
    };
    if !in_boot_data(&info.initial_program) {
        return Err(BootInfoError::ProgramOutOfBounds);
    }
    if !in_boot_data(&info.initial_files) {
        return Err(BootInfoError::FilesOutOfBounds);
    }
    if !(MIN_TSC_KHZ..=MAX_TSC_KHZ).contains(&info.tsc_khz) {
        return Err(BootInfoError::BadTscFrequency(info.tsc_khz));
    }
    Ok(params)
}

/// Strings must lie entirely inside one boot-data or image region (the
/// Vessel VMM puts them in boot data below the image; on PVH, vessel-rt
/// unpacks the command line into a buffer in its own image).
fn check_strings(list: &StringList, params: &BootParams) -> Result<(), BootInfoError> {
    if list.len == 0 {
        return if list.count == 0 {
            Ok(())
        } else {
            Err(BootInfoError::StringsOutOfBounds)
        };
    }
    let kinds = [MemoryKind::BootData, MemoryKind::Image];
    if !in_region(params, list.addr, list.len, &kinds) || list.count > list.len {
        return Err(BootInfoError::StringsOutOfBounds);
    }
    Ok(())
}

/// Whether `[addr, addr + len)` lies inside one region of one of `kinds`.
fn in_region(params: &BootParams, addr: u64, len: u64, kinds: &[MemoryKind]) -> bool {
    let Some(end) = addr.checked_add(len) else {
        return false;
    };
    params
        .regions()
        .any(|r| kinds.contains(&r.kind) && r.start <= addr && end <= r.end)
}

/// Splits a packed string list into its strings.
///
/// The bytes must hold exactly `count` NUL-terminated strings; anything else
/// is refused (`None`) rather than guessed at.
pub fn split_strings(bytes: &[u8], count: u64) -> Option<impl Iterator<Item = &[u8]>> {
    let terminated = bytes.last().is_none_or(|&b| b == 0);
    let nuls = bytes.iter().filter(|&&b| b == 0).count() as u64;
    if !terminated || nuls != count {
        return None;
    }
    let body = bytes.split_last().map_or(&[][..], |(_, rest)| rest);
    Some(body.split(|&b| b == 0).take(count as usize))
}

#[cfg(test)]
mod tests {
    use super::*;
    use vessel_abi::boot::MemoryRegion;

    fn region(start: u64, len: u64, kind: MemoryKind) -> MemoryRegion {
        MemoryRegion {
            start,
            len,
            kind: kind as u32,
            reserved: 0,
        }
    }

    fn good() -> BootInfo {
        let mut regions = [MemoryRegion::default(); MAX_MEMORY_REGIONS];
        regions[0] = region(0, 0x20_0000, MemoryKind::BootData);
        regions[1] = region(0x20_0000, 0x10_0000, MemoryKind::Image);
        regions[2] = region(0x30_0000, 0x7d0_0000, MemoryKind::Usable);
        BootInfo {
            magic: BOOT_INFO_MAGIC,
            abi_version: vessel_abi::ABI_VERSION,
            memory_region_count: 3,
            memory_regions: regions,
            memory_size: 0x800_0000,
            args: StringList {
                addr: 0x9000,
                len: 6,
                count: 1,
            },
            env: StringList::default(),
            tsc_khz: 2_000_000,
            wall_clock_ns: 1,
            boot_tsc: 2,
            initial_program: Blob::default(),
            initial_files: Blob::default(),
        }
    }

    #[test]
    fn accepts_a_good_boot_info() {
        let p = validate(&good()).unwrap();
        assert_eq!(p.regions().count(), 3);
        assert_eq!(p.usable().count(), 1);
        assert_eq!(p.ram_end(), 0x800_0000);
    }

    #[test]
    fn rejects_malformed_fields() {
        type Case = (fn(&mut BootInfo), BootInfoError);
        let cases: [Case; 10] = [
            (|b| b.magic = 7, BootInfoError::BadMagic(7)),
            (
                |b| b.abi_version = 99,
                BootInfoError::VersionMismatch { found: 99 },
            ),
            (
                |b| b.memory_region_count = 0,
                BootInfoError::BadRegionCount(0),
            ),
            (
                |b| b.memory_region_count = 33,
                BootInfoError::BadRegionCount(33),
            ),
            (
                |b| b.memory_regions[1].start = 0x1f_0000,
                BootInfoError::RegionsOverlap(1),
            ),
            (
                |b| b.memory_regions[2].len = u64::MAX,
                BootInfoError::BadRegion(2),
            ),
            (
                |b| b.memory_regions[2].kind = 9,
                BootInfoError::UnknownKind(2),
            ),
            (
                |b| b.memory_regions[2].kind = 2,
                BootInfoError::NoUsableMemory,
            ),
            (
                |b| b.args.addr = 0x30_0000,
                BootInfoError::StringsOutOfBounds,
            ),
            (|b| b.tsc_khz = 0, BootInfoError::BadTscFrequency(0)),
        ];
        for (mutate, expected) in cases {
            let mut info = good();
            mutate(&mut info);
            assert_eq!(validate(&info).unwrap_err(), expected);
        }
    }

    #[test]
    fn checks_the_initial_program() {
        let mut info = good();
        info.initial_program = Blob {
            addr: 0x10_0000,
            len: 0x1000,
        };
        assert_eq!(validate(&info).unwrap().initial_program.len, 0x1000);
        info.initial_program = Blob {
            addr: 0x30_0000,
            len: 0x1000,
        };
        assert_eq!(
            validate(&info).unwrap_err(),
            BootInfoError::ProgramOutOfBounds
        );
        info.initial_program = Blob {
            addr: u64::MAX,
            len: 2,
        };
        assert_eq!(
            validate(&info).unwrap_err(),
            BootInfoError::ProgramOutOfBounds
        );
    }

    #[test]
    fn checks_the_initial_files() {
        let mut info = good();
        info.initial_files = Blob {
            addr: 0x10_0000,
            len: 0x2000,
        };
        assert_eq!(validate(&info).unwrap().initial_files.len, 0x2000);
        info.initial_files = Blob {
            addr: 0x30_0000,
            len: 1,
        };
        assert_eq!(
            validate(&info).unwrap_err(),
            BootInfoError::FilesOutOfBounds
        );
    }

    #[test]
    fn rejects_wrapping_strings() {
        let mut info = good();
        info.env = StringList {
            addr: u64::MAX - 2,
            len: 8,
            count: 1,
        };
        assert_eq!(
            validate(&info).unwrap_err(),
            BootInfoError::StringsOutOfBounds
        );
    }

    #[test]
    fn splits_packed_strings() {
        let v: Vec<&[u8]> = split_strings(b"hello\0a b\0\0", 3).unwrap().collect();
        assert_eq!(v, [&b"hello"[..], b"a b", b""]);
        assert_eq!(split_strings(b"", 0).unwrap().count(), 0);
        assert!(split_strings(b"abc", 1).is_none(), "missing terminator");
        assert!(split_strings(b"a\0b\0", 1).is_none(), "count mismatch");
    }
}
