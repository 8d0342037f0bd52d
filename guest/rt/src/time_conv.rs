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

/// Seconds since the Unix epoch of a UTC calendar time (proleptic
/// Gregorian; `month` 1–12, `day` 1–31), as a battery-backed clock gives it.
pub const fn unix_seconds(
    year: u64,
    month: u64,
    day: u64,
    hour: u64,
    minute: u64,
    second: u64,
) -> u64 {
    // Days from 1970-01-01 to the date: Howard Hinnant's days_from_civil.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y / 400;
    let year_of_era = y - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    days * 86_400 + hour * 3_600 + minute * 60 + second
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_to_unix_time() {
        assert_eq!(unix_seconds(1970, 1, 1, 0, 0, 0), 0);
        assert_eq!(unix_seconds(2000, 3, 1, 0, 0, 0), 951_868_800);
        assert_eq!(unix_seconds(2026, 11, 23, 12, 34, 56), 1_795_437_296);
        assert_eq!(unix_seconds(2024, 2, 29, 23, 59, 59), 1_709_251_199);
    }

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
