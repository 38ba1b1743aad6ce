//! Writing change records: every item change on a table whose change stream is
//! enabled appends one record to the stream's log in the same write job as the
//! item change, so a change is never lost or reported without its write.
//!
//! The record's data is the record as DynamoDB Streams' GetRecords and Lambda
//! show it, in JSON: eventID, eventName, eventVersion, eventSource, awsRegion,
//! eventSourceARN and `dynamodb` {ApproximateCreationDateTime, Keys, NewImage,
//! OldImage, SequenceNumber, SizeBytes, StreamViewType}.

use md5::{Digest, Md5};
use serde_json::{Map, Value, json};

use super::meta::{ChangeStream, TableMeta};
use crate::error::Result;
use crate::records::{self, SequenceFormat};
use crate::schema::LOG_HEADS;
use crate::value::Item;
use crate::value::json::item_to_json;
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
    let data = event_json(meta, stream, event, keys, old, new, sequence, ctx.now_ms);
    let bytes = serde_json::to_vec(&data)
        .map_err(|e| crate::StoreError::Storage(format!("cannot encode a change record: {e}")))?;
    let (appended, _) = records::append(ctx, stream.log, CHANGE_SHARD, "", &bytes)?;
    debug_assert_eq!(appended, sequence);
    Ok(Some(appended))
}

/// The record as JSON.
#[allow(clippy::too_many_arguments)]
fn event_json(
    meta: &TableMeta,
    stream: &ChangeStream,
    event: EventName,
    keys: &Item,
    old: Option<&Item>,
    new: Option<&Item>,
    sequence: u64,
    now_ms: u64,
) -> Value {
    let view = stream.view_type;
    let mut size = item_size(keys);
    let mut body = Map::new();
    body.insert("ApproximateCreationDateTime".into(), json!(now_ms / 1000));
    body.insert("Keys".into(), item_to_json(keys));
    if let (true, Some(new)) = (view.has_new(), new) {
        size += item_size(new);
        body.insert("NewImage".into(), item_to_json(new));
    }
    if let (true, Some(old)) = (view.has_old(), old) {
        size += item_size(old);
        body.insert("OldImage".into(), item_to_json(old));
    }
    body.insert(
        "SequenceNumber".into(),
        json!(SequenceFormat::DynamoDb.format(sequence)),
    );
    body.insert("SizeBytes".into(), json!(size));
    body.insert("StreamViewType".into(), json!(view.as_str()));
    json!({
        "eventID": event_id(stream.log, sequence),
        "eventName": event.as_str(),
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": meta.region,
        "dynamodb": Value::Object(body),
        "eventSourceARN": meta.stream_arn(stream),
    })
}

/// A 32-hex-digit id, unique per (log, sequence) and so across all streams.
fn event_id(log: u64, sequence: u64) -> String {
    let mut hasher = Md5::new();
    hasher.update(log.to_be_bytes());
    hasher.update(sequence.to_be_bytes());
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_names_follow_the_images() {
        let a = Item::from([("k".to_string(), crate::AttributeValue::Null)]);
        let b = Item::new();
        assert_eq!(EventName::of(None, Some(&a)), Some(EventName::Insert));
        assert_eq!(EventName::of(Some(&a), Some(&b)), Some(EventName::Modify));
        assert_eq!(EventName::of(Some(&a), Some(&a)), None);
        assert_eq!(EventName::of(Some(&a), None), Some(EventName::Remove));
        assert_eq!(EventName::of(None, None), None);
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
