//! Kinesis edge cases against AWS's documented behaviour (messages as
//! kinesalite records them against AWS): each refused request gets AWS's error
//! type and the key part of its message, and changes nothing.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use super::{Ctx, kin};

const STREAM: &str = "edges";
const OTHER: &str = "other";

/// Stream `edges` (2 shards) with two records, stream `other` (1 shard) with one.
fn ctx() -> Ctx {
    let c = Ctx::new();
    c.ok(
        &kin("CreateStream"),
        json!({"StreamName": STREAM, "ShardCount": 2}),
    );
    c.ok(
        &kin("CreateStream"),
        json!({"StreamName": OTHER, "ShardCount": 1}),
    );
    for (stream, key) in [(STREAM, "a"), (STREAM, "b"), (OTHER, "c")] {
        c.ok(
            &kin("PutRecord"),
            json!({"StreamName": stream, "PartitionKey": key, "Data": b64(key.as_bytes())}),
        );
    }
    c
}

fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

fn iterator(c: &Ctx, stream: &str, shard: &str, kind: &str) -> String {
    let body = json!({"StreamName": stream, "ShardId": shard, "ShardIteratorType": kind});
    c.ok(&kin("GetShardIterator"), body)["ShardIterator"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Every record of every shard of both streams, and the stream list.
fn snapshot(c: &Ctx) -> Value {
    let mut all = Vec::new();
    for (stream, shards) in [(STREAM, 2), (OTHER, 1)] {
        for shard in 0..shards {
            let shard = format!("shardId-{shard:012}");
            let it = iterator(c, stream, &shard, "TRIM_HORIZON");
            let page = c.ok(
                &kin("GetRecords"),
                json!({"ShardIterator": it, "Limit": 10_000}),
            );
            let records: Vec<Value> = page["Records"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|r| json!([r["SequenceNumber"], r["PartitionKey"], r["Data"]]))
                .collect();
            all.push(json!({"stream": stream, "shard": shard, "records": records}));
        }
    }
    json!({"records": all, "streams": c.ok(&kin("ListStreams"), json!({}))["StreamNames"]})
}

fn refused_unchanged(c: &Ctx, op: &str, body: Value, error_type: &str, needle: &str) {
    let before = snapshot(c);
    c.refused(&kin(op), body, error_type, needle);
    assert_eq!(
        snapshot(c),
        before,
        "{op} changed the store although refused"
    );
}

fn record(key: &str, data: &[u8]) -> Value {
    json!({"PartitionKey": key, "Data": b64(data)})
}

#[test]
fn put_records_with_zero_or_501_records_is_refused() {
    let c = ctx();
    refused_unchanged(
        &c,
        "PutRecords",
        json!({"StreamName": STREAM, "Records": []}),
        "ValidationException",
        "Member must have length greater than or equal to 1",
    );
    let many: Vec<Value> = (0..501).map(|i| record(&i.to_string(), b"x")).collect();
    refused_unchanged(
        &c,
        "PutRecords",
        json!({"StreamName": STREAM, "Records": many}),
        "ValidationException",
        "Member must have length less than or equal to 500",
    );
    let ok: Vec<Value> = (0..500).map(|i| record(&i.to_string(), b"x")).collect();
    let out = c.ok(
        &kin("PutRecords"),
        json!({"StreamName": STREAM, "Records": ok}),
    );
    assert_eq!(out["FailedRecordCount"], 0);
    assert_eq!(out["Records"].as_array().map(Vec::len), Some(500));
}

#[test]
fn partition_key_length_counts_unicode_characters() {
    let c = ctx();
    for ch in ["k", "é", "€", "🎉"] {
        let at = ch.repeat(256);
        c.ok(
            &kin("PutRecord"),
            json!({"StreamName": STREAM, "PartitionKey": at, "Data": "AA=="}),
        );
        let over = ch.repeat(257);
        refused_unchanged(
            &c,
            "PutRecord",
            json!({"StreamName": STREAM, "PartitionKey": over, "Data": "AA=="}),
            "ValidationException",
            "Member must have length less than or equal to 256",
        );
        refused_unchanged(
            &c,
            "PutRecords",
            json!({"StreamName": STREAM, "Records": [record("ok", b"1"), record(&ch.repeat(257), b"2")]}),
            "ValidationException",
            "less than or equal to 256",
        );
    }
    refused_unchanged(
        &c,
        "PutRecord",
        json!({"StreamName": STREAM, "PartitionKey": "", "Data": "AA=="}),
        "ValidationException",
        "Member must have length greater than or equal to 1",
    );
}

#[test]
fn data_of_exactly_one_mib_is_accepted_and_one_byte_more_is_refused() {
    let c = ctx();
    let at = vec![7u8; 1 << 20];
    let out = c.ok(
        &kin("PutRecord"),
        json!({"StreamName": OTHER, "PartitionKey": "k", "Data": b64(&at)}),
    );
    let it = c.ok(
        &kin("GetShardIterator"),
        json!({"StreamName": OTHER, "ShardId": out["ShardId"], "ShardIteratorType": "AT_SEQUENCE_NUMBER",
               "StartingSequenceNumber": out["SequenceNumber"]}),
    )["ShardIterator"]
        .clone();
    let page = c.ok(&kin("GetRecords"), json!({"ShardIterator": it, "Limit": 1}));
    assert_eq!(page["Records"][0]["Data"], json!(b64(&at)));
    let over = vec![7u8; (1 << 20) + 1];
    refused_unchanged(
        &c,
        "PutRecord",
        json!({"StreamName": OTHER, "PartitionKey": "k", "Data": b64(&over)}),
        "ValidationException",
        "Member must have length less than or equal to 1048576",
    );
    refused_unchanged(
        &c,
        "PutRecords",
        json!({"StreamName": OTHER, "Records": [record("k", b"small"), record("k", &over)]}),
        "ValidationException",
        "less than or equal to 1048576",
    );
}

#[test]
fn put_records_over_5_mib_in_total_is_refused() {
    let c = ctx();
    let mib = vec![1u8; 1 << 20];
    let records: Vec<Value> = (0..6).map(|i| record(&i.to_string(), &mib)).collect();
    refused_unchanged(
        &c,
        "PutRecords",
        json!({"StreamName": OTHER, "Records": records}),
        "InvalidArgumentException",
        "5 MB",
    );
}

#[test]
fn stream_names_are_checked() {
    let c = ctx();
    for (name, needle) in [
        ("bad name", "regular expression pattern: [a-zA-Z0-9_.-]+"),
        ("bad/name", "regular expression pattern: [a-zA-Z0-9_.-]+"),
        ("é", "regular expression pattern: [a-zA-Z0-9_.-]+"),
        ("", "Member must have length greater than or equal to 1"),
    ] {
        refused_unchanged(
            &c,
            "CreateStream",
            json!({"StreamName": name, "ShardCount": 1}),
            "ValidationException",
            needle,
        );
    }
    let long = "x".repeat(129);
    refused_unchanged(
        &c,
        "CreateStream",
        json!({"StreamName": long, "ShardCount": 1}),
        "ValidationException",
        "Member must have length less than or equal to 128",
    );
    c.ok(
        &kin("CreateStream"),
        json!({"StreamName": "x".repeat(128), "ShardCount": 1}),
    );
    c.ok(&kin("DeleteStream"), json!({"StreamName": "x".repeat(128)}));
    refused_unchanged(
        &c,
        "CreateStream",
        json!({"StreamName": STREAM, "ShardCount": 1}),
        "ResourceInUseException",
        STREAM,
    );
    for count in [json!(0), json!(-1)] {
        let e = c.err(
            &kin("CreateStream"),
            json!({"StreamName": "fresh", "ShardCount": count}),
        );
        assert!(
            ["ValidationException", "SerializationException"].contains(&e.error_type.as_str()),
            "{e}"
        );
    }
    c.refused(
        &kin("DescribeStream"),
        json!({"StreamName": "fresh"}),
        "ResourceNotFoundException",
        "fresh",
    );
}

#[test]
fn get_records_and_list_limits_are_checked() {
    let c = ctx();
    let it = iterator(&c, STREAM, "shardId-000000000000", "TRIM_HORIZON");
    c.refused(
        &kin("GetRecords"),
        json!({"ShardIterator": it, "Limit": 0}),
        "ValidationException",
        "Member must have value greater than or equal to 1",
    );
    c.refused(
        &kin("GetRecords"),
        json!({"ShardIterator": it, "Limit": 10_001}),
        "ValidationException",
        "Member must have value less than or equal to 10000",
    );
    let e = c.err(
        &kin("GetRecords"),
        json!({"ShardIterator": it, "Limit": -1}),
    );
    assert!(
        ["ValidationException", "SerializationException"].contains(&e.error_type.as_str()),
        "{e}"
    );
    c.refused(
        &kin("ListStreams"),
        json!({"Limit": 0}),
        "ValidationException",
        "Member must have value greater than or equal to 1",
    );
    let page = c.ok(&kin("ListStreams"), json!({"Limit": 1}));
    assert_eq!(page["StreamNames"], json!([STREAM]));
    assert_eq!(page["HasMoreStreams"], json!(true));
    c.refused(
        &kin("ListShards"),
        json!({"StreamName": STREAM, "MaxResults": 0}),
        "ValidationException",
        "greater than or equal to 1",
    );
}

#[test]
fn a_sequence_number_from_another_stream_is_refused() {
    let c = ctx();
    let other = c.ok(
        &kin("PutRecord"),
        json!({"StreamName": OTHER, "PartitionKey": "z", "Data": "AA=="}),
    );
    let seq = other["SequenceNumber"].clone();
    for kind in ["AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"] {
        c.refused(
            &kin("GetShardIterator"),
            json!({"StreamName": STREAM, "ShardId": "shardId-000000000000",
                   "ShardIteratorType": kind, "StartingSequenceNumber": seq}),
            "InvalidArgumentException",
            "",
        );
    }
}

#[test]
fn a_sequence_number_from_another_shard_is_refused() {
    let c = ctx();
    // Find a record on each shard of STREAM, then ask for it on the other shard.
    let mut by_shard = std::collections::BTreeMap::new();
    for i in 0..64 {
        let out = c.ok(
            &kin("PutRecord"),
            json!({"StreamName": STREAM, "PartitionKey": format!("k{i}"), "Data": "AA=="}),
        );
        by_shard.insert(
            out["ShardId"].as_str().unwrap_or_default().to_string(),
            out["SequenceNumber"].clone(),
        );
    }
    let seq = by_shard
        .get("shardId-000000000001")
        .cloned()
        .unwrap_or_default();
    c.refused(
        &kin("GetShardIterator"),
        json!({"StreamName": STREAM, "ShardId": "shardId-000000000000",
               "ShardIteratorType": "AT_SEQUENCE_NUMBER", "StartingSequenceNumber": seq}),
        "InvalidArgumentException",
        "",
    );
}

#[test]
fn malformed_iterators_are_refused() {
    let c = ctx();
    let good = iterator(&c, STREAM, "shardId-000000000000", "TRIM_HORIZON");
    let truncated: String = good.chars().take(good.len() / 2).collect();
    let mut flipped = good.clone().into_bytes();
    if let Some(b) = flipped.get_mut(good.len() / 2) {
        *b = if *b == b'A' { b'B' } else { b'A' };
    }
    let flipped = String::from_utf8(flipped).unwrap_or_default();
    for bad in [
        "AAAA".to_string(),
        "not base64 at all!".to_string(),
        truncated,
        flipped,
        b64(&[0u8; 200]),
        format!("{good}AAAA"),
    ] {
        let e = c.refused(
            &kin("GetRecords"),
            json!({"ShardIterator": bad}),
            "InvalidArgumentException",
            "",
        );
        assert!(e.message.contains("Invalid ShardIterator"), "{bad}: {e}");
    }
    // Length constraints: 1..=512 characters.
    c.refused(
        &kin("GetRecords"),
        json!({"ShardIterator": ""}),
        "ValidationException",
        "Member must have length greater than or equal to 1",
    );
    c.refused(
        &kin("GetRecords"),
        json!({"ShardIterator": "A".repeat(513)}),
        "ValidationException",
        "Member must have length less than or equal to 512",
    );
}

#[test]
fn iterators_expire_after_five_minutes() {
    let c = ctx();
    let it = iterator(&c, STREAM, "shardId-000000000000", "TRIM_HORIZON");
    c.clock.advance_ms(300_001);
    c.refused(
        &kin("GetRecords"),
        json!({"ShardIterator": it}),
        "ExpiredIteratorException",
        "",
    );
}

#[test]
fn iterator_of_a_deleted_and_recreated_stream_is_not_served() {
    let c = ctx();
    let it = iterator(&c, OTHER, "shardId-000000000000", "TRIM_HORIZON");
    c.ok(&kin("DeleteStream"), json!({"StreamName": OTHER}));
    let e = c.err(&kin("GetRecords"), json!({"ShardIterator": it}));
    assert_eq!(e.error_type, "ResourceNotFoundException", "{e}");
    c.ok(
        &kin("CreateStream"),
        json!({"StreamName": OTHER, "ShardCount": 1}),
    );
    c.ok(
        &kin("PutRecord"),
        json!({"StreamName": OTHER, "PartitionKey": "new", "Data": "AA=="}),
    );
    // The old iterator must not read the new stream's records as if they were
    // the old stream's (AWS iterators name the stream incarnation).
    if let Ok(page) = c.call(&kin("GetRecords"), json!({"ShardIterator": it})) {
        let keys: Vec<&Value> = page["Records"]
            .as_array()
            .map(|r| r.iter().map(|r| &r["PartitionKey"]).collect())
            .unwrap_or_default();
        assert!(
            !keys.contains(&&json!("c")),
            "old stream's record served: {page}"
        );
    }
}

#[test]
fn explicit_hash_key_out_of_range_is_refused() {
    let c = ctx();
    for key in [
        "340282366920938463463374607431768211456",
        "-1",
        "abc",
        "1.5",
    ] {
        let e = c.err(
            &kin("PutRecord"),
            json!({"StreamName": STREAM, "PartitionKey": "k", "Data": "AA==", "ExplicitHashKey": key}),
        );
        assert!(
            ["InvalidArgumentException", "ValidationException"].contains(&e.error_type.as_str()),
            "{key}: {e}"
        );
    }
    let top = c.ok(
        &kin("PutRecord"),
        json!({"StreamName": STREAM, "PartitionKey": "k", "Data": "AA==",
               "ExplicitHashKey": "340282366920938463463374607431768211455"}),
    );
    assert_eq!(top["ShardId"], json!("shardId-000000000001"));
    let bottom = c.ok(
        &kin("PutRecord"),
        json!({"StreamName": STREAM, "PartitionKey": "k", "Data": "AA==", "ExplicitHashKey": "0"}),
    );
    assert_eq!(bottom["ShardId"], json!("shardId-000000000000"));
}

#[test]
fn retention_period_bounds() {
    let c = ctx();
    for (op, hours, kind, needle) in [
        (
            "IncreaseStreamRetentionPeriod",
            8761,
            "InvalidArgumentException",
            "8760",
        ),
        (
            "DecreaseStreamRetentionPeriod",
            23,
            "InvalidArgumentException",
            "24",
        ),
        // Decreasing to more than the current period is refused.
        (
            "DecreaseStreamRetentionPeriod",
            48,
            "InvalidArgumentException",
            "",
        ),
    ] {
        refused_unchanged(
            &c,
            op,
            json!({"StreamName": STREAM, "RetentionPeriodHours": hours}),
            kind,
            needle,
        );
    }
    c.ok(
        &kin("IncreaseStreamRetentionPeriod"),
        json!({"StreamName": STREAM, "RetentionPeriodHours": 8760}),
    );
    let d = c.ok(&kin("DescribeStreamSummary"), json!({"StreamName": STREAM}));
    assert_eq!(d["StreamDescriptionSummary"]["RetentionPeriodHours"], 8760);
}

#[test]
fn retention_period_below_one_is_a_validation_error() {
    let c = ctx();
    for op in [
        "IncreaseStreamRetentionPeriod",
        "DecreaseStreamRetentionPeriod",
    ] {
        refused_unchanged(
            &c,
            op,
            json!({"StreamName": STREAM, "RetentionPeriodHours": 0}),
            "ValidationException",
            "Member must have value greater than or equal to 1",
        );
    }
}
