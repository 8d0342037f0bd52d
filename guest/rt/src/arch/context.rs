//! Switching between kernel stacks.
//!
//! A suspended task is just its stack pointer: [`switch`] pushes the
//! callee-saved registers on the current stack, stores RSP, loads the next
//! task's RSP and pops its registers. Caller-saved registers are already
//! saved by the compiler around the call, and interrupted tasks have their
//! full state in a trap frame further up their stack.

core::arch::global_asm!(
    ".pushsection .text",
    ".global vessel_switch_context",
    "vessel_switch_context:",
    "    push rbp",
    "    push rbx",
    "    push r12",
    "    push r13",
    "    push r14",
    "    push r15",
    "    mov [rdi], rsp",
    "    mov rsp, rsi",
    "    pop r15",
    "    pop r14",
    "    pop r13",
    "    pop r12",
    "    pop rbx",
    "    pop rbp",
    "    ret",
    // First return target of a new task: calls the entry function that
    // `prepare_stack` left in r12 (never returns).
    ".global vessel_task_trampoline",
    "vessel_task_trampoline:",
    "    xor ebp, ebp",
    "    call r12",
    "    ud2",
    // Leaves the current stack for good: RSP = RDI (16-byte aligned),
    // then calls RSI (never returns).
    ".global vessel_jump_to_stack",
    "vessel_jump_to_stack:",
    "    mov rsp, rdi",
    "    xor ebp, ebp",
    "    call rsi",
    "    ud2",
    ".popsection",
);

unsafe extern "C" {
    fn vessel_switch_context(save_rsp: *mut u64, load_rsp: u64);
    fn vessel_task_trampoline();
    fn vessel_jump_to_stack(top: u64, entry: extern "C" fn() -> !) -> !;
}

/// Number of 8-byte slots [`prepare_stack`] writes.
const INITIAL_FRAME_WORDS: usize = 7;

/// Writes the initial frame of a new task at the top of its stack, so that
/// the first switch to it "returns" into `entry` with interrupts disabled.
/// Returns the task's initial stack pointer.
///
/// The end of `stack` must be 16-byte aligned.
pub fn prepare_stack(stack: &mut [u64], entry: extern "C" fn() -> !) -> u64 {
    assert!(stack.len() >= INITIAL_FRAME_WORDS, "task stack too small");
    assert!(
        (stack.as_ptr_range().end as usize).is_multiple_of(16),
        "task stack top misaligned"
    );
    let base = stack.len() - INITIAL_FRAME_WORDS;
    let frame = &mut stack[base..];
    // Popped in order: r15, r14, r13, r12 (= entry), rbx, rbp, then `ret`.
    frame[..6].copy_from_slice(&[0, 0, 0, entry as *const () as u64, 0, 0]);
    // After `ret` RSP is the 16-byte aligned stack top, so the trampoline's
    // `call` enters `entry` with RSP = 8 (mod 16), as the ABI expects.
    frame[6] = vessel_task_trampoline as *const () as u64;
    frame.as_ptr() as u64
}

/// Leaves the current stack for good and runs `entry` on the stack whose
/// top is `top`.
///
/// # Safety
/// `top` is the 16-byte aligned top of a mapped, writable stack that
/// nothing else uses; nothing on the current stack is used again.
pub unsafe fn jump_to_stack(top: u64, entry: extern "C" fn() -> !) -> ! {
    // SAFETY: forwarded to the caller; `entry` never returns, so nothing
    // returns onto the abandoned stack.
    unsafe { vessel_jump_to_stack(top, entry) }
}

/// Saves the current context into `*save_rsp` and resumes the one at `load_rsp`.
///
/// # Safety
/// Interrupts must be disabled. `load_rsp` must be a stack pointer saved by
/// this function (or made by [`prepare_stack`]) of a task that is not
/// running, and whose stack stays alive until it runs again.
pub unsafe fn switch(save_rsp: *mut u64, load_rsp: u64) {
    // SAFETY: forwarded to the caller; the assembly saves and restores every
    // callee-saved register, as the C ABI requires.
    unsafe { vessel_switch_context(save_rsp, load_rsp) }
}
