//! DynamoDB JSON written straight to text: `serde::Serialize` views of items
//! and values, so a writer (an item Query or Scan decoded to filter) prints
//! an item without first building a `serde_json::Value` tree of it. The text is byte for byte
//! what printing [`item_to_json`](super::json::item_to_json) gives: names in
//! item (BTreeMap) order, sets in their order, numbers normalised, binaries
//! in standard padded base64.

use base64::display::Base64Display;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use super::{AttributeValue, Item, Number};

/// An item (or key) as DynamoDB JSON: `{"name": {"S": "text"}, ...}`.
#[derive(Debug, Clone, Copy)]
pub struct ItemJson<'a>(pub &'a Item);

/// One attribute value as DynamoDB JSON: `{"N": "12.5"}`.
#[derive(Debug, Clone, Copy)]
pub struct ValueJson<'a>(pub &'a AttributeValue);

impl ItemJson<'_> {
    /// The item's text.
    pub fn to_vec(&self) -> Vec<u8> {
        // Serialising to memory fails only on I/O, and a Vec has none.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

impl Serialize for ItemJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in self.0 {
            map.serialize_entry(name, &ValueJson(value))?;
        }
        map.end()
    }
}

impl Serialize for ValueJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        match self.0 {
            AttributeValue::S(s) => map.serialize_entry("S", s)?,
            AttributeValue::N(n) => map.serialize_entry("N", &NumberText(n))?,
            AttributeValue::B(b) => map.serialize_entry("B", &BinaryText(b))?,
            AttributeValue::Bool(b) => map.serialize_entry("BOOL", b)?,
            AttributeValue::Null => map.serialize_entry("NULL", &true)?,
            AttributeValue::M(m) => map.serialize_entry("M", &ItemJson(m))?,
            AttributeValue::L(l) => map.serialize_entry("L", &Seq(l, ValueJson))?,
            AttributeValue::SS(s) => map.serialize_entry("SS", s)?,
            AttributeValue::NS(s) => map.serialize_entry("NS", &Seq(s, NumberText))?,
            AttributeValue::BS(s) => map.serialize_entry("BS", &Seq(s, |b| BinaryText(b)))?,
        }
        map.end()
    }
}

/// A number as its normalised text (a JSON string), printed in place.
struct NumberText<'a>(&'a Number);

impl Serialize for NumberText<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self.0)
    }
}

/// Bytes as standard padded base64 (a JSON string), encoded in place.
struct BinaryText<'a>(&'a [u8]);

impl Serialize for BinaryText<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&Base64Display::new(self.0, &BASE64))
    }
}

/// A list serialised element by element through a view of each element.
struct Seq<'a, T, V>(&'a [T], fn(&'a T) -> V);

impl<T, V: Serialize> Serialize for Seq<'_, T, V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for element in self.0 {
            seq.serialize_element(&(self.1)(element))?;
        }
        seq.end()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::value::json::item_to_json;
    use crate::value::testing::arb_item;

    proptest! {
        #[test]
        fn text_is_what_printing_the_json_tree_gives(item in arb_item()) {
            let direct = serde_json::to_string(&ItemJson(&item)).unwrap();
            let via_tree = serde_json::to_string(&item_to_json(&item)).unwrap();
            prop_assert_eq!(direct, via_tree);
        }
    }

    #[test]
    fn every_type_prints_as_dynamodb_json() {
        let item = Item::from([
            ("b".to_string(), AttributeValue::B(vec![0, 255, 7])),
            (
                "n".to_string(),
                AttributeValue::N(Number::parse("-012.50").unwrap()),
            ),
            ("z".to_string(), AttributeValue::Null),
            (
                "l".to_string(),
                AttributeValue::L(vec![
                    AttributeValue::Bool(false),
                    AttributeValue::S("a\"\n".into()),
                ]),
            ),
            ("bs".to_string(), AttributeValue::BS(vec![vec![1], vec![]])),
        ]);
        let text = serde_json::to_string(&ItemJson(&item)).unwrap();
        assert_eq!(
            text,
            r#"{"b":{"B":"AP8H"},"bs":{"BS":["AQ==",""]},"l":{"L":[{"BOOL":false},{"S":"a\"\n"}]},"n":{"N":"-12.5"},"z":{"NULL":true}}"#
        );
    }
}
