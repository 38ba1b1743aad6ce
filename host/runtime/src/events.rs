//! Lambda-shaped event JSON ↔ the WIT event, and the handler's response back
//! to JSON. A `Records` array of Kinesis records becomes a stream batch (data
//! base64-decoded to bytes), one of DynamoDB Streams records a change batch;
//! anything else is passed as a direct-invoke payload.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::bindgen::{
    ChangeBatch, ChangeKind, ChangeRecord, Event, Response, StreamBatch, StreamRecord,
};
use crate::error::InvocationError;

fn invalid(message: String) -> InvocationError {
    InvocationError::InvalidEvent(message)
}

/// The WIT event for a Lambda event JSON document.
pub fn event_from_json(text: &str) -> Result<Event, InvocationError> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| invalid(format!("the event is not JSON: {e}")))?;
    let records = value.get("Records").and_then(Value::as_array);
    let first = records.and_then(|r| r.first());
    match (records, first) {
        (Some(records), Some(first)) if first.get("kinesis").is_some() => {
            stream_batch(records).map(Event::StreamBatch)
        }
        (Some(records), Some(first)) if first.get("dynamodb").is_some() => {
            change_batch(records).map(Event::ChangeBatch)
        }
        _ => Ok(Event::Invoke(value.to_string())),
    }
}

fn str_at<'a>(value: &'a Value, field: &str) -> &'a str {
    value.get(field).and_then(Value::as_str).unwrap_or_default()
}

fn stream_batch(records: &[Value]) -> Result<StreamBatch, InvocationError> {
    let first = records.first().cloned().unwrap_or_default();
    let shard_id = str_at(&first, "eventID")
        .split_once(':')
        .map(|(shard, _)| shard.to_string())
        .unwrap_or_default();
    let records = records
        .iter()
        .enumerate()
        .map(|(i, r)| stream_record(i, r))
        .collect::<Result<_, _>>()?;
    Ok(StreamBatch {
        event_source_arn: str_at(&first, "eventSourceARN").to_string(),
        shard_id,
        records,
    })
}

fn stream_record(index: usize, record: &Value) -> Result<StreamRecord, InvocationError> {
    let kinesis = record.get("kinesis").cloned().unwrap_or_default();
    let data = kinesis
        .get("data")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(format!("Records[{index}].kinesis.data is missing")))?;
    let data = STANDARD
        .decode(data)
        .map_err(|e| invalid(format!("Records[{index}].kinesis.data is not base64: {e}")))?;
    let arrival = kinesis
        .get("approximateArrivalTimestamp")
        .and_then(Value::as_f64)
        .unwrap_or(0.0);
    Ok(StreamRecord {
        partition_key: str_at(&kinesis, "partitionKey").to_string(),
        sequence_number: str_at(&kinesis, "sequenceNumber").to_string(),
        // Seconds with a fraction, as Lambda sends it; saturating cast.
        approximate_arrival_ms: (arrival * 1000.0).max(0.0) as u64,
        data,
        event_id: str_at(record, "eventID").to_string(),
    })
}

fn change_batch(records: &[Value]) -> Result<ChangeBatch, InvocationError> {
    let first = records.first().cloned().unwrap_or_default();
    let view = first
        .get("dynamodb")
        .map(|d| str_at(d, "StreamViewType"))
        .unwrap_or_default();
    let records = records
        .iter()
        .enumerate()
        .map(|(i, r)| change_record(i, r))
        .collect::<Result<_, _>>()?;
    Ok(ChangeBatch {
        event_source_arn: str_at(&first, "eventSourceARN").to_string(),
        view_type: view.to_string(),
        records,
    })
}

fn change_record(index: usize, record: &Value) -> Result<ChangeRecord, InvocationError> {
    let kind = match str_at(record, "eventName") {
        "INSERT" => ChangeKind::Insert,
        "MODIFY" => ChangeKind::Modify,
        "REMOVE" => ChangeKind::Remove,
        other => {
            return Err(invalid(format!(
                "Records[{index}].eventName is '{other}', not INSERT, MODIFY or REMOVE"
            )));
        }
    };
    let body = record.get("dynamodb").cloned().unwrap_or_default();
    let image = |field: &str| body.get(field).map(Value::to_string);
    Ok(ChangeRecord {
        event_id: str_at(record, "eventID").to_string(),
        kind,
        keys: image("Keys").unwrap_or_else(|| "{}".into()),
        new_image: image("NewImage"),
        old_image: image("OldImage"),
        sequence_number: str_at(&body, "SequenceNumber").to_string(),
        size_bytes: body.get("SizeBytes").and_then(Value::as_u64).unwrap_or(0),
        approximate_creation_time: body
            .get("ApproximateCreationDateTime")
            .and_then(Value::as_f64)
            .map(|t| t.max(0.0) as u64)
            .unwrap_or(0),
    })
}

/// The handler's response as the JSON Lambda would return: the payload (a
/// string payload that is not JSON is returned as a JSON string), with
/// `batchItemFailures` when records failed.
pub fn response_to_json(response: &Response) -> Value {
    let payload = response.payload.as_deref().map(|text| {
        serde_json::from_str::<Value>(text).unwrap_or_else(|_| Value::String(text.to_string()))
    });
    if response.failed_sequence_numbers.is_empty() {
        return payload.unwrap_or(Value::Null);
    }
    let failures: Vec<Value> = response
        .failed_sequence_numbers
        .iter()
        .map(|s| json!({ "itemIdentifier": s }))
        .collect();
    match payload {
        Some(Value::Object(mut map)) => {
            map.insert("batchItemFailures".into(), Value::Array(failures));
            Value::Object(map)
        }
        _ => json!({ "batchItemFailures": failures }),
    }
}

/// The Lambda console's Kinesis test event: one record whose data is
/// "Hello, this is a test 123.".
pub const KINESIS_TEST_EVENT: &str = r#"{
  "Records": [
    {
      "kinesis": {
        "partitionKey": "partitionKey-03",
        "kinesisSchemaVersion": "1.0",
        "data": "SGVsbG8sIHRoaXMgaXMgYSB0ZXN0IDEyMy4=",
        "sequenceNumber": "49545115243490985018280067714973144582180062593244200961",
        "approximateArrivalTimestamp": 1428537600
      },
      "eventSource": "aws:kinesis",
      "eventID": "shardId-000000000000:49545115243490985018280067714973144582180062593244200961",
      "invokeIdentityArn": "arn:aws:iam::EXAMPLE",
      "eventVersion": "1.0",
      "eventName": "aws:kinesis:record",
      "eventSourceARN": "arn:aws:kinesis:EXAMPLE",
      "awsRegion": "us-east-1"
    }
  ]
}"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kinesis_test_event_decodes_its_data() {
        let Event::StreamBatch(batch) = event_from_json(KINESIS_TEST_EVENT).unwrap() else {
            panic!("not a stream batch");
        };
        assert_eq!(batch.shard_id, "shardId-000000000000");
        assert_eq!(batch.records.len(), 1);
        assert_eq!(batch.records[0].data, b"Hello, this is a test 123.");
        assert_eq!(batch.records[0].approximate_arrival_ms, 1_428_537_600_000);
    }

    #[test]
    fn a_dynamodb_event_becomes_a_change_batch() {
        let event = r#"{"Records":[{"eventID":"1","eventName":"INSERT","eventSourceARN":"arn:x",
            "dynamodb":{"Keys":{"RecordID":{"N":"2"}},"NewImage":{"Username":{"S":"Jane Doe"}},
            "StreamViewType":"NEW_IMAGE","SequenceNumber":"111","SizeBytes":26}}]}"#;
        let Event::ChangeBatch(batch) = event_from_json(event).unwrap() else {
            panic!("not a change batch");
        };
        assert_eq!(batch.view_type, "NEW_IMAGE");
        let record = &batch.records[0];
        assert_eq!(record.kind, ChangeKind::Insert);
        assert_eq!(record.keys, r#"{"RecordID":{"N":"2"}}"#);
        assert_eq!(
            record.new_image.as_deref(),
            Some(r#"{"Username":{"S":"Jane Doe"}}"#)
        );
        assert_eq!((record.size_bytes, record.old_image.is_none()), (26, true));
    }

    #[test]
    fn bad_events_are_named_and_others_pass_through() {
        assert!(event_from_json("{").is_err());
        let bad = r#"{"Records":[{"kinesis":{"data":"***"}}]}"#;
        assert!(
            event_from_json(bad)
                .unwrap_err()
                .to_string()
                .contains("base64")
        );
        let Event::Invoke(text) = event_from_json(r#"{"a":1}"#).unwrap() else {
            panic!("not an invoke");
        };
        assert_eq!(text, r#"{"a":1}"#);
    }

    #[test]
    fn responses_become_lambda_json() {
        let r = Response {
            payload: Some("Successfully processed 1 records.".into()),
            failed_sequence_numbers: vec![],
        };
        assert_eq!(
            response_to_json(&r),
            json!("Successfully processed 1 records.")
        );
        let r = Response {
            payload: None,
            failed_sequence_numbers: vec!["7".into()],
        };
        assert_eq!(
            response_to_json(&r),
            json!({"batchItemFailures":[{"itemIdentifier":"7"}]})
        );
    }
}
