//! The Kinesis API through the dispatcher: AWS JSON in, AWS JSON (or AWS-named
//! errors) out.

use eddy_api::{ApiError, dispatch};
use eddy_store::{Clock, Store, StoreOptions};
use serde_json::{Value, json};

const T0: u64 = 1_700_000_000_500;

struct Ctx {
    _dir: tempfile::TempDir,
    store: Store,
    clock: Clock,
}

fn ctx() -> Ctx {
    let dir = tempfile::tempdir().unwrap();
    let clock = Clock::manual(T0);
    let options = StoreOptions {
        clock: clock.clone(),
        durability: eddy_store::Durability::Relaxed,
        ..StoreOptions::default()
    };
    let store = Store::open(dir.path(), options).unwrap();
    Ctx {
        _dir: dir,
        store,
        clock,
    }
}

impl Ctx {
    fn call(&self, op: &str, body: Value) -> Result<Value, ApiError> {
        dispatch(&self.store, &format!("Kinesis_20131202.{op}"), &body)
    }

    fn ok(&self, op: &str, body: Value) -> Value {
        self.call(op, body).unwrap_or_else(|e| panic!("{op}: {e}"))
    }

    fn err(&self, op: &str, body: Value) -> ApiError {
        match self.call(op, body) {
            Ok(v) => panic!("{op} succeeded: {v}"),
            Err(e) => e,
        }
    }

    fn iterator(&self, stream: &str, shard: &str, kind: &str) -> String {
        let body = json!({"StreamName": stream, "ShardId": shard, "ShardIteratorType": kind});
        self.ok("GetShardIterator", body)["ShardIterator"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

#[test]
fn create_and_describe_a_stream() {
    let c = ctx();
    assert_eq!(
        c.ok(
            "CreateStream",
            json!({"StreamName": "lab", "ShardCount": 2})
        ),
        json!({})
    );
    let d = &c.ok("DescribeStream", json!({"StreamName": "lab"}))["StreamDescription"];
    assert_eq!(d["StreamName"], "lab");
    assert_eq!(
        d["StreamARN"],
        "arn:aws:kinesis:us-east-1:000000000000:stream/lab"
    );
    assert_eq!(d["StreamStatus"], "ACTIVE");
    assert_eq!(d["RetentionPeriodHours"], 24);
    assert_eq!(d["HasMoreShards"], false);
    assert_eq!(d["EncryptionType"], "NONE");
    assert_eq!(d["StreamModeDetails"], json!({"StreamMode": "PROVISIONED"}));
    assert_eq!(d["EnhancedMonitoring"], json!([{"ShardLevelMetrics": []}]));
    assert_eq!(
        d["StreamCreationTimestamp"].as_f64(),
        Some(T0 as f64 / 1000.0)
    );
    let shards = d["Shards"].as_array().unwrap();
    assert_eq!(shards.len(), 2);
    assert_eq!(shards[0]["ShardId"], "shardId-000000000000");
    assert_eq!(shards[0]["HashKeyRange"]["StartingHashKey"], "0");
    // 2^127 - 1 and 2^128 - 1, as decimal strings.
    assert_eq!(
        shards[0]["HashKeyRange"]["EndingHashKey"],
        "170141183460469231731687303715884105727"
    );
    assert_eq!(
        shards[1]["HashKeyRange"]["EndingHashKey"],
        "340282366920938463463374607431768211455"
    );
    let start = shards[1]["SequenceNumberRange"]["StartingSequenceNumber"]
        .as_str()
        .unwrap();
    assert_eq!(start.len(), 56);
    let page =
        &c.ok("DescribeStream", json!({"StreamName": "lab", "Limit": 1}))["StreamDescription"];
    assert_eq!(page["Shards"].as_array().unwrap().len(), 1);
    assert_eq!(page["HasMoreShards"], true);
    let summary =
        &c.ok("DescribeStreamSummary", json!({"StreamName": "lab"}))["StreamDescriptionSummary"];
    assert_eq!(summary["OpenShardCount"], 2);
    assert!(summary.get("Shards").is_none());
}

#[test]
fn errors_carry_aws_types_and_messages() {
    let c = ctx();
    c.ok("CreateStream", json!({"StreamName": "s", "ShardCount": 1}));
    let e = c.err("CreateStream", json!({"StreamName": "s", "ShardCount": 1}));
    assert_eq!(e.error_type, "ResourceInUseException");
    assert_eq!(
        e.message,
        "Stream s under account 000000000000 already exists."
    );
    let e = c.err("DescribeStream", json!({"StreamName": "nope"}));
    assert_eq!(e.error_type, "ResourceNotFoundException");
    assert_eq!(
        e.message,
        "Stream nope under account 000000000000 not found."
    );
    assert_eq!(e.to_json()["__type"], "ResourceNotFoundException");
    let e = c.err(
        "CreateStream",
        json!({"StreamName": "bad name!", "ShardCount": 0}),
    );
    assert_eq!(e.error_type, "ValidationException");
    assert_eq!(
        e.message,
        "2 validation errors detected: Value 'bad name!' at 'streamName' failed to satisfy \
         constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; Value '0' \
         at 'shardCount' failed to satisfy constraint: Member must have value greater than or \
         equal to 1"
    );
    let e = c.err("PutRecord", json!({"StreamName": "s"}));
    assert_eq!(e.error_type, "ValidationException");
    assert!(
        e.message
            .starts_with("2 validation errors detected: Value null at 'partitionKey'")
    );
    let e = c.err("CreateStream", json!({"StreamName": 5, "ShardCount": 1}));
    assert_eq!(e.error_type, "SerializationException");
    let e = c.err(
        "PutRecord",
        json!({"StreamName": "s", "PartitionKey": "k", "Data": "!!"}),
    );
    assert_eq!(e.error_type, "SerializationException");
    let e = c.err("MergeShards", json!({}));
    assert_eq!(e.error_type, "UnknownOperationException");
    let e = c.err(
        "CreateStream",
        json!({"StreamName": "big", "ShardCount": 2000}),
    );
    assert_eq!(e.error_type, "LimitExceededException");
}

#[test]
fn put_and_get_records_round_trip() {
    let c = ctx();
    c.ok("CreateStream", json!({"StreamName": "s", "ShardCount": 4}));
    // MD5("partition-1") routes to shard 2 of 4 (python3 hashlib; see store tests).
    let put = c.ok(
        "PutRecord",
        json!({"StreamName": "s", "PartitionKey": "partition-1", "Data": "aGVsbG8="}),
    );
    assert_eq!(put["ShardId"], "shardId-000000000002");
    assert_eq!(put["EncryptionType"], "NONE");
    let it = c.iterator("s", "shardId-000000000002", "TRIM_HORIZON");
    c.clock.advance_ms(250);
    let page = c.ok("GetRecords", json!({"ShardIterator": it}));
    let records = page["Records"].as_array().unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["Data"], "aGVsbG8=");
    assert_eq!(records[0]["PartitionKey"], "partition-1");
    assert_eq!(records[0]["SequenceNumber"], put["SequenceNumber"]);
    assert_eq!(
        records[0]["ApproximateArrivalTimestamp"].as_f64(),
        Some(1_700_000_000.5)
    );
    assert_eq!(page["MillisBehindLatest"], 0);
    let next = page["NextShardIterator"].as_str().unwrap();
    let empty = c.ok("GetRecords", json!({"ShardIterator": next, "Limit": 5}));
    assert_eq!(empty["Records"], json!([]));
    assert!(empty["NextShardIterator"].is_string());
}

#[test]
fn put_records_answers_in_request_order() {
    let c = ctx();
    c.ok("CreateStream", json!({"StreamName": "s", "ShardCount": 4}));
    let body = json!({"StreamName": "s", "Records": [
        {"PartitionKey": "a", "Data": "MQ=="},
        {"PartitionKey": "user-42", "Data": "Mg=="},
        {"PartitionKey": "x", "Data": "Mw==", "ExplicitHashKey": "340282366920938463463374607431768211455"},
    ]});
    let out = c.ok("PutRecords", body);
    assert_eq!(out["FailedRecordCount"], 0);
    let shards: Vec<&str> = out["Records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["ShardId"].as_str().unwrap())
        .collect();
    assert_eq!(
        shards,
        [
            "shardId-000000000000",
            "shardId-000000000001",
            "shardId-000000000003"
        ]
    );
    let e = c.err(
        "PutRecords",
        json!({"StreamName": "s", "Records": [{"PartitionKey": "a"}]}),
    );
    assert_eq!(
        e.message,
        "1 validation error detected: Value null at 'records.1.member.data' failed to satisfy \
         constraint: Member must not be null"
    );
    let e = c.err("PutRecords", json!({"StreamName": "s", "Records": []}));
    assert_eq!(e.error_type, "ValidationException");
    let e = c.err(
        "PutRecord",
        json!({"StreamName": "s", "PartitionKey": "a", "Data": "",
        "ExplicitHashKey": "340282366920938463463374607431768211456"}),
    );
    assert_eq!(e.error_type, "InvalidArgumentException");
}

#[test]
fn shard_iterator_arguments_are_checked_like_aws() {
    let c = ctx();
    c.ok("CreateStream", json!({"StreamName": "s", "ShardCount": 1}));
    let put = c.ok(
        "PutRecord",
        json!({"StreamName": "s", "PartitionKey": "k", "Data": "MQ=="}),
    );
    let seq = put["SequenceNumber"].as_str().unwrap();
    let base = |kind: &str| json!({"StreamName": "s", "ShardId": "shardId-000000000000", "ShardIteratorType": kind});
    let mut body = base("LATEST");
    body["StartingSequenceNumber"] = json!(seq);
    let e = c.err("GetShardIterator", body);
    assert_eq!(e.error_type, "InvalidArgumentException");
    assert!(
        e.message
            .ends_with("Request specified LATEST and also a StartingSequenceNumber.")
    );
    let e = c.err("GetShardIterator", base("AT_SEQUENCE_NUMBER"));
    assert!(
        e.message
            .ends_with("Request specified AT_SEQUENCE_NUMBER and no StartingSequenceNumber.")
    );
    let e = c.err("GetShardIterator", base("AT_TIMESTAMP"));
    assert!(
        e.message
            .starts_with("Must specify timestampInMillis parameter")
    );
    let e = c.err("GetShardIterator", base("SIDEWAYS"));
    assert_eq!(e.error_type, "ValidationException");
    assert!(e.message.contains("Member must satisfy enum value set: [AFTER_SEQUENCE_NUMBER, LATEST, AT_TIMESTAMP, AT_SEQUENCE_NUMBER, TRIM_HORIZON]"));
    let mut body = base("AFTER_SEQUENCE_NUMBER");
    body["StartingSequenceNumber"] = json!(seq);
    let it = c.ok("GetShardIterator", body)["ShardIterator"].clone();
    let page = c.ok("GetRecords", json!({"ShardIterator": it}));
    assert_eq!(page["Records"], json!([]));
    let mut body = base("AT_TIMESTAMP");
    body["Timestamp"] = json!(T0 as f64 / 1000.0);
    let it = c.ok("GetShardIterator", body)["ShardIterator"].clone();
    let page = c.ok("GetRecords", json!({"ShardIterator": it}));
    assert_eq!(page["Records"][0]["SequenceNumber"], seq);
    let e = c.err("GetRecords", json!({"ShardIterator": "garbage"}));
    assert_eq!(
        (e.error_type.as_str(), e.message.as_str()),
        ("InvalidArgumentException", "Invalid ShardIterator.")
    );
    let e = c.err("GetRecords", json!({"ShardIterator": it, "Limit": 10001}));
    assert_eq!(e.error_type, "ValidationException");
    c.clock.advance_ms(300_001);
    let e = c.err("GetRecords", json!({"ShardIterator": it}));
    assert_eq!(e.error_type, "ExpiredIteratorException");
}

#[test]
fn list_streams_and_shards_page() {
    let c = ctx();
    for name in ["a", "b", "c"] {
        c.ok("CreateStream", json!({"StreamName": name, "ShardCount": 3}));
    }
    let page = c.ok("ListStreams", json!({"Limit": 2}));
    assert_eq!(page["StreamNames"], json!(["a", "b"]));
    assert_eq!(page["HasMoreStreams"], true);
    assert_eq!(
        page["StreamSummaries"][1]["StreamARN"],
        "arn:aws:kinesis:us-east-1:000000000000:stream/b"
    );
    let rest = c.ok("ListStreams", json!({"NextToken": page["NextToken"]}));
    assert_eq!(rest["StreamNames"], json!(["c"]));
    assert_eq!(rest["HasMoreStreams"], false);
    let rest = c.ok("ListStreams", json!({"ExclusiveStartStreamName": "a"}));
    assert_eq!(rest["StreamNames"], json!(["b", "c"]));

    let first = c.ok("ListShards", json!({"StreamName": "b", "MaxResults": 2}));
    assert_eq!(first["Shards"].as_array().unwrap().len(), 2);
    let second = c.ok("ListShards", json!({"NextToken": first["NextToken"]}));
    assert_eq!(second["Shards"][0]["ShardId"], "shardId-000000000002");
    assert!(second.get("NextToken").is_none());
    let after = c.ok(
        "ListShards",
        json!({"StreamName": "b", "ExclusiveStartShardId": "shardId-000000000000"}),
    );
    assert_eq!(after["Shards"].as_array().unwrap().len(), 2);
    let e = c.err("ListShards", json!({}));
    assert_eq!(
        e.message,
        "Either NextToken or StreamName should be provided."
    );
    let e = c.err(
        "ListShards",
        json!({"StreamName": "b", "NextToken": first["NextToken"]}),
    );
    assert_eq!(
        e.message,
        "NextToken and StreamName cannot be provided together."
    );
    let e = c.err("ListShards", json!({"NextToken": "bm9wZQ=="}));
    assert_eq!(e.error_type, "InvalidArgumentException");
}

#[test]
fn retention_and_delete() {
    let c = ctx();
    c.ok("CreateStream", json!({"StreamName": "s", "ShardCount": 1, "StreamModeDetails": {"StreamMode": "ON_DEMAND"}}));
    let d = c.ok("DescribeStreamSummary", json!({"StreamName": "s"}));
    assert_eq!(
        d["StreamDescriptionSummary"]["StreamModeDetails"]["StreamMode"],
        "ON_DEMAND"
    );
    c.ok(
        "IncreaseStreamRetentionPeriod",
        json!({"StreamName": "s", "RetentionPeriodHours": 168}),
    );
    let e = c.err(
        "DecreaseStreamRetentionPeriod",
        json!({"StreamName": "s", "RetentionPeriodHours": 200}),
    );
    assert_eq!(e.error_type, "InvalidArgumentException");
    assert_eq!(
        e.message,
        "Requested retention period (200 hours) for stream s can not be longer than existing \
         retention period (168 hours). Use IncreaseRetentionPeriod API."
    );
    c.ok(
        "DecreaseStreamRetentionPeriod",
        json!({"StreamName": "s", "RetentionPeriodHours": 48}),
    );
    let d = c.ok(
        "DescribeStream",
        json!({"StreamARN": "arn:aws:kinesis:us-east-1:000000000000:stream/s"}),
    );
    assert_eq!(d["StreamDescription"]["RetentionPeriodHours"], 48);
    let it = c.iterator("s", "shardId-000000000000", "TRIM_HORIZON");
    c.ok("DeleteStream", json!({"StreamName": "s"}));
    let e = c.err("GetRecords", json!({"ShardIterator": it}));
    assert_eq!(e.error_type, "ResourceNotFoundException");
    let on_demand = c.ok(
        "CreateStream",
        json!({"StreamName": "od", "StreamModeDetails": {"StreamMode": "ON_DEMAND"}}),
    );
    assert_eq!(on_demand, json!({}));
    let d = c.ok("DescribeStreamSummary", json!({"StreamName": "od"}));
    assert_eq!(d["StreamDescriptionSummary"]["OpenShardCount"], 4);
    let e = c.err("CreateStream", json!({"StreamName": "p"}));
    assert_eq!(e.error_type, "ValidationException");
}
