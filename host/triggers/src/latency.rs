//! Trigger latency: for every invocation a poller starts, the delay from the
//! arrival of the batch's first record (the store clock when the write that
//! made it began committing) to the start of the invocation. Kept in a
//! lock-free log-linear histogram (16 buckets per power of two of
//! microseconds: values are kept to within 1/16, about 6 %), cheap enough to
//! record on every batch.
//!
//! Arrival times are stored in whole milliseconds (truncated), so a recorded
//! delay is the true one plus up to 1 ms.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Sub-buckets per power of two.
const SUB_BITS: u32 = 4;
const SUB: usize = 1 << SUB_BITS;
/// Enough buckets for any u64 of microseconds.
const BUCKETS: usize = (64 - SUB_BITS as usize + 1) * SUB;

/// A histogram of delays in microseconds. Share it (`Arc`).
pub struct Latency {
    counts: Box<[AtomicU64]>,
}

impl Default for Latency {
    fn default() -> Latency {
        Latency {
            counts: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

impl std::fmt::Debug for Latency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Latency")
            .field("count", &self.count())
            .finish()
    }
}

/// The bucket of `us`: values below 16 have one each; above, the power of
/// two and the next four bits.
fn bucket(us: u64) -> usize {
    if us < SUB as u64 {
        return us as usize;
    }
    let power = 63 - us.leading_zeros();
    let sub = (us >> (power - SUB_BITS)) as usize & (SUB - 1);
    (power - SUB_BITS + 1) as usize * SUB + sub
}

/// The largest value bucket `index` holds.
fn upper(index: usize) -> u64 {
    if index < SUB {
        return index as u64;
    }
    let power = (index / SUB) as u32 + SUB_BITS - 1;
    let sub = (index % SUB) as u64;
    let low = (1u64 << power) | (sub << (power - SUB_BITS));
    low.saturating_add((1u64 << (power - SUB_BITS)) - 1)
}

impl Latency {
    /// Records one delay.
    pub fn record_us(&self, us: u64) {
        if let Some(count) = self.counts.get(bucket(us)) {
            count.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Records the delay from `arrival_ms` (epoch ms) to now.
    pub(crate) fn record_since(&self, arrival_ms: u64) {
        let now_us = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
        self.record_us(now_us.saturating_sub(arrival_ms.saturating_mul(1000)));
    }

    /// Delays recorded so far.
    pub fn count(&self) -> u64 {
        self.counts.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    /// The `q` quantile (0.0..=1.0) in microseconds: the upper bound of the
    /// bucket holding it. `None` when nothing was recorded.
    pub fn quantile_us(&self, q: f64) -> Option<u64> {
        let counts: Vec<u64> = self
            .counts
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return None;
        }
        // The rank of the quantile, 1-based: at least the first value.
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
        let mut seen = 0u64;
        for (index, count) in counts.iter().enumerate() {
            seen = seen.saturating_add(*count);
            if seen >= rank {
                return Some(upper(index));
            }
        }
        counts.len().checked_sub(1).map(upper)
    }

    /// Forgets everything recorded (to measure one phase at a time).
    pub fn reset(&self) {
        for count in self.counts.iter() {
            count.store(0, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_every_value_in_order_within_a_sixteenth() {
        let mut last = 0;
        for us in (0..100_000u64).chain([u64::MAX / 2, u64::MAX]) {
            let b = bucket(us);
            assert!(b < BUCKETS, "{us}");
            assert!(b >= last, "{us}");
            last = b;
            assert!(upper(b) >= us, "{us} above its bucket's bound");
            assert!(upper(b) - us <= us / 16, "{us}: bound {}", upper(b));
        }
    }

    #[test]
    fn quantiles_come_from_the_recorded_values() {
        let latency = Latency::default();
        assert_eq!(latency.quantile_us(0.5), None);
        for us in 1..=100 {
            latency.record_us(us * 100);
        }
        assert_eq!(latency.count(), 100);
        let p50 = latency.quantile_us(0.5).unwrap();
        assert!((5_000..=5_000 + 5_000 / 16).contains(&p50), "{p50}");
        let p99 = latency.quantile_us(0.99).unwrap();
        assert!((9_900..=9_900 + 9_900 / 16).contains(&p99), "{p99}");
        latency.reset();
        assert_eq!(latency.count(), 0);
    }
}
