//! Telemetry of functions, CloudWatch-shaped: log events per function
//! (`logs`) and one-minute metric buckets (`metrics`, with `histogram` for
//! real percentiles). The runtime buffers both off the hot path and writes a
//! `TelemetryBatch` in one store write job (`write_batch_in`).

pub mod histogram;
mod log_block;
mod log_read;
pub mod logs;
pub mod metrics;

use std::collections::BTreeMap;

pub use histogram::Histogram;
pub use logs::{
    LogCursor, LogEvent, LogGroup, LogPage, LogQuery, NewLogBlock, NewLogLine, append_logs_in,
    list_log_groups, log_group, read_logs,
};
pub use metrics::{
    Distribution, MINUTE_MS, MetricBucket, merge_bucket_in, minute_of, read_buckets,
};

use crate::error::Result;
use crate::writer::WriteCtx;

/// Log events and metric buckets not yet written.
#[derive(Debug, Clone, Default)]
pub struct TelemetryBatch {
    /// Log lines in the order they were recorded, a block per invocation.
    pub logs: Vec<NewLogBlock>,
    /// (function, minute start ms) → what was recorded in that minute.
    pub metrics: BTreeMap<(String, u64), MetricBucket>,
}

impl TelemetryBatch {
    /// True when there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.logs.is_empty() && self.metrics.is_empty()
    }

    /// The bucket of `function` for the minute holding `ms`, created empty.
    pub fn bucket(&mut self, function: &str, ms: u64) -> &mut MetricBucket {
        self.metrics
            .entry((function.to_string(), minute_of(ms)))
            .or_default()
    }

    /// Puts an older batch (e.g. one whose write failed) back in front of this one.
    pub fn absorb_older(&mut self, older: TelemetryBatch) {
        let newer = std::mem::replace(&mut self.logs, older.logs);
        self.logs.extend(newer);
        for (key, bucket) in older.metrics {
            self.metrics.entry(key).or_default().merge(&bucket);
        }
    }
}

/// Writes `batch` inside the caller's write job (one commit with whatever
/// else the job writes). All or nothing: everything that can refuse the
/// batch comes before its first write, so a caller that keeps a refused
/// batch to write again later duplicates no log line and counts no
/// invocation twice.
pub fn write_batch_in(ctx: &WriteCtx<'_>, batch: &TelemetryBatch) -> Result<()> {
    let logs = logs::plan_logs_in(ctx, &batch.logs)?;
    // Keys of one stored minute merged first: planned apart, each would
    // start from the same stored bucket and the last would overwrite the rest.
    let mut by_minute: BTreeMap<(&str, u64), MetricBucket> = BTreeMap::new();
    for ((function, minute), bucket) in &batch.metrics {
        by_minute
            .entry((function.as_str(), minute_of(*minute)))
            .or_default()
            .merge(bucket);
    }
    let buckets = by_minute
        .iter()
        .map(|(&(function, minute), bucket)| metrics::plan_bucket_in(ctx, function, minute, bucket))
        .collect::<Result<Vec<_>>>()?;
    logs.write_in(ctx)?;
    for bucket in buckets {
        bucket.write_in(ctx)?;
    }
    Ok(())
}

/// A table opened for reading, or `None` when it was never created (a data
/// directory made before telemetry existed, in which nothing was logged yet).
pub(crate) fn open_for_read<K: redb::Key + 'static, V: redb::Value + 'static>(
    txn: &redb::ReadTransaction,
    table: redb::TableDefinition<K, V>,
) -> Result<Option<redb::ReadOnlyTable<K, V>>> {
    match txn.open_table(table) {
        Ok(table) => Ok(Some(table)),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests;
