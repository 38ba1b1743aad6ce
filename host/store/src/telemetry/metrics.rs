//! Functions' metrics in one-minute buckets, as CloudWatch keeps Lambda's
//! (namespace AWS/Lambda): Invocations, Errors, Throttles, Duration,
//! ConcurrentExecutions and eddy's FuelUsed. A bucket merges whatever was
//! recorded in its minute, however many flushes (or processes) wrote to it.
//!
//! Retention: one-minute buckets are kept `METRIC_RETENTION_MS` (15 days, as
//! CloudWatch keeps one-minute data points); older buckets of a function are
//! removed when it next writes metrics and are never returned by reads.

use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use super::histogram::Histogram;
use super::open_for_read;
use crate::error::{Result, StoreError};
use crate::schema::METRIC_BUCKETS;
use crate::store::Store;
use crate::writer::WriteCtx;

/// The width of a bucket.
pub const MINUTE_MS: u64 = 60_000;
/// How long one-minute buckets are kept (15 days, like CloudWatch).
pub const METRIC_RETENTION_MS: u64 = 15 * 24 * 3600 * 1000;
/// Old buckets removed per write at most, so one write never runs long.
const TRIM_BATCH: usize = 1024;

/// The start of the minute holding `ms`.
pub fn minute_of(ms: u64) -> u64 {
    ms - ms % MINUTE_MS
}

/// Count, sum, min, max and histogram of one metric's samples in a bucket.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Distribution {
    pub count: u64,
    pub sum: u64,
    pub min: u64,
    pub max: u64,
    pub histogram: Histogram,
}

impl Distribution {
    /// Adds one sample.
    pub fn record(&mut self, value: u64) {
        self.min = if self.count == 0 {
            value
        } else {
            self.min.min(value)
        };
        self.max = self.max.max(value);
        self.count = self.count.saturating_add(1);
        self.sum = self.sum.saturating_add(value);
        self.histogram.record(value);
    }

    /// Adds every sample of `other`.
    pub fn merge(&mut self, other: &Distribution) {
        if other.count == 0 {
            return;
        }
        self.min = if self.count == 0 {
            other.min
        } else {
            self.min.min(other.min)
        };
        self.max = self.max.max(other.max);
        self.count = self.count.saturating_add(other.count);
        self.sum = self.sum.saturating_add(other.sum);
        self.histogram.merge(&other.histogram);
    }

    /// The `p`th percentile (0..=100), within the histogram's error and never
    /// outside the observed min and max.
    pub fn percentile(&self, p: f64) -> Option<u64> {
        let value = self.histogram.percentile(p)?;
        Some(value.clamp(self.min, self.max))
    }
}

/// One function's metrics for one minute.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricBucket {
    /// Invocations that ended in this minute (successful or not).
    pub invocations: u64,
    /// Of those, the ones that failed (handler error, limit, trap, commit).
    pub errors: u64,
    /// Always 0: eddy has no concurrency limit yet, so no invocation is ever
    /// throttled. Kept so the metric exists with the value Lambda would report.
    pub throttles: u64,
    /// The most invocations of the function running at once in this minute.
    pub concurrent_max: u64,
    /// Durations in microseconds (reported in milliseconds).
    pub duration_us: Distribution,
    /// Fuel used per invocation.
    pub fuel: Distribution,
}

impl MetricBucket {
    /// Adds `other` (the same function and minute, recorded elsewhere).
    pub fn merge(&mut self, other: &MetricBucket) {
        self.invocations = self.invocations.saturating_add(other.invocations);
        self.errors = self.errors.saturating_add(other.errors);
        self.throttles = self.throttles.saturating_add(other.throttles);
        self.concurrent_max = self.concurrent_max.max(other.concurrent_max);
        self.duration_us.merge(&other.duration_us);
        self.fuel.merge(&other.fuel);
    }

    fn encode(&self) -> Result<Vec<u8>> {
        serde_json::to_vec(self).map_err(|e| StoreError::Storage(e.to_string()))
    }

    fn decode(bytes: &[u8]) -> Result<MetricBucket> {
        serde_json::from_slice(bytes)
            .map_err(|e| StoreError::Storage(format!("corrupt metric bucket: {e}")))
    }
}

/// Merges `bucket` into `function`'s bucket of the minute starting at `minute`,
/// and trims the function's buckets past retention.
pub fn merge_bucket_in(
    ctx: &WriteCtx<'_>,
    function: &str,
    minute: u64,
    bucket: &MetricBucket,
) -> Result<()> {
    plan_bucket_in(ctx, function, minute, bucket)?.write_in(ctx)
}

/// A bucket merged with the stored one and encoded, not yet written: what
/// can refuse a merge (a stored bucket that does not decode) happens here.
pub(crate) struct PlannedBucket<'f> {
    function: &'f str,
    minute: u64,
    encoded: Vec<u8>,
}

/// Plans `merge_bucket_in` without writing.
pub(crate) fn plan_bucket_in<'f>(
    ctx: &WriteCtx<'_>,
    function: &'f str,
    minute: u64,
    bucket: &MetricBucket,
) -> Result<PlannedBucket<'f>> {
    let table = ctx.txn().open_table(METRIC_BUCKETS)?;
    let minute = minute_of(minute);
    let mut merged = match table.get((function, minute))? {
        Some(found) => MetricBucket::decode(found.value())?,
        None => MetricBucket::default(),
    };
    merged.merge(bucket);
    Ok(PlannedBucket {
        function,
        minute,
        encoded: merged.encode()?,
    })
}

impl PlannedBucket<'_> {
    /// Writes the merged bucket and trims the function's expired ones.
    pub(crate) fn write_in(self, ctx: &WriteCtx<'_>) -> Result<()> {
        let mut table = ctx.txn().open_table(METRIC_BUCKETS)?;
        table.insert((self.function, self.minute), self.encoded.as_slice())?;
        let horizon = ctx.now_ms.saturating_sub(METRIC_RETENTION_MS);
        let expired: Vec<u64> = table
            .range((self.function, 0)..(self.function, horizon))?
            .take(TRIM_BATCH)
            .map(|entry| entry.map(|(k, _)| k.value().1))
            .collect::<std::result::Result<_, _>>()?;
        for minute in expired {
            table.remove((self.function, minute))?;
        }
        Ok(())
    }
}

/// `function`'s buckets whose minute starts in `start_ms..end_ms`, oldest first
/// (nothing past retention).
pub fn read_buckets(
    store: &Store,
    function: &str,
    start_ms: u64,
    end_ms: u64,
) -> Result<Vec<(u64, MetricBucket)>> {
    let start = start_ms.max(store.now_ms().saturating_sub(METRIC_RETENTION_MS));
    if start >= end_ms {
        return Ok(Vec::new());
    }
    let txn = store.read()?;
    let Some(table) = open_for_read(&txn, METRIC_BUCKETS)? else {
        return Ok(Vec::new());
    };
    let mut buckets = Vec::new();
    for entry in table.range((function, start)..(function, end_ms))? {
        let (key, value) = entry?;
        buckets.push((key.value().1, MetricBucket::decode(value.value())?));
    }
    Ok(buckets)
}
