//! Part 2 of the lab: GameScoreRecords (with a NEW_IMAGE change stream) and
//! GameScoresByUser, AggregateScoresByUser with a GameScoreRecords trigger,
//! the lab's `score` test event, then score items aggregated by the trigger.

use std::collections::BTreeMap;

use anyhow::Result;
use serde_json::{Value, json};

use super::checklist::Objective;
use super::{Lab, ensure_function, ensure_trigger, step, task, wait_for};

const RECORDS: &str = "GameScoreRecords";
const BY_USER: &str = "GameScoresByUser";
const FUNCTION: &str = "AggregateScoresByUser";
/// The lab's `score` test event, verbatim.
const SCORE_EVENT: &str = include_str!("../../../../../examples/events/score.json");
/// The players the inserted score items belong to.
const PLAYERS: [&str; 3] = ["Alice", "Bob", "Carol"];

pub(super) fn run(lab: &Lab<'_>, scores: u32) -> Result<()> {
    task("Task 4: Create Tables in DynamoDB");
    let stream_arn = create_tables(lab)?;
    task(
        "Task 5: Create a Lambda Function (AggregateScoresByUser) with a GameScoreRecords trigger",
    );
    let grants = [
        "read:table/GameScoresByUser",
        "write:table/GameScoresByUser",
    ];
    ensure_function(
        lab,
        FUNCTION,
        eddy_runtime::guests::SCORE_AGGREGATOR,
        "lambda_basic_execution",
        &grants,
    )?;
    ensure_trigger(lab, FUNCTION, &stream_arn)?;
    test_score_event(lab)?;
    insert_scores(lab, scores)
}

/// Both tables (created unless they exist), the change stream on the first.
/// Returns GameScoreRecords' stream ARN.
fn create_tables(lab: &Lab<'_>) -> Result<String> {
    let records = json!({
        "TableName": RECORDS,
        "KeySchema": [{"AttributeName": "RecordID", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "RecordID", "AttributeType": "N"}],
        "BillingMode": "PAY_PER_REQUEST",
        "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "NEW_IMAGE"}
    });
    let by_user = json!({
        "TableName": BY_USER,
        "KeySchema": [{"AttributeName": "Username", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "Username", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST"
    });
    for (name, request) in [(RECORDS, records), (BY_USER, by_user)] {
        match lab.call_unless(
            "DynamoDB_20120810.CreateTable",
            request,
            "ResourceInUseException",
        )? {
            Some(_) => step(&format!("created table {name}")),
            None => step(&format!("table {name} exists")),
        }
    }
    let mut table = describe(lab, RECORDS)?;
    if table["StreamSpecification"]["StreamEnabled"] != true {
        lab.call(
            "DynamoDB_20120810.UpdateTable",
            json!({"TableName": RECORDS,
                   "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "NEW_IMAGE"}}),
        )?;
        step("enabled the GameScoreRecords stream (NEW_IMAGE)");
        table = describe(lab, RECORDS)?;
    }
    let view = table["StreamSpecification"]["StreamViewType"]
        .as_str()
        .unwrap_or("-");
    let arn = table["LatestStreamArn"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let enabled = table["StreamSpecification"]["StreamEnabled"] == true && !arn.is_empty();
    lab.check(
        Objective::StreamsEnabled,
        enabled && view == "NEW_IMAGE",
        &format!("GameScoreRecords streams changes ({view}) to {arn}"),
    );
    let by_user_ok = describe(lab, BY_USER)?["KeySchema"][0]["AttributeName"] == "Username";
    lab.check(
        Objective::TableWithItems,
        by_user_ok,
        "GameScoresByUser is keyed by Username",
    );
    Ok(arn)
}

fn describe(lab: &Lab<'_>, table: &str) -> Result<Value> {
    let response = lab.call(
        "DynamoDB_20120810.DescribeTable",
        json!({"TableName": table}),
    )?;
    Ok(response["Table"].clone())
}

/// The lab's `score` test event: "Successfully processed 1 records." and
/// Jane Doe's total up by 100.
fn test_score_event(lab: &Lab<'_>) -> Result<()> {
    let before = score_of(lab, "Jane Doe")?;
    let response = lab.call(
        "Lambda_20150331.Invoke",
        json!({"FunctionName": FUNCTION, "Payload": SCORE_EVENT, "LogType": "Tail"}),
    )?;
    let payload = payload_text(&response["Payload"]);
    let succeeded = response.get("FunctionError").is_none();
    step(&format!(
        "Test score: Execution result: {} — {payload}",
        if succeeded { "succeeded" } else { "failed" }
    ));
    let after = score_of(lab, "Jane Doe")?;
    step(&format!(
        "GameScoresByUser: Jane Doe = {after} (was {before})"
    ));
    lab.check(
        Objective::TableTriggersFunction,
        succeeded && payload.contains("Successfully processed 1 records.") && after == before + 100,
        "the score event added 100 to Jane Doe",
    );
    Ok(())
}

/// Inserts score items and waits for the trigger to add them up by user.
fn insert_scores(lab: &Lab<'_>, count: u32) -> Result<()> {
    let mut expected: BTreeMap<&str, i64> = BTreeMap::new();
    for player in PLAYERS {
        expected.insert(player, score_of(lab, player)?);
    }
    let first_id = next_record_id(lab)?;
    let mut inserted = true;
    for i in 0..u64::from(count) {
        let player = PLAYERS[(i % 3) as usize];
        let score = 10 + (i * 37) % 90;
        let item = json!({
            "RecordID": {"N": (first_id + i).to_string()},
            "Username": {"S": player},
            "Score": {"N": score.to_string()}
        });
        inserted &= lab
            .call(
                "DynamoDB_20120810.PutItem",
                json!({"TableName": RECORDS, "Item": item}),
            )
            .is_ok();
        *expected.entry(player).or_default() += score as i64;
        step(&format!(
            "put RecordID {} ({player}, {score})",
            first_id + i
        ));
    }
    lab.check(
        Objective::TableWithItems,
        inserted,
        "score items inserted into GameScoreRecords",
    );
    let matched = wait_for(|| {
        for (player, total) in &expected {
            if score_of(lab, player)? != *total {
                return Ok(None);
            }
        }
        Ok(Some(()))
    })?;
    for (player, total) in &expected {
        step(&format!(
            "GameScoresByUser: {player} = {} (expected {total})",
            score_of(lab, player)?
        ));
    }
    lab.check(
        Objective::TableTriggersFunction,
        matched.is_some(),
        "the GameScoreRecords trigger updated GameScoresByUser",
    );
    Ok(())
}

/// A user's Score in GameScoresByUser (0 when absent).
fn score_of(lab: &Lab<'_>, user: &str) -> Result<i64> {
    let response = lab.call(
        "DynamoDB_20120810.GetItem",
        json!({"TableName": BY_USER, "Key": {"Username": {"S": user}}, "ConsistentRead": true}),
    )?;
    Ok(response["Item"]["Score"]["N"]
        .as_str()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0))
}

/// One past the largest RecordID in GameScoreRecords, so a re-run inserts
/// new items (re-putting an identical item changes nothing and fires nothing).
fn next_record_id(lab: &Lab<'_>) -> Result<u64> {
    let mut max = 0u64;
    let mut start: Option<Value> = None;
    loop {
        let mut request = json!({"TableName": RECORDS, "ProjectionExpression": "RecordID"});
        if let Some(key) = start.take() {
            request["ExclusiveStartKey"] = key;
        }
        let page = lab.call("DynamoDB_20120810.Scan", request)?;
        for item in page["Items"].as_array().into_iter().flatten() {
            let id = item["RecordID"]["N"]
                .as_str()
                .and_then(|n| n.parse::<u64>().ok());
            max = max.max(id.unwrap_or(0));
        }
        match page.get("LastEvaluatedKey") {
            Some(key) => start = Some(key.clone()),
            None => return Ok(max + 1),
        }
    }
}

/// An Invoke response's Payload as text (a JSON string or a JSON value).
fn payload_text(payload: &Value) -> String {
    match payload {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
