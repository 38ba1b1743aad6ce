//! The DynamoDB and DynamoDB Streams APIs through the dispatcher, with JSON in
//! and out, including the lab's flows.

use eddy_store::{Store, StoreOptions};
use serde_json::{Value, json};

use crate::{ApiError, dispatch};

fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let options = StoreOptions {
        durability: eddy_store::Durability::Relaxed,
        ..StoreOptions::default()
    };
    let store = Store::open(dir.path(), options).unwrap();
    (dir, store)
}

fn ddb(store: &Store, op: &str, body: Value) -> Result<Value, ApiError> {
    dispatch(store, &format!("DynamoDB_20120810.{op}"), &body)
}

fn streams(store: &Store, op: &str, body: Value) -> Result<Value, ApiError> {
    dispatch(store, &format!("DynamoDBStreams_20120810.{op}"), &body)
}

#[test]
fn the_labs_tables_and_their_stream() {
    let (_dir, store) = open();
    let created = ddb(
        &store,
        "CreateTable",
        json!({
            "TableName": "GameScoreRecords",
            "KeySchema": [{"AttributeName": "RecordID", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "RecordID", "AttributeType": "N"}],
            "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
            "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "NEW_IMAGE"},
        }),
    )
    .unwrap();
    let table = &created["TableDescription"];
    assert_eq!(table["TableStatus"], "ACTIVE");
    assert_eq!(table["StreamSpecification"]["StreamViewType"], "NEW_IMAGE");
    let stream_arn = table["LatestStreamArn"].as_str().unwrap().to_string();
    ddb(
        &store,
        "CreateTable",
        json!({
            "TableName": "GameScoresByUser",
            "KeySchema": [{"AttributeName": "Username", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "Username", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
        }),
    )
    .unwrap();
    ddb(
        &store,
        "PutItem",
        json!({
            "TableName": "GameScoreRecords",
            "Item": {"RecordID": {"N": "1"}, "Username": {"S": "Alice"}, "Score": {"N": "100"}},
        }),
    )
    .unwrap();
    for _ in 0..2 {
        ddb(
            &store,
            "UpdateItem",
            json!({
                "TableName": "GameScoresByUser",
                "Key": {"Username": {"S": "Alice"}},
                "UpdateExpression": "ADD Score :attrValue",
                "ExpressionAttributeValues": {":attrValue": {"N": "100"}},
            }),
        )
        .unwrap();
    }
    let got = ddb(
        &store,
        "GetItem",
        json!({
            "TableName": "GameScoresByUser", "Key": {"Username": {"S": "Alice"}},
        }),
    )
    .unwrap();
    assert_eq!(
        got,
        json!({"Item": {"Username": {"S": "Alice"}, "Score": {"N": "200"}}})
    );
    let described = ddb(
        &store,
        "DescribeTable",
        json!({"TableName": "GameScoresByUser"}),
    )
    .unwrap();
    assert_eq!(described["Table"]["ItemCount"], 1);
    // The record the PutItem wrote, read through DynamoDB Streams.
    let listed = streams(
        &store,
        "ListStreams",
        json!({"TableName": "GameScoreRecords"}),
    )
    .unwrap();
    assert_eq!(listed["Streams"][0]["StreamArn"], stream_arn.as_str());
    let description = streams(&store, "DescribeStream", json!({"StreamArn": stream_arn})).unwrap();
    let shard = description["StreamDescription"]["Shards"][0]["ShardId"].clone();
    assert_eq!(description["StreamDescription"]["StreamStatus"], "ENABLED");
    let iterator = streams(
        &store,
        "GetShardIterator",
        json!({
            "StreamArn": stream_arn, "ShardId": shard, "ShardIteratorType": "TRIM_HORIZON",
        }),
    )
    .unwrap();
    let records = streams(
        &store,
        "GetRecords",
        json!({"ShardIterator": iterator["ShardIterator"]}),
    )
    .unwrap();
    let record = &records["Records"][0];
    assert_eq!(record["eventName"], "INSERT");
    assert_eq!(record["dynamodb"]["NewImage"]["Score"], json!({"N": "100"}));
    assert_eq!(record["dynamodb"]["Keys"], json!({"RecordID": {"N": "1"}}));
    assert!(records["NextShardIterator"].is_string());
    let bad = streams(&store, "GetRecords", json!({"ShardIterator": "nonsense"})).unwrap_err();
    assert_eq!(bad.error_type, "ValidationException");
}

#[test]
fn errors_carry_aws_names() {
    let (_dir, store) = open();
    let missing = ddb(&store, "DescribeTable", json!({"TableName": "nothing"})).unwrap_err();
    assert_eq!(missing.error_type, "ResourceNotFoundException");
    let bad_schema = ddb(
        &store,
        "CreateTable",
        json!({
            "TableName": "abc",
            "KeySchema": [{"AttributeName": "a", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "b", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
        }),
    )
    .unwrap_err();
    assert!(
        bad_schema
            .message
            .contains("Some index key attributes are not defined")
    );
    ddb(
        &store,
        "CreateTable",
        json!({
            "TableName": "abc",
            "KeySchema": [{"AttributeName": "a", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "a", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
        }),
    )
    .unwrap();
    ddb(
        &store,
        "PutItem",
        json!({"TableName": "abc", "Item": {"a": {"S": "x"}, "n": {"N": "1"}}}),
    )
    .unwrap();
    let failed = ddb(
        &store,
        "PutItem",
        json!({
            "TableName": "abc",
            "Item": {"a": {"S": "x"}},
            "ConditionExpression": "attribute_not_exists(a)",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }),
    )
    .unwrap_err();
    assert_eq!(failed.error_type, "ConditionalCheckFailedException");
    assert_eq!(
        failed.to_json()["Item"],
        json!({"a": {"S": "x"}, "n": {"N": "1"}})
    );
    let legacy = ddb(
        &store,
        "PutItem",
        json!({"TableName": "abc", "Item": {"a": {"S": "y"}}, "Expected": {}}),
    )
    .unwrap_err();
    assert!(legacy.message.contains("ConditionExpression"));
    // Several legacy members: the first of eddy's list is named, whatever
    // the request's order; a null one is not a legacy parameter at all.
    let several = ddb(
        &store,
        "GetItem",
        json!({"TableName": "abc", "Key": {"a": {"S": "x"}}, "AttributesToGet": ["a"], "Expected": {}}),
    )
    .unwrap_err();
    assert!(
        several.message.contains("parameter Expected;"),
        "{}",
        several.message
    );
    ddb(
        &store,
        "GetItem",
        json!({"TableName": "abc", "Key": {"a": {"S": "x"}}, "AttributesToGet": null}),
    )
    .unwrap();
    let page = ddb(
        &store,
        "Query",
        json!({
            "TableName": "abc",
            "KeyConditionExpression": "a = :a",
            "ExpressionAttributeValues": {":a": {"S": "x"}},
        }),
    )
    .unwrap();
    assert_eq!(
        (page["Count"].clone(), page["Items"][0]["n"].clone()),
        (json!(1), json!({"N": "1"}))
    );
    let scan = ddb(
        &store,
        "Scan",
        json!({"TableName": "abc", "Select": "COUNT"}),
    )
    .unwrap();
    assert_eq!(scan["Count"], 1);
    let batch = ddb(
        &store,
        "BatchWriteItem",
        json!({"RequestItems": {"abc": [
            {"PutRequest": {"Item": {"a": {"S": "b1"}}}},
            {"DeleteRequest": {"Key": {"a": {"S": "x"}}}},
        ]}}),
    )
    .unwrap();
    assert_eq!(batch, json!({"UnprocessedItems": {}}));
    let got = ddb(
        &store,
        "BatchGetItem",
        json!({"RequestItems": {"abc": {"Keys": [{"a": {"S": "b1"}}, {"a": {"S": "x"}}]}}}),
    )
    .unwrap();
    assert_eq!(got["Responses"]["abc"], json!([{"a": {"S": "b1"}}]));
    let listed = ddb(&store, "ListTables", json!({})).unwrap();
    assert_eq!(listed, json!({"TableNames": ["abc"]}));
    let deleted = ddb(&store, "DeleteTable", json!({"TableName": "abc"})).unwrap();
    assert_eq!(deleted["TableDescription"]["TableStatus"], "DELETING");
}
