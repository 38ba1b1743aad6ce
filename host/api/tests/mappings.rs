//! Lambda's event source mapping operations through the dispatcher: the
//! Lambda API reference's shapes in and out, and its errors.

use std::collections::BTreeMap;

use eddy_api::{Api, ApiError};
use eddy_store::Clock;
use eddy_store::functions::{FunctionSpec, create_function, limits};
use eddy_store::mappings::{self, ShardStatus};
use serde_json::{Value, json};

mod common;

const STREAM_ARN: &str = "arn:aws:kinesis:us-east-1:000000000000:stream/events";

struct Ctx {
    _dir: tempfile::TempDir,
    api: Api,
}

/// Functions `f` and `g`, a 2-shard stream `events` and a table `scores`
/// with a NEW_IMAGE stream.
fn ctx() -> Ctx {
    let (dir, store) = common::temp_store(Clock::System);
    for name in ["f", "g"] {
        let spec = FunctionSpec {
            name: name.into(),
            description: String::new(),
            timeout_secs: limits::DEFAULT_TIMEOUT_SECS,
            memory_mib: limits::DEFAULT_MEMORY_MIB,
            fuel: 1000,
            grants: Vec::new(),
            env: BTreeMap::new(),
            role: None,
        };
        // The store keeps code as given; these tests never invoke it.
        create_function(&store, spec, b"component".to_vec()).unwrap();
    }
    let ctx = Ctx {
        _dir: dir,
        api: Api::new(store),
    };
    ctx.ok(
        "Kinesis_20131202.CreateStream",
        json!({ "StreamName": "events", "ShardCount": 2 }),
    );
    ctx.ok(
        "DynamoDB_20120810.CreateTable",
        json!({
            "TableName": "scores",
            "KeySchema": [{ "AttributeName": "pk", "KeyType": "HASH" }],
            "AttributeDefinitions": [{ "AttributeName": "pk", "AttributeType": "S" }],
            "BillingMode": "PAY_PER_REQUEST",
            "StreamSpecification": { "StreamEnabled": true, "StreamViewType": "NEW_IMAGE" }
        }),
    );
    ctx
}

impl Ctx {
    fn call(&self, op: &str, body: Value) -> Result<Value, ApiError> {
        self.api.dispatch(op, &body)
    }

    fn ok(&self, op: &str, body: Value) -> Value {
        self.call(op, body).unwrap_or_else(|e| panic!("{op}: {e}"))
    }

    fn lambda(&self, op: &str, body: Value) -> Result<Value, ApiError> {
        self.call(&format!("Lambda_20150331.{op}"), body)
    }

    fn create(&self, body: Value) -> Value {
        self.lambda("CreateEventSourceMapping", body)
            .unwrap_or_else(|e| panic!("create: {e}"))
    }

    fn refused(&self, op: &str, body: Value) -> ApiError {
        match self.lambda(op, body.clone()) {
            Ok(v) => panic!("{op} {body} succeeded: {v}"),
            Err(e) => e,
        }
    }

    fn table_stream_arn(&self) -> String {
        let table = self.ok(
            "DynamoDB_20120810.DescribeTable",
            json!({ "TableName": "scores" }),
        );
        table["Table"]["LatestStreamArn"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

fn stream_mapping(function: &str) -> Value {
    json!({ "FunctionName": function, "EventSourceArn": STREAM_ARN, "StartingPosition": "LATEST" })
}

#[test]
fn create_get_update_delete_in_lambdas_shapes() {
    let ctx = ctx();
    let created = ctx.create(json!({
        "FunctionName": "arn:aws:lambda:us-east-1:000000000000:function:f",
        "EventSourceArn": STREAM_ARN,
        "StartingPosition": "TRIM_HORIZON",
        "BatchSize": 10,
        "MaximumBatchingWindowInSeconds": 2,
        "MaximumRetryAttempts": 3,
        "MaximumRecordAgeInSeconds": 3600,
        "BisectBatchOnFunctionError": true,
        "DestinationConfig": { "OnFailure": { "Destination": "table/scores" } },
        "FilterCriteria": { "Filters": [{ "Pattern": "{\"data\":{\"kind\":[\"a\"]}}" }] },
        "FunctionResponseTypes": ["ReportBatchItemFailures"]
    }));
    let uuid = created["UUID"].as_str().unwrap().to_string();
    assert!(mappings::is_uuid(&uuid), "{uuid}");
    let expected = [
        ("StartingPosition", json!("TRIM_HORIZON")),
        ("BatchSize", json!(10)),
        ("MaximumBatchingWindowInSeconds", json!(2)),
        ("EventSourceArn", json!(STREAM_ARN)),
        (
            "FunctionArn",
            json!("arn:aws:lambda:us-east-1:000000000000:function:f"),
        ),
        ("LastProcessingResult", json!("No records processed")),
        ("State", json!("Enabled")),
        ("StateTransitionReason", json!("User action")),
        ("MaximumRetryAttempts", json!(3)),
        ("MaximumRecordAgeInSeconds", json!(3600)),
        ("BisectBatchOnFunctionError", json!(true)),
        ("FunctionResponseTypes", json!(["ReportBatchItemFailures"])),
        (
            "DestinationConfig",
            json!({ "OnFailure": { "Destination": "arn:aws:dynamodb:us-east-1:000000000000:table/scores" } }),
        ),
        (
            "FilterCriteria",
            json!({ "Filters": [{ "Pattern": "{\"data\":{\"kind\":[\"a\"]}}" }] }),
        ),
    ];
    for (member, value) in &expected {
        assert_eq!(&created[member], value, "{member} in {created}");
    }
    assert!(created["LastModified"].as_f64().unwrap() > 1.6e9);
    assert!(created.get("IteratorAgeMilliseconds").is_none());

    let got = ctx
        .lambda("GetEventSourceMapping", json!({ "UUID": uuid }))
        .unwrap();
    assert_eq!(got, created);

    let updated = ctx
        .lambda(
            "UpdateEventSourceMapping",
            json!({
                "UUID": uuid, "BatchSize": 500, "Enabled": false, "MaximumRetryAttempts": -1,
                "DestinationConfig": { "OnFailure": {} }, "FilterCriteria": { "Filters": [] },
                "FunctionResponseTypes": []
            }),
        )
        .unwrap();
    assert_eq!(updated["BatchSize"], 500);
    assert_eq!(updated["State"], "Disabled");
    assert_eq!(updated["MaximumRetryAttempts"], -1);
    assert_eq!(updated["DestinationConfig"], json!({ "OnFailure": {} }));
    assert!(updated.get("FilterCriteria").is_none());
    assert_eq!(updated["FunctionResponseTypes"], json!([]));
    assert_eq!(updated["MaximumRecordAgeInSeconds"], 3600, "untouched");

    let deleted = ctx
        .lambda("DeleteEventSourceMapping", json!({ "UUID": uuid }))
        .unwrap();
    assert_eq!(deleted["State"], "Deleting");
    let gone = ctx.refused("GetEventSourceMapping", json!({ "UUID": uuid }));
    assert_eq!(gone.error_type, "ResourceNotFoundException");
    assert_eq!(gone.status, 404);
    let again = ctx.refused("DeleteEventSourceMapping", json!({ "UUID": uuid }));
    assert_eq!(again.error_type, "ResourceNotFoundException");
}

#[test]
fn table_sources_by_stream_arn_table_arn_or_name() {
    let ctx = ctx();
    let stream_arn = ctx.table_stream_arn();
    let by_arn = ctx.create(json!({
        "FunctionName": "f", "EventSourceArn": stream_arn, "StartingPosition": "LATEST"
    }));
    assert_eq!(by_arn["EventSourceArn"], json!(stream_arn));
    let by_name = ctx.create(json!({
        "FunctionName": "g", "EventSourceArn": "table/scores", "StartingPosition": "TRIM_HORIZON"
    }));
    assert_eq!(by_name["EventSourceArn"], json!(stream_arn));
    let stale = format!(
        "{}/stream/2001-01-01T00:00:00.000",
        "arn:aws:dynamodb:us-east-1:000000000000:table/scores"
    );
    let e = ctx.refused(
        "CreateEventSourceMapping",
        json!({ "FunctionName": "f", "EventSourceArn": stale, "StartingPosition": "LATEST" }),
    );
    assert_eq!(e.error_type, "InvalidParameterValueException");
    assert_eq!(e.message, format!("Stream not found: {stale}"));
    let at = ctx.refused(
        "CreateEventSourceMapping",
        json!({
            "FunctionName": "f", "EventSourceArn": "table/scores",
            "StartingPosition": "AT_TIMESTAMP", "StartingPositionTimestamp": 1
        }),
    );
    assert_eq!(at.error_type, "InvalidParameterValueException");
}

#[test]
fn at_timestamp_echoes_its_time() {
    let ctx = ctx();
    let created = ctx.create(json!({
        "FunctionName": "f", "EventSourceArn": "stream/events",
        "StartingPosition": "AT_TIMESTAMP", "StartingPositionTimestamp": 1_700_000_000.5
    }));
    assert_eq!(created["StartingPosition"], "AT_TIMESTAMP");
    assert_eq!(created["StartingPositionTimestamp"], json!(1_700_000_000.5));
    let missing = ctx.refused(
        "CreateEventSourceMapping",
        json!({ "FunctionName": "g", "EventSourceArn": STREAM_ARN, "StartingPosition": "AT_TIMESTAMP" }),
    );
    assert_eq!(missing.error_type, "InvalidParameterValueException");
}

#[test]
fn refusals_are_named_and_worded_as_lambdas() {
    let ctx = ctx();
    let with = |changes: Value| {
        let mut body = stream_mapping("f");
        for (k, v) in changes.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    let cases = [
        (
            with(json!({ "FunctionName": "nope" })),
            "ResourceNotFoundException",
            "Function not found: arn:aws:lambda:us-east-1:000000000000:function:nope",
        ),
        (
            with(json!({ "EventSourceArn": "stream/missing" })),
            "InvalidParameterValueException",
            "Stream not found: arn:aws:kinesis:us-east-1:000000000000:stream/missing",
        ),
        (
            with(json!({ "EventSourceArn": "arn:aws:sqs:us-east-1:000000000000:q" })),
            "InvalidParameterValueException",
            "Stream not found",
        ),
        (
            with(json!({ "EventSourceArn": "nonsense" })),
            "ValidationException",
            "at 'eventSourceArn'",
        ),
        (
            with(json!({ "StartingPosition": null })),
            "InvalidParameterValueException",
            "StartingPosition is required",
        ),
        (
            with(json!({ "StartingPosition": "OLDEST" })),
            "ValidationException",
            "at 'startingPosition'",
        ),
        (
            with(json!({ "BatchSize": 0 })),
            "ValidationException",
            "1 validation error detected: Value '0' at 'batchSize' failed to satisfy constraint: Member must have value greater than or equal to 1",
        ),
        (
            with(json!({ "BatchSize": 10_001 })),
            "ValidationException",
            "less than or equal to 10000",
        ),
        (
            with(json!({ "MaximumBatchingWindowInSeconds": 301 })),
            "ValidationException",
            "maximumBatchingWindowInSeconds",
        ),
        (
            with(json!({ "MaximumRetryAttempts": -2 })),
            "ValidationException",
            "maximumRetryAttempts",
        ),
        (
            with(json!({ "MaximumRecordAgeInSeconds": 30 })),
            "InvalidParameterValueException",
            "MaximumRecordAgeInSeconds must be -1",
        ),
        (
            with(json!({ "FilterCriteria": { "Filters": [{ "Pattern": "{\"a\": 1}" }] } })),
            "InvalidParameterValueException",
            "Invalid filter pattern definition.",
        ),
        (
            with(json!({ "FilterCriteria": { "Filters": [{}] } })),
            "InvalidParameterValueException",
            "Invalid filter pattern definition.",
        ),
        (
            with(json!({ "FunctionResponseTypes": ["Everything"] })),
            "ValidationException",
            "functionResponseTypes",
        ),
        (
            with(
                json!({ "DestinationConfig": { "OnFailure": { "Destination": "arn:aws:sqs:us-east-1:000000000000:dlq" } } }),
            ),
            "InvalidParameterValueException",
            "DestinationConfig.OnFailure.Destination",
        ),
        (
            with(json!({ "DestinationConfig": { "OnFailure": { "Destination": "stream/gone" } } })),
            "InvalidParameterValueException",
            "does not exist",
        ),
        (
            with(json!({ "BatchSize": "ten" })),
            "SerializationException",
            "BatchSize",
        ),
    ];
    for (body, error_type, message) in cases {
        let e = ctx.refused("CreateEventSourceMapping", body.clone());
        assert_eq!(e.error_type, error_type, "{body}: {e}");
        assert!(e.message.contains(message), "{body}: {e}");
    }
    let listed = ctx.lambda("ListEventSourceMappings", json!({})).unwrap();
    assert_eq!(
        listed["EventSourceMappings"],
        json!([]),
        "refusals store nothing"
    );
}

#[test]
fn one_mapping_per_function_and_source() {
    let ctx = ctx();
    let first = ctx.create(stream_mapping("f"));
    let e = ctx.refused("CreateEventSourceMapping", stream_mapping("f"));
    assert_eq!(
        (e.error_type.as_str(), e.status),
        ("ResourceConflictException", 409)
    );
    assert!(e.message.contains(first["UUID"].as_str().unwrap()), "{e}");
    ctx.create(stream_mapping("g"));
    let e = ctx.refused(
        "UpdateEventSourceMapping",
        json!({ "UUID": first["UUID"], "BatchSize": 0 }),
    );
    assert_eq!(e.error_type, "ValidationException");
}

#[test]
fn list_filters_and_pages() {
    let ctx = ctx();
    let a = ctx.create(stream_mapping("f"));
    let b = ctx.create(stream_mapping("g"));
    let c = ctx.create(json!({
        "FunctionName": "f", "EventSourceArn": "table/scores", "StartingPosition": "LATEST"
    }));
    let uuids = |v: &Value| -> Vec<Value> {
        v["EventSourceMappings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["UUID"].clone())
            .collect()
    };
    let all = ctx.lambda("ListEventSourceMappings", json!({})).unwrap();
    assert_eq!(
        uuids(&all),
        [a["UUID"].clone(), b["UUID"].clone(), c["UUID"].clone()]
    );
    assert!(all.get("NextMarker").is_none());
    let of_f = ctx
        .lambda("ListEventSourceMappings", json!({ "FunctionName": "f" }))
        .unwrap();
    assert_eq!(uuids(&of_f), [a["UUID"].clone(), c["UUID"].clone()]);
    let of_stream = ctx
        .lambda(
            "ListEventSourceMappings",
            json!({ "EventSourceArn": STREAM_ARN }),
        )
        .unwrap();
    assert_eq!(uuids(&of_stream), [a["UUID"].clone(), b["UUID"].clone()]);
    let of_table = ctx
        .lambda(
            "ListEventSourceMappings",
            json!({ "EventSourceArn": ctx.table_stream_arn(), "FunctionName": "f" }),
        )
        .unwrap();
    assert_eq!(uuids(&of_table), [c["UUID"].clone()]);
    let page = ctx
        .lambda("ListEventSourceMappings", json!({ "MaxItems": 2 }))
        .unwrap();
    assert_eq!(uuids(&page).len(), 2);
    let marker = page["NextMarker"].clone();
    let rest = ctx
        .lambda(
            "ListEventSourceMappings",
            json!({ "MaxItems": 2, "Marker": marker }),
        )
        .unwrap();
    assert_eq!(uuids(&rest), [c["UUID"].clone()]);
    assert!(rest.get("NextMarker").is_none());
    let bad = ctx.refused("ListEventSourceMappings", json!({ "Marker": "nope" }));
    assert_eq!(bad.error_type, "InvalidParameterValueException");
    let bad = ctx.refused("ListEventSourceMappings", json!({ "MaxItems": 0 }));
    assert_eq!(bad.error_type, "ValidationException");
}

#[test]
fn the_pollers_status_shows_as_last_processing_result_and_iterator_age() {
    let ctx = ctx();
    let created = ctx.create(stream_mapping("f"));
    let uuid = created["UUID"].as_str().unwrap().to_string();
    let store = ctx.api.store();
    let m = mappings::get(store, &uuid).unwrap();
    let source = mappings::resolve_source(store, &m.source).unwrap();
    let (log, id) = (source.log, uuid.clone());
    store
        .write(move |wctx| {
            let mut old = ShardStatus::new(log, 0);
            old.last_result = "OK".into();
            old.last_invoke_ms = Some(1);
            old.iterator_age_ms = 40;
            mappings::status::save_status_in(wctx, &id, &old)?;
            let mut newer = ShardStatus::new(log, 1);
            newer.last_result = "PROBLEM: Function call failed".into();
            newer.last_invoke_ms = Some(2);
            newer.iterator_age_ms = 7;
            mappings::status::save_status_in(wctx, &id, &newer)
        })
        .unwrap();
    let got = ctx
        .lambda("GetEventSourceMapping", json!({ "UUID": uuid }))
        .unwrap();
    assert_eq!(got["LastProcessingResult"], "PROBLEM: Function call failed");
    assert_eq!(got["IteratorAgeMilliseconds"], 40);
}
