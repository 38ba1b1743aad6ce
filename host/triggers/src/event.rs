//! The events a mapping sends, shaped as Lambda shapes them: the WIT event the
//! function receives, and the JSON of one record that filter patterns are
//! matched against.

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use eddy_runtime::bindgen::{
    ChangeBatch, ChangeKind, ChangeRecord, Event, StreamBatch, StreamRecord,
};
use eddy_runtime::error::InvocationError;
use eddy_store::StoreError;
use eddy_store::records::SequenceFormat;
use eddy_store::tables::EventName;
use eddy_store::tables::change_format::{Stored, event_id, image_text, lambda_json};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::source::{Body, Kind, ShardSource, SourceRecord};

/// The WIT event for `records` (all from `source`, oldest first).
pub(crate) fn wit_event(
    source: &ShardSource,
    records: &[&SourceRecord],
) -> Result<Event, InvocationError> {
    // Sized up front: growing a Vec of 1,000 WIT records by doubling
    // copied them ~10 times (4% of a poller's time).
    let (mut stream, mut changes) = match source.kind {
        Kind::Stream(_) => (Vec::with_capacity(records.len()), Vec::new()),
        Kind::Change { .. } => (Vec::new(), Vec::with_capacity(records.len())),
    };
    for record in records {
        match &record.body {
            Body::Stream {
                partition_key,
                data,
            } => {
                let sequence_number = source.format().format(record.sequence);
                stream.push(StreamRecord {
                    partition_key: partition_key.clone(),
                    event_id: format!("{}:{sequence_number}", source.shard_id),
                    sequence_number,
                    approximate_arrival_ms: record.arrival_ms,
                    data: data.clone(),
                });
            }
            Body::Change(stored) => {
                changes.push(change_record(source.log, record.sequence, stored)?)
            }
        }
    }
    if changes.is_empty() {
        return Ok(Event::StreamBatch(StreamBatch {
            event_source_arn: source.arn.clone(),
            shard_id: source.shard_id.clone(),
            records: stream,
        }));
    }
    let view_type = match &source.kind {
        Kind::Change { view_type } => view_type.clone(),
        Kind::Stream(_) => String::new(),
    };
    Ok(Event::ChangeBatch(ChangeBatch {
        event_source_arn: source.arn.clone(),
        view_type,
        records: changes,
    }))
}

/// The fields of a change record stored as Lambda's JSON (by versions before
/// `change_format`) that the WIT record carries. Keys and images are taken as the JSON
/// text they are stored as — compact, printed by serde_json — which is
/// exactly what parsing them and printing them again would give, without
/// building a tree per record.
#[derive(Deserialize)]
struct StoredChange<'a> {
    #[serde(rename = "eventID", borrow, default)]
    event_id: Cow<'a, str>,
    #[serde(rename = "eventName", borrow, default)]
    event_name: Cow<'a, str>,
    #[serde(borrow)]
    dynamodb: StoredBody<'a>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StoredBody<'a> {
    #[serde(default)]
    approximate_creation_date_time: f64,
    #[serde(borrow, default)]
    keys: Option<&'a RawValue>,
    #[serde(borrow, default)]
    new_image: Option<&'a RawValue>,
    #[serde(borrow, default)]
    old_image: Option<&'a RawValue>,
    #[serde(borrow, default)]
    sequence_number: Cow<'a, str>,
    #[serde(default)]
    size_bytes: u64,
}

/// The WIT change record of stored change record `sequence` of `log`.
fn change_record(log: u64, sequence: u64, stored: &[u8]) -> Result<ChangeRecord, InvocationError> {
    let unreadable = |e: StoreError| InvocationError::InvalidEvent(e.to_string());
    let change = match Stored::decode(sequence, stored).map_err(unreadable)? {
        Stored::Change(change) => change,
        Stored::Json(json) => return json_change_record(sequence, json),
    };
    let text = |bytes: &[u8]| image_text(sequence, bytes).map_err(unreadable);
    Ok(ChangeRecord {
        event_id: event_id(log, sequence),
        kind: match change.event {
            EventName::Insert => ChangeKind::Insert,
            EventName::Modify => ChangeKind::Modify,
            EventName::Remove => ChangeKind::Remove,
        },
        keys: text(change.keys)?,
        new_image: change.new_image.map(text).transpose()?,
        old_image: change.old_image.map(text).transpose()?,
        sequence_number: SequenceFormat::DynamoDb.format(sequence),
        size_bytes: u64::from(change.size_bytes),
        approximate_creation_time: change.created_s,
    })
}

/// The WIT change record of `json`, record `sequence` as an earlier version
/// stored it.
fn json_change_record(sequence: u64, json: &[u8]) -> Result<ChangeRecord, InvocationError> {
    let invalid = |why: String| {
        InvocationError::InvalidEvent(format!("change record {sequence} is unreadable: {why}"))
    };
    // One UTF-8 check of the whole text, then a `str` parse: serde_json's
    // slice parser checks every string it borrows again (`from_str` measured
    // ~15% faster on the lab's 570-byte records).
    let text = std::str::from_utf8(json).map_err(|e| invalid(e.to_string()))?;
    let stored: StoredChange = serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
    let kind = match stored.event_name.as_ref() {
        "INSERT" => ChangeKind::Insert,
        "MODIFY" => ChangeKind::Modify,
        "REMOVE" => ChangeKind::Remove,
        other => return Err(invalid(format!("eventName '{other}'"))),
    };
    let body = stored.dynamodb;
    let text = |raw: Option<&RawValue>| raw.map(|r| r.get().to_string());
    Ok(ChangeRecord {
        event_id: stored.event_id.into_owned(),
        kind,
        keys: text(body.keys).unwrap_or_else(|| "{}".into()),
        new_image: text(body.new_image),
        old_image: text(body.old_image),
        sequence_number: body.sequence_number.into_owned(),
        size_bytes: body.size_bytes,
        // Whole seconds, as stored; a saturating cast.
        approximate_creation_time: body.approximate_creation_date_time.max(0.0) as u64,
    })
}

/// The JSON a filter pattern is matched against: the record exactly as Lambda
/// would put it in the event (`filters` decodes a Kinesis record's base64
/// `data` to match patterns on `data`, as Lambda does). `None` for a stored
/// change record that does not parse (it is delivered, and its batch fails
/// with the reason, rather than being filtered out unseen).
pub(crate) fn filter_json(source: &ShardSource, record: &SourceRecord) -> Option<Value> {
    match &record.body {
        Body::Change(stored) => {
            lambda_json(stored, source.log, record.sequence, &source.arn, true).ok()
        }
        Body::Stream {
            partition_key,
            data,
        } => {
            let sequence_number = source.format().format(record.sequence);
            Some(json!({
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": partition_key,
                    "sequenceNumber": sequence_number,
                    "data": STANDARD.encode(data),
                    "approximateArrivalTimestamp": arrival_seconds(record.arrival_ms),
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": format!("{}:{sequence_number}", source.shard_id),
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": invoke_identity_arn(source),
                "awsRegion": region_of(&source.arn),
                "eventSourceARN": source.arn,
            }))
        }
    }
}

/// The region in an ARN (`arn:aws:SERVICE:REGION:...`).
fn region_of(arn: &str) -> &str {
    arn.split(':').nth(3).unwrap_or_default()
}

/// Lambda's invokeIdentityArn: the execution role. eddy functions have grants
/// rather than IAM roles, so this names the account's role namespace.
fn invoke_identity_arn(source: &ShardSource) -> String {
    let account = source.arn.split(':').nth(4).unwrap_or_default();
    format!("arn:aws:iam::{account}:role/eddy-trigger")
}

/// Epoch ms as Lambda's approximateArrivalTimestamp: seconds with a fraction.
pub(crate) fn arrival_seconds(ms: u64) -> f64 {
    // Exact for any time before the year 287,000 (ms < 2^53).
    ms as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream_source() -> ShardSource {
        ShardSource {
            kind: Kind::Stream("s".into()),
            log: 1,
            shard: 0,
            shard_id: "shardId-000000000000".into(),
            arn: "arn:aws:kinesis:us-east-1:000000000000:stream/s".into(),
        }
    }

    fn stream_record(data: &[u8]) -> SourceRecord {
        SourceRecord {
            sequence: 7,
            arrival_ms: 1_545_084_650_987,
            body: Body::Stream {
                partition_key: "pk".into(),
                data: data.to_vec(),
            },
        }
    }

    #[test]
    fn stream_records_become_a_stream_batch_with_lambda_ids() {
        let source = stream_source();
        let record = stream_record(b"hello");
        let Event::StreamBatch(batch) = wit_event(&source, &[&record]).unwrap() else {
            panic!("not a stream batch");
        };
        assert_eq!(batch.shard_id, "shardId-000000000000");
        assert_eq!(batch.event_source_arn, source.arn);
        let r = &batch.records[0];
        assert_eq!(r.sequence_number.len(), 56);
        assert_eq!(
            r.event_id,
            format!("shardId-000000000000:{}", r.sequence_number)
        );
        assert_eq!(
            (r.data.as_slice(), r.partition_key.as_str()),
            (&b"hello"[..], "pk")
        );
        assert_eq!(r.approximate_arrival_ms, 1_545_084_650_987);
    }

    #[test]
    fn kinesis_filter_json_is_lambdas_record() {
        let source = stream_source();
        let value = filter_json(&source, &stream_record(b"\xff\x00")).unwrap();
        let kinesis = &value["kinesis"];
        assert_eq!(kinesis["data"], "/wA=");
        assert_eq!(kinesis["partitionKey"], "pk");
        assert_eq!(kinesis["kinesisSchemaVersion"], "1.0");
        assert_eq!(kinesis["approximateArrivalTimestamp"], 1_545_084_650.987);
        assert_eq!(value["eventSource"], "aws:kinesis");
        assert_eq!(value["eventName"], "aws:kinesis:record");
        assert_eq!(value["awsRegion"], "us-east-1");
        assert_eq!(
            value["invokeIdentityArn"],
            "arn:aws:iam::000000000000:role/eddy-trigger"
        );
        let id = format!(
            "shardId-000000000000:{}",
            kinesis["sequenceNumber"].as_str().unwrap()
        );
        assert_eq!(value["eventID"], id);
        let filters = crate::filters::Filters::parse(&[r#"{"data":{"t":["buy"]}}"#]).unwrap();
        let buy = filter_json(&source, &stream_record(br#"{"t":"buy"}"#)).unwrap();
        assert!(filters.matches(&buy));
        assert!(!filters.matches(&value));
    }

    fn change_source() -> ShardSource {
        ShardSource {
            kind: Kind::Change {
                view_type: "NEW_AND_OLD_IMAGES".into(),
            },
            arn: "arn:aws:dynamodb:us-east-1:000000000000:table/T/stream/L".into(),
            ..stream_source()
        }
    }

    /// A record as the store keeps it reaches the function as the same
    /// record in Lambda's JSON would, and filters see that JSON.
    #[test]
    fn stored_change_records_become_what_their_lambda_json_gives() {
        use eddy_store::tables::StreamViewType;
        use eddy_store::tables::change_format::Change;
        use eddy_store::value::codec::encode_item;
        use eddy_store::value::json::item_from_json;
        let encode = |v: Value| encode_item(&item_from_json(&v).unwrap());
        let keys = encode(json!({"K": {"N": "1"}}));
        let new =
            encode(json!({"K": {"N": "1"}, "T": {"S": "é \" \n"}, "L": {"L": [{"B": "AA=="}]}}));
        let old = encode(json!({"K": {"N": "1"}}));
        let stored = Change {
            event: EventName::Modify,
            view_type: StreamViewType::NewAndOldImages,
            created_s: 1_700_000_000,
            size_bytes: 40,
            keys: &keys,
            new_image: Some(&new),
            old_image: Some(&old),
        }
        .encode();
        let source = change_source();
        let record = SourceRecord {
            sequence: 12,
            arrival_ms: 1_700_000_000_000,
            body: Body::Change(stored.clone()),
        };
        let lambda = lambda_json(&stored, source.log, 12, &source.arn, true).unwrap();
        assert_eq!(filter_json(&source, &record), Some(lambda.clone()));
        assert_eq!(lambda["eventID"], json!(event_id(source.log, 12)));
        let text = json!({ "Records": [lambda] }).to_string();
        let from_json = eddy_runtime::events::event_from_json(&text).unwrap();
        let ours = wit_event(&source, &[&record]).unwrap();
        assert_eq!(format!("{ours:?}"), format!("{from_json:?}"));
        // Damaged bytes fail the batch with the record's sequence.
        let damaged = SourceRecord {
            body: Body::Change(stored[..stored.len() - 1].to_vec()),
            ..record
        };
        let err = wit_event(&source, &[&damaged]).unwrap_err().to_string();
        assert!(err.contains("change record 12"), "{err}");
    }

    #[test]
    fn change_records_become_a_change_batch() {
        let source = ShardSource {
            kind: Kind::Change {
                view_type: "NEW_IMAGE".into(),
            },
            arn: "arn:aws:dynamodb:us-east-1:000000000000:table/T/stream/L".into(),
            ..stream_source()
        };
        let event = json!({
            "eventID": "abc", "eventName": "MODIFY", "eventVersion": "1.1",
            "eventSource": "aws:dynamodb", "awsRegion": "us-east-1",
            "eventSourceARN": "arn:aws:dynamodb:us-east-1:000000000000:table/T/stream/L",
            "dynamodb": {"ApproximateCreationDateTime": 1700000000, "Keys": {"K": {"S": "a"}},
                "NewImage": {"K": {"S": "a"}}, "SequenceNumber": "400000000000000000001",
                "SizeBytes": 4, "StreamViewType": "NEW_IMAGE"}
        });
        let record = SourceRecord {
            sequence: 1,
            arrival_ms: 1_700_000_000_000,
            body: Body::Change(serde_json::to_vec(&event).unwrap()),
        };
        let Event::ChangeBatch(batch) = wit_event(&source, &[&record]).unwrap() else {
            panic!("not a change batch");
        };
        assert_eq!(batch.view_type, "NEW_IMAGE");
        assert!(batch.event_source_arn.ends_with("table/T/stream/L"));
        let r = &batch.records[0];
        assert_eq!(r.kind, ChangeKind::Modify);
        assert_eq!(r.keys, r#"{"K":{"S":"a"}}"#);
        assert_eq!(r.sequence_number, "400000000000000000001");
        assert_eq!(r.approximate_creation_time, 1_700_000_000);
        assert_eq!(filter_json(&source, &record), Some(event.clone()));
        // The same record as the runtime's JSON → WIT conversion reads it.
        let text = json!({ "Records": [event] }).to_string();
        let from_json = eddy_runtime::events::event_from_json(&text).unwrap();
        let ours = wit_event(&source, &[&record]).unwrap();
        assert_eq!(format!("{ours:?}"), format!("{from_json:?}"));
    }
}
