//! How a change record is stored: compact and ready to hand on.
//!
//! A record holds what varies from record to record — the kind of change,
//! its time, its size, and the key and images as the items table encodes
//! them — and nothing a reader knows already: the stream's ARN and region,
//! the event source and version, the sequence number (the record's key) and
//! the eventID (derived from the log and sequence). Readers render the
//! images straight from their stored bytes to DynamoDB JSON text
//! (`render_item_json`), so a trigger's batch is built without parsing JSON.
//!
//! Why not Lambda's JSON, as stored until session 6: at ~570 bytes for a lab
//! record, reading and parsing it was ~16% of a trigger's CPU, and most of it
//! repeated the same ARN, region and source in every record.
//!
//! Layout (integers little-endian):
//! `FORMAT` | event name (1 INSERT, 2 MODIFY, 3 REMOVE) | view type (0..3) |
//! creation time, whole seconds (u64) | SizeBytes (u32) | then the keys, the
//! new image and the old image, each as a length (u32; `ABSENT` for an image
//! the record does not carry) and the item's encoded bytes.
//!
//! Records stored as JSON by earlier versions begin with `{` and are still
//! read (`Stored::Json`).

use md5::{Digest, Md5};
use serde_json::{Map, Value, json};

use super::changes::EventName;
use super::meta::StreamViewType;
use crate::error::{Result, StoreError};
use crate::records::SequenceFormat;
use crate::value::codec::{decode_item, render_item_json};
use crate::value::json::item_to_json;

/// The first byte of a record in this format (a JSON record begins with `{`).
pub const FORMAT: u8 = 0xC1;
/// The length that marks an image the record does not carry.
const ABSENT: u32 = u32::MAX;
/// Bytes before the keys: format, event, view, time, size.
const HEADER: usize = 1 + 1 + 1 + 8 + 4;

/// One change record, its images as the items table encodes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change<'a> {
    pub event: EventName,
    pub view_type: StreamViewType,
    /// ApproximateCreationDateTime: whole seconds since the epoch.
    pub created_s: u64,
    /// SizeBytes: the keys and the images carried, as DynamoDB counts them.
    pub size_bytes: u32,
    pub keys: &'a [u8],
    pub new_image: Option<&'a [u8]>,
    pub old_image: Option<&'a [u8]>,
}

/// A stored record, as read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored<'a> {
    Change(Change<'a>),
    /// A record an earlier version stored as Lambda's JSON text.
    Json(&'a [u8]),
}

fn corrupt(sequence: u64, why: impl std::fmt::Display) -> StoreError {
    StoreError::Storage(format!("corrupt change record {sequence}: {why}"))
}

impl Change<'_> {
    /// The stored form.
    pub fn encode(&self) -> Vec<u8> {
        let images = [Some(self.keys), self.new_image, self.old_image];
        let len: usize = images.iter().flatten().map(|b| b.len()).sum();
        let mut out = Vec::with_capacity(HEADER + 12 + len);
        out.push(FORMAT);
        out.push(match self.event {
            EventName::Insert => 1,
            EventName::Modify => 2,
            EventName::Remove => 3,
        });
        out.push(match self.view_type {
            StreamViewType::KeysOnly => 0,
            StreamViewType::NewImage => 1,
            StreamViewType::OldImage => 2,
            StreamViewType::NewAndOldImages => 3,
        });
        out.extend_from_slice(&self.created_s.to_le_bytes());
        out.extend_from_slice(&self.size_bytes.to_le_bytes());
        for image in images {
            match image {
                // An item is at most 400 KB, far below ABSENT.
                Some(bytes) => {
                    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
                    out.extend_from_slice(bytes);
                }
                None => out.extend_from_slice(&ABSENT.to_le_bytes()),
            }
        }
        out
    }
}

impl<'a> Stored<'a> {
    /// Reads stored record `sequence`. Fails on damaged bytes (the images
    /// themselves are checked when rendered).
    pub fn decode(sequence: u64, bytes: &'a [u8]) -> Result<Stored<'a>> {
        match bytes.first() {
            Some(&FORMAT) => decode_change(sequence, bytes).map(Stored::Change),
            Some(b'{') => Ok(Stored::Json(bytes)),
            _ => Err(corrupt(sequence, "unknown format")),
        }
    }
}

fn decode_change(sequence: u64, bytes: &[u8]) -> Result<Change<'_>> {
    let short = || corrupt(sequence, "truncated");
    let header = bytes.get(..HEADER).ok_or_else(short)?;
    let event = match header[1] {
        1 => EventName::Insert,
        2 => EventName::Modify,
        3 => EventName::Remove,
        other => return Err(corrupt(sequence, format!("event kind {other}"))),
    };
    let view_type = match header[2] {
        0 => StreamViewType::KeysOnly,
        1 => StreamViewType::NewImage,
        2 => StreamViewType::OldImage,
        3 => StreamViewType::NewAndOldImages,
        other => return Err(corrupt(sequence, format!("view type {other}"))),
    };
    let created_s = u64::from_le_bytes(header[3..11].try_into().map_err(|_| short())?);
    let size_bytes = u32::from_le_bytes(header[11..15].try_into().map_err(|_| short())?);
    let mut rest = &bytes[HEADER..];
    let mut image = || -> Result<Option<&[u8]>> {
        let len = rest.get(..4).ok_or_else(short)?;
        let len = u32::from_le_bytes(len.try_into().map_err(|_| short())?);
        rest = &rest[4..];
        if len == ABSENT {
            return Ok(None);
        }
        let len = usize::try_from(len).map_err(|_| short())?;
        let (image, tail) = (rest.get(..len).ok_or_else(short)?, &rest[len..]);
        rest = tail;
        Ok(Some(image))
    };
    let keys = image()?.ok_or_else(|| corrupt(sequence, "no keys"))?;
    let (new_image, old_image) = (image()?, image()?);
    if !rest.is_empty() {
        return Err(corrupt(sequence, "trailing bytes"));
    }
    Ok(Change {
        event,
        view_type,
        created_s,
        size_bytes,
        keys,
        new_image,
        old_image,
    })
}

/// Item bytes as DynamoDB JSON text.
pub fn image_text(sequence: u64, bytes: &[u8]) -> Result<String> {
    let mut out = Vec::with_capacity(bytes.len() * 2);
    render_item_json(bytes, &mut out).map_err(|e| corrupt(sequence, e))?;
    String::from_utf8(out).map_err(|e| corrupt(sequence, e))
}

/// The record as Lambda's event shows it (DynamoDB Streams' GetRecords
/// shows the same without `eventSourceARN`: `with_arn` false). `log` and
/// `sequence` identify it; the region is `stream_arn`'s. A JSON record is
/// returned as stored (less its ARN without `with_arn`).
pub fn lambda_json(
    bytes: &[u8],
    log: u64,
    sequence: u64,
    stream_arn: &str,
    with_arn: bool,
) -> Result<Value> {
    let change = match Stored::decode(sequence, bytes)? {
        Stored::Change(change) => change,
        Stored::Json(text) => {
            let mut value: Value =
                serde_json::from_slice(text).map_err(|e| corrupt(sequence, e))?;
            if let (false, Some(map)) = (with_arn, value.as_object_mut()) {
                map.remove("eventSourceARN");
            }
            return Ok(value);
        }
    };
    let parse = |bytes: &[u8]| -> Result<Value> {
        let item = decode_item(bytes).map_err(|e| corrupt(sequence, e))?;
        Ok(item_to_json(&item))
    };
    let mut body = Map::new();
    body.insert(
        "ApproximateCreationDateTime".into(),
        change.created_s.into(),
    );
    body.insert("Keys".into(), parse(change.keys)?);
    if let Some(image) = change.new_image {
        body.insert("NewImage".into(), parse(image)?);
    }
    if let Some(image) = change.old_image {
        body.insert("OldImage".into(), parse(image)?);
    }
    body.insert(
        "SequenceNumber".into(),
        SequenceFormat::DynamoDb.format(sequence).into(),
    );
    body.insert("SizeBytes".into(), change.size_bytes.into());
    body.insert("StreamViewType".into(), change.view_type.as_str().into());
    let mut record = json!({
        "eventID": event_id(log, sequence),
        "eventName": change.event.as_str(),
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": stream_arn.split(':').nth(3).unwrap_or_default(),
        "dynamodb": body,
    });
    if let (true, Some(map)) = (with_arn, record.as_object_mut()) {
        map.insert("eventSourceARN".into(), stream_arn.into());
    }
    Ok(record)
}

/// A 32-hex-digit eventID, unique per (log, sequence) and so across all
/// streams.
pub fn event_id(log: u64, sequence: u64) -> String {
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
    use crate::value::codec::encode_item;
    use crate::value::json::item_to_json;
    use crate::{Item, value::size::item_size};

    fn item(pairs: &[(&str, &str)]) -> Item {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), AttributeValue::S(v.to_string())))
            .collect()
    }

    #[test]
    fn a_record_reads_back_as_stored_and_renders_as_lambda_shows_it() {
        let keys = item(&[("k", "a")]);
        let new = item(&[("k", "a"), ("text", "quote \" newline \n é")]);
        let old = item(&[("k", "a"), ("text", "before")]);
        let (kb, nb, ob) = (encode_item(&keys), encode_item(&new), encode_item(&old));
        let size = item_size(&keys) + item_size(&new) + item_size(&old);
        let change = Change {
            event: EventName::Modify,
            view_type: StreamViewType::NewAndOldImages,
            created_s: 1_700_000_001,
            size_bytes: size as u32,
            keys: &kb,
            new_image: Some(&nb),
            old_image: Some(&ob),
        };
        let bytes = change.encode();
        assert_eq!(Stored::decode(3, &bytes).unwrap(), Stored::Change(change));
        let arn = "arn:aws:dynamodb:eu-west-1:000000000000:table/T/stream/2024-01-01T00:00:00.000";
        let expected = json!({
            "eventID": event_id(7, 3),
            "eventName": "MODIFY",
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": "eu-west-1",
            "dynamodb": {
                "ApproximateCreationDateTime": 1_700_000_001u64,
                "Keys": item_to_json(&keys),
                "NewImage": item_to_json(&new),
                "OldImage": item_to_json(&old),
                "SequenceNumber": SequenceFormat::DynamoDb.format(3),
                "SizeBytes": size,
                "StreamViewType": "NEW_AND_OLD_IMAGES",
            },
            "eventSourceARN": arn,
        });
        assert_eq!(lambda_json(&bytes, 7, 3, arn, true).unwrap(), expected);
        let mut without = expected.clone();
        without.as_object_mut().unwrap().remove("eventSourceARN");
        assert_eq!(lambda_json(&bytes, 7, 3, arn, false).unwrap(), without);
        assert_eq!(image_text(3, &nb).unwrap(), item_to_json(&new).to_string());
    }

    /// A REMOVE record of a KEYS_ONLY stream, with keys `kb`.
    fn keys_only(kb: &[u8]) -> Change<'_> {
        Change {
            event: EventName::Remove,
            view_type: StreamViewType::KeysOnly,
            created_s: 0,
            size_bytes: 2,
            keys: kb,
            new_image: None,
            old_image: None,
        }
    }

    #[test]
    fn images_a_record_does_not_carry_stay_absent() {
        let kb = encode_item(&item(&[("k", "a")]));
        let bytes = keys_only(&kb).encode();
        let value = lambda_json(&bytes, 1, 1, "arn:aws:dynamodb:r:a:table/T/stream/L", true);
        let body = value.unwrap()["dynamodb"].as_object().unwrap().clone();
        assert!(!body.contains_key("NewImage") && !body.contains_key("OldImage"));
    }

    #[test]
    fn damaged_records_fail_with_their_sequence_and_never_panic() {
        let kb = encode_item(&item(&[("k", "a")]));
        let change = Change {
            event: EventName::Insert,
            view_type: StreamViewType::NewImage,
            created_s: 5,
            new_image: Some(&kb),
            ..keys_only(&kb)
        };
        let bytes = change.encode();
        for cut in 0..bytes.len() {
            assert!(Stored::decode(9, &bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(Stored::decode(9, &trailing).is_err());
        for at in 0..bytes.len() {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut damaged = bytes.clone();
                damaged[at] ^= flip;
                // Either it fails cleanly or it decodes into something a
                // render then checks; nothing panics.
                if let Ok(Stored::Change(c)) = Stored::decode(9, &damaged) {
                    let _ = lambda_json(&damaged, 1, 9, "arn", true);
                    let _ = image_text(9, c.keys);
                }
            }
        }
        let err = Stored::decode(9, b"\x00").unwrap_err().to_string();
        assert!(err.contains("change record 9"), "{err}");
    }

    #[test]
    fn json_records_of_earlier_versions_are_still_read() {
        let stored = json!({"eventID": "x", "eventName": "INSERT", "eventSourceARN": "arn",
            "dynamodb": {"Keys": {"k": {"S": "a"}}}});
        let bytes = serde_json::to_vec(&stored).unwrap();
        assert_eq!(lambda_json(&bytes, 1, 1, "other", true).unwrap(), stored);
        let read = lambda_json(&bytes, 1, 1, "other", false).unwrap();
        assert!(read.get("eventSourceARN").is_none());
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
