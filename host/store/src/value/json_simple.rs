//! A fast path for the DynamoDB JSON text a function sends most: an item or
//! key whose every attribute is a plain string or number
//! (`{"Username":{"S":"Jane"}}`), parsed straight into an item.
//!
//! The general path (`serde_json::Value`, then [`item_from_json`]) builds a
//! JSON tree first and then walks it twice (shape, then validation); for the
//! WASM score aggregator's key that was ~6% of an invocation's CPU. This path
//! accepts only input whose result cannot differ from the general path's: a
//! JSON object of distinct names, each an object with exactly one field, `S`
//! or `N`, holding a string (and for `N` a valid number). Anything else —
//! other datatypes, unknown, null or repeated fields, invalid JSON or numbers
//! — is `None`, and the caller parses the general way, which reports its
//! errors with DynamoDB's messages.
//!
//! [`item_from_json`]: super::json::item_from_json

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};

use super::{AttributeValue, Item, Number};

/// The item `text` holds, if it is one of plain `S` and `N` attributes (see
/// the module doc); `None` otherwise.
pub fn simple_item_from_str(text: &str) -> Option<Item> {
    serde_json::from_str::<SimpleItem>(text).ok().map(|s| s.0)
}

struct SimpleItem(Item);

impl<'de> Deserialize<'de> for SimpleItem {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ItemVisitor)
    }
}

struct ItemVisitor;

impl<'de> Visitor<'de> for ItemVisitor {
    type Value = SimpleItem;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an item of S and N attributes")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SimpleItem, A::Error> {
        let mut item = Item::new();
        while let Some(name) = map.next_key::<String>()? {
            let SimpleValue(value) = map.next_value()?;
            // The general path keeps the last of repeated names; not worth
            // copying here.
            if item.insert(name, value).is_some() {
                return Err(de::Error::custom("repeated attribute name"));
            }
        }
        Ok(SimpleItem(item))
    }
}

struct SimpleValue(AttributeValue);

/// The one datatype field of a simple value.
#[derive(serde::Deserialize)]
enum Tag {
    S,
    N,
}

impl<'de> Deserialize<'de> for SimpleValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = SimpleValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an S or N attribute value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SimpleValue, A::Error> {
        let Some(tag) = map.next_key::<Tag>()? else {
            return Err(de::Error::custom("no datatype"));
        };
        let text: String = map.next_value()?;
        if map.next_key::<Tag>()?.is_some() {
            return Err(de::Error::custom("more than one datatype"));
        }
        Ok(SimpleValue(match tag {
            Tag::S => AttributeValue::S(text),
            Tag::N => AttributeValue::N(Number::parse(&text).map_err(de::Error::custom)?),
        }))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::Value;

    use super::*;
    use crate::value::json::{item_from_json, item_to_json};
    use crate::value::testing::{arb_item, arb_name, arb_number};

    /// What the general path makes of `text`.
    fn general(text: &str) -> Option<Item> {
        let value: Value = serde_json::from_str(text).ok()?;
        item_from_json(&value).ok()
    }

    #[test]
    fn plain_strings_and_numbers_take_the_fast_path() {
        let text = r#"{"Username":{"S":"Jane \"J\" \u00e9"},"Score":{"N":"-12.50"}}"#;
        let item = simple_item_from_str(text).unwrap();
        assert_eq!(Some(item), general(text));
        assert_eq!(simple_item_from_str("{}"), Some(Item::new()));
    }

    #[test]
    fn anything_else_is_left_to_the_general_path() {
        for text in [
            r#"{"a":{"N":"x"}}"#,
            r#"{"a":{"S":"1","N":"1"}}"#,
            r#"{"a":{"S":"1","x":1}}"#,
            r#"{"a":{"S":null}}"#,
            r#"{"a":{"S":1}}"#,
            r#"{"a":{"BOOL":true}}"#,
            r#"{"a":{"S":"1"},"a":{"S":"2"}}"#,
            r#"{"a":{}}"#,
            r#"{"a":null}"#,
            r#"[]"#,
            r#"{"a":{"S":"1"}} x"#,
            "{",
        ] {
            assert_eq!(simple_item_from_str(text), None, "{text}");
        }
    }

    fn arb_simple_item() -> impl Strategy<Value = Item> {
        let value = prop_oneof![
            any::<String>().prop_map(AttributeValue::S),
            arb_number().prop_map(AttributeValue::N),
        ];
        proptest::collection::btree_map(arb_name(), value, 0..4)
    }

    proptest! {
        /// Whatever the fast path accepts, the general path parses the same.
        #[test]
        fn agrees_with_the_general_path(item in arb_item()) {
            let text = item_to_json(&item).to_string();
            if let Some(fast) = simple_item_from_str(&text) {
                prop_assert_eq!(Some(fast), general(&text));
            }
        }

        /// Plain S/N items always take it, and come out as they went in.
        #[test]
        fn plain_items_round_trip(item in arb_simple_item()) {
            let text = item_to_json(&item).to_string();
            prop_assert_eq!(simple_item_from_str(&text), Some(item));
        }
    }
}
