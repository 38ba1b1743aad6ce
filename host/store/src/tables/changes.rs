//! Writing change records: every item change on a table whose change stream is
//! enabled appends one record to the stream's log in the same write job as the
//! item change, so a change is never lost or reported without its write.
//!
//! The record's data is the record as DynamoDB Streams' GetRecords and Lambda
//! show it, in JSON: eventID, eventName, eventVersion, eventSource, awsRegion,
//! eventSourceARN and `dynamodb` {ApproximateCreationDateTime, Keys, NewImage,
//! OldImage, SequenceNumber, SizeBytes, StreamViewType}.

use md5::{Digest, Md5};
use serde::Serialize;

use super::meta::{ChangeStream, TableMeta};
use crate::error::Result;
use crate::records::{self, SequenceFormat};
use crate::schema::LOG_HEADS;
use crate::value::Item;
use crate::value::json_text::ItemJson;
use crate::value::size::item_size;
use crate::writer::WriteCtx;

/// The shard every change stream has (its only one).
pub const CHANGE_SHARD: u32 = 0;

/// What happened to an item (eventName).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventName {
    Insert,
    Modify,
    Remove,
}

impl EventName {
    /// `INSERT`, `MODIFY` or `REMOVE`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventName::Insert => "INSERT",
            EventName::Modify => "MODIFY",
            EventName::Remove => "REMOVE",
        }
    }

    /// The kind of change from `old` to `new`; `None` when nothing changed.
    pub fn of(old: Option<&Item>, new: Option<&Item>) -> Option<EventName> {
        match (old, new) {
            (None, Some(_)) => Some(EventName::Insert),
            (Some(a), Some(b)) if a != b => Some(EventName::Modify),
            (Some(_), None) => Some(EventName::Remove),
            _ => None,
        }
    }
}

/// Appends the change record for `old` → `new` of the item with key `keys` to
/// the table's enabled change stream. Does nothing when the table has no
/// enabled stream or nothing changed. Returns the record's sequence.
pub(crate) fn record_change(
    ctx: &mut WriteCtx<'_>,
    meta: &TableMeta,
    keys: &Item,
    old: Option<&Item>,
    new: Option<&Item>,
) -> Result<Option<u64>> {
    let (Some(stream), Some(event)) = (meta.enabled_stream(), EventName::of(old, new)) else {
        return Ok(None);
    };
    // `append` gives the next sequence after the head; the record names its own
    // sequence, so read it first (same transaction, so nothing can intervene).
    let sequence = {
        let heads = ctx.txn().open_table(LOG_HEADS)?;
        records::head(&heads, stream.log)?.saturating_add(1)
    };
    let arn = ctx.table_cache().stream_arn(meta, stream);
    let bytes = event_text(
        meta, stream, &arn, event, keys, old, new, sequence, ctx.now_ms,
    )?;
    let (appended, _) = records::append(ctx, stream.log, CHANGE_SHARD, "", &bytes)?;
    debug_assert_eq!(appended, sequence);
    Ok(Some(appended))
}

/// A change record as stored: the fields in the order Lambda shows them.
/// Serialised straight to text (the images through `ItemJson`), never through
/// a `serde_json::Value` tree: building that tree was a fifth of the CPU of a
/// write-heavy workload on a table with a stream.
#[derive(Serialize)]
struct ChangeEvent<'a> {
    #[serde(rename = "eventID")]
    event_id: &'a str,
    #[serde(rename = "eventName")]
    event_name: &'static str,
    #[serde(rename = "eventVersion")]
    event_version: &'static str,
    #[serde(rename = "eventSource")]
    event_source: &'static str,
    #[serde(rename = "awsRegion")]
    aws_region: &'a str,
    dynamodb: ChangeBody<'a>,
    #[serde(rename = "eventSourceARN")]
    event_source_arn: &'a str,
}

/// The `dynamodb` member of a change record.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ChangeBody<'a> {
    approximate_creation_date_time: u64,
    keys: ItemJson<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    new_image: Option<ItemJson<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    old_image: Option<ItemJson<'a>>,
    sequence_number: &'a str,
    size_bytes: usize,
    stream_view_type: &'static str,
}

/// The record's stored text (compact JSON).
#[allow(clippy::too_many_arguments)]
fn event_text(
    meta: &TableMeta,
    stream: &ChangeStream,
    arn: &str,
    event: EventName,
    keys: &Item,
    old: Option<&Item>,
    new: Option<&Item>,
    sequence: u64,
    now_ms: u64,
) -> Result<Vec<u8>> {
    let view = stream.view_type;
    let new = new.filter(|_| view.has_new());
    let old = old.filter(|_| view.has_old());
    let size = [Some(keys), new, old]
        .into_iter()
        .flatten()
        .map(item_size)
        .sum();
    let event_id = event_id(stream.log, sequence);
    let sequence_number = SequenceFormat::DynamoDb.format(sequence);
    let record = ChangeEvent {
        event_id: &event_id,
        event_name: event.as_str(),
        event_version: "1.1",
        event_source: "aws:dynamodb",
        aws_region: &meta.region,
        dynamodb: ChangeBody {
            approximate_creation_date_time: now_ms / 1000,
            keys: ItemJson(keys),
            new_image: new.map(ItemJson),
            old_image: old.map(ItemJson),
            sequence_number: &sequence_number,
            size_bytes: size,
            stream_view_type: view.as_str(),
        },
        event_source_arn: arn,
    };
    serde_json::to_vec(&record)
        .map_err(|e| crate::StoreError::Storage(format!("cannot encode a change record: {e}")))
}

/// A 32-hex-digit id, unique per (log, sequence) and so across all streams.
fn event_id(log: u64, sequence: u64) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut hasher = Md5::new();
    hasher.update(log.to_be_bytes());
    hasher.update(sequence.to_be_bytes());
    let mut id = String::with_capacity(32);
    for byte in hasher.finalize() {
        id.push(char::from(HEX[usize::from(byte >> 4)]));
        id.push(char::from(HEX[usize::from(byte & 0xf)]));
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AttributeValue;
    use crate::tables::meta::{BillingMode, KeyAttr, StreamViewType};
    use crate::value::keys::KeyType;

    #[test]
    fn event_names_follow_the_images() {
        let a = Item::from([("k".to_string(), AttributeValue::Null)]);
        let b = Item::new();
        assert_eq!(EventName::of(None, Some(&a)), Some(EventName::Insert));
        assert_eq!(EventName::of(Some(&a), Some(&b)), Some(EventName::Modify));
        assert_eq!(EventName::of(Some(&a), Some(&a)), None);
        assert_eq!(EventName::of(Some(&a), None), Some(EventName::Remove));
        assert_eq!(EventName::of(None, None), None);
    }

    fn meta(view_type: StreamViewType) -> (TableMeta, ChangeStream) {
        let stream = ChangeStream {
            log: 7,
            view_type,
            created_ms: 1_700_000_000_123,
            closed_ms: None,
            closed_at_sequence: 0,
        };
        let meta = TableMeta {
            name: "T".into(),
            id: 1,
            arn: "arn:aws:dynamodb:r:1:table/T".into(),
            region: "r".into(),
            partition_key: KeyAttr {
                name: "k".into(),
                key_type: KeyType::S,
            },
            sort_key: None,
            created_ms: 0,
            billing: BillingMode::PayPerRequest,
            streams: vec![stream.clone()],
        };
        (meta, stream)
    }

    /// The stored text is exactly what printing Lambda's record as a JSON
    /// tree gives (field order included): readers take it as it is.
    #[test]
    fn records_are_stored_as_lambda_shows_them() {
        let (meta, stream) = meta(StreamViewType::NewAndOldImages);
        let keys = Item::from([("k".to_string(), AttributeValue::S("a".into()))]);
        let mut new = keys.clone();
        new.insert("n".into(), AttributeValue::N("5".parse().unwrap()));
        let text = event_text(
            &meta,
            &stream,
            &meta.stream_arn(&stream),
            EventName::Modify,
            &keys,
            Some(&keys),
            Some(&new),
            3,
            1_700_000_001_999,
        )
        .unwrap();
        let expected = serde_json::json!({
            "eventID": event_id(7, 3),
            "eventName": "MODIFY",
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": "r",
            "dynamodb": {
                "ApproximateCreationDateTime": 1_700_000_001u64,
                "Keys": {"k": {"S": "a"}},
                "NewImage": {"k": {"S": "a"}, "n": {"N": "5"}},
                "OldImage": {"k": {"S": "a"}},
                "SequenceNumber": SequenceFormat::DynamoDb.format(3),
                "SizeBytes": item_size(&keys) * 2 + item_size(&new),
                "StreamViewType": "NEW_AND_OLD_IMAGES",
            },
            "eventSourceARN": meta.stream_arn(&stream),
        });
        assert_eq!(text, serde_json::to_vec(&expected).unwrap());
    }

    #[test]
    fn images_outside_the_view_are_left_out() {
        let (meta, stream) = meta(StreamViewType::KeysOnly);
        let keys = Item::from([("k".to_string(), AttributeValue::S("a".into()))]);
        let text = event_text(
            &meta,
            &stream,
            "arn",
            EventName::Insert,
            &keys,
            None,
            Some(&keys),
            1,
            0,
        )
        .unwrap();
        let value: serde_json::Value = serde_json::from_slice(&text).unwrap();
        let body = value["dynamodb"].as_object().unwrap();
        assert!(!body.contains_key("NewImage") && !body.contains_key("OldImage"));
        assert_eq!(body["SizeBytes"], serde_json::json!(item_size(&keys)));
    }

    #[test]
    fn event_ids_are_distinct_hex() {
        let a = event_id(1, 1);
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(a, event_id(1, 2));
        assert_ne!(a, event_id(2, 1));
    }
}
