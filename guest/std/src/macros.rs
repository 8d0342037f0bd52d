//! The `print!` family, as in std.

/// Prints to standard output.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => { $crate::__private::print(::core::format_args!($($arg)*)) };
}

/// Prints to standard output, with a newline.
#[macro_export]
macro_rules! println {
    () => { $crate::print!("\n") };
    ($($arg:tt)*) => {
        $crate::__private::print(::core::format_args!("{}\n", ::core::format_args!($($arg)*)))
    };
}

/// Prints to standard error.
#[macro_export]
macro_rules! eprint {
    ($($arg:tt)*) => { $crate::__private::eprint(::core::format_args!($($arg)*)) };
}

/// Prints to standard error, with a newline.
#[macro_export]
macro_rules! eprintln {
    () => { $crate::eprint!("\n") };
    ($($arg:tt)*) => {
        $crate::__private::eprint(::core::format_args!("{}\n", ::core::format_args!($($arg)*)))
    };
}
