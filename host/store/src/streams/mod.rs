//! Kinesis-style data streams: named streams of shards holding ordered records.
//!
//! - `meta`: StreamMeta and create / describe / list / delete;
//! - `shards`: hash-key ranges and MD5 routing;
//! - `put`: PutRecord / PutRecords (and `put_record_in` for a caller's own write);
//! - `iterators`: shard iterator tokens; `get`: GetRecords;
//! - `retention`: retention periods and trimming of expired records;
//! - `validate`: shape checks worded as AWS's ValidationException.
//!
//! Records live in the shared record log (`crate::records`), one log per stream,
//! with sequence numbers in `SequenceFormat::Kinesis`. Decisions worth knowing:
//! - each stream's sequence numbers start at `log id * 10^12` (the log head is
//!   seeded on create), so a sequence number from a deleted, recreated or other
//!   stream is recognised and refused;
//! - streams are ACTIVE as soon as CreateStream returns (no CREATING phase);
//! - reads skip records past retention even before `trim_expired` deletes them.

pub mod get;
pub mod iterators;
pub mod meta;
pub mod put;
pub mod retention;
pub mod shards;
pub mod validate;

pub use get::{GetRecordsOutput, StreamRecord, get_records};
pub use iterators::{IteratorStart, get_shard_iterator};
pub use meta::{
    SHARD_LIMIT, ShardInfo, StreamMeta, StreamMode, create_stream, create_stream_with_mode,
    delete_stream, describe_stream, list_streams,
};
pub use put::{
    PutRecordEntry, PutResult, put_record, put_record_async, put_record_in, put_records,
    put_records_async,
};
pub use retention::{decrease_retention_period, increase_retention_period, trim_expired};

#[cfg(test)]
mod model_tests;
#[cfg(test)]
mod tests;
