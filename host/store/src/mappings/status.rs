//! How each (mapping, shard) poller last fared: Lambda's LastProcessingResult
//! and the numbers `trigger list` and GetEventSourceMapping show. Written in
//! the same write job as the poller's checkpoint (so the status never claims a
//! batch the checkpoint does not have), and on its own after a failure.

use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use crate::error::{Result, StoreError};
use crate::schema::MAPPING_STATUS;
use crate::store::Store;
use crate::writer::WriteCtx;

/// Lambda's LastProcessingResult for a batch that was processed.
pub const RESULT_OK: &str = "OK";
/// Lambda's LastProcessingResult before any batch was processed.
pub const RESULT_NO_RECORDS: &str = "No records processed";
/// Lambda's LastProcessingResult after the function failed on a batch.
pub const RESULT_FUNCTION_FAILED: &str = "PROBLEM: Function call failed";
/// Lambda's LastProcessingResult when the function is gone.
pub const RESULT_NO_FUNCTION: &str = "PROBLEM: Function does not exist";
/// eddy's result when the source stream or table is gone or unreadable (Lambda
/// words the missing stream this way too).
pub const RESULT_NO_SOURCE: &str = "PROBLEM: Stream does not exist";
/// eddy's result when the store itself failed (reading or committing).
pub const RESULT_INTERNAL: &str = "PROBLEM: Internal error";

/// The status of one mapping's poller of one shard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardStatus {
    /// The source's record log id.
    pub log: u64,
    /// The shard index within the log.
    pub shard: u32,
    /// Lambda's LastProcessingResult (`RESULT_*`).
    pub last_result: String,
    /// The errorType of the last failure, kept until a batch succeeds.
    pub last_error_type: Option<String>,
    /// The message of the last failure, kept until a batch succeeds.
    pub last_error_message: Option<String>,
    /// Now − the arrival of the last record processed, at that time (ms):
    /// CloudWatch's IteratorAge.
    pub iterator_age_ms: u64,
    /// Records processed (including filtered-out and given-up ones).
    pub records_processed: u64,
    /// Function invocations made (successful or not).
    pub invocations: u64,
    /// When the function was last invoked (epoch ms).
    pub last_invoke_ms: Option<u64>,
}

impl ShardStatus {
    /// The status of a poller that has done nothing yet.
    pub fn new(log: u64, shard: u32) -> ShardStatus {
        ShardStatus {
            log,
            shard,
            last_result: RESULT_NO_RECORDS.into(),
            last_error_type: None,
            last_error_message: None,
            iterator_age_ms: 0,
            records_processed: 0,
            invocations: 0,
            last_invoke_ms: None,
        }
    }

    fn decode(bytes: &[u8]) -> Result<ShardStatus> {
        serde_json::from_slice(bytes)
            .map_err(|e| StoreError::Storage(format!("corrupt mapping status: {e}")))
    }
}

/// The status of `uuid`'s poller of `log`/`shard` as seen inside a write (a
/// fresh one when it has none yet).
pub fn load_status_in(ctx: &WriteCtx<'_>, uuid: &str, log: u64, shard: u32) -> Result<ShardStatus> {
    let table = ctx.txn().open_table(MAPPING_STATUS)?;
    match table.get((uuid, log, shard))? {
        Some(v) => ShardStatus::decode(v.value()),
        None => Ok(ShardStatus::new(log, shard)),
    }
}

/// Stores the status of `uuid`'s poller of `status.log`/`status.shard`.
pub fn save_status_in(ctx: &WriteCtx<'_>, uuid: &str, status: &ShardStatus) -> Result<()> {
    let bytes = serde_json::to_vec(status).map_err(|e| StoreError::Storage(e.to_string()))?;
    ctx.txn()
        .open_table(MAPPING_STATUS)?
        .insert((uuid, status.log, status.shard), bytes.as_slice())?;
    Ok(())
}

/// Forgets every status of `uuid` (when the mapping is deleted).
pub fn remove_status_in(ctx: &WriteCtx<'_>, uuid: &str) -> Result<()> {
    let mut table = ctx.txn().open_table(MAPPING_STATUS)?;
    table.retain_in((uuid, 0, 0)..=(uuid, u64::MAX, u32::MAX), |_, _| false)?;
    Ok(())
}

/// Every shard status of mapping `uuid`, in (log, shard) order; empty before
/// its pollers have recorded anything.
pub fn status(store: &Store, uuid: &str) -> Result<Vec<ShardStatus>> {
    let txn = store.read()?;
    let table = txn.open_table(MAPPING_STATUS)?;
    table
        .range((uuid, 0, 0)..=(uuid, u64::MAX, u32::MAX))?
        .map(|entry| ShardStatus::decode(entry?.1.value()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreOptions;

    #[test]
    fn statuses_are_kept_per_mapping_and_shard() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
        assert!(status(&store, "m-1").unwrap().is_empty());
        store
            .write(|ctx| {
                let mut s = load_status_in(ctx, "m-1", 4, 1)?;
                assert_eq!(s.last_result, RESULT_NO_RECORDS);
                s.last_result = RESULT_OK.into();
                s.records_processed = 3;
                save_status_in(ctx, "m-1", &s)?;
                save_status_in(ctx, "m-1", &ShardStatus::new(4, 0))?;
                save_status_in(ctx, "m-2", &ShardStatus::new(4, 0))
            })
            .unwrap();
        let all = status(&store, "m-1").unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!((all[0].shard, all[1].shard), (0, 1));
        assert_eq!(all[1].records_processed, 3);
        store.write(|ctx| remove_status_in(ctx, "m-1")).unwrap();
        assert!(status(&store, "m-1").unwrap().is_empty());
        assert_eq!(status(&store, "m-2").unwrap().len(), 1);
    }
}
