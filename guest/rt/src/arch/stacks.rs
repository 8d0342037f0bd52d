//! Statically allocated stacks: the boot stack, the `main` task's stack
//! (in the image, so starting `main` maps nothing), and the interrupt
//! stacks (IST) for faults that must not run on a possibly broken stack.
//! Each has an unmapped guard page below it once vessel-rt's page tables
//! are live.

use core::cell::UnsafeCell;

/// Size of a guard page.
pub const GUARD_SIZE: usize = 4096;
/// Size of the boot stack (runs the early boot and then the idle loop).
pub const BOOT_STACK_SIZE: usize = 64 * 1024;
/// Size of the `main` task's stack.
pub const MAIN_STACK_SIZE: usize = 512 * 1024;
/// Size of each interrupt stack.
pub const IST_STACK_SIZE: usize = 16 * 1024;

/// A stack with a guard page below it, page aligned.
#[repr(C, align(4096))]
pub struct GuardedStack<const N: usize> {
    guard: UnsafeCell<[u8; GUARD_SIZE]>,
    stack: UnsafeCell<[u8; N]>,
}

// SAFETY: the stack memory is only ever accessed by the CPU through RSP, by
// the one context that owns the stack at a time; Rust code never forms
// references into it.
unsafe impl<const N: usize> Sync for GuardedStack<N> {}

impl<const N: usize> GuardedStack<N> {
    /// A zeroed stack (lands in `.bss`).
    pub const fn new() -> Self {
        Self {
            guard: UnsafeCell::new([0; GUARD_SIZE]),
            stack: UnsafeCell::new([0; N]),
        }
    }

    /// Address of the guard page.
    pub fn guard_page(&self) -> u64 {
        self.guard.get() as u64
    }

    /// The lowest address of the stack proper (just above the guard page).
    pub fn bottom(&self) -> u64 {
        self.stack.get() as u64
    }

    /// The initial stack pointer (one past the top, 16-byte aligned).
    pub fn top(&self) -> u64 {
        self.stack.get() as u64 + N as u64
    }

    /// The stack's memory as words, for writing a task's initial frame.
    ///
    /// # Safety
    /// Nothing runs on this stack or refers into it, now or while the
    /// returned slice is alive.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn words_mut(&self) -> &mut [u64] {
        // SAFETY: the stack is `N` bytes, page aligned, mapped read-write
        // in .bss; the caller guarantees exclusive access.
        unsafe { core::slice::from_raw_parts_mut(self.stack.get().cast::<u64>(), N / 8) }
    }
}

/// The stack `_start` runs on; the idle task's once `main` has started.
pub static BOOT_STACK: GuardedStack<BOOT_STACK_SIZE> = GuardedStack::new();
/// The `main` task's stack (see `mem::stack::KernelStack::main`).
pub static MAIN_STACK: GuardedStack<MAIN_STACK_SIZE> = GuardedStack::new();
/// Interrupt stack for double faults (IST1).
pub static DOUBLE_FAULT_STACK: GuardedStack<IST_STACK_SIZE> = GuardedStack::new();
/// Interrupt stack for NMIs (IST2).
pub static NMI_STACK: GuardedStack<IST_STACK_SIZE> = GuardedStack::new();
/// Interrupt stack for machine checks (IST3).
pub static MACHINE_CHECK_STACK: GuardedStack<IST_STACK_SIZE> = GuardedStack::new();

/// Guard pages of all static stacks, to be left unmapped.
pub fn guard_pages() -> [u64; 5] {
    [
        BOOT_STACK.guard_page(),
        MAIN_STACK.guard_page(),
        DOUBLE_FAULT_STACK.guard_page(),
        NMI_STACK.guard_page(),
        MACHINE_CHECK_STACK.guard_page(),
    ]
}
