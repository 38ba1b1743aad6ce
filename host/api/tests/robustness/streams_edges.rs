//! DynamoDB Streams edge cases: limits, bad iterators and sequence numbers,
//! and change records only for writes that happened.

use serde_json::{Value, json};

use super::{Ctx, ddb, dds};

fn create(c: &Ctx, name: &str) -> String {
    c.ok(
        &ddb("CreateTable"),
        json!({
            "TableName": name,
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
            "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        }),
    );
    c.ok(&ddb("DescribeTable"), json!({"TableName": name}))["Table"]["LatestStreamArn"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn shard(c: &Ctx, arn: &str) -> String {
    c.ok(&dds("DescribeStream"), json!({"StreamArn": arn}))["StreamDescription"]["Shards"][0]
        ["ShardId"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn iterator(c: &Ctx, arn: &str, start: Value) -> Result<String, eddy_api::ApiError> {
    let mut body = json!({"StreamArn": arn, "ShardId": shard(c, arn)});
    if let (Some(body), Some(start)) = (body.as_object_mut(), start.as_object()) {
        body.extend(start.clone());
    }
    c.call(&dds("GetShardIterator"), body)
        .map(|v| v["ShardIterator"].as_str().unwrap_or_default().to_string())
}

fn records(c: &Ctx, arn: &str) -> Vec<Value> {
    let it = iterator(c, arn, json!({"ShardIteratorType": "TRIM_HORIZON"})).unwrap_or_default();
    c.ok(&dds("GetRecords"), json!({"ShardIterator": it}))["Records"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn put(c: &Ctx, table: &str, pk: &str, v: &str) {
    c.ok(
        &ddb("PutItem"),
        json!({"TableName": table, "Item": {"pk": {"S": pk}, "v": {"S": v}}}),
    );
}

#[test]
fn limits_are_checked() {
    let c = Ctx::new();
    let arn = create(&c, "limits");
    let it = iterator(&c, &arn, json!({"ShardIteratorType": "TRIM_HORIZON"})).unwrap_or_default();
    c.refused(
        &dds("GetRecords"),
        json!({"ShardIterator": it, "Limit": 0}),
        "ValidationException",
        "greater than or equal to 1",
    );
    c.refused(
        &dds("GetRecords"),
        json!({"ShardIterator": it, "Limit": 1001}),
        "ValidationException",
        "less than or equal to 1000",
    );
    c.refused(
        &dds("ListStreams"),
        json!({"Limit": 0}),
        "ValidationException",
        "greater than or equal to 1",
    );
    c.refused(
        &dds("ListStreams"),
        json!({"Limit": 101}),
        "ValidationException",
        "less than or equal to 100",
    );
    let e = c.err(
        &dds("GetRecords"),
        json!({"ShardIterator": it, "Limit": -1}),
    );
    assert_eq!(e.status, 400, "{e}");
}

#[test]
fn garbage_iterators_are_client_errors() {
    let c = Ctx::new();
    let arn = create(&c, "garbage");
    put(&c, "garbage", "a", "1");
    let good = iterator(&c, &arn, json!({"ShardIteratorType": "TRIM_HORIZON"})).unwrap_or_default();
    let truncated: String = good.chars().take(good.len() / 2).collect();
    for bad in [
        "AAAA".to_string(),
        "not base64!".to_string(),
        truncated,
        format!("{good}AAAA"),
        "A".repeat(2049),
    ] {
        let e = c.err(&dds("GetRecords"), json!({"ShardIterator": bad}));
        assert!(
            ["ValidationException", "ResourceNotFoundException"].contains(&e.error_type.as_str()),
            "{bad}: {e}"
        );
    }
}

#[test]
fn unknown_streams_and_shards_are_resource_not_found() {
    let c = Ctx::new();
    let arn = create(&c, "known");
    let e = c.err(
        &dds("GetShardIterator"),
        json!({"StreamArn": arn, "ShardId": "shardId-00000000000000000000-00000000",
               "ShardIteratorType": "TRIM_HORIZON"}),
    );
    assert_eq!(e.error_type, "ResourceNotFoundException", "{e}");
    let missing = arn.replace("table/known/", "table/unknown/");
    let e = c.err(&dds("DescribeStream"), json!({"StreamArn": missing}));
    assert_eq!(e.error_type, "ResourceNotFoundException", "{e}");
    let e = c.err(&dds("DescribeStream"), json!({"StreamArn": "not an arn"}));
    assert!(
        ["ResourceNotFoundException", "ValidationException"].contains(&e.error_type.as_str()),
        "{e}"
    );
}

#[test]
fn a_sequence_number_from_another_tables_stream_never_reads_that_stream() {
    let c = Ctx::new();
    let mine = create(&c, "mine");
    let theirs = create(&c, "theirs");
    put(&c, "mine", "m", "1");
    for i in 0..5 {
        put(&c, "theirs", &format!("t{i}"), "1");
    }
    let their_seqs: Vec<String> = records(&c, &theirs)
        .iter()
        .filter_map(|r| r["dynamodb"]["SequenceNumber"].as_str().map(str::to_string))
        .collect();
    assert_eq!(their_seqs.len(), 5);
    for seq in their_seqs {
        for kind in ["AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"] {
            let Ok(it) = iterator(
                &c,
                &mine,
                json!({"ShardIteratorType": kind, "SequenceNumber": seq}),
            ) else {
                continue; // refused: fine
            };
            let page = c.ok(&dds("GetRecords"), json!({"ShardIterator": it}));
            for r in page["Records"].as_array().cloned().unwrap_or_default() {
                // (GetRecords' Record shape has no eventSourceARN: tell by key.)
                assert_eq!(
                    r["dynamodb"]["Keys"]["pk"],
                    json!({"S": "m"}),
                    "read another stream's record: {r}"
                );
            }
        }
    }
}

#[test]
fn malformed_sequence_numbers_are_refused() {
    let c = Ctx::new();
    let arn = create(&c, "malformed");
    for seq in ["", "abc", "-1", "1.5", &"9".repeat(100)] {
        let e = iterator(
            &c,
            &arn,
            json!({"ShardIteratorType": "AT_SEQUENCE_NUMBER", "SequenceNumber": seq}),
        );
        let e = e.expect_err(seq);
        assert!(
            [
                "ValidationException",
                "ResourceNotFoundException",
                "TrimmedDataAccessException"
            ]
            .contains(&e.error_type.as_str()),
            "{seq}: {e}"
        );
    }
}

#[test]
fn refused_and_no_op_writes_leave_no_change_record() {
    let c = Ctx::new();
    let arn = create(&c, "quiet");
    put(&c, "quiet", "a", "1");
    assert_eq!(records(&c, &arn).len(), 1);
    // Identical put: DynamoDB writes no stream record for a write that changes nothing.
    put(&c, "quiet", "a", "1");
    // Failed condition, failed validation, delete of a missing item, no-op update.
    c.err(
        &ddb("PutItem"),
        json!({"TableName": "quiet", "Item": {"pk": {"S": "a"}, "v": {"S": "2"}},
               "ConditionExpression": "attribute_not_exists(pk)"}),
    );
    c.err(
        &ddb("UpdateItem"),
        json!({"TableName": "quiet", "Key": {"pk": {"S": "a"}}, "UpdateExpression": "ADD v :n",
               "ExpressionAttributeValues": {":n": {"N": "1"}}}),
    );
    c.ok(
        &ddb("DeleteItem"),
        json!({"TableName": "quiet", "Key": {"pk": {"S": "nope"}}}),
    );
    c.ok(
        &ddb("UpdateItem"),
        json!({"TableName": "quiet", "Key": {"pk": {"S": "a"}}, "UpdateExpression": "SET v = :v",
               "ExpressionAttributeValues": {":v": {"S": "1"}}}),
    );
    let all = records(&c, &arn);
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0]["eventName"], json!("INSERT"));
}

#[test]
fn iterator_of_a_deleted_table_is_not_served_for_a_recreated_one() {
    let c = Ctx::new();
    let old = create(&c, "phoenix");
    put(&c, "phoenix", "old", "1");
    let it = iterator(&c, &old, json!({"ShardIteratorType": "TRIM_HORIZON"})).unwrap_or_default();
    c.ok(&ddb("DeleteTable"), json!({"TableName": "phoenix"}));
    create(&c, "phoenix");
    put(&c, "phoenix", "new", "1");
    if let Ok(page) = c.call(&dds("GetRecords"), json!({"ShardIterator": it})) {
        for r in page["Records"].as_array().cloned().unwrap_or_default() {
            let key = &r["dynamodb"]["Keys"]["pk"];
            assert_ne!(
                key,
                &json!({"S": "new"}),
                "old iterator read the new table: {r}"
            );
        }
    }
}
