//! Runs tiny hand-assembled x86-64 programs in ring 3, in an address space
//! of their own, through vessel-rt's safe user-mode API: one that makes two
//! Linux-style system calls (`write`, `exit`), one that touches an unmapped
//! address (#PF), one that executes a privileged instruction (#GP), and one
//! that spins until the timer preempts it while a kernel thread runs; and
//! checks what `fork` does to shared and private memory, and how reserved
//! memory gets its frames on demand.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use core::sync::atomic::{AtomicBool, Ordering};
use core::time::Duration;
use vessel_std::os::user::{
    Access, AccessKind, FaultResolution, UserContext, UserExit, UserSpace, run_user,
};
use vessel_std::prelude::*;
use vessel_std::sync::Arc;
use vessel_std::thread;

/// Where the programs are loaded.
const CODE: u64 = 0x40_0000;
/// Top of the user stack (one page below it is mapped).
const STACK_TOP: u64 = 0x80_0000;
/// An address nothing maps.
const UNMAPPED: u64 = 0x0dea_d000;

const SYS_WRITE: u64 = 1;
const SYS_EXIT: u64 = 60;
const EFAULT: u64 = 14;
const ENOSYS: u64 = 38;

/// `write(1, msg, len); exit(7)`, followed by the message.
fn hello_program(message: &[u8]) -> Vec<u8> {
    let mut code = vec![
        0xb8, 0x01, 0x00, 0x00, 0x00, // mov eax, 1 (write)
        0xbf, 0x01, 0x00, 0x00, 0x00, // mov edi, 1 (stdout)
        0x48, 0x8d, 0x35, 0x13, 0x00, 0x00, 0x00, // lea rsi, [rip + msg]
        0xba, // mov edx, len (imm32 follows)
    ];
    code.extend_from_slice(&(message.len() as u32).to_le_bytes());
    code.extend_from_slice(&[
        0x0f, 0x05, // syscall
        0xb8, 0x3c, 0x00, 0x00, 0x00, // mov eax, 60 (exit)
        0xbf, 0x07, 0x00, 0x00, 0x00, // mov edi, 7
        0x0f, 0x05, // syscall
    ]);
    code.extend_from_slice(message); // msg: (offset 0x24)
    code
}

/// A fresh address space with `code` at CODE and a one-page stack.
fn load(code: &[u8]) -> (UserSpace, UserContext) {
    let space = UserSpace::new().expect("memory for an address space");
    space
        .map(CODE, 4096, true, true)
        .expect("map the code page");
    space
        .map(STACK_TOP - 4096, 4096, true, false)
        .expect("map the stack page");
    space.write_bytes(CODE, code).expect("copy the program in");
    (space, UserContext::new(CODE, STACK_TOP))
}

/// Runs a program until it exits or faults, serving `write` and `exit`.
fn run(space: &UserSpace, ctx: &mut UserContext) -> UserExit {
    loop {
        match run_user(space, ctx) {
            UserExit::Syscall => {
                let (number, args) = ctx.syscall_args();
                let result = match number {
                    SYS_WRITE => {
                        let mut buf = vec![0u8; args[2].min(4096) as usize];
                        match space.read_bytes(args[1], &mut buf) {
                            Ok(()) => {
                                print!("{}", String::from_utf8_lossy(&buf));
                                buf.len() as u64
                            }
                            Err(_) => EFAULT.wrapping_neg(),
                        }
                    }
                    SYS_EXIT => {
                        println!("user program exited with code {}", args[0]);
                        return UserExit::Syscall;
                    }
                    _ => ENOSYS.wrapping_neg(),
                };
                ctx.set_syscall_return(result);
            }
            UserExit::Interrupted => {}
            fault @ UserExit::Fault { .. } => return fault,
        }
    }
}

/// The byte at `addr` of `space`.
fn byte_at(space: &UserSpace, addr: u64) -> char {
    let mut byte = [0u8];
    space.read_bytes(addr, &mut byte).expect("a mapped page");
    char::from(byte[0])
}

/// A page mapped with `map_shared` stays shared with a fork's copy (writes
/// by either show in the other, through mprotect, discard and unmap in the
/// other); a page mapped with `map` is copied on write.
fn shared_and_private_memory_across_fork() {
    const SHARED: u64 = 0x100_0000;
    const PRIVATE: u64 = SHARED + 4096;
    let parent = UserSpace::new().expect("memory for an address space");
    parent
        .map_shared(SHARED, 4096, true, false)
        .expect("map the shared page");
    parent
        .map(PRIVATE, 4096, true, false)
        .expect("map the private page");
    parent.write_bytes(SHARED, b"p").expect("write");
    parent.write_bytes(PRIVATE, b"p").expect("write");
    let child = parent.fork().expect("memory for the fork");
    child.write_bytes(SHARED, b"c").expect("write");
    child.write_bytes(PRIVATE, b"c").expect("write");
    println!(
        "after the child wrote: shared {}, private {}",
        byte_at(&parent, SHARED),
        byte_at(&parent, PRIVATE)
    );
    let read_only = Access {
        readable: true,
        writable: false,
        executable: false,
    };
    child.protect(SHARED, 4096, read_only).expect("protect");
    child.discard(SHARED, 4096).expect("discard");
    parent.write_bytes(SHARED, b"P").expect("write");
    let how = child.query(SHARED).expect("mapped");
    println!(
        "child's read-only view: shared {}, sees {}, discard kept it",
        how.shared,
        byte_at(&child, SHARED)
    );
    child.unmap(SHARED, 4096).expect("unmap");
    drop(child);
    parent.write_bytes(SHARED, b"!").expect("write");
    println!(
        "after the child went: parent's page {}, shared {}",
        byte_at(&parent, SHARED),
        parent.query(SHARED).is_some_and(|how| how.shared)
    );
}

/// Reserved memory: no frame until touched, zeros until then, a user
/// write served by `resolve_fault` within the rights it was reserved with,
/// and kept reserved by `protect`, `fork` (each space gets its own frame)
/// and `discard`.
fn reserved_memory_on_demand() {
    const HEAP: u64 = 0x1000_0000;
    const PAGE: u64 = 4096;
    // mov byte ptr [HEAP + 2 pages], 42; exit(0)
    let mut code = vec![0xc6, 0x04, 0x25];
    code.extend_from_slice(&((HEAP + 2 * PAGE) as u32).to_le_bytes());
    code.extend_from_slice(&[0x2a, 0xb8, 0x3c, 0, 0, 0, 0xbf, 0, 0, 0, 0, 0x0f, 0x05]);
    let (space, mut ctx) = load(&code);
    let read_write = Access {
        readable: true,
        writable: true,
        executable: false,
    };
    space.reserve(HEAP, 64 * PAGE, read_write).expect("reserve");
    println!(
        "reserved {} pages, {} with frames, reads {}",
        space.reserved_pages(),
        space.mapped_pages(),
        u32::from(byte_at(&space, HEAP + 5))
    );
    let mut faults = 0;
    loop {
        match run(&space, &mut ctx) {
            UserExit::Fault {
                vector: 14,
                error_code,
                address,
            } => match space.resolve_fault(address, AccessKind::of_page_fault(error_code)) {
                Ok(FaultResolution::Resolved) => faults += 1,
                other => panic!("fault at {address:#x} not resolved: {other:?}"),
            },
            UserExit::Syscall => break,
            other => panic!("the program stopped: {other:?}"),
        }
    }
    println!(
        "user write served by {faults} fault: byte {}, {} pages with frames",
        u32::from(byte_at(&space, HEAP + 2 * PAGE)),
        space.mapped_pages()
    );
    let read_only = Access {
        writable: false,
        ..read_write
    };
    space
        .protect(HEAP + 3 * PAGE, PAGE, read_only)
        .expect("protect");
    println!(
        "read-only reserved page: write {:?}, read {:?}; unmapped: {:?}",
        space.resolve_fault(HEAP + 3 * PAGE, AccessKind::Write),
        space.resolve_fault(HEAP + 3 * PAGE, AccessKind::Read),
        space.resolve_fault(HEAP + 64 * PAGE, AccessKind::Read)
    );
    let child = space.fork().expect("memory for the fork");
    child.write_bytes(HEAP + 40 * PAGE, b"c").expect("write");
    println!(
        "fork: child has {} reserved and {} with frames, wrote {}, parent sees {}",
        child.reserved_pages(),
        child.mapped_pages(),
        byte_at(&child, HEAP + 40 * PAGE),
        u32::from(byte_at(&space, HEAP + 40 * PAGE))
    );
    drop(child);
    space.discard(HEAP, 64 * PAGE).expect("discard");
    println!(
        "discard: {} reserved, {} with frames, reads {}",
        space.reserved_pages(),
        space.mapped_pages(),
        u32::from(byte_at(&space, HEAP + 2 * PAGE))
    );
    space.unmap(HEAP, 64 * PAGE).expect("unmap");
    println!(
        "unmap: {} reserved, mapped {}",
        space.reserved_pages(),
        space.query(HEAP).is_some()
    );
}

fn report(name: &str, exit: UserExit, ctx: &UserContext) {
    match exit {
        UserExit::Fault {
            vector,
            error_code,
            address,
        } => println!(
            "{name}: fault vector {vector}, error code {error_code:#x}, address {address:#x}, rip {:#x}",
            ctx.rip
        ),
        other => println!("{name}: {other:?}"),
    }
}

#[vessel_std::main]
fn main() {
    let (space, mut ctx) = load(&hello_program(b"hello from ring 3\n"));
    let exit = run(&space, &mut ctx);
    if exit != UserExit::Syscall {
        report("hello", exit, &ctx);
    }
    drop(space);

    // mov eax, [0xdead000]
    let (space, mut ctx) = load(&[0x8b, 0x04, 0x25, 0x00, 0xd0, 0xea, 0x0d]);
    let exit = run(&space, &mut ctx);
    report("unmapped read", exit, &ctx);

    // The kernel refuses to copy from addresses the program cannot reach.
    let mut byte = [0u8];
    for address in [UNMAPPED, 0xffff_8000_0000_0000] {
        match space.read_bytes(address, &mut byte) {
            Ok(()) => println!("read_bytes({address:#x}): ok"),
            Err(e) => println!("read_bytes({address:#x}): {e}"),
        }
    }

    // hlt
    let (space, mut ctx) = load(&[0xf4]);
    let exit = run(&space, &mut ctx);
    report("hlt", exit, &ctx);

    // jmp . (spins until a kernel thread, woken by the timer, says stop)
    let (space, mut ctx) = load(&[0xeb, 0xfe]);
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let sleeper = thread::spawn(move || {
        thread::sleep(Duration::from_millis(5));
        flag.store(true, Ordering::Release);
    });
    let mut interruptions = 0u64;
    while !stop.load(Ordering::Acquire) {
        match run_user(&space, &mut ctx) {
            UserExit::Interrupted => interruptions += 1,
            other => panic!("the spinning program stopped: {other:?}"),
        }
    }
    sleeper.join().expect("the sleeper finishes");
    println!(
        "spinning program preempted: {}, still at {:#x}",
        interruptions > 0,
        ctx.rip
    );

    shared_and_private_memory_across_fork();
    reserved_memory_on_demand();
}
