//! Ordered record logs. A log is a Kinesis stream or one table change stream; it
//! has shards, and each shard holds records under sequence numbers that strictly
//! increase within the shard and are unique across the log (one counter per log).
//!
//! A record is stored as: arrival ms (u64 LE) | partition key length (u16 LE) |
//! partition key (UTF-8) | data.

use redb::{ReadableTable, ReadableTableMetadata};

use crate::error::{Result, StoreError};
use crate::schema::{LOG_HEADS, RECORDS};
use crate::writer::WriteCtx;

/// One record as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub sequence: u64,
    pub arrival_ms: u64,
    pub partition_key: String,
    pub data: Vec<u8>,
}

impl Record {
    #[cfg(test)]
    fn encode(arrival_ms: u64, partition_key: &str, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        Record::encode_into(&mut out, arrival_ms, partition_key, data);
        out
    }

    /// Encodes into `out` (cleared first), so a batch reuses one buffer.
    fn encode_into(out: &mut Vec<u8>, arrival_ms: u64, partition_key: &str, data: &[u8]) {
        out.clear();
        out.reserve(10 + partition_key.len() + data.len());
        out.extend_from_slice(&arrival_ms.to_le_bytes());
        out.extend_from_slice(&(partition_key.len() as u16).to_le_bytes());
        out.extend_from_slice(partition_key.as_bytes());
        out.extend_from_slice(data);
    }

    fn decode(sequence: u64, bytes: &[u8]) -> Result<Record> {
        let corrupt = || StoreError::Storage(format!("corrupt record at sequence {sequence}"));
        let arrival_ms =
            u64::from_le_bytes(bytes.get(0..8).ok_or_else(corrupt)?.try_into().unwrap());
        let key_len =
            u16::from_le_bytes(bytes.get(8..10).ok_or_else(corrupt)?.try_into().unwrap()) as usize;
        let key = bytes.get(10..10 + key_len).ok_or_else(corrupt)?;
        Ok(Record {
            sequence,
            arrival_ms,
            partition_key: String::from_utf8(key.to_vec()).map_err(|_| corrupt())?,
            data: bytes[10 + key_len..].to_vec(),
        })
    }

    /// Bytes this record counts against read limits (data + partition key).
    pub fn size(&self) -> usize {
        self.data.len() + self.partition_key.len()
    }
}

/// Appends a record to `shard` of `log` and returns (sequence, arrival ms).
/// Arrival times never go backwards within a log, even if the clock does.
pub(crate) fn append(
    ctx: &mut WriteCtx<'_>,
    log: u64,
    shard: u32,
    partition_key: &str,
    data: &[u8],
) -> Result<(u64, u64)> {
    let placed = append_batch(ctx, log, [(shard, partition_key, data)])?;
    placed
        .first()
        .copied()
        .ok_or_else(|| StoreError::Storage("an append placed no record".into()))
}

/// Appends records to shards of `log` in order and returns each one's
/// (sequence, arrival ms). The log head is read and written once and the
/// tables opened once for the whole batch: per-record table opens and head
/// updates were most of PutRecords' cost.
pub(crate) fn append_batch<'a>(
    ctx: &mut WriteCtx<'_>,
    log: u64,
    entries: impl IntoIterator<Item = (u32, &'a str, &'a [u8])>,
) -> Result<Vec<(u64, u64)>> {
    let mut heads = ctx.txn().open_table(LOG_HEADS)?;
    let (mut sequence, last_ms) = heads.get(log)?.map(|v| v.value()).unwrap_or((0, 0));
    let arrival_ms = ctx.now_ms.max(last_ms);
    let mut records = ctx.txn().open_table(RECORDS)?;
    let mut placed = Vec::new();
    let mut bytes = Vec::new();
    for (shard, partition_key, data) in entries {
        sequence += 1;
        Record::encode_into(&mut bytes, arrival_ms, partition_key, data);
        records.insert((log, shard, sequence), bytes.as_slice())?;
        placed.push((sequence, arrival_ms));
    }
    if !placed.is_empty() {
        heads.insert(log, (sequence, arrival_ms))?;
        ctx.touch();
    }
    Ok(placed)
}

/// Where a read of a shard starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// The first record with a sequence >= this.
    AtSequence(u64),
    /// The first record with a sequence > this.
    AfterSequence(u64),
}

impl Start {
    fn first_sequence(self) -> u64 {
        match self {
            Start::AtSequence(s) => s,
            Start::AfterSequence(s) => s.saturating_add(1),
        }
    }
}

/// Reads up to `limit` records of one shard from `start`, stopping before the
/// record that would take the total past `max_bytes` (but always returning at
/// least one record if there is one).
pub fn read<T: ReadableTable<(u64, u32, u64), &'static [u8]>>(
    records: &T,
    log: u64,
    shard: u32,
    start: Start,
    limit: usize,
    max_bytes: usize,
) -> Result<Vec<Record>> {
    let mut out = Vec::new();
    let mut bytes = 0usize;
    let from = start.first_sequence();
    for entry in records.range((log, shard, from)..=(log, shard, u64::MAX))? {
        if out.len() >= limit {
            break;
        }
        let (key, value) = entry?;
        let record = Record::decode(key.value().2, value.value())?;
        if !out.is_empty() && bytes + record.size() > max_bytes {
            break;
        }
        bytes += record.size();
        out.push(record);
    }
    Ok(out)
}

/// The newest record of a shard, if any.
pub fn last<T: ReadableTable<(u64, u32, u64), &'static [u8]>>(
    records: &T,
    log: u64,
    shard: u32,
) -> Result<Option<Record>> {
    match records
        .range((log, shard, 0)..=(log, shard, u64::MAX))?
        .next_back()
    {
        Some(entry) => {
            let (key, value) = entry?;
            Ok(Some(Record::decode(key.value().2, value.value())?))
        }
        None => Ok(None),
    }
}

/// The oldest record of a shard, if any.
pub fn first<T: ReadableTable<(u64, u32, u64), &'static [u8]>>(
    records: &T,
    log: u64,
    shard: u32,
) -> Result<Option<Record>> {
    match records
        .range((log, shard, 0)..=(log, shard, u64::MAX))?
        .next()
    {
        Some(entry) => {
            let (key, value) = entry?;
            Ok(Some(Record::decode(key.value().2, value.value())?))
        }
        None => Ok(None),
    }
}

/// The sequence of the first record that arrived at or after `ms`, if any.
/// Arrival times are monotonic within a log, so the scan stops at the first hit.
pub fn first_at_or_after_time<T: ReadableTable<(u64, u32, u64), &'static [u8]>>(
    records: &T,
    log: u64,
    shard: u32,
    ms: u64,
) -> Result<Option<u64>> {
    for entry in records.range((log, shard, 0)..=(log, shard, u64::MAX))? {
        let (key, value) = entry?;
        let record = Record::decode(key.value().2, value.value())?;
        if record.arrival_ms >= ms {
            return Ok(Some(record.sequence));
        }
    }
    Ok(None)
}

/// The last sequence number allocated in a log (0 if none).
pub fn head<T: ReadableTable<u64, (u64, u64)>>(heads: &T, log: u64) -> Result<u64> {
    Ok(heads.get(log)?.map(|v| v.value().0).unwrap_or(0))
}

/// Deletes the records of a shard that arrived before `cutoff_ms`, at most `max`
/// of them, so one write job stays short (and its memory bounded) however far
/// behind trimming is; call again while it returns `max`.
pub(crate) fn trim_at_most(
    ctx: &mut WriteCtx<'_>,
    log: u64,
    shard: u32,
    cutoff_ms: u64,
    max: usize,
) -> Result<u64> {
    let mut records = ctx.txn().open_table(RECORDS)?;
    let mut expired = Vec::new();
    for entry in records.range((log, shard, 0)..=(log, shard, u64::MAX))? {
        if expired.len() >= max {
            break;
        }
        let (key, value) = entry?;
        let record = Record::decode(key.value().2, value.value())?;
        if record.arrival_ms >= cutoff_ms {
            break;
        }
        expired.push(record.sequence);
    }
    for sequence in &expired {
        records.remove((log, shard, *sequence))?;
    }
    Ok(expired.len() as u64)
}

/// Deletes every record of a log and its head.
pub(crate) fn delete_log(ctx: &mut WriteCtx<'_>, log: u64) -> Result<()> {
    let mut records = ctx.txn().open_table(RECORDS)?;
    records.retain_in((log, 0, 0)..=(log, u32::MAX, u64::MAX), |_, _| false)?;
    drop(records);
    ctx.txn().open_table(LOG_HEADS)?.remove(log)?;
    Ok(())
}

/// How many records a table of records holds (for diagnostics and tests).
pub fn count<T: ReadableTableMetadata>(records: &T) -> Result<u64> {
    Ok(records.len()?)
}

/// Sequence numbers as clients see them: fixed-width decimal strings, so they
/// compare the same as numbers and as strings. Kinesis numbers are 56 digits
/// ("49" + 54), DynamoDB Streams numbers 21 digits ("4" + 20), as AWS's look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SequenceFormat {
    Kinesis,
    DynamoDb,
}

impl SequenceFormat {
    pub fn format(self, sequence: u64) -> String {
        // Built by hand: `format!("49{sequence:054}")` pads one char at a time
        // and was a tenth of PutRecords' and GetRecords' time.
        let (prefix, width) = match self {
            SequenceFormat::Kinesis => ("49", 54),
            SequenceFormat::DynamoDb => ("4", 20),
        };
        let mut digits = [b'0'; 20];
        let mut n = sequence;
        let mut used = 0;
        while n > 0 || used == 0 {
            digits[19 - used] = b'0' + (n % 10) as u8;
            n /= 10;
            used += 1;
        }
        let mut out = String::with_capacity(prefix.len() + width);
        out.push_str(prefix);
        out.extend(std::iter::repeat_n('0', width - used));
        out.extend(digits[20 - used..].iter().map(|&b| char::from(b)));
        out
    }

    /// Parses a sequence number numerically (leading zeros and width do not
    /// matter); `None` if it is not one this format produces.
    pub fn parse(self, text: &str) -> Option<u64> {
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let digits = text.trim_start_matches('0');
        let (prefix, width) = match self {
            SequenceFormat::Kinesis => ("49", 54),
            SequenceFormat::DynamoDb => ("4", 20),
        };
        let rest = digits.strip_prefix(prefix)?;
        if rest.len() != width {
            return None;
        }
        let rest = rest.trim_start_matches('0');
        if rest.is_empty() {
            return Some(0);
        }
        if rest.len() > 20 {
            return None;
        }
        rest.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_numbers_round_trip_and_order_as_numbers_and_strings() {
        for format in [SequenceFormat::Kinesis, SequenceFormat::DynamoDb] {
            let mut previous = String::new();
            for n in [0u64, 1, 9, 10, 99, 12345, u64::MAX / 2, u64::MAX] {
                let text = format.format(n);
                assert_eq!(format.parse(&text), Some(n), "{text}");
                assert!(text > previous, "{text} after {previous}");
                previous = text;
            }
            assert_eq!(format.parse("12x"), None);
            assert_eq!(format.parse(""), None);
        }
        assert_eq!(SequenceFormat::Kinesis.format(7).len(), 56);
        assert_eq!(SequenceFormat::DynamoDb.format(7).len(), 21);
    }

    #[test]
    fn a_batch_append_numbers_records_after_the_head_and_saves_the_head() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::Store::open(dir.path(), crate::StoreOptions::default()).unwrap();
        let placed = store
            .write(|ctx| {
                append(ctx, 9, 0, "a", b"1")?;
                append_batch(ctx, 9, [(0, "b", &b"2"[..]), (1, "c", &b"3"[..])])
            })
            .unwrap();
        assert_eq!(placed.iter().map(|p| p.0).collect::<Vec<_>>(), [2, 3]);
        let txn = store.read().unwrap();
        assert_eq!(head(&txn.open_table(LOG_HEADS).unwrap(), 9).unwrap(), 3);
        let records = txn.open_table(RECORDS).unwrap();
        let shard1 = read(&records, 9, 1, Start::AtSequence(0), 10, 1 << 20).unwrap();
        assert_eq!(
            (shard1[0].sequence, shard1[0].data.as_slice()),
            (3, &b"3"[..])
        );
    }

    #[test]
    fn record_codec_round_trips() {
        let bytes = Record::encode(42, "pk", b"data");
        let record = Record::decode(7, &bytes).unwrap();
        assert_eq!(record.arrival_ms, 42);
        assert_eq!(record.partition_key, "pk");
        assert_eq!(record.data, b"data");
        assert!(Record::decode(7, &bytes[..5]).is_err());
    }
}
