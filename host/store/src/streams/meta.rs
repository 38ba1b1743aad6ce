//! Stream metadata: what a stream is (name, log id, shards, retention) and the
//! control-plane operations on it: create, describe, list, delete.

use redb::{ReadableTable, ReadableTableMetadata};
use serde::{Deserialize, Serialize};

use super::{shards, validate};
use crate::error::{Result, StoreError};
use crate::records::{self, SequenceFormat};
use crate::schema::{LOG_HEADS, STREAMS};
use crate::store::{Store, next_id};
use crate::writer::WriteCtx;

/// The most open shards one data directory holds, across all its streams (AWS's
/// default account limit is 500 or 200 by region; eddy is one machine, so the
/// cap is about memory and ListShards sizes, not money).
pub const SHARD_LIMIT: u32 = 1024;
/// The retention a new stream starts with.
pub const DEFAULT_RETENTION_HOURS: u32 = 24;
/// How many shards an ON_DEMAND stream starts with when none is asked for (AWS: 4).
pub const ON_DEMAND_SHARDS: u32 = 4;
/// Sequence numbers a stream may allocate before its range meets the next
/// stream's. Each stream's numbers start at `log id * SEQUENCE_SPAN`, so a
/// sequence number from a deleted or other stream is recognised as foreign.
const SEQUENCE_SPAN: u64 = 1_000_000_000_000;

/// The capacity mode of a stream. eddy has no throughput limits, so both behave
/// alike; the mode is kept so DescribeStream reports what was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum StreamMode {
    #[default]
    #[serde(rename = "PROVISIONED")]
    Provisioned,
    #[serde(rename = "ON_DEMAND")]
    OnDemand,
}

impl StreamMode {
    /// The wire name: `PROVISIONED` or `ON_DEMAND`.
    pub fn as_str(self) -> &'static str {
        match self {
            StreamMode::Provisioned => "PROVISIONED",
            StreamMode::OnDemand => "ON_DEMAND",
        }
    }

    /// Parses the wire name.
    pub fn parse(text: &str) -> Option<StreamMode> {
        match text {
            "PROVISIONED" => Some(StreamMode::Provisioned),
            "ON_DEMAND" => Some(StreamMode::OnDemand),
            _ => None,
        }
    }
}

/// A stream as stored in the STREAMS table (JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamMeta {
    pub name: String,
    /// The record log id (unique forever; a recreated stream gets a new one).
    pub id: u64,
    pub shard_count: u32,
    pub created_ms: u64,
    pub retention_hours: u32,
    #[serde(default)]
    pub mode: StreamMode,
    /// The log head when the stream was created: every record's sequence is above it.
    pub first_sequence: u64,
}

/// One shard as DescribeStream and ListShards show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardInfo {
    pub index: u32,
    pub shard_id: String,
    pub starting_hash_key: u128,
    pub ending_hash_key: u128,
    pub starting_sequence_number: String,
}

impl StreamMeta {
    /// `arn:aws:kinesis:REGION:ACCOUNT:stream/NAME`.
    pub fn arn(&self, store: &Store) -> String {
        format!("{}stream/{}", store.arn_prefix("kinesis"), self.name)
    }

    /// Shard `index`, if the stream has it.
    pub fn shard(&self, index: u32) -> Option<ShardInfo> {
        if index >= self.shard_count {
            return None;
        }
        let (start, end) = shards::range(self.shard_count, index);
        Some(ShardInfo {
            index,
            shard_id: shards::shard_id(index),
            starting_hash_key: start,
            ending_hash_key: end,
            starting_sequence_number: SequenceFormat::Kinesis.format(self.first_sequence),
        })
    }

    /// Every shard, in order.
    pub fn shards(&self) -> impl Iterator<Item = ShardInfo> + '_ {
        (0..self.shard_count).filter_map(|i| self.shard(i))
    }

    /// Retention in milliseconds.
    pub fn retention_ms(&self) -> u64 {
        u64::from(self.retention_hours) * 3_600_000
    }

    /// True if `sequence` could have been issued by this stream (it may since have
    /// been trimmed). `head` is the log's last allocated sequence.
    pub(crate) fn owns_sequence(&self, sequence: u64, head: u64) -> bool {
        sequence > self.first_sequence && sequence <= head
    }

    fn decode(bytes: &[u8]) -> Result<StreamMeta> {
        serde_json::from_slice(bytes)
            .map_err(|e| StoreError::Storage(format!("corrupt stream metadata: {e}")))
    }

    fn encode(&self) -> Result<Vec<u8>> {
        serde_json::to_vec(self).map_err(|e| StoreError::Storage(e.to_string()))
    }
}

/// "Stream NAME under account ACCOUNT not found."
pub(crate) fn not_found(store_account: &str, name: &str) -> StoreError {
    StoreError::ResourceNotFound(format!(
        "Stream {name} under account {store_account} not found."
    ))
}

/// Reads a stream's metadata from any table handle (read or write transaction).
pub(crate) fn lookup<T: ReadableTable<&'static str, &'static [u8]>>(
    table: &T,
    name: &str,
) -> Result<Option<StreamMeta>> {
    match table.get(name)? {
        Some(v) => Ok(Some(StreamMeta::decode(v.value())?)),
        None => Ok(None),
    }
}

/// The stream named `name` as seen inside a write, or ResourceNotFound.
pub(crate) fn load_in(ctx: &WriteCtx<'_>, account: &str, name: &str) -> Result<StreamMeta> {
    let table = ctx.txn().open_table(STREAMS)?;
    lookup(&table, name)?.ok_or_else(|| not_found(account, name))
}

/// Stores `meta` (inside a write).
pub(crate) fn save_in(ctx: &WriteCtx<'_>, meta: &StreamMeta) -> Result<()> {
    let bytes = meta.encode()?;
    ctx.txn()
        .open_table(STREAMS)?
        .insert(meta.name.as_str(), bytes.as_slice())?;
    Ok(())
}

/// Creates a PROVISIONED stream of `shard_count` shards.
pub fn create_stream(store: &Store, name: &str, shard_count: u32) -> Result<StreamMeta> {
    create_stream_with_mode(store, name, shard_count, StreamMode::Provisioned)
}

/// Creates a stream. Errors: Validation (bad name, shard count < 1),
/// ResourceInUse (the name is taken), LimitExceeded (more than SHARD_LIMIT open
/// shards in the data directory).
pub fn create_stream_with_mode(
    store: &Store,
    name: &str,
    shard_count: u32,
    mode: StreamMode,
) -> Result<StreamMeta> {
    let mut failures = validate::name(name, "streamName");
    failures.extend(validate::range(
        u64::from(shard_count),
        "shardCount",
        1,
        100_000,
    ));
    validate::check(failures)?;
    let account = store.options().account.clone();
    let region = store.options().region.clone();
    let name = name.to_string();
    store.write(move |ctx| {
        let existing = ctx.txn().open_table(STREAMS)?;
        if existing.get(name.as_str())?.is_some() {
            return Err(StoreError::ResourceInUse(format!(
                "Stream {name} under account {account} already exists."
            )));
        }
        let open = open_shards(&existing)?;
        drop(existing);
        if u64::from(open) + u64::from(shard_count) > u64::from(SHARD_LIMIT) {
            return Err(shard_limit(&account, &region, open, shard_count));
        }
        let id = next_id(ctx)?;
        let first_sequence = id
            .checked_mul(SEQUENCE_SPAN)
            .ok_or_else(|| StoreError::LimitExceeded("no stream ids are left".into()))?;
        // Seed the log head so the first record's sequence is first_sequence + 1.
        ctx.txn()
            .open_table(LOG_HEADS)?
            .insert(id, (first_sequence, 0))?;
        let meta = StreamMeta {
            name: name.clone(),
            id,
            shard_count,
            created_ms: ctx.now_ms,
            retention_hours: DEFAULT_RETENTION_HOURS,
            mode,
            first_sequence,
        };
        save_in(ctx, &meta)?;
        Ok(meta)
    })
}

fn open_shards<T: ReadableTable<&'static str, &'static [u8]>>(table: &T) -> Result<u32> {
    let mut total = 0u32;
    for entry in table.iter()? {
        let (_, value) = entry?;
        total = total.saturating_add(StreamMeta::decode(value.value())?.shard_count);
    }
    Ok(total)
}

fn shard_limit(account: &str, region: &str, open: u32, more: u32) -> StoreError {
    StoreError::LimitExceeded(format!(
        "This request would exceed the shard limit for the account {account} in {region}. \
         Current shard count for the account: {open}. Limit: {SHARD_LIMIT}. Number of \
         additional shards that would have resulted from this request: {more}. Refer to the \
         AWS Service Limits page (http://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) \
         for current limits and how to request higher limits."
    ))
}

/// The stream named `name`, or ResourceNotFound.
pub fn describe_stream(store: &Store, name: &str) -> Result<StreamMeta> {
    let txn = store.read()?;
    let table = txn.open_table(STREAMS)?;
    lookup(&table, name)?.ok_or_else(|| not_found(&store.options().account, name))
}

/// Up to `limit` streams in name order after `exclusive_start`, and whether more follow.
pub fn list_streams(
    store: &Store,
    exclusive_start: Option<&str>,
    limit: usize,
) -> Result<(Vec<StreamMeta>, bool)> {
    let txn = store.read()?;
    let table = txn.open_table(STREAMS)?;
    let mut out = Vec::new();
    let range = match exclusive_start {
        Some(start) => {
            table.range::<&str>((std::ops::Bound::Excluded(start), std::ops::Bound::Unbounded))?
        }
        None => table.range::<&str>(..)?,
    };
    for entry in range {
        let (_, value) = entry?;
        if out.len() == limit {
            return Ok((out, true));
        }
        out.push(StreamMeta::decode(value.value())?);
    }
    Ok((out, false))
}

/// How many streams exist.
pub fn stream_count(store: &Store) -> Result<u64> {
    let txn = store.read()?;
    Ok(txn.open_table(STREAMS)?.len()?)
}

/// Deletes a stream and all its records in one commit. Iterators and sequence
/// numbers of the deleted stream are refused by any later stream of that name.
pub fn delete_stream(store: &Store, name: &str) -> Result<()> {
    validate::check(validate::name(name, "streamName"))?;
    let account = store.options().account.clone();
    let name = name.to_string();
    store.write(move |ctx| {
        let meta = load_in(ctx, &account, &name)?;
        ctx.txn().open_table(STREAMS)?.remove(name.as_str())?;
        records::delete_log(ctx, meta.id)
    })
}
