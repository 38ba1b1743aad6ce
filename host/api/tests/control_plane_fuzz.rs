//! A hostile or careless client against the control plane: random Lambda,
//! event source mapping, CloudWatch Logs, CloudWatch and eddy operations with
//! random JSON. Every answer is a result or a client error (status 4xx, a
//! non-empty message); nothing panics; the functions and triggers still work
//! afterwards.

use std::panic::{AssertUnwindSafe, catch_unwind};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use eddy_api::{Api, ApiError};
use eddy_store::{Store, StoreOptions};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

const OPERATIONS: &[&str] = &[
    "Lambda_20150331.CreateFunction",
    "Lambda_20150331.GetFunction",
    "Lambda_20150331.GetFunctionConfiguration",
    "Lambda_20150331.ListFunctions",
    "Lambda_20150331.UpdateFunctionCode",
    "Lambda_20150331.ListVersionsByFunction",
    "Lambda_20150331.DeleteFunction",
    "Lambda_20150331.Invoke",
    "Lambda_20150331.CreateEventSourceMapping",
    "Lambda_20150331.GetEventSourceMapping",
    "Lambda_20150331.ListEventSourceMappings",
    "Lambda_20150331.UpdateEventSourceMapping",
    "Lambda_20150331.DeleteEventSourceMapping",
    "Lambda_20150331.Nope",
    "Logs_20140328.FilterLogEvents",
    "Logs_20140328.GetLogEvents",
    "Logs_20140328.DescribeLogGroups",
    "GraniteServiceVersion20100801.GetMetricStatistics",
    "Eddy_20261124.CreateRole",
    "Eddy_20261124.GetRole",
    "Eddy_20261124.ListRoles",
    "Eddy_20261124.ListBlueprints",
    "Eddy_20261124.GetBlueprint",
];

const MEMBERS: &[&str] = &[
    "FunctionName",
    "Code",
    "ZipFile",
    "Role",
    "Timeout",
    "MemorySize",
    "Environment",
    "Variables",
    "Description",
    "Grants",
    "Fuel",
    "Payload",
    "Qualifier",
    "LogType",
    "InvocationType",
    "Marker",
    "MaxItems",
    "UUID",
    "EventSourceArn",
    "BatchSize",
    "MaximumBatchingWindowInSeconds",
    "StartingPosition",
    "StartingPositionTimestamp",
    "MaximumRetryAttempts",
    "MaximumRecordAgeInSeconds",
    "BisectBatchOnFunctionError",
    "DestinationConfig",
    "OnFailure",
    "Destination",
    "FilterCriteria",
    "Filters",
    "Pattern",
    "FunctionResponseTypes",
    "Enabled",
    "logGroupName",
    "logGroupNamePrefix",
    "logStreamName",
    "startTime",
    "endTime",
    "limit",
    "nextToken",
    "filterPattern",
    "startFromHead",
    "Namespace",
    "MetricName",
    "Dimensions",
    "Name",
    "Value",
    "StartTime",
    "EndTime",
    "Period",
    "Statistics",
    "ExtendedStatistics",
    "RoleName",
];

const STRINGS: &[&str] = &[
    "logger",
    "aggregate",
    "nope",
    "$LATEST",
    "1",
    "2",
    "0",
    "-1",
    "stream/s",
    "table/GameScoreRecords",
    "arn:aws:lambda:us-east-1:000000000000:function:logger",
    "arn:aws:kinesis:us-east-1:000000000000:stream/s",
    "TRIM_HORIZON",
    "LATEST",
    "AT_TIMESTAMP",
    "Tail",
    "None",
    "DryRun",
    "Event",
    "RequestResponse",
    "ReportBatchItemFailures",
    "/aws/lambda/logger",
    "/aws/lambda/",
    "AWS/Lambda",
    "Invocations",
    "Duration",
    "Errors",
    "Sum",
    "Average",
    "p99",
    "p100.5",
    "lambda_basic_execution",
    "kinesis-process-record",
    "read:table/GameScoresByUser",
    "write:stream/s",
    "{\"data\":{\"x\":[1]}}",
    "{\"Records\":[]}",
    "{",
    "AGFzbQ==",
    "AGFzbQ0AAQA=",
    "",
    "\u{0}",
    "é",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        prop_oneof![
            Just(json!(0)),
            Just(json!(1)),
            Just(json!(-1)),
            Just(json!(60)),
            Just(json!(128)),
            Just(json!(10_000)),
            Just(json!(10_001)),
            Just(json!(u64::MAX)),
            Just(json!(i64::MIN)),
            Just(json!(1.5)),
            Just(json!(1e308)),
        ],
        any::<i64>().prop_map(|n| json!(n)),
        proptest::sample::select(STRINGS).prop_map(|s| json!(s)),
        ".{0,10}".prop_map(Value::String),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 32, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((proptest::sample::select(MEMBERS), inner), 0..5)
                .prop_map(object),
        ]
    })
}

fn object(pairs: Vec<(&str, Value)>) -> Value {
    Value::Object(
        pairs
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect::<Map<String, Value>>(),
    )
}

fn body() -> impl Strategy<Value = Value> {
    prop_oneof![
        8 => prop::collection::vec((proptest::sample::select(MEMBERS), json_value()), 0..8)
            .prop_map(object),
        1 => json_value(),
    ]
}

/// A store with a stream `s`, the lab's score table (stream NEW_IMAGE), the
/// Kinesis logger `logger` with a trigger on `s`.
fn seed(api: &Api) {
    let call = |op: &str, body: Value| {
        api.dispatch(op, &body)
            .unwrap_or_else(|e| panic!("seeding {op}: {e}"))
    };
    call(
        "Kinesis_20131202.CreateStream",
        json!({"StreamName": "s", "ShardCount": 1}),
    );
    call(
        "DynamoDB_20120810.CreateTable",
        json!({
            "TableName": "GameScoreRecords",
            "KeySchema": [{"AttributeName": "RecordID", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "RecordID", "AttributeType": "N"}],
            "BillingMode": "PAY_PER_REQUEST",
            "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "NEW_IMAGE"}
        }),
    );
    let code = STANDARD.encode(eddy_runtime::guests::KINESIS_LOGGER);
    call(
        "Lambda_20150331.CreateFunction",
        json!({"FunctionName": "logger", "Code": {"ZipFile": code}}),
    );
    call(
        "Lambda_20150331.CreateEventSourceMapping",
        json!({"FunctionName": "logger", "EventSourceArn": "stream/s", "StartingPosition": "TRIM_HORIZON"}),
    );
}

fn checked_call(api: &Api, op: &str, body: &Value) -> Result<(), TestCaseError> {
    let outcome = catch_unwind(AssertUnwindSafe(|| api.dispatch(op, body)));
    let result: Result<Value, ApiError> = match outcome {
        Ok(result) => result,
        Err(_) => return Err(TestCaseError::fail(format!("PANIC on {op} {body}"))),
    };
    if let Err(e) = result {
        prop_assert!(!e.message.trim().is_empty(), "{op} {body}: empty message");
        prop_assert!(
            (400..500).contains(&e.status),
            "{} {}: a client's mistake answered as a server error: {}",
            op,
            body,
            e
        );
    }
    Ok(())
}

/// After the storm, a function can still be created, invoked and listed.
fn still_works(api: &Api) -> Result<(), TestCaseError> {
    let code = STANDARD.encode(eddy_runtime::guests::KINESIS_LOGGER);
    let created = api.dispatch(
        "Lambda_20150331.CreateFunction",
        &json!({"FunctionName": "after-the-storm", "Code": {"ZipFile": code}}),
    );
    prop_assert!(created.is_ok(), "CreateFunction after fuzz: {:?}", created);
    let invoked = api.dispatch(
        "Lambda_20150331.Invoke",
        &json!({"FunctionName": "after-the-storm", "Payload": "{\"Records\":[]}"}),
    );
    prop_assert!(
        invoked
            .as_ref()
            .is_ok_and(|r| r.get("FunctionError").is_none()),
        "Invoke after fuzz: {:?}",
        invoked
    );
    Ok(())
}

proptest! {
    // Each case builds a store and a WASM engine: a few dozen cases suffice
    // with several calls each.
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Random control-plane operations with random JSON: no panic, client
    /// errors only, and functions still work afterwards.
    #[test]
    fn control_plane_survives_random_requests(calls in prop::collection::vec(
        (proptest::sample::select(OPERATIONS), body()), 1..16)) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
        let api = Api::new(store);
        seed(&api);
        for (op, body) in calls {
            checked_call(&api, op, &body)?;
        }
        still_works(&api)?;
    }
}
