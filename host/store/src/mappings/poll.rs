//! The read side of a Kinesis-stream poller: the records of one shard after the
//! mapping's checkpoint, straight from the record log in one snapshot (no
//! iterator tokens to issue and decode per poll). Table change streams have
//! theirs in `tables::change_streams` (`change_log`, `read_changes`).

use crate::error::Result;
use crate::records::{self, Record, Start};
use crate::schema::{RECORDS, STREAMS};
use crate::store::Store;
use crate::streams::StreamMeta;

/// One read of a stream shard: the stream as it is now, and its records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamPage {
    pub meta: StreamMeta,
    /// Up to the asked limit, oldest first, none past retention.
    pub records: Vec<Record>,
}

/// Up to `limit` records (and about `max_bytes`, at least one record) of
/// `shard` of stream `stream` with a sequence above `after`, skipping records
/// past retention as GetRecords does. Errors: ResourceNotFound when the stream
/// or the shard does not exist.
pub fn read_stream(
    store: &Store,
    stream: &str,
    shard: u32,
    after: u64,
    limit: usize,
    max_bytes: usize,
) -> Result<StreamPage> {
    let account = store.options().account.clone();
    let now_ms = store.now_ms();
    let txn = store.read()?;
    let meta = crate::streams::meta::lookup(&txn.open_table(STREAMS)?, stream)?
        .filter(|m| shard < m.shard_count)
        .ok_or_else(|| crate::streams::meta::not_found(&account, stream))?;
    let table = txn.open_table(RECORDS)?;
    let cutoff_ms = now_ms.saturating_sub(meta.retention_ms());
    let mut from = after.saturating_add(1);
    // Expired records not trimmed yet are a prefix of the shard: step over them
    // a page at a time, so memory stays bounded however many there are.
    loop {
        let page = records::read(
            &table,
            meta.id,
            shard,
            Start::AtSequence(from),
            limit,
            max_bytes,
        )?;
        match page.last() {
            Some(last) if last.arrival_ms < cutoff_ms => from = last.sequence.saturating_add(1),
            _ => {
                let records = page
                    .into_iter()
                    .filter(|r| r.arrival_ms >= cutoff_ms)
                    .collect();
                return Ok(StreamPage { meta, records });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StoreError;
    use crate::store::StoreOptions;
    use crate::streams::{PutRecordEntry, create_stream, put_record};

    #[test]
    fn reads_after_a_sequence_within_one_shard() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
        create_stream(&store, "s", 1).unwrap();
        let mut sequences = Vec::new();
        for i in 0..5 {
            let put = put_record(&store, "s", PutRecordEntry::new("k", format!("r{i}"))).unwrap();
            sequences.push(put.sequence);
        }
        let page = read_stream(&store, "s", 0, 0, 3, 1 << 20).unwrap();
        let data: Vec<_> = page.records.iter().map(|r| r.data.clone()).collect();
        assert_eq!(data, vec![b"r0".to_vec(), b"r1".to_vec(), b"r2".to_vec()]);
        let page = read_stream(&store, "s", 0, sequences[3], 10, 1 << 20).unwrap();
        assert_eq!(page.records.len(), 1);
        assert_eq!(page.records[0].sequence, sequences[4]);
        assert!(matches!(
            read_stream(&store, "s", 1, 0, 1, 1),
            Err(StoreError::ResourceNotFound(_))
        ));
        assert!(matches!(
            read_stream(&store, "nope", 0, 0, 1, 1),
            Err(StoreError::ResourceNotFound(_))
        ));
    }
}
