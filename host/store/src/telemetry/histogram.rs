//! A compact log-linear histogram, so a metric bucket can answer percentiles
//! (CloudWatch's p99) from what it stored instead of guessing.
//!
//! Values below 64 have a bucket each; above, every power of two is split into
//! 32 buckets, so a bucket is at most 1/32 of its lower bound wide and the value
//! a percentile reports (the bucket's midpoint, clamped to the observed min and
//! max) is within ~1.6% of the true sample. Only non-empty buckets are stored.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Sub-buckets per power of two, as bits.
const SUB_BITS: u32 = 5;
const SUB: u64 = 1 << SUB_BITS;

/// Counts of samples per bucket index (sparse).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Histogram {
    counts: BTreeMap<u16, u64>,
}

/// The bucket a value falls in.
fn index_of(value: u64) -> u16 {
    if value < 2 * SUB {
        return value as u16;
    }
    let shift = 63 - value.leading_zeros() - SUB_BITS;
    let top = value >> shift;
    // shift ≤ 58 and top < 64, so the index is below 1920.
    (u64::from(shift) * SUB + top) as u16
}

/// The smallest and largest value of bucket `index`.
fn bounds_of(index: u16) -> (u64, u64) {
    let index = u64::from(index);
    if index < 2 * SUB {
        return (index, index);
    }
    let shift = (index / SUB).saturating_sub(1).min(58);
    let top = index.saturating_sub(shift * SUB);
    let low = top << shift;
    (low, low.saturating_add((1u64 << shift) - 1))
}

impl Histogram {
    /// Counts one sample.
    pub fn record(&mut self, value: u64) {
        let count = self.counts.entry(index_of(value)).or_insert(0);
        *count = count.saturating_add(1);
    }

    /// Adds every sample of `other`.
    pub fn merge(&mut self, other: &Histogram) {
        for (&index, &n) in &other.counts {
            let count = self.counts.entry(index).or_insert(0);
            *count = count.saturating_add(n);
        }
    }

    /// Samples counted.
    pub fn count(&self) -> u64 {
        self.counts.values().fold(0u64, |a, &n| a.saturating_add(n))
    }

    /// The `p`th percentile (0..=100) by nearest rank, as the midpoint of the
    /// bucket holding that rank; `None` when empty or `p` is out of range.
    pub fn percentile(&self, p: f64) -> Option<u64> {
        let total = self.count();
        if total == 0 || !(0.0..=100.0).contains(&p) {
            return None;
        }
        // Nearest rank: the smallest sample with at least p% of samples ≤ it.
        let rank = ((p / 100.0) * total as f64).ceil().max(1.0) as u64;
        let mut seen = 0u64;
        for (&index, &n) in &self.counts {
            seen = seen.saturating_add(n);
            if seen >= rank {
                let (low, high) = bounds_of(index);
                return Some(low + (high - low) / 2);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_falls_inside_its_bucket() {
        let mut values: Vec<u64> = (0..5000).collect();
        values.extend((0..64).map(|s| 1u64 << s));
        values.extend((1..64).map(|s| (1u64 << s) - 1));
        values.extend([u64::MAX, u64::MAX - 1, 123_456_789, 987_654_321_000]);
        for v in values {
            let (low, high) = bounds_of(index_of(v));
            assert!(low <= v && v <= high, "{v} outside [{low}, {high}]");
            // Width at most 1/32 of the lower bound (exact below 64).
            assert!(high - low <= low / SUB, "bucket of {v} too wide");
        }
    }

    #[test]
    fn indexes_grow_with_values() {
        let mut last = 0;
        for v in (0..200_000u64).step_by(7) {
            let i = index_of(v);
            assert!(i >= last);
            last = i;
        }
        assert!(index_of(u64::MAX) < 1920);
    }

    #[test]
    fn p99_of_a_known_distribution_is_within_the_error_bound() {
        let mut h = Histogram::default();
        // 1..=10_000: the true p99 (nearest rank) is 9_900.
        for v in 1..=10_000u64 {
            h.record(v);
        }
        let p99 = h.percentile(99.0).unwrap() as f64;
        assert!((p99 - 9_900.0).abs() / 9_900.0 < 0.016, "p99 = {p99}");
        let p50 = h.percentile(50.0).unwrap() as f64;
        assert!((p50 - 5_000.0).abs() / 5_000.0 < 0.016, "p50 = {p50}");
        assert_eq!(h.count(), 10_000);
    }

    #[test]
    fn a_slow_tail_is_what_p99_reports() {
        let mut h = Histogram::default();
        for _ in 0..98 {
            h.record(10);
        }
        h.record(50_000);
        h.record(60_000);
        let p99 = h.percentile(99.0).unwrap();
        assert!((49_000..=51_000).contains(&p99), "p99 = {p99}");
        assert_eq!(h.percentile(50.0), Some(10));
    }

    #[test]
    fn merged_histograms_equal_one_fed_everything() {
        let (mut a, mut b, mut both) = (
            Histogram::default(),
            Histogram::default(),
            Histogram::default(),
        );
        for v in 0..1000u64 {
            let v = v * v;
            if v % 3 == 0 { &mut a } else { &mut b }.record(v);
            both.record(v);
        }
        a.merge(&b);
        assert_eq!(a, both);
    }

    #[test]
    fn empty_or_bad_percentiles_are_none() {
        let mut h = Histogram::default();
        assert_eq!(h.percentile(99.0), None);
        h.record(5);
        assert_eq!(h.percentile(-1.0), None);
        assert_eq!(h.percentile(100.5), None);
        assert_eq!(h.percentile(f64::NAN), None);
        assert_eq!(h.percentile(0.0), Some(5));
    }
}
