//! Tests of tables across modules: operations and their errors, change records,
//! paging, batches, the streams read side, group-commit races, and a model test
//! against a BTreeMap reference.

use std::sync::Arc;

use serde_json::{Value, json};

use super::change_streams::{self, IteratorStart};
use super::*;
use crate::value::json::item_from_json;
use crate::value::keys::KeyType;
use crate::{Clock, Item, Store, StoreError, StoreOptions};

pub(crate) fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let options = StoreOptions {
        durability: crate::Durability::Relaxed,
        clock: Clock::manual(1_444_178_885_899),
        ..StoreOptions::default()
    };
    let store = Store::open(dir.path(), options).unwrap();
    (dir, store)
}

pub(crate) fn item(v: Value) -> Item {
    item_from_json(&v).unwrap()
}

fn attr(name: &str, key_type: KeyType) -> KeyAttr {
    KeyAttr {
        name: name.into(),
        key_type,
    }
}

fn create(
    store: &Store,
    name: &str,
    sort: bool,
    stream: Option<StreamViewType>,
) -> TableDescription {
    create_table(
        store,
        CreateTable {
            name: name.into(),
            partition_key: attr("pk", KeyType::S),
            sort_key: sort.then(|| attr("sk", KeyType::N)),
            billing: BillingMode::PayPerRequest,
            stream,
        },
    )
    .unwrap()
}

fn put(store: &Store, table: &str, value: Value) -> Result<Option<Item>, StoreError> {
    put_item(
        store,
        PutItemRequest {
            table: table.into(),
            item: item(value),
            ..Default::default()
        },
    )
}

fn get(store: &Store, table: &str, key: Value) -> Option<Item> {
    get_item(
        store,
        &GetItemRequest {
            table: table.into(),
            key: item(key),
            ..Default::default()
        },
    )
    .unwrap()
}

fn maps(values: Value) -> ExpressionMaps {
    ExpressionMaps {
        names: None,
        values: values.as_object().cloned(),
    }
}

fn changes(store: &Store, table: &str, after: u64) -> Vec<change_streams::ChangeRecord> {
    let log = change_log(store, table).unwrap().unwrap();
    read_changes(store, log.log, after, 1000).unwrap()
}

#[test]
fn create_describe_list_delete() {
    let (_dir, store) = open();
    let created = create(
        &store,
        "GameScoreRecords",
        false,
        Some(StreamViewType::NewImage),
    );
    assert_eq!(
        created.meta.arn,
        "arn:aws:dynamodb:us-east-1:000000000000:table/GameScoreRecords"
    );
    let stream = created.meta.enabled_stream().unwrap();
    assert_eq!(stream.label(), "2015-10-07T00:48:05.899");
    let again = create_table(
        &store,
        CreateTable {
            name: "GameScoreRecords".into(),
            partition_key: attr("pk", KeyType::S),
            sort_key: None,
            billing: BillingMode::PayPerRequest,
            stream: None,
        },
    );
    assert!(
        matches!(again, Err(StoreError::ResourceInUse(m)) if m == "Table already exists: GameScoreRecords")
    );
    assert!(matches!(
        meta::check_table_name("ab"),
        Err(StoreError::Validation(_))
    ));
    assert!(matches!(
        meta::check_table_name("a/b"),
        Err(StoreError::Validation(_))
    ));
    create(&store, "abc", false, None);
    create(&store, "xyz", false, None);
    let (names, last) = list_tables(&store, None, 2).unwrap();
    assert_eq!(names, ["GameScoreRecords", "abc"]);
    assert_eq!(last.as_deref(), Some("abc"));
    let (names, last) = list_tables(&store, Some("abc"), 2).unwrap();
    assert_eq!((names, last), (vec!["xyz".to_string()], None));
    put(&store, "abc", json!({"pk": {"S": "a"}, "v": {"S": "xyz"}})).unwrap();
    let described = describe_table(&store, "abc").unwrap();
    assert_eq!(
        (described.item_count, described.size_bytes),
        (1, 2 + 1 + 1 + 3)
    );
    let deleted = delete_table(&store, "abc").unwrap();
    assert_eq!(deleted.item_count, 1);
    assert!(
        matches!(describe_table(&store, "abc"), Err(StoreError::ResourceNotFound(m)) if m == "Requested resource not found: Table: abc not found")
    );
    // A table recreated under the same name starts empty.
    create(&store, "abc", false, None);
    assert_eq!(get(&store, "abc", json!({"pk": {"S": "a"}})), None);
    assert_eq!(describe_table(&store, "abc").unwrap().item_count, 0);
}

#[test]
fn put_get_delete_and_their_errors() {
    let (_dir, store) = open();
    create(&store, "tb1", true, None);
    let key = json!({"pk": {"S": "a"}, "sk": {"N": "1"}});
    assert_eq!(
        put(
            &store,
            "tb1",
            json!({"pk": {"S": "a"}, "sk": {"N": "1"}, "v": {"BOOL": true}})
        )
        .unwrap(),
        None
    );
    assert_eq!(
        get(&store, "tb1", key.clone()).unwrap()["v"],
        crate::AttributeValue::Bool(true)
    );
    let err = |r: Result<Option<Item>, StoreError>| r.unwrap_err().to_string();
    assert_eq!(
        err(put(&store, "tb1", json!({"pk": {"S": "a"}}))),
        "One or more parameter values were invalid: Missing the key sk in the item"
    );
    assert_eq!(
        err(put(
            &store,
            "tb1",
            json!({"pk": {"N": "1"}, "sk": {"N": "1"}})
        )),
        "One or more parameter values were invalid: Type mismatch for key pk expected: S actual: N"
    );
    assert_eq!(
        err(put(&store, "nope", json!({"pk": {"S": "a"}}))),
        "Requested resource not found"
    );
    let big = "x".repeat(400 * 1024);
    assert_eq!(
        err(put(
            &store,
            "tb1",
            json!({"pk": {"S": "a"}, "sk": {"N": "1"}, "v": {"S": big}})
        )),
        "Item size has exceeded the maximum allowed size"
    );
    let bad_key = get_item(
        &store,
        &GetItemRequest {
            table: "tb1".into(),
            key: item(json!({"pk": {"S": "a"}})),
            ..Default::default()
        },
    );
    assert_eq!(
        bad_key.unwrap_err().to_string(),
        "The provided key element does not match the schema"
    );
    let extra = get_item(
        &store,
        &GetItemRequest {
            table: "tb1".into(),
            key: item(json!({"pk": {"S": "a"}, "sk": {"N": "1"}, "x": {"S": "y"}})),
            ..Default::default()
        },
    );
    assert_eq!(
        extra.unwrap_err().to_string(),
        "The provided key element does not match the schema"
    );
    let projected = get_item(
        &store,
        &GetItemRequest {
            table: "tb1".into(),
            key: item(key.clone()),
            projection: Some("v".into()),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(projected.unwrap().len(), 1);
    let rv = put_item(
        &store,
        PutItemRequest {
            table: "tb1".into(),
            item: item(key.clone()),
            return_values: ReturnValues::AllNew,
            ..Default::default()
        },
    );
    assert_eq!(
        rv.unwrap_err().to_string(),
        "ReturnValues can only be ALL_OLD or NONE"
    );
    let old = delete_item(
        &store,
        DeleteItemRequest {
            table: "tb1".into(),
            key: item(key.clone()),
            return_values: ReturnValues::AllOld,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(old.unwrap().len(), 3);
    assert_eq!(get(&store, "tb1", key.clone()), None);
    // Deleting a missing item succeeds and returns nothing.
    let none = delete_item(
        &store,
        DeleteItemRequest {
            table: "tb1".into(),
            key: item(key),
            return_values: ReturnValues::AllOld,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(none, None);
    assert_eq!(describe_table(&store, "tb1").unwrap().item_count, 0);
}

#[test]
fn updates_conditions_and_return_values() {
    let (_dir, store) = open();
    create(&store, "tbl", false, None);
    let key = json!({"pk": {"S": "u"}});
    let update = |expr: &str, cond: Option<&str>, values: Value, rv: ReturnValues| {
        update_item(
            &store,
            UpdateItemRequest {
                table: "tbl".into(),
                key: item(key.clone()),
                update: Some(expr.into()),
                condition: cond.map(str::to_string),
                expressions: maps(values),
                return_values: rv,
                return_old_on_failure: true,
            },
        )
    };
    // An update of a missing item creates it.
    let new = update(
        "ADD Score :n",
        None,
        json!({":n": {"N": "10"}}),
        ReturnValues::AllNew,
    )
    .unwrap()
    .unwrap();
    assert_eq!(new, item(json!({"pk": {"S": "u"}, "Score": {"N": "10"}})));
    let updated = update(
        "ADD Score :n SET x = :x",
        None,
        json!({":n": {"N": "5"}, ":x": {"S": "y"}}),
        ReturnValues::UpdatedOld,
    )
    .unwrap();
    assert_eq!(updated, Some(item(json!({"Score": {"N": "10"}}))));
    let updated = update(
        "SET x = :x",
        None,
        json!({":x": {"S": "z"}}),
        ReturnValues::UpdatedNew,
    )
    .unwrap();
    assert_eq!(updated, Some(item(json!({"x": {"S": "z"}}))));
    let failed = update(
        "SET x = :x",
        Some("Score > :max"),
        json!({":x": {"S": "w"}, ":max": {"N": "100"}}),
        ReturnValues::None,
    );
    match failed {
        Err(StoreError::ConditionalCheckFailed { item: Some(old) }) => {
            assert_eq!(old["Score"], item(json!({"n": {"N": "15"}}))["n"])
        }
        other => panic!("expected a failed condition, got {other:?}"),
    }
    let key_update = update(
        "SET pk = :x",
        None,
        json!({":x": {"S": "w"}}),
        ReturnValues::None,
    );
    assert!(
        key_update
            .unwrap_err()
            .to_string()
            .contains("This attribute is part of the key")
    );
    let unused = update(
        "SET x = :x",
        None,
        json!({":x": {"S": "w"}, ":y": {"S": "w"}}),
        ReturnValues::None,
    );
    assert!(unused.unwrap_err().to_string().contains("unused"));
    assert_eq!(
        get(&store, "tbl", key).unwrap()["x"],
        crate::AttributeValue::S("z".into())
    );
    let put_new = put_item(
        &store,
        PutItemRequest {
            table: "tbl".into(),
            item: item(json!({"pk": {"S": "u"}})),
            condition: Some("attribute_not_exists(pk)".into()),
            ..Default::default()
        },
    );
    assert!(matches!(
        put_new,
        Err(StoreError::ConditionalCheckFailed { item: None })
    ));
}

#[test]
fn change_records_follow_every_change_and_only_changes() {
    let (_dir, store) = open();
    create(&store, "tbl", false, Some(StreamViewType::NewAndOldImages));
    put(&store, "tbl", json!({"pk": {"S": "a"}, "v": {"N": "1"}})).unwrap();
    put(&store, "tbl", json!({"pk": {"S": "a"}, "v": {"N": "1"}})).unwrap(); // no-op
    put(&store, "tbl", json!({"pk": {"S": "a"}, "v": {"N": "2"}})).unwrap();
    delete_item(
        &store,
        DeleteItemRequest {
            table: "tbl".into(),
            key: item(json!({"pk": {"S": "a"}})),
            ..Default::default()
        },
    )
    .unwrap();
    delete_item(
        &store,
        DeleteItemRequest {
            table: "tbl".into(),
            key: item(json!({"pk": {"S": "a"}})),
            ..Default::default()
        },
    )
    .unwrap(); // no-op
    let records = changes(&store, "tbl", 0);
    let names: Vec<&str> = records
        .iter()
        .map(|r| r.event["eventName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["INSERT", "MODIFY", "REMOVE"]);
    let modify = &records[1].event;
    assert_eq!(modify["eventVersion"], "1.1");
    assert_eq!(modify["eventSource"], "aws:dynamodb");
    assert_eq!(modify["awsRegion"], "us-east-1");
    assert_eq!(
        modify["eventSourceARN"],
        "arn:aws:dynamodb:us-east-1:000000000000:table/tbl/stream/2015-10-07T00:48:05.899"
    );
    assert_eq!(modify["dynamodb"]["Keys"], json!({"pk": {"S": "a"}}));
    assert_eq!(modify["dynamodb"]["OldImage"]["v"], json!({"N": "1"}));
    assert_eq!(modify["dynamodb"]["NewImage"]["v"], json!({"N": "2"}));
    assert_eq!(
        modify["dynamodb"]["SequenceNumber"],
        "400000000000000000002"
    );
    assert_eq!(
        modify["dynamodb"]["ApproximateCreationDateTime"],
        1_444_178_885
    );
    assert_eq!(modify["dynamodb"]["StreamViewType"], "NEW_AND_OLD_IMAGES");
    assert!(records[2].event["dynamodb"].get("NewImage").is_none());
    assert_ne!(records[0].event["eventID"], records[1].event["eventID"]);
}

#[test]
fn query_pages_in_sort_order_both_ways() {
    let (_dir, store) = open();
    create(&store, "tbl", true, None);
    for n in [10, -5, 2, 100, 0] {
        put(
            &store,
            "tbl",
            json!({"pk": {"S": "p"}, "sk": {"N": n.to_string()}, "odd": {"BOOL": n % 2 != 0}}),
        )
        .unwrap();
    }
    put(&store, "tbl", json!({"pk": {"S": "q"}, "sk": {"N": "1"}})).unwrap();
    let run = |forward: bool, limit: Option<u32>, start: Option<Item>| {
        query(
            &store,
            &QueryRequest {
                table: "tbl".into(),
                key_condition: "pk = :p AND sk >= :lo".into(),
                filter: Some("odd = :f".into()),
                expressions: maps(
                    json!({":p": {"S": "p"}, ":lo": {"N": "0"}, ":f": {"BOOL": false}}),
                ),
                limit,
                exclusive_start_key: start,
                forward,
                ..Default::default()
            },
        )
        .unwrap()
    };
    let sks = |page: &Page| -> Vec<String> {
        page.items
            .iter()
            .map(|i| match &i["sk"] {
                crate::AttributeValue::N(n) => n.to_string(),
                _ => unreachable!(),
            })
            .collect()
    };
    let all = run(true, None, None);
    assert_eq!(sks(&all), ["0", "2", "10", "100"]);
    assert_eq!(
        (all.count, all.scanned_count, all.last_evaluated_key.clone()),
        (4, 4, None)
    );
    let mut seen = Vec::new();
    let mut start = None;
    loop {
        let page = run(false, Some(3), start);
        assert!(page.scanned_count <= 3);
        seen.extend(sks(&page));
        match page.last_evaluated_key {
            Some(key) => start = Some(key),
            None => break,
        }
    }
    assert_eq!(seen, ["100", "10", "2", "0"]);
    let bad = query(
        &store,
        &QueryRequest {
            table: "tbl".into(),
            key_condition: "pk = :p".into(),
            expressions: maps(json!({":p": {"N": "1"}})),
            forward: true,
            ..Default::default()
        },
    );
    assert!(
        bad.unwrap_err()
            .to_string()
            .contains("Condition parameter type does not match schema type")
    );
}

#[test]
fn scan_segments_partition_the_table() {
    let (_dir, store) = open();
    create(&store, "tbl", false, None);
    for n in 0..40 {
        put(&store, "tbl", json!({"pk": {"S": format!("k{n}")}})).unwrap();
    }
    let mut total = 0;
    for segment in 0..3 {
        let mut start = None;
        loop {
            let page = scan(
                &store,
                &ScanRequest {
                    table: "tbl".into(),
                    limit: Some(7),
                    exclusive_start_key: start,
                    segment: Some(segment),
                    total_segments: Some(3),
                    select: Some(Select::Count),
                    ..Default::default()
                },
            )
            .unwrap();
            assert!(page.items.is_empty());
            total += page.count;
            match page.last_evaluated_key {
                Some(key) => start = Some(key),
                None => break,
            }
        }
    }
    assert_eq!(total, 40);
}

#[test]
fn batch_write_is_all_or_nothing() {
    let (_dir, store) = open();
    create(&store, "tbl", false, Some(StreamViewType::KeysOnly));
    put(&store, "tbl", json!({"pk": {"S": "gone"}})).unwrap();
    let writes = |requests| {
        vec![TableWrites {
            table: "tbl".into(),
            requests,
        }]
    };
    let put_req = |k: &str| WriteRequest::Put(item(json!({"pk": {"S": k}})));
    let dup = batch_write_item(&store, writes(vec![put_req("a"), put_req("a")]));
    assert_eq!(
        dup.unwrap_err().to_string(),
        "Provided list of item keys contains duplicates"
    );
    let bad = batch_write_item(
        &store,
        writes(vec![
            put_req("a"),
            WriteRequest::Put(item(json!({"x": {"S": "1"}}))),
        ]),
    );
    assert!(bad.is_err());
    assert_eq!(get(&store, "tbl", json!({"pk": {"S": "a"}})), None);
    let many = batch_write_item(
        &store,
        writes((0..26).map(|n| put_req(&n.to_string())).collect()),
    );
    assert_eq!(
        many.unwrap_err().to_string(),
        "Too many items requested for the BatchWriteItem call"
    );
    batch_write_item(
        &store,
        writes(vec![
            put_req("a"),
            put_req("b"),
            WriteRequest::Delete(item(json!({"pk": {"S": "gone"}}))),
        ]),
    )
    .unwrap();
    assert_eq!(describe_table(&store, "tbl").unwrap().item_count, 2);
    let names: Vec<Value> = changes(&store, "tbl", 0)
        .iter()
        .map(|r| r.event["eventName"].clone())
        .collect();
    assert_eq!(names, ["INSERT", "INSERT", "INSERT", "REMOVE"]);
    let found = batch_get_item(
        &store,
        &[TableGets {
            table: "tbl".into(),
            keys: vec![
                item(json!({"pk": {"S": "a"}})),
                item(json!({"pk": {"S": "zz"}})),
            ],
            ..Default::default()
        }],
    )
    .unwrap();
    assert_eq!(found[0].1.len(), 1);
}

#[test]
fn streams_read_side() {
    let (_dir, store) = open();
    create(&store, "tbl", false, Some(StreamViewType::NewImage));
    let arn = "arn:aws:dynamodb:us-east-1:000000000000:table/tbl/stream/2015-10-07T00:48:05.899";
    let (streams, _) = change_streams::list_streams(&store, None, None, 100).unwrap();
    assert_eq!(streams.len(), 1);
    assert_eq!(streams[0].arn, arn);
    let described = change_streams::describe_stream(&store, arn).unwrap();
    assert!(described.enabled);
    assert!(
        described
            .shard
            .shard_id
            .starts_with("shardId-00000001444178885899-")
    );
    let shard = described.shard.shard_id.clone();
    let iterator =
        change_streams::get_shard_iterator(&store, arn, &shard, IteratorStart::TrimHorizon)
            .unwrap();
    let latest =
        change_streams::get_shard_iterator(&store, arn, &shard, IteratorStart::Latest).unwrap();
    for n in 0..3 {
        put(&store, "tbl", json!({"pk": {"S": format!("k{n}")}})).unwrap();
    }
    let first = change_streams::get_records(&store, &iterator, 2).unwrap();
    assert_eq!(first.records.len(), 2);
    assert!(first.records[0].get("eventSourceARN").is_none());
    let rest =
        change_streams::get_records(&store, first.next_iterator.as_deref().unwrap(), 1000).unwrap();
    assert_eq!(rest.records.len(), 1);
    assert_eq!(
        change_streams::get_records(&store, &latest, 10)
            .unwrap()
            .records
            .len(),
        3
    );
    let seq = first.records[1]["dynamodb"]["SequenceNumber"]
        .as_str()
        .unwrap()
        .to_string();
    let after =
        change_streams::get_shard_iterator(&store, arn, &shard, IteratorStart::AfterSequence(seq))
            .unwrap();
    assert_eq!(
        change_streams::get_records(&store, &after, 10)
            .unwrap()
            .records
            .len(),
        1
    );
    assert!(matches!(
        change_streams::get_records(&store, "garbage", 10),
        Err(StoreError::Validation(_))
    ));
    // Disabling closes the shard: still readable, then exhausted.
    update_table(&store, "tbl", Some(StreamChange::Disable), None).unwrap();
    let closed = change_streams::describe_stream(&store, arn).unwrap();
    assert!(!closed.enabled);
    assert_eq!(
        closed.shard.ending_sequence.as_deref(),
        Some("400000000000000000003")
    );
    let iterator =
        change_streams::get_shard_iterator(&store, arn, &shard, IteratorStart::TrimHorizon)
            .unwrap();
    let all = change_streams::get_records(&store, &iterator, 1000).unwrap();
    assert_eq!((all.records.len(), all.next_iterator), (3, None));
    put(&store, "tbl", json!({"pk": {"S": "quiet"}})).unwrap();
    let err = update_table(&store, "tbl", Some(StreamChange::Disable), None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Table has no stream to disable: TableName: tbl"
    );
    let enabled = update_table(
        &store,
        "tbl",
        Some(StreamChange::Enable(StreamViewType::KeysOnly)),
        None,
    )
    .unwrap();
    assert_ne!(
        enabled
            .meta
            .stream_arn(enabled.meta.enabled_stream().unwrap()),
        arn
    );
    let err = update_table(
        &store,
        "tbl",
        Some(StreamChange::Enable(StreamViewType::KeysOnly)),
        None,
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("Table already has an enabled stream")
    );
    assert_eq!(
        change_streams::list_streams(&store, Some("tbl"), None, 100)
            .unwrap()
            .0
            .len(),
        2
    );
    // Iterators expire after 15 minutes; records after 24 hours.
    store.options().clock.advance_ms(15 * 60_000 + 1);
    assert!(matches!(
        change_streams::get_records(&store, &iterator, 10),
        Err(StoreError::ExpiredIterator(_))
    ));
    store.options().clock.advance_ms(24 * 3_600_000);
    assert_eq!(trim_expired(&store).unwrap(), 3);
    let iterator =
        change_streams::get_shard_iterator(&store, arn, &shard, IteratorStart::TrimHorizon)
            .unwrap();
    assert_eq!(
        change_streams::get_records(&store, &iterator, 10)
            .unwrap()
            .records
            .len(),
        0
    );
}

/// Reading trimmed stream records is refused with TrimmedDataAccessException,
/// as DynamoDB Streams does: asking for an iterator before the oldest record
/// kept, or using an iterator whose records were trimmed since it was issued.
/// Records past the 24-hour retention that trimming has not removed yet are
/// skipped by reads but do not make iterators stale (DynamoDB trims lazily
/// too). TRIM_HORIZON starts at the oldest record kept.
#[test]
fn reading_trimmed_stream_records_is_refused() {
    let (_dir, store) = open();
    create(&store, "tbl", false, Some(StreamViewType::KeysOnly));
    let arn = "arn:aws:dynamodb:us-east-1:000000000000:table/tbl/stream/2015-10-07T00:48:05.899";
    let shard = change_streams::describe_stream(&store, arn)
        .unwrap()
        .shard
        .shard_id;
    let clock = &store.options().clock;
    for n in 0..3 {
        put(&store, "tbl", json!({"pk": {"S": format!("old{n}")}})).unwrap();
    }
    clock.advance_ms(24 * 3_600_000 - 60_000);
    put(&store, "tbl", json!({"pk": {"S": "new"}})).unwrap();
    let iterator = |start| change_streams::get_shard_iterator(&store, arn, &shard, start);
    let sequence = |n: u64| crate::records::SequenceFormat::DynamoDb.format(n);
    let keys = |read: change_streams::ChangeRecords| -> Vec<Value> {
        read.records
            .iter()
            .map(|r| r["dynamodb"]["Keys"]["pk"]["S"].clone())
            .collect()
    };
    let issued_early = iterator(IteratorStart::AtSequence(sequence(1))).unwrap();
    clock.advance_ms(2 * 60_000);
    // Past retention, not trimmed yet: skipped, not refused.
    let early = change_streams::get_records(&store, &issued_early, 10).unwrap();
    assert_eq!(keys(early), [json!("new")]);
    let issued_before_trim = iterator(IteratorStart::AtSequence(sequence(2))).unwrap();
    assert_eq!(trim_expired(&store).unwrap(), 3);
    for (trimmed, start) in [
        (true, IteratorStart::AtSequence(sequence(2))),
        (true, IteratorStart::AfterSequence(sequence(2))),
        (false, IteratorStart::AfterSequence(sequence(3))),
        (false, IteratorStart::AtSequence(sequence(4))),
    ] {
        let outcome = iterator(start);
        assert_eq!(
            matches!(outcome, Err(StoreError::TrimmedDataAccess(_))),
            trimmed,
            "{outcome:?}"
        );
    }
    let err = change_streams::get_records(&store, &issued_before_trim, 10).unwrap_err();
    assert_eq!(err.aws_type(), "TrimmedDataAccessException");
    let horizon = iterator(IteratorStart::TrimHorizon).unwrap();
    let kept = change_streams::get_records(&store, &horizon, 10).unwrap();
    assert_eq!(keys(kept), [json!("new")]);
    let described = change_streams::describe_stream(&store, arn).unwrap();
    assert_eq!(described.shard.starting_sequence, sequence(4));
}

/// As in DynamoDB, a deleted table's change stream stays listed and readable
/// (closed) for 24 hours, beside the stream of a table created again under the
/// same name; then trimming removes it and its records.
#[test]
fn a_deleted_tables_stream_stays_readable_for_24_hours() {
    let (_dir, store) = open();
    let clock = &store.options().clock;
    create(&store, "tbl", false, Some(StreamViewType::KeysOnly));
    let old_arn =
        "arn:aws:dynamodb:us-east-1:000000000000:table/tbl/stream/2015-10-07T00:48:05.899";
    for n in 0..2 {
        put(&store, "tbl", json!({"pk": {"S": format!("k{n}")}})).unwrap();
    }
    delete_table(&store, "tbl").unwrap();
    clock.advance_ms(1_000);
    create(&store, "tbl", false, Some(StreamViewType::KeysOnly));
    put(&store, "tbl", json!({"pk": {"S": "new"}})).unwrap();

    let (listed, _) = change_streams::list_streams(&store, Some("tbl"), None, 100).unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].arn, old_arn, "oldest first");
    let old = change_streams::describe_stream(&store, old_arn).unwrap();
    assert!(!old.enabled);
    assert_eq!(
        old.shard.ending_sequence.as_deref(),
        Some("400000000000000000002")
    );
    let iterator = change_streams::get_shard_iterator(
        &store,
        old_arn,
        &old.shard.shard_id,
        IteratorStart::TrimHorizon,
    )
    .unwrap();
    let read = change_streams::get_records(&store, &iterator, 100).unwrap();
    assert_eq!(read.records.len(), 2);
    assert_eq!(read.next_iterator, None, "a closed shard ends");
    // The new table's stream is its own.
    let new_arn = listed[1].arn.clone();
    let new = change_streams::describe_stream(&store, &new_arn).unwrap();
    assert!(new.enabled);

    clock.advance_ms(24 * 3_600_000);
    trim_expired(&store).unwrap();
    let (listed, _) = change_streams::list_streams(&store, Some("tbl"), None, 100).unwrap();
    assert_eq!(
        listed.iter().map(|s| s.arn.as_str()).collect::<Vec<_>>(),
        [new_arn.as_str()]
    );
    assert!(matches!(
        change_streams::describe_stream(&store, old_arn),
        Err(StoreError::ResourceNotFound(_))
    ));
    let txn = store.read().unwrap();
    let records = txn.open_table(crate::schema::RECORDS).unwrap();
    let first = crate::records::first(&records, old.table.streams[0].log, 0).unwrap();
    assert_eq!(first, None, "its records are gone");
}

/// A table deleted and created again in the same millisecond gets a stream
/// of its own ARN, and ListStreams pages through both once each; a page
/// after a stream that is gone since goes on from where it was.
#[test]
fn recreated_tables_streams_page_once_each() {
    let (_dir, store) = open();
    create(&store, "tbl", false, Some(StreamViewType::KeysOnly));
    delete_table(&store, "tbl").unwrap();
    create(&store, "tbl", false, Some(StreamViewType::KeysOnly));
    create(&store, "zzz", false, Some(StreamViewType::KeysOnly));
    let mut seen = Vec::new();
    let mut start: Option<String> = None;
    loop {
        let (page, last) = change_streams::list_streams(&store, None, start.as_deref(), 1).unwrap();
        seen.extend(page.into_iter().map(|s| s.arn));
        match last {
            Some(last) => start = Some(last),
            None => break,
        }
        assert!(seen.len() <= 3, "pagination must end: {seen:?}");
    }
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert_ne!(seen[0], seen[1]);
    let gone = "arn:aws:dynamodb:us-east-1:000000000000:table/tbl/stream/2099-01-01T00:00:00.000";
    let (after_gone, _) = change_streams::list_streams(&store, None, Some(gone), 10).unwrap();
    assert_eq!(
        after_gone.into_iter().map(|s| s.arn).collect::<Vec<_>>(),
        [seen[2].clone()]
    );
}

#[test]
fn concurrent_conditional_puts_have_one_winner() {
    let (_dir, store) = open();
    create(&store, "tbl", false, Some(StreamViewType::KeysOnly));
    let store = Arc::new(store);
    let barrier = Arc::new(std::sync::Barrier::new(16));
    let threads: Vec<_> = (0..16)
        .map(|n| {
            let (store, barrier) = (store.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let contested = put_item(
                    &store,
                    PutItemRequest {
                        table: "tbl".into(),
                        item: item(json!({"pk": {"S": "same"}, "who": {"N": n.to_string()}})),
                        condition: Some("attribute_not_exists(pk)".into()),
                        ..Default::default()
                    },
                );
                let own = put(&store, "tbl", json!({"pk": {"S": format!("own{n}")}}));
                (contested, own)
            })
        })
        .collect();
    let mut winners = 0;
    for thread in threads {
        let (contested, own) = thread.join().unwrap();
        own.unwrap();
        match contested {
            Ok(_) => winners += 1,
            Err(StoreError::ConditionalCheckFailed { .. }) => {}
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(winners, 1);
    assert_eq!(describe_table(&store, "tbl").unwrap().item_count, 17);
    assert_eq!(changes(&store, "tbl", 0).len(), 17);
}

/// GetRecords pages stop at 1 MB of the JSON a client gets, which is bigger
/// than the records as stored, and the next page goes on where one ended.
#[test]
fn get_records_pages_hold_at_most_a_megabyte_of_json_and_lose_nothing() {
    let (_dir, store) = open();
    create(&store, "big", false, Some(StreamViewType::NewAndOldImages));
    // ~8 KB of short strings per item: their JSON is several times the
    // stored bytes ({"S":"x"} per value).
    let attrs: serde_json::Map<String, Value> = (0..1000)
        .map(|i| (format!("a{i:04}"), json!({"S": "x"})))
        .collect();
    for n in 0..300 {
        let mut image = attrs.clone();
        image.insert("pk".into(), json!({"S": format!("k{n:03}")}));
        put(&store, "big", Value::Object(image)).unwrap();
    }
    let arn = &change_streams::list_streams(&store, Some("big"), None, 1)
        .unwrap()
        .0[0]
        .arn;
    let shard = change_streams::describe_stream(&store, arn)
        .unwrap()
        .shard
        .shard_id;
    let mut iterator = Some(
        change_streams::get_shard_iterator(&store, arn, &shard, IteratorStart::TrimHorizon)
            .unwrap(),
    );
    let mut seen = Vec::new();
    while let Some(it) = iterator.take() {
        let page = change_streams::get_records(&store, &it, 1000).unwrap();
        if page.records.is_empty() {
            break;
        }
        let json = serde_json::to_vec(&page.records).unwrap();
        assert!(
            json.len() <= change_streams::MAX_GET_BYTES,
            "{}",
            json.len()
        );
        for record in &page.records {
            seen.push(
                record["dynamodb"]["Keys"]["pk"]["S"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            );
        }
        iterator = page.next_iterator;
    }
    let expected: Vec<String> = (0..300).map(|n| format!("k{n:03}")).collect();
    assert_eq!(seen, expected);
}

/// A log holding records stored as JSON by an earlier eddy and records in the
/// compact form reads as one stream of Lambda-shaped records.
#[test]
fn change_records_stored_as_json_by_earlier_versions_read_with_new_ones() {
    let (_dir, store) = open();
    create(&store, "mixed", false, Some(StreamViewType::NewImage));
    let log = change_log(&store, "mixed").unwrap().unwrap();
    put(&store, "mixed", json!({"pk": {"S": "new"}})).unwrap();
    let old = json!({"eventID": "0123", "eventName": "INSERT", "eventVersion": "1.1",
        "eventSource": "aws:dynamodb", "awsRegion": "us-east-1",
        "dynamodb": {"ApproximateCreationDateTime": 1444178885u64, "Keys": {"pk": {"S": "old"}},
            "NewImage": {"pk": {"S": "old"}}, "SequenceNumber": "400000000000000000002",
            "SizeBytes": 8, "StreamViewType": "NEW_IMAGE"},
        "eventSourceARN": log.stream_arn});
    let text = serde_json::to_vec(&old).unwrap();
    store
        .write(move |ctx| crate::records::append(ctx, log.log, CHANGE_SHARD, "", &text).map(|_| ()))
        .unwrap();
    let read = changes(&store, "mixed", 0);
    assert_eq!(read.len(), 2);
    assert_eq!(read[0].event["dynamodb"]["Keys"]["pk"]["S"], "new");
    assert_eq!(read[0].event["eventSourceARN"], log.stream_arn.as_str());
    assert_eq!(read[1].event, old);
    // Both have the same fields in the same order.
    let fields = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(fields(&read[0].event), fields(&read[1].event));
    let body = |v: &Value| fields(&v["dynamodb"]);
    assert_eq!(body(&read[0].event), body(&read[1].event));
}
