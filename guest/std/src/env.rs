//! Arguments and environment, as given to `vessel run`.

use alloc::string::String;
use core::fmt;

/// An iterator over the program's arguments.
pub struct Args {
    inner: core::slice::Iter<'static, String>,
}

impl Iterator for Args {
    type Item = String;
    fn next(&mut self) -> Option<String> {
        self.inner.next().cloned()
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl ExactSizeIterator for Args {}

/// The program's arguments; the first is the program name.
pub fn args() -> Args {
    Args {
        inner: vessel_rt::env::args().iter(),
    }
}

/// Why [`var`] found no value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VarError {
    /// The variable is not set.
    NotPresent,
}

impl fmt::Display for VarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("environment variable not found")
    }
}

impl core::error::Error for VarError {}

/// The value of environment variable `key`.
pub fn var(key: &str) -> Result<String, VarError> {
    vessel_rt::env::var(key)
        .map(String::from)
        .ok_or(VarError::NotPresent)
}

/// All environment variables as `(key, value)` pairs.
pub fn vars() -> impl Iterator<Item = (String, String)> {
    vessel_rt::env::vars().iter().cloned()
}
