//! Stored items rendered straight to DynamoDB JSON text.
//!
//! A page of Scan or Query results ends as JSON text on the wire. Building a
//! `serde_json::Value` tree of each item first (about twenty small
//! allocations for a four-attribute item) cost two thirds of a Scan; writing
//! the text while walking the stored bytes allocates nothing per item.
//!
//! The text is byte for byte what printing
//! [`item_to_json`](crate::value::json::item_to_json) of the decoded item
//! gives, and the walk makes the same checks as [`decode_item`](super::decode_item).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::reader::{Reader, corrupt};
use super::{MAX_DEPTH, VERSION, tag};
use crate::error::Result;
use crate::value::size::number_size;

/// Appends the item `bytes` (written by [`encode_item`](super::encode_item))
/// to `out` as DynamoDB JSON text, and returns its size as
/// [`item_size`](crate::value::size::item_size) counts it. On damaged bytes
/// it fails, and `out` may hold part of the item.
pub fn render_item_json(bytes: &[u8], out: &mut Vec<u8>) -> Result<usize> {
    let mut text = Text {
        reader: Reader { bytes, pos: 0 },
        out,
    };
    match text.reader.byte()? {
        VERSION => {}
        other => return Err(corrupt(format!("unknown item format version {other}"))),
    }
    let (_, size) = text.map(0)?;
    text.reader.finish()?;
    Ok(size)
}

/// The walk: reads the encoded form and writes its text.
struct Text<'a, 'o> {
    reader: Reader<'a>,
    out: &'o mut Vec<u8>,
}

impl Text<'_, '_> {
    /// A map's attributes as a JSON object; returns how many there are and
    /// Σ(name + value size).
    fn map(&mut self, depth: usize) -> Result<(usize, usize)> {
        let count = self.reader.count()?;
        self.out.push(b'{');
        let mut previous = None;
        let mut size = 0;
        for i in 0..count {
            if i > 0 {
                self.out.push(b',');
            }
            let name = self.reader.name_after(previous)?;
            self.string(name)?;
            self.out.push(b':');
            size += name.len() + self.value(depth + 1)?;
            previous = Some(name);
        }
        self.out.push(b'}');
        Ok((count, size))
    }

    /// One value as `{"TAG":...}`; returns its size.
    fn value(&mut self, depth: usize) -> Result<usize> {
        if depth > MAX_DEPTH {
            return Err(corrupt(format!("nested deeper than {MAX_DEPTH} levels")));
        }
        let size = match self.reader.byte()? {
            tag::S => self.open("S").s()?,
            tag::N => self.open("N").n()?,
            tag::B => self.open("B").b()?,
            tag::FALSE => self.open("BOOL").literal(b"false"),
            tag::TRUE => self.open("BOOL").literal(b"true"),
            tag::NULL => self.open("NULL").literal(b"true"),
            tag::M => {
                let (len, size) = self.open("M").map(depth)?;
                3 + len + size
            }
            tag::L => 3 + self.open("L").list(|text| Ok(1 + text.value(depth + 1)?))?,
            tag::SS => self.open("SS").list(Self::s)?,
            tag::NS => self.open("NS").list(Self::n)?,
            tag::BS => self.open("BS").list(Self::b)?,
            other => return Err(corrupt(format!("unknown value tag {other}"))),
        };
        self.out.push(b'}');
        Ok(size)
    }

    /// Starts a value's `{"TAG":`.
    fn open(&mut self, tag: &str) -> &mut Self {
        self.out.extend_from_slice(b"{\"");
        self.out.extend_from_slice(tag.as_bytes());
        self.out.extend_from_slice(b"\":");
        self
    }

    fn s(&mut self) -> Result<usize> {
        let text = self.reader.string()?;
        self.string(text)?;
        Ok(text.len())
    }

    fn n(&mut self) -> Result<usize> {
        let (number, text) = self.reader.number_text()?;
        self.string(text)?;
        Ok(number_size(&number))
    }

    fn b(&mut self) -> Result<usize> {
        let bytes = self.reader.slice()?;
        self.out.push(b'"');
        let start = self.out.len();
        let len = base64::encoded_len(bytes.len(), true)
            .ok_or_else(|| corrupt("binary value too long to encode".to_string()))?;
        self.out.resize(start + len, 0);
        BASE64
            .encode_slice(bytes, &mut self.out[start..])
            .map_err(|e| corrupt(format!("binary value: {e}")))?;
        self.out.push(b'"');
        Ok(bytes.len())
    }

    fn literal(&mut self, text: &[u8]) -> usize {
        self.out.extend_from_slice(text);
        1
    }

    /// A JSON array of `count` elements, each written by `element`, which
    /// returns its size; returns their sum.
    fn list(&mut self, mut element: impl FnMut(&mut Self) -> Result<usize>) -> Result<usize> {
        let count = self.reader.count()?;
        self.out.push(b'[');
        let mut size = 0;
        for i in 0..count {
            if i > 0 {
                self.out.push(b',');
            }
            size += element(self)?;
        }
        self.out.push(b']');
        Ok(size)
    }

    /// A JSON string, escaped as serde_json escapes it.
    fn string(&mut self, text: &str) -> Result<()> {
        serde_json::to_writer(&mut *self.out, text)
            .map_err(|e| corrupt(format!("writing a string: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::value::codec::{decode_item, encode_item};
    use crate::value::json::item_to_json;
    use crate::value::size::item_size;
    use crate::value::testing::arb_item;

    fn render(bytes: &[u8]) -> Result<(String, usize)> {
        let mut out = Vec::new();
        let size = render_item_json(bytes, &mut out)?;
        Ok((String::from_utf8(out).unwrap(), size))
    }

    proptest! {
        #[test]
        fn text_and_size_match_the_item_model(item in arb_item()) {
            let (text, size) = render(&encode_item(&item)).unwrap();
            prop_assert_eq!(text, serde_json::to_string(&item_to_json(&item)).unwrap());
            prop_assert_eq!(size, item_size(&item));
        }

        #[test]
        fn damage_fails_exactly_where_decoding_fails(item in arb_item(), at in any::<usize>(), byte in any::<u8>()) {
            let mut bytes = encode_item(&item);
            let i = at % bytes.len();
            bytes[i] = byte;
            prop_assert_eq!(render(&bytes).is_ok(), decode_item(&bytes).is_ok());
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            prop_assert_eq!(render(&bytes).is_ok(), decode_item(&bytes).is_ok());
        }
    }

    #[test]
    fn every_truncation_is_an_error() {
        let item = crate::value::Item::from([(
            "a".to_string(),
            crate::value::AttributeValue::SS(vec!["x".into(), "y".into()]),
        )]);
        let bytes = encode_item(&item);
        for len in 0..bytes.len() {
            assert!(render(&bytes[..len]).is_err(), "truncated to {len}");
        }
    }
}
