//! The console as a terminal (`vessel run -t`): a line discipline between
//! the host's raw terminal and the programs.
//!
//! Input arrives byte by byte from the host (its terminal is in raw mode)
//! and is processed as Linux's `n_tty` does for the flags programs use:
//! `ICRNL` (Enter is `\r`, read as `\n`), `ICANON` (whole lines, with
//! `VERASE`, `VKILL` and `VEOF` editing), `ECHO`/`ECHOE`/`ECHOCTL`, and
//! `ISIG` (`VINTR`, `VQUIT`, `VSUSP` signal the foreground process group).
//! Output gets `OPOST`/`ONLCR` (`\n` becomes `\r\n`), since the host
//! terminal no longer does it. `TCGETS`/`TCSETS*` read and change the
//! settings (shells switch to raw mode for their own line editing),
//! `TIOCGWINSZ` reports the host terminal's size, `TIOCGPGRP`/`TIOCSPGRP`
//! the foreground process group.
//!
//! Without `-t` there is no terminal: the console streams are plain byte
//! streams and terminal ioctls fail with `ENOTTY`, as for a pipe.

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use vessel_linux::Errno;
use vessel_rt::console::{self, Stream};
use vessel_std::sync::{Mutex, MutexGuard};

/// `c_iflag`: map CR to NL on input.
const ICRNL: u32 = 0o400;
/// `c_oflag`: post-process output.
const OPOST: u32 = 0o1;
/// `c_oflag`: map NL to CR-NL on output.
const ONLCR: u32 = 0o4;
/// `c_lflag` bits.
const ISIG: u32 = 0o1;
const ICANON: u32 = 0o2;
const ECHO: u32 = 0o10;
const ECHOE: u32 = 0o20;
const ECHOK: u32 = 0o40;
const ECHOCTL: u32 = 0o1000;
const IEXTEN: u32 = 0o100000;
/// `c_cflag`: 38400 baud, 8 bits, receiver on.
const CFLAG: u32 = 0o17 | 0o60 | 0o200;
/// Indices into `c_cc`.
const VINTR: usize = 0;
const VQUIT: usize = 1;
const VERASE: usize = 2;
const VKILL: usize = 3;
const VEOF: usize = 4;
const VSUSP: usize = 10;
/// Size of the kernel's `struct termios` (`TCGETS`).
pub const TERMIOS_SIZE: usize = 36;

const SIGINT: u8 = 2;
const SIGQUIT: u8 = 3;
const SIGTSTP: u8 = 20;

/// Terminal settings, laid out as the kernel's `struct termios`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Termios {
    iflag: u32,
    oflag: u32,
    cflag: u32,
    lflag: u32,
    line: u8,
    cc: [u8; 19],
}

impl Termios {
    /// Linux's defaults for a new terminal (`stty sane`).
    fn sane() -> Self {
        let mut cc = [0u8; 19];
        cc[VINTR] = 0x03; // ^C
        cc[VQUIT] = 0x1c; // ^\
        cc[VERASE] = 0x7f; // DEL
        cc[VKILL] = 0x15; // ^U
        cc[VEOF] = 0x04; // ^D
        cc[5] = 0; // VTIME
        cc[6] = 1; // VMIN
        cc[VSUSP] = 0x1a; // ^Z
        Self {
            iflag: ICRNL,
            oflag: OPOST | ONLCR,
            cflag: CFLAG,
            lflag: ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | IEXTEN,
            line: 0,
            cc,
        }
    }

    fn encode(&self) -> [u8; TERMIOS_SIZE] {
        let mut out = [0u8; TERMIOS_SIZE];
        out[0..4].copy_from_slice(&self.iflag.to_le_bytes());
        out[4..8].copy_from_slice(&self.oflag.to_le_bytes());
        out[8..12].copy_from_slice(&self.cflag.to_le_bytes());
        out[12..16].copy_from_slice(&self.lflag.to_le_bytes());
        out[16] = self.line;
        out[17..36].copy_from_slice(&self.cc);
        out
    }

    fn decode(raw: &[u8; TERMIOS_SIZE]) -> Self {
        let word = |at: usize| u32::from_le_bytes([raw[at], raw[at + 1], raw[at + 2], raw[at + 3]]);
        let mut cc = [0u8; 19];
        cc.copy_from_slice(&raw[17..36]);
        Self {
            iflag: word(0),
            oflag: word(4),
            cflag: word(8),
            lflag: word(12),
            line: raw[16],
            cc,
        }
    }
}

/// Who gets the signals typed at the terminal: `(process group, signal)`.
pub type SignalHook = Box<dyn Fn(u32, u8) + Send + Sync>;

struct State {
    termios: Termios,
    columns: u16,
    rows: u16,
    /// The foreground process group.
    foreground: u32,
    /// Input typed in non-canonical mode, ready for `read`.
    ready: VecDeque<u8>,
    /// Lines typed in canonical mode, ready for `read`: each ends with
    /// `\n`, or was cut short by `VEOF`; an empty one is an end of file.
    lines: VecDeque<Vec<u8>>,
    /// The line being edited (canonical mode).
    line: Vec<u8>,
    /// The host's input is exhausted: every read returns 0.
    host_closed: bool,
}

impl State {
    /// Takes at most `max` bytes of ready input: raw bytes first, then the
    /// front line (an empty line is an end of file: `Some(empty)`).
    fn take(&mut self, max: usize) -> Option<Vec<u8>> {
        if !self.ready.is_empty() {
            let n = self.ready.len().min(max);
            return Some(self.ready.drain(..n).collect());
        }
        let front = self.lines.front_mut()?;
        if front.len() <= max {
            return self.lines.pop_front();
        }
        let rest = front.split_off(max);
        Some(core::mem::replace(front, rest))
    }
}

/// The console terminal.
struct Terminal {
    state: Mutex<State>,
    /// Where typed signals go; none: they only end the line being typed.
    signal: Option<SignalHook>,
}

static TERMINAL: Mutex<Option<&'static Terminal>> = Mutex::new(None);

/// Turns the console into a terminal of `columns` x `rows` whose typed
/// signals go to `signal`; `foreground` is the first process group.
pub fn init(columns: u16, rows: u16, foreground: u32, signal: Option<SignalHook>) {
    let terminal = Box::leak(Box::new(Terminal {
        state: Mutex::new(State {
            termios: Termios::sane(),
            columns,
            rows,
            foreground,
            ready: VecDeque::new(),
            lines: VecDeque::new(),
            line: Vec::new(),
            host_closed: false,
        }),
        signal,
    }));
    *TERMINAL.lock().unwrap_or_else(|e| e.into_inner()) = Some(terminal);
}

/// Parses `VESSEL_TTY`'s `COLSxROWS`.
pub fn parse_size(value: &str) -> Option<(u16, u16)> {
    let (columns, rows) = value.split_once('x')?;
    Some((columns.parse().ok()?, rows.parse().ok()?))
}

fn terminal() -> Option<&'static Terminal> {
    *TERMINAL.lock().unwrap_or_else(|e| e.into_inner())
}

impl Terminal {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Writes program output to the terminal, with output processing.
pub fn write(stream: Stream, data: &[u8]) -> Option<usize> {
    let terminal = terminal()?;
    let oflag = terminal.state().termios.oflag;
    emit(stream, data, oflag);
    Some(data.len())
}

/// Sends `data` to the host, turning `\n` into `\r\n` under `ONLCR`.
fn emit(stream: Stream, data: &[u8], oflag: u32) {
    if oflag & (OPOST | ONLCR) != OPOST | ONLCR || !data.contains(&b'\n') {
        console::write_bytes(stream, data);
        return;
    }
    let mut out = Vec::with_capacity(data.len() + data.len() / 8);
    for &byte in data {
        if byte == b'\n' {
            out.push(b'\r');
        }
        out.push(byte);
    }
    console::write_bytes(stream, &out);
}

/// Reads terminal input: a line (or what is ready) in canonical mode,
/// whatever bytes arrived otherwise; 0 at end of file. `None` if the
/// console is not a terminal.
pub fn read(max: usize) -> Option<Vec<u8>> {
    let terminal = terminal()?;
    loop {
        {
            let mut state = terminal.state();
            if let Some(bytes) = state.take(max) {
                return Some(bytes);
            }
            if state.host_closed {
                return Some(Vec::new());
            }
        }
        // Wait for the host (the VM waits with it: see vessel-rt's console).
        let mut bytes = [0u8; 256];
        let n = console::read(&mut bytes);
        let mut signals = Vec::new();
        {
            let mut state = terminal.state();
            if n == 0 {
                state.host_closed = true;
                let pending = core::mem::take(&mut state.line);
                if !pending.is_empty() {
                    state.lines.push_back(pending);
                }
            }
            for &byte in &bytes[..n] {
                if let Some(signal) = input(&mut state, byte) {
                    signals.push((state.foreground, signal));
                }
            }
        }
        if let Some(hook) = &terminal.signal {
            for (group, signal) in signals {
                hook(group, signal);
            }
        }
    }
}

/// Processes one input byte; returns a signal to send, if it is one.
fn input(state: &mut State, mut byte: u8) -> Option<u8> {
    let t = state.termios;
    if byte == b'\r' && t.iflag & ICRNL != 0 {
        byte = b'\n';
    }
    if t.lflag & ISIG != 0 {
        let signal = match byte {
            b if b == t.cc[VINTR] && b != 0 => Some(SIGINT),
            b if b == t.cc[VQUIT] && b != 0 => Some(SIGQUIT),
            b if b == t.cc[VSUSP] && b != 0 => Some(SIGTSTP),
            _ => None,
        };
        if let Some(signal) = signal {
            state.line.clear();
            echo_control(state, byte);
            echo(state, b"\n");
            return Some(signal);
        }
    }
    if t.lflag & ICANON == 0 {
        state.ready.push_back(byte);
        if t.lflag & ECHO != 0 {
            echo(state, &[byte]);
        }
        return None;
    }
    match byte {
        b if b == t.cc[VERASE] || b == 0x08 => {
            let erased = state.line.pop();
            if let Some(erased) = erased
                && t.lflag & ECHO != 0
                && t.lflag & ECHOE != 0
            {
                // A control character was echoed as two (^X).
                let width = if erased < 0x20 && t.lflag & ECHOCTL != 0 {
                    2
                } else {
                    1
                };
                for _ in 0..width {
                    echo(state, b"\x08 \x08");
                }
            }
        }
        b if b == t.cc[VKILL] => {
            let erased = state.line.len();
            state.line.clear();
            if t.lflag & ECHO != 0 && t.lflag & ECHOK != 0 {
                for _ in 0..erased {
                    echo(state, b"\x08 \x08");
                }
            }
        }
        b if b == t.cc[VEOF] => {
            // What was typed so far becomes readable; on an empty line,
            // that is an end of file.
            let line = core::mem::take(&mut state.line);
            state.lines.push_back(line);
        }
        b'\n' => {
            let mut line = core::mem::take(&mut state.line);
            line.push(b'\n');
            state.lines.push_back(line);
            if t.lflag & ECHO != 0 {
                echo(state, b"\n");
            }
        }
        _ => {
            state.line.push(byte);
            if t.lflag & ECHO != 0 {
                echo_control(state, byte);
            }
        }
    }
    None
}

/// Echoes `bytes` with output processing.
fn echo(state: &State, bytes: &[u8]) {
    emit(Stream::Stdout, bytes, state.termios.oflag);
}

/// Echoes a typed byte, control characters as `^X` under `ECHOCTL`.
fn echo_control(state: &State, byte: u8) {
    if state.termios.lflag & ECHO == 0 {
        return;
    }
    if byte < 0x20 && byte != b'\n' && byte != b'\t' && state.termios.lflag & ECHOCTL != 0 {
        echo(state, &[b'^', byte + 0x40]);
    } else {
        echo(state, &[byte]);
    }
}

/// A terminal request from `ioctl`.
pub enum Request {
    /// `TCGETS`.
    GetAttributes,
    /// `TCSETS`, `TCSETSW`, `TCSETSF` (the last also drops pending input).
    SetAttributes {
        /// The new settings.
        termios: [u8; TERMIOS_SIZE],
        /// Drop input not read yet.
        flush: bool,
    },
    /// `TIOCGWINSZ`.
    GetWindowSize,
    /// `TIOCSWINSZ`.
    SetWindowSize {
        /// Rows.
        rows: u16,
        /// Columns.
        columns: u16,
    },
    /// `TIOCGPGRP`.
    GetForeground,
    /// `TIOCSPGRP`.
    SetForeground(u32),
    /// `FIONREAD`: bytes ready to read.
    ReadyBytes,
}

/// What a terminal request answers.
pub enum Reply {
    /// Nothing beyond success.
    Done,
    /// Bytes to copy to the caller's buffer.
    Bytes(Vec<u8>),
    /// A number to store as a C int.
    Number(u32),
}

/// Serves a terminal `ioctl` on the console. `ENOTTY` if it is not a
/// terminal.
pub fn control(request: Request) -> Result<Reply, Errno> {
    let terminal = terminal().ok_or(Errno::ENOTTY)?;
    let mut state = terminal.state();
    Ok(match request {
        Request::GetAttributes => Reply::Bytes(state.termios.encode().to_vec()),
        Request::SetAttributes { termios, flush } => {
            let old_canonical = state.termios.lflag & ICANON != 0;
            state.termios = Termios::decode(&termios);
            if flush {
                state.ready.clear();
                state.lines.clear();
                state.line.clear();
            } else if old_canonical && state.termios.lflag & ICANON == 0 {
                // Leaving canonical mode: the partial line becomes input.
                let line = core::mem::take(&mut state.line);
                state.ready.extend(line);
            }
            Reply::Done
        }
        Request::GetWindowSize => {
            let mut size = [0u8; 8];
            size[0..2].copy_from_slice(&state.rows.to_le_bytes());
            size[2..4].copy_from_slice(&state.columns.to_le_bytes());
            Reply::Bytes(size.to_vec())
        }
        Request::SetWindowSize { rows, columns } => {
            state.rows = rows;
            state.columns = columns;
            Reply::Done
        }
        Request::GetForeground => Reply::Number(state.foreground),
        Request::SetForeground(group) => {
            state.foreground = group;
            Reply::Done
        }
        Request::ReadyBytes => {
            let lines: usize = state.lines.iter().map(Vec::len).sum();
            Reply::Number((state.ready.len() + lines) as u32)
        }
    })
}
