//! A hostile or careless client against the dispatcher: random operations with
//! random JSON must never panic, must always answer with a response or an
//! AWS-named error, and must leave a store that still works.
//!
//! Targeted edge cases (limits, keys, numbers, sizes, iterators) against AWS's
//! documented behaviour live in `robustness/` (one file per service).

use std::panic::{AssertUnwindSafe, catch_unwind};

use eddy_api::{ApiError, dispatch};
use eddy_store::{Clock, Store, StoreOptions};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

#[path = "robustness/dynamodb_edges.rs"]
mod dynamodb_edges;
#[path = "robustness/kinesis_edges.rs"]
mod kinesis_edges;
#[path = "robustness/streams_edges.rs"]
mod streams_edges;

/// A fixed clock, so iterators never expire mid-test unless a test moves it.
pub const T0: u64 = 1_700_000_000_500;

/// A store in a temporary directory with a manual clock.
pub struct Ctx {
    _dir: tempfile::TempDir,
    pub store: Store,
    pub clock: Clock,
}

impl Default for Ctx {
    fn default() -> Ctx {
        Ctx::new()
    }
}

impl Ctx {
    pub fn new() -> Ctx {
        let dir = tempfile::tempdir().expect("tempdir");
        let clock = Clock::manual(T0);
        let options = StoreOptions {
            clock: clock.clone(),
            durability: eddy_store::Durability::Relaxed,
            ..StoreOptions::default()
        };
        let store = Store::open(dir.path(), options).expect("open store");
        Ctx {
            _dir: dir,
            store,
            clock,
        }
    }

    /// Calls `Service.Op` with `body`.
    pub fn call(&self, op: &str, body: Value) -> Result<Value, ApiError> {
        dispatch(&self.store, op, &body)
    }

    pub fn ok(&self, op: &str, body: Value) -> Value {
        match self.call(op, body.clone()) {
            Ok(v) => v,
            Err(e) => panic!("{op} {} failed: {e}", short(&body)),
        }
    }

    pub fn err(&self, op: &str, body: Value) -> ApiError {
        match self.call(op, body.clone()) {
            Ok(v) => panic!("{op} {} succeeded: {}", short(&body), short(&v)),
            Err(e) => e,
        }
    }

    /// Asserts `op` fails with `error_type` and a message containing `needle`.
    pub fn refused(&self, op: &str, body: Value, error_type: &str, needle: &str) -> ApiError {
        let e = self.err(op, body.clone());
        assert_eq!(e.error_type, error_type, "{op} {body}: {e}");
        assert!(
            e.message.contains(needle),
            "{op}: message {:?} lacks {needle:?}; request {}",
            e.message,
            short(&body)
        );
        e
    }
}

/// A request for a failure message, cut to a readable length.
pub fn short(body: &Value) -> String {
    body.to_string().chars().take(300).collect()
}

pub fn ddb(op: &str) -> String {
    format!("DynamoDB_20120810.{op}")
}

pub fn kin(op: &str) -> String {
    format!("Kinesis_20131202.{op}")
}

pub fn dds(op: &str) -> String {
    format!("DynamoDBStreams_20120810.{op}")
}

// ---------------------------------------------------------------------------
// The fuzzer.
// ---------------------------------------------------------------------------

const OPERATIONS: &[&str] = &[
    "Kinesis_20131202.CreateStream",
    "Kinesis_20131202.DeleteStream",
    "Kinesis_20131202.DescribeStream",
    "Kinesis_20131202.DescribeStreamSummary",
    "Kinesis_20131202.ListStreams",
    "Kinesis_20131202.ListShards",
    "Kinesis_20131202.IncreaseStreamRetentionPeriod",
    "Kinesis_20131202.DecreaseStreamRetentionPeriod",
    "Kinesis_20131202.PutRecord",
    "Kinesis_20131202.PutRecords",
    "Kinesis_20131202.GetShardIterator",
    "Kinesis_20131202.GetRecords",
    "DynamoDB_20120810.CreateTable",
    "DynamoDB_20120810.DescribeTable",
    "DynamoDB_20120810.ListTables",
    "DynamoDB_20120810.UpdateTable",
    "DynamoDB_20120810.DeleteTable",
    "DynamoDB_20120810.PutItem",
    "DynamoDB_20120810.GetItem",
    "DynamoDB_20120810.UpdateItem",
    "DynamoDB_20120810.DeleteItem",
    "DynamoDB_20120810.Query",
    "DynamoDB_20120810.Scan",
    "DynamoDB_20120810.BatchWriteItem",
    "DynamoDB_20120810.BatchGetItem",
    "DynamoDBStreams_20120810.ListStreams",
    "DynamoDBStreams_20120810.DescribeStream",
    "DynamoDBStreams_20120810.GetShardIterator",
    "DynamoDBStreams_20120810.GetRecords",
    // Unknown ones.
    "DynamoDB_20120810.Nope",
    "DynamoDB_20120810.",
    ".PutItem",
    "PutItem",
    "",
    "Kinesis_20131202.PutRecord.Extra",
    "DynamoDBStreams_20120810.PutItem",
    "Kinesis_20131202.putrecord",
];

/// The members the operations read, so random requests reach deep code.
const MEMBERS: &[&str] = &[
    "TableName",
    "StreamName",
    "StreamARN",
    "StreamArn",
    "ShardId",
    "ShardIteratorType",
    "ShardIterator",
    "SequenceNumber",
    "StartingSequenceNumber",
    "Timestamp",
    "Limit",
    "ExclusiveStartKey",
    "ExclusiveStartTableName",
    "ExclusiveStartStreamName",
    "ExclusiveStartStreamArn",
    "ExclusiveStartShardId",
    "NextToken",
    "MaxResults",
    "Item",
    "Key",
    "Keys",
    "RequestItems",
    "PutRequest",
    "DeleteRequest",
    "KeySchema",
    "AttributeName",
    "AttributeType",
    "KeyType",
    "AttributeDefinitions",
    "StreamSpecification",
    "StreamEnabled",
    "StreamViewType",
    "BillingMode",
    "ConditionExpression",
    "UpdateExpression",
    "KeyConditionExpression",
    "FilterExpression",
    "ProjectionExpression",
    "ExpressionAttributeNames",
    "ExpressionAttributeValues",
    "ReturnValues",
    "ReturnValuesOnConditionCheckFailure",
    "Select",
    "Segment",
    "TotalSegments",
    "ScanIndexForward",
    "ConsistentRead",
    "ShardCount",
    "StreamModeDetails",
    "StreamMode",
    "RetentionPeriodHours",
    "Data",
    "PartitionKey",
    "ExplicitHashKey",
    "SequenceNumberForOrdering",
    "Records",
    "ShardFilter",
    "Type",
    "pk",
    "sk",
    "a",
    "#n",
    ":v",
    "S",
    "N",
    "B",
    "BOOL",
    "NULL",
    "M",
    "L",
    "SS",
    "NS",
    "BS",
];

/// Strings that mean something to some operation.
const STRINGS: &[&str] = &[
    "tab",
    "hash",
    "s",
    "after",
    "pk",
    "sk",
    "a",
    "S",
    "N",
    "B",
    "HASH",
    "RANGE",
    "TRIM_HORIZON",
    "LATEST",
    "AT_SEQUENCE_NUMBER",
    "AFTER_SEQUENCE_NUMBER",
    "AT_TIMESTAMP",
    "shardId-000000000000",
    "shardId-000000000001",
    "shardId-999999999999",
    "shardId-",
    "",
    "\u{0}",
    "é🎉\u{202e}",
    "#n",
    ":v",
    "pk = :v",
    "pk = :v AND sk > :v",
    "pk = :v AND begins_with(sk, :v)",
    "attribute_not_exists(pk)",
    "SET a = a + :v",
    "ADD a :v",
    "DELETE a :v",
    "REMOVE a[99999999999999999999]",
    "SET a[4294967296] = :v",
    "SET #n.x = list_append(:v, a)",
    "size(a) > :v",
    "a.b[0].c, #n",
    "ALL_NEW",
    "ALL_OLD",
    "UPDATED_OLD",
    "UPDATED_NEW",
    "NONE",
    "COUNT",
    "PAY_PER_REQUEST",
    "NEW_AND_OLD_IMAGES",
    "KEYS_ONLY",
    "ON_DEMAND",
    "AAAA",
    "not base64!",
    "1",
    "0",
    "-1",
    "1e126",
    "1E-131",
    "-0",
    "99999999999999999999999999999999999999999",
    "340282366920938463463374607431768211456",
    "340282366920938463463374607431768211455",
    "49590338271490256608559692538361571095921575989136588898",
    "$ARN",
    "$KITER",
    "$DITER",
    "$KSEQ",
    "$DSEQ",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        prop_oneof![
            Just(json!(0)),
            Just(json!(1)),
            Just(json!(-1)),
            Just(json!(u64::MAX)),
            Just(json!(i64::MIN)),
            Just(json!(u32::MAX)),
            Just(json!(4_294_967_296_u64)),
            Just(json!(1.5)),
            Just(json!(-0.0)),
            Just(json!(1e308)),
            Just(json!(25)),
            Just(json!(26)),
            Just(json!(500)),
            Just(json!(10_001)),
        ],
        proptest::sample::select(STRINGS).prop_map(|s| json!(s)),
        proptest::sample::select(STRINGS).prop_map(|s| json!(s)),
        ".{0,12}".prop_map(Value::String),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(5, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((proptest::sample::select(MEMBERS), inner.clone()), 0..6)
                .prop_map(|pairs| object(pairs)),
            prop::collection::vec((".{0,6}", inner), 0..3).prop_map(|pairs| {
                Value::Object(pairs.into_iter().collect::<Map<String, Value>>())
            }),
        ]
    })
}

fn object(pairs: Vec<(&str, Value)>) -> Value {
    Value::Object(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

/// A request body: mostly an object of known members, sometimes anything.
fn body() -> impl Strategy<Value = Value> {
    prop_oneof![
        8 => prop::collection::vec((proptest::sample::select(MEMBERS), json_value()), 0..8)
            .prop_map(object),
        1 => json_value(),
    ]
}

fn call() -> impl Strategy<Value = (&'static str, Value)> {
    (proptest::sample::select(OPERATIONS), body())
}

/// The placeholders random bodies may carry, filled with live values.
struct Live {
    arn: String,
    kinesis_iterator: String,
    change_iterator: String,
    kinesis_sequence: String,
    change_sequence: String,
}

/// Tables `tab` (pk S, sk N, with a change stream) and `hash` (pk S), stream `s`
/// (2 shards), one record in each stream.
fn seed(c: &Ctx) -> Live {
    c.ok(
        &ddb("CreateTable"),
        json!({
            "TableName": "tab",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                          {"AttributeName": "sk", "KeyType": "RANGE"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                                     {"AttributeName": "sk", "AttributeType": "N"}],
            "BillingMode": "PAY_PER_REQUEST",
            "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        }),
    );
    c.ok(
        &ddb("CreateTable"),
        json!({
            "TableName": "hash",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
        }),
    );
    c.ok(
        &kin("CreateStream"),
        json!({"StreamName": "s", "ShardCount": 2}),
    );
    let put = c.ok(
        &kin("PutRecord"),
        json!({"StreamName": "s", "PartitionKey": "p", "Data": "AAAA"}),
    );
    c.ok(
        &ddb("PutItem"),
        json!({"TableName": "tab", "Item": {"pk": {"S": "a"}, "sk": {"N": "1"}, "a": {"N": "1"}}}),
    );
    let desc = c.ok(&ddb("DescribeTable"), json!({"TableName": "tab"}));
    let arn = desc["Table"]["LatestStreamArn"]
        .as_str()
        .expect("stream arn")
        .to_string();
    let stream = c.ok(&dds("DescribeStream"), json!({"StreamArn": arn}));
    let shard = stream["StreamDescription"]["Shards"][0]["ShardId"]
        .as_str()
        .expect("shard")
        .to_string();
    let change_iterator = c.ok(
        &dds("GetShardIterator"),
        json!({"StreamArn": arn, "ShardId": shard, "ShardIteratorType": "TRIM_HORIZON"}),
    )["ShardIterator"]
        .as_str()
        .expect("iterator")
        .to_string();
    let records = c.ok(
        &dds("GetRecords"),
        json!({"ShardIterator": change_iterator}),
    );
    let change_sequence = records["Records"][0]["dynamodb"]["SequenceNumber"]
        .as_str()
        .expect("change sequence")
        .to_string();
    let kinesis_iterator = c.ok(
        &kin("GetShardIterator"),
        json!({"StreamName": "s", "ShardId": put["ShardId"], "ShardIteratorType": "TRIM_HORIZON"}),
    )["ShardIterator"]
        .as_str()
        .expect("iterator")
        .to_string();
    Live {
        arn,
        kinesis_iterator,
        change_iterator,
        kinesis_sequence: put["SequenceNumber"].as_str().expect("seq").to_string(),
        change_sequence,
    }
}

fn fill(value: &mut Value, live: &Live) {
    match value {
        Value::String(s) => {
            let replacement = match s.as_str() {
                "$ARN" => &live.arn,
                "$KITER" => &live.kinesis_iterator,
                "$DITER" => &live.change_iterator,
                "$KSEQ" => &live.kinesis_sequence,
                "$DSEQ" => &live.change_sequence,
                _ => return,
            };
            *s = replacement.clone();
        }
        Value::Array(items) => items.iter_mut().for_each(|v| fill(v, live)),
        Value::Object(map) => map.values_mut().for_each(|v| fill(v, live)),
        _ => {}
    }
}

/// The error types the dispatcher may answer a client error with.
const CLIENT_ERRORS: &[&str] = &[
    "ValidationException",
    "SerializationException",
    "InvalidArgumentException",
    "ResourceNotFoundException",
    "ResourceInUseException",
    "ConditionalCheckFailedException",
    "ExpiredIteratorException",
    "LimitExceededException",
    "UnknownOperationException",
    "TrimmedDataAccessException",
];

/// Runs one call, turning a panic into a test failure that shows the input.
fn checked_call(c: &Ctx, op: &str, body: &Value) -> Result<(), TestCaseError> {
    let outcome = catch_unwind(AssertUnwindSafe(|| dispatch(&c.store, op, body)));
    let result = match outcome {
        Ok(result) => result,
        Err(_) => return Err(TestCaseError::fail(format!("PANIC on {op} {body}"))),
    };
    if let Err(e) = result {
        prop_assert!(
            CLIENT_ERRORS.contains(&e.error_type.as_str()),
            "{op} {body}: unexpected error type {:?} ({})",
            e.error_type,
            e.message
        );
        prop_assert!(!e.message.trim().is_empty(), "{op} {body}: empty message");
        prop_assert_eq!(e.status, 400, "{} {}: {}", op, body, e);
    }
    Ok(())
}

/// After the storm, a normal write and read still work.
fn still_works(c: &Ctx) -> Result<(), TestCaseError> {
    let table = json!({
        "TableName": "after",
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
    });
    let created = dispatch(&c.store, &ddb("CreateTable"), &table);
    prop_assert!(created.is_ok(), "CreateTable after fuzz: {:?}", created);
    let item = json!({"id": {"S": "x"}, "v": {"N": "0.1"}});
    let put = dispatch(
        &c.store,
        &ddb("PutItem"),
        &json!({"TableName": "after", "Item": item}),
    );
    prop_assert!(put.is_ok(), "PutItem after fuzz: {:?}", put);
    let got = dispatch(
        &c.store,
        &ddb("GetItem"),
        &json!({"TableName": "after", "Key": {"id": {"S": "x"}}}),
    );
    prop_assert_eq!(got.ok().map(|v| v["Item"].clone()), Some(item));
    Ok(())
}

proptest! {
    /// Random operations with random JSON: no panic, AWS-named client errors
    /// only, and the store still works afterwards.
    #[test]
    fn dispatch_survives_random_requests(calls in prop::collection::vec(call(), 1..12)) {
        let c = Ctx::new();
        let live = seed(&c);
        for (op, mut body) in calls {
            fill(&mut body, &live);
            checked_call(&c, op, &body)?;
        }
        still_works(&c)?;
    }
}
