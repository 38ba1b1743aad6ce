//! PutRecord and PutRecords. Every entry is checked before anything is written,
//! so a refused request leaves the stream untouched; a PutRecords batch is one
//! group-commit job, so its records commit together.

use super::meta::{self, StreamMeta};
use super::{shards, validate};
use crate::error::{Result, StoreError};
use crate::records::{self, SequenceFormat};
use crate::store::Store;
use crate::writer::WriteCtx;

/// The most records one PutRecords call takes.
pub const MAX_PUT_RECORDS: usize = 500;
/// The most bytes (data + partition keys) one PutRecords call takes (5 MiB).
pub const MAX_PUT_RECORDS_BYTES: usize = 5 << 20;

/// One record to put.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutRecordEntry {
    pub partition_key: String,
    pub data: Vec<u8>,
    /// A decimal hash key in [0, 2^128-1] that overrides the partition key's MD5.
    pub explicit_hash_key: Option<String>,
}

impl PutRecordEntry {
    /// A record routed by its partition key.
    pub fn new(partition_key: impl Into<String>, data: impl Into<Vec<u8>>) -> PutRecordEntry {
        PutRecordEntry {
            partition_key: partition_key.into(),
            data: data.into(),
            explicit_hash_key: None,
        }
    }

    /// Bytes counted against PutRecords' 5 MiB limit.
    fn size(&self) -> usize {
        self.data.len() + self.partition_key.len()
    }
}

/// Where a record went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutResult {
    pub shard: u32,
    pub shard_id: String,
    pub sequence: u64,
    /// The sequence as clients see it (`SequenceFormat::Kinesis`).
    pub sequence_number: String,
    pub arrival_ms: u64,
}

/// Checks one entry's shape and returns its hash key. `prefix` names the entry
/// in messages ("" for PutRecord, "records.3.member." for PutRecords); it is
/// only built when a check fails, since formatting member names for every
/// record of every PutRecords showed up in profiles.
fn check_entry(entry: &PutRecordEntry, prefix: impl Fn() -> String) -> Result<u128> {
    let key_bytes = entry.partition_key.len();
    let plainly_valid = entry.explicit_hash_key.is_none()
        && (1..=validate::MAX_PARTITION_KEY_CHARS).contains(&key_bytes)
        && entry.data.len() <= validate::MAX_DATA_BYTES;
    if plainly_valid {
        return Ok(shards::hash_key(&entry.partition_key));
    }
    let prefix = prefix();
    let mut failures =
        validate::partition_key(&entry.partition_key, &format!("{prefix}partitionKey"));
    if let Some(key) = &entry.explicit_hash_key {
        let shape_ok = key == "0"
            || (key.len() <= 39
                && key.bytes().all(|b| b.is_ascii_digit())
                && !key.starts_with('0'));
        if !shape_ok {
            failures.push(validate::failure(
                key,
                &format!("{prefix}explicitHashKey"),
                "Member must satisfy regular expression pattern: 0|([1-9]\\d{0,38})",
            ));
        }
    }
    failures.extend(validate::data(entry.data.len(), &format!("{prefix}data")));
    validate::check(failures)?;
    match &entry.explicit_hash_key {
        None => Ok(shards::hash_key(&entry.partition_key)),
        Some(key) => shards::parse_hash_key(key).ok_or_else(|| {
            StoreError::InvalidArgument(format!(
                "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. \
                 Specified value was {key}"
            ))
        }),
    }
}

/// Appends one checked record.
fn append(
    ctx: &mut WriteCtx<'_>,
    meta: &StreamMeta,
    hash: u128,
    entry: &PutRecordEntry,
) -> Result<PutResult> {
    let shard = shards::route(meta.shard_count, hash);
    let (sequence, arrival_ms) =
        records::append(ctx, meta.id, shard, &entry.partition_key, &entry.data)?;
    Ok(PutResult {
        shard,
        shard_id: shards::shard_id(shard),
        sequence,
        sequence_number: SequenceFormat::Kinesis.format(sequence),
        arrival_ms,
    })
}

/// Puts one record inside a caller's write job (a trigger function's put that
/// must commit with its checkpoint). Checks first, so an `Err` wrote nothing.
/// `account` is only used in the not-found message.
pub fn put_record_in(
    ctx: &mut WriteCtx<'_>,
    account: &str,
    stream: &str,
    entry: &PutRecordEntry,
) -> Result<PutResult> {
    validate::check(validate::name(stream, "streamName"))?;
    let hash = check_entry(entry, String::new)?;
    let meta = meta::load_in(ctx, account, stream)?;
    append(ctx, &meta, hash, entry)
}

/// PutRecord: appends one record to the shard its hash key falls in.
pub fn put_record(store: &Store, stream: &str, entry: PutRecordEntry) -> Result<PutResult> {
    let account = store.options().account.clone();
    let stream = stream.to_string();
    store.write(move |ctx| put_record_in(ctx, &account, &stream, &entry))
}

/// `put_record` for async callers (see `Store::submit`).
pub async fn put_record_async(
    store: &Store,
    stream: &str,
    entry: PutRecordEntry,
) -> Result<PutResult> {
    let account = store.options().account.clone();
    let stream = stream.to_string();
    store
        .submit(move |ctx| put_record_in(ctx, &account, &stream, &entry))
        .await
}

/// PutRecords: appends up to 500 records in request order, in one commit.
/// A malformed entry, too many records or more than 5 MiB refuses the whole
/// request (as AWS does); the per-record results leave room for per-record
/// failures (AWS's throttling), which eddy does not produce today.
pub fn put_records(
    store: &Store,
    stream: &str,
    entries: Vec<PutRecordEntry>,
) -> Result<PutRecordsResults> {
    store.write(put_records_job(store, stream, entries)?)
}

/// `put_records` for async callers (see `Store::submit`).
pub async fn put_records_async(
    store: &Store,
    stream: &str,
    entries: Vec<PutRecordEntry>,
) -> Result<PutRecordsResults> {
    store.submit(put_records_job(store, stream, entries)?).await
}

/// PutRecords' results: one per entry, in request order.
type PutRecordsResults = Vec<Result<PutResult, StoreError>>;

/// PutRecords checked on the caller's thread, as the writer job that appends it.
fn put_records_job(
    store: &Store,
    stream: &str,
    entries: Vec<PutRecordEntry>,
) -> Result<impl FnOnce(&mut WriteCtx<'_>) -> Result<PutRecordsResults> + Send + 'static> {
    let mut failures = validate::name(stream, "streamName");
    failures.extend(check_count(entries.len()));
    validate::check(failures)?;
    let hashes = entries
        .iter()
        .enumerate()
        .map(|(i, e)| check_entry(e, || format!("records.{}.member.", i + 1)))
        .collect::<Result<Vec<u128>>>()?;
    let total: usize = entries.iter().map(PutRecordEntry::size).sum();
    if total > MAX_PUT_RECORDS_BYTES {
        return Err(StoreError::InvalidArgument(
            "Records size exceeds 5 MB limit".into(),
        ));
    }
    let account = store.options().account.clone();
    let stream = stream.to_string();
    Ok(move |ctx: &mut WriteCtx<'_>| {
        let meta = meta::load_in(ctx, &account, &stream)?;
        let shards: Vec<u32> = hashes
            .iter()
            .map(|&hash| shards::route(meta.shard_count, hash))
            .collect();
        let placed = records::append_batch(
            ctx,
            meta.id,
            entries
                .iter()
                .zip(&shards)
                .map(|(e, &shard)| (shard, e.partition_key.as_str(), e.data.as_slice())),
        )?;
        // One shard id string per shard, not one `format!` per record.
        let mut shard_ids: Vec<Option<String>> = vec![None; meta.shard_count as usize];
        let out = placed
            .into_iter()
            .zip(shards)
            .map(|((sequence, arrival_ms), shard)| {
                let shard_id = match shard_ids.get_mut(shard as usize) {
                    Some(slot) => slot.get_or_insert_with(|| shards::shard_id(shard)).clone(),
                    None => shards::shard_id(shard),
                };
                Ok(PutResult {
                    shard,
                    shard_id,
                    sequence,
                    sequence_number: SequenceFormat::Kinesis.format(sequence),
                    arrival_ms,
                })
            })
            .collect();
        Ok(out)
    })
}

fn check_count(count: usize) -> Vec<String> {
    let value = format!("[{count} records]");
    if count == 0 {
        vec![validate::failure(
            &value,
            "records",
            "Member must have length greater than or equal to 1",
        )]
    } else if count > MAX_PUT_RECORDS {
        vec![validate::failure(
            &value,
            "records",
            "Member must have length less than or equal to 500",
        )]
    } else {
        Vec::new()
    }
}
