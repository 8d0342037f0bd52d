//! Guest console input that never stops the vCPU.
//!
//! The guest's `ConsoleRead` hypercall does not wait: it takes what input is
//! ready, or hears [`Status::WouldBlock`](vessel_abi::hypercall::Status) and
//! goes on running (other tasks, or `hlt`). When input arrives later, an
//! [`InputWaker`] raises [`INPUT_VECTOR`] in the guest, and the guest asks
//! again. So a guest waiting for its standard input keeps its timers,
//! signals and other processes going, and a key typed at a terminal
//! reaches it (Ctrl-C becomes `SIGINT`) even when no program is reading.
//!
//! The host's side of the wait is an [`InputPump`]: a thread that reads a
//! source (the host's standard input) into a bounded buffer the vCPU
//! thread takes from without blocking.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};

use kvm_bindings::kvm_msi;
use kvm_ioctls::VmFd;
use tracing::{trace, warn};
use vessel_abi::hypercall::INPUT_VECTOR;

/// Raises [`INPUT_VECTOR`] in a running guest, from any thread. Does
/// nothing once the VM is gone, or if it was made with
/// [`InputWaker::default`] (a VM-less server, in tests).
#[derive(Clone, Debug, Default)]
pub struct InputWaker {
    vm: Weak<VmFd>,
}

/// Address of a message-signalled interrupt to the local APIC with ID 0
/// (the boot vCPU), physical destination mode.
const MSI_ADDRESS_BOOT_CPU: u32 = 0xfee0_0000;

impl InputWaker {
    /// A waker for the guest of `vm`.
    pub(crate) fn new(vm: &Arc<VmFd>) -> Self {
        Self {
            vm: Arc::downgrade(vm),
        }
    }

    /// Sends the interrupt: a fixed-delivery, edge-triggered MSI with
    /// vector [`INPUT_VECTOR`] to the boot vCPU. KVM queues it in the
    /// vCPU's local APIC (delivered when the guest enables interrupts) and
    /// wakes the vCPU if it is halted.
    pub fn wake(&self) {
        let Some(vm) = self.vm.upgrade() else {
            return;
        };
        let msi = kvm_msi {
            address_lo: MSI_ADDRESS_BOOT_CPU,
            address_hi: 0,
            data: u32::from(INPUT_VECTOR),
            ..Default::default()
        };
        match vm.signal_msi(msi) {
            Ok(0) => trace!("input interrupt blocked by the guest's APIC"),
            Ok(_) => {}
            Err(e) => warn!(error = %e, "KVM_SIGNAL_MSI for guest input failed"),
        }
    }
}

/// Bytes the pump reads ahead of the guest at most.
const READ_AHEAD: usize = 64 << 10;
/// Bytes the pump asks its source for at a time.
const READ_CHUNK: usize = 16 << 10;

/// Input read ahead on a thread of its own, taken without waiting.
///
/// The thread starts reading only once the guest first asks for input (a
/// guest that never reads leaves the host's standard input untouched, for
/// whatever runs after it), then keeps up to 64 KiB ahead of the guest.
/// If the source blocks forever (a terminal nobody types at), the thread
/// stays blocked in `read` after the VM is gone; it holds nothing of the
/// VM (its waker is weak) and ends with the process.
#[derive(Debug)]
pub struct InputPump {
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<PumpState>,
    /// Signalled when the guest wants input or took some, or the pump
    /// is dropped.
    changed: Condvar,
}

#[derive(Debug, Default)]
struct PumpState {
    /// Read from the source, not yet taken by the guest.
    buffered: VecDeque<u8>,
    /// The source is exhausted (or failed): after `buffered`, end of input.
    ended: bool,
    /// The guest has asked for input at least once.
    wanted: bool,
    /// The pump was dropped: the thread stops (unless blocked in `read`).
    closed: bool,
    /// Who to wake when input arrives, set when the guest heard
    /// `WouldBlock`.
    waiting: Option<InputWaker>,
}

impl InputPump {
    /// Starts the pump thread over `source`.
    pub fn spawn(source: impl Read + Send + 'static) -> io::Result<Self> {
        let shared = Arc::new(Shared::default());
        let pump = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("vessel-input".into())
            .spawn(move || pump.run(source))?;
        Ok(Self { shared })
    }

    /// Takes ready input into `buf`: the byte count, 0 at end of input. If
    /// none is ready yet, fails with [`io::ErrorKind::WouldBlock`] and
    /// calls `waker` once input (or its end) arrives.
    pub fn try_read(&self, buf: &mut [u8], waker: &InputWaker) -> io::Result<usize> {
        let mut state = self.shared.lock();
        if !state.wanted {
            state.wanted = true;
            self.shared.changed.notify_all();
        }
        if state.buffered.is_empty() {
            if state.ended || buf.is_empty() {
                return Ok(0);
            }
            state.waiting = Some(waker.clone());
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = buf.len().min(state.buffered.len());
        for (slot, byte) in buf.iter_mut().zip(state.buffered.drain(..n)) {
            *slot = byte;
        }
        self.shared.changed.notify_all();
        Ok(n)
    }
}

impl Drop for InputPump {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.changed.notify_all();
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, PumpState> {
        // The state stays consistent whatever panicked while holding it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The pump thread: waits until the guest wants input and there is
    /// room, reads a chunk, hands it over, wakes the guest if it waits.
    fn run(&self, mut source: impl Read) {
        let mut chunk = vec![0u8; READ_CHUNK];
        loop {
            {
                let mut state = self.lock();
                while !state.closed && (!state.wanted || state.buffered.len() >= READ_AHEAD) {
                    state = self.changed.wait(state).unwrap_or_else(|e| e.into_inner());
                }
                if state.closed {
                    return;
                }
            }
            let read = source.read(&mut chunk);
            let mut state = self.lock();
            match read {
                Ok(0) => state.ended = true,
                Ok(n) => state.buffered.extend(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    warn!(error = %e, "reading the guest's input failed: it gets end of input");
                    state.ended = true;
                }
            }
            if let Some(waker) = state.waiting.take() {
                waker.wake();
            }
            if state.ended {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    /// Polls `pump` until it gives something other than `WouldBlock`.
    fn read_eventually(pump: &InputPump, buf: &mut [u8]) -> usize {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match pump.try_read(buf, &InputWaker::default()) {
                Ok(n) => return n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    assert!(Instant::now() < deadline, "input never arrived");
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(e) => panic!("{e}"),
            }
        }
    }

    #[test]
    fn input_arrives_in_order_then_ends() {
        let data: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
        let pump = InputPump::spawn(io::Cursor::new(data.clone())).unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 5000];
        loop {
            let n = read_eventually(&pump, &mut buf);
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got, data);
        assert_eq!(read_eventually(&pump, &mut buf), 0, "end of input stays");
    }

    /// A source that counts how often it was read.
    struct Counting(Arc<Mutex<u32>>);

    impl Read for Counting {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            *self.0.lock().unwrap() += 1;
            Ok(0)
        }
    }

    #[test]
    fn the_source_is_not_touched_before_the_guest_asks() {
        let reads = Arc::new(Mutex::new(0));
        let pump = InputPump::spawn(Counting(Arc::clone(&reads))).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(*reads.lock().unwrap(), 0);
        assert_eq!(read_eventually(&pump, &mut [0u8; 8]), 0);
        assert_eq!(*reads.lock().unwrap(), 1);
    }

    /// A source that fails.
    struct Failing;

    impl Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::other("broken"))
        }
    }

    #[test]
    fn a_failing_source_is_the_end_of_input() {
        let pump = InputPump::spawn(Failing).unwrap();
        assert_eq!(read_eventually(&pump, &mut [0u8; 8]), 0);
    }
}
