//! The data plane: putting records and reading them with shard iterators.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use eddy_store::streams::{self, IteratorStart, PutRecordEntry, PutResult, validate};
use eddy_store::{Store, StoreError};
use serde_json::{Map, Value, json};

use super::{Checks, epoch_seconds, stream_name};
use crate::ApiError;
use crate::request::Request;
use crate::response::object;

/// ShardIteratorType's values, in the order AWS lists them in its message.
const ITERATOR_TYPES: [&str; 5] = [
    "AFTER_SEQUENCE_NUMBER",
    "LATEST",
    "AT_TIMESTAMP",
    "AT_SEQUENCE_NUMBER",
    "TRIM_HORIZON",
];

/// Decodes a base64 blob member the way AWS's JSON protocol does: anything that
/// is not canonical base64 is a SerializationException.
fn blob(text: &str) -> Result<Vec<u8>, ApiError> {
    STANDARD.decode(text).map_err(|e| {
        ApiError::serialization(format!("'{text}' can not be converted to a Blob: {e}"))
    })
}

/// Reads one record entry (PutRecord's body or a PutRecords member). `prefix`
/// names the entry in messages; built only when needed (not per record).
fn entry(
    body: &Map<String, Value>,
    prefix: impl Fn() -> String,
    checks: &mut Checks,
) -> Result<PutRecordEntry, ApiError> {
    let text = |name: &str| -> Result<Option<&str>, ApiError> {
        match body.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(ApiError::serialization(format!("{name} must be a string"))),
        }
    };
    let key = text("PartitionKey")?;
    if key.is_none() {
        checks.null(&format!("{}PartitionKey", prefix()));
    }
    let data = match text("Data")? {
        Some(d) => blob(d)?,
        None => {
            checks.null(&format!("{}Data", prefix()));
            Vec::new()
        }
    };
    Ok(PutRecordEntry {
        partition_key: key.unwrap_or_default().to_string(),
        data,
        explicit_hash_key: text("ExplicitHashKey")?.map(str::to_string),
    })
}

pub(super) fn put_record(store: &Store, req: &Request<'_>) -> Result<Value, ApiError> {
    let (name, entry) = put_record_request(req)?;
    Ok(put_record_response(streams::put_record(
        store, name, entry,
    )?))
}

pub(super) async fn put_record_async(store: &Store, req: &Request<'_>) -> Result<Value, ApiError> {
    let (name, entry) = put_record_request(req)?;
    Ok(put_record_response(
        streams::put_record_async(store, name, entry).await?,
    ))
}

fn put_record_request<'r>(req: &Request<'r>) -> Result<(&'r str, PutRecordEntry), ApiError> {
    let mut checks = Checks::default();
    let name = stream_name(req, &mut checks)?;
    let entry = entry(req.body(), String::new, &mut checks)?;
    if let Some(seq) = req.opt_str("SequenceNumberForOrdering")? {
        // eddy orders every shard strictly anyway; the member is only shape-checked.
        if !sequence_shape_ok(seq) {
            checks.failures.push(validate::failure(
                seq,
                "sequenceNumberForOrdering",
                "Member must satisfy regular expression pattern: 0|([1-9]\\d{0,128})",
            ));
        }
    }
    checks.finish()?;
    Ok((name, entry))
}

fn put_record_response(result: PutResult) -> Value {
    json!({
        "ShardId": result.shard_id,
        "SequenceNumber": result.sequence_number,
        "EncryptionType": "NONE",
    })
}

pub(super) fn put_records(store: &Store, req: &Request<'_>) -> Result<Value, ApiError> {
    let (name, entries) = put_records_request(req)?;
    Ok(put_records_response(streams::put_records(
        store, name, entries,
    )?))
}

pub(super) async fn put_records_async(store: &Store, req: &Request<'_>) -> Result<Value, ApiError> {
    let (name, entries) = put_records_request(req)?;
    Ok(put_records_response(
        streams::put_records_async(store, name, entries).await?,
    ))
}

fn put_records_request<'r>(req: &Request<'r>) -> Result<(&'r str, Vec<PutRecordEntry>), ApiError> {
    let mut checks = Checks::default();
    let name = stream_name(req, &mut checks)?;
    let mut entries = Vec::new();
    match req.opt_array("Records")? {
        None => checks.null("Records"),
        Some(records) => {
            for (i, member) in records.iter().enumerate() {
                let Value::Object(body) = member else {
                    return Err(ApiError::serialization(
                        "each member of Records must be an object",
                    ));
                };
                let prefix = || format!("records.{}.member.", i + 1);
                entries.push(entry(body, prefix, &mut checks)?);
            }
        }
    }
    checks.finish()?;
    Ok((name, entries))
}

fn put_records_response(results: Vec<Result<PutResult, StoreError>>) -> Value {
    let failed = results.iter().filter(|r| r.is_err()).count();
    let records: Vec<Value> = results
        .into_iter()
        .map(|r| match r {
            Ok(put) => json!({ "SequenceNumber": put.sequence_number, "ShardId": put.shard_id }),
            Err(e) => json!({ "ErrorCode": e.aws_type(), "ErrorMessage": e.to_string() }),
        })
        .collect();
    json!({
        "FailedRecordCount": failed,
        "Records": records,
        "EncryptionType": "NONE",
    })
}

/// AWS's pattern for sequence numbers in requests: `0|([1-9]\d{0,128})`.
fn sequence_shape_ok(text: &str) -> bool {
    text == "0"
        || (text.len() <= 129
            && !text.starts_with('0')
            && !text.is_empty()
            && text.bytes().all(|b| b.is_ascii_digit()))
}

pub(super) fn get_shard_iterator(store: &Store, req: &Request<'_>) -> Result<Value, ApiError> {
    let mut checks = Checks::default();
    let name = stream_name(req, &mut checks)?;
    let shard = checks.required(req.opt_str("ShardId")?, "ShardId", validate::name);
    let kind = req.opt_str("ShardIteratorType")?;
    match kind {
        None => checks.null("ShardIteratorType"),
        Some(k) if !ITERATOR_TYPES.contains(&k) => {
            let why = format!(
                "Member must satisfy enum value set: [{}]",
                ITERATOR_TYPES.join(", ")
            );
            checks
                .failures
                .push(validate::failure(k, "shardIteratorType", &why));
        }
        Some(_) => {}
    }
    let sequence = req.opt_str("StartingSequenceNumber")?;
    if let Some(seq) = sequence.filter(|s| !sequence_shape_ok(s)) {
        checks.failures.push(validate::failure(
            seq,
            "startingSequenceNumber",
            "Member must satisfy regular expression pattern: 0|([1-9]\\d{0,128})",
        ));
    }
    let timestamp = match req.get("Timestamp") {
        None => None,
        Some(v) => Some(v.as_f64().ok_or_else(|| {
            ApiError::serialization("Timestamp must be a number of seconds since the epoch")
        })?),
    };
    checks.finish()?;
    let start = iterator_start(kind.unwrap_or_default(), sequence, timestamp)?;
    let iterator = streams::get_shard_iterator(store, name, shard, start)?;
    Ok(json!({ "ShardIterator": iterator }))
}

/// The iterator start a (type, StartingSequenceNumber, Timestamp) triple asks
/// for, with AWS's messages for the combinations it refuses.
fn iterator_start(
    kind: &str,
    sequence: Option<&str>,
    timestamp: Option<f64>,
) -> Result<IteratorStart, ApiError> {
    let combination = |with: &str| {
        ApiError::invalid_argument(format!(
            "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and \
             StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no \
             StartingSequenceNumber. Request specified {kind} and {with} StartingSequenceNumber."
        ))
    };
    match (kind, sequence) {
        ("TRIM_HORIZON" | "LATEST", Some(_)) => Err(combination("also a")),
        ("AT_SEQUENCE_NUMBER" | "AFTER_SEQUENCE_NUMBER", None) => Err(combination("no")),
        ("TRIM_HORIZON", None) => Ok(IteratorStart::TrimHorizon),
        ("LATEST", None) => Ok(IteratorStart::Latest),
        ("AT_SEQUENCE_NUMBER", Some(s)) => Ok(IteratorStart::AtSequence(s.to_string())),
        ("AFTER_SEQUENCE_NUMBER", Some(s)) => Ok(IteratorStart::AfterSequence(s.to_string())),
        ("AT_TIMESTAMP", _) => match timestamp {
            // Fractions of a millisecond are dropped; times before 1970 mean "from the start".
            Some(seconds) => Ok(IteratorStart::AtTimestamp(
                (seconds * 1000.0).floor().max(0.0) as u64,
            )),
            None => Err(ApiError::invalid_argument(
                "Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. \
                 Current request has no timestamp parameter.",
            )),
        },
        _ => Err(combination("no")),
    }
}

pub(super) fn get_records(store: &Store, req: &Request<'_>) -> Result<Value, ApiError> {
    let mut checks = Checks::default();
    let iterator = checks.required(req.opt_str("ShardIterator")?, "ShardIterator", |v, m| {
        let len = v.chars().count() as u64;
        validate::range(len, m, 1, 512)
            .into_iter()
            .map(|f| f.replace("Member must have value", "Member must have length"))
            .map(|f| f.replace(&format!("Value '{len}'"), &format!("Value '{v}'")))
            .collect()
    });
    let limit = req.opt_u64("Limit")?;
    checks.range(limit, "Limit", 1, 10_000);
    checks.finish()?;
    let limit = limit.map(|l| u32::try_from(l).unwrap_or(u32::MAX));
    let page = streams::get_records(store, iterator, limit)?;
    // Built member by member, moving the strings: a page is up to 10,000
    // records, and `json!` on borrowed fields cloned each of them.
    let records: Vec<Value> = page
        .records
        .into_iter()
        .map(|r| {
            let mut record = Map::with_capacity(4);
            record.insert("SequenceNumber".into(), Value::String(r.sequence_number));
            record.insert(
                "ApproximateArrivalTimestamp".into(),
                epoch_seconds(r.arrival_ms),
            );
            record.insert("Data".into(), Value::String(STANDARD.encode(&r.data)));
            record.insert("PartitionKey".into(), Value::String(r.partition_key));
            Value::Object(record)
        })
        .collect();
    Ok(object([
        ("Records", Value::Array(records)),
        ("NextShardIterator", Value::String(page.next_shard_iterator)),
        ("MillisBehindLatest", Value::from(page.millis_behind_latest)),
    ]))
}
