//! The DynamoDB Streams JSON API (`DynamoDBStreams_20120810.*`): ListStreams,
//! DescribeStream, GetShardIterator, GetRecords over tables' change streams
//! (`eddy_store::tables::change_streams`).

use eddy_store::Store;
use eddy_store::tables::change_streams::{self, IteratorStart, StreamDescription};
use serde_json::{Map, Value, json};

use crate::ApiError;
use crate::dynamodb::tables::key_schema_json;
use crate::request::Request;
use crate::response::object;

/// Runs one DynamoDB Streams operation.
pub fn dispatch(store: &Store, operation: &str, request: &Value) -> Result<Value, ApiError> {
    let req = Request::new(request, "ValidationException");
    match operation {
        "ListStreams" => list_streams(store, &req),
        "DescribeStream" => describe_stream(store, &req),
        "GetShardIterator" => get_shard_iterator(store, &req),
        "GetRecords" => get_records(store, &req),
        _ => Err(ApiError::unknown_operation(&format!(
            "{}.{operation}",
            crate::DYNAMODB_STREAMS
        ))),
    }
}

fn limit(req: &Request<'_>, max: u64) -> Result<Option<usize>, ApiError> {
    match req.opt_u64("Limit")? {
        None => Ok(None),
        Some(n) if (1..=max).contains(&n) => Ok(Some(n as usize)),
        Some(n) => Err(ApiError::validation(format!(
            "1 validation error detected: Value '{n}' at 'limit' failed to satisfy constraint: Member must have value {} {max}",
            if n < 1 {
                "greater than or equal to 1, less than or equal to"
            } else {
                "less than or equal to"
            }
        ))),
    }
}

fn list_streams(store: &Store, req: &Request<'_>) -> Result<Value, ApiError> {
    let limit = limit(req, 100)?.unwrap_or(100);
    let (streams, last) = change_streams::list_streams(
        store,
        req.opt_str("TableName")?,
        req.opt_str("ExclusiveStartStreamArn")?,
        limit,
    )?;
    let streams: Vec<Value> = streams
        .iter()
        .map(|s| json!({ "StreamArn": s.arn, "TableName": s.table, "StreamLabel": s.label }))
        .collect();
    let mut out = json!({ "Streams": streams });
    if let Some(last) = last {
        out["LastEvaluatedStreamArn"] = json!(last);
    }
    Ok(out)
}

fn describe_stream(store: &Store, req: &Request<'_>) -> Result<Value, ApiError> {
    limit(req, 100)?;
    let description = change_streams::describe_stream(store, req.str("StreamArn")?)?;
    Ok(json!({ "StreamDescription": description_json(&description) }))
}

fn description_json(d: &StreamDescription) -> Value {
    let mut range = Map::new();
    range.insert(
        "StartingSequenceNumber".into(),
        json!(d.shard.starting_sequence),
    );
    if let Some(end) = &d.shard.ending_sequence {
        range.insert("EndingSequenceNumber".into(), json!(end));
    }
    json!({
        "StreamArn": d.arn,
        "StreamLabel": d.label,
        "StreamStatus": if d.enabled { "ENABLED" } else { "DISABLED" },
        "StreamViewType": d.view_type.as_str(),
        "CreationRequestDateTime": d.created_ms as f64 / 1000.0,
        "TableName": d.table.name,
        "KeySchema": key_schema_json(&d.table),
        "Shards": [{
            "ShardId": d.shard.shard_id,
            "SequenceNumberRange": Value::Object(range),
        }],
    })
}

fn get_shard_iterator(store: &Store, req: &Request<'_>) -> Result<Value, ApiError> {
    let arn = req.str("StreamArn")?;
    let shard = req.str("ShardId")?;
    let kind = req.str("ShardIteratorType")?;
    let sequence = req.opt_str("SequenceNumber")?;
    let start = match (kind, sequence) {
        ("TRIM_HORIZON", None) => IteratorStart::TrimHorizon,
        ("LATEST", None) => IteratorStart::Latest,
        ("AT_SEQUENCE_NUMBER", Some(s)) => IteratorStart::AtSequence(s.to_string()),
        ("AFTER_SEQUENCE_NUMBER", Some(s)) => IteratorStart::AfterSequence(s.to_string()),
        ("TRIM_HORIZON" | "LATEST", Some(_)) => {
            return Err(ApiError::validation(
                "Exactly one of SequenceNumber or ShardIteratorType TRIM_HORIZON or LATEST must be given: SequenceNumber is not allowed with this ShardIteratorType",
            ));
        }
        ("AT_SEQUENCE_NUMBER" | "AFTER_SEQUENCE_NUMBER", None) => {
            return Err(ApiError::validation(
                "Must provide a SequenceNumber for ShardIteratorType AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER",
            ));
        }
        (other, _) => {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value '{other}' at 'shardIteratorType' failed to satisfy constraint: Member must satisfy enum value set: [AFTER_SEQUENCE_NUMBER, AT_SEQUENCE_NUMBER, TRIM_HORIZON, LATEST]"
            )));
        }
    };
    let iterator = change_streams::get_shard_iterator(store, arn, shard, start)?;
    Ok(json!({ "ShardIterator": iterator }))
}

fn get_records(store: &Store, req: &Request<'_>) -> Result<Value, ApiError> {
    let limit = limit(req, 1000)?.unwrap_or(1000);
    let result = change_streams::get_records(store, req.str("ShardIterator")?, limit)?;
    let mut out = object([("Records", Value::from(result.records))]);
    if let Some(next) = result.next_iterator {
        out["NextShardIterator"] = json!(next);
    }
    Ok(out)
}
