//! `vessel run -t`: the host terminal in raw mode while the guest runs.
//!
//! The guest's console becomes a terminal with its own line discipline
//! (echo, line editing, Ctrl-C), so the host terminal must pass every key
//! through untouched and show the guest's output as it comes: raw mode.
//! [`RawTerminal`] switches standard input's terminal to raw mode and
//! restores the saved settings when dropped, on every way out of `run`
//! (normal end, error, panic unwinding).

use std::io::stdin;

use anyhow::{Context, Result, bail};
use rustix::termios::{OptionalActions, Termios, isatty, tcgetattr, tcgetwinsize, tcsetattr};

/// Standard input's terminal, in raw mode until dropped.
pub struct RawTerminal {
    saved: Termios,
}

impl RawTerminal {
    /// Puts the terminal on standard input into raw mode. Fails if standard
    /// input is not a terminal.
    pub fn enter() -> Result<Self> {
        let input = stdin();
        if !isatty(&input) {
            bail!("-t needs a terminal on standard input (it is a file or a pipe)");
        }
        let saved = tcgetattr(&input).context("reading the terminal settings")?;
        let mut raw = saved.clone();
        raw.make_raw();
        tcsetattr(&input, OptionalActions::Flush, &raw).context("setting raw mode")?;
        Ok(Self { saved })
    }

    /// The terminal's size as `COLSxROWS` (80x24 if it does not say).
    pub fn size(&self) -> String {
        match tcgetwinsize(stdin()) {
            Ok(size) if size.ws_col > 0 && size.ws_row > 0 => {
                format!("{}x{}", size.ws_col, size.ws_row)
            }
            _ => "80x24".into(),
        }
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        // Nothing more can be done if this fails; the shell's `reset` can.
        let _ = tcsetattr(stdin(), OptionalActions::Drain, &self.saved);
    }
}
