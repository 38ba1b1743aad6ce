//! Tests of the mapping registry: create / get / list / update / delete, the
//! checks on each, and the starting checkpoints of every starting position.

use std::collections::BTreeMap;

use super::*;
use crate::checkpoints;
use crate::functions::{FunctionSpec, create_function, limits as fn_limits};
use crate::streams::{PutRecordEntry, create_stream, put_record};
use crate::tables::{
    BillingMode, CreateTable, KeyAttr, PutItemRequest, StreamViewType, create_table, put_item,
};
use crate::value::json::item_from_json;
use crate::value::keys::KeyType;
use crate::{Clock, Store, StoreError, StoreOptions};

const T0: u64 = 1_700_000_000_000;

fn open() -> (tempfile::TempDir, Store, Clock) {
    let dir = tempfile::tempdir().unwrap();
    let clock = Clock::manual(T0);
    let options = StoreOptions {
        durability: crate::Durability::Relaxed,
        clock: clock.clone(),
        ..StoreOptions::default()
    };
    let store = Store::open(dir.path(), options).unwrap();
    (dir, store, clock)
}

fn function(store: &Store, name: &str) {
    let spec = FunctionSpec {
        name: name.into(),
        description: String::new(),
        timeout_secs: fn_limits::DEFAULT_TIMEOUT_SECS,
        memory_mib: fn_limits::DEFAULT_MEMORY_MIB,
        fuel: 1000,
        grants: Vec::new(),
        env: BTreeMap::new(),
        role: None,
    };
    create_function(store, spec, b"component".to_vec()).unwrap();
}

fn table(store: &Store, name: &str, stream: Option<StreamViewType>) {
    let input = CreateTable {
        name: name.into(),
        partition_key: KeyAttr {
            name: "pk".into(),
            key_type: KeyType::S,
        },
        sort_key: None,
        billing: BillingMode::PayPerRequest,
        stream,
    };
    create_table(store, input).unwrap();
}

fn put_item_pk(store: &Store, table: &str, pk: &str) {
    let request = PutItemRequest {
        table: table.into(),
        item: item_from_json(&serde_json::json!({ "pk": { "S": pk } })).unwrap(),
        ..Default::default()
    };
    put_item(store, request).unwrap();
}

/// A store with function `f`, a 2-shard stream `s` and a table `tbl` with a stream.
fn fixture() -> (tempfile::TempDir, Store, Clock) {
    let (dir, store, clock) = open();
    function(&store, "f");
    function(&store, "g");
    create_stream(&store, "s", 2).unwrap();
    table(&store, "tbl", Some(StreamViewType::NewAndOldImages));
    (dir, store, clock)
}

fn spec(function: &str, source: Source, position: StartingPosition) -> MappingSpec {
    MappingSpec {
        starting_position: position,
        ..MappingSpec::new(function, source)
    }
}

fn stream() -> Source {
    Source::Stream("s".into())
}

fn put(store: &Store, key: &str) -> u64 {
    put_record(store, "s", PutRecordEntry::new(key, b"x".to_vec()))
        .unwrap()
        .sequence
}

/// The checkpoint of `mapping` in every shard of its source.
fn starts(store: &Store, mapping: &EventSourceMapping) -> Vec<Option<u64>> {
    let source = resolve_source(store, &mapping.source).unwrap();
    source
        .shards
        .iter()
        .map(|&shard| checkpoints::load(store, &mapping.uuid, source.log, shard).unwrap())
        .collect()
}

#[test]
fn create_get_list_update_delete() {
    let (_dir, store, _clock) = fixture();
    let a = create(&store, spec("f", stream(), StartingPosition::Latest)).unwrap();
    assert!(is_uuid(&a.uuid));
    assert_eq!(
        a.source_arn,
        "arn:aws:kinesis:us-east-1:000000000000:stream/s"
    );
    assert_eq!((a.batch_size, a.state), (100, MappingState::Enabled));
    assert_eq!(get(&store, &a.uuid).unwrap(), a);
    let table_source = Source::Table("tbl".into());
    let b = create(
        &store,
        spec("f", table_source.clone(), StartingPosition::TrimHorizon),
    )
    .unwrap();
    assert!(
        b.source_arn.contains(":table/tbl/stream/"),
        "{}",
        b.source_arn
    );
    let c = create(&store, spec("g", stream(), StartingPosition::Latest)).unwrap();
    let uuids = |ms: Vec<EventSourceMapping>| ms.into_iter().map(|m| m.uuid).collect::<Vec<_>>();
    assert_eq!(uuids(list(&store).unwrap()).len(), 3);
    assert_eq!(
        uuids(list_for(&store, Some("f"), None).unwrap()),
        [a.uuid.clone(), b.uuid.clone()]
    );
    assert_eq!(
        uuids(list_for(&store, None, Some(&stream())).unwrap()).len(),
        2
    );
    assert_eq!(
        uuids(list_for(&store, Some("g"), Some(&table_source)).unwrap()),
        Vec::<String>::new()
    );

    let changes = MappingChanges {
        batch_size: Some(7),
        max_retries: Some(Some(3)),
        filters: Some(vec![r#"{"data":{"x":[1]}}"#.into()]),
        ..MappingChanges::default()
    };
    let updated = update(&store, &a.uuid, changes).unwrap();
    assert_eq!((updated.batch_size, updated.max_retries), (7, Some(3)));
    assert_eq!(updated.filters.len(), 1);
    assert_eq!(get(&store, &a.uuid).unwrap(), updated);
    let disabled = set_state(&store, &a.uuid, MappingState::Disabled).unwrap();
    assert_eq!(disabled.state, MappingState::Disabled);
    assert_eq!(disabled.batch_size, 7);

    let deleted = delete(&store, &c.uuid).unwrap();
    assert_eq!(deleted.uuid, c.uuid);
    assert!(matches!(
        get(&store, &c.uuid),
        Err(StoreError::ResourceNotFound(_))
    ));
    assert!(matches!(
        delete(&store, &c.uuid),
        Err(StoreError::ResourceNotFound(_))
    ));
    assert_eq!(list(&store).unwrap().len(), 2);
}

#[test]
fn delete_removes_the_checkpoints_and_status() {
    let (_dir, store, _clock) = fixture();
    put(&store, "a");
    let m = create(&store, spec("f", stream(), StartingPosition::Latest)).unwrap();
    assert!(starts(&store, &m).iter().all(Option::is_some));
    let source = resolve_source(&store, &m.source).unwrap();
    let uuid = m.uuid.clone();
    store
        .write(move |ctx| status::save_status_in(ctx, &uuid, &ShardStatus::new(source.log, 0)))
        .unwrap();
    delete(&store, &m.uuid).unwrap();
    assert!(starts(&store, &m).iter().all(Option::is_none));
    assert!(status::status(&store, &m.uuid).unwrap().is_empty());
}

#[test]
fn create_checks_function_source_and_settings_and_writes_nothing_on_error() {
    let (_dir, store, _clock) = fixture();
    table(&store, "plain", None);
    let refused = [
        (
            spec("nope", stream(), StartingPosition::Latest),
            "Function not found",
        ),
        (
            spec(
                "f",
                Source::Stream("missing".into()),
                StartingPosition::Latest,
            ),
            "Stream not found: arn:aws:kinesis:us-east-1:000000000000:stream/missing",
        ),
        (
            spec(
                "f",
                Source::Table("missing".into()),
                StartingPosition::Latest,
            ),
            "Table: missing not found",
        ),
        (
            spec("f", Source::Table("plain".into()), StartingPosition::Latest),
            "has no enabled stream",
        ),
        (
            MappingSpec {
                batch_size: 0,
                ..MappingSpec::new("f", stream())
            },
            "Value '0' at 'batchSize' failed to satisfy constraint",
        ),
        (
            MappingSpec {
                batch_size: 10_001,
                batching_window_ms: 301_000,
                ..MappingSpec::new("f", stream())
            },
            "2 validation errors detected",
        ),
        (
            MappingSpec {
                max_record_age_secs: Some(59),
                ..MappingSpec::new("f", stream())
            },
            "MaximumRecordAgeInSeconds must be -1",
        ),
        (
            MappingSpec {
                max_retries: Some(10_001),
                ..MappingSpec::new("f", stream())
            },
            "maximumRetryAttempts",
        ),
        (
            MappingSpec {
                on_failure: Some(Destination::Stream("gone".into())),
                ..MappingSpec::new("f", stream())
            },
            "DestinationConfig.OnFailure.Destination",
        ),
    ];
    for (spec, expected) in refused {
        let err = create(&store, spec.clone()).unwrap_err();
        assert!(err.to_string().contains(expected), "{spec:?}: {err}");
    }
    assert!(list(&store).unwrap().is_empty());
    let bounds = MappingSpec {
        batch_size: 10_000,
        batching_window_ms: 300_000,
        max_retries: Some(10_000),
        max_record_age_secs: Some(604_800),
        on_failure: Some(Destination::Table("tbl".into())),
        ..MappingSpec::new("f", stream())
    };
    create(&store, bounds).unwrap();
}

#[test]
fn one_mapping_per_function_and_source_but_many_per_source() {
    let (_dir, store, _clock) = fixture();
    let first = create(&store, spec("f", stream(), StartingPosition::Latest)).unwrap();
    let err = create(&store, spec("f", stream(), StartingPosition::TrimHorizon)).unwrap_err();
    assert!(matches!(err, StoreError::ResourceInUse(_)), "{err}");
    assert!(err.to_string().contains(&first.uuid), "{err}");
    let second = create(&store, spec("g", stream(), StartingPosition::Latest)).unwrap();
    // Moving the second mapping onto f would duplicate the first.
    let onto_f = MappingChanges {
        function_name: Some("f".into()),
        ..MappingChanges::default()
    };
    assert!(matches!(
        update(&store, &second.uuid, onto_f),
        Err(StoreError::ResourceInUse(_))
    ));
    let missing = MappingChanges {
        function_name: Some("nope".into()),
        ..MappingChanges::default()
    };
    assert!(matches!(
        update(&store, &second.uuid, missing),
        Err(StoreError::ResourceNotFound(_))
    ));
    let bad = MappingChanges {
        batch_size: Some(0),
        ..MappingChanges::default()
    };
    assert!(matches!(
        update(&store, &second.uuid, bad),
        Err(StoreError::Validation(_))
    ));
    assert_eq!(get(&store, &second.uuid).unwrap(), second);
}

#[test]
fn trim_horizon_starts_at_the_oldest_record() {
    let (_dir, store, _clock) = fixture();
    put(&store, "a");
    let m = create(&store, spec("f", stream(), StartingPosition::TrimHorizon)).unwrap();
    assert_eq!(starts(&store, &m), [None, None]);
}

#[test]
fn latest_skips_records_before_creation_and_keeps_records_after() {
    let (_dir, store, _clock) = fixture();
    let before: Vec<u64> = (0..20).map(|i| put(&store, &format!("k{i}"))).collect();
    let m = create(&store, spec("f", stream(), StartingPosition::Latest)).unwrap();
    let after: Vec<u64> = (0..20).map(|i| put(&store, &format!("k{i}"))).collect();
    let starts = starts(&store, &m);
    let floor = starts.iter().flatten().copied().min().unwrap();
    assert_eq!(starts.len(), 2);
    assert!(starts.iter().all(Option::is_some));
    // Every shard's checkpoint is at or past every earlier record, and below
    // every later record, whichever shard a record went to.
    assert!(
        before
            .iter()
            .all(|s| starts.iter().all(|c| c.unwrap() >= *s))
    );
    assert!(after.iter().all(|s| *s > floor));
}

#[test]
fn latest_on_an_empty_table_stream_delivers_the_first_change() {
    let (_dir, store, _clock) = fixture();
    let m = create(
        &store,
        spec("f", Source::Table("tbl".into()), StartingPosition::Latest),
    )
    .unwrap();
    let source = resolve_source(&store, &m.source).unwrap();
    let checkpoint = checkpoints::load(&store, &m.uuid, source.log, source.shards[0]).unwrap();
    put_item_pk(&store, "tbl", "a");
    let changes = crate::tables::read_changes(&store, source.log, checkpoint.unwrap(), 10).unwrap();
    assert_eq!(changes.len(), 1);
}

#[test]
fn latest_on_a_table_skips_earlier_changes() {
    let (_dir, store, _clock) = fixture();
    put_item_pk(&store, "tbl", "a");
    put_item_pk(&store, "tbl", "b");
    let m = create(
        &store,
        spec("f", Source::Table("tbl".into()), StartingPosition::Latest),
    )
    .unwrap();
    put_item_pk(&store, "tbl", "c");
    let source = resolve_source(&store, &m.source).unwrap();
    let checkpoint = checkpoints::load(&store, &m.uuid, source.log, 0)
        .unwrap()
        .unwrap();
    let changes = crate::tables::read_changes(&store, source.log, checkpoint, 10).unwrap();
    let keys: Vec<String> = changes
        .iter()
        .map(|c| c.event["dynamodb"]["Keys"]["pk"]["S"].to_string())
        .collect();
    assert_eq!(keys, ["\"c\""]);
}

#[test]
fn at_timestamp_starts_just_before_the_first_record_at_or_after_the_time() {
    let (_dir, store, clock) = fixture();
    let early = put(&store, "a");
    clock.advance_ms(1_000);
    let at = T0 + 1_000;
    let first_at = put(&store, "a");
    clock.advance_ms(1_000);
    put(&store, "a");
    let m = create(
        &store,
        spec("f", stream(), StartingPosition::AtTimestamp(at)),
    )
    .unwrap();
    let shard = crate::streams::shards::route(2, crate::streams::shards::hash_key("a"));
    let source = resolve_source(&store, &m.source).unwrap();
    let checkpoint = checkpoints::load(&store, &m.uuid, source.log, shard).unwrap();
    assert_eq!(checkpoint, Some(first_at - 1));
    assert!(checkpoint.unwrap() >= early);
    // A time after every record: start after all of them (the log head).
    let later = create(
        &store,
        spec("g", stream(), StartingPosition::AtTimestamp(T0 + 9_999)),
    )
    .unwrap();
    let head = put(&store, "b") - 1;
    assert_eq!(starts(&store, &later), [Some(head), Some(head)]);
}
