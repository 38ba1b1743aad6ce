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
//! Decoding checks everything (UTF-8, numbers, lengths, name order, nesting,
//! trailing bytes) and reports damage as
//! [`StoreError::Storage`](crate::error::StoreError::Storage); it never panics
//! and never allocates more than the input could hold. Items decode to the
//! item model here, or to JSON text ([`render_item_json`]) for pages.

use std::collections::BTreeMap;

use super::{AttributeValue, Item, Number};
use crate::error::Result;
use reader::{Reader, corrupt};

mod reader;
mod text;

pub use text::render_item_json;

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
    let mut reader = Reader { bytes, pos: 0 };
    match reader.byte()? {
        VERSION => {}
        other => return Err(corrupt(format!("unknown item format version {other}"))),
    }
    let item = reader.map(0)?;
    reader.finish()?;
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

/// Decoding to the item model.
impl Reader<'_> {
    fn map(&mut self, depth: usize) -> Result<Item> {
        let count = self.count()?;
        let mut map = Item::new();
        let mut previous = None;
        for _ in 0..count {
            let name = self.name_after(previous)?;
            map.insert(name.to_owned(), self.value(depth + 1)?);
            previous = Some(name);
        }
        Ok(map)
    }

    fn value(&mut self, depth: usize) -> Result<AttributeValue> {
        if depth > MAX_DEPTH {
            return Err(corrupt(format!("nested deeper than {MAX_DEPTH} levels")));
        }
        let owned = |s: &str| s.to_owned();
        Ok(match self.byte()? {
            tag::S => AttributeValue::S(self.string()?.to_owned()),
            tag::N => AttributeValue::N(self.number_text()?.0),
            tag::B => AttributeValue::B(self.slice()?.to_vec()),
            tag::FALSE => AttributeValue::Bool(false),
            tag::TRUE => AttributeValue::Bool(true),
            tag::NULL => AttributeValue::Null,
            tag::M => AttributeValue::M(self.map(depth)?),
            tag::L => AttributeValue::L(self.list_of(|r| r.value(depth + 1))?),
            tag::SS => AttributeValue::SS(self.list_of(|r| r.string().map(owned))?),
            tag::NS => AttributeValue::NS(self.list_of(|r| Ok(r.number_text()?.0))?),
            tag::BS => AttributeValue::BS(self.list_of(|r| r.slice().map(<[u8]>::to_vec))?),
            other => return Err(corrupt(format!("unknown value tag {other}"))),
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::error::StoreError;
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
        fn values_encode_deterministically(a in arb_attribute_value(), b in arb_attribute_value()) {
            prop_assert_eq!(encode_value(&a) == encode_value(&b), a == b);
        }

        #[test]
        fn decoding_garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode_item(&bytes);
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
