//! The on-disk encoding of items (the values of the items table).
//!
//! Compact and self-describing, read on every GetItem/Query:
//!
//! ```text
//! item    = VERSION count (name value)*      names sorted (BTreeMap order)
//! value   = tag payload
//!   S, B  = len bytes          N = len normalised-text      BOOL/NULL: tag only
//!   M     = count (name value)*                L = count value*
//!   SS/BS = count (len bytes)*                 NS = count (len text)*
//! count, len = unsigned LEB128 varint;  name = len UTF-8
//! ```
//!
//! Decoding checks everything (UTF-8, numbers, lengths, nesting, trailing bytes)
//! and reports damage as [`StoreError::Storage`]; it never panics and never
//! allocates more than the input could hold.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::Value as JsonValue;

use super::size::number_size;
use super::{AttributeValue, Item, Number};
use crate::error::{Result, StoreError};

/// The format version, first byte of every encoded item.
pub const VERSION: u8 = 1;

/// Deeper documents than this are corrupt: DynamoDB allows 32 levels, and the
/// limit keeps decoding's recursion bounded.
const MAX_DEPTH: usize = 64;

mod tag {
    pub const S: u8 = 1;
    pub const N: u8 = 2;
    pub const B: u8 = 3;
    pub const FALSE: u8 = 4;
    pub const TRUE: u8 = 5;
    pub const NULL: u8 = 6;
    pub const M: u8 = 7;
    pub const L: u8 = 8;
    pub const SS: u8 = 9;
    pub const NS: u8 = 10;
    pub const BS: u8 = 11;
}

/// Encodes an item for storage.
pub fn encode_item(item: &Item) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.push(VERSION);
    put_map(&mut out, item);
    out
}

/// Decodes an item written by [`encode_item`].
pub fn decode_item(bytes: &[u8]) -> Result<Item> {
    decode::<Model>(bytes)
}

/// Decodes an item written by [`encode_item`] straight to DynamoDB JSON, with
/// its size as [`item_size`](super::size::item_size) counts it: what Scan and Query pages need,
/// without building the item first (the same checks as [`decode_item`]).
pub fn decode_item_json(bytes: &[u8]) -> Result<(JsonValue, usize)> {
    let (map, size) = decode::<Json>(bytes)?;
    Ok((JsonValue::Object(map), size))
}

fn decode<B: Build>(bytes: &[u8]) -> Result<B::Map> {
    let mut reader = Reader { bytes, pos: 0 };
    match reader.byte()? {
        VERSION => {}
        other => return Err(corrupt(format!("unknown item format version {other}"))),
    }
    let item = reader.map::<B>(0)?;
    if reader.pos != bytes.len() {
        return Err(corrupt(format!(
            "{} trailing bytes after the item",
            bytes.len() - reader.pos
        )));
    }
    Ok(item)
}

/// Encodes one value (without version byte); deterministic, so usable as bytes
/// that identify the value.
pub fn encode_value(value: &AttributeValue) -> Vec<u8> {
    let mut out = Vec::with_capacity(16);
    put_value(&mut out, value);
    out
}

fn put_varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn put_number(out: &mut Vec<u8>, n: &Number) {
    put_bytes(out, n.to_string().as_bytes());
}

fn put_map(out: &mut Vec<u8>, map: &BTreeMap<String, AttributeValue>) {
    put_varint(out, map.len() as u64);
    for (name, value) in map {
        put_bytes(out, name.as_bytes());
        put_value(out, value);
    }
}

fn put_value(out: &mut Vec<u8>, value: &AttributeValue) {
    match value {
        AttributeValue::S(s) => {
            out.push(tag::S);
            put_bytes(out, s.as_bytes());
        }
        AttributeValue::N(n) => {
            out.push(tag::N);
            put_number(out, n);
        }
        AttributeValue::B(b) => {
            out.push(tag::B);
            put_bytes(out, b);
        }
        AttributeValue::Bool(b) => out.push(if *b { tag::TRUE } else { tag::FALSE }),
        AttributeValue::Null => out.push(tag::NULL),
        AttributeValue::M(map) => {
            out.push(tag::M);
            put_map(out, map);
        }
        AttributeValue::L(list) => {
            out.push(tag::L);
            put_varint(out, list.len() as u64);
            list.iter().for_each(|v| put_value(out, v));
        }
        AttributeValue::SS(set) => {
            out.push(tag::SS);
            put_varint(out, set.len() as u64);
            set.iter().for_each(|s| put_bytes(out, s.as_bytes()));
        }
        AttributeValue::NS(set) => {
            out.push(tag::NS);
            put_varint(out, set.len() as u64);
            set.iter().for_each(|n| put_number(out, n));
        }
        AttributeValue::BS(set) => {
            out.push(tag::BS);
            put_varint(out, set.len() as u64);
            set.iter().for_each(|b| put_bytes(out, b));
        }
    }
}

fn corrupt(what: String) -> StoreError {
    StoreError::Storage(format!("corrupt item: {what}"))
}

/// A bounds-checked cursor over encoded bytes.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8> {
        let b = *self
            .bytes
            .get(self.pos)
            .ok_or_else(|| corrupt("unexpected end of data".to_string()))?;
        self.pos += 1;
        Ok(b)
    }

    fn varint(&mut self) -> Result<u64> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            n |= u64::from(b & 0x7f)
                .checked_shl(shift)
                .filter(|v| v >> shift == u64::from(b & 0x7f))
                .ok_or_else(|| corrupt("varint overflows 64 bits".to_string()))?;
            if b & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err(corrupt("varint longer than 10 bytes".to_string()))
    }

    /// A count of following elements; each takes at least one byte, so a count
    /// beyond the remaining bytes is corrupt (and never drives an allocation).
    fn count(&mut self) -> Result<usize> {
        let n = self.varint()?;
        let remaining = self.bytes.len() - self.pos;
        usize::try_from(n)
            .ok()
            .filter(|&n| n <= remaining)
            .ok_or_else(|| corrupt(format!("count {n} exceeds the {remaining} bytes left")))
    }

    fn slice(&mut self) -> Result<&'a [u8]> {
        let len = self.count()?;
        let slice = &self.bytes[self.pos..self.pos + len];
        self.pos += len;
        Ok(slice)
    }

    fn string(&mut self) -> Result<String> {
        let slice = self.slice()?;
        std::str::from_utf8(slice)
            .map(str::to_owned)
            .map_err(|e| corrupt(format!("invalid UTF-8: {e}")))
    }

    fn list_of<T>(&mut self, mut element: impl FnMut(&mut Self) -> Result<T>) -> Result<Vec<T>> {
        let count = self.count()?;
        let mut out = Vec::with_capacity(count);
        for _ in 0..count {
            out.push(element(self)?);
        }
        Ok(out)
    }

    /// A number with its stored (normalised) text.
    fn number_text(&mut self) -> Result<(Number, &'a str)> {
        let slice = self.slice()?;
        std::str::from_utf8(slice)
            .ok()
            .and_then(|text| Some((Number::parse(text).ok()?, text)))
            .ok_or_else(|| {
                corrupt(format!(
                    "invalid number {:?}",
                    String::from_utf8_lossy(slice)
                ))
            })
    }

    fn map<B: Build>(&mut self, depth: usize) -> Result<B::Map> {
        let count = self.count()?;
        let mut map = B::map(count);
        for _ in 0..count {
            let name = self.string()?;
            let value = self.value::<B>(depth + 1)?;
            if !B::insert(&mut map, name, value) {
                return Err(corrupt("duplicate attribute name".to_string()));
            }
        }
        Ok(map)
    }

    fn value<B: Build>(&mut self, depth: usize) -> Result<B::Value> {
        if depth > MAX_DEPTH {
            return Err(corrupt(format!("nested deeper than {MAX_DEPTH} levels")));
        }
        Ok(match self.byte()? {
            tag::S => B::s(self.string()?),
            tag::N => B::n(self.number_text()?),
            tag::B => B::b(self.slice()?),
            tag::FALSE => B::bool(false),
            tag::TRUE => B::bool(true),
            tag::NULL => B::null(),
            tag::M => B::m(self.map::<B>(depth)?),
            tag::L => B::l(self.list_of(|r| r.value::<B>(depth + 1))?),
            tag::SS => B::ss(self.list_of(Self::string)?),
            tag::NS => B::ns(self.list_of(Self::number_text)?),
            tag::BS => B::bs(self.list_of(Self::slice)?),
            other => return Err(corrupt(format!("unknown value tag {other}"))),
        })
    }
}

/// What decoding builds from the encoded form: one walk of the bytes (with all
/// its checks) serves both the item model and DynamoDB JSON.
trait Build {
    type Value;
    type Map;
    fn map(capacity: usize) -> Self::Map;
    /// Adds an attribute; false if the name was already there.
    fn insert(map: &mut Self::Map, name: String, value: Self::Value) -> bool;
    fn s(text: String) -> Self::Value;
    fn n(number: (Number, &str)) -> Self::Value;
    fn b(bytes: &[u8]) -> Self::Value;
    fn bool(value: bool) -> Self::Value;
    fn null() -> Self::Value;
    fn m(map: Self::Map) -> Self::Value;
    fn l(list: Vec<Self::Value>) -> Self::Value;
    fn ss(set: Vec<String>) -> Self::Value;
    fn ns(set: Vec<(Number, &str)>) -> Self::Value;
    fn bs(set: Vec<&[u8]>) -> Self::Value;
}

/// Builds `AttributeValue`s.
struct Model;

impl Build for Model {
    type Value = AttributeValue;
    type Map = BTreeMap<String, AttributeValue>;

    fn map(_: usize) -> Self::Map {
        BTreeMap::new()
    }
    fn insert(map: &mut Self::Map, name: String, value: AttributeValue) -> bool {
        map.insert(name, value).is_none()
    }
    fn s(text: String) -> AttributeValue {
        AttributeValue::S(text)
    }
    fn n((number, _): (Number, &str)) -> AttributeValue {
        AttributeValue::N(number)
    }
    fn b(bytes: &[u8]) -> AttributeValue {
        AttributeValue::B(bytes.to_vec())
    }
    fn bool(value: bool) -> AttributeValue {
        AttributeValue::Bool(value)
    }
    fn null() -> AttributeValue {
        AttributeValue::Null
    }
    fn m(map: Self::Map) -> AttributeValue {
        AttributeValue::M(map)
    }
    fn l(list: Vec<AttributeValue>) -> AttributeValue {
        AttributeValue::L(list)
    }
    fn ss(set: Vec<String>) -> AttributeValue {
        AttributeValue::SS(set)
    }
    fn ns(set: Vec<(Number, &str)>) -> AttributeValue {
        AttributeValue::NS(set.into_iter().map(|(n, _)| n).collect())
    }
    fn bs(set: Vec<&[u8]>) -> AttributeValue {
        AttributeValue::BS(set.into_iter().map(<[u8]>::to_vec).collect())
    }
}

/// Builds DynamoDB JSON (exactly what `json::item_to_json` gives for the
/// decoded item), with each value's size as `size` counts it.
struct Json;

/// A JSON object and the DynamoDB size of its attributes.
type SizedMap = (serde_json::Map<String, JsonValue>, usize);

/// `{"TAG": inner}`.
fn tagged(tag: &str, inner: JsonValue) -> JsonValue {
    let mut map = serde_json::Map::with_capacity(1);
    map.insert(tag.to_string(), inner);
    JsonValue::Object(map)
}

impl Build for Json {
    type Value = (JsonValue, usize);
    type Map = SizedMap;

    fn map(capacity: usize) -> SizedMap {
        (serde_json::Map::with_capacity(capacity), 0)
    }
    fn insert((map, size): &mut SizedMap, name: String, (value, bytes): Self::Value) -> bool {
        *size += name.len() + bytes;
        map.insert(name, value).is_none()
    }
    fn s(text: String) -> Self::Value {
        let size = text.len();
        (tagged("S", JsonValue::String(text)), size)
    }
    fn n((number, text): (Number, &str)) -> Self::Value {
        (tagged("N", text.into()), number_size(&number))
    }
    fn b(bytes: &[u8]) -> Self::Value {
        (tagged("B", BASE64.encode(bytes).into()), bytes.len())
    }
    fn bool(value: bool) -> Self::Value {
        (tagged("BOOL", value.into()), 1)
    }
    fn null() -> Self::Value {
        (tagged("NULL", true.into()), 1)
    }
    fn m((map, size): SizedMap) -> Self::Value {
        let len = map.len();
        (tagged("M", JsonValue::Object(map)), 3 + len + size)
    }
    fn l(list: Vec<Self::Value>) -> Self::Value {
        let size = 3 + list.iter().map(|(_, s)| 1 + s).sum::<usize>();
        let list = list.into_iter().map(|(v, _)| v).collect();
        (tagged("L", JsonValue::Array(list)), size)
    }
    fn ss(set: Vec<String>) -> Self::Value {
        let size = set.iter().map(String::len).sum();
        let list = set.into_iter().map(JsonValue::String).collect();
        (tagged("SS", JsonValue::Array(list)), size)
    }
    fn ns(set: Vec<(Number, &str)>) -> Self::Value {
        let size = set.iter().map(|(n, _)| number_size(n)).sum();
        let list = set
            .into_iter()
            .map(|(_, text)| JsonValue::from(text))
            .collect();
        (tagged("NS", JsonValue::Array(list)), size)
    }
    fn bs(set: Vec<&[u8]>) -> Self::Value {
        let size = set.iter().map(|b| b.len()).sum();
        let list = set
            .into_iter()
            .map(|b| JsonValue::from(BASE64.encode(b)))
            .collect();
        (tagged("BS", JsonValue::Array(list)), size)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::value::testing::{arb_attribute_value, arb_item};

    fn sample() -> Item {
        Item::from([
            ("id".to_string(), AttributeValue::S("abc".into())),
            (
                "n".to_string(),
                AttributeValue::N(Number::parse("-12.50").unwrap()),
            ),
            ("flag".to_string(), AttributeValue::Bool(true)),
            ("nothing".to_string(), AttributeValue::Null),
            (
                "doc".to_string(),
                AttributeValue::M(Item::from([(
                    "l".to_string(),
                    AttributeValue::L(vec![
                        AttributeValue::B(vec![0, 255]),
                        AttributeValue::SS(vec!["".into()]),
                    ]),
                )])),
            ),
        ])
    }

    #[test]
    fn round_trips_a_sample() {
        let bytes = encode_item(&sample());
        assert_eq!(bytes[0], VERSION);
        assert_eq!(decode_item(&bytes).unwrap(), sample());
    }

    /// Pins the format: a change here means old data files no longer decode.
    #[test]
    fn format_is_stable() {
        let item = Item::from([
            ("a".to_string(), AttributeValue::S("hi".into())),
            (
                "b".to_string(),
                AttributeValue::N(Number::parse("1.50").unwrap()),
            ),
            ("c".to_string(), AttributeValue::Bool(false)),
        ]);
        assert_eq!(
            encode_item(&item),
            [
                1, 3, 1, b'a', 1, 2, b'h', b'i', 1, b'b', 2, 3, b'1', b'.', b'5', 1, b'c', 4
            ]
        );
    }

    #[test]
    fn rejects_corruption_as_storage_errors() {
        let good = encode_item(&sample());
        let cases: Vec<Vec<u8>> = vec![
            vec![],
            vec![2, 0],
            vec![1],
            [good.as_slice(), &[0]].concat(),
            vec![1, 1, 1, b'a', 99],
            vec![1, 1, 1, b'a', tag::S, 5, b'x'],
            vec![1, 1, 1, b'a', tag::S, 1, 0xff],
            vec![1, 1, 1, b'a', tag::N, 3, b'a', b'b', b'c'],
            vec![1, 2, 1, b'a', tag::NULL, 1, b'a', tag::NULL],
            vec![
                1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
            ],
            vec![1, 1, 1, b'a', tag::L, 0xff, 0xff, 0xff, 0xff, 0x0f],
        ];
        for bytes in cases {
            match decode_item(&bytes) {
                Err(StoreError::Storage(_)) => {}
                other => panic!("{bytes:?} decoded as {other:?}"),
            }
            match decode_item_json(&bytes) {
                Err(StoreError::Storage(_)) => {}
                other => panic!("{bytes:?} decoded to JSON as {other:?}"),
            }
        }
    }

    #[test]
    fn rejects_runaway_nesting() {
        let mut bytes = vec![1, 1, 1, b'a'];
        bytes.extend(std::iter::repeat_n([tag::L, 1], 10_000).flatten());
        bytes.push(tag::NULL);
        assert!(matches!(decode_item(&bytes), Err(StoreError::Storage(_))));
    }

    #[test]
    fn every_truncation_is_an_error() {
        let bytes = encode_item(&sample());
        for len in 0..bytes.len() {
            assert!(decode_item(&bytes[..len]).is_err(), "truncated to {len}");
        }
    }

    proptest! {
        #[test]
        fn items_round_trip(item in arb_item()) {
            prop_assert_eq!(decode_item(&encode_item(&item)).unwrap(), item);
        }

        #[test]
        fn json_decoding_matches_the_item_model(item in arb_item()) {
            let (json, size) = decode_item_json(&encode_item(&item)).unwrap();
            prop_assert_eq!(json, crate::value::json::item_to_json(&item));
            prop_assert_eq!(size, crate::value::size::item_size(&item));
        }

        #[test]
        fn values_encode_deterministically(a in arb_attribute_value(), b in arb_attribute_value()) {
            prop_assert_eq!(encode_value(&a) == encode_value(&b), a == b);
        }

        #[test]
        fn decoding_garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode_item(&bytes);
            let _ = decode_item_json(&bytes);
        }

        #[test]
        fn decoding_mutations_never_panics(item in arb_item(), at in any::<usize>(), byte in any::<u8>()) {
            let mut bytes = encode_item(&item);
            if !bytes.is_empty() {
                let i = at % bytes.len();
                bytes[i] = byte;
            }
            let _ = decode_item(&bytes);
        }
    }
}
