//! Writing change records: every item change on a table whose change stream is
//! enabled appends one record to the stream's log in the same write job as the
//! item change, so a change is never lost or reported without its write.
//!
//! The record is stored compactly (see `change_format`); readers render it as
//! DynamoDB Streams' GetRecords and Lambda show it.

use super::change_format::Change;
use super::key::key_attrs_of;
use super::meta::{ChangeStream, TableMeta};
use crate::error::Result;
use crate::records;
use crate::value::Item;
use crate::value::codec::encode_item;
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
}

/// Appends the change record of an item going from `old` to `new` (with its
/// encoded bytes and size, as the items table stores them) to the table's
/// enabled change stream. The caller has checked that the item changed. Does
/// nothing when the table has no enabled stream or both images are absent.
/// Returns the record's sequence.
pub(crate) fn record_change(
    ctx: &mut WriteCtx<'_>,
    meta: &TableMeta,
    old: Option<&Item>,
    new: Option<(&Item, (&[u8], usize))>,
) -> Result<Option<u64>> {
    let (event, image) = match (old, new) {
        (None, Some((new, _))) => (EventName::Insert, new),
        (Some(_), Some((new, _))) => (EventName::Modify, new),
        (Some(old), None) => (EventName::Remove, old),
        (None, None) => return Ok(None),
    };
    let Some(stream) = meta.enabled_stream() else {
        return Ok(None);
    };
    // The key attributes, from the image (which holds them): only here,
    // where a record is written, are they worth copying.
    let keys = key_attrs_of(meta, image);
    let new = new.map(|(_, stored)| stored);
    let bytes = stored_change(stream, event, &keys, old, new, ctx.now_ms);
    let (appended, _) = records::append(ctx, stream.log, CHANGE_SHARD, "", &bytes)?;
    Ok(Some(appended))
}

/// The record as stored (see `change_format`): the keys and the images the
/// stream's view type carries.
fn stored_change(
    stream: &ChangeStream,
    event: EventName,
    keys: &Item,
    old: Option<&Item>,
    new: Option<(&[u8], usize)>,
    now_ms: u64,
) -> Vec<u8> {
    let view = stream.view_type;
    let new = new.filter(|_| view.has_new());
    let old = old.filter(|_| view.has_old());
    let key_bytes = encode_item(keys);
    let old_bytes = old.map(encode_item);
    let size = item_size(keys) + new.map_or(0, |(_, size)| size) + old.map_or(0, item_size);
    let change = Change {
        event,
        view_type: view,
        created_s: now_ms / 1000,
        // At most three items of 400 KB each.
        size_bytes: u32::try_from(size).unwrap_or(u32::MAX),
        keys: &key_bytes,
        new_image: new.map(|(bytes, _)| bytes),
        old_image: old_bytes.as_deref(),
    };
    change.encode()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AttributeValue;
    use crate::records::SequenceFormat;
    use crate::tables::change_format::{event_id, lambda_json};
    use crate::tables::meta::StreamViewType;

    fn stream(view_type: StreamViewType) -> ChangeStream {
        ChangeStream {
            log: 7,
            view_type,
            created_ms: 1_700_000_000_123,
            closed_ms: None,
            closed_at_sequence: 0,
        }
    }

    /// What a reader renders from the stored record is Lambda's record.
    #[test]
    fn records_render_as_lambda_shows_them() {
        let stream = stream(StreamViewType::NewAndOldImages);
        let keys = Item::from([("k".to_string(), AttributeValue::S("a".into()))]);
        let mut new = keys.clone();
        new.insert("n".into(), AttributeValue::N("5".parse().unwrap()));
        let new_bytes = encode_item(&new);
        let bytes = stored_change(
            &stream,
            EventName::Modify,
            &keys,
            Some(&keys),
            Some((&new_bytes, item_size(&new))),
            1_700_000_001_999,
        );
        let arn = "arn:aws:dynamodb:r:1:table/T/stream/L";
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
            "eventSourceARN": arn,
        });
        assert_eq!(lambda_json(&bytes, 7, 3, arn, true).unwrap(), expected);
    }

    #[test]
    fn images_outside_the_view_are_left_out() {
        let keys = Item::from([("k".to_string(), AttributeValue::S("a".into()))]);
        let key_bytes = encode_item(&keys);
        let bytes = stored_change(
            &stream(StreamViewType::KeysOnly),
            EventName::Insert,
            &keys,
            None,
            Some((&key_bytes, item_size(&keys))),
            0,
        );
        let value = lambda_json(&bytes, 7, 1, "arn", false).unwrap();
        let body = value["dynamodb"].as_object().unwrap();
        assert!(!body.contains_key("NewImage") && !body.contains_key("OldImage"));
        assert_eq!(body["SizeBytes"], serde_json::json!(item_size(&keys)));
    }
}
