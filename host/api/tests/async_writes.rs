//! `dispatch_async` (the data-plane writes as futures, how `eddy serve` runs
//! them) must answer exactly as `dispatch` does: the same results, the same
//! errors, the same state left behind.

mod common;

use eddy_api::ApiError;
use eddy_store::{Clock, Store};
use serde_json::{Value, json};

const T0: u64 = 1_700_000_000_000;

/// What a user sees of an answer: the response, or the error's type and message.
fn seen(outcome: Result<Value, ApiError>) -> Value {
    match outcome {
        Ok(value) => value,
        Err(e) => json!({"error": e.error_type, "message": e.message}),
    }
}

/// Runs `operation` through `dispatch_async` when it is one of its writes
/// (awaited on a one-thread runtime), else through `dispatch`, and says which.
fn run_async(
    runtime: &tokio::runtime::Runtime,
    store: &Store,
    op: &str,
    request: &Value,
) -> (bool, Value) {
    match eddy_api::dispatch_async(store, op, request.clone()) {
        Ok(dispatching) => (true, seen(runtime.block_on(dispatching))),
        Err(returned) => {
            assert_eq!(
                &returned, request,
                "{op}: the request must come back unchanged"
            );
            (false, seen(eddy_api::dispatch(store, op, request)))
        }
    }
}

#[test]
fn async_writes_answer_exactly_as_dispatch_does() {
    let (_a, sync_store) = common::temp_store(Clock::manual(T0));
    let (_b, async_store) = common::temp_store(Clock::manual(T0));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let script = [
        (
            "DynamoDB_20120810.CreateTable",
            json!({
                "TableName": "Scores",
                "KeySchema": [{"AttributeName": "Id", "KeyType": "HASH"}],
                "AttributeDefinitions": [{"AttributeName": "Id", "AttributeType": "N"}],
                "BillingMode": "PAY_PER_REQUEST",
                "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "NEW_AND_OLD_IMAGES"},
            }),
        ),
        (
            "DynamoDB_20120810.PutItem",
            json!({"TableName": "Scores", "Item": {"Id": {"N": "1"}, "Score": {"N": "10"}}}),
        ),
        (
            "DynamoDB_20120810.PutItem",
            json!({
                "TableName": "Scores", "Item": {"Id": {"N": "1"}, "Score": {"N": "11"}},
                "ConditionExpression": "attribute_not_exists(Id)",
            }),
        ),
        (
            "DynamoDB_20120810.PutItem",
            json!({
                "TableName": "Scores", "Item": {"Id": {"N": "1"}, "Score": {"N": "12"}},
                "ReturnValues": "ALL_OLD",
            }),
        ),
        (
            "DynamoDB_20120810.PutItem",
            json!({"TableName": "Nope", "Item": {"Id": {"N": "1"}}}),
        ),
        (
            "DynamoDB_20120810.PutItem",
            json!({"TableName": "Scores", "Item": {"Id": {"S": "wrong type"}}}),
        ),
        (
            "DynamoDB_20120810.PutItem",
            json!({"TableName": "Scores", "Item": {"Id": {"N": "2"}}, "ExpressionAttributeValues": {":unused": {"N": "1"}}}),
        ),
        (
            "DynamoDB_20120810.UpdateItem",
            json!({
                "TableName": "Scores", "Key": {"Id": {"N": "1"}},
                "UpdateExpression": "ADD Score :d", "ExpressionAttributeValues": {":d": {"N": "0.5"}},
                "ReturnValues": "UPDATED_NEW",
            }),
        ),
        (
            "DynamoDB_20120810.UpdateItem",
            json!({
                "TableName": "Scores", "Key": {"Id": {"N": "1"}}, "UpdateExpression": "SET = oops",
            }),
        ),
        (
            "DynamoDB_20120810.DeleteItem",
            json!({
                "TableName": "Scores", "Key": {"Id": {"N": "1"}}, "ReturnValues": "ALL_OLD",
            }),
        ),
        (
            "DynamoDB_20120810.BatchWriteItem",
            json!({"RequestItems": {"Scores": [
                {"PutRequest": {"Item": {"Id": {"N": "3"}}}},
                {"PutRequest": {"Item": {"Id": {"N": "4"}}}},
                {"DeleteRequest": {"Key": {"Id": {"N": "3"}}}},
            ]}}),
        ),
        (
            "DynamoDB_20120810.BatchWriteItem",
            json!({"RequestItems": {"Scores": [
                {"PutRequest": {"Item": {"Id": {"N": "5"}}}},
                {"PutRequest": {"Item": {"Id": {"N": "6"}}}},
            ]}}),
        ),
        (
            "DynamoDB_20120810.GetItem",
            json!({"TableName": "Scores", "Key": {"Id": {"N": "4"}}}),
        ),
        (
            "Kinesis_20131202.CreateStream",
            json!({"StreamName": "Events", "ShardCount": 2}),
        ),
        (
            "Kinesis_20131202.PutRecord",
            json!({"StreamName": "Events", "PartitionKey": "a", "Data": "aGVsbG8="}),
        ),
        (
            "Kinesis_20131202.PutRecord",
            json!({"StreamName": "Missing", "PartitionKey": "a", "Data": "aGVsbG8="}),
        ),
        (
            "Kinesis_20131202.PutRecord",
            json!({"StreamName": "Events", "Data": "aGVsbG8="}),
        ),
        (
            "Kinesis_20131202.PutRecords",
            json!({"StreamName": "Events", "Records": [
                {"PartitionKey": "a", "Data": "AQ=="}, {"PartitionKey": "b", "Data": "Ag=="},
            ]}),
        ),
        (
            "Kinesis_20131202.PutRecords",
            json!({"StreamName": "Events", "Records": []}),
        ),
        ("DynamoDB_20120810.Scan", json!({"TableName": "Scores"})),
    ];
    let mut ran_async = Vec::new();
    for (op, request) in &script {
        let expected = seen(eddy_api::dispatch(&sync_store, op, request));
        let (was_async, got) = run_async(&runtime, &async_store, op, request);
        assert_eq!(got, expected, "{op} {request}");
        if was_async {
            ran_async.push(op.rsplit('.').next().unwrap());
        }
    }
    ran_async.sort();
    ran_async.dedup();
    assert_eq!(
        ran_async,
        [
            "BatchWriteItem",
            "DeleteItem",
            "PutItem",
            "PutRecord",
            "PutRecords",
            "UpdateItem"
        ]
    );
    // The change streams saw the same changes.
    let changes = |store: &Store| {
        let stream = eddy_api::dispatch(
            store,
            "DynamoDB_20120810.DescribeTable",
            &json!({"TableName": "Scores"}),
        )
        .unwrap()["Table"]["LatestStreamArn"]
            .clone();
        let shards = eddy_api::dispatch(
            store,
            "DynamoDBStreams_20120810.DescribeStream",
            &json!({"StreamArn": stream}),
        )
        .unwrap();
        let shard = shards["StreamDescription"]["Shards"][0]["ShardId"].clone();
        let iterator = eddy_api::dispatch(
            store,
            "DynamoDBStreams_20120810.GetShardIterator",
            &json!({"StreamArn": stream, "ShardId": shard, "ShardIteratorType": "TRIM_HORIZON"}),
        )
        .unwrap()["ShardIterator"]
            .clone();
        let records = eddy_api::dispatch(
            store,
            "DynamoDBStreams_20120810.GetRecords",
            &json!({"ShardIterator": iterator}),
        )
        .unwrap()["Records"]
            .clone();
        records
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["eventName"].clone(),
                    r["dynamodb"]["NewImage"].clone(),
                    r["dynamodb"]["OldImage"].clone(),
                )
            })
            .collect::<Vec<_>>()
    };
    let expected = changes(&sync_store);
    // Id 1: INSERT, MODIFY, MODIFY, REMOVE; the first batch is refused
    // (one key twice); the second inserts Ids 5 and 6.
    assert_eq!(expected.len(), 6, "{expected:?}");
    assert_eq!(changes(&async_store), expected);
}

/// 64 writes in flight on one thread, as 64 connections of `eddy serve`:
/// every one is acknowledged with its own answer and is there afterwards.
#[test]
fn many_async_writes_on_one_thread_all_land() {
    let (_dir, store) = common::temp_store(Clock::manual(T0));
    eddy_api::dispatch(
        &store,
        "DynamoDB_20120810.CreateTable",
        &json!({
            "TableName": "Many",
            "KeySchema": [{"AttributeName": "Id", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "Id", "AttributeType": "N"}],
            "BillingMode": "PAY_PER_REQUEST",
        }),
    )
    .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        let tasks: Vec<_> = (0..64u64)
            .map(|writer| {
                let store = store.clone();
                tokio::spawn(async move {
                    for n in 0..20u64 {
                        let id = writer * 100 + n;
                        let request = json!({"TableName": "Many", "Item": {"Id": {"N": id.to_string()}}, "ConditionExpression": "attribute_not_exists(Id)"});
                        let put = eddy_api::dispatch_async(&store, "DynamoDB_20120810.PutItem", request).unwrap();
                        assert_eq!(put.await.unwrap(), json!({}));
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    });
    let scan = eddy_api::dispatch(
        &store,
        "DynamoDB_20120810.Scan",
        &json!({"TableName": "Many", "Select": "COUNT"}),
    )
    .unwrap();
    assert_eq!(scan["Count"], 64 * 20);
}
