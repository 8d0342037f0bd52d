//! The console: a terminal with a line discipline (`vessel run -t`), or a
//! plain byte stream.
//!
//! Input arrives from the host (its terminal in raw mode, with `-t`) and,
//! on a terminal, is processed as Linux's `n_tty` does for the flags
//! programs use: `ICRNL` (Enter is `\r`, read as `\n`), `ICANON` (whole
//! lines, with `VERASE`, `VKILL` and `VEOF` editing), `ECHO`/`ECHOE`/
//! `ECHOCTL`, and `ISIG` (`VINTR`, `VQUIT`, `VSUSP` signal the foreground
//! process group). Output gets `OPOST`/`ONLCR` (`\n` becomes `\r\n`),
//! since the host terminal no longer does it. `TCGETS`/`TCSETS*` read and
//! change the settings (shells switch to raw mode for their own line
//! editing), `TIOCGWINSZ` reports the host terminal's size,
//! `TIOCGPGRP`/`TIOCSPGRP` the foreground process group.
//!
//! Without `-t` there is no terminal: input is passed on as it comes, and
//! terminal ioctls fail with `ENOTTY`, as for a pipe.
//!
//! Input is fetched from the host by a kernel thread, the pump, so readers
//! wait as they wait for a pipe (interruptibly, and `poll` sees the
//! console become readable). On a terminal the pump runs all the time,
//! keeping up to [`INPUT_LIMIT`] bytes ready, so that Ctrl-C reaches the
//! foreground process group even when nobody reads; on a byte stream it
//! fetches only when a reader (or `poll`) finds nothing ready, so the host's
//! standard input is left alone by programs that never read it.

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};
use vessel_linux::Errno;
use vessel_rt::console::{self, Stream};
use vessel_std::sync::{Condvar, Mutex, MutexGuard};

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
/// Readable input a terminal holds at most (Linux's `N_TTY_BUF_SIZE`):
/// beyond it the pump stops fetching (the host keeps the rest), and a
/// line being typed stops growing.
const INPUT_LIMIT: usize = 4096;

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

    /// No processing at all: a byte stream (the console without `-t`).
    fn stream() -> Self {
        Self {
            iflag: 0,
            oflag: 0,
            cflag: CFLAG,
            lflag: 0,
            line: 0,
            cc: Self::sane().cc,
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
    /// A reader or `poll` found nothing ready: the pump fetches more.
    wanted: bool,
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

    /// Bytes a read could take now.
    fn readable(&self) -> usize {
        self.ready.len() + self.lines.iter().map(Vec::len).sum::<usize>()
    }

    /// Whether a read would not wait: input is ready, or ended.
    fn ready_to_read(&self) -> bool {
        self.host_closed || !self.ready.is_empty() || !self.lines.is_empty()
    }
}

/// The console.
struct Terminal {
    state: Mutex<State>,
    /// Signalled when input arrives or is taken, or a reader wants some.
    changed: Condvar,
    /// Where typed signals go; none: they only end the line being typed.
    signal: Option<SignalHook>,
    /// A terminal (`-t`), not a byte stream.
    is_terminal: bool,
    /// The pump thread was started.
    pump_started: AtomicBool,
}

static TERMINAL: Mutex<Option<&'static Terminal>> = Mutex::new(None);

/// Sets the console up: a terminal of `(columns, rows)` if `size` is
/// given, whose typed signals go to `signal` and whose first foreground
/// process group is `foreground`; otherwise a byte stream.
pub fn init(size: Option<(u16, u16)>, foreground: u32, signal: Option<SignalHook>) {
    let (columns, rows) = size.unwrap_or_default();
    let terminal = Box::leak(Box::new(Terminal {
        state: Mutex::new(State {
            termios: if size.is_some() {
                Termios::sane()
            } else {
                Termios::stream()
            },
            columns,
            rows,
            foreground,
            ready: VecDeque::new(),
            lines: VecDeque::new(),
            line: Vec::new(),
            host_closed: false,
            wanted: false,
        }),
        changed: Condvar::new(),
        signal,
        is_terminal: size.is_some(),
        pump_started: AtomicBool::new(false),
    }));
    *TERMINAL.lock().unwrap_or_else(|e| e.into_inner()) = Some(terminal);
    if terminal.is_terminal && !terminal.start_pump() {
        terminal.state().host_closed = true;
    }
}

/// Parses `VESSEL_TTY`'s `COLSxROWS`.
pub fn parse_size(value: &str) -> Option<(u16, u16)> {
    let (columns, rows) = value.split_once('x')?;
    Some((columns.parse().ok()?, rows.parse().ok()?))
}

/// The console; `None` before [`init`].
fn console() -> Option<&'static Terminal> {
    *TERMINAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// The console if it is a terminal.
fn terminal() -> Option<&'static Terminal> {
    console().filter(|t| t.is_terminal)
}

impl Terminal {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts the pump thread, once; `false` if no thread can be made
    /// (the caller then ends the input: nothing would ever fetch it).
    fn start_pump(&'static self) -> bool {
        if self.pump_started.swap(true, Ordering::AcqRel) {
            return true;
        }
        let spawned = vessel_std::thread::Builder::new()
            .name("console-input".into())
            .spawn(move || self.pump());
        if spawned.is_err() {
            vessel_std::eprintln!("vessel-linux: no memory for the console input thread");
        }
        spawned.is_ok()
    }

    /// Whether the pump should fetch input now: on a terminal while there
    /// is room, on a byte stream when a reader wants some.
    fn should_fetch(&self, state: &State) -> bool {
        if self.is_terminal {
            state.readable() < INPUT_LIMIT
        } else {
            state.wanted
        }
    }

    /// The pump thread: fetches input from the host when
    /// [`Terminal::should_fetch`] says so, passes it through the line
    /// discipline, wakes readers and pollers, sends typed signals; ends
    /// with the host's input.
    fn pump(&self) {
        let mut bytes = [0u8; 256];
        loop {
            let mut state = self.state();
            while !self.should_fetch(&state) {
                state = self.changed.wait(state).unwrap_or_else(|e| e.into_inner());
            }
            drop(state);
            // Only this thread waits here; the VM runs on meanwhile.
            let n = console::read(&mut bytes);
            let mut signals = Vec::new();
            {
                let mut state = self.state();
                state.wanted = false;
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
            self.changed.notify_all();
            crate::poll::changed();
            if let Some(hook) = &self.signal {
                for (group, signal) in signals {
                    hook(group, signal);
                }
            }
            if n == 0 {
                return;
            }
        }
    }

    /// Asks the pump for input (a reader found none ready).
    fn want(&'static self, state: &mut State) {
        if !state.wanted {
            state.wanted = true;
            self.changed.notify_all();
        }
        if !self.start_pump() {
            state.host_closed = true;
        }
    }
}

/// Writes program output to the console (on a terminal, with output
/// processing). It reaches the host before the call returns, as a
/// terminal shows a prompt without a newline at once.
pub fn write(stream: Stream, data: &[u8]) {
    match terminal() {
        Some(terminal) => {
            let oflag = terminal.state().termios.oflag;
            emit(stream, data, oflag);
        }
        None => console::write_bytes(stream, data),
    }
    console::flush();
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

/// Reads console input: on a terminal a line (or what is ready) in
/// canonical mode, whatever bytes arrived otherwise; 0 bytes at end of
/// file. Waits for input (`EAGAIN` instead if `nonblocking`); `ERESTART`
/// if a signal interrupts the wait.
pub fn read(max: usize, nonblocking: bool) -> Result<Vec<u8>, Errno> {
    let Some(console) = console() else {
        return Ok(Vec::new());
    };
    let mut state = console.state();
    loop {
        if let Some(bytes) = state.take(max) {
            drop(state);
            // Room for the pump, on a terminal.
            console.changed.notify_all();
            return Ok(bytes);
        }
        if state.host_closed {
            return Ok(Vec::new());
        }
        console.want(&mut state);
        if nonblocking {
            return Err(Errno::EAGAIN);
        }
        if crate::signal::pending() {
            return Err(Errno::ERESTART);
        }
        state = console
            .changed
            .wait_interruptible(state)
            .unwrap_or_else(|e| e.into_inner());
    }
}

/// Whether a read of the console would not wait (for `poll`); if it
/// would, the pump is asked for input, and `poll` hears when it comes.
pub fn readable() -> bool {
    let Some(console) = console() else {
        return true;
    };
    let mut state = console.state();
    if state.ready_to_read() {
        return true;
    }
    console.want(&mut state);
    false
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
        // A full line takes no more (Linux keeps room for the newline).
        _ if state.line.len() + state.readable() >= INPUT_LIMIT - 1 => {}
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
                // Leaving canonical mode: the lines typed, then the partial
                // one, become raw input, after what is there and in the
                // order typed (a read takes raw input first).
                let lines = core::mem::take(&mut state.lines);
                let line = core::mem::take(&mut state.line);
                state.ready.extend(lines.into_iter().flatten().chain(line));
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
        Request::ReadyBytes => Reply::Number(state.readable() as u32),
    })
}
