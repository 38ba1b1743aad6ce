//! On-failure destinations: when a mapping gives a batch up, Lambda sends a
//! description of it (not the records) to the destination. eddy writes it in
//! the same write job as the checkpoint that skips the batch, so a batch is
//! either still pending or skipped *and* described — never one without the
//! other.
//!
//! - A stream destination gets the description as one record (JSON), with the
//!   mapping's UUID as partition key, so one mapping's failures stay in order.
//! - A table destination gets it as an item: the JSON document marshalled to
//!   attributes (objects → M, strings → S, numbers → N, ...), plus its key:
//!   the partition key (which must be of type S) is
//!   `<mapping UUID>/<shardId>/<startSequenceNumber>`, unique per given-up
//!   batch; a sort key, if the table has one, is the `timestamp` text (S) or
//!   the epoch milliseconds (N). A table keyed otherwise cannot take it.

use eddy_store::mappings::Destination;
use eddy_store::streams::{self, PutRecordEntry};
use eddy_store::tables::images;
use eddy_store::tables::{self, PutItemRequest};
use eddy_store::timefmt::iso_ms;
use eddy_store::value::keys::KeyType;
use eddy_store::{AttributeValue, Item, Number, StoreError, WriteCtx};
use serde_json::{Value, json};

use crate::source::{Kind, ShardSource, SourceRecord};

/// Why a batch was given up (Lambda's `requestContext.condition`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Condition {
    RetryAttemptsExhausted,
    RecordAgeExceeded,
}

impl Condition {
    fn as_str(self) -> &'static str {
        match self {
            Condition::RetryAttemptsExhausted => "RetryAttemptsExhausted",
            Condition::RecordAgeExceeded => "RecordAgeExceeded",
        }
    }
}

/// What is known of a given-up batch's invocations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GiveUp {
    pub condition: Condition,
    /// Invocations made for these records.
    pub invoke_count: u32,
    /// The request id of the last invocation, if there was one.
    pub request_id: Option<String>,
    /// The function version that ran last.
    pub version: Option<u32>,
}

/// The description of a given-up batch, as Lambda's on-failure invocation
/// record for a Kinesis or DynamoDB Streams source.
pub(crate) fn failure_record(
    function_arn: &str,
    source: &ShardSource,
    records: &[SourceRecord],
    give_up: &GiveUp,
    now_ms: u64,
) -> Value {
    let format = source.format();
    let first = records.first();
    let last = records.last();
    let seq = |r: Option<&SourceRecord>| r.map(|r| format.format(r.sequence));
    let at = |r: Option<&SourceRecord>| r.map(|r| format!("{}Z", iso_ms(r.arrival_ms)));
    let info = json!({
        "shardId": source.shard_id,
        "startSequenceNumber": seq(first),
        "endSequenceNumber": seq(last),
        "approximateArrivalOfFirstRecord": at(first),
        "approximateArrivalOfLastRecord": at(last),
        "batchSize": records.len(),
        "streamArn": source.arn,
    });
    let info_key = match source.kind {
        Kind::Stream(_) => "KinesisBatchInfo",
        Kind::Change { .. } => "DDBStreamBatchInfo",
    };
    let mut record = json!({
        "requestContext": {
            "requestId": give_up.request_id,
            "functionArn": function_arn,
            "condition": give_up.condition.as_str(),
            "approximateInvokeCount": give_up.invoke_count,
        },
        "responseContext": {
            "statusCode": 200,
            "executedVersion": give_up.version.map_or("$LATEST".to_string(), |v| v.to_string()),
            "functionError": "Unhandled",
        },
        "version": "1.0",
        "timestamp": format!("{}Z", iso_ms(now_ms)),
    });
    if let Some(map) = record.as_object_mut() {
        map.insert(info_key.into(), info);
    }
    record
}

/// Checks, without writing, that `destination` can take a record now.
pub(crate) fn check_in(ctx: &WriteCtx<'_>, destination: &Destination) -> Result<(), StoreError> {
    let exists = match destination {
        Destination::Stream(name) => images::stream_exists_in(ctx, name)?,
        Destination::Table(name) => images::table_meta_in(ctx, name)?.is_some(),
    };
    if exists {
        return Ok(());
    }
    let (kind, name) = match destination {
        Destination::Stream(name) => ("stream", name),
        Destination::Table(name) => ("table", name),
    };
    Err(StoreError::ResourceNotFound(format!(
        "the on-failure destination {kind} {name} does not exist"
    )))
}

/// Writes `record` (from `failure_record`) to `destination` inside a write
/// job. Checks before writing, so an `Err` wrote nothing.
pub(crate) fn deliver_in(
    ctx: &mut WriteCtx<'_>,
    account: &str,
    destination: &Destination,
    uuid: &str,
    record: &Value,
    now_ms: u64,
) -> Result<(), StoreError> {
    match destination {
        Destination::Stream(name) => {
            let entry = PutRecordEntry::new(uuid, record.to_string().into_bytes());
            streams::put_record_in(ctx, account, name, &entry).map(drop)
        }
        Destination::Table(name) => {
            let item = failure_item(ctx, name, uuid, record, now_ms)?;
            let request = PutItemRequest {
                table: name.clone(),
                item,
                ..PutItemRequest::default()
            };
            tables::items::put_item_in(ctx, &request).map(drop)
        }
    }
}

/// The item a table destination gets (see the module doc for its key).
fn failure_item(
    ctx: &WriteCtx<'_>,
    table: &str,
    uuid: &str,
    record: &Value,
    now_ms: u64,
) -> Result<Item, StoreError> {
    let meta = images::table_meta_in(ctx, table)?.ok_or_else(|| {
        StoreError::ResourceNotFound(format!(
            "the on-failure destination table {table} does not exist"
        ))
    })?;
    let mut item = match marshal(record)? {
        AttributeValue::M(map) => map,
        _ => Item::new(),
    };
    let info = record
        .get("KinesisBatchInfo")
        .or_else(|| record.get("DDBStreamBatchInfo"));
    let field = |name: &str| info.and_then(|i| i.get(name)).and_then(Value::as_str);
    let id = format!(
        "{uuid}/{}/{}",
        field("shardId").unwrap_or_default(),
        field("startSequenceNumber").unwrap_or_default()
    );
    if meta.partition_key.key_type != KeyType::S {
        return Err(StoreError::Validation(format!(
            "the on-failure destination table {table} needs a partition key of type S"
        )));
    }
    item.insert(meta.partition_key.name.clone(), AttributeValue::S(id));
    if let Some(sort) = &meta.sort_key {
        let value = match sort.key_type {
            KeyType::S => AttributeValue::S(format!("{}Z", iso_ms(now_ms))),
            KeyType::N => AttributeValue::N(Number::parse(&now_ms.to_string())?),
            KeyType::B => {
                return Err(StoreError::Validation(format!(
                    "the on-failure destination table {table} has a binary sort key"
                )));
            }
        };
        item.insert(sort.name.clone(), value);
    }
    Ok(item)
}

/// Plain JSON as a DynamoDB attribute value.
fn marshal(value: &Value) -> Result<AttributeValue, StoreError> {
    Ok(match value {
        Value::Null => AttributeValue::Null,
        Value::Bool(b) => AttributeValue::Bool(*b),
        Value::Number(n) => AttributeValue::N(Number::parse(&n.to_string())?),
        Value::String(s) => AttributeValue::S(s.clone()),
        Value::Array(items) => {
            AttributeValue::L(items.iter().map(marshal).collect::<Result<_, _>>()?)
        }
        Value::Object(map) => AttributeValue::M(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), marshal(v)?)))
                .collect::<Result<_, StoreError>>()?,
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Body;

    #[test]
    fn a_failure_record_has_lambdas_shape() {
        let source = ShardSource {
            kind: Kind::Stream("s".into()),
            log: 1,
            shard: 0,
            shard_id: "shardId-000000000000".into(),
            arn: "arn:aws:kinesis:us-east-1:000000000000:stream/s".into(),
        };
        let record = |sequence, arrival_ms| SourceRecord {
            sequence,
            arrival_ms,
            body: Body::Stream {
                partition_key: "k".into(),
                data: vec![],
            },
        };
        let give_up = GiveUp {
            condition: Condition::RetryAttemptsExhausted,
            invoke_count: 3,
            request_id: Some("r-1".into()),
            version: Some(2),
        };
        let value = failure_record(
            "arn:aws:lambda:us-east-1:000000000000:function:f",
            &source,
            &[record(5, 1_000), record(9, 2_500)],
            &give_up,
            3_000,
        );
        assert_eq!(
            value["requestContext"]["condition"],
            "RetryAttemptsExhausted"
        );
        assert_eq!(value["requestContext"]["approximateInvokeCount"], 3);
        assert_eq!(value["responseContext"]["executedVersion"], "2");
        assert_eq!(value["version"], "1.0");
        assert_eq!(value["timestamp"], "1970-01-01T00:00:03.000Z");
        let info = &value["KinesisBatchInfo"];
        assert_eq!(info["batchSize"], 2);
        assert_eq!(info["startSequenceNumber"], SequenceFormatted::kinesis(5));
        assert_eq!(info["endSequenceNumber"], SequenceFormatted::kinesis(9));
        assert_eq!(
            info["approximateArrivalOfLastRecord"],
            "1970-01-01T00:00:02.500Z"
        );
        assert_eq!(info["streamArn"], source.arn);
        let marshalled = marshal(&value).unwrap();
        assert!(
            matches!(marshalled, AttributeValue::M(ref m) if m.contains_key("KinesisBatchInfo"))
        );
    }

    struct SequenceFormatted;

    impl SequenceFormatted {
        fn kinesis(n: u64) -> String {
            eddy_store::records::SequenceFormat::Kinesis.format(n)
        }
    }
}
