//! One Linux process: its address space, its registers and the layout of
//! its memory (program, heap, anonymous mappings, stack).

use crate::file::FdTable;
use crate::kernel::{Ended, Kernel};
use crate::{random, syscall};
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use vessel_linux::elf::{self, ElfError, Perms};
use vessel_linux::{Errno, PAGE_SIZE, stack};
use vessel_std::os::user::{Fault, MapError, UserContext, UserExit, UserSpace, run_user};
use vessel_std::time::Instant;

/// One past the top of the main thread's stack.
pub const STACK_TOP: u64 = 0x7fff_ffff_f000;
/// Size of the main thread's stack (mapped up front).
const STACK_SIZE: u64 = 1 << 20;
/// Anonymous `mmap` regions are placed below this address, growing down.
const MMAP_TOP: u64 = 0x7f00_0000_0000;

/// A running program.
pub struct Process {
    /// Its process id.
    pub pid: u32,
    /// The state all processes share.
    pub kernel: Arc<Kernel>,
    /// Its open file descriptors.
    pub fds: FdTable,
    /// Its address space.
    pub space: UserSpace,
    /// Its registers.
    pub ctx: UserContext,
    /// Start of the heap (`brk` never goes below it).
    pub brk_start: u64,
    /// The current program break.
    pub brk: u64,
    /// End of the memory mapped for the heap (page aligned, >= `brk`).
    pub heap_mapped_end: u64,
    /// The next anonymous mapping ends here.
    pub mmap_next: u64,
    /// When the process started: the zero of its monotonic clock.
    pub started: Instant,
    /// System calls already reported as unimplemented.
    pub reported: BTreeSet<u64>,
    /// The name `prctl(PR_SET_NAME)` gave it (NUL-padded).
    pub name: [u8; 16],
}

/// Why a program could not be started.
#[derive(Debug)]
pub enum LoadError {
    /// Not a static executable we can run.
    Exec(ElfError),
    /// The initial stack could not be built (too many arguments).
    Stack(Errno),
    /// Mapping memory failed.
    Map(MapError),
    /// Copying into the new address space failed.
    Copy(Fault),
    /// No memory for the address space.
    OutOfMemory,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exec(e) => write!(f, "{e}"),
            Self::Stack(e) => write!(f, "cannot build the initial stack: {e}"),
            Self::Map(e) => write!(f, "cannot map memory: {e:?}"),
            Self::Copy(e) => write!(f, "cannot copy the program in: {e}"),
            Self::OutOfMemory => write!(f, "out of memory"),
        }
    }
}

impl Process {
    /// Loads `program` (a static Linux executable) into a fresh address
    /// space with `argv` and `envp` on its stack.
    pub fn load(
        program: &[u8],
        argv: &[String],
        envp: &[String],
        pid: u32,
        kernel: Arc<Kernel>,
    ) -> Result<Self, LoadError> {
        let plan = elf::parse(program).map_err(LoadError::Exec)?;
        let mut space = UserSpace::new().ok_or(LoadError::OutOfMemory)?;
        // A page shared by two segments gets the union of their rights.
        let mut pages: BTreeMap<u64, Perms> = BTreeMap::new();
        for segment in &plan.segments {
            for page in segment.page_range().step_by(PAGE_SIZE as usize) {
                let perms = pages.entry(page).or_default();
                perms.write |= segment.perms.write;
                perms.exec |= segment.perms.exec;
            }
        }
        for (&page, perms) in &pages {
            space
                .map(page, PAGE_SIZE, perms.write, perms.exec)
                .map_err(LoadError::Map)?;
        }
        for segment in &plan.segments {
            space
                .load_bytes(segment.vaddr, &program[segment.file_range()])
                .map_err(LoadError::Copy)?;
        }

        space
            .map(STACK_TOP - STACK_SIZE, STACK_SIZE, true, plan.exec_stack)
            .map_err(LoadError::Map)?;
        let mut random_bytes = [0u8; 16];
        random::fill(&mut random_bytes);
        let argv: Vec<&[u8]> = argv.iter().map(|a| a.as_bytes()).collect();
        let envp: Vec<&[u8]> = envp.iter().map(|e| e.as_bytes()).collect();
        let execfn = argv.first().copied().unwrap_or(b"program");
        let aux = stack::AuxInfo::new(&plan, 0);
        let image = stack::build(
            STACK_TOP,
            &argv,
            &envp,
            execfn,
            &random_bytes,
            &aux,
            stack::DEFAULT_ARG_LIMIT,
        )
        .map_err(LoadError::Stack)?;
        space
            .write_bytes(image.base, &image.bytes)
            .map_err(LoadError::Copy)?;

        Ok(Self {
            pid,
            kernel,
            fds: FdTable::console(),
            space,
            ctx: UserContext::new(plan.entry, image.rsp),
            brk_start: plan.brk_start,
            brk: plan.brk_start,
            heap_mapped_end: plan.brk_start,
            mmap_next: MMAP_TOP,
            started: Instant::now(),
            reported: BTreeSet::new(),
            name: [0; 16],
        })
    }

    /// Runs the program to its end and says how it ended.
    pub fn run(mut self) -> Ended {
        loop {
            match run_user(&self.space, &mut self.ctx) {
                UserExit::Syscall => {
                    if let Some(ended) = syscall::dispatch(&mut self) {
                        return ended;
                    }
                }
                UserExit::Fault { vector, .. } => return Ended::Signaled(signal_for(vector)),
                UserExit::Interrupted => {}
            }
        }
    }

    /// A copy of this process as `fork` makes it: a new pid, a copy of the
    /// address space, the same registers except a 0 result.
    pub fn fork(&self) -> Option<Process> {
        let space = self.space.fork()?;
        let mut ctx = self.ctx.clone();
        ctx.set_syscall_return(0);
        Some(Process {
            pid: self.kernel.new_pid(self.pid),
            kernel: self.kernel.clone(),
            fds: self.fds.clone(),
            space,
            ctx,
            brk_start: self.brk_start,
            brk: self.brk,
            heap_mapped_end: self.heap_mapped_end,
            mmap_next: self.mmap_next,
            started: self.started,
            reported: self.reported.clone(),
            name: self.name,
        })
    }

    /// Starts the process on a task of its own; when it ends, the kernel
    /// records how.
    pub fn start(self) {
        const SIGKILL: u8 = 9;
        let pid = self.pid;
        let kernel = self.kernel.clone();
        let on_task = self.kernel.clone();
        let spawned = vessel_std::thread::Builder::new()
            .name(alloc::format!("pid {pid}"))
            .spawn(move || {
                let ended = self.run();
                on_task.exited(pid, ended);
            });
        if spawned.is_err() {
            // No memory for its task: the child dies at once, as if killed.
            kernel.exited(pid, Ended::Signaled(SIGKILL));
        }
    }

    /// Replaces the program this process runs (`execve`): a fresh address
    /// space and registers; the pid and the name stay.
    pub fn exec(
        &mut self,
        program: &[u8],
        argv: &[String],
        envp: &[String],
    ) -> Result<(), LoadError> {
        let fresh = Process::load(program, argv, envp, self.pid, self.kernel.clone())?;
        let name = self.name;
        let reported = core::mem::take(&mut self.reported);
        let mut fds = core::mem::replace(&mut self.fds, FdTable::console());
        fds.close_on_exec();
        *self = Process {
            name,
            reported,
            fds,
            ..fresh
        };
        Ok(())
    }
}

/// The signal Linux sends for a CPU exception in user mode.
fn signal_for(vector: u8) -> u8 {
    const SIGILL: u8 = 4;
    const SIGTRAP: u8 = 5;
    const SIGBUS: u8 = 7;
    const SIGFPE: u8 = 8;
    const SIGSEGV: u8 = 11;
    match vector {
        0 | 16 | 19 => SIGFPE,
        1 | 3 => SIGTRAP,
        6 => SIGILL,
        17 => SIGBUS,
        _ => SIGSEGV,
    }
}
