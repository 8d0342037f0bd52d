//! Error types. Every error renders as one precise line.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong before (or while) a guest runs, other than
/// the guest itself crashing (see [`crate::GuestEnd::Crashed`]).
#[derive(Debug, thiserror::Error)]
pub enum VmmError {
    /// `/dev/kvm` could not be opened.
    #[error("cannot open /dev/kvm: {0}; is KVM available?")]
    OpenKvm(io::Error),
    /// A KVM ioctl failed.
    #[error("{op} failed: {error}")]
    Kvm {
        /// The operation that failed (e.g. `KVM_CREATE_VM`).
        op: &'static str,
        /// The OS error.
        error: io::Error,
    },
    /// Guest memory could not be set up.
    #[error(transparent)]
    Memory(#[from] MemoryError),
    /// The guest image could not be loaded.
    #[error("cannot load image {}: {error}", path.display())]
    Image {
        /// The image path as given.
        path: PathBuf,
        /// What is wrong with it.
        error: LoadError,
    },
    /// The boot structures could not be built.
    #[error(transparent)]
    Boot(#[from] BootError),
    /// `KVM_RUN` itself failed (not a guest fault).
    #[error("KVM_RUN failed: {0}")]
    Run(io::Error),
    /// The seccomp filter could not be installed.
    #[error(transparent)]
    Seccomp(#[from] crate::seccomp::SeccompError),
    /// The `--timeout` timer could not be armed.
    #[error("cannot arm the run-time limit timer: {0}")]
    Watchdog(io::Error),
    /// Host files could not be copied in or out (`--volume`, `--copy-out`).
    #[error(transparent)]
    Files(#[from] crate::files::FilesError),
}

impl VmmError {
    /// Wraps a KVM ioctl error.
    pub(crate) fn kvm(op: &'static str, error: impl Into<io::Error>) -> Self {
        VmmError::Kvm {
            op,
            error: error.into(),
        }
    }
}

/// Guest memory configuration or allocation errors.
#[derive(Debug, thiserror::Error)]
pub enum MemoryError {
    /// The requested size is below the minimum.
    #[error("guest memory size {} is too small: the minimum is {}", crate::memory::format_size(*requested), crate::memory::format_size(*minimum))]
    TooSmall {
        /// Requested size in bytes.
        requested: u64,
        /// Minimum size in bytes.
        minimum: u64,
    },
    /// The requested size is above the maximum.
    #[error("guest memory size {} is too large: the maximum is {}", crate::memory::format_size(*requested), crate::memory::format_size(*maximum))]
    TooLarge {
        /// Requested size in bytes.
        requested: u64,
        /// Maximum size in bytes.
        maximum: u64,
    },
    /// Mapping the backing memory failed.
    #[error("cannot map guest memory: {0}")]
    Map(String),
    /// Registering the memory with KVM failed.
    #[error("KVM_SET_USER_MEMORY_REGION failed: {0}")]
    Register(io::Error),
}

/// Why an ELF image cannot be loaded. Segment indices are program-header
/// indices.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be opened.
    #[error("cannot open: {0}")]
    Open(io::Error),
    /// Reading the file failed.
    #[error("read error: {0}")]
    Read(io::Error),
    /// The file does not start with the ELF magic.
    #[error("not an ELF file")]
    NotElf,
    /// `EI_CLASS` is not `ELFCLASS64`.
    #[error("not a 64-bit ELF file ({})", describe_class(*.0))]
    Not64Bit(u8),
    /// `EI_DATA` is not `ELFDATA2LSB`.
    #[error("not a little-endian ELF file (data encoding {0})")]
    NotLittleEndian(u8),
    /// `e_machine` is not `EM_X86_64`.
    #[error("not an x86_64 ELF file (machine is {name}, {machine})")]
    WrongMachine {
        /// The raw `e_machine`.
        machine: u16,
        /// Its name.
        name: &'static str,
    },
    /// `e_type` is neither `ET_EXEC` nor `ET_DYN`.
    #[error("not an executable or static-PIE ELF file (type is {name}, {e_type})")]
    WrongType {
        /// The raw `e_type`.
        e_type: u16,
        /// Its name.
        name: &'static str,
    },
    /// The ELF header is malformed.
    #[error("malformed ELF header: {0}")]
    BadHeader(String),
    /// The program-header table lies (partly) outside the file.
    #[error(
        "program header table (offset {offset:#x}, {count} entries) lies outside the file ({file_len} bytes)"
    )]
    PhdrsOutsideFile {
        /// `e_phoff`.
        offset: u64,
        /// `e_phnum`.
        count: u16,
        /// File size.
        file_len: u64,
    },
    /// No `PT_LOAD` segment with a non-zero size.
    #[error("no loadable segments")]
    NoLoadableSegments,
    /// A segment's file range lies outside the file.
    #[error(
        "segment {index}: file range {offset:#x}+{filesz:#x} lies outside the file ({file_len} bytes)"
    )]
    SegmentOutsideFile {
        /// Program-header index.
        index: usize,
        /// `p_offset`.
        offset: u64,
        /// `p_filesz`.
        filesz: u64,
        /// File size.
        file_len: u64,
    },
    /// `p_filesz > p_memsz`.
    #[error("segment {index}: file size {filesz:#x} exceeds memory size {memsz:#x}")]
    FileszExceedsMemsz {
        /// Program-header index.
        index: usize,
        /// `p_filesz`.
        filesz: u64,
        /// `p_memsz`.
        memsz: u64,
    },
    /// `ET_EXEC`: `p_vaddr != KERNEL_VIRT_BASE + p_paddr`.
    #[error(
        "segment {index}: virtual address {vaddr:#x} is not KERNEL_VIRT_BASE + physical address {paddr:#x}"
    )]
    NotInKernelWindow {
        /// Program-header index.
        index: usize,
        /// `p_vaddr`.
        vaddr: u64,
        /// `p_paddr`.
        paddr: u64,
    },
    /// A segment starts below `IMAGE_MIN_PHYS`.
    #[error(
        "segment {index}: physical address {paddr:#x} is below the image minimum {:#x}",
        vessel_abi::layout::IMAGE_MIN_PHYS
    )]
    BelowImageMin {
        /// Program-header index.
        index: usize,
        /// Physical load address.
        paddr: u64,
    },
    /// A segment ends beyond the 1 GiB kernel window (or its address
    /// arithmetic overflows).
    #[error(
        "segment {index}: physical range {start:#x}..{end:#x} lies outside the 1 GiB kernel window"
    )]
    OutsideKernelWindow {
        /// Program-header index.
        index: usize,
        /// Physical start.
        start: u64,
        /// Physical end (saturated on overflow).
        end: u64,
    },
    /// Two segments overlap in physical memory.
    #[error("segments {first} and {second} overlap")]
    OverlappingSegments {
        /// Program-header index of one.
        first: usize,
        /// Program-header index of the other.
        second: usize,
    },
    /// The image does not fit in guest RAM.
    #[error("image does not fit in memory: it needs {} of guest memory (it ends at {end:#x}) but the VM has {}", crate::memory::format_size(*needs), crate::memory::format_size(*has))]
    TooBig {
        /// Smallest VM size that would hold it.
        needs: u64,
        /// Physical end of the image.
        end: u64,
        /// The VM's RAM below the 3 GiB hole.
        has: u64,
    },
    /// The entry point is not inside an executable loadable segment.
    #[error("entry point {0:#x} is not inside an executable loadable segment")]
    BadEntry(u64),
    /// The dynamic section of a PIE is malformed.
    #[error("malformed dynamic section: {0}")]
    BadDynamic(String),
    /// A relocation type other than `R_X86_64_RELATIVE`.
    #[error("unsupported relocation type R_{name} ({r_type})")]
    UnsupportedRelocation {
        /// Raw type.
        r_type: u32,
        /// Its name.
        name: &'static str,
    },
    /// A relocation targets memory outside the loaded segments.
    #[error("relocation at offset {0:#x} lies outside the loaded segments")]
    RelocationOutOfImage(u64),
    /// Writing the image into guest memory failed.
    #[error("cannot write image into guest memory: {0}")]
    GuestWrite(String),
}

/// Errors building the boot structures.
#[derive(Debug, thiserror::Error)]
pub enum BootError {
    /// The argument and environment strings do not fit below `IMAGE_MIN_PHYS`.
    #[error("arguments and environment are too large: {needs} bytes, at most {available} fit")]
    ArgsTooLarge {
        /// Bytes needed.
        needs: u64,
        /// Bytes available.
        available: u64,
    },
    /// An argument or environment string contains a NUL byte.
    #[error("argument or environment string contains a NUL byte: {0:?}")]
    NulInString(String),
    /// An environment entry is not `KEY=VALUE`.
    #[error("environment entry {0:?} is not KEY=VALUE")]
    BadEnv(String),
    /// Writing boot structures into guest memory failed.
    #[error("cannot write boot structures: {0}")]
    GuestWrite(String),
    /// The image spans more 2 MiB chunks than the boot page tables have
    /// room to map page by page.
    #[error(
        "the image spans {chunks} 2 MiB chunks of memory; the boot page tables map at most {max}"
    )]
    ImageTooLargeForPageTables {
        /// Chunks the image touches.
        chunks: usize,
        /// Most chunks the tables can map.
        max: usize,
    },
    /// `--volume` was given for a Vessel image (only the vessel-linux
    /// kernel unpacks initial files).
    #[error("--volume needs a Linux program: Vessel images have no file system to copy into")]
    VolumesNeedLinux,
    /// The Linux program (and the `--volume` files) do not fit in guest
    /// memory beside the kernel.
    #[error(
        "the program and its files ({program} bytes) and the kernel need {needs} bytes of low memory; the VM has {available}: raise --memory"
    )]
    ProgramTooLarge {
        /// Size of the program and the files.
        program: u64,
        /// Low memory needed.
        needs: u64,
        /// Low memory available.
        available: u64,
    },
}

/// Describes an `EI_CLASS` value.
fn describe_class(class: u8) -> String {
    match class {
        1 => "ELFCLASS32, 32-bit".to_string(),
        c => format!("class {c}"),
    }
}
