//! Model-based test: random sequences of stream operations against an in-memory
//! model (a Vec of records per shard). Every record must come back exactly once,
//! in order, from the shard whose hash-key range holds it.

use std::collections::HashMap;

use proptest::prelude::*;

use super::*;
use crate::clock::Clock;
use crate::error::StoreError;
use crate::store::{Store, StoreOptions};
use crate::writer::Durability;

const STREAMS: [&str; 3] = ["alpha", "beta", "gamma"];

#[derive(Debug, Clone)]
enum Op {
    Create {
        stream: usize,
        shards: u32,
    },
    Delete {
        stream: usize,
    },
    Put {
        stream: usize,
        key: u8,
    },
    PutMany {
        stream: usize,
        keys: Vec<u8>,
    },
    /// Start a reader on a shard: 0 TRIM_HORIZON, 1 LATEST, 2 AT_SEQUENCE, 3 AFTER_SEQUENCE.
    Seek {
        stream: usize,
        shard: u32,
        kind: u8,
        pick: usize,
    },
    Read {
        stream: usize,
        shard: u32,
        limit: u32,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let stream = 0..STREAMS.len();
    prop_oneof![
        1 => (stream.clone(), 1u32..5).prop_map(|(stream, shards)| Op::Create { stream, shards }),
        1 => stream.clone().prop_map(|stream| Op::Delete { stream }),
        6 => (stream.clone(), any::<u8>()).prop_map(|(stream, key)| Op::Put { stream, key }),
        3 => (stream.clone(), prop::collection::vec(any::<u8>(), 1..20))
            .prop_map(|(stream, keys)| Op::PutMany { stream, keys }),
        3 => (stream.clone(), 0u32..5, 0u8..4, any::<usize>())
            .prop_map(|(stream, shard, kind, pick)| Op::Seek { stream, shard, kind, pick }),
        6 => (stream, 0u32..5, 1u32..6)
            .prop_map(|(stream, shard, limit)| Op::Read { stream, shard, limit }),
    ]
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct ModelRecord {
    key: String,
    data: Vec<u8>,
    sequence: String,
}

/// A stream in the model: records per shard, and the hash ranges its shards own.
struct ModelStream {
    shards: Vec<Vec<ModelRecord>>,
    ranges: Vec<(u128, u128)>,
}

/// A reader: its iterator and how many of the shard's model records precede it.
struct Reader {
    iterator: String,
    position: usize,
}

struct Harness {
    store: Store,
    clock: Clock,
    streams: HashMap<usize, ModelStream>,
    readers: HashMap<(usize, u32), Reader>,
    serial: u64,
}

impl Harness {
    fn expected_shard(&self, stream: usize, key: &str) -> usize {
        let hash = shards::hash_key(key);
        let ranges = &self.streams[&stream].ranges;
        ranges
            .iter()
            .position(|&(start, end)| start <= hash && hash <= end)
            .expect("ranges cover the hash space")
    }

    fn entry(&mut self, key: u8) -> PutRecordEntry {
        self.serial += 1;
        PutRecordEntry::new(format!("key-{key}"), self.serial.to_be_bytes().to_vec())
    }

    fn record(&mut self, stream: usize, entry: &PutRecordEntry, result: &PutResult) {
        let shard = self.expected_shard(stream, &entry.partition_key);
        assert_eq!(result.shard as usize, shard, "routed to the wrong shard");
        let model = self.streams.get_mut(&stream).unwrap();
        let records = &mut model.shards[shard];
        if let Some(last) = records.last() {
            assert!(
                last.sequence < result.sequence_number,
                "sequence went backwards"
            );
        }
        records.push(ModelRecord {
            key: entry.partition_key.clone(),
            data: entry.data.clone(),
            sequence: result.sequence_number.clone(),
        });
    }

    fn apply(&mut self, op: Op) {
        self.clock.advance_ms(1000);
        match op {
            Op::Create { stream, shards } => self.create(stream, shards),
            Op::Delete { stream } => {
                let outcome = delete_stream(&self.store, STREAMS[stream]);
                match self.streams.remove(&stream) {
                    Some(_) => outcome.unwrap(),
                    None => assert!(matches!(outcome, Err(StoreError::ResourceNotFound(_)))),
                }
                // Old iterators must now fail; check and forget them.
                let stale: Vec<_> = self
                    .readers
                    .keys()
                    .filter(|k| k.0 == stream)
                    .copied()
                    .collect();
                for key in stale {
                    let reader = self.readers.remove(&key).unwrap();
                    let outcome = get_records(&self.store, &reader.iterator, None);
                    assert!(matches!(outcome, Err(StoreError::ResourceNotFound(_))));
                }
            }
            Op::Put { stream, key } => {
                let entry = self.entry(key);
                let outcome = put_record(&self.store, STREAMS[stream], entry.clone());
                if self.exists(stream, outcome.as_ref().err()) {
                    self.record(stream, &entry, &outcome.unwrap());
                }
            }
            Op::PutMany { stream, keys } => {
                let entries: Vec<_> = keys.into_iter().map(|k| self.entry(k)).collect();
                let outcome = put_records(&self.store, STREAMS[stream], entries.clone());
                if self.exists(stream, outcome.as_ref().err()) {
                    for (entry, result) in entries.iter().zip(outcome.unwrap()) {
                        self.record(stream, entry, &result.unwrap());
                    }
                }
            }
            Op::Seek {
                stream,
                shard,
                kind,
                pick,
            } => self.seek(stream, shard, kind, pick),
            Op::Read {
                stream,
                shard,
                limit,
            } => self.read(stream, shard, limit),
        }
    }

    /// True if the model has `stream`; otherwise checks the store said not found.
    fn exists(&self, stream: usize, err: Option<&StoreError>) -> bool {
        if self.streams.contains_key(&stream) {
            assert!(err.is_none(), "unexpected {err:?}");
            true
        } else {
            assert!(
                matches!(err, Some(StoreError::ResourceNotFound(_))),
                "{err:?}"
            );
            false
        }
    }

    fn create(&mut self, stream: usize, shards: u32) {
        let outcome = create_stream(&self.store, STREAMS[stream], shards);
        if self.streams.contains_key(&stream) {
            assert!(matches!(outcome, Err(StoreError::ResourceInUse(_))));
            return;
        }
        let meta = outcome.unwrap();
        let ranges = meta
            .shards()
            .map(|s| (s.starting_hash_key, s.ending_hash_key))
            .collect();
        let model = ModelStream {
            shards: vec![Vec::new(); shards as usize],
            ranges,
        };
        self.streams.insert(stream, model);
    }

    fn seek(&mut self, stream: usize, shard: u32, kind: u8, pick: usize) {
        let Some(model) = self.streams.get(&stream) else {
            return;
        };
        let Some(records) = model.shards.get(shard as usize) else {
            let outcome = get_shard_iterator(
                &self.store,
                STREAMS[stream],
                &shards::shard_id(shard),
                IteratorStart::Latest,
            );
            assert!(matches!(outcome, Err(StoreError::ResourceNotFound(_))));
            return;
        };
        let (start, position) = match (kind, records.is_empty()) {
            (0, _) | (2..=3, true) => (IteratorStart::TrimHorizon, 0),
            (1, _) => (IteratorStart::Latest, records.len()),
            (2, false) => {
                let at = pick % records.len();
                (IteratorStart::AtSequence(records[at].sequence.clone()), at)
            }
            _ => {
                let at = pick % records.len();
                (
                    IteratorStart::AfterSequence(records[at].sequence.clone()),
                    at + 1,
                )
            }
        };
        let iterator = get_shard_iterator(
            &self.store,
            STREAMS[stream],
            &shards::shard_id(shard),
            start,
        )
        .unwrap();
        self.readers
            .insert((stream, shard), Reader { iterator, position });
    }

    fn read(&mut self, stream: usize, shard: u32, limit: u32) {
        let Some(model) = self.streams.get(&stream) else {
            return;
        };
        let Some(records) = model.shards.get(shard as usize) else {
            return;
        };
        let Some(reader) = self.readers.get_mut(&(stream, shard)) else {
            return;
        };
        let page = get_records(&self.store, &reader.iterator, Some(limit)).unwrap();
        let end = (reader.position + limit as usize).min(records.len());
        let expected = &records[reader.position..end];
        let got: Vec<ModelRecord> = page
            .records
            .iter()
            .map(|r| ModelRecord {
                key: r.partition_key.clone(),
                data: r.data.clone(),
                sequence: r.sequence_number.clone(),
            })
            .collect();
        assert_eq!(got, expected);
        reader.position = end;
        reader.iterator = page.next_shard_iterator;
        if end == records.len() {
            assert_eq!(page.millis_behind_latest, 0);
        }
    }

    /// Reads every shard of every stream from TRIM_HORIZON and compares with the model.
    fn check_everything(&self) {
        for (&stream, model) in &self.streams {
            for (shard, records) in model.shards.iter().enumerate() {
                let mut iterator = get_shard_iterator(
                    &self.store,
                    STREAMS[stream],
                    &shards::shard_id(shard as u32),
                    IteratorStart::TrimHorizon,
                )
                .unwrap();
                let mut got = Vec::new();
                loop {
                    let page = get_records(&self.store, &iterator, Some(7)).unwrap();
                    iterator = page.next_shard_iterator;
                    if page.records.is_empty() {
                        break;
                    }
                    got.extend(page.records.into_iter().map(|r| r.sequence_number));
                }
                let expected: Vec<_> = records.iter().map(|r| r.sequence.clone()).collect();
                assert_eq!(got, expected, "{} shard {shard}", STREAMS[stream]);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn streams_behave_like_the_model(ops in prop::collection::vec(op(), 1..80)) {
        let dir = tempfile::tempdir().unwrap();
        let clock = Clock::manual(1_700_000_000_000);
        let options = StoreOptions {
            clock: clock.clone(),
            durability: Durability::Relaxed,
            ..StoreOptions::default()
        };
        let store = Store::open(dir.path(), options).unwrap();
        let mut harness = Harness {
            store,
            clock,
            streams: HashMap::new(),
            readers: HashMap::new(),
            serial: 0,
        };
        // Start with one stream so most operations have something to act on.
        harness.create(0, 3);
        for op in ops {
            harness.apply(op);
        }
        harness.check_everything();
    }
}
