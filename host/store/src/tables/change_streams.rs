//! The read side of table change streams (DynamoDB Streams): ListStreams,
//! DescribeStream, GetShardIterator, GetRecords, retention trimming, and the
//! lower-level access trigger pollers use (`change_log`, `read_changes`).
//!
//! Each change stream has one shard. Shard iterators reuse the Kinesis token
//! format (table name, log id, shard, next sequence, issue time, MD5 check) and
//! expire 15 minutes after issue, as DynamoDB Streams' do. Records are kept 24
//! hours; reads skip older ones even before `trim_expired` deletes them.

use md5::{Digest, Md5};
use redb::ReadableTable;
use serde_json::Value;

use super::change_format::lambda_json;
use super::changes::CHANGE_SHARD;
use super::meta::{ChangeStream, StreamViewType, TableMeta, deleted_tables, lookup};
use crate::error::{Result, StoreError};
use crate::records::{self, Record, SequenceFormat, Start};
use crate::schema::{DELETED_TABLES, LOG_HEADS, RECORDS, TABLES};
use crate::store::Store;
use crate::streams::iterators::Token;

/// How long change records are kept (24 h).
pub const RETENTION_MS: u64 = 24 * 3_600_000;
/// How long a shard iterator stays valid (15 minutes).
pub const ITERATOR_TTL_MS: u64 = 15 * 60_000;
/// The most records one GetRecords returns.
pub const MAX_GET_RECORDS: usize = 1000;
/// The most bytes of records one GetRecords returns.
pub const MAX_GET_BYTES: usize = 1 << 20;
/// Records one trimming write job deletes at most.
pub const TRIM_BATCH: usize = 1000;

/// A stream as ListStreams shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamSummary {
    pub arn: String,
    pub table: String,
    pub label: String,
}

/// A stream's one shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardDescription {
    pub shard_id: String,
    /// The oldest record's sequence (or the next one to come when empty).
    pub starting_sequence: String,
    /// Set once the stream is disabled: the last sequence it holds.
    pub ending_sequence: Option<String>,
}

/// A stream as DescribeStream shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamDescription {
    pub arn: String,
    pub label: String,
    pub enabled: bool,
    pub view_type: StreamViewType,
    pub created_ms: u64,
    /// The table (its name and key schema).
    pub table: TableMeta,
    pub shard: ShardDescription,
}

/// Where GetShardIterator starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IteratorStart {
    TrimHorizon,
    Latest,
    AtSequence(String),
    AfterSequence(String),
}

/// One GetRecords result: the records (as stored, JSON) and the iterator to
/// continue with (`None` once a closed shard is exhausted).
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeRecords {
    pub records: Vec<Value>,
    pub next_iterator: Option<String>,
}

/// Names the change log of a table's enabled stream, for trigger pollers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeLog {
    pub table: String,
    /// The record log id (see `records`).
    pub log: u64,
    /// Always `CHANGE_SHARD`.
    pub shard: u32,
    pub stream_arn: String,
    pub view_type: StreamViewType,
}

/// One stored change record.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeRecord {
    pub sequence: u64,
    pub arrival_ms: u64,
    /// The record as Lambda's event shows it (see `change_format`).
    pub event: Value,
}

fn stream_not_found(arn: &str) -> StoreError {
    StoreError::ResourceNotFound(format!(
        "Requested resource not found: Stream: {arn} not found"
    ))
}

fn invalid(message: impl Into<String>) -> StoreError {
    StoreError::Validation(message.into())
}

/// The shard id of a stream: `shardId-<20-digit creation ms>-<8 hex>`.
pub fn shard_id(stream: &ChangeStream) -> String {
    let hash = Md5::digest(stream.log.to_be_bytes());
    let hex: String = hash.iter().take(4).map(|b| format!("{b:02x}")).collect();
    format!("shardId-{:020}-{hex}", stream.created_ms)
}

/// Splits `arn:aws:dynamodb:R:A:table/NAME/stream/LABEL` into (NAME, LABEL).
fn parse_arn(arn: &str) -> Result<(&str, &str)> {
    let bad = || invalid(format!("Invalid StreamArn: {arn}"));
    let rest = arn.strip_prefix("arn:aws:dynamodb:").ok_or_else(bad)?;
    let (_, path) = rest.split_once(":table/").ok_or_else(bad)?;
    let (table, label) = path.split_once("/stream/").ok_or_else(bad)?;
    if table.is_empty() || label.is_empty() {
        return Err(bad());
    }
    Ok((table, label))
}

/// The table and stream an ARN names, in a read snapshot.
fn resolve(txn: &redb::ReadTransaction, arn: &str) -> Result<(TableMeta, ChangeStream)> {
    let (table, label) = parse_arn(arn)?;
    find_stream(txn, table, |meta| {
        let stream = meta.stream_by_label(label).cloned()?;
        (meta.stream_arn(&stream) == arn).then_some((meta, stream))
    })?
    .ok_or_else(|| stream_not_found(arn))
}

/// What `find` takes from a stream of table `table`: from the live table,
/// else (read only then) from a deleted one still kept.
fn find_stream<T>(
    txn: &redb::ReadTransaction,
    table: &str,
    find: impl Fn(TableMeta) -> Option<T>,
) -> Result<Option<T>> {
    if let Some(found) = lookup(&txn.open_table(TABLES)?, table)?.and_then(&find) {
        return Ok(Some(found));
    }
    let deleted = deleted_tables(&txn.open_table(DELETED_TABLES)?, Some(table))?;
    Ok(deleted.into_iter().find_map(find))
}

/// ListStreams: streams (of one table, if named) in (table, creation) order,
/// up to `limit` after `exclusive_start`, and the last ARN when more follow.
pub fn list_streams(
    store: &Store,
    table: Option<&str>,
    exclusive_start: Option<&str>,
    limit: usize,
) -> Result<(Vec<StreamSummary>, Option<String>)> {
    let txn = store.read()?;
    let tables = txn.open_table(TABLES)?;
    let mut metas: Vec<TableMeta> = match table {
        Some(name) => lookup(&tables, name)?.into_iter().collect(),
        None => tables
            .iter()?
            .map(|entry| TableMeta::decode(entry?.1.value()))
            .collect::<Result<_>>()?,
    };
    metas.extend(deleted_tables(&txn.open_table(DELETED_TABLES)?, table)?);
    let mut all: Vec<(u64, StreamSummary)> = metas
        .iter()
        .flat_map(|meta| {
            meta.streams.iter().map(|s| {
                let summary = StreamSummary {
                    arn: meta.stream_arn(s),
                    table: meta.name.clone(),
                    label: s.label(),
                };
                (s.created_ms, summary)
            })
        })
        .collect();
    // Table by table, each table's streams (a deleted one's too) by creation.
    all.sort_by(|(a_ms, a), (b_ms, b)| (&a.table, a_ms).cmp(&(&b.table, b_ms)));
    // A page starts after the position (table, label) of the stream that
    // ended the last one, so it goes on even if that stream is gone since.
    let after = exclusive_start.map(parse_arn).transpose()?;
    let mut out = Vec::new();
    for (_, summary) in all {
        if let Some((table, label)) = after
            && (summary.table.as_str(), summary.label.as_str()) <= (table, label)
        {
            continue;
        }
        if out.len() == limit {
            let last = out.last().map(|s: &StreamSummary| s.arn.clone());
            return Ok((out, last));
        }
        out.push(summary);
    }
    Ok((out, None))
}

/// DescribeStream.
pub fn describe_stream(store: &Store, arn: &str) -> Result<StreamDescription> {
    let txn = store.read()?;
    let (meta, stream) = resolve(&txn, arn)?;
    let records_table = txn.open_table(RECORDS)?;
    let head = records::head(&txn.open_table(LOG_HEADS)?, stream.log)?;
    let starting = oldest_kept(&records_table, stream.log, head)?;
    let shard = ShardDescription {
        shard_id: shard_id(&stream),
        starting_sequence: SequenceFormat::DynamoDb.format(starting),
        ending_sequence: (!stream.is_enabled())
            .then(|| SequenceFormat::DynamoDb.format(stream.closed_at_sequence)),
    };
    Ok(StreamDescription {
        arn: meta.stream_arn(&stream),
        label: stream.label(),
        enabled: stream.is_enabled(),
        view_type: stream.view_type,
        created_ms: stream.created_ms,
        table: meta,
        shard,
    })
}

/// GetShardIterator: a token for reading the stream's shard from `start`.
pub fn get_shard_iterator(
    store: &Store,
    arn: &str,
    shard: &str,
    start: IteratorStart,
) -> Result<String> {
    let txn = store.read()?;
    let (meta, stream) = resolve(&txn, arn)?;
    if shard != shard_id(&stream) {
        return Err(StoreError::ResourceNotFound(format!(
            "Requested resource not found: Shard does not exist: {shard} in stream {arn}"
        )));
    }
    let head = records::head(&txn.open_table(LOG_HEADS)?, stream.log)?;
    let oldest = oldest_kept(&txn.open_table(RECORDS)?, stream.log, head)?;
    let parse = |text: &str| -> Result<u64> {
        match SequenceFormat::DynamoDb.parse(text) {
            Some(n) if n >= 1 && n <= head => Ok(n),
            _ => Err(invalid(format!(
                "Invalid SequenceNumber: {text} is not a sequence number of shard {shard} in stream {arn}"
            ))),
        }
    };
    let next = match start {
        IteratorStart::TrimHorizon => oldest,
        IteratorStart::Latest => head.saturating_add(1),
        IteratorStart::AtSequence(text) => parse(&text)?,
        IteratorStart::AfterSequence(text) => parse(&text)?.saturating_add(1),
    };
    if next < oldest {
        return Err(trimmed(format!(
            "The data you are trying to access has been trimmed: the stream records of shard {shard} in stream {arn} before sequence number {} are gone (24-hour retention)",
            SequenceFormat::DynamoDb.format(oldest)
        )));
    }
    Ok(Token {
        stream: meta.name,
        log: stream.log,
        shard: CHANGE_SHARD,
        next,
        issued_ms: store.now_ms(),
    }
    .encode())
}

/// GetRecords: up to `limit` (1..=1000) records from the iterator's position.
pub fn get_records(store: &Store, iterator: &str, limit: usize) -> Result<ChangeRecords> {
    if !(1..=MAX_GET_RECORDS).contains(&limit) {
        return Err(invalid(format!(
            "1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 1000"
        )));
    }
    let token = Token::decode(iterator).map_err(|_| invalid("Invalid ShardIterator"))?;
    let now = store.now_ms();
    if now.saturating_sub(token.issued_ms) > ITERATOR_TTL_MS {
        return Err(StoreError::ExpiredIterator(
            "Iterator expired. The iterator was created more than 15 minutes ago.".into(),
        ));
    }
    let txn = store.read()?;
    let of_log = |meta: TableMeta| {
        let stream = meta.streams.iter().find(|s| s.log == token.log)?;
        Some((meta.stream_arn(stream), stream.clone()))
    };
    let Some((arn, stream)) = find_stream(&txn, &token.stream, of_log)? else {
        return Err(StoreError::ResourceNotFound(
            "Requested resource not found: the stream of this iterator no longer exists".into(),
        ));
    };
    let records_table = txn.open_table(RECORDS)?;
    let head = records::head(&txn.open_table(LOG_HEADS)?, token.log)?;
    if token.next < oldest_kept(&records_table, token.log, head)? {
        // Trimmed since the iterator was issued: the records it points at are gone.
        return Err(trimmed(
            "The data you are trying to access has been trimmed: stream records this iterator points at are gone (24-hour retention); get a new iterator (TRIM_HORIZON starts at the oldest record kept)".into(),
        ));
    }
    let read = read_live(&records_table, token.log, token.next, limit, now)?;
    let (records, last) = rendered_page(&read, token.log, &arn)?;
    let next = last.map_or(token.next, |sequence| sequence.saturating_add(1));
    // A closed shard gets no more records: once a read finds nothing more (or
    // passes its last sequence) the shard is exhausted.
    let exhausted =
        !stream.is_enabled() && (records.is_empty() || next > stream.closed_at_sequence);
    let next_iterator = (!exhausted).then(|| {
        Token {
            next,
            issued_ms: now,
            ..token
        }
        .encode()
    });
    Ok(ChangeRecords {
        records,
        next_iterator,
    })
}

/// GetRecords' records, as DynamoDB Streams shows them (without Lambda's
/// eventSourceARN), up to 1 MB of that JSON (at least one record), and the
/// sequence of the last one. The stored records are smaller than their JSON,
/// so the limit the read applied to them is not the one that counts.
fn rendered_page(read: &[Record], log: u64, arn: &str) -> Result<(Vec<Value>, Option<u64>)> {
    let mut records = Vec::with_capacity(read.len());
    let (mut bytes, mut last) = (0, None);
    for record in read {
        let value = lambda_json(&record.data, log, record.sequence, arn, false)?;
        let size = serde_json::to_vec(&value).map_or(0, |text| text.len());
        if !records.is_empty() && bytes + size > MAX_GET_BYTES {
            break;
        }
        bytes += size;
        last = Some(record.sequence);
        records.push(value);
    }
    Ok((records, last))
}

/// The sequence number of the oldest record of `log` still stored (one past
/// `head` when there is none): what TRIM_HORIZON starts at, and what
/// DescribeStream reports. Records before it were trimmed. Records past
/// retention but not trimmed yet (trimming runs every minute) still count as
/// there, as DynamoDB trims lazily too: reads skip them, but an iterator that
/// points at them does not go stale the moment they age out.
fn oldest_kept<T: ReadableTable<(u64, u32, u64), &'static [u8]>>(
    table: &T,
    log: u64,
    head: u64,
) -> Result<u64> {
    Ok(records::first(table, log, CHANGE_SHARD)?
        .map_or_else(|| head.saturating_add(1), |r| r.sequence))
}

fn trimmed(message: String) -> StoreError {
    StoreError::TrimmedDataAccess(message)
}

/// Reads up to `limit` records from `from`, skipping records past retention.
fn read_live<T: ReadableTable<(u64, u32, u64), &'static [u8]>>(
    table: &T,
    log: u64,
    from: u64,
    limit: usize,
    now_ms: u64,
) -> Result<Vec<Record>> {
    let cutoff = now_ms.saturating_sub(RETENTION_MS);
    let mut from = from;
    loop {
        let batch = records::read(
            table,
            log,
            CHANGE_SHARD,
            Start::AtSequence(from),
            limit,
            MAX_GET_BYTES,
        )?;
        let Some(last) = batch.last().map(|r| r.sequence) else {
            return Ok(batch);
        };
        let live: Vec<Record> = batch
            .into_iter()
            .filter(|r| r.arrival_ms >= cutoff)
            .collect();
        if !live.is_empty() {
            return Ok(live);
        }
        from = last.saturating_add(1);
    }
}

/// The ARN of the change stream whose records are log `log`, of a live
/// table or of a deleted one still kept.
fn stream_arn_of_log(txn: &redb::ReadTransaction, log: u64) -> Result<String> {
    let live = txn.open_table(TABLES)?;
    let mut metas = Vec::new();
    for entry in live.iter()? {
        metas.push(TableMeta::decode(entry?.1.value())?);
    }
    metas.extend(deleted_tables(&txn.open_table(DELETED_TABLES)?, None)?);
    metas
        .iter()
        .find_map(|meta| {
            let stream = meta.streams.iter().find(|s| s.log == log)?;
            Some(meta.stream_arn(stream))
        })
        .ok_or_else(|| StoreError::ResourceNotFound(format!("no change stream has log {log}")))
}

/// The enabled change stream of `table`, if it has one (for trigger pollers).
pub fn change_log(store: &Store, table: &str) -> Result<Option<ChangeLog>> {
    let txn = store.read()?;
    let Some(meta) = lookup(&txn.open_table(TABLES)?, table)? else {
        return Err(super::meta::table_not_found(table));
    };
    Ok(meta.enabled_stream().map(|s| ChangeLog {
        table: meta.name.clone(),
        log: s.log,
        shard: CHANGE_SHARD,
        stream_arn: meta.stream_arn(s),
        view_type: s.view_type,
    }))
}

/// Up to `limit` change records of `log` with a sequence above `after`
/// (records past retention skipped), each as Lambda's event shows it.
pub fn read_changes(
    store: &Store,
    log: u64,
    after: u64,
    limit: usize,
) -> Result<Vec<ChangeRecord>> {
    let txn = store.read()?;
    let arn = stream_arn_of_log(&txn, log)?;
    let table = txn.open_table(RECORDS)?;
    read_live(&table, log, after.saturating_add(1), limit, store.now_ms())?
        .into_iter()
        .map(|r| {
            Ok(ChangeRecord {
                sequence: r.sequence,
                arrival_ms: r.arrival_ms,
                event: lambda_json(&r.data, log, r.sequence, &arn, true)?,
            })
        })
        .collect()
}

/// `read_changes` without rendering: each record's `data` is as stored (see
/// `change_format`), for trigger pollers that build their events from it.
pub fn read_change_records(
    store: &Store,
    log: u64,
    after: u64,
    limit: usize,
) -> Result<Vec<Record>> {
    let txn = store.read()?;
    let table = txn.open_table(RECORDS)?;
    read_live(&table, log, after.saturating_add(1), limit, store.now_ms())
}

/// Deletes change records older than 24 h from every table's streams; returns
/// how many. Works in write jobs of at most TRIM_BATCH deletions and only
/// where a read shows something to trim. Run it from a background thread.
pub fn trim_expired(store: &Store) -> Result<u64> {
    // A deleted table that cannot be read back must not stop the trimming of
    // the others: its error is returned once they are trimmed.
    let forgotten = forget_deleted_tables(store);
    let (logs, deleted_logs) = {
        let txn = store.read()?;
        let tables = txn.open_table(TABLES)?;
        let mut logs = Vec::new();
        for entry in tables.iter()? {
            let meta = TableMeta::decode(entry?.1.value())?;
            logs.extend(meta.streams.iter().map(|s| s.log));
        }
        let deleted_logs = txn
            .open_table(DELETED_TABLES)
            .map_err(StoreError::from)
            .and_then(|kept| deleted_tables(&kept, None))
            .map(|metas| {
                for meta in metas {
                    logs.extend(meta.streams.iter().map(|s| s.log));
                }
            });
        (logs, deleted_logs)
    };
    let mut total = 0;
    for log in logs {
        while oldest_is_expired(store, log)? {
            let deleted = store.write(move |ctx| {
                let cutoff = ctx.now_ms.saturating_sub(RETENTION_MS);
                records::trim_at_most(ctx, log, CHANGE_SHARD, cutoff, TRIM_BATCH)
            })?;
            total += deleted;
            if deleted < TRIM_BATCH as u64 {
                break;
            }
        }
    }
    forgotten.and(deleted_logs)?;
    Ok(total)
}

/// Removes the deleted tables kept for longer than the retention, with
/// their streams' records (one write job per table).
fn forget_deleted_tables(store: &Store) -> Result<()> {
    let expired: Vec<u64> = {
        let cutoff = store.now_ms().saturating_sub(RETENTION_MS);
        let txn = store.read()?;
        let mut expired = Vec::new();
        for entry in txn.open_table(DELETED_TABLES)?.iter()? {
            let (id, kept) = entry?;
            if kept.value().0 < cutoff {
                expired.push(id.value());
            }
        }
        expired
    };
    for id in expired {
        store.write(move |ctx| {
            let meta = {
                let mut kept = ctx.txn().open_table(DELETED_TABLES)?;
                let removed = kept.remove(id)?;
                match removed {
                    Some(found) => TableMeta::decode(found.value().1)?,
                    None => return Ok(()),
                }
            };
            for stream in &meta.streams {
                records::delete_log(ctx, stream.log)?;
            }
            Ok(())
        })?;
    }
    Ok(())
}

fn oldest_is_expired(store: &Store, log: u64) -> Result<bool> {
    let cutoff = store.now_ms().saturating_sub(RETENTION_MS);
    let txn = store.read()?;
    let table = txn.open_table(RECORDS)?;
    Ok(records::first(&table, log, CHANGE_SHARD)?.is_some_and(|r| r.arrival_ms < cutoff))
}
