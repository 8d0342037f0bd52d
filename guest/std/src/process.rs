//! Ending the program.

use core::fmt::Debug;

/// Ends the VM with exit status `code` (the host sees `code & 0xff`).
/// Buffered standard output is flushed first.
pub fn exit(code: i32) -> ! {
    vessel_rt::exit(code)
}

/// Ends the VM abnormally (exit status 134, as SIGABRT would give).
pub fn abort() -> ! {
    vessel_rt::exit(134)
}

/// An exit status returned from `main`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExitCode(u8);

impl ExitCode {
    /// Success (0).
    pub const SUCCESS: ExitCode = ExitCode(0);
    /// Failure (1).
    pub const FAILURE: ExitCode = ExitCode(1);

    /// The status as an integer.
    pub fn to_i32(self) -> i32 {
        i32::from(self.0)
    }
}

impl From<u8> for ExitCode {
    fn from(code: u8) -> Self {
        ExitCode(code)
    }
}

/// What `main` may return, as in std.
pub trait Termination {
    /// Turns the value into an exit status (printing an error if any).
    fn report(self) -> ExitCode;
}

impl Termination for () {
    fn report(self) -> ExitCode {
        ExitCode::SUCCESS
    }
}

impl Termination for ExitCode {
    fn report(self) -> ExitCode {
        self
    }
}

impl Termination for core::convert::Infallible {
    fn report(self) -> ExitCode {
        match self {}
    }
}

impl<T: Termination, E: Debug> Termination for Result<T, E> {
    fn report(self) -> ExitCode {
        match self {
            Ok(value) => value.report(),
            Err(error) => {
                crate::eprintln!("Error: {error:?}");
                ExitCode::FAILURE
            }
        }
    }
}
