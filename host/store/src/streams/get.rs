//! GetRecords: reads one page of a shard from an iterator. Reads only what the
//! call returns (at most `limit` records and 10 MiB), so memory does not grow
//! with the stream; records past retention that trimming has not reached yet
//! are skipped, as if already gone.

use super::iterators::{Token, shard_not_found};
use super::meta;
use crate::error::{Result, StoreError};
use crate::records::{self, Record, SequenceFormat, Start};
use crate::schema::{RECORDS, STREAMS};
use crate::store::Store;

/// The most records one GetRecords call returns, and its default.
pub const MAX_GET_RECORDS: u32 = 10_000;
/// The most bytes (data + partition keys) one GetRecords call returns (10 MiB).
pub const MAX_GET_BYTES: usize = 10 << 20;

/// A record as a reader sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamRecord {
    pub sequence: u64,
    /// The sequence as clients see it (`SequenceFormat::Kinesis`).
    pub sequence_number: String,
    pub partition_key: String,
    pub data: Vec<u8>,
    /// ApproximateArrivalTimestamp, in epoch ms.
    pub arrival_ms: u64,
}

impl From<Record> for StreamRecord {
    fn from(r: Record) -> StreamRecord {
        StreamRecord {
            sequence: r.sequence,
            sequence_number: SequenceFormat::Kinesis.format(r.sequence),
            partition_key: r.partition_key,
            data: r.data,
            arrival_ms: r.arrival_ms,
        }
    }
}

/// One GetRecords page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetRecordsOutput {
    pub records: Vec<StreamRecord>,
    /// Where the next call continues. Shards never close today (no resharding),
    /// so there is always one.
    pub next_shard_iterator: String,
    /// How far behind the newest record of the shard this page ends, in ms; 0
    /// when the page reaches the end of the shard.
    pub millis_behind_latest: u64,
}

/// GetRecords: up to `limit` (1..=10000, default 10000) records from `iterator`.
/// Errors: InvalidArgument (malformed iterator), ExpiredIterator (older than 5
/// minutes), ResourceNotFound (the stream was deleted, even if recreated since).
pub fn get_records(store: &Store, iterator: &str, limit: Option<u32>) -> Result<GetRecordsOutput> {
    let limit = limit.unwrap_or(MAX_GET_RECORDS);
    if !(1..=MAX_GET_RECORDS).contains(&limit) {
        return Err(StoreError::Validation(super::validate::message(
            &super::validate::range(u64::from(limit), "limit", 1, u64::from(MAX_GET_RECORDS)),
        )));
    }
    let token = Token::decode(iterator)?;
    let now_ms = store.now_ms();
    token.check_fresh(now_ms)?;
    let account = store.options().account.as_str();
    let txn = store.read()?;
    let meta = meta::lookup(&txn.open_table(STREAMS)?, &token.stream)?
        .filter(|m| m.id == token.log && token.shard < m.shard_count)
        .ok_or_else(|| shard_not_found(account, &token.stream, token.shard))?;
    let table = txn.open_table(RECORDS)?;
    let cutoff_ms = now_ms.saturating_sub(meta.retention_ms());
    // Expired records not yet trimmed are a prefix of the shard (arrival times
    // never go backwards): step over whole pages of them rather than return empty
    // pages. Each step reads at most one page, so memory stays bounded.
    let mut next = token.next;
    let read = loop {
        let page = records::read(
            &table,
            meta.id,
            token.shard,
            Start::AtSequence(next),
            limit as usize,
            MAX_GET_BYTES,
        )?;
        match page.last() {
            Some(last) if last.arrival_ms < cutoff_ms => next = last.sequence.saturating_add(1),
            _ => break page,
        }
    };
    if let Some(last) = read.last() {
        next = last.sequence.saturating_add(1);
    }
    let last_read_ms = read.last().map(|r| r.arrival_ms);
    let records: Vec<StreamRecord> = read
        .into_iter()
        .filter(|r| r.arrival_ms >= cutoff_ms)
        .map(StreamRecord::from)
        .collect();
    let caught_up = records::last(&table, meta.id, token.shard)?.is_none_or(|r| r.sequence < next);
    let millis_behind_latest = match (caught_up, last_read_ms) {
        (false, Some(ms)) => now_ms.saturating_sub(ms),
        _ => 0,
    };
    let next_token = Token {
        next,
        issued_ms: now_ms,
        ..token
    };
    Ok(GetRecordsOutput {
        records,
        next_shard_iterator: next_token.encode(),
        millis_behind_latest,
    })
}
