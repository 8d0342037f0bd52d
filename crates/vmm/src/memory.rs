//! Guest RAM: its layout and its lazily mapped backing memory.
//!
//! RAM is `[0, min(size, 3 GiB))` plus, for larger VMs,
//! `[4 GiB, 4 GiB + (size - 3 GiB))`; the 3–4 GiB hole is left for the
//! LAPIC/IOAPIC MMIO. The backing memory is anonymous, private,
//! `MAP_NORESERVE` memory: nothing is zeroed or copied up front, pages appear
//! when the guest (or the loader) first touches them.

use kvm_bindings::kvm_userspace_memory_region;
use kvm_ioctls::VmFd;
use vessel_abi::layout::MEMORY_GRANULE;
use vm_memory::{GuestAddress, GuestMemoryBackend, GuestMemoryMmap, GuestMemoryRegion};

use crate::error::MemoryError;

/// Smallest guest memory size (8 MiB).
pub const MIN_MEMORY: u64 = 8 << 20;
/// Largest guest memory size (64 GiB), bounded by the room reserved for the
/// early direct-map page tables (see [`crate::boot`]).
pub const MAX_MEMORY: u64 = 64 << 30;
/// End of the low RAM range: the MMIO hole starts here.
pub const LOW_RAM_END: u64 = 3 << 30;
/// Start of the high RAM range: the MMIO hole ends here.
pub const HIGH_RAM_START: u64 = 4 << 30;
/// Host page size assumed for residency accounting.
const HOST_PAGE: u64 = 4096;

/// One contiguous range of guest RAM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RamRange {
    /// First guest-physical address.
    pub start: u64,
    /// Length in bytes.
    pub len: u64,
}

impl RamRange {
    /// One past the last address.
    pub fn end(&self) -> u64 {
        self.start + self.len
    }
}

/// Validates a requested memory size and rounds it up to
/// [`MEMORY_GRANULE`].
pub fn normalize_size(requested: u64) -> Result<u64, MemoryError> {
    if requested < MIN_MEMORY {
        return Err(MemoryError::TooSmall {
            requested,
            minimum: MIN_MEMORY,
        });
    }
    if requested > MAX_MEMORY {
        return Err(MemoryError::TooLarge {
            requested,
            maximum: MAX_MEMORY,
        });
    }
    // Cannot overflow: requested <= MAX_MEMORY.
    Ok(requested.div_ceil(MEMORY_GRANULE) * MEMORY_GRANULE)
}

/// The RAM ranges of a VM of `size` bytes (already normalized), sorted.
pub fn ram_ranges(size: u64) -> Vec<RamRange> {
    let low = size.min(LOW_RAM_END);
    let mut ranges = vec![RamRange { start: 0, len: low }];
    if size > LOW_RAM_END {
        ranges.push(RamRange {
            start: HIGH_RAM_START,
            len: size - LOW_RAM_END,
        });
    }
    ranges
}

/// Formats a byte count for messages: `8 MiB`, `3 KiB`, `100 bytes`.
pub fn format_size(bytes: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    for (unit, name) in UNITS {
        if bytes >= unit && bytes.is_multiple_of(unit) {
            return format!("{} {name}", bytes / unit);
        }
    }
    if bytes >= 1 << 20 {
        return format!("{:.1} MiB", bytes as f64 / (1u64 << 20) as f64);
    }
    format!("{bytes} bytes")
}

/// The guest's RAM: backing memory plus its layout.
#[derive(Debug)]
pub struct GuestRam {
    mem: GuestMemoryMmap,
    size: u64,
    ranges: Vec<RamRange>,
}

impl GuestRam {
    /// Maps (lazily) `size` bytes of guest RAM. `size` must come from
    /// [`normalize_size`].
    pub fn new(size: u64) -> Result<Self, MemoryError> {
        let ranges = ram_ranges(size);
        let mut spec = Vec::with_capacity(ranges.len());
        for r in &ranges {
            let len = usize::try_from(r.len).map_err(|e| MemoryError::Map(e.to_string()))?;
            spec.push((GuestAddress(r.start), len));
        }
        let mem =
            GuestMemoryMmap::from_ranges(&spec).map_err(|e| MemoryError::Map(e.to_string()))?;
        Ok(Self { mem, size, ranges })
    }

    /// The backing memory, for reads and writes through vm-memory.
    pub fn memory(&self) -> &GuestMemoryMmap {
        &self.mem
    }

    /// Total RAM in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The RAM ranges, sorted.
    pub fn ranges(&self) -> &[RamRange] {
        &self.ranges
    }

    /// RAM below the 3 GiB hole, in bytes.
    pub fn low_size(&self) -> u64 {
        self.ranges[0].len
    }

    /// Registers every RAM range with KVM as one memory slot each.
    pub fn register(&self, vm: &VmFd) -> Result<(), MemoryError> {
        for (slot, region) in self.mem.iter().enumerate() {
            let host = region
                .get_host_address(vm_memory::MemoryRegionAddress(0))
                .map_err(|e| MemoryError::Map(e.to_string()))?;
            let desc = kvm_userspace_memory_region {
                slot: slot as u32,
                flags: 0,
                guest_phys_addr: region.start_addr().0,
                memory_size: region.len(),
                userspace_addr: host as u64,
            };
            // SAFETY: `host..host + len` is a live mapping owned by `self.mem`.
            // `Vm` declares the KVM VM (and vCPU) fields before the memory, so
            // they are dropped first and the kernel never sees this mapping
            // freed while the VM can still access it.
            unsafe { vm.set_user_memory_region(desc) }
                .map_err(|e| MemoryError::Register(e.into()))?;
        }
        Ok(())
    }

    /// Bytes of guest RAM actually resident in the host (touched by the
    /// guest or the loader), measured with `mincore(2)`.
    pub fn resident_bytes(&self) -> std::io::Result<u64> {
        // Query in windows so the residency vector stays small.
        const WINDOW: u64 = 64 << 20;
        let mut vec = vec![0u8; (WINDOW / HOST_PAGE) as usize];
        let mut pages = 0u64;
        for region in self.mem.iter() {
            let base = region
                .get_host_address(vm_memory::MemoryRegionAddress(0))
                .map_err(std::io::Error::other)?;
            let len = region.len();
            let mut off = 0u64;
            while off < len {
                let chunk = (len - off).min(WINDOW);
                let n = chunk.div_ceil(HOST_PAGE) as usize;
                let addr = base.wrapping_add(off as usize);
                // SAFETY: `addr..addr + chunk` lies inside the live mapping of
                // this region (page-aligned: regions are mmap'd and `off` is a
                // multiple of WINDOW), and `vec` has room for the
                // `chunk / HOST_PAGE` status bytes mincore writes.
                let rc = unsafe { libc::mincore(addr.cast(), chunk as usize, vec.as_mut_ptr()) };
                if rc != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                pages += vec[..n].iter().filter(|&&b| b & 1 != 0).count() as u64;
                off += chunk;
            }
        }
        Ok(pages * HOST_PAGE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vm_memory::Bytes;

    #[test]
    fn sizes_round_up_and_are_bounded() {
        assert_eq!(normalize_size(8 << 20).unwrap(), 8 << 20);
        assert_eq!(normalize_size((8 << 20) + 1).unwrap(), 10 << 20);
        assert!(matches!(
            normalize_size(3 << 10),
            Err(MemoryError::TooSmall { .. })
        ));
        assert!(matches!(
            normalize_size(MAX_MEMORY + 1),
            Err(MemoryError::TooLarge { .. })
        ));
        assert_eq!(
            normalize_size(3 << 10).unwrap_err().to_string(),
            "guest memory size 3 KiB is too small: the minimum is 8 MiB"
        );
    }

    #[test]
    fn ranges_leave_the_mmio_hole() {
        assert_eq!(
            ram_ranges(128 << 20),
            vec![RamRange {
                start: 0,
                len: 128 << 20
            }]
        );
        assert_eq!(
            ram_ranges(5 << 30),
            vec![
                RamRange {
                    start: 0,
                    len: 3 << 30
                },
                RamRange {
                    start: 4 << 30,
                    len: 2 << 30
                }
            ]
        );
    }

    #[test]
    fn memory_is_lazy_and_residency_is_measured() {
        let ram = GuestRam::new(64 << 20).unwrap();
        let before = ram.resident_bytes().unwrap();
        assert_eq!(before, 0);
        ram.memory()
            .write_slice(&[1u8; 10], GuestAddress(0x30_0000))
            .unwrap();
        assert_eq!(ram.resident_bytes().unwrap(), 4096);
    }

    #[test]
    fn format_size_is_readable() {
        assert_eq!(format_size(8 << 20), "8 MiB");
        assert_eq!(format_size(3 << 10), "3 KiB");
        assert_eq!(format_size(5), "5 bytes");
        assert_eq!(format_size(1 << 30), "1 GiB");
    }
}
