//! VM configuration, construction and the run loop.

use std::fs::File;
use std::io::{Cursor, Read};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use kvm_ioctls::{Cap, Kvm, SyncReg, VcpuExit, VcpuFd, VmFd};
use tracing::{debug, info};
use vessel_abi::boot::Blob;
use vessel_abi::hypercall::{ExitReason, is_hypercall_port};
use vm_memory::{Bytes, GuestAddress};

use crate::boot::{self, BOOT_INFO_ADDR, BootParams};
use crate::console::{ConsoleSink, StdConsole};
use crate::cpu::{self, CrashReport, RegisterDump};
use crate::error::{BootError, VmmError};
use crate::files::{self, CopyOutTarget, Transfer, Volume};
use crate::hypercall::{Effect, HypercallServer};
use crate::input::InputWaker;
use crate::loader::{self, LoadedImage};
use crate::memory::{GuestRam, normalize_size};
use crate::stats::{ExitCounts, RunStats, tsc_delta};
use crate::watchdog::Watchdog;

/// Default guest memory size: 128 MiB.
pub const DEFAULT_MEMORY_BYTES: u64 = 128 << 20;

/// Which interrupt controllers KVM emulates in the kernel.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IrqChip {
    /// In-kernel LAPIC only (`KVM_CAP_SPLIT_IRQCHIP`); the PIC and IOAPIC
    /// are not emulated (their ports and MMIO read as all-ones and ignore
    /// writes). The LAPIC timer (TSC-deadline), IPIs and in-kernel `HLT`
    /// work as with [`IrqChip::Full`]. The default: tearing down the full
    /// irqchip's PIC/IOAPIC costs milliseconds (see the crate README).
    #[default]
    Split,
    /// In-kernel LAPIC, IOAPIC and PIC (`KVM_CREATE_IRQCHIP`).
    Full,
}

/// What to run and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VmConfig {
    /// Guest memory in bytes; rounded up to `MEMORY_GRANULE`, at least 8 MiB.
    pub memory_bytes: u64,
    /// The guest image (an x86-64 ELF).
    pub image_path: PathBuf,
    /// Program arguments after `argv[0]` (which is the image's file name).
    pub args: Vec<String>,
    /// Environment as `KEY=VALUE` strings.
    pub env: Vec<String>,
    /// Log the phases of the run at `info` level (otherwise `debug`).
    pub verbose: bool,
    /// In-kernel interrupt controllers.
    pub irqchip: IrqChip,
    /// Confine the thread that runs the vCPU with the seccomp filter of
    /// [`crate::seccomp`] before the first `KVM_RUN`. Irreversible for that
    /// thread, so off in [`VmConfig::new`]; the `vessel` command turns it on.
    pub seccomp: bool,
    /// Stop the guest (with [`GuestEnd::TimedOut`]) if it runs longer.
    pub timeout: Option<Duration>,
    /// Run `image_path` as a Linux program: boot this kernel image (the
    /// vessel-linux kernel `vessel` embeds) and hand it the file at
    /// `image_path` as its initial program (`BootInfo::initial_program`).
    pub linux_kernel: Option<&'static [u8]>,
    /// Host directories copied into the guest at boot (`--volume`), as
    /// its initial files (`BootInfo::initial_files`).
    pub volumes: Vec<Volume>,
    /// Guest paths the guest hands back when it ends (`--copy-out`); the
    /// guest learns them as `VESSEL_COPY_OUT_<slot>=<path>` in its
    /// environment, and [`RunOutcome::copied_out`] holds what it sent.
    pub copy_out: Vec<CopyOutTarget>,
    /// Single-step the guest (`KVM_GUESTDBG_SINGLESTEP`) and record where
    /// each instruction it executes leaves RIP, into [`RunOutcome::trace`]:
    /// a profile of guest code on hosts that emulate it, where its cost
    /// is its instruction count. Slow (a VM exit per instruction).
    pub trace_instructions: bool,
}

impl VmConfig {
    /// A configuration with defaults: 128 MiB, no arguments, no environment.
    pub fn new(image_path: impl Into<PathBuf>) -> Self {
        Self {
            memory_bytes: DEFAULT_MEMORY_BYTES,
            image_path: image_path.into(),
            args: Vec::new(),
            env: Vec::new(),
            verbose: false,
            irqchip: IrqChip::default(),
            seccomp: false,
            timeout: None,
            linux_kernel: None,
            volumes: Vec::new(),
            copy_out: Vec::new(),
            trace_instructions: false,
        }
    }

    /// Enables or disables the seccomp filter on the vCPU thread.
    pub fn with_seccomp(mut self, seccomp: bool) -> Self {
        self.seccomp = seccomp;
        self
    }

    /// Sets a run-time limit.
    pub fn with_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = timeout;
        self
    }

    /// Selects the in-kernel interrupt controllers.
    pub fn with_irqchip(mut self, irqchip: IrqChip) -> Self {
        self.irqchip = irqchip;
        self
    }

    /// Sets the memory size in bytes.
    pub fn with_memory(mut self, bytes: u64) -> Self {
        self.memory_bytes = bytes;
        self
    }

    /// Sets the program arguments (after `argv[0]`).
    pub fn with_args<I: IntoIterator<Item = S>, S: Into<String>>(mut self, args: I) -> Self {
        self.args = args.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the environment (`KEY=VALUE` strings).
    pub fn with_env<I: IntoIterator<Item = S>, S: Into<String>>(mut self, env: I) -> Self {
        self.env = env.into_iter().map(Into::into).collect();
        self
    }

    /// Enables or disables verbose logging.
    pub fn with_verbose(mut self, verbose: bool) -> Self {
        self.verbose = verbose;
        self
    }

    /// `argv[0]`: the image's file name, or for a Linux program the path as
    /// given (what a shell passes to `execve`).
    fn argv0(&self) -> String {
        let path = self.image_path.to_string_lossy().into_owned();
        if self.linux_kernel.is_some() {
            return path;
        }
        self.image_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or(path)
    }
}

/// How the guest ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GuestEnd {
    /// The guest made the `Exit` hypercall.
    Exited {
        /// Its exit code (the process exit status is `code & 0xff`).
        code: i32,
        /// Normal exit or panic.
        reason: ExitReason,
    },
    /// The guest crashed (triple fault, failed entry, halt, unexpected exit).
    Crashed(CrashReport),
    /// The guest ran longer than [`VmConfig::timeout`] and was stopped.
    TimedOut {
        /// The limit.
        limit: Duration,
        /// Where the guest was when it was stopped.
        registers: RegisterDump,
    },
}

/// The result of a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunOutcome {
    /// How the guest ended.
    pub end: GuestEnd,
    /// Timings, exit counts and memory use.
    pub stats: RunStats,
    /// What the guest handed back for each `copy_out` target (`None`: it
    /// sent nothing complete), to be written with
    /// [`files::write_copy_outs`].
    pub copied_out: Vec<Option<Transfer>>,
    /// With [`VmConfig::trace_instructions`]: the guest's instruction trace.
    pub trace: Option<InstructionTrace>,
}

/// Guest instructions to record at most (8 bytes each): about 5 minutes of
/// single-stepping at 20 µs per step.
pub const MAX_TRACED_INSTRUCTIONS: usize = 16 << 20;

/// The guest's instruction trace ([`VmConfig::trace_instructions`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InstructionTrace {
    /// RIP after each single step, in order: the guest-virtual address of
    /// the next instruction (a fault or interrupt shows its handler).
    pub rips: Vec<u64>,
    /// The guest ran past [`MAX_TRACED_INSTRUCTIONS`]; the rest was not
    /// recorded.
    pub truncated: bool,
}

impl InstructionTrace {
    /// Room for a million instructions, allocated before the vCPU thread
    /// is confined: a buffer this large is its own mapping, which grows
    /// with `mremap`, where a small one would grow its thread's heap arena
    /// with `mprotect`, which the seccomp filter forbids.
    fn new() -> Self {
        Self {
            rips: Vec::with_capacity(1 << 20),
            truncated: false,
        }
    }

    fn record(&mut self, rip: u64) {
        if self.rips.len() < MAX_TRACED_INSTRUCTIONS {
            self.rips.push(rip);
        } else {
            self.truncated = true;
        }
    }
}

/// A VM with one vCPU, ready to run its guest once.
///
/// Fields are dropped in declaration order: the vCPU and the VM go before the
/// guest memory they reference.
#[derive(Debug)]
pub struct Vm {
    vcpu: VcpuFd,
    /// Shared (weakly) with the input waker, which signals interrupts.
    vm: Arc<VmFd>,
    #[allow(dead_code)] // kept alive for the VM
    kvm: Kvm,
    ram: GuestRam,
    sync_regs: bool,
    tsc_khz: u64,
    image: LoadedImage,
    verbose: bool,
    seccomp: bool,
    timeout: Option<Duration>,
    copy_out_slots: usize,
    /// The instruction trace being recorded, if asked for.
    trace: Option<InstructionTrace>,
    stats: RunStats,
    started: Instant,
}

/// Memory kept free between the kernel image and the program, at least, for
/// the kernel's own use.
const KERNEL_WORKSPACE: u64 = 4 << 20;

/// Puts the Linux program at `path` and the initial files (`files`,
/// empty for none) at the top of low RAM, the files just below the
/// program, above the kernel image (`image_end`) and its workspace; returns
/// where each lies.
fn place_program_and_files(
    file: &mut File,
    path: &Path,
    files: &[u8],
    ram: &GuestRam,
    image_end: u64,
) -> Result<(Blob, Option<Blob>), VmmError> {
    let mut program = Vec::new();
    file.read_to_end(&mut program)
        .map_err(|e| image_error(path, crate::error::LoadError::Open(e)))?;
    let total = program.len() as u64 + files.len() as u64 + 4096;
    let too_large = || BootError::ProgramTooLarge {
        program: total,
        needs: image_end + KERNEL_WORKSPACE + total,
        available: ram.low_size(),
    };
    let program_at = ram
        .low_size()
        .checked_sub(program.len() as u64)
        .map(|a| a / 4096 * 4096)
        .ok_or_else(too_large)?;
    let files_at = program_at
        .checked_sub(files.len() as u64)
        .map(|a| a / 4096 * 4096)
        .filter(|&a| a >= image_end + KERNEL_WORKSPACE)
        .ok_or_else(too_large)?;
    let write = |bytes: &[u8], at: u64, what: &str| {
        ram.memory()
            .write_slice(bytes, GuestAddress(at))
            .map_err(|e| BootError::GuestWrite(format!("{what}: {e}")))
    };
    write(&program, program_at, "the program")?;
    let program = Blob {
        addr: program_at,
        len: program.len() as u64,
    };
    if files.is_empty() {
        return Ok((program, None));
    }
    write(files, files_at, "the initial files")?;
    let files = Blob {
        addr: files_at,
        len: files.len() as u64,
    };
    Ok((program, Some(files)))
}

fn image_error(path: &Path, error: crate::error::LoadError) -> VmmError {
    VmmError::Image {
        path: path.to_path_buf(),
        error,
    }
}

impl Vm {
    /// Runs the guest `config` describes to its end, with console output on
    /// the host's stdout/stderr.
    pub fn run(config: VmConfig) -> Result<RunOutcome, VmmError> {
        Self::new(&config)?.run_to_end(&mut StdConsole::new())
    }

    /// Like [`Vm::run`], with console output going to `console`.
    pub fn run_with_console(
        config: VmConfig,
        console: &mut dyn ConsoleSink,
    ) -> Result<RunOutcome, VmmError> {
        Self::new(&config)?.run_to_end(console)
    }

    /// Creates the VM, loads the image and sets up the vCPU, without running
    /// it.
    pub fn new(config: &VmConfig) -> Result<Self, VmmError> {
        let started = Instant::now();
        let memory_size = normalize_size(config.memory_bytes)?;

        // VM creation.
        let kvm = Kvm::new().map_err(|e| VmmError::OpenKvm(e.into()))?;
        let vm = kvm
            .create_vm()
            .map_err(|e| VmmError::kvm("KVM_CREATE_VM", e))?;
        let ram = GuestRam::new(memory_size)?;
        ram.register(&vm)?;
        match config.irqchip {
            IrqChip::Full => vm
                .create_irq_chip()
                .map_err(|e| VmmError::kvm("KVM_CREATE_IRQCHIP", e))?,
            IrqChip::Split => {
                let mut cap = kvm_bindings::kvm_enable_cap {
                    cap: kvm_bindings::KVM_CAP_SPLIT_IRQCHIP,
                    ..Default::default()
                };
                // Number of IOAPIC routes reserved for userspace.
                cap.args[0] = 24;
                vm.enable_cap(&cap)
                    .map_err(|e| VmmError::kvm("KVM_ENABLE_CAP(KVM_CAP_SPLIT_IRQCHIP)", e))?;
            }
        }
        let t_created = Instant::now();

        // Image (or the Linux kernel and its program) and page tables.
        let path = &config.image_path;
        let open =
            || File::open(path).map_err(|e| image_error(path, crate::error::LoadError::Open(e)));
        let (image, initial_program, initial_files) = match config.linux_kernel {
            None => {
                if !config.volumes.is_empty() {
                    return Err(BootError::VolumesNeedLinux.into());
                }
                let image = loader::load(&mut open()?, ram.memory(), ram.low_size())
                    .map_err(|e| image_error(path, e))?;
                (image, None, None)
            }
            Some(kernel) => {
                let kernel_path = Path::new("<vessel-linux kernel built into vessel>");
                let image = loader::load(&mut Cursor::new(kernel), ram.memory(), ram.low_size())
                    .map_err(|e| image_error(kernel_path, e))?;
                let files = if config.volumes.is_empty() {
                    Vec::new()
                } else {
                    files::pack_volumes(&config.volumes)?
                };
                let (program, files) =
                    place_program_and_files(&mut open()?, path, &files, &ram, image.phys_end)?;
                (image, Some(program), files)
            }
        };
        boot::write_gdt(ram.memory())?;
        boot::write_page_tables(ram.memory(), ram.ranges(), &image.segments)?;
        let t_loaded = Instant::now();

        // vCPU.
        let mut vcpu = vm
            .create_vcpu(0)
            .map_err(|e| VmmError::kvm("KVM_CREATE_VCPU", e))?;
        vcpu.set_cpuid2(&cpu::guest_cpuid(&kvm)?)
            .map_err(|e| VmmError::kvm("KVM_SET_CPUID2", e))?;
        let sregs = vcpu
            .get_sregs()
            .map_err(|e| VmmError::kvm("KVM_GET_SREGS", e))?;
        vcpu.set_sregs(&cpu::long_mode_sregs(sregs))
            .map_err(|e| VmmError::kvm("KVM_SET_SREGS", e))?;
        vcpu.set_regs(&cpu::entry_regs(image.entry, BOOT_INFO_ADDR))
            .map_err(|e| VmmError::kvm("KVM_SET_REGS", e))?;
        let tsc_khz = u64::from(
            vcpu.get_tsc_khz()
                .map_err(|e| VmmError::kvm("KVM_GET_TSC_KHZ", e))?,
        );
        let sync_regs = kvm.check_extension(Cap::SyncRegs);
        if sync_regs {
            vcpu.set_sync_valid_reg(SyncReg::Register);
        }
        let mut args = Vec::with_capacity(config.args.len() + 1);
        args.push(config.argv0());
        args.extend(config.args.iter().cloned());
        let mut env = config.env.clone();
        for (slot, target) in config.copy_out.iter().enumerate() {
            files::check_guest_path(&target.guest)?;
            env.push(format!("VESSEL_COPY_OUT_{slot}={}", target.guest));
        }
        boot::write_boot_info(
            ram.memory(),
            &BootParams {
                ranges: ram.ranges(),
                memory_size,
                image: (image.phys_start, image.phys_end),
                args: &args,
                env: &env,
                tsc_khz,
                initial_program,
                initial_files,
            },
        )?;
        let t_ready = Instant::now();

        let stats = RunStats {
            vm_create: t_created - started,
            load: t_loaded - t_created,
            vcpu_setup: t_ready - t_loaded,
            guest_size_kib: memory_size / 1024,
            tsc_khz,
            ..Default::default()
        };
        Ok(Self {
            vcpu,
            vm: Arc::new(vm),
            kvm,
            ram,
            sync_regs,
            tsc_khz,
            image,
            verbose: config.verbose,
            seccomp: config.seccomp,
            timeout: config.timeout,
            copy_out_slots: config.copy_out.len(),
            trace: config.trace_instructions.then(InstructionTrace::new),
            stats,
            started,
        })
    }

    /// The loaded image.
    pub fn image(&self) -> &LoadedImage {
        &self.image
    }

    /// The guest RAM.
    pub fn ram(&self) -> &GuestRam {
        &self.ram
    }

    /// Runs the guest until it exits or crashes.
    pub fn run_to_end(mut self, console: &mut dyn ConsoleSink) -> Result<RunOutcome, VmmError> {
        let t0 = Instant::now();
        let boot_tsc = cpu::read_guest_tsc(&self.vcpu)?;
        let wall_clock_ns = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        boot::write_clock(self.ram.memory(), wall_clock_ns, boot_tsc)?;
        // Everything the run loop needs exists now: arm the watchdog, then
        // confine this thread.
        let watchdog = match self.timeout {
            Some(limit) => Some(Watchdog::arm(limit).map_err(VmmError::Watchdog)?),
            None => None,
        };
        if self.trace.is_some() {
            let single_step = kvm_bindings::kvm_guest_debug {
                control: kvm_bindings::KVM_GUESTDBG_ENABLE | kvm_bindings::KVM_GUESTDBG_SINGLESTEP,
                ..Default::default()
            };
            self.vcpu
                .set_guest_debug(&single_step)
                .map_err(|e| VmmError::kvm("KVM_SET_GUEST_DEBUG", e))?;
        }
        if self.seccomp {
            crate::seccomp::apply(self.vcpu.as_raw_fd())?;
        }
        self.stats.vcpu_setup += t0.elapsed();

        let run_start = Instant::now();
        let mut counts = ExitCounts::default();
        // The guest can hand back at most what its memory holds.
        let mut server =
            HypercallServer::with_copy_out(self.copy_out_slots, self.stats.guest_size_kib * 1024)
                .with_input_waker(InputWaker::new(&self.vm));
        let end = loop {
            let exit = self.next_exit(&mut counts)?;
            match exit {
                LoopExit::Continue => {}
                LoopExit::Interrupted => {
                    if let Some(dog) = watchdog.as_ref().filter(|d| d.expired()) {
                        break GuestEnd::TimedOut {
                            limit: dog.limit(),
                            registers: RegisterDump::read(&self.vcpu),
                        };
                    }
                }
                LoopExit::Hypercall(port) => {
                    let gpa = self.rax()?;
                    match server.handle(port, gpa, self.ram.memory(), console, &mut counts) {
                        Effect::Continue => {}
                        Effect::Exit(req) => {
                            self.stats.guest_entry_to_main =
                                tsc_delta(req.tsc_entry, req.tsc_main, self.tsc_khz);
                            self.stats.main_to_exit =
                                tsc_delta(req.tsc_main, req.tsc_exit, self.tsc_khz);
                            break GuestEnd::Exited {
                                code: req.code,
                                reason: req.reason,
                            };
                        }
                    }
                }
                LoopExit::Crash(description) => {
                    break GuestEnd::Crashed(CrashReport {
                        description,
                        registers: RegisterDump::read(&self.vcpu),
                    });
                }
            }
        };
        drop(watchdog);
        let now = Instant::now();
        self.stats.run = now - run_start;
        self.stats.total = now - self.started;
        self.stats.exits = counts;
        self.stats.guest_touched_kib = self.ram.resident_bytes().map_or(0, |b| b / 1024);
        self.log_phases(&end);
        Ok(RunOutcome {
            end,
            stats: self.stats,
            copied_out: server.into_copy_outs(),
            trace: self.trace.take(),
        })
    }

    /// The guest's full RAX at a hypercall exit.
    fn rax(&self) -> Result<u64, VmmError> {
        if self.sync_regs {
            Ok(self.vcpu.sync_regs().regs.rax)
        } else {
            Ok(self
                .vcpu
                .get_regs()
                .map_err(|e| VmmError::kvm("KVM_GET_REGS", e))?
                .rax)
        }
    }

    /// Runs the vCPU to its next exit and classifies it.
    fn next_exit(&mut self, counts: &mut ExitCounts) -> Result<LoopExit, VmmError> {
        let exit = match self.vcpu.run() {
            Ok(exit) => exit,
            Err(e) if e.errno() == libc::EINTR || e.errno() == libc::EAGAIN => {
                return Ok(LoopExit::Interrupted);
            }
            Err(e) => return Err(VmmError::Run(e.into())),
        };
        let internal = matches!(exit, VcpuExit::InternalError);
        let result = match exit {
            VcpuExit::IoOut(port, _) if is_hypercall_port(port) => LoopExit::Hypercall(port),
            VcpuExit::IoOut(..) => {
                counts.io_other += 1;
                LoopExit::Continue
            }
            VcpuExit::IoIn(_, data) => {
                data.fill(0xff);
                counts.io_other += 1;
                LoopExit::Continue
            }
            VcpuExit::MmioRead(_, data) => {
                data.fill(0xff);
                counts.mmio += 1;
                LoopExit::Continue
            }
            VcpuExit::MmioWrite(..) => {
                counts.mmio += 1;
                LoopExit::Continue
            }
            VcpuExit::Intr => LoopExit::Continue,
            VcpuExit::Debug(step) if self.trace.is_some() => {
                if let Some(trace) = self.trace.as_mut() {
                    trace.record(step.pc);
                }
                LoopExit::Continue
            }
            VcpuExit::Hlt => {
                counts.hlt += 1;
                LoopExit::Crash("guest halted (HLT with no way to wake up)".into())
            }
            other => {
                counts.other += 1;
                LoopExit::Crash(match other {
                    VcpuExit::Shutdown => "triple fault (KVM_EXIT_SHUTDOWN)".to_string(),
                    VcpuExit::FailEntry(reason, cpu) => {
                        format!("VM entry failed (hardware reason {reason:#x}, cpu {cpu})")
                    }
                    VcpuExit::InternalError => String::new(),
                    other => format!("unexpected VM exit: {other:?}"),
                })
            }
        };
        if internal {
            return Ok(LoopExit::Crash(self.internal_error()));
        }
        Ok(result)
    }

    /// Describes a `KVM_EXIT_INTERNAL_ERROR` from its sub-error code.
    fn internal_error(&mut self) -> String {
        let run = self.vcpu.get_kvm_run();
        if run.exit_reason != kvm_bindings::KVM_EXIT_INTERNAL_ERROR {
            return "KVM internal error (KVM_EXIT_INTERNAL_ERROR)".into();
        }
        // SAFETY: `exit_reason` is KVM_EXIT_INTERNAL_ERROR, for which the
        // kernel fills the `internal` member of the exit union; the read is a
        // plain copy of two integers from the mapped `kvm_run` page.
        let (suberror, ndata, data) = unsafe {
            let internal = &run.__bindgen_anon_1.internal;
            (internal.suberror, internal.ndata, internal.data)
        };
        let what = match suberror {
            1 => "instruction emulation failed",
            2 => "simultaneous exceptions",
            3 => "exit during event delivery (e.g. a fault while delivering an exception)",
            4 => "unexpected exit reason",
            _ => "unknown",
        };
        let data: Vec<String> = data
            .iter()
            .take((ndata as usize).min(data.len()).min(4))
            .map(|d| format!("{d:#x}"))
            .collect();
        format!(
            "KVM internal error {suberror}: {what} (data: {})",
            data.join(" ")
        )
    }

    fn log_phases(&self, end: &GuestEnd) {
        let s = &self.stats;
        let us = |d: Duration| d.as_micros();
        if self.verbose {
            info!(
                vm_create_us = us(s.vm_create),
                load_us = us(s.load),
                vcpu_setup_us = us(s.vcpu_setup),
                run_us = us(s.run),
                exits = s.exits.total(),
                ?end,
                "guest ended"
            );
        } else {
            debug!(
                vm_create_us = us(s.vm_create),
                load_us = us(s.load),
                vcpu_setup_us = us(s.vcpu_setup),
                run_us = us(s.run),
                exits = s.exits.total(),
                ?end,
                "guest ended"
            );
        }
    }
}

/// A classified VM exit.
enum LoopExit {
    /// Handled (or spurious); resume.
    Continue,
    /// `KVM_RUN` was interrupted by a signal (the watchdog's, perhaps).
    Interrupted,
    /// An `out` to this hypercall port.
    Hypercall(u16),
    /// The guest cannot continue.
    Crash(String),
}
