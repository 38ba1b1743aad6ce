//! Behaviour tests of streams through the public store API.

use super::*;
use crate::clock::Clock;
use crate::error::StoreError;
use crate::records::SequenceFormat;
use crate::store::{Store, StoreOptions};
use crate::writer::Durability;

const T0: u64 = 1_700_000_000_000;
const HOUR: u64 = 3_600_000;

fn open(dir: &std::path::Path, clock: &Clock) -> Store {
    let options = StoreOptions {
        clock: clock.clone(),
        durability: Durability::Relaxed,
        ..StoreOptions::default()
    };
    Store::open(dir, options).unwrap()
}

fn setup() -> (tempfile::TempDir, Store, Clock) {
    let dir = tempfile::tempdir().unwrap();
    let clock = Clock::manual(T0);
    let store = open(dir.path(), &clock);
    (dir, store, clock)
}

fn put(store: &Store, stream: &str, key: &str, data: &str) -> PutResult {
    put_record(store, stream, PutRecordEntry::new(key, data.as_bytes())).unwrap()
}

fn iterator(store: &Store, stream: &str, shard: u32, start: IteratorStart) -> String {
    get_shard_iterator(store, stream, &shards::shard_id(shard), start).unwrap()
}

/// Every record of a shard from `start`, following NextShardIterator.
fn read_all(store: &Store, stream: &str, shard: u32, start: IteratorStart) -> Vec<StreamRecord> {
    let mut it = iterator(store, stream, shard, start);
    let mut out = Vec::new();
    loop {
        let page = get_records(store, &it, Some(2)).unwrap();
        it = page.next_shard_iterator;
        if page.records.is_empty() {
            return out;
        }
        out.extend(page.records);
    }
}

fn data_of(records: &[StreamRecord]) -> Vec<String> {
    records
        .iter()
        .map(|r| String::from_utf8(r.data.clone()).unwrap())
        .collect()
}

#[test]
fn create_describe_list_delete() {
    let (_dir, store, _) = setup();
    let meta = create_stream(&store, "orders", 3).unwrap();
    assert_eq!(meta.retention_hours, 24);
    assert_eq!(meta.created_ms, T0);
    assert_eq!(
        meta.arn(&store),
        "arn:aws:kinesis:us-east-1:000000000000:stream/orders"
    );
    let shards: Vec<_> = meta.shards().collect();
    assert_eq!(shards.len(), 3);
    assert_eq!(shards[2].shard_id, "shardId-000000000002");
    assert_eq!(shards[2].ending_hash_key, u128::MAX);
    assert_eq!(describe_stream(&store, "orders").unwrap(), meta);
    let err = create_stream(&store, "orders", 1).unwrap_err();
    assert!(matches!(&err, StoreError::ResourceInUse(m)
        if m == "Stream orders under account 000000000000 already exists."));
    create_stream(&store, "a-first", 1).unwrap();
    let (page, more) = list_streams(&store, None, 1).unwrap();
    assert_eq!((page[0].name.as_str(), more), ("a-first", true));
    let (page, more) = list_streams(&store, Some("a-first"), 10).unwrap();
    assert_eq!((page[0].name.as_str(), more), ("orders", false));
    delete_stream(&store, "orders").unwrap();
    let err = describe_stream(&store, "orders").unwrap_err();
    assert!(matches!(&err, StoreError::ResourceNotFound(m)
        if m == "Stream orders under account 000000000000 not found."));
    assert!(matches!(
        delete_stream(&store, "orders"),
        Err(StoreError::ResourceNotFound(_))
    ));
}

#[test]
fn bad_names_and_shard_counts_are_validation_errors() {
    let (_dir, store, _) = setup();
    for (name, shards) in [("bad name", 1), ("", 1), ("ok", 0)] {
        let err = create_stream(&store, name, shards).unwrap_err();
        assert!(matches!(err, StoreError::Validation(_)), "{name:?} {err}");
    }
    let err = create_stream(&store, "ok", 0).unwrap_err();
    assert_eq!(
        err.to_string(),
        "1 validation error detected: Value '0' at 'shardCount' failed to satisfy \
         constraint: Member must have value greater than or equal to 1"
    );
}

#[test]
fn the_shard_limit_counts_every_stream() {
    let (_dir, store, _) = setup();
    create_stream(&store, "big", SHARD_LIMIT - 1).unwrap();
    let err = create_stream(&store, "two", 2).unwrap_err();
    assert!(matches!(&err, StoreError::LimitExceeded(m)
        if m.contains("Current shard count for the account: 1023. Limit: 1024")));
    create_stream(&store, "one", 1).unwrap();
    assert_eq!(
        describe_stream(&store, "big").unwrap().shards().count(),
        1023
    );
}

#[test]
fn records_route_by_md5_of_the_partition_key() {
    let (_dir, store, _) = setup();
    create_stream(&store, "s", 4).unwrap();
    // Shards of 4 picked by MD5 (python3 hashlib; see shards::tests::VECTORS).
    for (key, shard) in [("a", 0), ("partition-1", 2), ("", 3), ("user-42", 1)] {
        if key.is_empty() {
            continue; // empty keys are refused; covered below
        }
        let result = put(&store, "s", key, "x");
        assert_eq!(result.shard, shard, "{key}");
        assert_eq!(result.shard_id, shards::shard_id(shard));
    }
    let err = put_record(&store, "s", PutRecordEntry::new("", b"x".to_vec())).unwrap_err();
    assert!(matches!(err, StoreError::Validation(_)));
}

#[test]
fn explicit_hash_keys_override_the_partition_key() {
    let (_dir, store, _) = setup();
    create_stream(&store, "s", 2).unwrap();
    let entry = |key: &str| PutRecordEntry {
        explicit_hash_key: Some(key.into()),
        ..PutRecordEntry::new("a", b"x".to_vec())
    };
    let top = u128::MAX.to_string();
    assert_eq!(put_record(&store, "s", entry(&top)).unwrap().shard, 1);
    assert_eq!(put_record(&store, "s", entry("0")).unwrap().shard, 0);
    let err = put_record(
        &store,
        "s",
        entry("340282366920938463463374607431768211456"),
    )
    .unwrap_err();
    assert!(matches!(&err, StoreError::InvalidArgument(m)
        if m.starts_with("Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]")));
    for bad in ["-1", "01", "1e5"] {
        assert!(matches!(
            put_record(&store, "s", entry(bad)),
            Err(StoreError::Validation(_))
        ));
    }
}

#[test]
fn sequence_numbers_increase_per_shard_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Clock::manual(T0);
    let mut seen: Vec<Vec<String>> = vec![Vec::new(); 3];
    for round in 0..2 {
        let store = open(dir.path(), &clock);
        if round == 0 {
            create_stream(&store, "s", 3).unwrap();
        }
        for i in 0..30 {
            let r = put(&store, "s", &format!("key-{i}"), "x");
            seen[r.shard as usize].push(r.sequence_number);
        }
    }
    let mut all: Vec<&String> = seen.iter().flatten().collect();
    for shard in &seen {
        assert!(shard.windows(2).all(|w| w[0] < w[1]), "{shard:?}");
        assert!(shard.iter().all(|s| s.len() == 56));
    }
    let count = all.len();
    all.sort();
    all.dedup();
    assert_eq!(
        all.len(),
        count,
        "sequence numbers are unique across the stream"
    );
    let store = open(dir.path(), &clock);
    for (shard, sequences) in seen.iter().enumerate() {
        let read = read_all(&store, "s", shard as u32, IteratorStart::TrimHorizon);
        let got: Vec<_> = read.iter().map(|r| r.sequence_number.clone()).collect();
        assert_eq!(&got, sequences);
    }
}

#[test]
fn put_records_keeps_request_order_in_one_commit() {
    let (_dir, store, _) = setup();
    create_stream(&store, "s", 4).unwrap();
    let entries: Vec<_> = (0..50)
        .map(|i| PutRecordEntry::new(format!("k{i}"), format!("d{i}").into_bytes()))
        .collect();
    let results = put_records(&store, "s", entries.clone()).unwrap();
    assert_eq!(results.len(), 50);
    for (entry, result) in entries.iter().zip(&results) {
        let result = result.as_ref().unwrap();
        assert_eq!(
            result.shard,
            shards::route(4, shards::hash_key(&entry.partition_key))
        );
    }
    let sequences: Vec<u64> = results
        .iter()
        .map(|r| r.as_ref().unwrap().sequence)
        .collect();
    assert!(sequences.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn put_records_limits_refuse_the_whole_request() {
    let (_dir, store, _) = setup();
    create_stream(&store, "s", 1).unwrap();
    let small = |n: usize| vec![PutRecordEntry::new("k", b"x".to_vec()); n];
    assert!(matches!(
        put_records(&store, "s", small(0)),
        Err(StoreError::Validation(_))
    ));
    assert!(matches!(
        put_records(&store, "s", small(501)),
        Err(StoreError::Validation(_))
    ));
    put_records(&store, "s", small(500)).unwrap();
    let big = vec![PutRecordEntry::new("k", vec![0u8; 1 << 20]); 5];
    let err = put_records(&store, "s", big).unwrap_err();
    assert!(
        matches!(&err, StoreError::InvalidArgument(m) if m == "Records size exceeds 5 MB limit")
    );
    let mut mixed = small(3);
    mixed[2].data = vec![0u8; (1 << 20) + 1];
    let err = put_records(&store, "s", mixed).unwrap_err();
    assert!(err.to_string().contains("'records.3.member.data'"), "{err}");
    // Nothing of the refused requests was written.
    assert_eq!(
        read_all(&store, "s", 0, IteratorStart::TrimHorizon).len(),
        500
    );
    assert!(matches!(
        put_records(&store, "missing", small(1)),
        Err(StoreError::ResourceNotFound(_))
    ));
}

#[test]
fn every_iterator_type_starts_where_aws_says() {
    let (_dir, store, clock) = setup();
    create_stream(&store, "s", 1).unwrap();
    let mut puts = Vec::new();
    for i in 0..5 {
        puts.push(put(&store, "s", "k", &format!("r{i}")));
        clock.advance_ms(1000);
    }
    let all = read_all(&store, "s", 0, IteratorStart::TrimHorizon);
    assert_eq!(data_of(&all), ["r0", "r1", "r2", "r3", "r4"]);
    let at = IteratorStart::AtSequence(puts[2].sequence_number.clone());
    assert_eq!(data_of(&read_all(&store, "s", 0, at)), ["r2", "r3", "r4"]);
    let after = IteratorStart::AfterSequence(puts[2].sequence_number.clone());
    assert_eq!(data_of(&read_all(&store, "s", 0, after)), ["r3", "r4"]);
    let stamp = IteratorStart::AtTimestamp(T0 + 3000);
    assert_eq!(data_of(&read_all(&store, "s", 0, stamp)), ["r3", "r4"]);
    let before = IteratorStart::AtTimestamp(T0 + 2500);
    assert_eq!(data_of(&read_all(&store, "s", 0, before)), ["r3", "r4"]);
    let latest = iterator(&store, "s", 0, IteratorStart::Latest);
    assert!(
        get_records(&store, &latest, None)
            .unwrap()
            .records
            .is_empty()
    );
    put(&store, "s", "k", "r5");
    let page = get_records(&store, &latest, None).unwrap();
    assert_eq!(data_of(&page.records), ["r5"]);
    assert_eq!(page.records[0].arrival_ms, T0 + 5000);
    assert_eq!(page.millis_behind_latest, 0);
    let future = IteratorStart::AtTimestamp(T0 + HOUR);
    let err = get_shard_iterator(&store, "s", "shardId-000000000000", future).unwrap_err();
    assert!(matches!(err, StoreError::InvalidArgument(_)));
}

#[test]
fn paging_reports_millis_behind_and_respects_limit() {
    let (_dir, store, clock) = setup();
    create_stream(&store, "s", 1).unwrap();
    for i in 0..5 {
        put(&store, "s", "k", &format!("r{i}"));
    }
    clock.advance_ms(7000);
    let it = iterator(&store, "s", 0, IteratorStart::TrimHorizon);
    let page = get_records(&store, &it, Some(3)).unwrap();
    assert_eq!(data_of(&page.records), ["r0", "r1", "r2"]);
    assert_eq!(page.millis_behind_latest, 7000);
    let page = get_records(&store, &page.next_shard_iterator, Some(3)).unwrap();
    assert_eq!(data_of(&page.records), ["r3", "r4"]);
    assert_eq!(page.millis_behind_latest, 0);
    for bad in [0, 10_001] {
        assert!(matches!(
            get_records(&store, &it, Some(bad)),
            Err(StoreError::Validation(_))
        ));
    }
}

#[test]
fn a_page_stops_at_ten_mebibytes() {
    let (_dir, store, _) = setup();
    create_stream(&store, "s", 1).unwrap();
    let entries = vec![PutRecordEntry::new("k", vec![7u8; 1 << 20]); 4];
    for _ in 0..3 {
        put_records(&store, "s", entries.clone()).unwrap();
    }
    let it = iterator(&store, "s", 0, IteratorStart::TrimHorizon);
    let page = get_records(&store, &it, None).unwrap();
    assert_eq!(
        page.records.len(),
        9,
        "10 MiB holds nine 1 MiB records with their keys"
    );
    let rest = get_records(&store, &page.next_shard_iterator, None).unwrap();
    assert_eq!(rest.records.len(), 3);
}

#[test]
fn bad_sequence_numbers_and_shards_are_refused() {
    let (_dir, store, _) = setup();
    create_stream(&store, "s", 4).unwrap();
    let on0 = put(&store, "s", "a", "x"); // shard 0 (see shards::tests::VECTORS)
    let shard1 = "shardId-000000000001";
    let err = get_shard_iterator(
        &store,
        "s",
        shard1,
        IteratorStart::AtSequence(on0.sequence_number.clone()),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Invalid StartingSequenceNumber. It encodes shardId-000000000000, while it was used in \
         a call to a shard with shardId-000000000001"
    );
    let err = get_shard_iterator(&store, "s", shard1, IteratorStart::AtSequence("123".into()))
        .unwrap_err();
    assert!(matches!(&err, StoreError::InvalidArgument(m) if m.ends_with("is invalid.")));
    let err =
        get_shard_iterator(&store, "s", "shardId-000000000004", IteratorStart::Latest).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Shard shardId-000000000004 in stream s under account 000000000000 does not exist"
    );
    let err = get_shard_iterator(&store, "s", "shardId-x", IteratorStart::Latest).unwrap_err();
    assert!(matches!(err, StoreError::ResourceNotFound(_)));
    assert!(matches!(
        get_records(&store, "bm90IGEgdG9rZW4=", None),
        Err(StoreError::InvalidArgument(_))
    ));
}

#[test]
fn iterators_expire_after_five_minutes_of_store_time() {
    let (_dir, store, clock) = setup();
    create_stream(&store, "s", 1).unwrap();
    let it = iterator(&store, "s", 0, IteratorStart::TrimHorizon);
    clock.advance_ms(300_000);
    let page = get_records(&store, &it, None).unwrap();
    clock.advance_ms(1);
    let err = get_records(&store, &it, None).unwrap_err();
    assert!(matches!(&err, StoreError::ExpiredIterator(m)
        if m.starts_with("Iterator expired. The iterator was created at time ")));
    // The next iterator was issued at the later read, so it is still fresh.
    get_records(&store, &page.next_shard_iterator, None).unwrap();
}

#[test]
fn a_recreated_stream_sees_no_old_records_iterators_or_sequences() {
    let (_dir, store, _) = setup();
    create_stream(&store, "s", 1).unwrap();
    let old = put(&store, "s", "k", "old");
    let old_it = iterator(&store, "s", 0, IteratorStart::TrimHorizon);
    delete_stream(&store, "s").unwrap();
    create_stream(&store, "s", 1).unwrap();
    put(&store, "s", "k", "new");
    assert!(matches!(
        get_records(&store, &old_it, None),
        Err(StoreError::ResourceNotFound(_))
    ));
    let err = get_shard_iterator(
        &store,
        "s",
        "shardId-000000000000",
        IteratorStart::AtSequence(old.sequence_number),
    )
    .unwrap_err();
    assert!(matches!(&err, StoreError::InvalidArgument(m)
        if m.ends_with("because it did not come from this stream.")));
    assert_eq!(
        data_of(&read_all(&store, "s", 0, IteratorStart::TrimHorizon)),
        ["new"]
    );
}

#[test]
fn retention_periods_follow_aws_rules() {
    let (_dir, store, _) = setup();
    create_stream(&store, "s", 1).unwrap();
    let err = increase_retention_period(&store, "s", 23).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Minimum allowed retention period is 24 hours. Requested retention period (23 hours) \
         is too short."
    );
    assert!(matches!(
        increase_retention_period(&store, "s", 8761),
        Err(StoreError::InvalidArgument(_))
    ));
    assert_eq!(
        increase_retention_period(&store, "s", 48)
            .unwrap()
            .retention_hours,
        48
    );
    let err = increase_retention_period(&store, "s", 30).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("Use DecreaseRetentionPeriod API."),
        "{err}"
    );
    let err = decrease_retention_period(&store, "s", 72).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("Use IncreaseRetentionPeriod API."),
        "{err}"
    );
    assert_eq!(
        decrease_retention_period(&store, "s", 24)
            .unwrap()
            .retention_hours,
        24
    );
    assert!(matches!(
        decrease_retention_period(&store, "nope", 24),
        Err(StoreError::ResourceNotFound(_))
    ));
}

#[test]
fn trimming_deletes_only_expired_records_in_batches() {
    let (_dir, store, clock) = setup();
    create_stream(&store, "s", 2).unwrap();
    let old: Vec<_> = (0..retention::TRIM_BATCH + 5)
        .map(|i| PutRecordEntry::new(format!("k{i}"), b"old".to_vec()))
        .collect();
    for chunk in old.chunks(500) {
        put_records(&store, "s", chunk.to_vec()).unwrap();
    }
    clock.advance_ms(2 * HOUR);
    put(&store, "s", "k", "fresh");
    assert_eq!(trim_expired(&store).unwrap(), 0, "nothing is past 24 h yet");
    clock.advance_ms(22 * HOUR + 1);
    // Before trimming runs, readers already skip what has expired.
    let before = read_all(&store, "s", 0, IteratorStart::TrimHorizon).len()
        + read_all(&store, "s", 1, IteratorStart::TrimHorizon).len();
    assert_eq!(before, 1);
    let trimmed = trim_expired(&store).unwrap();
    assert_eq!(trimmed, old.len() as u64);
    assert_eq!(trim_expired(&store).unwrap(), 0);
    let kept: Vec<_> = (0..2)
        .flat_map(|s| read_all(&store, "s", s, IteratorStart::TrimHorizon))
        .collect();
    assert_eq!(data_of(&kept), ["fresh"]);
}

#[test]
fn put_record_in_joins_the_callers_transaction() {
    let (_dir, store, _) = setup();
    create_stream(&store, "s", 1).unwrap();
    let entry = PutRecordEntry::new("k", b"with-checkpoint".to_vec());
    let result = store
        .write(move |ctx| {
            let put = put_record_in(ctx, "000000000000", "s", &entry)?;
            crate::checkpoints::save(ctx, "mapping", 1, 0, put.sequence)?;
            Ok(put)
        })
        .unwrap();
    let saved = crate::checkpoints::load(&store, "mapping", 1, 0).unwrap();
    assert_eq!(saved, Some(result.sequence));
    let err = store
        .write(|ctx| {
            put_record_in(
                ctx,
                "000000000000",
                "nope",
                &PutRecordEntry::new("k", vec![]),
            )
        })
        .unwrap_err();
    assert!(matches!(err, StoreError::ResourceNotFound(_)));
    assert_eq!(
        SequenceFormat::Kinesis.parse(&result.sequence_number),
        Some(result.sequence)
    );
}
