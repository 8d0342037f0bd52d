//! Conversions between TSC ticks and nanoseconds (pure arithmetic).

/// Converts between TSC ticks and nanoseconds for one TSC frequency.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TscScale {
    khz: u64,
}

impl TscScale {
    /// A scale for a TSC running at `khz` kHz (non-zero).
    pub const fn new(khz: u64) -> Self {
        assert!(khz > 0, "TSC frequency must be non-zero");
        Self { khz }
    }

    /// The TSC frequency in kHz.
    pub const fn khz(self) -> u64 {
        self.khz
    }

    /// Nanoseconds in `ticks` TSC ticks (saturating).
    pub const fn ticks_to_ns(self, ticks: u64) -> u64 {
        let ns = ticks as u128 * 1_000_000 / self.khz as u128;
        if ns > u64::MAX as u128 {
            u64::MAX
        } else {
            ns as u64
        }
    }

    /// TSC ticks in `ns` nanoseconds, rounded up so that a deadline computed
    /// from it is never early (saturating).
    pub const fn ns_to_ticks(self, ns: u64) -> u64 {
        let ticks = (ns as u128 * self.khz as u128).div_ceil(1_000_000);
        if ticks > u64::MAX as u128 {
            u64::MAX
        } else {
            ticks as u64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_both_ways() {
        let s = TscScale::new(2_500_000); // 2.5 GHz
        assert_eq!(s.ticks_to_ns(2_500_000_000), 1_000_000_000);
        assert_eq!(s.ns_to_ticks(1_000), 2_500);
        assert_eq!(s.ns_to_ticks(1), 3, "rounds up");
        assert_eq!(s.ticks_to_ns(u64::MAX), 7_378_697_629_483_820_646);
        assert_eq!(
            TscScale::new(1).ns_to_ticks(u64::MAX),
            u64::MAX / 1_000_000 + 1
        );
        assert_eq!(
            TscScale::new(u64::MAX).ns_to_ticks(u64::MAX),
            u64::MAX,
            "saturates"
        );
    }
}
