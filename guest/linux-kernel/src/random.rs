//! Random bytes for `AT_RANDOM` and `getrandom`.
//!
//! Not cryptographically secure: a xorshift generator seeded from the TSC
//! and the wall clock. Good enough for stack canaries and hash seeds in
//! tests; a virtio-rng device or RDSEED would be the real source.

use core::sync::atomic::{AtomicU64, Ordering};
use vessel_std::time::{Instant, SystemTime, UNIX_EPOCH};

static STATE: AtomicU64 = AtomicU64::new(0);

fn next() -> u64 {
    let mut x = STATE.load(Ordering::Relaxed);
    if x == 0 {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let since = Instant::now().elapsed().as_nanos() as u64;
        x = (wall ^ since.rotate_left(32)) | 1;
    }
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    STATE.store(x, Ordering::Relaxed);
    x
}

/// Fills `buffer` with pseudo-random bytes.
pub fn fill(buffer: &mut [u8]) {
    for chunk in buffer.chunks_mut(8) {
        let bytes = next().to_le_bytes();
        chunk.copy_from_slice(&bytes[..chunk.len()]);
    }
}
