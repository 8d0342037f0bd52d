//! Panics and fatal errors.
//!
//! A panic in a spawned task prints `thread '<name>' panicked at ...` and
//! ends that task only: joining it returns the message. There is no
//! unwinding (images are built with `panic = "abort"`), so the task's
//! destructors do not run: memory it owned is leaked and a lock it held stays
//! held. A panic in `main`, in boot code, or a second panic while panicking
//! ends the VM with exit status 101, as a Rust program's panic does.

use crate::console;
use crate::platform::exit_with;
use crate::task::{self, Outcome};
use alloc::string::String;
use core::fmt::Write;
use core::panic::PanicInfo;
use core::sync::atomic::{AtomicBool, Ordering};
use vessel_abi::hypercall::ExitReason;

/// Exit status of a VM whose `main` panicked.
pub const PANIC_EXIT_CODE: i32 = 101;

static VM_PANICKING: AtomicBool = AtomicBool::new(false);

#[panic_handler]
fn panic(info: &PanicInfo<'_>) -> ! {
    let location = info.location();
    let message = info.message();
    if let Some(current) = task::current_spawned()
        && !current.is_main()
        && !current.start_panicking()
    {
        let name = match current.name() {
            "" => "<unnamed>",
            name => name,
        };
        console::report(format_args!(
            "thread '{name}' panicked at {}:\n{message}\n",
            Location(location)
        ));
        let mut text = String::new();
        // Capture the message only if memory allows: the panic may be an
        // allocation failure.
        if text.try_reserve(256).is_ok() {
            let _ = write!(Truncated(&mut text), "{message}");
        }
        drop(current);
        task::exit_current(Outcome::Panicked(text));
    }
    if VM_PANICKING.swap(true, Ordering::AcqRel) {
        console::report(format_args!("panicked while panicking: {message}\n"));
    } else {
        let name = task::current_spawned().map(|t| t.name_owned());
        let name = name.as_deref().unwrap_or("main");
        console::report(format_args!(
            "thread '{name}' panicked at {}:\n{message}\n",
            Location(location)
        ));
    }
    exit_with(PANIC_EXIT_CODE, ExitReason::Panic)
}

/// Reports a fatal error of the kernel itself and ends the VM (status 101).
pub fn fatal(args: core::fmt::Arguments<'_>) -> ! {
    console::report(format_args!("vessel-rt: fatal: {args}\n"));
    exit_with(PANIC_EXIT_CODE, ExitReason::Panic)
}

struct Location<'a>(Option<&'a core::panic::Location<'a>>);

impl core::fmt::Display for Location<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.0 {
            Some(l) => write!(f, "{}:{}:{}", l.file(), l.line(), l.column()),
            None => write!(f, "<unknown>"),
        }
    }
}

/// Writes into a string without growing it past its capacity.
struct Truncated<'a>(&'a mut String);

impl Write for Truncated<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let room = self.0.capacity() - self.0.len();
        let mut end = s.len().min(room);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        self.0.push_str(&s[..end]);
        Ok(())
    }
}
